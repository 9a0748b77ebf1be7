"""The README's first command: the quickstart runs and explains itself."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

QUICKSTART = Path(__file__).parents[1] / "examples" / "quickstart.py"


@pytest.mark.parametrize("runtime", ["local", "isolated"])
def test_quickstart_runs_and_prints_results_with_their_sources(runtime: str, tmp_path: Path) -> None:
    """On the local and the isolated runtime, each op's result is printed, followed by a table
    naming each value's level (the Ray session runs it on Ray)."""
    environ = {**os.environ, "LZY_CACHE_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, str(QUICKSTART), "--runtime", runtime],
        capture_output=True,
        text=True,
        env=environ,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert_results_explained(done.stdout)


def assert_results_explained(stdout: str) -> None:
    """The quickstart printed each op's result and the level of each value (any runtime)."""
    lines = [line.split() for line in stdout.splitlines()]
    assert ["word_count(...)", "=", "4"] in lines
    assert any(line[:2] == ["greet('world')", "="] and "'hello" in line[2] for line in lines)
    assert ["provisioning.cpu_count", "1", "LZY"] in lines
    assert ["provisioning.cpu_count", "ANY", "OP"] in lines
    assert ["provisioning.ram_size_gb", "0.5", "WORKFLOW"] in lines
    assert ["environ.MODE", "'workflow'", "WORKFLOW"] in lines
    assert ["environ.GREETING", "'hello", "from", "the", "op'", "OP"] in lines


def test_readme_example_explains_then_is_refused_by_the_local_runtime() -> None:
    """The README's Python example runs as written and fails the way its comment says."""
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    code = readme.split("```python\n", 1)[1].split("```", 1)[0]
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=120
    )
    lines = [line.split() for line in done.stdout.splitlines()]
    assert ["provisioning.gpu_type", "'A100'", "OP"] in lines
    assert ["provisioning.cpu_count", "4", "LZY"] in lines
    assert ["container.image", "'ubuntu:24.04'", "WORKFLOW"] in lines
    assert done.returncode != 0
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith(
        "lzy.exceptions.RuntimeRefusedError: LocalRuntime cannot provide a docker container"
    )
