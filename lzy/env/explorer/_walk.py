"""The module walk: from an op's namespace through the local code it uses.

A module object is used as is; a class or function stands for its ``__module__``; any other
object for its type's module. Each module of local code reached is read the same way
(``vars(module)``, so none of its code runs), and so are its parent packages, but not the
submodules the rest of the program imported into them. The imports anywhere in local code's
source count too (inside functions, they run only when called), except under
``if TYPE_CHECKING:`` and ``if __name__ == "__main__":``. A module an installed distribution
owns is recorded and not walked through. The standard library and ``lzy`` are never followed.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import sys
import types
import weakref
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Final, cast

from lzy.env.explorer._installed import STATE_LOCK, Dist, Installed, Owner, parents
from lzy.env.explorer._pages import canonical_name
from lzy.env.explorer.base import ImportStatement, import_targets

if TYPE_CHECKING:
    import ast

__all__ = ["Found", "walk"]

#: Top-level modules that are never explored: the standard library, built-ins and ``lzy``.
_NEVER: Final = frozenset(
    {*sys.stdlib_module_names, *sys.builtin_module_names, "__main__", "__mp_main__", "lzy"}
)
#: Per module object: the size of its globals when walked, and the module names they use.
_walk_cache: weakref.WeakKeyDictionary[types.ModuleType, tuple[int, frozenset[str]]] = (
    weakref.WeakKeyDictionary()
)


@dataclasses.dataclass(kw_only=True, slots=True)
class Found:
    """The result of the walk, grouped by owner."""

    dists: dict[str, tuple[Dist, str]] = dataclasses.field(default_factory=dict[str, tuple[Dist, str]])
    editables: dict[str, tuple[Dist, set[str]]] = dataclasses.field(
        default_factory=dict[str, tuple[Dist, set[str]]]
    )
    local: dict[str, set[str]] = dataclasses.field(default_factory=dict[str, set[str]])
    namespace_packages: set[str] = dataclasses.field(default_factory=set[str])
    excluded: dict[str, tuple[Dist, str]] = dataclasses.field(default_factory=dict[str, tuple[Dist, str]])
    unplaced: dict[str, str] = dataclasses.field(default_factory=dict[str, str])
    excluded_local: set[str] = dataclasses.field(default_factory=set[str])


def walk(namespace: Mapping[str, object], installed: Installed, exclude: frozenset[str]) -> Found:
    """Follow ``namespace`` through local code; record who owns each module reached.

    Installed distributions are recorded, not walked through: their requirements are followed
    later. Distributions in ``exclude`` (canonical names) are recorded as excluded.
    """
    found = Found()
    queue = list(_starting_points(namespace))
    # Modules named by import statements: they may not be imported yet.
    statements = {value.module for value in namespace.values() if isinstance(value, ImportStatement)}
    seen: set[str] = set()
    with STATE_LOCK:
        while queue:
            name = queue.pop()
            if name in seen or name.partition(".")[0] in _NEVER:
                continue
            seen.add(name)
            if name in statements and not isinstance(sys.modules.get(name), types.ModuleType):
                owned = installed.owner_by_name(name)
                if owned is not None:
                    _place_dist(owned[0], owned[1], found, exclude)
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
            if not _place(module, real_name, owner, found, exclude):
                continue
            if owner.dist is not None and owner.dist.editable_dir is None:
                # An installed distribution is followed through its declared requirements,
                # not its modules: what it imported depends on what ran before.
                continue
            queue.extend(_used_by(module))
            queue.extend(parents(real_name))
            # Shipped code: what its functions import when they run is needed too.
            lazy = _source_imports(module)
            statements.update(lazy)
            queue.extend(lazy)
    return found


def _place_dist(
    dist: Dist, name: str, found: Found, exclude: frozenset[str], top_path: str | None = None
) -> bool:
    """Record that ``dist`` provides module ``name`` (whose top-level path is ``top_path``,
    for an editable install); ``False`` when it must not be walked through."""
    if dist.name == "lzy":
        return False
    if dist.name in exclude:
        found.excluded.setdefault(dist.name, (dist, name))
        return False
    if dist.editable_dir is not None and top_path is not None:
        found.editables.setdefault(dist.name, (dist, set()))[1].add(top_path)
    else:
        found.dists.setdefault(dist.name, (dist, name))
    return True


def _place(module: types.ModuleType, name: str, owner: Owner, found: Found, exclude: frozenset[str]) -> bool:
    """Record who owns ``module``; ``False`` when it must not be walked through."""
    if owner.dist is not None:
        return _place_dist(owner.dist, name, found, exclude, owner.top_path)
    top = name.partition(".")[0]
    if canonical_name(top) in exclude:
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
    import ast  # noqa: PLC0415 - lazy: only local code's source is parsed

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
    import ast  # noqa: PLC0415 - already loaded by the caller

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
    import importlib  # noqa: PLC0415 - lazy

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
