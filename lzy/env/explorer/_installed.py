"""Installed distributions: which modules each owns, what it requires, where it came from.

The metadata directories (``.dist-info``, ``.egg-info``) of each ``sys.path`` directory are
listed (zip files on ``sys.path`` go through :mod:`importlib.metadata`), and each distribution
is summed up: its name, version, ``Requires-Dist`` and ``Requires-Python`` headers, the
top-level names and paths its ``RECORD`` lists (an ``.egg-info``'s ``installed-files.txt``,
read here because :attr:`importlib.metadata.Distribution.files` fails on some Pythons when it
lists files outside the site directory), whether it holds compiled code, and PEP 610's
``direct_url.json`` (editable, directory, archive or VCS installs). Metadata that cannot be
read is noted, never fatal by itself.

Summaries are kept per process and on disk (``installed.json`` under lzy's cache root), keyed
by each metadata directory and the modification times of it and its files; a ``RECORD`` is read
again only where two distributions share a top-level name.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import sys
import threading
import types
import urllib.parse
import weakref
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Final, Protocol, cast

from lzy.env._base import redact_url
from lzy.env._cache import cache_root
from lzy.env.explorer import _memo
from lzy.env.explorer._pages import canonical_name, file_url_path

if TYPE_CHECKING:
    import pathlib

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
    "satisfies",
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

    #: ``"editable"``, ``"directory"``, ``"archive"``, ``"vcs"``, or ``"unknown"`` when
    #: ``direct_url.json`` cannot be read.
    kind: str
    #: The URL, credentials masked, query and fragment left out.
    url: str
    #: For an editable install, its project directory.
    editable_dir: str | None = None

    def describe(self) -> str:
        """``"the archive file:///..."`` and the like, for reasons."""
        what = {
            "directory": "the directory",
            "archive": "the archive",
            "vcs": "the repository",
            "editable": "the editable project",
            "unknown": "a location its metadata does not say",
        }[self.kind]
        return f"{what} {self.url}"


def shown_direct_url(url: str) -> str:
    """A PEP 610 URL as reasons show it: credentials masked, and its query and fragment (where
    tokens travel: ``?private_token=``, a signed archive's ``?sig=``) left out."""
    cut = min((i for i in (url.find("?"), url.find("#")) if i >= 0), default=-1)
    return redact_url(url if cut < 0 else url[:cut])


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True, eq=False)
class Dist:
    """What the explorer needs to know about one installed distribution."""

    name: str
    version: str
    root: str
    top_levels: frozenset[str]
    paths: tuple[str, ...]
    compiled: tuple[str, ...]
    direct_url: DirectUrl | None
    meta: bool
    requires: tuple[str, ...]
    requires_python: str | None
    metadata_dir: str | None
    #: Whether the files were guessed from the top-level names (no usable file list).
    guessed: bool = False

    @property
    def editable_dir(self) -> str | None:
        """The project directory of an editable install, else ``None``."""
        return None if self.direct_url is None else self.direct_url.editable_dir

    def to_json(self) -> dict[str, object]:
        """A JSON-ready summary, for the disk cache."""
        data: dict[str, object] = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        data["top_levels"] = sorted(self.top_levels)
        data["direct_url"] = None if self.direct_url is None else dataclasses.asdict(self.direct_url)
        return data

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Dist:
        """The inverse of :meth:`to_json` (``KeyError``/``TypeError`` when it does not fit)."""
        direct = data["direct_url"]
        text = cast("dict[str, str | None]", data)
        return cls(
            name=str(data["name"]),
            version=str(data["version"]),
            root=str(data["root"]),
            top_levels=frozenset(cast("list[str]", data["top_levels"])),
            paths=tuple(cast("list[str]", data["paths"])),
            compiled=tuple(cast("list[str]", data["compiled"])),
            direct_url=None if direct is None else DirectUrl(**cast("dict[str, str]", direct)),
            meta=bool(data["meta"]),
            requires=tuple(cast("list[str]", data["requires"])),
            requires_python=text["requires_python"],
            metadata_dir=text["metadata_dir"],
            guessed=bool(data["guessed"]),
        )


class _Source(Protocol):
    """Where a distribution's metadata files are read from."""

    def read_text(self, filename: str) -> str | None: ...


@dataclasses.dataclass(frozen=True, slots=True)
class _Folder:
    """A metadata directory (or an ``.egg-info`` file, which is ``PKG-INFO`` itself)."""

    path: str

    def read_text(self, filename: str) -> str | None:
        if not os.path.isdir(self.path):
            return _read_file(self.path) if filename == "PKG-INFO" else None
        return _read_file(os.path.join(self.path, filename))


def _read_file(path: str) -> str | None:
    """The text of ``path`` (UTF-8, else Latin-1, which decodes any bytes), or ``None``."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError):
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _record(source: _Source, metadata_dir: str | None, root: str, name: str) -> tuple[str | None, bool]:
    """The installed paths of a distribution, as lines that start with a path and a comma, and
    whether they come from its own file list (``RECORD``, ``installed-files.txt``).

    The text of ``RECORD`` is kept as it is, hash and size columns included, after a leading
    newline: whether it lists a path is then a substring search for ``"\\n{path},"``, much
    cheaper than building a set. Only quoted rows and absolute paths (rare) and installs
    without ``RECORD`` go through a parser; an ``.egg-info``'s ``installed-files.txt`` lists
    paths relative to it, and those outside the site directory are left out. Without a
    list of its own (Debian's and Ubuntu's system packages have none: dpkg's list of the package
    is read then, :func:`_dpkg_record`), or with a broken one, the top-level modules are taken
    from ``top_level.txt``, else from the distribution's name, where they exist in the site
    directory (:func:`_guessed_record`).
    """
    text = source.read_text("RECORD")
    if text is not None:
        listed = _parse_record(text, root)
        if listed is not None:
            return listed, True
    elif metadata_dir is not None and (listing := source.read_text("installed-files.txt")) is not None:
        prefix = root.rstrip(os.sep) + os.sep
        lines: list[str] = []
        for line in listing.splitlines():
            if not line.strip():
                continue
            path = os.path.normpath(os.path.join(metadata_dir, line.strip()))
            if path.startswith(prefix):
                lines.append(f"\n{path[len(prefix) :].replace(os.sep, '/')},")
        if lines:
            return "".join(lines) + "\n", True
    packaged = _dpkg_record(metadata_dir, root) if metadata_dir is not None else None
    if packaged is not None:
        return packaged, True
    return _guessed_record(source, root, name), False


#: Where dpkg keeps the files each Debian package installed, one ``NAME.list`` per package.
_DPKG_INFO: Final = "/var/lib/dpkg/info"
#: Per process: the dpkg file list naming each metadata directory (or file) of a Python
#: distribution; ``None`` until needed.
_dpkg_owners: dict[str, str] | None = None


def _dpkg_record(metadata_dir: str, root: str) -> str | None:
    """The files in ``root`` of the Debian package that installed ``metadata_dir`` (Debian's
    and Ubuntu's ``python3-*`` packages ship metadata without a file list; dpkg has one), as
    :func:`_record` lines; ``None`` when no Debian package did."""
    global _dpkg_owners  # noqa: PLW0603 - built once per process, only where needed
    if _dpkg_owners is None:
        owners: dict[str, str] = {}
        try:
            names = [n for n in os.listdir(_DPKG_INFO) if n.endswith(".list")]
        except OSError:
            names = []
        for name in names:
            listing = os.path.join(_DPKG_INFO, name)
            for line in (_read_file(listing) or "").splitlines():
                if line.endswith((".egg-info", ".dist-info")):
                    owners.setdefault(line, listing)
        _dpkg_owners = owners
    owner = _dpkg_owners.get(metadata_dir)
    if owner is None:
        return None
    prefix = root.rstrip(os.sep) + os.sep
    lines = [
        f"\n{path[len(prefix) :]},"
        for path in (_read_file(owner) or "").splitlines()
        if path.startswith(prefix) and not os.path.isdir(path)
    ]
    return "".join(lines) + "\n" if lines else None


def _parse_record(text: str, root: str) -> str | None:
    """``RECORD``'s paths (see :func:`_record`), or ``None`` when it is broken: NUL characters,
    bytes that are no text, unbalanced quotes, or no row at all."""
    if "\x00" in text or "\ufffd" in text or not text.strip():
        return None
    text = text.replace("\r\n", "\n")
    if '"' not in text and "\n/" not in text and not text.startswith("/") and ":\\" not in text:
        return "\n" + text
    import csv  # noqa: PLC0415 - rare

    prefix = root.rstrip(os.sep) + os.sep
    lines: list[str] = []
    try:
        for row in csv.reader(text.splitlines(), strict=True):
            path = row[0] if row else ""
            if os.path.isabs(path):
                # Absolute paths are allowed, and used for files outside the site directory.
                normalized = os.path.normpath(path)
                if not normalized.startswith(prefix):
                    continue
                path = normalized[len(prefix) :].replace(os.sep, "/")
            if path:
                lines.append(f"\n{path},")
    except csv.Error:
        return None
    return "".join(lines) + "\n" if lines else None


def _guessed_record(source: _Source, root: str, name: str) -> str | None:
    """The files of the top-level modules ``top_level.txt`` names (else the one named like the
    distribution) that exist in ``root``, as :func:`_record` lines; ``None`` when none does."""
    declared = source.read_text("top_level.txt")
    tops = [t.strip().replace("/", ".").partition(".")[0] for t in (declared or "").splitlines()]
    tops = [t for t in dict.fromkeys(tops) if t.isidentifier()]
    if not tops:
        tops = [name.replace("-", "_").replace(".", "_")]
    entries = _entries(root)
    lines: list[str] = []
    for top in tops:
        for entry in entries.get(top, ()):
            path = os.path.join(root, entry)
            if os.path.isdir(path):
                for directory, subdirs, files in os.walk(path):
                    subdirs[:] = sorted(d for d in subdirs if d != "__pycache__")
                    relative = os.path.relpath(directory, root).replace(os.sep, "/")
                    lines.extend(f"\n{relative}/{file}," for file in sorted(files))
            else:
                lines.append(f"\n{entry},")
    return "".join(lines) + "\n" if lines else None


def _entries(root: str) -> dict[str, list[str]]:
    """The entries of ``root`` that can be top-level modules, by module name: ``pkg/``,
    ``mod.py``, ``mod.cpython-311-x86_64-linux-gnu.so`` (kept per process: one listing per
    directory, however many distributions lack a file list)."""
    found = _ENTRIES.get(root)
    if found is None:
        found = dict[str, list[str]]()
        try:
            names = sorted(os.listdir(root))
        except OSError:
            names = []
        for entry in names:
            module = entry.partition(".")[0]
            if not module.isidentifier() or entry.endswith(_SKIPPED_ENDINGS):
                continue
            if "." not in entry or entry.endswith((".py", *COMPILED_SUFFIXES)):
                found.setdefault(module, []).append(entry)
        _ENTRIES[root] = found
    return found


_ENTRIES: dict[str, dict[str, list[str]]] = {}


def _direct_url(source: _Source) -> DirectUrl | None:
    """Where a distribution was installed from, when not from an index (PEP 610).

    Installers write ``direct_url.json`` only for what they did not take from an index, so one
    that cannot be read still says that much: its kind is then ``"unknown"``.
    """
    text = source.read_text("direct_url.json")
    if text is None:
        return None
    try:
        data: object = json.loads(text)
    except ValueError:
        data = None
    url = cast("dict[str, object]", data).get("url") if isinstance(data, dict) else None
    if not isinstance(url, str) or not url.strip():
        return DirectUrl(kind="unknown", url="(direct_url.json cannot be read)")
    direct = cast("dict[str, object]", data)
    shown = shown_direct_url(url)
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


def _headers(source: _Source) -> dict[str, list[str]] | None:
    """The core metadata headers (lower-case names), folded lines joined; the description
    after them is not read."""
    text = source.read_text("METADATA") or source.read_text("PKG-INFO")
    if text is None:
        return None
    headers: dict[str, list[str]] = {}
    last: list[str] | None = None
    for line in text.replace("\r\n", "\n").partition("\n\n")[0].split("\n"):
        if line[:1] in {" ", "\t"} and last:
            last[-1] += " " + line.strip()
            continue
        name, colon, value = line.partition(":")
        if colon:
            last = headers.setdefault(name.strip().lower(), [])
            last.append(value.strip())
    return headers


def _read_dist(source: _Source, metadata_dir: str | None, root: str) -> tuple[Dist, str | None] | None:
    """The summary of a distribution, and its ``RECORD`` text (``None`` when it has none)."""
    headers = _headers(source)
    name = (headers or {}).get("name", [""])[0]
    version = (headers or {}).get("version", [""])[0]
    if headers is None or not name or not version:
        return None
    record, listed = _record(source, metadata_dir, root, name)
    tops, firsts, compiled = _summary(record)
    exists = os.path.lexists
    if listed and firsts and os.path.isdir(root) and not any(exists(os.path.join(root, f)) for f in firsts):
        # A file list naming nothing that exists here is not this installation's.
        record, listed = _guessed_record(source, root, name), False
        tops, firsts, compiled = _summary(record)
    direct_url = _direct_url(source)
    editable_dir = None if direct_url is None else direct_url.editable_dir
    meta = listed and not firsts and editable_dir is None
    requires_python = headers.get("requires-python", [""])[0]
    dist = Dist(
        name=canonical_name(name),
        version=version,
        root=root,
        top_levels=frozenset(tops),
        paths=tuple(sorted(os.path.join(root, first) for first in firsts)),
        compiled=tuple(sorted(compiled)),
        direct_url=direct_url,
        meta=meta,
        requires=tuple(headers.get("requires-dist", ())) or _egg_requires(source),
        requires_python=requires_python or None,
        metadata_dir=metadata_dir,
        guessed=not listed,
    )
    return dist, record


def _egg_requires(source: _Source) -> tuple[str, ...]:
    """An ``.egg-info``'s ``requires.txt`` as ``Requires-Dist`` lines: a ``[extra:marker]``
    section's requirements carry ``extra == 'extra'`` and the marker."""
    text = source.read_text("requires.txt")
    if not text:
        return ()
    requires: list[str] = []
    extra = marker = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            extra, _, marker = line[1:-1].partition(":")
            continue
        conditions = [f"({marker})"] if marker else []
        if extra:
            conditions.append(f"extra == {extra!r}")
        requires.append(f"{line}; {' and '.join(conditions)}" if conditions else line)
    return tuple(requires)


def _summary(record: str | None) -> tuple[set[str], set[str], list[str]]:
    """The top-level module names, the first components of the paths and the compiled files
    of a :func:`_record` text."""
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
    return tops, firsts, compiled


@dataclasses.dataclass(frozen=True, slots=True)
class Requirement:
    """A requirement that applies on the target: a canonical name and a version specifier."""

    name: str
    specifier: str


#: A requirement without extras or URL, and its marker: ``name``, ``(specifier)``, ``; marker``.
_SIMPLE_REQUIREMENT: Final = re.compile(
    r"\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(?:\[[^\]]*\])?\s*\(?([<>=!~,.*+\w\s]*?)\)?\s*(?:;(.*))?"
)
#: A marker that only names an extra: never followed.
_EXTRA_ONLY: Final = re.compile(r"""\s*extra\s*==\s*["'][^"']*["']\s*""")


def _applying(requires: Iterable[str], markers: Mapping[str, str]) -> Iterator[Requirement]:
    """The requirements whose markers hold on the target (extras are not followed).

    Most lines are a name, a specifier and at most an ``extra`` marker: those are read here;
    the rest by :mod:`packaging`, whose answers are kept (:mod:`lzy.env.explorer._memo`).
    """
    scope = "requires " + json.dumps(sorted(markers.items()))
    for text in requires:
        simple = _SIMPLE_REQUIREMENT.fullmatch(text)
        if simple is not None and (simple[3] is None or _EXTRA_ONLY.fullmatch(simple[3])):
            if simple[3] is None:
                yield Requirement(canonical_name(simple[1]), simple[2].replace(" ", ""))
            continue
        answer = _memo.get(scope, text)
        if answer is _memo.MISSING:
            answer = _parse_requirement(text, markers)
            _memo.put(scope, text, answer)
        pair = cast("list[str]", answer) if isinstance(answer, list) else []
        if len(pair) == 2:
            yield Requirement(str(pair[0]), str(pair[1]))


def _parse_requirement(text: str, markers: Mapping[str, str]) -> list[str] | None:
    """``[name, specifier]`` of a requirement that applies on the target, else ``None``."""
    from packaging.requirements import InvalidRequirement  # noqa: PLC0415 - lazy: a parser
    from packaging.requirements import Requirement as Parsed  # noqa: PLC0415

    try:
        requirement = Parsed(text)
    except InvalidRequirement:
        return None
    if requirement.marker is None or requirement.marker.evaluate(dict(markers)):
        return [canonical_name(requirement.name), str(requirement.specifier)]
    return None


def satisfies(version: str, specifier: str) -> bool:
    """Whether ``version`` satisfies ``specifier`` (pre-releases allowed; an unparsable
    specifier is satisfied, as pip ignores it)."""
    if not specifier:
        return True
    key = f"{specifier} {version}"
    answer = _memo.get("satisfies", key)
    if isinstance(answer, bool):
        return answer
    from packaging.specifiers import InvalidSpecifier, SpecifierSet  # noqa: PLC0415 - lazy

    try:
        satisfied = SpecifierSet(specifier).contains(version, prereleases=True)
    except InvalidSpecifier:
        satisfied = True
    _memo.put("satisfies", key, satisfied)
    return satisfied


@dataclasses.dataclass(frozen=True, slots=True)
class Owner:
    """Who owns a module: a distribution, or nobody (then ``top_path`` is shipped)."""

    dist: Dist | None
    top_path: str | None


class Installed:
    """The distributions visible on one ``sys.path``, and which of them owns each module."""

    def __init__(self, dists: Iterable[Dist], unreadable: Mapping[str, str]) -> None:
        self.by_name: dict[str, Dist] = {}
        self.by_top: dict[str, list[Dist]] = {}
        #: Metadata directories that could not be read, with why: never fatal by themselves.
        self.unreadable = dict(unreadable)
        dists = list(dists)
        # Building an editable install leaves NAME.egg-info in its project (setuptools does),
        # which is on sys.path when the program runs from there: that is the editable
        # install's, not a distribution of its own.
        projects = {d.name: d.editable_dir for d in dists if d.editable_dir is not None}
        for dist in dists:
            project = projects.get(dist.name)
            inside = project is not None and (
                dist.root == project or _relative(dist.root, project) is not None
            )
            if inside and dist.editable_dir is None:
                continue
            if dist.name in self.by_name:
                continue  # The first one on sys.path is the one imported.
            self.by_name[dist.name] = dist
            for top in dist.top_levels:
                self.by_top.setdefault(top, []).append(dist)
        self._records: dict[str, str] = {}
        self._requirements: dict[tuple[str, tuple[tuple[str, str], ...]], tuple[Requirement, ...]] = {}
        self._meta_parents: dict[tuple[tuple[str, str], ...], dict[str, list[Dist]]] = {}
        #: Directories distributions are installed into (site-packages and the like).
        self.roots = frozenset(d.root for d in self.by_name.values() if d.editable_dir is None)
        self.editables = sorted(
            (d for d in self.by_name.values() if d.editable_dir is not None),
            key=lambda d: -len(d.editable_dir or ""),
        )
        self._owners: weakref.WeakKeyDictionary[types.ModuleType, Owner] = weakref.WeakKeyDictionary()
        self._editable_modules: dict[str, dict[str, tuple[str, ...]]] = {}

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

    def record(self, dist: Dist) -> str:
        """``dist``'s ``RECORD`` text (see :func:`_record`), read when first needed."""
        text = self._records.get(dist.name)
        if text is None:
            source = _Folder(dist.metadata_dir) if dist.metadata_dir is not None else None
            if source is None:
                text = ""
            elif dist.guessed:
                text = _guessed_record(source, dist.root, dist.name) or ""
            else:
                text = _record(source, dist.metadata_dir, dist.root, dist.name)[0] or ""
            self._records[dist.name] = text
        return text

    def owner_by_name(self, name: str) -> tuple[Dist, str] | None:
        """The distribution whose ``RECORD`` lists module ``name`` (or, for an attribute
        imported with ``from``, its closest parent), found without importing it."""
        top = name.partition(".")[0]
        candidates = self.by_top.get(top, ())
        if not candidates:
            return None
        if len(candidates) == 1:
            return candidates[0], name  # The only distribution with that top-level name.
        for candidate in (name, *parents(name)):
            relative = candidate.replace(".", "/")
            for dist in candidates:
                record = self.record(dist)
                if f"\n{relative}/" in record or f"\n{relative}." in record:
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
        top_path = _top_path(name, real, "__path__" in namespace)
        owner: Dist | None = None
        if len(relatives) == 1:
            # The only distribution with that top-level name, and the file is inside it (it
            # may be one the distribution did not record: generated at run time, say).
            dist, relative = relatives[0]
            if relative is not None and relative.partition("/")[0] in dist.top_levels:
                owner = dist
        for dist, relative in relatives:
            if owner is None and relative is not None and f"\n{relative}," in self.record(dist):
                owner = dist
        if owner is not None:
            return Owner(owner, top_path if owner.editable_dir is not None else None)
        if top_path is not None:
            # An editable install owns the modules it maps, not whatever sits in its project.
            for dist in self.editables:
                if os.path.realpath(top_path) in self.editable_modules(dist).get(top, ()):
                    return Owner(dist, top_path)
        return Owner(None, top_path)

    def editable_modules(self, dist: Dist) -> dict[str, tuple[str, ...]]:
        """The top-level modules an editable install maps, by name: their real paths.

        An import hook's table (setuptools' ``MAPPING``, the ``editables`` library's
        ``map_module`` calls) says so exactly. A directory a ``.pth`` file adds (and the
        directory of a ``setup.py develop`` install) holds the project's packages beside
        anything else: there the modules ``top_level.txt`` names are the distribution's, else
        the one named like it; in a directory that is not the project's own (``src/``),
        every module.
        """
        with STATE_LOCK:
            known = self._editable_modules.get(dist.name)
        if known is not None:
            return known
        found: dict[str, list[str]] = {}
        folders: list[str] = [dist.root] if dist.root == dist.editable_dir else []
        for line in self.record(dist).splitlines():
            path = line.partition(",")[0]
            if not path or "/" in path:
                continue
            full = os.path.join(dist.root, path)
            if path.endswith(".pth"):
                folders.extend(_pth_folders(full, dist.root))
            elif path.endswith(".py"):
                for top, where in _hook_table(full):
                    found.setdefault(top, []).append(os.path.realpath(where))
        declared = _declared_tops(dist)
        for folder in dict.fromkeys(folders):
            entries = _entries(folder)
            names = [n for n in entries if n in declared] if declared else []
            if not declared:
                names = [n for n in entries if canonical_name(n) == dist.name]
                if not names and folder != dist.editable_dir:
                    names = list(entries)
            for top in names:
                paths = (os.path.realpath(os.path.join(folder, entry)) for entry in entries[top])
                found.setdefault(top, []).extend(paths)
        modules = {top: tuple(paths) for top, paths in found.items()}
        with STATE_LOCK:
            self._editable_modules[dist.name] = modules
        return modules


def _declared_tops(dist: Dist) -> frozenset[str]:
    """The top-level names ``top_level.txt`` lists for ``dist`` (setuptools writes it)."""
    if dist.metadata_dir is None:
        return frozenset()
    text = _Folder(dist.metadata_dir).read_text("top_level.txt") or ""
    return frozenset(t.strip() for t in text.splitlines() if t.strip().isidentifier())


def _pth_folders(path: str, root: str) -> Iterator[str]:
    """The directories a ``.pth`` file adds to ``sys.path`` (its lines that are not imports)."""
    for raw in (_read_file(path) or "").splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", "import ", "import\t")):
            continue
        folder = os.path.realpath(os.path.join(root, line))
        if os.path.isdir(folder):
            yield folder


#: setuptools' editable finder: ``MAPPING: dict[str, str] = {'pkg': '/path/to/pkg'}``.
_MAPPING: Final = re.compile(r"^MAPPING\s*(?::[^=\n]*)?=\s*(\{[^\n]*\})\s*$", re.MULTILINE)
#: The ``editables`` library's hook (hatchling, pdm): ``F.map_module('pkg', '/path/pkg/__init__.py')``.
_MAP_MODULE: Final = re.compile(r"""map_module\(\s*(['"])([\w.]+)\1\s*,\s*(['"])(.+?)\3\s*\)""")


def _hook_table(path: str) -> Iterator[tuple[str, str]]:
    """``(top-level name, path)`` pairs an editable install's import hook maps, if ``path``
    is such a hook."""
    text = _read_file(path) or ""
    table = _MAPPING.search(text)
    if table is not None:
        import ast  # noqa: PLC0415 - only for editable installs made by setuptools

        try:
            mapping: object = ast.literal_eval(table[1])
        except (ValueError, SyntaxError):
            mapping = None
        if isinstance(mapping, dict):
            for top, where in cast("dict[object, object]", mapping).items():
                if isinstance(top, str) and isinstance(where, str):
                    yield top.partition(".")[0], where
    for match in _MAP_MODULE.finditer(text):
        where = match[4]
        if os.path.basename(where) == "__init__.py":
            where = os.path.dirname(where)
        yield match[2].partition(".")[0], where


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
            installed = _scan()
            _installed_cache.clear()
            _installed_cache[frozen] = installed
        return installed


#: The layout of the summaries kept on disk.
_SUMMARY_FORMAT: Final = 2


def _summaries_path() -> pathlib.Path:
    return cache_root() / "explorer" / f"installed-{_SUMMARY_FORMAT}.json"


def _load_summaries() -> dict[str, list[object]]:
    try:
        data = json.loads(_summaries_path().read_bytes())
    except (OSError, ValueError):
        return {}
    return cast("dict[str, list[object]]", data) if isinstance(data, dict) else {}


def _stamp(path: str) -> str | None:
    """What changes when a distribution is installed, removed or rewritten at ``path``: the
    modification times of the directory (files added or replaced in it, as installers write
    them) and of its core metadata."""
    try:
        stamps = [os.stat(path).st_mtime_ns]
        for name in ("METADATA", "PKG-INFO"):
            try:
                stamps.append(os.stat(os.path.join(path, name)).st_mtime_ns)
                break
            except OSError:
                continue
    except OSError:
        return None
    return ":".join(map(str, stamps))


def _metadata_dirs(entry: str, egg_links: set[str]) -> Iterator[str]:
    """The metadata directories (and ``.egg-info`` files) in a ``sys.path`` directory; the
    project directories its ``.egg-link`` files name are added to ``egg_links``."""
    try:
        names = sorted(os.listdir(entry))
    except OSError:
        return
    for name in names:
        if name.endswith((".dist-info", ".egg-info")):
            yield os.path.join(entry, name)
        elif name.endswith(".egg-link"):
            # ``setup.py develop`` and pip's legacy editable mode: the first line is the
            # directory holding the project's code and its ``.egg-info``.
            text = _read_file(os.path.join(entry, name)) or ""
            target = text.splitlines()[0].strip() if text.strip() else ""
            if target:
                egg_links.add(os.path.realpath(os.path.join(entry, target)))


def _scan() -> Installed:
    """Sum up every distribution on ``sys.path``, from the disk cache where it is current."""
    summaries = _load_summaries()
    _ENTRIES.clear()
    changed = False
    dists: list[Dist] = []
    unreadable: dict[str, str] = {}
    egg_links: set[str] = set()
    for entry in sys.path:
        folder = entry or "."
        if not os.path.isdir(folder):
            if os.path.isfile(folder):
                dists.extend(_from_importlib(folder, unreadable))
            continue
        root = os.path.realpath(folder)
        for path in _metadata_dirs(folder, egg_links):
            metadata_dir = os.path.realpath(path)
            stamp = _stamp(metadata_dir)
            cached = summaries.get(metadata_dir)
            if cached is not None and len(cached) == 2 and cached[0] == stamp and isinstance(cached[1], dict):
                try:
                    dists.append(Dist.from_json(cast("dict[str, object]", cached[1])))
                    continue
                except (KeyError, TypeError, ValueError):
                    pass
            try:
                read = _read_dist(_Folder(metadata_dir), metadata_dir, root)
            except Exception as error:  # Any broken metadata is reported, never fatal by itself.
                unreadable[metadata_dir] = f"{type(error).__name__}: {error}"
                continue
            if read is not None:
                dists.append(read[0])
                summaries[metadata_dir] = [stamp, read[0].to_json()]
                changed = True
    if changed:
        _save_summaries(summaries)
    if egg_links:
        dists = [_developed(dist) if dist.root in egg_links else dist for dist in dists]
    return Installed(dists, unreadable)


def _developed(dist: Dist) -> Dist:
    """``dist``, whose metadata sits in a directory an ``.egg-link`` names, as the editable
    install it is."""
    if dist.direct_url is not None:
        return dist
    import pathlib  # noqa: PLC0415 - only for legacy editable installs

    url = pathlib.Path(dist.root).as_uri()
    return dataclasses.replace(
        dist, direct_url=DirectUrl(kind="editable", url=url, editable_dir=dist.root), meta=False
    )


def _from_importlib(entry: str, unreadable: dict[str, str]) -> Iterator[Dist]:
    """The distributions in a zip file on ``sys.path``, through :mod:`importlib.metadata`."""
    import importlib.metadata  # noqa: PLC0415 - only for zip files on sys.path

    for distribution in importlib.metadata.distributions(path=[entry]):
        try:
            read = _read_dist(distribution, None, os.path.realpath(entry))
        except Exception as error:  # Any broken metadata is reported, never fatal by itself.
            unreadable[f"{entry}:{distribution}"] = f"{type(error).__name__}: {error}"
            continue
        if read is not None:
            yield read[0]


def _save_summaries(summaries: dict[str, list[object]]) -> None:
    from lzy.env.explorer._index import write_atomically  # noqa: PLC0415 - only when changed

    with contextlib.suppress(OSError):  # A cache that cannot be written is only slower next time.
        write_atomically(_summaries_path(), json.dumps(summaries))


def parents(name: str) -> Iterator[str]:
    """The parent packages of module ``name``, closest first."""
    while "." in name:
        name = name.rpartition(".")[0]
        yield name
