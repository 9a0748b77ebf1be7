"""A training script whose environment the command line can override.

``.with_cli_args()`` on ``Lzy()`` is the one line that does it: what the command
line sets wins over what the code sets, for every op, and ``explain()``
names that level ``CLI``::

    python examples/cli/train.py --environ MODE=fast
    python examples/cli/train.py --for evaluate --provisioning.ram-size-gb 0.5
    python examples/cli/train.py --help
"""

from __future__ import annotations

import os

from lzy.api.v1 import Lzy, op
from lzy.api.v1.env import OnlyLocalPythonEnv

lzy = Lzy().with_cli_args().with_environ(MODE="careful")


@(op().with_provisioning(cpu_count=1).with_environ(EPOCHS="3"))
def train() -> str:
    """Train, the way the environment says."""
    return f"training for {os.environ['EPOCHS']} epochs in {os.environ['MODE']} mode"


@op().with_provisioning(cpu_count=1)
def evaluate() -> str:
    """Evaluate in the same workflow."""
    return f"evaluating in {os.environ['MODE']} mode"


nightly = lzy.workflow("nightly").with_python_env(klass=OnlyLocalPythonEnv)


if __name__ == "__main__":
    with nightly as wf:
        print(train())
        print(evaluate())
        print(wf.effective_env(evaluate).explain())
