"""Typed access to cloudpickle, which ships no type information."""

# pyright: reportMissingTypeStubs=false, reportUnknownMemberType=false

from __future__ import annotations

import cloudpickle  # type: ignore[import-untyped]  # no type information shipped


def dumps(value: object) -> bytes:
    """Pickle ``value`` by value where plain pickle would go by reference (``__main__`` functions)."""
    data: bytes = cloudpickle.dumps(value)
    return data
