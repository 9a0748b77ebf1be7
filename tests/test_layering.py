"""Layering envs without checking twice: the merges of plain envs, what is remembered, and what
subclasses still check.

The merge table itself is tested in ``test_environment.py``; these tests hold the fast paths
(``with_*`` methods, :meth:`EffectiveEnv.from_layers`) to the same rules, written out here.
"""

from __future__ import annotations

import dataclasses
import gc
import weakref
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lzy.api.v1 import op
from lzy.api.v1.env import (
    ANY,
    MERGE_RULES,
    DockerContainer,
    EffectiveEnv,
    Env,
    Level,
    ManualPythonEnv,
    NoContainer,
    Provisioning,
)
from lzy.env import _base, environment
from lzy.env._base import field_names, is_checked_part_class
from lzy.exceptions import ConfigurationError, FieldValueError, UnknownFieldError

provisionings = st.builds(
    Provisioning,
    cpu_type=st.none() | st.just(ANY) | st.sampled_from(["x86_64", "arm64"]),
    cpu_count=st.none() | st.integers(1, 64),
    gpu_type=st.none() | st.sampled_from(["A100", "H100"]),
    gpu_count=st.none() | st.just(ANY) | st.integers(0, 8),
    ram_size_gb=st.none() | st.floats(0.5, 512),
)
python_envs = st.sampled_from(
    [
        ManualPythonEnv(python_version="3.11", pypi_packages={}),
        ManualPythonEnv(python_version="3.12", pypi_packages={"attrs": "23.1"}),
    ]
)
containers = st.sampled_from([NoContainer(), DockerContainer(image="ubuntu:24.04")])
environs = st.dictionaries(
    st.sampled_from(["MODE", "LEVEL", "HF_TOKEN"]), st.sampled_from(["", "a", "b c"]), max_size=3
)
envs = st.builds(
    Env,
    provisioning=st.none() | provisionings,
    python_env=st.none() | python_envs,
    container=st.none() | containers,
    environ=environs,
)


def _layered(lower: Env, upper: Env) -> dict[str, object]:
    """``upper`` over ``lower`` by the rules as the docs state them, point by point."""
    merged: dict[str, object] = {}
    for point in ("python_env", "container"):
        merged[point] = getattr(upper, point) if getattr(upper, point) is not None else getattr(lower, point)
    fields: dict[str, Any] = {}
    for provisioning in (lower.provisioning, upper.provisioning):
        if provisioning is not None:
            fields.update({k: v for k, v in dataclasses.asdict(provisioning).items() if v is not None})
    both_none = lower.provisioning is None and upper.provisioning is None
    merged["provisioning"] = None if both_none else Provisioning(**fields)
    merged["environ"] = {**lower.environ, **upper.environ}
    return merged


def _points(env: Env) -> dict[str, object]:
    return {point: getattr(env, point) for point in MERGE_RULES}


@given(envs, provisionings)
def test_with_provisioning_merges_by_the_rule(below: Env, provisioning: Provisioning) -> None:
    """``with_provisioning`` layers the provisioning over the owner's as the merge table says."""
    step = op(lambda: None, env=below).with_provisioning(provisioning)
    assert _points(step.env) == _layered(below, Env(provisioning=provisioning))


@given(envs, python_envs, containers, environs)
def test_the_other_with_methods_merge_by_the_rule(
    below: Env, python_env: ManualPythonEnv, container: DockerContainer | NoContainer, environ: dict[str, str]
) -> None:
    """``with_python_env`` and ``with_container`` replace, ``with_environ`` merges keys."""
    step = op(lambda: None, env=below)
    assert _points(step.with_python_env(python_env).env) == _layered(below, Env(python_env=python_env))
    assert _points(step.with_container(container).env) == _layered(below, Env(container=container))
    assert _points(step.with_environ(environ).env) == _layered(below, Env(environ=environ))


@given(envs, envs)
def test_an_env_merged_over_another_follows_the_rule(upper: Env, lower: Env) -> None:
    """:meth:`Env.merged_over` of plain envs gives what the merge table says."""
    assert _points(upper.merged_over(lower)) == _layered(lower, upper)


def test_layering_the_same_envs_again_gives_the_same_env_and_a_new_env_its_own() -> None:
    """Layering is remembered for the envs it was given, never for others."""

    def train() -> None: ...

    lzy_env = Env(provisioning=Provisioning(cpu_count=4), environ={"MODE": "fast"})
    op_env = Env(provisioning=Provisioning(gpu_count=1, gpu_type="A100"))
    first = EffectiveEnv.from_layers({Level.LZY: lzy_env, Level.OP: op_env}, function=train)
    again = EffectiveEnv.from_layers({Level.OP: op_env, Level.LZY: lzy_env}, function=train)
    assert again == first
    assert again.function is train
    assert again.source("provisioning.gpu_count") is Level.OP
    other = EffectiveEnv.from_layers(
        {Level.LZY: lzy_env, Level.OP: Env(provisioning=Provisioning(gpu_count=2))}
    )
    assert other.provisioning == Provisioning(cpu_count=4, gpu_count=2)
    assert other.function is None
    # The same env at another level: another provenance.
    moved = EffectiveEnv.from_layers({Level.WORKFLOW: lzy_env, Level.OP: op_env})
    assert moved.source("provisioning.cpu_count") is Level.WORKFLOW


def test_layering_keeps_no_op_function_alive() -> None:
    """What layering remembers holds envs, not the functions of the ops layered."""

    def make() -> weakref.ref[object]:
        def train() -> None: ...

        EffectiveEnv.from_layers({Level.OP: Env(environ={"A": "1"})}, function=train)
        return weakref.ref(train)

    function = make()
    gc.collect()
    assert function() is None


def test_layering_remembers_a_bounded_number_of_layerings() -> None:
    """However many different envs are layered, only the last few hundred are remembered."""
    for count in range(1, 1200):
        EffectiveEnv.from_layers({Level.OP: Env(provisioning=Provisioning(cpu_count=count))})
    kept = environment._LAYERINGS  # pyright: ignore[reportPrivateUsage] - what is remembered
    assert 0 < len(kept) <= environment._LAYERINGS_KEPT  # pyright: ignore[reportPrivateUsage]


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True, repr=False)
class Balanced(Provisioning):
    """A provisioning of a user's whose own check relates two fields."""

    def __post_init__(self) -> None:
        Provisioning.__post_init__(self)
        cpus, ram = self.cpu_count, self.ram_size_gb
        if isinstance(cpus, int) and isinstance(ram, int | float) and cpus > 2 * ram:
            msg = f"Balanced: {cpus} cores need at least {cpus / 2:g} GiB, got {ram:g}"
            raise FieldValueError(msg)


def test_a_subclass_checks_what_a_merge_makes_of_it() -> None:
    """A subclass's own check runs on a merged result: levels each valid may merge into one
    it refuses, with ``with_*`` as in the layering of an op's env."""
    lower = Env(provisioning=Balanced(cpu_count=2, ram_size_gb=1))
    with pytest.raises(FieldValueError, match="8 cores need at least 4 GiB"):
        op(lambda: None, env=lower).with_provisioning(Balanced(cpu_count=8))
    with pytest.raises(FieldValueError, match="8 cores need at least 4 GiB"):
        EffectiveEnv.from_layers({Level.LZY: lower, Level.OP: Env(provisioning=Balanced(cpu_count=8))})


def test_a_refused_keyword_shows_lzys_error_alone() -> None:
    """A wrong keyword is reported as lzy's error, without Python's own TypeError chained to it."""
    with pytest.raises(UnknownFieldError, match="did you mean 'cpu_count'") as caught:
        Provisioning(cpu_cont=1)  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


def test_the_merge_table_lists_the_points_in_the_order_of_the_fields() -> None:
    """Envs are assembled from their points in the order of the table (see ``_over``)."""
    assert tuple(MERGE_RULES) == field_names(Env) == field_names(EffectiveEnv)[: len(MERGE_RULES)]


def test_plain_mappings_and_frozen_ones_compare_and_read_alike() -> None:
    """Environment variables read and compare as a dict does, whatever the other side is."""
    env = Env(environ={"A": "1", "B": "2"})
    assert env.environ == {"A": "1", "B": "2"} == Env(environ={"B": "2", "A": "1"}).environ
    assert env.environ != {"A": "1"}
    assert "A" in env.environ
    assert "C" not in env.environ
    assert list(env.environ.items()) == [("A", "1"), ("B", "2")]
    assert set(env.environ.keys()) == {"A", "B"}
    assert sorted(env.environ.values()) == ["1", "2"]


def test_a_collected_class_is_forgotten_by_the_checks_that_accepted_it() -> None:
    """The classes a check accepted are remembered by identity only while they live: a class
    made and dropped (a test's, a notebook cell's) leaves nothing behind for its successor."""

    def make() -> tuple[int, weakref.ref[type]]:
        @dataclasses.dataclass(frozen=True, kw_only=True, slots=True, repr=False)
        class Short(Provisioning):
            note: str = ""

        op(lambda: None).with_provisioning(klass=Short, note="x")
        assert is_checked_part_class(Short)
        return id(Short), weakref.ref(Short)

    key, klass = make()
    gc.collect()
    assert klass() is None
    assert key not in _base._CHECKED.ids  # pyright: ignore[reportPrivateUsage] - the set itself
    assert key not in _base._FINISHED.ids  # pyright: ignore[reportPrivateUsage]


def test_a_klass_accepted_for_one_point_is_not_for_another() -> None:
    """What ``import_klass`` remembers is per point: a Python env class stays refused as a container."""
    from lzy.api.v1.env import AutoPythonEnv
    from lzy.exceptions import KlassError

    op(lambda: None).with_python_env(klass=AutoPythonEnv)
    python_env_class: Any = AutoPythonEnv  # as a program might pass it, unchecked
    with pytest.raises(KlassError, match="must be a subclass of Container"):
        op(lambda: None).with_container(klass=python_env_class)


@pytest.mark.parametrize(
    ("first", "second"),
    [({"ram_size_gb": 16}, {"ram_size_gb": 16.0}), ({"cpu_count": 1}, {"cpu_count": True})],
)
def test_keyword_clones_made_once_keep_each_values_type(
    first: dict[str, Any], second: dict[str, Any]
) -> None:
    """The instance a with_* call makes from keywords is made once for equal keywords, but values
    a dict takes as the same key (``16`` and ``16.0``, ``1`` and ``True``) are kept apart: each
    call gets what its own keywords make, or its own error."""
    step = op(_identity)
    made = step.with_provisioning(**first).env.provisioning
    assert step.with_provisioning(**first).env.provisioning is made
    try:
        other = step.with_provisioning(**second).env.provisioning
    except ConfigurationError:  # True is not a count: refused every time, never served from memory
        with pytest.raises(ConfigurationError):
            step.with_provisioning(**second)
        return
    assert other is not made
    assert other == Provisioning(**second)


def test_keyword_clones_with_unhashable_values_are_made_each_time() -> None:
    """A list value cannot be remembered: the env is made anew, and right."""
    step = op(_identity)
    fields: dict[str, Any] = {"python_version": "3.11", "pypi_packages": {}, "local_module_paths": ["a.py"]}
    first = step.with_python_env(klass=ManualPythonEnv, **fields)
    again = step.with_python_env(klass=ManualPythonEnv, **fields)
    assert first.env.python_env == again.env.python_env
    assert first.env.python_env is not again.env.python_env


def _identity(x: int) -> int:
    return x


def test_a_mapping_changed_after_with_environ_is_read_anew() -> None:
    """with_environ reads the mapping it is given at each call: one changed in between gives its
    new variables, and a refused variable is refused every time."""
    step = op(_identity)
    variables = {"MODE": "fast"}
    assert dict(step.with_environ(variables).env.environ) == {"MODE": "fast"}
    variables["MODE"] = "slow"
    assert dict(step.with_environ(variables).env.environ) == {"MODE": "slow"}
    for _ in range(2):
        with pytest.raises(ConfigurationError, match="NUL"):
            step.with_environ(MODE="a\0b")


def test_the_same_point_layered_again_gives_the_same_env() -> None:
    """A point of lzy's own over the same env is layered once: the env made is the same object,
    and equal to what a new layering gives."""
    step = op(_identity).with_environ(SEED="1")
    provisioning = Provisioning(cpu_count=8)
    first = step.with_provisioning(provisioning).env
    assert step.with_provisioning(provisioning).env is first
    assert op(_identity).with_environ(SEED="1").with_provisioning(Provisioning(cpu_count=8)).env == first
