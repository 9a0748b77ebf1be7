"""Workflows: the scope in which op calls run through a runtime."""

from __future__ import annotations

import contextvars
from collections.abc import Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, TypeVar

from lzy.env._base import expect_instance, expect_str
from lzy.env.environment import EffectiveEnv, Env, Level
from lzy.env.owner import EnvOwner
from lzy.exceptions import ConfigurationError
from lzy.runtime.base import OpCall

if TYPE_CHECKING:
    from lzy.core.lzy import Lzy
    from lzy.core.op import Op

__all__ = ["Workflow", "current_workflow"]


def __dir__() -> list[str]:
    return __all__


_R = TypeVar("_R")
_CURRENT: contextvars.ContextVar[Workflow | None] = contextvars.ContextVar("lzy_workflow", default=None)


def current_workflow() -> Workflow | None:
    """The workflow whose ``with`` block is running, or ``None``."""
    return _CURRENT.get()


class Workflow(EnvOwner):
    """A named scope: ops called inside ``with workflow:`` run through the runtime.

    Made by :meth:`Lzy.workflow <lzy.core.lzy.Lzy.workflow>`. Its :attr:`env` may be assigned
    at any time before an op call: environments are resolved lazily, at each call.
    """

    def __init__(self, lzy: Lzy, name: str, *, env: Env | None = None) -> None:
        expect_str("Workflow", "name", name)
        self._lzy = lzy
        self._name = name
        self.env = env if env is not None else Env()
        self._token: contextvars.Token[Workflow | None] | None = None

    @property
    def env(self) -> Env:
        """The environment set on this workflow; assignable (``wf.env = env``)."""
        return self._env

    @env.setter
    def env(self, value: Env) -> None:
        expect_instance("Workflow.env", value, Env, "an Env")
        self._env = value

    @property
    def name(self) -> str:
        """The workflow's name."""
        return self._name

    @property
    def lzy(self) -> Lzy:
        """The :class:`~lzy.core.lzy.Lzy` that made this workflow (its env and runtime apply)."""
        return self._lzy

    def _with_env(self, env: Env) -> Self:
        if self._token is not None:
            msg = f"workflow {self._name!r} is running; change its env with wf.env = ..., not with_*()"
            raise ConfigurationError(msg)
        return type(self)(self._lzy, self._name, env=env)

    def effective_env(self, op: Op[Any, Any]) -> EffectiveEnv:
        """The env ``op`` runs with in this workflow: the command line over op over workflow over
        Lzy over defaults."""
        layers = {
            Level.LZY: self._lzy.env,
            Level.WORKFLOW: self._env,
            Level.OP: op.env,
            Level.CLI: self._lzy.cli.env_for(op=op.name, workflow=self._name),
        }
        return EffectiveEnv.from_layers(layers, function=op.function)

    def call(self, op: Op[Any, _R], args: tuple[object, ...], kwargs: Mapping[str, object]) -> _R:
        """Resolve ``op``'s env now and run it through the runtime."""
        resolved = self.effective_env(op).resolve()
        call = OpCall(name=op.name, function=op.function, args=args, kwargs=kwargs, env=resolved)
        return self._lzy.runtime.run(call)

    def __enter__(self) -> Self:
        if self._token is not None:
            msg = f"workflow {self._name!r} is already running"
            raise ConfigurationError(msg)
        running = _CURRENT.get()
        if running is not None:
            msg = f"workflow {self._name!r} cannot start inside workflow {running.name!r}"
            raise ConfigurationError(msg)
        self._token = _CURRENT.set(self)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._token is not None:
            _CURRENT.reset(self._token)
            self._token = None

    def __repr__(self) -> str:
        return f"<workflow {self._name!r} env={self._env!r}>"
