""":class:`ManualPythonEnv`: the user lists the whole Python environment; nothing is explored."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Mapping

from lzy.env._base import local_paths, url, url_field, url_tuple
from lzy.env.python.base import (
    PythonEnv,
    ResolvedPythonEnv,
    check_python_version,
    package_map,
)
from lzy.exceptions import ResolutionError

__all__ = ["ManualPythonEnv"]


def __dir__() -> list[str]:
    return __all__


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True, repr=False)
class ManualPythonEnv(PythonEnv):
    """Exactly the Python environment listed here: nothing is explored or added.

    :param python_version: The Python version to run, ``"3.11"`` or ``"3.11.7"`` (matched to that precision). Required.
    :param pypi_packages: Distributions to install: name -> exact version (``{"numpy": "2.1.0"}``). Required.
    :param pypi_index_url: The package index to install from; ``None`` uses the remote side's default. Default: ``None``.
    :param extra_index_urls: Further indexes searched after :attr:`pypi_index_url`. Default: ``()``.
    :param local_module_paths: Local modules and packages (files or directories) shipped with the op. Default: ``()``.
    """  # noqa: E501 - one line per parameter, as editors read them

    #: The Python version to run, ``"3.11"`` or ``"3.11.7"`` (matched to that precision).
    python_version: str
    #: Distributions to install: name -> exact version (``{"numpy": "2.1.0"}``).
    pypi_packages: Mapping[str, str]
    #: The package index to install from; ``None`` uses the remote side's default.
    pypi_index_url: str | None = url_field(default=None)
    #: Further indexes searched after :attr:`pypi_index_url`.
    extra_index_urls: list[str] | tuple[str, ...] | set[str] | frozenset[str] = url_field(default=())
    #: Local modules and packages (files or directories) shipped with the op.
    local_module_paths: list[str] | tuple[str, ...] | set[str] | frozenset[str] = ()

    def __post_init__(self) -> None:
        name = type(self).__name__
        set_ = object.__setattr__
        set_(self, "python_version", check_python_version(name, self.python_version))
        set_(self, "pypi_packages", package_map(name, "pypi_packages", self.pypi_packages))
        if self.pypi_index_url is not None:
            set_(self, "pypi_index_url", url(name, "pypi_index_url", self.pypi_index_url))
        set_(self, "extra_index_urls", url_tuple(name, "extra_index_urls", self.extra_index_urls))
        set_(self, "local_module_paths", local_paths(name, "local_module_paths", self.local_module_paths))

    def resolve(self, namespace: Mapping[str, object]) -> ResolvedPythonEnv:
        """The listed environment, with local paths made absolute and checked to exist."""
        del namespace  # nothing is explored
        return ResolvedPythonEnv(
            install=True,
            python_version=self.python_version,
            pypi_index_url=self.pypi_index_url,
            extra_index_urls=tuple(self.extra_index_urls),
            pypi_packages=package_map(type(self).__name__, "pypi_packages", self.pypi_packages),
            local_module_paths=existing_paths(type(self).__name__, self.local_module_paths),
        )


def existing_paths(owner: str, paths: Iterable[str]) -> tuple[str, ...]:
    """``paths`` made absolute; a clear error for one that does not exist."""
    result: list[str] = []
    for path in paths:
        absolute = os.path.abspath(path)
        if not os.path.exists(absolute):
            msg = f"{owner}.local_module_paths: {path!r} does not exist (looked at {absolute})"
            raise ResolutionError(msg)
        result.append(absolute)
    return tuple(result)
