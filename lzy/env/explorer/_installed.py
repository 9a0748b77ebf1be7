"""Installed distributions: which modules each owns, what it requires, where it came from.

Each distribution on ``sys.path`` is read once per process (and again when ``sys.path`` or one
of its directories changes): its name, version, ``Requires-Dist`` and ``Requires-Python``
headers, the paths its ``RECORD`` lists (an ``.egg-info``'s ``installed-files.txt``), whether
it holds compiled code, and PEP 610's ``direct_url.json`` (editable, directory, archive or VCS
installs). Metadata that cannot be read is noted, never fatal by itself.
"""

from __future__ import annotations

import csv
import dataclasses
import email.message
import email.parser
import importlib.metadata
import json
import os
import sys
import threading
import types
import urllib.parse
import weakref
from collections.abc import Iterable, Iterator, Mapping
from typing import Final, cast

from packaging.utils import canonicalize_name

from lzy.env._base import redact_url
from lzy.env.explorer._pages import file_url_path

__all__ = [
    "COMPILED_SUFFIXES",
    "STATE_LOCK",
    "DirectUrl",
    "Dist",
    "Installed",
    "Owner",
    "Requirement",
    "installed_distributions",
    "is_compiled",
    "parents",
]

#: File name endings of compiled code, which runs on one platform only.
COMPILED_SUFFIXES: Final = (".so", ".pyd", ".dylib", ".dll")
#: First components of ``RECORD`` paths that are not importable code of the distribution.
_SKIPPED_FIRST: Final = frozenset({"", ".", "..", "__pycache__"})
_SKIPPED_ENDINGS: Final = (".dist-info", ".egg-info", ".data")


def is_compiled(filename: str) -> bool:
    name = filename.rsplit("/", 1)[-1]
    return name.endswith(COMPILED_SUFFIXES) or ".so." in name


# --------------------------------------------------------------------------------------------
# Installed distributions


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class DirectUrl:
    """Where a distribution was installed from when it was not an index (PEP 610)."""

    #: ``"editable"``, ``"directory"``, ``"archive"`` or ``"vcs"``.
    kind: str
    #: The URL, credentials masked.
    url: str
    #: For an editable install, its project directory.
    editable_dir: str | None = None

    def describe(self) -> str:
        """``"a local wheel or archive file:///..."`` and the like, for reasons."""
        what = {
            "directory": "the directory",
            "archive": "the archive",
            "vcs": "the repository",
            "editable": "the editable project",
        }[self.kind]
        return f"{what} {self.url}"


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True, eq=False)
class Dist:
    """What the explorer needs to know about one installed distribution."""

    name: str
    version: str
    root: str
    record: str
    top_levels: frozenset[str]
    paths: tuple[str, ...]
    compiled: tuple[str, ...]
    direct_url: DirectUrl | None
    meta: bool
    requires: tuple[str, ...]
    requires_python: str | None
    metadata_dir: str | None

    @property
    def editable_dir(self) -> str | None:
        """The project directory of an editable install, else ``None``."""
        return None if self.direct_url is None else self.direct_url.editable_dir


def _record(dist: importlib.metadata.Distribution, metadata_dir: str | None, root: str) -> str | None:
    """The installed paths of a distribution: lines that start with a path and a comma.

    The text of ``RECORD`` is kept as it is, hash and size columns included, after a leading
    newline: whether it lists a path is then a substring search for ``"\\n{path},"``, much
    cheaper than building a set for every distribution. Only quoted rows (rare) and installs
    without ``RECORD`` go through a parser. An ``.egg-info``'s ``installed-files.txt`` is read
    here rather than through :attr:`importlib.metadata.Distribution.files`, which fails on some
    Pythons when it lists files outside the site directory; those are left out.
    """
    text = dist.read_text("RECORD")
    if text is not None:
        if '"' in text:
            rows = csv.reader(text.splitlines())
            return "".join(f"\n{row[0]}," for row in rows if row and row[0]) + "\n"
        return "\n" + text.replace("\r\n", "\n")
    listing = dist.read_text("installed-files.txt")
    if listing is None or metadata_dir is None:
        return None
    prefix = root.rstrip(os.sep) + os.sep
    lines: list[str] = []
    for line in listing.splitlines():
        if not line.strip():
            continue
        path = os.path.normpath(os.path.join(metadata_dir, line.strip()))
        if path.startswith(prefix):
            lines.append(f"\n{path[len(prefix) :].replace(os.sep, '/')},")
    return "".join(lines) + "\n"


def _direct_url(dist: importlib.metadata.Distribution) -> DirectUrl | None:
    """Where a distribution was installed from, when not from an index (PEP 610)."""
    text = dist.read_text("direct_url.json")
    if not text:
        return None
    try:
        data: object = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    direct = cast("dict[str, object]", data)
    url = direct.get("url")
    if not isinstance(url, str):
        return None
    shown = redact_url(url) if "@" in url else url
    dir_info = direct.get("dir_info")
    if isinstance(dir_info, dict):
        if cast("dict[str, object]", dir_info).get("editable") is True:
            if urllib.parse.urlsplit(url).scheme != "file":
                return DirectUrl(kind="directory", url=shown)
            path = file_url_path(url)
            editable_dir = os.path.realpath(path) if os.path.isdir(path) else None
            return DirectUrl(kind="editable", url=shown, editable_dir=editable_dir)
        return DirectUrl(kind="directory", url=shown)
    if isinstance(direct.get("vcs_info"), dict):
        return DirectUrl(kind="vcs", url=shown)
    return DirectUrl(kind="archive", url=shown)


def _metadata(dist: importlib.metadata.Distribution) -> email.message.Message | None:
    """The core metadata headers; the long description after them is not parsed."""
    text = dist.read_text("METADATA") or dist.read_text("PKG-INFO")
    if text is None:
        return None
    headers = text.replace("\r\n", "\n").partition("\n\n")[0]
    return email.parser.HeaderParser().parsestr(headers)


def _read_dist(dist: importlib.metadata.Distribution) -> Dist | None:
    metadata = _metadata(dist)
    name = None if metadata is None else metadata["Name"]
    version = None if metadata is None else metadata["Version"]
    if metadata is None or not name or not version:
        return None
    root = os.path.realpath(str(dist.locate_file("")))
    location = getattr(dist, "_path", None)  # PathDistribution's metadata directory
    metadata_dir = os.path.realpath(str(location)) if location is not None else None
    record = _record(dist, metadata_dir, root)
    direct_url = _direct_url(dist)
    editable_dir = None if direct_url is None else direct_url.editable_dir
    tops: set[str] = set()
    firsts: set[str] = set()
    lines = (record or "").splitlines()
    for head, slash, _ in {line.partition("/") for line in lines}:
        first = head if slash else head.partition(",")[0]
        if not slash and first.endswith((".pth", ".pyc")):
            continue
        if first in _SKIPPED_FIRST or first.endswith(_SKIPPED_ENDINGS):
            continue
        firsts.add(first)
        module = first if slash else first.partition(".")[0]
        if module.isidentifier():
            tops.add(module)
    compiled: list[str] = []
    if record and any(suffix in record for suffix in COMPILED_SUFFIXES):
        for line in lines:
            path = line.partition(",")[0]
            if is_compiled(path) and path.partition("/")[0] in firsts:
                compiled.append(path)
    meta = record is not None and not firsts and editable_dir is None
    requires_python = metadata["Requires-Python"]
    return Dist(
        name=canonicalize_name(name),
        version=version.strip(),
        root=root,
        record=record or "",
        top_levels=frozenset(tops),
        paths=tuple(sorted(os.path.join(root, first) for first in firsts)),
        compiled=tuple(sorted(compiled)),
        direct_url=direct_url,
        meta=meta,
        requires=tuple(metadata.get_all("Requires-Dist") or ()),
        requires_python=requires_python.strip() if requires_python else None,
        metadata_dir=metadata_dir,
    )


@dataclasses.dataclass(frozen=True, slots=True)
class Requirement:
    """A requirement that applies on the target: a canonical name and a version specifier."""

    name: str
    specifier: str


def _applying(requires: Iterable[str], markers: Mapping[str, str]) -> Iterator[Requirement]:
    """The requirements whose markers hold on the target (extras are not followed)."""
    from packaging.requirements import InvalidRequirement  # noqa: PLC0415 - lazy: a parser
    from packaging.requirements import Requirement as Parsed  # noqa: PLC0415

    for text in requires:
        try:
            requirement = Parsed(text)
        except InvalidRequirement:
            continue
        if requirement.marker is None or requirement.marker.evaluate(dict(markers)):
            yield Requirement(canonicalize_name(requirement.name), str(requirement.specifier))


@dataclasses.dataclass(frozen=True, slots=True)
class Owner:
    """Who owns a module: a distribution, or nobody (then ``top_path`` is shipped)."""

    dist: Dist | None
    top_path: str | None


class Installed:
    """The distributions visible on one ``sys.path``, and which of them owns each module."""

    def __init__(self, distributions: Iterable[importlib.metadata.Distribution]) -> None:
        self.by_name: dict[str, Dist] = {}
        self.by_top: dict[str, list[Dist]] = {}
        #: Metadata directories that could not be read, with why: never fatal by themselves.
        self.unreadable: dict[str, str] = {}
        for distribution in distributions:
            try:
                dist = _read_dist(distribution)
            except Exception as error:  # Any broken metadata is reported, never fatal by itself.
                where = str(getattr(distribution, "_path", "") or distribution)
                self.unreadable[where] = f"{type(error).__name__}: {error}"
                continue
            if dist is None or dist.name in self.by_name:
                continue  # The first one on sys.path is the one imported.
            self.by_name[dist.name] = dist
            for top in dist.top_levels:
                self.by_top.setdefault(top, []).append(dist)
        self._requirements: dict[tuple[str, tuple[tuple[str, str], ...]], tuple[Requirement, ...]] = {}
        self._meta_parents: dict[tuple[tuple[str, str], ...], dict[str, list[Dist]]] = {}
        #: Directories distributions are installed into (site-packages and the like).
        self.roots = frozenset(d.root for d in self.by_name.values() if d.editable_dir is None)
        self.editables = sorted(
            (d for d in self.by_name.values() if d.editable_dir is not None),
            key=lambda d: -len(d.editable_dir or ""),
        )
        self._owners: weakref.WeakKeyDictionary[types.ModuleType, Owner] = weakref.WeakKeyDictionary()

    def requirements(self, dist: Dist, markers: Mapping[str, str]) -> tuple[Requirement, ...]:
        """``dist``'s requirements that apply on a target with ``markers`` (no extras)."""
        key = (dist.name, tuple(sorted(markers.items())))
        found = self._requirements.get(key)
        if found is None:
            found = tuple(_applying(dist.requires, markers))
            self._requirements[key] = found
        return found

    def meta_parents(self, markers: Mapping[str, str]) -> dict[str, list[Dist]]:
        """Meta-packages (distributions without files) by the names they require."""
        key = tuple(sorted(markers.items()))
        parents = self._meta_parents.get(key)
        if parents is None:
            parents = dict[str, list[Dist]]()
            for dist in self.by_name.values():
                if dist.meta:
                    for requirement in self.requirements(dist, markers):
                        parents.setdefault(requirement.name, []).append(dist)
            self._meta_parents[key] = parents
        return parents

    def owner(self, module: types.ModuleType) -> Owner:
        """The owner of ``module`` (cached per module object)."""
        owner = self._owners.get(module)
        if owner is None:
            owner = self._find_owner(module)
            self._owners[module] = owner
        return owner

    def owner_by_name(self, name: str) -> tuple[Dist, str] | None:
        """The distribution whose ``RECORD`` lists module ``name`` (or, for an attribute
        imported with ``from``, its closest parent), found without importing it."""
        top = name.partition(".")[0]
        candidates = self.by_top.get(top, ())
        if not candidates:
            return None
        for candidate in (name, *parents(name)):
            relative = candidate.replace(".", "/")
            for dist in candidates:
                if f"\n{relative}/" in dist.record or f"\n{relative}." in dist.record:
                    return dist, candidate
        return None

    def _find_owner(self, module: types.ModuleType) -> Owner:
        namespace = vars(module)
        file = namespace.get("__file__")
        name = namespace.get("__name__")
        if not isinstance(file, str) or not isinstance(name, str):
            return Owner(None, None)  # Namespace packages and virtual modules hold no file.
        real = os.path.realpath(file)
        top = name.partition(".")[0]
        candidates = self.by_top.get(top, ())
        relatives = [(dist, _relative(real, dist.root)) for dist in candidates]
        for dist, relative in relatives:
            if relative is not None and f"\n{relative}," in dist.record:
                return Owner(dist, None)
        if len(relatives) == 1:
            # A file the only candidate did not record (generated at run time, say) inside a
            # top-level directory it did record.
            dist, relative = relatives[0]
            if relative is not None and relative.partition("/")[0] in dist.top_levels:
                return Owner(dist, None)
        top_path = _top_path(name, real, "__path__" in namespace)
        # A project directory may hold a virtual environment: what is installed there is not
        # the editable project's code.
        if not any(_relative(real, root) is not None for root in self.roots):
            for dist in self.editables:
                if _relative(real, dist.editable_dir or "") is not None:
                    return Owner(dist, top_path)
        return Owner(None, top_path)


def _relative(path: str, root: str) -> str | None:
    """``path`` relative to ``root`` in POSIX form, or ``None`` when it is not inside it."""
    if not root:
        return None
    prefix = root if root.endswith(os.sep) else root + os.sep
    if not path.startswith(prefix):
        return None
    return path[len(prefix) :].replace(os.sep, "/")


def _top_path(name: str, file: str, is_package: bool) -> str | None:
    """The path of ``name``'s top-level package (or single-file module), from its file."""
    path = os.path.dirname(file) if is_package else file
    for _ in range(name.count(".")):
        path = os.path.dirname(path)
    base = os.path.basename(path)
    top = name.partition(".")[0]
    if base != top and base.partition(".")[0] != top:
        return None  # The module's name does not match its location; do not guess.
    return path


#: Guards the per-process caches of the installed map and of the walk.
STATE_LOCK = threading.RLock()
_installed_cache: dict[tuple[object, ...], Installed] = {}


def installed_distributions() -> Installed:
    """The distribution map for the current ``sys.path`` (rebuilt when it or its dirs change)."""
    key: list[object] = []
    for entry in sys.path:
        try:
            key.append((entry, os.stat(entry or ".").st_mtime_ns))
        except OSError:
            key.append((entry, None))
    frozen = tuple(key)
    with STATE_LOCK:
        installed = _installed_cache.get(frozen)
        if installed is None:
            installed = Installed(importlib.metadata.distributions())
            _installed_cache.clear()
            _installed_cache[frozen] = installed
        return installed


def parents(name: str) -> Iterator[str]:
    """The parent packages of module ``name``, closest first."""
    while "." in name:
        name = name.rpartition(".")[0]
        yield name
