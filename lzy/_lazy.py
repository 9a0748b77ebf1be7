"""What lzy makes when first used rather than when imported, so that importing its API stays cheap.

A facade such as :mod:`lzy.api.v1.env` re-exports names from many modules; those that most
programs never touch (the registry client, the explorer, other runtimes) are imported by the
facade's module ``__getattr__`` when first asked for (:func:`lazy_attributes`, PEP 562).
Regular expressions that only some calls need are compiled at their first use
(:func:`lazy_pattern`). This module imports nothing of lzy: the bottom layer uses it too.
"""

from __future__ import annotations

import functools
import importlib
import re
import sys
from collections.abc import Callable, Mapping

__all__ = ["lazy_attributes", "lazy_pattern"]


def __dir__() -> list[str]:
    return __all__


def lazy_attributes(module: str, names: Mapping[str, str]) -> Callable[[str], object]:
    """A module ``__getattr__`` for ``module`` that imports each of ``names`` (name -> the module
    that defines it) when first asked for, and keeps it in ``module`` from then on.

    Facades define it under ``if not TYPE_CHECKING:``: checkers see the names through imports
    under ``TYPE_CHECKING`` instead, and still report a name the facade does not have.
    """

    def __getattr__(name: str) -> object:
        where = names.get(name)
        if where is None:
            msg = f"module {module!r} has no attribute {name!r}"
            raise AttributeError(msg)
        value = getattr(importlib.import_module(where), name)
        setattr(sys.modules[module], name, value)
        return value

    return __getattr__


def lazy_pattern(pattern: str, flags: int = 0) -> Callable[[], re.Pattern[str]]:
    """A function that returns ``re.compile(pattern, flags)``, compiled at its first call and
    kept: ``_WORD = lazy_pattern(r"[a-z]+")``, then ``_WORD().findall(text)``."""

    @functools.cache
    def compiled() -> re.Pattern[str]:
        return re.compile(pattern, flags)

    return compiled
