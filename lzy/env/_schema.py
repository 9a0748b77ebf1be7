"""JSON Schema (draft 2020-12) of lzy's serialized dataclasses, generated from their type hints.

Each dataclass becomes one definition under ``$defs``: an object whose properties are its fields
(every one required, nothing else allowed, as :meth:`ResolvedEnv.to_dict
<lzy.env.environment.ResolvedEnv.to_dict>` writes them), described by the field's ``#:`` comment.
A class with a ``SCHEMA_VERSION`` class attribute gets a ``schema_version`` property fixed to it.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import enum
import types
import typing
from typing import Any, Final, cast

from lzy.env._catalog import field_docs
from lzy.env._rst import plain_text

__all__ = ["DIALECT", "json_schema"]

#: The JSON Schema dialect the generated schemas declare.
DIALECT: Final = "https://json-schema.org/draft/2020-12/schema"

_SIMPLE: Final[dict[object, str]] = {str: "string", int: "integer", float: "number", bool: "boolean"}


def _generic_class(hint: object) -> type[object] | None:
    """The class behind ``hint`` (``tuple`` for ``tuple[str, ...]``), or ``None``."""
    origin: object = typing.get_origin(hint) or hint
    return origin if isinstance(origin, type) else None


class _Generator:
    def __init__(self, by_name: frozenset[type[enum.Enum]]) -> None:
        self.defs: dict[str, dict[str, object]] = {}
        self.by_name = by_name

    def of(self, hint: object) -> dict[str, object]:
        """The schema of a value of type ``hint``."""
        origin = typing.get_origin(hint)
        args = typing.get_args(hint)
        container = _generic_class(hint)
        if origin in {typing.Union, types.UnionType}:
            return self._union(args)
        if origin is typing.Literal:
            return {"enum": list(args)}
        if hint is type(None):
            return {"type": "null"}
        if hint in _SIMPLE:
            return {"type": _SIMPLE[hint]}
        if hint is object or hint is Any:
            return {}
        if isinstance(hint, type) and issubclass(hint, enum.Enum):
            names = hint in self.by_name
            return {"enum": [member.name if names else member.value for member in hint]}
        if isinstance(hint, type) and dataclasses.is_dataclass(hint):
            return self._ref(hint)
        if container is not None and issubclass(container, collections.abc.Mapping):
            value = args[1] if len(args) == 2 else object
            return {"type": "object", "additionalProperties": self.of(value)}
        if container is not None and issubclass(container, collections.abc.Collection):
            item = args[0] if args else object
            return {"type": "array", "items": self.of(item)}
        msg = f"no JSON Schema for {hint!r}"
        raise TypeError(msg)

    def _union(self, members: tuple[object, ...]) -> dict[str, object]:
        schemas = [self.of(member) for member in members]
        if all(set(schema) == {"type"} for schema in schemas):
            return {"type": [schema["type"] for schema in schemas]}
        return {"anyOf": schemas}

    def _ref(self, klass: type[object]) -> dict[str, object]:
        name = klass.__name__
        if name not in self.defs:
            self.defs[name] = {}  # placeholder: a recursive reference finds the name taken
            self.defs[name] = self.object_of(klass)
        return {"$ref": f"#/$defs/{name}"}

    def object_of(self, klass: type[object]) -> dict[str, object]:
        """The schema of dataclass ``klass`` itself (not a reference to it)."""
        hints = typing.get_type_hints(klass)
        try:
            docs = {doc.name: doc.doc for doc in field_docs(klass)}
        except OSError:  # no source to read the #: comments from (a bytecode-only install)
            docs = {}
        properties: dict[str, object] = {}
        version = getattr(klass, "SCHEMA_VERSION", None)
        if isinstance(version, int):
            properties["schema_version"] = {"const": version, "description": "The version of this layout."}
        for field in dataclasses.fields(cast("Any", klass)):
            value = self.of(hints[field.name])
            if docs.get(field.name):
                value = {**value, "description": plain_text(docs[field.name])}
            properties[field.name] = value
        described: dict[str, object] = {}
        summary = (klass.__doc__ or "").strip().split("\n\n", 1)[0]
        if summary and not summary.startswith(f"{klass.__name__}("):  # not dataclass's own stand-in
            described["description"] = plain_text(" ".join(summary.split()))
        return {
            **described,
            "type": "object",
            "properties": properties,
            "required": list(properties),
            "additionalProperties": False,
        }


def json_schema(
    root: type[object], *, title: str, enums_by_name: frozenset[type[enum.Enum]] = frozenset()
) -> dict[str, object]:
    """The JSON Schema of dataclass ``root`` as it is serialized.

    Enums are written by value, except those in ``enums_by_name``, which are written by name.
    """
    generator = _Generator(enums_by_name)
    body = generator.object_of(root)
    schema: dict[str, object] = {"$schema": DIALECT, "title": title, **body}
    generator.defs.pop(root.__name__, None)
    if generator.defs:
        schema["$defs"] = dict(sorted(generator.defs.items()))
    return schema
