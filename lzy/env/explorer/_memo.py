"""Answers of pure functions kept across processes.

What a ``Requires-Dist`` line means on a target, whether a version satisfies a specifier, how a
``Requires-Python`` fits a target Python: each depends only on its text, so it is kept, once
computed, in ``memo.json`` under lzy's cache root. A new process then answers them without
loading :mod:`packaging`'s parsers, which cost more than the exploration they serve.
"""

from __future__ import annotations

import contextlib
import json
import threading
from typing import Final, cast

from lzy.env._cache import cache_root

__all__ = ["MISSING", "get", "put", "save"]

#: What :func:`get` returns for a question not answered before.
MISSING: Final = object()
#: The layout of the file; another one is ignored.
_FORMAT: Final = 1

_lock = threading.Lock()
_tables: dict[str, dict[str, object]] | None = None
_changed = False


def _load() -> dict[str, dict[str, object]]:
    global _tables  # noqa: PLW0603 - the process's one copy
    if _tables is None:
        _tables = _read()
    return _tables


def _read() -> dict[str, dict[str, object]]:
    try:
        data: object = json.loads((cache_root() / "explorer" / f"memo-{_FORMAT}.json").read_bytes())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    tables = cast("dict[str, object]", data)
    return {name: dict(cast("dict[str, object]", t)) for name, t in tables.items() if isinstance(t, dict)}


def get(table: str, key: str) -> object:
    """The answer kept for ``key`` in ``table``, or :data:`MISSING`."""
    with _lock:
        return _load().get(table, {}).get(key, MISSING)


def put(table: str, key: str, value: object) -> None:
    """Keep ``value`` (JSON-ready) as the answer for ``key`` in ``table``."""
    global _changed  # noqa: PLW0603 - the process's one copy
    with _lock:
        _load().setdefault(table, {})[key] = value
        _changed = True


def save() -> None:
    """Write what was added since the last call (merged with what other processes wrote)."""
    global _changed  # noqa: PLW0603 - the process's one copy
    from lzy.env.explorer._index import write_atomically  # noqa: PLC0415 - only when changed

    with _lock:
        if not _changed or _tables is None:
            return
        merged = _read()
        for table, answers in _tables.items():
            merged.setdefault(table, {}).update(answers)
        path = cache_root() / "explorer" / f"memo-{_FORMAT}.json"
        with contextlib.suppress(OSError):  # A memo that cannot be written is only slower.
            write_atomically(path, json.dumps(merged))
        _changed = False
