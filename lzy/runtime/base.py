"""The :class:`Runtime` interface and the :class:`OpCall` it runs."""

from __future__ import annotations

import abc
import dataclasses
from collections.abc import Callable, Mapping
from typing import Generic, TypeVar

from lzy.env.environment import ResolvedEnv

__all__ = ["OpCall", "Runtime"]


def __dir__() -> list[str]:
    return __all__


_R = TypeVar("_R")


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
