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
    IndexSettings,
    ProjectPage,
    VersionFiles,
    default_cache_dir,
    file_url_path,
    target_tags,
    url_for,
)
from lzy.env.explorer.base import (
    Classification,
    EnvExplorer,
    Exploration,
    ImportStatement,
    PackageDecision,
    import_targets,
)
from lzy.exceptions import ExplorationError, FieldValueError, LzyWarning

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
    editable_dir: str | None
    meta: bool
    requires: tuple[str, ...]


def _record(dist: importlib.metadata.Distribution) -> str | None:
    """The installed paths of a distribution: lines that start with a path and a comma.

    The text of ``RECORD`` is kept as it is, hash and size columns included, after a leading
    newline: whether it lists a path is then a substring search for ``"\\n{path},"``, much
    cheaper than building a set for every distribution. Only quoted rows (rare) and installs
    without ``RECORD`` go through a parser.
    """
    text = dist.read_text("RECORD")
    if text is None:
        files = dist.files
        if files is None:
            return None
        return "".join(f"\n{file.as_posix()}," for file in files) + "\n"
    if '"' in text:
        rows = csv.reader(text.splitlines())
        return "".join(f"\n{row[0]}," for row in rows if row and row[0]) + "\n"
    return "\n" + text.replace("\r\n", "\n")


def _editable_dir(dist: importlib.metadata.Distribution) -> str | None:
    """The project directory of an editable install, from ``direct_url.json`` (PEP 610)."""
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
    dir_info, url = direct.get("dir_info"), direct.get("url")
    if not isinstance(dir_info, dict) or not isinstance(url, str):
        return None
    if cast("dict[str, object]", dir_info).get("editable") is not True:
        return None
    if urllib.parse.urlsplit(url).scheme != "file":
        return None
    path = file_url_path(url)
    return os.path.realpath(path) if os.path.isdir(path) else None


def _requirements(requires: Iterable[str]) -> tuple[str, ...]:
    """Canonical names of the requirements that apply to this interpreter (no extras)."""
    names: list[str] = []
    for text in requires:
        try:
            requirement = Requirement(text)
        except InvalidRequirement:
            continue
        if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
            names.append(canonicalize_name(requirement.name))
    return tuple(names)


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
    record = _record(dist)
    editable_dir = _editable_dir(dist)
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
    requires = _requirements(metadata.get_all("Requires-Dist") or ()) if meta else ()
    return _Dist(
        name=canonicalize_name(name),
        version=version,
        root=root,
        record=record or "",
        top_levels=frozenset(tops),
        paths=tuple(sorted(os.path.join(root, first) for first in firsts)),
        compiled=tuple(sorted(compiled)),
        editable_dir=editable_dir,
        meta=meta,
        requires=requires,
    )


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
        self.meta_parents: dict[str, list[_Dist]] = {}
        for distribution in distributions:
            dist = _read_dist(distribution)
            if dist is None or dist.name in self.by_name:
                continue  # The first one on sys.path is the one imported.
            self.by_name[dist.name] = dist
            for top in dist.top_levels:
                self.by_top.setdefault(top, []).append(dist)
            for requirement in dist.requires:
                self.meta_parents.setdefault(requirement, []).append(dist)
        #: Directories distributions are installed into (site-packages and the like).
        self.roots = frozenset(d.root for d in self.by_name.values() if d.editable_dir is None)
        self.editables = sorted(
            (d for d in self.by_name.values() if d.editable_dir is not None),
            key=lambda d: -len(d.editable_dir or ""),
        )
        self._owners: weakref.WeakKeyDictionary[types.ModuleType, _Owner] = weakref.WeakKeyDictionary()

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
    names = {name for value in list(namespace.values()) if (name := _module_of(value))}
    names.discard(module.__name__)
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
    """What the indexes say about one distribution."""

    index: str | None
    filename: str | None
    seen: tuple[str, ...] = ()
    listed: bool = True


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
        available. ``python_version`` (``"3.11"`` or ``"3.11.7"``) defaults to the running
        interpreter; only its major and minor parts choose wheel tags.
        """
        #: The index checked first, or ``None`` to check none.
        self.pypi_index_url = pypi_index_url
        #: Indexes checked, in order, when :attr:`pypi_index_url` lacks a distribution.
        self.extra_index_urls = tuple(extra_index_urls)
        #: Canonical names of distributions left out (and not walked through).
        self.exclude_packages = frozenset(canonicalize_name(n) for n in exclude_packages)
        #: The target Python version as given, or ``None`` for the running interpreter.
        self.python_version = python_version
        #: The target platform tag.
        self.target_platform = target_platform
        #: Whether compiled code that cannot be installed from the index is an error.
        self.raise_on_binaries = raise_on_binaries
        #: Whether editable installs are shipped as local code.
        self.treat_editables_as_locals = treat_editables_as_locals
        self._python = _major_minor(python_version)
        self._python_full = python_version or ".".join(map(str, sys.version_info[:3]))
        self._available: dict[tuple[str, str, bool], _Verdict] = {}
        self._tags = target_tags(self._python, target_platform)
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
            f" python={self._python[0]}.{self._python[1]}, target_platform={self.target_platform!r})"
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

        A distribution the index has for the target becomes a ``pypi_packages`` pin. One it
        lacks is shipped as local code with a :class:`~lzy.exceptions.LzyWarning` when it is
        pure Python; with compiled code it is an :class:`~lzy.exceptions.ExplorationError` when
        ``raise_on_binaries`` (else shipped with a warning). A source distribution counts as
        usable only for a pure-Python distribution. Local code with compiled extensions
        follows the same ``raise_on_binaries`` rule. An index that cannot be reached or does
        not speak the simple API raises :class:`~lzy.exceptions.PackageIndexError`.
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
        checked = dict(found.dists)
        for name, (dist, tops) in sorted(found.editables.items()):
            if self.treat_editables_as_locals:
                shipped = tuple(sorted(tops))
                reason = f"editable install of {dist.editable_dir}; shipping {', '.join(shipped)}"
                outcome.decide(name, dist.version, Classification.LOCAL, reason, shipped)
                self._check_binaries(name, shipped, outcome)
            else:
                checked[name] = (dist, f"editable install of {dist.editable_dir}")
        metas = self._meta_packages(checked, installed)
        for name, (dist, why) in sorted(metas.items()):
            if name in self.exclude_packages:
                reason = f"listed in exclude_packages ({why})"
                outcome.decide(name, dist.version, Classification.EXCLUDED, reason)
            else:
                checked[name] = (dist, why)
        verdicts = self._check(checked)
        meta_pinned = {name for name in metas if name in verdicts and verdicts[name].filename is not None}
        for name, (dist, why) in sorted(checked.items()):
            verdict = verdicts[name]
            if verdict.filename is None:
                parents = [p.name for p in installed.meta_parents.get(name, ()) if p.name in meta_pinned]
                self._unavailable(dist, verdict, parents, found, outcome)
                continue
            if verdict.index is None:
                reason = f"installed {dist.version}; no index is checked, so it counts as available"
            else:
                reason = f"installed {dist.version}; found {verdict.filename} on {redact_url(verdict.index)}"
            if name in metas:
                reason = f"{why}; {reason}"
            outcome.decide(name, dist.version, Classification.PYPI, reason)
            outcome.pins[name] = dist.version
        for top, top_paths in sorted(found.local.items()):
            shipped = tuple(sorted(top_paths))
            kind = f"namespace package {top!r}" if top in found.namespace_packages else f"module {top!r}"
            reason = f"no distribution owns {kind}; shipping {', '.join(shipped)}"
            outcome.decide(top, None, Classification.LOCAL, reason, shipped)
            self._check_binaries(top, shipped, outcome)
        for module, file in sorted(found.unplaced.items()):
            outcome.warn(
                f"module {module!r} (file {file}) belongs to no distribution and its top-level"
                " package cannot be located from its name and file, so it is not shipped"
            )
        return outcome.exploration()

    def _unavailable(
        self, dist: _Dist, verdict: _Verdict, meta_parents: Sequence[str], found: _Found, outcome: _Outcome
    ) -> None:
        """Decide about a distribution no index has a usable file of."""
        name = dist.name
        missing = self._missing_reason(name, dist, verdict)
        if meta_parents:
            reason = (
                f"{missing}; the pinned meta-package {meta_parents[0]!r} requires it, so the remote"
                " side installs what that meta-package needs there"
            )
            outcome.decide(name, dist.version, Classification.VIA_META_PACKAGE, reason)
            return
        shipped = self._dist_paths(dist, found)
        if not shipped and dist.meta:
            reason = f"{missing}; it is a meta-package without files, so nothing is shipped"
            outcome.warn(f"{name} {dist.version}: {reason}")
            outcome.decide(name, dist.version, Classification.LOCAL, reason)
            return
        if not shipped:
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
            reason = f"{missing}; it is pure Python, so its installed files are shipped"
        outcome.warn(f"{name} {dist.version}: {reason}")
        outcome.decide(name, dist.version, Classification.LOCAL, reason, shipped)

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
                queue.extend(_used_by(module))
                queue.extend(_parents(real_name))
                if owner.dist is None or owner.dist.editable_dir is not None:
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
        self, dists: Mapping[str, tuple[_Dist, str]], installed: _Installed
    ) -> dict[str, tuple[_Dist, str]]:
        """Meta-packages that require (possibly through other meta-packages) a found dist."""
        metas: dict[str, tuple[_Dist, str]] = {}
        queue = [(name, dists[name][1]) for name in sorted(dists)]
        while queue:
            name, module = queue.pop()
            for parent in installed.meta_parents.get(name, ()):
                if parent.name in metas or parent.name in dists or parent.name == "lzy":
                    continue
                why = f"meta-package (no files of its own) requiring {name!r}, which provides {module!r}"
                metas[parent.name] = (parent, why)
                queue.append((parent.name, module))
        return metas

    # -- index ----------------------------------------------------------------------------

    def _indexes(self) -> tuple[str, ...]:
        if self.pypi_index_url is None:
            return ()
        return (self.pypi_index_url, *self.extra_index_urls)

    def _check(self, dists: Mapping[str, tuple[_Dist, str]]) -> dict[str, _Verdict]:
        """Ask the indexes about every distribution, concurrently, cache first."""
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
        workers = max(1, min(self.max_workers, len(pending)))
        executor = concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix="lzy-index")
        try:
            futures = {executor.submit(self._lookup, dist, offline=False): dist for dist in pending}
            for future in concurrent.futures.as_completed(futures):
                verdict = future.result()
                if verdict is not None:
                    verdicts[futures[future].name] = verdict
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
                files = page.version_files(
                    dist.name, dist.version, self._tags, sdist=pure, python=self._python_full
                )
                read.append((page, files))
            return read[-1][1]

        def settled(page: ProjectPage) -> bool:
            return files_of(page).usable is not None

        seen: list[str] = []
        listed = False
        for index in self._indexes():
            page = self._client.lookup(index, dist.name, settled=settled, offline=offline)
            if page is None:
                return None
            files = files_of(page)
            if files.usable is not None:
                # Index files never change once uploaded, so a usable file stays usable.
                verdict = _Verdict(index=index, filename=files.usable)
                self._available[key] = verdict
                return verdict
            seen.extend(f"{f} on {redact_url(index)}" for f in files.files)
            listed = listed or page.found
        return _Verdict(index=None, filename=None, seen=tuple(seen), listed=listed)

    def _missing_reason(self, name: str, dist: _Dist, verdict: _Verdict) -> str:
        where = ", ".join(url_for(index, name) for index in self._indexes())
        target = f"CPython {self._python[0]}.{self._python[1]} on {self.target_platform}"
        if verdict.seen:
            listing = ", ".join(verdict.seen[:5]) + (", ..." if len(verdict.seen) > 5 else "")
            return (
                f"installed {dist.version}, but no file of it on {where} installs on {target}"
                f" (there are only {listing})"
            )
        if not verdict.listed:
            return f"installed {dist.version}, but the index has no such project ({where} not found)"
        return f"installed {dist.version}, but {where} has no file of that version"

    # -- local code -----------------------------------------------------------------------

    def _dist_paths(self, dist: _Dist, found: _Found) -> tuple[str, ...]:
        if dist.editable_dir is not None:
            entry = found.editables.get(dist.name)
            return tuple(sorted(entry[1])) if entry else ()
        return tuple(p for p in dist.paths if os.path.exists(p))

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


def _major_minor(version: str | None) -> tuple[int, int]:
    if version is None:
        return sys.version_info.major, sys.version_info.minor
    parts = version.split(".")
    if len(parts) in {2, 3} and all(p.isdigit() for p in parts) and parts[0] == "3":
        return int(parts[0]), int(parts[1])
    msg = f"AutoEnvExplorer.python_version must look like '3.11' or '3.11.7', got {version!r}"
    raise FieldValueError(msg)
