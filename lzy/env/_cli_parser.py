"""The command-line options that describe an env, generated from the fields of the built-in klasses.

Nothing here is written per field. Each point of :data:`~lzy.env._catalog.POINTS` gets an option
choosing its klass (``--python-env manual``) and one option per field of its built-in klasses
(``--python-env.pypi-index-url URL``); how a value is read follows the field's type hint, and its
help is the field's ``#:`` comment (:func:`~lzy.env._catalog.field_docs`). ``--environ KEY=VALUE``
sets variables and, for :class:`~lzy.env.cli.CliOverrides`, ``--for NAME`` aims the options after
it at one op or workflow.

The options record what they were given as they are parsed (argparse runs actions in command-line
order, so ``--for`` can scope the options that follow it); the env is built, and checked by the
klasses' own validation, once parsing is done. A bad value is reported through the parser that
read it, as ``argument --OPTION: ...``, and exits with status 2, as argparse does.
"""

from __future__ import annotations

import argparse
import collections.abc
import dataclasses
import enum
import getpass
import importlib
import os
import re
import sys
import textwrap
import types
import typing
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Final, NoReturn, cast

from lzy.env._base import (
    SECRET,
    URL,
    build_part,
    describe,
    expect_instance,
    import_klass,
    init_fields,
    is_secret_name,
    redact_text,
)
from lzy.env._catalog import POINTS, FieldDoc, Point, field_docs
from lzy.env._rst import plain_text
from lzy.env.environment import MERGE_RULES, Env, MergeRule
from lzy.env.provisioning import ANY, AnyValue
from lzy.exceptions import ConfigurationError, FieldTypeError

__all__ = [
    "ENVIRON_OPTION",
    "TARGET_OPTION",
    "ArgumentParser",
    "FieldOption",
    "Kind",
    "KlassOption",
    "add_arguments",
    "command_line",
    "env_from_cli_args",
    "field_options",
    "generate_argparser",
    "klass_names",
    "looks_like_env_option",
    "option_strings",
    "overrides_from_cli_args",
    "parse_args",
    "parse_process_args",
    "process_words",
    "program_name",
]

#: The option that sets environment variables.
ENVIRON_OPTION: Final = "--environ"
#: The option that aims the options after it at one op or workflow.
TARGET_OPTION: Final = "--for"

#: The namespace attribute where the options record what they were given.
_GIVEN: Final = "_lzy_env_given"
#: The namespace attribute, set by the parser's defaults, that says the env options were added.
_ADDED: Final = "_lzy_env_options"
#: The namespace attribute, set by the parser's defaults, that says whether ``--for`` was added.
_TARGETS: Final = "_lzy_env_targets"


class Kind(enum.Enum):
    """How the text of an option becomes a field's value."""

    #: A string, as given.
    TEXT = "text"
    #: An int, in ASCII digits.
    INT = "int"
    #: A finite decimal number.
    NUMBER = "number"
    #: ``true`` or ``false`` (also ``yes``/``no``, ``on``/``off``, ``1``/``0``); alone, true.
    BOOL = "bool"
    #: A member of an enum, by name or value in any case.
    CHOICE = "choice"
    #: ``KEY=VALUE``, once per key.
    MAPPING = "mapping"
    #: One item per occurrence.
    SEQUENCE = "sequence"
    #: A dotted path to a callable, imported.
    CALLABLE = "callable"
    #: A secret, never taken literally: ``env:NAME``, ``file:PATH`` or ``-`` (standard input).
    SECRET = "secret"


_BOOLS: Final = {
    "true": True,
    "yes": True,
    "on": True,
    "1": True,
    "false": False,
    "no": False,
    "off": False,
    "0": False,
}
_INT: Final = re.compile(r"[+-]?[0-9]+")
_NUMBER: Final = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_DOTTED: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")


def _dashed(name: str) -> str:
    return name.replace("_", "-")


# --------------------------------------------------------------------------- the option model


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class KlassOption:
    """The option that chooses the klass of one point (``--python-env manual``)."""

    #: The point.
    point: Point

    @property
    def option(self) -> str:
        """The option string."""
        return f"--{_dashed(self.point.field)}"


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class FieldOption:
    """The option that sets one field of a point's klass (``--provisioning.cpu-count``)."""

    #: The point whose klass has the field.
    point: Point
    #: The field's name.
    name: str
    #: How the option's text becomes the value.
    kind: Kind
    #: Whether :data:`~lzy.env.provisioning.ANY` is accepted.
    accepts_any: bool
    #: Whether the value is a URL (or URLs) whose credentials are masked when shown.
    is_url: bool
    #: The enum of a :attr:`Kind.CHOICE` option.
    choices: type[enum.Enum] | None
    #: Each built-in klass that has the field, with the field's documentation there.
    docs: tuple[tuple[type[object], FieldDoc], ...]

    @property
    def option(self) -> str:
        """The option string."""
        return f"--{_dashed(self.point.field)}.{_dashed(self.name)}"

    def type_text(self) -> str:
        """What the option accepts, in words."""
        text = {
            Kind.TEXT: _URL_TEXT if self.is_url else "str",
            Kind.INT: "int",
            Kind.NUMBER: "number",
            Kind.BOOL: "true or false (the option alone means true)",
            Kind.CHOICE: "one of " + ", ".join(m.name for m in self.choices or ()),
            Kind.MAPPING: "KEY=VALUE (or KEY==VALUE), repeatable",
            Kind.SEQUENCE: (_URL_TEXT if self.is_url else "str") + "; repeatable",
            Kind.CALLABLE: "a dotted path to a callable (package.module.name)",
            Kind.SECRET: (
                "a secret: env:NAME, file:PATH, or - for one line of standard input (typed at a prompt"
                " that does not show it, on a terminal)"
            ),
        }[self.kind]
        return f"{text}, or ANY" if self.accepts_any else text

    def metavar(self) -> str:
        """The placeholder shown in usage and help."""
        base = {
            Kind.TEXT: "URL" if self.is_url else "TEXT",
            Kind.INT: "N",
            Kind.NUMBER: "X",
            Kind.BOOL: "BOOL",
            Kind.CHOICE: "{" + ",".join(m.name for m in self.choices or ()) + "}",
            Kind.MAPPING: "KEY=VALUE",
            Kind.SEQUENCE: "URL" if self.is_url else "ITEM",
            Kind.CALLABLE: "DOTTED.PATH",
            Kind.SECRET: "SOURCE",
        }[self.kind]
        return f"{base}|ANY" if self.accepts_any else base


#: What a URL option takes, in words.
_URL_TEXT: Final = (
    "a URL, or env:NAME for the URL that the variable NAME holds (which keeps credentials off the"
    " command line)"
)


def _shown_default(klass: type[object], doc: FieldDoc) -> str:
    """The default of a field as the command line would spell it."""
    if doc.required:
        return "required"
    field = next(f for f in dataclasses.fields(cast("Any", klass)) if f.name == doc.name)
    default: object = field.default
    if (callable(default) and hasattr(default, "__qualname__")) and not isinstance(default, enum.Enum):
        return f"default {getattr(default, '__module__', '?')}.{getattr(default, '__qualname__', '?')}"
    return f"default {doc.default}"


#: What ``typing.get_origin`` answers for ``Callable[..., T]``.
_CALLABLE: Final = typing.get_origin(Callable[..., object])


def _union_members(hint: object) -> tuple[object, ...]:
    if typing.get_origin(hint) in {typing.Union, types.UnionType}:
        return typing.get_args(hint)
    return (hint,)


def _is_str_collection(hint: object) -> bool:
    origin = typing.get_origin(hint)
    is_collection = isinstance(origin, type) and issubclass(origin, collections.abc.Collection)
    return is_collection and typing.get_args(hint)[:1] == (str,)


def _kind_of(
    klass: type[object], field: dataclasses.Field[object], hint: object
) -> tuple[Kind, bool, type[enum.Enum] | None]:
    """The kind of a field, whether it accepts ``ANY``, and its enum for a choice."""
    members = _union_members(hint)
    accepts_any = AnyValue in members
    rest = [m for m in members if m is not type(None) and m is not AnyValue]
    where = f"{klass.__qualname__}.{field.name}"
    if len(rest) > 1 and all(_is_str_collection(m) for m in rest):
        rest = rest[:1]  # list[str] | tuple[str, ...] | ...: any of them, given item by item
    enums = [m for m in rest if isinstance(m, type) and issubclass(m, enum.Enum)]
    if len(enums) == 1 and set(rest) == {enums[0], str}:
        rest = [enums[0]]  # an enum or its member's name: the option takes the name
    if len(rest) != 1:
        msg = f"no command-line option can be generated for {where}: {hint!r} is a union of types"
        raise TypeError(msg)
    (tp,) = rest
    origin = typing.get_origin(tp) or tp
    args = typing.get_args(tp)
    if field.metadata.get(SECRET):
        return Kind.SECRET, accepts_any, None
    simple = {bool: Kind.BOOL, int: Kind.INT, float: Kind.NUMBER, str: Kind.TEXT}
    if isinstance(tp, type) and tp in simple:
        return simple[tp], accepts_any, None
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return Kind.CHOICE, accepts_any, tp
    if origin is _CALLABLE:
        return Kind.CALLABLE, accepts_any, None
    if isinstance(origin, type) and issubclass(origin, collections.abc.Mapping) and args == (str, str):
        return Kind.MAPPING, accepts_any, None
    if isinstance(origin, type) and issubclass(origin, collections.abc.Collection) and args[:1] == (str,):
        return Kind.SEQUENCE, accepts_any, None
    msg = f"no command-line option can be generated for {where}: its type {hint!r} is not supported"
    raise TypeError(msg)


_FIELD_OPTIONS: list[FieldOption] = []


def field_options() -> tuple[FieldOption, ...]:
    """One option per field name of each point's built-in klasses, in declaration order."""
    if not _FIELD_OPTIONS:
        _FIELD_OPTIONS.extend(_make_field_options())
    return tuple(_FIELD_OPTIONS)


def _make_field_options() -> Iterator[FieldOption]:
    for point in POINTS:
        found: dict[str, FieldOption] = {}
        for klass in point.klasses:
            hints = typing.get_type_hints(klass)
            fields = {f.name: f for f in dataclasses.fields(cast("Any", klass))}
            for doc in field_docs(klass):
                field = cast("dataclasses.Field[object]", fields[doc.name])
                kind, accepts_any, choices = _kind_of(klass, field, hints[doc.name])
                is_url = bool(field.metadata.get(URL))
                known = found.get(doc.name)
                if known is None:
                    found[doc.name] = FieldOption(
                        point=point,
                        name=doc.name,
                        kind=kind,
                        accepts_any=accepts_any,
                        is_url=is_url,
                        choices=choices,
                        docs=((klass, doc),),
                    )
                    continue
                if (known.kind, known.accepts_any, known.choices) != (kind, accepts_any, choices):
                    msg = (
                        f"{point.field}.{doc.name} is read differently by {known.docs[0][0].__qualname__}"
                        f" and {klass.__qualname__}; one option cannot set both"
                    )
                    raise TypeError(msg)
                found[doc.name] = dataclasses.replace(
                    known, is_url=known.is_url or is_url, docs=(*known.docs, (klass, doc))
                )
        yield from found.values()


def klass_names(point: Point) -> dict[str, type[object]]:
    """The short names of a point's built-in klasses (``manual`` for ``ManualPythonEnv``).

    A short name is the klass's name without its point's base name, in lower case with dashes
    (``OnlyLocalPythonEnv`` is ``only-local``); the point's base itself has none. ``local`` and
    ``none`` are kept as the names users say for :class:`OnlyLocalPythonEnv` and
    :class:`NoContainer`.
    """
    names: dict[str, type[object]] = {}
    for klass in point.klasses:
        stem = klass.__name__.removesuffix(point.base.__name__)
        if not stem:
            continue
        name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "-", stem).lower()
        names[_SAID.get(name, name)] = klass
    return names


#: Short names that read better than the derived ones.
_SAID: Final = {"only-local": "local", "no": "none"}


# --------------------------------------------------------------------------- reading values


def _fail(message: str) -> NoReturn:
    raise argparse.ArgumentTypeError(message)


def _quoted(text: str) -> str:
    """``text`` quoted for an error message, the secrets it may carry (a URL's credentials, a
    token) masked."""
    return repr(redact_text(text))


#: What the process list and the shell's history do with a value given on the command line.
_EXPOSED: Final = "where the process list and the shell's history keep it"


@dataclasses.dataclass(frozen=True, slots=True)
class _Literal:
    """A value read from the command line that carries a secret, and how to keep it off there."""

    #: The value read.
    value: object
    #: What the option was given, as it may be shown (``API_TOKEN=***``).
    shown: str
    #: The safe way to give it.
    advice: str


def _url_reader(option: FieldOption, text: str) -> object:
    """A URL as given, or read from the variable ``env:NAME`` names; one with credentials in it
    is kept, with a warning to come."""
    source, colon, name = text.partition(":")
    if colon and source == "env":
        value = os.environ.get(name)
        if not name or value is None:
            _fail(f"the environment variable {name!r} named by 'env:{name}' is not set")
        return value
    if redact_text(text) != text:
        return _Literal(
            value=text,
            shown=redact_text(text),
            advice=f"give {option.option} env:NAME instead, NAME being a variable that holds the URL",
        )
    return text


def _read_scalar(option: FieldOption, text: str) -> object:
    if option.accepts_any and text.strip().upper() == "ANY":
        return ANY
    either = ", or ANY" if option.accepts_any else ""
    kind = option.kind
    if kind is Kind.INT:
        if not _INT.fullmatch(text.strip()):
            _fail(f"invalid value {_quoted(text)}: expected an int in ASCII digits{either}")
        return int(text)
    if kind is Kind.NUMBER:
        if not _NUMBER.fullmatch(text.strip()):
            _fail(f"invalid value {_quoted(text)}: expected a decimal number such as 2 or 0.5{either}")
        return float(text)
    if kind is Kind.BOOL:
        value = _BOOLS.get(text.strip().lower())
        if value is None:
            _fail(f"invalid value {_quoted(text)}: expected true or false (or yes/no, on/off, 1/0)")
        return value
    if kind is Kind.CHOICE:
        return _read_choice(option, text, either)
    if kind is Kind.CALLABLE:
        return _read_callable(text)
    if kind is Kind.SECRET:
        return _read_secret(text)
    return text


def _read_choice(option: FieldOption, text: str, either: str) -> object:
    assert option.choices is not None
    wanted = text.strip().replace("-", "_").replace("_", "").casefold()
    for member in option.choices:
        spellings = {member.name.replace("_", "").casefold(), str(member.value).replace("_", "").casefold()}
        if wanted in spellings:
            return member
    names = ", ".join(m.name for m in option.choices)
    _fail(f"invalid choice {_quoted(text)}: expected one of {names} (in any case){either}")


def _read_callable(text: str) -> object:
    path = text.strip().replace(":", ".")
    module_name, _, attr = path.rpartition(".")
    if not _DOTTED.fullmatch(path) or not module_name:
        _fail(f"invalid value {_quoted(text)}: expected a dotted path such as package.module.name")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        _fail(f"invalid value {_quoted(text)}: module {module_name!r} does not import ({error})")
    except Exception as error:  # the user's module failed while importing: say how
        _fail(
            f"invalid value {_quoted(text)}: importing {module_name!r} raised {type(error).__name__}: {error}"
        )
    if not hasattr(module, attr):
        _fail(f"invalid value {_quoted(text)}: module {module_name!r} has no attribute {attr!r}")
    value: object = getattr(module, attr)
    if not callable(value):
        _fail(f"invalid value {_quoted(text)}: {describe(value)} is not callable")
    return value


class _StandardInput(enum.Enum):
    """The type of :data:`STANDARD_INPUT`."""

    STANDARD_INPUT = "-"


#: What ``-`` for a secret stands for until standard input is read.
STANDARD_INPUT: Final = _StandardInput.STANDARD_INPUT


def _read_standard_input(option: str) -> str:
    """One line of standard input: typed at a prompt that does not echo it on a terminal."""
    stream = sys.stdin
    if stream is None or stream.closed:
        msg = f"- reads {option} from standard input, but this process has none"
        raise _OptionError(option, msg)
    prompt = f"{option} (not shown as you type): "
    text = getpass.getpass(prompt) if stream.isatty() else stream.readline()
    text = text.removesuffix("\n").removesuffix("\r")
    if not text:
        msg = "- read an empty line from standard input; an empty secret is refused"
        raise _OptionError(option, msg)
    return text


def _read_standard_inputs(given: list[_Given]) -> None:
    """Replace each ``-`` in ``given`` by the line it reads from standard input (in place, so a
    namespace read twice reads standard input once); more than one ``-`` is refused."""
    reading = [(index, item) for index, item in enumerate(given) if item.value is STANDARD_INPUT]
    if not reading:
        return
    options = [cast("FieldOption", item.option).option for _, item in reading]
    if len(reading) > 1:
        msg = (
            f"- is given {len(reading)} times ({', '.join(options)}), but standard input gives one"
            " secret; give the others as env:NAME or file:PATH"
        )
        raise _OptionError(options[1], msg)
    (index, item), option = reading[0], options[0]
    given[index] = dataclasses.replace(item, value=_read_standard_input(option))


def _read_secret(text: str) -> object:
    """A secret from where ``text`` points; a literal secret is refused and never echoed."""
    source, colon, rest = text.partition(":")
    if text == "-":
        return STANDARD_INPUT  # read once parsing is done, so --help and a bad option read nothing
    if colon and source == "env":
        value = os.environ.get(rest)
        if value is None:
            _fail(f"the environment variable {rest!r} named by 'env:{rest}' is not set")
        return value
    if colon and source == "file":
        try:
            with open(rest, encoding="utf-8") as file:
                return file.read().rstrip("\r\n")
        except OSError as error:
            _fail(f"cannot read the file named by 'file:{rest}': {error.strerror or error}")
    _fail(
        "a secret is not taken literally on the command line (it would show in the process list"
        " and the shell's history): give env:NAME, file:PATH, or - to read standard input"
    )


def _read_pair(text: str, *, environ: bool) -> tuple[str, str]:
    key, equals, value = text.partition("=")
    if equals:
        if not key:
            _fail("invalid value '=***' (not shown): expected KEY=VALUE with a non-empty KEY")
        # A pin as pip writes it, NAME==VERSION, is NAME=VERSION; a variable's value is kept as is.
        return key, value if environ else value.removeprefix("=")
    if environ:
        found = os.environ.get(text)
        if not text or found is None:
            _fail(
                f"{text!r} is not set in this environment;"
                " give KEY=VALUE, or KEY alone for a variable set here"
            )
        return text, found
    _fail(f"invalid value {_quoted(text)}: expected KEY=VALUE")


def _reader(option: FieldOption) -> Callable[[str], object]:
    def read(text: str) -> object:
        if option.kind is Kind.MAPPING:
            return _read_pair(text, environ=False)
        if option.is_url and option.kind in {Kind.TEXT, Kind.SEQUENCE}:
            if option.accepts_any and text.strip().upper() == "ANY":
                return ANY
            return _url_reader(option, text)
        return _read_scalar(option, text)

    read.__name__ = option.kind.value
    return read


def _klass_reader(point: Point) -> Callable[[str], object]:
    names = klass_names(point)
    by_class_name = {klass.__name__.casefold(): klass for klass in point.klasses}

    def read(text: str) -> object:
        wanted = text.strip().casefold()
        known = names.get(wanted) or by_class_name.get(wanted)
        if known is not None:
            return known
        if "." not in text:
            listed = ", ".join(names) or "none"
            _fail(
                f"invalid klass {text!r}: expected one of {listed} (or a class name), or the dotted path"
                f" of a subclass of {point.base.__name__}"
            )
        where = KlassOption(point=point).option
        try:
            return import_klass(text.strip(), point.base, where)
        except ConfigurationError as error:
            _fail(f"invalid klass {_quoted(text)}: {str(error).removeprefix(f'{where}: ')}")

    read.__name__ = "klass"
    return read


def _environ_reader(text: str) -> object:
    key, value = _read_pair(text, environ=True)
    literal = "=" in text
    if literal and value and (is_secret_name(key) or redact_text(value) != value):
        return _Literal(
            value=(key, value),
            shown=f"{key}=***",
            advice=f"give {ENVIRON_OPTION} {key} alone, which passes this process's value of {key}",
        )
    return key, value


# --------------------------------------------------------------------------- recording


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class _Given:
    """One option as the command line gave it."""

    target: str | None
    option: KlassOption | FieldOption | None  # None: --environ
    value: object
    #: The warning that the value carries a secret, which the command line exposes.
    warning: str | None = None


class _Recorded:
    """What the options were given, in order, and the parser that read them (for its errors)."""

    __slots__ = ("given", "parser", "target", "warned")

    def __init__(self, parser: argparse.ArgumentParser) -> None:
        self.parser = parser
        self.target: str | None = None
        self.given: list[_Given] = []
        #: Whether the secrets given on the command line were warned about.
        self.warned = False


def _holder(parser: argparse.ArgumentParser, namespace: argparse.Namespace) -> _Recorded:
    holder: object = getattr(namespace, _GIVEN, None)
    if not isinstance(holder, _Recorded):
        holder = _Recorded(parser)
        setattr(namespace, _GIVEN, holder)
    return holder


class _Record(argparse.Action):
    """Record the value of an env option, for the target named by the last ``--for``."""

    def __init__(self, *args: Any, spec: KlassOption | FieldOption | None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: What the option sets (``None``: an environment variable).
        self.spec = spec

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        holder = _holder(parser, namespace)
        value: object = values  # what the option's type made of the text: a _Literal too
        warning = None
        if isinstance(value, _Literal):
            where = option_string or self.option_strings[0]
            warning = f"{where} {value.shown} puts a secret on the command line, {_EXPOSED}; {value.advice}"
            value = value.value
        holder.given.append(_Given(target=holder.target, option=self.spec, value=value, warning=warning))


class _Target(argparse.Action):
    """``--for NAME``: the options that follow apply to the op or workflow called NAME."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        if not isinstance(values, str) or not values.strip():
            parser.error(f"argument {TARGET_OPTION}: expected the name of an op or a workflow")
        _holder(parser, namespace).target = values.strip()


# --------------------------------------------------------------------------- help


class HelpFormatter(argparse.HelpFormatter):
    """argparse's formatter, keeping the line breaks written in help and descriptions."""

    def __init__(
        self, prog: str, indent_increment: int = 2, max_help_position: int = 32, width: int | None = None
    ):
        super().__init__(prog, indent_increment, max_help_position, width)

    def _split_lines(self, text: str, width: int) -> list[str]:
        lines: list[str] = []
        for paragraph in text.splitlines():
            wrapped = textwrap.wrap(paragraph, width, break_long_words=False, break_on_hyphens=False)
            lines.extend(wrapped or [""])
        return lines

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        return "\n".join(
            textwrap.fill(
                paragraph,
                width,
                initial_indent=indent,
                subsequent_indent=indent,
                break_long_words=False,
                break_on_hyphens=False,
            )
            if paragraph
            else ""
            for paragraph in text.splitlines()
        )


def _field_help(option: FieldOption) -> str:
    """Each klass's text for the field (once when they agree), then what the option accepts."""
    names = {klass: name for name, klass in klass_names(option.point).items()}
    by_text: dict[tuple[str, str], list[str]] = {}
    for klass, doc in option.docs:
        key = (plain_text(doc.doc), _shown_default(klass, doc))
        by_text.setdefault(key, []).append(names.get(klass, klass.__name__))
    takes = f"Takes {option.type_text()}"
    if len(by_text) == 1 and len(option.docs) == len(option.point.klasses):
        ((text, default),) = by_text
        return f"{text}\n{takes}; {default}."
    lines = [f"{', '.join(klasses)}: {text} ({default})" for (text, default), klasses in by_text.items()]
    return "\n".join([*lines, f"{takes}."])


_RULE_SENTENCES: Final = {
    MergeRule.FIELDS: (
        "Each field given here wins over the one set in code; the fields not given are inherited."
    ),
    MergeRule.REPLACE: (
        "On the command line these options describe a complete {point}, which replaces the one set"
        " in code: {option} chooses the klass (by default {default}), and a field not given takes"
        " that klass's default shown below, not the code's value."
    ),
    MergeRule.KEYS: "Each variable given here wins over the one set in code; the others are inherited.",
}


def _group_description(point: Point) -> str:
    docs = {doc.name: plain_text(doc.doc) for doc in field_docs(Env)}
    default = {klass: name for name, klass in klass_names(point).items()}.get(point.default)
    sentence = _RULE_SENTENCES[MERGE_RULES[point.field]].format(
        point=point.field,
        option=KlassOption(point=point).option,
        default=default or point.default.__name__,
    )
    return f"{docs.get(point.field, '')} {sentence}".strip()


def _klass_help(point: Point) -> str:
    names = klass_names(point)
    listed = ", ".join(f"{name} ({klass.__name__})" for name, klass in names.items())
    choice = f"one of {listed}, or " if listed else ""
    return (
        f"The klass of {point.field}: {choice}the dotted path of a subclass of"
        f" {point.base.__name__}. Default: {point.default.__name__}."
    )


def option_strings(*, targets: bool) -> list[str]:
    """Every option string :func:`add_arguments` adds, in the order it adds them."""
    options = [TARGET_OPTION] if targets else []
    by_point: dict[str, list[str]] = {}
    for option in field_options():
        by_point.setdefault(option.point.field, []).append(option.option)
    for point in POINTS:
        options += [KlassOption(point=point).option, *by_point.get(point.field, [])]
    return [*options, ENVIRON_OPTION]


def _kind_of_options(targets: bool) -> str:
    return "CliOverrides.add_arguments (with --for)" if targets else "Env.add_arguments (without --for)"


def _check_parser(parser: object, *, targets: bool, who: str) -> bool:
    """Whether ``parser`` can take the env options, refusing what would change their meaning or
    the meaning of the parser's own options; ``False`` when it has them already."""
    expect_instance(f"{who}: parser", parser, argparse.ArgumentParser, "an argparse.ArgumentParser")
    assert isinstance(parser, argparse.ArgumentParser)
    if parser.get_default(_ADDED):
        if bool(parser.get_default(_TARGETS)) == targets:
            return False  # added already, the same options: nothing to do
        msg = (
            f"{who}: the parser has the env options of"
            f" {_kind_of_options(not targets)} already; add one set or the other"
        )
        raise ConfigurationError(msg)
    if "-" not in parser.prefix_chars:
        msg = (
            f"{who}: the parser's prefix_chars is {parser.prefix_chars!r}, but the env options start"
            " with '-' (--provisioning.cpu-count); give the parser prefix_chars that include '-'"
        )
        raise ConfigurationError(msg)
    if parser.allow_abbrev:
        msg = (
            f"{who}: the parser takes abbreviations (allow_abbrev=True, argparse's default), so"
            " --provisioning.gpu-c would be read as --provisioning.gpu-count, and an abbreviation"
            " would change its meaning or stop working the day an option named like it is added;"
            " create the parser with allow_abbrev=False"
        )
        raise ConfigurationError(msg)
    # argparse keeps no public list of a parser's option strings; conflicts are found in it
    # before anything is added, so a refused parser is left as it was.
    taken = [option for option in option_strings(targets=targets) if option in parser._option_string_actions]
    if taken:
        listed = ", ".join(taken[:5]) + (f" and {len(taken) - 5} more" if len(taken) > 5 else "")
        msg = (
            f"{who}: the parser already has {listed}, which the env options use; rename the"
            " parser's own option" + ("s" if len(taken) > 1 else "")
        )
        if taken == [TARGET_OPTION]:
            msg += ", or add the env options without --for (Env.add_arguments)"
        raise ConfigurationError(msg)
    return True


def add_arguments(parser: argparse.ArgumentParser, *, targets: bool, who: str | None = None) -> None:
    """Add one argument group per point, one for ``--environ`` and, with ``targets``, ``--for``.

    A parser that has them already is left as it is; one whose own options would clash with
    them, that takes abbreviations, or whose options do not start with ``-`` is refused.
    """
    who = who or ("CliOverrides.add_arguments" if targets else "Env.add_arguments")
    if not _check_parser(parser, targets=targets, who=who):
        return
    if targets:
        group = parser.add_argument_group(
            "aiming options at one op or workflow",
            "Options before any --for apply to every op. Those after --for NAME apply only to the op"
            " (by function name or qualified name) or the workflow called NAME, up to the next --for."
            " The most specific wins: an op's over its workflow's over those for every op.",
        )
        group.add_argument(
            TARGET_OPTION,
            action=_Target,
            metavar="NAME",
            default=argparse.SUPPRESS,
            help="Apply the options that follow to the op or workflow called NAME.",
        )
    by_point: dict[str, list[FieldOption]] = {}
    for option in field_options():
        by_point.setdefault(option.point.field, []).append(option)
    for point in POINTS:
        klass_option = KlassOption(point=point)
        group = parser.add_argument_group(
            f"{point.field} ({MERGE_RULES[point.field].value})", _group_description(point)
        )
        group.add_argument(
            klass_option.option,
            action=_Record,
            spec=klass_option,
            type=_klass_reader(point),
            metavar="KLASS",
            default=argparse.SUPPRESS,
            help=_klass_help(point),
        )
        for option in by_point.get(point.field, []):
            group.add_argument(
                option.option,
                action=_Record,
                spec=option,
                type=_reader(option),
                metavar=option.metavar(),
                nargs="?" if option.kind is Kind.BOOL else None,
                const="true" if option.kind is Kind.BOOL else None,
                default=argparse.SUPPRESS,
                help=_field_help(option),
            )
    environ_docs = {doc.name: plain_text(doc.doc) for doc in field_docs(Env)}
    group = parser.add_argument_group(
        f"environ ({MERGE_RULES['environ'].value})",
        f"{environ_docs['environ']} {_RULE_SENTENCES[MergeRule.KEYS]}",
    )
    group.add_argument(
        ENVIRON_OPTION,
        action=_Record,
        spec=None,
        type=_environ_reader,
        metavar="KEY=VALUE",
        default=argparse.SUPPRESS,
        help=(
            "Set the environment variable KEY to VALUE; repeatable. KEY alone passes this process's"
            " value of KEY (as docker run -e does), which keeps a secret out of the command line."
        ),
    )
    parser.set_defaults(**{_ADDED: True, _TARGETS: targets})


def _option_strings(parser: argparse.ArgumentParser) -> list[str]:
    # argparse has no public list of a parser's options; its help formatter reads the same one.
    return [option for action in parser._actions for option in action.option_strings]


#: What an option's name looks like: ``--provisioning.cpu-count``, ``-h``.
_OPTION_WORD: Final = re.compile(r"--[A-Za-z][\w.-]*|-[A-Za-z]")
#: Dashes that text pasted from a page or a chat has where the command line wants ``-``.
_DASHES: Final = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"


def _normal(option: str) -> str:
    return option.replace("_", "-").casefold()


def _meant(name: str, known: Sequence[str]) -> tuple[list[str], bool]:
    """The options an unknown option ``name`` may stand for, and whether it abbreviates them:
    the option it spells in another case or with ``_``, those it abbreviates, else the closest."""
    same = [option for option in known if _normal(option) == _normal(name)]
    if same:
        return same[:1], False
    longer = [option for option in known if _normal(option).startswith(_normal(name)) and len(name) > 2]
    if longer:
        return longer[:4], True
    import difflib  # noqa: PLC0415 - only for an error message

    return difflib.get_close_matches(name, list(known), n=1, cutoff=0.6), False


def _suggestion(name: str, known: Sequence[str]) -> str:
    """``; did you mean ...?`` for an unknown option ``name``, or an empty string."""
    options, abbreviated = _meant(name, known)
    if not options:
        return ""
    listed = " or ".join(repr(option) for option in options)
    return f"; {'an option is written in full: ' if abbreviated else ''}did you mean {listed}?"


def _positions(words: Sequence[str], argv: Sequence[str] | None) -> list[int | None]:
    """Where each of ``words`` (taken in order from ``argv``) is in ``argv``, counting from 1."""
    found: list[int | None] = []
    start = 0
    for word in words:
        index = next((i for i in range(start, len(argv or ())) if (argv or ())[i] == word), None)
        found.append(None if index is None else index + 1)
        start = start if index is None else index + 1
    return found


def _misdashed(name: str, known: Sequence[str]) -> str:
    """The hint for a long option written without its two ASCII dashes (``—environ`` pasted
    from a page, ``-provisioning.cpu-count``), or an empty string when ``name`` is not one."""
    bare = name.lstrip("-" + _DASHES)
    lead = name[: len(name) - len(bare)]
    meant = f"--{bare}"
    if not lead or lead == "--" or not _OPTION_WORD.fullmatch(meant):
        return ""
    if set(lead) == {"-"} and "." not in bare and _normal(meant) not in map(_normal, known):
        return ""  # -vv, a cluster of short options, is not a long option mistyped
    option = meant if meant in known else next(iter(_meant(meant, known)[0]), meant)
    odd = next((dash for dash in lead if dash != "-"), None)
    if odd is not None:
        said = f"starts with {odd!r} ({unicodedata.name(odd, 'a dash').lower()}), not '--'"
    else:
        said = f"starts with {len(lead)} '-' where a long option has 2"
    return f"; {name!r} {said}: did you mean {option!r}?"


def unrecognized(words: Sequence[str], argv: Sequence[str] | None, known: Sequence[str]) -> str:
    """The error for the words no option took, naming options only: a value is never shown, for
    it may be the secret that a mistyped option was given (``--container.passwd SECRET``)."""
    shown: list[str] = []
    hidden: list[int | None] = []
    hints: list[str] = []
    given = list(argv or words)
    after_end = given[given.index("--") + 1 :] if "--" in given else []
    for word, position in zip(words, _positions(words, argv), strict=True):
        name, equals, _ = word.partition("=")
        if word == "--" or _OPTION_WORD.fullmatch(name):
            shown.append(f"{name}=***" if equals else name)
            if name not in known:
                hints.append(_suggestion(name, known))
            elif word in after_end:
                hints.append(f"; {name} comes after '--', which ends the options")
            else:
                hints.append(f"; {name} is not read where it is given: put it after the command's name")
        elif _misdashed(name, known):
            shown.append(f"{name}=***" if equals else name)
            hints.append(_misdashed(name, known))
        else:
            shown.append("***")
        if equals or shown[-1] == "***":
            hidden.append(position)
    message = f"unrecognized arguments: {' '.join(shown)}{next((hint for hint in hints if hint), '')}"
    if hidden:
        where = [str(position) for position in hidden if position is not None]
        which = f"{'arguments' if len(where) > 1 else 'argument'} {', '.join(where)}" if where else "a value"
        message += f" (*** is {which}, not shown: it may be a secret)"
    return message


#: The words of argparse's own messages that quote a value given on the command line.
_QUOTED_VALUE: Final = re.compile(r"(ignored explicit argument) (['\"]).*\2")


class ArgumentParser(argparse.ArgumentParser):
    """argparse's parser whose own messages never quote a value given on the command line.

    ``--container.passwd -hSECRET`` is read by argparse as ``-h`` given ``SECRET``, and its
    message would quote that value; lzy's parsers (and their subcommands') show ``***`` there.
    """

    def error(self, message: str) -> NoReturn:
        """Print the usage and ``message``, its quoted values masked, and exit with status 2."""
        super().error(_QUOTED_VALUE.sub(r"\1 *** (not shown: it may be a secret)", message))


def parse_args(
    parser: argparse.ArgumentParser,
    args: Sequence[str] | None,
    *,
    errors: Callable[[argparse.Namespace], argparse.ArgumentParser] | None = None,
) -> argparse.Namespace:
    """``parser.parse_args(args)``, the words no option took reported by :func:`unrecognized`.

    ``errors`` picks the parser that reports them (a subcommand's, for its usage and options).
    """
    words = process_words() if args is None else list(args)
    namespace, extras = parser.parse_known_args(words)
    if extras:
        reporter = errors(namespace) if errors is not None else parser
        reporter.error(unrecognized(extras, words, _option_strings(reporter)))
    return namespace


def command_line(argv: object, who: str) -> list[str] | None:
    """``argv`` checked to be the words of a command line: a sequence of str (``None`` stays)."""
    if argv is None:
        return None
    if isinstance(argv, str | bytes | bytearray):
        msg = (
            f"{who}: argv must be the words of a command line, a sequence of str such as"
            f" sys.argv[1:], got {type(argv).__name__} {describe(argv)}; split a command line"
            " into words with shlex.split()"
        )
        raise FieldTypeError(msg)
    if not isinstance(argv, collections.abc.Sequence):
        msg = (
            f"{who}: argv must be a sequence of str such as sys.argv[1:] (or the namespace of a"
            f" parser given add_arguments), got {describe(argv)}"
        )
        raise FieldTypeError(msg)
    words = list(cast("Sequence[object]", argv))
    for index, word in enumerate(words):
        if not isinstance(word, str):
            msg = f"{who}: argv[{index}] must be a str, got {describe(word)}"
            raise FieldTypeError(msg)
    return cast("list[str]", words)


def process_words() -> list[str]:
    """The words given to this process after its program's name (``sys.argv[1:]``): none when
    ``sys.argv`` is missing or empty, as in an embedded interpreter."""
    argv: object = getattr(sys, "argv", None)
    if not isinstance(argv, list):
        return []
    return [word for word in cast("list[object]", argv)[1:] if isinstance(word, str)]


def program_name() -> str:
    """The name of this program as usage lines show it: ``sys.argv[0]``'s file name, ``python -m
    pkg`` for a package's ``__main__.py``, ``python`` when there is none (an embedded
    interpreter, the interactive prompt)."""
    argv: object = getattr(sys, "argv", None)
    words = cast("list[object]", argv) if isinstance(argv, list) else []
    first = words[0] if words and isinstance(words[0], str) else ""
    name = os.path.basename(first)
    if name in {"-c", "-m"}:
        return f"python {name}"
    if name == "__main__.py":
        package = os.path.basename(os.path.dirname(first))
        return f"python -m {package}" if package.isidentifier() else "python"
    return name or "python"


def _stems() -> frozenset[str]:
    """The names the env options start with (``provisioning`` in ``--provisioning.cpu-count``)."""
    return frozenset({ENVIRON_OPTION[2:], TARGET_OPTION[2:], *(_dashed(point.field) for point in POINTS)})


def looks_like_env_option(word: str) -> bool:
    """Whether a word no option took is meant as an env option: ``--provisioning.cpu-cont``,
    ``--python_env.python-version``, ``--Environ``, ``for`` after a pasted dash. A word after a name that is
    not one of the env options' own (``--epochs``, ``-f``) belongs to the program."""
    name = word.partition("=")[0]
    bare = name.lstrip("-" + _DASHES)
    if bare == name or not bare:
        return False
    key = bare.replace("_", "-").casefold()
    head, dot, _ = key.partition(".")
    stems = _stems()
    if not dot:
        return key in stems
    if head in stems:
        return True
    import difflib  # noqa: PLC0415 - only for a word no option took

    return bool(difflib.get_close_matches(head, sorted(stems), n=1, cutoff=0.8))


def parse_process_args(parser: argparse.ArgumentParser) -> argparse.Namespace:
    """The env options among the words given to this process; the others are left to the program.

    A script's command line is shared: with the script's own options (``--epochs 10``), with
    what an interpreter host passes (a Jupyter kernel's ``-f kernel.json``, pytest's options),
    and with the words after ``--``, which are never options. Those words are not read; a word
    that is meant as an env option but is not one (``--provisioning.cpu-cont``) is refused.
    """
    words = process_words()
    if "--" in words:
        words = words[: words.index("--")]
    namespace, extras = parser.parse_known_args(words)
    mistaken = [word for word in extras if looks_like_env_option(word)]
    if mistaken:
        parser.error(unrecognized(mistaken, words, _option_strings(parser)))
    return namespace


def generate_argparser(*, prog: str | None = None, targets: bool) -> argparse.ArgumentParser:
    """A parser with only the env options."""
    description = (
        "Describe the environment of lzy ops. A value given here wins over the one set in code"
        " (the CLI level, above op, workflow and Lzy)."
    )
    target = f" [{TARGET_OPTION} NAME]" if targets else ""
    usage = (
        f"%(prog)s [-h]{target} [--POINT KLASS] [--POINT.FIELD VALUE ...] [{ENVIRON_OPTION} KEY=VALUE ...]"
    )
    # No abbreviations: ``--provisioning.gpu-c`` would stop working the day a field named like it
    # is added, and a script's command line must keep its meaning.
    parser = ArgumentParser(
        prog=program_name() if prog is None else prog,
        usage=usage,
        description=description,
        formatter_class=HelpFormatter,
        allow_abbrev=False,
    )
    add_arguments(parser, targets=targets)
    return parser


# --------------------------------------------------------------------------- building the env


class _OptionError(Exception):
    """A value the klasses refused, with the option to blame."""

    def __init__(self, option: str, message: str) -> None:
        super().__init__(f"argument {option}: {message}")


def _culprit(message: str, options: Mapping[str, str], fallback: str) -> str:
    """The option of the field that ``message`` names first (fields are named as whole words)."""
    found: list[tuple[int, str]] = []
    for name, option in options.items():
        match = re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", message)
        if match:
            found.append((match.start(), option))
    return min(found)[1] if found else fallback


def _label(point: Point, klass: type[object]) -> str:
    names = {k: name for name, k in klass_names(point).items()}
    short = names.get(klass)
    return (
        f"{klass.__qualname__} ({KlassOption(point=point).option} {short})" if short else klass.__qualname__
    )


def _build_point(
    point: Point, klass: type[object], klass_option: str | None, fields: Mapping[str, tuple[object, str]]
) -> object:
    valid = init_fields(klass)
    options = {o.name: o.option for o in field_options() if o.point is point}
    for name, (_, option) in fields.items():
        if name not in valid:
            usable = [options[f] for f in valid if f in options]
            listing = ", ".join(usable) or "none"
            msg = f"{_label(point, klass)} has no field {name!r} (its options: {listing})"
            raise _OptionError(option, msg)
    missing = [name for name, required in valid.items() if required and name not in fields]
    blame = klass_option or next(iter(fields.values()))[1]
    if missing:
        needed = ", ".join(options.get(name, f"field {name!r} (no option sets it)") for name in missing)
        raise _OptionError(blame, f"{_label(point, klass)} requires {needed}")
    try:
        return build_part(klass, {name: value for name, (value, _) in fields.items()})
    except (ConfigurationError, TypeError, ValueError) as error:
        given = {name: option for name, (_, option) in fields.items()}
        raise _OptionError(_culprit(str(error), given, blame), str(error)) from error


def _build_env(given: Sequence[_Given]) -> Env:
    environ: dict[str, str] = {}
    klasses: dict[str, tuple[type[object], str]] = {}
    fields: dict[str, dict[str, tuple[object, str]]] = {point.field: {} for point in POINTS}
    for item in given:
        spec = item.option
        if spec is None:
            variable, text = cast("tuple[str, str]", item.value)
            environ[variable] = text
        elif isinstance(spec, KlassOption):
            klasses[spec.point.field] = (cast("type[object]", item.value), spec.option)
        else:
            known = fields[spec.point.field].get(spec.name)
            value: object = item.value
            if spec.kind is Kind.MAPPING:
                name, text = cast("tuple[str, str]", value)
                earlier = cast("dict[str, str]", known[0]) if known else {}
                value = {**earlier, name: text}
            elif spec.kind is Kind.SEQUENCE:
                value = (*(cast("tuple[str, ...]", known[0]) if known else ()), value)
            fields[spec.point.field][spec.name] = (value, spec.option)
    points: dict[str, object] = {}
    for point in POINTS:
        chosen = klasses.get(point.field)
        point_fields = fields[point.field]
        if chosen is None and not point_fields:
            continue
        klass, klass_option = chosen if chosen is not None else (point.default, None)
        points[point.field] = _build_point(point, klass, klass_option, point_fields)
    try:
        return Env(environ=environ, **cast("dict[str, Any]", points))
    except ConfigurationError as error:
        raise _OptionError(ENVIRON_OPTION, str(error)) from error


def _parse(argv: object, *, targets: bool, who: str) -> tuple[argparse.ArgumentParser | None, list[_Given]]:
    if isinstance(argv, argparse.Namespace):
        if not getattr(argv, _ADDED, False):
            msg = (
                f"{who}: the namespace was not read by a parser that has the env options;"
                f" call {'CliOverrides' if targets else 'Env'}.add_arguments(parser)"
                " before parser.parse_args()"
            )
            raise ConfigurationError(msg)
        namespace = argv
    else:
        words = command_line(argv, who)
        parser = generate_argparser(targets=targets)
        namespace = parse_process_args(parser) if words is None else parse_args(parser, words)
    holder: object = getattr(namespace, _GIVEN, None)
    if not isinstance(holder, _Recorded):
        return None, []
    try:
        _read_standard_inputs(holder.given)
    except _OptionError as error:
        holder.parser.error(str(error))
    if not holder.warned:
        holder.warned = True
        for item in holder.given:
            if item.warning is not None:
                # As argparse words a warning of its own (a deprecated option, Python 3.13).
                print(f"{holder.parser.prog}: warning: {item.warning}", file=sys.stderr)
    return holder.parser, holder.given


def _built(parser: argparse.ArgumentParser, given: Sequence[_Given]) -> Env:
    try:
        return _build_env(given)
    except _OptionError as error:
        parser.error(str(error))


def env_from_cli_args(argv: object) -> Env:
    """The env of :meth:`Env.from_cli_args <lzy.env.environment.Env.from_cli_args>`."""
    parser, given = _parse(argv, targets=False, who="Env.from_cli_args")
    if parser is None:
        return Env()
    if any(item.target is not None for item in given):
        parser.error(
            f"argument {TARGET_OPTION}: Env.from_cli_args() reads one env for every op; read options"
            " aimed at one op or workflow with CliOverrides.from_cli_args()"
        )
    return _built(parser, given)


def overrides_from_cli_args(
    argv: object, *, who: str = "CliOverrides.from_cli_args"
) -> tuple[Env, dict[str, Env]]:
    """The env for every op and the envs aimed by name, as :class:`~lzy.env.cli.CliOverrides` holds them."""
    parser, given = _parse(argv, targets=True, who=who)
    if parser is None:
        return Env(), {}
    groups: dict[str | None, list[_Given]] = {None: []}
    for item in given:
        groups.setdefault(item.target, []).append(item)
    general = _built(parser, groups.pop(None))
    return general, {target: _built(parser, items) for target, items in groups.items() if target is not None}
