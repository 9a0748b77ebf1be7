"""User subclasses of each point: they merge, explain and serialize as themselves, or are
refused at once when they cannot work as a point."""

from __future__ import annotations

import copy
import dataclasses
import pickle
from collections.abc import Mapping
from typing import Any, cast

import pytest

from lzy.api.v1 import Lzy, op
from lzy.api.v1.env import (
    AutoPythonEnv,
    Container,
    DockerContainer,
    EffectiveEnv,
    Env,
    Level,
    ManualPythonEnv,
    NoContainer,
    OnlyLocalPythonEnv,
    Provisioning,
    PythonEnv,
    ResolvedContainer,
    ResolvedEnv,
    ResolvedPythonEnv,
    Resources,
)
from lzy.exceptions import (
    ConfigurationError,
    FieldValueError,
    KlassError,
    UnknownFieldError,
    UnknownPathError,
)
from lzy.runtime._pickle import dumps as cloudpickled

# -- provisioning -----------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class DiskResources(Resources):
    """The artifact with one more requirement."""

    #: Minimum disk throughput in MB/s, or ``None`` for any.
    disk_io: int | None = None


# Not slots=True: before Python 3.14 a slots dataclass cannot call super() without arguments.
@dataclasses.dataclass(frozen=True, kw_only=True)
class DiskProvisioning(Provisioning):
    """Provisioning with a disk requirement; its own field merges like the others."""

    #: Minimum disk throughput in MB/s; ``None`` inherits.
    disk_io: int | None = None

    def requirements(self) -> DiskResources:
        """The built-in requirements plus the disk's."""
        base = super().requirements()
        return DiskResources(**dataclasses.asdict(base), disk_io=self.disk_io)


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True, repr=False)
class GpuMemoryProvisioning(Provisioning):
    """Another subclass, unrelated to :class:`DiskProvisioning`."""

    #: Minimum GPU memory in GiB.
    gpu_memory_gb: int | None = None


def test_a_provisioning_subclass_merged_over_the_default_keeps_its_type_field_and_methods() -> None:
    """Merged over (and under) plain provisioning, field by field, at every level."""
    lzy = Lzy().with_provisioning(cpu_count=4).with_provisioning(klass=DiskProvisioning, disk_io=500)
    with lzy.workflow("w").with_provisioning(ram_size_gb=8) as workflow:
        effective = workflow.effective_env(op(_work).with_provisioning(cpu_count=2))
    merged = effective.provisioning
    assert isinstance(merged, DiskProvisioning)
    assert (merged.cpu_count, merged.ram_size_gb, merged.disk_io) == (2, 8, 500)
    assert merged.requirements() == DiskResources(cpu_count=2, ram_size_gb=8, disk_io=500)
    assert effective.source("provisioning.disk_io") is Level.LZY
    assert effective.source("provisioning.cpu_count") is Level.OP
    rows = {row.path: (row.value, row.level) for row in effective.rows()}
    assert rows["provisioning.disk_io"] == ("500", Level.LZY)
    assert "disk_io=500" in repr(merged)


def _work() -> None:
    """An op's function."""


def test_a_plain_provisioning_merged_over_a_subclass_keeps_the_subclass() -> None:
    """The more derived class wins whichever level it is set at."""
    outer = DiskProvisioning(disk_io=100, cpu_count=1)
    merged = Provisioning(cpu_count=8).merged_over(outer)
    assert merged == DiskProvisioning(disk_io=100, cpu_count=8)


def test_unrelated_provisioning_subclasses_merge_only_without_losing_values() -> None:
    """A field the outer class sets but the inner one lacks is not dropped silently."""
    assert DiskProvisioning(disk_io=1).merged_over(GpuMemoryProvisioning(cpu_count=2)) == DiskProvisioning(
        disk_io=1, cpu_count=2
    )
    with pytest.raises(ConfigurationError, match="the outer level sets gpu_memory_gb"):
        DiskProvisioning(disk_io=1).merged_over(GpuMemoryProvisioning(gpu_memory_gb=80))


def test_a_provisioning_subclass_is_built_and_checked_like_the_builtin() -> None:
    """Its keywords are checked on construction, and its fields are immutable."""
    with pytest.raises(
        UnknownFieldError, match="DiskProvisioning has no field 'disk_iops'; did you mean 'disk_io'"
    ):
        DiskProvisioning(disk_iops=1)  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]
    with pytest.raises(dataclasses.FrozenInstanceError, match="immutable"):
        DiskProvisioning().disk_io = 3  # type: ignore[misc]  # pyright: ignore[reportAttributeAccessIssue]


# -- python env -------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, kw_only=True, repr=False)
class CondaPythonEnv(ManualPythonEnv):
    """A user's Python env: the manual one plus a conda channel (not a slots class)."""

    #: The conda channel packages come from.
    channel: str = "conda-forge"
    #: A token for a private channel.
    channel_token: str | None = None

    def resolve(self, namespace: Mapping[str, object]) -> ResolvedPythonEnv:
        """The manual env, with the channel's packages."""
        resolved = super().resolve(namespace)
        return dataclasses.replace(resolved, pypi_packages=resolved.pypi_packages | {"conda": "24.1"})


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True, repr=False)
class FrozenPythonEnv(PythonEnv):
    """A Python env written from the abstract base."""

    #: The requirements file the image was built from.
    lock_file: str = "requirements.lock"

    def resolve(self, namespace: Mapping[str, object]) -> ResolvedPythonEnv:
        """Use the container's Python as it is."""
        del namespace
        return ResolvedPythonEnv(install=False, python_version=None)


@pytest.mark.parametrize(
    ("python_env", "field", "shown"),
    [
        (
            CondaPythonEnv(python_version="3.11", pypi_packages={"numpy": "2.1.0"}, channel_token="t0ken"),
            "channel",
            "'conda-forge'",
        ),
        (FrozenPythonEnv(lock_file="prod.lock"), "lock_file", "'prod.lock'"),
    ],
)
def test_a_python_env_subclass_is_replaced_whole_and_explained(
    python_env: PythonEnv, field: str, shown: str
) -> None:
    """It replaces the default, keeps its type and methods, and explain() shows its fields,
    secret-named ones masked."""
    lzy = Lzy().with_python_env(python_env)
    effective = EffectiveEnv.from_layers({Level.LZY: lzy.env, Level.OP: op(_work).with_environ(A="1").env})
    assert effective.python_env is python_env
    rows = {row.path: (row.value, row.level) for row in effective.rows()}
    assert rows[f"python_env.{field}"] == (shown, Level.LZY)
    assert rows["python_env"] == (type(python_env).__name__, Level.LZY)
    resolved = effective.resolve({})
    if isinstance(python_env, CondaPythonEnv):
        assert resolved.python_env.pypi_packages["conda"] == "24.1"
        assert rows["python_env.channel_token"] == ("'***'", Level.LZY)
        assert "t0ken" not in repr(python_env)
        assert "t0ken" not in effective.explain()


def test_a_non_slots_subclass_is_checked_when_first_built() -> None:
    """A subclass that is not a slots dataclass gets the same keyword check on construction."""
    with pytest.raises(
        UnknownFieldError, match="CondaPythonEnv has no field 'chanel'; did you mean 'channel'"
    ):
        CondaPythonEnv(python_version="3.11", pypi_packages={}, chanel="x")  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]


# -- container --------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, kw_only=True)
class PlatformDockerContainer(DockerContainer):
    """A Docker container for one platform."""

    #: The platform the image is pulled for.
    platform: str = "linux/amd64"

    def resolve(self) -> ResolvedContainer:
        """The built-in artifact, with the platform in the image reference's tag."""
        resolved = super().resolve()
        return dataclasses.replace(resolved, image=f"{resolved.image}-{self.platform.replace('/', '-')}")


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True, repr=False)
class CatalogContainer(Container):
    """A container written from the abstract base: an image named in a team's catalog."""

    #: The catalog entry.
    entry: str

    @property
    def container_type(self) -> str:
        """A Docker image."""
        return "docker"

    def resolve(self) -> ResolvedContainer:
        """The catalog's image for the entry."""
        return ResolvedContainer(
            container_type="docker", image=f"registry.example/catalog/{self.entry}:stable"
        )


@pytest.mark.parametrize(
    ("container", "field", "shown", "image"),
    [
        (
            PlatformDockerContainer(image="ubuntu:24.04"),
            "platform",
            "'linux/amd64'",
            "docker.io/library/ubuntu:24.04-linux-amd64",
        ),
        (CatalogContainer(entry="trainer"), "entry", "'trainer'", "registry.example/catalog/trainer:stable"),
    ],
)
def test_a_container_subclass_is_replaced_whole_and_explained(
    container: Container, field: str, shown: str, image: str
) -> None:
    """Set on a workflow, it replaces the default, resolves by its own methods and explains."""
    with Lzy().workflow("w").with_container(container) as workflow:
        effective = workflow.effective_env(op(_work))
    assert effective.container is container
    rows = {row.path: (row.value, row.level) for row in effective.rows()}
    assert rows[f"container.{field}"] == (shown, Level.WORKFLOW)
    assert effective.container.resolve().image == image


def test_a_container_subclass_by_dotted_path_and_keywords() -> None:
    """``klass=`` takes the subclass (or its dotted path) and its own keywords."""
    # Checkers know the dotted paths of the built-in classes only; this one works at run time.
    with_container = cast("Any", Lzy().with_container)
    lzy = with_container(klass=f"{__name__}.PlatformDockerContainer", image="x", platform="linux/arm64")
    assert lzy.env.container == PlatformDockerContainer(image="x", platform="linux/arm64")


# -- env --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True, repr=False)
class LabelledEnv(Env):
    """An env with labels of its own."""

    #: Labels for the scheduler.
    labels: tuple[str, ...] = ()

    def label_text(self) -> str:
        """The labels, joined."""
        return ",".join(self.labels)


def test_an_env_subclass_keeps_its_type_and_fields_through_with_calls_and_merges() -> None:
    """``with_*`` calls on an owner with a subclass env, and merges over it, keep it."""
    lzy = Lzy(env=LabelledEnv(labels=("gpu-pool",))).with_provisioning(cpu_count=2).with_environ(A="1")
    env = lzy.env
    assert isinstance(env, LabelledEnv)
    assert env.labels == ("gpu-pool",)
    assert env.label_text() == "gpu-pool"
    merged = Env(environ={"B": "2"}).merged_over(env)
    assert isinstance(merged, LabelledEnv)
    assert (merged.labels, dict(merged.environ)) == (("gpu-pool",), {"A": "1", "B": "2"})
    inner = LabelledEnv(labels=("op",)).merged_over(env)
    assert isinstance(inner, LabelledEnv)
    assert inner.labels == ("op",)
    assert EffectiveEnv.from_layers({Level.LZY: env}).provisioning.cpu_count == 2


# -- classes that cannot work -----------------------------------------------------------------------


class UndecoratedContainer(Container):
    """A container class that is no dataclass: nothing can show, compare or merge it."""

    @property
    def container_type(self) -> None:
        """No container."""
        return None

    def resolve(self) -> ResolvedContainer:
        """No container."""
        return ResolvedContainer()


@dataclasses.dataclass(kw_only=True)
class MutableContainer(Container):
    """A dataclass that is not frozen: an env would change under a workflow."""

    #: The image.
    image: str = "x"

    @property
    def container_type(self) -> None:
        """No container."""
        return None

    def resolve(self) -> ResolvedContainer:
        """No container."""
        return ResolvedContainer()


class UndeclaredProvisioning(Provisioning):
    """Declares a field without the decorator: it would silently not be a field."""

    disk_io: int | None = None


class UndeclaredEnv(Env):
    """An env subclass that declares a field without the decorator."""

    labels: tuple[str, ...] = ()


def test_an_env_subclass_that_cannot_work_is_refused_when_made() -> None:
    """Its fields would silently not be fields: refused with what an env class needs."""
    with pytest.raises(KlassError, match=r"declares UndeclaredEnv\.labels without being a dataclass"):
        UndeclaredEnv()


_BROKEN = [
    (UndecoratedContainer, "with_container", "is not a dataclass"),
    (MutableContainer, "with_container", "is a dataclass that is not frozen"),
    (
        UndeclaredProvisioning,
        "with_provisioning",
        "declares UndeclaredProvisioning.disk_io without being a dataclass",
    ),
]


@pytest.mark.parametrize(("klass", "method", "fragment"), _BROKEN)
def test_a_subclass_that_cannot_work_is_refused_as_klass_and_as_instance(
    klass: type[object], method: str, fragment: str
) -> None:
    """As ``klass=`` and as an instance, with what a point class needs; its ``repr`` still works."""
    with pytest.raises(KlassError) as as_klass:
        getattr(Lzy(), method)(klass=klass)
    with pytest.raises(KlassError) as as_instance:
        getattr(Lzy(), method)(klass())
    for caught in (as_klass, as_instance):
        assert fragment in str(caught.value)
        assert "@dataclasses.dataclass(frozen=True, kw_only=True" in str(caught.value)
    repr(klass())


# -- every point, every round trip ------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class SlotsDiskProvisioning(Provisioning):
    """A slots subclass with a field and a method of its own (written with ``super(Class, self)``)."""

    #: Minimum disk throughput in MB/s; ``None`` inherits.
    disk_io: int | None = None

    def requirements(self) -> DiskResources:
        """The built-in requirements plus the disk's."""
        base = super(SlotsDiskProvisioning, self).requirements()
        return DiskResources(**dataclasses.asdict(base), disk_io=self.disk_io)


@dataclasses.dataclass(frozen=True, kw_only=True)
class ChannelAutoPythonEnv(AutoPythonEnv):
    """The explored Python env with a channel of its own."""

    #: The channel.
    channel: str = "main"

    def resolve(self, namespace: Mapping[str, object]) -> ResolvedPythonEnv:
        """Nothing explored: the channel's Python as it is."""
        del namespace
        return ResolvedPythonEnv(install=False, python_version=self.python_version)


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class ChannelLocalPythonEnv(OnlyLocalPythonEnv):
    """The local-only Python env with a channel of its own."""

    #: The channel.
    channel: str = "main"

    def resolve(self, namespace: Mapping[str, object]) -> ResolvedPythonEnv:
        """Nothing explored."""
        del namespace
        return ResolvedPythonEnv(install=False, python_version=None)


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class NotedNoContainer(NoContainer):
    """No container, with a note."""

    #: Why there is none.
    note: str = "host"

    def resolve(self) -> ResolvedContainer:
        """No container."""
        return ResolvedContainer()


#: A subclass instance for each point, the field of its own, its value, and what resolving it
#: shows of it (``None`` when its artifact is a built-in one).
_POINTS: list[tuple[str, object, str, object]] = [
    ("provisioning", DiskProvisioning(disk_io=500, cpu_count=2), "disk_io", 500),
    ("provisioning", SlotsDiskProvisioning(disk_io=700, cpu_count=2), "disk_io", 700),
    ("python_env", ChannelAutoPythonEnv(channel="c1"), "channel", "c1"),
    ("python_env", ChannelLocalPythonEnv(channel="c2"), "channel", "c2"),
    (
        "python_env",
        CondaPythonEnv(python_version="3.11", pypi_packages={"numpy": "2.1.0"}, channel="c3"),
        "channel",
        "c3",
    ),
    ("python_env", FrozenPythonEnv(lock_file="x.lock"), "lock_file", "x.lock"),
    (
        "container",
        PlatformDockerContainer(image="ubuntu:24.04", platform="linux/arm64"),
        "platform",
        "linux/arm64",
    ),
    ("container", NotedNoContainer(note="gpu host"), "note", "gpu host"),
    ("container", CatalogContainer(entry="trainer"), "entry", "trainer"),
]
_POINT_IDS = [type(part).__name__ for _, part, _, _ in _POINTS]


def _round_trips(value: object) -> list[tuple[str, object]]:
    return [
        ("copy", copy.copy(value)),
        ("deepcopy", copy.deepcopy(value)),
        ("pickle", pickle.loads(pickle.dumps(value))),
        ("cloudpickle", pickle.loads(cloudpickled(value))),
    ]


@pytest.mark.parametrize(("point", "part", "field", "value"), _POINTS, ids=_POINT_IDS)
def test_a_subclass_of_each_point_keeps_its_field_and_methods_everywhere(
    point: str, part: object, field: str, value: object
) -> None:
    """Set by instance, by ``klass=`` and by dotted path, merged at three levels (set at the
    lowest), explained, resolved, serialized, copied and pickled: still the subclass, its
    field and its methods."""
    klass = type(part)
    keywords = {f.name: getattr(part, f.name) for f in dataclasses.fields(cast("Any", part)) if f.init}
    method = getattr(Lzy(), f"with_{point}")
    made = [
        method(part),
        method(klass=klass, **keywords),
        method(klass=f"{__name__}.{klass.__name__}", **keywords),
    ]
    for lzy in made:
        assert getattr(lzy.env, point) == part
        assert type(getattr(lzy.env, point)) is klass
    lzy = made[0].with_provisioning(ram_size_gb=4) if point != "provisioning" else made[0]
    with lzy.workflow("w").with_environ(LEVEL="workflow").with_provisioning(cpu_count=3) as workflow:
        effective = workflow.effective_env(op(_work).with_environ(LEVEL="op").with_provisioning(gpu_count=0))
    merged = getattr(effective, point)
    assert type(merged) is klass
    assert getattr(merged, field) == value
    assert effective.source(f"{point}.{field}") is Level.LZY
    rows = {row.path: row.value for row in effective.rows()}
    assert rows[f"{point}.{field}"] == repr(value)
    assert f"{point}.{field}" in effective.explain()
    resolved = effective.resolve({})
    assert ResolvedEnv.from_json(resolved.to_json(include_secrets=True)) == resolved
    if isinstance(merged, DiskProvisioning | SlotsDiskProvisioning):
        assert resolved.provisioning == DiskResources(cpu_count=3, gpu_count=0, disk_io=cast("int", value))
        assert resolved.to_dict()["provisioning"]["disk_io"] == value
        assert type(ResolvedEnv.from_dict(resolved.to_dict()).provisioning) is DiskResources
    own = getattr(lzy.env, point)
    for how, copied, original in [
        *((how, copied, merged) for how, copied in _round_trips(merged)),
        ("replace", dataclasses.replace(cast("Any", merged)), merged),
        *((f"{how} of the env", getattr(env, point), own) for how, env in _round_trips(lzy.env)),
        *(
            (f"{how} of the effective env", getattr(env, point), merged)
            for how, env in _round_trips(effective)
        ),
    ]:
        assert type(copied) is klass, how
        assert copied == original, how
        assert getattr(copied, field) == value, how
        assert repr(copied) == repr(original), how
        assert hash(copied) == hash(original), how


@dataclasses.dataclass(frozen=True, kw_only=True)
class LabelledDictEnv(Env):
    """An env subclass that is not a slots class, with labels of its own."""

    #: Labels for the scheduler.
    labels: tuple[str, ...] = ()


@pytest.mark.parametrize("klass", [LabelledEnv, LabelledDictEnv])
def test_an_env_subclass_fields_are_explained_with_their_level(klass: type[Env]) -> None:
    """The fields of an :class:`Env` subclass are rows of ``explain()``, with the level that set
    them; :meth:`EffectiveEnv.merged_env` has them, through every round trip."""
    lzy = Lzy(env=klass(labels=("lzy",))).with_environ(A="1")  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]
    with lzy.workflow("w").with_environ(B="2") as workflow:
        at_lzy = workflow.effective_env(op(_work))
        at_op = workflow.effective_env(op(_work).with_env(klass(labels=("op",))))  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]
    for effective, labels, level in ((at_lzy, ("lzy",), Level.LZY), (at_op, ("op",), Level.OP)):
        rows = {row.path: (row.value, row.level) for row in effective.rows()}
        assert rows["labels"] == (repr(labels), level)
        assert effective.source("labels") is level
        assert "labels" in effective.explain()
        merged = effective.merged_env()
        assert type(merged) is klass
        assert cast("Any", merged).labels == labels
        for how, copied in _round_trips(effective):
            assert cast("Any", cast("EffectiveEnv", copied).merged_env()).labels == labels, how
    assert dict(at_lzy.environ) == {"A": "1", "B": "2"}
    with pytest.raises(UnknownPathError, match="did you mean 'labels'"):
        at_op.source("lables")


def test_a_document_from_an_unknown_subclass_says_where_it_is_read() -> None:
    """Keys no subclass defined here has: refused, with the subclass to import."""
    data = (
        EffectiveEnv.from_layers({Level.OP: Env(provisioning=DiskProvisioning(disk_io=1))})
        .resolve({})
        .to_dict()
    )
    data["provisioning"]["iops"] = 3
    with pytest.raises(
        FieldValueError, match=r"unknown keys \['disk_io', 'iops'\].*where that subclass is defined"
    ):
        ResolvedEnv.from_dict(data)
