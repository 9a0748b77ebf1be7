"""The default index follows the user's pip configuration, read as ``pip install`` reads it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from lzy.env.environment import EffectiveEnv, Env, Level
from lzy.env.explorer._pip_config import PYPI_INDEX_URL, pip_index
from lzy.env.python.auto import AutoPythonEnv
from lzy.exceptions import ConfigurationError

from .conftest import load
from .support import IndexServer, Site, wheel


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A home directory of its own, no pip variables and no configuration file."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_CONFIG_DIRS", str(tmp_path / "xdg"))
    monkeypatch.delenv("PIP_CONFIG_FILE", raising=False)
    for name in list(os.environ):
        if name.startswith("PIP_"):
            monkeypatch.delenv(name)
    return home


def write(path: Path, text: str) -> Path:
    """Write a configuration file, making its folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_pypi_without_configuration(home: Path) -> None:
    """No variable and no file: PyPI, and the source says so."""
    found = pip_index()
    assert (found.index_url, found.index_source, found.extra_index_urls) == (
        PYPI_INDEX_URL,
        "pip's default: no index configured",
        (),
    )


def test_environment_comes_before_files(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``PIP_INDEX_URL`` beats any file; ``PIP_EXTRA_INDEX_URL`` holds several URLs."""
    write(home / ".config" / "pip" / "pip.conf", "[global]\nindex-url = https://file.example/simple\n")
    monkeypatch.setenv("PIP_INDEX_URL", "https://env.example/simple")
    monkeypatch.setenv("PIP_EXTRA_INDEX_URL", "https://a.example/simple  https://b.example/simple")
    found = pip_index()
    assert (found.index_url, found.index_source) == ("https://env.example/simple", "PIP_INDEX_URL")
    assert found.extra_index_urls == ("https://a.example/simple", "https://b.example/simple")
    assert found.extra_source == "PIP_EXTRA_INDEX_URL"


def test_install_section_beats_global_whatever_the_file(home: Path, tmp_path: Path) -> None:
    """``[install]`` in a lower file beats ``[global]`` in a higher one; among files the later
    one wins (global, then user, then site), as in pip."""
    low = write(
        tmp_path / "xdg" / "pip" / "pip.conf", "[install]\nindex_url = https://install.example/simple\n"
    )
    user = write(
        home / ".config" / "pip" / "pip.conf",
        "[global]\nindex-url = https://user.example/simple\nextra-index-url =\n  https://x.example/simple\n"
        "  https://y.example/simple\n",
    )
    found = pip_index()
    assert (found.index_url, found.index_source) == (
        "https://install.example/simple",
        f"{low} [install] index-url",
    )
    assert found.extra_index_urls == ("https://x.example/simple", "https://y.example/simple")
    assert found.extra_source == f"{user} [global] extra-index-url"


def test_pip_config_file_variable(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``PIP_CONFIG_FILE`` is read last and turns the user files off; ``os.devnull`` turns every
    file off."""
    write(home / ".pip" / "pip.conf", "[global]\nindex-url = https://legacy.example/simple\n")
    named = write(tmp_path / "named.conf", "[global]\nextra-index-url = https://named.example/simple\n")
    monkeypatch.setenv("PIP_CONFIG_FILE", str(named))
    found = pip_index()
    assert (found.index_url, found.extra_index_urls) == (PYPI_INDEX_URL, ("https://named.example/simple",))
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    assert pip_index().extra_index_urls == ()
    monkeypatch.delenv("PIP_CONFIG_FILE")
    assert pip_index().index_url == "https://legacy.example/simple"


@pytest.mark.parametrize(
    ("environ", "conf"),
    [
        (
            {
                "PIP_INDEX_URL": "https://env.example/simple",
                "PIP_EXTRA_INDEX_URL": "https://e.example/simple",
            },
            "",
        ),
        (
            {},
            "[global]\nindex-url = https://g.example/simple\n[install]\nextra-index-url = https://i.example/simple\n",
        ),
        ({"PIP_NO_INDEX": "yes"}, "[global]\nindex-url = https://g.example/simple\n"),
        ({"PIP_NO_INDEX": "off"}, "[global]\nindex-url = https://g.example/simple\n"),
        ({}, ""),
    ],
    ids=["environment", "sections", "no-index", "no-index-off", "nothing"],
)
def test_same_answer_as_pip_itself(
    environ: dict[str, str], conf: str, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What is read matches what ``pip config list`` (pip's own reader) reports here."""
    if conf:
        write(home / ".config" / "pip" / "pip.conf", conf)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    done = subprocess.run(
        [sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True, check=False
    )
    if done.returncode:
        pytest.skip(f"pip cannot run here: {done.stderr[-200:]}")
    pips = dict(line.split("=", 1) for line in done.stdout.splitlines())

    def pip_says(key: str) -> str | None:
        for section in (":env:", "install", "global"):
            if f"{section}.{key}" in pips:
                return pips[f"{section}.{key}"].strip("'")
        return None

    found = pip_index()
    no_index = pip_says("no-index")
    if no_index is not None and no_index.lower() in {"yes", "1", "true", "on"}:
        assert found.index_url is None
        return
    assert found.index_url == (pip_says("index-url") or PYPI_INDEX_URL)
    assert found.extra_index_urls == tuple((pip_says("extra-index-url") or "").split())


def test_auto_python_env_resolves_against_the_configured_index(
    home: Path, monkeypatch: pytest.MonkeyPatch, site: Site, index: IndexServer
) -> None:
    """An env without ``pypi_index_url`` uses pip's index when it resolves, and both
    ``explain()`` tables say where it came from."""
    site.install("alpha", "1.0", {"alpha.py": ""})
    index.add("alpha", wheel("alpha", "1.0"))
    monkeypatch.setenv("PIP_INDEX_URL", index.url())
    env = AutoPythonEnv()
    assert env.pypi_index_url is None
    resolved = env.resolve({"alpha": load("alpha")})
    assert dict(resolved.pypi_packages) == {"alpha": "1.0"}
    assert resolved.pypi_index_url == index.url()
    assert (
        resolved.explain().splitlines()[0]
        == f"index: {index.url()} (from pip's configuration: {index.url()} (from PIP_INDEX_URL))"
    )
    effective = EffectiveEnv.from_layers({Level.OP: Env(python_env=env)})
    row = next(r for r in effective.rows() if r.path == "python_env.pypi_index_url")
    assert row.value == f"None: {index.url()} (from PIP_INDEX_URL)"
    assert effective.source("python_env.pypi_index_url") is Level.OP


def test_explicit_index_ignores_pip(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A set ``pypi_index_url`` wins over pip's configuration, which is not read."""
    monkeypatch.setenv("PIP_INDEX_URL", "https://env.example/simple")
    env = AutoPythonEnv(
        pypi_index_url="https://mine.example/simple", extra_index_urls=["https://x.example/simple"]
    )
    assert env.indexes() == ("https://mine.example/simple", ("https://x.example/simple",), "pypi_index_url")


def test_no_index_is_a_clear_error(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """pip configured with no index leaves nothing to install from: an error naming why."""
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    with pytest.raises(ConfigurationError, match=r"pip is configured with no index \(PIP_NO_INDEX\)"):
        AutoPythonEnv().resolve({})


@pytest.mark.parametrize(
    ("variables", "conf", "problem"),
    [
        (
            {"PIP_INDEX_URL": "https://host.example/simple?token=s3cr3t"},
            "",
            "pip's index URL (PIP_INDEX_URL) must not have a query ('?...') or a fragment",
        ),
        (
            {"PIP_INDEX_URL": "/srv/simple"},
            "",
            "pip's index URL (PIP_INDEX_URL) must be an absolute http(s):// or file:// URL",
        ),
        (
            {"PIP_INDEX_URL": "   "},
            "",
            "pip's index URL (PIP_INDEX_URL) is blank",
        ),
        (
            {"PIP_EXTRA_INDEX_URL": "https://a.example/simple,https://u:s3cr3t@b.example/simple"},
            "",
            "pip's extra index URL (PIP_EXTRA_INDEX_URL) must be one URL, not several joined by commas",
        ),
        (
            {},
            "[install]\nextra-index-url =\n  https://a.example/simple\n  https://b.example:99999/simple\n",
            "pip's extra index URLs ({conf} [install] extra-index-url) has port 99999, out of range",
        ),
        (
            {"PIP_NO_INDEX": "maybe"},
            "",
            "pip's no-index setting (PIP_NO_INDEX) is 'maybe', which is not a boolean pip reads",
        ),
        (
            {},
            "index-url = https://s3cr3t@host.example/simple\n",
            "pip's configuration file {conf} cannot be parsed (File contains no section headers.)",
        ),
        (
            {},
            "[global]\nindex-url = https://a.example/simple\nindex-url = https://b.example/simple\n",
            "pip's configuration file {conf} cannot be parsed (While reading from",
        ),
    ],
    ids=["query", "path", "blank", "commas", "port", "no-index", "no section", "duplicate option"],
)
def test_invalid_pip_configuration_is_refused_naming_where(
    variables: dict[str, str], conf: str, problem: str, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A value pip (or lzy, for an index URL) refuses is an error when the env resolves, naming
    the variable or the file, section and option it came from; explain()'s row shows it; no
    secret."""
    path = home / ".config" / "pip" / "pip.conf"
    if conf:
        write(path, conf)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    expected = problem.format(conf=path)
    found = pip_index()
    assert found.problem is not None
    assert found.problem.startswith(expected)
    assert "s3cr3t" not in found.problem
    assert found.describe().startswith(f"unusable: {expected}")
    with pytest.raises(ConfigurationError) as raised:
        AutoPythonEnv().resolve({})
    assert "AutoPythonEnv.pypi_index_url is not set, so the index comes from pip's configuration" in str(
        raised.value
    )
    assert expected in str(raised.value)
    effective = EffectiveEnv.from_layers({Level.OP: Env(python_env=AutoPythonEnv())})
    row = next(r for r in effective.rows() if r.path == "python_env.pypi_index_url")
    assert row.value.startswith(f"None: unusable: {expected}")


def test_empty_and_false_values_are_what_pip_makes_of_them(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An empty value is ignored, as pip ignores it; ``no-index = off`` keeps the index."""
    write(home / ".config" / "pip" / "pip.conf", "[global]\nindex-url =\nno-index = off\n")
    monkeypatch.setenv("PIP_EXTRA_INDEX_URL", "")
    found = pip_index()
    assert (found.index_url, found.extra_index_urls, found.problem) == (PYPI_INDEX_URL, (), None)


def test_credentials_of_the_configured_index_are_masked(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A configured index with credentials is shown masked."""
    monkeypatch.setenv("PIP_INDEX_URL", "https://u:canary-secret@mirror.example/simple")
    shown = pip_index().describe()
    assert "canary-secret" not in shown
    assert "https://***@mirror.example/simple" in shown


def test_unknown_target_platform_is_refused_by_the_env() -> None:
    """``target_platform`` is validated where it is written; legacy names are translated."""
    with pytest.raises(ValueError, match=r"AutoPythonEnv\.target_platform must be a wheel platform tag"):
        AutoPythonEnv(target_platform="linux")
    assert AutoPythonEnv(target_platform="manylinux2010_x86_64").target_platform == "manylinux_2_12_x86_64"
