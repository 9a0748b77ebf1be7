"""Which cluster a RayRuntime uses, what it shuts down, and what a cluster it did not start gets."""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import re
import socket
import textwrap
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from lzy.api.v1 import RayRuntime
from lzy.api.v1.env import ResolvedPythonEnv, Resources
from lzy.exceptions import RuntimeConnectionError, RuntimeRefusedError
from tests.ray.support import Cluster, resolved, run_python

#: Imports and an op for the child processes.
_PRELUDE = """
import os
from lzy.api.v1 import Lzy, RayRuntime, op
from lzy.api.v1.env import ManualPythonEnv, OnlyLocalPythonEnv
from tests.ray.support import NothingExplorer, resolved

@op
def where() -> int:
    return os.getpid()

def run(runtime):
    lzy = Lzy(runtime=runtime).with_python_env(OnlyLocalPythonEnv(explorer=NothingExplorer))
    with lzy.workflow("w"):
        return where()
"""
#: A small local cluster for the children that start their own.
_SMALL = "init_options={'num_cpus': 1, 'object_store_memory': 100_000_000}"


def _child(code: str, *, environ: Mapping[str, str] | None = None) -> dict[str, object]:
    """Run ``code`` after :data:`_PRELUDE` in a fresh interpreter; it prints one JSON object."""
    done = run_python(_PRELUDE + textwrap.dedent(code), timeout=120, environ=environ)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert lines, done.stdout + done.stderr[-3000:]
    result: dict[str, object] = json.loads(lines[-1])
    return result


def _listening(address: str) -> bool:
    host, _, port = address.rpartition(":")
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex((host, int(port))) == 0


def _stops_listening(address: str, seconds: float = 60) -> bool:
    deadline = time.monotonic() + seconds
    while _listening(address):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def test_a_running_cluster_is_used_by_address_and_left_running(cluster: Cluster) -> None:
    """Another process connects by address, runs an op there, and closing its runtime leaves the
    cluster running."""
    found = _child(f"""
        import json, ray
        runtime = RayRuntime(address={cluster.gcs_address!r})
        pid = run(runtime)
        runtime.close()
        print(json.dumps({{"pid": pid, "me": os.getpid(), "connected": ray.is_initialized()}}))
    """)
    assert found["pid"] != found["me"]
    assert found["connected"] is False
    assert _listening(cluster.gcs_address)
    cluster.runtime.check(resolved())


def test_the_cluster_a_runtime_started_stops_with_its_last_runtime() -> None:
    """Two runtimes share the local cluster one of them started; it stops when both are closed,
    with its private .netrc and the environments Ray built for it."""
    found = _child(f"""
        import json, ray
        from lzy.runtime import _ray_cluster
        first, second = RayRuntime({_SMALL}), RayRuntime({_SMALL})
        run(first)
        second.check(resolved())  # Both use the cluster now.
        address = ray.get_runtime_context().gcs_address
        netrc = _ray_cluster.current().netrc.path
        session = ray._private.worker.global_worker.node.get_session_dir_path()
        built = os.path.isdir(os.path.join(session, "runtime_resources"))
        first.close()
        still = ray.is_initialized()
        run(second)
        second.close()
        after = ray.is_initialized()
        print(json.dumps({{
            "address": address, "netrc": netrc, "still": still, "after": after, "session": session,
            "built": built,
        }}))
    """)
    assert (found["still"], found["after"], found["built"]) == (True, False, True)
    assert _stops_listening(str(found["address"]))
    assert not Path(str(found["netrc"])).parent.exists()
    _assert_environments_gone_logs_kept(Path(str(found["session"])))


def _assert_environments_gone_logs_kept(session: Path) -> None:
    """Ray keeps a session's directory; the environments built for its tasks are removed with a
    cluster lzy started (at once out of the way, their files soon after), its logs are not."""
    assert not (session / "runtime_resources").exists()
    assert (session / "logs").is_dir()
    deadline = time.monotonic() + 60
    while list(session.glob("runtime_resources*")) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert list(session.glob("runtime_resources*")) == []


def test_the_cluster_a_runtime_started_stops_when_the_process_exits() -> None:
    """Without close(), the local cluster, its .netrc and its built environments go away with
    the process."""
    found = _child(f"""
        import json, ray
        from lzy.runtime import _ray_cluster
        runtime = RayRuntime({_SMALL})
        run(runtime)
        netrc = _ray_cluster.current().netrc.path
        session = ray._private.worker.global_worker.node.get_session_dir_path()
        address = ray.get_runtime_context().gcs_address
        print(json.dumps({{"address": address, "netrc": netrc, "session": session}}))
    """)
    assert _stops_listening(str(found["address"]))
    assert not Path(str(found["netrc"])).parent.exists()
    _assert_environments_gone_logs_kept(Path(str(found["session"])))


def test_one_process_uses_one_cluster(cluster: Cluster) -> None:
    """A runtime for the connected cluster shares it; another address, or other init options,
    are a clear error naming the connected cluster."""
    with RayRuntime(address=cluster.gcs_address) as same:
        same.check(resolved())
    with pytest.raises(
        RuntimeConnectionError, match=f"connected to .* at {cluster.gcs_address}.* one cluster"
    ):
        RayRuntime(address="127.0.0.1:1").check(resolved())
    with pytest.raises(RuntimeConnectionError, match="init_options apply only when a RayRuntime connects"):
        RayRuntime(init_options={"num_cpus": 1}).check(resolved())
    cluster.runtime.check(resolved())


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port on 127.0.0.1 that accepts connections and never answers."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        accepted: list[socket.socket] = []
        stop = threading.Event()

        def accept() -> None:
            server.settimeout(0.2)
            while not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    accepted.append(server.accept()[0])

        thread = threading.Thread(target=accept, daemon=True)
        thread.start()
        try:
            yield int(server.getsockname()[1])
        finally:
            stop.set()
            thread.join()
            for connection in accepted:
                connection.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_an_address_that_does_not_answer_fails_in_bounded_time_saying_why(silent_port: int) -> None:
    """Nothing listening, a name that does not resolve, a port that never answers as Ray, a
    RAY_ADDRESS for Ray Client: each is a RuntimeConnectionError saying so, within the
    connect_timeout (the child would otherwise wait for Ray's retries, many minutes)."""
    cases = {
        "refused": f"127.0.0.1:{_free_port()}",
        "unresolvable": "lzy-no-such-host.invalid:6379",
        "silent": f"127.0.0.1:{silent_port}",
    }
    found = _child(f"""
        import json, time
        from lzy.exceptions import RuntimeConnectionError
        out = {{}}
        for name, address in {cases!r}.items():
            start = time.monotonic()
            try:
                RayRuntime(address=address, connect_timeout=3).check(resolved())
                out[name] = "connected"
            except RuntimeConnectionError as error:
                out[name] = str(error)
        os.environ["RAY_ADDRESS"] = "ray://head.example:10001"
        try:
            RayRuntime().check(resolved())
        except RuntimeConnectionError as error:
            out["ray client"] = str(error)
        print(json.dumps(out))
    """)
    refused = f"Ray could not connect to the Ray cluster at {cases['refused']!r}: nothing accepts connections"
    assert str(found["refused"]).startswith(refused)
    # A resolver that answers says so at once; one that cannot be reached, at the deadline.
    assert re.search(r"host name (does not resolve|did not resolve within 3 s)", str(found["unresolvable"]))
    assert str(found["silent"]).endswith(
        "it accepts connections but did not answer as a Ray cluster's head (GCS) within 3 s"
        " (RayRuntime(connect_timeout=...)); is it the GCS address of a running Ray head (port 6379"
        " unless `ray start --port` said otherwise)?"
    )
    assert "(RAY_ADDRESS): ray:// is a Ray Client address" in str(found["ray client"])


def test_a_loopback_address_that_ray_rewrites_is_reported_with_both_addresses(silent_port: int) -> None:
    """Ray connects to this machine's IP address for 127.0.0.1: when nothing accepts connections
    there, the error names both addresses and says whether the one given accepts connections
    (a head on loopback only), never that nothing listens at the address given when it does."""
    cases = {"loopback only": f"127.0.0.1:{silent_port}", "nowhere": f"127.0.0.1:{_free_port()}"}
    found = _child(
        f"""
        import json, importlib
        from lzy.exceptions import RuntimeConnectionError
        services = importlib.import_module("ray._private.services")
        out = {{"node": services.canonicalize_bootstrap_address_or_die("127.0.0.1:1")}}
        for name, address in {cases!r}.items():
            try:
                RayRuntime(address=address, connect_timeout=5).check(resolved())
                out[name] = "connected"
            except RuntimeConnectionError as error:
                out[name] = str(error)
        print(json.dumps(out))
        """,
        # Ray's rule on Linux (the tests keep Ray on loopback otherwise).
        environ={"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "1"},
    )
    node = str(found["node"]).rpartition(":")[0]
    if node.startswith("127."):
        pytest.skip("this machine has no address but loopback: Ray rewrites nothing")
    given = cases["loopback only"]
    rewritten = f"{node}:{silent_port}"
    assert str(found["loopback only"]).startswith(
        f"Ray could not connect to the Ray cluster at {given!r}: Ray connects to {rewritten} for {given!r}"
    )
    assert f"nothing accepts connections at {rewritten}, while {given} does" in str(found["loopback only"])
    assert "--node-ip-address" in str(found["loopback only"])
    port = cases["nowhere"].rpartition(":")[2]
    assert f"nothing accepts connections at {node}:{port}, nor at {cases['nowhere']} itself" in str(
        found["nowhere"]
    )


def test_a_cluster_that_refuses_this_processs_token_says_so(cluster: Cluster) -> None:
    """The session's cluster has Ray's token authentication (Ray's default for a local cluster): a
    process with another token is told that, and where a token comes from, not "failed to
    connect"; the token is not shown."""
    if os.environ.get("RAY_AUTH_MODE") != "token":
        pytest.skip("this Ray started the cluster without token authentication")
    wrong = "not-the-clusters-token-0123456789"
    found = _child(
        f"""
        import json
        from lzy.exceptions import RuntimeConnectionError
        try:
            RayRuntime(address={cluster.gcs_address!r}).check(resolved())
            out = "connected"
        except RuntimeConnectionError as error:
            out = str(error)
        print(json.dumps({{"error": out}}))
        """,
        environ={"RAY_AUTH_TOKEN": wrong},
    )
    error = str(found["error"])
    assert "the cluster uses Ray's token authentication and refused this process" in error
    assert "RAY_AUTH_TOKEN" in error
    assert "Authentication token is missing or incorrect" in error
    assert wrong not in error


def test_index_credentials_are_refused_on_a_cluster_the_runtime_did_not_start(cluster: Cluster) -> None:
    """A cluster lzy did not start gets no credentials: refused, unless its nodes hold their own,
    and then the URLs go without them."""
    found = _child(f"""
        import json
        python = ManualPythonEnv(
            python_version="3",
            pypi_index_url="https://alice:pw-42@private.example/simple",
            pypi_packages={{"attrs": "23.2.0"}},
        ).resolve({{}})
        refused = ""
        try:
            RayRuntime(address={cluster.gcs_address!r}).check(resolved(python=python))
        except Exception as error:
            refused = f"{{type(error).__name__}}: {{error}}"
        trusting = RayRuntime(address={cluster.gcs_address!r}, index_logins_on_nodes=True)
        options = trusting.task_options(resolved(python=python))
        print(json.dumps({{"refused": refused, "options": options}}))
    """)
    refused = str(found["refused"])
    assert refused.startswith("RuntimeRefusedError: ")
    assert "credentials for the package index at private.example" in refused
    assert "index_logins_on_nodes=True" in refused
    assert "pw-42" not in refused
    assert "pw-42" not in json.dumps(found["options"])
    assert "https://private.example/simple" in json.dumps(found["options"])


def test_a_job_runtime_env_that_would_change_the_tasks_is_refused(cluster: Cluster) -> None:
    """Ray merges a job's runtime_env into every task: a field or variable it would add is
    refused (names only, never values); config, and variables the op sets itself, are fine."""
    found = _child(f"""
        import json, ray
        job_env = {{
            "env_vars": {{"JOB_ONLY": "job-value-7", "MODE": "job"}},
            "worker_process_setup_hook": "json.dumps",
            "config": {{"setup_timeout_seconds": 60}},
        }}
        ray.init(address={cluster.gcs_address!r}, runtime_env=job_env)
        runtime = RayRuntime()
        try:
            runtime.check(resolved(environ={{"MODE": "op"}}))
            refused = ""
        except Exception as error:
            refused = f"{{type(error).__name__}}: {{error}}"
        allowed = True
        try:
            runtime.check(resolved(environ={{"MODE": "op", "JOB_ONLY": "op"}}))
        except Exception as error:
            allowed = str(error)
        print(json.dumps({{"refused": refused, "allowed": allowed}}))
    """)
    refused = str(found["refused"])
    assert refused.startswith("RuntimeRefusedError: ")
    assert "runtime_env (worker_process_setup_hook; env_vars JOB_ONLY)" in refused
    assert "job-value-7" not in refused
    assert "MODE" not in refused
    assert "setup_hook" in str(found["allowed"])


def test_node_types_the_autoscaler_can_add_count_as_nodes(cluster: Cluster) -> None:
    """A requirement no running node meets but a node type of the autoscaler does is submitted;
    one that no node type meets either is refused, naming the node types."""
    raylet = importlib.import_module("ray._raylet")
    autoscaler = importlib.import_module("ray.core.generated.autoscaler_pb2")
    config = autoscaler.ClusterConfig()
    group = config.node_group_configs.add()
    group.name = "big"
    group.max_count = 4
    group.resources.update({"CPU": 16, "memory": 64 * 2**30})
    kv = importlib.import_module("ray.experimental.internal_kv")
    namespace = raylet.GCS_AUTOSCALER_STATE_NAMESPACE
    key = raylet.GCS_AUTOSCALER_CLUSTER_CONFIG_KEY
    kv._internal_kv_put(key, config.SerializeToString(), namespace=namespace)
    try:
        assert cluster.runtime.task_options(resolved(resources=Resources(cpu_count=16))) == {"num_cpus": 16}
        with pytest.raises(RuntimeRefusedError, match="node type 'big' of the autoscaler lacks cpu_count 64"):
            cluster.runtime.check(resolved(resources=Resources(cpu_count=64)))
    finally:
        kv._internal_kv_del(key, namespace=namespace)
    with pytest.raises(RuntimeRefusedError):
        cluster.runtime.check(resolved(resources=Resources(cpu_count=16)))


def test_without_ray_the_error_names_the_extra() -> None:
    """lzy's API imports without Ray; creating a RayRuntime then says how to install it."""
    done = run_python("""
        import sys
        sys.modules["ray"] = None  # What an environment without Ray looks like to an import.
        from lzy.api.v1 import Lzy, RayRuntime
        try:
            RayRuntime()
        except ImportError as error:
            print(type(error).__name__, error)
    """)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (
        "MissingExtraError RayRuntime needs Ray, which is not installed in this environment:"
        " pip install 'lzy[ray]'"
    )


def test_an_env_with_credentials_needs_no_credentials_when_nothing_is_installed(cluster: Cluster) -> None:
    """Index URLs matter only when packages are installed: an env with none is not refused."""
    python = ResolvedPythonEnv(python_version="3", pypi_index_url="https://u:p@private.example/simple")
    assert cluster.runtime.task_options(resolved(python=python)) == {}
