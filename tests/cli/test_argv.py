"""Where the env options are read from: ``sys.argv`` shared with the program and its host, an
``argv`` of one's own, or a parser of one's own that the options join."""

from __future__ import annotations

import argparse
import inspect
import subprocess
import sys
import typing
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from lzy.api.v1 import Lzy
from lzy.api.v1.env import CliOverrides, Env, Provisioning
from lzy.env import cli
from lzy.env._cli_parser import option_strings
from lzy.exceptions import ConfigurationError, FieldTypeError


def _read_all(argv: Sequence[str] | None = None) -> list[object]:
    """What each entry point reads: the overrides of ``with_cli_args``, ``CliOverrides`` and ``Env``."""
    return [
        Lzy().with_cli_args(argv).cli,
        CliOverrides.from_cli_args(argv),
        CliOverrides(env=Env.from_cli_args(argv)),
    ]


def _cpu(count: int) -> CliOverrides:
    return CliOverrides(env=Env(provisioning=Provisioning(cpu_count=count)))


# --------------------------------------------------------------------------- sys.argv, shared


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        pytest.param(
            ["/venv/lib/ipykernel_launcher.py", "-f", "/root/.local/share/jupyter/runtime/kernel-1a2b.json"],
            CliOverrides(),
            id="jupyter-kernel",
        ),
        pytest.param(
            [
                "/venv/bin/pytest",
                "tests/",
                "-k",
                "cli and not slow",
                "-x",
                "--tb=short",
                "-p",
                "no:cacheprovider",
            ],
            CliOverrides(),
            id="pytest",
        ),
        pytest.param(["/venv/lib/pytest/__main__.py", "-q", "tests"], CliOverrides(), id="python-m-pytest"),
        pytest.param(
            ["train.py", "--epochs", "10", "--provisioning.cpu-count", "4", "--lr=0.1", "data.csv"],
            _cpu(4),
            id="own-options-mixed-in",
        ),
        pytest.param(
            ["train.py", "--format", "json", "--env", "prod"], CliOverrides(), id="own-options-like-ours"
        ),
        pytest.param(
            ["train.py", "--provisioning.cpu-count", "2", "--", "--provisioning.cpu-count", "8", "--environ"],
            _cpu(2),
            id="words-after-double-dash-are-the-programs",
        ),
        pytest.param(["/src/pkg/jobs.py", "--provisioning.cpu-count", "3"], _cpu(3), id="python-m-module"),
        pytest.param([], CliOverrides(), id="empty"),
        pytest.param([""], CliOverrides(), id="interactive-prompt"),
        pytest.param(["-c"], CliOverrides(), id="python-c"),
    ],
)
def test_sys_argv_of_any_host_is_read_for_the_env_options_only(
    argv: list[str], expected: CliOverrides, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Read from ``sys.argv``, the env options are taken and every other word is left to the
    program: its own options, a host's (Jupyter's ``-f``, pytest's), the words after ``--``."""
    monkeypatch.setattr(sys, "argv", argv)
    assert _read_all() == [expected] * 3


def test_without_sys_argv_nothing_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """An embedded interpreter may have no ``sys.argv`` at all: no options, no crash."""
    monkeypatch.delattr(sys, "argv")
    assert _read_all() == [CliOverrides()] * 3


def test_under_this_test_runner_sys_argv_is_left_alone() -> None:
    """``Lzy().with_cli_args()`` in a module pytest imports reads pytest's own words as nothing."""
    assert Lzy().with_cli_args().cli.is_empty


@pytest.mark.parametrize(
    ("word", "named"),
    [
        ("--provisioning.cpu-cont", "did you mean '--provisioning.cpu-count'?"),
        ("--provisoning.cpu-count", "did you mean '--provisioning.cpu-count'?"),
        ("--python_env.python-version", "did you mean '--python-env.python-version'?"),
        ("--Container.image", "did you mean '--container.image'?"),
        ("--python-env.pypi-idx-url=https://u:hunter2@h/simple", "--python-env.pypi-idx-url=***"),
        ("--Environ", "did you mean '--environ'?"),
        ("--FOR", "unrecognized arguments: --FOR"),
        ("\u2013\u2013environ", "(en dash), not '--'"),
        ("-provisioning.cpu-count", "did you mean '--provisioning.cpu-count'?"),
    ],
)
def test_a_mistyped_env_option_in_sys_argv_is_refused(
    word: str, named: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A word meant as an env option but not one is refused, never left to the program unnoticed."""
    monkeypatch.setattr(sys, "argv", ["train.py", "--epochs", "3", word, "hunter2"])
    for read in (Lzy().with_cli_args, CliOverrides.from_cli_args, Env.from_cli_args):
        with pytest.raises(SystemExit) as exit_:
            read()
        assert exit_.value.code == 2
        error = capsys.readouterr().err
        assert named in error
        assert "hunter2" not in error
        assert "--epochs" not in error, "the program's own option is not the env options' business"


@pytest.mark.parametrize(
    ("argv0", "prog"),
    [
        ([], "python"),
        ([""], "python"),
        (["-c"], "python -c"),
        (["-m"], "python -m"),
        (["/venv/lib/python3.12/site-packages/trainer/__main__.py"], "python -m trainer"),
        (["/home/me/train.py"], "train.py"),
    ],
)
def test_usage_names_the_program_whatever_sys_argv_holds(
    argv0: list[str], prog: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The usage line names the program as it was started, ``python`` when nothing says."""
    monkeypatch.setattr(sys, "argv", argv0)
    with pytest.raises(SystemExit):
        CliOverrides.from_cli_args(["--provisioning.cpu-count", "x"])
    assert capsys.readouterr().err.startswith(f"usage: {prog} [-h]")


def test_a_module_run_with_python_m_reads_its_options(tmp_path: Path) -> None:
    """``python -m package.module --own 1 --provisioning.cpu-count 2``: the env option is read,
    the module's own is left to it."""
    package = tmp_path / "jobs"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "train.py").write_text(
        "import sys\n"
        "from lzy.api.v1 import Lzy\n"
        "lzy = Lzy().with_cli_args()\n"
        "print(lzy.cli.env.provisioning.cpu_count, sys.argv[1:])\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "jobs.train", "--own", "1", "--provisioning.cpu-count", "2"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == "2 ['--own', '1', '--provisioning.cpu-count', '2']\n"


# --------------------------------------------------------------------------- argv given


class Words(Sequence[str]):
    """A sequence of one's own, neither list nor tuple."""

    def __init__(self, *words: str) -> None:
        self._words = words

    @typing.overload
    def __getitem__(self, index: int) -> str: ...
    @typing.overload
    def __getitem__(self, index: slice) -> Sequence[str]: ...
    def __getitem__(self, index: int | slice) -> str | Sequence[str]:
        return self._words[index]

    def __len__(self) -> int:
        return len(self._words)


@pytest.mark.parametrize(
    "argv",
    [
        ["--provisioning.cpu-count", "4"],
        ("--provisioning.cpu-count", "4"),
        Words("--provisioning.cpu-count", "4"),
        ["--provisioning.cpu-count=4"],
    ],
    ids=["list", "tuple", "sequence", "equals"],
)
def test_argv_is_any_sequence_of_str(argv: Sequence[str]) -> None:
    """Every entry point takes any sequence of words."""
    assert _read_all(argv) == [_cpu(4)] * 3


def _generated() -> Iterator[str]:
    yield "--provisioning.cpu-count"


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        ("--provisioning.cpu-count 4", "got str '--provisioning.cpu-count 4'; split a command line"),
        (b"--provisioning.cpu-count", "got bytes"),
        ({"--provisioning.cpu-count"}, "must be a sequence of str"),
        (_generated(), "must be a sequence of str"),
        (["--provisioning.cpu-count", 4], "argv[1] must be a str, got 4"),
        (4, "must be a sequence of str"),
    ],
    ids=["str", "bytes", "set", "generator", "not-str-item", "int"],
)
@pytest.mark.parametrize(
    ("read", "who"),
    [
        (Lzy().with_cli_args, "Lzy.with_cli_args"),
        (CliOverrides.from_cli_args, "CliOverrides.from_cli_args"),
        (Env.from_cli_args, "Env.from_cli_args"),
        (cli.main, "lzy-env"),
    ],
)
def test_argv_that_is_not_a_sequence_of_words_is_refused(
    argv: object, words: str, read: Callable[[object], object], who: str
) -> None:
    """A string is refused, not split into characters; so is anything but a sequence of str."""
    with pytest.raises(FieldTypeError) as error:
        read(argv)
    assert str(error.value).startswith(f"{who}: argv")
    assert words in str(error.value)


@pytest.mark.parametrize(
    "function", [Lzy.with_cli_args, CliOverrides.from_cli_args, Env.from_cli_args, cli.main]
)
def test_the_command_line_parameter_is_argv_everywhere(function: Callable[..., object]) -> None:
    """One name and one type for the words of a command line, defaulting to ``sys.argv[1:]``."""
    parameters = [p for p in inspect.signature(function).parameters.values() if p.name != "self"]
    assert [p.name for p in parameters] == ["argv"]
    assert parameters[0].default is None
    hints = typing.get_type_hints(
        function, globalns={"argparse": argparse, **vars(sys.modules[function.__module__])}
    )
    assert Sequence[str] in typing.get_args(hints["argv"])


# --------------------------------------------------------------------------- a parser of one's own


def _parser(**settings: typing.Any) -> argparse.ArgumentParser:
    return argparse.ArgumentParser(prog="train.py", allow_abbrev=False, **settings)


@pytest.mark.parametrize(
    ("own", "add", "taken"),
    [
        (["--environ"], CliOverrides.add_arguments, "--environ"),
        (["--provisioning.cpu-count"], Env.add_arguments, "--provisioning.cpu-count"),
        (["--container"], CliOverrides.add_arguments, "--container"),
        (["-e", "--environ"], Env.add_arguments, "--environ"),
        (
            ["--for"],
            CliOverrides.add_arguments,
            "--for, which the env options use; rename the parser's own option, or add the env options"
            " without --for (Env.add_arguments)",
        ),
    ],
)
@pytest.mark.parametrize("conflict_handler", ["error", "resolve"])
def test_an_option_of_the_same_name_is_refused_and_the_parser_left_as_it_was(
    own: list[str], add: Callable[[argparse.ArgumentParser], None], taken: str, conflict_handler: str
) -> None:
    """A clash is named, whatever the parser does with clashes; nothing is added."""
    parser = _parser(conflict_handler=conflict_handler)
    parser.add_argument(*own)
    before = parser.format_help()
    with pytest.raises(ConfigurationError, match="the parser already has") as error:
        add(parser)
    assert taken in str(error.value)
    assert parser.format_help() == before


def test_a_parser_of_ones_own_without_for_takes_cli_overrides_elsewhere() -> None:
    """``--for`` of one's own is fine beside ``Env.add_arguments``, which has none."""
    parser = _parser()
    parser.add_argument("--for", dest="customer")
    Env.add_arguments(parser)
    args = parser.parse_args(["--for", "acme", "--provisioning.cpu-count", "2"])
    assert args.customer == "acme"
    assert Env.from_cli_args(args) == Env(provisioning=Provisioning(cpu_count=2))


@pytest.mark.parametrize("add", [CliOverrides.add_arguments, Env.add_arguments])
def test_a_parser_that_takes_abbreviations_is_refused(add: Callable[[argparse.ArgumentParser], None]) -> None:
    """``allow_abbrev=True`` (argparse's default) would read ``--provisioning.gpu-c`` as
    ``--provisioning.gpu-count`` silently: the parser is refused, with what to write."""
    parser = argparse.ArgumentParser()
    with pytest.raises(ConfigurationError, match=r"allow_abbrev=False") as error:
        add(parser)
    assert "--provisioning.gpu-c" in str(error.value)
    assert not parser._option_string_actions.keys() - {"-h", "--help"}


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["--provisioning.gpu-c", "2"], "--provisioning.gpu-c"),
        (["--prov", "ANY"], "--prov"),
        (["--env", "A=1"], "--env"),
        (["--python-env.pyt", "3.12"], "--python-env.pyt"),
    ],
)
def test_an_abbreviation_is_refused_by_a_parser_of_ones_own(
    argv: list[str], named: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """With ``allow_abbrev=False`` an abbreviation is an unknown option, as in lzy's own parsers."""
    parser = _parser()
    CliOverrides.add_arguments(parser)
    with pytest.raises(SystemExit):
        parser.parse_args(argv)
    assert f"unrecognized arguments: {named}" in capsys.readouterr().err


@pytest.mark.parametrize("prefix_chars", ["+", "/"])
def test_a_parser_whose_options_do_not_start_with_a_dash_is_refused(prefix_chars: str) -> None:
    """The env options start with ``-``; a parser with other prefix characters cannot take them."""
    parser = _parser(prefix_chars=prefix_chars)
    with pytest.raises(ConfigurationError, match="prefix_chars"):
        CliOverrides.add_arguments(parser)


def test_a_parser_with_more_prefix_characters_takes_the_options() -> None:
    """``prefix_chars="-+"`` includes ``-``: its own ``+x`` options and the env options both work."""
    parser = _parser(prefix_chars="-+")
    parser.add_argument("+v", action="store_true")
    CliOverrides.add_arguments(parser)
    args = parser.parse_args(["+v", "--provisioning.cpu-count", "2"])
    assert args.v
    assert CliOverrides.from_cli_args(args) == _cpu(2)


def test_adding_the_options_twice_adds_them_once() -> None:
    """A second ``add_arguments`` of the same options changes nothing."""
    parser = _parser()
    CliOverrides.add_arguments(parser)
    before = parser.format_help()
    CliOverrides.add_arguments(parser)
    assert parser.format_help() == before
    assert CliOverrides.from_cli_args(parser.parse_args(["--provisioning.cpu-count", "2"])) == _cpu(2)


@pytest.mark.parametrize(
    ("first", "second"),
    [(Env.add_arguments, CliOverrides.add_arguments), (CliOverrides.add_arguments, Env.add_arguments)],
)
def test_adding_the_other_set_of_options_is_refused(
    first: Callable[[argparse.ArgumentParser], None], second: Callable[[argparse.ArgumentParser], None]
) -> None:
    """``Env``'s options (no ``--for``) and ``CliOverrides``' cannot both join one parser."""
    parser = _parser()
    first(parser)
    with pytest.raises(ConfigurationError, match="add one set or the other"):
        second(parser)


@pytest.mark.parametrize("parser", [None, "train.py", argparse.Namespace()])
def test_add_arguments_takes_an_argument_parser(parser: object) -> None:
    """Anything but an ``argparse.ArgumentParser`` is refused by name."""
    with pytest.raises(FieldTypeError, match=r"add_arguments: parser must be an argparse\.ArgumentParser"):
        CliOverrides.add_arguments(parser)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]  # the refusal is the test


def test_every_option_string_is_added() -> None:
    """The list that clashes are checked against is the list of options added."""
    for targets, add in ((True, CliOverrides.add_arguments), (False, Env.add_arguments)):
        parser = _parser()
        add(parser)
        added = {option for option in parser._option_string_actions if option not in {"-h", "--help"}}
        assert added == set(option_strings(targets=targets))
