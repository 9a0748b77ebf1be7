"""What reaches the caller when an op ends in a way other than returning or raising an
exception, on the local and the isolated runtime."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

import pytest

from lzy.api.v1 import IsolatedRuntime, LocalRuntime, Lzy, Runtime, op
from lzy.api.v1.env import EnvExplorer, Exploration, OnlyLocalPythonEnv
from lzy.exceptions import OpExecutionError

#: The checkout these tests belong to: programs they start import this lzy.
ROOT = Path(__file__).resolve().parents[2]


class _Nothing(EnvExplorer):
    """An explorer that finds nothing: the ops here need nothing."""

    def explore(self, namespace: Mapping[str, object]) -> Exploration:
        del namespace
        return Exploration()


def _runtime(kind: str, tmp_path: Path) -> Runtime:
    return LocalRuntime() if kind == "local" else IsolatedRuntime(cache_dir=tmp_path / "cache")


@op
def exits(code: int | str | None) -> None:
    sys.exit(code)


@op
def interrupted() -> None:
    raise KeyboardInterrupt("pressed in the op")


@pytest.mark.parametrize("kind", ["local", "isolated"])
@pytest.mark.parametrize(
    ("code", "said"),
    [(3, "called sys.exit(3)"), (None, "called sys.exit()"), ("bye", "called sys.exit('bye')")],
)
def test_an_op_that_calls_sys_exit_does_not_end_the_caller(
    kind: str, code: int | str | None, said: str, tmp_path: Path
) -> None:
    """sys.exit in an op is an OpExecutionError in the caller, caused by the op's SystemExit with
    its traceback; the caller goes on."""
    workflow = (
        Lzy(runtime=_runtime(kind, tmp_path))
        .workflow("w")
        .with_python_env(OnlyLocalPythonEnv(explorer=_Nothing))
    )
    with workflow, pytest.raises(OpExecutionError) as raised:
        exits(code)
    assert str(raised.value) == (
        f"op exits {said} in its process; an op ends by returning or raising an exception"
    )
    cause = raised.value.__cause__
    assert isinstance(cause, SystemExit)
    assert cause.code == code
    assert "in exits" in "".join(getattr(cause, "__notes__", []))


@pytest.mark.parametrize("kind", ["local", "isolated"])
def test_a_keyboard_interrupt_raised_by_an_op_is_an_op_execution_error(kind: str, tmp_path: Path) -> None:
    """A KeyboardInterrupt the op's own code raises does not look like Ctrl-C in the caller."""
    workflow = (
        Lzy(runtime=_runtime(kind, tmp_path))
        .workflow("w")
        .with_python_env(OnlyLocalPythonEnv(explorer=_Nothing))
    )
    with (
        workflow,
        pytest.raises(OpExecutionError, match="op interrupted raised KeyboardInterrupt: pressed in the op"),
    ):
        interrupted()


@op
def request_left() -> bool:
    """Whether the file the op's arguments came in is still on disk while the op runs."""
    return os.path.exists(sys.argv[-2])


@pytest.mark.parametrize("kind", ["local", "isolated"])
def test_an_ops_arguments_leave_the_disk_once_read(kind: str, tmp_path: Path) -> None:
    """The child removes the request (the pickled arguments) as soon as it has read it."""
    workflow = (
        Lzy(runtime=_runtime(kind, tmp_path))
        .workflow("w")
        .with_python_env(OnlyLocalPythonEnv(explorer=_Nothing))
    )
    with workflow:
        assert request_left() is False


def test_calls_directories_of_killed_processes_are_removed(tmp_path: Path) -> None:
    """A process killed mid-call leaves its calls directory (arguments, results); the next
    process that runs an op removes it, and leaves those of live processes alone."""
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True
    )
    dead = Path(tempfile.gettempdir()) / f"lzy-calls-{gone.stdout.strip()}-test"
    live = Path(tempfile.gettempdir()) / f"lzy-calls-{os.getppid()}-test"
    for directory in (dead, live):
        directory.mkdir()
        (directory / "1-0.request").write_bytes(b"SECRET-ARGUMENT")
    script = (
        "from lzy.api.v1 import LocalRuntime, Lzy, op\n"
        "from lzy.api.v1.env import OnlyLocalPythonEnv\n"
        "with Lzy(runtime=LocalRuntime()).workflow('w').with_python_env(OnlyLocalPythonEnv()):\n"
        "    print(op(abs)(-2))\n"
    )
    try:
        done = subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            text=True,
            check=False,
            cwd=tmp_path,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == "2"
        assert not dead.exists()
        assert (live / "1-0.request").exists()
    finally:
        shutil.rmtree(dead, ignore_errors=True)
        shutil.rmtree(live, ignore_errors=True)
