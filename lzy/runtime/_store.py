"""The store of built environments and shipped module copies under lzy's cache directory.

Layout under the root (``$LZY_CACHE_DIR`` or the user's cache directory)::

    envs/<key>/                  a virtualenv, usable once its marker exists
    envs/<key>/.lzy-env.json     the marker: written last, atomically, when the build succeeded
    envs/<key>/.lzy-in-use/      one file per running op (pid), so cleaning spares it
    envs/<key>.lock              held while the env is built or removed
    modules/<fingerprint>/       copies of an op's local modules, by their content
    support/<digest>/            links to lzy and its requirements (see _support)

An env directory without its marker (a build that crashed or was interrupted) is never used: the
next build removes it first. Two builds of one key, in threads or processes, take the lock: the
first builds, the second finds the marker and uses the result.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import hashlib
import itertools
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Generator, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Final, Literal, cast

from lzy.env._base import redact_url, split_credentials
from lzy.env.install import InstallMethod, InstallPlan
from lzy.exceptions import InstallError, RuntimeRefusedError

__all__ = ["CachedEnv", "EnvStore", "Installer"]


def __dir__() -> list[str]:
    return __all__


_log = logging.getLogger("lzy.runtime.isolated")

#: Which program installs packages: uv (from its PyPI package), pip, or uv when it runs here.
Installer = Literal["auto", "uv", "pip"]

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
_counter = itertools.count()


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


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, but is someone else's
        return True
    return True


def _python_of(env: Path) -> Path:
    return env / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


_URL_WITH_CREDENTIALS: Final = re.compile(r"(\w+://)[^/@\s]*@")


def _trimmed(text: str, secrets: Sequence[str]) -> str:
    """The last lines of an installer's output, indented, any credentials masked."""
    text = _URL_WITH_CREDENTIALS.sub(r"\1***@", text)
    for secret in secrets:
        if len(secret) >= 4:  # shorter, it would mask letters of ordinary words
            text = text.replace(secret, "***")
    lines = text.strip().splitlines()
    if len(lines) > _TRIM_LINES:
        lines = [f"[... {len(lines) - _TRIM_LINES} earlier lines]", *lines[-_TRIM_LINES:]]
    return "\n".join("  " + line for line in lines)


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

    def ensure(self, plan: InstallPlan) -> Path:
        """The interpreter of ``plan``'s environment: found complete, or built now (once, across
        threads and processes)."""
        from filelock import FileLock, Timeout  # noqa: PLC0415 - needed only when an env is used

        env = self.env_dir(plan)
        if self._usable(env):
            return _python_of(env)
        env.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(env.with_suffix(".lock")))
        try:
            lock.acquire(blocking=False)
        except Timeout:
            _log.info("waiting for another build of env %s", plan.key[:12])
            lock.acquire()
        try:
            if self._usable(env):
                return _python_of(env)
            if env.exists():
                _log.info("removing env %s: its build never finished", plan.key[:12])
                shutil.rmtree(env)
            self._build(plan, env)
            return _python_of(env)
        finally:
            lock.release()

    def _usable(self, env: Path) -> bool:
        return (env / MARKER).is_file() and _python_of(env).exists()

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

    def _build(self, plan: InstallPlan, env: Path) -> None:
        started = time.monotonic()
        if plan.method is not InstallMethod.VIRTUALENV or plan.interpreter is None:
            msg = f"the isolated runtime builds virtualenvs only, not a {plan.method.value} plan"
            raise RuntimeRefusedError(msg)
        base = plan.interpreter
        uv = self._uv()
        tool = "uv" if uv is not None else "pip"
        _log.info("building env %s: Python %s (%s), %s", plan.key[:12], base.version, base.path, tool)
        with tempfile.TemporaryDirectory(prefix="lzy-install-") as scratch:
            environ = self._installer_environ(plan, Path(scratch))
            if uv is not None:
                create = [
                    uv,
                    "venv",
                    "--no-config",
                    "--no-project",
                    "--quiet",
                    "--python",
                    base.path,
                    str(env),
                ]
            else:
                create = [base.path, "-m", "venv", "--without-pip", str(env)]
            with _Progress(f"creating a virtualenv of Python {base.version}"):
                self._run(create, environ, plan, what="create the virtualenv")
            if plan.packages:
                requirements = Path(scratch, "requirements.txt")
                requirements.write_text("\n".join(plan.requirements()) + "\n", encoding="utf-8")
                python = str(_python_of(env))
                if uv is not None:
                    install = [uv, "pip", "install", "--no-config", "--python", python]
                    install += ["--index-strategy", "unsafe-first-match"]
                else:
                    install = [sys.executable, "-m", "pip", "--python", python, "install", "--isolated"]
                    install += ["--no-input", "--disable-pip-version-check"]
                install += [*plan.index_options(), "-r", str(requirements)]
                count = len(plan.packages)
                _log.info("installing %d pinned distributions into env %s", count, plan.key[:12])
                with _Progress(f"installing {count} distributions with {tool}"):
                    self._run(install, environ, plan, what="install the pinned distributions")
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

    def _run(self, command: list[str], environ: Mapping[str, str], plan: InstallPlan, *, what: str) -> None:
        try:
            done = subprocess.run(command, env=dict(environ), capture_output=True, text=True, check=False)
        except OSError as error:
            msg = f"cannot {what} for env {plan.key[:12]}: {command[0]} did not start ({error})"
            raise InstallError(msg) from error
        if done.returncode == 0:
            return
        secrets = [
            found[1]
            for url in (plan.index_url, *plan.extra_index_urls)
            if url is not None and (found := split_credentials(url)[1]) is not None
        ]
        words = _trimmed(done.stderr or done.stdout, secrets)
        named = [
            requirement
            for requirement in plan.requirements()
            if requirement.split("==")[0].lower() in (done.stderr + done.stdout).lower()
        ]
        packages = f"\nThe packages it names: {', '.join(named)}." if named else ""
        shown = " ".join(redact_url(part) if "://" in part else part for part in command)
        msg = (
            f"could not {what} of the op's environment (Python {plan.python_version}):"
            f" {Path(command[0]).name} exited with code {done.returncode}.{packages}\n"
            f"The command: {shown}\nIt said:\n{words}\n"
            "Check the pins and the index (lzy explains each pin: ResolvedEnv.explain())."
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

    @contextlib.contextmanager
    def using(self, python: Path) -> Generator[None]:
        """Mark the environment of ``python`` as in use while the block runs (cleaning spares it)."""
        env = python.parent.parent
        if env.parent != self.root / "envs":
            yield
            return
        folder = env / IN_USE
        folder.mkdir(exist_ok=True)
        token = folder / f"{os.getpid()}-{threading.get_ident()}-{next(_counter)}"
        token.touch()
        with contextlib.suppress(OSError):
            os.utime(env / MARKER)
        try:
            yield
        finally:
            token.unlink(missing_ok=True)

    def envs(self) -> list[CachedEnv]:
        """Every environment in the store, complete or not, by key."""
        folder = self.root / "envs"
        found: list[CachedEnv] = []
        for env in sorted(folder.iterdir() if folder.is_dir() else ()):
            if not env.is_dir():
                continue
            record: dict[str, object] = {}
            with contextlib.suppress(OSError, ValueError):
                record = json.loads((env / MARKER).read_text(encoding="utf-8"))
            used = None
            with contextlib.suppress(OSError):
                used = datetime.datetime.fromtimestamp((env / MARKER).stat().st_mtime, datetime.UTC)
            built = record.get("built")
            requirements = record.get("requirements")
            found.append(
                CachedEnv(
                    key=env.name,
                    path=env,
                    python_version=str(record["python_version"]) if "python_version" in record else None,
                    requirements=_strings(requirements),
                    built=datetime.datetime.fromisoformat(built) if isinstance(built, str) else None,
                    last_used=used,
                    complete=bool(record),
                    in_use=self._in_use(env),
                )
            )
        return found

    def _in_use(self, env: Path) -> bool:
        folder = env / IN_USE
        if not folder.is_dir():
            return False
        for token in folder.iterdir():
            pid = token.name.split("-", 1)[0]
            if pid.isdigit() and _pid_alive(int(pid)):
                return True
            token.unlink(missing_ok=True)  # a process that died mid-run
        return False

    def clean(self, *, older_than: datetime.timedelta | None = None) -> list[CachedEnv]:
        """Remove environments not used for ``older_than`` (all when ``None``), and every
        unfinished one; environments in use are kept. Returns those removed."""
        from filelock import FileLock, Timeout  # noqa: PLC0415 - needed only here

        now = datetime.datetime.now(datetime.UTC)
        removed: list[CachedEnv] = []
        for env in self.envs():
            stale = older_than is None or env.last_used is None or now - env.last_used >= older_than
            if env.in_use or (env.complete and not stale):
                continue
            lock = FileLock(str(env.path.with_suffix(".lock")))
            try:
                lock.acquire(timeout=0)
            except Timeout:
                continue  # being built right now
            try:
                if self._in_use(env.path):
                    continue
                shutil.rmtree(env.path, ignore_errors=True)
                removed.append(env)
            finally:
                lock.release()
        if older_than is None:
            shutil.rmtree(self.root / "modules", ignore_errors=True)
        return removed

    # -- shipped modules -----------------------------------------------------------------------

    def ship(self, paths: Sequence[str]) -> Path | None:
        """A directory holding copies of the local modules ``paths`` (files or packages), by their
        content: the same files give the same directory, made once. ``None`` for no paths."""
        if not paths:
            return None
        names: dict[str, str] = {}
        for path in paths:
            name = Path(path).name
            if name in names and names[name] != path:
                msg = (
                    f"two local modules are both called {name!r} ({names[name]} and {path});"
                    " a shipped module is imported by its name, so the names must differ"
                )
                raise RuntimeRefusedError(msg)
            names[name] = path
        digest = hashlib.sha256()
        for name, path in sorted(names.items()):
            for file, stat in _walk(Path(path)):
                digest.update(f"{name}\0{file}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
        final = self.root / "modules" / digest.hexdigest()[:24]
        if final.is_dir():
            return final
        final.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".tmp-", dir=final.parent))
        try:
            for name, path in names.items():
                source = Path(path)
                if source.is_dir():
                    shutil.copytree(source, staging / name, ignore=shutil.ignore_patterns("__pycache__"))
                else:
                    shutil.copy2(source, staging / name)
            staging.rename(final)
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)
            if not final.is_dir():  # not a lost race: a real failure
                raise
        return final


def _strings(value: object) -> tuple[str, ...]:
    """``value`` as a tuple of strings when it is a JSON list, else empty."""
    items = cast("list[object]", value) if isinstance(value, list) else []
    return tuple(str(item) for item in items)


def _walk(root: Path) -> Iterator[tuple[str, os.stat_result]]:
    if root.is_file():
        yield "", root.stat()
        return
    for directory, folders, files in os.walk(root):
        folders[:] = sorted(f for f in folders if f != "__pycache__")
        for file in sorted(files):
            full = Path(directory, file)
            yield str(full.relative_to(root)), full.stat()
