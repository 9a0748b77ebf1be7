"""Shared fixtures: every test gets its own cache directory and Docker configuration."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import settings

# No per-example deadline: speed is measured by the benchmark, not asserted by tests, and a
# loaded CI machine must not fail a property because an example ran slowly.
settings.register_profile("lzy", deadline=None)
settings.load_profile("lzy")


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the user's caches and Docker credentials out of every test."""
    root: Path = tmp_path_factory.mktemp("user")
    monkeypatch.setenv("LZY_CACHE_DIR", str(root / "cache"))
    monkeypatch.setenv("UV_CACHE_DIR", str(root / "uv-cache"))
    monkeypatch.setenv("DOCKER_CONFIG", str(root / "docker"))
