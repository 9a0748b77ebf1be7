"""Benchmark: a Ray task whose runtime_env is already built, against a bare Ray task.

Run as ``python tests/bench/bench_ray.py``; ``nox -s bench`` runs it after the explorer's, in a
session of its own (``bench_ray``). It starts a local Ray cluster on loopback, serves one
package from a simple index on loopback, and times, in rounds that interleave them so a busy
machine slows all alike:

* a bare Ray task (no runtime_env);
* the same task with a ``uv`` runtime_env that installs the package, once Ray has built it;
* an op called through :class:`~lzy.api.v1.RayRuntime` with the same package pinned, once built:
  the task plus lzy's work per call (reading the cluster's nodes, the checks, the outcome), in a
  fresh worker process per call (the default) and with ``reuse_workers=True``.

A first untimed round lets Ray start the workers each kind needs. Each figure is the median of
the calls in a round; the ratios compare medians of one round.
"""

from __future__ import annotations

import argparse
import importlib
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

ROOT: Final = Path(__file__).resolve().parents[2]
#: Calls timed per kind in each round.
CALLS: Final = 30
#: Rounds.
ROUNDS: Final = 3
_PACKAGE: Final = "lzy-bench-probe"
_VERSION: Final = "1.0.0"


def _median_seconds(call: Callable[[], object], count: int) -> float:
    times: list[float] = []
    for _ in range(count):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    """Start the cluster, build the environment once, then time the three kinds of call."""
    parser = argparse.ArgumentParser(description="Time Ray tasks with and without a built runtime_env.")
    parser.add_argument("--calls", type=int, default=CALLS, help="calls per kind and round")
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    args = parser.parse_args()
    # Before Ray is imported: loopback only, nothing reported, no machine configuration for uv.
    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    os.environ["UV_NO_CONFIG"] = "1"
    sys.path.insert(0, str(ROOT))
    ray: Any = importlib.import_module("ray")  # Typed Any: Ray is absent where this is type-checked.
    from lzy.api.v1 import Lzy, RayRuntime, op
    from lzy.api.v1.env import ManualPythonEnv
    from tests.explorer.support import IndexServer, build_wheel

    module = _PACKAGE.replace("-", "_")

    def task() -> str:
        return str(os.getpid())

    @op
    def lzy_task() -> str:
        return str(os.getpid())

    remote = ray.remote(task)
    with tempfile.TemporaryDirectory(prefix="lzy-bench-") as temporary, IndexServer() as index:
        wheel = build_wheel(Path(temporary), _PACKAGE, _VERSION, {f"{module}/__init__.py": "VALUE = 1\n"})
        index.publish(_PACKAGE, wheel)
        runtime = RayRuntime(init_options={"num_cpus": 2})
        reusing = RayRuntime(init_options={"num_cpus": 2}, reuse_workers=True)
        env = ManualPythonEnv(
            python_version="3", pypi_index_url=index.url(), pypi_packages={_PACKAGE: _VERSION}
        )
        fresh = Lzy(runtime=runtime).with_python_env(env)
        reused = Lzy(runtime=reusing).with_python_env(env)
        start = time.perf_counter()
        resolved = fresh.workflow("bench").effective_env(lzy_task).resolve()
        runtime.check(resolved)
        started = time.perf_counter() - start
        with_env = remote.options(runtime_env=runtime.task_options(resolved)["runtime_env"])
        start = time.perf_counter()
        ray.get(with_env.remote())
        cold = time.perf_counter() - start

        def bare() -> float:
            return _median_seconds(lambda: ray.get(remote.remote()), args.calls)

        def cached() -> float:
            return _median_seconds(lambda: ray.get(with_env.remote()), args.calls)

        def through(lzy: Lzy) -> Callable[[], float]:
            def timed() -> float:
                with lzy.workflow("bench"):
                    return _median_seconds(lzy_task, args.calls)

            return timed

        kinds = (bare, cached, through(fresh), through(reused))
        print(
            f"local cluster started in {started:.1f} s; the runtime_env (uv, one package from"
            f" a loopback index) built in {cold:.1f} s; medians of {args.calls} calls per round"
        )
        # Untimed: Ray starts the workers each kind of task needs, and keeps those it may.
        for kind in kinds:
            kind()
        columns = ("bare task", "cached env", "lzy op", "lzy reuse")
        ratios = ("env/bare", "lzy/bare", "reuse/bare")
        print(f"{'round':>5}", *(f"{c:>11}" for c in columns), *(f"{r:>10}" for r in ratios))
        for round_ in range(1, args.rounds + 1):
            times = [kind() for kind in kinds]
            print(
                f"{round_:>5}",
                *(f"{t * 1000:9.2f}ms" for t in times),
                *(f"{t / times[0]:9.2f}x" for t in times[1:]),
            )
        reusing.close()
        runtime.close()


if __name__ == "__main__":
    main()
