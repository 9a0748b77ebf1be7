""":class:`Lzy`: the entry point that holds the program-wide env and the runtime."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Self

from lzy.core._fixed import FixedEnv
from lzy.core.workflow import Workflow
from lzy.env._base import expect_instance
from lzy.env.environment import Env
from lzy.env.owner import EnvOwner
from lzy.runtime.base import Runtime
from lzy.runtime.local import LocalRuntime

if TYPE_CHECKING:
    # Both load only when a command line is read, or overrides are given.
    import argparse

    from lzy.env.cli import CliOverrides

__all__ = ["Lzy"]


def __dir__() -> list[str]:
    return __all__


@functools.cache
def _no_overrides() -> CliOverrides:
    from lzy.env.cli import CliOverrides  # noqa: PLC0415 - see above

    return CliOverrides()


class Lzy(FixedEnv, EnvOwner):
    """The entry point: an env for the whole program and the runtime that runs ops.

    ``Lzy().with_provisioning(cpu_count=5)`` sets a requirement every workflow inherits;
    ``Lzy().with_cli_args()`` lets the command line override what the code sets.

    :param runtime: What runs the ops of this Lzy's workflows (:class:`~lzy.runtime.local.LocalRuntime`, :class:`~lzy.runtime.isolated.IsolatedRuntime`, :class:`~lzy.runtime.ray.RayRuntime` or your own); ``None`` is a :class:`~lzy.runtime.local.LocalRuntime`.
    :param env: The program-wide environment, the ``LZY`` level of the merge (:doc:`/merge`); ``None`` sets no point.
    :param cli: What the command line sets, the ``CLI`` level above every op; ``None`` sets nothing (:meth:`with_cli_args` reads it from the command line).
    """  # noqa: E501 - one line per parameter, as editors read them

    __slots__ = ("_cli", "_env", "_runtime")

    def __init__(
        self, *, runtime: Runtime | None = None, env: Env | None = None, cli: CliOverrides | None = None
    ) -> None:
        if runtime is not None:
            expect_instance("Lzy.runtime", runtime, Runtime, "a Runtime")
        if env is not None:
            expect_instance("Lzy.env", env, Env, "an Env")
        if cli is not None:
            from lzy.env.cli import CliOverrides  # noqa: PLC0415 - see above

            expect_instance("Lzy.cli", cli, CliOverrides, "a CliOverrides")
        self._runtime: Runtime = runtime if runtime is not None else LocalRuntime()
        self._env = env if env is not None else Env()
        # None: no command line was read and no overrides were given.
        self._cli: CliOverrides | None = cli

    @property
    def env(self) -> Env:
        """The environment set for the whole program."""
        return self._env

    @property
    def runtime(self) -> Runtime:
        """The runtime that runs ops called inside this Lzy's workflows."""
        return self._runtime

    @property
    def cli(self) -> CliOverrides:
        """The command line's overrides: the level above every op's own (empty unless given)."""
        return self._cli if self._cli is not None else _no_overrides()

    def with_cli_args(self, argv: Sequence[str] | argparse.Namespace | None = None) -> Self:
        """A copy whose command-line level is read from ``argv``: the words of a command line
        (``sys.argv[1:]`` by default), or the namespace of a parser given
        :meth:`CliOverrides.add_arguments <lzy.env.cli.CliOverrides.add_arguments>`. What it
        sets wins over the code in every op this Lzy's workflows call, and ``explain()`` says
        ``CLI``.

        Read from ``sys.argv``, the words that are not env options are left to the program: its
        own options, what a Jupyter kernel or pytest is given, the words after ``--``. ``--help``
        prints the options and exits; a bad value, or a word meant as an env option and mistyped,
        exits with status 2 and a message naming the option.
        """
        from lzy.env import _cli_parser  # noqa: PLC0415 - see above
        from lzy.env.cli import CliOverrides  # noqa: PLC0415 - see above

        env, targets = _cli_parser.overrides_from_cli_args(argv, who="Lzy.with_cli_args")
        return type(self)(runtime=self._runtime, env=self._env, cli=CliOverrides(env=env, targets=targets))

    def _with_env(self, env: Env) -> Self:
        return type(self)(runtime=self._runtime, env=env, cli=self._cli)

    def workflow(self, name: str, env: Env | None = None) -> Workflow:
        """A new workflow named ``name``; use it in a ``with`` block.

        :param name: The workflow's name: a non-empty string.
        :param env: The workflow's environment, the ``WORKFLOW`` level of the merge (:doc:`/merge`); ``None`` sets no point, so each comes from this Lzy or the defaults.
        """  # noqa: E501 - one line per parameter, as editors read them
        return Workflow(self, name, env=env)

    def __repr__(self) -> str:
        cli = "" if self._cli is None or self._cli.is_empty else f", cli={self._cli!r}"
        return f"Lzy(runtime={self._runtime!r}, env={self._env!r}{cli})"
