"""The :class:`Runtime` interface and the :class:`OpCall` it runs."""

from __future__ import annotations

import abc
import dataclasses
import sys
from collections.abc import Callable, Mapping
from typing import Generic, TypeVar

from lzy.env._base import immutable
from lzy.env.environment import ResolvedEnv

__all__ = ["OpCall", "Runtime", "importing_callers_main"]


def __dir__() -> list[str]:
    return __all__


_R = TypeVar("_R")


def importing_callers_main() -> str | None:
    """The caller's script (or ``python -m`` module) that this process, an op's child process,
    is importing to find the op; ``None`` at any other time."""
    from lzy.runtime._bootstrap import IMPORTING_MAIN  # noqa: PLC0415 - the child's own module

    marker = sys.modules.get(IMPORTING_MAIN)
    return None if marker is None else str(marker.__doc__)


@immutable
@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class OpCall(Generic[_R]):
    """One call of an op, with its resolved environment: all a runtime needs."""

    #: The op's qualified name, for messages.
    name: str
    #: The op's function.
    function: Callable[..., _R]
    #: Positional arguments.
    args: tuple[object, ...]
    #: Keyword arguments.
    kwargs: Mapping[str, object]
    #: The resolved environment to run in.
    env: ResolvedEnv


class Runtime(abc.ABC):
    """Runs op calls; refuses with :class:`~lzy.exceptions.RuntimeRefusedError` what it cannot provide."""

    @abc.abstractmethod
    def check(self, env: ResolvedEnv) -> None:
        """Raise :class:`~lzy.exceptions.RuntimeRefusedError` naming all this runtime cannot provide."""

    @abc.abstractmethod
    def run(self, call: OpCall[_R]) -> _R:
        """Run ``call`` and return its result, or raise the op's exception."""
