"""PEP 503 HTML pages: the links of a project page, and of an index's root page.

Imported only where an index answers in HTML: PEP 691 JSON needs none of it.
"""

from __future__ import annotations

import html.parser
import urllib.parse

__all__ = ["FileLinks", "RootLinks"]


class FileLinks(html.parser.HTMLParser):
    """Collects the file names of a PEP 503 page: the last part of each link's URL, decoded,
    as pip reads it (an anchor's text only stands in for a link without a path; indexes are
    free to show anything there)."""

    def __init__(self) -> None:
        super().__init__()
        self.filenames: list[str] = []
        self.requires_python: dict[str, str] = {}
        self._href: str | None = None
        self._requires: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            attributes = dict(attrs)
            self._href = attributes.get("href") or ""
            self._requires = attributes.get("data-requires-python")
            self._text = []

    def handle_data(self, data: str) -> None:
        if self._href is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._href is not None:
            path = urllib.parse.urlsplit(self._href).path
            text = urllib.parse.unquote(path.rsplit("/", 1)[-1]) or "".join(self._text).strip()
            if text:
                self.filenames.append(text)
                if self._requires:
                    self.requires_python[text] = self._requires
            self._href = None


class RootLinks(html.parser.HTMLParser):
    """The links of a page and whether it declares a repository version (PEP 629)."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[tuple[str, str]] = []
        self.repository_version = False
        self._href: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "meta" and attributes.get("name") == "pypi:repository-version":
            self.repository_version = True
        elif tag == "a":
            self._href = attributes.get("href") or ""
            self._text = []

    def handle_data(self, data: str) -> None:
        if self._href is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._href is not None:
            self.links.append((self._href, "".join(self._text).strip()))
            self._href = None
