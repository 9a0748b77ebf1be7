"""The isolated runtime's cache under stress: credentials, killed builds, odd local modules, odd settings."""

from __future__ import annotations

import datetime
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from lzy.api.v1 import IsolatedRuntime, Lzy, op
from lzy.api.v1.env import ManualPythonEnv, ResolvedEnv
from lzy.env._cache import cache_root
from lzy.exceptions import FieldValueError, InstallError, RuntimeRefusedError
from tests.explorer.support import IndexServer, build_wheel

from .conftest import Publish

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:cloudpickle")

CANARY = "Canary-pa55-w0rd"
RUNNING = f"{sys.version_info.major}.{sys.version_info.minor}"


@op
def value() -> object:
    """The VALUE of the package the env installed."""
    import importlib

    return importlib.import_module("only_here").VALUE


@op
def shipped_files(package: str) -> list[str]:
    """The files of a shipped package as the op's process sees them, relative to it."""
    import importlib
    import os

    root = os.path.dirname(importlib.import_module(package).__file__ or "")
    return sorted(
        os.path.relpath(os.path.join(folder, name), root)
        for folder, _, names in os.walk(root)
        for name in names
        if "__pycache__" not in folder
    )


def _env(url: str, version: str = "1.0") -> ManualPythonEnv:
    return ManualPythonEnv(python_version=RUNNING, pypi_packages={"only-here": version}, pypi_index_url=url)


def _run(runtime: IsolatedRuntime, env: ManualPythonEnv, function: Callable[[], object]) -> object:
    with Lzy(runtime=runtime).workflow("w").with_python_env(env):
        return function()


# -- credentials and a cached env -------------------------------------------------------------


def test_a_wrong_password_fails_even_when_the_env_is_cached(
    index: IndexServer, publish: Publish, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The password is not part of the env's identity, so the index is asked about another
    one before the cached env is used: a refused one fails as a build would, unshown."""
    caplog.set_level(logging.DEBUG)
    publish("only-here", "1.0", {"only_here/__init__.py": "VALUE = 1\n"})
    index.state.credentials = ("alice", CANARY)
    runtime = IsolatedRuntime(cache_dir=tmp_path / "cache")
    assert _run(runtime, _env(index.url(credentials=("alice", CANARY))), value) == 1
    wrong = _env(index.url(credentials=("alice", "x" + CANARY)))
    with pytest.raises(InstallError) as raised:
        _run(IsolatedRuntime(cache_dir=tmp_path / "cache"), wrong, value)
    text = str(raised.value)
    assert "refused the credentials given for it (HTTP 401)" in text
    assert "http://***@127.0.0.1" in text
    assert CANARY not in text
    assert not [r for r in caplog.records if CANARY in r.getMessage()]
    assert runtime.builds == 1


def test_the_index_is_asked_once_per_process_and_credentials(
    index: IndexServer, publish: Publish, tmp_path: Path
) -> None:
    """A second use of the cached env with the same credentials asks the index nothing more."""
    publish("only-here", "1.0", {"only_here/__init__.py": "VALUE = 1\n"})
    index.state.credentials = ("alice", CANARY)
    runtime = IsolatedRuntime(cache_dir=tmp_path / "cache")
    env = _env(index.url(credentials=("alice", CANARY)))
    assert _run(runtime, env, value) == 1
    asked = index.requests_for("only-here")
    for _ in range(2):
        assert _run(IsolatedRuntime(cache_dir=tmp_path / "cache"), env, value) == 1
    assert index.requests_for("only-here") == asked
    other = _env(index.url(credentials=("bob", CANARY)))
    index.state.credentials = ("bob", CANARY)
    assert _run(runtime, other, value) == 1  # other credentials: asked once, accepted
    assert index.requests_for("only-here") == asked + 1
    assert runtime.builds == 1


def test_an_index_that_cannot_be_asked_leaves_the_cached_env_usable(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Offline (the index is gone), credentials cannot be checked: the cached env runs, and a
    warning says the check was not made."""
    (tmp_path / "wheels").mkdir()
    wheel = build_wheel(tmp_path / "wheels", "only-here", "1.0", {"only_here/__init__.py": "VALUE = 1\n"})
    runtime = IsolatedRuntime(cache_dir=tmp_path / "cache")
    with IndexServer() as index:
        index.publish("only-here", wheel)
        index.state.credentials = ("alice", CANARY)
        url = index.url(credentials=("alice", CANARY))
        assert _run(runtime, _env(url), value) == 1
    later = url.replace(CANARY, CANARY + "-rotated")
    assert _run(runtime, _env(later), value) == 1
    assert runtime.builds == 1
    assert any(
        "could not check the credentials of index http://***@" in r.getMessage() for r in caplog.records
    )


def test_an_index_that_wants_credentials_none_were_given_for_says_so(
    index: IndexServer,
    publish: Publish,
    runtime: IsolatedRuntime,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """401 without credentials: the installer says 'not found', lzy says the index asks for
    credentials; an env built with them is not used without them."""
    publish("only-here", "1.0", {"only_here/__init__.py": "VALUE = 1\n"})
    index.state.credentials = ("alice", CANARY)
    assert _run(runtime, _env(index.url(credentials=("alice", CANARY))), value) == 1
    # uv's own HTTP cache would serve the index's answers it keeps: another machine has none.
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "other-uv-cache"))
    with pytest.raises(InstallError) as raised:
        _run(runtime, _env(index.url()), value)
    text = str(raised.value)
    assert f"The index {index.url()} asks for credentials (HTTP 401) and none were given in its URL" in text
    assert CANARY not in text


# -- killed builds ------------------------------------------------------------------------------

_BUILD_SCRIPT = """
import signal, sys
# Ctrl-C as at a terminal, even when this test runs where SIGINT is ignored (in the background).
signal.signal(signal.SIGINT, signal.default_int_handler)
from lzy.api.v1 import IsolatedRuntime
from lzy.api.v1.env import ResolvedEnv
runtime = IsolatedRuntime(cache_dir=sys.argv[1])
env = ResolvedEnv.from_json(sys.stdin.readline())
runtime.prepare(env)
"""


def _resolved(env: ManualPythonEnv) -> ResolvedEnv:
    return Lzy().workflow("w").with_python_env(env).effective_env(value).resolve()


def _killed_build(
    cache: Path, env: ManualPythonEnv, index: IndexServer, *, signal_number: int = signal.SIGKILL
) -> list[int]:
    """Start a build in another process, send it ``signal_number`` while its installer waits
    on the index, and return the pids of the installers it ran then."""
    index.state.hang = threading.Event()
    process = subprocess.Popen(
        [sys.executable, "-c", _BUILD_SCRIPT, str(cache)],
        stdin=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert process.stdin is not None
    process.stdin.write(_resolved(env).to_json(include_secrets=True) + "\n")
    process.stdin.close()
    scratch = cache / "tmp"
    deadline = time.monotonic() + 60
    while not index.project_requests():
        assert time.monotonic() < deadline, "the build never asked the index"
        time.sleep(0.05)
    tokens = [token for folder in scratch.iterdir() for token in folder.glob("installer-*")]
    try:
        if signal_number == signal.SIGKILL:
            os.killpg(process.pid, signal.SIGKILL)
        else:
            os.kill(process.pid, signal_number)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:  # it did not stop: leave no process behind
            process.kill()
            process.wait()
    return [int(token.name.split("-")[1].split(".")[0]) for token in tokens]


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state not in {"Z", "X"}


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process states from /proc")
def test_a_killed_build_leaves_no_netrc_and_no_installer_behind(
    index: IndexServer, publish: Publish, tmp_path: Path
) -> None:
    """A build killed mid-install leaves its scratch (with the plaintext .netrc) and a running
    installer; the next build of the env stops the installer before it makes the env anew,
    and the scratch goes."""
    publish("only-here", "1.0", {"only_here/__init__.py": "VALUE = 1\n"})
    index.state.credentials = ("alice", CANARY)
    cache = tmp_path / "cache"
    env = _env(index.url(credentials=("alice", CANARY)))
    orphans = _killed_build(cache, env, index)
    assert orphans
    assert all(_running(pid) for pid in orphans)
    (scratch,) = (cache / "tmp").iterdir()
    assert (scratch / "netrc").exists()
    assert index.state.hang is not None
    index.state.hang.set()
    index.state.hang = None
    runtime = IsolatedRuntime(cache_dir=cache)
    assert _run(runtime, env, value) == 1
    assert not any(_running(pid) for pid in orphans)
    assert list((cache / "tmp").iterdir()) == []
    assert [e.state for e in runtime.cached_envs()] == ["complete"]


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process states from /proc")
def test_an_interrupted_build_stops_its_installer_at_once(
    index: IndexServer, publish: Publish, tmp_path: Path
) -> None:
    """Ctrl-C (SIGINT) in the building process: its installer is stopped with it, and the
    scratch goes."""
    publish("only-here", "1.0", {"only_here/__init__.py": "VALUE = 1\n"})
    cache = tmp_path / "cache"
    installers = _killed_build(cache, _env(index.url()), index, signal_number=signal.SIGINT)
    assert installers
    assert not any(_running(pid) for pid in installers)
    assert list((cache / "tmp").iterdir()) == []


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process states from /proc")
def test_clean_cache_removes_what_killed_builds_left_and_spares_live_scratch(
    index: IndexServer, publish: Publish, tmp_path: Path
) -> None:
    """clean_cache(): the unfinished env, the dead build's scratch and its installer, a module
    copy a dead process began, go; what live processes make, and every lock file, stay."""
    publish("only-here", "1.0", {"only_here/__init__.py": "VALUE = 1\n"})
    cache = tmp_path / "cache"
    orphans = _killed_build(cache, _env(index.url()), index)
    live = cache / "tmp" / f"install-{'0' * 16}-{os.getpid()}.x-abc"
    live.mkdir()
    copies = cache / "modules"
    (copies / ".tmp-999999999.x-abc").mkdir(parents=True)  # a copy a killed process began
    (copies / f".tmp-{os.getpid()}.x-def").mkdir()  # one being made right now
    runtime = IsolatedRuntime(cache_dir=cache)
    (broken,) = runtime.cached_envs()
    assert broken.state == "incomplete"
    assert [e.key for e in runtime.clean_cache()] == [broken.key]
    assert list((cache / "tmp").iterdir()) == [live]
    assert [p.name for p in copies.iterdir()] == [f".tmp-{os.getpid()}.x-def"]
    assert not any(_running(pid) for pid in orphans)
    assert runtime.cached_envs() == []
    assert (cache / "envs" / f"{broken.key}.lock").exists()


def test_an_env_being_built_is_listed_as_building(
    index: IndexServer, publish: Publish, runtime: IsolatedRuntime
) -> None:
    """cached_envs() tells a build in progress from a finished env and from an abandoned one."""
    publish("only-here", "1.0", {"only_here/__init__.py": "VALUE = 1\n"})
    index.state.delay = 1.0  # each answer takes a while: the build is seen in progress
    resolved = _resolved(_env(index.url()))
    builder = threading.Thread(target=runtime.prepare, args=(resolved,))
    builder.start()
    try:
        deadline = time.monotonic() + 60
        while not index.project_requests():
            assert time.monotonic() < deadline, "the build never asked the index"
            time.sleep(0.05)
        (building,) = runtime.cached_envs()
        assert (building.state, building.complete) == ("building", False)
    finally:
        builder.join(120)
    (done,) = runtime.cached_envs()
    assert (done.state, done.complete) == ("complete", True)


# -- local modules that are not plain trees -----------------------------------------------------


def _odd_package(root: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    package = root / "oddpkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("X = 1\n")
    (package / "sub" / "data.txt").write_text("data\n")
    (package / "dangling").symlink_to(root / "nowhere")
    (package / "self-loop").symlink_to(package / "self-loop")
    (package / "sub" / "up").symlink_to(package)  # back to a directory above: a loop
    (package / "linked.txt").symlink_to(package / "sub" / "data.txt")
    os.mkfifo(package / "pipe")
    monkeypatch.chdir(package)  # a socket's path is short: bound relative to the package
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind("socket")
    return package


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes and UNIX sockets")
def test_a_local_package_with_links_loops_and_special_files_is_shipped(
    runtime: IsolatedRuntime,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Broken links, link loops, a FIFO and a socket are left out (each named in a log line),
    a link to a file is copied as the file, and the op runs."""
    caplog.set_level(logging.WARNING)
    package = _odd_package(tmp_path, monkeypatch)
    env = ManualPythonEnv(python_version=RUNNING, pypi_packages={}, local_module_paths=[str(package)])
    with Lzy(runtime=runtime).workflow("w").with_python_env(env):
        files = shipped_files("oddpkg")
    assert files == ["__init__.py", "linked.txt", "sub/data.txt"]
    said = "\n".join(r.getMessage() for r in caplog.records)
    for entry, why in [
        ("dangling", "a broken symbolic link"),
        ("self-loop", "a symbolic link loop"),
        ("sub/up", "a loop"),
        ("pipe", "a named pipe (FIFO)"),
        ("socket", "a socket"),
    ]:
        assert re.search(
            rf"local module {re.escape(str(package))}: '{entry}' is left out .*{re.escape(why)}", said
        )


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes")
def test_a_local_module_that_is_a_special_file_is_named_not_the_cache(
    runtime: IsolatedRuntime, tmp_path: Path
) -> None:
    """A named pipe given as a local module: the refusal names it and what it is, never the
    cache (and nothing waits on the pipe)."""
    module = tmp_path / "fifo.py"
    os.mkfifo(module)
    env = ManualPythonEnv(python_version=RUNNING, pypi_packages={}, local_module_paths=[str(module)])
    with (
        Lzy(runtime=runtime).workflow("w").with_python_env(env),
        pytest.raises(RuntimeRefusedError) as raised,
    ):
        shipped_files("x")
    text = str(raised.value)
    assert f"the local module {module} is a named pipe (FIFO), not a Python file or package" in text
    assert "cache directory" not in text


# -- settings -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "why"), [("relative/cache", "which is relative"), ("  ", "which is blank")]
)
def test_a_relative_or_blank_cache_variable_is_refused(
    monkeypatch: pytest.MonkeyPatch, value: str, why: str
) -> None:
    """LZY_CACHE_DIR must be absolute (or start with ~): the error names it, the value and why."""
    monkeypatch.setenv("LZY_CACHE_DIR", value)
    with pytest.raises(FieldValueError) as raised:
        IsolatedRuntime().cached_envs()
    text = str(raised.value)
    assert f"LZY_CACHE_DIR must be an absolute path (or start with ~), got {value!r}, {why}" in text


def test_an_empty_cache_variable_is_unset_and_a_tilde_is_home(monkeypatch: pytest.MonkeyPatch) -> None:
    """LZY_CACHE_DIR='' means the user's cache directory (as an empty XDG_CACHE_HOME does);
    '~/x' is under the home directory."""
    import platformdirs

    monkeypatch.setenv("LZY_CACHE_DIR", "")
    assert cache_root() == Path(platformdirs.user_cache_dir("lzy"))
    monkeypatch.setenv("LZY_CACHE_DIR", "~/lzy-cache-here")
    assert cache_root() == Path.home() / "lzy-cache-here"


def test_a_relative_cache_dir_is_taken_where_the_runtime_is_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """cache_dir='rel' is resolved once, when the runtime is made: listed paths are absolute."""
    monkeypatch.chdir(tmp_path)
    runtime = IsolatedRuntime(cache_dir="rel")
    (tmp_path / "rel" / "envs" / "0123").mkdir(parents=True)
    monkeypatch.chdir("/")
    (listed,) = runtime.cached_envs()
    assert listed.path == tmp_path / "rel" / "envs" / "0123"
    assert listed.state == "incomplete"


def test_a_negative_age_for_cleaning_is_refused(runtime: IsolatedRuntime) -> None:
    """older_than below zero is refused, naming the argument, before anything is removed."""
    with pytest.raises(
        FieldValueError, match=r"clean_cache\(\) older_than must be a timedelta of zero or more"
    ):
        runtime.clean_cache(older_than=datetime.timedelta(seconds=-1))
