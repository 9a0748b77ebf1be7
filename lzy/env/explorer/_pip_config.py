"""The package index the user's pip is configured with, read the way ``pip install`` reads it.

pip takes each option from, highest priority first: the environment (``PIP_INDEX_URL``,
``PIP_EXTRA_INDEX_URL``, ``PIP_NO_INDEX``), then its configuration files, where the
``[install]`` section comes before ``[global]`` whatever file each is in. The files, later
ones overriding earlier ones: the global files (``$XDG_CONFIG_DIRS``'s ``pip/pip.conf``, then
``/etc/pip.conf``; the site-wide folder on macOS and Windows), the user files (``~/.pip/pip.conf``,
then ``~/.config/pip/pip.conf`` or the platform's equivalent), unless ``PIP_CONFIG_FILE`` names
an existing file), the site file (``pip.conf`` in ``sys.prefix``), then ``PIP_CONFIG_FILE``.
``PIP_CONFIG_FILE=/dev/null`` (``os.devnull``) turns every file off. Empty values are ignored.

What pip would refuse is refused too, naming where the value came from: a file pip cannot
parse, a ``no-index`` that is not a boolean pip reads (``yes``/``no``, ``true``/``false``,
``on``/``off``, ``1``/``0``), and an index URL that is not one lzy accepts as
:attr:`~lzy.env.python.auto.AutoPythonEnv.pypi_index_url` (a query, a fragment, several URLs
joined by commas, a path without ``file://``...). The problem is kept in
:attr:`PipIndex.problem`: resolving raises it, ``explain()`` shows it.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Iterator, Mapping
from typing import Final

from lzy._secrets import redact_text
from lzy.env._base import redact_url

__all__ = ["PYPI_INDEX_URL", "PipIndex", "pip_index"]

#: PyPI's simple API: the index pip uses when configured with none.
PYPI_INDEX_URL: Final = "https://pypi.org/simple"

_NAME: Final = "pip.ini" if sys.platform == "win32" else "pip.conf"
_TRUE: Final = frozenset({"y", "yes", "t", "true", "on", "1"})
_FALSE: Final = frozenset({"n", "no", "f", "false", "off", "0"})
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
    #: Why pip's configuration cannot be used (a value pip or lzy refuses, named with where it
    #: came from), or ``None``.
    problem: str | None = None

    def describe(self) -> str:
        """One line saying which indexes and why, credentials masked."""
        if self.problem is not None:
            return f"unusable: {self.problem}"
        if self.index_url is None:
            return f"no index: pip is configured with no-index ({self.index_source})"
        source = self.index_source if self.index_source == _DEFAULT_SOURCE else f"from {self.index_source}"
        text = f"{redact_url(self.index_url)} ({source})"
        if self.extra_index_urls:
            extras = " ".join(redact_url(u) for u in self.extra_index_urls)
            text += f", extra indexes {extras} (from {self.extra_source})"
        return text


def pip_index(environ: Mapping[str, str] | None = None) -> PipIndex:
    """The indexes pip is configured with, as ``pip install`` would read them now; a value
    that pip or lzy refuses is in :attr:`PipIndex.problem`."""
    environ = os.environ if environ is None else environ
    values: dict[str, tuple[str, str]] = {}
    for path in _files(environ):
        try:
            for section, key, value in _read(path):
                if value:  # pip ignores empty values
                    values[f"{section}.{key}"] = (value, f"{path} [{section}] {key}")
        except ValueError as error:
            return PipIndex(index_url=None, index_source=path, problem=str(error))
    for name, value in environ.items():
        if name.startswith("PIP_") and value:
            key = name[4:].lower().replace("_", "-")
            values[f":env:.{key}"] = (value, name)

    def option(key: str) -> tuple[str, str] | None:
        for section in (":env:", "install", "global"):
            found = values.get(f"{section}.{key}")
            if found is not None:
                return found
        return None

    no_index = option("no-index")
    if no_index is not None:
        flag = no_index[0].strip().lower()
        if flag in _TRUE:
            return PipIndex(index_url=None, index_source=no_index[1])
        if flag not in _FALSE:
            problem = (
                f"pip's no-index setting ({no_index[1]}) is {no_index[0]!r}, which is not a boolean pip"
                " reads (yes/no, true/false, on/off, 1/0); pip refuses it too"
            )
            return PipIndex(index_url=None, index_source=no_index[1], problem=problem)
    index = option("index-url")
    extra = option("extra-index-url")
    index_url = PYPI_INDEX_URL if index is None else index[0].strip()
    extras = tuple(extra[0].split()) if extra is not None else ()
    problems = [] if index is None else [_url_problem(index[0], f"index URL ({index[1]})")]
    if extra is not None:
        what = f"extra index URL{'s' if len(extras) > 1 else ''} ({extra[1]})"
        problems += [_url_problem(url, what) for url in extras] if extras else [f"pip's {what} is blank"]
    return PipIndex(
        index_url=index_url,
        index_source=index[1] if index is not None else _DEFAULT_SOURCE,
        extra_index_urls=extras,
        extra_source=extra[1] if extra is not None and extras else "",
        problem=next((p for p in problems if p), None),
    )


def _url_problem(value: str, what: str) -> str | None:
    """Why ``value`` cannot be used as the index URL ``what`` names (pip's ``index URL
    (PIP_INDEX_URL)``), with the value's secrets masked; ``None`` when it can."""
    from lzy.env._base import url  # noqa: PLC0415 - lzy's rule for an index URL
    from lzy.exceptions import ConfigurationError  # noqa: PLC0415

    if not value.strip():
        return f"pip's {what} is blank"
    try:
        url("pip", "index", value.strip())
    except ConfigurationError as error:
        # "pip.index must ..., got '...'": the same words, with where the value came from.
        return f"pip's {what} {str(error).removeprefix('pip.index ')}"
    return None


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
    # platformdirs' rule, which pip follows: any value that is not blank.
    home = environ.get("XDG_CONFIG_HOME", "")
    base = home if home.strip() else os.path.expanduser("~/.config")
    return os.path.join(base, "pip")


def _read(path: str) -> Iterator[tuple[str, str, str]]:
    """``(section, option, value)`` of a configuration file, names normalized as pip does;
    ``ValueError`` saying why for a file pip refuses to run with."""
    if not os.path.isfile(path):
        return
    import configparser  # noqa: PLC0415 - only where a default index is looked up
    import locale  # noqa: PLC0415

    parser = configparser.RawConfigParser()
    try:
        # pip reads its files in the locale's encoding.
        parser.read(path, encoding=locale.getpreferredencoding(False))
    except UnicodeDecodeError as error:
        msg = (
            f"pip's configuration file {path} is not text in this locale's encoding ({error.reason});"
            " pip refuses it too"
        )
        raise ValueError(msg) from error
    except configparser.Error as error:
        first = redact_text(str(error).splitlines()[0])
        msg = f"pip's configuration file {path} cannot be parsed ({first}); pip refuses it too"
        raise ValueError(msg) from error
    except OSError:
        return  # Unreadable: pip skips it as well.
    for section in parser.sections():
        for name, value in parser.items(section):
            key = name.lower().replace("_", "-").removeprefix("--")
            yield section, key, value
