"""What reaches the caller when an op ends in a way other than returning or raising an
exception, on the local and the isolated runtime."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

from lzy.api.v1 import IsolatedRuntime, LocalRuntime, Lzy, Runtime, op
from lzy.api.v1.env import EnvExplorer, Exploration, OnlyLocalPythonEnv
from lzy.exceptions import OpExecutionError


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
