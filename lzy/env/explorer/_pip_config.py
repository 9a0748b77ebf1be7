"""The package index the user's pip is configured with, read the way ``pip install`` reads it.

pip takes each option from, highest priority first: the environment (``PIP_INDEX_URL``,
``PIP_EXTRA_INDEX_URL``, ``PIP_NO_INDEX``), then its configuration files, where the
``[install]`` section comes before ``[global]`` whatever file each is in. The files, later
ones overriding earlier ones: the global files (``$XDG_CONFIG_DIRS``'s ``pip/pip.conf``, then
``/etc/pip.conf``; the site-wide folder on macOS and Windows), the user files (``~/.pip/pip.conf``,
then ``~/.config/pip/pip.conf`` or the platform's equivalent), unless ``PIP_CONFIG_FILE`` names
an existing file), the site file (``pip.conf`` in ``sys.prefix``), then ``PIP_CONFIG_FILE``.
``PIP_CONFIG_FILE=/dev/null`` (``os.devnull``) turns every file off. Empty values are ignored.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Iterator, Mapping
from typing import Final

from lzy.env._base import redact_url

__all__ = ["PYPI_INDEX_URL", "PipIndex", "pip_index"]

#: PyPI's simple API: the index pip uses when configured with none.
PYPI_INDEX_URL: Final = "https://pypi.org/simple"

_NAME: Final = "pip.ini" if sys.platform == "win32" else "pip.conf"
_TRUE: Final = frozenset({"y", "yes", "t", "true", "on", "1"})
_DEFAULT_SOURCE: Final = "pip's default: no index configured"


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class PipIndex:
    """The indexes ``pip install`` would use here, and where each setting came from."""

    #: The index URL (``None`` when pip is configured with ``no-index``).
    index_url: str | None
    #: Where :attr:`index_url` came from: ``"PIP_INDEX_URL"``,
    #: ``"/etc/pip.conf [global] index-url"``, ``"PIP_NO_INDEX"`` or
    #: ``"pip's default: no index configured"``.
    index_source: str
    #: Extra index URLs.
    extra_index_urls: tuple[str, ...] = ()
    #: Where :attr:`extra_index_urls` came from (empty when there are none).
    extra_source: str = ""

    def describe(self) -> str:
        """One line saying which indexes and why, credentials masked."""
        if self.index_url is None:
            return f"no index: pip is configured with no-index ({self.index_source})"
        source = self.index_source if self.index_source == _DEFAULT_SOURCE else f"from {self.index_source}"
        text = f"{redact_url(self.index_url)} ({source})"
        if self.extra_index_urls:
            extras = " ".join(redact_url(u) for u in self.extra_index_urls)
            text += f", extra indexes {extras} (from {self.extra_source})"
        return text


def pip_index(environ: Mapping[str, str] | None = None) -> PipIndex:
    """The indexes pip is configured with, as ``pip install`` would read them now."""
    environ = os.environ if environ is None else environ
    values: dict[str, tuple[str, str]] = {}
    for path in _files(environ):
        for section, key, value in _read(path):
            values[f"{section}.{key}"] = (value, f"{path} [{section}] {key}")
    for name, value in environ.items():
        if name.startswith("PIP_") and value:
            key = name[4:].lower().replace("_", "-")
            values[f":env:.{key}"] = (value, name)

    def option(key: str) -> tuple[str, str] | None:
        for section in (":env:", "install", "global"):
            found = values.get(f"{section}.{key}")
            if found is not None and found[0].strip():
                return found
        return None

    no_index = option("no-index")
    if no_index is not None and no_index[0].strip().lower() in _TRUE:
        return PipIndex(index_url=None, index_source=no_index[1])
    index = option("index-url")
    extra = option("extra-index-url")
    extras = tuple(extra[0].split()) if extra is not None else ()
    return PipIndex(
        index_url=index[0].strip() if index is not None else PYPI_INDEX_URL,
        index_source=index[1] if index is not None else _DEFAULT_SOURCE,
        extra_index_urls=extras,
        extra_source=extra[1] if extra is not None and extras else "",
    )


def _files(environ: Mapping[str, str]) -> Iterator[str]:
    """pip's configuration files, lowest priority first."""
    named = environ.get("PIP_CONFIG_FILE")
    if named is not None and named == os.devnull:
        return
    yield from _global_files(environ)
    if not (named and os.path.exists(named)):
        yield os.path.join(os.path.expanduser("~"), "pip" if sys.platform == "win32" else ".pip", _NAME)
        yield os.path.join(_user_config_dir(environ), _NAME)
    yield os.path.join(sys.prefix, _NAME)
    if named:
        yield named


def _global_files(environ: Mapping[str, str]) -> Iterator[str]:
    import platformdirs  # noqa: PLC0415 - only where a default index is looked up

    if sys.platform == "darwin":
        yield os.path.join(platformdirs.site_data_dir("pip", appauthor=False), _NAME)
    elif sys.platform == "win32":
        yield os.path.join(platformdirs.site_config_dir("pip", appauthor=False), _NAME)
    else:
        folders = environ.get("XDG_CONFIG_DIRS") or "/etc/xdg"
        for folder in folders.split(os.pathsep):
            if folder:
                yield os.path.join(os.path.expanduser(folder.rstrip(os.sep)), "pip", _NAME)
        yield os.path.join("/etc", _NAME)


def _user_config_dir(environ: Mapping[str, str]) -> str:
    import platformdirs  # noqa: PLC0415 - only where a default index is looked up

    if sys.platform == "darwin":
        support = platformdirs.user_data_dir("pip", appauthor=False)
        return support if os.path.isdir(support) else os.path.expanduser("~/.config/pip")
    if sys.platform == "win32":
        return platformdirs.user_config_dir("pip", appauthor=False, roaming=True)
    home = environ.get("XDG_CONFIG_HOME", "").strip()
    base = home if os.path.isabs(home) else os.path.expanduser("~/.config")
    return os.path.join(base, "pip")


def _read(path: str) -> Iterator[tuple[str, str, str]]:
    """``(section, option, value)`` of a configuration file, names normalized as pip does."""
    if not os.path.isfile(path):
        return
    import configparser  # noqa: PLC0415 - only where a default index is looked up

    parser = configparser.RawConfigParser()
    try:
        parser.read(path, encoding="utf-8")
    except (configparser.Error, UnicodeDecodeError, OSError):
        return  # pip refuses to run with it; the index falls back as if it were absent.
    for section in parser.sections():
        for name, value in parser.items(section):
            key = name.lower().replace("_", "-").removeprefix("--")
            yield section, key, value
