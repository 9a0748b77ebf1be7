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
from collections.abc import Callable, Mapping, Sequence
from typing import cast

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
    function: bytes,
    args: tuple[object, ...],
    kwargs: Mapping[str, object],
    secrets: Mapping[str, str],
    *,
    driver_paths: Sequence[str],
    private_netrc: str | None,
) -> Outcome:
    """Load the op's ``function`` (pickled by the caller), call it with ``args`` and ``kwargs``
    and ``secrets`` added to ``os.environ`` for the call, and pack the outcome.

    Before the op's function is loaded, what Ray gave the worker from the caller's process
    and the op did not ask for is taken away: the ``driver_paths`` Ray put first on
    ``sys.path`` (the caller's script directory and working directory), so a module the op's
    env does not ship is not found there, and ``NETRC`` while it names ``private_netrc``, the
    file through which a local cluster's installers get index credentials (a ``NETRC`` the op
    sets in its own ``environ`` stays).

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
    for entry in driver_paths:
        # Ray put each first, once; a copy the worker has by itself (PYTHONPATH) stays.
        with contextlib.suppress(ValueError):
            sys.path.remove(entry)
    if private_netrc is not None and os.environ.get("NETRC") == private_netrc:
        del os.environ["NETRC"]
    os.environ.update(secrets)
    try:
        try:
            target = cast("Callable[..., object]", cloudpickle.loads(function))
        except BaseException as error:
            value: object = error
            kind, text, remote = "cannot-start", _text(error), traceback.format_exc()
        else:
            try:
                value = target(*args, **kwargs)
            except BaseException as error:
                kind, value, text, remote = "error", error, _text(error), traceback.format_exc()
            else:
                kind, text, remote = "ok", "", ""
    finally:
        _restore(environ, cwd, path)
    type_name = _type_name(value)
    if kind == "cannot-start":
        return (kind, None, type_name, text, remote)
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
