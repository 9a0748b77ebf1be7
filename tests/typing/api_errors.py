"""Calls both checkers must reject, each marked with both checkers' codes (checked, never run).

mypy reports a call that matches no overload as ``call-overload``, or, when one overload is
the obvious candidate, the error inside it; pyright as ``reportCallIssue`` and, for a value of
the wrong type, ``reportArgumentType``. Each of these calls raises at run time too
(``tests/test_api.py``); the typing page lists the few misuses only run time can catch.
"""

from __future__ import annotations

import functools

from lzy.api.v1 import Lzy, Op, op
from lzy.api.v1 import env as lzenv
from lzy.api.v1.env import (
    AutoPythonEnv,
    Container,
    DockerContainer,
    ManualPythonEnv,
    NoContainer,
    OnlyLocalPythonEnv,
    Provisioning,
    PythonEnv,
)

wf = Lzy().workflow("w")

# An unknown keyword (a typo) for each built-in klass.
Lzy().with_provisioning(cpu_cout=2)  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue]
wf.with_python_env(pypi_index="https://x")  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue]
wf.with_python_env(klass=ManualPythonEnv, python_version="3.11", pypi_package={})  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue]
wf.with_python_env(klass=OnlyLocalPythonEnv, pythn_version="3.11")  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue]
wf.with_container(image="ubuntu", pull="ALWAYS")  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue]
wf.with_container(klass=NoContainer, image="ubuntu")  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue]

# A value of the wrong type.
Lzy().with_provisioning(cpu_count="2")  # type: ignore[call-overload]  # pyright: ignore[reportArgumentType]
wf.with_python_env(klass=ManualPythonEnv, python_version=3.11, pypi_packages={})  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue, reportArgumentType]
wf.with_python_env(klass=AutoPythonEnv, raise_on_binaries="no")  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue, reportArgumentType]
wf.with_container(klass="lzy.api.v1.env.DockerContainer", image=["ubuntu"])  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue, reportArgumentType]
wf.with_environ(PORT=8080)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]

# A single string where a list of strings is meant (a str is a Sequence[str] to a checker).
wf.with_python_env(klass=ManualPythonEnv, python_version="3", pypi_packages={}, local_module_paths="src")  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue, reportArgumentType]
wf.with_python_env(extra_index_urls="https://extra.example/simple")  # type: ignore[call-overload]  # pyright: ignore[reportArgumentType]
wf.with_python_env(exclude_packages="torch")  # type: ignore[call-overload]  # pyright: ignore[reportArgumentType]
ManualPythonEnv(python_version="3", pypi_packages={}, extra_index_urls="https://x")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]

# A keyword of another klass of the same point.
wf.with_python_env(klass=ManualPythonEnv, python_version="3.11", pypi_packages={}, explorer=print)  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue]
wf.with_python_env(klass=OnlyLocalPythonEnv, pypi_packages={})  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue]
wf.with_python_env(klass="lzy.api.v1.env.AutoPythonEnv", local_module_paths=["src"])  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue, reportArgumentType]

# A required keyword left out.
wf.with_python_env(klass=ManualPythonEnv, python_version="3.11")  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue]
wf.with_python_env(klass="lzy.env.python.manual.ManualPythonEnv", pypi_packages={})  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue, reportArgumentType]
wf.with_container()  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue]
wf.with_container(klass=DockerContainer)  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue]

# None for a point whose default klass has a required keyword (DockerContainer needs an image).
wf.with_container(None)  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue, reportArgumentType]

# A dotted path that names no built-in klass (a custom class's path is only known at run time).
wf.with_python_env(klass="lzy.api.v1.env.ManualPythonEnvv", python_version="3.11")  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue, reportArgumentType]
wf.with_container(klass="lzy.env.container.DockerContainer", image="ubuntu")  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue, reportArgumentType]

# A klass that is not a subclass of the point's base, or is the abstract base itself.
wf.with_python_env(klass=DockerContainer, image="ubuntu")  # type: ignore[call-overload]  # pyright: ignore[reportArgumentType]
wf.with_container(klass=Provisioning, cpu_count=1)  # type: ignore[call-overload]  # pyright: ignore[reportArgumentType]
wf.with_provisioning(klass=NoContainer)  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue, reportArgumentType]
wf.with_python_env(klass=PythonEnv)  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue]
wf.with_container(klass=Container)  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue]

# A class first without its required keywords, or given twice (first and as klass=).
wf.with_python_env(ManualPythonEnv)  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue]
wf.with_container(DockerContainer)  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue]
wf.with_python_env(ManualPythonEnv, klass=ManualPythonEnv, python_version="3", pypi_packages={})  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue]
wf.with_container(NoContainer, klass=DockerContainer, image="a")  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue]
wf.with_provisioning(Provisioning, klass="lzy.api.v1.env.Provisioning")  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue]

# An instance together with keywords or with klass=, for each point.
wf.with_provisioning(Provisioning(), cpu_count=1)  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue, reportArgumentType]
wf.with_provisioning(Provisioning(), klass=Provisioning)  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue]
wf.with_python_env(ManualPythonEnv(python_version="3", pypi_packages={}), klass=ManualPythonEnv)  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue]
wf.with_python_env(AutoPythonEnv(), klass="lzy.api.v1.env.AutoPythonEnv")  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue]
wf.with_container(NoContainer(), klass=NoContainer)  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue]
wf.with_container(DockerContainer(image="a"), klass=DockerContainer, image="b")  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue]

# A dotted path first (a path is a keyword's value only).
wf.with_python_env("lzy.api.v1.env.AutoPythonEnv")  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue, reportArgumentType]

# Env takes instances, not keywords of a point, and decorators go above an op.
lzenv.Env(python_env=ManualPythonEnv)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
lzenv.Env(cpu_count=2)  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]
op(env=lzenv.Provisioning(cpu_count=2))  # type: ignore[call-overload]  # pyright: ignore[reportArgumentType]
lzenv.Provisioning(cpu_count=2)(print)  # type: ignore[type-var]  # pyright: ignore[reportArgumentType]


@op
def train() -> int:
    return 1


# An op passed to op() again: directly, through a builder, or to the class.
op(train)  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue, reportArgumentType]
op()(train)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
op(env=lzenv.Env())(train)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
op().with_provisioning(cpu_count=1)(train)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
Op(train)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]


@op(description="outer")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
@op
def twice() -> int:
    return 2


class Scorer:
    def __call__(self, n: int) -> int:
        return n


# A callable that is not a function: its code is hidden from lzy (and from the explorer).
op(functools.partial(divmod, 7))  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue, reportArgumentType]
op(Scorer())  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue, reportArgumentType]
op(functools.cache(train.function))  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue, reportArgumentType]
# A class: mypy reports it; pyright matches a class to a function's protocol (the typing page
# lists it among what only the run time catches there).
op(Scorer)  # type: ignore[call-overload]


# An op method read from an instance takes the other parameters, with their types.
class Model:
    @op
    def fit(self, rate: float) -> int:
        return round(rate)


Model().fit()  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]
Model().fit(0.5, 1)  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]
Model().fit("fast")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
Model().fit.with_provisioning(cpu_count=1)("fast")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
