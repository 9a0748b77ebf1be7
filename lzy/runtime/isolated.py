""":class:`IsolatedRuntime`: run each op in a fresh environment built from its description.

"Does my op run on a clean machine?" The isolated runtime answers it on this machine: each op
runs in a child process of a cached virtualenv that holds exactly the op's pinned distributions,
under an installed CPython of the version the op asks for, with copies of its local modules and
only its own environment variables.
"""

from __future__ import annotations

import datetime
import os
import sys
from pathlib import Path
from typing import Final, Literal, TypeVar

from lzy.env._cache import cache_root
from lzy.env.environment import ResolvedEnv
from lzy.env.install import (
    PYTHONPATH,
    InstallMethod,
    InstallPlan,
    Interpreter,
    Target,
    plan_install,
)
from lzy.env.provisioning import MachineSpec
from lzy.exceptions import InstallPlanError, RuntimeRefusedError
from lzy.runtime._process import ChildProcess, run_call
from lzy.runtime._python import OLDEST_CHILD, find_interpreters, running_interpreter
from lzy.runtime._store import CachedEnv, EnvStore
from lzy.runtime._support import support_dir
from lzy.runtime.base import OpCall, Runtime
from lzy.runtime.local import container_problems, this_machine

__all__ = ["CachedEnv", "IsolatedRuntime"]


def __dir__() -> list[str]:
    return __all__


_R = TypeVar("_R")

#: Variables of this process an op's process still sees: what any machine has (the search path
#: for programs, the home directory, the locale, the temporary directory, proxies and
#: certificates). Every other variable an op needs, it sets in its ``environ``.
PASSED_VARIABLES: Final = frozenset(
    {
        "PATH",
        "HOME",
        "USER",
        "LOGNAME",
        "SHELL",
        "LANG",
        "LANGUAGE",
        "TZ",
        "TERM",
        "TMPDIR",
        "TEMP",
        "TMP",
        "SYSTEMROOT",
        "COMSPEC",
        "PATHEXT",
        "WINDIR",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "NO_PROXY",
        "http_proxy",
        "https_proxy",
        "no_proxy",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
    }
)


class IsolatedRuntime(Runtime):
    """Runs each op in a cached virtualenv built from its resolved environment.

    - **Python**: an installed CPython of the version the op asks for (the running interpreter,
      ``PATH``, uv's managed interpreters, pyenv's versions); an op under another version than
      the caller's travels by reference (its module is shipped), its arguments and result by
      pickle.
    - **Packages**: exactly the pins, installed with uv (or ``venv`` + pip when uv is not
      available) from the env's indexes, into a virtualenv cached by the content of the plan:
      the second call with the same pins starts at once, in this process or another.
    - **Local modules**: copies, first on ``sys.path``; the op's own ``PYTHONPATH`` entries
      follow them.
    - **Variables**: the op's ``environ`` plus :data:`~lzy.runtime.isolated.PASSED_VARIABLES` of
      this process, and
      nothing else.

    It refuses a container, resources this machine lacks, and a Python version no installed
    interpreter provides. Environments live under ``envs/`` of lzy's cache directory
    (``$LZY_CACHE_DIR``, else the user's cache directory); :meth:`cached_envs` lists them and
    :meth:`clean_cache` removes them.
    """

    def __init__(
        self,
        *,
        cache_dir: str | os.PathLike[str] | None = None,
        installer: Literal["auto", "uv", "pip"] = "auto",
        machine: MachineSpec | None = None,
    ) -> None:
        if installer not in ("auto", "uv", "pip"):
            msg = f"IsolatedRuntime.installer must be 'auto', 'uv' or 'pip', got {installer!r}"
            raise RuntimeRefusedError(msg)
        #: The machine ops are checked against (this one by default).
        self.machine = machine if machine is not None else this_machine()
        self._root = Path(cache_dir) if cache_dir is not None else None
        self._installer: Literal["auto", "uv", "pip"] = installer
        self._stores: dict[Path, EnvStore] = {}

    def __repr__(self) -> str:
        where = "" if self._root is None else f", cache_dir={str(self._root)!r}"
        return f"IsolatedRuntime(installer={self._installer!r}{where})"

    @property
    def _store(self) -> EnvStore:
        """The store of environments (under ``cache_dir``, read at each use when not given)."""
        root = self._root if self._root is not None else cache_root()
        store = self._stores.get(root)
        if store is None:
            store = self._stores.setdefault(root, EnvStore(root, installer=self._installer))
        return store

    @property
    def builds(self) -> int:
        """How many environments this runtime built (rather than found cached) so far."""
        return sum(store.builds for store in self._stores.values())

    def target(self, python_version: str | None) -> Target:
        """This machine as an install target: no conda, virtualenvs allowed, and its
        interpreters (searched only when the running one does not fit ``python_version``)."""
        running = running_interpreter()
        fits = python_version is None or running.matches(python_version)
        interpreters = (running,) if fits else find_interpreters()
        return Target(name="this machine", interpreters=interpreters, pip_fallback=True)

    def plan(self, env: ResolvedEnv) -> InstallPlan:
        """The install plan of ``env`` on this machine (see :mod:`lzy.env.install`)."""
        version = env.python_env.python_version
        if version is not None and _too_old(version):
            oldest = ".".join(map(str, OLDEST_CHILD))
            msg = f"Python {version} is older than {oldest}, the oldest Python an op runs under"
            raise InstallPlanError(msg)
        return plan_install(env, self.target(version))

    def check(self, env: ResolvedEnv) -> None:
        """Raise :class:`~lzy.exceptions.RuntimeRefusedError` listing all it cannot provide."""
        self._checked_plan(env)

    def _checked_plan(self, env: ResolvedEnv) -> InstallPlan:
        """The plan of ``env``, once every refusal (all of them, in one message) is ruled out."""
        problems = container_problems(env, "it runs ops in virtualenvs on this machine")
        problems += [f"{lack} on {self.machine.name}" for lack in env.provisioning.shortfalls(self.machine)]
        plan: InstallPlan | None = None
        try:
            plan = self.plan(env)
        except InstallPlanError as error:
            problems.append(str(error))
        if problems or plan is None:
            msg = "IsolatedRuntime cannot provide " + "; ".join(problems)
            raise RuntimeRefusedError(msg)
        return plan

    def run(self, call: OpCall[_R]) -> _R:
        """Build (or find) the op's environment, then run the call in it."""
        plan = self._checked_plan(call.env)
        store = self._store
        python = self._python(plan, store)
        version = _major_minor(plan.interpreter)
        shipped = list(plan.local_module_paths)
        main_file = None
        if version != sys.version_info[:2]:
            main_file = _main_script(call)
            if main_file is not None:
                shipped.append(main_file)
        copies = store.ship(shipped)
        environ = {k: v for k, v in os.environ.items() if k in PASSED_VARIABLES or k.startswith("LC_")}
        environ.update(call.env.environ)
        if plan.method is InstallMethod.VIRTUALENV:
            environ["VIRTUAL_ENV"] = str(python.parent.parent)
            environ["PATH"] = os.pathsep.join(filter(None, [str(python.parent), environ.get("PATH")]))
        pythonpath = plan.pythonpath([str(copies)] if copies is not None else [])
        environ.pop(PYTHONPATH, None)
        if pythonpath is not None:
            environ[PYTHONPATH] = pythonpath
        child = ChildProcess(
            python=str(python),
            python_version=version,
            environ=environ,
            support=(str(support_dir(store.root)),),
            main_file=None if main_file is None or copies is None else str(copies / Path(main_file).name),
            importable_from=tuple(os.path.abspath(path) for path in plan.local_module_paths),
        )
        with store.using(python):
            return run_call(call.name, call.function, tuple(call.args), call.kwargs, child)

    def prepare(self, env: ResolvedEnv) -> Path:
        """Build (or find) the environment of ``env`` now, without running an op in it, and
        return the interpreter ops of that env run with: for a build ahead of the first call."""
        return self._python(self._checked_plan(env), self._store)

    def _python(self, plan: InstallPlan, store: EnvStore) -> Path:
        if plan.method is InstallMethod.VIRTUALENV:
            return store.ensure(plan)
        chosen = plan.interpreter or running_interpreter()
        return Path(chosen.path)

    def cached_envs(self) -> list[CachedEnv]:
        """The environments in this runtime's cache, complete or not."""
        return self._store.envs()

    def clean_cache(self, *, older_than: datetime.timedelta | None = None) -> list[CachedEnv]:
        """Remove cached environments not used for ``older_than`` (all when ``None``) and every
        unfinished one; those in use by a running op are kept. Returns the removed ones."""
        return self._store.clean(older_than=older_than)


def _too_old(version: str) -> bool:
    parts = tuple(int(p) for p in version.split(".")[:2])
    return parts < OLDEST_CHILD[: len(parts)]


def _major_minor(interpreter: Interpreter | None) -> tuple[int, int]:
    """The ``major.minor`` the op runs under (the running one when the plan names none)."""
    if interpreter is None:
        return sys.version_info[:2]
    major, minor = interpreter.version.split(".")[:2]
    return int(major), int(minor)


def _main_script(call: OpCall[_R]) -> str | None:
    """The caller's script, when the op's function was defined in it."""
    if getattr(call.function, "__module__", None) != "__main__":
        return None
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    return os.path.abspath(path) if isinstance(path, str) and os.path.isfile(path) else None
