"""reStructuredText of ``#:`` comments as plain text, for a terminal or a JSON Schema."""

from __future__ import annotations

import re
from typing import Final

__all__ = ["plain_text"]

_ROLE: Final = re.compile(r":(?:[a-z]+:)?[a-z]+:`(?P<body>[^`]+)`")
_EXPLICIT_TITLE: Final = re.compile(r"(?P<title>.+?)\s*<[^<>]+>", re.DOTALL)


def _role_text(match: re.Match[str]) -> str:
    body = match["body"]
    explicit = _EXPLICIT_TITLE.fullmatch(body)
    if explicit:
        return explicit["title"]
    if body.startswith("~"):
        return body[1:].rpartition(".")[2]
    return body.lstrip("!")


def plain_text(rst: str) -> str:
    """``rst`` with roles replaced by their text (``:class:`~a.B``` is ``B``) and literals unquoted."""
    text = _ROLE.sub(_role_text, rst)
    return text.replace("``", "").replace("\\ ", "")
