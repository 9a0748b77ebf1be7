"""The environment from the command line: :class:`CliOverrides`, the level that wins over code.

A script gains command-line overrides with one line, ``lzy = Lzy().with_cli_args()``: every op
its workflows call then runs with what the command line says above what the code says, and
``explain()`` names that level ``CLI``::

    python train.py --provisioning.gpu-count 2 --environ MODE=fast --for evaluate --provisioning.cpu-count 8

The options are generated from the fields of the built-in klasses and their documentation;
``python train.py --help`` lists them. :func:`main` is the ``lzy-env`` command.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, cast

from lzy.env._base import EnvPart, FrozenMap, describe, expect_instance
from lzy.env.environment import Env
from lzy.exceptions import FieldTypeError, FieldValueError

if TYPE_CHECKING:
    # argparse is loaded only when a command line is read (lzy.env._cli_parser).
    import argparse

__all__ = ["CliOverrides", "main"]


def __dir__() -> list[str]:
    return __all__


def _targets(value: object) -> FrozenMap[str, Env]:
    if not isinstance(value, Mapping):
        msg = f"CliOverrides.targets must be a mapping of names to Env, got {describe(value)}"
        raise FieldTypeError(msg)
    checked: dict[str, Env] = {}
    for name, env in cast("Mapping[object, object]", value).items():
        if not isinstance(name, str) or not name.strip():
            msg = f"CliOverrides.targets: a name must be a non-empty str, got {describe(name)}"
            raise FieldValueError(msg)
        expect_instance(f"CliOverrides.targets[{name!r}]", env, Env, "an Env")
        checked[name] = cast("Env", env)
    return FrozenMap(checked)


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True, repr=False)
class CliOverrides(EnvPart):
    """Environment overrides given on the command line: the level :attr:`~lzy.env.environment.Level.CLI`.

    It sits above the op level, so a value given on the command line wins over the one set in
    code; each point still combines by the merge table (a ``python_env`` given here replaces the
    code's whole). Options before any ``--for`` apply to every op; options after ``--for NAME``
    apply only to the op (by its function's name or qualified name) or to the ops of the
    workflow called ``NAME``. Give it to :class:`~lzy.api.v1.Lzy` as ``cli=``, or call
    :meth:`Lzy.with_cli_args <lzy.api.v1.Lzy.with_cli_args>`.
    """

    #: The overrides for every op: the options given before any ``--for``.
    env: Env = dataclasses.field(default_factory=Env)
    #: Overrides aimed at one op or workflow, by name: the options after ``--for NAME``.
    targets: Mapping[str, Env] = dataclasses.field(default_factory=FrozenMap[str, Env])

    def __post_init__(self) -> None:
        expect_instance("CliOverrides.env", self.env, Env, "an Env")
        object.__setattr__(self, "targets", _targets(self.targets))

    @property
    def is_empty(self) -> bool:
        """Whether no override is given at all."""
        return self.env == Env() and all(env == Env() for env in self.targets.values())

    def env_for(self, *, op: str | None = None, workflow: str | None = None) -> Env | None:
        """The overrides that apply to the op called ``op`` (its qualified name) in the workflow
        called ``workflow``, merged: those aimed at the op win over those aimed at its workflow,
        which win over those for every op. ``None`` when none apply.

        An op is matched by its qualified name (``"Trainer.fit"``) and by its last part
        (``"fit"``), the qualified name winning.
        """
        layers = [self.env]
        names: list[str] = []
        if workflow is not None:
            names.append(workflow)
        if op is not None:
            short = op.rpartition(".")[2]
            names += [short, op] if short != op else [op]
        layers += [self.targets[name] for name in names if name in self.targets]
        merged = Env()
        for layer in layers:
            merged = layer.merged_over(merged)
        return None if merged == Env() else merged

    @classmethod
    def generate_argparser(cls, *, prog: str | None = None) -> argparse.ArgumentParser:
        """A parser of the env options, ``--for NAME`` included; :meth:`from_cli_args` reads its
        result. ``prog`` names the program in its usage line (by default, as ``sys.argv[0]`` does)."""
        from lzy.env import _cli_parser  # noqa: PLC0415 - argparse loads only for a command line

        return _cli_parser.generate_argparser(prog=prog, targets=True)

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        """Add the options of :meth:`generate_argparser` to a parser of your own; then give
        :meth:`from_cli_args` the namespace its ``parse_args()`` returns.

        The parser must be created with ``allow_abbrev=False`` (an abbreviation of an env option
        would change its meaning when an option named like it is added) and have no option of
        the same name; it is refused otherwise, and left as it was. Adding them twice adds nothing.
        """
        from lzy.env import _cli_parser  # noqa: PLC0415 - argparse loads only for a command line

        _cli_parser.add_arguments(parser, targets=True, who="CliOverrides.add_arguments")

    @classmethod
    def from_cli_args(cls, argv: Sequence[str] | argparse.Namespace | None = None) -> CliOverrides:
        """The overrides a command line gives: ``argv``, its words (``sys.argv[1:]`` by default),
        or the namespace a parser given :meth:`add_arguments` returned.

        Words given as ``argv`` must all be env options. Read from ``sys.argv``, the words that
        are not env options are left to the program (its own options, a Jupyter kernel's or
        pytest's, the words after ``--``); only a word meant as an env option and mistyped is
        refused. ``--help`` prints the options and exits; a bad value exits with status 2 and a
        message naming the option and what is allowed, as argparse does.
        """
        from lzy.env import _cli_parser  # noqa: PLC0415 - argparse loads only for a command line

        env, targets = _cli_parser.overrides_from_cli_args(argv)
        return cls(env=env, targets=targets)


def main(argv: Sequence[str] | None = None) -> int:
    """The ``lzy-env`` command (also ``python -m lzy.env``); returns its exit status."""
    from lzy.env import _command  # noqa: PLC0415 - the command loads only when it runs

    return _command.main(argv)
