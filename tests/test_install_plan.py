"""The install plan: the seed's rules as data, for targets with and without conda."""

from __future__ import annotations

import json
import logging
import os
from typing import cast

import pytest
import yaml

from lzy.api.v1.env import ResolvedEnv
from lzy.env._base import FrozenMap
from lzy.env.container.base import ResolvedContainer
from lzy.env.install import InstallMethod, InstallPlan, Interpreter, Target, op_pythonpath, plan_install
from lzy.env.provisioning import Resources
from lzy.env.python.base import ResolvedPythonEnv
from lzy.exceptions import InstallPlanError

CANARY = "canary-Pa55word"
PY311 = Interpreter(version="3.11.7", path="/opt/py311/bin/python3")
PY312 = Interpreter(version="3.12.1", path="/opt/py312/bin/python3")
PY3129 = Interpreter(version="3.12.9", path="/opt/py3129/bin/python3")


def _env(
    *,
    install: bool = True,
    python: str | None = "3.12",
    packages: dict[str, str] | None = None,
    index: str | None = "https://mirror.example/simple",
    extra: tuple[str, ...] = (),
    local: tuple[str, ...] = (),
    environ: dict[str, str] | None = None,
) -> ResolvedEnv:
    return ResolvedEnv(
        provisioning=Resources(),
        python_env=ResolvedPythonEnv(
            install=install,
            python_version=python,
            pypi_index_url=index,
            extra_index_urls=extra,
            pypi_packages=FrozenMap(packages if packages is not None else {"numpy": "2.1.0"}),
            local_module_paths=local,
        ),
        container=ResolvedContainer(),
        environ=environ or {},
    )


NO_CONDA = Target(name="image x", interpreters=(PY311, PY312))
CONDA = Target(name="image c", conda=True)
FALLBACK = Target(name="this machine", interpreters=(PY311, PY312, PY3129), pip_fallback=True)


@pytest.mark.parametrize(
    ("env", "target", "method", "interpreter"),
    [
        # OnlyLocalPythonEnv: nothing is installed, whatever the target has.
        (_env(install=False, python=None, packages={}), CONDA, InstallMethod.NOTHING, None),
        (_env(install=False, python=None, packages={}), NO_CONDA, InstallMethod.NOTHING, PY312),
        (_env(install=False, python="3.11", packages={}), NO_CONDA, InstallMethod.NOTHING, PY311),
        # A non-empty env (even without packages: it names a Python version) on conda.
        (_env(), CONDA, InstallMethod.CONDA, None),
        (_env(packages={}), CONDA, InstallMethod.CONDA, None),
        # No conda, fallback allowed: a virtualenv of the newest matching interpreter.
        (_env(), FALLBACK, InstallMethod.VIRTUALENV, PY3129),
        (_env(python="3.12.1"), FALLBACK, InstallMethod.VIRTUALENV, PY312),
        (_env(python="3"), FALLBACK, InstallMethod.VIRTUALENV, PY3129),
        (_env(packages={}), FALLBACK, InstallMethod.VIRTUALENV, PY3129),
        # The target did not list its interpreters: the plan leaves the choice to it.
        (_env(), Target(pip_fallback=True), InstallMethod.VIRTUALENV, None),
    ],
)
def test_plan_follows_the_table(
    env: ResolvedEnv, target: Target, method: InstallMethod, interpreter: Interpreter | None
) -> None:
    """Each combination of env and target gets the method and interpreter the table says."""
    plan = plan_install(env, target)
    assert plan.method is method
    assert plan.interpreter == interpreter
    assert plan.target == target.name
    installs = method is not InstallMethod.NOTHING
    assert dict(plan.packages) == (dict(env.python_env.pypi_packages) if installs else {})


def test_non_empty_env_without_conda_names_the_fallback_switch() -> None:
    """No conda and no fallback: the error says the env is not empty, the target has no conda,
    and which switch allows the fallback."""
    with pytest.raises(InstallPlanError) as raised:
        plan_install(_env(packages={"numpy": "2.1.0", "attrs": "23.2.0"}), NO_CONDA)
    text = str(raised.value)
    assert "the Python env is not empty (Python 3.12 with 2 pinned distributions)" in text
    assert "image x has no conda" in text
    assert "pip_fallback=True" in text


@pytest.mark.parametrize("install", [True, False])
def test_missing_interpreter_is_refused_with_what_the_target_has(install: bool) -> None:
    """A version no interpreter of the target provides is refused, listing the versions there,
    whether the env is built (a virtualenv) or used as it is (OnlyLocalPythonEnv)."""
    env = _env(install=install, python="3.9", packages={})
    with pytest.raises(InstallPlanError) as raised:
        plan_install(env, FALLBACK)
    expected = "Python 3.9: this machine has no CPython of that version (it has 3.11.7, 3.12.1, 3.12.9)"
    assert expected in str(raised.value)


def test_environment_yml_carries_python_indexes_and_pins_without_credentials() -> None:
    """The conda file: python=X.Y, and a pip section with the indexes (no credentials) and pins."""
    env = _env(
        packages={"numpy": "2.1.0", "attrs": "23.2.0"},
        index=f"https://user:{CANARY}@mirror.example/simple",
        extra=("https://extra.example/simple",),
    )
    plan = plan_install(env, CONDA)
    text = plan.environment_yml()
    assert text is not None
    assert CANARY not in text
    dependencies: list[object] = yaml.safe_load(text)["dependencies"]
    assert "python=3.12" in dependencies
    (pip,) = [cast("dict[str, object]", d)["pip"] for d in dependencies if isinstance(d, dict)]
    assert pip == [
        "--index-url https://mirror.example/simple",
        "--extra-index-url https://extra.example/simple",
        "attrs==23.2.0",
        "numpy==2.1.0",
    ]
    assert plan_install(env, FALLBACK).environment_yml() is None


def test_netrc_carries_the_credentials_and_nothing_else_shows_them(caplog: pytest.LogCaptureFixture) -> None:
    """Index credentials reach the installer only through the .netrc text; the plan's repr,
    explanation, JSON and index options mask or drop them."""
    caplog.set_level(logging.DEBUG)
    env = _env(
        index=f"https://alice:{CANARY}@mirror.example/simple",
        extra=(f"https://bob:{CANARY}2@other.example/simple",),
        environ={"API_TOKEN": CANARY, "MODE": "x"},
    )
    plan = plan_install(env, FALLBACK)
    netrc = plan.netrc()
    assert netrc is not None
    assert f"machine mirror.example\n  login alice\n  password {CANARY}\n" in netrc
    assert f"machine other.example\n  login bob\n  password {CANARY}2\n" in netrc
    shown = [repr(plan), str(plan), plan.explain(), plan.to_json(), *plan.index_options(), *plan.steps()]
    shown += [record.getMessage() for record in caplog.records]
    assert not [text for text in shown if CANARY in text]
    assert plan.index_options() == (
        "--index-url",
        "https://mirror.example/simple",
        "--extra-index-url",
        "https://other.example/simple",
    )
    assert plan_install(_env(), FALLBACK).netrc() is None


@pytest.mark.parametrize(
    ("index", "extra", "fragment"),
    [
        (
            f"https://a:{CANARY}@h.example/simple",
            (f"https://b:{CANARY}2@h.example/x",),
            "different credentials",
        ),
        (f"https://a:{CANARY}%20x@h.example/simple", (), "cannot travel in a .netrc"),
        (f"https://a:{CANARY}%22@h.example/simple", (), "cannot travel in a .netrc"),
    ],
)
def test_credentials_a_netrc_cannot_hold_are_refused(
    index: str, extra: tuple[str, ...], fragment: str
) -> None:
    """Two credentials for one host, or one with a space or a quote, are refused, unshown."""
    plan = plan_install(_env(index=index, extra=extra), FALLBACK)
    with pytest.raises(InstallPlanError, match=fragment) as raised:
        plan.netrc()
    assert CANARY not in str(raised.value)


def test_a_token_given_as_the_user_name_is_a_login_without_password() -> None:
    """https://TOKEN@host/ (the way some indexes take tokens): a .netrc login, no password."""
    plan = plan_install(_env(index=f"https://{CANARY}@tokens.example/simple"), FALLBACK)
    assert plan.netrc() == f"machine tokens.example\n  login {CANARY}\n"
    assert CANARY not in plan.explain()


def test_plan_round_trips_through_json() -> None:
    """A plan's JSON (with secrets, for executors) gives the same plan back."""
    env = _env(local=("/p/mod.py",), environ={"MODE": "x"}, extra=("https://e.example/simple",))
    plan = plan_install(env, FALLBACK)
    again = InstallPlan.from_json(plan.to_json(include_secrets=True))
    assert again == plan
    assert json.loads(plan.to_json())["schema_version"] == InstallPlan.SCHEMA_VERSION


def test_key_depends_on_what_defines_the_built_env_only() -> None:
    """Local modules and variables do not change the key; pins, indexes and Python do."""
    base = plan_install(_env(), FALLBACK)
    same = plan_install(_env(local=("/p/m.py",), environ={"A": "1"}), FALLBACK)
    assert base.key == same.key
    for other in (_env(packages={"numpy": "2.1.1"}), _env(index="https://other/simple"), _env(python="3.11")):
        assert plan_install(other, FALLBACK).key != base.key
    # Whether an index carries credentials is part of the key; which ones are is not.
    credentials = plan_install(_env(index=f"https://u:{CANARY}@mirror.example/simple"), FALLBACK)
    rotated = plan_install(_env(index=f"https://u:{CANARY}2@mirror.example/simple"), FALLBACK)
    assert credentials.key != base.key
    assert rotated.key == credentials.key


@pytest.mark.parametrize(
    ("shipped", "own", "after", "expected"),
    [
        (["/ship"], None, [], ["/ship"]),
        (["/ship"], "/a:/b", [], ["/ship", "/a", "/b"]),
        (["/ship"], "/a::/ship", ["/site"], ["/ship", "/a", "/site"]),
        ([], "/a", ["/site", "/a"], ["/a", "/site"]),
        ([], None, [], None),
    ],
)
def test_shipped_modules_come_first_and_the_ops_own_entries_are_kept(
    shipped: list[str], own: str | None, after: list[str], expected: list[str] | None
) -> None:
    """PYTHONPATH: shipped modules, then the op's own entries, then the runtime's; none dropped."""
    environ = {} if own is None else {"PYTHONPATH": own.replace(":", os.pathsep)}
    result = op_pythonpath(shipped, environ, after=after)
    assert result == (None if expected is None else os.pathsep.join(expected))


def test_explain_lists_the_steps_and_the_pins() -> None:
    """The explanation names the method, the interpreter, the indexes, and every pin."""
    plan = plan_install(_env(packages={"numpy": "2.1.0"}, local=("/p/mod.py",)), FALLBACK)
    text = plan.explain()
    assert "Install plan for this machine (virtualenv):" in text
    assert "create a virtualenv of Python 3.12.9 at /opt/py3129/bin/python3" in text
    assert "install 1 pinned distributions from https://mirror.example/simple" in text
    assert "ship 1 local modules, first on sys.path: mod.py" in text
    assert ["numpy", "2.1.0"] in [line.split() for line in text.splitlines()]
