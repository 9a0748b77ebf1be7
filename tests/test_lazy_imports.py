"""Importing lzy's API loads what describing an environment needs, and the rest where it is used.

What the import costs is measured by the benchmark (``nox -s bench -- imports``), never timed
here: these tests keep the result by naming the modules a fresh interpreter must not have loaded
after importing the API and describing environments with it, and by checking that every public
name is still there, the same object, when it loads on first use.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import json
import subprocess
import sys
import textwrap
from types import ModuleType

import pytest

import lzy.api.v1
import lzy.api.v1.env
from lzy.api.v1.env import AutoPythonEnv, DockerContainer, Env, Provisioning
from lzy.runtime._pickle import dumps

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:cloudpickle")

#: A program that imports the API, then describes an env at every level and works out an op's
#: env, as scripts do up to their first op call; it prints the modules loaded after each step.
PROGRAM = textwrap.dedent(
    """
    import json, sys
    from lzy.api.v1 import Lzy, op, env as lzenv
    from lzy.api.v1.env import (
        ANY, DEFAULT_ENV, MERGE_RULES, AutoPythonEnv, EffectiveEnv, Env, Level, NoContainer,
        Provisioning, PythonEnv,
    )
    print(json.dumps(sorted(sys.modules)))

    @Provisioning(gpu_count=1, gpu_type="A100")
    @op
    def train(x: int) -> int:
        return x

    lzy = Lzy().with_provisioning(cpu_count=4, ram_size_gb=ANY).with_environ(MODE="fast")
    wf = lzy.workflow("w").with_python_env(python_version="3.11")
    effective = wf.effective_env(train)
    assert effective.source("provisioning.gpu_type") is Level.OP
    print(json.dumps(sorted(sys.modules)))
    """
)

#: Modules that the import loads no more than the rest; the command line's overrides, which
#: an op's env takes into account, load with its first one (their parser never without one).
NOT_IMPORTED = {"lzy.env.cli": "the command line's overrides"}

#: Modules that load only where they are used, with what uses them.
NOT_LOADED = {
    # The command line: parsing options and the lzy-env command.
    "argparse": "the command line",
    "lzy.env._cli_parser": "the command line",
    "lzy.env._command": "the command line",
    "lzy.env._catalog": "the command line and the stub generator",
    # Containers and the registry client, with its HTTP and TLS stack.
    "lzy.env.container.docker": "describing a Docker container",
    "lzy.env.container.registry": "checking an image",
    "httpx": "asking an index or a registry",
    "ssl": "asking an index or a registry",
    "email": "reading installed metadata",
    "logging": "asking an index or a registry",
    # The explorer: installed distributions, the module walk, the index, the decisions.
    "lzy.env.explorer._decide": "exploring",
    "lzy.env.explorer._index": "exploring",
    "lzy.env.explorer._installed": "exploring",
    "lzy.env.explorer._pages": "exploring",
    "lzy.env.explorer._pip_config": "resolving an env",
    "lzy.env.explorer._target": "exploring, or a target platform other than the default",
    "lzy.env.explorer._walk": "exploring",
    "importlib.metadata": "exploring",
    "packaging": "naming packages, exploring",
    "platformdirs": "the disk cache",
    # Running ops: child processes, pickling, the isolated and Ray runtimes.
    "subprocess": "running an op",
    "pickle": "running an op",
    "cloudpickle": "running an op",
    "concurrent.futures": "exploring, running ops on Ray",
    "lzy.env.install": "running an op",
    "lzy.runtime._process": "running an op",
    "lzy.runtime.isolated": "the isolated runtime",
    "lzy.runtime.ray": "the Ray runtime",
    "ray": "the Ray runtime",
    # Other Python envs and error messages' suggestions.
    "lzy.env.python.manual": "ManualPythonEnv",
    "lzy.env.python.local": "OnlyLocalPythonEnv",
    "difflib": "suggesting a name in an error",
}


@pytest.fixture(scope="module")
def loaded() -> tuple[frozenset[str], frozenset[str]]:
    """The modules :data:`PROGRAM` loaded in a fresh interpreter: after the import, and at the end."""
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM], capture_output=True, text=True, check=True, timeout=120
    )
    imported, described = (frozenset(json.loads(line)) for line in done.stdout.strip().splitlines()[-2:])
    return imported, described


def _within(modules: frozenset[str], module: str) -> list[str]:
    return sorted(name for name in modules if name == module or name.startswith(f"{module}."))


@pytest.mark.parametrize("module", sorted(NOT_LOADED))
def test_importing_the_api_and_describing_envs_leaves_a_module_unloaded(
    loaded: tuple[frozenset[str], frozenset[str]], module: str
) -> None:
    """Importing lzy's API, describing envs at every level and working out an op's env does not
    load ``module``, nor any of its submodules: it loads where it is used (:data:`NOT_LOADED`)."""
    found = _within(loaded[1], module)
    assert not found, f"{found} loaded; {module} is for {NOT_LOADED[module]}"


@pytest.mark.parametrize("module", sorted(NOT_IMPORTED))
def test_importing_the_api_leaves_a_module_unloaded(
    loaded: tuple[frozenset[str], frozenset[str]], module: str
) -> None:
    """Importing lzy's API does not load ``module`` (:data:`NOT_IMPORTED`)."""
    found = _within(loaded[0], module)
    assert not found, f"{found} loaded; {module} is for {NOT_IMPORTED[module]}"


def test_the_program_loads_lzy_at_all(loaded: tuple[frozenset[str], frozenset[str]]) -> None:
    """The checks above look at a program that did import lzy's API and work out an op's env."""
    assert {"lzy.api.v1", "lzy.api.v1.env", "lzy.env.environment", "lzy.core.workflow"} <= loaded[0]
    assert loaded[0] < loaded[1]


FACADES = [lzy.api.v1, lzy.api.v1.env]


@pytest.mark.parametrize(
    ("facade", "name"),
    [
        pytest.param(facade, name, id=f"{facade.__name__}.{name}")
        for facade in FACADES
        for name in facade.__all__
    ],
)
def test_every_public_name_is_reachable_and_is_the_defining_modules_own(
    facade: ModuleType, name: str
) -> None:
    """Each name of a facade's ``__all__`` is an attribute of it, listed by ``dir()``, and is the
    very object its defining module has, whether it was imported eagerly or on first use."""
    value = getattr(facade, name)
    assert name in dir(facade)
    home = getattr(value, "__module__", None)
    if isinstance(value, type) and isinstance(home, str):
        assert getattr(importlib.import_module(home), name) is value


@pytest.mark.parametrize("facade", FACADES, ids=lambda module: module.__name__)
def test_a_name_a_facade_lacks_is_an_attribute_error_naming_it(facade: ModuleType) -> None:
    """An unknown name raises AttributeError naming the module and the name, as for any module
    (so ``hasattr`` and ``from m import x`` behave as usual)."""
    with pytest.raises(AttributeError, match=rf"module '{facade.__name__}' has no attribute 'Provisionning'"):
        getattr(facade, "Provisionning")  # noqa: B009 - the name is the point
    assert not hasattr(facade, "Provisionning")


def test_star_import_gives_every_public_name() -> None:
    """``from lzy.api.v1.env import *`` binds every name of ``__all__``, those loaded on first
    use included."""
    namespace: dict[str, object] = {}
    exec("from lzy.api.v1.env import *", namespace)
    assert set(lzy.api.v1.env.__all__) <= namespace.keys()


def test_the_explorers_index_settings_are_the_index_clients_defaults() -> None:
    """AutoEnvExplorer's index settings, written where the class is (its module loads the index
    client only when an explorer is made), are those of the index client."""
    from lzy.env.explorer._index import PAGE_TTL_SECONDS, IndexSettings
    from lzy.env.explorer.auto import AutoEnvExplorer

    defaults = IndexSettings()
    assert AutoEnvExplorer.index_cache_ttl == defaults.page_ttl == PAGE_TTL_SECONDS
    assert AutoEnvExplorer.index_timeout == defaults.timeout
    assert AutoEnvExplorer.index_retries == defaults.retries
    assert AutoEnvExplorer.index_backoff == defaults.backoff


def test_the_default_target_platform_is_a_checked_one() -> None:
    """AutoPythonEnv takes its default target platform as it is (the platform tag machinery loads
    for others): it is what the check makes of it."""
    from lzy.env.explorer._target import check_platform
    from lzy.env.python.auto import DEFAULT_TARGET_PLATFORM

    assert check_platform("AutoPythonEnv", DEFAULT_TARGET_PLATFORM) == DEFAULT_TARGET_PLATFORM
    assert AutoPythonEnv().target_platform == DEFAULT_TARGET_PLATFORM
    assert AutoPythonEnv(target_platform="manylinux2014_x86_64").target_platform == "manylinux_2_17_x86_64"


@pytest.mark.parametrize("klass", [Provisioning, AutoPythonEnv, DockerContainer, Env])
def test_a_configuration_class_signature_is_its_fields(
    klass: type[Provisioning | AutoPythonEnv | DockerContainer | Env],
) -> None:
    """``inspect.signature`` (what help(), editors and Sphinx show) of a configuration class lists
    its fields as keywords, worked out when first asked."""
    parameters = inspect.signature(klass).parameters
    assert list(parameters) == [f.name for f in dataclasses.fields(klass) if f.init]
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in parameters.values())


def test_a_subclass_pickled_by_value_keeps_its_signature() -> None:
    """A configuration class defined in a script travels by value (cloudpickle, as ops do) with
    its ``__init__``, and shows the same signature on the other side."""

    @dataclasses.dataclass(frozen=True, kw_only=True, slots=True, repr=False)
    class Gpu(Provisioning):
        vram_gb: int | None = None

    # Another interpreter: in this one, cloudpickle gives back the very class it pickled.
    other = (
        "import inspect, pickle, sys; klass = pickle.loads(sys.stdin.buffer.read());"
        " print(inspect.signature(klass), klass(vram_gb=80, cpu_count=2).vram_gb)"
    )
    done = subprocess.run(
        [sys.executable, "-c", other],
        input=dumps(Gpu),
        capture_output=True,
        check=True,
        timeout=120,
    )
    assert done.stdout.decode().split() == [*str(inspect.signature(Gpu)).split(), "80"]
