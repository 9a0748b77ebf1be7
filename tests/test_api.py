"""The user interface: every form of the design, owners' ``with_*`` methods and their errors."""

from __future__ import annotations

import dataclasses
import functools
import re
from typing import Any

import pytest

from lzy.api.v1 import Lzy, Op, OpBuilder, Workflow, op
from lzy.api.v1 import env as lzenv
from lzy.api.v1.env import (
    ANY,
    AutoPythonEnv,
    DockerContainer,
    Env,
    Level,
    ManualPythonEnv,
    NoContainer,
    OnlyLocalPythonEnv,
    Provisioning,
    PythonEnv,
)
from lzy.exceptions import (
    ConfigurationError,
    EnvironError,
    FieldTypeError,
    KlassError,
    LzyError,
    NotAnOpError,
    RuntimeRefusedError,
    UnknownFieldError,
)


def double(x: int) -> int:
    """Double a number."""
    return 2 * x


def test_design_forms_construct_as_written() -> None:
    """The forms of the design's "User interface" section build the envs they describe."""
    lzy = Lzy().with_provisioning(cpu_count=5)
    train = op(double)
    wf = (
        lzy.workflow("train")
        .with_python_env(klass=ManualPythonEnv, python_version="3.11", pypi_packages={"numpy": "2.1.0"})
        .with_container(image="ubuntu:24.04")
    )
    step = train.with_provisioning(gpu_count=1, gpu_type="A100")
    effective = wf.effective_env(step)
    assert effective.provisioning == Provisioning(cpu_count=5, gpu_count=1, gpu_type="A100")
    assert effective.python_env == ManualPythonEnv(python_version="3.11", pypi_packages={"numpy": "2.1.0"})
    assert effective.container == DockerContainer(image="ubuntu:24.04")
    assert (effective.source("provisioning.cpu_count"), effective.source("provisioning.gpu_type")) == (
        Level.LZY,
        Level.OP,
    )

    @op().with_python_env(pypi_index_url="https://mirror.example/simple").with_environ(MODE="fast")
    def foo() -> int:
        return 1

    assert isinstance(foo, Op)
    assert foo.env.python_env == AutoPythonEnv(pypi_index_url="https://mirror.example/simple")
    assert foo.env.environ == {"MODE": "fast"}
    assert foo() == 1  # outside a workflow: a plain call

    env = Env(python_env=AutoPythonEnv(pypi_index_url="https://mirror.example/simple"))

    @op(env=env)
    def bar() -> int:
        return 2

    assert bar.env is env
    wf.env = env
    assert wf.effective_env(bar).source("python_env") is Level.OP
    assert wf.effective_env(op(double)).source("python_env") is Level.WORKFLOW

    @lzenv.Provisioning(cpu_count=2)
    @op
    def baz() -> int:
        return 3

    assert isinstance(baz, Op)
    assert baz.env.provisioning == Provisioning(cpu_count=2)


def test_with_methods_return_new_objects() -> None:
    """``with_*`` never changes the original owner."""
    base = op(double)
    changed = base.with_provisioning(cpu_count=1).with_environ(A="1")
    assert base.env == Env()
    assert changed is not base
    assert changed.env == Env(provisioning=Provisioning(cpu_count=1), environ={"A": "1"})
    lzy = Lzy()
    assert lzy.with_container(image="a:1").env.container == DockerContainer(image="a:1")
    assert lzy.env == Env()
    wf = lzy.workflow("w")
    assert wf.with_environ(B="2").env.environ == {"B": "2"}
    assert wf.env == Env()


def test_successive_calls_follow_the_merge_table() -> None:
    """Provisioning merges, python env and container replace, environ merges keys."""
    owner = (
        op(double)
        .with_provisioning(cpu_count=1)
        .with_provisioning(gpu_type="A100")
        .with_python_env(klass=ManualPythonEnv, python_version="3.11", pypi_packages={})
        .with_python_env(klass=OnlyLocalPythonEnv)
        .with_container(image="a:1")
        .with_container(klass=NoContainer)
        .with_environ({"A": "1", "B": "1"})
        .with_environ(B="2")
    )
    assert owner.env == Env(
        provisioning=Provisioning(cpu_count=1, gpu_type="A100"),
        python_env=OnlyLocalPythonEnv(),
        container=NoContainer(),
        environ={"A": "1", "B": "2"},
    )


def test_with_env_replaces_then_applies_keywords() -> None:
    """``with_env(env)`` replaces the whole env; its keywords act like the ``with_*`` methods."""
    owner = op(double).with_provisioning(cpu_count=4).with_environ(A="1")
    replaced = owner.with_env(
        Env(environ={"B": "2"}), provisioning=Provisioning(gpu_count=0), environ={"C": "3"}
    )
    assert replaced.env == Env(provisioning=Provisioning(gpu_count=0), environ={"B": "2", "C": "3"})
    kept = owner.with_env(provisioning=Provisioning(ram_size_gb=2))
    assert kept.env.provisioning == Provisioning(cpu_count=4, ram_size_gb=2)


@pytest.mark.parametrize(
    "klass",
    [
        ManualPythonEnv,
        "lzy.api.v1.env.ManualPythonEnv",
        "lzy.env.python.manual.ManualPythonEnv",
    ],
)
def test_klass_is_a_class_or_a_dotted_path(klass: Any) -> None:
    """``klass`` may be the class or a dotted import path naming it."""
    owner = op(double).with_python_env(klass=klass, python_version="3.12", pypi_packages={"attrs": "24.2.0"})
    assert owner.env.python_env == ManualPythonEnv(python_version="3.12", pypi_packages={"attrs": "24.2.0"})


def test_instance_may_be_passed_positionally() -> None:
    """An instance replaces ``klass`` + fields."""
    env = OnlyLocalPythonEnv(python_version="3.11")
    assert op(double).with_python_env(env).env.python_env is env
    assert op(double).with_provisioning(Provisioning(cpu_count=ANY)).env.provisioning == Provisioning(
        cpu_count=ANY
    )


@pytest.mark.parametrize(
    ("method", "klass", "fields"),
    [
        ("with_python_env", ManualPythonEnv, {"python_version": "3.11", "pypi_packages": {}}),
        ("with_python_env", AutoPythonEnv, {}),
        ("with_container", DockerContainer, {"image": "ubuntu:24.04"}),
        ("with_container", NoContainer, {}),
        ("with_provisioning", Provisioning, {"cpu_count": 2}),
    ],
)
def test_a_class_first_is_the_klass(method: str, klass: type[object], fields: dict[str, object]) -> None:
    """``with_*(K, **fields)`` is ``with_*(klass=K, **fields)``, as the checkers read it."""
    first = getattr(op(double), method)(klass, **fields)
    keyword = getattr(op(double), method)(klass=klass, **fields)
    assert first.env == keyword.env


def _docker(*, image: str) -> DockerContainer:
    """A factory function: it makes a Container, but klass takes a class."""
    return DockerContainer(image=image)


def _args(*args: object, **kwargs: object) -> tuple[tuple[object, ...], dict[str, object]]:
    """The arguments of a call, written like the call (the call itself is made untyped)."""
    return args, kwargs


@pytest.mark.parametrize(
    ("call", "error", "fragment"),
    [
        (
            ("with_provisioning", _args(cpu_cout=1)),
            UnknownFieldError,
            "Provisioning has no field 'cpu_cout'; did you mean 'cpu_count'?"
            " (valid fields: cpu_type, cpu_count,",
        ),
        (
            (
                "with_python_env",
                _args(klass=ManualPythonEnv, python_version="3.11", pypi_packages={}, index="x"),
            ),
            UnknownFieldError,
            "ManualPythonEnv has no field 'index'",
        ),
        (
            ("with_python_env", _args(klass=ManualPythonEnv, python_version="3.11")),
            FieldTypeError,
            "ManualPythonEnv requires 'pypi_packages'",
        ),
        (
            ("with_container", _args(image=["ubuntu"])),
            FieldTypeError,
            "DockerContainer.image must be a str, got ['ubuntu'] (list)",
        ),
        (
            ("with_python_env", _args(klass=DockerContainer, image="a")),
            KlassError,
            "with_python_env(): klass must be a subclass of PythonEnv, got DockerContainer",
        ),
        (
            ("with_python_env", _args(klass=PythonEnv)),
            KlassError,
            "klass PythonEnv is abstract; pass one of its implementations",
        ),
        (
            ("with_container", _args(klass="lzy.api.v1.env.DockerContainr", image="a")),
            KlassError,
            "module 'lzy.api.v1.env' has no attribute 'DockerContainr'; did you mean 'DockerContainer'?",
        ),
        (
            ("with_container", _args(klass="no_such_package.Container")),
            KlassError,
            "klass 'no_such_package.Container' does not import: module 'no_such_package' not found",
        ),
        (
            ("with_container", _args(klass="Container")),
            KlassError,
            "is not a dotted path like 'package.module.Class'",
        ),
        (
            ("with_python_env", _args(ManualPythonEnv)),
            FieldTypeError,
            "ManualPythonEnv requires 'python_version', 'pypi_packages'",
        ),
        (
            ("with_python_env", _args(ManualPythonEnv, klass=OnlyLocalPythonEnv)),
            ConfigurationError,
            "got the class ManualPythonEnv first and klass=OnlyLocalPythonEnv; pass the class once",
        ),
        (
            ("with_container", _args(NoContainer(), klass=NoContainer)),
            ConfigurationError,
            "got both an instance and keywords (klass)",
        ),
        (
            ("with_python_env", _args(klass=functools.partial(ManualPythonEnv, python_version="3"))),
            KlassError,
            "klass must be a subclass of PythonEnv, got functools.partial(",
        ),
        (
            ("with_container", _args(klass=_docker, image="a")),
            KlassError,
            "klass must be a subclass of Container, got <function",
        ),
        (
            ("with_python_env", _args(OnlyLocalPythonEnv(), python_version="3.11")),
            ConfigurationError,
            "got both an instance and keywords (python_version)",
        ),
        (
            ("with_provisioning", _args(NoContainer())),
            FieldTypeError,
            "with_provisioning() takes a Provisioning instance, got NoContainer()",
        ),
        (
            ("with_environ", _args(PORT=8080)),
            EnvironError,
            "must be a str without NUL, got 8080 (int)",
        ),
        (
            ("with_environ", _args(["A=B"])),
            FieldTypeError,
            "with_environ() mapping must be a mapping of names to strings",
        ),
        (
            ("with_env", _args(Provisioning())),
            FieldTypeError,
            "with_env() env must be an Env",
        ),
    ],
)
def test_bad_input_is_refused_where_written(
    call: tuple[str, tuple[tuple[object, ...], dict[str, object]]], error: type[Exception], fragment: str
) -> None:
    """Each mistake raises a clear error from lzy's hierarchy, and the owner is unchanged."""
    owner = op(double).with_environ(KEEP="1")
    before = owner.env
    method, (args, kwargs) = call
    with pytest.raises(error) as caught:
        getattr(owner, method)(*args, **kwargs)
    assert fragment in str(caught.value)
    assert isinstance(caught.value, LzyError)
    assert owner.env == before


def test_environment_decorators() -> None:
    """Point objects and ``Env`` decorate ops; the env they set follows the merge table."""

    @lzenv.Env(environ={"A": "1"})
    @lzenv.DockerContainer(image="ubuntu:24.04")
    @lzenv.OnlyLocalPythonEnv()
    @lzenv.Provisioning(cpu_count=2)
    @lzenv.Provisioning(ram_size_gb=1)
    @op
    def work() -> int:
        return 1

    # Decorators apply bottom-up; Env(...) on top replaces the whole env.
    assert work.env == Env(environ={"A": "1"})

    @lzenv.DockerContainer(image="ubuntu:24.04")
    @lzenv.Provisioning(cpu_count=2)
    @lzenv.Provisioning(ram_size_gb=1)
    @op(description="does work")
    def other() -> int:
        return 1

    assert other.env == Env(
        provisioning=Provisioning(cpu_count=2, ram_size_gb=1), container=DockerContainer(image="ubuntu:24.04")
    )
    assert other.description == "does work"

    builder = Provisioning(cpu_count=1)(op())
    assert isinstance(builder, OpBuilder)


@pytest.mark.parametrize(
    "decorator",
    [Provisioning(cpu_count=2), OnlyLocalPythonEnv(), NoContainer(), Env()],
    ids=["provisioning", "python_env", "container", "env"],
)
def test_decorator_on_a_plain_function_says_so(decorator: Any) -> None:
    """A decorator applied to something that is not an op names the mistake and the fix."""

    def plain() -> int:
        return 1

    with pytest.raises(NotAnOpError, match=r"decorates an op, but got .*plain; put it above @op"):
        decorator(plain)


def test_op_with_and_without_parentheses() -> None:
    """``@op`` and ``@op()`` both make ops; ``op`` keeps the function's identity."""
    plain = op(double)
    called = op()(double)
    assert isinstance(plain, Op)
    assert isinstance(called, Op)
    assert plain(3) == called(3) == 6
    assert plain.__name__ == "double"
    assert plain.__doc__ == "Double a number."
    assert plain.description == "Double a number."
    assert plain.function is double
    with pytest.raises(NotAnOpError, match="which is an op already"):
        op(plain)  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue, reportArgumentType]
    with pytest.raises(NotAnOpError, match="op decorates a function, got 42"):
        op(42)  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue, reportArgumentType]
    with pytest.raises(FieldTypeError, match="op: env must be an Env"):
        op(double, env=Provisioning())  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue, reportArgumentType]


class _Scorer:
    def __call__(self, x: int) -> int:
        return x


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (functools.partial(double, 1), "got functools.partial("),
        (_Scorer(), "got <tests.test_api._Scorer object"),
        (functools.cache(double), "got <functools._lru_cache_wrapper object"),
    ],
    ids=["partial", "callable-object", "cache-wrapper"],
)
def test_op_refuses_a_callable_whose_code_it_cannot_see(value: object, fragment: str) -> None:
    """A partial or an object with ``__call__`` hides the code that runs from lzy (and from
    both checkers): refused, saying to decorate a def that calls it."""
    with pytest.raises(NotAnOpError, match=re.escape(fragment)) as raised:
        op(value)  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue, reportArgumentType]
    assert "decorate a def that calls it" in str(raised.value)


def test_op_refuses_a_class() -> None:
    """A class is not a function: refused, saying what to decorate instead."""
    with pytest.raises(NotAnOpError, match="got the class _Scorer; decorate a def that makes or uses it"):
        op(_Scorer)  # type: ignore[call-overload]


def test_op_takes_a_builtin_a_bound_method_and_none() -> None:
    """A built-in function and a bound method are functions; ``op(None)`` is ``op()``."""
    assert op(abs)(-2) == 2
    assert op("a-b".split)("-") == ["a", "b"]
    assert isinstance(op(None), OpBuilder)


def test_an_op_read_from_an_instance_is_bound_and_stays_bound() -> None:
    """``model.fit`` is an op of the other parameters; its ``with_*`` copies stay bound, and
    reading it from the class gives the op itself."""

    class Model:
        def __init__(self, weight: int) -> None:
            self.weight = weight

        @op
        def fit(self, x: int) -> int:
            return self.weight * x

    model = Model(3)
    bound = model.fit.with_provisioning(cpu_count=1)
    assert isinstance(model.fit, Op)
    assert Model.fit(model, 2) == model.fit(2) == 6
    assert bound(4) == 12
    assert bound.env.provisioning == Provisioning(cpu_count=1)
    assert model.fit.env == Env()
    assert bound.name == "test_an_op_read_from_an_instance_is_bound_and_stays_bound.<locals>.Model.fit"
    assert isinstance(Model.__dict__["fit"], Op)
    assert Model.fit is Model.__dict__["fit"]
    with Lzy().workflow("w"):
        assert bound(5) == 15


def test_workflow_env_is_assignable_and_checked() -> None:
    """``wf.env = env`` works any time before a call; a non-Env is refused."""
    wf = Lzy().workflow("w")
    env = Env(environ={"X": "1"})
    wf.env = env
    assert wf.env is env
    with pytest.raises(FieldTypeError, match=re.escape("Workflow.env must be an Env")):
        wf.env = {"X": "1"}  # type: ignore[assignment]  # pyright: ignore[reportAttributeAccessIssue]
    with pytest.raises(FieldTypeError, match=re.escape("Workflow.name must be a str")):
        Lzy().workflow(3)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]


def test_workflows_do_not_nest() -> None:
    """Starting a workflow inside another is refused; the outer one keeps running."""
    lzy = Lzy()
    with lzy.workflow("outer") as outer:
        with (
            pytest.raises(ConfigurationError, match="cannot start inside workflow 'outer'"),
            lzy.workflow("inner"),
        ):
            pass
        with pytest.raises(ConfigurationError, match=re.escape("is running; change its env with wf.env")):
            outer.with_environ(A="1")
    assert isinstance(outer, Workflow)


def test_op_effective_env_outside_a_workflow() -> None:
    """Outside a workflow an op's effective env is its own over the defaults."""
    effective = op(double).with_provisioning(cpu_count=1).effective_env()
    assert effective.source("provisioning.cpu_count") is Level.OP
    assert effective.source("python_env") is Level.DEFAULT
    assert isinstance(effective.python_env, AutoPythonEnv)


def test_design_example_is_refused_by_the_local_runtime() -> None:
    """The GPU/container example of the design is refused locally, naming what is missing."""
    lzy = Lzy().with_provisioning(cpu_count=1)
    train = op(double)
    with (
        lzy.workflow("train")
        .with_python_env(klass=ManualPythonEnv, python_version="3.11", pypi_packages={})
        .with_container(image="ubuntu:24.04"),
        pytest.raises(RuntimeRefusedError) as caught,
    ):
        train.with_provisioning(gpu_count=1, gpu_type="A100")(2)
    text = str(caught.value)
    assert "a docker container (docker.io/library/ubuntu:24.04)" in text
    assert "gpu_type 'A100'" in text


def test_env_fields_are_immutable_everywhere() -> None:
    """Points and Env are frozen; clones go through dataclasses.replace."""
    env = Env(provisioning=Provisioning(cpu_count=1))
    with pytest.raises(dataclasses.FrozenInstanceError):
        env.environ = {}  # type: ignore[misc]  # pyright: ignore[reportAttributeAccessIssue]
    assert dataclasses.replace(env, environ={"A": "1"}).environ == {"A": "1"}
