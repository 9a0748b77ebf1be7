""":class:`IsolatedRuntime`: run each op in a fresh environment built from its description.

"Does my op run on a clean machine?" The isolated runtime answers it on this machine: each op
runs in a child process of a cached virtualenv that holds exactly the op's pinned distributions,
under an installed CPython of the version the op asks for, with copies of its local modules and
only its own environment variables.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import os
import sys
from collections.abc import Generator
from pathlib import Path
from typing import Final, Literal, TypeVar, cast

from lzy.env._base import describe, expect_instance
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
from lzy.exceptions import FieldTypeError, FieldValueError, InstallPlanError, RuntimeRefusedError
from lzy.runtime._process import ChildProcess, make_request, run_request
from lzy.runtime._python import OLDEST_CHILD, find_interpreters, forget_interpreters, running_interpreter
from lzy.runtime._store import CachedEnv, EnvStore, InterpreterGoneError
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
            msg = f"IsolatedRuntime.installer must be 'auto', 'uv' or 'pip', got {describe(installer)}"
            raise FieldValueError(msg)
        if machine is not None:
            expect_instance("IsolatedRuntime.machine", machine, MachineSpec, "a MachineSpec or None")
        #: The machine ops are checked against (this one by default).
        self.machine = machine if machine is not None else this_machine()
        self._root = None if cache_dir is None else _cache_dir(cache_dir)
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
            msg = f"Python {version}: it is older than {oldest}, the oldest Python an op runs under"
            raise InstallPlanError(msg)
        plan = plan_install(env, self.target(version))
        if plan.method is InstallMethod.NOTHING:
            # "The interpreter as it is" here would be the caller's, with every package it has;
            # a clean machine's has none: an empty virtualenv of it stands for that.
            plan = dataclasses.replace(plan, method=InstallMethod.VIRTUALENV)
        return plan

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
            plan.netrc()  # credentials a .netrc cannot carry are refused now, not mid-build
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
        version = _major_minor(plan.interpreter)
        main_file, main_module = _main_of(call)
        if version == sys.version_info[:2]:
            # The function travels by value; the package of ``python -m`` is still shipped, for
            # what the function names in it by reference (its sibling modules).
            shipped = [*plan.local_module_paths, *_main_code(None, main_module, plan)]
            main_file, main_module = None, None
        else:
            shipped = [*plan.local_module_paths, *_main_code(main_file, main_module, plan)]
        support = (str(support_dir(store.root)),)
        spec = ChildProcess(
            python="",
            python_version=version,
            environ={},
            support=support,
            main_file=main_file,
            main_module=main_module,
            importable_from=tuple(os.path.abspath(path) for path in plan.local_module_paths),
        )
        # Everything that can be refused is, before anything is copied or built.
        make_request(call.name, call.function, tuple(call.args), call.kwargs, spec)
        with store.shipped(shipped) as copies, self._environment(call.env, plan, store) as python:
            environ = {k: v for k, v in os.environ.items() if k in PASSED_VARIABLES or k.startswith("LC_")}
            environ.update(call.env.environ)
            if plan.method is InstallMethod.VIRTUALENV:
                environ["VIRTUAL_ENV"] = str(python.parent.parent)
                environ["PATH"] = os.pathsep.join(filter(None, [str(python.parent), environ.get("PATH")]))
            pythonpath = plan.pythonpath([str(copies)] if copies is not None else [])
            environ.pop(PYTHONPATH, None)
            if pythonpath is not None:
                environ[PYTHONPATH] = pythonpath
            child = dataclasses.replace(
                spec,
                python=str(python),
                environ=environ,
                main_file=None if main_file is None or copies is None else str(copies / Path(main_file).name),
                main_shown=main_file,
            )
            request = make_request(call.name, call.function, tuple(call.args), call.kwargs, child)
            return cast("_R", run_request(call.name, request, child))

    def prepare(self, env: ResolvedEnv) -> Path:
        """Build (or find) the environment of ``env`` now, without running an op in it, and
        return the interpreter ops of that env run with: for a build ahead of the first call."""
        with self._environment(env, self._checked_plan(env), self._store) as python:
            return python

    @contextlib.contextmanager
    def _environment(self, env: ResolvedEnv, plan: InstallPlan, store: EnvStore) -> Generator[Path]:
        """The interpreter of the plan's environment, in use while the block runs. An
        interpreter that left the machine since it was found is looked for again, once."""
        if plan.method is not InstallMethod.VIRTUALENV:
            yield Path((plan.interpreter or running_interpreter()).path)
            return
        try:
            with store.use(plan) as python:
                yield python
                return
        except InterpreterGoneError:
            forget_interpreters()
            plan = self._checked_plan(env)
        with store.use(plan) as python:
            yield python

    def cached_envs(self) -> list[CachedEnv]:
        """The environments in this runtime's cache, complete or not (see
        :attr:`CachedEnv.state <lzy.runtime.isolated.CachedEnv.state>`: ``"complete"``,
        ``"building"`` right now, or ``"incomplete"``, a build that never finished), each with
        its absolute path."""
        return self._store.envs()

    def clean_cache(self, *, older_than: datetime.timedelta | None = None) -> list[CachedEnv]:
        """Remove cached environments and module copies not used for ``older_than`` (all when
        ``None``; a negative one is refused), and every unfinished environment; what a running
        op uses, and an environment being built, is kept. The scratch directories of builds
        whose process was killed go too, with the installers they left running. Returns the
        environments removed.

        Each environment's lock file (``envs/<key>.lock``, empty) stays: another process may
        be waiting on it, and removing it would let a third lock a new file of that name while
        the waiting one goes ahead, two builds of one environment at once."""
        if older_than is not None:
            expect_instance(
                "IsolatedRuntime.clean_cache() older_than",
                older_than,
                datetime.timedelta,
                "a timedelta or None",
            )
            if older_than < datetime.timedelta(0):
                msg = (
                    "IsolatedRuntime.clean_cache() older_than must be a timedelta of zero or more"
                    f" (or None for everything), got {older_than!r}"
                )
                raise FieldValueError(msg)
        return self._store.clean(older_than=older_than)


def _cache_dir(value: object) -> Path:
    """A cache directory given by the user: a non-empty path, ``~`` expanded, made absolute
    here (a relative one is read against the working directory of this moment, not of each
    later use)."""
    if not isinstance(value, str | os.PathLike) or isinstance(value, bytes):
        msg = f"IsolatedRuntime.cache_dir must be a path (str or os.PathLike) or None, got {describe(value)}"
        raise FieldTypeError(msg)
    text = os.fspath(cast("os.PathLike[str] | str", value))
    if not str(text).strip():
        msg = "IsolatedRuntime.cache_dir must not be empty; leave it None for lzy's cache directory"
        raise FieldValueError(msg)
    return Path(os.path.abspath(Path(text).expanduser()))


def _too_old(version: str) -> bool:
    parts = tuple(int(p) for p in version.split(".")[:2])
    return parts < OLDEST_CHILD[: len(parts)]


def _major_minor(interpreter: Interpreter | None) -> tuple[int, int]:
    """The ``major.minor`` the op runs under (the running one when the plan names none)."""
    if interpreter is None:
        return sys.version_info[:2]
    major, minor = interpreter.version.split(".")[:2]
    return int(major), int(minor)


def _main_code(main_file: str | None, main_module: str | None, plan: InstallPlan) -> list[str]:
    """What to ship so the other interpreter can import the caller's main code: the script, or
    the top-level package of its ``python -m`` module, unless the env ships it already."""
    if main_file is not None:
        return [main_file]
    if main_module is None:
        return []
    package = sys.modules.get(main_module.partition(".")[0])
    paths: list[str] = list(getattr(package, "__path__", ()))
    locations = [os.path.abspath(p) for p in paths]
    shipped = {os.path.abspath(p) for p in plan.local_module_paths}
    return locations[:1] if locations and locations[0] not in shipped else []


def _main_of(call: OpCall[_R]) -> tuple[str | None, str | None]:
    """The caller's script file, or its ``python -m`` module name, when the op's function was
    defined in it (``(None, None)`` otherwise): the other interpreter imports it from there."""
    if getattr(call.function, "__module__", None) != "__main__":
        return None, None
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    name = getattr(spec, "name", None)
    if isinstance(name, str) and name and name != "__main__":
        return None, name
    path = getattr(main, "__file__", None)
    if isinstance(path, str) and os.path.isfile(path):
        return os.path.abspath(path), None
    return None, None
