"""A secret typed on the command line lands in the shell's history and the process list: it is
used, warned about without being shown, and the warning names the safe way to give it."""

from __future__ import annotations

import argparse
import json

import pytest

from lzy.api.v1 import Lzy
from lzy.api.v1.env import AutoPythonEnv, CliOverrides, Env
from lzy.env import cli

CANARY = "canary-5ecret"


@pytest.mark.parametrize(
    ("argv", "expected", "warning"),
    [
        (
            ["--environ", f"API_TOKEN={CANARY}"],
            Env(environ={"API_TOKEN": CANARY}),
            "--environ API_TOKEN=*** puts a secret on the command line, where the process list and the"
            " shell's history keep it; give --environ API_TOKEN alone, which passes this process's value",
        ),
        (
            ["--environ", f"DATABASE_URL=postgres://app:{CANARY}@db/app"],
            Env(environ={"DATABASE_URL": f"postgres://app:{CANARY}@db/app"}),
            "--environ DATABASE_URL=*** puts a secret on the command line",
        ),
        (
            ["--python-env.pypi-index-url", f"https://ci:{CANARY}@pypi.acme.example/simple"],
            Env(python_env=AutoPythonEnv(pypi_index_url=f"https://ci:{CANARY}@pypi.acme.example/simple")),
            "--python-env.pypi-index-url https://***@pypi.acme.example/simple puts a secret on the command"
            " line, where the process list and the shell's history keep it; give"
            " --python-env.pypi-index-url env:NAME instead, NAME being a variable that holds the URL",
        ),
        (
            ["--python-env.extra-index-urls", f"https://{CANARY}@pkgs.example/simple"],
            Env(python_env=AutoPythonEnv(extra_index_urls=[f"https://{CANARY}@pkgs.example/simple"])),
            "--python-env.extra-index-urls https://***@pkgs.example/simple puts a secret",
        ),
    ],
    ids=["secret-variable", "url-in-a-variable", "index-url", "extra-index-url"],
)
def test_a_literal_secret_is_used_and_warned_about_without_being_shown(
    argv: list[str], expected: Env, warning: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The value is taken as given (it is the user's call), with one warning naming the option,
    the value masked, and the safe form."""
    assert Env.from_cli_args(argv) == expected
    error = capsys.readouterr().err
    assert f"warning: {warning}" in " ".join(error.split())
    assert error.count("warning:") == 1
    assert CANARY not in error


def test_a_secret_aimed_at_one_op_is_warned_about_too(capsys: pytest.CaptureFixture[str]) -> None:
    """``--for`` does not change what the command line exposes."""
    overrides = CliOverrides.from_cli_args(["--for", "train", "--environ", f"HF_TOKEN={CANARY}"])
    assert overrides.targets["train"] == Env(environ={"HF_TOKEN": CANARY})
    error = capsys.readouterr().err
    assert "warning: --environ HF_TOKEN=*** puts a secret" in error
    assert CANARY not in error


@pytest.mark.parametrize(
    "argv",
    [
        ["--environ", "MODE=fast"],
        ["--environ", "API_TOKEN"],
        ["--environ", "API_TOKEN="],
        ["--python-env.pypi-index-url", "env:LZY_TEST_INDEX"],
        ["--python-env.extra-index-urls", "env:LZY_TEST_INDEX"],
        ["--python-env.pypi-index-url", "https://pypi.acme.example/simple"],
        ["--container.image", "a:1", "--container.username", "ci", "--container.password", "env:API_TOKEN"],
    ],
    ids=" ".join,
)
def test_the_safe_forms_warn_of_nothing(
    argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A variable passed by name, a URL read from a variable, a password from ``env:``: nothing to warn of."""
    monkeypatch.setenv("API_TOKEN", CANARY)
    monkeypatch.setenv("LZY_TEST_INDEX", f"https://ci:{CANARY}@pypi.acme.example/simple")
    env = Env.from_cli_args(argv)
    assert env != Env()
    assert capsys.readouterr().err == ""


def test_a_url_is_read_from_the_variable_env_names(monkeypatch: pytest.MonkeyPatch) -> None:
    """``env:NAME`` gives a URL option the URL the variable holds, credentials included."""
    url = f"https://ci:{CANARY}@pypi.acme.example/simple"
    monkeypatch.setenv("LZY_TEST_INDEX", url)
    env = Env.from_cli_args(["--python-env.pypi-index-url", "env:LZY_TEST_INDEX"])
    assert env == Env(python_env=AutoPythonEnv(pypi_index_url=url))


def test_a_url_from_an_unset_variable_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    """``env:NAME`` with ``NAME`` unset is a usage error naming the variable."""
    with pytest.raises(SystemExit) as exit_:
        Env.from_cli_args(["--python-env.pypi-index-url", "env:LZY_TEST_UNSET_INDEX"])
    assert exit_.value.code == 2
    assert (
        "argument --python-env.pypi-index-url: the environment variable 'LZY_TEST_UNSET_INDEX' named by"
        " 'env:LZY_TEST_UNSET_INDEX' is not set" in capsys.readouterr().err
    )


def test_a_namespace_read_twice_is_warned_about_once(capsys: pytest.CaptureFixture[str]) -> None:
    """The warning belongs to the command line, not to each reading of it."""
    parser = argparse.ArgumentParser(prog="train.py", allow_abbrev=False)
    CliOverrides.add_arguments(parser)
    args = parser.parse_args(["--environ", f"API_TOKEN={CANARY}"])
    first, second = CliOverrides.from_cli_args(args), Lzy().with_cli_args(args).cli
    assert first == second
    error = capsys.readouterr().err
    assert error.count("warning:") == 1
    assert error.startswith("train.py: warning: --environ API_TOKEN=***")


@pytest.mark.parametrize("as_json", [False, True])
def test_lzy_env_shows_no_secret_given_on_its_command_line(
    as_json: bool, tmp_path: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    """``lzy-env explain`` warns, and neither its table, its JSON nor the warning shows the value."""
    argv = ["explain", "lzy.env.environment:DEFAULT_ENV", "--environ", f"API_TOKEN={CANARY}"]
    argv += ["--python-env.pypi-index-url", f"https://ci:{CANARY}@pypi.acme.example/simple"]
    argv += ["--environ", f"DATABASE_URL=postgres://app:{CANARY}@db/app"]
    assert cli.main([*argv, *(["--json"] if as_json else [])]) == 0
    out, error = capsys.readouterr()
    assert CANARY not in out + error
    assert error.count("lzy-env explain: warning:") == 3
    if as_json:
        rows = {row["path"]: row for row in json.loads(out)["rows"]}
        assert rows["environ.API_TOKEN"]["level"] == "CLI"
