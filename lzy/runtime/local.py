""":class:`LocalRuntime`: run each op in a child Python process on this machine."""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
import pickle
import platform
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TypeVar, cast

from lzy.env.environment import ResolvedEnv
from lzy.env.provisioning import MachineSpec
from lzy.env.python.base import python_version_matches, same_version
from lzy.exceptions import OpExecutionError, RuntimeRefusedError
from lzy.runtime._pickle import dumps_call
from lzy.runtime.base import OpCall, Runtime

__all__ = ["LocalRuntime", "this_machine"]


def __dir__() -> list[str]:
    return __all__


_R = TypeVar("_R")


def _gpus() -> tuple[str | None, int]:
    root = Path("/proc/driver/nvidia/gpus")
    if not root.is_dir():
        return None, 0
    models: list[str] = []
    for entry in sorted(root.iterdir()):
        with contextlib.suppress(OSError):
            for line in (entry / "information").read_text().splitlines():
                if line.startswith("Model:"):
                    models.append(line.split(":", 1)[1].strip())
    return (models[0] if models else None), len(models)


def _memory_gb() -> float:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError, AttributeError):
        return 0.0


def this_machine() -> MachineSpec:
    """A description of the machine this process runs on."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 1
    gpu_type, gpu_count = _gpus()
    return MachineSpec(
        name="this machine",
        cpu_type=platform.machine(),
        cpu_count=cores,
        gpu_type=gpu_type,
        gpu_count=gpu_count,
        ram_size_gb=round(_memory_gb(), 1),
    )


class LocalRuntime(Runtime):
    """Runs each op in a child process of this interpreter, with the op's ``environ`` applied.

    It installs nothing and starts no container: it refuses an env that asks for a container,
    for resources this machine lacks, for another Python version, or for package versions that
    are not the ones installed here.
    """

    def __init__(self, *, machine: MachineSpec | None = None) -> None:
        #: The machine ops are checked against (this one by default).
        self.machine = machine if machine is not None else this_machine()

    def __repr__(self) -> str:
        return f"LocalRuntime(machine={self.machine.name!r})"

    def check(self, env: ResolvedEnv) -> None:
        """Raise :class:`~lzy.exceptions.RuntimeRefusedError` listing all it cannot provide."""
        problems: list[str] = []
        if env.container.container_type is not None:
            problems.append(
                f"a {env.container.container_type} container ({env.container.image}):"
                " it runs ops in this interpreter, without containers"
            )
        problems += [f"{lack} on {self.machine.name}" for lack in env.provisioning.shortfalls(self.machine)]
        python = env.python_env
        running = platform.python_version()
        if python.python_version is not None and not python_version_matches(python.python_version, running):
            problems.append(f"Python {python.python_version} (it runs Python {running})")
        if python.install:
            for name, version in python.pypi_packages.items():
                try:
                    installed = importlib.metadata.version(name)
                except importlib.metadata.PackageNotFoundError:
                    problems.append(f"package {name}=={version} (not installed here; it installs nothing)")
                    continue
                if not same_version(installed, version):
                    problems.append(
                        f"package {name}=={version} (installed here: {installed}; it installs nothing)"
                    )
        if problems:
            msg = "LocalRuntime cannot provide " + "; ".join(problems)
            raise RuntimeRefusedError(msg)

    def run(self, call: OpCall[_R]) -> _R:
        """Check the env, then run the call in a child process and return its result."""
        self.check(call.env)
        environ = {**os.environ, **call.env.environ}
        path = [p for p in sys.path if p] + [
            os.path.dirname(p) for p in call.env.python_env.local_module_paths
        ]
        environ["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(path))
        with tempfile.TemporaryDirectory(prefix="lzy-op-") as directory:
            request = Path(directory, "request.pkl")
            response = Path(directory, "response.pkl")
            request.write_bytes(dumps_call(call.function, tuple(call.args), call.kwargs))
            done = subprocess.run(
                [sys.executable, "-m", "lzy.runtime._child", str(request), str(response)],
                env=environ,
                check=False,
            )
            if not response.exists():
                msg = f"op {call.name} died without a result (exit code {done.returncode})"
                raise OpExecutionError(msg)
            outcome = pickle.loads(response.read_bytes())
        kind, payload, remote_traceback = cast("tuple[str, object, str]", outcome)
        if kind == "ok":
            return cast("_R", payload)
        if kind == "error" and isinstance(payload, BaseException):
            payload.add_note(f"The op {call.name} raised it in its process:\n{remote_traceback}")
            raise payload
        msg = f"op {call.name} {payload}" + (f"\n{remote_traceback}" if remote_traceback else "")
        raise OpExecutionError(msg)
