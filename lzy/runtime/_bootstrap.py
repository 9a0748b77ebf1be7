"""The child process of the local and isolated runtimes: run one op call, write its outcome.

Run by any CPython from 3.8 on through :data:`~lzy.runtime._process.LAUNCHER` (``python -c``
code that drops the working directory from ``sys.path`` and executes this file), with nothing
but the standard library importable at first: this file must keep to 3.8's syntax and library.
Run as a script instead, its own directory would come first on ``sys.path`` and its neighbours
would shadow what the op imports.
The request is a plain pickle (protocol 4) of a dictionary:

- ``support``: directories appended to ``sys.path`` (lzy and its requirements, for an
  interpreter that lacks them); the environment's own packages come first.
- ``mode`` ``"value"``: ``payload`` is the call pickled by value with cloudpickle (same Python
  version only: bytecode does not cross versions). The cloudpickle that reads it is lzy's own,
  taken from ``support`` and put back out of ``sys.modules`` before the op runs, so a version
  the environment pins neither breaks the call nor is hidden from the op.
- ``mode`` ``"reference"``: the function is ``qualname`` in module ``module`` (or in the
  caller's script ``main_file``, a copy of ``main_shown``, or its ``python -m`` module
  ``main_module``), reached through
  ``unwrap`` levels of ``__wrapped__`` (an op object stands where the function was defined;
  decorators under it stay); ``payload`` is ``(args, kwargs)`` pickled with protocol 4, or
  ``(instance, args, kwargs)`` when ``bound`` names the method of ``instance`` to call.

The response is a plain pickle (protocol 4) of ``(kind, payload, type_name, text, traceback)``:
``kind`` is ``"ok"`` (``payload`` pickles the result), ``"error"`` (``payload`` pickles the
exception the op raised, or is ``None`` when it does not pickle), ``"unpicklable"`` (the result
or exception cannot travel; ``text`` says why) or ``"cannot-start"`` (the op could not be
loaded: ``text`` and ``traceback`` say why, and the op never ran).
"""

from __future__ import annotations

import importlib
import os
import sys

# Only what every call needs is imported here: each import is start-up time of every op call.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import pickle
    import types
    from collections.abc import Callable
    from typing import Any

    #: What the response holds: ``(kind, payload, type_name, text, traceback)``.
    Outcome = tuple[str, Any, str, str, str]
else:
    try:  # the C pickler alone: pickle.py's own imports (re, functools, struct) cost every call
        import _pickle as pickle
    except ImportError:  # an interpreter without it
        import pickle

#: The protocol both sides read, whichever Python runs here (and whichever numpy: protocol 5
#: pickles arrays through module paths older releases lack).
PROTOCOL = 4
#: The name a caller's script is imported under (its ``if __name__ == "__main__":`` block
#: stays asleep); what it defines is renamed back to ``__main__``, as the caller names it.
MAIN_ALIAS = "__lzy_main__"
#: While the caller's ``__main__`` (its script, or its ``python -m`` module) is imported here,
#: ``sys.modules`` holds a module of this name whose docstring names it: lzy refuses to start a
#: workflow then, since the top level of the caller's program is running a second time.
IMPORTING_MAIN = "__lzy_importing_main__"


def _type_name(value: object) -> str:
    kind = type(value)
    module = kind.__module__
    return kind.__qualname__ if module == "builtins" else f"{module}.{kind.__qualname__}"


def _text(error: BaseException) -> str:
    try:
        return str(error)
    except Exception as problem:  # a broken __str__ must not hide the op's own failure
        return f"<str() failed: {type(problem).__name__}>"


def _as_main(module: types.ModuleType) -> types.ModuleType:
    """Let the caller's ``__main__`` objects resolve here: classes and functions the module
    defines say ``__main__``, as they do in the caller, and ``__main__`` names the module."""
    for value in list(vars(module).values()):
        if callable(value) and getattr(value, "__module__", None) == module.__name__:
            try:  # a builtin type or a C function does not take the assignment: it is not ours
                value.__module__ = "__main__"
            except (AttributeError, TypeError):
                continue
    sys.modules["__main__"] = module
    return module


def _import_main(path: str) -> types.ModuleType:
    import importlib.util  # noqa: PLC0415 - only for a caller's script

    spec = importlib.util.spec_from_file_location(MAIN_ALIAS, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load the caller's script {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[MAIN_ALIAS] = module
    spec.loader.exec_module(module)
    return _as_main(module)


def _module(request: dict[str, Any]) -> types.ModuleType:
    """The module that defines the op's function (or the bound method's class)."""
    main = request.get("main_file") or request.get("main_module")
    if not main:
        return importlib.import_module(request["module"])
    sys.modules[IMPORTING_MAIN] = type(sys)(IMPORTING_MAIN, str(request.get("main_shown") or main))
    try:
        if request.get("main_file"):
            return _import_main(request["main_file"])
        return _as_main(importlib.import_module(request["main_module"]))
    finally:
        sys.modules.pop(IMPORTING_MAIN, None)


def _function(request: dict[str, Any], module: types.ModuleType, instance: object) -> Callable[..., object]:
    if request.get("bound") is not None:
        return getattr(instance, request["bound"])  # type: ignore[no-any-return]  # a method
    target: object = module
    for part in str(request["qualname"]).split("."):
        target = getattr(target, part)
    for _ in range(int(request.get("unwrap", 0))):  # as far as the caller unwrapped, no further
        target = getattr(target, "__wrapped__")  # noqa: B009 - the caller saw it there
    if not callable(target):
        raise TypeError(f"{request['qualname']} in {request['module']} is not callable")
    return target


_CLOUDPICKLE = ("cloudpickle", "cloudpickle.cloudpickle", "cloudpickle.cloudpickle_fast")


class _Swap:
    """While entered, ``sys.modules`` holds ``modules`` as cloudpickle (none: left alone)."""

    def __init__(self, modules: dict[str, types.ModuleType] | None) -> None:
        self.modules = modules
        self.saved: dict[str, types.ModuleType] = {}

    def __enter__(self) -> None:
        if self.modules is not None:
            self.saved = {name: sys.modules.pop(name) for name in _CLOUDPICKLE if name in sys.modules}
            sys.modules.update(self.modules)

    def __exit__(self, *exc: object) -> None:
        if self.modules is not None:
            for name in _CLOUDPICKLE:
                sys.modules.pop(name, None)
            sys.modules.update(self.saved)


def _own_cloudpickle(support: list[str]) -> _Swap:
    """lzy's cloudpickle, imported from ``support`` ahead of the environment's own, as a swap
    to enter while lzy reads or writes with it; without ``support`` (this interpreter's own
    path) whatever ``import cloudpickle`` finds is lzy's."""
    if not support:
        return _Swap(None)
    with _Swap({}):
        sys.path[:0] = support
        try:
            importlib.import_module("cloudpickle")
        finally:
            del sys.path[: len(support)]
        modules = {name: sys.modules[name] for name in _CLOUDPICKLE if name in sys.modules}
    return _Swap(modules)


def _load(request: dict[str, Any], own: _Swap) -> tuple[Callable[..., object], Any, Any]:
    if request["mode"] == "value":
        with own:
            from lzy.runtime._pickle import loads_call  # noqa: PLC0415 - importable only now

            function, _, args, kwargs = loads_call(request["payload"])
        return function, args, kwargs
    # The module first: the arguments may be objects of its classes (the caller's __main__ too).
    module = _module(request)
    instance = None
    if request.get("bound") is not None:
        instance, args, kwargs = pickle.loads(request["payload"])
    else:
        args, kwargs = pickle.loads(request["payload"])
    return _function(request, module, instance), args, kwargs


def _dumps(value: object, own: _Swap, by_value: bool) -> bytes:
    """``value`` pickled for the caller, checked to load back."""
    if by_value:
        with own:
            from lzy.runtime._pickle import dumps  # noqa: PLC0415 - importable only now

            data = dumps(value, protocol=PROTOCOL)
            pickle.loads(data)
            return data
    data = pickle.dumps(value, protocol=PROTOCOL)
    pickle.loads(data)
    return data


def _formatted() -> str:
    """The traceback of the exception being handled (``traceback`` loads only on a failure)."""
    import traceback  # noqa: PLC0415 - only when something failed

    return traceback.format_exc()


def _outcome(request: dict[str, Any]) -> Outcome:
    by_value = request["mode"] == "value"
    try:
        own = _own_cloudpickle(list(request.get("support", ())) if by_value else [])
        function, args, kwargs = _load(request, own)
    except BaseException as error:  # the op could not even be loaded: it never ran
        return ("cannot-start", None, _type_name(error), _text(error), _formatted())
    try:
        result = function(*args, **kwargs)
    except BaseException as error:  # the op's own exception, whatever it is, goes back
        text = _formatted()
        try:
            data = _dumps(error, own, by_value)
        except Exception as problem:  # it does not travel: say so in words
            what = f"raised {type(error).__qualname__}: {_text(error)}, which"
            why = f"{what} cannot be sent back to the caller ({type(problem).__name__}: {problem})"
            return ("unpicklable", None, _type_name(error), why, text)
        return ("error", data, _type_name(error), _text(error), text)
    try:
        data = _dumps(result, own, by_value)
    except Exception as problem:
        what = f"returned a {type(result).__qualname__}, which"
        why = f"{what} cannot be sent back to the caller ({type(problem).__name__}: {problem})"
        return ("unpicklable", None, _type_name(result), why, "")
    return ("ok", data, _type_name(result), "", "")


def main(request_path: str, response_path: str) -> int:
    """Run the call in ``request_path`` and write its outcome to ``response_path``."""
    with open(request_path, "rb") as stream:
        request = pickle.load(stream)
    os.remove(request_path)  # the arguments, read: they stay on disk no longer than needed
    sys.path.extend(p for p in request.get("support", ()) if p not in sys.path)
    outcome = _outcome(request)
    with open(response_path, "wb") as stream:
        pickle.dump(outcome, stream, protocol=PROTOCOL)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[-2], sys.argv[-1]))
