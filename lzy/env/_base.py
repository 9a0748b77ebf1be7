"""Shared machinery of the configuration classes: immutable mappings, validation, redaction.

Validators take ``object`` on purpose: they check values whose static type already claims to be
right, and a checker would otherwise call the ``isinstance`` unnecessary.

What is secret and how text is masked is decided in :mod:`lzy._secrets`; this module applies it
to the fields of the configuration classes (:func:`masked_repr`, :func:`shown_environ`).
"""

from __future__ import annotations

import abc
import dataclasses
import difflib
import importlib
import inspect
import re
import urllib.parse
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from typing import Any, Final, TypeVar, cast, overload

from lzy._secrets import MASK, SECRET_NAME_WORDS, is_secret_name, redact_text
from lzy.exceptions import (
    EnvironError,
    FieldTypeError,
    FieldValueError,
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
    "build_part",
    "closest",
    "decorate_op",
    "describe",
    "environ_field",
    "environ_map",
    "expect_bool",
    "expect_callable",
    "expect_instance",
    "expect_str",
    "import_klass",
    "is_secret_field",
    "is_secret_name",
    "masked_repr",
    "redact_text",
    "redact_url",
    "secret",
    "shown_environ",
    "split_credentials",
    "str_map",
    "str_tuple",
    "url",
    "url_field",
]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
T = TypeVar("T")
_Op = TypeVar("_Op")

#: Field metadata key: the value is a secret and never shown.
SECRET: Final = "lzy.secret"
#: Field metadata key: the value is a URL (or URLs) whose credentials are never shown.
URL: Final = "lzy.url"
#: Field metadata key: the value maps environment variable names to values, some of which may
#: be secrets (see :func:`is_secret_name`).
ENVIRON: Final = "lzy.environ"


class FrozenMap(Mapping[K, V]):
    """An immutable, hashable mapping; equal to any mapping with the same items."""

    __slots__ = ("_data", "_hash")

    def __init__(self, data: Mapping[K, V] | Iterable[tuple[K, V]] = ()) -> None:
        self._data: dict[K, V] = dict(data)
        self._hash: int | None = None

    def __getitem__(self, key: K) -> V:
        return self._data[key]

    def __iter__(self) -> Iterator[K]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash(frozenset(self._data.items()))
        return self._hash

    def __eq__(self, other: object) -> bool:
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
    """A short ``repr`` of a user's value for an error message, its secrets masked."""
    text = redact_text(repr(value))
    return text if len(text) <= 80 else text[:77] + "..."


def closest(name: str, candidates: Iterable[str]) -> str:
    """A ``; did you mean 'x'?`` suffix naming the closest candidate, or an empty string."""
    matches = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
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


def _shown_url(text: str) -> str:
    """A refused URL as it may be shown: credentials masked, also before a missing scheme."""
    shown = redact_text(text)
    if "://" not in shown:
        first, slash, rest = shown.partition("/")
        if "@" in first:
            shown = f"{MASK}@{first.rpartition('@')[2]}{slash}{rest}"
    return shown


def url(owner: object, field: str, value: object) -> str:
    """``value`` if it is an absolute http(s) or file URL, else a clear error."""
    text = expect_str(owner, field, value)
    parts = urllib.parse.urlsplit(text)
    if parts.scheme not in {"http", "https", "file"} or (parts.scheme != "file" and not parts.netloc):
        msg = (
            f"{_where(owner, field)} must be an absolute http(s):// or file:// URL, got {_shown_url(text)!r}"
        )
        raise FieldValueError(msg)
    return text.rstrip("/") if parts.path not in {"", "/"} else text


def str_tuple(owner: object, field: str, value: object) -> tuple[str, ...]:
    """A tuple of non-empty strings from a list, tuple, set or frozenset of them."""
    if isinstance(value, str) or not isinstance(value, list | tuple | set | frozenset):
        msg = (
            f"{_where(owner, field)} must be a list or tuple of strings,"
            f" got {describe(value)} ({type(value).__name__})"
        )
        raise FieldTypeError(msg)
    items = cast("Iterable[object]", value)
    out = tuple(expect_str(owner, f"{field}[{i}]", item) for i, item in enumerate(items))
    return tuple(sorted(out)) if isinstance(value, set | frozenset) else out


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


_ENV_NAME_PROBLEM = re.compile(r"[=\x00]")


def environ_map(owner: object, field: str, value: object) -> EnvironMap:
    """Validate environment variables: names non-empty without ``=`` or NUL, values strings."""
    if not isinstance(value, Mapping):
        msg = (
            f"{_where(owner, field)} must be a mapping of variable names to strings,"
            f" got {describe(value)} ({type(value).__name__})"
        )
        raise EnvironError(msg)
    result: dict[str, str] = {}
    for key, item in cast("Mapping[object, object]", value).items():
        if not isinstance(key, str) or not key or _ENV_NAME_PROBLEM.search(key):
            msg = (
                f"{_where(owner, field)}: variable name {describe(key)} is not allowed;"
                " a name is a non-empty str without '=' or NUL"
            )
            raise EnvironError(msg)
        if not isinstance(item, str) or "\x00" in item:
            kind = type(item).__name__
            # The value of a secret-named variable is not repeated in the message.
            got = (
                f"a {kind} (value not shown: the name marks a secret)"
                if is_secret_name(key)
                else (f"{describe(item)} ({kind})")
            )
            msg = (
                f"{_where(owner, field)}[{key!r}] must be a str without NUL,"
                f" got {got}; convert it with str() if that is what you mean"
            )
            raise EnvironError(msg)
        result[key] = item
    return EnvironMap(result)


class EnvPart:
    """Base of every configuration class: a ``repr`` that never shows secrets.

    Concrete subclasses are ``@dataclass(frozen=True, kw_only=True, slots=True, repr=False)``.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        shown: list[str] = []
        for f in dataclasses.fields(cast("Any", self)):
            if not f.repr:
                continue
            shown.append(f"{f.name}={masked_repr(f, getattr(self, f.name))}")
        return f"{type(self).__name__}({', '.join(shown)})"


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


def init_fields(klass: type[object]) -> dict[str, bool]:
    """Keyword names ``klass(...)`` accepts, each mapped to whether it is required."""
    if dataclasses.is_dataclass(klass):
        return {
            f.name: f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
            for f in dataclasses.fields(klass)
            if f.init
        }
    params = inspect.signature(klass).parameters.values()
    return {
        p.name: p.default is inspect.Parameter.empty
        for p in params
        if p.kind in {inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD}
    }


def build_part(klass: type[T], fields: Mapping[str, object]) -> T:
    """``klass(**fields)`` with errors that name the klass, the keyword and the valid ones."""
    valid = init_fields(klass)
    unknown = [name for name in fields if name not in valid]
    if unknown:
        name = unknown[0]
        listing = ", ".join(valid) or "none"
        msg = f"{klass.__name__} has no field {name!r}{closest(name, valid)} (valid fields: {listing})"
        raise UnknownFieldError(msg)
    missing = [name for name, required in valid.items() if required and name not in fields]
    if missing:
        msg = f"{klass.__name__} requires {', '.join(map(repr, missing))}"
        raise FieldTypeError(msg)
    return klass(**fields)


@overload
def import_klass(value: str, base: type[T], point: str) -> type[T]: ...
@overload
def import_klass(value: type[T], base: type[T], point: str) -> type[T]: ...
@overload
def import_klass(value: object, base: type[T], point: str) -> type[T]: ...
def import_klass(value: object, base: type[T], point: str) -> type[T]:
    """Check (or import, for a dotted path) a ``klass`` argument against the point's ``base``."""
    klass: object = value
    if isinstance(value, str):
        module_name, _, attr = value.rpartition(".")
        if not module_name or not attr:
            msg = f"{point}: klass {value!r} is not a dotted path like 'package.module.Class'"
            raise KlassError(msg)
        try:
            module = importlib.import_module(module_name)
        except ImportError as error:
            msg = f"{point}: klass {value!r} does not import: module {module_name!r} not found ({error})"
            raise KlassError(msg) from error
        try:
            klass = getattr(module, attr)
        except AttributeError as error:
            public = [n for n in dir(module) if not n.startswith("_")]
            msg = (
                f"{point}: klass {value!r} does not import: module {module_name!r} has no"
                f" attribute {attr!r}{closest(attr, public)}"
            )
            raise KlassError(msg) from error
    if not isinstance(klass, type) or not issubclass(klass, base):
        shown = klass.__qualname__ if isinstance(klass, type) else describe(klass)
        msg = f"{point}: klass must be a subclass of {base.__module__}.{base.__qualname__}, got {shown}"
        raise KlassError(msg)
    if inspect.isabstract(klass):
        msg = f"{point}: klass {klass.__qualname__} is abstract; pass one of its implementations"
        raise KlassError(msg)
    return klass  # narrowed by the issubclass check above
