"""The store of built environments and shipped module copies under lzy's cache directory.

Layout under the root (``$LZY_CACHE_DIR`` or the user's cache directory)::

    envs/<key>/                  a virtualenv, usable once its marker exists
    envs/<key>/.lzy-env.json     the marker: written last, atomically, when the build succeeded
    envs/<key>/.lzy-in-use/      one file per running op (pid), so cleaning spares it
    envs/<key>.lock              held while the env is built, taken into use, or removed
    modules/<fingerprint>/       copies of an op's local modules, by their content
    modules/<fingerprint>.in-use/  one file per running op that imports from the copy
    support/<digest>/            links to lzy and its requirements (see _support)
    tmp/install-<key>-<pid>.<start>-<random>/
                                 a build's scratch (its .netrc, and a token naming each
                                 installer running), removed when the build ends, or by a
                                 later build or cleaning once the process named is gone

An env directory without a valid marker (a build that crashed or was interrupted) is never used:
the next build removes it first. Two builds of one key, in threads or processes, take the lock:
the first builds, the second finds the marker and uses the result. Taking an env into use
happens under the same lock, so cleaning (which takes it too) never removes an env between the
moment a call found it and the moment it marked it in use. Lock files stay: removing one that a
process waits on would let a third lock a new file of the same name.

A build killed outright may leave its installer running (it leads a process group of its own,
so it outlives the build's process): the next build of any env, before it removes a directory
to build it anew, and cleaning stop the installers of every build whose process is gone.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import errno
import functools
import hashlib
import itertools
import json
import logging
import os
import re
import shutil
import signal
import ssl
import stat
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Generator, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Final, Literal, cast

from packaging.utils import canonicalize_name

from lzy.env._base import immutable, redact_url, split_credentials
from lzy.env.install import InstallMethod, InstallPlan, Interpreter
from lzy.exceptions import InstallError, RuntimeRefusedError
from lzy.runtime._process import pid_alive

__all__ = ["CachedEnv", "EnvState", "EnvStore", "Installer", "InterpreterGoneError", "unwritable"]


def __dir__() -> list[str]:
    return __all__


_log = logging.getLogger("lzy.runtime.isolated")

#: Which program installs packages: uv (from its PyPI package), pip, or uv when it runs here.
Installer = Literal["auto", "uv", "pip"]
#: Where a cached environment stands (:attr:`CachedEnv.state`).
EnvState = Literal["complete", "building", "incomplete"]

MARKER: Final = ".lzy-env.json"
IN_USE: Final = ".lzy-in-use"
#: Variables an installer may see from this process: the rest (``PIP_*``, ``UV_*`` settings,
#: ``PYTHONPATH``...) would change what gets installed, so the plan alone decides that.
_INSTALLER_VARIABLES: Final = frozenset(
    {
        "PATH",
        "HOME",
        "USER",
        "LOGNAME",
        "LANG",
        "LC_ALL",
        "LC_CTYPE",
        "TMPDIR",
        "TEMP",
        "TMP",
        "SYSTEMROOT",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "NO_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
        "no_proxy",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "UV_CACHE_DIR",
        "UV_NATIVE_TLS",
        "UV_PYTHON_INSTALL_DIR",
        "PIP_CACHE_DIR",
    }
)
_TRIM_LINES: Final = 40
#: Scratch directories older than this are from a build that was killed: removed.
_STALE_SCRATCH_SECONDS: Final = 24 * 3600.0
#: How long an installer left running by a killed build is given to exit, after SIGTERM and
#: again after SIGKILL.
_ORPHAN_SECONDS: Final = 5.0
_counter = itertools.count()


class InterpreterGoneError(RuntimeRefusedError):
    """The interpreter a plan names is no longer on this machine (the runtime looks again)."""


@immutable
@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class CachedEnv:
    """One environment in the store."""

    #: The plan's key (:attr:`~lzy.env.install.InstallPlan.key`), the directory's name.
    key: str
    #: The directory of the environment.
    path: Path
    #: The Python version it runs (``None`` when the build never finished).
    python_version: str | None
    #: The pinned distributions, ``name==version``.
    requirements: tuple[str, ...]
    #: When it was built (``None`` when the build never finished).
    built: datetime.datetime | None
    #: When an op last ran in it.
    last_used: datetime.datetime | None
    #: Whether it is complete; an incomplete one is rebuilt, never used.
    complete: bool
    #: Whether an op runs in it right now.
    in_use: bool
    #: ``"complete"``: built, and used by the ops of its key; ``"building"``: a thread or
    #: process builds it right now (it holds the env's lock); ``"incomplete"``: its build
    #: never finished (it failed, or its process was killed), so the next build of its key,
    #: or :meth:`~lzy.runtime.isolated.IsolatedRuntime.clean_cache`, removes it.
    state: Literal["complete", "building", "incomplete"] = "complete"


def _boot_id() -> str:
    """This boot of the machine, where the system says (Linux), else ``"0"``."""
    try:
        text = Path("/proc/sys/kernel/random/boot_id").read_text(encoding="ascii")
    except OSError:
        return "0"
    return "".join(c for c in text if c.isalnum())[:12] or "0"


def _started(pid: int) -> str | None:
    """When process ``pid`` started, as ``<boot>.<clock ticks since boot>`` (Linux); ``None``
    where the system does not say, or the process is gone or a zombie (it runs no more)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may hold anything: count after it.
    fields = text[text.rfind(")") + 2 :].split()
    if len(fields) < 20 or fields[0] in {"Z", "X"}:
        return None
    return f"{_boot_id()}.{fields[19]}"


def _identity(pid: int) -> str:
    """A name for process ``pid`` that a later process of the same pid does not share: its pid
    and start (just its pid where the system does not tell the start)."""
    return f"{pid}.{_started(pid) or 'x'}"


_own: list[tuple[int, str]] = []


def _own_identity() -> str:
    """:func:`_identity` of this process (asked once, and again in a forked child)."""
    pid = os.getpid()
    if not _own or _own[0][0] != pid:
        _own[:] = [(pid, _identity(pid))]
    return _own[0][1]


def _alive(identity: str) -> bool:
    """Whether the process :func:`_identity` named runs still (not another one of its pid)."""
    pid, _, started = identity.partition(".")
    if not pid.isdigit() or not pid_alive(int(pid)):
        return False
    if started in {"", "x"} or not Path("/proc/self/stat").exists():
        return True  # the system does not tell starts apart: a live pid is taken as alive
    return _started(int(pid)) == started


def _python_of(env: Path) -> Path:
    return env / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


_URL_WITH_CREDENTIALS: Final = re.compile(r"(\w+://)[^/@\s]*@")


def _trimmed(text: str, secrets: Sequence[str]) -> str:
    """The last lines of an installer's output, indented, any credentials masked: by their
    place in a URL, and a secret long enough to mask without garbling ordinary words."""
    text = _URL_WITH_CREDENTIALS.sub(r"\1***@", text)
    for secret in secrets:
        if len(secret) >= 8:
            text = text.replace(secret, "***")
    lines = text.strip().splitlines()
    if len(lines) > _TRIM_LINES:
        lines = [f"[... {len(lines) - _TRIM_LINES} earlier lines]", *lines[-_TRIM_LINES:]]
    return "\n".join("  " + line for line in lines)


def _hint(words: str) -> str:
    """What to do, by what the installer said."""
    lowered = words.lower()
    if "no space left" in lowered:
        return "The disk is full: free some space (clean_cache() removes unused environments)."
    if any(w in lowered for w in ("no solution", "not found", "no matching distribution", "could not find")):
        return "Check the pins and the indexes (ResolvedEnv.explain() says why each pin was chosen)."
    return "The installer's words above say why."


class _Progress:
    """A one-line progress display on a terminal: phase and seconds, until stopped."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._start = time.monotonic()

    def __enter__(self) -> _Progress:
        if sys.stderr.isatty():
            self._thread = threading.Thread(target=self._show, daemon=True)
            self._thread.start()
        return self

    def _show(self) -> None:
        frames = itertools.cycle("|/-\\")
        while not self._stop.wait(0.2):
            seconds = time.monotonic() - self._start
            sys.stderr.write(f"\r{next(frames)} lzy: {self._text} ({seconds:.0f} s)\x1b[K")
            sys.stderr.flush()

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()


@contextlib.contextmanager
def _marked_in_use(folder: Path) -> Generator[None]:
    """A token file in ``folder`` while the block runs: cleaning spares what it marks. A cache
    that cannot be written (read-only) is used unmarked."""
    token = folder / f"{_own_identity()}-{threading.get_ident()}-{next(_counter)}"
    try:
        folder.mkdir(exist_ok=True)
        token.touch()
    except OSError as error:
        _log.debug("cannot mark %s in use: %s", folder.parent, error)
        yield
        return
    try:
        yield
    finally:
        token.unlink(missing_ok=True)


def _in_use(folder: Path) -> bool:
    """Whether a live process holds a token in ``folder`` (tokens of dead ones are removed)."""
    if not folder.is_dir():
        return False
    alive = False
    for token in folder.iterdir():
        if _alive(token.name.split("-", 1)[0]):  # not a later process of the same pid
            alive = True
        else:
            token.unlink(missing_ok=True)  # a process that died mid-run
    return alive


def unwritable(root: Path, what: Path, error: OSError) -> RuntimeRefusedError:
    """The refusal for a cache directory that cannot be written."""
    msg = (
        f"lzy's cache directory {root} cannot be written ({what}: {error.strerror or error});"
        " set LZY_CACHE_DIR, or IsolatedRuntime(cache_dir=...), to a writable directory"
    )
    return RuntimeRefusedError(msg)


@contextlib.contextmanager
def _lock(path: Path) -> Generator[None]:
    """Hold the file lock at ``path`` (saying so when another process holds it first)."""
    from filelock import FileLock, Timeout  # noqa: PLC0415 - needed only when an env is used

    lock = FileLock(str(path))
    try:
        lock.acquire(blocking=False)
    except Timeout:
        _log.info("waiting for another process to finish with %s", path.stem[:12])
        lock.acquire()
    try:
        yield
    finally:
        lock.release()


def _scratch_owner(name: str) -> tuple[str, str] | None:
    """The key (its first 16 characters) and the owner (:func:`_identity`) of a scratch
    directory ``install-<key>-<owner>-<random>``; ``None`` for another name."""
    parts = name.split("-")
    if len(parts) != 4 or parts[0] != "install":
        return None
    return parts[1], parts[2]


def _signal_group(identity: str, number: int) -> None:
    """Send signal ``number`` to the process group an installer leads (it was started in a
    session of its own), or to the process alone where groups are unknown."""
    pid = int(identity.partition(".")[0])
    with contextlib.suppress(OSError):
        if hasattr(os, "killpg"):
            os.killpg(pid, number)
        else:  # pragma: no cover - Windows
            os.kill(pid, number)


def _wait_gone(identity: str, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while _alive(identity):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


def _stop_orphans(scratch: Path) -> None:
    """Stop the installers a build that was killed left running, and wait until they exit: they
    would go on writing into an environment directory the next build makes anew."""
    for token in sorted(scratch.glob("installer-*")):
        identity = token.name.partition("-")[2]
        if identity.endswith(".x") or not _alive(identity):
            # Gone, or its start unknown (the system does not tell it): a pid alone may be
            # another process's by now, which is never signalled.
            continue
        _log.info("stopping the installer (pid %s) of a build that was killed", identity.partition(".")[0])
        _signal_group(identity, signal.SIGTERM)
        if not _wait_gone(identity, _ORPHAN_SECONDS):
            _signal_group(identity, getattr(signal, "SIGKILL", signal.SIGTERM))
            if not _wait_gone(identity, _ORPHAN_SECONDS):
                msg = (
                    f"the installer (pid {identity.partition('.')[0]}) of a build that was killed"
                    " does not exit; stop it, then try again"
                )
                raise InstallError(msg)


def _sweep_scratch(root: Path) -> None:
    """Remove the scratch directories (a plaintext ``.netrc`` among their files) of builds
    whose process is gone, after stopping the installers they left running. A live process's
    scratch is never touched; one of an older layout is removed after a day."""
    try:
        found = sorted((root / "tmp").iterdir())
    except OSError:  # none yet, or not ours to read: nothing to sweep
        return
    for scratch in found:
        owner = _scratch_owner(scratch.name)
        if owner is not None and _alive(owner[1]):
            continue
        with contextlib.suppress(OSError):
            if owner is None and time.time() - scratch.stat().st_mtime <= _STALE_SCRATCH_SECONDS:
                continue
            _stop_orphans(scratch)
            _log.debug("removing the scratch directory %s of a build that was killed", scratch.name)
            shutil.rmtree(scratch, ignore_errors=True)


def _lock_held(path: Path) -> bool:
    """Whether another thread or process holds the file lock at ``path`` right now."""
    from filelock import FileLock, Timeout  # noqa: PLC0415 - needed only when listing

    lock = FileLock(str(path))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        return True
    except OSError:
        return False
    lock.release()
    return False


class EnvStore:
    """Builds, finds, lists and cleans environments and module copies under one root."""

    def __init__(self, root: Path, *, installer: Installer = "auto") -> None:
        #: The root directory.
        self.root = root
        #: Which installer builds environments.
        self.installer: Installer = installer
        #: How many environments this store built (not found) in this process.
        self.builds = 0
        self._builds_lock = threading.Lock()

    # -- environments --------------------------------------------------------------------------

    def env_dir(self, plan: InstallPlan) -> Path:
        """Where the environment of ``plan`` lives."""
        return self.root / "envs" / plan.key

    @contextlib.contextmanager
    def use(self, plan: InstallPlan) -> Generator[Path]:
        """The interpreter of ``plan``'s environment, found complete or built now (once, across
        threads and processes), marked in use while the block runs."""
        env = self.env_dir(plan)
        try:
            env.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise unwritable(self.root, env.parent, error) from error
        with contextlib.ExitStack() as stack:
            with _lock(env.with_suffix(".lock")):
                built = False
                if not self._usable(env, plan):
                    # Installers a killed build of this env left running are stopped first: they
                    # would write into the directory this build makes anew.
                    _sweep_scratch(self.root)
                    if env.exists():
                        _log.info("removing env %s: its build never finished", plan.key[:12])
                        shutil.rmtree(env)
                    self._build(plan, env)
                    built = True
                stack.enter_context(_marked_in_use(env / IN_USE))
            if built:
                _remember_credentials(plan)  # the installer just used them
            else:
                _check_credentials(plan)
            with contextlib.suppress(OSError):
                os.utime(env / MARKER)
            yield _python_of(env)

    def _usable(self, env: Path, plan: InstallPlan) -> bool:
        """Complete (a marker of this plan, readable) and runnable (its interpreter is there)."""
        try:
            record: object = json.loads((env / MARKER).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False
        key = cast("dict[str, object]", record).get("key") if isinstance(record, dict) else None
        return key == plan.key and _python_of(env).exists()

    def _uv(self) -> str | None:
        if self.installer == "pip":
            return None
        try:
            import uv  # noqa: PLC0415 - optional at run time: pip is the fallback

            binary: str | None = uv.find_uv_bin()
        except (ImportError, FileNotFoundError):
            binary = None
        if binary is None and self.installer == "uv":
            msg = "IsolatedRuntime(installer='uv'): uv is not installed here (pip install uv)"
            raise RuntimeRefusedError(msg)
        return binary

    @contextlib.contextmanager
    def _scratch(self, plan: InstallPlan) -> Generator[Path]:
        """A private scratch directory under the cache (the installer's .netrc goes there),
        removed afterwards. Its name says whose it is (the key, and this process's pid and
        start), so one left by a killed build is removed by a later build or by cleaning, and
        a live process's never is."""
        folder = self.root / "tmp"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            prefix = f"install-{plan.key[:16]}-{_own_identity()}-"
            scratch = Path(tempfile.mkdtemp(prefix=prefix, dir=folder))
        except OSError as error:
            raise unwritable(self.root, folder, error) from error
        try:
            yield scratch
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def _pip(
        self, base: Interpreter, env: Path, environ: Mapping[str, str], plan: InstallPlan, scratch: Path
    ) -> list[str]:
        """The pip command that installs into ``env``: this interpreter's pip when it is of the
        same Python (and has pip), else the environment's own, installed with ensurepip."""
        same = base.version.split(".")[:2] == [str(v) for v in sys.version_info[:2]]
        import importlib.util  # noqa: PLC0415 - only with pip as the installer

        if same and importlib.util.find_spec("pip") is not None:
            return [sys.executable, "-m", "pip", "--python", str(_python_of(env))]
        command = [str(_python_of(env)), "-m", "ensurepip", "--default-pip"]
        self._run(command, environ, plan, scratch, what="give it pip")
        return [str(_python_of(env)), "-m", "pip"]

    def _build(self, plan: InstallPlan, env: Path) -> None:
        started = time.monotonic()
        if plan.method is not InstallMethod.VIRTUALENV or plan.interpreter is None:
            msg = f"the isolated runtime builds virtualenvs only, not a {plan.method.value} plan"
            raise RuntimeRefusedError(msg)
        base = plan.interpreter
        if not Path(base.path).exists():
            msg = f"the interpreter {base.path} (Python {base.version}) is no longer on this machine"
            raise InterpreterGoneError(msg)
        uv = self._uv()
        tool = "uv" if uv is not None else "pip"
        _log.info("building env %s: Python %s (%s), %s", plan.key[:12], base.version, base.path, tool)
        with self._scratch(plan) as scratch:
            environ = self._installer_environ(plan, scratch)
            if uv is not None:
                create = [uv, "venv", "--no-config", "--no-project", "--quiet", "--python", base.path]
            else:
                create = [base.path, "-m", "venv", "--without-pip"]
            with _Progress(f"creating a virtualenv of Python {base.version}"):
                self._run([*create, str(env)], environ, plan, scratch, what="create the virtualenv")
            if plan.packages:
                requirements = scratch / "requirements.txt"
                requirements.write_text("\n".join(plan.requirements()) + "\n", encoding="utf-8")
                if uv is not None:
                    install = [uv, "pip", "install", "--no-config", "--python", str(_python_of(env))]
                    install += _uv_index_options(plan)
                else:
                    install = [*self._pip(base, env, environ, plan, scratch), "install", "--isolated"]
                    install += ["--no-input", "--disable-pip-version-check", *plan.index_options()]
                install += ["-r", str(requirements)]
                count = len(plan.packages)
                _log.info("installing %d pinned distributions into env %s", count, plan.key[:12])
                with _Progress(f"installing {count} distributions with {tool}"):
                    self._run(install, environ, plan, scratch, what="install the pinned distributions")
        seconds = time.monotonic() - started
        self._mark(plan, env, tool=tool, seconds=seconds)
        with self._builds_lock:
            self.builds += 1
        _log.info("env %s ready in %.1f s", plan.key[:12], seconds)

    def _installer_environ(self, plan: InstallPlan, scratch: Path) -> dict[str, str]:
        environ = {k: v for k, v in os.environ.items() if k in _INSTALLER_VARIABLES or k.startswith("LC_")}
        netrc = plan.netrc()
        if netrc is not None:
            path = scratch / "netrc"
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
                stream.write(netrc)
            environ["NETRC"] = str(path)
        return environ

    def _run(
        self, command: list[str], environ: Mapping[str, str], plan: InstallPlan, scratch: Path, *, what: str
    ) -> None:
        """Run one installer command. It leads a process group of its own, named by a token in
        ``scratch`` while it runs, so a later build can stop what it left running if this
        process is killed; an interrupted build stops it at once."""
        try:
            process = subprocess.Popen(
                command,
                env=dict(environ),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                start_new_session=True,
            )
        except OSError as error:
            msg = f"cannot {what} of the op's environment: {command[0]} did not start ({error})"
            raise InstallError(msg) from error
        token = scratch / f"installer-{_identity(process.pid)}"
        try:
            with contextlib.suppress(OSError):
                token.touch()
            stdout, stderr = process.communicate()
        except BaseException:
            _signal_group(f"{process.pid}.x", getattr(signal, "SIGKILL", signal.SIGTERM))
            process.wait()
            raise
        finally:
            token.unlink(missing_ok=True)
        done = subprocess.CompletedProcess(command, process.returncode, stdout, stderr)
        if done.returncode == 0:
            return
        output = done.stderr or done.stdout
        secrets = [
            found[1]
            for url in (plan.index_url, *plan.extra_index_urls)
            if url is not None and (found := split_credentials(url)[1]) is not None
        ]
        named = [
            requirement
            for requirement in plan.requirements()
            if requirement.split("==")[0].lower() in (done.stderr + done.stdout).lower()
        ]
        packages = f"\nThe packages it names: {', '.join(named)}." if named else ""
        refused = _refused_credentials(plan)
        shown = " ".join(redact_url(part) if "://" in part else part for part in command)
        msg = (
            f"could not {what} of the op's environment (Python {plan.python_version}):"
            f" {Path(command[0]).name} exited with code {done.returncode}.{packages}{refused}\n"
            f"The command: {shown}\nIt said:\n{_trimmed(output, secrets)}\n{_hint(output)}"
        )
        raise InstallError(msg)

    def _mark(self, plan: InstallPlan, env: Path, *, tool: str, seconds: float) -> None:
        record = {
            "key": plan.key,
            "python_version": plan.interpreter.version if plan.interpreter else plan.python_version,
            "requirements": list(plan.requirements()),
            "indexes": [redact_url(u) for u in (plan.index_url, *plan.extra_index_urls) if u],
            "installer": tool,
            "seconds": round(seconds, 3),
            "built": datetime.datetime.now(datetime.UTC).isoformat(),
        }
        temporary = env / f"{MARKER}.tmp"
        temporary.write_text(json.dumps(record, indent=2), encoding="utf-8")
        os.replace(temporary, env / MARKER)

    def envs(self) -> list[CachedEnv]:
        """Every environment in the store, complete or not, by key."""
        folder = self.root / "envs"
        found: list[CachedEnv] = []
        for env in sorted(folder.iterdir() if folder.is_dir() else ()):
            if not env.is_dir():
                continue
            record: dict[str, object] = {}
            with contextlib.suppress(OSError, ValueError, TypeError):
                record = dict(json.loads((env / MARKER).read_text(encoding="utf-8")))
            used = None
            with contextlib.suppress(OSError):
                used = datetime.datetime.fromtimestamp((env / MARKER).stat().st_mtime, datetime.UTC)
            built = record.get("built")
            complete = record.get("key") == env.name
            state: EnvState = "complete" if complete else "incomplete"
            if not complete and _lock_held(env.with_suffix(".lock")):
                state = "building"
            found.append(
                CachedEnv(
                    key=env.name,
                    path=env,
                    python_version=str(record["python_version"]) if "python_version" in record else None,
                    requirements=_strings(record.get("requirements")),
                    built=datetime.datetime.fromisoformat(built) if isinstance(built, str) else None,
                    last_used=used,
                    complete=complete,
                    in_use=_in_use(env / IN_USE),
                    state=state,
                )
            )
        return found

    def clean(self, *, older_than: datetime.timedelta | None = None) -> list[CachedEnv]:
        """Remove environments and module copies not used for ``older_than`` (all when
        ``None``), every unfinished environment, and the scratch directories of builds whose
        process is gone (after stopping the installers they left running); what a running op
        uses, and what a live build is making, is kept. Returns the environments removed.

        The lock file of each environment (``envs/<key>.lock``, empty) stays: a process may be
        waiting on it, and one that removed it would let a third process lock a new file of the
        same name while the waiting one goes ahead: two builds of one env at once.
        """
        from filelock import FileLock, Timeout  # noqa: PLC0415 - needed only here

        now = time.time()
        limit = None if older_than is None else older_than.total_seconds()
        removed: list[CachedEnv] = []
        for env in self.envs():
            last = env.last_used.timestamp() if env.last_used is not None else None
            stale = limit is None or last is None or now - last >= limit
            if env.complete and not stale:
                continue
            lock = FileLock(str(env.path.with_suffix(".lock")))
            try:
                lock.acquire(timeout=0)
            except Timeout:
                continue  # being built or taken into use right now
            try:
                if _in_use(env.path / IN_USE):
                    continue
                if not env.complete:
                    _sweep_scratch(self.root)  # no installer of a killed build writes there now
                shutil.rmtree(env.path, ignore_errors=True)
                removed.append(env)
            finally:
                lock.release()
        _sweep_scratch(self.root)
        modules = self.root / "modules"
        for copy in sorted(modules.iterdir() if modules.is_dir() else ()):
            if copy.name.startswith(".tmp-"):  # a copy being made, or one a killed process began
                owner = copy.name.split("-")[1] if copy.name.count("-") == 2 else ""
                if owner and not _alive(owner):
                    shutil.rmtree(copy, ignore_errors=True)
                continue
            if not copy.is_dir() or copy.name.endswith(".in-use"):
                continue
            with contextlib.suppress(OSError):
                stale = limit is None or now - copy.stat().st_mtime >= limit
                if stale and not _in_use(copy.with_name(f"{copy.name}.in-use")):
                    shutil.rmtree(copy, ignore_errors=True)
                    shutil.rmtree(copy.with_name(f"{copy.name}.in-use"), ignore_errors=True)
        return removed

    # -- shipped modules -----------------------------------------------------------------------

    @contextlib.contextmanager
    def shipped(self, paths: Sequence[str]) -> Generator[Path | None]:
        """A directory holding copies of the local modules ``paths`` (files or packages), by
        their content: the same files give the same directory, made once. Marked in use while
        the block runs. ``None`` for no paths.

        Portions of one namespace package (directories of the same name without
        ``__init__.py``) are merged, as the import system merges them; two other modules of one
        name cannot both be imported, and are refused.
        """
        if not paths:
            yield None
            return
        names = _by_name(paths)
        final = self.root / "modules" / _fingerprint(names)
        try:
            if not final.is_dir():
                final.parent.mkdir(parents=True, exist_ok=True)
                _copy(names, final)
            os.utime(final)
        except OSError as error:
            raise unwritable(self.root, final, error) from error
        with _marked_in_use(final.with_name(f"{final.name}.in-use")):
            yield final


def _by_name(paths: Sequence[str]) -> dict[str, list[Path]]:
    """The shipped paths by the name they are imported by; a clash that is not a namespace
    package's portions is refused."""
    names: dict[str, list[Path]] = {}
    for path in dict.fromkeys(paths):
        source = Path(path)
        names.setdefault(source.name, []).append(source)
    for name, sources in names.items():
        portions = [s for s in sources if s.is_dir() and not (s / "__init__.py").exists()]
        if len(sources) > 1 and len(portions) != len(sources):
            listed = " and ".join(str(s) for s in sources)
            msg = (
                f"two local modules are both called {name!r} ({listed}); a module is imported by"
                " its name, so only the portions of a namespace package (directories without"
                " __init__.py) may share one"
            )
            raise RuntimeRefusedError(msg)
    return names


def _fingerprint(names: Mapping[str, Sequence[Path]]) -> str:
    """A digest of the files' names and identities (size, change time, inode): a file replaced
    at the same size and mtime still gets a new fingerprint."""
    digest = hashlib.sha256()
    for name, sources in sorted(names.items()):
        for source in sources:
            for relative, _, status in _module_files(source, report=False):
                identity = f"{status.st_size}\0{status.st_mtime_ns}\0{status.st_ctime_ns}\0{status.st_ino}"
                digest.update(f"{name}\0{source}\0{relative}\0{identity}\n".encode())
    return digest.hexdigest()[:24]


def _copy(names: Mapping[str, Sequence[Path]], final: Path) -> None:
    """Copy each module into a staging directory, then move it into place atomically. What
    cannot be read is a refusal naming the module and the entry; what cannot be written, an
    :class:`OSError` (the cache's)."""
    staging = Path(tempfile.mkdtemp(prefix=f".tmp-{_own_identity()}-", dir=final.parent))
    try:
        for name, sources in names.items():
            for source in sources:
                for relative, path, _ in _module_files(source, report=True):
                    target = staging / name / relative if relative else staging / name
                    target.parent.mkdir(parents=True, exist_ok=True)
                    _copy_file(source, relative, path, target)
                if source.is_dir():
                    (staging / name).mkdir(exist_ok=True)  # an empty package is still one
        staging.rename(final)
    except BaseException as error:
        shutil.rmtree(staging, ignore_errors=True)
        if isinstance(error, OSError) and final.is_dir():
            return  # another thread or process made the same copy first
        raise


def _copy_file(source: Path, relative: str, path: Path, target: Path) -> None:
    try:
        reading = path.open("rb")
    except OSError as error:
        raise _unreadable(source, relative, error) from error
    with reading, target.open("wb") as writing:
        shutil.copyfileobj(reading, writing)
    shutil.copystat(path, target)


def _uv_index_options(plan: InstallPlan) -> list[str]:
    """uv's options for the plan's indexes (:func:`uv_index_options`)."""
    return uv_index_options(plan.index_url, plan.extra_index_urls)


def uv_index_options(index_url: str | None, extra_index_urls: Sequence[str]) -> list[str]:
    """uv's options for these indexes, so that uv takes each pin from where the explorer found
    it: the first index, in the order ``index_url``, ``extra_index_urls``, that has files of
    the pinned version. Credentials are taken out of the URLs (they travel in a ``.netrc``).

    uv searches ``--index`` values in the order given, then ``--default-index``; with
    ``unsafe-best-match`` it looks for a package on every index (pip's way, where an extra
    index lists the project without the pinned version) and takes a version from the first
    index that has it. pip has no order: it takes a version's best file from any index.
    """
    if index_url is None:
        return [
            option for url in extra_index_urls for option in ("--extra-index-url", split_credentials(url)[0])
        ]
    urls = [split_credentials(url)[0] for url in (index_url, *extra_index_urls)]
    options = ["--index-strategy", "unsafe-best-match"]
    for url in urls[:-1]:
        options += ["--index", url]
    return [*options, "--default-index", urls[-1]]


def _unreadable(source: Path, relative: str, error: OSError) -> RuntimeRefusedError:
    entry = f"its entry {relative!r}" if relative else "it"
    msg = (
        f"the local module {source} cannot be shipped: {entry} cannot be read"
        f" ({error.strerror or error}); fix it, or leave it out of local_module_paths"
    )
    return RuntimeRefusedError(msg)


def _kind(mode: int) -> str:
    """What a file that is neither a regular file nor a directory is, in words."""
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "a special file"


def _module_files(source: Path, *, report: bool) -> Iterator[tuple[str, Path, os.stat_result]]:
    """Every regular file of the local module ``source`` (``""`` for ``source`` itself when it
    is a file): its path relative to ``source``, its path, its status; in a stable order.

    Links are followed, to files and to directories, except a link to a directory the walk is
    inside already (a loop), which is not followed. Broken links, link loops and special files
    (named pipes, sockets, devices) are left out, each named in a log line when ``report``. An
    entry that cannot be read is a :class:`~lzy.exceptions.RuntimeRefusedError` naming the
    module and the entry.
    """
    try:
        status = source.stat()
    except OSError as error:
        raise _unreadable(source, "", error) from error
    if stat.S_ISREG(status.st_mode):
        yield "", source, status
        return
    if not stat.S_ISDIR(status.st_mode):
        msg = f"the local module {source} is {_kind(status.st_mode)}, not a Python file or package"
        raise RuntimeRefusedError(msg)

    def skip(relative: str, why: str) -> None:
        if report:
            _log.warning("local module %s: %r is left out of the copy: %s", source, relative, why)

    def walk(
        directory: Path, relative: str, above: frozenset[tuple[int, int]]
    ) -> Iterator[tuple[str, Path, os.stat_result]]:
        try:
            with os.scandir(directory) as scan:
                entries = sorted(scan, key=lambda entry: entry.name)
        except OSError as error:
            raise _unreadable(source, relative, error) from error
        for entry in entries:
            if entry.name == "__pycache__":
                continue
            name = f"{relative}/{entry.name}" if relative else entry.name
            path = Path(entry.path)
            try:
                status = path.stat()
            except OSError as error:
                if not entry.is_symlink():
                    raise _unreadable(source, name, error) from error
                loop = error.errno == errno.ELOOP
                skip(name, "a symbolic link loop" if loop else "a broken symbolic link")
                continue
            if stat.S_ISDIR(status.st_mode):
                identity = (status.st_dev, status.st_ino)
                if identity in above:
                    skip(name, "a link back to a directory above it (a loop), not followed")
                    continue
                yield from walk(path, name, above | {identity})
            elif stat.S_ISREG(status.st_mode):
                yield name, path, status
            else:
                skip(name, _kind(status.st_mode))

    yield from walk(source, "", frozenset({(status.st_dev, status.st_ino)}))


#: Seconds one question to an index about its credentials may take, all included.
_PROBE_SECONDS: Final = 10.0
#: The (index, credentials) pairs this process has checked against their index, so a cached
#: env is taken into use without asking again. Kept in memory only, never written.
_checked: set[tuple[str, str, str]] = set()
_checked_lock = threading.Lock()


@functools.cache
def _tls() -> ssl.SSLContext:
    import httpx  # noqa: PLC0415 - only when an index is asked

    return httpx.create_ssl_context()


def _index_status(bare: str, project: str, credentials: tuple[str, str] | None) -> int | None:
    """The HTTP status of ``project``'s page on the index at ``bare``, asked with
    ``credentials`` (bounded by :data:`_PROBE_SECONDS` in all, see :mod:`lzy.env._http`), or
    ``None`` when it could not be asked (not over HTTP, unreachable, too slow)."""
    if urllib.parse.urlsplit(bare).scheme not in {"http", "https"}:
        return None
    import httpx  # noqa: PLC0415 - only when an index is asked

    from lzy.env import _http  # noqa: PLC0415 - only when an index is asked

    deadline = _http.Deadline(_PROBE_SECONDS)
    url = f"{bare.rstrip('/')}/{canonicalize_name(project)}/"
    try:
        with _http.client(verify=_tls(), timeout=_PROBE_SECONDS, connect_timeout=_PROBE_SECONDS) as session:
            return _http.fetch(session, "GET", url, deadline=deadline, limit=4096, auth=credentials).status
    except httpx.HTTPError as error:
        _log.debug("could not ask %s about %s: %s", redact_url(bare), project, error)
        return None


def _check_credentials(plan: InstallPlan) -> None:
    """Raise :class:`~lzy.exceptions.InstallError` when an index of ``plan`` refuses the
    credentials given for it, as a build would find out: a cached env does not make a wrong
    password right. Each (index, credentials) is asked once per process; an index that cannot
    be asked (offline, say) lets the cached env be used."""
    if not plan.packages:
        return
    project = sorted(plan.packages)[0]
    for url in (plan.index_url, *plan.extra_index_urls):
        if url is None:
            continue
        bare, credentials = split_credentials(url)
        if credentials is None or urllib.parse.urlsplit(bare).scheme not in {"http", "https"}:
            continue
        pair = (bare, *credentials)
        with _checked_lock:
            if pair in _checked:
                continue
        status = _index_status(bare, project, credentials)
        if status in {401, 403}:
            msg = (
                f"the index {redact_url(url)} refused the credentials given for it (HTTP {status});"
                " the op's environment is cached from a build with credentials it accepted, but"
                " is not used with credentials it refuses: correct them in the index URL"
            )
            raise InstallError(msg)
        if status is None:
            _log.warning(
                "could not check the credentials of index %s (it did not answer); using the cached env %s",
                redact_url(url),
                plan.key[:12],
            )
        with _checked_lock:
            _checked.add(pair)


def _remember_credentials(plan: InstallPlan) -> None:
    """Take the credentials of ``plan``'s indexes as checked in this process."""
    for url in (plan.index_url, *plan.extra_index_urls):
        bare, credentials = split_credentials(url or "")
        if credentials is not None:
            with _checked_lock:
                _checked.add((bare, *credentials))


def _refused_credentials(plan: InstallPlan) -> str:
    """A sentence when an index of the plan refuses its credentials, or asks for credentials
    none were given for (asked after a failure: an installer reports either as a package that
    is not there)."""
    if not plan.packages:
        return ""
    first = sorted(plan.packages)[0]
    for url in (plan.index_url, *plan.extra_index_urls):
        if url is None:
            continue
        bare, credentials = split_credentials(url)
        status = _index_status(bare, first, credentials)
        if status not in {401, 403}:
            continue
        if credentials is not None:
            return (
                f"\nThe index {redact_url(url)} refused the credentials given for it (HTTP"
                f" {status}): the installer reports that as packages not found."
            )
        return (
            f"\nThe index {redact_url(url)} asks for credentials (HTTP {status}) and none were"
            " given in its URL: the installer reports that as packages not found. Give them in"
            " the URL (https://user:password@host/...); lzy hands them to the installer in a"
            " private .netrc file, never on a command line."
        )
    return ""


def _strings(value: object) -> tuple[str, ...]:
    """``value`` as a tuple of strings when it is a JSON list, else empty."""
    items = cast("list[object]", value) if isinstance(value, list) else []
    return tuple(str(item) for item in items)
