"""The explorer interface: what an op's namespace needs, and why.

An :class:`EnvExplorer` is closed over its settings (index URLs, exclusions, target platform);
:class:`~lzy.env.python.auto.AutoPythonEnv` builds one through a factory whose parameters it
inspects, so a custom explorer can take exactly the settings it needs.
"""

from __future__ import annotations

import abc
import dataclasses
import enum
import sys
import types
from collections.abc import Callable, Iterator, Mapping
from typing import Final, cast

from lzy.env._base import FrozenMap, immutable

__all__ = [
    "Classification",
    "EnvExplorer",
    "Exploration",
    "ImportStatement",
    "PackageDecision",
    "import_targets",
    "imported_modules",
    "namespace_of",
]


def __dir__() -> list[str]:
    return __all__


class Classification(enum.Enum):
    """How an explorer classified one distribution or module."""

    #: Installed on the remote side from the package index, at the pinned version.
    PYPI = "pypi"
    #: Shipped with the op as a local module path.
    LOCAL = "local"
    #: Left out because the user excluded it.
    EXCLUDED = "excluded"
    #: Forced by the user through ``additional_pypi_packages``.
    ADDITIONAL = "additional"
    #: Not pinned: installed on the remote side as a requirement of a pinned meta-package,
    #: because the index has no file of it for the target (a platform-specific part such as
    #: a framework's Windows build).
    VIA_META_PACKAGE = "via-meta-package"


@immutable
@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class PackageDecision:
    """One line of an exploration's explanation."""

    #: The distribution name, or the module name for code that belongs to no distribution.
    name: str
    #: The exact version pinned, or ``None`` for local code.
    version: str | None = None
    #: How it was classified.
    classification: Classification
    #: Why, in one sentence a user can act on.
    reason: str
    #: Local paths shipped for it (empty for index packages).
    paths: tuple[str, ...] = ()


@immutable
@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class Exploration:
    """What an explorer found for one namespace."""

    #: Distributions to install from the index: name -> exact version.
    pypi_packages: FrozenMap[str, str] = dataclasses.field(default_factory=FrozenMap[str, str])
    #: Paths of local modules and packages to ship with the op.
    local_module_paths: tuple[str, ...] = ()
    #: One decision per distribution or local module, with its reason.
    decisions: tuple[PackageDecision, ...] = ()


class EnvExplorer(abc.ABC):
    """Finds the distributions and local modules a namespace needs."""

    @abc.abstractmethod
    def explore(self, namespace: Mapping[str, object]) -> Exploration:
        """Explore ``namespace`` (names bound to objects) and the modules it uses, transitively."""


#: A callable that builds an explorer; its parameter names choose which settings it receives.
ExplorerFactory = Callable[..., EnvExplorer]


@immutable
@dataclasses.dataclass(frozen=True, slots=True)
class ImportStatement:
    """A module that code imports where it runs (``import x`` inside a function body).

    Such a module is among no function's globals until the function runs, so the namespace lzy
    gives an explorer lists it by name, as this value; an explorer can find the distribution
    that owns it without importing it.
    """

    #: The absolute name of the imported module.
    module: str


def namespace_of(function: Callable[..., object], *, python_version: str | None = None) -> dict[str, object]:
    """The names an op's function can reach: the globals it references, its closure, its
    defaults, and the modules its body imports (as :class:`ImportStatement` values).

    Only globals the code actually names (including in nested functions) are taken, so a module
    that merely sits in the same file as the op does not drag in its imports. A
    :func:`functools.partial` stands for its function and the arguments it binds, a bound
    method for its function and its object, a callable object for its class's ``__call__``
    and itself.

    Where the op runs under another ``major.minor`` than this interpreter's (``python_version``),
    its function travels by reference: the other interpreter imports the module that defines it,
    and runs that module's top-level imports. Then every global of that module is taken too.
    """
    namespace: dict[str, object] = {}
    _add_callable(function, namespace, "", set())
    if python_version is not None and python_version.split(".")[:2] != _RUNNING:
        module = sys.modules.get(str(getattr(_unwrapped(function), "__module__", None)))
        if module is not None:
            for name, value in vars(module).items():
                namespace.setdefault(f"<module {module.__name__}> {name}", value)
    return namespace


#: This interpreter's ``[major, minor]``, as :func:`namespace_of` compares versions.
_RUNNING: Final = [str(sys.version_info.major), str(sys.version_info.minor)]


def _unwrapped(function: object) -> object:
    """The function a partial, a bound method or wrappers stand for (what names its module)."""
    import functools  # noqa: PLC0415 - lazy, as in _add_callable

    for _ in range(_UNWRAP_DEPTH):
        if isinstance(function, functools.partial):
            function = function.func
        elif isinstance(function, types.MethodType):
            function = function.__func__
        elif hasattr(function, "__wrapped__"):
            function = getattr(function, "__wrapped__")  # noqa: B009 - checked on the line above
        else:
            break
    return function


#: How deep partials, bound methods and callable objects are unwrapped.
_UNWRAP_DEPTH = 8


def _add_callable(function: object, namespace: dict[str, object], label: str, seen: set[int]) -> None:
    """Add what ``function`` can reach to ``namespace``; names of what is not the op's own
    function carry ``label`` (``"<partial> "``, say) so they do not overwrite its globals."""
    import functools  # noqa: PLC0415 - lazy: resolving an env is rarer than importing lzy
    import inspect  # noqa: PLC0415

    if id(function) in seen or len(seen) >= _UNWRAP_DEPTH:
        return
    seen.add(id(function))
    if isinstance(function, functools.partial | functools.partialmethod):
        bound = cast("functools.partial[object]", function)
        for index, value in enumerate(bound.args):
            namespace[f"<{label}partial argument {index}>"] = value
        for name, value in bound.keywords.items():
            namespace[f"<{label}partial argument {name}>"] = value
        _add_callable(bound.func, namespace, f"{label}partial ", seen)
        return
    if isinstance(function, types.MethodType):
        namespace[f"<{label}bound to>"] = function.__self__
        _add_callable(function.__func__, namespace, label, seen)
        return
    target = inspect.unwrap(function) if callable(function) else function
    code = getattr(target, "__code__", None)
    if not isinstance(code, types.CodeType):
        if callable(target) and not isinstance(target, type | types.BuiltinFunctionType):
            # A callable object: its class's __call__ runs, with the object's state.
            namespace[f"<{label}callable object>"] = target
            _add_callable(
                inspect.getattr_static(type(target), "__call__", None), namespace, f"{label}call ", seen
            )
        module = inspect.getmodule(target)
        if module is not None:
            namespace.setdefault("<module>", module)
        return
    _add_function(target, code, namespace, label)


def _add_function(target: object, code: types.CodeType, namespace: dict[str, object], label: str) -> None:
    """Add a plain function's referenced globals, imports, closure and defaults."""
    import inspect  # noqa: PLC0415 - lazy: resolving an env is rarer than importing lzy

    module_globals: Mapping[str, object] = getattr(target, "__globals__", {})
    for name in _referenced_names(code):
        if name in module_globals:
            namespace[name if not label else f"<{label}{name}>"] = module_globals[name]
    package = module_globals.get("__package__")
    for name in imported_modules(code, package if isinstance(package, str) else None):
        namespace[f"<import {name}>"] = ImportStatement(name)
    if isinstance(target, types.FunctionType):
        for name, value in inspect.getclosurevars(target).nonlocals.items():
            namespace[name if not label else f"<{label}{name}>"] = value
    for index, value in enumerate(getattr(target, "__defaults__", None) or ()):
        namespace[f"<{label}default {index}>"] = value
    kwdefaults: Mapping[str, object] = getattr(target, "__kwdefaults__", None) or {}
    for name, value in kwdefaults.items():
        namespace[f"<{label}default {name}>"] = value
    module = inspect.getmodule(target)
    if module is not None:
        # A function pickled by reference needs its module on the other side.
        namespace.setdefault("<module>" if not label else f"<{label}module>", module)


def _referenced_names(code: object) -> set[str]:
    names: set[str] = set()
    stack = [code]
    while stack:
        current = stack.pop()
        names.update(getattr(current, "co_names", ()))
        stack.extend(c for c in getattr(current, "co_consts", ()) if isinstance(c, types.CodeType))
    return names


def imported_modules(code: object, package: str | None) -> Iterator[str]:
    """The absolute names of the modules ``import`` statements in ``code`` (and the functions
    and classes nested in it) name; ``package`` resolves relative imports.

    ``from m import a`` names ``m`` and ``m.a``: ``a`` may be a submodule.
    """
    import dis  # noqa: PLC0415 - lazy: resolving an env is rarer than importing lzy

    stack = [code]
    while stack:
        current = stack.pop()
        stack.extend(c for c in getattr(current, "co_consts", ()) if isinstance(c, types.CodeType))
        if not isinstance(current, types.CodeType):
            continue
        previous: list[object] = [None, None]
        for instruction in dis.get_instructions(current):
            if instruction.opname == "IMPORT_NAME":
                level, fromlist = previous
                names = cast("tuple[object, ...]", fromlist) if isinstance(fromlist, tuple) else ()
                yield from import_targets(
                    str(instruction.argval),
                    level if isinstance(level, int) else 0,
                    tuple(item for item in names if isinstance(item, str)),
                    package,
                )
            constant = instruction.opname in {"LOAD_CONST", "LOAD_SMALL_INT"}
            previous = [previous[1], instruction.argval if constant else None]


def import_targets(name: str, level: int, fromlist: tuple[str, ...], package: str | None) -> Iterator[str]:
    """The absolute module names one import statement names: ``from m import a`` (``name``
    ``"m"``, ``fromlist`` ``("a",)``) names ``m`` and ``m.a``, since ``a`` may be a submodule;
    ``level`` counts the leading dots of a relative import, resolved against ``package``."""
    if level > 0:
        if not package:
            return
        import importlib.util  # noqa: PLC0415 - lazy

        try:
            name = importlib.util.resolve_name("." * level + name, package)
        except ImportError:
            return
    if not name:
        return
    yield name
    for item in fromlist:
        if item != "*":
            yield f"{name}.{item}"
