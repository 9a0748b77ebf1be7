"""Benchmark: what lzy's public API costs to import, and to layer and clone environments.

Run as ``python tests/bench/bench_api.py`` (``nox -s bench`` runs it; ``nox -s bench -- api``
runs it alone). Two comparisons, each in rounds that interleave the sides, so that a busy machine
slows both alike; each ratio compares the two sides of one round, and the median, best and worst
rounds are shown:

* **import**: ``from lzy.api.v1 import Lzy, op`` and ``from lzy.api.v1.env import ...`` against
  ``import envzy`` (0.3.1, the previous generation), each in a fresh interpreter that has already
  imported the standard-library modules both load, so what is timed is what each adds. lzy is
  byte-compiled first, as an installed wheel is. Target: envzy costs at least 10x lzy.
* **layering**: :meth:`EffectiveEnv.from_layers <lzy.api.v1.env.EffectiveEnv.from_layers>` of
  an op's env over its workflow's over its Lzy's (with provenance): the same envs again, as at
  every call of the op, and envs new to it, as for another op of the workflow (more of them than
  layering remembers); then one clone by each ``with_*`` method of an op, given its value or
  describing it by keywords. Against :func:`dataclasses.replace` of a plain frozen dataclass of
  five fields, each case timed between two timings of it in the same process. Targets: layering
  at most 5x, a clone at most 3x.
"""

from __future__ import annotations

import argparse
import compileall
import dataclasses
import itertools
import json
import statistics
import subprocess
import sys
import timeit
from collections.abc import Callable
from pathlib import Path
from typing import Final

ROOT: Final = Path(__file__).resolve().parents[2]
#: What a program imports to describe its ops' environments (a container's classes load the
#: registry client with them).
LZY_IMPORT: Final = (
    "from lzy.api.v1 import Lzy, op\nfrom lzy.api.v1.env import ANY, AutoPythonEnv, Env, Provisioning"
)
#: The previous generation's import.
ENVZY_IMPORT: Final = "import envzy"
#: Fresh interpreters per side and round of the import comparison.
IMPORTS: Final = 5
#: Rounds of each comparison.
ROUNDS: Final = 5
#: Calls per timing of the layering comparison (the best of three timings is kept).
CALLS: Final = 2000


def _report(
    title: str,
    target: str,
    rows: list[tuple[str, list[float]]],
    ratios: dict[str, list[float]],
    unit: tuple[str, float] = ("us", 1e6),
) -> None:
    print(f"\n{title}")
    for label, times in rows:
        print(f"  {label:<34} median {statistics.median(times) * unit[1]:8.2f} {unit[0]}")
    for label, values in ratios.items():
        print(
            f"  ratio {label:<28} median {statistics.median(values):5.1f}x"
            f" (rounds {min(values):.1f}x to {max(values):.1f}x); target {target}"
        )


# -- import ------------------------------------------------------------------------------------


def _modules_after(statement: str) -> set[str]:
    code = f"{statement}\nimport sys, json\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def _import_time(statement: str, preload: str) -> float:
    """Seconds ``statement`` takes in a fresh interpreter that has run ``preload``."""
    timed = f"start = time.perf_counter()\n{statement}\nprint(time.perf_counter() - start)"
    code = f"import time\n{preload}\n{timed}"
    done = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return float(done.stdout.strip().splitlines()[-1])


def compare_imports(rounds: int, imports: int) -> bool:
    """Time importing lzy's API against ``import envzy``, beyond the standard library both load."""
    # An installed wheel's modules are byte-compiled (envzy's are); a source checkout's only when
    # Python may write them, which PYTHONDONTWRITEBYTECODE forbids.
    compileall.compile_dir(str(ROOT / "lzy"), quiet=1)
    stdlib = set(sys.stdlib_module_names)
    shared = sorted(
        name
        for name in _modules_after(LZY_IMPORT) & _modules_after(ENVZY_IMPORT)
        if name.partition(".")[0] in stdlib and not name.startswith(("_", "encodings"))
    )
    preload = "\n".join(f"import {name}" for name in shared)
    ours: list[float] = []
    theirs: list[float] = []
    for _ in range(rounds):
        ours.append(statistics.median(_import_time(LZY_IMPORT, preload) for _ in range(imports)))
        theirs.append(statistics.median(_import_time(ENVZY_IMPORT, preload) for _ in range(imports)))
    ratios = [envzy / lzy for lzy, envzy in zip(ours, theirs, strict=True)]
    _report(
        f"import, beyond the {len(shared)} standard-library modules both load (median of {imports}"
        f" fresh interpreters per side and round, {rounds} rounds):",
        ">= 10x",
        [("lzy's public API", ours), ("import envzy", theirs)],
        {"envzy / lzy": ratios},
        unit=("ms", 1e3),
    )
    return statistics.median(ratios) >= 10


# -- layering ----------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Plain:
    """The reference: a plain frozen dataclass of five fields."""

    cpu_type: str | None = None
    cpu_count: int | None = None
    gpu_type: str | None = None
    gpu_count: int | None = None
    ram_size_gb: float | None = None


def _layering_cases() -> tuple[dict[str, Callable[[], object]], dict[str, Callable[[], object]]]:
    """What is timed: the reference and layering, then a clone by each ``with_*`` method of an op."""
    from lzy.api.v1 import Lzy, op
    from lzy.api.v1.env import AutoPythonEnv, DockerContainer, EffectiveEnv, Level, Provisioning

    def train(x: int) -> int:
        return x

    lzy = Lzy().with_provisioning(cpu_count=4, ram_size_gb=16).with_environ(MODE="fast", LOG="info")
    workflow = lzy.workflow("train").with_python_env(python_version="3.11").with_environ(STAGE="fit")
    step = op(train).with_provisioning(gpu_count=1, gpu_type="A100").with_environ(SEED="1")
    layers = {Level.LZY: lzy.env, Level.WORKFLOW: workflow.env, Level.OP: step.env}
    # Ops new to layering: more than it remembers, each layered once per round of them.
    others = itertools.cycle(
        [{**layers, Level.OP: step.with_provisioning(gpu_count=count).env} for count in range(1, 2001)]
    )
    plain = Plain(cpu_count=4, ram_size_gb=16)
    provisioning = Provisioning(cpu_count=8)
    python_env = AutoPythonEnv(python_version="3.12")
    container = DockerContainer(image="ubuntu:24.04")
    # The layering must be what a call in the workflow uses.
    assert EffectiveEnv.from_layers(layers, function=train) == workflow.effective_env(step)
    layering: dict[str, Callable[[], object]] = {
        "replace": lambda: dataclasses.replace(plain, gpu_count=1),
        "from_layers, the same envs": lambda: EffectiveEnv.from_layers(layers, function=train),
        "from_layers, envs new to it": lambda: EffectiveEnv.from_layers(next(others), function=train),
    }
    clones: dict[str, Callable[[], object]] = {
        "with_provisioning(instance)": lambda: step.with_provisioning(provisioning),
        "with_python_env(instance)": lambda: step.with_python_env(python_env),
        "with_container(instance)": lambda: step.with_container(container),
        "with_provisioning(cpu_count=8)": lambda: step.with_provisioning(cpu_count=8),
        "with_environ(DEBUG='1')": lambda: step.with_environ(DEBUG="1"),
    }
    return layering, clones


def compare_layering(rounds: int, calls: int) -> bool:
    """Time layering and clones against :func:`dataclasses.replace`: in each round, each case is
    timed between two timings of the reference, and compared with their mean."""
    layering, clones = _layering_cases()
    reference = layering.pop("replace")

    def best(case: Callable[[], object]) -> float:
        return min(timeit.repeat(case, number=calls, repeat=3)) / calls

    cases = {**layering, **clones}
    times: dict[str, list[float]] = {name: [] for name in cases}
    references: list[float] = []
    ratios: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(rounds):
        before = best(reference)
        for name, case in cases.items():
            value, after = best(case), best(reference)
            times[name].append(value)
            ratios[name].append(value / ((before + after) / 2))
            references.append(before)
            before = after
    title = (
        f"layering and clones, against dataclasses.replace of a plain 5-field frozen dataclass (best"
        f" of 3 timings of {calls} calls, each case between two of the reference; {rounds} rounds):"
    )
    targets = {name: 5.0 if name in layering else 3.0 for name in cases}
    _report(title, "", [("dataclasses.replace", references), *times.items()], {})
    for name, values in ratios.items():
        print(
            f"  ratio {name:<31} median {statistics.median(values):5.1f}x"
            f" (rounds {min(values):.1f}x to {max(values):.1f}x); target <= {targets[name]:g}x"
        )
    return all(statistics.median(values) <= targets[name] for name, values in ratios.items())


def main() -> None:
    """Run both comparisons; print the numbers, the ratios and whether the targets are met."""
    parser = argparse.ArgumentParser(description="Time importing lzy's API, layering and cloning envs.")
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--imports", type=int, default=IMPORTS, help="interpreters per side and round")
    parser.add_argument("--calls", type=int, default=CALLS, help="calls per layering timing")
    parser.add_argument("--case", choices=["import", "layering", "all"], default="all")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    print(f"Python {sys.version.split()[0]}")
    met: list[bool] = []
    if args.case in {"import", "all"}:
        met.append(compare_imports(args.rounds, args.imports))
    if args.case in {"layering", "all"}:
        met.append(compare_layering(args.rounds, args.calls))
    print("\nall API targets met" if all(met) else "\nsome API targets NOT met")


if __name__ == "__main__":
    main()
