""":class:`Lzy`: the entry point that holds the program-wide env and the runtime."""

from __future__ import annotations

from typing import Self

from lzy.core.workflow import Workflow
from lzy.env._base import expect_instance
from lzy.env.environment import Env
from lzy.env.owner import EnvOwner
from lzy.runtime.base import Runtime
from lzy.runtime.local import LocalRuntime

__all__ = ["Lzy"]


def __dir__() -> list[str]:
    return __all__


class Lzy(EnvOwner):
    """The entry point: an env for the whole program and the runtime that runs ops.

    ``Lzy().with_provisioning(cpu_count=5)`` sets a requirement every workflow inherits.
    """

    __slots__ = ("_env", "_runtime")

    def __init__(self, *, runtime: Runtime | None = None, env: Env | None = None) -> None:
        if runtime is not None:
            expect_instance("Lzy.runtime", runtime, Runtime, "a Runtime")
        if env is not None:
            expect_instance("Lzy.env", env, Env, "an Env")
        self._runtime: Runtime = runtime if runtime is not None else LocalRuntime()
        self._env = env if env is not None else Env()

    @property
    def env(self) -> Env:
        """The environment set for the whole program."""
        return self._env

    @property
    def runtime(self) -> Runtime:
        """The runtime that runs ops called inside this Lzy's workflows."""
        return self._runtime

    def _with_env(self, env: Env) -> Self:
        return type(self)(runtime=self._runtime, env=env)

    def workflow(self, name: str, env: Env | None = None) -> Workflow:
        """A new workflow named ``name``; use it in a ``with`` block."""
        return Workflow(self, name, env=env)

    def __repr__(self) -> str:
        return f"Lzy(runtime={self._runtime!r}, env={self._env!r})"
