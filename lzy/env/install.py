"""The install plan: what a target must do to provide a resolved Python env, as data.

A runtime never installs from a :class:`~lzy.env.environment.ResolvedEnv` directly: it first asks
:func:`plan_install` for an :class:`InstallPlan`, given a :class:`Target` that says what the
machine offers (conda, Python interpreters, platform), then executes the plan. The plan prints
(:meth:`InstallPlan.explain`), round-trips through JSON, and is the same whoever executes it.

The rules, one table (the ``install`` flag is ``False`` only for
:class:`~lzy.env.python.local.OnlyLocalPythonEnv`; every other Python env is "non-empty", even
with no packages, since it names a Python version to provide):

.. list-table::
   :header-rows: 1
   :widths: 20 25 55

   * - the Python env
     - the target
     - the plan
   * - ``install=False``
     - any
     - :attr:`~InstallMethod.NOTHING`: the target's Python as it is
   * - non-empty
     - has conda
     - :attr:`~InstallMethod.CONDA`: an ``environment.yml`` with ``python=X.Y`` and a ``pip:``
       section (the indexes and the exact pins)
   * - non-empty
     - no conda, ``pip_fallback``
     - :attr:`~InstallMethod.VIRTUALENV`: a virtualenv of a matching interpreter, the same pins
       from the same indexes
   * - non-empty
     - no conda, no fallback
     - :class:`~lzy.exceptions.InstallPlanError`

In every case the local modules are shipped and put first on ``sys.path`` (the op's own
``PYTHONPATH`` entries follow them, never dropped) and the op's ``environ`` is exported.

Index credentials stay in the plan's URLs, masked wherever the plan is shown or serialized; an
executor takes them out with :meth:`InstallPlan.netrc` and hands them to the installer in a
``.netrc`` file, never inside a URL or on a command line. A plan serialized without its secrets
(``to_json()``, the default) keeps ``***`` where each credential was: it describes the
environment but cannot build it, so :meth:`InstallPlan.netrc` refuses it, saying so, and its
:attr:`~InstallPlan.key` differs from the key of the plan with its credentials.
``to_json(include_secrets=True)`` writes a plan an executor can run.

The :attr:`~InstallPlan.key` names the environment a plan builds, by what the installer
would see: the interpreter chosen (not the version as it was asked for), the main index (or the
installer's default) apart from the extra ones, in their order, whether each carries
credentials (never the credentials themselves), and the pins with their names canonical
(``packaging.utils.canonicalize_name``) and their versions normalized (``23.2`` is
``23.2.0``). Two plans with one key build the same environment.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
import os
import posixpath
import urllib.parse
from collections.abc import Mapping, Sequence
from typing import Final

from packaging.utils import canonicalize_name, canonicalize_version
from packaging.version import InvalidVersion, Version

from lzy._secrets import MASK
from lzy.env._base import (
    EnvPart,
    FrozenMap,
    environ_field,
    environ_map,
    immutable,
    redact_url,
    shown_environ,
    split_credentials,
    url_field,
)
from lzy.env._serial import JsonDocument
from lzy.env.environment import ResolvedEnv, render_table
from lzy.env.python.base import python_version_matches
from lzy.exceptions import InstallPlanError

__all__ = [
    "InstallMethod",
    "InstallPlan",
    "Interpreter",
    "Target",
    "op_pythonpath",
    "plan_install",
]


def __dir__() -> list[str]:
    return __all__


#: The variable whose entries the op's process finds its modules by; shipped modules come first.
PYTHONPATH: Final = "PYTHONPATH"


class InstallMethod(enum.Enum):
    """How a target provides the Python environment of a plan."""

    #: Install nothing: run the target's Python as it is (only local modules are shipped).
    NOTHING = "nothing"
    #: Create a conda environment from :meth:`InstallPlan.environment_yml`.
    CONDA = "conda"
    #: Create a virtualenv of :attr:`InstallPlan.interpreter` and install the pins with pip or uv.
    VIRTUALENV = "virtualenv"


@immutable
@dataclasses.dataclass(frozen=True, kw_only=True, slots=True, order=True)
class Interpreter:
    """A Python interpreter a target has."""

    #: Its full version, ``"3.12.1"``.
    version: str
    #: The path of its executable on the target.
    path: str
    #: The implementation, as :data:`sys.implementation.name <sys.implementation>` says
    #: (``"cpython"``).
    implementation: str = "cpython"

    def matches(self, wanted: str | None) -> bool:
        """Whether this interpreter provides Python ``wanted`` (to the precision given)."""
        return wanted is None or python_version_matches(wanted, self.version)


def _version_key(version: str) -> Version:
    try:
        return Version(version)
    except InvalidVersion:
        return Version("0")


def _newest(interpreters: Sequence[Interpreter]) -> Interpreter:
    return max(interpreters, key=lambda interpreter: _version_key(interpreter.version))


@immutable
@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class Target:
    """What the machine that runs an op offers to install its Python environment."""

    #: A name for messages (``"this machine"``, ``"image ubuntu:24.04"``).
    name: str = "the target"
    #: Whether conda is there (then every non-empty Python env becomes a conda environment).
    conda: bool = False
    #: The CPython interpreters it has; empty when unknown (checked when the plan runs).
    interpreters: tuple[Interpreter, ...] = ()
    #: Its wheel platform tag (``"manylinux_2_28_x86_64"``), or ``None`` when unknown.
    platform: str | None = None
    #: Whether a non-empty env may be installed into a virtualenv with pip or uv when the target
    #: has no conda. Off, such an env is an :class:`~lzy.exceptions.InstallPlanError`.
    pip_fallback: bool = False


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True, repr=False)
class InstallPlan(EnvPart, JsonDocument):
    """The steps that give an op its Python environment on one target: plain data."""

    #: How the environment is provided.
    method: InstallMethod
    #: The target's name, for messages.
    target: str
    #: The Python version asked for (to the precision given), or ``None`` for any.
    python_version: str | None
    #: The interpreter to run (:attr:`~InstallMethod.NOTHING`) or to base the virtualenv on
    #: (:attr:`~InstallMethod.VIRTUALENV`); ``None`` when the target did not list its
    #: interpreters, or for conda, which brings its own.
    interpreter: Interpreter | None = None
    #: The package index the pins come from; ``None`` for the installer's default.
    index_url: str | None = url_field(default=None)
    #: Further indexes searched after :attr:`index_url`.
    extra_index_urls: tuple[str, ...] = url_field(default=())
    #: The distributions to install: name -> exact version.
    packages: FrozenMap[str, str] = dataclasses.field(default_factory=FrozenMap[str, str])
    #: Local modules and packages (absolute paths) shipped with the op and put first on
    #: ``sys.path``.
    local_module_paths: tuple[str, ...] = ()
    #: The environment variables the op runs with (secret values masked when shown, left out
    #: of :meth:`to_dict` unless secrets are asked for).
    environ: Mapping[str, str] = environ_field()
    #: The target's wheel platform tag, when known.
    platform: str | None = None

    def __post_init__(self) -> None:
        # A plan rebuilt from JSON gets the same masked, checked mapping as one made here.
        object.__setattr__(self, "environ", environ_map("InstallPlan", "environ", self.environ))

    def requirements(self) -> tuple[str, ...]:
        """One ``name==version`` line per pinned distribution, sorted by name."""
        return tuple(f"{name}=={version}" for name, version in sorted(self.packages.items()))

    def index_options(self) -> tuple[str, ...]:
        """``--index-url`` and ``--extra-index-url`` options, with the URLs' credentials taken out."""
        options: list[str] = []
        if self.index_url is not None:
            options += ["--index-url", split_credentials(self.index_url)[0]]
        for extra in self.extra_index_urls:
            options += ["--extra-index-url", split_credentials(extra)[0]]
        return tuple(options)

    def netrc(self) -> str | None:
        """The text of a ``.netrc`` file holding the indexes' credentials, or ``None``.

        The text is a secret: write it to a file only its owner can read and point the
        installer at it (``NETRC``); never show it. Raises
        :class:`~lzy.exceptions.InstallPlanError` for two different credentials on one host,
        or a credential a ``.netrc`` cannot hold.
        """
        entries: dict[str, tuple[str, str]] = {}
        for url in (self.index_url, *self.extra_index_urls):
            if url is None:
                continue
            bare, credentials = split_credentials(url)
            if credentials is None:
                continue
            if _masked(credentials):
                raise InstallPlanError(_masked_message(url))
            host = urllib.parse.urlsplit(bare).hostname or ""
            unsafe = [t for t in credentials if any(c.isspace() or c in "\"'\\#" for c in t)]
            if not credentials[0] or unsafe:
                msg = (
                    f"the credentials of index {redact_url(url)} cannot travel in a .netrc file"
                    " (no user name, or spaces, quotes, '#' or backslashes); configure them for the"
                    " installer yourself (a .netrc or keyring) and give the index URL without them"
                )
                raise InstallPlanError(msg)
            if entries.get(host, credentials) != credentials:
                msg = f"two indexes on host {host} carry different credentials; a .netrc holds one per host"
                raise InstallPlanError(msg)
            entries[host] = credentials
        if not entries:
            return None
        # A token given as the user name alone (https://TOKEN@host/) is a login without password.
        return "".join(
            f"machine {host}\n  login {user}\n" + (f"  password {password}\n" if password else "")
            for host, (user, password) in sorted(entries.items())
        )

    def environment_yml(self) -> str | None:
        """The conda ``environment.yml`` of a :attr:`~InstallMethod.CONDA` plan, else ``None``.

        Its ``pip:`` section names the indexes without credentials (see :meth:`netrc`) and the
        exact pins.
        """
        if self.method is not InstallMethod.CONDA:
            return None
        lines = [f"name: lzy-{self.key[:16]}", "channels:", "  - conda-forge", "dependencies:"]
        python = self.python_version or ""
        lines.append(f"  - python={python}" if python else "  - python")
        if self.packages:
            lines += ["  - pip", "  - pip:"]
            options = self.index_options()
            entries = [f"{option} {value}" for option, value in zip(options[::2], options[1::2], strict=True)]
            # JSON strings are YAML's double-quoted scalars: any character survives.
            lines += [f"    - {json.dumps(entry)}" for entry in [*entries, *self.requirements()]]
        return "\n".join(lines) + "\n"

    def pythonpath(self, shipped: Sequence[str]) -> str | None:
        """The ``PYTHONPATH`` the op runs with, by :func:`op_pythonpath`."""
        return op_pythonpath(shipped, self.environ)

    @property
    def key(self) -> str:
        """A hash of everything that defines the built environment (not its shipped modules or
        variables, which are applied per call): two plans with one key can share it.

        Values are normalized first, so plans that build the same environment share one key: the
        interpreter chosen stands for the Python version asked for (``"3"``, ``"3.12"`` and
        ``"3.12.1"`` may all choose it), project names are canonical and versions normalized.
        The indexes keep their roles and order (the main one, or the installer's default, then
        the extra ones), and for each only whether it carries credentials, or masked ones (a
        plan serialized without secrets, which can never build it): never the credentials.
        """
        identity = {
            "schema": self.SCHEMA_VERSION,
            "method": self.method.value,
            # The version asked for matters only where no interpreter was chosen (conda's
            # python=X.Y, a target that did not list its interpreters).
            "python_version": self.python_version if self.interpreter is None else None,
            "interpreter": None if self.interpreter is None else dataclasses.asdict(self.interpreter),
            "index": None if self.index_url is None else _index_identity(self.index_url),
            "extra_indexes": [_index_identity(url) for url in self.extra_index_urls],
            "packages": sorted(_pin_identity(name, version) for name, version in self.packages.items()),
            "platform": self.platform,
        }
        return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()

    def steps(self) -> tuple[str, ...]:
        """The plan in words, one step a line, secrets masked."""
        found = self.interpreter
        shown = f"Python {found.version} at {found.path}" if found is not None else None
        steps: list[str] = []
        if self.method is InstallMethod.NOTHING:
            steps.append(f"install nothing: run {shown or 'the Python the target has'} as it is")
        elif self.method is InstallMethod.CONDA:
            steps.append(f"create a conda environment with python={self.python_version or 'any'}")
        else:
            steps.append(f"create a virtualenv of {shown or f'Python {self.python_version}'}")
        if self.method is not InstallMethod.NOTHING:
            if self.packages:
                indexes = [redact_url(u) for u in (self.index_url, *self.extra_index_urls) if u]
                source = ", then ".join(indexes) or "the installer's default index"
                steps.append(f"install {len(self.packages)} pinned distributions from {source}")
            else:
                steps.append("install no distributions")
        if self.local_module_paths:
            steps.append(
                f"ship {len(self.local_module_paths)} local modules, first on sys.path: "
                + ", ".join(posixpath.basename(p.rstrip("/\\")) or p for p in self.local_module_paths)
            )
        if self.environ:
            names = ", ".join(sorted(shown_environ(self.environ)))
            steps.append(f"export {len(self.environ)} environment variables: {names}")
        return tuple(steps)

    def explain(self) -> str:
        """The plan as a table: its steps, then each pinned distribution."""
        lines = [f"Install plan for {self.target} ({self.method.value}):"]
        lines += [f"  {number}. {step}" for number, step in enumerate(self.steps(), start=1)]
        if self.packages:
            lines.append("")
            lines.append(render_table(("package", "version"), sorted(self.packages.items())))
        return "\n".join(lines)


def _masked(credentials: tuple[str, str]) -> bool:
    """Whether ``credentials`` are the mask a serialization without secrets left in a URL."""
    return MASK in credentials


def _masked_message(url: str) -> str:
    return (
        f"the credentials of index {redact_url(url)} were masked: the plan (or env) was"
        " serialized without its secrets (to_json() leaves them out), so it cannot install from"
        " that index; serialize it with to_json() with include_secrets set to True, or give the"
        " index URL with its credentials again"
    )


def _index_identity(url: str) -> list[str]:
    """An index as the key sees it: its URL without credentials (and without a trailing
    slash, which no installer minds), and whether credentials come with it."""
    bare, credentials = split_credentials(url)
    state = "none" if credentials is None else "masked" if _masked(credentials) else "given"
    return [bare.rstrip("/"), state]


def _pin_identity(name: str, version: str) -> tuple[str, str]:
    """A pin as the key sees it: the canonical project name and the normalized version
    (``23.2.0`` is ``23.2``; a version that does not parse is kept as written)."""
    try:
        normalized = canonicalize_version(Version(version), strip_trailing_zero=True)
    except InvalidVersion:
        normalized = version.strip()
    return str(canonicalize_name(name.strip())), normalized


def op_pythonpath(
    shipped: Sequence[str], environ: Mapping[str, str], *, after: Sequence[str] = ()
) -> str | None:
    """The ``PYTHONPATH`` an op runs with: the directories holding its shipped modules first,
    then the entries of its own ``PYTHONPATH`` (set in ``environ``), then ``after`` (what the
    runtime itself needs), in that order, each once and none dropped; ``None`` when empty."""
    own = environ.get(PYTHONPATH, "").split(os.pathsep)
    entries = [entry for entry in (*shipped, *own, *after) if entry]
    return os.pathsep.join(dict.fromkeys(entries)) or None


def _describe_env(env: ResolvedEnv) -> str:
    python = env.python_env
    count = len(python.pypi_packages)
    plural = "" if count == 1 else "s"
    return f"Python {python.python_version or 'any'} with {count} pinned distribution{plural}"


def _interpreter(env: ResolvedEnv, target: Target) -> Interpreter | None:
    """The target's newest interpreter for the env's Python version; ``None`` when the target
    did not list its interpreters. Raises when it listed some and none fits."""
    wanted = env.python_env.python_version
    if not target.interpreters:
        return None
    fitting = [i for i in target.interpreters if i.implementation == "cpython" and i.matches(wanted)]
    if fitting:
        return _newest(fitting)
    versions = sorted({i.version for i in target.interpreters}, key=_version_key)
    msg = (
        f"Python {wanted}: {target.name} has no CPython of that version (it has {', '.join(versions)});"
        " install one (pyenv, uv python install, your package manager) or change python_version"
    )
    raise InstallPlanError(msg)


def plan_install(env: ResolvedEnv, target: Target) -> InstallPlan:
    """The plan that gives ``env``'s Python environment on ``target``, by the table in this
    module's documentation.

    Raises :class:`~lzy.exceptions.InstallPlanError` when the target cannot provide it: a
    non-empty env on a target without conda and without ``pip_fallback``, or no interpreter of
    the version asked for.
    """
    python = env.python_env
    plan = InstallPlan(
        method=InstallMethod.NOTHING,
        target=target.name,
        python_version=python.python_version,
        local_module_paths=python.local_module_paths,
        environ=env.environ,
        platform=target.platform,
    )
    if not python.install:
        return dataclasses.replace(plan, interpreter=_interpreter(env, target))
    plan = dataclasses.replace(
        plan,
        index_url=python.pypi_index_url,
        extra_index_urls=python.extra_index_urls,
        packages=python.pypi_packages,
    )
    if target.conda:
        return dataclasses.replace(plan, method=InstallMethod.CONDA)
    if not target.pip_fallback:
        msg = (
            f"the Python env is not empty ({_describe_env(env)}) and {target.name} has no conda"
            " to install it; allow the virtualenv + pip fallback (pip_fallback=True), use an"
            " image with conda, or use OnlyLocalPythonEnv if the image already has everything"
        )
        raise InstallPlanError(msg)
    return dataclasses.replace(plan, method=InstallMethod.VIRTUALENV, interpreter=_interpreter(env, target))
