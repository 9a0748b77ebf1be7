"""Where lzy keeps what it builds and fetches across runs: one root, overridable."""

from __future__ import annotations

import os
import pathlib
from typing import Final

__all__ = ["CACHE_DIR_ENV", "cache_root"]


def __dir__() -> list[str]:
    return __all__


#: Environment variable naming lzy's cache directory (index answers, built environments); when
#: unset, the user's cache directory (``platformdirs.user_cache_dir("lzy")``) is used.
CACHE_DIR_ENV: Final = "LZY_CACHE_DIR"


def cache_root() -> pathlib.Path:
    """``$LZY_CACHE_DIR`` (``~`` expanded), else the user's cache directory for lzy (read at
    each call)."""
    override = os.environ.get(CACHE_DIR_ENV)
    if override:
        return pathlib.Path(override).expanduser()
    import platformdirs  # noqa: PLC0415 - only when no override is set

    return pathlib.Path(platformdirs.user_cache_dir("lzy"))
