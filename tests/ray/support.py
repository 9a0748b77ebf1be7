"""Helpers of the Ray tests: the session's cluster, resolved envs built by hand, child processes.

Ray is imported through :func:`ray_module`, so these tests type-check where Ray is not installed.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
import subprocess
import sys
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lzy.api.v1 import RayRuntime
from lzy.api.v1.env import (
    EnvExplorer,
    Exploration,
    ResolvedContainer,
    ResolvedEnv,
    ResolvedPythonEnv,
    Resources,
)

ROOT = Path(__file__).resolve().parents[2]


@dataclasses.dataclass(frozen=True)
class Cluster:
    """The session's cluster: the runtime that started it and where it is."""

    #: The runtime that started the cluster (shared by the tests).
    runtime: RayRuntime
    #: The address of its head.
    gcs_address: str
    #: The CPU type its head node declares.
    cpu_type: str


class NothingExplorer(EnvExplorer):
    """An explorer that finds nothing: these tests say what is installed and shipped."""

    def explore(self, namespace: Mapping[str, object]) -> Exploration:
        del namespace
        return Exploration()


def ray_module() -> Any:
    """The ``ray`` module (typed ``Any``: Ray is not installed where the tests are type-checked)."""
    return importlib.import_module("ray")


def resolved(
    *,
    resources: Resources | None = None,
    python: ResolvedPythonEnv | None = None,
    container: ResolvedContainer | None = None,
    environ: Mapping[str, str] | None = None,
) -> ResolvedEnv:
    """A resolved env: no requirements, nothing installed, no container, unless given."""
    return ResolvedEnv(
        provisioning=resources or Resources(),
        python_env=python or ResolvedPythonEnv(install=False, python_version=None),
        container=container or ResolvedContainer(),
        environ=environ or {},
    )


def run_python(
    code: str, *, timeout: float = 180, environ: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter of this environment, from the repository's root, with
    ``environ`` added to this process's variables."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env={**os.environ, **(environ or {})},
        check=False,
    )
