"""A user's project checked as the README says: its ``nox -s typecheck``, with lzy checked out beside it.

The README's "Type checking your own project" section gives the checkers' settings and the nox
session; ``examples/user_project`` holds exactly that text. The test lays out a fresh copy of
lzy's checkout and of the project side by side, the way the README's default (``../lzy``)
expects, and runs the session with no other configuration: nox installs lzy from the checkout
(pip builds its wheel) and each checker into its own virtualenv. It needs PyPI (the build
backend, the checkers and the Node.js wheel for pyright), hence the ``slow`` mark.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path
from typing import Final

import pytest

pytestmark = pytest.mark.slow

ROOT: Final = Path(__file__).resolve().parents[1]
EXAMPLE: Final = ROOT / "examples" / "user_project"
README: Final = ROOT / "README.md"
WRONG: Final = "mistakes/wrong_calls.py"
TIMEOUT: Final = 900

_EXPECT: Final = re.compile(r"#\s*expect:\s*mypy\[([\w,-]+)\]\s+pyright\[([\w,]+)\]")
_MYPY_ERROR: Final = re.compile(r"^mistakes/wrong_calls\.py:(\d+): error: .*\[([\w-]+)\]\s*$")
_PYRIGHT_ERROR: Final = re.compile(r"wrong_calls\.py:(\d+):\d+ - error: ")
_PYRIGHT_RULE: Final = re.compile(r"\((report\w+)\)\s*$")
# What a checkout holds that building lzy needs.
_CHECKOUT: Final = ("pyproject.toml", "README.md", "lzy", "stubs")


def _readme_section() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("## Type checking your own project")
    return text[start : text.index("\n## ", start + 1)]


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", _readme_section(), flags=re.DOTALL)


def test_the_readme_session_is_the_example_project_noxfile() -> None:
    """The README's noxfile is ``examples/user_project/noxfile.py``, character for character."""
    (noxfile,) = _blocks("python")
    assert noxfile == (EXAMPLE / "noxfile.py").read_text(encoding="utf-8")


def test_the_readme_settings_are_the_example_project_settings() -> None:
    """The README's checker settings are the example's, and strict is on in both checkers."""
    (settings,) = _blocks("toml")
    assert settings in (EXAMPLE / "pyproject.toml").read_text(encoding="utf-8")
    tools = tomllib.loads(settings)["tool"]
    assert tools["mypy"]["strict"] is True
    assert tools["pyright"]["typeCheckingMode"] == "strict"


def _readme_commands() -> list[str]:
    (commands,) = _blocks("console")
    return commands.splitlines()


def test_the_readme_commands_run_the_session_from_a_virtualenv() -> None:
    """The console block makes a virtualenv (the system's Python may refuse pip, PEP 668),
    installs nox there and runs the session the noxfile defines with it."""
    assert _readme_commands() == [
        "python3 -m venv .venv",
        ".venv/bin/python -m pip install nox",
        ".venv/bin/python -m nox -s typecheck",
    ]


def test_the_typing_page_gives_the_readme_commands() -> None:
    """The typing page's console block is the README's, line for line."""
    page = (ROOT / "docs" / "typing.rst").read_text(encoding="utf-8")
    section = page[page.index("Checking your project with") :]
    block = section[section.index(".. code-block:: console") :].split("\n\n")[1]
    assert [line.strip().removeprefix("$ ") for line in block.splitlines()] == _readme_commands()


@pytest.fixture(scope="module")
def side_by_side(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh checkout of lzy at ``../lzy`` and the example project beside it."""
    top = tmp_path_factory.mktemp("work")
    (top / "lzy").mkdir()
    for name in _CHECKOUT:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, top / "lzy" / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copyfile(source, top / "lzy" / name)
    ignored = shutil.ignore_patterns(".nox", "__pycache__", ".mypy_cache")
    shutil.copytree(EXAMPLE, top / "project", ignore=ignored)
    return top / "project"


def _environment(python3: Path | None = None) -> dict[str, str]:
    """This process's environment less the machine's pip configuration (a fresh machine has
    none) and any virtualenv or ``LZY``; with ``python3``, that interpreter first on ``PATH``
    under the name ``python3``."""
    env = {**os.environ, "PIP_CONFIG_FILE": os.devnull, "PYRIGHT_PYTHON_IGNORE_WARNINGS": "1"}
    for name in ("VIRTUAL_ENV", "LZY", "PYENV_VERSION"):
        env.pop(name, None)
    if python3 is not None:
        env["PATH"] = f"{python3.parent}{os.pathsep}{env['PATH']}"
    return env


def _system_python() -> Path | None:
    """The distribution's own Python 3 when it is a supported one that refuses pip outside a
    virtualenv (PEP 668's ``EXTERNALLY-MANAGED``, as on Debian): the case the README's virtualenv
    is for. Only with ``ensurepip`` (Debian's ``python3-venv``), which the README says it needs."""
    system = Path("/usr/bin/python3")
    if not system.is_file():
        return None
    probe = (
        "import sys, sysconfig, pathlib, importlib.util;"
        "managed = (pathlib.Path(sysconfig.get_path('stdlib')) / 'EXTERNALLY-MANAGED').is_file();"
        "venv = importlib.util.find_spec('ensurepip') is not None;"
        "print(managed and venv and sys.version_info[:2] in {(3, 11), (3, 12), (3, 13)})"
    )
    done = subprocess.run([system, "-c", probe], capture_output=True, text=True, check=False)
    return system if done.stdout.strip() == "True" else None


@pytest.fixture(scope="module")
def project(side_by_side: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project after the README's console lines ran in it, as written, each in a shell:
    with the system's own Python as ``python3`` where it refuses pip outside a virtualenv
    (Debian's), else with the Python running the tests. The session passes both checkers."""
    chosen = _system_python() or Path(sys.executable)
    names = tmp_path_factory.mktemp("bin")
    (names / "python3").symlink_to(chosen)
    env = _environment(names / "python3")
    for line in _readme_commands():
        done = subprocess.run(
            line,
            shell=True,
            cwd=side_by_side,
            env=env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
        assert done.returncode == 0, f"{line!r} with python3={chosen}:\n{done.stdout}{done.stderr}"
    return side_by_side


def _nox(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The README's last line, ``.venv/bin/python -m nox -s typecheck``, with more arguments."""
    command = [str(project / ".venv" / "bin" / "python"), "-m", "nox", "-s", "typecheck", *args]
    return subprocess.run(
        command, cwd=project, env=_environment(), capture_output=True, text=True, timeout=TIMEOUT, check=False
    )


@pytest.mark.parametrize("checker", ["mypy", "pyright"])
def test_each_checker_passes_the_project(project: Path, checker: str) -> None:
    """Each checker ran in its own session, with lzy installed from the checkout beside it."""
    site = next((project / ".nox").glob(f"typecheck-checker-{checker}/lib/python*/site-packages"))
    assert (site / "lzy" / "env" / "owner.pyi").is_file()
    assert (site / "lzy" / "py.typed").is_file()


def _expected(path: Path) -> dict[int, tuple[set[str], set[str]]]:
    """Line -> (mypy codes, pyright rules), from the ``# expect:`` comment above each line."""
    expected: dict[int, tuple[set[str], set[str]]] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if match := _EXPECT.search(line):
            expected[number + 1] = (set(match[1].split(",")), set(match[2].split(",")))
    return expected


def _reported(output: str) -> tuple[dict[int, set[str]], dict[int, set[str]]]:
    """The error codes mypy and pyright reported, by line of the wrong file."""
    mypy: dict[int, set[str]] = {}
    pyright: dict[int, set[str]] = {}
    current: int | None = None
    for line in output.splitlines():
        if match := _MYPY_ERROR.match(line):
            mypy.setdefault(int(match[1]), set()).add(match[2])
            continue
        if match := _PYRIGHT_ERROR.search(line):
            current = int(match[1])
        if current is not None and (rule := _PYRIGHT_RULE.search(line)):
            pyright.setdefault(current, set()).add(rule[1])
            current = None
    return mypy, pyright


def test_each_mistake_is_reported_by_both_checkers(project: Path) -> None:
    """Both sessions run and fail, though the first fails; every marked line gets both errors."""
    done = _nox(project, "--reuse-existing-virtualenvs", "--", WRONG)
    output = done.stdout + done.stderr
    assert done.returncode != 0, output
    for checker in ("mypy", "pyright"):
        assert f"Session typecheck(checker='{checker}') failed" in output, output
    expected = _expected(project / WRONG)
    mypy, pyright = _reported(output)
    assert set(mypy) == set(expected), output
    assert set(pyright) == set(expected), output
    for line, (mypy_codes, pyright_rules) in expected.items():
        assert mypy[line] <= mypy_codes, f"line {line}: {mypy[line]}"
        assert pyright[line] <= pyright_rules, f"line {line}: {pyright[line]}"


def test_the_wheel_ships_the_stubs_next_to_their_modules_with_py_typed(tmp_path: Path) -> None:
    """PEP 561: ``py.typed`` and ``lzy/env/owner.pyi`` beside ``owner.py``; no generator."""
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(tmp_path), str(ROOT)],
        check=True,
        timeout=TIMEOUT,
        env={**os.environ, "PIP_CONFIG_FILE": os.devnull},
    )
    (built,) = tmp_path.glob("lzy-*.whl")
    names = set(zipfile.ZipFile(built).namelist())
    assert {"lzy/py.typed", "lzy/env/owner.py", "lzy/env/owner.pyi"} <= names
    assert "lzy/env/_stubgen.py" not in names
    assert not any(name.startswith(("stubs/", "tests/", "examples/")) for name in names)
