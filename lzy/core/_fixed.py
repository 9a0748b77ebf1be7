"""Owners whose env is fixed once made: assigning it says how to get a changed copy."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lzy.exceptions import ImmutableEnvError

__all__ = ["FixedEnv"]


def __dir__() -> list[str]:
    return __all__


class FixedEnv:
    """A mixin for owners (ops, :class:`~lzy.api.v1.Lzy`) whose ``env`` is read-only: assigning
    it raises :class:`~lzy.exceptions.ImmutableEnvError` showing the ``with_env`` way.

    Type checkers see a read-only property and report the assignment themselves; this is for
    the run time, so the hook exists only there.
    """

    __slots__ = ()

    if not TYPE_CHECKING:

        def __setattr__(self, name: str, value: object) -> None:
            if name == "env":
                kind = type(self).__name__
                msg = (
                    f"{kind}.env cannot be assigned: the environment is fixed when the {kind} is"
                    f" made. Use owner = owner.with_env(env) (or a with_* method), which returns a"
                    f" new {kind} with that env"
                )
                raise ImmutableEnvError(msg)
            super().__setattr__(name, value)
