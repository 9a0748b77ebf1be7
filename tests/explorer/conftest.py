"""Fixtures of the explorer tests: a site directory, a project directory and an index."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar, Protocol, TypedDict, Unpack

import pytest

from lzy.env.explorer.auto import AutoEnvExplorer

from .support import IndexServer, Site


class QuickExplorer(AutoEnvExplorer):
    """An explorer that gives up quickly, so failure tests stay fast."""

    index_timeout: ClassVar[float] = 2.0
    index_retries: ClassVar[int] = 1
    index_backoff: ClassVar[float] = 0.01


class Settings(TypedDict, total=False):
    """Keyword arguments of :class:`AutoEnvExplorer`."""

    pypi_index_url: str | None
    extra_index_urls: tuple[str, ...]
    exclude_packages: frozenset[str]
    python_version: str | None
    target_platform: str
    raise_on_binaries: bool
    treat_editables_as_locals: bool


class MakeExplorer(Protocol):
    """Builds an explorer with the given settings (closed after the test)."""

    def __call__(
        self, klass: type[AutoEnvExplorer] = ..., **settings: Unpack[Settings]
    ) -> AutoEnvExplorer: ...


@pytest.fixture(autouse=True)
def _forget_imports(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Modules the test imported from its temporary directories are forgotten afterwards.

    Only those: a library imported lazily during the test (say, by the HTTP client) must stay,
    or classes it handed out would no longer match a fresh import.
    """
    before = set(sys.modules)
    base = str(tmp_path_factory.getbasetemp())
    yield
    for name in set(sys.modules) - before:
        loaded = sys.modules[name]
        locations = [getattr(loaded, "__file__", None) or "", *getattr(loaded, "__path__", ())]
        if all(str(location).startswith(base) for location in locations):
            del sys.modules[name]


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Site:
    """A fresh site directory on ``sys.path``."""
    root = tmp_path / "site"
    root.mkdir()
    prepend_path(monkeypatch, root)
    return Site(root)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A directory of local code on ``sys.path``, owned by no distribution."""
    root = tmp_path / "project"
    root.mkdir()
    prepend_path(monkeypatch, root)
    return root


@pytest.fixture
def index() -> Iterator[IndexServer]:
    """An empty simple index on loopback that negotiates JSON or HTML."""
    with IndexServer() as server:
        yield server


@pytest.fixture
def make_explorer(index: IndexServer) -> Iterator[MakeExplorer]:
    """Builds :class:`QuickExplorer` instances on :func:`index`, for CPython 3.11, unless told
    otherwise."""
    made: list[AutoEnvExplorer] = []

    def make(klass: type[AutoEnvExplorer] = QuickExplorer, **settings: Unpack[Settings]) -> AutoEnvExplorer:
        settings.setdefault("pypi_index_url", index.url())
        # The wheels the tests publish are for CPython 3.11, whatever Python runs the tests.
        settings.setdefault("python_version", "3.11")
        explorer = klass(**settings)
        made.append(explorer)
        return explorer

    yield make
    for explorer in made:
        explorer.close()


def prepend_path(monkeypatch: pytest.MonkeyPatch, path: Path) -> None:
    """Put ``path`` first on ``sys.path`` for the test."""
    monkeypatch.setattr(sys, "path", [str(path), *sys.path])
    importlib.invalidate_caches()


def load(name: str) -> object:
    """Import ``name`` after files were written to a directory on ``sys.path``."""
    importlib.invalidate_caches()
    return importlib.import_module(name)
