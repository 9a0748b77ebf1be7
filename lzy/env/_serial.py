"""Dataclasses to JSON-ready data and back: the serialized forms of resolved envs and plans."""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Self, cast

from lzy.env._base import (
    ENVIRON,
    FrozenMap,
    describe,
    is_secret_field,
    is_secret_name,
    redact_text,
    shown_environ,
)
from lzy.exceptions import FieldTypeError, FieldValueError

__all__ = ["JsonDocument", "dump", "load"]


def dump(value: object, *, include_secrets: bool) -> object:
    """``value`` (a dataclass, enum, mapping, sequence or plain value) as JSON-ready data.

    Unless ``include_secrets``: secret fields (marked, or named like a secret) become ``None``,
    secret-named variables are left out, and every string has the credentials of its URLs and
    its secret parameters masked, in whatever field they were written.
    """
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out: dict[str, object] = {}
        for field in dataclasses.fields(value):
            item = getattr(value, field.name)
            if is_secret_field(field) and not include_secrets:
                item = None
            elif field.metadata.get(ENVIRON) and not include_secrets:
                environ = cast("Mapping[str, str]", item)
                shown = shown_environ(environ)
                item = {k: v for k, v in shown.items() if not is_secret_name(k)}
            out[field.name] = dump(item, include_secrets=include_secrets)
        return out
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Mapping):
        return {
            str(k): dump(v, include_secrets=include_secrets)
            for k, v in cast("Mapping[object, object]", value).items()
        }
    if isinstance(value, tuple | list):
        return [dump(v, include_secrets=include_secrets) for v in cast("Sequence[object]", value)]
    if isinstance(value, str) and not include_secrets:
        return redact_text(value)
    return value


def load(tp: Any, data: object, where: str) -> Any:
    """Rebuild a value of type ``tp`` from :func:`dump`'s output; ``where`` names it in errors."""
    origin = typing.get_origin(tp)
    if origin in {typing.Union, types.UnionType}:
        args = typing.get_args(tp)
        if data is None and type(None) in args:
            return None
        non_none = [a for a in args if a is not type(None)]
        return load(non_none[0], data, where)
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        if not isinstance(data, Mapping):
            msg = f"{where} must be an object, got {describe(data)}"
            raise FieldTypeError(msg)
        mapping = cast("Mapping[str, object]", data)
        hints = typing.get_type_hints(tp)
        names = {f.name for f in dataclasses.fields(tp) if f.init}
        unknown = set(mapping) - names
        if unknown:
            msg = f"{where} has unknown keys {sorted(unknown)} (known: {sorted(names)})"
            raise FieldValueError(msg)
        kwargs = {name: load(hints[name], item, f"{where}.{name}") for name, item in mapping.items()}
        return tp(**kwargs)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return tp(data)
    if origin is tuple:
        item_type = typing.get_args(tp)[0]
        return tuple(load(item_type, v, f"{where}[]") for v in cast("Sequence[object]", data))
    if origin in {FrozenMap, Mapping, dict} or tp in {FrozenMap, Mapping}:
        return FrozenMap(cast("Mapping[str, str]", data))
    if tp is float and isinstance(data, int) and not isinstance(data, bool):
        return float(data)
    return data


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
