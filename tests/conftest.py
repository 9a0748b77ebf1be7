"""Shared fixtures: every test gets its own cache directory and Docker configuration."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

# No per-example deadline: speed is measured by the benchmark, not asserted by tests, and a
# loaded CI machine must not fail a property because an example ran slowly.
settings.register_profile("lzy", deadline=None)
settings.load_profile("lzy")


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the user's caches, Docker credentials, pip configuration and registry settings out of
    every test."""
    root: Path = tmp_path_factory.mktemp("user")
    monkeypatch.setenv("LZY_CACHE_DIR", str(root / "cache"))
    monkeypatch.setenv("UV_CACHE_DIR", str(root / "uv-cache"))
    monkeypatch.setenv("DOCKER_CONFIG", str(root / "docker"))
    # The machine's pip configuration (extra indexes, say) must not choose the default index.
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    for name in ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_NO_INDEX"):
        monkeypatch.delenv(name, raising=False)
    # Nor the user's registry settings (RegistrySettings.from_environ).
    for name in ("LZY_REGISTRY_DEADLINE", "LZY_INSECURE_REGISTRIES"):
        monkeypatch.delenv(name, raising=False)
