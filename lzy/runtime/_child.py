"""The child process of :class:`~lzy.runtime.local.LocalRuntime`: run one call, write its outcome."""

from __future__ import annotations

import pickle
import sys
import traceback
from pathlib import Path

from lzy.runtime._pickle import dumps, loads_call


def main(request: str, response: str) -> int:
    """Load the call from ``request``, run it, pickle ``(kind, payload, traceback)`` to ``response``."""
    function, _, args, kwargs = loads_call(Path(request).read_bytes())
    try:
        outcome: tuple[str, object, str] = ("ok", function(*args, **kwargs), "")
    except BaseException as error:
        outcome = ("error", error, traceback.format_exc())
    try:
        data = dumps(outcome)
        pickle.loads(data)
    except Exception as error:
        if outcome[0] == "error":
            what = f"raised {type(outcome[1]).__qualname__}: {outcome[1]}, which"
        else:
            what = f"returned a {type(outcome[1]).__qualname__}, which"
        text = f"{what} cannot be sent back to the caller ({type(error).__name__}: {error})"
        data = pickle.dumps(("unpicklable", text, outcome[2]))
    Path(response).write_bytes(data)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
