"""The explorer behind AutoPythonEnv and OnlyLocalPythonEnv."""

from __future__ import annotations

from pathlib import Path

import pytest

from lzy.env.explorer.base import Classification
from lzy.env.python.auto import AutoPythonEnv
from lzy.env.python.local import OnlyLocalPythonEnv
from lzy.exceptions import ExplorationError, FieldValueError

from .conftest import load
from .support import IndexServer, Site, wheel


def test_auto_python_env_pins_and_ships(site: Site, project: Path, index: IndexServer) -> None:
    """AutoPythonEnv pins what the index has, ships local code, and adds forced packages."""
    site.install("alpha", "1.0", {"alpha.py": ""})
    site.install("forced", "3.0", {"forced.py": ""})
    index.add("alpha", wheel("alpha", "1.0"))
    (project / "mine.py").write_text("import alpha\nimport forced\n")
    env = AutoPythonEnv(pypi_index_url=index.url(), additional_pypi_packages={"forced": "3.1"})
    resolved = env.resolve({"mine": load("mine")})
    assert dict(resolved.pypi_packages) == {"alpha": "1.0", "forced": "3.1"}
    assert resolved.local_module_paths == (str(project / "mine.py"),)
    assert index.requests_for("forced") == 0
    forced = [d for d in resolved.decisions if d.name == "forced"]
    assert [(d.classification, d.version) for d in forced] == [(Classification.ADDITIONAL, "3.1")]


@pytest.mark.parametrize("forced_name", ["forced", "Forced_Dist"])
def test_additional_packages_that_a_pins_requirement_excludes_are_refused(
    forced_name: str, site: Site, project: Path, index: IndexServer
) -> None:
    """A version forced with additional_pypi_packages that a pinned distribution's declared
    requirements exclude (or whose own requirements, as installed here, exclude a pin) is
    refused, naming both."""
    site.install("alpha", "1.0", {"alpha.py": ""}, requires=[f"{forced_name}>=3,<3.1"])
    site.install(forced_name, "3.0", {"forced_dist.py": ""}, requires=["alpha<1"])
    index.add("alpha", wheel("alpha", "1.0"))
    (project / "mine.py").write_text("import alpha\n")
    ok = AutoPythonEnv(pypi_index_url=index.url(), additional_pypi_packages={forced_name: "3.0.1"})
    assert dict(ok.resolve({"mine": load("mine")}).pypi_packages) == {"alpha": "1.0", forced_name: "3.0.1"}
    env = AutoPythonEnv(pypi_index_url=index.url(), additional_pypi_packages={forced_name: "3.1"})
    name = forced_name.lower().replace("_", "-")
    with pytest.raises(ExplorationError, match="cannot be installed together") as raised:
        env.resolve({"mine": load("mine")})
    assert (
        f"{name} 3.1 (given in additional_pypi_packages) does not satisfy alpha 1.0's requirement"
        f" {name}>=3,<3.1" in str(raised.value)
    )
    same = AutoPythonEnv(pypi_index_url=index.url(), additional_pypi_packages={forced_name: "3.0"})
    with pytest.raises(
        ExplorationError, match=rf"alpha 1\.0 does not satisfy {name} 3\.0's requirement alpha<1"
    ):
        same.resolve({"mine": load("mine")})


def test_only_local_python_env_ships_local_code_without_asking_an_index(
    site: Site, project: Path, index: IndexServer
) -> None:
    """OnlyLocalPythonEnv queries no index and keeps only local decisions."""
    site.install("alpha", "1.0", {"alpha.py": ""})
    (project / "mine.py").write_text("import alpha\n")
    resolved = OnlyLocalPythonEnv().resolve({"mine": load("mine")})
    assert resolved.pypi_packages == {}
    assert resolved.local_module_paths == (str(project / "mine.py"),)
    assert [d.classification for d in resolved.decisions] == [Classification.LOCAL]
    assert sum(index.state.requests.values()) == 0


def test_auto_python_env_refuses_a_major_only_version_where_it_is_written() -> None:
    """``python_version="3"`` cannot be checked against one CPython's files: refused at
    construction, naming the field of the env (not the explorer behind it)."""
    with pytest.raises(FieldValueError, match=r"AutoPythonEnv\.python_version must name the minor version"):
        AutoPythonEnv(python_version="3")


def test_only_local_python_env_takes_a_major_only_version(
    site: Site, project: Path, index: IndexServer
) -> None:
    """OnlyLocalPythonEnv's ``"3"`` checks the container's Python; exploring its local code
    still works."""
    (project / "mine.py").write_text("X = 1\n")
    resolved = OnlyLocalPythonEnv(python_version="3").resolve({"mine": load("mine")})
    assert resolved.local_module_paths == (str(project / "mine.py"),)
