"""Shared machinery of the configuration classes: immutable mappings, validation, redaction.

Validators take ``object`` on purpose: they check values whose static type already claims to be
right, and a checker would otherwise call the ``isinstance`` unnecessary.

What is secret and how text is masked is decided in :mod:`lzy._secrets`; this module applies it
to the fields of the configuration classes (:func:`masked_repr`, :func:`shown_environ`).
"""

from __future__ import annotations

import abc
import dataclasses
import functools
import importlib
import inspect
import keyword
import os
import re
import weakref
from collections.abc import Callable, Hashable, ItemsView, Iterable, Iterator, KeysView, Mapping, ValuesView
from typing import TYPE_CHECKING, Any, ClassVar, Final, Self, TypeVar, cast, overload

from lzy._lazy import lazy_pattern
from lzy._secrets import MASK, SECRET_NAME_WORDS, is_secret_name, redact_text
from lzy.exceptions import (
    ConfigurationError,
    EnvironError,
    FieldTypeError,
    FieldValueError,
    ImmutableEnvError,
    KlassError,
    NotAnOpError,
    UnknownFieldError,
)

__all__ = [
    "SECRET_NAME_WORDS",
    "EnvPart",
    "EnvironMap",
    "FrozenMap",
    "OpTarget",
    "assemble",
    "build_part",
    "check_keywords",
    "check_part_class",
    "closest",
    "closest_names",
    "decorate_op",
    "describe",
    "environ_field",
    "environ_map",
    "expect_bool",
    "expect_callable",
    "expect_instance",
    "expect_name",
    "expect_str",
    "field_names",
    "immutable",
    "import_klass",
    "is_checked_part_class",
    "is_secret_field",
    "is_secret_name",
    "is_set",
    "local_paths",
    "masked_repr",
    "more_derived",
    "redact_text",
    "redact_url",
    "secret",
    "shown_environ",
    "split_credentials",
    "str_map",
    "str_tuple",
    "url",
    "url_field",
    "url_tuple",
]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
T = TypeVar("T")
_Op = TypeVar("_Op")
_Part = TypeVar("_Part", bound="EnvPart")

#: Field metadata key: the value is a secret and never shown.
SECRET: Final = "lzy.secret"
#: Field metadata key: the value is a URL (or URLs) whose credentials are never shown.
URL: Final = "lzy.url"
#: Field metadata key: a function of no arguments saying what the field's ``None`` stands for
#: where it is resolved (shown beside ``None`` by ``explain()``).
SHOWN: Final = "lzy.shown"
#: Field metadata key: the value maps environment variable names to values, some of which may
#: be secrets (see :func:`is_secret_name`).
ENVIRON: Final = "lzy.environ"


class FrozenMap(Mapping[K, V]):
    """An immutable, hashable mapping; equal to any mapping with the same items."""

    __slots__ = ("_data", "_hash")

    def __init__(self, data: Mapping[K, V] | Iterable[tuple[K, V]] = ()) -> None:
        copied = cast("FrozenMap[K, V]", data)._data.copy() if isinstance(data, FrozenMap) else dict(data)
        self._data: dict[K, V] = copied
        self._hash: int | None = None

    @classmethod
    def layered(cls, maps: Iterable[Mapping[K, V]]) -> Self:
        """The items of ``maps`` in one mapping, a key of a later map winning over an earlier one."""
        data: dict[K, V] = {}
        for layer in maps:
            data.update(layer._data if isinstance(layer, FrozenMap) else layer)
        merged = cls.__new__(cls)
        merged._data = data
        merged._hash = None
        return merged

    def __getitem__(self, key: K) -> V:
        return self._data[key]

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def keys(self) -> KeysView[K]:
        return self._data.keys()

    def items(self) -> ItemsView[K, V]:
        return self._data.items()

    def values(self) -> ValuesView[V]:
        return self._data.values()

    def __iter__(self) -> Iterator[K]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash(frozenset(self._data.items()))
        return self._hash

    def __eq__(self, other: object) -> bool:
        if isinstance(other, FrozenMap):
            return self._data == cast("FrozenMap[object, object]", other)._data
        if isinstance(other, Mapping):
            return self._data == dict(cast("Mapping[object, object]", other))
        return NotImplemented

    def __repr__(self) -> str:
        return repr(self._data)

    def __or__(self, other: Mapping[K, V]) -> FrozenMap[K, V]:
        return FrozenMap({**self._data, **other})


class EnvironMap(FrozenMap[str, str]):
    """Environment variables: a :class:`FrozenMap` whose ``repr`` masks secrets as
    :func:`shown_environ` does, so printing ``env.environ`` shows no secret; item access gives
    the real values."""

    __slots__ = ()

    def __repr__(self) -> str:
        return repr(shown_environ(self))


def describe(value: object) -> str:
    """A short ``repr`` of a user's value for an error message, its secrets masked.

    Never raises: a value whose ``repr`` fails is named by its type. A long value is masked
    before it is cut, so a secret is never cut in two and shown in part.
    """
    try:
        text = repr(value)
    except Exception:  # a user's __repr__ may raise anything; the message must not
        return f"<{type(value).__qualname__} object (its repr() failed)>"
    text = redact_text(text)
    return text if len(text) <= 80 else text[:77] + "..."


def closest_names(name: str, candidates: Iterable[str]) -> list[str]:
    """The candidates closest to ``name``, best first (at most one); empty when none is close."""
    import difflib  # noqa: PLC0415 - only for an error message

    # A name far longer than every candidate is close to none (and difflib's time grows with
    # the product of the lengths).
    pool = list(candidates)
    if not pool or len(name) > 4 * max(len(c) for c in pool) + 8:
        return []
    return difflib.get_close_matches(name, pool, n=1, cutoff=0.6)


def closest(name: str, candidates: Iterable[str]) -> str:
    """A ``; did you mean 'x'?`` suffix naming the closest candidate, or an empty string."""
    matches = closest_names(name, candidates)
    return f"; did you mean {matches[0]!r}?" if matches else ""


def redact_url(value: str) -> str:
    """``value`` with the user name and password of every URL in it replaced by ``***``.

    Never raises, whatever ``value`` holds (see :func:`~lzy._secrets.redact_text`).
    """
    return redact_text(value)


def split_credentials(value: str) -> tuple[str, tuple[str, str] | None]:
    """``value`` without its ``user:password@`` part, and that part (percent-decoded) or ``None``.

    Credentials travel apart from URLs: as HTTP authentication, a ``.netrc`` file or a helper's
    standard input, never inside a URL handed to a library, a log or a subprocess's arguments.
    A user name without a password gives an empty password.
    """
    import urllib.parse  # noqa: PLC0415 - only where a URL is given

    parts = urllib.parse.urlsplit(value)
    if parts.username is None and parts.password is None:
        return value, None
    host = parts.netloc.rpartition("@")[2]
    bare = urllib.parse.urlunsplit(parts._replace(netloc=host))
    user = urllib.parse.unquote(parts.username or "")
    password = urllib.parse.unquote(parts.password or "")
    return bare, (user, password)


def shown_environ(environ: Mapping[str, str]) -> dict[str, str]:
    """``environ`` as it may be shown or written without secrets: the value of a variable whose
    name marks it as a secret (:func:`is_secret_name`) becomes ``***``, and every other value
    has the secrets it carries masked (:func:`~lzy._secrets.redact_text`)."""
    return {name: MASK if is_secret_name(name) else redact_text(value) for name, value in environ.items()}


def is_secret_field(field: dataclasses.Field[Any]) -> bool:
    """Whether ``field`` holds a secret: marked with :func:`secret`, or named like one
    (a subclass's ``api_token`` field is masked as ``DockerContainer.password`` is)."""
    return bool(field.metadata.get(SECRET)) or is_secret_name(field.name)


def masked_repr(field: dataclasses.Field[Any], value: object) -> str:
    """``repr`` of ``field``'s ``value`` as it may be shown: a secret field as ``'***'``, the
    secret variables of an :func:`environ_field` masked, and any other value with the secrets
    it carries masked (the credentials of URLs, secret parameters)."""
    if is_secret_field(field):
        return "None" if value is None else repr(MASK)
    if field.metadata.get(ENVIRON) and isinstance(value, Mapping):
        return repr(shown_environ(cast("Mapping[str, str]", value)))
    return redact_text(repr(value))


def environ_field() -> Any:
    """A dataclass field of environment variables, shown through :func:`shown_environ`."""
    return dataclasses.field(default_factory=EnvironMap, metadata={ENVIRON: True})


def secret(**kwargs: Any) -> Any:
    """A dataclass field whose value is never shown in ``repr`` or serialized by default."""
    return dataclasses.field(metadata={SECRET: True}, **kwargs)


def url_field(**kwargs: Any) -> Any:
    """A dataclass field holding a URL (or URLs) whose credentials are masked when shown."""
    return dataclasses.field(metadata={URL: True}, **kwargs)


def _where(owner: object, field: str) -> str:
    name = owner if isinstance(owner, str) else type(owner).__name__
    return f"{name}.{field}"


def expect_str(owner: object, field: str, value: object, *, allow_empty: bool = False) -> str:
    """``value`` if it is a string (non-empty unless ``allow_empty``), else a clear error."""
    if not isinstance(value, str):
        msg = f"{_where(owner, field)} must be a str, got {describe(value)} ({type(value).__name__})"
        raise FieldTypeError(msg)
    if not allow_empty and not value.strip():
        msg = f"{_where(owner, field)} must be a non-empty string, got {value!r}"
        raise FieldValueError(msg)
    return value


def expect_name(owner: object, field: str, value: object) -> str:
    """``value`` if it is a non-empty string without control characters or direction marks
    (a name shown in messages and logs: a workflow's), else a clear error."""
    text = expect_str(owner, field, value)
    problem = _control_problem(text)
    if problem is not None:
        msg = f"{_where(owner, field)} {problem}; a name is printable text, got {describe(text)}"
        raise FieldValueError(msg)
    return text


def expect_instance(where: str, value: object, kind: type | tuple[type, ...], allowed: str) -> None:
    """Raise :class:`FieldTypeError` naming ``where`` unless ``value`` is a ``kind``."""
    if not isinstance(value, kind):
        hint = ""
        if isinstance(value, type):
            hint = f"; pass an instance such as {value.__name__}(...), not the class"
        msg = f"{where} must be {allowed}, got {describe(value)}{hint}"
        raise FieldTypeError(msg)


def expect_callable(where: str, value: object, allowed: str) -> None:
    """Raise :class:`FieldTypeError` naming ``where`` unless ``value`` is callable."""
    if not callable(value):
        msg = f"{where} must be {allowed}, got {describe(value)}"
        raise FieldTypeError(msg)


def expect_bool(owner: object, field: str, value: object) -> bool:
    """``value`` if it is a bool, else a clear error."""
    if not isinstance(value, bool):
        msg = f"{_where(owner, field)} must be a bool, got {describe(value)} ({type(value).__name__})"
        raise FieldTypeError(msg)
    return value


# Characters no URL may hold as written: controls, spaces and the ones RFC 3986 excludes.
_URL_ILLEGAL: Final = lazy_pattern(r"[\x00-\x20\x7f-\x9f\"<>\\^`{|}\u2028\u2029]")
# One label of a host name; ``_`` is allowed as resolvers and container networks allow it.
_HOST_LABEL: Final = lazy_pattern(r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?", re.ASCII)
_PORT: Final = lazy_pattern(r"[0-9]{1,5}", re.ASCII)
_URL_SCHEMES: Final = ("http", "https", "file")


def _shown_url(text: str) -> str:
    """A refused URL as it may be shown: credentials masked, also before a missing scheme, and
    a query or fragment (where tokens travel) replaced by ``***``."""
    # Masked first, then cut: a password may hold a '?' or '#' (written without encoding), and
    # cutting there first would leave its start unmasked.
    shown = redact_text(text)
    if "://" not in shown:
        first, slash, rest = shown.partition("/")
        if "@" in first:
            shown = f"{MASK}@{first.rpartition('@')[2]}{slash}{rest}"
    cut = min((i for i in (shown.find("?"), shown.find("#")) if i >= 0), default=-1)
    return shown if cut < 0 else f"{shown[: cut + 1]}{MASK}"


def _char_name(char: str) -> str:
    return {" ": "a space", "\t": "a tab", "\n": "a line break", "\x00": "a NUL"}.get(
        char, f"the character {char!r} (U+{ord(char):04X})"
    )


def _url_problem(text: str) -> str | None:
    """What is wrong with ``text`` as an http(s) or file URL, or ``None``."""
    found = _URL_ILLEGAL().search(text)
    bad = found[0] if found is not None else None
    if bad is None and not text.isascii():
        # Unicode spaces and invisible characters (a no-break or ideographic space, a zero-width
        # space that IDNA would silently drop from a host name, a direction override).
        bad = next((c for c in text if not c.isprintable()), None)
    if bad is not None:
        return f"must not contain {_char_name(bad)} (percent-encode it)"
    scheme, separator, rest = text.partition("://")
    if not separator or scheme.lower() not in _URL_SCHEMES:
        return "must be an absolute http(s):// or file:// URL"
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    userinfo, at, hostport = authority.rpartition("@")
    if scheme.lower() == "file":
        if at or hostport not in {"", "localhost"}:
            return "must be a file:///absolute/path URL (no host or credentials)"
        if not rest[len(authority) :].startswith("/"):
            return "must be a file:///absolute/path URL"
        return None
    del userinfo
    if hostport.startswith("["):
        address, bracket, port_part = hostport[1:].partition("]")
        if not bracket:
            return "has an IPv6 host without its closing ']'"
        import ipaddress  # noqa: PLC0415 - only for an IPv6 host

        try:
            ipaddress.IPv6Address(address)
        except ValueError:
            return f"has an invalid IPv6 host [{address}]"
        if port_part and not port_part.startswith(":"):
            return f"has {port_part!r} after its IPv6 host"
        port = port_part[1:] if port_part else None
    else:
        host, colon, port_text = hostport.partition(":")
        port = port_text if colon else None
        if not host:
            return "has no host"
        problem = _host_problem(host)
        if problem is not None:
            return problem
    if port is not None:
        if not _PORT().fullmatch(port):
            return f"has port {port!r}, which is not a number (ASCII digits, 1-65535)"
        if not 1 <= int(port) <= 65535:
            return f"has port {int(port)}, out of range 1-65535"
    import urllib.parse  # noqa: PLC0415 - only where a URL is given

    try:
        urllib.parse.urlsplit(text).port  # noqa: B018 - the parser must agree
    except ValueError as error:
        return f"does not parse ({error})"
    return None


def _index_url_problem(text: str) -> str | None:
    """What an otherwise valid URL holds that an index URL must not: a query or a fragment
    (installers drop or mangle them when they add a project's name, and tokens in them reach
    logs)."""
    if "?" in text or "#" in text:
        return (
            "must not have a query ('?...') or a fragment ('#...'); give credentials as"
            " user:password@ in the URL, which is sent as HTTP authentication"
        )
    return None


#: Why a URL whose credentials alone are malformed is refused (they are never quoted).
_BAD_CREDENTIALS: Final = (
    "has credentials that are not written as user:password@ (percent-encode the '/', '?', '#',"
    " '@', ':' and spaces they hold)"
)

#: A comma then another URL's scheme: several URLs given as one value.
_JOINED: Final = lazy_pattern(r",\s*[A-Za-z][A-Za-z0-9+.-]*://")


def _host_problem(host: str) -> str | None:
    ascii_host = host
    if not host.isascii():
        # IDNA 2008, as the index client's HTTP library encodes host names (Python's own codec
        # is IDNA 2003, which takes names the client then refuses).
        import idna  # noqa: PLC0415 - only for an international host name

        try:
            ascii_host = idna.encode(host.lower()).decode("ascii")
        except idna.IDNAError:
            return f"has host {host!r}, which is not a valid international domain name (IDNA 2008)"
    labels = ascii_host.removesuffix(".").split(".")
    if len(ascii_host) > 253 or not all(_HOST_LABEL().fullmatch(label) for label in labels):
        return (
            f"has host {host!r}, which is not a host name (letters, digits, '-', '_' and '.'"
            " between labels of at most 63 characters)"
        )
    return None


def url(owner: object, field: str, value: object) -> str:
    """``value`` if it is an absolute http(s) or file URL, else a clear error naming the field.

    Hosts must be host names, IPv4 or bracketed IPv6 addresses, ports ASCII digits in
    1-65535; spaces, controls and characters URLs exclude are refused, and so are a query, a
    fragment (index URLs hold none) and several URLs joined by commas. The refused value is shown with its
    credentials, query and fragment masked.
    """
    text = expect_str(owner, field, value)
    if _JOINED().search(text):
        problem: str | None = (
            "must be one URL, not several joined by commas (give each as an item of its own)"
        )
    else:
        problem = _url_problem(text)
        masked = redact_text(text)
        if problem is not None and masked != text:
            # The problem is told of the URL with its credentials masked, so that no part of
            # them (a password with a '/' reads as a host and port) is quoted; when that URL has
            # no problem, it lies in the credentials.
            problem = _url_problem(masked) or _index_url_problem(masked) or _BAD_CREDENTIALS
        problem = problem or _index_url_problem(text)
    if problem is not None:
        msg = f"{_where(owner, field)} {problem}, got {_shown_url(text)!r}"
        raise FieldValueError(msg)
    import urllib.parse  # noqa: PLC0415 - only where a URL is given

    path = urllib.parse.urlsplit(text).path
    return text.rstrip("/") if path not in {"", "/"} else text


def _sequence(owner: object, field: str, value: object, what: str) -> list[object]:
    if isinstance(value, str | bytes) or not isinstance(value, list | tuple | set | frozenset):
        hint = f"; for one, write [{value!r}]" if isinstance(value, str) else ""
        msg = (
            f"{_where(owner, field)} must be a list or tuple of {what},"
            f" got {describe(value)} ({type(value).__name__}){hint}"
        )
        raise FieldTypeError(msg)
    items = list(cast("Iterable[object]", value))
    if isinstance(value, set | frozenset):
        # A set has no order; sort what can be sorted so the result does not depend on hashing.
        items.sort(key=lambda item: (type(item).__name__, str(item)))
    return items


def str_tuple(owner: object, field: str, value: object) -> tuple[str, ...]:
    """A tuple of non-empty strings from a list, tuple, set or frozenset of them (a bare string
    is refused: it would be read as its characters)."""
    items = _sequence(owner, field, value, "strings")
    return tuple(expect_str(owner, f"{field}[{i}]", item) for i, item in enumerate(items))


def url_tuple(owner: object, field: str, value: object) -> tuple[str, ...]:
    """A tuple of URLs, each checked by :func:`url` and named by its index."""
    return tuple(url(owner, f"{field}[{i}]", item) for i, item in enumerate(str_tuple(owner, field, value)))


def _fs_problem(text: str) -> str | None:
    """Why ``text`` cannot be a path, a variable name or a value given to the operating system."""
    if "\x00" in text:
        return "holds a NUL character"
    if text.isascii():
        return None  # every file system encoding encodes ASCII
    try:
        os.fsencode(text)
    except UnicodeEncodeError as error:
        return f"holds a character the file system encoding cannot encode (at index {error.start})"
    return None


# Control characters (C0, DEL, C1) and the invisible marks that reorder text as it is shown
# (a path or a name that reads as another: "Trojan Source").
_CONTROL: Final = lazy_pattern(r"[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# Control characters, less the tab and line breaks a value may hold (a PEM key).
_VALUE_CONTROL: Final = lazy_pattern(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _control_problem(text: str, pattern: Callable[[], re.Pattern[str]] = _CONTROL) -> str | None:
    """Which control or direction character ``text`` holds (the first), or ``None``."""
    found = pattern().search(text)
    if found is None:
        return None
    kind = "control character" if ord(found[0]) < 0x100 else "direction mark"
    return f"holds the {kind} U+{ord(found[0]):04X} at index {found.start()}"


def local_paths(owner: object, field: str, value: object) -> tuple[str, ...]:
    """A tuple of paths: non-empty strings the operating system can take (no NUL, encodable),
    without control characters (a line break, a tab) or marks that reorder how they read."""
    paths = str_tuple(owner, field, value)
    for index, path in enumerate(paths):
        problem = _fs_problem(path) or _control_problem(path)
        if problem is not None:
            msg = f"{_where(owner, field)}[{index}] {problem}: {describe(path)} cannot be a path"
            raise FieldValueError(msg)
    return paths


def str_map(
    owner: object,
    field: str,
    value: object,
    *,
    check_key: Callable[[str], str | None] | None = None,
    check_value: Callable[[str], str | None] | None = None,
) -> FrozenMap[str, str]:
    """A frozen ``str -> str`` mapping; ``check_*`` return an error text or ``None``."""
    if not isinstance(value, Mapping):
        msg = (
            f"{_where(owner, field)} must be a mapping of str to str,"
            f" got {describe(value)} ({type(value).__name__})"
        )
        raise FieldTypeError(msg)
    result: dict[str, str] = {}
    for key, item in cast("Mapping[object, object]", value).items():
        if not isinstance(key, str):
            msg = f"{_where(owner, field)} keys must be str, got {describe(key)} ({type(key).__name__})"
            raise FieldTypeError(msg)
        if not isinstance(item, str):
            msg = (
                f"{_where(owner, field)}[{key!r}] must be a str, got {describe(item)} ({type(item).__name__})"
            )
            raise FieldTypeError(msg)
        for check, subject in ((check_key, key), (check_value, item)):
            problem = check(subject) if check is not None else None
            if problem is not None:
                msg = f"{_where(owner, field)}[{key!r}]: {problem}"
                raise FieldValueError(msg)
        result[key] = item
    return FrozenMap(result)


def _name_problem(name: str) -> str | None:
    """Why ``name`` cannot be an environment variable's name, or ``None``."""
    if not name:
        return "is empty"
    if "=" in name:
        return "holds '='"
    problem = _fs_problem(name) or _control_problem(name)
    if problem is not None:
        return problem
    space = next((c for c in name if c.isspace()), None)
    if space is not None:
        return f"holds white space (U+{ord(space):04X})"
    return None


def environ_map(owner: object, field: str, value: object) -> EnvironMap:
    """Validate environment variables: names non-empty, without ``=``, white space or control
    characters; names and values strings the operating system can take (no NUL, encodable),
    values without control characters but tabs and line breaks. A secret's value is never
    repeated."""
    if not isinstance(value, dict | Mapping):
        msg = (
            f"{_where(owner, field)} must be a mapping of variable names to strings,"
            f" got {describe(value)} ({type(value).__name__})"
        )
        raise EnvironError(msg)
    result: dict[str, str] = {}
    for key, item in cast("Mapping[object, object]", value).items():
        if type(key) is str and type(item) is str and (key, item) in _GOOD_VARIABLES:
            result[key] = item  # checked before: the checks depend on the strings alone
            continue
        name_problem = (
            _name_problem(key) if isinstance(key, str) else f"is not a str but {type(key).__name__}"
        )
        if name_problem is not None or not isinstance(key, str):
            msg = (
                f"{_where(owner, field)}: variable name {describe(key)} is not allowed; a name is a"
                " non-empty str without '=' or NUL, white space or control characters, that the"
                f" file system encoding can encode (it {name_problem})"
            )
            raise EnvironError(msg)
        problem = _fs_problem(item) if isinstance(item, str) else None
        control = _control_problem(item, _VALUE_CONTROL) if isinstance(item, str) and not problem else None
        if control is not None:
            problem = f"{control} (a value may hold tabs and line breaks, no other control character)"
        if not isinstance(item, str) or problem is not None:
            kind = type(item).__name__
            article = "an" if kind[:1].lower() in set("aeiou") else "a"
            # The value of a secret-named variable is not repeated in the message.
            got = (
                f"{article} {kind} (value not shown: the name marks a secret)"
                if is_secret_name(key)
                else f"{describe(item)} ({kind})"
            )
            because = (
                f", which {problem}"
                if problem is not None
                else "; convert it with str() if that is what you mean"
            )
            msg = f"{_where(owner, field)}[{key!r}] must be a str without NUL, got {got}{because}"
            raise EnvironError(msg)
        result[key] = item
        if type(key) is str and type(item) is str:
            if len(_GOOD_VARIABLES) >= _GOOD_VARIABLES_KEPT:
                _GOOD_VARIABLES.clear()
            _GOOD_VARIABLES.add((key, item))
    return EnvironMap(result)


#: Variables (name, value) :func:`environ_map` accepted: the same ones again need no checks.
_GOOD_VARIABLES: set[tuple[str, str]] = set()
#: How many :data:`_GOOD_VARIABLES` are kept before they are forgotten and checked anew.
_GOOD_VARIABLES_KEPT: Final = 4096


# ---------------------------------------------------------------------------------------------
# Configuration classes


#: What every configuration class must be, said in errors about a class that is not.
POINT_CLASS_NEEDS: Final = (
    "a point class is a frozen dataclass, like the built-in ones:"
    " decorate it (and every subclass that declares fields) with"
    " @dataclasses.dataclass(frozen=True, kw_only=True)"
)

_KEYWORDS: weakref.WeakKeyDictionary[type, tuple[dict[str, bool], frozenset[str], bool]] = (
    weakref.WeakKeyDictionary()
)


class _Classes:
    """A set of classes that forgets a class when it is collected, like a :class:`weakref.WeakSet`,
    with a membership test that runs no Python code: ``id(klass) in classes.ids`` (an id leaves
    the set before its class's memory can be reused)."""

    __slots__ = ("_refs", "ids")

    def __init__(self) -> None:
        #: The ids of the classes in the set.
        self.ids: set[int] = set()
        self._refs: dict[int, weakref.ref[type]] = {}

    def add(self, klass: type) -> None:
        key = id(klass)
        if key not in self.ids:
            self._refs[key] = weakref.ref(klass, functools.partial(self._forget, key))
            self.ids.add(key)

    def _forget(self, key: int, _: object) -> None:
        self.ids.discard(key)
        self._refs.pop(key, None)


_FINISHED = _Classes()
_CHECKED = _Classes()


def init_fields(klass: type[object]) -> dict[str, bool]:
    """Keyword names ``klass(...)`` accepts, each mapped to whether it is required."""
    return _keywords(klass)[0]


def _keywords(klass: type[object]) -> tuple[dict[str, bool], frozenset[str], bool]:
    """:func:`init_fields`, the required ones, and whether every field is keyword-only (cached
    per class)."""
    known = _KEYWORDS.get(klass)
    if known is not None:
        return known
    if dataclasses.is_dataclass(klass):
        fields = [f for f in dataclasses.fields(klass) if f.init]
        names = {
            f.name: f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
            for f in fields
        }
        keyword_only = all(f.kw_only is True for f in fields)
    else:
        params = inspect.signature(klass).parameters.values()
        names = {
            p.name: p.default is inspect.Parameter.empty
            for p in params
            if p.kind in {inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD}
        }
        keyword_only = all(p.kind is not inspect.Parameter.POSITIONAL_OR_KEYWORD for p in params)
    found = (names, frozenset(name for name, required in names.items() if required), keyword_only)
    _KEYWORDS[klass] = found
    return found


def check_keywords(klass: type[object], args: tuple[object, ...], fields: Mapping[str, object]) -> None:
    """Refuse a call ``klass(*args, **fields)`` that names an unknown field, misses a required
    one or passes fields positionally, with the valid fields listed and the closest suggested.

    Direct construction (``Provisioning(cpu_cont=1)``) and the ``with_*`` methods give the same
    error through it.
    """
    error = _keyword_error(klass, args, fields)
    if error is not None:
        raise error


def _keyword_error(
    klass: type[object], args: tuple[object, ...], fields: Mapping[str, object]
) -> ConfigurationError | None:
    """What :func:`check_keywords` raises for this call, or ``None`` when the keywords are right."""
    valid, required, keyword_only = _keywords(klass)
    if not args and fields.keys() >= required and valid.keys() >= fields.keys():
        return None  # the common case, checked without building any message
    listing = ", ".join(valid) or "none"
    name = klass.__name__
    if args and keyword_only:
        msg = (
            f"{name} takes its fields as keywords only, got {len(args)} positional (valid fields: {listing})"
        )
        return FieldTypeError(msg)
    unknown = [field for field in fields if field not in valid]
    if unknown:
        field = unknown[0]
        msg = f"{name} has no field {field!r}{closest(field, valid)} (valid fields: {listing})"
        return UnknownFieldError(msg)
    missing = [field for field in valid if field in required and field not in fields]
    if missing and not args:
        msg = f"{name} requires {', '.join(map(repr, missing))}"
        return FieldTypeError(msg)
    return None


def _keyword_checked(init: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(init)
    def __init__(self: object, *args: object, **fields: object) -> None:
        try:
            init(self, *args, **fields)
        except TypeError:
            # The generated __init__ refuses a call with a wrong keyword before it sets anything;
            # say what is wrong in lzy's words. A call that succeeds pays for no check.
            error = _keyword_error(type(self), args, fields)
            if error is None:
                raise
            raise error from None

    setattr(__init__, _KEYWORD_CHECKED, True)
    return __init__


#: The attribute that marks an ``__init__`` that checks its keywords (:func:`_keyword_checked`).
_KEYWORD_CHECKED: Final = "_lzy_keyword_checked"


def immutable(klass: type[T]) -> type[T]:
    """Give a frozen dataclass that is no configuration class (an artifact such as
    :class:`~lzy.env.provisioning.Resources`) lzy's error on assignment and deletion of any name,
    in place of the generated methods' (which, for a slots class, raise a ``TypeError`` about
    ``super()`` for a name that is no field). Apply it above ``@dataclasses.dataclass``."""
    type.__setattr__(klass, "__setattr__", _refuse_assignment)
    type.__setattr__(klass, "__delattr__", _refuse_deletion)
    return klass


def _refuse_assignment(self: object, name: str, value: object) -> None:
    """``__setattr__`` of a configuration class: every name is refused (the class is frozen)."""
    del value  # never shown: it may be a secret
    raise ImmutableEnvError(_immutable_message(self, name, "assigned"))


def _refuse_deletion(self: object, name: str) -> None:
    """``__delattr__`` of a configuration class: every name is refused (the class is frozen)."""
    raise ImmutableEnvError(_immutable_message(self, name, "deleted"))


def _immutable_message(part: object, name: str, done: str = "assigned") -> str:
    """Why ``name`` of ``part`` cannot be ``done`` (assigned or deleted), and the way to a changed
    copy; a name that is no field is named with the closest field."""
    kind = type(part).__name__
    try:
        names = [f.name for f in dataclasses.fields(cast("Any", part))]
    except TypeError:  # not a dataclass: refused where it is used, but this must not fail
        names = []
    shown = name if len(name) <= 60 else name[:57] + "..."
    field = name
    prefix = f"{kind} is immutable: {name} cannot be {done}."
    if name not in names:
        matches = closest_names(name, names)
        field = matches[0] if matches else "<field>"
        hint = f"; did you mean {field!r}?" if matches else f" (fields: {', '.join(names) or 'none'})."
        prefix = (
            f"{kind} has no field {shown!r}{hint} Its fields cannot be {done} either: {kind} is immutable."
        )
    point: object = getattr(part, "_POINT", None)
    if isinstance(point, str):
        return (
            f"{prefix} Make a changed copy, dataclasses.replace({point}, {field}=...), and give it to"
            f" an owner (Lzy, a workflow, an op) with .with_{point}(...), or write"
            f" .with_{point}({field}=...) to describe it anew"
        )
    if field in {"provisioning", "python_env", "container", "environ"}:
        return (
            f"{prefix} Set it on an owner (Lzy, a workflow, an op) with .with_{field}(...), which"
            f" returns a new owner, or make a changed copy with dataclasses.replace(env, {field}=...)"
        )
    return f"{prefix} Make a changed copy with dataclasses.replace(..., {field}=...)"


def _generated(method: object) -> bool:
    """Whether ``method`` was written by :func:`dataclasses.dataclass` (which compiles the
    methods it adds from source text) rather than by hand."""
    if not inspect.isfunction(method):
        return False
    code: object = getattr(inspect.unwrap(method), "__code__", None)
    return getattr(code, "co_filename", None) == "<string>"


class _InitSignature:
    """What ``inspect.signature`` (and so ``help()``, editors, Sphinx) shows for a finished
    class: its ``__init__``'s parameters without ``self``, even though :class:`EnvPart` defines
    ``__new__``. Worked out when first asked: most classes are never asked."""

    __slots__ = ("_init", "_signature")

    def __init__(self, init: Callable[..., None]) -> None:
        self._init = init
        self._signature: object = None

    def __get__(self, instance: object, owner: type | None = None) -> object:
        if self._signature is None:
            signature = inspect.signature(self._init)
            parameters = list(signature.parameters.values())[1:]
            self._signature = signature.replace(parameters=parameters)
        return self._signature

    def __reduce__(self) -> tuple[type[_InitSignature], tuple[Callable[..., None]]]:
        # A class pickled by value (cloudpickle) carries the __init__, not the signature.
        return type(self), (self._init,)


def _finish(klass: type[object]) -> None:
    """Give a dataclass configuration class, and each dataclass it derives from, lzy's
    behaviour in place of what :func:`dataclasses.dataclass` generated: keywords checked on
    construction (:func:`check_keywords`), a clear error on assignment, and a ``repr`` that
    masks secrets. Each class is changed once."""
    if id(klass) in _FINISHED.ids:
        return
    for owner in klass.__mro__:
        if "__dataclass_fields__" not in owner.__dict__ or id(owner) in _FINISHED.ids:
            continue
        init = owner.__dict__.get("__init__")
        if _generated(init):
            checked = _keyword_checked(cast("Callable[..., None]", init))
            type.__setattr__(owner, "__init__", checked)
            type.__setattr__(owner, "__signature__", _InitSignature(checked))
        # A frozen dataclass's own __setattr__ and __delattr__ refuse its fields, but pass any
        # other name on to super(cls, self), which a slots class (made anew by its decorator)
        # turns into a TypeError about super(): every name is refused here, in lzy's words.
        if inspect.isfunction(owner.__dict__.get("__setattr__")):
            type.__setattr__(owner, "__setattr__", _refuse_assignment)
        if inspect.isfunction(owner.__dict__.get("__delattr__")):
            type.__setattr__(owner, "__delattr__", _refuse_deletion)
        if _generated(owner.__dict__.get("__repr__")):
            # A subclass decorated with the default repr=True would show its secrets.
            type.__setattr__(owner, "__repr__", EnvPart.__repr__)
        _FINISHED.add(owner)
    _FINISHED.add(klass)


def _undeclared_fields(klass: type[object]) -> list[str]:
    """Annotated names of classes in ``klass``'s MRO that are not dataclass fields (a subclass
    that declares fields without being decorated)."""
    fields = {f.name for f in dataclasses.fields(cast("Any", klass))}
    found: list[str] = []
    for owner in klass.__mro__:
        if owner is EnvPart or "__dataclass_fields__" in owner.__dict__ or owner.__module__ == "builtins":
            continue
        for name, annotation in inspect.get_annotations(owner).items():
            if name in fields or name.startswith("__"):
                continue
            text = annotation if isinstance(annotation, str) else repr(annotation)
            if "ClassVar" not in text:
                found.append(f"{owner.__qualname__}.{name}")
    return found


def is_checked_part_class(klass: type[object]) -> bool:
    """Whether :func:`check_part_class` accepted ``klass`` already (a set lookup, for hot paths
    that would otherwise build the ``where`` of a message that is not needed)."""
    return id(klass) in _CHECKED.ids


def check_part_class(klass: type[object], where: str) -> None:
    """Refuse a configuration class that cannot work, saying what a point class needs.

    It must be a dataclass, frozen (environments are immutable and hashable), and every class
    of it that declares fields must be decorated (else those fields are silently not fields).
    """
    if id(klass) in _CHECKED.ids:
        return
    shown = klass.__qualname__
    if not dataclasses.is_dataclass(klass):
        msg = f"{where}: {shown} is not a dataclass; {POINT_CLASS_NEEDS}"
        raise KlassError(msg)
    params: object = getattr(klass, "__dataclass_params__", None)
    if not getattr(params, "frozen", False):
        msg = f"{where}: {shown} is a dataclass that is not frozen; {POINT_CLASS_NEEDS}"
        raise KlassError(msg)
    undeclared = _undeclared_fields(klass)
    if undeclared:
        msg = (
            f"{where}: {shown} declares {', '.join(undeclared)} without being a dataclass, so they"
            f" are not fields; {POINT_CLASS_NEEDS}"
        )
        raise KlassError(msg)
    _finish(klass)
    _CHECKED.add(klass)


class EnvPart:
    """Base of every configuration class: a ``repr`` that never shows secrets, keywords checked
    on construction, and a clear error when a field is assigned.

    Concrete subclasses are ``@dataclass(frozen=True, kw_only=True, slots=True, repr=False)``.
    """

    __slots__ = ()

    #: The :class:`~lzy.env.environment.Env` field a point class configures (``"python_env"``);
    #: ``None`` for classes that are not points.
    _POINT: ClassVar[str | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # A subclass shows its own signature, not one inherited from a finished parent.
        type.__setattr__(cls, "__signature__", None)
        # A slots dataclass is made anew by its decorator, complete: finish it now. Others are
        # finished when first constructed (__new__) or met by a with_* method or an Env.
        if "__dataclass_fields__" in cls.__dict__:
            _finish(cls)

    if not TYPE_CHECKING:
        # Hidden from checkers: to them the constructor stays the dataclass's __init__, whose
        # keywords they check (mypy would otherwise read this signature for a class without
        # fields).

        def __new__(cls, *args: Any, **kwargs: Any) -> Self:
            """Finish the class (see :func:`_finish`) before its first instance is initialised."""
            del args, kwargs  # they go to __init__
            if id(cls) not in _FINISHED.ids:
                _finish(cls)
            return super().__new__(cls)

    def __repr__(self) -> str:
        try:
            fields = dataclasses.fields(cast("Any", self))
        except TypeError:  # not a dataclass: refused where it is used, but shown all the same
            return f"<{type(self).__qualname__}: {POINT_CLASS_NEEDS}>"
        shown = [f"{f.name}={masked_repr(f, getattr(self, f.name, None))}" for f in fields if f.repr]
        return f"{type(self).__name__}({', '.join(shown)})"


def field_names(klass: type[object]) -> tuple[str, ...]:
    """The names of a built-in configuration class's fields, in declaration order (kept: for
    the classes of lzy, which live as long as the process)."""
    names = _FIELD_NAMES.get(klass)
    if names is None:
        names = _FIELD_NAMES[klass] = tuple(f.name for f in dataclasses.fields(cast("Any", klass)))
    return names


def assemble(klass: type[_Part], values: Iterable[object]) -> _Part:
    """An instance of the built-in ``klass`` holding ``values`` (one per field, in the order of
    :func:`field_names`), made without running its ``__init__``: for values taken from
    instances of built-in classes, each checked when its own instance was made (a merge of
    levels). Never for a user's subclass, whose own checks may relate fields to each other."""
    make = _ASSEMBLERS.get(klass)
    if make is None:
        make = _ASSEMBLERS[klass] = _assembler(klass)
    return cast("_Part", make(*values))


def _assembler(klass: type[object]) -> Callable[..., object]:
    """A function of one argument per field of ``klass`` that makes an instance holding them,
    written out as :func:`dataclasses.dataclass` writes ``__init__`` (a loop costs twice as much)."""
    names = field_names(klass)
    parameters = ", ".join(f"_{index}" for index in range(len(names)))
    body = "".join(f"    set_(part, {name!r}, _{index})\n" for index, name in enumerate(names))
    source = f"def assemble({parameters}):\n    part = new(klass)\n{body}    return part\n"
    namespace: dict[str, Any] = {"new": object.__new__, "set_": object.__setattr__, "klass": klass}
    exec(source, namespace)
    return cast("Callable[..., object]", namespace["assemble"])


_FIELD_NAMES: dict[type[object], tuple[str, ...]] = {}
_ASSEMBLERS: dict[type[object], Callable[..., object]] = {}


def is_set(part: object, name: str) -> bool:
    """Whether field ``name`` of ``part`` is set: not ``None``, and for a field with a default
    (the own fields of a subclass), not equal to it."""
    value = getattr(part, name, None)
    if value is None:
        return False
    field = next(f for f in dataclasses.fields(cast("Any", part)) if f.name == name)
    if field.default is not dataclasses.MISSING:
        return bool(value != field.default)
    if field.default_factory is not dataclasses.MISSING:
        return bool(value != field.default_factory())
    return True


def more_derived(inner: _Part, outer: _Part, what: str) -> _Part:
    """Which of ``inner`` and ``outer`` a merge of the two takes its class from: the one whose
    class is more derived (``inner`` for the same class), so a user's subclass keeps its type,
    fields and methods. Classes that are not one a subclass of the other merge only when
    ``outer`` sets nothing that ``inner``'s class lacks: else its values would be silently lost.
    """
    if isinstance(inner, type(outer)):
        return inner
    if isinstance(outer, type(inner)):
        return outer
    names = {f.name for f in dataclasses.fields(cast("Any", inner))}
    outer_fields = dataclasses.fields(cast("Any", outer))
    lost = [f.name for f in outer_fields if f.name not in names and is_set(outer, f.name)]
    if lost:
        msg = (
            f"cannot merge {type(inner).__name__} over {type(outer).__name__}: the outer level sets"
            f" {', '.join(lost)}, which {type(inner).__name__} does not have; derive one {what} class"
            " from the other, or set those fields at the inner level too"
        )
        raise ConfigurationError(msg)
    return inner


class OpTarget(abc.ABC):  # noqa: B024 - a marker: it adds no methods, only identity
    """What an environment decorator (``@Provisioning(...)`` and the like) applies to.

    The env layer knows ops only by this marker: :class:`~lzy.api.v1.Op` and the builder that
    ``op(...)`` returns derive from it (and from :class:`~lzy.api.v1.EnvOwner`, whose ``with_*``
    methods a decorator calls). A workflow or :class:`~lzy.api.v1.Lzy` is not one.
    """

    __slots__ = ()


def decorate_op(part: object, op: _Op, apply: Callable[[Any], object]) -> _Op:
    """Apply an environment decorator (``@Provisioning(...)`` and the like) to an op.

    Raises :class:`~lzy.exceptions.NotAnOpError` when ``op`` is not an op.
    """
    if not isinstance(op, OpTarget):
        shown = getattr(op, "__qualname__", None) or describe(op)
        name = type(part).__name__
        msg = (
            f"@{name}(...) decorates an op, but got {shown};"
            f" put it above @op: @{name}(...) on one line, @op on the next, then the def"
        )
        raise NotAnOpError(msg)
    # ``with_*`` returns the same kind of owner it is called on.
    return cast("_Op", apply(op))


def build_part(klass: type[T], fields: Mapping[str, object]) -> T:
    """``klass(**fields)`` with errors that name the klass, the keyword and the valid ones."""
    if not getattr(klass.__init__, _KEYWORD_CHECKED, False):
        check_keywords(klass, (), fields)
    return klass(**fields)


def _dotted_problem(value: str) -> str | None:
    parts = value.split(".")
    if value.startswith("."):
        return "is relative; write the full dotted path, like 'package.module.Class'"
    if len(parts) < 2 or not all(part.isidentifier() and not keyword.iskeyword(part) for part in parts):
        return "is not a dotted path like 'package.module.Class'"
    return None


def _import_dotted(value: str, point: str) -> object:
    """The object a dotted path names: the longest importable module, then attributes."""
    parts = value.split(".")
    module: object = None
    cut = len(parts) - 1
    while cut > 0:
        module_name = ".".join(parts[:cut])
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            missing = error.name or ""
            if module_name == missing or module_name.startswith(f"{missing}."):
                cut -= 1  # this module (or its package) does not exist: perhaps a class path
                continue
            msg = f"{point}: klass {value!r} does not import: importing {module_name!r} failed ({error})"
            raise KlassError(msg) from error
        except Exception as error:  # the module's own code failed while importing
            msg = (
                f"{point}: klass {value!r} does not import: importing {module_name!r}"
                f" raised {type(error).__name__}: {error}"
            )
            raise KlassError(msg) from error
        break
    if cut == 0:
        msg = f"{point}: klass {value!r} does not import: module {parts[0]!r} not found"
        raise KlassError(msg)
    found = module
    for index, attr in enumerate(parts[cut:], start=cut):
        try:
            found = getattr(found, attr)
        except AttributeError as error:
            public = [n for n in dir(found) if not n.startswith("_")]
            owner = ".".join(parts[:index])
            kind = "module" if index == cut else "class"
            msg = (
                f"{point}: klass {value!r} does not import: {kind} {owner!r} has no"
                f" attribute {attr!r}{closest(attr, public)}"
            )
            raise KlassError(msg) from error
    return found


@overload
def import_klass(value: str, base: type[T], point: str) -> type[T]: ...
@overload
def import_klass(value: type[T], base: type[T], point: str) -> type[T]: ...
@overload
def import_klass(value: object, base: type[T], point: str) -> type[T]: ...
def import_klass(value: object, base: type[T], point: str) -> type[T]:
    """Check (or import, for a dotted path) a ``klass`` argument against the point's ``base``.

    Every failure is a :class:`~lzy.exceptions.KlassError` naming ``klass``: a malformed or
    relative path, a module that is missing or fails to import, a missing attribute, a class
    that is not a subclass of ``base``, an abstract class, or one that cannot work as a point
    (:func:`check_part_class`).
    """
    approved = _APPROVED.get(base)
    if approved is None:
        approved = _APPROVED.setdefault(base, _Classes())
    elif id(value) in approved.ids:
        return cast("type[T]", value)
    klass: object = value
    if isinstance(value, str):
        problem = _dotted_problem(value)
        if problem is not None:
            msg = f"{point}: klass {describe(value)} {problem}"
            raise KlassError(msg)
        klass = _import_dotted(value, point)
    if not isinstance(klass, type) or not issubclass(klass, base):
        shown = klass.__qualname__ if isinstance(klass, type) else describe(klass)
        msg = f"{point}: klass must be a subclass of {base.__qualname__}, got {shown}"
        raise KlassError(msg)
    if inspect.isabstract(klass):
        msg = f"{point}: klass {klass.__qualname__} is abstract; pass one of its implementations"
        raise KlassError(msg)
    check_part_class(klass, f"{point}: klass")
    approved.add(klass)
    return klass  # narrowed by the issubclass check above


#: The classes :func:`import_klass` accepted, by the base they were checked against.
_APPROVED: dict[type, _Classes] = {}
