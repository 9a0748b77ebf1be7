"""Quickstart: settings at three levels, merged by one rule, every value explained.

Run it with ``python examples/quickstart.py``. Each op runs in a child process on this machine
(the default ``LocalRuntime``) with the environment merged from the op, the workflow and ``Lzy``.
"""

from __future__ import annotations

import os

from lzy.api.v1 import Lzy, op
from lzy.api.v1.env import ANY


@op
def word_count(text: str) -> int:
    """Count the words of ``text``."""
    return len(text.split())


@(
    op()
    .with_provisioning(cpu_count=ANY)
    .with_environ(GREETING="hello from the op")
)
def greet(name: str) -> str:
    """Greet ``name`` with the variables this op's process sees."""
    return f"{os.environ['GREETING']}, {name} (MODE={os.environ['MODE']}, pid {os.getpid()})"


# The program-wide level: every workflow of this Lzy inherits these.
lzy = (
    Lzy()
    .with_provisioning(cpu_count=1, ram_size_gb=0.25)
    .with_environ(MODE="program")
)


def main() -> None:
    """Run both ops in one workflow and show where each setting came from."""
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
