""":class:`AutoEnvExplorer`: placeholder until the real explorer lands."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from lzy.env.explorer.base import EnvExplorer, Exploration

__all__ = ["AutoEnvExplorer"]


class AutoEnvExplorer(EnvExplorer):
    """Explores nothing yet."""

    def __init__(
        self,
        *,
        pypi_index_url: str | None = None,
        extra_index_urls: tuple[str, ...] = (),
        exclude_packages: Collection[str] = (),
        python_version: str | None = None,
        target_platform: str | None = None,
        raise_on_binaries: bool = True,
        treat_editables_as_locals: bool = True,
    ) -> None:
        self.pypi_index_url = pypi_index_url
        self.extra_index_urls = extra_index_urls
        self.exclude_packages = frozenset(exclude_packages)
        self.python_version = python_version
        self.target_platform = target_platform
        self.raise_on_binaries = raise_on_binaries
        self.treat_editables_as_locals = treat_editables_as_locals

    def explore(self, namespace: Mapping[str, object]) -> Exploration:
        """Return an empty exploration."""
        del namespace
        return Exploration()
