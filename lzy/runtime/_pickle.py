"""Typed access to cloudpickle, which ships no type information, and the call format of the
local runtime's child process."""

# pyright: reportMissingTypeStubs=false, reportUnknownMemberType=false

from __future__ import annotations

import pickle
import types
from collections.abc import Callable, Iterable, Mapping

import cloudpickle  # type: ignore[import-untyped]  # no type information shipped

#: What a child process is asked to run: the function, its source file, the arguments.
Call = tuple[Callable[..., object], str | None, tuple[object, ...], dict[str, object]]


def dumps(value: object, *, protocol: int | None = None) -> bytes:
    """Pickle ``value`` by value where plain pickle would go by reference (``__main__``
    functions), with ``protocol`` (cloudpickle's default when ``None``)."""
    data: bytes = cloudpickle.dumps(value, protocol=protocol)
    return data


def dumps_call(
    function: Callable[..., object],
    args: tuple[object, ...],
    kwargs: Mapping[str, object],
    *,
    by_value: Iterable[types.ModuleType] = (),
) -> bytes:
    """Pickle a call, with the file that defines ``function``; the modules ``by_value`` (ones
    the child cannot import by name: a module loaded from a path, ``__mp_main__``) go whole.

    cloudpickle pickles a function by value when its module cannot hand it back by name (an
    op's module holds the op, not the function), and since cloudpickle 3.1.3 such a function's
    code says it comes from ``<dynamic-code>``: the child's traceback would show no source
    lines. :func:`loads_call` gives the code its file back.
    """
    code = getattr(_unwrap(function), "__code__", None)
    filename = code.co_filename if isinstance(code, types.CodeType) else None
    registered: list[types.ModuleType] = []
    for module in by_value:
        try:
            cloudpickle.register_pickle_by_value(module)
        except ValueError:  # registered already, or not in sys.modules
            continue
        registered.append(module)
    try:
        return dumps((function, filename, args, dict(kwargs)))
    finally:
        for module in registered:
            cloudpickle.unregister_pickle_by_value(module)


def loads_call(data: bytes) -> Call:
    """The call :func:`dumps_call` pickled, its function's code pointing at its file again."""
    call: Call = pickle.loads(data)
    function, filename = call[0], call[1]
    if filename is not None:
        target = _unwrap(function)
        module = getattr(target, "__module__", None)
        candidates = [target, *getattr(target, "__globals__", {}).values()]
        for candidate in candidates:
            # The op's function and, unpickled with it, the functions of its own module.
            if isinstance(candidate, types.FunctionType) and candidate.__module__ == module:
                candidate.__code__ = _with_filename(candidate.__code__, filename)
    return call


def _unwrap(function: object) -> object:
    """``function`` without its wrappers (:func:`inspect.unwrap`, without importing
    :mod:`inspect` in the child, where every millisecond of start-up counts)."""
    while hasattr(function, "__wrapped__"):
        function = getattr(function, "__wrapped__")  # noqa: B009 - checked on the line above
    return function


def _with_filename(code: types.CodeType, filename: str) -> types.CodeType:
    if code.co_filename == filename:
        return code
    constants = tuple(
        _with_filename(c, filename) if isinstance(c, types.CodeType) else c for c in code.co_consts
    )
    return code.replace(co_filename=filename, co_consts=constants)
