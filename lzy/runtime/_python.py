"""Finding the CPython interpreters installed on this machine.

Candidates come from the running interpreter, ``PATH`` (``python3``, ``python3.X``), uv's managed
interpreters (``uv python dir``) and pyenv's versions directory (``$PYENV_ROOT/versions``, where
each version lives whether or not pyenv's shims would run it). Every candidate is asked for its
version by running it: a name on ``PATH`` proves nothing (pyenv's shims refuse every version but
the active one).
"""

from __future__ import annotations

import concurrent.futures
import json
import logging
import os
import platform
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Final

from lzy.env.install import Interpreter

__all__ = ["OLDEST_CHILD", "find_interpreters", "forget_interpreters", "running_interpreter"]


def __dir__() -> list[str]:
    return __all__


_log = logging.getLogger("lzy.runtime.isolated")

#: The oldest Python an op can run under: the child process's code keeps to its syntax.
OLDEST_CHILD: Final = (3, 8)
_NAME: Final = re.compile(r"python3(\.\d+)?(\.exe)?")
_PROBE: Final = (
    "import json, sys; print(json.dumps([list(sys.version_info[:3]),"
    " sys.implementation.name, sys.executable, getattr(sys, 'abiflags', '')]))"
)
_LOCK = threading.Lock()
_FOUND: list[tuple[Interpreter, ...]] = []


def running_interpreter() -> Interpreter:
    """The interpreter this process runs."""
    return Interpreter(
        version=platform.python_version(), path=sys.executable, implementation=sys.implementation.name
    )


def _on_path() -> Iterator[Path]:
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        if not directory or "shims" in Path(directory).parts:
            continue  # pyenv's shims: its versions directory is read directly
        try:
            names = sorted(os.listdir(directory))
        except OSError:
            continue
        yield from (Path(directory, name) for name in names if _NAME.fullmatch(name))


def _uv_managed() -> Iterator[Path]:
    try:
        import uv  # noqa: PLC0415 - only when the running interpreter does not fit

        done = subprocess.run(
            [uv.find_uv_bin(), "python", "dir"], capture_output=True, text=True, timeout=10, check=False
        )
    except (ImportError, OSError, subprocess.SubprocessError):
        return
    root = Path(done.stdout.strip())
    if done.returncode == 0 and root.is_dir():
        yield from sorted(root.glob("cpython-*/bin/python3"))


def _pyenv_versions() -> Iterator[Path]:
    root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    yield from sorted((root / "versions").glob("*/bin/python3"))


def _probe(path: Path) -> Interpreter | None:
    try:
        done = subprocess.run(
            [str(path), "-c", _PROBE],
            capture_output=True,
            text=True,
            timeout=15,
            check=False,
            env={**os.environ, "PYTHONPATH": "", "PYTHONHOME": ""},
        )
        version, implementation, executable, abiflags = json.loads(done.stdout)
    except (OSError, subprocess.SubprocessError, ValueError, TypeError):
        return None
    if done.returncode != 0 or "t" in str(abiflags):  # free-threaded builds are asked for by path
        return None
    return Interpreter(
        version=".".join(map(str, version)),
        path=str(executable or path),
        implementation=str(implementation),
    )


def find_interpreters() -> tuple[Interpreter, ...]:
    """The CPython interpreters of this machine from 3.8 on, the running one first, then by
    version, newest first (found once per process)."""
    with _LOCK:
        if _FOUND:
            return _FOUND[0]
        candidates: dict[str, Path] = {}
        for path in (*_on_path(), *_uv_managed(), *_pyenv_versions()):
            try:
                candidates.setdefault(os.path.realpath(path), path)
            except OSError:
                continue
        candidates.pop(os.path.realpath(sys.executable), None)
        with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
            probed = [i for i in pool.map(_probe, candidates.values()) if i is not None]
        seen = {os.path.realpath(sys.executable)}
        found: list[Interpreter] = []
        for interpreter in sorted(probed, key=_version, reverse=True):
            real = os.path.realpath(interpreter.path)
            if real in seen or interpreter.implementation != "cpython":
                continue
            if _version(interpreter) < (*OLDEST_CHILD, 0):
                continue
            seen.add(real)
            found.append(interpreter)
        result = (running_interpreter(), *found)
        _log.debug("found Python interpreters: %s", ", ".join(f"{i.version} ({i.path})" for i in result))
        _FOUND.append(result)
        return result


def forget_interpreters() -> None:
    """Look for interpreters again at the next :func:`find_interpreters` (one has gone)."""
    with _LOCK:
        _FOUND.clear()


def _version(interpreter: Interpreter) -> tuple[int, ...]:
    return tuple(int(part) for part in interpreter.version.split(".") if part.isdigit())
