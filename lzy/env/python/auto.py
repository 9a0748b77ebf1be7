""":class:`AutoPythonEnv`: find the packages and local modules an op needs by exploring its code."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING

from lzy.env._base import (
    SHOWN,
    URL,
    FrozenMap,
    describe,
    expect_bool,
    expect_callable,
    url,
    url_field,
    url_tuple,
)
from lzy.env.explorer.auto import DEFAULT_INDEX_URL, DEFAULT_TARGET_PLATFORM, AutoEnvExplorer
from lzy.env.explorer.base import (
    Classification,
    EnvExplorer,
    ExplorerFactory,
    PackageDecision,
)
from lzy.env.python.base import (
    PythonEnv,
    ResolvedPythonEnv,
    check_python_version,
    package_map,
    package_names,
    running_python_version,
)
from lzy.exceptions import ConfigurationError, ExplorationError, FieldValueError

if TYPE_CHECKING:
    from lzy.env.explorer._pip_config import PipIndex

__all__ = ["DEFAULT_INDEX_URL", "DEFAULT_TARGET_PLATFORM", "AutoPythonEnv"]


def __dir__() -> list[str]:
    return __all__


_EXPLORERS: dict[tuple[object, ...], EnvExplorer] = {}
_EXPLORERS_LOCK = threading.Lock()


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True, repr=False)
class AutoPythonEnv(PythonEnv):
    """Explore the op's code and pin what it uses: the default Python env.

    Starting from the op function's globals, closure and defaults, the explorer follows the
    modules they use; installed distributions become ``pypi_packages`` pinned to their installed
    versions, and code of no distribution (or installed in editable mode) is shipped as local
    module paths.

    :param python_version: The Python version to run remotely, ``"3.11"`` (some 3.11.z: a ``Requires-Python`` bound that admits only some patch levels is accepted with a warning) or ``"3.11.7"`` (exactly); defaults to the running interpreter's ``major.minor``. Default: ``running_python_version()``.
    :param pypi_index_url: The root of the package index (PEP 503/691 simple API, such as ``https://pypi.org/simple``) that found packages are installed from. ``None``: the index the user's pip is configured with when the env is resolved (``PIP_INDEX_URL``, then ``index-url`` in pip's configuration files, as ``pip install`` reads them), with pip's extra indexes (``PIP_EXTRA_INDEX_URL``, ``extra-index-url``) before :attr:`extra_index_urls`; PyPI when pip names none. Credentials in the URL are sent as HTTP authentication, never shown. Default: ``None``.
    :param extra_index_urls: Further indexes searched after :attr:`pypi_index_url`, in order. A pinned version is taken from the first index that has files of it, as installers take it. Default: ``()``.
    :param additional_pypi_packages: Packages to install whatever the exploration finds: name -> exact version. They are forced as index packages and excluded from exploration; a version that a pinned distribution's declared requirements exclude is refused. Default: ``{}``.
    :param exclude_packages: Distribution names the explorer must leave out (neither installed nor shipped). Default: ``frozenset()``.
    :param target_platform: The wheel platform tag of the remote machines (``manylinux_2_28_x86_64``, ``musllinux_1_2_aarch64``, ``macosx_11_0_arm64``, ``win_amd64``; the legacy ``manylinux2014_x86_64`` names are accepted and stored as their PEP 600 names), used to check that a package has a usable file on the index. Default: ``'manylinux_2_28_x86_64'``.
    :param explorer: Builds the explorer. Its parameter names choose which of this env's settings it gets: any of ``pypi_index_url``, ``extra_index_urls``, ``exclude_packages``, ``python_version``, ``target_platform``, ``raise_on_binaries``, ``treat_editables_as_locals``. Default: ``AutoEnvExplorer``.
    :param raise_on_binaries: Whether a local module with compiled code (which cannot run on another platform) is an error; when ``False`` it is shipped with a warning. Default: ``True``.
    :param treat_editables_as_locals: Whether distributions installed in editable mode are shipped as local code rather than installed from the index. Default: ``True``.
    """  # noqa: E501 - one line per parameter, as editors read them

    #: The Python version to run remotely, ``"3.11"`` (some 3.11.z: a ``Requires-Python``
    #: bound that admits only some patch levels is accepted with a warning) or ``"3.11.7"``
    #: (exactly); defaults to the running interpreter's ``major.minor``.
    python_version: str = dataclasses.field(default_factory=running_python_version)
    #: The root of the package index (PEP 503/691 simple API, such as
    #: ``https://pypi.org/simple``) that found packages are installed from. ``None``: the index
    #: the user's pip is configured with when the env is resolved (``PIP_INDEX_URL``, then
    #: ``index-url`` in pip's configuration files, as ``pip install`` reads them), with pip's
    #: extra indexes (``PIP_EXTRA_INDEX_URL``, ``extra-index-url``) before
    #: :attr:`extra_index_urls`; PyPI when pip names none. Credentials in the URL are sent as
    #: HTTP authentication, never shown.
    pypi_index_url: str | None = dataclasses.field(
        default=None, metadata={URL: True, SHOWN: lambda: _pip_index().describe()}
    )
    #: Further indexes searched after :attr:`pypi_index_url`, in order. A pinned version is
    #: taken from the first index that has files of it, as installers take it.
    extra_index_urls: list[str] | tuple[str, ...] | set[str] | frozenset[str] = url_field(default=())
    #: Packages to install whatever the exploration finds: name -> exact version. They are
    #: forced as index packages and excluded from exploration; a version that a pinned
    #: distribution's declared requirements exclude is refused.
    additional_pypi_packages: Mapping[str, str] = dataclasses.field(default_factory=FrozenMap[str, str])
    #: Distribution names the explorer must leave out (neither installed nor shipped).
    exclude_packages: list[str] | tuple[str, ...] | set[str] | frozenset[str] = frozenset()
    #: The wheel platform tag of the remote machines (``manylinux_2_28_x86_64``,
    #: ``musllinux_1_2_aarch64``, ``macosx_11_0_arm64``, ``win_amd64``; the legacy
    #: ``manylinux2014_x86_64`` names are accepted and stored as their PEP 600 names), used to
    #: check that a package has a usable file on the index.
    target_platform: str = DEFAULT_TARGET_PLATFORM
    #: Builds the explorer. Its parameter names choose which of this env's settings it gets:
    #: any of ``pypi_index_url``, ``extra_index_urls``, ``exclude_packages``,
    #: ``python_version``, ``target_platform``, ``raise_on_binaries``,
    #: ``treat_editables_as_locals``.
    explorer: ExplorerFactory = AutoEnvExplorer
    #: Whether a local module with compiled code (which cannot run on another platform) is an
    #: error; when ``False`` it is shipped with a warning.
    raise_on_binaries: bool = True
    #: Whether distributions installed in editable mode are shipped as local code rather than
    #: installed from the index.
    treat_editables_as_locals: bool = True

    def __post_init__(self) -> None:
        name = type(self).__name__
        set_ = object.__setattr__
        version = check_python_version(name, self.python_version)
        set_(self, "python_version", _check_minor_given(name, version))
        if self.pypi_index_url is not None:
            set_(self, "pypi_index_url", url(name, "pypi_index_url", self.pypi_index_url))
        set_(self, "extra_index_urls", url_tuple(name, "extra_index_urls", self.extra_index_urls))
        additional = package_map(name, "additional_pypi_packages", self.additional_pypi_packages)
        set_(self, "additional_pypi_packages", additional)
        excluded = package_names(name, "exclude_packages", self.exclude_packages)
        set_(self, "exclude_packages", excluded)
        _check_forced_not_excluded(name, additional, excluded)
        if type(self.target_platform) is not str or self.target_platform != DEFAULT_TARGET_PLATFORM:
            # The default is a valid PEP 600 tag already; the tag machinery loads for others.
            from lzy.env.explorer._target import check_platform  # noqa: PLC0415

            set_(self, "target_platform", check_platform(name, self.target_platform))
        expect_callable(f"{name}.explorer", self.explorer, "a callable that returns an EnvExplorer")
        set_(self, "raise_on_binaries", expect_bool(self, "raise_on_binaries", self.raise_on_binaries))
        set_(
            self,
            "treat_editables_as_locals",
            expect_bool(self, "treat_editables_as_locals", self.treat_editables_as_locals),
        )

    def indexes(self) -> tuple[str, tuple[str, ...], str]:
        """The index, the extra indexes and where they came from, as resolving uses them:
        :attr:`pypi_index_url` when set, else pip's configuration read now (see there)."""
        extra = tuple(self.extra_index_urls)
        if self.pypi_index_url is not None:
            return self.pypi_index_url, extra, "pypi_index_url"
        configured = _pip_index()
        if configured.problem is not None:
            msg = (
                f"{type(self).__name__}.pypi_index_url is not set, so the index comes from pip's"
                f" configuration, which cannot be used: {configured.problem}; fix it, or set"
                " pypi_index_url"
            )
            raise ConfigurationError(msg)
        if configured.index_url is None:
            msg = (
                f"{type(self).__name__}.pypi_index_url is not set and pip is configured with no index"
                f" ({configured.index_source}), so there is nothing to install packages from;"
                " set pypi_index_url"
            )
            raise ConfigurationError(msg)
        extras = tuple(dict.fromkeys((*configured.extra_index_urls, *extra)))
        return configured.index_url, extras, f"pip's configuration: {configured.describe()}"

    def explorer_settings(self) -> dict[str, object]:
        """Every setting an explorer factory may ask for, by parameter name."""
        excluded = frozenset(self.exclude_packages) | frozenset(self.additional_pypi_packages)
        index, extra, _ = self.indexes()
        return {
            "pypi_index_url": index,
            "extra_index_urls": extra,
            "exclude_packages": excluded,
            "python_version": self.python_version,
            "target_platform": self.target_platform,
            "raise_on_binaries": self.raise_on_binaries,
            "treat_editables_as_locals": self.treat_editables_as_locals,
        }

    def make_explorer(self) -> EnvExplorer:
        """The explorer for these settings (one instance per process and settings)."""
        return make_explorer(self.explorer, self.explorer_settings(), owner=type(self).__name__)

    def resolve(self, namespace: Mapping[str, object]) -> ResolvedPythonEnv:
        """Explore ``namespace`` and pin what it needs, plus :attr:`additional_pypi_packages`."""
        index, extra, source = self.indexes()
        settings = {**self.explorer_settings(), "pypi_index_url": index, "extra_index_urls": extra}
        found = make_explorer(self.explorer, settings, owner=type(self).__name__).explore(namespace)
        from lzy.env.explorer._pages import canonical_name  # noqa: PLC0415 - loaded by the explorer

        packages = dict(found.pypi_packages)
        # The explorer was told to leave these out; their decision is the one made here.
        forced = {canonical_name(name) for name in self.additional_pypi_packages}
        decisions = [d for d in found.decisions if canonical_name(d.name) not in forced]
        for package, version in self.additional_pypi_packages.items():
            packages[package] = version
            decisions.append(
                PackageDecision(
                    name=package,
                    version=version,
                    classification=Classification.ADDITIONAL,
                    reason="listed in additional_pypi_packages",
                )
            )
        if self.additional_pypi_packages:
            self._check_installable_together(packages)
        return ResolvedPythonEnv(
            install=True,
            python_version=self.python_version,
            pypi_index_url=index,
            extra_index_urls=extra,
            index_source=source,
            pypi_packages=FrozenMap(sorted(packages.items())),
            local_module_paths=found.local_module_paths,
            decisions=tuple(decisions),
        )

    def _check_installable_together(self, packages: Mapping[str, str]) -> None:
        """Refuse pins (:attr:`additional_pypi_packages` among them) that the declared
        requirements of another pinned distribution exclude, as installed here."""
        from lzy.env.explorer._decide import requirement_conflicts  # noqa: PLC0415 - loaded by the explorer
        from lzy.env.explorer._installed import installed_distributions  # noqa: PLC0415
        from lzy.env.explorer._pages import canonical_name  # noqa: PLC0415
        from lzy.env.explorer._target import Target, check_python  # noqa: PLC0415

        owner = type(self).__name__
        python, patch = check_python(owner, self.python_version)
        markers = Target(python=python, patch=patch, platform=self.target_platform).markers()
        pins = {canonical_name(name): version for name, version in packages.items()}
        forced = {canonical_name(name): version for name, version in self.additional_pypi_packages.items()}
        problems = requirement_conflicts(pins, installed_distributions(), markers, forced=forced)
        if problems:
            listing = "\n".join(f"  - {problem}" for problem in problems)
            msg = f"{owner}: the pinned packages cannot be installed together:\n{listing}"
            raise ExplorationError(msg)


def _check_minor_given(owner: str, version: str) -> str:
    """``version`` when it names a minor version: the files an explorer checks are for one
    CPython ``X.Y``, so ``"3"`` (any Python 3) cannot be checked."""
    if "." not in version:
        msg = (
            f"{owner}.python_version must name the minor version ('3.11' or '3.11.7'): the"
            f" index's files are checked for one CPython X.Y, got {version!r}"
        )
        raise FieldValueError(msg)
    return version


def _check_forced_not_excluded(owner: str, additional: Mapping[str, str], excluded: Collection[str]) -> None:
    """A package both forced (installed whatever is found) and excluded (never installed) is a
    contradiction, not a choice to make silently."""
    if not additional or not excluded:
        return
    from lzy.env.explorer._pages import canonical_name  # noqa: PLC0415 - only for both lists

    forced = {canonical_name(name): name for name in additional}
    both = [
        repr(name) if forced[canonical_name(name)] == name else f"{forced[canonical_name(name)]!r} ({name!r})"
        for name in sorted(excluded)
        if canonical_name(name) in forced
    ]
    if both:
        msg = (
            f"{owner}: {', '.join(both)} is both in additional_pypi_packages (installed whatever"
            " the exploration finds) and in exclude_packages (never installed); keep each in one"
        )
        raise ConfigurationError(msg)


def _pip_index() -> PipIndex:
    """The index pip is configured with, read now (pip's configuration loads only here)."""
    from lzy.env.explorer._pip_config import pip_index  # noqa: PLC0415

    return pip_index()


def _check_explorer(owner: str, explorer: object) -> None:
    if not isinstance(explorer, EnvExplorer):
        msg = f"{owner}.explorer returned {describe(explorer)}, which is not an EnvExplorer"
        raise ConfigurationError(msg)


def make_explorer(factory: ExplorerFactory, settings: Mapping[str, object], *, owner: str) -> EnvExplorer:
    """Call ``factory`` with the settings its parameters name; cached per process."""
    import inspect  # noqa: PLC0415 - lazy: resolving an env is rarer than importing lzy

    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError) as error:
        msg = f"{owner}.explorer {describe(factory)} has no inspectable signature"
        raise ConfigurationError(msg) from error
    kwargs: dict[str, object] = {}
    takes_everything = False
    for parameter in signature.parameters.values():
        if parameter.kind is inspect.Parameter.VAR_KEYWORD:
            takes_everything = True
        elif parameter.kind is inspect.Parameter.VAR_POSITIONAL:
            continue
        elif parameter.name in settings:
            if parameter.kind is inspect.Parameter.POSITIONAL_ONLY:
                msg = f"{owner}.explorer parameter {parameter.name!r} must accept a keyword"
                raise ConfigurationError(msg)
            kwargs[parameter.name] = settings[parameter.name]
        elif parameter.default is inspect.Parameter.empty:
            msg = (
                f"{owner}.explorer {getattr(factory, '__qualname__', factory)!r} requires parameter"
                f" {parameter.name!r}, which is not a setting it can be given;"
                f" available: {', '.join(settings)}"
            )
            raise ConfigurationError(msg)
    if takes_everything:
        kwargs = dict(settings)
    key = (factory, *sorted(kwargs.items(), key=lambda item: item[0]))
    with _EXPLORERS_LOCK:
        cached = _EXPLORERS.get(key)
    if cached is not None:
        return cached
    explorer = factory(**kwargs)
    _check_explorer(owner, explorer)
    with _EXPLORERS_LOCK:
        return _EXPLORERS.setdefault(key, explorer)
