"""Project pages of a simple index: which file of a version the target can install, and why not.

A page lists file names (and, PEP 503 and 691, the ``Requires-Python`` of each). A wheel is
usable when one of its tags is the target's; a source distribution only for a pure-Python
distribution; either only when its ``Requires-Python`` admits the target Python. When none is,
the page says why in short phrases: the bound, a newer glibc or macOS, no wheel for this Python.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
import urllib.parse
from collections.abc import Mapping
from typing import TYPE_CHECKING, Final, cast

from lzy.env._base import redact_url
from lzy.env.explorer._target import Target

if TYPE_CHECKING:
    from packaging.tags import Tag
    from packaging.version import Version

__all__ = [
    "Listing",
    "ProjectPage",
    "VersionFiles",
    "canonical_name",
    "file_url_path",
    "parse_html",
    "parse_json",
    "parse_json_version",
    "url_for",
]


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class VersionFiles:
    """The files a project page holds for one version, and which of them the target can use."""

    #: The first file the target can install, or ``None``.
    usable: str | None
    #: Every file of the version (for messages when none is usable).
    files: tuple[str, ...]
    #: When no file is usable: why, in short phrases (Requires-Python, platform, Python).
    why: tuple[str, ...] = ()
    #: Whether every file of the version was refused for its ``Requires-Python`` alone.
    python_refused: bool = False
    #: When the usable file's ``Requires-Python`` admits only some patch levels of the target's
    #: ``X.Y``: the first one it admits.
    patch_hint: str | None = None


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class ProjectPage:
    """One project's page on one index, as far as the explorer needs it."""

    #: Whether the index knows the project at all (``False`` for a 404).
    found: bool
    #: File names listed on the page.
    filenames: tuple[str, ...] = ()
    #: The ``Requires-Python`` specifiers the page gives, by file name (PEP 503 and 691).
    requires_python: Mapping[str, str] = dataclasses.field(default_factory=dict[str, str])
    #: The ``ETag`` the index sent with the page, to revalidate it.
    etag: str | None = None
    #: The ``Last-Modified`` the index sent with the page, to revalidate it.
    last_modified: str | None = None
    #: When the page was fetched or last revalidated (``time.time()``).
    checked_at: float = 0.0
    #: When only one version's files were read from the page: that version.
    only_version: str | None = None

    def version_files(self, project: str, version: str, target: Target, *, sdist: bool) -> VersionFiles:
        """The files of ``project`` ``version``; usable means a wheel the target installs, or,
        when ``sdist`` is true, a source distribution; either one whose ``Requires-Python``
        (if the page gives it) admits the target Python. Yanked files count: a pin with ``==``
        installs them (PEP 592)."""
        wanted = _version(version)
        name = canonical_name(project)
        tags = target.tags()
        files: list[str] = []
        refused: dict[str, frozenset[Tag]] = {}
        excluded: list[str] = []
        usable_sdist: tuple[str, str | None] | None = None
        for filename in self.filenames:
            file_tags = _file_tags(filename, name, version, wanted)
            if file_tags is None:
                continue
            files.append(filename)
            specifier = self.requires_python.get(filename)
            fit = target.fits(specifier) if specifier else None
            if fit is not None and not fit.admitted:
                excluded.append(specifier or "")
                continue
            hint = fit.patch_hint if fit is not None else None
            if file_tags & tags:
                return VersionFiles(usable=filename, files=(filename,), patch_hint=hint)
            if not file_tags:
                if sdist and usable_sdist is None:
                    usable_sdist = (filename, hint)
                elif not sdist:
                    refused[filename] = file_tags
            else:
                refused[filename] = file_tags
        if usable_sdist is not None:
            return VersionFiles(usable=usable_sdist[0], files=tuple(files), patch_hint=usable_sdist[1])
        why = _why_unusable(refused, excluded, target)
        return VersionFiles(
            usable=None, files=tuple(files), why=why, python_refused=bool(excluded) and not refused
        )

    def versions(self, project: str) -> list[str]:
        """The versions the page has files of, newest first."""
        name = canonical_name(project)
        found: dict[Version, str] = {}
        for filename in self.filenames:
            parsed = _parse_filename(filename)
            if parsed is not None and parsed[0] == name and parsed[1] not in found:
                found[parsed[1]] = str(parsed[1])
        return [found[v] for v in sorted(found, reverse=True)]

    def older_fitting(self, project: str, version: str, target: Target, *, sdist: bool) -> str | None:
        """The newest version before ``version`` with a file the target can use, or ``None``."""
        installed = _version(version)
        for candidate in self.versions(project):
            parsed = _version(candidate)
            if installed is not None and parsed is not None and parsed >= installed:
                continue
            if parsed is not None and parsed.is_prerelease:
                continue
            if self.version_files(project, candidate, target, sdist=sdist).usable is not None:
                return candidate
        return None


def _why_unusable(
    refused: Mapping[str, frozenset[Tag]], excluded: list[str], target: Target
) -> tuple[str, ...]:
    """Why none of a version's files installs on ``target``, one short phrase per cause."""
    why: list[str] = []
    if excluded:
        shown = ", ".join(repr(s) for s in dict.fromkeys(excluded))
        why.append(f"Requires-Python {shown} excludes Python {target.python_text}")
    tags = target.tags()
    pythons = {(t.interpreter, t.abi) for t in tags}
    platforms = {t.platform for t in tags}
    newer: dict[str, tuple[int, int]] = {}
    newer_abi3: set[tuple[int, int]] = set()
    other_pythons: set[str] = set()
    other_platforms: set[str] = set()
    sdists = 0
    for file_tags in refused.values():
        if not file_tags:
            sdists += 1
            continue
        if not any((t.interpreter, t.abi) in pythons for t in file_tags):
            stable = [_cpython(t.interpreter) for t in file_tags if t.abi == "abi3"]
            later = [v for v in stable if v is not None and v[0] == target.python[0] and v > target.python]
            if later:
                newer_abi3.add(min(later))
            else:
                other_pythons.update(t.interpreter for t in file_tags)
            continue
        for platform in {t.platform for t in file_tags} - platforms:
            needed = _newer_needed(platform, target.platform)
            if needed is not None:
                family, version = needed
                newer[family] = min(newer.get(family, version), version)
            else:
                other_platforms.add(platform)
    for family, (major, minor) in sorted(newer.items()):
        what = "glibc" if family == "manylinux" else "musl" if family == "musllinux" else "macOS"
        why.append(
            f"its wheels need {what} {major}.{minor} or newer ({family}_{major}_{minor}),"
            f" newer than the target platform {target.platform}"
        )
    if newer_abi3:
        major, minor = min(newer_abi3)
        why.append(
            f"its wheels need CPython {major}.{minor} or newer (cp{major}{minor}-abi3),"
            f" newer than the target Python {target.python_text}"
        )
    if other_pythons:
        listing = ", ".join(sorted(other_pythons))
        why.append(f"no wheel for CPython {target.python[0]}.{target.python[1]} (only for {listing})")
    if other_platforms and not newer:
        listing = ", ".join(sorted(other_platforms)[:6]) + (", ..." if len(other_platforms) > 6 else "")
        why.append(f"no wheel for {target.platform} (only for {listing})")
    if sdists:
        why.append("only a source distribution, and the installed package has compiled code")
    return tuple(why)


def _cpython(interpreter: str) -> tuple[int, int] | None:
    """``(3, 12)`` for ``cp312``, else ``None``."""
    if not interpreter.startswith("cp") or not interpreter[2:].isdigit() or len(interpreter) < 4:
        return None
    return int(interpreter[2]), int(interpreter[3:])


def _newer_needed(platform: str, target: str) -> tuple[str, tuple[int, int]] | None:
    """For a wheel platform of the target's family and architecture but a newer version, the
    family and that version."""
    wheel = _VERSIONED_PLATFORM.fullmatch(_legacy_to_pep600(platform))
    mine = _VERSIONED_PLATFORM.fullmatch(target)
    if wheel is None or mine is None or wheel[1] != mine[1]:
        return None
    arch_ok = wheel[4] == mine[4] or (mine[1] == "macosx" and wheel[4] in {"universal2", "universal"})
    version = (int(wheel[2]), int(wheel[3]))
    if not arch_ok or version <= (int(mine[2]), int(mine[3])):
        return None
    return wheel[1], version


_VERSIONED_PLATFORM: Final = re.compile(r"(manylinux|musllinux|macosx)_(\d+)_(\d+)_(\w+)")
_LEGACY_NAMES: Final = {
    "manylinux1": "manylinux_2_5",
    "manylinux2010": "manylinux_2_12",
    "manylinux2014": "manylinux_2_17",
}


def _legacy_to_pep600(platform: str) -> str:
    head, _, arch = platform.partition("_")
    return f"{_LEGACY_NAMES[head]}_{arch}" if head in _LEGACY_NAMES else platform


#: The archive forms of a source distribution that pip and uv both install (old releases on
#: PyPI have ``.tar.bz2`` and ``.tgz`` ones).
_SDIST_ENDINGS: Final = (".tar.gz", ".zip", ".tar.bz2", ".tbz", ".tar.xz", ".txz", ".tgz", ".tar")


def _sdist_stem(filename: str) -> str | None:
    """``name-version`` of a source distribution's file name, else ``None``."""
    lowered = filename.lower()
    for ending in _SDIST_ENDINGS:
        if lowered.endswith(ending):
            return filename[: -len(ending)]
    return None


def _parse_sdist(filename: str) -> tuple[str, Version] | None:
    """The canonical name and the version of a source distribution's file name, read as pip
    reads it: the version follows the last ``-``."""
    from packaging.version import InvalidVersion, Version  # noqa: PLC0415 - lazy

    stem = _sdist_stem(filename)
    if stem is None or "-" not in stem:
        return None
    name, _, version = stem.rpartition("-")
    try:
        return canonical_name(name), Version(version)
    except InvalidVersion:
        return None


def _parse_filename(filename: str) -> tuple[str, Version] | None:
    from packaging.utils import InvalidWheelFilename, parse_wheel_filename  # noqa: PLC0415 - lazy
    from packaging.version import InvalidVersion  # noqa: PLC0415

    if not filename.endswith(".whl"):
        return _parse_sdist(filename)
    try:
        name, version, _, _ = parse_wheel_filename(filename)
    except (InvalidWheelFilename, InvalidVersion):
        return None
    return name, version


@functools.lru_cache(maxsize=4096)
def _version(text: str) -> Version | None:
    from packaging.version import InvalidVersion, Version  # noqa: PLC0415 - lazy

    try:
        return Version(text)
    except InvalidVersion:
        return None


def _file_tags(filename: str, name: str, version: str, wanted: Version | None) -> frozenset[Tag] | None:
    """The wheel tags of ``filename`` (empty for a source distribution) when it is a file of
    ``name`` ``version``, else ``None``; the version in the name is compared before parsing."""
    from packaging.utils import InvalidWheelFilename, parse_wheel_filename  # noqa: PLC0415 - lazy
    from packaging.version import InvalidVersion  # noqa: PLC0415

    found: frozenset[Tag] = frozenset()
    file_name: str
    if filename.endswith(".whl"):
        parts = filename[:-4].split("-")
        if len(parts) < 5 or not _same_version(parts[1], version, wanted):
            return None
        try:
            file_name, _, _, found = parse_wheel_filename(filename)
        except (InvalidWheelFilename, InvalidVersion):
            return None
    else:
        stem = _sdist_stem(filename)
        if stem is None or not _same_version(stem.rpartition("-")[2], version, wanted):
            return None
        parsed = _parse_sdist(filename)
        if parsed is None:
            return None
        file_name = parsed[0]
    return found if file_name == name else None


def _same_version(text: str, version: str, wanted: Version | None) -> bool:
    if text == version:
        return True
    parsed = _version(text)
    return parsed is not None and parsed == wanted


#: What a project page lists: file names, and the ``Requires-Python`` of those that give one.
Listing = tuple[tuple[str, ...], dict[str, str]]


def parse_json(body: bytes) -> Listing | None:
    """The files of a PEP 691 project page, or ``None`` when it is not one."""
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    files = cast("dict[str, object]", data).get("files")
    if not isinstance(files, list):
        return None
    names: list[str] = []
    requires: dict[str, str] = {}
    for item in cast("list[object]", files):
        if isinstance(item, dict):
            entry = cast("dict[str, object]", item)
            filename, specifier = entry.get("filename"), entry.get("requires-python")
            if isinstance(filename, str):
                names.append(filename)
                if isinstance(specifier, str) and specifier:
                    requires[filename] = specifier
    return tuple(names), requires


def parse_html(body: bytes, charset: str | None) -> Listing:
    """The files of a PEP 503 project page."""
    from lzy.env.explorer._html import FileLinks  # noqa: PLC0415 - only for HTML pages

    parser = FileLinks()
    parser.feed(body.decode(charset or "utf-8", errors="replace"))
    parser.close()
    return tuple(parser.filenames), parser.requires_python


def file_url_path(url: str) -> str:
    """The local path a ``file://`` URL names."""
    # Imported here: urllib.request brings in the HTTP and TLS modules, which most processes
    # that import lzy never use.
    from urllib.request import url2pathname  # noqa: PLC0415

    return url2pathname(urllib.parse.urlsplit(url).path)


def url_for(index: str, project: str) -> str:
    """The redacted URL of ``project``'s page on ``index``."""
    return f"{redact_url(index).rstrip('/')}/{canonical_name(project)}/"


_SEPARATORS: Final = re.compile(r"[-_.]+")


def canonical_name(name: str) -> str:
    """A distribution name in its PEP 503 normal form (``Foo_Bar`` is ``foo-bar``)."""
    return _SEPARATORS.sub("-", name).lower()


#: Where a file's object starts in a PEP 691 ``files`` array (nested objects follow a colon).
_OBJECT_START: Final = re.compile(r"[\[,]\s*\{")


def parse_json_version(body: bytes, project: str, version: str) -> Listing | None:
    """The files of ``project`` ``version`` from a PEP 691 page, reading only their entries:
    a multi-megabyte page is searched, not parsed. ``None`` when no entry of that version is
    found this way (a version spelled differently, say): then parse the page whole."""
    text = body.decode("utf-8", errors="replace")
    name = "[-_.]+".join(re.escape(part) for part in _SEPARATORS.split(canonical_name(project)))
    endings = "|".join(re.escape(ending) for ending in _SDIST_ENDINGS)
    pattern = re.compile(
        r'"filename"\s*:\s*"((?i:'
        + name
        + r")-"
        + re.escape(version)
        + r'(?:-[^"]*\.whl|(?i:'
        + endings
        + r")))\""
    )
    decoder = json.JSONDecoder()
    names: list[str] = []
    requires: dict[str, str] = {}
    for match in pattern.finditer(text):
        window = text[max(0, match.start() - 4096) : match.start()]
        starts = list(_OBJECT_START.finditer(window))
        if not starts:
            return None
        begin = match.start() - len(window) + starts[-1].end() - 1
        try:
            entry, _ = decoder.raw_decode(text, begin)
        except ValueError:
            return None
        if not isinstance(entry, dict) or cast("dict[str, object]", entry).get("filename") != match[1]:
            return None
        names.append(match[1])
        specifier = cast("dict[str, object]", entry).get("requires-python")
        if isinstance(specifier, str) and specifier:
            requires[match[1]] = specifier
    return (tuple(names), requires) if names else None
