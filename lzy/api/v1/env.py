"""Everything needed to describe an environment: the only import users need.

>>> from lzy.api.v1 import env as lzenv, op
>>> @lzenv.Provisioning(cpu_count=2)
... @op
... def work() -> int:
...     return 1
>>> work.env.provisioning
Provisioning(cpu_type=None, cpu_count=2, gpu_type=None, gpu_count=None, ram_size_gb=None)
"""

from typing import TYPE_CHECKING

from lzy._lazy import lazy_attributes
from lzy.env.container.base import Container, NoContainer, PullPolicy, ResolvedContainer
from lzy.env.environment import (
    DEFAULT_ENV,
    MERGE_RULES,
    EffectiveEnv,
    Env,
    ExplainRow,
    Level,
    MergeRule,
    ResolvedEnv,
)
from lzy.env.explorer.base import (
    Classification,
    EnvExplorer,
    Exploration,
    ImportStatement,
    PackageDecision,
)
from lzy.env.provisioning import ANY, AnyValue, MachineSpec, Provisioning, Resources
from lzy.env.python.auto import AutoPythonEnv
from lzy.env.python.base import PythonEnv, ResolvedPythonEnv

if TYPE_CHECKING:
    from lzy.env.cli import CliOverrides
    from lzy.env.container.docker import DockerContainer, ImageReference
    from lzy.env.container.registry import Credentials, ImageCheck, Platform, RegistrySettings
    from lzy.env.explorer.auto import AutoEnvExplorer
    from lzy.env.python.local import OnlyLocalPythonEnv
    from lzy.env.python.manual import ManualPythonEnv

__all__ = [
    "ANY",
    "DEFAULT_ENV",
    "MERGE_RULES",
    "AnyValue",
    "AutoEnvExplorer",
    "AutoPythonEnv",
    "Classification",
    "CliOverrides",
    "Container",
    "Credentials",
    "DockerContainer",
    "EffectiveEnv",
    "Env",
    "EnvExplorer",
    "ExplainRow",
    "Exploration",
    "ImageCheck",
    "ImageReference",
    "ImportStatement",
    "Level",
    "MachineSpec",
    "ManualPythonEnv",
    "MergeRule",
    "NoContainer",
    "OnlyLocalPythonEnv",
    "PackageDecision",
    "Platform",
    "Provisioning",
    "PullPolicy",
    "PythonEnv",
    "RegistrySettings",
    "ResolvedContainer",
    "ResolvedEnv",
    "ResolvedPythonEnv",
    "Resources",
]


def __dir__() -> list[str]:
    return __all__


if not TYPE_CHECKING:
    # Imported when first named: the command line's overrides, containers and their registry
    # client, the explorer and the Python envs that are not the default load nothing until a
    # program uses them.
    __getattr__ = lazy_attributes(
        __name__,
        {
            "AutoEnvExplorer": "lzy.env.explorer.auto",
            "CliOverrides": "lzy.env.cli",
            "Credentials": "lzy.env.container.registry",
            "DockerContainer": "lzy.env.container.docker",
            "ImageCheck": "lzy.env.container.registry",
            "ImageReference": "lzy.env.container.docker",
            "ManualPythonEnv": "lzy.env.python.manual",
            "OnlyLocalPythonEnv": "lzy.env.python.local",
            "Platform": "lzy.env.container.registry",
            "RegistrySettings": "lzy.env.container.registry",
        },
    )
