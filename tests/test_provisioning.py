"""Provisioning: validation, field-by-field merge, ANY, and resolution against machine specs."""

from __future__ import annotations

import dataclasses
from typing import Any, cast

import pytest

from lzy.api.v1.env import ANY, MachineSpec, Provisioning, Resources
from lzy.env.provisioning import model_matches
from lzy.exceptions import FieldTypeError, FieldValueError, ProvisioningError

SMALL = MachineSpec(name="s-2", cpu_type="x86_64", cpu_count=2, ram_size_gb=4)
LARGE = MachineSpec(name="s-16", cpu_type="x86_64", cpu_count=16, ram_size_gb=64)
GPU = MachineSpec(name="g-8", cpu_type="x86_64", cpu_count=8, gpu_type="A100", gpu_count=2, ram_size_gb=32)
MACHINES = (LARGE, GPU, SMALL)


def test_unset_by_default() -> None:
    """Every field starts unset, and an empty provisioning requires nothing."""
    assert Provisioning().is_empty
    assert Provisioning().requirements() == Resources()


@pytest.mark.parametrize(
    ("field", "value", "error", "fragment"),
    [
        ("cpu_count", "4", FieldTypeError, "Provisioning.cpu_count must be an int, ANY or None, got '4'"),
        ("cpu_count", True, FieldTypeError, "Provisioning.cpu_count must be an int"),
        ("cpu_count", 0, FieldValueError, "Provisioning.cpu_count must be a positive int, got 0"),
        ("gpu_count", -1, FieldValueError, "Provisioning.gpu_count must be a non-negative int, got -1"),
        ("ram_size_gb", 0.0, FieldValueError, "Provisioning.ram_size_gb must be a positive finite number"),
        ("ram_size_gb", float("nan"), FieldValueError, "ram_size_gb must be a positive finite number"),
        ("ram_size_gb", "8G", FieldTypeError, "Provisioning.ram_size_gb must be a number"),
        ("gpu_type", "", FieldValueError, "Provisioning.gpu_type must be a non-empty string"),
        ("cpu_type", 86, FieldTypeError, "Provisioning.cpu_type must be a str, ANY or None, got 86"),
    ],
)
def test_bad_values_name_field_value_and_allowed(
    field: str, value: object, error: type[Exception], fragment: str
) -> None:
    """A bad value is refused at construction with the field, the value and what is allowed."""
    with pytest.raises(error, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        Provisioning(**{field: cast("Any", value)})


def test_gpu_count_zero_is_allowed_and_means_none() -> None:
    """``gpu_count=0`` asks for no GPU; the smallest CPU machine is chosen."""
    assert Provisioning(gpu_count=0).resolve(MACHINES) == SMALL


def test_merge_takes_each_field_from_the_inner_level() -> None:
    """Inner set fields win; unset ones come from outside; ANY counts as set."""
    outer = Provisioning(cpu_count=8, ram_size_gb=16, gpu_type="A100")
    inner = Provisioning(cpu_count=2, gpu_type=ANY)
    merged = inner.merged_over(outer)
    assert merged == Provisioning(cpu_count=2, ram_size_gb=16, gpu_type=ANY)


def test_any_lifts_an_outer_requirement() -> None:
    """ANY removes a requirement that an outer level made."""
    merged = Provisioning(cpu_count=ANY).merged_over(Provisioning(cpu_count=64))
    assert merged.requirements().cpu_count is None
    assert merged.resolve(MACHINES) == SMALL


def test_resolve_picks_the_smallest_machine_that_fits() -> None:
    """Fewest GPUs, then fewest cores, then least memory."""
    assert Provisioning(cpu_count=4).resolve(MACHINES) == LARGE  # not the GPU machine with 8
    assert Provisioning(ram_size_gb=20, cpu_count=4).resolve(MACHINES) == LARGE
    assert Provisioning(gpu_type="A100").resolve(MACHINES) == GPU
    assert Provisioning(gpu_type=ANY, gpu_count=2).resolve(MACHINES) == GPU


def test_gpu_type_alone_asks_for_one_gpu() -> None:
    """Setting a GPU model without a count asks for one GPU of that model."""
    assert Provisioning(gpu_type="A100").requirements().gpu_count == 1


def test_gpu_count_without_type_is_an_error_when_resolved() -> None:
    """``gpu_count > 0`` with no GPU type is refused, with the way out named."""
    provisioning = Provisioning(gpu_count=1)
    with pytest.raises(ProvisioningError, match="gpu_count=1 without a gpu_type; set gpu_type"):
        provisioning.resolve(MACHINES)


def test_no_machine_fits_lists_what_each_lacks() -> None:
    """The error names every machine and what it lacks."""
    with pytest.raises(ProvisioningError) as caught:
        Provisioning(gpu_type="H100", cpu_count=4).resolve(MACHINES)
    text = str(caught.value)
    assert "g-8 lacks gpu_type 'H100' (it has 'A100')" in text
    assert "s-2 lacks cpu_count 4 (it has 2), gpu_count 1 (it has 0)" in text


def test_value_object_semantics() -> None:
    """Equal by value, hashable, frozen, cloned by dataclasses.replace."""
    first = Provisioning(cpu_count=2)
    assert first == Provisioning(cpu_count=2)
    assert hash(first) == hash(Provisioning(cpu_count=2))
    assert len({first, Provisioning(cpu_count=2), Provisioning(cpu_count=3)}) == 2
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.cpu_count = 3  # type: ignore[misc]  # pyright: ignore[reportAttributeAccessIssue]
    assert dataclasses.replace(first, gpu_count=0) == Provisioning(cpu_count=2, gpu_count=0)
    assert repr(Provisioning(cpu_count=ANY)) == (
        "Provisioning(cpu_type=None, cpu_count=ANY, gpu_type=None, gpu_count=None, ram_size_gb=None)"
    )


def test_replace_validates_again() -> None:
    """A clone is validated like a new object."""
    with pytest.raises(FieldValueError):
        dataclasses.replace(Provisioning(), cpu_count=0)


@pytest.mark.parametrize(
    ("wanted", "have", "matches"),
    [
        ("A100", "NVIDIA A100-SXM4-80GB", True),
        ("a100", "NVIDIA A100-SXM4-80GB", True),
        ("RTX 4090", "NVIDIA GeForce RTX 4090", True),
        ("H100", "NVIDIA A100-SXM4-80GB", False),
        ("A10", "NVIDIA A100-SXM4-80GB", False),
        ("x86_64", "x86_64", True),
        ("amd64", "x86_64", True),
        ("arm64", "aarch64", True),
        ("x86_64", "aarch64", False),
        ("A100", None, False),
    ],
)
def test_model_names_match_by_words(wanted: str, have: str | None, matches: bool) -> None:
    """A wanted model matches the same name, an alias, or a run of the machine model's words."""
    assert model_matches(wanted, have) is matches


def test_machine_reporting_a_long_gpu_model_satisfies_the_short_name() -> None:
    """``gpu_type="A100"`` is satisfied by a machine whose driver says ``NVIDIA A100-SXM4-80GB``."""
    machine = MachineSpec(
        name="gpu box",
        cpu_type="x86_64",
        cpu_count=8,
        gpu_type="NVIDIA A100-SXM4-80GB",
        gpu_count=2,
        ram_size_gb=64,
    )
    wanted = Provisioning(gpu_type="A100", gpu_count=2).requirements()
    assert wanted.shortfalls(machine) == []
    assert Provisioning(gpu_type="H100").requirements().shortfalls(machine) == [
        "gpu_type 'H100' (it has 'NVIDIA A100-SXM4-80GB')"
    ]
