"""The isolated runtime: ops run in a fresh, cached environment built from their description."""

from __future__ import annotations

import concurrent.futures
import importlib
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import cast

import pytest

from lzy.api.v1 import IsolatedRuntime, Lzy, op
from lzy.api.v1.env import EnvExplorer, Exploration, ManualPythonEnv, OnlyLocalPythonEnv, Provisioning
from lzy.exceptions import (
    FieldTypeError,
    FieldValueError,
    InstallError,
    OpExecutionError,
    RuntimeRefusedError,
)
from lzy.runtime._python import find_interpreters
from tests.explorer.conftest import prepend_path
from tests.explorer.support import IndexServer, Site, build_wheel

from .conftest import Publish

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:cloudpickle")

CANARY = "Canary-pa55-w0rd"
RUNNING = f"{sys.version_info.major}.{sys.version_info.minor}"


def _manual(index: IndexServer, packages: dict[str, str], **fields: object) -> ManualPythonEnv:
    fields.setdefault("python_version", RUNNING)
    return ManualPythonEnv(pypi_packages=packages, pypi_index_url=index.url(), **fields)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]


@op
def probe(name: str) -> dict[str, object]:
    """What the op's process sees: a package of the index, a variable, its interpreter."""
    import importlib
    import os
    import sys

    try:
        value = importlib.import_module("only_here").VALUE
    except ImportError:
        value = None
    return {
        "value": value,
        "variable": os.environ.get(name),
        "executable": sys.executable,
        "prefix": sys.prefix,
        "version": list(sys.version_info[:2]),
        "path": list(sys.path),
    }


def test_op_runs_with_a_package_only_the_index_has(
    runtime: IsolatedRuntime, index: IndexServer, publish: Publish, tmp_path: Path
) -> None:
    """A package this interpreter lacks is installed from the index into a fresh env, and the
    op sees it and its environ, in a virtualenv under the cache directory."""
    publish("only-here", "1.2.3", {"only_here/__init__.py": "VALUE = 'from the index'\n"})
    env = _manual(index, {"only-here": "1.2.3"})
    with Lzy(runtime=runtime).workflow("w").with_python_env(env).with_environ(MODE="isolated"):
        seen = probe("MODE")
    assert seen["value"] == "from the index"
    assert seen["variable"] == "isolated"
    assert str(seen["prefix"]).startswith(str(tmp_path / "lzy-cache" / "envs"))
    with pytest.raises(ImportError):
        __import__("only_here")  # the caller never got it


def test_second_call_reuses_the_env_in_this_process_and_the_next(
    runtime: IsolatedRuntime, index: IndexServer, publish: Publish, tmp_path: Path
) -> None:
    """The env is built once; a later call, or another runtime on the same cache (as a new
    process would have), finds it complete and builds nothing."""
    publish("only-here", "1.0", {"only_here/__init__.py": "VALUE = 1\n"})
    env = _manual(index, {"only-here": "1.0"})
    with Lzy(runtime=runtime).workflow("w").with_python_env(env):
        first, second = probe("X"), probe("X")
    assert runtime.builds == 1
    assert first["prefix"] == second["prefix"]
    again = IsolatedRuntime(cache_dir=tmp_path / "lzy-cache")
    with Lzy(runtime=again).workflow("w").with_python_env(env):
        assert probe("X")["prefix"] == first["prefix"]
    assert again.builds == 0
    (cached,) = runtime.cached_envs()
    assert cached.complete
    assert cached.requirements == ("only-here==1.0",)


def test_concurrent_calls_in_threads_build_once(
    runtime: IsolatedRuntime, index: IndexServer, publish: Publish
) -> None:
    """Four threads needing the same env at once: one builds, the others wait and use it."""
    publish("only-here", "2.0", {"only_here/__init__.py": "VALUE = 2\n"})
    index.state.delay = 0.2  # every answer takes a while: the calls overlap
    env = _manual(index, {"only-here": "2.0"})
    barrier = threading.Barrier(4)

    def worker(_: int) -> object:
        # A workflow's block runs in one thread: each thread enters a workflow of its own.
        with Lzy(runtime=runtime).workflow("w").with_python_env(env):
            barrier.wait()
            return probe("X")["value"]

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        results = list(pool.map(worker, range(4)))
    assert results == [2, 2, 2, 2]
    assert runtime.builds == 1


_BUILD_SCRIPT = """
import json, sys
from lzy.api.v1 import IsolatedRuntime
from lzy.api.v1.env import ResolvedEnv
runtime = IsolatedRuntime(cache_dir=sys.argv[1])
env = ResolvedEnv.from_json(sys.argv[2])
print("ready", flush=True)
sys.stdin.readline()
runtime.prepare(env)
print(json.dumps({"builds": runtime.builds}), flush=True)
"""


def _env_json(index: IndexServer, packages: dict[str, str]) -> str:
    resolved = Lzy().workflow("w").with_python_env(_manual(index, packages)).effective_env(probe).resolve()
    return resolved.to_json(include_secrets=True)


def _builder(cache: Path, plan: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", _BUILD_SCRIPT, str(cache), plan],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def test_concurrent_processes_build_once(
    runtime: IsolatedRuntime, index: IndexServer, publish: Publish, tmp_path: Path
) -> None:
    """Two processes that need the same env at the same moment build it once between them."""
    publish("only-here", "3.0", {"only_here/__init__.py": "VALUE = 3\n"})
    index.state.delay = 0.3
    plan = _env_json(index, {"only-here": "3.0"})
    processes = [_builder(tmp_path / "lzy-cache", plan) for _ in range(2)]
    for process in processes:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "ready"
    for process in processes:
        assert process.stdin is not None
        process.stdin.write("go\n")
        process.stdin.flush()
    builds = [json.loads(process.communicate(timeout=120)[0])["builds"] for process in processes]
    assert sorted(builds) == [0, 1]


def test_a_build_killed_midway_is_never_reused(
    runtime: IsolatedRuntime, index: IndexServer, publish: Publish, tmp_path: Path
) -> None:
    """A process killed while it builds leaves a directory without its marker: the next call
    removes it and builds again, and the op runs."""
    publish("only-here", "4.0", {"only_here/__init__.py": "VALUE = 4\n"})
    plan = _env_json(index, {"only-here": "4.0"})
    index.state.hang = threading.Event()  # the index stops answering: the build stalls
    process = _builder(tmp_path / "lzy-cache", plan)
    assert process.stdout is not None
    assert process.stdin is not None
    assert process.stdout.readline().strip() == "ready"
    process.stdin.write("go\n")
    process.stdin.flush()
    envs = tmp_path / "lzy-cache" / "envs"
    deadline = time.monotonic() + 60
    while not any(p.is_dir() and (p / "bin").is_dir() for p in (envs.iterdir() if envs.is_dir() else ())):
        assert time.monotonic() < deadline, "the build never started"
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.communicate(timeout=10)
    (broken,) = runtime.cached_envs()
    assert not broken.complete
    index.state.hang.set()
    index.state.hang = None
    with Lzy(runtime=runtime).workflow("w").with_python_env(_manual(index, {"only-here": "4.0"})):
        assert probe("X")["value"] == 4
    assert runtime.builds == 1
    assert [env.complete for env in runtime.cached_envs()] == [True]


def _other_interpreters(oldest: tuple[int, int]) -> list[str]:
    running = sys.version_info[:2]
    versions = {tuple(int(p) for p in i.version.split(".")[:2]) for i in find_interpreters()}
    return [f"{v[0]}.{v[1]}" for v in sorted(versions) if v != running and v >= oldest]


def test_op_of_a_module_runs_under_another_python_version(
    runtime: IsolatedRuntime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An op whose env names another installed CPython runs under it: its module is shipped,
    the function travels by reference, arguments and result by pickle."""
    others = _other_interpreters((3, 11))
    if not others:
        pytest.skip(f"no CPython 3.11+ other than {RUNNING} is installed here (pyenv install one)")
    project = tmp_path / "project"
    project.mkdir()
    (project / "crossmod.py").write_text(
        textwrap.dedent(
            """
            import sys
            from lzy.api.v1 import op

            @op
            def where(offset: int) -> tuple[int, int, int]:
                return sys.version_info[0], sys.version_info[1], offset + 1
            """
        )
    )
    prepend_path(monkeypatch, project)
    where: Callable[[int], tuple[int, int, int]] = getattr(importlib.import_module("crossmod"), "where")  # noqa: B009

    version = others[-1]
    env = ManualPythonEnv(
        python_version=version, pypi_packages={}, local_module_paths=[str(project / "crossmod.py")]
    )
    with Lzy(runtime=runtime).workflow("w").with_python_env(env):
        result = where(41)
    major, minor = (int(p) for p in version.split("."))
    assert tuple(result) == (major, minor, 42)


def test_plain_function_runs_under_the_oldest_supported_python(
    runtime: IsolatedRuntime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A function of a module that does not import lzy runs even under Python 3.8."""
    others = [v for v in _other_interpreters((3, 8)) if tuple(map(int, v.split("."))) < (3, 11)]
    if not others:
        pytest.skip("no CPython 3.8 to 3.10 is installed here (pyenv install one)")
    project = tmp_path / "project"
    project.mkdir()
    (project / "oldmod.py").write_text("import sys\n\ndef where():\n    return tuple(sys.version_info[:2])\n")
    prepend_path(monkeypatch, project)
    where: Callable[[], tuple[int, int]] = getattr(importlib.import_module("oldmod"), "where")  # noqa: B009

    version = others[0]
    env = ManualPythonEnv(
        python_version=version, pypi_packages={}, local_module_paths=[str(project / "oldmod.py")]
    )
    with Lzy(runtime=runtime).workflow("w").with_python_env(env):
        result = op(where)()
    assert ".".join(map(str, result)) == version


def test_no_interpreter_of_the_version_is_refused(runtime: IsolatedRuntime, index: IndexServer) -> None:
    """A Python version nothing here provides is refused, naming the versions there are."""
    env = _manual(index, {}, python_version="3.99")
    with (
        Lzy(runtime=runtime).workflow("w").with_python_env(env),
        pytest.raises(RuntimeRefusedError) as raised,
    ):
        probe("X")
    text = str(raised.value)
    assert "cannot provide Python 3.99: this machine has no CPython of that version (it has " in text
    assert RUNNING in text
    assert runtime.builds == 0


def test_too_old_python_is_refused(runtime: IsolatedRuntime, index: IndexServer) -> None:
    """Python 3.7 and older cannot run an op's process: said plainly."""
    env = _manual(index, {}, python_version="3.7")
    with (
        Lzy(runtime=runtime).workflow("w").with_python_env(env),
        pytest.raises(RuntimeRefusedError) as raised,
    ):
        probe("X")
    assert (
        "IsolatedRuntime cannot provide Python 3.7: it is older than 3.8, the oldest Python an op runs under"
        in str(raised.value)
    )


def test_installer_failure_shows_its_own_words_and_the_package(
    runtime: IsolatedRuntime, index: IndexServer, publish: Publish
) -> None:
    """A pin the index lacks: the error quotes the installer, names the pin and the command,
    and no half-built env is left to use."""
    publish("only-here", "1.0", {"only_here/__init__.py": "VALUE = 1\n"})
    env = _manual(index, {"only-here": "9.9"})
    with Lzy(runtime=runtime).workflow("w").with_python_env(env), pytest.raises(InstallError) as raised:
        probe("X")
    text = str(raised.value)
    assert "could not install the pinned distributions of the op's environment" in text
    assert "The packages it names: only-here==9.9." in text
    assert "uv pip install" in text
    assert "It said:" in text
    assert not [env for env in runtime.cached_envs() if env.complete]


@pytest.mark.parametrize("installer", ["uv", "pip"])
def test_index_credentials_reach_the_installer_and_are_never_shown(
    installer: str,
    index: IndexServer,
    publish: Publish,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An index that wants a password gets it (through a .netrc, not the URL or the command
    line), and the password appears in no log record; a wrong one fails without showing it."""
    caplog.set_level(logging.DEBUG)
    publish("only-here", "5.0", {"only_here/__init__.py": "VALUE = 5\n"})
    publish("only-here", "5.1", {"only_here/__init__.py": "VALUE = 51\n"})
    index.state.credentials = ("alice", CANARY)
    runtime = IsolatedRuntime(cache_dir=tmp_path / "lzy-cache", installer=installer)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    url = index.url(credentials=("alice", CANARY))
    env = ManualPythonEnv(python_version=RUNNING, pypi_packages={"only-here": "5.0"}, pypi_index_url=url)
    with Lzy(runtime=runtime).workflow("w").with_python_env(env):
        assert probe("X")["value"] == 5
    wrong = ManualPythonEnv(
        python_version=RUNNING,
        pypi_packages={"only-here": "5.1"},  # another env: the one built is not reused
        pypi_index_url=index.url(credentials=("alice", "x" + CANARY)),
    )
    index.state.credentials = ("alice", "other-" + CANARY)
    with Lzy(runtime=runtime).workflow("w").with_python_env(wrong), pytest.raises(InstallError) as raised:
        probe("X")
    assert CANARY not in str(raised.value)
    assert not [r for r in caplog.records if CANARY in r.getMessage()]


def test_pip_builds_the_env_when_asked(index: IndexServer, publish: Publish, tmp_path: Path) -> None:
    """installer='pip': venv + pip build the same env, and the store records which did."""
    publish("only-here", "6.0", {"only_here/__init__.py": "VALUE = 6\n"})
    runtime = IsolatedRuntime(cache_dir=tmp_path / "lzy-cache", installer="pip")
    with Lzy(runtime=runtime).workflow("w").with_python_env(_manual(index, {"only-here": "6.0"})):
        seen = probe("X")
    assert seen["value"] == 6
    (cached,) = runtime.cached_envs()
    record = json.loads((cached.path / ".lzy-env.json").read_text())
    assert record["installer"] == "pip"


def test_local_modules_are_copies_first_on_sys_path(
    runtime: IsolatedRuntime, index: IndexServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Local modules run from copies (a later edit of the original does not reach a call made
    before), ahead of the op's own PYTHONPATH entries, which are kept."""
    project = tmp_path / "project"
    (project / "helper").mkdir(parents=True)
    (project / "helper" / "__init__.py").write_text("WORD = 'first'\n")
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "extramod.py").write_text("WORD = 'extra'\n")

    @op
    def words() -> tuple[str, str, str, list[str]]:
        helper = importlib.import_module("helper")  # shipped
        extramod = importlib.import_module("extramod")  # on the op's own PYTHONPATH
        word, extra_word = str(getattr(helper, "WORD")), str(getattr(extramod, "WORD"))  # noqa: B009
        return word, str(helper.__file__), extra_word, os.environ["PYTHONPATH"].split(os.pathsep)

    env = _manual(index, {}, local_module_paths=[str(project / "helper")])
    workflow = Lzy(runtime=runtime).workflow("w").with_python_env(env).with_environ(PYTHONPATH=str(extra))
    with workflow:
        word, file, extra_word, pythonpath = words()
    assert (word, extra_word) == ("first", "extra")
    assert file.startswith(str(tmp_path / "lzy-cache" / "modules"))
    assert pythonpath[1:] == [str(extra)]
    assert Path(file).parent.parent == Path(pythonpath[0])
    (project / "helper" / "__init__.py").write_text("WORD = 'second'\n")
    with workflow:
        assert words()[0] == "second"  # a changed module is shipped anew


def test_only_variables_of_the_op_and_the_machine_reach_it(
    runtime: IsolatedRuntime, index: IndexServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The caller's own variables stay behind (a clean machine would not have them); the op's
    environ and the machine's basics (PATH, HOME) arrive."""
    monkeypatch.setenv("CALLER_ONLY_SETTING", "leak")
    with Lzy(runtime=runtime).workflow("w").with_python_env(_manual(index, {})).with_environ(MINE="1"):
        assert probe("CALLER_ONLY_SETTING")["variable"] is None
        assert probe("MINE")["variable"] == "1"
        assert probe("HOME")["variable"] == os.environ["HOME"]


class _Nothing(EnvExplorer):
    """An explorer that finds nothing: the op needs no local module."""

    def explore(self, namespace: Mapping[str, object]) -> Exploration:
        del namespace
        return Exploration()


@op
def finds(module: str) -> bool:
    """Whether the op's process can import ``module``."""
    import importlib.util

    return importlib.util.find_spec(module) is not None


def test_only_local_env_installs_nothing_and_leaves_the_callers_packages_behind(
    runtime: IsolatedRuntime,
) -> None:
    """OnlyLocalPythonEnv: nothing is installed, in an empty virtualenv of the running Python
    (built once): the caller's own packages do not reach the op, as on a clean machine."""
    with Lzy(runtime=runtime).workflow("w").with_python_env(OnlyLocalPythonEnv(explorer=_Nothing)):
        seen = probe("X")
        assert not finds("hypothesis")  # installed here, for these tests
        assert finds("json")
    assert seen["executable"] != sys.executable
    assert seen["version"] == list(sys.version_info[:2])
    assert runtime.builds == 1
    [env] = runtime.cached_envs()
    assert env.complete
    assert env.requirements == ()


def test_container_and_missing_resources_are_refused_together(
    runtime: IsolatedRuntime, index: IndexServer
) -> None:
    """A container and more cores than this machine has are named in one refusal."""
    cores = runtime.machine.cpu_count + 1
    with (
        Lzy(runtime=runtime)
        .workflow("w")
        .with_python_env(_manual(index, {}))
        .with_container(image="ubuntu:24.04")
        .with_provisioning(Provisioning(cpu_count=cores)),
        pytest.raises(RuntimeRefusedError) as raised,
    ):
        probe("X")
    text = str(raised.value)
    assert "a docker container (docker.io/library/ubuntu:24.04): it runs ops in virtualenvs" in text
    assert f"cpu_count {cores}" in text


def test_exception_of_a_class_only_the_env_has(
    runtime: IsolatedRuntime, index: IndexServer, publish: Publish
) -> None:
    """The op raises an exception whose class this process cannot import: the error names the
    class and its message and carries the op's traceback."""
    publish("only-here", "7.0", {"only_here/__init__.py": "class Special(Exception):\n    pass\n"})

    @op
    def raise_special() -> None:
        special: type[Exception] = getattr(importlib.import_module("only_here"), "Special")  # noqa: B009
        raise special("only over there")

    with (
        Lzy(runtime=runtime).workflow("w").with_python_env(_manual(index, {"only-here": "7.0"})),
        pytest.raises(OpExecutionError) as raised,
    ):
        raise_special()
    text = str(raised.value)
    assert "raised only_here.Special: only over there" in text
    assert "the exception cannot be rebuilt in this process" in text
    assert 'raise special("only over there")' in text


def test_op_exception_comes_back_as_itself(runtime: IsolatedRuntime, index: IndexServer) -> None:
    """A built-in exception raised by the op is raised here, with the op's traceback as a note."""

    @op
    def bad(value: int) -> int:
        raise ValueError(f"bad value {value}")

    with (
        Lzy(runtime=runtime).workflow("w").with_python_env(_manual(index, {})),
        pytest.raises(ValueError, match="bad value 3") as raised,
    ):
        bad(3)
    assert 'raise ValueError(f"bad value {value}")' in "\n".join(raised.value.__notes__)


def test_cache_is_listed_and_cleaned(runtime: IsolatedRuntime, index: IndexServer, publish: Publish) -> None:
    """Cached envs are listed with their pins; cleaning removes them, and the next call builds anew."""
    publish("only-here", "8.0", {"only_here/__init__.py": "VALUE = 8\n"})
    env = _manual(index, {"only-here": "8.0"})
    with Lzy(runtime=runtime).workflow("w").with_python_env(env):
        probe("X")
    (cached,) = runtime.cached_envs()
    assert cached.requirements == ("only-here==8.0",)
    assert str(cached.python_version).startswith(RUNNING)
    assert not cached.in_use
    import datetime

    assert runtime.clean_cache(older_than=datetime.timedelta(days=1)) == []
    removed = runtime.clean_cache()
    assert [r.key for r in removed] == [cached.key]
    assert runtime.cached_envs() == []
    with Lzy(runtime=runtime).workflow("w").with_python_env(env):
        assert probe("X")["value"] == 8
    assert runtime.builds == 2


def test_auto_python_env_pins_what_the_op_uses_and_the_env_installs_it(
    runtime: IsolatedRuntime,
    index: IndexServer,
    publish: Publish,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The default AutoPythonEnv: the explorer pins the installed distribution the op's module
    uses and ships the module; the isolated runtime installs the pin from the index (not the
    caller's copy) and imports the shipped module."""
    site = tmp_path / "site"
    Site(site).install("alpha-dist", "1.0", {"alpha_dist/__init__.py": "WHERE = 'caller'\n"})
    publish("alpha-dist", "1.0", {"alpha_dist/__init__.py": "WHERE = 'index'\n"})
    project = tmp_path / "project"
    project.mkdir()
    (project / "pipeline.py").write_text(
        textwrap.dedent(
            """
            import alpha_dist
            from lzy.api.v1 import op

            @op
            def where() -> str:
                return alpha_dist.WHERE
            """
        )
    )
    prepend_path(monkeypatch, site)
    prepend_path(monkeypatch, project)
    try:
        where: Callable[[], str] = getattr(importlib.import_module("pipeline"), "where")  # noqa: B009
        with Lzy(runtime=runtime).workflow("w").with_python_env(pypi_index_url=index.url()):
            assert where() == "index"
    finally:
        for name in ("pipeline", "alpha_dist"):
            sys.modules.pop(name, None)
    (cached,) = runtime.cached_envs()
    assert cached.requirements == ("alpha-dist==1.0",)


def test_a_deleted_cache_is_made_again_in_a_running_process(
    runtime: IsolatedRuntime, index: IndexServer, tmp_path: Path
) -> None:
    """Removing the whole cache under a live process (rm -rf) only costs a rebuild."""
    with Lzy(runtime=runtime).workflow("w").with_python_env(_manual(index, {})):
        probe("X")
        shutil.rmtree(tmp_path / "lzy-cache")
        assert probe("X")["variable"] is None
    assert runtime.builds == 2


def test_cleaning_while_an_op_runs_spares_what_it_uses(
    runtime: IsolatedRuntime, index: IndexServer, tmp_path: Path
) -> None:
    """clean_cache() during a call keeps the env and the module copy the op imports from; the
    op imports a module of its package after the cleaning and still finds it."""
    project = tmp_path / "project"
    (project / "slowpkg").mkdir(parents=True)
    (project / "slowpkg" / "__init__.py").write_text("")
    (project / "slowpkg" / "late.py").write_text("WORD = 'late'\n")
    started = tmp_path / "started"

    @op
    def wait_then_import(flag: str) -> str:
        import pathlib
        import time

        pathlib.Path(flag).touch()
        time.sleep(1.5)
        return str(getattr(importlib.import_module("slowpkg.late"), "WORD"))  # noqa: B009

    env = _manual(index, {}, local_module_paths=[str(project / "slowpkg")])
    workflow = Lzy(runtime=runtime).workflow("w").with_python_env(env)

    def call(_: int) -> str:
        with Lzy(runtime=runtime).workflow("w").with_python_env(env):
            return wait_then_import(str(started))

    del workflow
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        running = pool.submit(call, 0)
        deadline = time.monotonic() + 60
        while not started.exists():
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert runtime.clean_cache() == []
        assert running.result(timeout=60) == "late"
    assert [env.complete for env in runtime.cached_envs()] == [True]
    removed = runtime.clean_cache()  # nothing runs now: all goes
    assert len(removed) == 1
    assert not list((tmp_path / "lzy-cache" / "modules").iterdir())


@pytest.mark.parametrize("installer", ["uv", "pip"])
def test_a_token_as_the_index_user_name_installs(
    installer: str, index: IndexServer, publish: Publish, tmp_path: Path
) -> None:
    """https://TOKEN@host/simple: the token reaches the installer as a login without password."""
    publish("only-here", "9.0", {"only_here/__init__.py": "VALUE = 9\n"})
    index.state.credentials = (CANARY, "")
    runtime = IsolatedRuntime(cache_dir=tmp_path / "lzy-cache", installer=installer)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    url = index.url().replace("http://", f"http://{CANARY}@")
    env = ManualPythonEnv(python_version=RUNNING, pypi_packages={"only-here": "9.0"}, pypi_index_url=url)
    with Lzy(runtime=runtime).workflow("w").with_python_env(env):
        assert probe("X")["value"] == 9


def test_a_refused_password_is_named_as_such(index: IndexServer, publish: Publish, tmp_path: Path) -> None:
    """A wrong password: the installer says 'not found'; lzy asks the index and says it refused
    the credentials, without showing them."""
    publish("only-here", "9.1", {"only_here/__init__.py": "VALUE = 91\n"})
    index.state.credentials = ("alice", "right-password")
    runtime = IsolatedRuntime(cache_dir=tmp_path / "lzy-cache")
    env = ManualPythonEnv(
        python_version=RUNNING,
        pypi_packages={"only-here": "9.1"},
        pypi_index_url=index.url(credentials=("alice", CANARY)),
    )
    with Lzy(runtime=runtime).workflow("w").with_python_env(env), pytest.raises(InstallError) as raised:
        probe("X")
    text = str(raised.value)
    assert "refused the credentials given for it (HTTP 401)" in text
    assert CANARY not in text


def test_a_cache_that_cannot_be_written_is_said_plainly(index: IndexServer, tmp_path: Path) -> None:
    """A cache directory that cannot be made is a refusal naming it and the way out."""
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    runtime = IsolatedRuntime(cache_dir=blocker / "cache")
    with (
        Lzy(runtime=runtime).workflow("w").with_python_env(_manual(index, {})),
        pytest.raises(RuntimeRefusedError) as raised,
    ):
        probe("X")
    assert f"lzy's cache directory {blocker / 'cache'} cannot be written" in str(raised.value)
    assert "LZY_CACHE_DIR" in str(raised.value)


@pytest.mark.parametrize(
    ("arguments", "error", "fragment"),
    [
        ({"cache_dir": 123}, FieldTypeError, "IsolatedRuntime.cache_dir must be a path"),
        ({"cache_dir": ""}, FieldValueError, "IsolatedRuntime.cache_dir must not be empty"),
        ({"installer": "conda"}, FieldValueError, "IsolatedRuntime.installer must be 'auto', 'uv' or 'pip'"),
        ({"machine": "big"}, FieldTypeError, "IsolatedRuntime.machine must be a MachineSpec or None"),
    ],
)
def test_bad_runtime_arguments_are_refused_naming_them(
    arguments: dict[str, object], error: type[Exception], fragment: str
) -> None:
    """Each constructor parameter is checked where it is written."""
    with pytest.raises(error, match=re.escape(fragment)):
        IsolatedRuntime(**arguments)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]


def test_clean_cache_checks_its_argument(runtime: IsolatedRuntime) -> None:
    """older_than is a timedelta: a number of seconds is refused, not misread."""
    with pytest.raises(FieldTypeError, match="older_than must be a timedelta or None"):
        runtime.clean_cache(older_than=3600)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]


def test_pip_builds_an_env_of_another_python_with_its_own_pip(
    index: IndexServer, publish: Publish, tmp_path: Path
) -> None:
    """installer='pip' for another Python: the env's own pip installs (this process's pip may
    not support that Python)."""
    others = _other_interpreters((3, 8))
    if not others:
        pytest.skip(f"no CPython other than {RUNNING} is installed here (pyenv install one)")
    publish("only-here", "9.2", {"only_here/__init__.py": "VALUE = 92\n"})
    project = tmp_path / "project"
    project.mkdir()
    (project / "reader.py").write_text("def value():\n    import only_here\n    return only_here.VALUE\n")
    runtime = IsolatedRuntime(cache_dir=tmp_path / "lzy-cache", installer="pip")
    env = ManualPythonEnv(
        python_version=others[0],
        pypi_packages={"only-here": "9.2"},
        pypi_index_url=index.url(),
        local_module_paths=[str(project / "reader.py")],
    )
    prepend_path_for_test = [str(project)]
    sys.path[:0] = prepend_path_for_test
    try:
        value = cast("Callable[[], int]", op(getattr(importlib.import_module("reader"), "value")))  # noqa: B009
        with Lzy(runtime=runtime).workflow("w").with_python_env(env):
            assert value() == 92
    finally:
        del sys.path[: len(prepend_path_for_test)]
        sys.modules.pop("reader", None)


@pytest.mark.parametrize(
    ("primary", "extra", "expected"),
    [
        pytest.param(["1.0"], ["1.0"], "primary 1.0", id="on both: the first index's"),
        pytest.param(["1.0"], ["0.5"], "primary 1.0", id="another version on the extra index"),
        pytest.param(["0.9"], ["1.0"], "extra 1.0", id="another version on the first index"),
    ],
)
@pytest.mark.parametrize("installer", ["uv", "pip"])
def test_a_pin_is_installed_from_the_index_the_explorer_found_it_on(
    installer: str,
    primary: list[str],
    extra: list[str],
    expected: str,
    *,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With an extra index, the explorer pins a version from the first index that has files of
    it, and the installer takes it from there: an extra index listing the project (with or
    without that version) neither breaks the install nor swaps the code. pip has no index
    order, so where both have the version only uv is held to the first one's code."""
    site = tmp_path / "site"
    Site(site).install("twin-dist", "1.0", {"twin_dist/__init__.py": "WHERE = 'caller 1.0'\n"})
    project = tmp_path / "project"
    project.mkdir()
    (project / "twinops.py").write_text(
        "import twin_dist\nfrom lzy.api.v1 import op\n\n"
        "@op\ndef where() -> str:\n    return twin_dist.WHERE\n"
    )
    prepend_path(monkeypatch, site)
    prepend_path(monkeypatch, project)
    runtime = IsolatedRuntime(cache_dir=tmp_path / "lzy-cache", installer=installer)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    with IndexServer() as first, IndexServer() as second:
        for server, label, versions in ((first, "primary", primary), (second, "extra", extra)):
            wheels = tmp_path / label
            wheels.mkdir()
            for version in versions:
                files = {"twin_dist/__init__.py": f"WHERE = '{label} {version}'\n"}
                server.publish("twin-dist", build_wheel(wheels, "twin-dist", version, files))
        try:
            where: Callable[[], str] = getattr(importlib.import_module("twinops"), "where")  # noqa: B009
            workflow = Lzy(runtime=runtime).workflow("w")
            with workflow.with_python_env(pypi_index_url=first.url(), extra_index_urls=[second.url()]):
                got = where()
        finally:
            for name in ("twinops", "twin_dist"):
                sys.modules.pop(name, None)
    if installer == "uv" or primary != extra:
        assert got == expected
    else:
        assert got in {"primary 1.0", "extra 1.0"}
    (cached,) = runtime.cached_envs()
    assert cached.requirements == ("twin-dist==1.0",)
