"""Mistakes both checkers report. Each ``# expect:`` line names the error codes that
each checker gives for the line below it; the project's own code (``forecast/``) stays
clean.
"""

from __future__ import annotations

from lzy.api.v1 import Lzy, op
from lzy.api.v1.env import (
    DockerContainer,
    ManualPythonEnv,
    OnlyLocalPythonEnv,
    PythonEnv,
)

wf = Lzy().workflow("w")

# A typo in a keyword.
# expect: mypy[call-overload] pyright[reportCallIssue]
wf.with_python_env(klass=ManualPythonEnv, python_version="3.11", pypi_package={})

# A value of the wrong type.
# expect: mypy[call-overload] pyright[reportCallIssue,reportArgumentType]
Lzy().with_provisioning(cpu_count="2")

# A keyword of another klass.
# expect: mypy[call-overload] pyright[reportCallIssue]
wf.with_python_env(klass=OnlyLocalPythonEnv, pypi_packages={})

# A required keyword left out.
# expect: mypy[call-overload] pyright[reportCallIssue]
wf.with_python_env(klass=ManualPythonEnv, python_version="3.11")

# A dotted path that names no klass.
# expect: mypy[call-overload] pyright[reportCallIssue,reportArgumentType]
wf.with_python_env(klass="lzy.api.v1.env.ManualPythonEnvv", python_version="3.11")

# A klass of another point.
# expect: mypy[call-overload] pyright[reportArgumentType]
wf.with_python_env(klass=DockerContainer, image="ubuntu")

# A single string where a list of strings is meant.
# expect: mypy[call-overload] pyright[reportCallIssue,reportArgumentType]
wf.with_python_env(exclude_packages="torch")

# No image for the default container.
# expect: mypy[call-overload] pyright[reportCallIssue,reportArgumentType]
wf.with_container(None)

# The abstract base as klass.
# expect: mypy[call-overload] pyright[reportCallIssue]
wf.with_python_env(klass=PythonEnv)


@op
def train() -> int:
    """Train."""
    return 1


# An op made an op again.
# expect: mypy[call-overload] pyright[reportArgumentType,reportCallIssue]
op(train)
