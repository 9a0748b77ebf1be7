"""Running one op call in a child Python process: the request, the process, the outcome.

Shared by :class:`~lzy.runtime.local.LocalRuntime` and
:class:`~lzy.runtime.isolated.IsolatedRuntime`; the child is ``_bootstrap.py``.
"""

from __future__ import annotations

import atexit
import codecs
import dataclasses
import errno
import itertools
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import threading
import types
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, Final, TypeVar, cast

from lzy.env._base import describe
from lzy.exceptions import OpExecutionError, RuntimeRefusedError
from lzy.runtime._pickle import dumps_call

__all__ = [
    "BOOTSTRAP",
    "LAUNCHER",
    "ChildProcess",
    "Outcome",
    "make_request",
    "pid_alive",
    "run_call",
    "run_request",
    "settle",
]


def __dir__() -> list[str]:
    return __all__


_R = TypeVar("_R")

#: The child's script: run by file path, so an interpreter without lzy can start it.
BOOTSTRAP: Final = str(Path(__file__).with_name("_bootstrap.py"))
#: ``python -c`` code that starts the child: the working directory leaves ``sys.path`` before
#: anything is imported, then :data:`BOOTSTRAP` (``sys.argv[1]``) runs as ``__main__``. Run as a
#: script, the bootstrap's own directory would lead ``sys.path`` and shadow modules of the op.
#: Its code comes through the import system's source loader, so each interpreter compiles it
#: once and reads the cached bytecode after (where ``__pycache__`` is writable).
LAUNCHER: Final = (
    "import sys\n"
    "if sys.path and sys.path[0] == '': del sys.path[0]\n"
    "from importlib.machinery import SourceFileLoader\n"
    "f = sys.argv[1]\n"
    "exec(SourceFileLoader('__main__', f).get_code('__main__'), {'__name__': '__main__', '__file__': f})\n"
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
    #: The caller's ``python -m`` module, when the op was defined in it and the function travels
    #: by reference: imported in the child under its own name.
    main_module: str | None = None
    #: How messages name :attr:`main_file`: the caller's own script, where the child imports
    #: a copy of it (``None``: by :attr:`main_file` itself).
    main_shown: str | None = None
    #: Where a module must live for the child to import it: ``None`` for anywhere (the child
    #: has this process's ``sys.path``), else the shipped local module paths. A function of such
    #: a module travels by reference even to the same Python, so the child needs no cloudpickle.
    importable_from: tuple[str, ...] | None = None


_CALLS: list[Path] = []
_CALLS_LOCK = threading.Lock()
_CALL_NUMBERS = itertools.count()


#: The name of a calls directory starts with this, then the id of the process that made it.
_CALLS_PREFIX: Final = "lzy-calls-"


def _calls_dir() -> Path:
    """A private directory for this process's requests and responses, made once and removed
    when the process exits (a directory per call would cost every call its creation). Its name
    carries this process's id: the directories of processes that were killed before they could
    remove theirs (arguments and results of ops in them) are removed when the next one is made."""
    with _CALLS_LOCK:
        if not _CALLS:
            _remove_orphaned_calls()
            made = Path(tempfile.mkdtemp(prefix=f"{_CALLS_PREFIX}{os.getpid()}-"))
            atexit.register(shutil.rmtree, made, ignore_errors=True)
            _CALLS.append(made)
        return _CALLS[0]


def _remove_orphaned_calls() -> None:
    """Remove the calls directories, of this user, whose process is gone."""
    try:
        entries = list(os.scandir(tempfile.gettempdir()))
    except OSError:
        return
    for entry in entries:
        pid = entry.name[len(_CALLS_PREFIX) :].partition("-")[0]
        if not entry.name.startswith(_CALLS_PREFIX) or not pid.isdecimal() or not pid.isascii():
            continue
        try:
            mine = (
                entry.is_dir(follow_symlinks=False)
                and entry.stat(follow_symlinks=False).st_uid == os.getuid()
            )
        except OSError:
            continue
        if mine and not pid_alive(int(pid)):
            shutil.rmtree(entry.path, ignore_errors=True)


def pid_alive(pid: int) -> bool:
    """Whether a process of this id exists (one of another user counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (OSError, OverflowError):  # exists, but is someone else's; or no process id at all
        return True
    return True


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class _Reference:
    """How the child reaches the op's function by name."""

    #: The module that defines it (``__main__`` for the caller's script).
    module: str
    #: Its qualified name in the module.
    qualname: str
    #: How many ``__wrapped__`` levels lead from that name to the function (an op object
    #: stands where its function was defined; decorators under the op stay).
    unwrap: int = 0
    #: For a bound method: its name, called on :attr:`instance` (which travels by pickle).
    bound: str | None = None
    #: The instance of a bound method.
    instance: object = None


def _reference(function: Callable[..., object], child: ChildProcess) -> _Reference | str:
    """How the child reaches ``function`` by its module and name, or why it cannot."""
    if isinstance(function, types.MethodType):
        owner = type(function.__self__)
        if owner.__module__ == "__main__" and child.main_file is None and child.main_module is None:
            return "it is a method of an object of the interactive session"
        return _Reference(
            module=owner.__module__,
            qualname=function.__name__,
            bound=function.__name__,
            instance=function.__self__,
        )
    module_name = getattr(function, "__module__", None)
    qualname = getattr(function, "__qualname__", None)
    if not isinstance(module_name, str) or not isinstance(qualname, str) or not qualname:
        return f"it has no module and name to be found by ({describe(function)})"
    if "<locals>" in qualname or "<lambda>" in qualname:
        return f"it is defined inside a function or as a lambda ({qualname})"
    if module_name in _SCRIPTS and child.main_file is None and child.main_module is None:
        return "it is defined in an interactive session, not in a file the other interpreter can import"
    module = sys.modules.get(module_name)
    found: object = module
    for part in qualname.split("."):
        found = getattr(found, part, None)
    for depth in range(100):
        if found is function:
            return _Reference(module=module_name, qualname=qualname, unwrap=depth)
        if not hasattr(found, "__wrapped__"):
            break
        found = getattr(found, "__wrapped__")  # noqa: B009 - checked on the line above
    function_globals = getattr(_innermost(function), "__globals__", None)
    if module is None or (function_globals is not None and function_globals is not vars(module)):
        return (
            "it was defined by code run in a namespace of its own (exec(), as some notebooks and"
            f" tools run code), not in module {module_name} that the other interpreter can import;"
            " define it in a module file"
        )
    return (
        f"{module_name}.{qualname} names something else than the function called (a decorator"
        " above the op that keeps no __wrapped__?)"
    )


def _innermost(function: object) -> object:
    """``function`` with every ``__wrapped__`` level taken off (its own code, whatever wraps it)."""
    for _ in range(100):
        inner = getattr(function, "__wrapped__", None)
        if inner is None:
            break
        function = inner
    return function


#: Names of a script's module: the caller's ``__main__``, and a multiprocessing child's.
_SCRIPTS: Final = frozenset({"__main__", "__mp_main__"})


def findable(name: str) -> bool:
    """Whether the module ``name`` is found by its name on ``sys.path`` at the file it was
    loaded from: not a script, not a module loaded from a path (``spec_from_file_location``)."""
    module = sys.modules.get(name)
    file = getattr(module, "__file__", None)
    if name in _SCRIPTS or not isinstance(file, str):
        return False
    import importlib.machinery  # noqa: PLC0415 - cheap, and only for by-reference calls

    top = name.partition(".")[0]
    try:
        spec = importlib.machinery.PathFinder.find_spec(top)
    except (ImportError, ValueError):
        return False
    if spec is None:
        return False
    roots = [*(spec.submodule_search_locations or ()), *([spec.origin] if spec.origin else [])]
    return _under(os.path.abspath(file), roots)


def _under(path: str, roots: Sequence[str]) -> bool:
    return any(
        path == os.path.abspath(root) or path.startswith(os.path.abspath(root).rstrip(os.sep) + os.sep)
        for root in roots
    )


def _importable(reference: _Reference, child: ChildProcess) -> bool:
    """Whether the child, of the same Python, can import the reference's module by name."""
    if reference.module in _SCRIPTS or not findable(reference.module):
        return False  # by value: a script is not run again in the child
    if child.importable_from is None:
        return True
    file = str(getattr(sys.modules.get(reference.module), "__file__", ""))
    return _under(os.path.abspath(file), child.importable_from)


def _unfindable_modules(function: Callable[..., object]) -> list[types.ModuleType]:
    """The function's module when the child could not import it by name: it travels whole."""
    name = getattr(function, "__module__", None)
    module = sys.modules.get(name) if isinstance(name, str) else None
    if module is None or name == "__main__" or findable(str(name)):
        return []
    return [module]


#: The oldest Python lzy itself imports under: an op's module that imports lzy runs only there.
_LZY_OLDEST: Final = (3, 11)


def _imports_lzy(reference: _Reference, child: ChildProcess) -> str | None:
    """The file of the reference's module when its top level imports lzy, else ``None``."""
    import ast  # noqa: PLC0415 - only for an op under an old Python

    if reference.module == "__main__":
        file = child.main_file or getattr(sys.modules.get("__main__"), "__file__", None)
    else:
        file = getattr(sys.modules.get(reference.module), "__file__", None)
    if not isinstance(file, str) or not file.endswith(".py"):
        return None
    try:
        tree = ast.parse(Path(file).read_bytes())
    except (OSError, SyntaxError, ValueError):
        return None
    pending: list[ast.stmt] = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] == "lzy" for a in node.names):
            return file
        if isinstance(node, ast.ImportFrom) and not node.level and (node.module or "").split(".")[0] == "lzy":
            return file
        if isinstance(node, ast.If | ast.Try | ast.With):
            pending += [
                child_node for child_node in ast.iter_child_nodes(node) if isinstance(child_node, ast.stmt)
            ]
    return None


def _refuse(name: str, child: ChildProcess, why: str) -> RuntimeRefusedError:
    version = ".".join(map(str, child.python_version))
    return RuntimeRefusedError(f"op {name} cannot run under Python {version}: {why}")


def make_request(
    name: str,
    function: Callable[..., object],
    args: tuple[object, ...],
    kwargs: Mapping[str, object],
    child: ChildProcess,
) -> bytes:
    """The request for the child: the function by reference when the child can import it (its
    arguments by plain pickle), else by value (same Python only), or a clear refusal."""
    request: dict[str, object] = {"support": list(child.support)}
    same_python = child.python_version == sys.version_info[:2]
    reference = _reference(function, child)
    arguments: bytes | None = None
    problem: Exception | None = None
    if isinstance(reference, _Reference) and (not same_python or _importable(reference, child)):
        data = (reference.instance, args, dict(kwargs)) if reference.bound else (args, dict(kwargs))
        try:
            arguments = pickle.dumps(data, protocol=_PROTOCOL)
        except Exception as error:  # lambdas and the like: only cloudpickle carries them
            problem = error
    if arguments is not None and isinstance(reference, _Reference):
        if not same_python and child.python_version < _LZY_OLDEST:
            importer = _imports_lzy(reference, child)
            if importer is not None:
                oldest = ".".join(map(str, _LZY_OLDEST))
                why = (
                    f"its module ({importer}) imports lzy, which runs on Python {oldest} and newer;"
                    " define the function in a module that does not import lzy, and make it an op"
                    " where you call it: op(function)"
                )
                raise _refuse(name, child, why)
        request |= dataclasses.asdict(reference) | {
            "mode": "reference",
            "instance": None,
            "payload": arguments,
            "main_file": child.main_file,
            "main_shown": child.main_shown,
            "main_module": child.main_module,
        }
        return pickle.dumps(request, protocol=_PROTOCOL)
    if not same_python:
        if isinstance(reference, str):
            raise _refuse(
                name, child, f"only a function of a module travels to another Python, and {reference}"
            )
        why = f"its arguments do not pickle ({type(problem).__name__}: {problem}); pass plain data"
        raise _refuse(name, child, why) from problem
    try:
        payload = dumps_call(function, args, kwargs, by_value=_unfindable_modules(function))
        request |= {"mode": "value", "payload": payload}
    except Exception as error:
        msg = (
            f"op {name} cannot be sent to its process: its function or arguments do not pickle"
            f" ({type(error).__name__}: {error}); pass plain data, and define the function at the"
            " top level of a module"
        )
        raise RuntimeRefusedError(msg) from error
    return pickle.dumps(request, protocol=_PROTOCOL)


def _forward(source: IO[bytes], target_name: str) -> None:
    """Copy a child's output to this process's ``sys.stdout`` or ``sys.stderr`` as it comes,
    decoded as text (a notebook or a test's capture shows it where the caller's own goes)."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    with source:
        while chunk := os.read(source.fileno(), 65536):
            target = getattr(sys, target_name)
            target.write(decoder.decode(chunk))
            target.flush()
        tail = decoder.decode(b"", final=True)
        if tail:
            getattr(sys, target_name).write(tail)


def _inherits(stream_name: str) -> bool:
    """Whether the child may write straight to this process's stream: it is the real one."""
    stream = getattr(sys, stream_name)
    if stream is not getattr(sys, f"__{stream_name}__"):
        return False
    try:
        stream.fileno()
    except (AttributeError, OSError, ValueError):
        return False
    return True


def _run_child(name: str, command: list[str], child: ChildProcess) -> int:
    """Run the child; its output goes where this process's own goes. Returns its exit code."""
    out = None if _inherits("stdout") else subprocess.PIPE
    err = None if _inherits("stderr") else subprocess.PIPE
    try:
        process = subprocess.Popen(command, env=dict(child.environ), cwd=child.cwd, stdout=out, stderr=err)
    except OSError as error:
        hint = ""
        if error.errno == errno.E2BIG:
            hint = "; the op's environment variables are too large for this system"
        msg = f"op {name} could not start its process with {child.python} ({error}){hint}"
        raise OpExecutionError(msg) from error
    pumps = [
        threading.Thread(target=_forward, args=(pipe, target), daemon=True)
        for pipe, target in ((process.stdout, "stdout"), (process.stderr, "stderr"))
        if pipe is not None
    ]
    for pump in pumps:
        pump.start()
    try:
        returncode = process.wait()
    except BaseException:  # Ctrl-C or the like: the op's process goes too
        process.kill()
        process.wait()
        raise
    finally:
        for pump in pumps:
            pump.join()
    return returncode


def run_call(
    name: str,
    function: Callable[..., _R],
    args: tuple[object, ...],
    kwargs: Mapping[str, object],
    child: ChildProcess,
) -> _R:
    """Run ``function(*args, **kwargs)`` in a child process and return its result, or raise the
    op's own exception with the child's traceback attached as a note."""
    return cast("_R", run_request(name, make_request(name, function, args, kwargs, child), child))


def run_request(name: str, request: bytes, child: ChildProcess) -> object:
    """Run a request made by :func:`make_request` in a child process, as :func:`run_call`."""
    directory = _calls_dir()
    stem = f"{os.getpid()}-{next(_CALL_NUMBERS)}"
    request_path = directory / f"{stem}.request"
    response_path = directory / f"{stem}.response"
    try:
        request_path.write_bytes(request)
        command = [child.python, "-c", LAUNCHER, BOOTSTRAP, str(request_path), str(response_path)]
        returncode = _run_child(name, command, child)
        if not response_path.exists():
            msg = f"op {name} died without a result (exit code {returncode})"
            raise OpExecutionError(msg)
        outcome = pickle.loads(response_path.read_bytes())
    finally:
        request_path.unlink(missing_ok=True)
        response_path.unlink(missing_ok=True)
    script = child.main_shown or child.main_file or child.main_module
    return settle(name, cast("Outcome", outcome), where="its process", script=script)


def _ended(raised: BaseException, text: str) -> str:
    """What an op that raised a program-ending exception did, in words."""
    if isinstance(raised, SystemExit):
        code = raised.code
        return f"called sys.exit({code!r})" if code is not None else "called sys.exit()"
    shown = f": {text}" if text else ""
    return f"raised {type(raised).__qualname__}{shown}"


def settle(name: str, outcome: Outcome, *, where: str, script: str | None = None) -> object:
    """The result an op's ``outcome`` carries, or the op's own exception raised with the remote
    traceback attached as a note saying ``where`` it ran; :class:`~lzy.exceptions.OpExecutionError`
    when neither can be had in this process. ``script`` names the caller's program when the op's
    process imported it to find the op (its imports are then the likely culprit of a failed start)."""
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
                f"op {name} raised {type_name}: {text}\n(the exception cannot be rebuilt in this"
                f" process: {type(error).__name__}: {error})\n{remote_traceback}"
            )
            raise OpExecutionError(msg) from None
        if isinstance(raised, Exception):
            raised.add_note(f"The op {name} raised it in {where}:\n{remote_traceback}")
            raise raised
        if isinstance(raised, BaseException):
            # SystemExit, KeyboardInterrupt and the like end a program: raised here, they would
            # end the caller's, silently, for something that happened in the op's process.
            raised.add_note(f"The op {name} raised it in {where}:\n{remote_traceback}")
            msg = f"op {name} {_ended(raised, text)} in {where}; an op ends by returning or raising"
            msg += " an exception"
            raise OpExecutionError(msg) from raised
    if kind == "cannot-start":
        hint = ""
        if type_name in {"ModuleNotFoundError", "ImportError"} and script is not None:
            hint = (
                f"\nThe op's process imports the caller's program ({script}) to find the op, and"
                " runs its top-level imports: pin what they need too (pypi_packages), or move those"
                " imports into the functions that use them."
            )
        elif type_name in {"ModuleNotFoundError", "ImportError"}:
            hint = (
                "\nThe op's module, or one it imports, is not in the op's environment: ship it as a"
                " local module (local_module_paths) or pin its distribution (pypi_packages)."
            )
        msg = f"op {name} could not start in {where}: {type_name}: {text}{hint}\n{remote_traceback}"
        raise OpExecutionError(msg)
    msg = f"op {name} {text}" + (f"\n{remote_traceback}" if remote_traceback else "")
    raise OpExecutionError(msg)
