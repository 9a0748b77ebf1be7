"""The abstract :class:`PythonEnv` and its artifact, :class:`ResolvedPythonEnv`."""

from __future__ import annotations

import abc
import dataclasses
import re
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, ClassVar, Never, TypeVar

from lzy.env._base import (
    EnvPart,
    FrozenMap,
    OpTarget,
    decorate_op,
    describe,
    redact_url,
    str_map,
    str_tuple,
    url_field,
)
from lzy.env.explorer.base import PackageDecision
from lzy.exceptions import FieldTypeError, FieldValueError

__all__ = [
    "PythonEnv",
    "ResolvedPythonEnv",
    "check_python_version",
    "normalize_version",
    "package_map",
    "package_names",
    "python_version_matches",
    "running_python_version",
    "same_version",
]


def __dir__() -> list[str]:
    return __all__


_O = TypeVar("_O", bound=OpTarget)
# ASCII digits only: ``\d`` would take any Unicode digit (Arabic-Indic, full-width, ...); at
# most four to a part (no Python version has more, and int() refuses 4,300).
_VERSION = re.compile(r"[0-9]{1,4}(?:\.[0-9]{1,4}){0,2}", re.ASCII)
# PEP 508 names. re.ASCII: with IGNORECASE alone, [A-Z] also matches U+017F (long s) and
# U+212A (the Kelvin sign).
_NAME = re.compile(r"([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])", re.IGNORECASE | re.ASCII)


def running_python_version() -> str:
    """``major.minor`` of the running interpreter (the default target of a Python env)."""
    return f"{sys.version_info.major}.{sys.version_info.minor}"


def python_version_matches(wanted: str, actual: str) -> bool:
    """Whether ``actual`` matches ``wanted`` to the precision ``wanted`` gives (``3.11`` ~ 3.11.x)."""
    want = wanted.split(".")
    return actual.split(".")[: len(want)] == want


def check_python_version(owner: str, value: object) -> str:
    """A ``"3"``, ``"3.11"`` or ``"3.11.7"`` string of ASCII digits, normalized (``"3.011"``
    is ``"3.11"``), or a clear error."""
    msg = f"{owner}.python_version must be a version string like '3.11' or '3.11.7', got {describe(value)}"
    if not isinstance(value, str):
        raise FieldTypeError(msg + f" ({type(value).__name__})")
    if not _VERSION.fullmatch(value):
        raise FieldValueError(msg)
    normalized = ".".join(str(int(part)) for part in value.split("."))
    if normalized.split(".")[0] != "3":
        raise FieldValueError(f"{msg}; ops run on Python 3")
    return normalized


def _check_name(name: str) -> str | None:
    if not _NAME.fullmatch(name):
        return f"{name!r} is not a valid distribution name"
    # packaging loads where a package is named: most envs name none.
    from packaging.utils import InvalidName, canonicalize_name  # noqa: PLC0415

    try:
        canonicalize_name(name, validate=True)
    except InvalidName:
        return f"{name!r} is not a valid distribution name"
    return None


def normalize_version(version: str) -> str | None:
    """``version`` as PEP 440 writes it (``"v2.1.0-1 "`` is ``"2.1.0.post1"``), or ``None``
    when it is no version. Compare the results with :class:`~packaging.version.Version`:
    ``"26.4.0"`` and ``"26.4"`` are one version."""
    from packaging.version import Version  # noqa: PLC0415 - see _check_name

    try:
        return str(Version(version))
    except ValueError:  # InvalidVersion, or a number of more digits than int() converts
        return None


def same_version(first: str, second: str) -> bool:
    """Whether two version strings name one version by PEP 440 (``"26.4.0"`` is ``"26.4"``);
    strings that are no PEP 440 version are compared as written."""
    from packaging.version import Version  # noqa: PLC0415 - see _check_name

    try:
        return Version(first) == Version(second)
    except ValueError:  # InvalidVersion, or a number of more digits than int() converts
        return first.strip() == second.strip()


def _version_problem(version: str) -> str:
    hint = ""
    bare = version.strip().lstrip("=")
    if bare != version.strip() and normalize_version(bare) is not None:
        hint = f"; write the version alone: {bare!r}"
    return f"{version!r} is not an exact version (PEP 440), such as '2.1.0'{hint}"


def package_map(owner: str, field: str, value: object) -> FrozenMap[str, str]:
    """A ``name -> exact version`` mapping: valid names, PEP 440 versions (normalized), and no
    two names of one project (``NumPy`` and ``numpy``)."""
    pins = str_map(owner, field, value, check_key=_check_name)
    result: dict[str, str] = {}
    projects: dict[str, str] = {}
    for name, version in pins.items():
        normalized = normalize_version(version)
        if normalized is None:
            msg = f"{owner}.{field}[{name!r}]: {_version_problem(version)}"
            raise FieldValueError(msg)
        from packaging.utils import canonicalize_name  # noqa: PLC0415 - see _check_name

        project = canonicalize_name(name)
        if project in projects:
            msg = (
                f"{owner}.{field}: {projects[project]!r} and {name!r} name the same project"
                f" ({project}); keep one of them"
            )
            raise FieldValueError(msg)
        projects[project] = name
        result[name] = normalized
    return FrozenMap(result)


def package_names(owner: str, field: str, value: object) -> frozenset[str]:
    """A set of valid distribution names, from a list, tuple or set of strings."""
    names = str_tuple(owner, field, value)
    for name in names:
        problem = _check_name(name)
        if problem is not None:
            msg = f"{owner}.{field}: {problem}"
            raise FieldValueError(msg)
    return frozenset(names)


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True, repr=False)
class ResolvedPythonEnv(EnvPart):
    """The artifact of the Python point: exactly what the remote side must provide."""

    #: Whether the remote side builds a Python environment (``python_version`` plus
    #: ``pypi_packages``); ``False`` uses the container's Python as it is.
    install: bool = True
    #: The Python version to run, matched to the precision given; ``None`` for "as it is".
    python_version: str | None
    #: The package index that ``pypi_packages`` are installed from; ``None`` for the default.
    pypi_index_url: str | None = url_field(default=None)
    #: Further indexes searched after :attr:`pypi_index_url`.
    extra_index_urls: tuple[str, ...] = url_field(default=())
    #: Distributions to install: name -> exact version.
    pypi_packages: FrozenMap[str, str] = dataclasses.field(default_factory=FrozenMap[str, str])
    #: Local modules and packages shipped with the op (absolute paths).
    local_module_paths: tuple[str, ...] = ()
    #: Why each package and module was chosen (empty when nothing was explored).
    decisions: tuple[PackageDecision, ...] = ()
    #: Where :attr:`pypi_index_url` and :attr:`extra_index_urls` came from (the env's
    #: setting, or the user's pip configuration and which part of it); empty when not told.
    index_source: str = ""

    def __post_init__(self) -> None:
        # An artifact is also read back from JSON: its pins and Python version are held to the
        # rules the points' own fields follow, so nothing a point refuses arrives this way.
        owner = type(self).__name__
        object.__setattr__(self, "pypi_packages", package_map(owner, "pypi_packages", self.pypi_packages))
        if self.python_version is not None:
            object.__setattr__(self, "python_version", check_python_version(owner, self.python_version))

    def explain(self) -> str:
        """A table: one row per package or local module, with its classification and reason."""
        from lzy.env.environment import render_table  # noqa: PLC0415 - cycle

        rows = [
            (
                d.name,
                d.version or "",
                d.classification.value,
                d.reason,
            )
            for d in self.decisions
        ]
        if not rows:
            rows = [(name, version, "pypi", "listed by hand") for name, version in self.pypi_packages.items()]
            rows += [(path, "", "local", "listed by hand") for path in self.local_module_paths]
        table = render_table(("package", "version", "kind", "why"), rows)
        if self.pypi_index_url is None or not self.install:
            return table
        indexes = " ".join(redact_url(u) for u in (self.pypi_index_url, *self.extra_index_urls))
        source = f" (from {self.index_source})" if self.index_source else ""
        return f"index: {indexes}{source}\n{table}"


class PythonEnv(EnvPart, abc.ABC):
    """The Python point: turns a user's description into a :class:`ResolvedPythonEnv`.

    Implementations differ only in how they are described and how they find the artifact.
    A Python env is replaced whole across levels, never merged. Used as a decorator above
    ``@op`` it sets the op's Python env.
    """

    __slots__ = ()

    _POINT: ClassVar[str | None] = "python_env"

    if TYPE_CHECKING:
        # Checkers see no usable constructor: PythonEnv is abstract, so ``klass=PythonEnv`` in a
        # ``with_*`` call is an error there too (its dataclass implementations make their own).
        def __init__(self, *, abstract_class_pass_an_implementation: Never) -> None: ...

    @abc.abstractmethod
    def resolve(self, namespace: Mapping[str, object]) -> ResolvedPythonEnv:
        """The artifact for an op whose code can reach ``namespace``.

        This is where exploration happens; it may be slow and may raise
        :class:`~lzy.exceptions.ResolutionError`.
        """

    def __call__(self, op: _O, /) -> _O:
        """Decorate an op: ``op.with_python_env(self)``."""
        return decorate_op(self, op, lambda o: o.with_python_env(self))
