"""Benchmark: the isolated runtime against the plain tools it stands on.

Run as ``python tests/bench/bench_runtime.py`` (``nox -s bench`` runs it). Two comparisons, each
timed in rounds that interleave the two sides, so a busy machine slows both alike:

* **warm call**: an op called through :class:`~lzy.api.v1.IsolatedRuntime` once its environment
  is built, against a plain ``subprocess`` that runs the same function with the same
  interpreter (``python -c "from benchmod import double; print(double(21))"``). Target: 2x.
* **cold build**: :meth:`IsolatedRuntime.prepare() <lzy.api.v1.IsolatedRuntime.prepare>` of an
  env pinning a set of wheels, in an empty cache, against ``uv venv`` plus ``uv pip install`` of
  the same pins into a fresh virtualenv from the same index, each with an empty uv cache of its
  own. Target: 1.5x.

The index is a simple index on loopback serving wheels this script builds. Each figure is the
median of a round; each ratio compares medians of one round, and the best and worst rounds are
shown.
"""

from __future__ import annotations

import argparse
import importlib
import itertools
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Final, cast

ROOT: Final = Path(__file__).resolve().parents[2]
#: Calls timed per side in each round of the warm comparison.
CALLS: Final = 20
#: Builds timed per side in each round of the cold comparison.
BUILDS: Final = 3
#: Rounds of each comparison.
ROUNDS: Final = 3
#: Wheels the cold build installs.
WHEELS: Final = 25


def _median(call: Callable[[], object], count: int) -> float:
    times: list[float] = []
    for _ in range(count):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _report(title: str, ours: list[float], theirs: list[float], target: float) -> None:
    ratios = [a / b for a, b in zip(ours, theirs, strict=True)]
    print(f"\n{title}")
    print(f"  lzy        median {statistics.median(ours) * 1000:8.1f} ms")
    print(f"  reference  median {statistics.median(theirs) * 1000:8.1f} ms")
    print(
        f"  ratio      {statistics.median(ratios):.2f}x (rounds: {min(ratios):.2f}x to {max(ratios):.2f}x;"
        f" target {target:g}x or less)"
    )


def _warm(work: Path, calls: int, rounds: int) -> None:
    """An op of a shipped module, through the isolated runtime, against a plain subprocess."""
    from lzy.api.v1 import IsolatedRuntime, Lzy, op
    from lzy.api.v1.env import ManualPythonEnv

    project = work / "project"
    project.mkdir()
    (project / "benchmod.py").write_text("def double(x):\n    return 2 * x\n")
    sys.path.insert(0, str(project))
    module = importlib.import_module("benchmod")
    double = op(cast("Callable[[int], int]", getattr(module, "double")))  # noqa: B009
    runtime = IsolatedRuntime(cache_dir=work / "warm-cache")
    env = ManualPythonEnv(
        python_version=_running(), pypi_packages={}, local_module_paths=[str(project / "benchmod.py")]
    )
    workflow = Lzy(runtime=runtime).workflow("bench").with_python_env(env)
    plain = [sys.executable, "-c", "from benchmod import double; print(double(21))"]
    plain_env = {**os.environ, "PYTHONPATH": str(project)}

    def lzy_call() -> None:
        with workflow:
            assert double(21) == 42

    def plain_call() -> None:
        done = subprocess.run(plain, env=plain_env, capture_output=True, text=True, check=True)
        assert done.stdout.strip() == "42"

    lzy_call()  # builds the env: the rounds time warm calls only
    ours: list[float] = []
    theirs: list[float] = []
    for _ in range(rounds):
        ours.append(_median(lzy_call, calls))
        theirs.append(_median(plain_call, calls))
    _report("Warm op call: IsolatedRuntime vs a plain subprocess", ours, theirs, 2.0)


def _cold(work: Path, builds: int, rounds: int) -> None:
    """prepare() of an env of pins in empty caches, against uv venv + uv pip install."""
    import uv

    from lzy.api.v1 import IsolatedRuntime, Lzy, op
    from lzy.api.v1.env import ManualPythonEnv
    from tests.explorer.support import IndexServer, build_wheel

    uv_bin = uv.find_uv_bin()
    print(f"uv {subprocess.check_output([uv_bin, '--version'], text=True).split()[1]}")
    names = [f"bench-dist-{i:02d}" for i in range(WHEELS)]
    with IndexServer() as index:
        for name in names:
            module = name.replace("-", "_")
            files = {f"{module}/__init__.py": "VALUE = 1\n", f"{module}/data.py": f"X = {'x' * 20_000!r}\n"}
            index.publish(name, build_wheel(work, name, "1.0", files))
        pinned = ManualPythonEnv(
            python_version=_running(), pypi_packages=dict.fromkeys(names, "1.0"), pypi_index_url=index.url()
        )
        resolved = Lzy().workflow("w").with_python_env(pinned).effective_env(op(_running)).resolve()
        requirements = work / "requirements.txt"
        requirements.write_text("".join(f"{name}==1.0\n" for name in names))
        numbers = itertools.count()

        def lzy_build() -> None:
            n = next(numbers)
            os.environ["UV_CACHE_DIR"] = str(work / f"uv-cache-{n}")
            IsolatedRuntime(cache_dir=work / f"cold-cache-{n}").prepare(resolved)

        def uv_build() -> None:
            n = next(numbers)
            environ = {**os.environ, "UV_CACHE_DIR": str(work / f"uv-cache-{n}")}
            target = work / f"venv-{n}"
            create = [uv_bin, "venv", "--no-config", "--quiet", "--python", sys.executable, str(target)]
            subprocess.run(create, env=environ, check=True)
            install = [
                uv_bin,
                "pip",
                "install",
                "--no-config",
                "--quiet",
                "--python",
                str(target / "bin/python"),
            ]
            subprocess.run(
                [*install, "--index-url", index.url(), "-r", str(requirements)], env=environ, check=True
            )

        ours: list[float] = []
        theirs: list[float] = []
        for _ in range(rounds):
            ours.append(_median(lzy_build, builds))
            theirs.append(_median(uv_build, builds))
    title = f"Cold build of {WHEELS} pins: IsolatedRuntime.prepare vs uv venv + uv pip install"
    _report(title, ours, theirs, 1.5)


def _running() -> str:
    return f"{sys.version_info.major}.{sys.version_info.minor}"


def main() -> None:
    """Time both comparisons in a scratch directory."""
    parser = argparse.ArgumentParser(description="Time the isolated runtime against plain tools.")
    parser.add_argument("--calls", type=int, default=CALLS, help="calls per side and round (warm)")
    parser.add_argument("--builds", type=int, default=BUILDS, help="builds per side and round (cold)")
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    print(f"Python {sys.version.split()[0]}")
    work = Path(tempfile.mkdtemp(prefix="lzy-bench-runtime-"))
    try:
        _warm(work, args.calls, args.rounds)
        _cold(work, args.builds, args.rounds)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
