"""The built-in configuration classes of each point, their dotted paths and documented fields.

One source for the generated stubs (one overload per klass and per dotted path) and for the
reference docs (the keywords each ``with_*`` method accepts).
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import textwrap
from collections.abc import Mapping
from typing import Any, Final, cast

from lzy.env.container.base import Container, NoContainer
from lzy.env.container.docker import DockerContainer
from lzy.env.provisioning import Provisioning
from lzy.env.python.auto import AutoPythonEnv
from lzy.env.python.base import PythonEnv
from lzy.env.python.local import OnlyLocalPythonEnv
from lzy.env.python.manual import ManualPythonEnv

__all__ = ["FACADE", "POINTS", "FieldDoc", "Point", "dotted_paths", "field_docs"]

#: The public facade that re-exports every built-in klass.
FACADE: Final = "lzy.api.v1.env"


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class Point:
    """One point of configuration as its ``with_*`` method sees it."""

    #: The ``with_*`` method (``"with_python_env"``).
    method: str
    #: The name of the positional instance parameter and of the field on ``Env``.
    field: str
    #: The base class every ``klass`` must derive from.
    base: type[object]
    #: The ``klass`` used when none is given.
    default: type[object]
    #: The built-in implementations, default first.
    klasses: tuple[type[object], ...]


#: Every point that a ``with_*`` method configures by ``klass`` and keywords.
POINTS: Final = (
    Point(
        method="with_provisioning",
        field="provisioning",
        base=Provisioning,
        default=Provisioning,
        klasses=(Provisioning,),
    ),
    Point(
        method="with_python_env",
        field="python_env",
        base=PythonEnv,
        default=AutoPythonEnv,
        klasses=(AutoPythonEnv, ManualPythonEnv, OnlyLocalPythonEnv),
    ),
    Point(
        method="with_container",
        field="container",
        base=Container,
        default=DockerContainer,
        klasses=(DockerContainer, NoContainer),
    ),
)


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class FieldDoc:
    """One keyword of a klass: its name, annotation, whether it is required, and its doc."""

    #: The keyword.
    name: str
    #: The annotation as written in the source.
    annotation: str
    #: Whether the keyword must be given.
    required: bool
    #: The default as a user would write it (a constant's value, ``{}`` for an empty mapping,
    #: else the source text), or ``None`` when required.
    default: str | None
    #: The ``#:`` comment above the field, joined into one paragraph.
    doc: str


def dotted_paths(klass: type[object]) -> tuple[str, ...]:
    """The dotted paths naming ``klass``: the public facade's first, then its defining module's."""
    return (f"{FACADE}.{klass.__qualname__}", f"{klass.__module__}.{klass.__qualname__}")


_FIELD_DOCS: dict[type[object], tuple[FieldDoc, ...]] = {}


def field_docs(klass: type[object]) -> tuple[FieldDoc, ...]:
    """The init fields of dataclass ``klass`` with their ``#:`` comments, in declaration order."""
    known = _FIELD_DOCS.get(klass)
    if known is None:
        known = _FIELD_DOCS[klass] = _read_field_docs(klass)
    return known


def _read_field_docs(klass: type[object]) -> tuple[FieldDoc, ...]:
    comments: dict[str, str] = {}
    sources: dict[str, tuple[str, str | None]] = {}
    for owner in reversed(klass.__mro__):
        if owner is object or not dataclasses.is_dataclass(owner):
            continue
        found_comments, found_sources = _class_fields(owner)
        comments.update(found_comments)
        sources.update(found_sources)
    docs: list[FieldDoc] = []
    for field in dataclasses.fields(cast("Any", klass)):
        if not field.init:
            continue
        annotation, default = sources.get(field.name, (str(field.type), None))
        required = field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING
        docs.append(
            FieldDoc(
                name=field.name,
                annotation=annotation,
                required=required,
                default=None if required else _shown_default(field, default),
                doc=comments.get(field.name, ""),
            )
        )
    return tuple(docs)


_PLAIN_DEFAULTS: Final = (str, int, float, bool, tuple, frozenset, type(None))


def _shown_default(field: dataclasses.Field[object], written: str | None) -> str:
    """The default as a user would write it.

    ``DEFAULT_INDEX_URL`` shows as the URL and an empty mapping factory as ``{}``; a factory
    whose value depends on the machine (the running Python's version) is shown as written.
    """
    default: object = field.default
    if default is not dataclasses.MISSING:
        if isinstance(default, _PLAIN_DEFAULTS):
            return repr(cast("object", default))
    elif field.default_factory is not dataclasses.MISSING:
        made: object = field.default_factory()
        if isinstance(made, Mapping | tuple | frozenset) and not made:
            return "{}" if isinstance(made, Mapping) else repr(cast("object", made))
    return written or "None"


def _class_fields(klass: type[object]) -> tuple[dict[str, str], dict[str, tuple[str, str | None]]]:
    source = textwrap.dedent(inspect.getsource(klass))
    lines = source.splitlines()
    tree = ast.parse(source)
    node = tree.body[0]
    assert isinstance(node, ast.ClassDef)
    comments: dict[str, str] = {}
    sources: dict[str, tuple[str, str | None]] = {}
    for statement in node.body:
        if not isinstance(statement, ast.AnnAssign) or not isinstance(statement.target, ast.Name):
            continue
        name = statement.target.id
        block: list[str] = []
        index = statement.lineno - 2
        while index >= 0 and lines[index].strip().startswith("#:"):
            block.insert(0, lines[index].strip()[2:].strip())
            index -= 1
        comments[name] = " ".join(block)
        default = _default_text(statement.value) if statement.value is not None else None
        sources[name] = (ast.unparse(statement.annotation), default)
    return comments, sources


_FIELD_FUNCTIONS: Final = frozenset({"field", "dataclasses.field", "url_field", "secret"})


def _default_text(value: ast.expr) -> str | None:
    """The default written in a field declaration, looking through ``field(default=...)``."""
    if isinstance(value, ast.Call) and ast.unparse(value.func) in _FIELD_FUNCTIONS:
        for keyword in value.keywords:
            if keyword.arg == "default":
                return ast.unparse(keyword.value)
            if keyword.arg == "default_factory":
                return f"{ast.unparse(keyword.value)}()"
        return None
    return ast.unparse(value)
