"""The JSON Schema generator behind ``lzy-env schema``: every kind of field the dataclasses use."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from typing import Any, Literal

import jsonschema
import pytest

from lzy.env._schema import DIALECT, json_schema


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
