"""The store of built environments and shipped module copies under lzy's cache directory.

Layout under the root (``$LZY_CACHE_DIR`` or the user's cache directory)::

    envs/<key>/                  a virtualenv, usable once its marker exists
    envs/<key>/.lzy-env.json     the marker: written last, atomically, when the build succeeded
    envs/<key>/.lzy-in-use/      one file per running op (pid), so cleaning spares it
    envs/<key>.lock              held while the env is built, taken into use, or removed
    modules/<fingerprint>/       copies of an op's local modules, by their content
    modules/<fingerprint>.in-use/  one file per running op that imports from the copy
    support/<digest>/            links to lzy and its requirements (see _support)
    tmp/                         the installers' scratch directories (their .netrc among them)

An env directory without a valid marker (a build that crashed or was interrupted) is never used:
the next build removes it first. Two builds of one key, in threads or processes, take the lock:
the first builds, the second finds the marker and uses the result. Taking an env into use
happens under the same lock, so cleaning (which takes it too) never removes an env between the
moment a call found it and the moment it marked it in use.
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
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Generator, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Final, Literal, cast

from lzy.env._base import redact_url, split_credentials
from lzy.env.install import InstallMethod, InstallPlan, Interpreter
from lzy.exceptions import InstallError, RuntimeRefusedError

__all__ = ["CachedEnv", "EnvStore", "Installer", "InterpreterGoneError", "unwritable"]


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
#: Scratch directories older than this are from a build that was killed: removed.
_STALE_SCRATCH_SECONDS: Final = 24 * 3600.0
_counter = itertools.count()


class InterpreterGoneError(RuntimeRefusedError):
    """The interpreter a plan names is no longer on this machine (the runtime looks again)."""


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
    token = folder / f"{os.getpid()}-{threading.get_ident()}-{next(_counter)}"
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
        pid = token.name.split("-", 1)[0]
        if pid.isdigit() and _pid_alive(int(pid)):
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
                if not self._usable(env, plan):
                    if env.exists():
                        _log.info("removing env %s: its build never finished", plan.key[:12])
                        shutil.rmtree(env)
                    self._build(plan, env)
                stack.enter_context(_marked_in_use(env / IN_USE))
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
    def _scratch(self) -> Generator[Path]:
        """A private scratch directory under the cache (the installer's .netrc goes there),
        removed afterwards; one left by a killed build is removed by a later one."""
        folder = self.root / "tmp"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            for stale in folder.iterdir():
                with contextlib.suppress(OSError):
                    if time.time() - stale.stat().st_mtime > _STALE_SCRATCH_SECONDS:
                        shutil.rmtree(stale, ignore_errors=True)
            scratch = Path(tempfile.mkdtemp(prefix="install-", dir=folder))
        except OSError as error:
            raise unwritable(self.root, folder, error) from error
        try:
            yield scratch
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def _pip(self, base: Interpreter, env: Path, environ: Mapping[str, str], plan: InstallPlan) -> list[str]:
        """The pip command that installs into ``env``: this interpreter's pip when it is of the
        same Python (and has pip), else the environment's own, installed with ensurepip."""
        same = base.version.split(".")[:2] == [str(v) for v in sys.version_info[:2]]
        import importlib.util  # noqa: PLC0415 - only with pip as the installer

        if same and importlib.util.find_spec("pip") is not None:
            return [sys.executable, "-m", "pip", "--python", str(_python_of(env))]
        self._run(
            [str(_python_of(env)), "-m", "ensurepip", "--default-pip"], environ, plan, what="give it pip"
        )
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
        with self._scratch() as scratch:
            environ = self._installer_environ(plan, scratch)
            if uv is not None:
                create = [uv, "venv", "--no-config", "--no-project", "--quiet", "--python", base.path]
            else:
                create = [base.path, "-m", "venv", "--without-pip"]
            with _Progress(f"creating a virtualenv of Python {base.version}"):
                self._run([*create, str(env)], environ, plan, what="create the virtualenv")
            if plan.packages:
                requirements = scratch / "requirements.txt"
                requirements.write_text("\n".join(plan.requirements()) + "\n", encoding="utf-8")
                if uv is not None:
                    install = [uv, "pip", "install", "--no-config", "--python", str(_python_of(env))]
                    install += ["--index-strategy", "unsafe-first-match"]
                else:
                    install = [*self._pip(base, env, environ, plan), "install", "--isolated"]
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
            msg = f"cannot {what} of the op's environment: {command[0]} did not start ({error})"
            raise InstallError(msg) from error
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
            found.append(
                CachedEnv(
                    key=env.name,
                    path=env,
                    python_version=str(record["python_version"]) if "python_version" in record else None,
                    requirements=_strings(record.get("requirements")),
                    built=datetime.datetime.fromisoformat(built) if isinstance(built, str) else None,
                    last_used=used,
                    complete=record.get("key") == env.name,
                    in_use=_in_use(env / IN_USE),
                )
            )
        return found

    def clean(self, *, older_than: datetime.timedelta | None = None) -> list[CachedEnv]:
        """Remove environments and module copies not used for ``older_than`` (all when
        ``None``), and every unfinished environment; what a running op uses is kept. Returns
        the environments removed."""
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
                shutil.rmtree(env.path, ignore_errors=True)
                removed.append(env)
            finally:
                lock.release()
        modules = self.root / "modules"
        for copy in sorted(modules.iterdir() if modules.is_dir() else ()):
            if not copy.is_dir() or copy.name.endswith(".in-use") or copy.name.startswith(".tmp-"):
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
            for file, status in _walk(source):
                identity = f"{status.st_size}\0{status.st_mtime_ns}\0{status.st_ctime_ns}\0{status.st_ino}"
                digest.update(f"{name}\0{source}\0{file}\0{identity}\n".encode())
    return digest.hexdigest()[:24]


def _copy(names: Mapping[str, Sequence[Path]], final: Path) -> None:
    """Copy each module into a staging directory, then move it into place atomically."""
    staging = Path(tempfile.mkdtemp(prefix=".tmp-", dir=final.parent))
    try:
        for name, sources in names.items():
            for source in sources:
                if source.is_dir():
                    ignore = shutil.ignore_patterns("__pycache__")
                    shutil.copytree(source, staging / name, ignore=ignore, dirs_exist_ok=True)
                else:
                    shutil.copy2(source, staging / name)
        staging.rename(final)
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
        if not final.is_dir():  # not a lost race: a real failure
            raise


def _refused_credentials(plan: InstallPlan) -> str:
    """A sentence when an index of the plan refuses its credentials (asked after a failure:
    an installer reports a refused password as a package that is not there)."""
    import httpx  # noqa: PLC0415 - only after an install failed

    for url in (plan.index_url, *plan.extra_index_urls):
        if url is None:
            continue
        bare, credentials = split_credentials(url)
        if credentials is None or not plan.packages:
            continue
        first = sorted(plan.packages)[0]
        try:
            answer = httpx.get(f"{bare.rstrip('/')}/{first}/", auth=credentials, timeout=5.0)
        except httpx.HTTPError:
            continue
        if answer.status_code in {401, 403}:
            return (
                f"\nThe index {redact_url(url)} refused the credentials given for it (HTTP"
                f" {answer.status_code}): the installer reports that as packages not found."
            )
    return ""


def _strings(value: object) -> tuple[str, ...]:
    """``value`` as a tuple of strings when it is a JSON list, else empty."""
    items = cast("list[object]", value) if isinstance(value, list) else []
    return tuple(str(item) for item in items)


def _walk(root: Path) -> Iterator[tuple[str, os.stat_result]]:
    """Every file under ``root`` (``root`` itself when it is a file) with its status, following
    links to directories (as the copy does), each directory once, in a stable order."""
    if root.is_file():
        yield "", root.stat()
        return
    seen: set[tuple[int, int]] = set()
    pending: list[tuple[str, str]] = [(str(root), "")]
    while pending:
        directory, relative = pending.pop()
        try:
            identity = os.stat(directory)
            with os.scandir(directory) as scan:
                entries = sorted(scan, key=lambda entry: entry.name)
        except OSError:
            continue
        if (identity.st_dev, identity.st_ino) in seen:
            continue
        seen.add((identity.st_dev, identity.st_ino))
        for entry in entries:
            if entry.name == "__pycache__":
                continue
            name = f"{relative}/{entry.name}" if relative else entry.name
            try:
                if entry.is_dir():  # a link to a directory too
                    pending.append((entry.path, name))
                    continue
                status = entry.stat()
            except OSError:
                continue
            if stat.S_ISREG(status.st_mode):
                yield name, status
