""":class:`RayRuntime`: run each op call as one Ray task, in the environment its env describes.

Using it needs the ``ray`` extra (``pip install 'lzy[ray]'``); importing it does not. How each
point of a resolved env becomes the options of a Ray task is the table on the docs page
"Running ops on Ray", and :meth:`~lzy.api.v1.RayRuntime.task_options` shows it for one env.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import importlib
import inspect
import json
import math
import os
import pickle
import shutil
import sys
import threading
import types
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final, Literal, Self, TypeVar, cast, get_args

from packaging.utils import canonicalize_name

from lzy.env._base import (
    closest,
    describe,
    expect_bool,
    expect_str,
    redact_url,
    shown_environ,
    split_credentials,
)
from lzy.env.container.base import PullPolicy
from lzy.env.environment import ResolvedEnv
from lzy.env.provisioning import Resources
from lzy.env.python.base import ResolvedPythonEnv, python_version_matches
from lzy.exceptions import (
    FieldTypeError,
    FieldValueError,
    InstallError,
    OpExecutionError,
    RuntimeRefusedError,
    UnknownFieldError,
)
from lzy.runtime import _ray_cluster
from lzy.runtime._process import Outcome, settle
from lzy.runtime._ray_cluster import (
    Connection,
    Netrc,
    address_problem,
    connect,
    import_ray,
    netrc_problem,
    release,
    require_ray,
)
from lzy.runtime._store import uv_index_options
from lzy.runtime.base import OpCall, Runtime

__all__ = ["CPU_TYPE_LABEL", "RETRY_VARIABLE", "Installer", "RayRuntime"]


def __dir__() -> list[str]:
    return __all__


_R = TypeVar("_R")

#: The node label that says a node's CPU type (``"x86_64"``, ``"aarch64"``, a CPU model): Ray
#: knows no CPU architecture, so a :attr:`Provisioning.cpu_type
#: <lzy.api.v1.env.Provisioning.cpu_type>` is matched against this label of each node, and the
#: task gets a label selector for the nodes that match. A local cluster lzy starts labels its
#: node with this machine's architecture; nodes of other clusters are labelled when they start
#: (``ray start --labels=lzy/cpu-type=x86_64``).
CPU_TYPE_LABEL: Final = _ray_cluster.CPU_TYPE_LABEL

#: The variable that tells a new attempt at building an op's environment from the one that
#: failed: Ray remembers a ``runtime_env`` that failed to build (ten minutes by default) and fails
#: every task with the same one at once, so after a failure the next call of an op with the same
#: env carries ``LZY_RAY_ENV_RETRY=N`` in its ``env_vars`` and is built anew.
RETRY_VARIABLE: Final = "LZY_RAY_ENV_RETRY"

#: The installers Ray's ``runtime_env`` can build an op's Python environment with: ``"uv"``
#: (Ray's ``uv`` field) or ``"pip"`` (its ``pip`` field).
Installer = Literal["uv", "pip"]

#: Fields of a job-level ``runtime_env`` that do not change what an op's task runs with (Ray's
#: setup timeouts); any other field would be merged into the task's own and is refused.
_NEUTRAL_JOB_FIELDS: Final = frozenset({"config"})


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class _Plan:
    """What one op call becomes on the cluster."""

    #: The task's options, ``runtime_env`` included; its ``py_modules`` are still local paths.
    options: dict[str, Any]
    #: Variables set in the worker for the call instead of travelling in ``env_vars``.
    secrets: dict[str, str]
    #: ``host: (login, password)`` for the ``.netrc`` of a cluster lzy started.
    credentials: Mapping[str, tuple[str, str]]


class RayRuntime(Runtime):
    """Runs each op call as one task on a Ray cluster, with the op's env as the task's options.

    ``address`` is a running cluster's (its head's GCS address ``"host:6379"``, or ``"auto"``);
    ``None`` takes the cluster this process is already connected to, else the one
    ``RAY_ADDRESS`` names, else starts a local cluster on this machine, which lzy shuts down when
    the last runtime using it is closed (:meth:`close`), or when the process exits. Nothing
    connects until the first op call or :meth:`check`; a cluster at an address that does not
    answer within ``connect_timeout`` seconds is a :exc:`~lzy.exceptions.RuntimeConnectionError`
    saying why. Ray Client addresses (``ray://``) are refused.

    Each call runs in a Ray worker process of its own unless ``reuse_workers`` is set (see
    :attr:`reuse_workers`).

    It refuses, before a task is submitted, what the cluster can never provide: resources no node
    has, another Python version than the workers run, index credentials it cannot deliver safely,
    a job-level ``runtime_env`` that Ray would merge into the op's own.
    """

    def __init__(
        self,
        address: str | None = None,
        *,
        installer: Installer = "uv",
        reuse_workers: bool = False,
        index_logins_on_nodes: bool = False,
        connect_timeout: float = 30.0,
        init_options: Mapping[str, object] | None = None,
    ) -> None:
        require_ray()
        #: The cluster's address: ``"host:port"`` (a Ray head's GCS address), ``"auto"`` (the
        #: cluster ``ray start`` started on this machine), ``"local"`` (a new local cluster), or
        #: ``None`` for the connected cluster, ``RAY_ADDRESS``, or a new local cluster.
        self.address = _address(address)
        #: What builds an op's Python environment on the nodes.
        self.installer: Installer = _installer(installer)
        #: Whether an op's task may run in a Ray worker process that ran earlier tasks (faster:
        #: no process start per call). The worker's environment variables, working directory and
        #: ``sys.path`` are restored after each call; anything else an op changes in its process
        #: (module globals, imported modules, threads it started) is seen by later ops. By
        #: default each call runs in a fresh worker process, as on the local runtimes.
        self.reuse_workers = expect_bool(self, "reuse_workers", reuse_workers)
        #: Whether the cluster's nodes hold credentials for the package indexes themselves (a
        #: ``.netrc`` of the user that runs Ray): index URLs then go without their credentials.
        #: Otherwise credentials go only to a local cluster this runtime started, and an index
        #: URL with credentials is refused on any other cluster.
        self.index_logins_on_nodes = expect_bool(self, "index_logins_on_nodes", index_logins_on_nodes)
        #: Seconds a cluster at an address has to answer before connecting fails with
        #: :exc:`~lzy.exceptions.RuntimeConnectionError` saying why.
        self.connect_timeout = _timeout(connect_timeout)
        #: Keyword arguments of ``ray.init`` when this runtime connects or starts the cluster
        #: (``num_cpus``, ``resources``, ``labels``, ...).
        self.init_options: Mapping[str, object] = _init_options(init_options)
        self._connection: Connection | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return (
            f"RayRuntime(address={self.address!r}, installer={self.installer!r},"
            f" reuse_workers={self.reuse_workers!r})"
        )

    # -- the connection ------------------------------------------------------------------------

    def _cluster(self) -> Connection:
        with self._lock:
            connection = self._connection
            if connection is not None:
                if connection is _ray_cluster.current() and connection.ray.is_initialized():
                    return connection
                release(connection)
            self._connection = connect(self.address, self.init_options, timeout=self.connect_timeout)
            return self._connection

    def close(self) -> None:
        """Stop using the cluster; the last runtime of a cluster lzy started shuts it down.

        A cluster lzy did not start (one at an address, or one this process connected to
        itself) keeps running. The runtime connects again if it is used after this.
        """
        with self._lock:
            if self._connection is not None:
                release(self._connection)
                self._connection = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- what an env becomes -------------------------------------------------------------------

    def check(self, env: ResolvedEnv) -> None:
        """Raise :class:`~lzy.exceptions.RuntimeRefusedError` listing all the cluster cannot provide.

        Connects to the cluster (or starts it) if it is not connected yet.
        """
        self._plan(env, self._cluster())

    def task_options(self, env: ResolvedEnv) -> dict[str, Any]:
        """The options of the Ray task an op with ``env`` runs as (``.options(**...)`` of a
        remote function), ``runtime_env`` included.

        Local modules are shown as their paths (they are uploaded when the op runs), and
        variables whose values are secrets are left out: they are set in the worker for the
        call, never sent in ``env_vars``. After an environment failed to build, a call also
        carries :data:`~lzy.runtime.ray.RETRY_VARIABLE` in ``env_vars``. Raises as :meth:`check` does.
        """
        return self._plan(env, self._cluster()).options

    def _plan(self, env: ResolvedEnv, cluster: Connection) -> _Plan:
        problems: list[str] = []
        options: dict[str, Any] = {}
        runtime_env: dict[str, Any] = {}
        problems += self._resources(env, cluster, options)
        problems += self._python(env.python_env, cluster)
        credentials: dict[str, tuple[str, str]] = {}
        problems += self._packages(env.python_env, cluster, runtime_env, credentials)
        if env.python_env.local_module_paths:
            runtime_env["py_modules"] = list(env.python_env.local_module_paths)
        # Before env_vars are added: an image goes with variables, and with nothing else.
        problems += _container(env, runtime_env, cluster)
        shown = shown_environ(env.environ)
        public = {name: value for name, value in env.environ.items() if shown[name] == value}
        secrets = {name: value for name, value in env.environ.items() if shown[name] != value}
        if public:
            runtime_env["env_vars"] = public
        problems += _job_conflicts(cluster.job_runtime_env(), env)
        if problems:
            msg = f"RayRuntime cannot provide, on {cluster.describe()}: " + "; ".join(problems)
            raise RuntimeRefusedError(msg)
        if runtime_env:
            options["runtime_env"] = runtime_env
        return _Plan(options=options, secrets=secrets, credentials=credentials)

    def _resources(self, env: ResolvedEnv, cluster: Connection, options: dict[str, Any]) -> list[str]:
        wanted = env.provisioning
        machines = cluster.machines()
        chosen = wanted.smallest_fit(machines)
        if chosen is None:
            reasons = "; ".join(f"{m.name} lacks {', '.join(wanted.shortfalls(m))}" for m in machines)
            return [
                f"{_requirements(wanted)}: no node satisfies them ({reasons or 'the cluster has no nodes'})"
            ]
        if wanted.cpu_count is not None:
            options["num_cpus"] = wanted.cpu_count
        if wanted.ram_size_gb is not None:
            options["memory"] = int(wanted.ram_size_gb * 2**30)
        wants_gpu = wanted.gpu_count is None or wanted.gpu_count > 0
        if wanted.gpu_count:
            options["num_gpus"] = wanted.gpu_count
        if wanted.gpu_type is not None and wants_gpu and chosen.gpu_type is not None:
            # Ray's name of the model, as the smallest node that fits has it ("A100-80G" for "A100").
            options["accelerator_type"] = chosen.gpu_type
        if wanted.cpu_type is not None:
            fitting = [m for m in machines if not wanted.shortfalls(m)]
            values = sorted({m.cpu_type for m in fitting})
            selector = values[0] if len(values) == 1 else f"in({','.join(values)})"
            options["label_selector"] = {CPU_TYPE_LABEL: selector}
        return []

    def _python(self, python: ResolvedPythonEnv, cluster: Connection) -> list[str]:
        running = cluster.python_version()
        if python.python_version is None or python_version_matches(python.python_version, running):
            return []
        return [
            f"Python {python.python_version} (the cluster's workers run Python {running}, and Ray"
            " runs every task with the cluster's interpreter)"
        ]

    def _packages(
        self,
        python: ResolvedPythonEnv,
        cluster: Connection,
        runtime_env: dict[str, Any],
        credentials: dict[str, tuple[str, str]],
    ) -> list[str]:
        if not python.install or not python.pypi_packages:
            return []
        problems: list[str] = []
        index_options: list[str] = []
        urls = [(True, python.pypi_index_url), *((False, u) for u in python.extra_index_urls)]
        for primary, url in urls:
            if url is None:
                continue
            bare, secret = split_credentials(url)
            index_options += ["--index-url" if primary else "--extra-index-url", bare]
            if secret is None or self.index_logins_on_nodes:
                continue
            parts = urllib.parse.urlsplit(bare)
            host = parts.hostname or ""
            if cluster.started_here:
                problem = netrc_problem(host, *secret)
                if problem is not None:
                    problems.append(problem)
                elif credentials.setdefault(host, secret) != secret:
                    problems.append(
                        f"two different credentials for the package indexes at {host} (here at"
                        f" {parts.netloc}): the installers read them from a .netrc, which holds one"
                        " login per host name whatever the port; use one login for the indexes of"
                        " that host"
                    )
            else:
                problems.append(
                    f"credentials for the package index at {host}: RayRuntime sends index"
                    " credentials only to a local cluster it started (through a private .netrc),"
                    " never inside a URL Ray would log; give the cluster's nodes the credentials"
                    " (a .netrc of the user that runs Ray) and pass"
                    " RayRuntime(index_logins_on_nodes=True)"
                )
        packages = [f"{name}=={version}" for name, version in sorted(python.pypi_packages.items())]
        if self.installer == "uv":
            # The indexes in the explorer's order, as the isolated runtime gives them to uv: each
            # pin from the first index that has its version.
            flags = [*uv_index_options(python.pypi_index_url, python.extra_index_urls), "--no-cache"]
            runtime_env["uv"] = {"packages": packages, "uv_pip_install_options": flags}
        else:
            flags = [*index_options, "--disable-pip-version-check", "--no-cache-dir"]
            runtime_env["pip"] = {"packages": packages, "pip_install_options": flags}
        return problems

    # -- running -------------------------------------------------------------------------------

    def run(self, call: OpCall[_R]) -> _R:
        """Check the env, run the call as one Ray task and return its result, or raise the op's
        own exception with the task's traceback attached as a note."""
        cluster = self._cluster()
        plan = self._plan(call.env, cluster)
        lent: contextlib.AbstractContextManager[None] = contextlib.nullcontext()
        if cluster.netrc is not None:
            self._check_logins(call, cluster.netrc)
        if cluster.netrc is not None and plan.credentials:
            # Held until the task ends: its environment is built when it starts, and a failed
            # build leaves nothing behind for the calls after it.
            lent = cluster.netrc.lent(plan.credentials, who=f"op {call.name}")
        with lent:
            outcome = self._submit(call, cluster, plan)
        return cast("_R", settle(call.name, outcome, where="its Ray task"))

    def _check_logins(self, call: OpCall[Any], netrc: Netrc) -> None:
        """Raise :class:`~lzy.exceptions.InstallError` when an index of the call's env refuses
        the login its installer would send (the URL's, else the user's ``.netrc`` entry for the
        host, else none), asking each index once per process per login.

        Ray builds one environment per set of packages and index URLs, whatever the login, and
        reuses it: without this, a wrong or missing password after a right one would pass.
        """
        python = call.env.python_env
        if not python.install or not python.pypi_packages:
            return
        project = canonicalize_name(sorted(python.pypi_packages)[0])
        for url in (python.pypi_index_url, *python.extra_index_urls):
            if url is None:
                continue
            bare, secret = split_credentials(url)
            host = urllib.parse.urlsplit(bare).hostname or ""
            login = secret if secret is not None and not self.index_logins_on_nodes else netrc.own_login(host)
            status = _refusal(bare, login, project)
            if status is None:
                continue
            if login is None:
                msg = (
                    f"op {call.name}: the package index {bare} asks for credentials (HTTP {status})"
                    " and none are given for it: give them in the index URL, or in your .netrc"
                    f" (machine {host}); nothing was submitted"
                )
            else:
                whose = "given in its URL" if login is secret else f"of your .netrc for {host}"
                msg = (
                    f"op {call.name}: the package index {redact_url(url)} refuses the credentials"
                    f" {whose} (HTTP {status}); nothing was submitted"
                )
            raise InstallError(msg)

    def _submit(self, call: OpCall[Any], cluster: Connection, plan: _Plan) -> Outcome:
        options = dict(plan.options)
        runtime_env = dict(options.get("runtime_env", {}))
        if "py_modules" in runtime_env:
            runtime_env["py_modules"] = cluster.upload(runtime_env["py_modules"])
        built = dict(runtime_env)
        if attempt := cluster.attempt(built):
            # Ray remembers a runtime_env that failed to build and fails it again at once: a new
            # attempt is another runtime_env.
            runtime_env["env_vars"] = {**runtime_env.get("env_vars", {}), RETRY_VARIABLE: str(attempt)}
        if runtime_env:
            options["runtime_env"] = runtime_env
        task = cluster.task(fresh_worker=not self.reuse_workers)
        task = task.options(name=call.name, max_retries=0, **options)
        shipped = call.env.python_env.local_module_paths
        private_netrc = cluster.netrc.path if cluster.netrc is not None else None
        try:
            function = _pickled(call.function, cluster.driver_paths, shipped)
            arguments = (tuple(call.args), dict(call.kwargs), plan.secrets)
            ref = task.remote(
                function, *arguments, driver_paths=cluster.driver_paths, private_netrc=private_netrc
            )
        except Exception as error:  # Ray pickles the arguments here.
            raise _unsendable(call, error) from error
        try:
            return cast("Outcome", cluster.ray.get(ref))
        except KeyboardInterrupt:
            cluster.ray.cancel(ref)
            raise
        except Exception as error:
            failure = _task_failure(call.name, error)
            if isinstance(failure, InstallError):
                cluster.failed(built)
            if failure is error:
                raise
            raise failure from None


#: Seconds an index has to say whether it accepts a login before a call is submitted.
_LOGIN_CHECK_SECONDS: Final = 10.0
#: Digests of the (index, login) pairs asked in this process and not refused.
_ASKED: Final[set[str]] = set()
_ASKED_LOCK: Final = threading.Lock()


def _refusal(index: str, login: tuple[str, str] | None, project: str) -> int | None:
    """The status (401 or 403) with which ``index`` refuses ``login`` for ``project``'s page, or
    ``None``: accepted, or no answer within :data:`_LOGIN_CHECK_SECONDS` (the installer then
    says what it finds). An answer other than a refusal is remembered for the process."""
    if urllib.parse.urlsplit(index).scheme not in {"http", "https"}:
        return None
    key = hashlib.sha256(json.dumps([index, login]).encode()).hexdigest()
    with _ASKED_LOCK:
        if key in _ASKED:
            return None
    import httpx  # noqa: PLC0415 - only when a call installs packages from an index

    from lzy.env import _http  # noqa: PLC0415 - imports httpx

    deadline = _http.Deadline(_LOGIN_CHECK_SECONDS)
    url = f"{index.rstrip('/')}/{project}/"
    try:
        with _http.client(
            verify=httpx.create_ssl_context(),
            timeout=_LOGIN_CHECK_SECONDS,
            connect_timeout=_LOGIN_CHECK_SECONDS,
        ) as session:
            reply = _http.fetch(session, "GET", url, deadline=deadline, limit=1, auth=login)
    except httpx.HTTPError:
        status = None
    else:
        status = reply.status if reply.status in {401, 403} else None
    if status is None:
        with _ASKED_LOCK:
            _ASKED.add(key)
    return status


#: Held while a module is registered with cloudpickle to be pickled by value.
_BY_VALUE_LOCK: Final = threading.Lock()


def _pickled(function: Callable[..., object], driver_paths: Sequence[str], shipped: Sequence[str]) -> bytes:
    """``function`` pickled for its task, which loads it once Ray's ``driver_paths`` are off the
    worker's ``sys.path``: its module goes by value, as a script's functions do, when it lives
    under one of them (beside the caller's script, or in its working directory) and the env
    does not ship it; any other module goes by name."""
    cloudpickle = importlib.import_module("ray.cloudpickle")
    modules = _reached_through(function, driver_paths, shipped)
    with _BY_VALUE_LOCK:
        registered: list[types.ModuleType] = []
        for module in modules:
            try:
                cloudpickle.register_pickle_by_value(module)
            except ValueError:  # registered already (by the program itself): left as it is
                continue
            registered.append(module)
        try:
            return cast("bytes", cloudpickle.dumps(function, protocol=pickle.HIGHEST_PROTOCOL))
        finally:
            for module in registered:
                cloudpickle.unregister_pickle_by_value(module)


def _reached_through(
    function: Callable[..., object], driver_paths: Sequence[str], shipped: Sequence[str]
) -> list[types.ModuleType]:
    """The modules of ``function`` (and of what it wraps, or of a bound method's object) that
    live under one of ``driver_paths`` and under none of the ``shipped`` local modules."""
    owners: list[object] = [function, inspect.unwrap(function)]
    if isinstance(function, types.MethodType):
        owners.append(type(function.__self__))
    found: list[types.ModuleType] = []
    for owner in owners:
        name = getattr(owner, "__module__", None)
        module = sys.modules.get(name) if isinstance(name, str) else None
        file = getattr(module, "__file__", None)
        if module is None or not isinstance(file, str) or module in found:
            continue
        if _under(file, driver_paths) and not _under(file, shipped):
            found.append(module)
    return found


def _under(file: str, roots: Sequence[str]) -> bool:
    path = os.path.abspath(file)
    for root in roots:
        top = os.path.abspath(root)
        if path == top or path.startswith(top.rstrip(os.sep) + os.sep):
            return True
    return False


def _unsendable(call: OpCall[Any], error: Exception) -> RuntimeRefusedError:
    """The refusal of a call whose function or arguments Ray could not pickle, naming the part
    that does not pickle when one alone does not."""
    cloudpickle = importlib.import_module("ray.cloudpickle")
    parts: list[tuple[str, object]] = [("its function", call.function)]
    parts += [(f"its argument {index + 1}", value) for index, value in enumerate(call.args)]
    parts += [(f"its argument {name}=", value) for name, value in call.kwargs.items()]
    for what, value in parts:
        try:
            cloudpickle.dumps(value)
        except Exception as problem:  # Any failure to pickle names the part.
            shown = f"{what} ({_type_name(value)})" if what != "its function" else what
            msg = (
                f"op {call.name} cannot be sent to its Ray task: {shown} does not pickle"
                f" ({type(problem).__name__}: {_text_of(problem)}); pass data that pickles"
            )
            return RuntimeRefusedError(msg)
    msg = (
        f"op {call.name} cannot be sent to its Ray task: its function or arguments do not pickle"
        f" ({type(error).__name__}: {_text_of(error)})"
    )
    return RuntimeRefusedError(msg)


def _type_name(value: object) -> str:
    kind = type(value)
    module = kind.__module__
    return kind.__qualname__ if module in {"builtins", "__main__"} else f"{module}.{kind.__qualname__}"


def _requirements(wanted: Resources) -> str:
    fields = {f.name: getattr(wanted, f.name) for f in dataclasses.fields(wanted)}
    return "resources " + ", ".join(
        f"{name}={value!r}" for name, value in fields.items() if value is not None
    )


def _address(value: object) -> str | None:
    if value is None:
        return None
    text = expect_str("RayRuntime", "address", value)
    problem = address_problem(text)
    if problem is not None:
        msg = f"RayRuntime.address cannot be {text!r}: {problem}"
        raise FieldValueError(msg)
    return text


def _installer(value: object) -> Installer:
    allowed = " or ".join(repr(i) for i in get_args(Installer))
    if not isinstance(value, str):
        msg = f"RayRuntime.installer must be {allowed}, got {describe(value)} ({type(value).__name__})"
        raise FieldTypeError(msg)
    if value not in get_args(Installer):
        msg = f"RayRuntime.installer must be {allowed}, got {describe(value)}"
        raise FieldValueError(msg)
    return cast("Installer", value)


def _timeout(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        got = f"{describe(value)} ({type(value).__name__})"
        msg = f"RayRuntime.connect_timeout must be a number of seconds, got {got}"
        raise FieldTypeError(msg)
    if not math.isfinite(value) or value <= 0:
        msg = f"RayRuntime.connect_timeout must be a positive number of seconds, got {value!r}"
        raise FieldValueError(msg)
    return float(value)


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_size(value: object) -> bool:
    return _is_count(value) and cast("int", value) > 0


def _is_str_map(value: object, good: Callable[[object], bool]) -> bool:
    if not isinstance(value, Mapping):
        return False
    items = cast("Mapping[object, object]", value).items()
    return all(isinstance(key, str) and good(item) for key, item in items)


#: ``ray.init`` keywords whose values are checked when a RayRuntime is created (Ray checks the
#: others when it connects): what each must be, as ``(check, allowed)``.
_INIT_CHECKS: Final[dict[str, tuple[Callable[[object], bool], str]]] = {
    "num_cpus": (_is_count, "a whole number of CPUs, 0 or more"),
    "num_gpus": (_is_count, "a whole number of GPUs, 0 or more"),
    "memory": (_is_size, "a number of bytes above 0"),
    "object_store_memory": (_is_size, "a number of bytes above 0"),
    "resources": (
        lambda v: _is_str_map(v, lambda x: isinstance(x, int | float) and not isinstance(x, bool) and x >= 0),
        "a mapping of resource names to amounts, 0 or more",
    ),
    "labels": (lambda v: _is_str_map(v, lambda x: isinstance(x, str)), "a mapping of label names to strings"),
    "include_dashboard": (lambda v: v is None or isinstance(v, bool), "a bool or None"),
}


def _init_options(value: object) -> Mapping[str, object]:
    if value is None:
        return types.MappingProxyType({})
    if not isinstance(value, Mapping):
        msg = f"RayRuntime.init_options must be a mapping of ray.init keywords, got {describe(value)}"
        raise FieldTypeError(msg)
    options = dict(cast("Mapping[object, object]", value))
    for key in options:
        if not isinstance(key, str):
            msg = f"RayRuntime.init_options keys must be ray.init keyword names, got {describe(key)}"
            raise FieldTypeError(msg)
    if "address" in options:
        msg = "RayRuntime.init_options cannot hold 'address': pass RayRuntime(address=...)"
        raise FieldValueError(msg)
    keys = cast("dict[str, object]", options)
    if keys:
        _known_init_keywords(keys)
    for key, (good, allowed) in _INIT_CHECKS.items():
        if key in options and not good(options[key]):
            kind = FieldTypeError if not isinstance(options[key], int | float | Mapping) else FieldValueError
            msg = f"RayRuntime.init_options[{key!r}] must be {allowed}, got {describe(options[key])}"
            raise kind(msg)
    _no_job_runtime_env("init_options['runtime_env']", keys.get("runtime_env"))
    job_config = keys.get("job_config")
    if job_config is not None:
        _no_job_runtime_env(
            "the runtime_env of init_options['job_config']", getattr(job_config, "runtime_env", None)
        )
    return types.MappingProxyType(keys)


def _known_init_keywords(options: Mapping[str, object]) -> None:
    """Raise :class:`~lzy.exceptions.UnknownFieldError` for a key that is not a keyword of this
    Ray's ``ray.init`` (Ray's private ``_name`` keywords are left to Ray)."""
    init = cast("Callable[..., object]", import_ray().init)
    parameters = inspect.signature(init).parameters.values()
    named = [p.name for p in parameters if p.kind in {p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY}]
    for key in options:
        if key.startswith("_") or key in named:
            continue
        allowed = [name for name in named if name != "address"]
        msg = (
            f"RayRuntime.init_options has {key!r}, which is not a keyword of ray.init{closest(key, allowed)}"
            f" (its keywords: {', '.join(allowed)})"
        )
        raise UnknownFieldError(msg)


def _no_job_runtime_env(where: str, value: object) -> None:
    """Raise :class:`~lzy.exceptions.FieldValueError` for a job-level ``runtime_env`` with a field
    Ray would merge into every op's task (all but Ray's setup ``config``)."""
    if value is None:
        return
    if not isinstance(value, Mapping):
        msg = f"RayRuntime: {where} must be a mapping of runtime_env fields, got {describe(value)}"
        raise FieldTypeError(msg)
    fields = sorted(str(k) for k in cast("Mapping[object, object]", value) if k not in _NEUTRAL_JOB_FIELDS)
    if fields:
        msg = (
            f"RayRuntime: {where} cannot hold {', '.join(fields)}: Ray merges a job's runtime_env"
            " into every task, which would change each op's environment behind its env; describe"
            " these settings in the op's env (with_environ, with_python_env, with_container). Only"
            " 'config' (Ray's setup timeouts) is allowed there"
        )
        raise FieldValueError(msg)


def _container(env: ResolvedEnv, runtime_env: dict[str, Any], cluster: Connection) -> list[str]:
    container = env.container
    if container.container_type is None:
        return []
    if container.container_type != "docker" or container.image is None:
        return [f"a {container.container_type} container (Ray runs Docker images only)"]
    problems: list[str] = []
    if cluster.started_here and shutil.which("podman") is None:
        # The nodes of a cluster lzy started are this machine: what it lacks, they lack.
        problems.append(
            f"the image {container.image}: Ray starts the worker of an image_uri task with podman,"
            " and this machine, where the local cluster lzy started runs, has no podman on PATH;"
            " install podman, or run the op without a container"
        )
    pinned = "@" in container.image
    if container.pull_policy is PullPolicy.NEVER or (
        container.pull_policy is PullPolicy.ALWAYS and not pinned
    ):
        problems.append(
            f"pull_policy {container.pull_policy.name} for {container.image}: Ray's nodes pull an"
            " image only when they do not have it (IF_NOT_PRESENT); pin a tag or digest, or set"
            " pull_policy=IF_NOT_PRESENT"
        )
    others = sorted(runtime_env)
    if others:
        problems.append(
            f"the image {container.image} together with {', '.join(others)}: Ray runs an image_uri"
            " task with the image's Python as it is, with nothing installed or shipped beside it;"
            " put the op's packages and modules in the image and use a Python env with neither"
        )
    runtime_env["image_uri"] = container.image
    return problems


def _job_conflicts(job: Mapping[str, Any], env: ResolvedEnv) -> list[str]:
    """What the job-level ``runtime_env`` would add to the op's task: Ray gives a task every
    field of the job's that the task leaves unset, and merges ``env_vars`` key by key."""
    fields = sorted(key for key in job if key not in _NEUTRAL_JOB_FIELDS and not key.startswith("_"))
    added = [f for f in fields if f != "env_vars"]
    # Ray's own bookkeeping (``__RAY_...``) stands for a field already named.
    job_variables = cast("Mapping[str, str]", job.get("env_vars") or {})
    variables = sorted(v for v in set(job_variables) - set(env.environ) if not v.startswith("__RAY"))
    if variables:
        added.append(f"env_vars {', '.join(variables)}")
    if not added:
        return []
    return [
        f"a task without this Ray job's runtime_env ({'; '.join(added)}), which Ray merges into"
        " every task (the fields a task leaves unset are inherited, env_vars are merged key by"
        " key) and would change the op's environment; start the job without it and describe"
        " those settings in the op's env"
    ]


def _text_of(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _task_failure(name: str, error: Exception) -> Exception:
    """The lzy error for a task that failed outside the op (its env, its worker, its loading),
    or ``error`` itself when it is not Ray's."""
    if isinstance(error, _ray_error("RuntimeEnvSetupError")):
        return InstallError(f"Ray could not set up the environment of op {name}:\n{_setup_failure(error)}")
    if isinstance(error, _ray_error("RayTaskError")):
        cause = getattr(error, "cause", None)
        what = f"{type(cause).__name__}: {cause}" if cause is not None else _text_of(error)
        remote = getattr(error, "traceback_str", "")
        return OpExecutionError(f"op {name} could not start in its Ray task ({what})\n{remote}")
    if isinstance(error, _ray_error("RayError")):
        return OpExecutionError(
            f"op {name} died without a result ({type(error).__name__}: {_text_of(error)})"
        )
    return error


def _ray_error(name: str) -> type[Exception]:
    """One of the classes of ``ray.exceptions`` (imported only once Ray is connected)."""
    return cast("type[Exception]", getattr(importlib.import_module("ray.exceptions"), name))


def _setup_failure(error: BaseException) -> str:
    """Ray's message without its own traceback: the tool's words (the installer's command and
    output, or the reason) are at the end."""
    lines = str(error).strip().splitlines()
    for marker in ("SubprocessCalledProcessError:", "Error:", "Exception:"):
        at = [i for i, line in enumerate(lines) if marker in line and not line.startswith(" ")]
        if at:
            return "\n".join(lines[at[-1] :])
    return "\n".join(lines[-40:])
