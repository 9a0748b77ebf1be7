"""RayRuntime on a real local cluster: each op call is one Ray task in the environment its env
describes, or a clear refusal before anything is submitted."""

from __future__ import annotations

import importlib
import json
import os
import platform
import re
import stat
import subprocess
import sys
import threading
import types
from pathlib import Path
from typing import cast

import pytest

from lzy.api.v1 import Lzy, RayRuntime, op
from lzy.api.v1.env import (
    ANY,
    DockerContainer,
    ManualPythonEnv,
    OnlyLocalPythonEnv,
    PullPolicy,
    ResolvedContainer,
    ResolvedPythonEnv,
    Resources,
)
from lzy.exceptions import (
    FieldTypeError,
    FieldValueError,
    InstallError,
    OpExecutionError,
    RuntimeRefusedError,
    UnknownFieldError,
)
from lzy.runtime import _ray_cluster
from lzy.runtime.ray import Installer
from tests.explorer.support import IndexServer
from tests.ray.conftest import MODULE, PACKAGE, VERSION
from tests.ray.support import ROOT, Cluster, NothingExplorer, ray_module, resolved

LOCAL = OnlyLocalPythonEnv(explorer=NothingExplorer)


def _lzy(cluster: Cluster) -> Lzy:
    return Lzy(runtime=cluster.runtime).with_python_env(LOCAL)


@op
def report(*names: str) -> tuple[int, dict[str, str | None]]:
    """The task's pid and some variables of its environment."""
    return os.getpid(), {name: os.environ.get(name) for name in names}


@op
def probe() -> tuple[str, str]:
    """The version and the file of the package the index serves, imported in the task."""
    package = importlib.import_module(MODULE)  # Only the task's environment has it.
    return str(package.VERSION), str(package.__file__)


def _session_logs() -> list[Path]:
    node = ray_module()._private.worker.global_worker.node
    return [p for p in Path(node.get_session_dir_path()).rglob("*") if p.is_file()]


def _mentions(paths: list[Path], secret: str) -> list[Path]:
    return [p for p in paths if secret.encode() in p.read_bytes()]


# -- the op's environment ------------------------------------------------------------------------


def test_op_runs_in_a_ray_task_with_its_environ(cluster: Cluster) -> None:
    """The op runs in a Ray worker, sees every variable of its env (secrets too), and the caller's
    environment is untouched."""
    before = dict(os.environ)
    lzy = _lzy(cluster).with_environ(MODE="fast", API_TOKEN="t-123")
    with lzy.workflow("w"):
        pid, seen = report.with_environ(LEVEL="op")("MODE", "API_TOKEN", "LEVEL")
    assert pid != os.getpid()
    assert seen == {"MODE": "fast", "API_TOKEN": "t-123", "LEVEL": "op"}
    assert dict(os.environ) == before


def test_secret_variables_travel_apart_from_env_vars(cluster: Cluster) -> None:
    """A variable lzy treats as a secret is set in the worker for the call only: it is not in the
    task's env_vars, nor in any file of Ray's session, nor left behind for the next task."""
    secret = "s3cr3t-value-of-a-token"
    environ = {"MODE": "fast", "HF_TOKEN": secret, "MIRROR": "https://bob:pw-in-url@mirror.example/x"}
    options = cluster.runtime.task_options(resolved(environ=environ))
    assert options["runtime_env"] == {"env_vars": {"MODE": "fast"}}
    with RayRuntime(reuse_workers=True) as reusing:
        lzy = Lzy(runtime=reusing).with_python_env(LOCAL)
        with lzy.with_environ(environ).workflow("w"):
            pid, seen = report("HF_TOKEN", "MIRROR")
        with lzy.with_environ(MODE="fast").workflow("w"):
            # The same runtime_env: Ray hands the task the worker that ran the first one.
            next_pid, after = report("HF_TOKEN", "MIRROR")
    assert seen == {"HF_TOKEN": secret, "MIRROR": environ["MIRROR"]}
    assert (next_pid, after) == (pid, {"HF_TOKEN": None, "MIRROR": None})
    assert _mentions(_session_logs(), secret) == []
    assert _mentions(_session_logs(), "pw-in-url") == []


@op
def pollute(directory: str) -> int:
    """Change what a process carries from one call to the next: a variable, the working
    directory, sys.path and a module's global."""
    os.environ["LEFT_BY_AN_EARLIER_OP"] = "1"
    os.chdir(directory)
    sys.path.append(directory)
    json.LEFT_BY_AN_EARLIER_OP = "mutated"  # type: ignore[attr-defined]  # pyright: ignore[reportAttributeAccessIssue]
    return os.getpid()


@op
def observe(directory: str) -> tuple[int, str | None, str, bool, str | None]:
    """What a call finds of :func:`pollute`'s changes."""
    return (
        os.getpid(),
        os.environ.get("LEFT_BY_AN_EARLIER_OP"),
        os.getcwd(),
        directory in sys.path,
        getattr(json, "LEFT_BY_AN_EARLIER_OP", None),
    )


def test_each_call_runs_in_a_fresh_worker_process(cluster: Cluster, tmp_path: Path) -> None:
    """By default nothing an op changes in its process reaches a later op: each call has a
    worker process of its own, as on the local runtimes."""
    with _lzy(cluster).workflow("w"):
        polluter = pollute(str(tmp_path))
        pid, variable, cwd, on_path, mutated = observe(str(tmp_path))
    assert pid != polluter
    assert (variable, cwd == str(tmp_path), on_path, mutated) == (None, False, False, None)


def test_a_reused_worker_gets_environ_cwd_and_path_back(cluster: Cluster, tmp_path: Path) -> None:
    """With reuse_workers the next op runs in the same process, with the variables, working
    directory and sys.path restored; a module's global is what the docs say it is: kept."""
    with RayRuntime(reuse_workers=True) as reusing, Lzy(runtime=reusing).with_python_env(LOCAL).workflow("w"):
        polluter = pollute(str(tmp_path))
        pid, variable, cwd, on_path, mutated = observe(str(tmp_path))
    assert pid == polluter
    assert (variable, cwd == str(tmp_path), on_path) == (None, False, False)
    assert mutated == "mutated"


@pytest.mark.parametrize("installer", ["uv", "pip"])
def test_packages_from_the_index_are_installed_for_the_task(
    cluster: Cluster, index: IndexServer, installer: Installer
) -> None:
    """A pinned package that only the loopback index has is installed into the task's env by the
    chosen installer, and imported there."""
    runtime = RayRuntime(installer=installer)
    env = ManualPythonEnv(python_version="3", pypi_index_url=index.url(), pypi_packages={PACKAGE: VERSION})
    with Lzy(runtime=runtime).with_python_env(env).workflow("w"):
        version, where = probe()
    runtime.close()
    assert version == VERSION
    assert "runtime_resources" in where


@pytest.mark.parametrize("installer", ["uv", "pip"])
def test_index_credentials_reach_the_installer_through_a_private_netrc(
    cluster: Cluster, index: IndexServer, installer: Installer
) -> None:
    """Credentials in the index URL reach the installers (uv and pip) of the cluster lzy started
    through a .netrc only it can read, for the call only; no option, no log of Ray's session
    holds them."""
    password = "pw-of-the-private-index"
    with IndexServer() as private, RayRuntime(installer=installer) as runtime:
        private.state.files.update(index.state.files)
        for project, files in index.state.projects.items():
            private.add(project, *files)
        private.state.credentials = ("alice", password)
        url = private.url(credentials=("alice", password))
        env = ManualPythonEnv(python_version="3", pypi_index_url=url, pypi_packages={PACKAGE: VERSION})
        options = runtime.task_options(resolved(python=env.resolve({})))
        with Lzy(runtime=runtime).with_python_env(env).workflow("w"):
            version, _ = probe()
        asked = private.requests_for(PACKAGE)
    assert (version, asked > 0) == (VERSION, True)
    assert password not in repr(options)
    assert private.url() in repr(options)
    assert _mentions(_session_logs(), password) == []
    netrc = _netrc()
    # Lent to the file for the call only.
    assert password not in netrc.read_text()
    assert stat.S_IMODE(netrc.stat().st_mode) == 0o600
    assert stat.S_IMODE(netrc.parent.stat().st_mode) == 0o700


def _private_index(index: IndexServer, login: str, password: str) -> IndexServer:
    """A server with the session index's packages that wants ``login``/``password`` (started by
    the caller)."""
    private = IndexServer()
    private.state.files.update(index.state.files)
    for project, files in index.state.projects.items():
        private.add(project, *files)
    private.state.credentials = (login, password)
    return private


def test_a_mistyped_password_does_not_stick(cluster: Cluster, index: IndexServer) -> None:
    """A call with a wrong password fails to build; the same call with the right one then
    builds and runs, and the .netrc holds neither once the calls are over."""
    with _private_index(index, "alice", "the-right-one") as private:
        outcomes: list[str] = []
        for password in ("a-typo", "the-right-one"):
            url = private.url(credentials=("alice", password))
            env = ManualPythonEnv(python_version="3", pypi_index_url=url, pypi_packages={PACKAGE: VERSION})
            try:
                with _lzy(cluster).with_python_env(env).workflow("w"):
                    outcomes.append(probe()[0])
            except InstallError as error:
                outcomes.append(type(error).__name__)
    assert outcomes == ["InstallError", VERSION]
    assert "alice" not in _netrc().read_text()


def test_a_wrong_or_missing_password_after_a_right_one_is_refused(
    cluster: Cluster, index: IndexServer
) -> None:
    """Ray reuses the environment a right password built, whatever the login: a wrong password
    or none after it fails before anything is submitted, naming the index and not the password;
    the index is asked once per process per login."""
    right, wrong = ("carol", "right-pw-5"), ("carol", "wrong-pw-6")
    with _private_index(index, *right) as private:
        outcomes: list[str] = []
        asked: list[int] = []
        for login in (right, wrong, None, right):
            env = ManualPythonEnv(
                python_version="3",
                pypi_index_url=private.url(credentials=login),
                pypi_packages={PACKAGE: VERSION},
            )
            try:
                with _lzy(cluster).with_python_env(env).workflow("w"):
                    outcomes.append(probe()[0])
            except InstallError as error:
                outcomes.append(str(error))
            asked.append(private.requests_for(PACKAGE))
    assert outcomes[0] == outcomes[3] == VERSION
    assert "refuses the credentials given in its URL (HTTP 401)" in outcomes[1]
    assert f"http://***@127.0.0.1:{private.port}/simple" in outcomes[1]
    assert "asks for credentials (HTTP 401) and none are given" in outcomes[2]
    assert all("pw-" not in outcome for outcome in outcomes)
    # The right login was asked once (by the check, then the installer); the wrong one and none
    # once each, and nothing was installed for them; the right one again: not asked again.
    assert asked[1] - asked[0] == 1
    assert asked[2] - asked[1] == 1
    assert asked[3] == asked[2]


def test_indexes_of_one_host_with_other_logins_run_one_after_the_other(
    cluster: Cluster, index: IndexServer
) -> None:
    """Two indexes on one host (two ports) with different logins: each call gets its own."""
    with _private_index(index, "alice", "pw-a") as first, _private_index(index, "bob", "pw-b") as second:
        for server, login in ((first, ("alice", "pw-a")), (second, ("bob", "pw-b"))):
            env = ManualPythonEnv(
                python_version="3",
                pypi_index_url=server.url(credentials=login),
                pypi_packages={PACKAGE: VERSION},
            )
            with _lzy(cluster).with_python_env(env).workflow("w"):
                assert probe()[0] == VERSION
        assert (first.requests_for(PACKAGE) > 0, second.requests_for(PACKAGE) > 0) == (True, True)


def test_one_call_cannot_give_two_logins_for_one_host(cluster: Cluster) -> None:
    """A .netrc matches a host, not a port: one env with two logins for one host is refused,
    before anything runs, without showing them."""
    python = ManualPythonEnv(
        python_version="3",
        pypi_index_url="http://alice:pw-one@127.0.0.1:18001/simple",
        extra_index_urls=["http://bob:pw-two@127.0.0.1:18002/simple"],
        pypi_packages={PACKAGE: VERSION},
    ).resolve({})
    with pytest.raises(
        RuntimeRefusedError, match=r"two different credentials for the package indexes at 127\.0\.0\.1"
    ) as caught:
        cluster.runtime.check(resolved(python=python))
    assert "pw-one" not in str(caught.value)
    assert "pw-two" not in str(caught.value)


def _netrc() -> Path:
    """The .netrc the session's cluster reads (the file the cluster's processes see as NETRC)."""
    connection = _ray_cluster.current()
    assert connection is not None
    assert connection.netrc is not None
    return Path(connection.netrc.path)


def test_local_modules_are_shipped_as_they_are_at_each_call(
    cluster: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Local modules (a package and a single file) are importable in the task from a copy Ray
    unpacked, and a changed module is shipped anew."""
    package = tmp_path / "shipped_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("VALUE = 1\n")
    single = tmp_path / "shipped_single.py"
    single.write_text("def name() -> str:\n    return 'single'\n")
    monkeypatch.setattr(sys, "path", [str(tmp_path), *sys.path])

    @op
    def use() -> tuple[int, str, str]:
        package = importlib.import_module("shipped_pkg")
        single = importlib.import_module("shipped_single")
        return int(package.VALUE), str(single.name()), str(package.__file__)

    env = ManualPythonEnv(
        python_version="3", pypi_packages={}, local_module_paths=[str(package), str(single)]
    )
    lzy = Lzy(runtime=cluster.runtime).with_python_env(env)
    with lzy.workflow("w"):
        first = use()
        (package / "__init__.py").write_text("VALUE = 2\n")
        second = use()
    assert first[:2] == (1, "single")
    assert second[0] == 2
    assert not first[2].startswith(str(tmp_path))


def test_an_only_local_env_installs_nothing_and_still_ships_modules(
    cluster: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """OnlyLocalPythonEnv: no pip or uv field, the local module in py_modules, and the op runs."""
    (tmp_path / "only_local_mod.py").write_text("ANSWER = 42\n")
    monkeypatch.setattr(sys, "path", [str(tmp_path), *sys.path])
    python = ResolvedPythonEnv(
        install=False, python_version=None, local_module_paths=(str(tmp_path / "only_local_mod.py"),)
    )
    options = cluster.runtime.task_options(resolved(python=python))
    assert options["runtime_env"] == {"py_modules": [str(tmp_path / "only_local_mod.py")]}

    @op
    def answer() -> int:
        # An import the explorer of OnlyLocalPythonEnv finds: the module is shipped because of it.
        import only_local_mod  # type: ignore[import-not-found]  # pyright: ignore[reportMissingImports]

        return int(cast("types.ModuleType", only_local_mod).ANSWER)

    env = OnlyLocalPythonEnv()
    with Lzy(runtime=cluster.runtime).with_python_env(env).workflow("w"):
        assert answer() == 42


# -- resources -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("resources", "named"),
    [
        (Resources(cpu_count=64), "cpu_count 64 (it has 2)"),
        (Resources(gpu_count=8, gpu_type=None), "gpu_count 8 (it has 1)"),
        (Resources(gpu_count=1, gpu_type="H100"), "gpu_type 'H100' (it has 'T4')"),
        (Resources(ram_size_gb=100_000), "ram_size_gb 100000 (it has "),
        (Resources(cpu_type="riscv64"), "cpu_type 'riscv64'"),
        # The cluster has 3 CPUs and a GPU, but no single node has 2 CPUs and a GPU.
        (Resources(cpu_count=2, gpu_count=1, gpu_type="T4"), "cpu_count 2 (it has 1)"),
    ],
)
def test_a_requirement_no_node_satisfies_is_refused_before_submitting(
    cluster: Cluster, resources: Resources, named: str
) -> None:
    """Refused at once, naming the requirement and what each node has, instead of a task that
    would wait for a node forever."""
    with pytest.raises(RuntimeRefusedError) as caught:
        cluster.runtime.check(resolved(resources=resources))
    message = str(caught.value)
    assert "no node satisfies" in message
    assert named in message
    assert message.count("lacks") == 2
    # Memory as GiB to one decimal at most, never as Ray's bytes over 2**30.
    assert not re.search(r"\(it has \d+\.\d\d", message)


def test_the_gpu_requirement_runs_on_the_node_that_has_the_gpu(cluster: Cluster) -> None:
    """gpu_type and gpu_count become Ray's accelerator_type and num_gpus, and the task gets the GPU."""
    options = cluster.runtime.task_options(resolved(resources=Resources(gpu_type="T4", gpu_count=1)))
    assert options == {"num_gpus": 1, "accelerator_type": "T4"}

    @op
    def devices() -> str | None:
        return os.environ.get("CUDA_VISIBLE_DEVICES")

    with _lzy(cluster).workflow("w"):
        assert devices.with_provisioning(gpu_type="T4", gpu_count=1)() == "0"
        assert devices.with_provisioning(gpu_type=ANY, gpu_count=1)() == "0"


def test_cpu_type_selects_the_nodes_that_declare_it(cluster: Cluster) -> None:
    """cpu_type matches the nodes' lzy/cpu-type label (aliases too) and becomes a label selector;
    a node without the label never satisfies a cpu_type."""
    alias = {"x86_64": "amd64", "aarch64": "arm64"}.get(cluster.cpu_type, cluster.cpu_type)
    options = cluster.runtime.task_options(resolved(resources=Resources(cpu_type=alias, cpu_count=2)))
    assert options == {"num_cpus": 2, "label_selector": {"lzy/cpu-type": cluster.cpu_type}}
    with pytest.raises(RuntimeRefusedError, match="no lzy/cpu-type label"):
        cluster.runtime.check(resolved(resources=Resources(cpu_type=cluster.cpu_type, gpu_count=1)))
    with _lzy(cluster).workflow("w"):
        pid, _ = report.with_provisioning(cpu_type=alias, cpu_count=2, ram_size_gb=0.5)()
    assert pid != os.getpid()


def test_memory_becomes_bytes(cluster: Cluster) -> None:
    """ram_size_gb is Ray's memory option, in bytes."""
    options = cluster.runtime.task_options(resolved(resources=Resources(ram_size_gb=1.5)))
    assert options == {"memory": 1.5 * 2**30}


# -- Python --------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["3.12", "3.11.0", "3.10", "3.9"])
def test_a_python_version_the_workers_do_not_run_is_refused(cluster: Cluster, version: str) -> None:
    """Ray cannot switch the interpreter per task: another version is refused, naming both."""
    if platform.python_version().startswith(version):
        pytest.skip(f"the cluster runs Python {version}")
    python = ResolvedPythonEnv(install=False, python_version=version)
    with pytest.raises(RuntimeRefusedError) as caught:
        cluster.runtime.check(resolved(python=python))
    assert f"Python {version} (the cluster's workers run Python {platform.python_version()}" in str(
        caught.value
    )


def test_the_workers_python_version_is_accepted_at_any_precision(cluster: Cluster) -> None:
    """``3``, ``3.11`` and ``3.11.7`` all name the workers' interpreter."""
    running = platform.python_version()
    for version in (running.split(".")[0], ".".join(running.split(".")[:2]), running):
        cluster.runtime.check(resolved(python=ResolvedPythonEnv(install=False, python_version=version)))


def test_the_task_options_show_the_whole_env(cluster: Cluster, index: IndexServer, tmp_path: Path) -> None:
    """Every point maps to Ray's options: resources, the installer with the index URLs, the local
    modules, the variables."""
    (tmp_path / "mine").mkdir()
    python = ManualPythonEnv(
        python_version="3",
        pypi_index_url=index.url(),
        extra_index_urls=["https://extra.example/simple"],
        pypi_packages={"b-pkg": "2.0", "a-pkg": "1.0"},
        local_module_paths=[str(tmp_path / "mine")],
    ).resolve({})
    env = resolved(resources=Resources(cpu_count=1), python=python, environ={"MODE": "x"})
    assert cluster.runtime.task_options(env) == {
        "num_cpus": 1,
        "runtime_env": {
            "uv": {
                "packages": ["a-pkg==1.0", "b-pkg==2.0"],
                # The explorer's order, as the isolated runtime gives it: index_url first.
                "uv_pip_install_options": [
                    "--index-strategy",
                    "unsafe-best-match",
                    "--index",
                    index.url(),
                    "--default-index",
                    "https://extra.example/simple",
                    "--no-cache",
                ],
            },
            "py_modules": [str(tmp_path / "mine")],
            "env_vars": {"MODE": "x"},
        },
    }
    with RayRuntime(installer="pip") as pip:
        assert pip.task_options(env)["runtime_env"]["pip"] == {
            "packages": ["a-pkg==1.0", "b-pkg==2.0"],
            "pip_install_options": [
                "--index-url",
                index.url(),
                "--extra-index-url",
                "https://extra.example/simple",
                "--disable-pip-version-check",
                "--no-cache-dir",
            ],
        }


def test_an_install_failure_shows_the_installers_words(cluster: Cluster, index: IndexServer) -> None:
    """A pin the index does not have: InstallError quoting uv, naming the package."""
    env = ManualPythonEnv(python_version="3", pypi_index_url=index.url(), pypi_packages={PACKAGE: "9.9.9"})
    with pytest.raises(InstallError) as caught, _lzy(cluster).with_python_env(env).workflow("w"):
        probe()
    message = str(caught.value)
    assert f"{PACKAGE}==9.9.9" in message
    assert "uv" in message
    assert "Traceback" not in message


# -- what the op sees of this machine -----------------------------------------------------------


@op
def netrc_seen() -> str | None:
    """The op's ``NETRC``."""
    return os.environ.get("NETRC")


def test_the_op_does_not_see_the_private_netrc(cluster: Cluster, tmp_path: Path) -> None:
    """The NETRC through which the cluster's installers get credentials is not the op's; a NETRC
    the op's own environ sets is."""
    own = str(tmp_path / "my-netrc")
    with _lzy(cluster).workflow("w"):
        assert netrc_seen() is None
        assert netrc_seen.with_environ(NETRC=own)() == own


_MAIN = """
import json, os, sys
from lzy.api.v1 import Lzy, RayRuntime, op
from lzy.api.v1.env import ManualPythonEnv
import beside_ops

def imports_sibling() -> str:
    import importlib
    return importlib.import_module("sibling").WHERE

def try_op(function, **env):
    python = ManualPythonEnv(python_version="3", pypi_packages={}, **env)
    try:
        with Lzy(runtime=runtime).with_python_env(python).workflow("w"):
            return op(function)()
    except Exception as error:
        return f"{type(error).__name__}: {error}".splitlines()[0]

runtime = RayRuntime(address=sys.argv[1])
sibling = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sibling.py")
print(json.dumps({
    "undeclared": try_op(imports_sibling),
    "shipped": try_op(imports_sibling, local_module_paths=[sibling]),
    "beside": try_op(beside_ops.uses_a_helper),
    "paths": try_op(beside_ops.script_paths),
}))
"""

_BESIDE = """
import os, sys

def helper() -> str:
    return "helped"

def uses_a_helper() -> str:
    return helper()

def script_paths() -> list[str]:
    # The script's directory is also the caller's working directory.
    here = os.path.dirname(os.path.abspath(__file__))
    return [p for p in sys.path if p == here]
"""


def test_only_the_modules_the_env_ships_are_importable_in_the_op(cluster: Cluster, tmp_path: Path) -> None:
    """Ray puts the caller's script directory and working directory first on the workers'
    sys.path; lzy takes them away: a module beside the script imports only when the env ships
    it, and an op defined beside the script still runs (sent by value)."""
    script = tmp_path / "main.py"
    script.write_text(_MAIN)
    (tmp_path / "sibling.py").write_text("WHERE = 'beside the script'\n")
    (tmp_path / "beside_ops.py").write_text(_BESIDE)
    done = subprocess.run(
        [sys.executable, str(script), cluster.gcs_address],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.splitlines()[-1])
    assert found["undeclared"] == "ModuleNotFoundError: No module named 'sibling'"
    assert found["shipped"] == "beside the script"
    assert found["beside"] == "helped"
    assert found["paths"] == []


# -- containers ----------------------------------------------------------------------------------


@pytest.fixture
def podman(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A ``podman`` on PATH (never run: these tests submit no image task), so that a cluster lzy
    started accepts images."""
    folder = tmp_path / "bin"
    folder.mkdir()
    (folder / "podman").write_text("#!/bin/sh\nexit 1\n")
    (folder / "podman").chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ.get('PATH', '')}")


def test_an_image_without_podman_on_a_local_cluster_is_refused(
    cluster: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ray runs an image with podman: on a local cluster lzy started, where this machine has none,
    an image is refused before anything runs, naming the image and podman."""
    monkeypatch.setenv("PATH", str(tmp_path))
    container = DockerContainer(image="ghcr.io/acme/ops:1.0").resolve()
    with pytest.raises(
        RuntimeRefusedError, match=r"the image ghcr.io/acme/ops:1.0: .* has no podman on PATH"
    ):
        cluster.runtime.check(resolved(container=container))


@pytest.mark.usefixtures("podman")
def test_an_image_becomes_image_uri(cluster: Cluster) -> None:
    """A Docker image with a pinned tag is Ray's image_uri, beside the variables."""
    container = DockerContainer(image="ghcr.io/acme/ops:1.0", username="u", password="p").resolve()
    options = cluster.runtime.task_options(resolved(container=container, environ={"MODE": "x"}))
    assert options == {"runtime_env": {"image_uri": "ghcr.io/acme/ops:1.0", "env_vars": {"MODE": "x"}}}


@pytest.mark.parametrize(
    ("container", "python", "named"),
    [
        (
            ResolvedContainer(
                container_type="docker",
                image="docker.io/library/ubuntu:latest",
                pull_policy=PullPolicy.ALWAYS,
            ),
            None,
            "pull_policy ALWAYS",
        ),
        (
            ResolvedContainer(container_type="docker", image="ghcr.io/a/b:1", pull_policy=PullPolicy.NEVER),
            None,
            "pull_policy NEVER",
        ),
        (
            ResolvedContainer(
                container_type="docker", image="ghcr.io/a/b:1", pull_policy=PullPolicy.IF_NOT_PRESENT
            ),
            ManualPythonEnv(python_version="3", pypi_packages={PACKAGE: VERSION}).resolve({}),
            "together with uv",
        ),
        (
            ResolvedContainer(
                container_type="docker", image="ghcr.io/a/b:1", pull_policy=PullPolicy.IF_NOT_PRESENT
            ),
            ResolvedPythonEnv(install=False, python_version=None, local_module_paths=("/src/mine",)),
            "together with py_modules",
        ),
    ],
)
@pytest.mark.usefixtures("podman")
def test_what_ray_cannot_do_with_an_image_is_refused(
    cluster: Cluster, container: ResolvedContainer, python: ResolvedPythonEnv | None, named: str
) -> None:
    """Ray pulls only missing images and runs an image's Python as it is: anything else is refused."""
    with pytest.raises(RuntimeRefusedError, match=named):
        cluster.runtime.check(resolved(container=container, python=python))


@pytest.mark.usefixtures("podman")
def test_an_image_pinned_by_digest_may_ask_to_be_pulled_always(cluster: Cluster) -> None:
    """With a digest, ALWAYS and IF_NOT_PRESENT pull the same bytes."""
    image = "ghcr.io/a/b@sha256:" + "0" * 64
    container = ResolvedContainer(container_type="docker", image=image, pull_policy=PullPolicy.ALWAYS)
    assert cluster.runtime.task_options(resolved(container=container)) == {
        "runtime_env": {"image_uri": image}
    }


# -- outcomes ------------------------------------------------------------------------------------


@op
def fail(message: str) -> None:
    """Raise a ValueError."""
    raise ValueError(message)


def test_the_ops_own_exception_is_raised_with_the_tasks_traceback(cluster: Cluster) -> None:
    """The op's exception comes back as its own type, with the remote traceback (source line
    included) as a note."""
    with pytest.raises(ValueError, match="bad input") as caught, _lzy(cluster).workflow("w"):
        fail("bad input")
    notes = "\n".join(getattr(caught.value, "__notes__", []))
    assert "raised it in its Ray task" in notes
    assert "raise ValueError(message)" in notes


class _Unpicklable(Exception):
    def __reduce__(self) -> str:
        msg = "no pickling"
        raise TypeError(msg)


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ("result", "returned a _thread.lock, which cannot be sent back"),
        ("raise", "raised tests.ray.test_ray_runtime._Unpicklable: nope, which cannot be sent back"),
    ],
)
def test_an_outcome_that_cannot_travel_back_is_an_op_execution_error(
    cluster: Cluster, body: str, named: str
) -> None:
    """A result or exception that does not pickle is OpExecutionError saying so."""

    @op
    def bad() -> object:
        if body == "raise":
            raise _Unpicklable("nope")
        return threading.Lock()

    with pytest.raises(OpExecutionError, match=named), _lzy(cluster).workflow("w"):
        bad()


@pytest.mark.parametrize(
    ("args", "kwargs", "named"),
    [
        ((threading.Lock(),), {}, "its argument 1 (_thread.lock) does not pickle"),
        ((1,), {"extra": threading.Lock()}, "its argument extra= (_thread.lock) does not pickle"),
    ],
)
def test_arguments_that_cannot_travel_are_refused_naming_the_op_and_argument(
    cluster: Cluster, args: tuple[object, ...], kwargs: dict[str, object], named: str
) -> None:
    """An argument Ray cannot pickle is RuntimeRefusedError naming the op and the argument,
    before any task runs."""

    @op
    def take(*args: object, **kwargs: object) -> None:
        del args, kwargs

    with (
        pytest.raises(
            RuntimeRefusedError, match=rf"op .*take cannot be sent to its Ray task: {re.escape(named)}"
        ),
        _lzy(cluster).workflow("w"),
    ):
        take(*args, **kwargs)


def test_a_result_only_the_tasks_env_can_load_is_an_op_execution_error(
    cluster: Cluster, index: IndexServer
) -> None:
    """A result whose class lives in a package this process lacks says so."""

    @op
    def thing() -> object:
        return importlib.import_module(MODULE).Thing()

    env = ManualPythonEnv(python_version="3", pypi_index_url=index.url(), pypi_packages={PACKAGE: VERSION})
    with (
        pytest.raises(OpExecutionError, match=f"returned a {MODULE}.Thing, which cannot be loaded"),
        _lzy(cluster).with_python_env(env).workflow("w"),
    ):
        thing()


def test_a_task_that_dies_is_reported_and_not_retried(cluster: Cluster, tmp_path: Path) -> None:
    """A worker that exits mid-op is OpExecutionError, and the op ran once."""
    marks = tmp_path / "marks"

    @op
    def die() -> None:
        with marks.open("a") as file:
            file.write("ran\n")
        os._exit(3)

    with pytest.raises(OpExecutionError, match="died without a result"), _lzy(cluster).workflow("w"):
        die()
    assert marks.read_text() == "ran\n"


# -- configuration -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error", "named"),
    [
        ({"installer": "conda"}, FieldValueError, "RayRuntime.installer must be 'uv' or 'pip', got 'conda'"),
        ({"installer": None}, FieldTypeError, "RayRuntime.installer must be 'uv' or 'pip', got None"),
        ({"address": 6379}, FieldTypeError, "RayRuntime.address must be a str"),
        ({"address": "ray://head:10001"}, FieldValueError, "RayRuntime.address .* is a Ray Client address"),
        ({"address": "head"}, FieldValueError, "RayRuntime.address cannot be 'head': an address is 'auto'"),
        ({"address": "head:99999"}, FieldValueError, "RayRuntime.address cannot be 'head:99999'"),
        ({"reuse_workers": 1}, FieldTypeError, "RayRuntime.reuse_workers must be a bool"),
        ({"index_logins_on_nodes": "yes"}, FieldTypeError, "RayRuntime.index_logins_on_nodes must be a bool"),
        ({"connect_timeout": "5"}, FieldTypeError, "RayRuntime.connect_timeout must be a number of seconds"),
        ({"connect_timeout": 0}, FieldValueError, "RayRuntime.connect_timeout must be a positive number"),
        ({"connect_timeout": float("inf")}, FieldValueError, "RayRuntime.connect_timeout must be a positive"),
        ({"init_options": ["num_cpus"]}, FieldTypeError, "RayRuntime.init_options must be a mapping"),
        ({"init_options": {"address": "auto"}}, FieldValueError, "pass RayRuntime\\(address=...\\)"),
        (
            {"init_options": {"num_cpus": "two"}},
            FieldTypeError,
            r"RayRuntime.init_options\['num_cpus'\] must be",
        ),
        (
            {"init_options": {"num_cpus": -1}},
            FieldValueError,
            r"init_options\['num_cpus'\] must be a whole number",
        ),
        (
            {"init_options": {"labels": {"zone": 1}}},
            FieldValueError,
            r"init_options\['labels'\] must be a mapping",
        ),
        (
            {"init_options": {"num_cpu": 2}},
            UnknownFieldError,
            r"init_options has 'num_cpu', which is not a keyword of ray.init; did you mean 'num_cpus'\?",
        ),
        (
            {"init_options": {"runtime_env": {"env_vars": {"JOB": "1"}, "config": {}}}},
            FieldValueError,
            r"init_options\['runtime_env'\] cannot hold env_vars: Ray merges a job's runtime_env",
        ),
        (
            {"init_options": {"runtime_env": ["pip"]}},
            FieldTypeError,
            r"init_options\['runtime_env'\] must be a mapping of runtime_env fields",
        ),
    ],
)
def test_bad_arguments_are_named(kwargs: dict[str, object], error: type[Exception], named: str) -> None:
    """Each bad argument is a clear error naming it and what is allowed, when the runtime is made."""
    with pytest.raises(error, match=named):
        RayRuntime(**kwargs)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]


def test_init_options_ray_takes_are_accepted() -> None:
    """Keywords of ray.init, Ray's private ones, and a runtime_env of setup timeouts alone."""
    options: dict[str, object] = {
        "num_cpus": 1,
        "log_to_driver": False,
        "_temp_dir": "/tmp/ray",
        "runtime_env": {"config": {"setup_timeout_seconds": 60}},
    }
    assert dict(RayRuntime(init_options=options).init_options) == options
