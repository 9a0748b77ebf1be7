"""The command line as a level: above the op, aimed where the user says, and named ``CLI``."""

from __future__ import annotations

import argparse
import os
import platform
from collections.abc import Mapping

import pytest

from lzy.api.v1 import LocalRuntime, Lzy, op
from lzy.api.v1.env import (
    AutoPythonEnv,
    CliOverrides,
    DockerContainer,
    Env,
    EnvExplorer,
    Exploration,
    Level,
    MachineSpec,
    ManualPythonEnv,
    OnlyLocalPythonEnv,
    Provisioning,
    PullPolicy,
)
from lzy.exceptions import FieldTypeError, FieldValueError


class NothingExplorer(EnvExplorer):
    """An explorer that finds nothing: these tests are about levels, not exploration."""

    def explore(self, namespace: Mapping[str, object]) -> Exploration:
        del namespace
        return Exploration()


@(op().with_provisioning(cpu_count=1, gpu_count=0).with_environ(MODE="op", EPOCHS="3"))
def train() -> str:
    """The op whose values the command line overrides."""
    return f"{os.environ['MODE']} {os.environ['EPOCHS']}"


@op().with_provisioning(cpu_count=1)
def evaluate() -> str:
    """Another op of the same workflow."""
    return os.environ["MODE"]


class Trainer:
    """Ops may be methods' functions: their qualified name has a dot."""

    @staticmethod
    @op
    def fit() -> None:
        """An op whose qualified name is ``Trainer.fit``."""


def test_a_command_line_value_beats_the_ops_and_explain_says_cli() -> None:
    """``--provisioning.cpu-count 8`` wins over the op's ``cpu_count=1``; source and explain say CLI."""
    lzy = Lzy().with_cli_args(["--provisioning.cpu-count", "8", "--environ", "MODE=cli"])
    with lzy.workflow("nightly").with_environ(MODE="workflow") as wf:
        effective = wf.effective_env(train)
    assert effective.provisioning.cpu_count == 8
    assert effective.source("provisioning.cpu_count") is Level.CLI
    assert effective.source("provisioning.gpu_count") is Level.OP
    assert effective.environ == {"MODE": "cli", "EPOCHS": "3"}
    assert effective.source("environ.MODE") is Level.CLI
    assert effective.source("environ.EPOCHS") is Level.OP
    rows = {row.path: (row.value, row.level) for row in effective.rows()}
    assert rows["provisioning.cpu_count"] == ("8", Level.CLI)
    line = next(
        line for line in effective.explain().splitlines() if line.startswith("provisioning.cpu_count")
    )
    assert line.split() == ["provisioning.cpu_count", "8", "CLI"]


def test_cli_is_the_highest_level() -> None:
    """The levels in order: DEFAULT < LZY < WORKFLOW < OP < CLI."""
    assert sorted(Level) == [Level.DEFAULT, Level.LZY, Level.WORKFLOW, Level.OP, Level.CLI]


def test_aimed_at_one_op_it_leaves_the_others_alone() -> None:
    """``--for evaluate`` changes evaluate, not train, in the same workflow."""
    lzy = Lzy().with_cli_args(["--for", "evaluate", "--provisioning.cpu-count", "2", "--environ", "MODE=cli"])
    with lzy.workflow("nightly").with_environ(MODE="workflow") as wf:
        trained, evaluated = wf.effective_env(train), wf.effective_env(evaluate)
    assert trained.provisioning.cpu_count == 1
    assert trained.source("provisioning.cpu_count") is Level.OP
    assert trained.environ["MODE"] == "op"
    assert evaluated.provisioning.cpu_count == 2
    assert evaluated.source("provisioning.cpu_count") is Level.CLI
    assert evaluated.source("environ.MODE") is Level.CLI


def test_aimed_at_a_workflow_it_applies_to_its_ops_only() -> None:
    """``--for nightly`` applies to every op of workflow nightly and to no other workflow."""
    lzy = Lzy().with_cli_args(["--for", "nightly", "--environ", "MODE=cli"])
    with lzy.workflow("nightly") as wf:
        assert wf.effective_env(train).environ["MODE"] == "cli"
        assert wf.effective_env(evaluate).source("environ.MODE") is Level.CLI
    with lzy.workflow("weekly") as wf:
        assert wf.effective_env(train).environ["MODE"] == "op"


def test_the_most_specific_aim_wins() -> None:
    """Aimed at the op beats aimed at its workflow, which beats the options for every op."""
    lzy = Lzy().with_cli_args(
        [
            *("--environ", "MODE=all", "--environ", "A=all", "--environ", "B=all"),
            *("--for", "nightly", "--environ", "MODE=workflow", "--environ", "A=workflow"),
            *("--for", "train", "--environ", "MODE=op"),
        ]
    )
    with lzy.workflow("nightly") as wf:
        effective = wf.effective_env(train)
    assert {k: effective.environ[k] for k in ("MODE", "A", "B")} == {
        "MODE": "op",
        "A": "workflow",
        "B": "all",
    }


def test_an_op_is_aimed_at_by_name_or_qualified_name() -> None:
    """``--for fit`` and ``--for Trainer.fit`` both reach ``Trainer.fit``; the qualified name wins."""
    overrides = CliOverrides.from_cli_args(
        [
            "--for",
            "fit",
            "--environ",
            "A=short",
            "--environ",
            "B=short",
            "--for",
            "Trainer.fit",
            "--environ",
            "A=qual",
        ]
    )
    env = overrides.env_for(op=Trainer.fit.name, workflow="w")
    assert env == Env(environ={"A": "qual", "B": "short"})
    assert overrides.env_for(op="train", workflow="w") is None


def test_a_python_env_on_the_command_line_replaces_the_codes_whole() -> None:
    """The merge table holds at the CLI level: a python env given there replaces the op's."""
    manual = ManualPythonEnv(python_version="3.11", pypi_packages={"numpy": "2.1.0"})
    lzy = Lzy().with_cli_args(["--python-env.python-version", "3.12"])
    with lzy.workflow("nightly").with_python_env(manual) as wf:
        effective = wf.effective_env(train)
    assert effective.python_env == AutoPythonEnv(python_version="3.12")
    assert effective.source("python_env") is Level.CLI
    assert effective.source("python_env.python_version") is Level.CLI
    assert not hasattr(effective.python_env, "pypi_packages")


def test_a_container_on_the_command_line_replaces_the_codes() -> None:
    """``--container.image`` gives a new container, not a patch of the workflow's."""
    lzy = Lzy().with_cli_args(["--container.image", "ubuntu:24.04"])
    with lzy.workflow("nightly").with_container(
        image="ghcr.io/acme/train:1.4", pull_policy=PullPolicy.NEVER
    ) as wf:
        effective = wf.effective_env(train)
    assert effective.container == DockerContainer(image="ubuntu:24.04")
    assert effective.source("container.pull_policy") is Level.CLI


def test_with_methods_keep_the_command_line() -> None:
    """``Lzy().with_cli_args().with_*()`` keeps the CLI level; ``with_cli_args`` keeps the env."""
    lzy = Lzy().with_cli_args(["--environ", "A=1"]).with_provisioning(cpu_count=3)
    assert lzy.cli == CliOverrides(env=Env(environ={"A": "1"}))
    assert lzy.env == Env(provisioning=Provisioning(cpu_count=3))
    assert Lzy().with_environ(B="2").with_cli_args([]).env == Env(environ={"B": "2"})
    assert "cli=" in repr(lzy)
    assert "cli=" not in repr(Lzy())


def test_lzy_takes_overrides_of_ones_own_parser() -> None:
    """``Lzy(cli=CliOverrides.from_cli_args(args))`` after the script parsed its own options."""
    parser = argparse.ArgumentParser(allow_abbrev=False)
    parser.add_argument("--epochs", type=int)
    CliOverrides.add_arguments(parser)
    args = parser.parse_args(["--epochs", "5", "--provisioning.cpu-count", "6"])
    lzy = Lzy(cli=CliOverrides.from_cli_args(args))
    assert lzy.with_cli_args(args).cli == lzy.cli
    with lzy.workflow("w") as wf:
        assert wf.effective_env(train).source("provisioning.cpu_count") is Level.CLI


def test_bad_overrides_are_refused() -> None:
    """``Lzy(cli=...)`` takes a CliOverrides; its targets map non-empty names to envs."""
    with pytest.raises(FieldTypeError, match=r"Lzy\.cli must be a CliOverrides"):
        Lzy(cli=Env())  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType] - the misuse tested
    with pytest.raises(FieldTypeError, match=r"targets\['train'\] must be an Env"):
        CliOverrides(targets={"train": Provisioning()})  # type: ignore[dict-item]  # pyright: ignore[reportArgumentType] - the misuse tested
    with pytest.raises(FieldValueError, match="non-empty str"):
        CliOverrides(targets={" ": Env()})


def test_the_command_line_reaches_the_ops_process() -> None:
    """Run for real: the op's child process sees the command line's variable, not the op's."""
    machine = MachineSpec(name="test box", cpu_type=platform.machine(), cpu_count=2, ram_size_gb=4.0)
    lzy = (
        Lzy(runtime=LocalRuntime(machine=machine))
        .with_python_env(OnlyLocalPythonEnv(explorer=NothingExplorer))
        .with_cli_args(["--for", "train", "--environ", "EPOCHS=10"])
    )
    with lzy.workflow("nightly").with_environ(MODE="workflow"):
        assert train() == "op 10"
        assert evaluate() == "workflow"
