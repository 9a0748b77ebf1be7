""":class:`LocalRuntime`: run each op in a child Python process on this machine."""

from __future__ import annotations

import contextlib
import os
import sys
from typing import TypeVar

from lzy.env._base import expect_instance
from lzy.env.environment import ResolvedEnv
from lzy.env.provisioning import MachineSpec
from lzy.env.python.base import python_version_matches, same_version
from lzy.exceptions import RuntimeRefusedError
from lzy.runtime.base import OpCall, Runtime

__all__ = ["LocalRuntime", "container_problems", "this_machine"]


def __dir__() -> list[str]:
    return __all__


_R = TypeVar("_R")


def _gpus() -> tuple[str | None, int]:
    from pathlib import Path  # noqa: PLC0415 - only when a runtime is made

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
    import platform  # noqa: PLC0415 - only when a runtime is made

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


def _added_path() -> list[str]:
    """The entries of this process's ``sys.path`` that its interpreter does not find by itself
    (a child of it does): the standard library and site directories stay out of the child's
    ``PYTHONPATH``, where they would leak into another Python the op starts. Each entry once:
    ``''`` and the working directory spelt out are the same entry."""
    import site  # noqa: PLC0415 - only when an op runs
    import sysconfig  # noqa: PLC0415

    paths = sysconfig.get_paths()
    trees = [paths[key] for key in ("stdlib", "platstdlib") if key in paths]
    own = {os.path.abspath(p) for p in (paths.get("purelib"), paths.get("platlib")) if p}
    own |= {os.path.abspath(p) for p in site.getsitepackages()}
    if site.ENABLE_USER_SITE:
        own.add(os.path.abspath(site.getusersitepackages()))
    zipped = f"python{sys.version_info.major}{sys.version_info.minor}.zip"
    added: list[str] = []
    for entry in sys.path:
        absolute = os.path.abspath(entry) if entry else os.getcwd()
        inside = any(absolute == t or absolute.startswith(t.rstrip(os.sep) + os.sep) for t in trees)
        if not inside and absolute not in own and os.path.basename(absolute) != zipped:
            added.append(absolute)
    return list(dict.fromkeys(added))


def container_problems(env: ResolvedEnv, why: str) -> list[str]:
    """A refusal of the env's container, if it names one (runtimes without containers)."""
    container = env.container
    if container.container_type is None:
        return []
    return [f"a {container.container_type} container ({container.image}): {why}"]


class LocalRuntime(Runtime):
    """Runs each op in a child process of this interpreter, with the op's ``environ`` applied.

    It installs nothing and starts no container: it refuses an env that asks for a container,
    for resources this machine lacks, for another Python version, or for package versions that
    are not the ones installed here.
    """

    def __init__(self, *, machine: MachineSpec | None = None) -> None:
        if machine is not None:
            expect_instance("LocalRuntime.machine", machine, MachineSpec, "a MachineSpec or None")
        #: The machine ops are checked against (this one by default).
        self.machine = machine if machine is not None else this_machine()

    def __repr__(self) -> str:
        return f"LocalRuntime(machine={self.machine.name!r})"

    def check(self, env: ResolvedEnv) -> None:
        """Raise :class:`~lzy.exceptions.RuntimeRefusedError` listing all it cannot provide."""
        problems = container_problems(env, "it runs ops in this interpreter, without containers")
        problems += [f"{lack} on {self.machine.name}" for lack in env.provisioning.shortfalls(self.machine)]
        import platform  # noqa: PLC0415 - see this_machine

        python = env.python_env
        running = platform.python_version()
        if python.python_version is not None and not python_version_matches(python.python_version, running):
            problems.append(f"Python {python.python_version} (it runs Python {running})")
        if python.install and python.pypi_packages:
            import importlib.metadata  # noqa: PLC0415 - only to compare pinned packages

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
        """Check the env, then run the call in a child process and return its result.

        The child's ``PYTHONPATH`` holds, in order: the directories of the env's local modules,
        the entries of the op's own ``PYTHONPATH`` (from its ``environ``), then this process's
        ``sys.path``, so the child imports what this interpreter imports.
        """
        # What runs a call loads when a call runs: importing lzy's API loads none of it.
        from lzy.env.install import PYTHONPATH, op_pythonpath  # noqa: PLC0415
        from lzy.runtime._process import ChildProcess, run_call  # noqa: PLC0415

        self.check(call.env)
        shipped = [os.path.dirname(p.rstrip(os.sep)) for p in call.env.python_env.local_module_paths]
        environ = {**os.environ, **call.env.environ}
        pythonpath = op_pythonpath(shipped, call.env.environ, after=_added_path())
        if pythonpath is not None:
            environ[PYTHONPATH] = pythonpath
        child = ChildProcess(python=sys.executable, python_version=sys.version_info[:2], environ=environ)
        return run_call(call.name, call.function, tuple(call.args), call.kwargs, child)
