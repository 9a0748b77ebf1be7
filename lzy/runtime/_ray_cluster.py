"""What :class:`~lzy.runtime.ray.RayRuntime` asks of Ray, in one place: the connection (one per
process, shared by every runtime in it), the nodes as machine specs, the cluster's Python, the
job's own ``runtime_env``, uploads of local modules, and the private ``.netrc`` of a local
cluster lzy started. Ray is imported here, lazily, and nowhere else in lzy.

Ray's Python API is described by the small protocols below, so the rest of the runtime is typed
without Ray being installed where it is type-checked.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import importlib
import importlib.util
import inspect
import json
import logging
import netrc
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Generator, Mapping, Sequence
from typing import Any, Final, Protocol, cast

from lzy.env.provisioning import MachineSpec
from lzy.exceptions import LzyWarning, MissingExtraError, RuntimeConnectionError, RuntimeRefusedError
from lzy.runtime import _ray_probe, _ray_task

__all__ = [
    "CPU_TYPE_LABEL",
    "Connection",
    "Netrc",
    "RemoteFunction",
    "address_problem",
    "connect",
    "current",
    "import_ray",
    "netrc_problem",
    "release",
    "require_ray",
]


def __dir__() -> list[str]:
    return __all__


_LOG: Final = logging.getLogger("lzy.runtime.ray")
_EXTRA: Final = "pip install 'lzy[ray]'"
#: The node label that says a node's CPU type; see :data:`lzy.runtime.ray.CPU_TYPE_LABEL`.
CPU_TYPE_LABEL: Final = "lzy/cpu-type"
#: How a node that declares no CPU type is shown.
_UNDECLARED: Final = f"no {CPU_TYPE_LABEL} label"
#: The prefix of Ray's resource that says a node's accelerator model.
_ACCELERATOR: Final = "accelerator_type:"


class RemoteFunction(Protocol):
    """A Ray remote function (``ray.remote(f)``)."""

    def options(self, **options: Any) -> RemoteFunction:
        """The same function with task options."""
        ...

    def remote(self, *args: Any, **kwargs: Any) -> object:
        """Submit a task; returns its object reference."""
        ...


class _RuntimeContext(Protocol):
    @property
    def gcs_address(self) -> str: ...

    @property
    def runtime_env(self) -> Mapping[str, Any]: ...


class _Ray(Protocol):
    """The part of the ``ray`` module the runtime uses."""

    __version__: str

    def init(self, address: str | None = None, **options: Any) -> object: ...

    def is_initialized(self) -> bool: ...

    def shutdown(self) -> None: ...

    def nodes(self) -> list[dict[str, Any]]: ...

    def remote(self, **options: Any) -> Callable[[Callable[..., Any]], RemoteFunction]: ...

    def get(self, ref: object, /) -> object: ...

    def cancel(self, ref: object, /) -> None: ...

    def get_runtime_context(self) -> _RuntimeContext: ...


def require_ray() -> None:
    """Raise :class:`~lzy.exceptions.MissingExtraError` when Ray is not installed (Ray is not
    imported: that is slow, and left to the first call that needs the cluster)."""
    if importlib.util.find_spec("ray") is None:
        msg = f"RayRuntime needs Ray, which is not installed in this environment: {_EXTRA}"
        raise MissingExtraError(msg)


def import_ray() -> _Ray:
    """The ``ray`` module, imported; :class:`~lzy.exceptions.MissingExtraError` without it."""
    require_ray()
    try:
        module = importlib.import_module("ray")
    except ImportError as error:
        msg = f"RayRuntime needs Ray, which does not import here ({error}): {_EXTRA}"
        raise MissingExtraError(msg) from error
    return cast("_Ray", module)


# -- the private .netrc of a cluster lzy starts --------------------------------------------------


_TOKEN: Final = re.compile(r"[^\s\"'\\]*")


def _user_netrc() -> dict[str, tuple[str, str]]:
    """The user's own ``.netrc`` entries (``NETRC``, else ``~/.netrc``), so the installers of a
    cluster lzy starts still see them."""
    path = os.environ.get("NETRC") or os.path.join(os.path.expanduser("~"), ".netrc")
    if not os.path.isfile(path):
        return {}
    try:
        parsed = netrc.netrc(path)
    except (OSError, netrc.NetrcParseError) as error:
        # Neither the parser's words (they quote the token it stopped at: a password cut at a
        # space) nor the OS error's (it repeats the path) are shown: only where, and what kind.
        reason = (
            f"it does not parse as a .netrc at line {error.lineno}"
            if isinstance(error, netrc.NetrcParseError)
            else (error.strerror or type(error).__name__)
        )
        warnings.warn(
            f"lzy could not read {path} ({reason}); the local Ray cluster's installers do not see it",
            LzyWarning,
            stacklevel=4,
        )
        return {}
    return {host: (login, password or "") for host, (login, _, password) in parsed.hosts.items()}


def netrc_problem(host: str, login: str, password: str) -> str | None:
    """Why ``login``/``password`` for ``host`` cannot be written to a ``.netrc``, or ``None``."""
    for what, token in (("user name", login), ("password", password)):
        if not _TOKEN.fullmatch(token):
            return (
                f"the {what} for the package index at {host} cannot be written to a .netrc"
                " (it contains whitespace, a quote or a backslash)"
            )
    return None


class Netrc:
    """A ``.netrc`` in a private temporary directory, seen by the processes of the local cluster
    lzy starts through ``NETRC``: index credentials reach the cluster's installers through it,
    never inside a URL Ray would log or put on a command line.

    It holds the user's own entries, and the credentials of the op calls running now: a call
    lends its credentials to the file while it runs (:meth:`lent`), and they are gone when it
    ends, whether its environment was built or not.
    """

    def __init__(self) -> None:
        # The directory is private to this user (mkdtemp makes it 0700) and is removed when the
        # cluster is shut down, or at exit.
        self._directory = tempfile.TemporaryDirectory(prefix="lzy-ray-")
        #: The file the cluster's processes read.
        self.path = os.path.join(self._directory.name, "netrc")
        self._own = _user_netrc()
        # host -> (the credentials lent for it, how many running calls lent them)
        self._lent: dict[str, tuple[tuple[str, str], int]] = {}
        self._changed = threading.Condition()
        self._write()

    @contextlib.contextmanager
    def lent(self, credentials: Mapping[str, tuple[str, str]], *, who: str = "an op") -> Generator[None]:
        """The installers see ``credentials`` (host: ``(login, password)``) while the block runs.

        A ``.netrc`` holds one login per host: while another call has lent other credentials for
        one of these hosts, this one waits for it to end. Values a ``.netrc`` cannot hold are
        refused (:func:`netrc_problem`).
        """
        for host, (login, password) in credentials.items():
            problem = netrc_problem(host, login, password)
            if problem is not None:
                raise RuntimeRefusedError(problem)
        with self._changed:
            told = False
            while busy := sorted(h for h, given in credentials.items() if self._other(h, given)):
                if not told:
                    _LOG.info(
                        "RayRuntime: %s waits for a running op that gave other credentials for"
                        " the package index at %s",
                        who,
                        ", ".join(busy),
                    )
                    told = True
                self._changed.wait()
            for host, given in credentials.items():
                count = self._lent[host][1] if host in self._lent else 0
                self._lent[host] = (given, count + 1)
            self._write()
        try:
            yield
        finally:
            with self._changed:
                for host, given in credentials.items():
                    count = self._lent[host][1] - 1
                    if count:
                        self._lent[host] = (given, count)
                    else:
                        del self._lent[host]
                self._write()
                self._changed.notify_all()

    def own_login(self, host: str) -> tuple[str, str] | None:
        """The login the user's own ``.netrc`` gives for ``host`` (its ``default`` entry when it
        names no such machine), or ``None``: what the installers send when a URL has none."""
        return self._own.get(host) or self._own.get("default")

    def _other(self, host: str, given: tuple[str, str]) -> bool:
        return host in self._lent and self._lent[host][0] != given

    def _write(self) -> None:
        entries = {**self._own, **{host: given for host, (given, _) in self._lent.items()}}
        lines: list[str] = []
        # ``default`` comes last: readers stop at it.
        for host, (login, password) in sorted(entries.items(), key=lambda item: item[0] == "default"):
            head = "default" if host == "default" else f"machine {host}"
            lines.append(f"{head} login {login}" + (f" password {password}" if password else ""))
        temporary = self.path + ".new"
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write("".join(f"{line}\n" for line in lines))
        os.replace(temporary, self.path)

    def close(self) -> None:
        """Remove the file and its directory."""
        self._directory.cleanup()


@contextlib.contextmanager
def _exported(variables: Mapping[str, str]) -> Generator[None]:
    """``variables`` are set in ``os.environ`` while the block runs (the processes Ray starts in it
    inherit them); the previous values are restored afterwards."""
    before = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


# -- the connection ------------------------------------------------------------------------------


@dataclasses.dataclass(eq=False)
class Connection:
    """This process's connection to a Ray cluster, shared by the runtimes that use it."""

    #: The ``ray`` module.
    ray: _Ray
    #: The address lzy connected with: ``"local"`` for a cluster it started, ``""`` when Ray was
    #: connected before lzy looked.
    address: str
    #: Whether lzy called ``ray.init``: then it shuts Ray down when its last runtime closes.
    initialized_here: bool
    #: The ``ray.init`` options lzy connected with.
    init_options: Mapping[str, object]
    #: The ``.netrc`` of the local cluster lzy started, or ``None`` for any other cluster.
    netrc: Netrc | None = None
    #: How many runtimes use the connection.
    users: int = 0
    #: The directories Ray puts first on every worker's ``sys.path`` for this process (its
    #: script's directory and working directory), which lzy's tasks take away again.
    driver_paths: tuple[str, ...] = ()
    _tasks: dict[bool, RemoteFunction] = dataclasses.field(default_factory=dict[bool, RemoteFunction])
    _python: str | None = None
    _failed: dict[str, int] = dataclasses.field(default_factory=dict[str, int])
    _failed_lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)

    @property
    def started_here(self) -> bool:
        """Whether lzy started the cluster (a local one): only that one gets index credentials."""
        return self.netrc is not None

    @property
    def gcs_address(self) -> str:
        """The address of the cluster's head (GCS)."""
        return self.ray.get_runtime_context().gcs_address

    def describe(self) -> str:
        """The cluster, for messages."""
        where = "the local Ray cluster lzy started" if self.started_here else "the Ray cluster"
        return f"{where} at {self.gcs_address}"

    def task(self, *, fresh_worker: bool) -> RemoteFunction:
        """The remote function every op call runs (:func:`lzy.runtime._ray_task.run_op`): in a
        worker process of its own when ``fresh_worker`` (Ray's ``max_calls=1``, which Ray
        accepts only here, not in a task's options), else in any idle worker of the same
        ``runtime_env``."""
        task = self._tasks.get(fresh_worker)
        if task is None:
            cloudpickle = importlib.import_module("ray.cloudpickle")
            # By value: a worker needs Ray, not lzy, to run it.
            cloudpickle.register_pickle_by_value(_ray_task)
            # max_calls 0 is Ray's default: no limit.
            remote = self.ray.remote(max_calls=1 if fresh_worker else 0)
            task = self._tasks[fresh_worker] = remote(_ray_task.run_op)
        return task

    def attempt(self, runtime_env: Mapping[str, Any]) -> int:
        """How many times ``runtime_env`` failed to build for this process's tasks."""
        with self._failed_lock:
            return self._failed.get(_env_key(runtime_env), 0)

    def failed(self, runtime_env: Mapping[str, Any]) -> None:
        """Record that ``runtime_env`` failed to build."""
        with self._failed_lock:
            key = _env_key(runtime_env)
            self._failed[key] = self._failed.get(key, 0) + 1

    def python_version(self) -> str:
        """The Python version the cluster's workers run (``major.minor.micro``)."""
        if self._python is None:
            self._python = _cluster_python() or platform.python_version()
        return self._python

    def machines(self) -> list[MachineSpec]:
        """The cluster's alive nodes, then the node types its autoscaler can add, as machine specs.

        A node's CPU type is its :data:`CPU_TYPE_LABEL` label; its GPU model is the name in its
        ``accelerator_type:NAME`` resource; its memory is its ``memory`` resource (what Ray lets
        tasks reserve).
        """
        machines: list[MachineSpec] = []
        for node in self.ray.nodes():
            if not node.get("Alive", node.get("alive", False)):
                continue
            resources = cast("Mapping[str, float]", node.get("Resources") or {})
            labels = cast("Mapping[str, str]", node.get("Labels") or {})
            address = node.get("NodeManagerAddress", "?")
            name = f"node {address} ({str(node.get('NodeID', ''))[:8]})"
            machines.append(_spec(name, resources, labels.get(CPU_TYPE_LABEL)))
        for name, resources in _autoscaler_node_types():
            machines.append(_spec(f"node type {name!r} of the autoscaler", resources, None))
        return machines

    def job_runtime_env(self) -> Mapping[str, Any]:
        """The ``runtime_env`` of this Ray job (or of the task this process runs), which Ray
        merges into every task it submits."""
        return dict(self.ray.get_runtime_context().runtime_env or {})

    def upload(self, paths: Sequence[str]) -> list[str]:
        """Upload local modules (package directories or ``.py`` files) to the cluster and return
        their ``py_modules`` URIs; a module already there is not sent again."""
        if not paths:
            return []
        module = importlib.import_module("ray._private.runtime_env.py_modules")
        upload = cast("Callable[..., dict[str, Any]]", module.upload_py_modules_if_needed)
        options: dict[str, object] = {"logger": _LOG}
        if "include_gitignore" in inspect.signature(upload).parameters:
            # A shipped module is the module as it is on disk, as the other runtimes ship it.
            options["include_gitignore"] = False
        with tempfile.TemporaryDirectory(prefix="lzy-ray-upload-") as scratch:
            try:
                uploaded = upload({"py_modules": list(paths)}, scratch_dir=scratch, **options)
            except Exception as error:
                msg = f"the local modules could not be sent to {self.describe()}: {error}"
                raise RuntimeRefusedError(msg) from error
        return list(cast("list[str]", uploaded["py_modules"]))

    def accept(self, address: str | None, init_options: Mapping[str, object]) -> None:
        """Raise unless a runtime asking for ``address`` with ``init_options`` can share it."""
        if init_options and dict(init_options) != dict(self.init_options):
            msg = (
                f"this process is already connected to {self.describe()}; init_options apply only"
                " when a RayRuntime connects, and this one gives other options than the connection's"
            )
            raise RuntimeConnectionError(msg)
        if address is None or address in {self.address, self.gcs_address}:
            return
        msg = (
            f"this process is connected to {self.describe()}, and Ray connects a process to one"
            f" cluster at a time: a RayRuntime for {address!r} cannot run here until the runtimes"
            " using that cluster are closed (RayRuntime.close())"
        )
        raise RuntimeConnectionError(msg)


def _driver_paths() -> tuple[str, ...]:
    """What Ray adds to the ``sys.path`` of this job's workers: the directory of the script this
    process runs and its working directory, as Ray recorded them in the job's config when it
    connected (each worker puts them first when it runs its first task of the job)."""
    try:
        worker = importlib.import_module("ray._private.worker").global_worker
        recorded = worker.core_worker.get_job_config().py_driver_sys_path
        return tuple(str(entry) for entry in recorded)
    except Exception:  # Another Ray keeps it elsewhere: Ray's rule, from this process.
        script = os.path.dirname(os.path.realpath(sys.argv[0])) if sys.argv and sys.argv[0] else None
        found = [script] if script is not None and script in sys.path else []
        return (*found, os.path.abspath(os.curdir))


def _env_key(runtime_env: Mapping[str, Any]) -> str:
    return json.dumps(runtime_env, sort_keys=True, default=str)


def _spec(name: str, resources: Mapping[str, float], cpu_type: str | None) -> MachineSpec:
    accelerators = sorted(key[len(_ACCELERATOR) :] for key in resources if key.startswith(_ACCELERATOR))
    return MachineSpec(
        name=name,
        cpu_type=cpu_type or _UNDECLARED,
        cpu_count=int(resources.get("CPU", 0)),
        gpu_type=accelerators[0] if accelerators else None,
        gpu_count=int(resources.get("GPU", 0)),
        ram_size_gb=float(resources.get("memory", 0)) / 2**30,
    )


def _cluster_python() -> str | None:
    """The Python version the cluster recorded when it started (what its workers run)."""
    try:
        worker = importlib.import_module("ray._private.worker").global_worker
        usage = importlib.import_module("ray._common.usage.usage_lib")
        metadata = usage.get_cluster_metadata(worker.gcs_client)
        version = metadata["python_version"]
    except Exception:  # An older or newer Ray keeps it elsewhere: the driver's version is Ray's rule.
        return None
    return version if isinstance(version, str) else None


def _autoscaler_node_types() -> list[tuple[str, Mapping[str, float]]]:
    """The node types the cluster's autoscaler says it can add (none for a fixed cluster)."""
    try:
        state = importlib.import_module("ray._private.state").state
        config = state.get_cluster_config()
    except Exception:  # No autoscaler state in this Ray, or none reported: a fixed cluster.
        return []
    if config is None:
        return []
    return [
        (str(group.name), {key: float(value) for key, value in group.resources.items()})
        for group in config.node_group_configs
        if group.max_count != 0
    ]


_LOCK: Final = threading.Lock()
_current: Connection | None = None


def connect(address: str | None, init_options: Mapping[str, object], *, timeout: float) -> Connection:
    """This process's connection to Ray, made now if there is none.

    ``address`` ``None`` takes the cluster this process is connected to, else the one
    ``RAY_ADDRESS`` names, else starts a local cluster; any other address must be the one this
    process is connected to, if it is connected. A cluster at an address must answer within
    ``timeout`` seconds. The caller must :func:`release` it.
    """
    global _current  # noqa: PLW0603 - one connection per process, as Ray has
    ray = import_ray()
    with _LOCK:
        if _current is not None and not ray.is_initialized():
            # Ray was shut down behind lzy's back: forget that connection.
            _forget(_current)
        if ray.is_initialized():
            if _current is None:
                _current = Connection(
                    ray=ray, address="", initialized_here=False, init_options={}, driver_paths=_driver_paths()
                )
            _current.accept(address, init_options)
            _current.users += 1
            return _current
        target = address if address is not None else os.environ.get("RAY_ADDRESS") or "local"
        start = target == "local"
        options: dict[str, object] = dict(init_options)
        credentials: Netrc | None = None
        environ: dict[str, str] = {}
        if start:
            options.setdefault("include_dashboard", False)
            labels = dict(cast("Mapping[str, str]", options.get("labels") or {}))
            labels.setdefault(CPU_TYPE_LABEL, platform.machine())
            options["labels"] = labels
            credentials = Netrc()
            environ["NETRC"] = credentials.path
        else:
            problem = address_problem(target)
            if problem is not None:
                where = "RAY_ADDRESS" if address is None else "the address"
                msg = f"RayRuntime cannot connect to {target!r} ({where}): {problem}"
                raise RuntimeConnectionError(msg)
        what = "start a local Ray cluster" if start else f"connect to the Ray cluster at {target!r}"
        _LOG.info("RayRuntime: about to %s", what)
        if not start:
            _probe(target, timeout)
        try:
            with _exported(environ):
                ray.init(address=target, **options)
        except Exception as error:
            if credentials is not None:
                credentials.close()
            msg = f"Ray could not {what}: {type(error).__name__}: {error}"
            raise RuntimeConnectionError(msg) from error
        _current = Connection(
            ray=ray,
            address=target,
            initialized_here=True,
            init_options=dict(init_options),
            netrc=credentials,
            users=1,
            driver_paths=_driver_paths(),
        )
        if start:
            # Runs before Ray's own exit handler, registered earlier.
            atexit.register(_at_exit, _current)
        return _current


# -- reaching a cluster at an address ------------------------------------------------------------

_HOST_PORT: Final = re.compile(r"(?P<host>\[[0-9A-Fa-f:.]+\]|[^\s:/\[\]@]+):(?P<port>[0-9]{1,5})", re.ASCII)


def address_problem(address: str) -> str | None:
    """Why ``address`` is not one RayRuntime connects to, or ``None``: ``"auto"``, ``"local"``
    or ``host:port`` (a Ray head's GCS address)."""
    if address in {"auto", "local"}:
        return None
    if address.startswith("ray://"):
        return (
            "ray:// is a Ray Client address, and RayRuntime does not run through Ray Client (it"
            " reads the cluster's nodes and uploads local modules with Ray's core API, which a Ray"
            " Client connection does not offer); run the program on a node of the cluster and give"
            " the head's address ('head:6379'), or submit it as a Ray job (ray job submit), where"
            " RayRuntime() finds the cluster by itself"
        )
    match = _HOST_PORT.fullmatch(address)
    if match is None or not 0 < int(match["port"]) < 65536:
        return "an address is 'auto', 'local' or host:port, the GCS address of a Ray head ('head:6379')"
    return None


#: What the probe child prints, step by step, on its way to the cluster.
_STEPS: Final = {
    "start": "the host name did not resolve",
    "resolved": "no connection was accepted",
    "connected": "it accepts connections but did not answer as a Ray cluster's head (GCS)",
}


def _probe(target: str, timeout: float) -> None:
    """Raise :class:`RuntimeConnectionError` saying why, unless a Ray head answers at ``target``
    within ``timeout`` seconds.

    Ray itself would retry for many minutes where nothing answers, and report a refused token
    only as a failure to connect: a child process asks first, and is stopped at the deadline.
    """
    ray_home = os.path.dirname(os.path.dirname(cast("str", importlib.import_module("ray").__file__)))
    try:
        services = importlib.import_module("ray._private.services")
        address = str(services.canonicalize_bootstrap_address_or_die(target))
    except ConnectionError as error:  # "auto" and no cluster found
        msg = f"Ray could not connect to the Ray cluster at {target!r}: {error}"
        raise RuntimeConnectionError(msg) from error
    except Exception:  # Another Ray keeps this elsewhere: Ray canonicalizes it again anyway.
        address = target
    shown = repr(target) if address == target else f"{target!r} ({address})"
    command = [sys.executable, "-P", _ray_probe.__file__, address, ray_home, str(timeout)]
    if target == "auto":
        command.append("auto")
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, check=False, stdin=subprocess.DEVNULL
        )
    except OSError as error:  # No interpreter to run it with (an embedded Python).
        msg = f"RayRuntime could not ask the Ray cluster at {shown} whether it answers: {error}"
        raise RuntimeConnectionError(msg) from error
    except subprocess.TimeoutExpired as expired:
        # What the child printed before the deadline: bytes even in text mode, in CPython.
        raw: object = expired.stdout
        printed = raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw or "")
        steps = [line for line in printed.splitlines() if line in _STEPS]
        what = _STEPS[steps[-1] if steps else "start"]
        msg = (
            f"Ray could not connect to the Ray cluster at {shown}: {what} within {timeout:g} s"
            " (RayRuntime(connect_timeout=...)); is it the GCS address of a running Ray head"
            " (port 6379 unless `ray start --port` said otherwise)?"
        )
        raise RuntimeConnectionError(msg) from None
    answer = _probe_answer(done.stdout)
    if answer is None:
        tail = "\n".join(done.stderr.strip().splitlines()[-20:])
        msg = f"Ray could not connect to the Ray cluster at {shown}: the probe failed:\n{tail}"
        raise RuntimeConnectionError(msg)
    kind, detail = answer
    if kind == "ok":
        return
    if kind == "refused" and target not in {address, "auto"}:
        raise RuntimeConnectionError(_refused_rewritten(target, address))
    msg = f"Ray could not connect to the Ray cluster at {shown}: " + _PROBE_REASONS.get(
        kind, "{detail}"
    ).format(detail=detail)
    raise RuntimeConnectionError(msg)


def _refused_rewritten(target: str, address: str) -> str:
    """The failure to connect when Ray connects to ``address`` for the ``target`` it was given
    (Ray replaces a loopback address or this machine's name by this machine's IP address), and
    ``address`` refused: whether ``target`` itself accepts connections tells why."""
    host, _, port = target.rpartition(":")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=2):
            accepted = True
    except OSError:
        accepted = False
    rewritten = (
        f"Ray connects to {address} for {target!r} (it replaces a loopback address or this"
        " machine's name by this machine's IP address)"
    )
    if accepted:
        return (
            f"Ray could not connect to the Ray cluster at {target!r}: {rewritten}, and nothing"
            f" accepts connections at {address}, while {target} does: a head that listens on"
            " loopback only cannot be reached this way; start it on this machine's address (ray"
            " start --head --node-ip-address=ADDRESS) and give RayRuntime that address"
        )
    return (
        f"Ray could not connect to the Ray cluster at {target!r}: {rewritten}; nothing accepts"
        f" connections at {address}, nor at {target} itself (connection refused at both); is the"
        " head running, and is this its GCS port (6379 unless `ray start --port` said otherwise)?"
    )


#: What each failure the probe reports means (``detail`` is the probe's own words).
_PROBE_REASONS: Final = {
    "resolve": "its host name does not resolve ({detail})",
    "refused": (
        "nothing accepts connections there (connection refused); is the head running, and is"
        " this its GCS port (6379 unless `ray start --port` said otherwise)?"
    ),
    "unreachable": "it cannot be reached ({detail})",
    "auth": (
        "the cluster uses Ray's token authentication and refused this process, which has no"
        " token or another one. Give this process the cluster's token (the RAY_AUTH_TOKEN"
        " variable, a file named by RAY_AUTH_TOKEN_PATH, or ~/.ray/auth_token) and turn token"
        " authentication on in it (the RAY_AUTH_MODE variable set to token). Ray says: {detail}"
    ),
    "gcs": "it did not answer as a Ray cluster's head (GCS): {detail}",
}


def _probe_answer(printed: str) -> tuple[str, str] | None:
    for line in reversed(printed.splitlines()):
        if line.startswith("{"):
            try:
                answer = json.loads(line)
            except ValueError:
                return None
            if isinstance(answer, dict):
                fields = cast("dict[str, object]", answer)
                return str(fields.get("kind")), str(fields.get("detail", ""))
    return None


def release(connection: Connection) -> None:
    """One runtime stops using ``connection``; the last one shuts down what lzy started."""
    with _LOCK:
        connection.users -= 1
        if connection.users > 0 or connection is not _current:
            return
        _shut_down(connection)


def _shut_down(connection: Connection) -> None:
    """Disconnect, or stop the cluster lzy started: then the environments Ray built for its ops
    go too (gigabytes of virtualenvs under the session directory, which Ray keeps); its logs
    stay."""
    if connection.initialized_here and connection.ray.is_initialized():
        session = _session_dir() if connection.started_here else None
        connection.ray.shutdown()
        if session is not None:
            _remove_soon(os.path.join(session, "runtime_resources"))
    _forget(connection)


#: Removals of built environments still running (kept so that they are not reported as lost).
_REMOVALS: Final[list[subprocess.Popen[bytes]]] = []


def _remove_soon(folder: str) -> None:
    """Remove ``folder`` without waiting for it: it leaves its place at once (renamed), and a
    process of its own deletes it (gigabytes of virtualenvs take seconds), even after this one
    exits. Where no such process can start, it is deleted here."""
    trash = f"{folder}.removed-{os.getpid()}-{time.monotonic_ns()}"
    try:
        os.rename(folder, trash)
    except OSError:  # Nothing was built, or it cannot move: deleted where it is.
        shutil.rmtree(folder, ignore_errors=True)
        return
    code = "import shutil, sys; shutil.rmtree(sys.argv[1], ignore_errors=True)"
    _REMOVALS[:] = [removal for removal in _REMOVALS if removal.poll() is None]
    try:
        _REMOVALS.append(
            subprocess.Popen(
                [sys.executable, "-I", "-c", code, trash],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        )
    except OSError:  # No interpreter to run it with (an embedded Python).
        shutil.rmtree(trash, ignore_errors=True)


def _session_dir() -> str | None:
    try:
        node = importlib.import_module("ray._private.worker").global_worker.node
        return str(node.get_session_dir_path())
    except Exception:  # Another Ray keeps it elsewhere: its files stay, as Ray leaves them.
        return None


def _at_exit(connection: Connection) -> None:
    """A cluster lzy started, still running when the process exits, is stopped as by close()."""
    with _LOCK:
        if connection is _current:
            _shut_down(connection)


def _forget(connection: Connection) -> None:
    global _current  # noqa: PLW0603 - see connect()
    if connection.netrc is not None:
        connection.netrc.close()
    if _current is connection:
        _current = None


def current() -> Connection | None:
    """The connection lzy holds now, if any (for tests and diagnostics)."""
    return _current
