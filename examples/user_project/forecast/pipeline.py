"""Every way of describing an op's environment, as a user writes them."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from lzy.api.v1 import Lzy, op
from lzy.api.v1 import env as lzenv
from lzy.api.v1.env import ANY, Env, ManualPythonEnv, NoContainer, PullPolicy


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class CondaPythonEnv(lzenv.PythonEnv):
    """The project's own Python env: a conda environment file."""

    environment_file: str

    def resolve(self, namespace: Mapping[str, object]) -> lzenv.ResolvedPythonEnv:
        del namespace
        return lzenv.ResolvedPythonEnv(install=True, python_version="3.11")


@op
def train(rate: float) -> int:
    """Train the model."""
    return round(rate * 10)


@(
    op()
    .with_python_env(pypi_index_url="https://mirror.example/simple")
    .with_environ(MODE="fast")
)
def predict() -> int:
    """Predict tomorrow."""
    return 1


ENV = Env(
    python_env=lzenv.AutoPythonEnv(pypi_index_url="https://mirror.example/simple")
)


@op(env=ENV)
def report() -> str:
    """Write the report."""
    return "sunny"


@lzenv.Provisioning(cpu_count=2)
@op
def clean() -> int:
    """Clean the data."""
    return 0


def run() -> tuple[int, int, str, int]:
    """Run the forecast in a workflow."""
    lzy = Lzy().with_provisioning(cpu_count=5, ram_size_gb=ANY)
    with (
        lzy.workflow("forecast")
        .with_python_env(
            klass=ManualPythonEnv,
            python_version="3.11",
            pypi_packages={"numpy": "2.1.0"},
        )
        .with_container(image="ubuntu:24.04", pull_policy=PullPolicy.IF_NOT_PRESENT)
        .with_environ(REGION="north")
    ) as wf:
        trained: int = train.with_provisioning(gpu_count=1, gpu_type="A100")(0.5)
        wf.env = ENV
        local = wf.with_python_env(
            klass="lzy.api.v1.env.OnlyLocalPythonEnv", raise_on_binaries=False
        )
        conda = local.with_python_env(
            klass=CondaPythonEnv, environment_file="environment.yml"
        )
        conda.with_container(klass=NoContainer)
        return trained, predict(), report(), clean()
