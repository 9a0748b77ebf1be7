"""Owners of an environment whose env is fixed once made say how to change it."""

from __future__ import annotations

import dataclasses

import pytest

from lzy.api.v1 import Lzy, op
from lzy.api.v1.env import Env, ManualPythonEnv, ResolvedEnv
from lzy.env.install import InstallPlan, Target, plan_install
from lzy.exceptions import ImmutableEnvError


@op
def task() -> int:
    """A do-nothing op."""
    return 1


@pytest.mark.parametrize("owner", [task, Lzy(), op()], ids=["Op", "Lzy", "OpBuilder"])
def test_assigning_a_fixed_env_says_how_to_change_it(owner: object) -> None:
    """op.env = ..., Lzy().env = ...: an ImmutableEnvError (a FrozenInstanceError too) that
    shows with_env, instead of Python's 'property has no setter'."""
    kind = type(owner).__name__
    with pytest.raises(ImmutableEnvError, match=rf"{kind}\.env cannot be assigned.*with_env\(env\)"):
        setattr(owner, "env", Env())  # noqa: B010 - the assignment a user writes
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(owner, "env", Env())  # noqa: B010


def test_a_workflows_env_stays_assignable() -> None:
    """wf.env = env is the seed's form: workflows resolve their env at each call."""
    workflow = Lzy().workflow("w")
    workflow.env = Env(environ={"A": "1"})
    assert workflow.env.environ == {"A": "1"}


def test_a_plan_rebuilt_from_json_still_masks_its_variables() -> None:
    """The environ of a plan read back from JSON (with secrets) is shown masked, as before."""
    env = ManualPythonEnv(python_version="3.12", pypi_packages={})
    resolved: ResolvedEnv = (
        Lzy()
        .workflow("w")
        .with_python_env(env)
        .with_environ(API_TOKEN="s3cr3t-value")
        .effective_env(task)
        .resolve()
    )
    plan = plan_install(resolved, Target(conda=True))
    again = InstallPlan.from_json(plan.to_json(include_secrets=True))
    assert again.environ["API_TOKEN"] == "s3cr3t-value"
    assert "s3cr3t-value" not in repr(again.environ)
    assert "s3cr3t-value" not in repr(again)
