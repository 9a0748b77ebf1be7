"""One real Ray cluster for the whole session, started by :class:`RayRuntime` itself, with a second
node that has one (declared) GPU; and a package index on loopback that its installers use.

The environment is set before Ray is imported: Ray's processes stay on 127.0.0.1 and report no
usage statistics, and the cluster's installers ignore this machine's pip and uv configuration.
"""

from __future__ import annotations

import importlib
import os
import platform
import time
from collections.abc import Iterator
from typing import Any

import pytest

# Before Ray is imported (it reads these once): loopback only, nothing reported.
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
# The tests start their own clusters: a cluster named by the caller's environment is not theirs.
os.environ.pop("RAY_ADDRESS", None)
# The cluster's processes inherit this environment: its installers must not depend on how pip or
# uv is configured on the machine that runs the tests.
for _name in [n for n in os.environ if n.startswith(("PIP_", "UV_"))]:
    del os.environ[_name]
os.environ["PIP_CONFIG_FILE"] = os.devnull
os.environ["UV_NO_CONFIG"] = "1"
# An environment that fails to build fails once (Ray tries three times by default).
os.environ["RUNTIME_ENV_RETRY_TIMES"] = "1"

from lzy.api.v1 import RayRuntime  # noqa: E402 - after the environment above
from tests.explorer.support import IndexServer, build_wheel  # noqa: E402
from tests.ray.support import Cluster, ray_module, resolved  # noqa: E402

#: The package the index serves, installed into tasks' environments.
PACKAGE = "lzy-ray-probe"
#: Its version.
VERSION = "1.4.2"
#: Its module.
MODULE = "lzy_ray_probe"

_HEAD_CPUS = 2
_WORKER_RESOURCES = {"accelerator_type:T4": 1}


def _worker_node(gcs_address: str) -> Any:
    """A second node on this machine, joined to the cluster the way Ray's own test clusters add
    one (``ray start`` refuses a second node while Ray keeps to loopback)."""
    parameters = importlib.import_module("ray._private.parameter").RayParams(
        gcs_address=gcs_address,
        num_cpus=1,
        num_gpus=1,
        resources=_WORKER_RESOURCES,
        object_store_memory=100_000_000,
        min_worker_port=0,
        max_worker_port=0,
        node_manager_port=0,
        include_log_monitor=False,
    )
    node_class = importlib.import_module("ray._private.node").Node
    return node_class(parameters, head=False, shutdown_at_exit=True, spawn_reaper=False)


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    """A local cluster that RayRuntime starts (2 CPUs), joined by a node with 1 CPU and 1 GPU."""
    runtime = RayRuntime(init_options={"num_cpus": _HEAD_CPUS, "object_store_memory": 200_000_000})
    runtime.check(resolved())  # Starts the cluster, once for the session.
    ray = ray_module()
    gcs_address: str = ray.get_runtime_context().gcs_address
    worker = _worker_node(gcs_address)
    deadline = time.monotonic() + 120
    while sum(1 for node in ray.nodes() if node["Alive"]) < 2:
        if time.monotonic() > deadline:
            runtime.close()
            pytest.fail("the second Ray node did not join the cluster")
        time.sleep(0.1)
    try:
        yield Cluster(runtime=runtime, gcs_address=gcs_address, cpu_type=platform.machine())
    finally:
        worker.kill_all_processes(check_alive=False, allow_graceful=True)
        runtime.close()


@pytest.fixture(scope="session")
def index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IndexServer]:
    """A loopback index serving :data:`PACKAGE` (one URL for the session, so tasks that ask for the
    same packages share one environment on the cluster)."""
    wheels = tmp_path_factory.mktemp("wheels")
    source = {
        f"{MODULE}/__init__.py": (
            f"VERSION = {VERSION!r}\n\n\nclass Thing:\n    '''A class only the task's environment has.'''\n"
        )
    }
    with IndexServer() as server:
        server.publish(PACKAGE, build_wheel(wheels, PACKAGE, VERSION, source))
        yield server
