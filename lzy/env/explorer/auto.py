""":class:`AutoEnvExplorer`: find what an op's code uses, pin it, and check the index has it.

The exploration has three steps:

1. **Walk.** From the namespace, follow the modules it uses: a module object is used as is; a
   class or function stands for its ``__module__``; any other object for its type's module.
   Each reached module's globals are read the same way (``vars(module)``, so no code of the
   module runs), and so are its parent packages. The standard library and ``lzy`` itself are
   never followed, nor are distributions the user excluded.
2. **Map.** Each module is matched to the installed distribution whose ``RECORD`` lists its file
   (:mod:`importlib.metadata`). An editable install (``direct_url.json`` with
   ``dir_info.editable``) owns the modules under its project directory. A module that no
   distribution owns is local code: its top-level package directory (or its single file) is
   shipped. Meta-packages (distributions without files of their own) that require a found
   distribution are pinned too.
3. **Check.** Every distribution is looked up on the index (then the extra indexes) for a file
   of the installed version that the target Python and platform can install. See
   :meth:`AutoEnvExplorer.explore` for what happens when there is none.

Walk results and the installed-distribution map are cached per process; index answers are
cached in process and on disk, under ``$LZY_CACHE_DIR`` (by default ``lzy/simple`` in the
user's cache directory).
"""

from __future__ import annotations

import ast
import concurrent.futures
import csv
import dataclasses
import email.message
import email.parser
import importlib
import importlib.metadata
import itertools
import json
import os
import sys
import threading
import types
import urllib.parse
import warnings
import weakref
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from typing import ClassVar, Final, cast

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from lzy.env._base import FrozenMap, redact_url
from lzy.env.explorer._index import (
    PAGE_TTL_SECONDS,
    IndexClient,
    IndexRootError,
    IndexSettings,
    ProjectPage,
    VersionFiles,
    default_cache_dir,
    file_url_path,
    url_for,
)
from lzy.env.explorer._target import Target, check_platform, check_python
from lzy.env.explorer.base import (
    Classification,
    EnvExplorer,
    Exploration,
    ImportStatement,
    PackageDecision,
    import_targets,
)
from lzy.exceptions import ExplorationError, LzyWarning, PackageIndexError

__all__ = ["DEFAULT_INDEX_URL", "DEFAULT_TARGET_PLATFORM", "AutoEnvExplorer"]


def __dir__() -> list[str]:
    return __all__


#: The index queried when none is given: PyPI's simple API.
DEFAULT_INDEX_URL: Final = "https://pypi.org/simple"
#: The platform the remote side installs wheels for (a ``packaging.tags`` platform tag).
DEFAULT_TARGET_PLATFORM: Final = "manylinux_2_28_x86_64"

#: Top-level modules that are never explored: the standard library, built-ins and ``lzy``.
_NEVER: Final = frozenset(
    {*sys.stdlib_module_names, *sys.builtin_module_names, "__main__", "__mp_main__", "lzy"}
)
#: File name endings of compiled code, which runs on one platform only.
_COMPILED_SUFFIXES: Final = (".so", ".pyd", ".dylib", ".dll")
#: First components of ``RECORD`` paths that are not importable code of the distribution.
_SKIPPED_FIRST: Final = frozenset({"", ".", "..", "__pycache__"})
_SKIPPED_ENDINGS: Final = (".dist-info", ".egg-info", ".data")


def _is_compiled(filename: str) -> bool:
    name = filename.rsplit("/", 1)[-1]
    return name.endswith(_COMPILED_SUFFIXES) or ".so." in name


# --------------------------------------------------------------------------------------------
# Installed distributions


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class _DirectUrl:
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
class _Dist:
    """What the explorer needs to know about one installed distribution."""

    name: str
    version: str
    root: str
    record: str
    top_levels: frozenset[str]
    paths: tuple[str, ...]
    compiled: tuple[str, ...]
    direct_url: _DirectUrl | None
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


def _direct_url(dist: importlib.metadata.Distribution) -> _DirectUrl | None:
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
                return _DirectUrl(kind="directory", url=shown)
            path = file_url_path(url)
            editable_dir = os.path.realpath(path) if os.path.isdir(path) else None
            return _DirectUrl(kind="editable", url=shown, editable_dir=editable_dir)
        return _DirectUrl(kind="directory", url=shown)
    if isinstance(direct.get("vcs_info"), dict):
        return _DirectUrl(kind="vcs", url=shown)
    return _DirectUrl(kind="archive", url=shown)


def _metadata(dist: importlib.metadata.Distribution) -> email.message.Message | None:
    """The core metadata headers; the long description after them is not parsed."""
    text = dist.read_text("METADATA") or dist.read_text("PKG-INFO")
    if text is None:
        return None
    headers = text.replace("\r\n", "\n").partition("\n\n")[0]
    return email.parser.HeaderParser().parsestr(headers)


def _read_dist(dist: importlib.metadata.Distribution) -> _Dist | None:
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
    if record and any(suffix in record for suffix in _COMPILED_SUFFIXES):
        for line in lines:
            path = line.partition(",")[0]
            if _is_compiled(path) and path.partition("/")[0] in firsts:
                compiled.append(path)
    meta = record is not None and not firsts and editable_dir is None
    requires_python = metadata["Requires-Python"]
    return _Dist(
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
class _Requirement:
    """A requirement that applies on the target: a canonical name and a version specifier."""

    name: str
    specifier: str


def _applying(requires: Iterable[str], markers: Mapping[str, str]) -> Iterator[_Requirement]:
    """The requirements whose markers hold on the target (extras are not followed)."""
    for text in requires:
        try:
            requirement = Requirement(text)
        except InvalidRequirement:
            continue
        if requirement.marker is None or requirement.marker.evaluate(dict(markers)):
            yield _Requirement(canonicalize_name(requirement.name), str(requirement.specifier))


@dataclasses.dataclass(frozen=True, slots=True)
class _Owner:
    """Who owns a module: a distribution, or nobody (then ``top_path`` is shipped)."""

    dist: _Dist | None
    top_path: str | None


class _Installed:
    """The distributions visible on one ``sys.path``, and which of them owns each module."""

    def __init__(self, distributions: Iterable[importlib.metadata.Distribution]) -> None:
        self.by_name: dict[str, _Dist] = {}
        self.by_top: dict[str, list[_Dist]] = {}
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
        self._requirements: dict[tuple[str, tuple[tuple[str, str], ...]], tuple[_Requirement, ...]] = {}
        self._meta_parents: dict[tuple[tuple[str, str], ...], dict[str, list[_Dist]]] = {}
        #: Directories distributions are installed into (site-packages and the like).
        self.roots = frozenset(d.root for d in self.by_name.values() if d.editable_dir is None)
        self.editables = sorted(
            (d for d in self.by_name.values() if d.editable_dir is not None),
            key=lambda d: -len(d.editable_dir or ""),
        )
        self._owners: weakref.WeakKeyDictionary[types.ModuleType, _Owner] = weakref.WeakKeyDictionary()

    def requirements(self, dist: _Dist, markers: Mapping[str, str]) -> tuple[_Requirement, ...]:
        """``dist``'s requirements that apply on a target with ``markers`` (no extras)."""
        key = (dist.name, tuple(sorted(markers.items())))
        found = self._requirements.get(key)
        if found is None:
            found = tuple(_applying(dist.requires, markers))
            self._requirements[key] = found
        return found

    def meta_parents(self, markers: Mapping[str, str]) -> dict[str, list[_Dist]]:
        """Meta-packages (distributions without files) by the names they require."""
        key = tuple(sorted(markers.items()))
        parents = self._meta_parents.get(key)
        if parents is None:
            parents = dict[str, list[_Dist]]()
            for dist in self.by_name.values():
                if dist.meta:
                    for requirement in self.requirements(dist, markers):
                        parents.setdefault(requirement.name, []).append(dist)
            self._meta_parents[key] = parents
        return parents

    def owner(self, module: types.ModuleType) -> _Owner:
        """The owner of ``module`` (cached per module object)."""
        owner = self._owners.get(module)
        if owner is None:
            owner = self._find_owner(module)
            self._owners[module] = owner
        return owner

    def owner_by_name(self, name: str) -> tuple[_Dist, str] | None:
        """The distribution whose ``RECORD`` lists module ``name`` (or, for an attribute
        imported with ``from``, its closest parent), found without importing it."""
        top = name.partition(".")[0]
        candidates = self.by_top.get(top, ())
        if not candidates:
            return None
        for candidate in (name, *_parents(name)):
            relative = candidate.replace(".", "/")
            for dist in candidates:
                if f"\n{relative}/" in dist.record or f"\n{relative}." in dist.record:
                    return dist, candidate
        return None

    def _find_owner(self, module: types.ModuleType) -> _Owner:
        namespace = vars(module)
        file = namespace.get("__file__")
        name = namespace.get("__name__")
        if not isinstance(file, str) or not isinstance(name, str):
            return _Owner(None, None)  # Namespace packages and virtual modules hold no file.
        real = os.path.realpath(file)
        top = name.partition(".")[0]
        candidates = self.by_top.get(top, ())
        relatives = [(dist, _relative(real, dist.root)) for dist in candidates]
        for dist, relative in relatives:
            if relative is not None and f"\n{relative}," in dist.record:
                return _Owner(dist, None)
        if len(relatives) == 1:
            # A file the only candidate did not record (generated at run time, say) inside a
            # top-level directory it did record.
            dist, relative = relatives[0]
            if relative is not None and relative.partition("/")[0] in dist.top_levels:
                return _Owner(dist, None)
        top_path = _top_path(name, real, "__path__" in namespace)
        # A project directory may hold a virtual environment: what is installed there is not
        # the editable project's code.
        if not any(_relative(real, root) is not None for root in self.roots):
            for dist in self.editables:
                if _relative(real, dist.editable_dir or "") is not None:
                    return _Owner(dist, top_path)
        return _Owner(None, top_path)


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


_STATE_LOCK = threading.RLock()
_installed_cache: dict[tuple[object, ...], _Installed] = {}
#: Per module object: the size of its globals when walked, and the module names they use.
_walk_cache: weakref.WeakKeyDictionary[types.ModuleType, tuple[int, frozenset[str]]] = (
    weakref.WeakKeyDictionary()
)


def _installed() -> _Installed:
    """The distribution map for the current ``sys.path`` (rebuilt when it or its dirs change)."""
    key: list[object] = []
    for entry in sys.path:
        try:
            key.append((entry, os.stat(entry or ".").st_mtime_ns))
        except OSError:
            key.append((entry, None))
    frozen = tuple(key)
    with _STATE_LOCK:
        installed = _installed_cache.get(frozen)
        if installed is None:
            installed = _Installed(importlib.metadata.distributions())
            _installed_cache.clear()
            _installed_cache[frozen] = installed
        return installed


# --------------------------------------------------------------------------------------------
# The walk


def _module_of(value: object) -> str | None:
    """The module ``value`` stands for, without running code of the value."""
    kind = type(value)
    if issubclass(kind, types.ModuleType):
        name = vars(value).get("__name__")
        return name if isinstance(name, str) else None
    if issubclass(kind, type | types.FunctionType | types.BuiltinFunctionType):
        try:
            name = getattr(value, "__module__", None)
        except Exception:  # A broken descriptor must not stop the walk.
            return None
        return name if isinstance(name, str) else None
    name = getattr(kind, "__module__", None)
    return name if isinstance(name, str) else None


def _used_by(module: types.ModuleType) -> frozenset[str]:
    """Names of the modules ``module``'s globals refer to (cached while its globals keep size)."""
    namespace = vars(module)
    size = len(namespace)
    cached = _walk_cache.get(module)
    if cached is not None and cached[0] == size:
        return cached[1]
    own = module.__name__
    prefix = own + "."
    # A package's submodules are its attributes once anything imported them: those are the
    # rest of the program's doing (a namespace package has little else), so they are left out.
    # What the package's own code imports is found in its source.
    names = {
        name
        for value in list(namespace.values())
        if (name := _module_of(value))
        and not (isinstance(value, types.ModuleType) and name.startswith(prefix))
    }
    names.discard(own)
    used = frozenset(names)
    _walk_cache[module] = (size, used)
    return used


def _lookup(name: str) -> types.ModuleType | None:
    """``sys.modules[name]``, else its closest imported parent."""
    while name:
        module = sys.modules.get(name)
        if isinstance(module, types.ModuleType):
            return module
        name = name.rpartition(".")[0]
    return None


#: Per source file and modification time: the modules its import statements name.
_source_cache: dict[tuple[str, int], frozenset[str]] = {}


def _source_imports(module: types.ModuleType) -> frozenset[str]:
    """The modules named by the import statements anywhere in ``module``'s source (inside
    functions too, where they run only when called), except under ``if TYPE_CHECKING:`` and
    ``if __name__ == "__main__":``."""
    file = vars(module).get("__file__")
    if not isinstance(file, str) or not file.endswith(".py"):
        return frozenset()
    try:
        key = (file, os.stat(file).st_mtime_ns)
    except OSError:
        return frozenset()
    cached = _source_cache.get(key)
    if cached is not None:
        return cached
    try:
        with open(file, "rb") as handle:
            tree = ast.parse(handle.read(), filename=file)
    except (OSError, SyntaxError, ValueError):
        return frozenset()
    package = vars(module).get("__package__")
    package = package if isinstance(package, str) else None
    names: set[str] = set()
    pending: list[ast.AST] = [tree]
    while pending:
        node = pending.pop()
        if isinstance(node, ast.If) and _never_runs_remotely(node.test):
            pending.extend(node.orelse)
            continue
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            fromlist = tuple(alias.name for alias in node.names)
            names.update(import_targets(node.module or "", node.level, fromlist, package))
        pending.extend(ast.iter_child_nodes(node))
    found = frozenset(names)
    _source_cache[key] = found
    return found


def _never_runs_remotely(test: ast.expr) -> bool:
    """Whether an ``if`` with this test guards code an op never runs: ``if TYPE_CHECKING:`` and
    ``if __name__ == "__main__":``."""
    if (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    ):
        return True
    return (
        isinstance(test, ast.Compare)
        and isinstance(test.left, ast.Name)
        and test.left.id == "__name__"
        and len(test.ops) == 1
        and isinstance(test.ops[0], ast.Eq)
        and len(test.comparators) == 1
        and isinstance(test.comparators[0], ast.Constant)
        and test.comparators[0].value == "__main__"
    )


def _import_quietly(name: str) -> types.ModuleType | None:
    """Import ``name`` for its owner; ``None`` when it does not import here (an optional
    import, or a module only the target has)."""
    try:
        return importlib.import_module(name)
    except (Exception, SystemExit):  # Any failure means: not importable here.
        return None


#: How many items of a list, tuple or set in the namespace are looked at.
_CONTAINER_ITEMS: Final = 1000


def _starting_points(namespace: Mapping[str, object]) -> Iterator[str]:
    """Module names the namespace's values stand for (and the first items of containers)."""
    for value in namespace.values():
        if isinstance(value, ImportStatement):
            yield value.module
            continue
        name = _module_of(value)
        if name:
            yield name
        if isinstance(value, list | tuple | set | frozenset):
            items = cast("Iterable[object]", value)
            for item in itertools.islice(items, _CONTAINER_ITEMS):
                inner = _module_of(item)
                if inner:
                    yield inner


def _parents(name: str) -> Iterator[str]:
    while "." in name:
        name = name.rpartition(".")[0]
        yield name


# --------------------------------------------------------------------------------------------
# The explorer


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class _Verdict:
    """What the indexes say about one distribution's installed version."""

    #: The index with a usable file, or ``None``.
    index: str | None
    #: The usable file, or ``None``.
    filename: str | None
    #: Why no file is usable, in short phrases (empty when one is, or when none exists).
    why: tuple[str, ...] = ()
    #: Whether files of the version exist, but all are refused for their Requires-Python.
    python_refused: bool = False
    #: Whether any index has files of this version at all.
    has_version: bool = False
    #: Whether any index knows the project.
    listed: bool = True
    #: A patch level when the usable file's Requires-Python admits only some of the target's.
    patch_hint: str | None = None


@dataclasses.dataclass(kw_only=True, slots=True)
class _Found:
    """The result of the walk, grouped by owner."""

    dists: dict[str, tuple[_Dist, str]] = dataclasses.field(default_factory=dict[str, tuple[_Dist, str]])
    editables: dict[str, tuple[_Dist, set[str]]] = dataclasses.field(
        default_factory=dict[str, tuple[_Dist, set[str]]]
    )
    local: dict[str, set[str]] = dataclasses.field(default_factory=dict[str, set[str]])
    namespace_packages: set[str] = dataclasses.field(default_factory=set[str])
    excluded: dict[str, tuple[_Dist, str]] = dataclasses.field(default_factory=dict[str, tuple[_Dist, str]])
    unplaced: dict[str, str] = dataclasses.field(default_factory=dict[str, str])
    excluded_local: set[str] = dataclasses.field(default_factory=set[str])


@dataclasses.dataclass(kw_only=True, slots=True)
class _Outcome:
    """Decisions, pins, paths and problems gathered while deciding."""

    decisions: list[PackageDecision] = dataclasses.field(default_factory=list[PackageDecision])
    pins: dict[str, str] = dataclasses.field(default_factory=dict[str, str])
    paths: set[str] = dataclasses.field(default_factory=set[str])
    problems: list[str] = dataclasses.field(default_factory=list[str])
    warnings: list[str] = dataclasses.field(default_factory=list[str])

    def decide(
        self,
        name: str,
        version: str | None,
        classification: Classification,
        reason: str,
        paths: tuple[str, ...] = (),
    ) -> None:
        """Record a decision; its paths are shipped."""
        self.decisions.append(
            PackageDecision(
                name=name, version=version, classification=classification, reason=reason, paths=paths
            )
        )
        self.paths.update(paths)

    def warn(self, message: str) -> None:
        """Record a warning, issued when the exploration succeeds."""
        self.warnings.append(message)

    def exploration(self) -> Exploration:
        """The exploration, after raising the problems and issuing the warnings."""
        if self.problems:
            listing = "\n".join(f"  - {p}" for p in self.problems)
            msg = f"the op's Python environment cannot be reproduced on the target:\n{listing}"
            raise ExplorationError(msg)
        for message in self.warnings:
            # Level 3 points at the caller of explore().
            warnings.warn(message, LzyWarning, stacklevel=3)
        return Exploration(
            pypi_packages=FrozenMap(sorted(self.pins.items())),
            local_module_paths=tuple(sorted(self.paths)),
            decisions=tuple(sorted(self.decisions, key=lambda d: (d.name, d.classification.value))),
        )


class AutoEnvExplorer(EnvExplorer):
    """Explores an op's code: pins installed distributions the index has, ships local code.

    One instance serves many explorations; it keeps index answers in process, and on disk
    under ``$LZY_CACHE_DIR`` (default: the user's cache directory, ``lzy/simple`` in it).
    """

    #: Seconds to wait to connect to an index, and between two reads of its answer.
    index_timeout: ClassVar[float] = 10.0
    #: How many times a failed index request (timeout, connection error, 429, 5xx) is retried.
    index_retries: ClassVar[int] = 2
    #: Seconds before the first retry of an index request; doubled before each next one.
    index_backoff: ClassVar[float] = 0.2
    #: Seconds a cached index page that lacks the pinned version is trusted before it is
    #: revalidated (a page that has it is trusted for good: index files do not change).
    index_cache_ttl: ClassVar[float] = PAGE_TTL_SECONDS
    #: How many index requests run at once.
    max_workers: ClassVar[int] = 32

    def __init__(
        self,
        *,
        pypi_index_url: str | None = DEFAULT_INDEX_URL,
        extra_index_urls: Sequence[str] = (),
        exclude_packages: Collection[str] = (),
        python_version: str | None = None,
        target_platform: str = DEFAULT_TARGET_PLATFORM,
        raise_on_binaries: bool = True,
        treat_editables_as_locals: bool = True,
    ) -> None:
        """Close the explorer over its settings.

        ``pypi_index_url=None`` queries no index: every installed distribution counts as
        available. ``python_version`` (``"3.11"``: some 3.11.z; ``"3.11.7"``: exactly that)
        defaults to the running interpreter's ``major.minor``. ``target_platform`` is a wheel
        platform tag; the legacy manylinux names (``manylinux2014_x86_64``) are accepted.
        """
        owner = type(self).__name__
        python, patch = check_python(owner, python_version)
        platform = check_platform(owner, target_platform)
        #: The index checked first, or ``None`` to check none.
        self.pypi_index_url = pypi_index_url
        #: Indexes checked, in order, when :attr:`pypi_index_url` lacks a distribution.
        self.extra_index_urls = tuple(extra_index_urls)
        #: Canonical names of distributions left out (and not walked through).
        self.exclude_packages = frozenset(canonicalize_name(n) for n in exclude_packages)
        #: The target Python version as given, or ``None`` for the running interpreter.
        self.python_version = python_version
        #: The target platform tag (legacy manylinux names translated to PEP 600 ones).
        self.target_platform = platform
        #: Whether compiled code that cannot be installed from the index is an error.
        self.raise_on_binaries = raise_on_binaries
        #: Whether editable installs are shipped as local code.
        self.treat_editables_as_locals = treat_editables_as_locals
        self._target = Target(python=python, patch=patch, platform=platform)
        self._markers = self._target.markers()
        self._available: dict[tuple[str, str, bool], _Verdict] = {}
        self._client = IndexClient(
            IndexSettings(
                timeout=self.index_timeout,
                retries=self.index_retries,
                backoff=self.index_backoff,
                page_ttl=self.index_cache_ttl,
                cache_dir=default_cache_dir(),
            )
        )

    def __repr__(self) -> str:
        index = None if self.pypi_index_url is None else redact_url(self.pypi_index_url)
        return (
            f"{type(self).__name__}(pypi_index_url={index!r},"
            f" extra_index_urls={tuple(redact_url(u) for u in self.extra_index_urls)!r},"
            f" python={self._target.python_text}, target_platform={self.target_platform!r})"
        )

    def close(self) -> None:
        """Close the index connections (the explorer stays usable and reopens them)."""
        self._client.close()

    @property
    def requests_sent(self) -> int:
        """How many HTTP requests this explorer sent to indexes so far."""
        return self._client.requests_sent

    def explore(self, namespace: Mapping[str, object]) -> Exploration:
        """Explore ``namespace`` and the modules it uses, transitively.

        Local code is followed through its modules (their globals, and the imports in their
        source); an installed distribution through its declared requirements (``Requires-Dist``
        whose markers hold on the target, extras left out, when this environment satisfies
        them), never through its modules, so the result does not depend on what the program
        imported before.

        A distribution the index has for the target becomes a ``pypi_packages`` pin. One it
        lacks is shipped as local code (with its ``.dist-info``) with a
        :class:`~lzy.exceptions.LzyWarning` when it is pure Python; with compiled code it is an
        :class:`~lzy.exceptions.ExplorationError` when ``raise_on_binaries`` (else shipped with
        a warning). So is one installed from a local archive, a directory or a VCS URL
        (PEP 610): the index's file of the same name and version may be other code. A
        distribution whose ``Requires-Python`` excludes the target Python is an error, which
        names a version on the index that fits, if there is one. An index that cannot be
        reached, or is not the root of a simple repository, raises
        :class:`~lzy.exceptions.PackageIndexError`.
        """
        if self.pypi_index_url is not None:
            self._client.prepare(self.pypi_index_url)
        installed = _installed()
        found = self._walk(namespace, installed)
        outcome = _Outcome()
        for name, (dist, module) in sorted(found.excluded.items()):
            reason = f"listed in exclude_packages (its module {module!r} is used); not walked"
            outcome.decide(name, dist.version, Classification.EXCLUDED, reason)
        for top in sorted(found.excluded_local):
            reason = f"listed in exclude_packages; local module {top!r} is not shipped"
            outcome.decide(canonicalize_name(top), None, Classification.EXCLUDED, reason)
        needed, metas = self._needed(found, installed, outcome)
        checked = self._classify(needed, found, outcome)
        self._decide_checked(checked, metas, installed, found, outcome)
        self._decide_local(found, installed, outcome)
        return outcome.exploration()

    def _needed(
        self, found: _Found, installed: _Installed, outcome: _Outcome
    ) -> tuple[dict[str, tuple[_Dist, str]], dict[str, tuple[_Dist, str]]]:
        """Every distribution the op needs, with why when it is not used directly: those the
        walk found, what they require, and the meta-packages requiring any of them."""
        needed: dict[str, tuple[_Dist, str]] = {name: (dist, "") for name, (dist, _) in found.dists.items()}
        for name, (dist, _) in found.editables.items():
            needed[name] = (dist, f"editable install of {dist.editable_dir}")
        self._follow_requirements(needed, installed, outcome)
        provides = {name: module for name, (_, module) in found.dists.items()}
        metas = self._meta_packages(needed, provides, installed)
        for name, (dist, why) in sorted(metas.items()):
            if name in self.exclude_packages:
                reason = f"listed in exclude_packages ({why})"
                outcome.decide(name, dist.version, Classification.EXCLUDED, reason)
            else:
                needed[name] = (dist, why)
        return needed, metas

    def _classify(
        self, needed: Mapping[str, tuple[_Dist, str]], found: _Found, outcome: _Outcome
    ) -> dict[str, tuple[_Dist, str]]:
        """Decide what needs no index (editable and direct-URL installs, a Requires-Python
        that excludes the target); returns the rest, to be checked on the index."""
        checked: dict[str, tuple[_Dist, str]] = {}
        for name, (dist, why) in sorted(needed.items()):
            if not self._python_fits(dist, outcome):
                continue
            direct = dist.direct_url
            if direct is not None and direct.kind == "editable" and self.treat_editables_as_locals:
                shipped = self._dist_paths(dist, found)
                tops = [p for p in shipped if p != dist.metadata_dir]
                if tops:
                    reason = f"editable install of {dist.editable_dir}; shipping {', '.join(tops)}"
                else:
                    reason = _join(why, f"editable install of {dist.editable_dir}; no module of it is used")
                outcome.decide(name, dist.version, Classification.LOCAL, reason, shipped)
                self._check_binaries(name, tops, outcome)
            elif direct is not None and direct.kind != "editable":
                origin = (
                    f"installed from {direct.describe()}, not from an index (PEP 610 direct_url.json):"
                    " the index's file of that name and version may be other code"
                )
                self._ship(dist, _join(why, origin), found, outcome)
            else:
                checked[name] = (dist, why)
        return checked

    def _decide_checked(
        self,
        checked: Mapping[str, tuple[_Dist, str]],
        metas: Mapping[str, tuple[_Dist, str]],
        installed: _Installed,
        found: _Found,
        outcome: _Outcome,
    ) -> None:
        """Pin what the index has; decide about the rest."""
        verdicts = self._check(checked)
        meta_pinned = {name for name in metas if name in verdicts and verdicts[name].filename is not None}
        meta_parents = installed.meta_parents(self._markers)
        for name, (dist, why) in sorted(checked.items()):
            verdict = verdicts[name]
            if verdict.filename is None:
                parents = [p.name for p in meta_parents.get(name, ()) if p.name in meta_pinned]
                self._unavailable(
                    dist, why=why, verdict=verdict, meta_parents=parents, found=found, outcome=outcome
                )
                continue
            if verdict.index is None:
                reason = f"installed {dist.version}; no index is checked, so it counts as available"
            else:
                reason = f"installed {dist.version}; found {verdict.filename} on {redact_url(verdict.index)}"
            if verdict.patch_hint is not None:
                note = self._patch_note(verdict.patch_hint, f"the Requires-Python of {verdict.filename}")
                outcome.warn(f"{name} {dist.version}: {note}")
                reason = f"{reason}; {note}"
            outcome.decide(name, dist.version, Classification.PYPI, _join(why, reason))
            outcome.pins[name] = dist.version

    def _decide_local(self, found: _Found, installed: _Installed, outcome: _Outcome) -> None:
        """Ship code no distribution owns."""
        for top, top_paths in sorted(found.local.items()):
            shipped = tuple(sorted(top_paths))
            kind = f"namespace package {top!r}" if top in found.namespace_packages else f"module {top!r}"
            reason = f"no distribution owns {kind}; shipping {', '.join(shipped)}"
            unreadable = self._unreadable_near(shipped, installed)
            if unreadable:
                reason += f" (the metadata of {unreadable} next to it cannot be read)"
            outcome.decide(top, None, Classification.LOCAL, reason, shipped)
            self._check_binaries(top, shipped, outcome)
        for module, file in sorted(found.unplaced.items()):
            outcome.warn(
                f"module {module!r} (file {file}) belongs to no distribution and its top-level"
                " package cannot be located from its name and file, so it is not shipped"
            )

    # -- requirements and the target Python -----------------------------------------------

    def _follow_requirements(
        self, needed: dict[str, tuple[_Dist, str]], installed: _Installed, outcome: _Outcome
    ) -> None:
        """Add what ``needed`` requires, transitively, where this environment satisfies it."""
        from packaging.specifiers import InvalidSpecifier, SpecifierSet  # noqa: PLC0415 - lazy

        queue = sorted(needed)
        while queue:
            parent = needed[queue.pop()][0]
            for requirement in installed.requirements(parent, self._markers):
                name = requirement.name
                if name in needed or name == "lzy":
                    continue
                dist = installed.by_name.get(name)
                if dist is None:
                    continue
                try:
                    satisfied = SpecifierSet(requirement.specifier).contains(dist.version, prereleases=True)
                except InvalidSpecifier:
                    satisfied = True
                if not satisfied:
                    continue
                why = f"required by {parent.name} {parent.version}"
                if name in self.exclude_packages:
                    if not any(d.name == name for d in outcome.decisions):
                        reason = f"listed in exclude_packages ({why}); not followed"
                        outcome.decide(name, dist.version, Classification.EXCLUDED, reason)
                    continue
                needed[name] = (dist, why)
                queue.append(name)

    def _python_fits(self, dist: _Dist, outcome: _Outcome) -> bool:
        """Whether ``dist``'s ``Requires-Python`` admits the target; a problem when it does not."""
        if dist.requires_python is None:
            return True
        fit = self._target.fits(dist.requires_python)
        if fit.admitted:
            if fit.partial and fit.patch_hint is not None:
                note = self._patch_note(fit.patch_hint, f"its Requires-Python {dist.requires_python!r}")
                outcome.warn(f"{dist.name} {dist.version}: {note}")
            return True
        problem = (
            f"{dist.name} {dist.version} requires Python {dist.requires_python} (its Requires-Python),"
            f" which excludes the target Python {self._target.python_text}"
        )
        if fit.patch_hint is not None:
            problem += f"; python_version={fit.patch_hint!r} would fit"
        older = self._older_fitting(dist)
        if older is not None:
            problem += (
                f"; the index has {dist.name} {older}, which fits: install that version here,"
                " or pin it with additional_pypi_packages"
            )
        outcome.problems.append(problem)
        return False

    def _patch_note(self, hint: str, what: str) -> str:
        major_minor = f"{self._target.python[0]}.{self._target.python[1]}"
        return (
            f"{what} admits only some Python {major_minor} releases (such as {hint}),"
            f" and python_version {major_minor!r} lets the target run any of them;"
            f" give the patch level (python_version={hint!r}) to be sure"
        )

    def _older_fitting(self, dist: _Dist) -> str | None:
        """The newest version before the installed one the index has for the target."""
        for index in self._indexes():
            try:
                page = self._client.lookup(index, dist.name, settled=lambda _: False)
            except PackageIndexError:
                return None
            if page is not None and page.found:
                older = page.older_fitting(dist.name, dist.version, self._target, sdist=not dist.compiled)
                if older is not None:
                    return older
        return None

    # -- walk -----------------------------------------------------------------------------

    def _walk(self, namespace: Mapping[str, object], installed: _Installed) -> _Found:
        found = _Found()
        queue = list(_starting_points(namespace))
        # Modules named by import statements: they may not be imported yet.
        statements = {value.module for value in namespace.values() if isinstance(value, ImportStatement)}
        seen: set[str] = set()
        with _STATE_LOCK:
            while queue:
                name = queue.pop()
                if name in seen or name.partition(".")[0] in _NEVER:
                    continue
                seen.add(name)
                if name in statements and not isinstance(sys.modules.get(name), types.ModuleType):
                    owned = installed.owner_by_name(name)
                    if owned is not None:
                        self._place_dist(owned[0], owned[1], found)
                        continue
                    _import_quietly(name)  # Local code: its file says where it lives.
                module = _lookup(name)
                if module is None:
                    continue
                real_name = module.__name__
                if real_name != name:
                    if real_name in seen or real_name.partition(".")[0] in _NEVER:
                        continue
                    seen.add(real_name)
                owner = installed.owner(module)
                if not self._place(module, real_name, owner, found):
                    continue
                if owner.dist is not None and owner.dist.editable_dir is None:
                    # An installed distribution is followed through its declared requirements,
                    # not its modules: what it imported depends on what ran before.
                    continue
                queue.extend(_used_by(module))
                queue.extend(_parents(real_name))
                # Shipped code: what its functions import when they run is needed too.
                lazy = _source_imports(module)
                statements.update(lazy)
                queue.extend(lazy)
        return found

    def _place_dist(self, dist: _Dist, name: str, found: _Found, top_path: str | None = None) -> bool:
        """Record that ``dist`` provides module ``name`` (whose top-level path is ``top_path``,
        for an editable install); ``False`` when it must not be walked through."""
        if dist.name == "lzy":
            return False
        if dist.name in self.exclude_packages:
            found.excluded.setdefault(dist.name, (dist, name))
            return False
        if dist.editable_dir is not None and top_path is not None:
            found.editables.setdefault(dist.name, (dist, set()))[1].add(top_path)
        else:
            found.dists.setdefault(dist.name, (dist, name))
        return True

    def _place(self, module: types.ModuleType, name: str, owner: _Owner, found: _Found) -> bool:
        """Record who owns ``module``; ``False`` when it must not be walked through."""
        if owner.dist is not None:
            return self._place_dist(owner.dist, name, found, owner.top_path)
        top = name.partition(".")[0]
        if canonicalize_name(top) in self.exclude_packages:
            found.excluded_local.add(top)
            return False
        file = vars(module).get("__file__")
        if owner.top_path is not None:
            found.local.setdefault(top, set()).add(owner.top_path)
            top_module = sys.modules.get(top)
            if top_module is not None and vars(top_module).get("__file__") is None:
                found.namespace_packages.add(top)
        elif isinstance(file, str):
            found.unplaced[name] = file
        return True

    def _meta_packages(
        self, needed: Mapping[str, tuple[_Dist, str]], provides: Mapping[str, str], installed: _Installed
    ) -> dict[str, tuple[_Dist, str]]:
        """Meta-packages that require (possibly through other meta-packages) a needed dist."""
        parents = installed.meta_parents(self._markers)
        metas: dict[str, tuple[_Dist, str]] = {}
        queue = [(name, provides.get(name)) for name in sorted(needed)]
        while queue:
            name, module = queue.pop()
            for parent in parents.get(name, ()):
                if parent.name in metas or parent.name in needed or parent.name == "lzy":
                    continue
                why = f"meta-package (no files of its own) requiring {name!r}"
                if module is not None:
                    why += f", which provides {module!r}"
                metas[parent.name] = (parent, why)
                queue.append((parent.name, module))
        return metas

    # -- index ----------------------------------------------------------------------------

    def _indexes(self) -> tuple[str, ...]:
        if self.pypi_index_url is None:
            return ()
        return (self.pypi_index_url, *self.extra_index_urls)

    def _check(self, dists: Mapping[str, tuple[_Dist, str]]) -> dict[str, _Verdict]:
        """Ask the indexes about every distribution, concurrently, cache first; each index's
        root is validated once, alongside."""
        if self.pypi_index_url is None:
            return {name: _Verdict(index=None, filename="(installed)") for name in dists}
        verdicts: dict[str, _Verdict] = {}
        pending: list[_Dist] = []
        for name, (dist, _) in dists.items():
            verdict = self._lookup(dist, offline=True)
            if verdict is None:
                pending.append(dist)
            else:
                verdicts[name] = verdict
        if not pending:
            return verdicts
        workers = max(1, min(self.max_workers, len(pending) + len(self._indexes())))
        executor = concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix="lzy-index")
        try:
            roots = [executor.submit(self._client.validate, index) for index in self._indexes()]
            futures = {executor.submit(self._lookup, dist, offline=False): dist for dist in pending}
            failure: BaseException | None = None
            for future in concurrent.futures.as_completed(futures):
                error = future.exception()
                if error is not None:
                    failure = failure or error
                    continue
                verdict = future.result()
                if verdict is not None:
                    verdicts[futures[future].name] = verdict
            for root in roots:
                error = root.exception()
                # An index that is no simple repository explains any other failure; one that
                # cannot be reached is better told by a lookup, which names the package.
                if error is not None and (failure is None or isinstance(error, IndexRootError)):
                    raise error
            if failure is not None:
                raise failure
        finally:
            executor.shutdown(wait=False, cancel_futures=True)
            self._client.save()
        return verdicts

    def _lookup(self, dist: _Dist, *, offline: bool) -> _Verdict | None:
        """The first index that has a usable file; ``None`` when ``offline`` and not cached."""
        pure = not dist.compiled
        key = (dist.name, dist.version, pure)
        known = self._available.get(key)
        if known is not None:
            return known

        read: list[tuple[ProjectPage, VersionFiles]] = []

        def files_of(page: ProjectPage) -> VersionFiles:
            """The page's files of this version, read once however often it is asked."""
            if not read or read[-1][0] is not page:
                read.append((page, page.version_files(dist.name, dist.version, self._target, sdist=pure)))
            return read[-1][1]

        def settled(page: ProjectPage) -> bool:
            return files_of(page).usable is not None

        why: list[str] = []
        listed = has_version = python_refused = False
        for index in self._indexes():
            page = self._client.lookup(index, dist.name, settled=settled, offline=offline)
            if page is None:
                return None
            files = files_of(page)
            if files.usable is not None:
                # Index files never change once uploaded, so a usable file stays usable.
                verdict = _Verdict(index=index, filename=files.usable, patch_hint=files.patch_hint)
                self._available[key] = verdict
                return verdict
            listed = listed or page.found
            if files.files:
                has_version = True
                python_refused = python_refused or files.python_refused
                why.extend(w for w in files.why if w not in why)
        return _Verdict(
            index=None,
            filename=None,
            why=tuple(why),
            python_refused=python_refused,
            has_version=has_version,
            listed=listed,
        )

    def _missing_reason(self, dist: _Dist, verdict: _Verdict) -> str:
        """Why no index gives ``dist``'s installed version for the target, in one line."""
        where = ", ".join(url_for(index, dist.name) for index in self._indexes())
        if verdict.has_version:
            return (
                f"installed {dist.version}, but no file of it on {where} installs on"
                f" {self._target.describe()}: {'; '.join(verdict.why) or 'no usable file'}"
            )
        if not verdict.listed:
            return f"installed {dist.version}, but the index has no such project ({where} not found)"
        return f"installed {dist.version}, but {where} has no file of that version"

    # -- decisions about what the index lacks ---------------------------------------------

    def _unavailable(
        self,
        dist: _Dist,
        *,
        why: str,
        verdict: _Verdict,
        meta_parents: Sequence[str],
        found: _Found,
        outcome: _Outcome,
    ) -> None:
        """Decide about a distribution no index has a usable file of."""
        name = dist.name
        missing = self._missing_reason(dist, verdict)
        if meta_parents:
            reason = (
                f"{missing}; the pinned meta-package {meta_parents[0]!r} requires it, so the remote"
                " side installs what that meta-package needs there"
            )
            outcome.decide(name, dist.version, Classification.VIA_META_PACKAGE, _join(why, reason))
            return
        if verdict.python_refused:
            problem = f"{name} {dist.version}: {missing}"
            older = self._older_fitting(dist)
            if older is not None:
                problem += (
                    f"; the index has {name} {older}, which fits: install that version here,"
                    " or pin it with additional_pypi_packages"
                )
            outcome.problems.append(problem)
            return
        self._ship(dist, _join(why, missing), found, outcome)

    def _ship(self, dist: _Dist, missing: str, found: _Found, outcome: _Outcome) -> None:
        """Ship ``dist``'s installed files (and its metadata) as local code, when it can run
        on another platform."""
        name = dist.name
        shipped = self._dist_paths(dist, found)
        if not shipped and dist.meta:
            reason = f"{missing}; it is a meta-package without files, so nothing is shipped"
            outcome.warn(f"{name} {dist.version}: {reason}")
            outcome.decide(name, dist.version, Classification.LOCAL, reason)
            return
        if not [p for p in shipped if p != dist.metadata_dir]:
            outcome.problems.append(f"{name} {dist.version}: {missing}, and none of its files can be shipped")
            return
        if dist.compiled:
            compiled = (
                f"{missing}; it contains compiled code ({dist.compiled[0]}),"
                " which cannot be shipped to another platform"
            )
            if self.raise_on_binaries:
                outcome.problems.append(
                    f"{name} {dist.version}: {compiled}; publish a wheel for the target on the index,"
                    " exclude it, or pass raise_on_binaries=False to ship it anyway"
                )
                return
            reason = f"{compiled}; shipping it anyway because raise_on_binaries is False"
        else:
            reason = f"{missing}; it is pure Python, so its installed files and metadata are shipped"
        outcome.warn(f"{name} {dist.version}: {reason}")
        outcome.decide(name, dist.version, Classification.LOCAL, reason, shipped)

    # -- local code -----------------------------------------------------------------------

    def _dist_paths(self, dist: _Dist, found: _Found) -> tuple[str, ...]:
        """What shipping ``dist`` means: its top-level files, and its metadata directory so
        that ``importlib.metadata`` (versions, entry points) works on the target."""
        if dist.editable_dir is not None:
            entry = found.editables.get(dist.name)
            paths = set(entry[1]) if entry else set[str]()
        else:
            paths = {p for p in dist.paths if os.path.exists(p)}
        if dist.metadata_dir is not None and os.path.isdir(dist.metadata_dir):
            paths.add(dist.metadata_dir)
        return tuple(sorted(paths))

    def _unreadable_near(self, shipped: Iterable[str], installed: _Installed) -> str:
        """The unreadable metadata directories beside shipped paths (a hint for the reason)."""
        folders = {os.path.dirname(path) for path in shipped}
        near = [where for where in installed.unreadable if os.path.dirname(where) in folders]
        return ", ".join(sorted(near))

    def _check_binaries(self, name: str, shipped: Iterable[str], outcome: _Outcome) -> None:
        """An error (or a warning) for shipped local paths that contain compiled code."""
        for path in shipped:
            compiled = _first_compiled(path)
            if compiled is None:
                continue
            what = (
                f"local module {name!r} at {path} contains compiled code ({compiled}),"
                " which cannot run on another platform"
            )
            if self.raise_on_binaries:
                outcome.problems.append(
                    f"{what}; publish it as a wheel for the target on the index,"
                    " or pass raise_on_binaries=False to ship it anyway"
                )
            else:
                outcome.warn(f"{what}; shipping it anyway because raise_on_binaries is False")


def _join(why: str, reason: str) -> str:
    return f"{why}; {reason}" if why else reason


def _first_compiled(path: str) -> str | None:
    """The first compiled file in ``path`` (a file or a directory tree), or ``None``."""
    if not os.path.isdir(path):
        return path if _is_compiled(path) else None
    for directory, subdirs, files in os.walk(path):
        subdirs[:] = sorted(d for d in subdirs if d not in {"__pycache__", ".git"})
        for file in sorted(files):
            if _is_compiled(file):
                return os.path.join(directory, file)
    return None
