"""Where lzy keeps what it builds and fetches across runs: one root, overridable."""

from __future__ import annotations

import os
import pathlib
from typing import Final

from lzy.exceptions import FieldValueError

__all__ = ["CACHE_DIR_ENV", "cache_root", "checked_cache_dir"]


def __dir__() -> list[str]:
    return __all__


#: Environment variable naming lzy's cache directory (index answers, built environments): an
#: absolute path, or one that starts with ``~``. When unset or empty, the user's cache
#: directory (``platformdirs.user_cache_dir("lzy")``) is used.
CACHE_DIR_ENV: Final = "LZY_CACHE_DIR"


def checked_cache_dir(where: str, value: str) -> pathlib.Path:
    """``value`` as a cache directory given by ``where`` (``LZY_CACHE_DIR``, or a parameter):
    ``~`` expanded, and absolute; a blank or relative path is a
    :class:`~lzy.exceptions.FieldValueError` naming ``where``, the value and what is allowed.
    A relative path is refused rather than read against whatever the working directory is at
    each use."""
    if not value.strip():
        msg = f"{where} must be an absolute path (or start with ~), got {value!r}, which is blank"
        raise FieldValueError(msg)
    path = pathlib.Path(value).expanduser()
    if not path.is_absolute():
        msg = (
            f"{where} must be an absolute path (or start with ~), got {value!r}, which is relative;"
            f" write it in full, such as {str(pathlib.Path.cwd() / value)!r}"
        )
        raise FieldValueError(msg)
    return path


def cache_root() -> pathlib.Path:
    """``$LZY_CACHE_DIR`` (``~`` expanded), else the user's cache directory for lzy (read at
    each call). An empty ``LZY_CACHE_DIR`` counts as unset (as an empty ``XDG_CACHE_HOME``
    does); a blank or relative one is a :class:`~lzy.exceptions.FieldValueError`."""
    override = os.environ.get(CACHE_DIR_ENV)
    if override:
        return checked_cache_dir(CACHE_DIR_ENV, override)
    import platformdirs  # noqa: PLC0415 - only when no override is set

    return pathlib.Path(platformdirs.user_cache_dir("lzy"))
