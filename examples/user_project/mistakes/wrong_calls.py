"""Mistakes both checkers report. Each ``# expect:`` line names the error codes that each
checker gives for the line below it; the project's own code (``forecast/``) stays clean."""

from __future__ import annotations

from lzy.api.v1 import Lzy
from lzy.api.v1.env import DockerContainer, ManualPythonEnv, OnlyLocalPythonEnv

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
# expect: mypy[arg-type] pyright[reportCallIssue]
wf.with_python_env(klass=ManualPythonEnv, python_version="3.11")

# A dotted path that names no klass.
# expect: mypy[call-overload] pyright[reportCallIssue,reportArgumentType]
wf.with_python_env(klass="lzy.api.v1.env.ManualPythonEnvv", python_version="3.11")

# A klass of another point.
# expect: mypy[call-overload] pyright[reportArgumentType]
wf.with_python_env(klass=DockerContainer, image="ubuntu")
