"""How the text an editor shows for a keyword is read back by the tests.

A keyword that only one klass of a point has shows that klass's ``#:`` text and its default
(or that it is required). A keyword several klasses share shows, for each of them in turn,
``klass=K`` with its type and default, then its text (one overloaded method cannot show a
different text per klass: see ``lzy.env._stubgen``).
"""

from __future__ import annotations

import re

from lzy.env._catalog import FieldDoc, Point, field_docs

__all__ = ["field_text", "klass_meaning", "klass_part", "sharing"]


def sharing(point: Point, name: str) -> list[type[object]]:
    """The klasses of ``point`` that have a field called ``name``."""
    return [k for k in point.klasses if name in {f.name for f in field_docs(k)}]


def klass_part(shown: str, klass: type[object]) -> str | None:
    """The part of a shared keyword's text that ``klass=K`` introduces, or ``None``."""
    parts = re.split(r"(?=``klass=\w+``)", shown)
    for part in parts:
        if part.startswith(f"``klass={klass.__qualname__}``"):
            return part.strip()
    return None


def klass_meaning(point: Point, klass: type[object], field: FieldDoc, shown: str) -> bool:
    """Whether ``shown`` gives ``klass``'s meaning, type and default for ``field``, exactly."""
    needed = "Required." if field.required else f"Default: ``{field.default}``."
    if len(sharing(point, field.name)) == 1:
        return shown.strip() == f"{field.doc} {needed}"
    part = klass_part(shown, klass)
    default = "required" if field.required else f"default ``{field.default}``"
    expected = f"``klass={klass.__qualname__}`` (``{field.annotation}``; {default}): {field.doc}"
    return part == expected


def field_text(field: FieldDoc) -> str:
    """What a constructor's ``:param`` line says of ``field``: its text, then its default."""
    needed = "Required." if field.required else f"Default: ``{field.default}``."
    return f"{field.doc} {needed}"
