"""Dataclasses to JSON-ready data and back: the serialized forms of resolved envs and plans."""

from __future__ import annotations

import dataclasses
import enum
import math
import sys
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, Final, Self, cast

from lzy._secrets import MASK
from lzy.env._base import (
    ENVIRON,
    FrozenMap,
    describe,
    is_secret_field,
    is_secret_name,
    redact_text,
    shown_environ,
)
from lzy.exceptions import FieldTypeError, FieldValueError, LzyError

__all__ = ["JsonDocument", "dump", "load"]


def dump(
    value: object, *, include_secrets: bool, hide: Callable[[object, str], object] | None = None
) -> object:
    """``value`` (a dataclass, enum, mapping, sequence or plain value) as JSON-ready data.

    Unless ``include_secrets``: secret fields (marked, or named like a secret) become ``None``,
    secret-named variables are left out, and every string has the credentials of its URLs and
    its secret parameters masked, in whatever field they were written. With ``hide``, each of
    those secrets is written as ``hide(value, shown)`` instead, ``shown`` being its masked text
    (``***`` for a whole secret): a comparison of two envs then sees a secret that changed.
    """
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out: dict[str, object] = {}
        for field in dataclasses.fields(value):
            item = getattr(value, field.name)
            if is_secret_field(field) and not include_secrets:
                out[field.name] = None if hide is None or item is None else hide(item, MASK)
            elif field.metadata.get(ENVIRON) and not include_secrets:
                environ = cast("Mapping[str, str]", item)
                if hide is None:
                    shown = shown_environ(environ)
                    out[field.name] = {k: v for k, v in shown.items() if not is_secret_name(k)}
                else:
                    out[field.name] = {
                        k: hide(v, MASK) if is_secret_name(k) else dump(v, include_secrets=False, hide=hide)
                        for k, v in environ.items()
                    }
            else:
                out[field.name] = dump(item, include_secrets=include_secrets, hide=hide)
        return out
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Mapping):
        return {
            str(k): dump(v, include_secrets=include_secrets, hide=hide)
            for k, v in cast("Mapping[object, object]", value).items()
        }
    if isinstance(value, tuple | list):
        return [dump(v, include_secrets=include_secrets, hide=hide) for v in cast("Sequence[object]", value)]
    if isinstance(value, str) and not include_secrets:
        shown_text = redact_text(value)
        return shown_text if hide is None or shown_text == value else hide(value, shown_text)
    return value


#: How each JSON type is named in messages.
_JSON_TYPES: Final[Mapping[type, str]] = {
    str: "a string",
    bool: "true or false",
    int: "an integer",
    float: "a number",
    type(None): "null",
}


def _expected(tp: object) -> str:
    """What a value of type ``tp`` is in a JSON document, in words."""
    if dataclasses.is_dataclass(tp):
        return "an object"
    origin = typing.get_origin(tp)
    if origin in {typing.Union, types.UnionType}:
        return " or ".join(_expected(member) for member in typing.get_args(tp))
    if isinstance(tp, type) and tp in _JSON_TYPES:
        return _JSON_TYPES[tp]
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return "one of " + ", ".join(
            f'"{member.value}"' if isinstance(member.value, str) else str(member.value) for member in tp
        )
    args = typing.get_args(tp)
    if _is_mapping(tp):
        return f"an object whose every value is {_expected(args[1])}" if args else "an object"
    if args:
        return f"an array whose every item is {_expected(args[0])}"
    return "a JSON value"


def _is_mapping(tp: Any) -> bool:
    origin = typing.get_origin(tp) or tp
    return isinstance(origin, type) and issubclass(origin, Mapping)


def _is_sequence(tp: Any) -> bool:
    origin = typing.get_origin(tp) or tp
    return isinstance(origin, type) and issubclass(origin, tuple | list | frozenset | set)


def _refuse(tp: Any, data: object, where: str) -> typing.NoReturn:
    msg = f"{where} must be {_expected(tp)}, got {describe(data)} ({type(data).__name__})"
    raise FieldTypeError(msg)


def _load_union(tp: Any, data: object, where: str) -> Any:
    members = typing.get_args(tp)
    if data is None and type(None) in members:
        return None
    refusals: list[FieldTypeError | FieldValueError] = []
    for member in (m for m in members if m is not type(None)):
        try:
            return load(member, data, where)
        except (FieldTypeError, FieldValueError) as error:
            refusals.append(error)
    if len(refusals) == 1:
        raise refusals[0]
    _refuse(tp, data, where)


def _load_dataclass(tp: type[Any], data: object, where: str) -> Any:
    if not isinstance(data, Mapping):
        _refuse(tp, data, where)
    mapping = cast("Mapping[object, object]", data)
    fields = {f.name: f for f in dataclasses.fields(tp) if f.init}
    unknown = sorted(str(key) for key in mapping if key not in fields)
    if unknown:
        # Written from a subclass with fields of its own (a user's Resources with a disk_io):
        # read back as that subclass when this program defines exactly one that fits.
        subclass = _subclass_for(tp, {str(key) for key in mapping}, where)
        if subclass is None:
            msg = (
                f"{where} has unknown keys {unknown} (known: {sorted(fields)}); a document written"
                f" from a subclass of {tp.__name__} is read where that subclass is defined (imported)"
            )
            raise FieldValueError(msg)
        tp = subclass
        fields = {f.name: f for f in dataclasses.fields(tp) if f.init}
    hints = typing.get_type_hints(tp)
    missing = [
        name
        for name, f in fields.items()
        if name not in mapping
        and f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        msg = f"{where} lacks the keys {missing} (every one of {sorted(fields)} is written)"
        raise FieldValueError(msg)
    kwargs = {str(name): load(hints[str(name)], item, f"{where}.{name}") for name, item in mapping.items()}
    try:
        return tp(**kwargs)
    except LzyError as error:  # the class's own rules: say where in the document
        raise type(error)(f"{where}: {error}") from error


def _subclass_for(tp: type[Any], keys: set[str], where: str) -> type[Any] | None:
    """The one dataclass subclass of ``tp`` defined in this program whose fields are ``keys``
    (those with defaults may be left out), or ``None``; two that fit are an error."""
    found: list[type[Any]] = []
    seen: set[type[Any]] = set()
    stack = list(tp.__subclasses__())
    while stack:
        klass = stack.pop()
        if klass in seen:
            continue
        seen.add(klass)
        stack.extend(klass.__subclasses__())
        if not dataclasses.is_dataclass(klass):
            continue
        fields = {f.name: f for f in dataclasses.fields(klass) if f.init}
        required = {
            name
            for name, f in fields.items()
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        }
        if keys <= fields.keys() and required <= keys:
            found.append(klass)
    exact = [klass for klass in found if {f.name for f in dataclasses.fields(klass) if f.init} == keys]
    chosen = _one_per_name(exact or found)
    if len(chosen) > 1:
        names = ", ".join(sorted(f"{k.__module__}.{k.__qualname__}" for k in chosen))
        msg = f"{where} fits more than one subclass of {tp.__name__} ({names}); lzy cannot tell which"
        raise FieldValueError(msg)
    return chosen[0] if chosen else None


def _one_per_name(classes: list[type[Any]]) -> list[type[Any]]:
    """``classes`` with one class per module and name: a slots dataclass is made anew by its
    decorator, and the class it replaced lingers among the subclasses until collected. The one
    its module holds is kept."""
    by_name: dict[tuple[str, str], type[Any]] = {}
    for klass in classes:
        key = (klass.__module__, klass.__qualname__)
        module = sys.modules.get(klass.__module__)
        held: object = module
        for part in klass.__qualname__.split("."):
            held = getattr(held, part, None)
        if key not in by_name or held is klass:
            by_name[key] = klass
    return list(by_name.values())


def load(tp: Any, data: object, where: str) -> Any:
    """Rebuild a value of type ``tp`` from :func:`dump`'s output; ``where`` names it in errors.

    Every value is checked against its type as JSON carries it (a string, an integer, a finite
    number, true or false, null, an array, an object); a value of another type is a
    :class:`~lzy.exceptions.FieldTypeError` naming ``where``, the value and what it must be, and
    the rebuilt dataclasses check the rest as they always do.
    """
    origin = typing.get_origin(tp)
    if origin in {typing.Union, types.UnionType}:
        return _load_union(tp, data, where)
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        return _load_dataclass(tp, data, where)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        try:
            return tp(data)
        except ValueError:
            _refuse(tp, data, where)
    if _is_mapping(tp):
        if not isinstance(data, Mapping):
            _refuse(tp, data, where)
        key_type, value_type = typing.get_args(tp) or (str, object)
        pairs = cast("Mapping[object, object]", data).items()
        return FrozenMap(
            {load(key_type, k, f"{where} key"): load(value_type, v, f"{where}[{k!r}]") for k, v in pairs}
        )
    if _is_sequence(tp):
        if not isinstance(data, list | tuple):
            _refuse(tp, data, where)
        (item_type, *_) = typing.get_args(tp) or (object,)
        items = cast("Sequence[object]", data)
        return tuple(load(item_type, item, f"{where}[{index}]") for index, item in enumerate(items))
    if tp is float and isinstance(data, int | float) and not isinstance(data, bool):
        if not math.isfinite(data):
            msg = f"{where} must be a finite number, got {describe(data)}"
            raise FieldValueError(msg)
        return float(data)
    if tp in _JSON_TYPES:
        if type(data) is not tp:  # an int is no str, and true is no integer
            _refuse(tp, data, where)
        return data
    if tp is object or tp is Any:
        return data
    msg = f"no JSON form of {tp!r} ({where})"
    raise TypeError(msg)


class JsonDocument:
    """A dataclass written as a versioned JSON document: ``to_dict``/``to_json`` and back.

    Subclasses set :attr:`SCHEMA_VERSION` and are frozen dataclasses; secrets stay out of the
    document unless asked for (see :func:`dump`).
    """

    __slots__ = ()

    #: The version of the dictionary layout written by :meth:`to_dict`.
    SCHEMA_VERSION: ClassVar[int] = 1

    def to_dict(self, *, include_secrets: bool = False) -> dict[str, Any]:
        """A JSON-ready dictionary with ``schema_version``.

        Secrets are left out unless ``include_secrets``: secret fields are ``None``, secret
        variables are dropped from ``environ``, and every string has the credentials of its
        URLs and its secret parameters masked.
        """
        data = cast("dict[str, Any]", dump(self, include_secrets=include_secrets))
        return {"schema_version": self.SCHEMA_VERSION, **data}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Rebuild a document from :meth:`to_dict`'s output (checks ``schema_version``)."""
        version = data.get("schema_version")
        if version != cls.SCHEMA_VERSION:
            msg = (
                f"{cls.__name__}.from_dict: schema_version {describe(version)} is not supported"
                f" (this lzy reads {cls.SCHEMA_VERSION})"
            )
            raise FieldValueError(msg)
        body = {k: v for k, v in data.items() if k != "schema_version"}
        return cast("Self", load(cls, body, cls.__name__))

    def to_json(self, *, include_secrets: bool = False) -> str:
        """:meth:`to_dict` as a JSON string."""
        import json  # noqa: PLC0415 - only when a document is written

        return json.dumps(self.to_dict(include_secrets=include_secrets), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Self:
        """The inverse of :meth:`to_json`."""
        import json  # noqa: PLC0415 - only when a document is read

        return cls.from_dict(json.loads(text))
