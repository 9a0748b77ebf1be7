"""Fixtures of the runtime tests: a loopback index serving wheels the tests build."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from lzy.api.v1 import IsolatedRuntime
from tests.explorer.support import IndexServer, build_wheel

#: Builds a pure-Python wheel and publishes it on the test index: (name, version, files, requires).
Publish = Callable[..., Path]


@pytest.fixture
def index() -> Iterator[IndexServer]:
    """A simple index on 127.0.0.1 serving the wheels the test publishes."""
    with IndexServer() as server:
        yield server


@pytest.fixture
def publish(index: IndexServer, tmp_path: Path) -> Publish:
    """Build a wheel of ``files`` and publish it on :func:`index`."""
    wheels = tmp_path / "wheels"
    wheels.mkdir()

    def make(name: str, version: str, files: dict[str, str], *, requires: tuple[str, ...] = ()) -> Path:
        path = build_wheel(wheels, name, version, files, requires=requires)
        index.publish(name, path)
        return path

    return make


@pytest.fixture
def runtime(tmp_path: Path) -> IsolatedRuntime:
    """An isolated runtime with a cache of the test's own."""
    return IsolatedRuntime(cache_dir=tmp_path / "lzy-cache")
