"""The README's first command with ``--runtime ray``: the quickstart runs on a local cluster."""

from __future__ import annotations

import subprocess
import sys

from tests.test_quickstart import QUICKSTART, assert_results_explained


def test_the_quickstart_runs_on_a_local_ray_cluster() -> None:
    """Changing the runtime is the only change: the ops run as Ray tasks on a cluster the
    quickstart starts, and print what they print on the other runtimes."""
    done = subprocess.run(
        [sys.executable, str(QUICKSTART), "--runtime", "ray"],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert_results_explained(done.stdout)
