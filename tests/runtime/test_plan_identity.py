"""The identity of a cached environment: plans that build the same env share it, others never do."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from lzy.api.v1 import IsolatedRuntime, Lzy, op
from lzy.api.v1.env import ManualPythonEnv, ResolvedEnv
from lzy.env._base import FrozenMap
from lzy.env.container.base import ResolvedContainer
from lzy.env.install import InstallPlan, Interpreter, Target, plan_install
from lzy.env.provisioning import Resources
from lzy.env.python.base import ResolvedPythonEnv
from lzy.exceptions import InstallPlanError, RuntimeRefusedError
from tests.explorer.support import IndexServer, build_wheel

from .conftest import Publish

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:cloudpickle")

CANARY = "Canary-pa55-w0rd"
RUNNING = f"{sys.version_info.major}.{sys.version_info.minor}"
A = "https://a.example/simple"
B = "https://b.example/simple"
C = "https://c.example/simple"
PY312 = Interpreter(version="3.12.9", path="/opt/py312/bin/python3")
TARGET = Target(name="this machine", interpreters=(PY312,), pip_fallback=True)


def _env(
    *,
    index: str | None = A,
    extra: tuple[str, ...] = (),
    packages: dict[str, str] | None = None,
    python: str | None = "3.12",
) -> ResolvedEnv:
    return ResolvedEnv(
        provisioning=Resources(),
        python_env=ResolvedPythonEnv(
            install=True,
            python_version=python,
            pypi_index_url=index,
            extra_index_urls=extra,
            pypi_packages=FrozenMap(packages if packages is not None else {"attrs": "23.2.0"}),
            local_module_paths=(),
        ),
        container=ResolvedContainer(),
        environ={},
    )


def _key(env: ResolvedEnv) -> str:
    return plan_install(env, TARGET).key


@pytest.mark.parametrize(
    ("first", "second"),
    [
        # The one index as the main one, or as an extra one beside the installer's default.
        (_env(index=A), _env(index=None, extra=(A,))),
        (_env(index=A, extra=(B,)), _env(index=None, extra=(A, B))),
        # Which index is the main one.
        (_env(index=A, extra=(B,)), _env(index=B, extra=(A,))),
        # The order of the extra ones (uv takes a pin from the first index that has it).
        (_env(index=A, extra=(B, C)), _env(index=A, extra=(C, B))),
        # The installer's default index, or an explicit one.
        (_env(index=None), _env(index=A)),
        # An index with credentials, or without (the env may not be built without them).
        (_env(index=A), _env(index=A.replace("https://", f"https://u:{CANARY}@"))),
        # Pins that differ by more than their spelling.
        (_env(packages={"attrs": "23.2.0"}), _env(packages={"attrs": "23.2.1"})),
        (_env(packages={"attrs": "23.2.0"}), _env(packages={"attrs": "23.2.0+local"})),
        (_env(packages={"attrs": "23.2.0"}), _env(packages={"attr": "23.2.0"})),
    ],
)
def test_plans_that_build_different_envs_have_different_keys(first: ResolvedEnv, second: ResolvedEnv) -> None:
    """Index roles, order, default index, credentials' presence and real pin changes all count."""
    assert _key(first) != _key(second)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        # Project names compare canonicalized, versions normalized.
        (_env(packages={"attrs": "23.2.0"}), _env(packages={"Attrs": "23.2"})),
        (_env(packages={"zope.interface": "6.0"}), _env(packages={"Zope_Interface": "6.0.0"})),
        (_env(packages={"typing-extensions": "4.9.0"}), _env(packages={"typing_extensions": "4.9"})),
        (_env(packages={"a": "1.0rc1", "b": "2"}), _env(packages={"b": "2.0.0", "a": "1.0.0c1"})),
        # The Python version as asked for: the interpreter chosen is what counts.
        (_env(python="3"), _env(python="3.12")),
        (_env(python="3.12"), _env(python="3.12.9")),
        # A trailing slash on an index URL; which password (not whether there is one).
        (_env(index=A), _env(index=A + "/")),
        (
            _env(index=A.replace("https://", f"https://u:{CANARY}@")),
            _env(index=A.replace("https://", f"https://u:{CANARY}2@")),
        ),
    ],
)
def test_plans_that_build_one_env_share_its_key(first: ResolvedEnv, second: ResolvedEnv) -> None:
    """Spellings of one name, one version, one interpreter or one index give one key."""
    assert _key(first) == _key(second)


def test_a_plan_that_chose_no_interpreter_keeps_the_version_asked_for() -> None:
    """Without a chosen interpreter (conda, or a target that listed none) the version asked
    for is what the installer gets, so it stays in the key."""
    target = Target(conda=True)
    assert plan_install(_env(python="3.11"), target).key != plan_install(_env(python="3.12"), target).key


@pytest.mark.parametrize(
    "url",
    [
        f"https://alice:{CANARY}@a.example/simple",
        f"https://{CANARY}@a.example/simple",  # a token as the user name
    ],
)
def test_a_plan_serialized_without_secrets_refuses_to_install(url: str) -> None:
    """Masked credentials never reach a .netrc: the error says why and how to keep them, and
    the masked plan's key is not the key of the env built with the real credentials."""
    plan = plan_install(_env(index=A, extra=(url,)), TARGET)
    masked = InstallPlan.from_json(plan.to_json())
    with pytest.raises(InstallPlanError) as raised:
        masked.netrc()
    text = str(raised.value)
    assert "serialized without its secrets" in text
    assert "to_json() with include_secrets set to True" in text
    assert "https://***@a.example/simple" in text
    assert CANARY not in text
    assert masked.key != plan.key
    kept = InstallPlan.from_json(plan.to_json(include_secrets=True))
    assert kept.key == plan.key
    assert kept.netrc() == plan.netrc()


@op
def value() -> object:
    """The VALUE of the package the env installed."""
    import importlib

    return importlib.import_module("only_here").VALUE


def _manual(
    index: str | None, extra: tuple[str, ...], packages: dict[str, str], python: str = RUNNING
) -> ManualPythonEnv:
    return ManualPythonEnv(
        python_version=python, pypi_packages=packages, pypi_index_url=index, extra_index_urls=list(extra)
    )


def test_the_main_index_and_an_extra_one_build_different_envs(
    runtime: IsolatedRuntime, index: IndexServer, publish: Publish, tmp_path: Path
) -> None:
    """The same URLs as index_url and extra indexes, in another order or without index_url:
    the installer takes the pin from the first index that has it (index_url, then the extra
    ones in order), so each gets its own env and sees its own package."""
    publish("only-here", "1.0", {"only_here/__init__.py": "VALUE = 'A'\n"})
    with IndexServer() as other:
        (tmp_path / "b").mkdir()
        wheel = build_wheel(tmp_path / "b", "only-here", "1.0", {"only_here/__init__.py": "VALUE = 'B'\n"})
        other.publish("only-here", wheel)
        main_a = _manual(index.url(), (other.url(),), {"only-here": "1.0"})
        main_b = _manual(other.url(), (index.url(),), {"only-here": "1.0"})
        default_main = _manual(None, (other.url(), index.url()), {"only-here": "1.0"})
        with Lzy(runtime=runtime).workflow("w").with_python_env(main_a):
            assert value() == "A"
        with Lzy(runtime=runtime).workflow("w").with_python_env(main_b):
            assert value() == "B"
        with Lzy(runtime=runtime).workflow("w").with_python_env(default_main):
            assert value() == "B"
    assert runtime.builds == 3


def test_spellings_of_one_env_share_one_build(
    runtime: IsolatedRuntime, index: IndexServer, publish: Publish
) -> None:
    """Another spelling of the project name, the version and the Python version: one build."""
    publish("only-here", "1.0", {"only_here/__init__.py": "VALUE = 1\n"})
    full = ".".join(map(str, sys.version_info[:3]))
    spellings = [("only-here", "1.0", RUNNING), ("Only_Here", "1.0.0", full), ("only.here", "1", "3")]
    for name, version, python in spellings:
        env = _manual(index.url(), (), {name: version}, python)
        with Lzy(runtime=runtime).workflow("w").with_python_env(env):
            assert value() == 1
    assert runtime.builds == 1
    assert len(runtime.cached_envs()) == 1


def test_an_env_serialized_without_secrets_is_refused_before_any_build(
    runtime: IsolatedRuntime, index: IndexServer, publish: Publish
) -> None:
    """A resolved env read back from JSON written without secrets: the runtime refuses it,
    saying the credentials were masked, and builds nothing."""
    publish("only-here", "1.0", {"only_here/__init__.py": "VALUE = 1\n"})
    index.state.credentials = ("alice", CANARY)
    env = _manual(index.url(credentials=("alice", CANARY)), (), {"only-here": "1.0"})
    workflow = Lzy(runtime=runtime).workflow("w").with_python_env(env)
    resolved = workflow.effective_env(value).resolve()
    masked = ResolvedEnv.from_json(resolved.to_json())
    with pytest.raises(RuntimeRefusedError) as raised:
        runtime.prepare(masked)
    assert "serialized without its secrets" in str(raised.value)
    assert CANARY not in str(raised.value)
    assert runtime.builds == 0
    assert runtime.cached_envs() == []
