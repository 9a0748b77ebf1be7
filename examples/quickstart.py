"""Quickstart: settings at three levels, merged by one rule, every value explained.

Run it with ``python examples/quickstart.py``. Each op runs with the environment merged
from the op, the workflow and ``Lzy``, on the runtime ``--runtime`` names:

- ``local`` (the default): a child process of this interpreter;
- ``isolated``: a cached virtualenv built from the op's resolved env;
- ``ray``: a Ray task on a local cluster (``pip install 'lzy[ray]'``).
"""

from __future__ import annotations

import argparse
import os

from lzy.api.v1 import IsolatedRuntime, LocalRuntime, Lzy, RayRuntime, Runtime, op
from lzy.api.v1.env import ANY

# The process that runs this script: the ops run in other processes, its children.
PARENT = os.getpid()
#: The runtimes ``--runtime`` chooses from.
RUNTIMES = {"local": LocalRuntime, "isolated": IsolatedRuntime, "ray": RayRuntime}


@op
def word_count(text: str) -> int:
    """Count the words of ``text``."""
    return len(text.split())


@(op().with_provisioning(cpu_count=ANY).with_environ(GREETING="hello from the op"))
def greet(name: str) -> str:
    """Greet ``name`` with the variables this op's process sees."""
    where = "another process" if os.getpid() != PARENT else "this process"
    return f"{os.environ['GREETING']}, {name} (MODE={os.environ['MODE']}, in {where})"


def main() -> None:
    """Run both ops in one workflow and show where each setting came from."""
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0] if __doc__ else None
    )
    parser.add_argument(
        "--runtime", choices=sorted(RUNTIMES), default="local", help="where ops run"
    )
    runtime: Runtime = RUNTIMES[parser.parse_args().runtime]()
    # The program-wide level: every workflow of this Lzy inherits these.
    lzy = (
        Lzy(runtime=runtime)
        .with_provisioning(cpu_count=1, ram_size_gb=0.25)
        .with_environ(MODE="program")
    )
    with (
        lzy.workflow("quickstart")
        .with_environ(MODE="workflow")
        .with_provisioning(ram_size_gb=0.5)
    ) as wf:
        count = word_count("settings at three levels")
        print(f"word_count(...) = {count!r}")
        print(wf.effective_env(word_count).explain(), end="\n\n")

        greeting = greet("world")
        print(f"greet('world') = {greeting!r}")
        print(wf.effective_env(greet).explain())


if __name__ == "__main__":
    main()
