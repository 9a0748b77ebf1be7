"""Every form of the API in the design, with what a checker infers for it (checked, never run)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import assert_type

from lzy.api.v1 import Lzy, Op, OpBuilder, Workflow, op
from lzy.api.v1 import env as lzenv
from lzy.api.v1.env import (
    ANY,
    AutoPythonEnv,
    DockerContainer,
    Env,
    ManualPythonEnv,
    NoContainer,
    OnlyLocalPythonEnv,
    Provisioning,
    PullPolicy,
)


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class CondaPythonEnv(lzenv.PythonEnv):
    """A user's own Python env: the last overload binds the keywords to its constructor."""

    environment_file: str
    channels: tuple[str, ...] = ()

    def resolve(self, namespace: Mapping[str, object]) -> lzenv.ResolvedPythonEnv:
        raise NotImplementedError


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class PodmanContainer(lzenv.Container):
    """A user's own container."""

    image: str

    @property
    def container_type(self) -> str:
        return "podman"

    def resolve(self) -> lzenv.ResolvedContainer:
        raise NotImplementedError


@op
def train(rate: float) -> int:
    return round(rate)


# Lzy().with_provisioning and the other with_* methods return the same kind of owner.
lzy = Lzy().with_provisioning(cpu_count=5)
assert_type(lzy, Lzy)
assert_type(lzy.with_provisioning(Provisioning(gpu_type="A100")), Lzy)
assert_type(lzy.with_provisioning(None), Lzy)
assert_type(lzy.with_provisioning(), Lzy)
assert_type(lzy.with_provisioning(cpu_type=ANY, gpu_count=0, ram_size_gb=1.5), Lzy)
assert_type(lzy.with_provisioning(klass=Provisioning, gpu_type="A100"), Lzy)
assert_type(lzy.with_provisioning(klass="lzy.env.provisioning.Provisioning", cpu_count=1), Lzy)
assert_type(lzy.with_provisioning(klass="lzy.api.v1.env.Provisioning", cpu_count=ANY), Lzy)
assert_type(lzy.with_environ({"A": "1"}, B="2"), Lzy)
assert_type(lzy.with_env(Env(), environ={"A": "1"}), Lzy)
assert_type(lzy.workflow("w"), Workflow)
assert_type(lzy.workflow("w", env=Env()), Workflow)

# The recommended style: a parenthesised chain inside `with ( ... ) as wf:`.
with (
    lzy.workflow("train")
    .with_python_env(klass=ManualPythonEnv, python_version="3.11", pypi_packages={"numpy": "2.1.0"})
    .with_container(image="ubuntu:24.04")
) as wf:
    assert_type(wf, Workflow)
    result = train.with_provisioning(gpu_count=1, gpu_type="A100")(0.5)
    assert_type(result, int)
    assert_type(train(0.5), int)

# Every built-in klass, by class object and by both dotted paths.
assert_type(wf.with_python_env(), Workflow)
assert_type(wf.with_python_env(AutoPythonEnv(python_version="3.12")), Workflow)
assert_type(wf.with_python_env(pypi_index_url="https://mirror.example/simple"), Workflow)
assert_type(wf.with_python_env(klass=AutoPythonEnv, exclude_packages={"torch"}), Workflow)
assert_type(wf.with_python_env(klass="lzy.env.python.auto.AutoPythonEnv", raise_on_binaries=False), Workflow)
assert_type(wf.with_python_env(klass="lzy.api.v1.env.AutoPythonEnv", additional_pypi_packages={}), Workflow)
assert_type(
    wf.with_python_env(
        klass="lzy.env.python.manual.ManualPythonEnv",
        python_version="3.11",
        pypi_packages={},
        pypi_index_url=None,
        extra_index_urls=["https://extra.example/simple"],
        local_module_paths=["src/pkg"],
    ),
    Workflow,
)
assert_type(
    wf.with_python_env(klass="lzy.api.v1.env.ManualPythonEnv", python_version="3", pypi_packages={}),
    Workflow,
)
assert_type(wf.with_python_env(klass=OnlyLocalPythonEnv), Workflow)
assert_type(
    wf.with_python_env(klass="lzy.env.python.local.OnlyLocalPythonEnv", python_version=None), Workflow
)
assert_type(wf.with_python_env(klass="lzy.api.v1.env.OnlyLocalPythonEnv"), Workflow)
assert_type(wf.with_python_env(klass=CondaPythonEnv, environment_file="env.yml"), Workflow)
assert_type(wf.with_container(DockerContainer(image="ubuntu")), Workflow)
assert_type(wf.with_container(klass=DockerContainer, image="ubuntu", pull_policy=PullPolicy.NEVER), Workflow)
assert_type(wf.with_container(klass="lzy.env.container.docker.DockerContainer", image="a"), Workflow)
assert_type(
    wf.with_container(klass="lzy.api.v1.env.DockerContainer", image="a", username="u", password="p"), Workflow
)
assert_type(wf.with_container(klass=NoContainer), Workflow)
assert_type(wf.with_container(klass="lzy.env.container.base.NoContainer"), Workflow)
assert_type(wf.with_container(klass="lzy.api.v1.env.NoContainer"), Workflow)
assert_type(wf.with_container(klass=PodmanContainer, image="alpine"), Workflow)

# A class first is the klass (the class overload takes klass positional-or-keyword, and so does lzy).
assert_type(wf.with_python_env(ManualPythonEnv, python_version="3.11", pypi_packages={}), Workflow)
assert_type(wf.with_python_env(AutoPythonEnv), Workflow)
assert_type(wf.with_python_env(CondaPythonEnv, environment_file="env.yml"), Workflow)
assert_type(wf.with_container(DockerContainer, image="ubuntu"), Workflow)
assert_type(wf.with_container(NoContainer), Workflow)
assert_type(wf.with_provisioning(Provisioning, cpu_count=1), Workflow)
assert_type(op().with_provisioning(Provisioning, gpu_count=0), OpBuilder)

# What the run time accepts type-checks: a pull policy by name in any case, any list, tuple or set
# of strings, and None for a point whose default klass needs no keyword.
assert_type(wf.with_container(image="a", pull_policy="IfNotPresent"), Workflow)
assert_type(wf.with_container(image="a", pull_policy="never"), Workflow)
assert_type(
    wf.with_python_env(extra_index_urls=("https://a.example/simple",), exclude_packages={"t"}), Workflow
)
assert_type(wf.with_python_env(exclude_packages=frozenset({"torch"}), extra_index_urls=[]), Workflow)
assert_type(wf.with_python_env(None), Workflow)
assert_type(wf.with_provisioning(None), Workflow)
assert_type(op(lambda: 1), Op[[], int])
assert_type(op(description="d")(lambda: "x"), Op[[], str])
assert_type(op(None), OpBuilder)


# An op defined in a class is a method: read from an instance it takes the other parameters,
# and its with_* methods keep it bound; read from the class it takes the instance first.
class Model:
    @op
    def fit(self, rate: float) -> int:
        return round(rate)


model = Model()
assert_type(model.fit(0.5), int)
assert_type(model.fit.with_provisioning(cpu_count=1)(rate=0.5), int)
assert_type(model.fit.with_provisioning(cpu_count=1).function(0.5), int)
assert_type(Model.fit(model, 0.5), int)

# wf.env may be assigned: environments are resolved lazily, at the op call.
env = Env(python_env=AutoPythonEnv(pypi_index_url="https://mirror.example/simple"))
wf.env = env
assert_type(wf.env, Env)

# op() with arguments gives a builder with the same with_* methods; decorating gives an Op.
builder = op().with_python_env(pypi_index_url="https://mirror.example/simple").with_environ(MODE="fast")
assert_type(builder, OpBuilder)
assert_type(op(description="d"), OpBuilder)


@op().with_python_env(pypi_index_url="https://mirror.example/simple").with_environ(MODE="fast")
def foo() -> int:
    return 1


assert_type(foo, Op[[], int])
assert_type(foo(), int)


@op(env=env)
def bar() -> int:
    return 2


assert_type(bar, Op[[], int])
assert_type(bar.with_container(klass=NoContainer), Op[[], int])


@lzenv.Provisioning(cpu_count=2)
@op
def baz() -> int:
    return 3


assert_type(baz, Op[[], int])
assert_type(baz(), int)


@Env(container=NoContainer())
@lzenv.ManualPythonEnv(python_version="3.11", pypi_packages={})
@lzenv.DockerContainer(image="ubuntu:24.04")
@op
def qux(name: str, *, times: int = 1) -> list[str]:
    return [name] * times


assert_type(qux("a", times=2), list[str])
