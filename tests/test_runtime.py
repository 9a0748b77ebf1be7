"""The local runtime: ops run in a child process with their env, or are refused clearly."""

from __future__ import annotations

import importlib
import os
import platform
import sys
import threading
from collections.abc import Mapping
from pathlib import Path

import pytest

from lzy.api.v1 import LocalRuntime, Lzy, OpCall, Runtime, op
from lzy.api.v1.env import (
    EnvExplorer,
    Exploration,
    MachineSpec,
    ManualPythonEnv,
    OnlyLocalPythonEnv,
    Provisioning,
    ResolvedEnv,
)
from lzy.exceptions import OpExecutionError, RuntimeRefusedError
from lzy.runtime.local import _added_path  # pyright: ignore[reportPrivateUsage]  # the rule under test

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:cloudpickle")


class NothingExplorer(EnvExplorer):
    """An explorer that finds nothing: these tests are about the runtime, not exploration."""

    def explore(self, namespace: Mapping[str, object]) -> Exploration:
        del namespace
        return Exploration()


LOCAL = OnlyLocalPythonEnv(explorer=NothingExplorer)


def _lzy(**machine: object) -> Lzy:
    spec = MachineSpec(
        name="test box",
        cpu_type=str(machine.get("cpu_type", platform.machine())),
        cpu_count=int(str(machine.get("cpu_count", 2))),
        ram_size_gb=float(str(machine.get("ram_size_gb", 4.0))),
    )
    return Lzy(runtime=LocalRuntime(machine=spec)).with_python_env(LOCAL)


@op
def report(name: str) -> tuple[int, str | None]:
    """The child's pid and one variable of its environment."""
    return os.getpid(), os.environ.get(name)


@op
def fail(message: str) -> None:
    """Raise a ValueError."""
    raise ValueError(message)


def test_op_runs_in_a_child_process_with_its_environ() -> None:
    """The op runs in another process, sees its environ, and the parent's is untouched."""
    before = dict(os.environ)
    with _lzy().with_environ(LEVEL="lzy", MODE="slow").workflow("w").with_environ(MODE="fast"):
        pid, mode = report.with_environ(EXTRA="1")("MODE")
        _, extra = report.with_environ(EXTRA="1")("EXTRA")
        _, level = report("LEVEL")
    assert pid != os.getpid()
    assert (mode, extra, level) == ("fast", "1", "lzy")
    assert dict(os.environ) == before


def test_functions_of_main_and_closures_travel_by_value() -> None:
    """A closure defined in a test (not importable by name) runs in the child."""
    offset = 40

    @op
    def add(x: int) -> int:
        return x + offset

    with _lzy().workflow("w"):
        assert add(2) == 42


def test_exception_comes_back_with_its_traceback() -> None:
    """The op's own exception is raised, with the child's traceback as a note."""
    with _lzy().workflow("w"), pytest.raises(ValueError, match="bad input") as caught:
        fail("bad input")
    notes = "\n".join(caught.value.__notes__)
    assert "The op fail raised it in its process" in notes
    assert "raise ValueError(message)" in notes


class Unpicklable(Exception):
    """An exception holding something that cannot be pickled."""

    def __init__(self) -> None:
        super().__init__("cannot travel")
        self.handle = (lambda: None).__code__  # code objects do not pickle


def test_unpicklable_exception_is_reported_as_text() -> None:
    """An exception that cannot be sent back becomes an OpExecutionError with its text."""

    @op
    def explode() -> None:
        raise Unpicklable

    with _lzy().workflow("w"), pytest.raises(OpExecutionError, match="cannot travel") as raised:
        explode()
    assert ".explode raised Unpicklable: cannot travel, which cannot be sent back" in str(raised.value)


def test_unpicklable_result_is_reported() -> None:
    """A result that cannot be sent back is an OpExecutionError naming its type."""

    @op
    def give_lock() -> object:
        return threading.Lock()

    with _lzy().workflow("w"), pytest.raises(OpExecutionError) as raised:
        give_lock()
    message = str(raised.value)
    assert ".give_lock returned a lock, which cannot be sent back to the caller" in message
    assert "cannot pickle" in message


def test_child_death_is_reported() -> None:
    """A child that dies without a result gives an OpExecutionError with its exit code."""

    @op
    def die() -> None:
        os._exit(3)

    with (
        _lzy().workflow("w"),
        pytest.raises(OpExecutionError, match=r"died without a result \(exit code 3\)"),
    ):
        die()


@pytest.mark.parametrize(
    ("setting", "fragment"),
    [
        (Provisioning(cpu_count=64), "cpu_count 64 (it has 2) on test box"),
        (Provisioning(ram_size_gb=1000), "ram_size_gb 1000 (it has 4) on test box"),
        (Provisioning(gpu_type="A100", gpu_count=1), "gpu_count 1 (it has 0) on test box"),
        (Provisioning(cpu_type="sparc"), "cpu_type 'sparc'"),
    ],
)
def test_missing_resources_are_refused(setting: Provisioning, fragment: str) -> None:
    """Resources this machine lacks are named in the refusal."""
    with _lzy().workflow("w"), pytest.raises(RuntimeRefusedError) as caught:
        report.with_provisioning(setting)("X")
    assert fragment in str(caught.value)


def test_container_is_refused() -> None:
    """The local runtime runs no containers and says so."""
    with (
        _lzy().workflow("w").with_container(image="ghcr.io/org/app:1"),
        pytest.raises(RuntimeRefusedError) as caught,
    ):
        report("X")
    assert (
        "a docker container (ghcr.io/org/app:1): it runs ops in this interpreter, without containers"
        in str(caught.value)
    )


def test_python_version_and_packages_are_checked() -> None:
    """Another Python version, or package versions not installed here, are refused together."""
    other = "3.10" if sys.version_info[:2] != (3, 10) else "3.12"
    env = ManualPythonEnv(
        python_version=other,
        pypi_packages={"pytest": "0.0.1", "surely-not-installed-pkg": "1.0"},
    )
    with _lzy().workflow("w").with_python_env(env), pytest.raises(RuntimeRefusedError) as caught:
        report("X")
    text = str(caught.value)
    assert f"Python {other} (it runs Python {platform.python_version()})" in text
    assert "package pytest==0.0.1 (installed here:" in text
    assert "package surely-not-installed-pkg==1.0 (not installed here; it installs nothing)" in text


def test_matching_manual_env_runs() -> None:
    """A manual env that names this interpreter and installed versions runs."""
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    env = ManualPythonEnv(python_version=version, pypi_packages={"pytest": pytest.__version__})
    with _lzy().workflow("w").with_python_env(env):
        assert report("NOPE")[1] is None


def test_custom_runtime_receives_the_resolved_env() -> None:
    """``Lzy(runtime=...)`` plugs another runtime; it gets the call and the resolved env."""

    class Recording(Runtime):
        def __init__(self) -> None:
            self.calls: list[OpCall[object]] = []

        def check(self, env: ResolvedEnv) -> None:
            del env

        def run(self, call: OpCall[object]) -> object:  # type: ignore[override]  # pyright: ignore[reportIncompatibleMethodOverride]
            self.calls.append(call)
            return call.function(*call.args, **call.kwargs)

    runtime = Recording()
    with Lzy(runtime=runtime).with_python_env(LOCAL).workflow("w").with_environ(A="1"):
        assert report.with_provisioning(cpu_count=128)("A")[1] is None  # ran in this process
    (call,) = runtime.calls
    assert call.name == "report"
    assert call.env.environ == {"A": "1"}
    assert call.env.provisioning.cpu_count == 128


def test_outside_a_workflow_an_op_is_a_plain_call() -> None:
    """No workflow: the function runs here, without the runtime."""
    assert report.with_provisioning(cpu_count=10_000)("X")[0] == os.getpid()


def test_local_runtime_keeps_the_ops_own_pythonpath(tmp_path: Path) -> None:
    """A PYTHONPATH set through with_environ is kept (after the env's local modules, before
    what this process added to its path), never replaced by the runtime's."""
    (tmp_path / "mine_on_path.py").write_text("WORD = 'kept'\n")

    @op
    def read() -> tuple[str, list[str]]:
        word = str(getattr(importlib.import_module("mine_on_path"), "WORD"))  # noqa: B009 - on PYTHONPATH
        return word, os.environ["PYTHONPATH"].split(os.pathsep)

    with _lzy().workflow("w").with_environ(PYTHONPATH=str(tmp_path)):
        word, entries = read()
    assert word == "kept"
    assert entries[0] == str(tmp_path)
    assert entries[1:] == [p for p in _added_path() if p != str(tmp_path)]
