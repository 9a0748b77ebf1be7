"""Every public field of the public API has the ``#:`` comment its reference text comes from.

The reference docs take each field's text from the ``#:`` comment right above it (the comments
Sphinx's autodoc reads); a field without one would appear there with no text. The fields are
the dataclass fields and class attributes (enum members and constants included) of every class
in ``__all__`` of :mod:`lzy.api.v1` and :mod:`lzy.api.v1.env` and of their bases in lzy, the
public attributes their ``__init__`` sets, and the public module-level constants.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import importlib
import inspect
import pkgutil
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

import lzy

#: The public modules whose names the reference documents.
PUBLIC_MODULES = ("lzy.api.v1.env", "lzy.api.v1")


@dataclasses.dataclass(frozen=True, order=True)
class Field:
    """One public field: where it is defined and the line of its assignment."""

    #: The module that defines it.
    module: str
    #: The qualified name of the class that defines it; empty for a module-level constant.
    owner: str
    #: Its name.
    name: str
    #: The 1-based line of the assignment.
    line: int

    def __str__(self) -> str:
        owner = f"{self.owner}." if self.owner else ""
        return f"{self.module}.{owner}{self.name}"


@functools.cache
def _source(module_name: str) -> tuple[list[str], ast.Module]:
    path = Path(inspect.getfile(importlib.import_module(module_name)))
    text = path.read_text(encoding="utf-8")
    return text.splitlines(), ast.parse(text)


def _comment_above(module_name: str, line: int) -> str:
    """The ``#:`` comment block right above ``line``, joined; empty when there is none."""
    lines, _ = _source(module_name)
    block: list[str] = []
    index = line - 2
    while index >= 0 and lines[index].strip().startswith("#:"):
        block.insert(0, lines[index].strip()[2:].strip())
        index -= 1
    return " ".join(block).strip()


def _class_node(module_name: str, qualname: str) -> ast.ClassDef:
    _, tree = _source(module_name)
    body: list[ast.stmt] = tree.body
    node: ast.ClassDef | None = None
    for part in qualname.split("."):
        node = next(n for n in body if isinstance(n, ast.ClassDef) and n.name == part)
        body = node.body
    assert node is not None
    return node


def _assigned_names(statement: ast.stmt) -> list[str]:
    if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
        return [statement.target.id]
    if isinstance(statement, ast.Assign):
        return [target.id for target in statement.targets if isinstance(target, ast.Name)]
    return []


def _self_attributes(function: ast.FunctionDef) -> Iterator[tuple[str, int]]:
    for node in ast.walk(function):
        if isinstance(node, ast.Assign):
            targets, line = list(node.targets), node.lineno
        elif isinstance(node, ast.AnnAssign):
            targets, line = [node.target], node.lineno
        else:
            continue
        for target in targets:
            if not isinstance(target, ast.Attribute):
                continue
            if isinstance(target.value, ast.Name) and target.value.id == "self":
                yield target.attr, line


def _class_fields(klass: type[object]) -> Iterator[Field]:
    """The public fields that ``klass`` itself defines."""
    module, qualname = klass.__module__, klass.__qualname__
    node = _class_node(module, qualname)
    for statement in node.body:
        for name in _assigned_names(statement):
            if not name.startswith("_"):
                yield Field(module, qualname, name, statement.lineno)
    if dataclasses.is_dataclass(klass):
        return  # Its __init__ is generated from the fields above.
    for statement in node.body:
        if isinstance(statement, ast.FunctionDef) and statement.name == "__init__":
            for name, line in _self_attributes(statement):
                is_property = isinstance(inspect.getattr_static(klass, name, None), property)
                if not name.startswith("_") and not is_property:
                    yield Field(module, qualname, name, line)


def _public_objects() -> Iterator[tuple[str, object]]:
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            yield name, getattr(module, name)


def _all_fields() -> list[Field]:
    found: set[Field] = set()
    modules = [info.name for info in pkgutil.walk_packages(lzy.__path__, "lzy.")]
    for name, value in _public_objects():
        if isinstance(value, ModuleType) or inspect.isfunction(value):
            continue
        if inspect.isclass(value):
            for owner in value.__mro__:
                if owner.__module__.partition(".")[0] == "lzy":
                    found.update(_class_fields(owner))
            continue
        for module_name in modules:
            if module_name.startswith("lzy.api."):
                continue
            if getattr(importlib.import_module(module_name), name, None) is value:
                _, tree = _source(module_name)
                for statement in tree.body:
                    if name in _assigned_names(statement):
                        found.add(Field(module_name, "", name, statement.lineno))
    return sorted(found)


FIELDS = _all_fields()


def test_the_scan_finds_the_public_fields() -> None:
    """The scan sees well-known fields of each kind (a guard against an empty parametrization)."""
    names = {(field.owner, field.name) for field in FIELDS}
    assert ("Provisioning", "cpu_count") in names
    assert ("DockerContainer", "password") in names
    assert ("PullPolicy", "ALWAYS") in names
    assert ("OpCall", "env") in names
    assert ("LocalRuntime", "machine") in names
    assert ("", "MERGE_RULES") in names
    assert ("", "ANY") in names


@pytest.mark.parametrize("field", FIELDS, ids=str)
def test_public_field_has_doc_comment(field: Field) -> None:
    """A public field, class attribute or constant has a ``#:`` comment right above it."""
    assert _comment_above(field.module, field.line), (
        f"{field} (line {field.line}) has no '#:' comment right above it, so the reference shows"
        " it without any text; add one"
    )
