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
  version only: bytecode does not cross versions).
- ``mode`` ``"reference"``: the function is ``qualname`` in module ``module`` (or in the script
  ``main_file`` when the caller ran one), imported here; ``payload`` is ``(args, kwargs)``
  pickled with protocol 4.

The response is a plain pickle (protocol 4) of ``(kind, payload, type_name, text, traceback)``:
``kind`` is ``"ok"`` (``payload`` pickles the result), ``"error"`` (``payload`` pickles the
exception, or is ``None`` when it does not pickle) or ``"unpicklable"`` (the result or exception
cannot travel; ``text`` says why).
"""

from __future__ import annotations

import importlib
import pickle
import sys

# Only what every call needs is imported here: each import is start-up time of every op call.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import types
    from collections.abc import Callable
    from typing import Any

    #: What the response holds: ``(kind, payload, type_name, text, traceback)``.
    Outcome = tuple[str, Any, str, str, str]

#: The protocol both sides read, whichever Python runs here.
PROTOCOL = 4
#: The name a caller's script is imported under (its ``if __name__ == "__main__":`` block
#: stays asleep).
MAIN_ALIAS = "__lzy_main__"


def _type_name(value: object) -> str:
    kind = type(value)
    module = kind.__module__
    return kind.__qualname__ if module == "builtins" else f"{module}.{kind.__qualname__}"


def _import_main(path: str) -> types.ModuleType:
    import importlib.util  # noqa: PLC0415 - only for a caller's script

    spec = importlib.util.spec_from_file_location(MAIN_ALIAS, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load the caller's script {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[MAIN_ALIAS] = module
    # Objects of the caller's __main__ are pickled as __main__.X: let them resolve here too.
    sys.modules["__main__"] = module
    spec.loader.exec_module(module)
    return module


def _function(request: dict[str, Any]) -> Callable[..., object]:
    main_file = request.get("main_file")
    module = _import_main(main_file) if main_file else importlib.import_module(request["module"])
    target: object = module
    for part in str(request["qualname"]).split("."):
        target = getattr(target, part)
    # An op object stands where its function was defined: run the function it wraps.
    while hasattr(target, "__wrapped__"):
        target = getattr(target, "__wrapped__")  # noqa: B009 - the loop checked it exists
    if not callable(target):
        raise TypeError(f"{request['qualname']} in {request['module']} is not callable")
    return target


def _load(request: dict[str, Any]) -> tuple[Callable[..., object], Any, Any]:
    if request["mode"] == "value":
        from lzy.runtime._pickle import loads_call  # noqa: PLC0415 - importable only now

        function, _, args, kwargs = loads_call(request["payload"])
        return function, args, kwargs
    function = _function(request)
    args, kwargs = pickle.loads(request["payload"])
    return function, args, kwargs


def _dumps(value: object, by_value: bool) -> bytes:
    if by_value:
        from lzy.runtime._pickle import dumps  # noqa: PLC0415 - importable only now

        return dumps(value)
    return pickle.dumps(value, protocol=PROTOCOL)


def _outcome(request: dict[str, Any]) -> Outcome:
    by_value = request["mode"] == "value"
    try:
        function, args, kwargs = _load(request)
        result = function(*args, **kwargs)
    except BaseException as error:  # the op's own exception, whatever it is, goes back
        import traceback  # noqa: PLC0415 - only when the op raised

        text = traceback.format_exc()
        try:
            data = _dumps(error, by_value)
            pickle.loads(data)
        except Exception as problem:  # it does not travel: say so in words
            what = f"raised {type(error).__qualname__}: {error}, which"
            why = f"{what} cannot be sent back to the caller ({type(problem).__name__}: {problem})"
            return ("unpicklable", None, _type_name(error), why, text)
        return ("error", data, _type_name(error), str(error), text)
    try:
        data = _dumps(result, by_value)
        pickle.loads(data)
    except Exception as problem:
        what = f"returned a {type(result).__qualname__}, which"
        why = f"{what} cannot be sent back to the caller ({type(problem).__name__}: {problem})"
        return ("unpicklable", None, _type_name(result), why, "")
    return ("ok", data, _type_name(result), "", "")


def main(request_path: str, response_path: str) -> int:
    """Run the call in ``request_path`` and write its outcome to ``response_path``."""
    with open(request_path, "rb") as stream:
        request = pickle.load(stream)
    sys.path.extend(p for p in request.get("support", ()) if p not in sys.path)
    outcome = _outcome(request)
    with open(response_path, "wb") as stream:
        pickle.dump(outcome, stream, protocol=PROTOCOL)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[-2], sys.argv[-1]))
