"""What a :class:`~lzy.runtime.ray.RayRuntime` task runs in its Ray worker: the op, then its
outcome packed for the caller.

The runtime has Ray pickle this module by value, so a worker needs Ray and the standard library,
not lzy: everything here is the standard library, and Ray's own cloudpickle is imported inside
the task.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import pickle
import sys
import traceback
from collections.abc import Callable, Mapping

#: What a task sends back, as a local runtime's child does (``lzy.runtime._process.Outcome``):
#: ``(kind, payload, type name, text, remote traceback)``.
Outcome = tuple[str, bytes | None, str, str, str]


def _type_name(value: object) -> str:
    kind = type(value)
    module = kind.__module__
    return kind.__qualname__ if module in {"builtins", "__main__"} else f"{module}.{kind.__qualname__}"


def _text(error: BaseException) -> str:
    try:
        return str(error)
    except Exception as problem:  # A broken __str__ must not hide the op's own failure.
        return f"<str() failed: {type(problem).__name__}>"


def run_op(
    function: Callable[..., object],
    args: tuple[object, ...],
    kwargs: Mapping[str, object],
    secrets: Mapping[str, str],
) -> Outcome:
    """Call ``function(*args, **kwargs)`` with ``secrets`` added to ``os.environ`` for the call and
    pack the outcome.

    The worker's environment variables, working directory and ``sys.path`` are restored
    afterwards, whatever the op did to them: a worker that Ray reuses for a later task
    (``RayRuntime(reuse_workers=True)``) hands it the process as this task found it, in these
    respects at least.
    """
    # Ray's own cloudpickle: Ray is there in a worker, and lzy may not be.
    cloudpickle = importlib.import_module("ray.cloudpickle")
    environ = dict(os.environ)
    path = list(sys.path)
    try:
        cwd: str | None = os.getcwd()
    except OSError:  # A working directory removed under the worker: nothing to go back to.
        cwd = None
    os.environ.update(secrets)
    try:
        try:
            value: object = function(*args, **kwargs)
        except BaseException as error:
            kind, value, text, remote = "error", error, _text(error), traceback.format_exc()
        else:
            kind, text, remote = "ok", "", ""
    finally:
        _restore(environ, cwd, path)
    type_name = _type_name(value)
    try:
        payload: bytes = cloudpickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as problem:
        what = f"raised {type_name}: {text}, which" if kind == "error" else f"returned a {type_name}, which"
        reason = f"{what} cannot be sent back to the caller ({type(problem).__name__}: {problem})"
        return ("unpicklable", None, type_name, reason, remote)
    return (kind, payload, type_name, text, remote)


def _restore(environ: Mapping[str, str], cwd: str | None, path: list[str]) -> None:
    """Put back the variables, the working directory and ``sys.path`` a task started with."""
    if dict(os.environ) != environ:
        os.environ.clear()
        os.environ.update(environ)
    if cwd is not None:
        with contextlib.suppress(OSError):
            os.chdir(cwd)
    sys.path[:] = path
