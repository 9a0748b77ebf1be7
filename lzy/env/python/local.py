""":class:`OnlyLocalPythonEnv`: install nothing remotely; ship only the op's local modules."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from lzy.env._base import FrozenMap, expect_bool, expect_callable
from lzy.env.explorer.auto import AutoEnvExplorer
from lzy.env.explorer.base import Classification, ExplorerFactory
from lzy.env.python.auto import make_explorer
from lzy.env.python.base import PythonEnv, ResolvedPythonEnv, check_python_version

__all__ = ["OnlyLocalPythonEnv"]


def __dir__() -> list[str]:
    return __all__


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True, repr=False)
class OnlyLocalPythonEnv(PythonEnv):
    """Use the container's Python as it is; only the op's local modules are shipped.

    Choose it when the container image already holds every package the op needs.

    :param python_version: The Python version the container must have, matched to the precision given; ``None`` accepts whatever the container has. Default: ``None``.
    :param explorer: Builds the explorer that finds the local modules; it is given no index, so it does not query one. See :attr:`AutoPythonEnv.explorer <lzy.env.python.auto.AutoPythonEnv.explorer>`. Default: ``AutoEnvExplorer``.
    :param raise_on_binaries: Whether a local module with compiled code is an error (else a warning). Default: ``True``.
    :param treat_editables_as_locals: Whether editable installs are shipped as local code. Default: ``True``.
    """  # noqa: E501 - one line per parameter, as editors read them

    #: The Python version the container must have, matched to the precision given;
    #: ``None`` accepts whatever the container has.
    python_version: str | None = None
    #: Builds the explorer that finds the local modules; it is given no index, so it does not
    #: query one. See :attr:`AutoPythonEnv.explorer <lzy.env.python.auto.AutoPythonEnv.explorer>`.
    explorer: ExplorerFactory = AutoEnvExplorer
    #: Whether a local module with compiled code is an error (else a warning).
    raise_on_binaries: bool = True
    #: Whether editable installs are shipped as local code.
    treat_editables_as_locals: bool = True

    def __post_init__(self) -> None:
        name = type(self).__name__
        if self.python_version is not None:
            object.__setattr__(self, "python_version", check_python_version(name, self.python_version))
        expect_callable(f"{name}.explorer", self.explorer, "a callable that returns an EnvExplorer")
        expect_bool(self, "raise_on_binaries", self.raise_on_binaries)
        expect_bool(self, "treat_editables_as_locals", self.treat_editables_as_locals)

    def resolve(self, namespace: Mapping[str, object]) -> ResolvedPythonEnv:
        """Explore ``namespace`` for local modules only; nothing is installed."""
        settings: dict[str, object] = {
            "pypi_index_url": None,
            "extra_index_urls": (),
            "exclude_packages": frozenset[str](),
            # "3" (any Python 3) is a valid check of the container's Python, but the explorer
            # reads Requires-Python for one X.Y: it then takes the running interpreter's.
            "python_version": self.python_version if "." in (self.python_version or "") else None,
            "raise_on_binaries": self.raise_on_binaries,
            "treat_editables_as_locals": self.treat_editables_as_locals,
        }
        found = make_explorer(self.explorer, settings, owner=type(self).__name__).explore(namespace)
        local = tuple(d for d in found.decisions if d.classification is Classification.LOCAL)
        return ResolvedPythonEnv(
            install=False,
            python_version=self.python_version,
            pypi_packages=FrozenMap[str, str](),
            local_module_paths=found.local_module_paths,
            decisions=local,
        )
