"""The JSON Schema generator behind ``lzy-env schema``: every kind of field the dataclasses use."""

from __future__ import annotations

import dataclasses
import enum
import json
from collections.abc import Iterator, Mapping
from typing import Any, Literal, cast

import jsonschema
import pytest

from lzy.api.v1.env import ResolvedEnv
from lzy.env._schema import DIALECT, json_schema
from lzy.exceptions import FieldTypeError, FieldValueError, LzyError


class Colour(enum.Enum):
    """An enum written by value."""

    #: Red.
    RED = "red"
    #: Blue.
    BLUE = "blue"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Leaf:
    """A nested dataclass."""

    #: A name.
    name: str
    #: A ratio.
    ratio: float


@dataclasses.dataclass(frozen=True, kw_only=True)
class Root:
    """Every kind of field."""

    #: The layout's version.
    SCHEMA_VERSION = 3

    #: A count.
    count: int
    #: A flag.
    flag: bool
    #: Maybe text.
    text: str | None
    #: A colour.
    colour: Colour
    #: How.
    how: Literal["basic", "none"]
    #: Variables.
    variables: Mapping[str, str]
    #: Leaves.
    leaves: tuple[Leaf, ...]
    #: Maybe a leaf.
    leaf: Leaf | None
    #: Anything.
    anything: object


def _validator() -> Any:
    schema = json_schema(Root, title="root")
    jsonschema.Draft202012Validator.check_schema(schema)
    validator: Any = jsonschema.Draft202012Validator(schema)
    return validator


GOOD: dict[str, object] = {
    "schema_version": 3,
    "count": 1,
    "flag": True,
    "text": None,
    "colour": "red",
    "how": "basic",
    "variables": {"A": "1"},
    "leaves": [{"name": "x", "ratio": 0.5}, {"name": "y", "ratio": 2}],
    "leaf": None,
    "anything": [1, "two"],
}


def test_the_schema_of_every_kind_of_field() -> None:
    """Scalars, optional values, enums, literals, mappings, tuples, nested dataclasses, ``object``."""
    schema = json_schema(Root, title="root")
    assert schema["$schema"] == DIALECT
    assert schema["description"] == "Every kind of field."
    assert schema["required"] == [
        "schema_version",
        "count",
        "flag",
        "text",
        "colour",
        "how",
        "variables",
        "leaves",
        "leaf",
        "anything",
    ]
    properties: Any = schema["properties"]
    assert properties["text"] == {"type": ["string", "null"], "description": "Maybe text."}
    assert properties["colour"] == {"enum": ["red", "blue"], "description": "A colour."}
    assert properties["how"] == {"enum": ["basic", "none"], "description": "How."}
    assert properties["variables"]["additionalProperties"] == {"type": "string"}
    assert properties["leaves"]["items"] == {"$ref": "#/$defs/Leaf"}
    assert properties["leaf"]["anyOf"] == [{"$ref": "#/$defs/Leaf"}, {"type": "null"}]
    assert properties["anything"] == {"description": "Anything."}
    definitions: Any = schema["$defs"]
    assert definitions["Leaf"]["properties"] == {
        "name": {"type": "string", "description": "A name."},
        "ratio": {"type": "number", "description": "A ratio."},
    }
    _validator().validate(GOOD)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("schema_version", 2),
        ("count", "1"),
        ("flag", 1),
        ("colour", "green"),
        ("how", "digest"),
        ("variables", {"A": 1}),
        ("leaves", [{"name": "x"}]),
        ("leaf", {"name": "x", "ratio": 1, "extra": 0}),
    ],
)
def test_what_the_dataclass_cannot_hold_is_refused(key: str, value: object) -> None:
    """A wrong type, an unknown member, a missing field or an extra key fails validation."""
    assert not _validator().is_valid({**GOOD, key: value})


def test_a_missing_or_unknown_key_is_refused() -> None:
    """Every field is required and nothing else is allowed."""
    validator = _validator()
    assert not validator.is_valid({k: v for k, v in GOOD.items() if k != "count"})
    assert not validator.is_valid({**GOOD, "surprise": 1})


# --------------------------------------------------------------------------- the loader in step


def _rich_document() -> dict[str, Any]:
    """A serialized env with a value at every path: pins, decisions, a container, variables."""
    from lzy.api.v1.env import (
        Classification,
        DockerContainer,
        EffectiveEnv,
        Env,
        Level,
        ManualPythonEnv,
        PackageDecision,
        Provisioning,
    )

    env = Env(
        provisioning=Provisioning(
            cpu_type="x86_64", cpu_count=2, gpu_type="A100", gpu_count=1, ram_size_gb=1.5
        ),
        python_env=ManualPythonEnv(
            python_version="3.11",
            pypi_packages={"numpy": "2.1.0"},
            pypi_index_url="https://mirror.example/simple",
            extra_index_urls=["https://extra.example/simple"],
            local_module_paths=[__file__],
        ),
        container=DockerContainer(image="ubuntu:24.04", username="u", password="pw"),
        environ={"MODE": "fast"},
    )
    resolved = EffectiveEnv.from_layers({Level.OP: env}).resolve({})
    decision = PackageDecision(
        name="numpy", version="2.1.0", classification=Classification.PYPI, reason="found", paths=("/a",)
    )
    python_env = dataclasses.replace(resolved.python_env, decisions=(decision,))
    document: dict[str, Any] = dataclasses.replace(resolved, python_env=python_env).to_dict(
        include_secrets=True
    )
    return document


def _paths(value: object, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], object]]:
    """Every path into a JSON document (object keys and array indexes), with its value."""
    if path:
        yield path, value
    if isinstance(value, dict):
        for key, item in cast("dict[str, object]", value).items():
            yield from _paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(cast("list[object]", value)):
            yield from _paths(item, (*path, str(index)))


def _wrong(value: object) -> object:
    """A JSON value of another type than ``value``'s (of the type no field of that kind takes)."""
    if isinstance(value, bool):
        return 1
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return "abc"
    if isinstance(value, dict):
        return ["abc"]
    return {"null": "was here"}


def _replaced(document: Any, path: tuple[str, ...], value: object) -> Any:
    """A copy of ``document`` with ``value`` at ``path`` (digits index arrays)."""
    copy: Any = json.loads(json.dumps(document))
    holder: Any = copy
    for part in path[:-1]:
        holder = holder[int(part) if part.isdigit() else part]
    holder[int(path[-1]) if path[-1].isdigit() else path[-1]] = value
    return copy


RICH = _rich_document()
WRONG = [(path, _wrong(value)) for path, value in _paths(RICH) if path != ("schema_version",)]


def test_the_rich_document_is_valid() -> None:
    """The document the next test spoils is accepted by the schema and the loader as it is."""
    validator: Any = jsonschema.Draft202012Validator(json_schema(ResolvedEnv, title="resolved"))
    validator.validate(RICH)
    assert ResolvedEnv.from_dict(RICH).to_dict(include_secrets=True) == RICH


@pytest.mark.parametrize(("path", "value"), WRONG, ids=[".".join(path) for path, _ in WRONG])
def test_from_dict_refuses_what_the_schema_refuses(path: tuple[str, ...], value: object) -> None:
    """A value of the wrong JSON type anywhere is refused by both, the error naming where."""
    spoiled = _replaced(RICH, path, value)
    validator: Any = jsonschema.Draft202012Validator(json_schema(ResolvedEnv, title="resolved"))
    assert not validator.is_valid(spoiled)
    with pytest.raises((FieldTypeError, FieldValueError)) as refused:
        ResolvedEnv.from_dict(spoiled)
    where = "ResolvedEnv"
    for parent, part in zip((None, *path), path, strict=False):
        mapping = parent in {"pypi_packages", "environ"}
        where += f"[{int(part)}]" if part.isdigit() else f"[{part!r}]" if mapping else f".{part}"
    assert f"{where} must be" in str(refused.value)


@pytest.mark.parametrize(
    ("path", "value", "words"),
    [
        (("provisioning", "ram_size_gb"), -5, "positive finite number"),
        (("provisioning", "cpu_count"), 0, "positive int"),
        (("provisioning", "gpu_type"), " ", "non-empty"),
        (("container", "container_type"), "podman", "cannot be run"),
        (("python_env", "decisions", "0", "classification"), "magic", "one of"),
    ],
)
def test_from_dict_applies_the_rules_of_the_classes(path: tuple[str, ...], value: object, words: str) -> None:
    """A value of the right type that the class refuses is refused by the loader, saying where."""
    with pytest.raises(LzyError) as refused:
        ResolvedEnv.from_dict(_replaced(RICH, path, value))
    assert words in str(refused.value)
    assert f"ResolvedEnv.{path[0]}" in str(refused.value)
