"""A user's project checked against the built wheel, as the user's own ``nox -s typecheck`` does.

The wheel is built from this checkout; ``examples/user_project``'s ``typecheck`` session installs
it with mypy and pyright into a fresh virtualenv and checks the project: clean on its code, and on
``mistakes/wrong_calls.py`` the errors its ``# expect:`` comments name. It needs PyPI (the build
backend, the checkers and nodejs for pyright), hence the ``slow`` mark.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Final

import pytest

pytestmark = pytest.mark.slow

ROOT: Final = Path(__file__).resolve().parents[1]
EXAMPLE: Final = ROOT / "examples" / "user_project"
WRONG: Final = "mistakes/wrong_calls.py"
TIMEOUT: Final = 900

_EXPECT: Final = re.compile(r"#\s*expect:\s*mypy\[([\w,-]+)\]\s+pyright\[([\w,]+)\]")
_MYPY_ERROR: Final = re.compile(r"^mistakes/wrong_calls\.py:(\d+): error: .*\[([\w-]+)\]\s*$")
_PYRIGHT_ERROR: Final = re.compile(r"wrong_calls\.py:(\d+):\d+ - error: ")
_PYRIGHT_RULE: Final = re.compile(r"\((report\w+)\)\s*$")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel of this checkout, built the way pip builds it (isolated, from PyPI's hatchling)."""
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", str(out), str(ROOT)],
        check=True,
        timeout=TIMEOUT,
    )
    (built,) = out.glob("lzy-*.whl")
    return built


def test_the_wheel_ships_the_stubs_next_to_their_modules_with_py_typed(wheel: Path) -> None:
    """PEP 561: ``py.typed`` and ``lzy/env/owner.pyi`` beside ``owner.py``; no generator."""
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"lzy/py.typed", "lzy/env/owner.py", "lzy/env/owner.pyi"} <= names
    assert "lzy/env/_stubgen.py" not in names
    assert not any(name.startswith(("stubs/", "tests/", "examples/")) for name in names)


def _nox(project: Path, wheel: Path, *args: str) -> subprocess.CompletedProcess[str]:
    pytest.importorskip("nox", reason="nox is in the typecheck dependency group")
    env = {**os.environ, "LZY_REQUIREMENT": str(wheel), "PYRIGHT_PYTHON_IGNORE_WARNINGS": "1"}
    env.pop("VIRTUAL_ENV", None)
    command = [sys.executable, "-m", "nox", "--envdir", str(project / ".nox"), "-s", "typecheck", *args]
    return subprocess.run(
        command,
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, wheel: Path) -> Path:
    """A copy of the example project whose typecheck session has run once (clean)."""
    copy = tmp_path_factory.mktemp("user") / "user_project"
    shutil.copytree(EXAMPLE, copy, ignore=shutil.ignore_patterns(".nox", "__pycache__", ".mypy_cache"))
    done = _nox(copy, wheel)
    assert done.returncode == 0, done.stdout + done.stderr
    return copy


def test_the_project_is_clean_under_both_checkers(project: Path) -> None:
    """mypy and pyright, strict, find nothing in a project using every form of the API."""
    assert (project / ".nox" / "typecheck").is_dir()


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


def test_each_mistake_is_reported_by_both_checkers(project: Path, wheel: Path) -> None:
    """Every marked line gets errors from both checkers, with the codes its comment names."""
    done = _nox(project, wheel, "--reuse-existing-virtualenvs", "--", WRONG)
    output = done.stdout + done.stderr
    assert done.returncode != 0, output
    assert "mypy and pyright found errors" in output
    expected = _expected(project / WRONG)
    mypy, pyright = _reported(output)
    assert set(mypy) == set(expected), output
    assert set(pyright) == set(expected), output
    for line, (mypy_codes, pyright_rules) in expected.items():
        assert mypy[line] <= mypy_codes, f"line {line}: {mypy[line]}"
        assert pyright[line] <= pyright_rules, f"line {line}: {pyright[line]}"
