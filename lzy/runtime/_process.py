"""Running one op call in a child Python process: the request, the process, the outcome.

Shared by :class:`~lzy.runtime.local.LocalRuntime` and
:class:`~lzy.runtime.isolated.IsolatedRuntime`; the child is ``_bootstrap.py``.
"""

from __future__ import annotations

import atexit
import dataclasses
import itertools
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Final, TypeVar, cast

from lzy.exceptions import OpExecutionError, RuntimeRefusedError
from lzy.runtime._pickle import dumps_call

__all__ = ["BOOTSTRAP", "LAUNCHER", "ChildProcess", "Outcome", "run_call", "settle"]


def __dir__() -> list[str]:
    return __all__


_R = TypeVar("_R")

#: The child's script: run by file path, so an interpreter without lzy can start it.
BOOTSTRAP: Final = str(Path(__file__).with_name("_bootstrap.py"))
#: ``python -c`` code that starts the child: the working directory leaves ``sys.path`` before
#: anything is imported, then :data:`BOOTSTRAP` (``sys.argv[1]``) runs as ``__main__``. Run as a
#: script, the bootstrap's own directory would lead ``sys.path`` and shadow modules of the op.
LAUNCHER: Final = (
    "import sys\n"
    "if sys.path and sys.path[0] == '': del sys.path[0]\n"
    "f = sys.argv[1]\n"
    "exec(compile(open(f, 'rb').read(), f, 'exec'), {'__name__': '__main__', '__file__': f})\n"
)
#: What a child sends back: ``(kind, payload, type name, text, remote traceback)``. ``kind`` is
#: ``"ok"`` (the payload pickles the result), ``"error"`` (it pickles the exception the op
#: raised, whose text is ``text``) or another word, with no payload and ``text`` saying what
#: could not be sent.
Outcome = tuple[str, bytes | None, str, str, str]
#: The pickle protocol every supported child reads.
_PROTOCOL: Final = 4


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class ChildProcess:
    """Where and how the child runs: its interpreter, environment and extra import paths."""

    #: The interpreter that runs the op.
    python: str
    #: Its ``major.minor``; the function travels by value only to the same version.
    python_version: tuple[int, int]
    #: The whole environment of the child process.
    environ: Mapping[str, str]
    #: Directories appended to the child's ``sys.path`` (lzy and its requirements).
    support: tuple[str, ...] = ()
    #: The caller's script, when the op was defined in it and the function travels by
    #: reference: a copy of it, imported in the child under another name.
    main_file: str | None = None
    #: The working directory of the child; ``None`` keeps the caller's.
    cwd: str | None = None
    #: Where a module must live for the child to import it: ``None`` for anywhere (the child
    #: has this process's ``sys.path``), else the shipped local module paths. A function of such
    #: a module travels by reference even to the same Python, so the child needs no cloudpickle.
    importable_from: tuple[str, ...] | None = None


_CALLS: list[Path] = []
_CALLS_LOCK = threading.Lock()
_CALL_NUMBERS = itertools.count()


def _calls_dir() -> Path:
    """A private directory for this process's requests and responses, made once and removed
    when the process exits (a directory per call would cost every call its creation)."""
    with _CALLS_LOCK:
        if not _CALLS:
            made = Path(tempfile.mkdtemp(prefix="lzy-calls-"))
            atexit.register(shutil.rmtree, made, ignore_errors=True)
            _CALLS.append(made)
        return _CALLS[0]


def _resolves_in_child(function: Callable[..., object], child: ChildProcess) -> bool:
    """Whether the child can import ``function`` by its module and qualified name."""
    module_name = getattr(function, "__module__", None)
    qualname = getattr(function, "__qualname__", "")
    if not isinstance(module_name, str) or module_name == "__main__" or "<" in qualname:
        return False
    module = sys.modules.get(module_name)
    file = getattr(module, "__file__", None)
    if not isinstance(file, str):
        return False
    found: object = module
    for part in qualname.split("."):
        found = getattr(found, part, None)
    while hasattr(found, "__wrapped__") and found is not function:
        found = getattr(found, "__wrapped__")  # noqa: B009 - an op stands where its function was
    if found is not function:
        return False
    if child.importable_from is None:
        return True
    absolute = os.path.abspath(file)
    return any(
        absolute == root or absolute.startswith(root.rstrip(os.sep) + os.sep)
        for root in child.importable_from
    )


def _by_reference(name: str, function: Callable[..., object], child: ChildProcess) -> dict[str, object]:
    module = getattr(function, "__module__", None)
    qualname = getattr(function, "__qualname__", "")
    version = ".".join(map(str, child.python_version))
    if not isinstance(module, str) or not qualname or "<locals>" in qualname or "<lambda>" in qualname:
        msg = (
            f"op {name} cannot run under Python {version}: only a function defined at the top level"
            " of a module travels to another Python version (by its module and name), and this one"
            f" is {qualname or 'unnamed'}"
        )
        raise RuntimeRefusedError(msg)
    if module == "__main__" and child.main_file is None:
        msg = (
            f"op {name} cannot run under Python {version}: it is defined in an interactive session,"
            " not in a file the other interpreter can import"
        )
        raise RuntimeRefusedError(msg)
    return {"mode": "reference", "module": module, "qualname": qualname, "main_file": child.main_file}


def _request(
    name: str,
    function: Callable[..., object],
    args: tuple[object, ...],
    kwargs: Mapping[str, object],
    child: ChildProcess,
) -> bytes:
    """The request for the child: the function by reference when the child can import it (its
    arguments by plain pickle), else by value (same Python only)."""
    request: dict[str, object] = {"support": list(child.support)}
    same_python = child.python_version == sys.version_info[:2]
    arguments: bytes | None = None
    problem: Exception | None = None
    if not same_python or _resolves_in_child(function, child):
        try:
            arguments = pickle.dumps((args, dict(kwargs)), protocol=_PROTOCOL)
        except Exception as error:  # lambdas and the like: only cloudpickle carries them
            problem = error
    if same_python and (arguments is None or not _resolves_in_child(function, child)):
        request |= {"mode": "value", "payload": dumps_call(function, args, kwargs)}
    elif arguments is None:
        version = ".".join(map(str, child.python_version))
        msg = (
            f"the arguments of op {name} cannot travel to Python {version} by pickle"
            f" ({type(problem).__name__}: {problem}); pass plain data"
        )
        raise RuntimeRefusedError(msg) from problem
    else:
        request |= {**_by_reference(name, function, child), "payload": arguments}
    return pickle.dumps(request, protocol=_PROTOCOL)


def run_call(
    name: str,
    function: Callable[..., _R],
    args: tuple[object, ...],
    kwargs: Mapping[str, object],
    child: ChildProcess,
) -> _R:
    """Run ``function(*args, **kwargs)`` in a child process and return its result, or raise the
    op's own exception with the child's traceback attached as a note."""
    request = _request(name, function, args, kwargs, child)
    directory = _calls_dir()
    stem = f"{os.getpid()}-{next(_CALL_NUMBERS)}"
    request_path = directory / f"{stem}.request"
    response_path = directory / f"{stem}.response"
    try:
        request_path.write_bytes(request)
        done = subprocess.run(
            [child.python, "-c", LAUNCHER, BOOTSTRAP, str(request_path), str(response_path)],
            env=dict(child.environ),
            cwd=child.cwd,
            check=False,
        )
        if not response_path.exists():
            msg = f"op {name} died without a result (exit code {done.returncode})"
            raise OpExecutionError(msg)
        outcome = pickle.loads(response_path.read_bytes())
    finally:
        request_path.unlink(missing_ok=True)
        response_path.unlink(missing_ok=True)
    return cast("_R", settle(name, cast("Outcome", outcome), where="its process"))


def settle(name: str, outcome: Outcome, *, where: str) -> object:
    """The result an op's ``outcome`` carries, or the op's own exception raised with the remote
    traceback attached as a note saying ``where`` it ran; :class:`~lzy.exceptions.OpExecutionError`
    when neither can be had in this process."""
    kind, payload, type_name, text, remote_traceback = outcome
    if kind == "ok":
        assert payload is not None
        try:
            return pickle.loads(payload)
        except Exception as error:
            msg = (
                f"op {name} returned a {type_name}, which cannot be loaded in this process"
                f" ({type(error).__name__}: {error}); return plain data, or types this process imports"
            )
            raise OpExecutionError(msg) from None
    if kind == "error" and payload is not None:
        try:
            raised = pickle.loads(payload)
        except Exception as error:
            msg = (
                f"op {name} raised {type_name}: {text}\n(its class cannot be loaded in this process:"
                f" {type(error).__name__}: {error})\n{remote_traceback}"
            )
            raise OpExecutionError(msg) from None
        if isinstance(raised, BaseException):
            raised.add_note(f"The op {name} raised it in {where}:\n{remote_traceback}")
            raise raised
    msg = f"op {name} {text}" + (f"\n{remote_traceback}" if remote_traceback else "")
    raise OpExecutionError(msg)
