"""Python envs: validation of each implementation, explorer factories, and their artifacts."""

from __future__ import annotations

import re
import sys
from collections.abc import Collection, Mapping
from pathlib import Path

import pytest

from lzy.api.v1.env import (
    AutoPythonEnv,
    Classification,
    EnvExplorer,
    Exploration,
    ManualPythonEnv,
    OnlyLocalPythonEnv,
    PackageDecision,
)
from lzy.env._base import FrozenMap
from lzy.exceptions import ConfigurationError, FieldTypeError, FieldValueError, ResolutionError


class Recorder(EnvExplorer):
    """An explorer that records the settings it was built with and finds one package."""

    built: list[dict[str, object]] = []  # noqa: RUF012 - shared on purpose, reset per test

    def __init__(self, *, pypi_index_url: str | None, exclude_packages: Collection[str] = ()) -> None:
        self.settings: dict[str, object] = {
            "pypi_index_url": pypi_index_url,
            "exclude_packages": exclude_packages,
        }
        Recorder.built.append(self.settings)

    def explore(self, namespace: Mapping[str, object]) -> Exploration:
        return Exploration(
            pypi_packages=FrozenMap({"attrs": "24.2.0"}),
            local_module_paths=("/proj/mine",),
            decisions=(
                PackageDecision(
                    name="attrs", version="24.2.0", classification=Classification.PYPI, reason="used"
                ),
                PackageDecision(name="mine", classification=Classification.LOCAL, reason="project code"),
            ),
        )


def test_manual_requires_version_and_packages() -> None:
    """``python_version`` and ``pypi_packages`` are required; the rest has defaults."""
    env = ManualPythonEnv(python_version="3.11", pypi_packages={})
    assert (env.pypi_index_url, tuple(env.local_module_paths)) == (None, ())


@pytest.mark.parametrize(
    ("fields", "error", "fragment"),
    [
        (
            {"python_version": "three"},
            FieldValueError,
            "ManualPythonEnv.python_version must be a version string like '3.11'",
        ),
        ({"python_version": 3.11}, FieldTypeError, "got 3.11 (float)"),
        (
            {"pypi_packages": {"numpy": "latest"}},
            FieldValueError,
            "'latest' is not an exact version (PEP 440)",
        ),
        (
            {"pypi_packages": {"bad name!": "1.0"}},
            FieldValueError,
            "'bad name!' is not a valid distribution name",
        ),
        (
            {"pypi_packages": {"numpy": 2}},
            FieldTypeError,
            "ManualPythonEnv.pypi_packages['numpy'] must be a str, got 2 (int)",
        ),
        (
            {"pypi_packages": ["numpy==2.1.0"]},
            FieldTypeError,
            "pypi_packages must be a mapping of str to str",
        ),
        (
            {"pypi_index_url": "mirror.example/simple"},
            FieldValueError,
            "pypi_index_url must be an absolute http(s)://",
        ),
        (
            {"local_module_paths": "src/pkg"},
            FieldTypeError,
            "local_module_paths must be a list or tuple of strings",
        ),
    ],
)
def test_manual_bad_values(fields: dict[str, object], error: type[Exception], fragment: str) -> None:
    """Bad values name the class, the field, the value and what is allowed."""
    arguments: dict[str, object] = {"python_version": "3.11", "pypi_packages": {}, **fields}
    with pytest.raises(error) as caught:
        ManualPythonEnv(**arguments)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    assert fragment in str(caught.value)


def test_manual_resolves_to_exactly_what_is_listed(tmp_path: Path) -> None:
    """The artifact is the listed environment, local paths made absolute."""
    module = tmp_path / "helpers.py"
    module.write_text("X = 1\n")
    env = ManualPythonEnv(
        python_version="3.11.7",
        pypi_packages={"numpy": "2.1.0"},
        pypi_index_url="https://mirror.example/simple/",
        extra_index_urls=["https://extra.example/simple"],
        local_module_paths=[str(module)],
    )
    resolved = env.resolve({"anything": object()})
    assert resolved.install
    assert resolved.python_version == "3.11.7"
    assert resolved.pypi_packages == {"numpy": "2.1.0"}
    assert resolved.pypi_index_url == "https://mirror.example/simple"
    assert resolved.extra_index_urls == ("https://extra.example/simple",)
    assert resolved.local_module_paths == (str(module),)
    assert "numpy" in resolved.explain()


def test_manual_missing_local_path_is_an_error_at_resolution(tmp_path: Path) -> None:
    """A listed local path that does not exist is named when the env is resolved."""
    env = ManualPythonEnv(
        python_version="3.11", pypi_packages={}, local_module_paths=[str(tmp_path / "gone")]
    )
    with pytest.raises(ResolutionError, match=r"local_module_paths: .*gone' does not exist"):
        env.resolve({})


def test_auto_defaults_to_the_running_interpreter() -> None:
    """``python_version`` defaults to this interpreter's major.minor."""
    assert AutoPythonEnv().python_version == f"{sys.version_info.major}.{sys.version_info.minor}"


def test_auto_hides_index_credentials_in_repr() -> None:
    """Credentials inside index URLs never appear in ``repr``."""
    env = AutoPythonEnv(
        pypi_index_url="https://user:s3cret@private.example/simple",
        extra_index_urls=["https://tok3n@other.example/simple"],
    )
    text = repr(env)
    assert "s3cret" not in text
    assert "tok3n" not in text
    assert "https://***@private.example/simple" in text


def test_auto_builds_its_explorer_from_the_parameters_the_factory_names() -> None:
    """Only the settings a factory's parameters name are passed; additional packages are excluded."""
    Recorder.built.clear()
    env = AutoPythonEnv(
        explorer=Recorder,
        pypi_index_url="https://mirror.example/simple",
        additional_pypi_packages={"torch": "2.13.0"},
        exclude_packages=["pandas"],
    )
    resolved = env.resolve({})
    assert Recorder.built == [
        {
            "pypi_index_url": "https://mirror.example/simple",
            "exclude_packages": frozenset({"pandas", "torch"}),
        }
    ]
    assert resolved.pypi_packages == {"attrs": "24.2.0", "torch": "2.13.0"}
    assert resolved.local_module_paths == ("/proj/mine",)
    kinds = {d.name: d.classification for d in resolved.decisions}
    assert kinds == {
        "attrs": Classification.PYPI,
        "mine": Classification.LOCAL,
        "torch": Classification.ADDITIONAL,
    }
    env.resolve({})
    assert len(Recorder.built) == 1, "the explorer is built once per settings"


def test_explorer_factory_with_unknown_required_parameter() -> None:
    """A factory that needs a setting nobody can give is refused, naming what is available."""

    def factory(pypi_index_url: str, api_key: str) -> EnvExplorer:
        raise AssertionError("not called")

    with pytest.raises(ConfigurationError, match="requires parameter 'api_key', which is not a setting"):
        AutoPythonEnv(explorer=factory).resolve({})


def test_explorer_factory_must_return_an_explorer() -> None:
    """A factory returning something else is refused."""
    with pytest.raises(ConfigurationError, match="which is not an EnvExplorer"):
        AutoPythonEnv(explorer=object).resolve({})  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]


def test_explorer_must_be_callable() -> None:
    """A non-callable explorer is refused at construction."""
    with pytest.raises(FieldTypeError, match=re.escape("AutoPythonEnv.explorer must be a callable")):
        AutoPythonEnv(explorer="auto")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]


def test_only_local_installs_nothing_and_queries_no_index() -> None:
    """Only local modules are kept; the explorer gets no index URL."""
    Recorder.built.clear()
    resolved = OnlyLocalPythonEnv(explorer=Recorder).resolve({})
    assert Recorder.built[0]["pypi_index_url"] is None
    assert not resolved.install
    assert resolved.pypi_packages == {}
    assert resolved.local_module_paths == ("/proj/mine",)
    assert [d.name for d in resolved.decisions] == ["mine"]
