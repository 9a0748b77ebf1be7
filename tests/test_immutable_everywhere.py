"""Every frozen dataclass lzy makes public refuses assignment and deletion in lzy's words: the
immutability error naming the class and the field (or the closest field to a misspelt name),
never the generated methods' ``FrozenInstanceError`` or a slots class's ``TypeError``."""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
from typing import Any, cast

import pytest

import lzy
from lzy.exceptions import ImmutableEnvError


def _public_frozen_dataclasses() -> list[type[object]]:
    """The frozen dataclasses named in the ``__all__`` of lzy's public modules that import here."""
    found: dict[str, type[object]] = {}
    for info in pkgutil.walk_packages(lzy.__path__, "lzy."):
        if any(part.startswith("_") for part in info.name.split(".")):  # not a public module
            continue
        try:
            module = importlib.import_module(info.name)
        except ImportError:  # an extra that is not installed here (Ray)
            continue
        for name in getattr(module, "__all__", ()):
            value = getattr(module, name, None)
            if isinstance(value, type) and dataclasses.is_dataclass(value):
                params = getattr(value, "__dataclass_params__", None)
                if getattr(params, "frozen", False):
                    found[f"{value.__module__}.{value.__qualname__}"] = value
    return [found[key] for key in sorted(found)]


CLASSES = _public_frozen_dataclasses()


def test_the_classes_are_found() -> None:
    """The walk finds the artifacts and the configuration classes alike."""
    names = {klass.__name__ for klass in CLASSES}
    assert {"Provisioning", "Resources", "ImageReference", "Platform", "Exploration", "InstallPlan"} <= names


@pytest.mark.parametrize("klass", CLASSES, ids=lambda klass: klass.__name__)
def test_assigning_or_deleting_any_name_is_the_immutability_error(klass: type[object]) -> None:
    """A field and a misspelt name, assigned and deleted: each is ImmutableEnvError naming the
    class; for the misspelt one the closest field is suggested, or the fields listed."""
    instance = object.__new__(klass)
    fields = [field.name for field in dataclasses.fields(cast("Any", klass))]  # a dataclass, found so
    field = fields[0] if fields else "image"
    misspelt = field[:-1] + ("x" if not field.endswith("x") else "y")
    for name in (field, misspelt):
        with pytest.raises(ImmutableEnvError, match=klass.__name__):
            setattr(instance, name, 1)
        with pytest.raises(ImmutableEnvError, match=klass.__name__):
            delattr(instance, name)
    if fields:
        with pytest.raises(ImmutableEnvError) as raised:
            setattr(instance, misspelt, 1)
        assert field in str(raised.value)  # suggested, or listed among the fields
