"""Asking a container registry whether an image exists for a platform.

The client speaks the Registry HTTP API v2 (the OCI distribution spec), as a pull would:

1. ``GET /v2/``: is this a registry, and which authentication does it ask for
   (``WWW-Authenticate``: ``Basic``, or ``Bearer`` with a token service)?
2. For ``Bearer``, a token for ``scope=repository:<path>:pull`` from the token service, asked
   with the credentials (HTTP Basic), anonymously without them, or with an identity token
   (OAuth2 ``refresh_token`` grant) when the user name is ``<token>``.
3. ``GET /v2/<path>/manifests/<tag or digest>``, accepting the Docker v2 and OCI manifest and
   index media types; the digest of what the reference points to is computed from the body
   and compared with the one the registry announces.
4. For an index (a multi-platform image), the entry for the target platform, whose manifest
   must exist (``HEAD``); for a single manifest, its configuration blob, which names the
   platform the image was built for.

Credentials travel only as HTTP authentication, never in a URL, a log record or a message.
Every request is bounded: a connect and read timeout, bounded retries of timeouts, connection
errors, ``429`` and ``5xx`` answers, a size limit on every body, and a deadline for the whole
check.
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import hashlib
import ipaddress
import json
import logging
import math
import os
import re
import ssl
import time
import urllib.parse
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Final, Literal, cast

from lzy.env._base import EnvPart, describe, immutable, secret
from lzy.exceptions import (
    FieldTypeError,
    FieldValueError,
    ManifestNotFoundError,
    NotAnImageError,
    NotARegistryError,
    PlatformNotFoundError,
    RegistryAccessDeniedError,
    RegistryCredentialsRejectedError,
    RegistryCredentialsRequiredError,
    RegistryError,
    RegistryProtocolError,
    RegistryUnreachableError,
    RepositoryNotFoundError,
)

if TYPE_CHECKING:
    # Imported where used at run time: most processes that import lzy never ask a registry.
    import httpx

    from lzy.env._http import Deadline

__all__ = [
    "DEADLINE_ENV",
    "DEFAULT_PLATFORM",
    "DOCKER_MANIFEST",
    "DOCKER_MANIFEST_LIST",
    "IDENTITY_TOKEN_USER",
    "INSECURE_ENV",
    "OCI_INDEX",
    "OCI_MANIFEST",
    "Credentials",
    "ImageCheck",
    "Platform",
    "RegistrySettings",
    "check_image",
    "is_loopback",
    "masked_host",
    "masked_reference",
    "registry_host",
]


def __dir__() -> list[str]:
    return __all__


_log = logging.getLogger("lzy.env.container")

#: Media type of a Docker image manifest (schema 2).
DOCKER_MANIFEST: Final = "application/vnd.docker.distribution.manifest.v2+json"
#: Media type of a Docker manifest list (a multi-platform image).
DOCKER_MANIFEST_LIST: Final = "application/vnd.docker.distribution.manifest.list.v2+json"
#: Media type of an OCI image manifest.
OCI_MANIFEST: Final = "application/vnd.oci.image.manifest.v1+json"
#: Media type of an OCI image index (a multi-platform image).
OCI_INDEX: Final = "application/vnd.oci.image.index.v1+json"
#: The user name by which a credential helper or ``auths`` entry marks its secret as an identity
#: token (an OAuth2 refresh token) rather than a password.
IDENTITY_TOKEN_USER: Final = "<token>"

_MANIFESTS: Final = frozenset({DOCKER_MANIFEST, OCI_MANIFEST})
_INDEXES: Final = frozenset({DOCKER_MANIFEST_LIST, OCI_INDEX})
_SCHEMA1: Final = frozenset(
    {
        "application/vnd.docker.distribution.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v1+prettyjws",
    }
)
_IMAGE_CONFIGS: Final = frozenset(
    {"application/vnd.docker.container.image.v1+json", "application/vnd.oci.image.config.v1+json"}
)
_ACCEPT: Final = ", ".join([OCI_INDEX, DOCKER_MANIFEST_LIST, OCI_MANIFEST, DOCKER_MANIFEST])
#: Answers worth retrying: the server may do better a moment later.
_RETRY_STATUS: Final = frozenset({429, 500, 502, 503, 504})
#: The distribution registry refuses manifests larger than this; so does the client.
_MANIFEST_LIMIT: Final = 4 * 1024 * 1024
_CONFIG_LIMIT: Final = 8 * 1024 * 1024
_ERROR_LIMIT: Final = 64 * 1024
_MAX_INDEX_DEPTH: Final = 4
_USER_AGENT: Final = "lzy-registry-check"
_HASHES: Final = {"sha256": 64, "sha512": 128}
#: White space a value may be written with: ASCII only (a no-break space is not white space here).
_ASCII_SPACE: Final = " \t\n\r\x0b\x0c"
#: The environment variable that sets :attr:`RegistrySettings.deadline` for checks given no
#: settings (:meth:`RegistrySettings.from_environ`).
DEADLINE_ENV: Final = "LZY_REGISTRY_DEADLINE"
#: The environment variable that adds :attr:`RegistrySettings.insecure_registries` (hosts
#: separated by commas) for checks given no settings (:meth:`RegistrySettings.from_environ`).
INSECURE_ENV: Final = "LZY_INSECURE_REGISTRIES"
#: Docker Hub's registry API lives on another host than its name.
_API_HOSTS: Final = {"docker.io": "registry-1.docker.io"}

# --------------------------------------------------------------------------------------------
# Registry hosts

_DOMAIN_COMPONENT: Final = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_HOST_RE: Final = re.compile(
    rf"(?P<host>{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[(?P<ipv6>[^\]]*)\])"
    r"(?::(?P<port>[0-9]{1,5}))?"
)


_SCHEME_PREFIX: Final = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
#: What may follow the ``@`` of a digest: an algorithm and an encoded value, but not a host's port
#: (``user:password@host:5000`` has credentials, not a digest).
_DIGEST_LIKE: Final = re.compile(
    r"[a-z0-9]+(?:[+._-][a-z0-9]+)*:(?![0-9]{1,5}$)[A-Za-z0-9=_-]*|sha[0-9]+|blake[0-9a-z]+|md5"
)


def _split_scheme(value: str) -> tuple[str, str]:
    match = _SCHEME_PREFIX.match(value)
    prefix = match.group(0) if match else ""
    return prefix, value[len(prefix) :]


def masked_host(value: str) -> str:
    """A registry ``value`` as it may be shown: everything before its last ``@`` (credentials)
    becomes ``***``."""
    prefix, rest = _split_scheme(value)
    if "@" not in rest:
        return value
    return f"{prefix}***@{rest.rpartition('@')[2]}"


def masked_reference(value: str) -> str:
    """An image reference as it may be shown: an ``@`` that does not introduce a digest ends
    credentials, and everything before it becomes ``***``."""
    prefix, rest = _split_scheme(value)
    name, at, tail = rest.rpartition("@")
    if not at:
        return value
    if _DIGEST_LIKE.fullmatch(tail):
        return f"{masked_reference(prefix + name)}@{tail}"
    return f"{prefix}***@{tail}"


def registry_host(where: str, value: object) -> str:
    """``value`` if it is a registry host, ``host[:port]``, lower-cased; else a clear error.

    A host is a DNS name of ASCII letters, digits and ``-``, an IPv4 address or a bracketed
    IPv6 address; a port is 1 to 65535. A scheme, a path or credentials are refused, and the
    refused value is shown with its credentials masked.
    """
    if not isinstance(value, str):
        msg = f"{where} must be a str (host[:port]), got {describe(value)} ({type(value).__name__})"
        raise FieldTypeError(msg)
    allowed = "a registry host, host[:port], like 'ghcr.io' or 'localhost:5000'"
    shown = repr(masked_host(value))
    prefix, rest = _split_scheme(value)
    if prefix or "@" in value:
        what = " and ".join(w for w, bad in (("a scheme", prefix), ("credentials", "@" in value)) if bad)
        bare = rest.rpartition("@")[2].split("/", 1)[0]
        hint = f"; did you mean {bare!r}?" if bare and "@" not in value else ""
        msg = (
            f"{where} must be {allowed}, without {what}, got {shown}{hint}"
            " (credentials come from username=/password= or the Docker configuration)"
        )
        raise FieldValueError(msg)
    match = _HOST_RE.fullmatch(value)
    if match is None:
        bad = next((c for c in value if not (c.isascii() and (c.isalnum() or c in ".-:[]"))), None)
        if "/" in value:
            problem = "which has a path"
        elif bad is not None:
            problem = f"which has {bad!r}; a host is ASCII letters, digits, '-' and '.'"
        else:
            problem = "which is not a host name, an IPv4 address or a bracketed IPv6 address"
        msg = f"{where} must be {allowed}, got {shown}, {problem}"
        raise FieldValueError(msg)
    port = match["port"]
    if port is not None and not 1 <= int(port) <= 65535:
        msg = f"{where}: port {port} in {shown} is out of range (1 to 65535)"
        raise FieldValueError(msg)
    name = match["host"]
    if match["ipv6"] is None and (len(name) > 253 or any(len(label) > 63 for label in name.split("."))):
        msg = (
            f"{where} must be {allowed}, got {describe(value)}, a host name longer than DNS allows"
            " (253 characters, 63 to a label)"
        )
        raise FieldValueError(msg)
    if match["ipv6"] is not None:
        address = match["ipv6"]
        try:
            # The reference grammar allows hex digits and ':' only: no zone index ('%eth0'),
            # which ipaddress would accept, and no embedded IPv4 address.
            valid = re.fullmatch(r"[0-9A-Fa-f:]+", address) is not None and bool(
                ipaddress.IPv6Address(address)
            )
        except ValueError:
            valid = False
        if not valid:
            msg = (
                f"{where} must be {allowed}, got {shown}, whose address is not an IPv6 address of"
                " hex digits and ':' (a zone index like '%eth0' is not allowed in an image reference)"
            )
            raise FieldValueError(msg)
    return value.lower()


def is_loopback(host: str) -> bool:
    """Whether registry ``host`` (``host[:port]``) is this machine: ``localhost``, ``127.0.0.0/8``
    or ``::1``. Like the docker daemon, the check reaches such registries over plain HTTP when
    HTTPS fails."""
    name = host.rsplit(":", 1)[0] if not host.startswith("[") else host[1:].split("]", 1)[0]
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


# --------------------------------------------------------------------------------------------
# Platforms

#: Architecture names that machines and tools use, mapped to the names images use (with the
#: variant they imply), the way containerd normalises them.
_ARCHITECTURES: Final[Mapping[str, tuple[str, str | None]]] = {
    "amd64": ("amd64", None),
    "x86_64": ("amd64", None),
    "x86-64": ("amd64", None),
    "x64": ("amd64", None),
    "arm64": ("arm64", None),
    "aarch64": ("arm64", None),
    "arm": ("arm", None),
    "armhf": ("arm", "v7"),
    "armv7l": ("arm", "v7"),
    "armel": ("arm", "v6"),
    "armv6l": ("arm", "v6"),
    "386": ("386", None),
    "i386": ("386", None),
    "i686": ("386", None),
    "ppc64le": ("ppc64le", None),
    "s390x": ("s390x", None),
    "riscv64": ("riscv64", None),
    "mips64le": ("mips64le", None),
    "loong64": ("loong64", None),
}
_PLATFORM_PART: Final = re.compile(r"[a-z0-9][a-z0-9._-]*")


#: Variants written for an architecture's base, which containerd's canonical form leaves out.
_BASE_VARIANTS: Final = frozenset({("amd64", "v1"), ("arm64", "8"), ("arm64", "v8"), ("arm64", "v8.0")})


def _normalized(os_name: str, architecture: str, variant: str | None) -> tuple[str, str, str]:
    """``(os, architecture, variant)`` in containerd's canonical form (its ``Normalize``):
    aliases resolved, and the variant an architecture has when none is written left out
    (``amd64`` is ``amd64/v1``, ``arm64`` is ``arm64/v8``) or written in (``arm`` is ``arm/v7``)."""
    architecture, implied = _ARCHITECTURES.get(architecture.lower(), (architecture.lower(), None))
    shown = (variant or implied or "").lower()
    if (architecture, shown) in _BASE_VARIANTS:
        shown = ""
    elif architecture == "arm64" and shown in {"9", "9.0", "v9.0"}:
        shown = "v9"
    elif architecture == "arm" and shown in {"", "7"}:
        shown = "v7"
    elif architecture == "arm" and shown in {"5", "6", "8"}:
        shown = f"v{shown}"
    return os_name.lower(), architecture, shown


def _version(variant: str) -> int | None:
    number = variant.removeprefix("v")
    return int(number) if number.isascii() and number.isdigit() else None


def _runs_on(os_name: str, architecture: str, variant: str) -> list[tuple[str, str, str]]:
    """What a machine of this normalised platform runs, best first: containerd's platform
    vector (``platforms.Only``), each entry normalised."""
    vector = [(os_name, architecture, variant)]
    if architecture == "amd64":
        level = _version(variant)
        if level is not None and level > 1:
            vector += [(os_name, "amd64", f"v{n}") for n in range(level - 1, 0, -1)]
        vector.append((os_name, "386", ""))
    elif architecture == "arm":
        level = _version(variant)
        if level is not None and level > 5:
            vector += [(os_name, "arm", f"v{n}") for n in range(level - 1, 4, -1)]
    elif architecture == "arm64":
        written = variant or "v8"
        major_text, dot, minor_text = written.partition(".")
        major = _version(major_text)
        if major is not None and major >= 8:
            minor = int(minor_text) if dot and minor_text.isascii() and minor_text.isdigit() else 0
            if major == 9:
                below = range(minor - 1, -1, -1)
                vector += [(os_name, "arm64", f"v9.{n}" if n else "v9") for n in below]
                # v9.x has what v8.(x+5) has, up to v8.9.
                major, minor = 8, min(minor + 5, 9)
                vector.append((os_name, "arm64", f"v8.{minor}"))
            vector += [(os_name, "arm64", f"v8.{n}" if n else "v8") for n in range(minor - 1, -1, -1)]
        # Every arm64 machine runs 32-bit arm images up to arm/v8.
        arm = "v8" if written.startswith(("v8.", "v9.")) else written
        vector += _runs_on(os_name, "arm", arm)
    return list(dict.fromkeys(_normalized(*entry) for entry in vector))


@immutable
@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class Platform:
    """The operating system and CPU architecture an image is built for (``linux/amd64``)."""

    #: The operating system, as images name it (``"linux"``, ``"windows"``).
    os: str
    #: The CPU architecture, as images name it (``"amd64"``, ``"arm64"``, ``"arm"``).
    architecture: str
    #: The architecture's variant (``"v7"`` for ``linux/arm/v7``, ``"v3"`` for
    #: ``linux/amd64/v3``), or ``None`` for the architecture's base: ``amd64`` is ``amd64/v1``,
    #: ``arm64`` is ``arm64/v8``, ``arm`` is ``arm/v7``.
    variant: str | None = None

    @classmethod
    def parse(cls, text: object) -> Platform:
        """Parse ``os/architecture[/variant]`` (``"linux/arm64"``, ``"linux/arm/v7"``).

        Architecture aliases are normalised the way containerd does (``x86_64`` is ``amd64``,
        ``aarch64`` is ``arm64``). Raises :class:`~lzy.exceptions.FieldValueError` otherwise.
        """
        if not isinstance(text, str):
            msg = f"platform must be a str like 'linux/amd64' or a Platform, got {describe(text)}"
            raise FieldTypeError(msg)
        # ASCII only, before any case folding: "\u212a" (the Kelvin sign) lower-cases to "k".
        parts = text.strip(_ASCII_SPACE).split("/") if text.isascii() else []
        parts = [p.lower() for p in parts]
        if not 2 <= len(parts) <= 3 or not all(_PLATFORM_PART.fullmatch(p) for p in parts):
            msg = (
                f"platform {text!r} is not of the form os/architecture[/variant] in ASCII,"
                " like 'linux/amd64', 'linux/arm64' or 'linux/arm/v7'"
            )
            raise FieldValueError(msg)
        os_name, architecture = parts[0], parts[1]
        variant = parts[2] if len(parts) == 3 else None
        architecture, implied = _ARCHITECTURES.get(architecture, (architecture, None))
        return cls(os=os_name, architecture=architecture, variant=variant or implied)

    @classmethod
    def for_cpu_type(cls, cpu_type: str | None) -> Platform:
        """The Linux platform of a machine whose :attr:`Provisioning.cpu_type
        <lzy.env.provisioning.Provisioning.cpu_type>` is ``cpu_type``: ``linux/amd64`` for
        ``None``, else the architecture it names (``"x86_64"``, ``"aarch64"``, ``"arm64"``...).

        Raises :class:`~lzy.exceptions.FieldValueError` for a ``cpu_type`` that names a CPU
        model rather than an architecture: pass a platform explicitly then.
        """
        if cpu_type is None:
            return DEFAULT_PLATFORM
        known = _ARCHITECTURES.get(cpu_type.strip(_ASCII_SPACE).lower()) if cpu_type.isascii() else None
        if known is None:
            names = ", ".join(sorted(_ARCHITECTURES))
            msg = (
                f"cpu_type {cpu_type!r} names no CPU architecture, so the image platform cannot"
                f" be told from it (architectures: {names}); give the platform explicitly,"
                " like platform='linux/amd64'"
            )
            raise FieldValueError(msg)
        architecture, variant = known
        return cls(os="linux", architecture=architecture, variant=variant)

    def __str__(self) -> str:
        text = f"{self.os}/{self.architecture}"
        return f"{text}/{self.variant}" if self.variant else text

    def _vector(self) -> list[tuple[str, str, str]]:
        return _runs_on(*_normalized(self.os, self.architecture, self.variant))

    def accepts(self, other: Platform) -> bool:
        """Whether an image built for ``other`` runs on a machine of this platform, as
        containerd decides it (``platforms.Only``): the same OS, and an architecture and variant
        the machine runs. ``amd64`` (``v1``) runs ``amd64`` and ``amd64/v1`` images, not
        ``amd64/v2`` or ``v3``; ``amd64/v3`` runs ``v3``, ``v2`` and ``v1``; ``arm/v7`` runs
        ``arm/v7``, ``v6`` and ``v5``; ``arm64`` is ``arm64/v8``; ``amd64`` also runs ``386``, and
        ``arm64`` 32-bit ``arm`` up to ``arm/v8``."""
        return _normalized(other.os, other.architecture, other.variant) in self._vector()

    def preference(self, other: Platform) -> int | None:
        """How well an image for ``other`` suits this platform: ``0`` for an exact match, higher
        for an image the machine runs less natively, ``None`` when it does not run it."""
        vector = self._vector()
        found = _normalized(other.os, other.architecture, other.variant)
        return vector.index(found) if found in vector else None


#: The platform an image is checked for unless told otherwise.
DEFAULT_PLATFORM: Final = Platform(os="linux", architecture="amd64")


def _platform_of(value: object) -> Platform | None:
    """The platform of an index entry or image configuration, if it names one."""
    if not isinstance(value, dict):
        return None
    fields = cast("dict[str, object]", value)
    os_name, architecture, variant = fields.get("os"), fields.get("architecture"), fields.get("variant")
    if not isinstance(os_name, str) or not isinstance(architecture, str) or not os_name or not architecture:
        return None
    if os_name == "unknown" or architecture == "unknown":
        return None  # build attestations and signatures: not runnable images
    normalised, implied = _ARCHITECTURES.get(architecture.lower(), (architecture.lower(), None))
    shown_variant = variant if isinstance(variant, str) and variant else implied
    return Platform(os=os_name.lower(), architecture=normalised, variant=shown_variant)


# --------------------------------------------------------------------------------------------
# Settings, credentials and the result


def _positive(where: str, value: object, *, zero: bool = False) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or not (value >= 0 if zero else value > 0)
    ):
        wanted = "a finite number >= 0" if zero else "a finite number > 0"
        msg = f"{where} must be {wanted} (seconds), got {describe(value)}"
        raise FieldValueError(msg)
    return float(value)


@immutable
@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class RegistrySettings:
    """How patiently, and over what, a check talks to a registry.

    The defaults end every failure within seconds: a host that does not connect in 3 s, a
    server that does not answer in 5 s, and a check (credential helpers included) that takes
    more than 15 s in all are given up on. Without settings, :meth:`DockerContainer.check
    <lzy.env.container.docker.DockerContainer.check>` and :meth:`DockerContainer.pinned
    <lzy.env.container.docker.DockerContainer.pinned>` use :meth:`from_environ`, and so does
    the pin that ``pin_digest=True`` makes when an environment is resolved.
    """

    #: Seconds to wait for each read or write of an answer. It bounds the wait between two
    #: pieces of an answer, not the answer: :attr:`deadline` bounds that.
    timeout: float = 5.0
    #: Seconds to wait to look a host up, connect to it and complete the TLS handshake.
    connect_timeout: float = 3.0
    #: How many times a request is retried after a connection failure, a lost connection, a
    #: connect timeout or a ``429`` or ``5xx`` answer. A request the server took and did not
    #: answer within :attr:`timeout` is not retried: a second wait would seldom do better.
    retries: int = 1
    #: Seconds before the first retry; doubled before each next one.
    backoff: float = 0.2
    #: Seconds the whole check may take, as wall-clock time: the credential helper, every
    #: request, its headers and its body, and the retries. Past it the check fails with
    #: :exc:`~lzy.exceptions.RegistryUnreachableError`, whatever the server is doing.
    deadline: float = 15.0
    #: Registries (``host[:port]``) that may be reached over plain HTTP when HTTPS fails, like
    #: the docker daemon's ``insecure-registries``. Registries on this machine (``localhost``,
    #: ``127.0.0.0/8``, ``::1``) always may.
    insecure_registries: tuple[str, ...] = ()
    #: Where per-registry certificates are looked for, as the docker daemon does:
    #: ``<certs_dir>/<host[:port]>/*.crt`` are trusted certificate authorities, and each
    #: ``*.cert`` with its ``*.key`` a client certificate. ``None`` looks nowhere.
    certs_dir: Path | None = Path("/etc/docker/certs.d")

    def __post_init__(self) -> None:
        _positive("RegistrySettings.timeout", self.timeout)
        _positive("RegistrySettings.connect_timeout", self.connect_timeout)
        _positive("RegistrySettings.backoff", self.backoff, zero=True)
        _positive("RegistrySettings.deadline", self.deadline)
        _count("RegistrySettings.retries", self.retries)
        object.__setattr__(self, "insecure_registries", _hosts(self.insecure_registries))
        object.__setattr__(self, "certs_dir", _directory(self.certs_dir))

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> RegistrySettings:
        """The default settings, adjusted by the environment (``os.environ`` unless given):
        ``LZY_REGISTRY_DEADLINE`` sets :attr:`deadline` (seconds), and ``LZY_INSECURE_REGISTRIES``
        adds :attr:`insecure_registries` (hosts separated by commas).

        Raises :class:`~lzy.exceptions.FieldValueError` naming the variable when its value is
        not one of those.
        """
        values = os.environ if environ is None else environ
        deadline = values.get(DEADLINE_ENV, "").strip(_ASCII_SPACE)
        insecure = values.get(INSECURE_ENV, "").strip(_ASCII_SPACE)
        settings = cls()
        if deadline:
            try:
                seconds = float(deadline)
            except ValueError:
                seconds = math.nan
            if not math.isfinite(seconds) or seconds <= 0:
                msg = f"{DEADLINE_ENV} must be a number of seconds > 0, got {describe(deadline)}"
                raise FieldValueError(msg)
            settings = dataclasses.replace(settings, deadline=seconds)
        if insecure:
            hosts = [host.strip(_ASCII_SPACE) for host in insecure.split(",") if host.strip(_ASCII_SPACE)]
            try:
                settings = dataclasses.replace(settings, insecure_registries=tuple(hosts))
            except FieldValueError as error:
                msg = f"{INSECURE_ENV} must be registry hosts separated by commas: {error}"
                raise FieldValueError(msg) from None
        return settings


def _count(where: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        msg = f"{where} must be an int >= 0, got {describe(value)}"
        raise FieldValueError(msg)
    return value


def _hosts(value: object) -> tuple[str, ...]:
    where = "RegistrySettings.insecure_registries"
    if isinstance(value, str) or not isinstance(value, tuple | list | frozenset | set):
        msg = f"{where} must be a tuple of hosts, got {describe(value)}"
        raise FieldTypeError(msg)
    items = cast("Iterable[object]", value)
    return tuple(registry_host(f"{where}[{i}]", host) for i, host in enumerate(items))


def _directory(value: object) -> Path | None:
    if value is None or isinstance(value, Path):
        return value
    if isinstance(value, str):
        return Path(value)
    msg = f"RegistrySettings.certs_dir must be a path or None, got {describe(value)}"
    raise FieldTypeError(msg)


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True, repr=False)
class Credentials(EnvPart):
    """A user name and its password (or token), and where they were found, for messages."""

    #: The user name; ``"<token>"`` marks :attr:`password` as an identity token (an OAuth2
    #: refresh token), as credential helpers and ``docker login`` write it.
    username: str
    #: The password or token. A secret: never shown.
    password: str = secret()
    #: Where the credentials came from (``"DockerContainer.username/password"``, ``"credential
    #: helper docker-credential-pass (credsStore)"``), said in messages about them.
    source: str = "given"

    def shown(self) -> str:
        """Who the credentials are, for a message: the user name and where they came from."""
        who = "an identity token" if self.username == IDENTITY_TOKEN_USER else f"user {self.username!r}"
        return f"{who} (from {self.source})"


@immutable
@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class ImageCheck:
    """What a registry said about an image: it exists, at this digest, for this platform."""

    #: The registry host (``docker.io`` for Docker Hub).
    registry: str
    #: The repository path in the registry (``library/ubuntu``).
    repository: str
    #: The tag checked, or ``None`` when the reference has only a digest.
    tag: str | None
    #: The digest the reference points to: of the index for a multi-platform image, else of
    #: the image manifest. A pull by this digest fetches exactly what was checked.
    digest: str
    #: The media type of what :attr:`digest` names (one of the Docker v2 or OCI manifest or
    #: index types).
    media_type: str
    #: The platform the image was checked for, or ``None`` when no platform was asked for.
    platform: Platform | None
    #: The platform the image provides for it (the index entry, or the single manifest's
    #: configuration), or ``None`` when no platform was asked for.
    matched_platform: Platform | None
    #: The digest of the image manifest for the platform; equal to :attr:`digest` for a
    #: single-platform image; ``None`` when no platform was asked for.
    platform_digest: str | None
    #: Every platform the image provides (attestations left out), as far as the check saw.
    platforms: tuple[Platform, ...]
    #: The base URL the registry was reached at (``https://ghcr.io``).
    registry_url: str
    #: How the check authenticated: ``"basic"``, ``"bearer"`` (a token), or ``"none"``.
    authentication: Literal["basic", "bearer", "none"]
    #: The user name the check authenticated as, or ``None`` for an anonymous check.
    username: str | None

    @property
    def pinned_image(self) -> str:
        """The full reference with the digest: ``registry/path[:tag]@digest``."""
        text = f"{self.registry}/{self.repository}"
        if self.tag is not None:
            text += f":{self.tag}"
        return f"{text}@{self.digest}"

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready dictionary (platforms as ``os/arch[/variant]`` strings)."""
        data: dict[str, object] = {}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, Platform):
                value = str(value)
            elif field.name == "platforms":
                value = [str(p) for p in cast("tuple[Platform, ...]", value)]
            data[field.name] = value
        data["pinned_image"] = self.pinned_image
        return data


# --------------------------------------------------------------------------------------------
# Talking to the registry


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class _Answer:
    status: int
    headers: httpx.Headers
    body: bytes
    url: str

    def header(self, name: str) -> str | None:
        value = self.headers.get(name)
        return value if isinstance(value, str) else None

    @property
    def media_type(self) -> str:
        return (self.header("Content-Type") or "").split(";", 1)[0].strip().lower()


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class _Manifest:
    digest: str
    media_type: str
    body: dict[str, object]


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class _Challenge:
    scheme: str
    params: Mapping[str, str]


_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_SCHEME_RE: Final = re.compile(rf"[\s,]*({_TOKEN})(?=\s|,|$)")
_PARAM_RE: Final = re.compile(rf'[\s,]*({_TOKEN})[ \t]*=[ \t]*("(?:[^"\\]|\\.)*"|[^\s,"]*)')


def parse_challenges(values: Iterable[str]) -> list[_Challenge]:
    """The challenges of ``WWW-Authenticate`` header values (RFC 7235), schemes lower-cased."""
    challenges: list[_Challenge] = []
    for value in values:
        position = 0
        params: dict[str, str] | None = None
        while position < len(value):
            match = _PARAM_RE.match(value, position) if params is not None else None
            if match is not None and params is not None:
                raw = str(match[2])
                if raw.startswith('"'):
                    raw = re.sub(r"\\(.)", r"\1", raw[1:-1])
                params[match[1].lower()] = raw
                position = match.end()
                continue
            match = _SCHEME_RE.match(value, position)
            if match is None:
                break
            params = {}
            challenges.append(_Challenge(scheme=match[1].lower(), params=params))
            position = match.end()
    return challenges


def _registry_errors(body: bytes) -> list[tuple[str, str]]:
    """The ``(code, message)`` pairs of a registry's error body (distribution spec)."""
    try:
        data = json.loads(body)
    except ValueError:
        return []
    if not isinstance(data, dict):
        return []
    errors = cast("dict[str, object]", data).get("errors")
    if not isinstance(errors, list):
        return []
    found: list[tuple[str, str]] = []
    for item in cast("list[object]", errors):
        if isinstance(item, dict):
            entry = cast("dict[str, object]", item)
            code, message = entry.get("code"), entry.get("message")
            found.append((str(code) if code is not None else "", str(message) if message is not None else ""))
    return found


def _certificate_failed(error: BaseException) -> bool:
    """Whether ``error`` (or what it wraps) is a failed TLS certificate verification."""
    from lzy.env._http import chain  # noqa: PLC0415 - imports httpx: most processes ask no registry

    return any(
        isinstance(e, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(e)
        for e in chain(error)
    )


def _tls_failed(error: BaseException) -> bool:
    """Whether ``error`` (or what it wraps) is a TLS failure: the server does not speak TLS."""
    from lzy.env._http import chain  # noqa: PLC0415 - imports httpx: most processes ask no registry

    return any(isinstance(e, ssl.SSLError) for e in chain(error))


#: Why a request failed; a retry may cure the kinds in :data:`_RETRIED` only.
_Failure = Literal[
    "refused",
    "connect-timeout",
    "dropped",
    "status",
    "untrusted",
    "not-tls",
    "not-http",
    "no-answer",
    "deadline",
    "other",
]
_RETRIED: Final[frozenset[_Failure]] = frozenset({"refused", "connect-timeout", "dropped", "status"})


def _digest_of(body: bytes, algorithm: str) -> str:
    return f"{algorithm}:{hashlib.new(algorithm, body).hexdigest()}"


def _valid_digest(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    algorithm, _, encoded = value.partition(":")
    length = _HASHES.get(algorithm)
    if length is None or len(encoded) != length or not re.fullmatch(r"[a-f0-9]+", encoded):
        return None
    return value


def _object(value: object) -> dict[str, object] | None:
    if not isinstance(value, dict):
        return None
    return cast("dict[str, object]", value)


def _insecure_hint(registry: str) -> str:
    return (
        f"; if {registry} serves plain HTTP, allow it with"
        f" RegistrySettings(insecure_registries=({registry!r},)), {INSECURE_ENV}={registry}"
        f" or lzy-env validate --insecure-registry {registry}"
    )


class _Session:
    """One check: one HTTP client, the registry's base URL, and the authorization it granted.

    Every request is bounded by the check's :class:`~lzy.env._http.Deadline` as wall-clock time.
    """

    def __init__(
        self,
        *,
        registry: str,
        repository: str,
        credentials: Credentials | None,
        settings: RegistrySettings,
        deadline: Deadline,
    ) -> None:
        from lzy.env import _http  # noqa: PLC0415 - imports httpx: most processes ask no registry

        self.registry = registry
        self.repository = repository
        self.credentials = credentials
        self.settings = settings
        self.deadline = deadline
        self.api_host = _API_HOSTS.get(registry, registry)
        self.insecure = is_loopback(registry) or registry in settings.insecure_registries
        self.client = _http.client(
            verify=_tls_context(self.api_host, settings),
            timeout=settings.timeout,
            connect_timeout=settings.connect_timeout,
            headers={"User-Agent": _USER_AGENT},
        )
        self.base = f"https://{self.api_host}"
        self.authentication: Literal["basic", "bearer", "none"] = "none"
        # The Authorization header value: a secret, never logged or shown.
        self._authorization: str | None = None
        self._token: str | None = None
        self.authorized = False
        #: Whether ``/v2/`` said it speaks the distribution API (``Docker-Distribution-API-Version``).
        self.identified = False
        self.last_failure: _Failure = "other"
        self.last_problem = ""

    def close(self) -> None:
        self.client.close()

    @property
    def image(self) -> str:
        return f"{self.registry}/{self.repository}"

    # -- plumbing -------------------------------------------------------------------------------

    def _sent_secrets(self) -> list[str]:
        """Every form in which this check sends a secret: the password or token as it is, URL-
        and form-encoded, the ``user:password`` pair and its base64, and the token it was issued."""
        found: list[str] = []
        credentials = self.credentials
        if credentials is not None and credentials.password:
            pair = f"{credentials.username}:{credentials.password}"
            found += [
                credentials.password,
                urllib.parse.quote(credentials.password, safe=""),
                urllib.parse.quote_plus(credentials.password),
                pair,
                base64.b64encode(pair.encode()).decode("ascii"),
            ]
        if self._token:
            found.append(self._token)
        if self._authorization:
            found.append(self._authorization.partition(" ")[2])
        return [value for value in found if value]

    def _quoted(self, text: str) -> str | None:
        """Text a server sent (an error message, bytes that are not HTTP), as a message may show
        it, or ``None`` when it holds a secret this check sent, in any form it was sent.

        Such text is left out whole, never shown with the secret masked where it occurs: a mask
        shows where the secret stands, and so shows a short one (a password ``a`` masked in
        ``authentication required``). Credentials in URLs, ``Authorization`` headers and
        secret-named parameters are masked by position when the message is raised.
        """
        return None if any(secret in text for secret in self._sent_secrets()) else text

    def _late(self, what: str) -> RegistryUnreachableError:
        msg = (
            f"registry {self.registry} did not finish answering within {self.deadline.seconds:g} s"
            f" while {what} (the check's deadline, RegistrySettings.deadline; raise it with"
            f" RegistrySettings(deadline=...), {DEADLINE_ENV} or lzy-env validate --registry-deadline)"
        )
        return RegistryUnreachableError(msg)

    def _failure(self, error: Exception, url: str) -> tuple[_Failure, str]:
        """What a failed request means, and how a message says it."""
        import httpx  # noqa: PLC0415 - imported on first use: most processes ask no registry

        from lzy.env import _http  # noqa: PLC0415 - imports httpx: most processes ask no registry

        kind = type(error).__name__
        if isinstance(error, _http.NotHTTP):
            said = self._quoted(str(error))
            shown = f": {said[:200]}" if said is not None else " (not shown: it quotes the credentials)"
            return "not-http", f"answered with something that is not HTTP{shown}"
        if _certificate_failed(error):
            return "untrusted", (
                f"presented a TLS certificate that could not be verified ({error}); trust its"
                f" certificate authority with SSL_CERT_FILE, or as {self._certs_hint(url)}"
            )
        if isinstance(error, httpx.ConnectTimeout):
            return "connect-timeout", (
                f"did not let a connection (and its TLS handshake) complete within"
                f" {self.settings.connect_timeout:g} s"
            )
        if isinstance(error, httpx.TimeoutException):
            return "no-answer", f"did not answer within {self.settings.timeout:g} s"
        if isinstance(error, httpx.ConnectError) and _tls_failed(error) and url.startswith("https:"):
            return "not-tls", f"did not complete a TLS handshake ({kind}: {error})"
        if isinstance(
            error, httpx.ConnectError | httpx.ReadError | httpx.WriteError | httpx.RemoteProtocolError
        ):
            failure: _Failure = "refused" if isinstance(error, httpx.ConnectError) else "dropped"
            return failure, f"could not be reached ({kind}: {error})"
        if isinstance(error, httpx.TooManyRedirects):
            return "other", "redirected the request in a loop (more than 20 redirects)"
        return "other", f"could not be reached ({kind}: {error})"

    def send(
        self,
        method: str,
        url: str,
        *,
        what: str,
        headers: Mapping[str, str] | None = None,
        data: Mapping[str, str] | None = None,
        authorization: str | None = None,
        limit: int = _MANIFEST_LIMIT,
        attempts: int | None = None,
    ) -> _Answer:
        """Send one request with bounded retries, all by the check's deadline; the error names
        the registry and ``what``."""
        import httpx  # noqa: PLC0415 - imported on first use: most processes ask no registry

        from lzy.env import _http  # noqa: PLC0415 - imports httpx: most processes ask no registry

        tries = self.settings.retries + 1 if attempts is None else attempts
        request_headers = dict(headers or {})
        if authorization is not None:
            request_headers["Authorization"] = authorization
        problem = ""
        tried = 0
        for attempt in range(tries):
            if attempt:
                pause = self.settings.backoff * 2 ** (attempt - 1)
                if pause >= self.deadline.remaining():
                    self.last_failure = "deadline"
                    raise self._late(what)
                time.sleep(pause)
            tried += 1
            try:
                reply = _http.fetch(
                    self.client,
                    method,
                    url,
                    deadline=self.deadline,
                    limit=limit,
                    headers=request_headers,
                    data=data,
                )
            except _http.DeadlineExceeded:
                self.last_failure = "deadline"
                raise self._late(what) from None
            except httpx.HTTPError as error:
                self.last_failure, problem = self._failure(error, url)
                self.last_problem = problem
                if self.last_failure in _RETRIED:
                    continue
                break
            _log.debug("%s %s -> HTTP %s", method, url, reply.status)
            if reply.truncated and reply.status < 400:
                msg = (
                    f"registry {self.registry} sent more than {limit} bytes for {url} while {what};"
                    " no manifest or image configuration is that large"
                )
                raise RegistryProtocolError(msg)
            answer = _Answer(status=reply.status, headers=reply.headers, body=reply.body, url=url)
            if answer.status in _RETRY_STATUS:
                self.last_failure = "status"
                problem = self.last_problem = f"answered HTTP {answer.status}{self._said(answer)}"
                continue
            return answer
        times = "once" if tried == 1 else f"{tried} times"
        msg = f"registry {self.registry} {problem} at {url} while {what} (tried {times})"
        if self.last_failure == "not-http":
            raise RegistryProtocolError(msg)
        raise RegistryUnreachableError(msg)

    def _certs_hint(self, url: str) -> str:
        host = urllib.parse.urlsplit(url).netloc
        folder = self.settings.certs_dir or Path("/etc/docker/certs.d")
        return f"{folder / host / 'ca.crt'} (RegistrySettings.certs_dir)"

    def _said(self, answer: _Answer) -> str:
        """What the registry's error body says, as a message suffix (trimmed; left out whole
        when it quotes the credentials)."""
        errors = _registry_errors(answer.body[:_ERROR_LIMIT])
        if not errors:
            return ""
        text = "; ".join(f"{code}: {message}" if message else code for code, message in errors[:3])
        said = self._quoted(text)
        if said is None:
            return "; its message is not shown: it quotes the credentials"
        return f", {said[:300]}"

    # -- the protocol ---------------------------------------------------------------------------

    def ping(self) -> None:
        """``GET /v2/``: find the base URL (HTTPS, else plain HTTP where allowed) and the challenge."""
        what = "checking that it is a registry (GET /v2/)"
        schemes = ("https", "http") if self.insecure else ("https",)
        answer: _Answer | None = None
        failed: list[tuple[str, _Failure, str]] = []
        for scheme in schemes:
            url = f"{scheme}://{self.api_host}/v2/"
            try:
                # HTTPS to a plain-HTTP registry fails at once: no retries before falling back.
                fallback = scheme == "https" and len(schemes) > 1
                answer = self.send("GET", url, what=what, attempts=1 if fallback else None)
            except RegistryProtocolError as error:
                msg = (
                    f"{error}: {self.registry} is not a container registry (Registry HTTP API v2),"
                    " or not at this port. Check the registry host in the image"
                )
                raise NotARegistryError(msg) from None
            except RegistryUnreachableError as error:
                if self.last_failure == "untrusted":
                    raise  # it speaks TLS: plain HTTP would only meet the same server's refusal
                if self.last_failure == "deadline":
                    raise  # no time is left to try plain HTTP
                failed.append((str(error), self.last_failure, self.last_problem))
                continue
            self.base = f"{scheme}://{self.api_host}"
            break
        if answer is None:
            msg = failed[-1][0]
            if len(failed) > 1:
                https = failed[0][2]
                msg += "; HTTPS failed the same way" if https == failed[-1][2] else f"; over HTTPS it {https}"
            elif not self.insecure and failed[-1][1] in {"not-tls", "connect-timeout"}:
                msg += _insecure_hint(self.registry)
            raise RegistryUnreachableError(msg)
        distribution = (answer.header("Docker-Distribution-API-Version") or "").strip().lower()
        self.identified = distribution.startswith("registry/2")
        if answer.status == 200:
            if self.identified or (
                answer.media_type in {"application/json", ""} and _is_json_object(answer.body)
            ):
                return
            msg = (
                f"{answer.url} answered HTTP 200 with content type {answer.media_type!r} and without"
                f" the Docker-Distribution-API-Version header: {self.registry} does not look like a"
                " container registry (Registry HTTP API v2). Check the registry host in the image"
            )
            raise NotARegistryError(msg)
        if answer.status == 401:
            challenge = self._challenge(answer)
            if challenge is not None:
                self.authorize(challenge)
                return
            if self.identified:
                msg = (
                    f"registry {self.registry} answered HTTP 401 at {answer.url} without a challenge"
                    " (a WWW-Authenticate header asking for Basic or Bearer authentication),"
                    " so there is no way to authenticate"
                )
                raise RegistryProtocolError(msg)
        if answer.status == 403 and self.identified:
            self._refused(answer, "checking that it is a registry (GET /v2/)")
        msg = (
            f"{answer.url} answered HTTP {answer.status}{self._said(answer)}: {self.registry} does not"
            " speak the Registry HTTP API v2 (a registry answers 200 or 401 there)."
            " Check the registry host in the image"
        )
        raise NotARegistryError(msg)

    def _challenge(self, answer: _Answer) -> _Challenge | None:
        challenges = parse_challenges(answer.headers.get_list("WWW-Authenticate"))
        for scheme in ("bearer", "basic"):
            for challenge in challenges:
                if challenge.scheme == scheme:
                    return challenge
        return None

    def _may_send_credentials(self, url: str) -> bool:
        parts = urllib.parse.urlsplit(url)
        host = parts.netloc.rpartition("@")[2].lower()
        return parts.scheme == "https" or is_loopback(host) or host in self.settings.insecure_registries

    def authorize(self, challenge: _Challenge) -> None:
        """Get the Authorization header the challenge asks for (a token for Bearer)."""
        self.authorized = True
        if challenge.scheme == "basic":
            self.authentication = "basic"
            if self.credentials is not None:
                if not self._may_send_credentials(self.base):
                    self._refuse_plain_http(self.base)
                pair = f"{self.credentials.username}:{self.credentials.password}".encode()
                self._authorization = "Basic " + base64.b64encode(pair).decode("ascii")
            return
        self.authentication = "bearer"
        self._token = self._fetch_token(challenge)
        self._authorization = f"Bearer {self._token}"

    def _refuse_plain_http(self, url: str) -> None:
        msg = (
            f"registry {self.registry} asks for credentials to be sent over plain HTTP to"
            f" {urllib.parse.urlsplit(url).netloc}; they are not sent. Serve it over HTTPS, or"
            " list the host in RegistrySettings.insecure_registries"
        )
        raise RegistryProtocolError(msg)

    def _fetch_token(self, challenge: _Challenge) -> str:
        realm = challenge.params.get("realm", "")
        parts = urllib.parse.urlsplit(realm)
        if parts.scheme not in {"http", "https"} or not parts.netloc or parts.username or parts.password:
            said = self._quoted(realm[:200])
            shown = repr(said) if said is not None else "a URL that quotes the credentials"
            msg = (
                f"registry {self.registry} asks for a token from {shown}, which is not an"
                " http(s) URL of a token service without credentials"
            )
            raise RegistryProtocolError(msg)
        params = {"scope": f"repository:{self.repository}:pull"}
        if "service" in challenge.params:
            params["service"] = challenge.params["service"]
        what = f"asking the token service {parts.netloc} for pull access to {self.repository}"
        credentials = self.credentials
        if credentials is not None and not self._may_send_credentials(realm):
            self._refuse_plain_http(realm)
        if credentials is not None and credentials.username == IDENTITY_TOKEN_USER:
            form = {
                **params,
                "grant_type": "refresh_token",
                "refresh_token": credentials.password,
                "client_id": "lzy",
            }
            answer = self.send("POST", realm, what=what, data=form, limit=_ERROR_LIMIT * 4)
        else:
            authorization = None
            if credentials is not None:
                params["account"] = credentials.username
                pair = f"{credentials.username}:{credentials.password}".encode()
                authorization = "Basic " + base64.b64encode(pair).decode("ascii")
            query = urllib.parse.urlencode(params)
            url = f"{realm}{'&' if parts.query else '?'}{query}"
            answer = self.send("GET", url, what=what, authorization=authorization, limit=_ERROR_LIMIT * 4)
        if answer.status in {401, 403}:
            if credentials is None:
                msg = (
                    f"registry {self.registry}'s token service {parts.netloc} refused anonymous"
                    f" access to {self.image} (HTTP {answer.status}{self._said(answer)}); it needs"
                    f" credentials. {_LOGIN_HINT.format(registry=self.registry)}"
                )
                raise RegistryCredentialsRequiredError(msg)
            msg = (
                f"registry {self.registry}'s token service {parts.netloc} rejected the credentials of"
                f" {credentials.shown()} (HTTP {answer.status}{self._said(answer)}) while asking for"
                f" pull access to {self.image}; check the user name and password"
            )
            raise RegistryCredentialsRejectedError(msg)
        if answer.status != 200:
            msg = (
                f"registry {self.registry}'s token service at {parts.scheme}://{parts.netloc}{parts.path}"
                f" answered HTTP {answer.status}{self._said(answer)} while {what}"
            )
            raise RegistryProtocolError(msg)
        try:
            data = _object(json.loads(answer.body)) or {}
        except ValueError:
            data = {}
        token = data.get("token") or data.get("access_token")
        if not isinstance(token, str) or not token:
            msg = (
                f"registry {self.registry}'s token service {parts.netloc} answered without a token"
                f" (a JSON object with 'token' or 'access_token') while {what}"
            )
            raise RegistryProtocolError(msg)
        return token

    def _refused(self, answer: _Answer, what: str) -> None:
        """Raise the authentication error a 401 or 403 means, given the credentials used."""
        said = f"HTTP {answer.status}{self._said(answer)}"
        credentials = self.credentials
        if credentials is None:
            msg = (
                f"registry {self.registry} refused anonymous access while {what} ({said}): the"
                f" repository {self.repository} needs credentials, or does not exist."
                f" {_LOGIN_HINT.format(registry=self.registry)}"
            )
            raise RegistryCredentialsRequiredError(msg)
        # A token service that granted a token has accepted the credentials; a registry that
        # checks them itself (Basic) answers 401 when it rejects them and 403 for no access.
        if answer.status == 401 and self.authentication != "bearer":
            msg = (
                f"registry {self.registry} rejected the credentials of {credentials.shown()}"
                f" while {what} ({said}); check the user name and password"
            )
            raise RegistryCredentialsRejectedError(msg)
        msg = (
            f"registry {self.registry} accepted the credentials of {credentials.shown()} but"
            f" refused pull access to {self.image} while {what} ({said}): the repository does not"
            " exist, or this user may not pull it"
        )
        raise RegistryAccessDeniedError(msg)

    def get(
        self, path: str, *, what: str, accept: str | None = None, method: str = "GET", limit: int
    ) -> _Answer:
        """A request under ``/v2/`` with the session's authorization, authenticating once more
        when a registry that let ``/v2/`` through asks for it on this path."""
        url = f"{self.base}/v2/{path}"
        headers = {"Accept": accept} if accept else {}
        answer = self.send(
            method, url, what=what, headers=headers, authorization=self._authorization, limit=limit
        )
        if answer.status == 401 and not self.authorized:
            challenge = self._challenge(answer)
            if challenge is not None:
                self.authorize(challenge)
                answer = self.send(
                    method, url, what=what, headers=headers, authorization=self._authorization, limit=limit
                )
        if answer.status in {401, 403}:
            self._refused(answer, what)
        return answer

    # -- manifests ------------------------------------------------------------------------------

    def manifest(self, reference: str, *, shown: str) -> _Manifest:
        """The digest, media type and parsed body of the manifest ``reference`` names."""
        what = f"fetching the manifest of {shown}"
        answer = self.get(
            f"{self.repository}/manifests/{reference}", what=what, accept=_ACCEPT, limit=_MANIFEST_LIMIT
        )
        if answer.status == 404:
            self._not_found(answer, reference, shown)
        if answer.status == 406:
            msg = (
                f"registry {self.registry} has {shown} only in a format this check does not accept"
                f" (HTTP 406); accepted: {_ACCEPT}"
            )
            raise RegistryProtocolError(msg)
        if answer.status != 200:
            msg = f"registry {self.registry} answered HTTP {answer.status}{self._said(answer)} while {what}"
            raise RegistryProtocolError(msg)
        body = _object(_loads(answer.body))
        declared = answer.media_type in _MANIFESTS | _INDEXES | _SCHEMA1
        if not declared and (body is None or "schemaVersion" not in body):
            # Neither the content type nor the document says "manifest".
            if not self.identified:
                msg = (
                    f"{self.registry} answered HTTP 200 with content type {answer.media_type or 'none'!r}"
                    f" and no manifest when asked for the manifest of {shown}, and did not say at /v2/"
                    " that it is a registry (Docker-Distribution-API-Version): it does not look like"
                    " a container registry (Registry HTTP API v2). Check the registry host in the image"
                )
                raise NotARegistryError(msg)
            what_it_is = "a JSON document without schemaVersion" if body is not None else "no JSON object"
            msg = f"registry {self.registry} sent for {shown} {what_it_is}, not a manifest"
            raise RegistryProtocolError(msg)
        digest = self._verified_digest(answer, reference, shown)
        if body is None:
            msg = f"registry {self.registry} sent a manifest for {shown} that is not a JSON object"
            raise RegistryProtocolError(msg)
        return _Manifest(digest=digest, media_type=self._media_type(answer, body, shown), body=body)

    def _verified_digest(self, answer: _Answer, reference: str, shown: str) -> str:
        announced = answer.header("Docker-Content-Digest")
        wanted = _valid_digest(reference)
        checks = [d for d in (wanted, _valid_digest(announced)) if d is not None]
        for expected in checks:
            actual = _digest_of(answer.body, expected.partition(":")[0])
            if actual != expected:
                source = "asked for" if expected == wanted else "announced by the registry"
                msg = (
                    f"registry {self.registry} sent content for {shown} whose digest is {actual},"
                    f" not {expected} ({source})"
                )
                raise RegistryProtocolError(msg)
        return checks[0] if checks else _digest_of(answer.body, "sha256")

    def _media_type(self, answer: _Answer, body: dict[str, object], shown: str) -> str:
        header = answer.media_type
        declared = body.get("mediaType")
        media = header if header in _MANIFESTS | _INDEXES | _SCHEMA1 else declared
        if not isinstance(media, str) or not media:
            # OCI allows mediaType to be left out; the shape says which it is.
            media = OCI_INDEX if "manifests" in body else OCI_MANIFEST if "config" in body else ""
        if media in _SCHEMA1 or body.get("schemaVersion") == 1:
            msg = (
                f"{shown} is a Docker schema 1 manifest, which current docker no longer pulls;"
                " push the image again with a current docker or buildkit"
            )
            raise RegistryProtocolError(msg)
        if media not in _MANIFESTS | _INDEXES:
            msg = (
                f"{shown} is not a container image: its manifest has media type {media or 'none'!r}"
                " (an image is a Docker v2 or OCI manifest, or an index of them)"
            )
            raise NotAnImageError(msg)
        return media

    def _not_found(self, answer: _Answer, reference: str, shown: str) -> None:
        codes = {code for code, _ in _registry_errors(answer.body)}
        tags: list[str] | None = None
        if "NAME_UNKNOWN" not in codes:
            tags = self._tags()
        if "NAME_UNKNOWN" in codes or tags is None:
            msg = (
                f"registry {self.registry} has no repository {self.repository!r}"
                f" (HTTP 404{self._said(answer)}"
                f" for {shown}); check the image name"
            )
            raise RepositoryNotFoundError(msg)
        kind = "digest" if _valid_digest(reference) else "tag"
        listing = ""
        if kind == "tag":
            import difflib  # noqa: PLC0415 - only for this message

            close = difflib.get_close_matches(reference, tags, n=3, cutoff=0.5)
            some = close or sorted(tags)[-5:]
            if some:
                label = "closest tags" if close else "some of its tags"
                listing = f"; {label}: {', '.join(some)}"
            else:
                listing = "; the repository has no tags"
        msg = f"repository {self.image} has no {kind} {reference!r}{listing}"
        raise ManifestNotFoundError(msg)

    def _tags(self) -> list[str] | None:
        """The repository's tags (first page), or ``None`` when it does not exist."""
        answer = self.get(
            f"{self.repository}/tags/list?n=1000",
            what=f"listing the tags of {self.image}",
            limit=_MANIFEST_LIMIT,
        )
        if answer.status == 404:
            return None
        if answer.status != 200:
            return []
        data = _object(_loads(answer.body)) or {}
        tags = data.get("tags")
        if not isinstance(tags, list):
            return []
        return [t for t in cast("list[object]", tags) if isinstance(t, str)]

    def exists(self, digest: str, *, shown: str) -> None:
        """``HEAD`` the manifest ``digest``: it must exist."""
        what = f"checking that the manifest {digest} of {shown} exists"
        answer = self.get(
            f"{self.repository}/manifests/{digest}", what=what, accept=_ACCEPT, method="HEAD", limit=0
        )
        if answer.status == 404:
            msg = (
                f"the index of {shown} lists manifest {digest}, but registry {self.registry} does not"
                " have it (the image was pushed incompletely)"
            )
            raise ManifestNotFoundError(msg)
        if answer.status != 200:
            msg = f"registry {self.registry} answered HTTP {answer.status} while {what}"
            raise RegistryProtocolError(msg)
        announced = answer.header("Docker-Content-Digest")
        if announced is not None and announced != digest:
            msg = f"registry {self.registry} answered for manifest {digest} with digest {announced}"
            raise RegistryProtocolError(msg)

    def config(self, descriptor: object, *, shown: str) -> Platform | None:
        """The platform named by the configuration blob a manifest's ``config`` describes."""
        config = _object(descriptor)
        media = config.get("mediaType") if config is not None else None
        digest = _valid_digest(config.get("digest")) if config is not None else None
        if media not in _IMAGE_CONFIGS:
            msg = (
                f"{shown} is not a container image: its configuration has media type"
                f" {media!r} (an image has {' or '.join(sorted(_IMAGE_CONFIGS))})"
            )
            raise NotAnImageError(msg)
        if digest is None:
            msg = f"the manifest of {shown} has a configuration without a valid digest"
            raise RegistryProtocolError(msg)
        what = f"fetching the image configuration of {shown}"
        answer = self.get(f"{self.repository}/blobs/{digest}", what=what, limit=_CONFIG_LIMIT)
        if answer.status == 404:
            msg = (
                f"the manifest of {shown} names configuration {digest}, but registry {self.registry}"
                " does not have it (the image was pushed incompletely)"
            )
            raise ManifestNotFoundError(msg)
        if answer.status != 200:
            msg = f"registry {self.registry} answered HTTP {answer.status}{self._said(answer)} while {what}"
            raise RegistryProtocolError(msg)
        actual = _digest_of(answer.body, digest.partition(":")[0])
        if actual != digest:
            msg = (
                f"registry {self.registry} sent a configuration for {shown} whose digest is {actual},"
                f" not {digest}"
            )
            raise RegistryProtocolError(msg)
        return _platform_of(_loads(answer.body))


def _is_json_object(body: bytes) -> bool:
    """Whether ``body`` is empty or a JSON object (what a registry answers at ``/v2/``)."""
    return not body.strip() or isinstance(_loads(body), dict)


def _loads(body: bytes) -> object:
    try:
        return json.loads(body)
    except ValueError:
        return None


_LOGIN_HINT: Final = (
    "No credentials were given or found for {registry}: give DockerContainer(username=...,"
    " password=...), or log in with `docker login {registry}` so that the Docker configuration"
    " has them"
)


@functools.cache
def _default_tls() -> ssl.SSLContext:
    """certifi's authorities and the system's (``SSL_CERT_FILE`` and ``SSL_CERT_DIR`` too).

    Made once: loading the certificates is the slow part of making a client.
    """
    import httpx  # noqa: PLC0415 - imported on first use: most processes ask no registry

    context = httpx.create_ssl_context()
    context.load_default_certs()
    return context


def _tls_context(host: str, settings: RegistrySettings) -> ssl.SSLContext:
    """The default authorities, plus the registry's own from ``certs_dir`` when it has any."""
    if settings.certs_dir is None:
        return _default_tls()
    folder = settings.certs_dir / host
    try:
        entries = sorted(e for e in folder.iterdir() if e.suffix in {".crt", ".cert"})
    except OSError:
        entries = []
    if not entries:
        return _default_tls()
    import httpx  # noqa: PLC0415 - imported on first use: most processes ask no registry

    context = httpx.create_ssl_context()
    context.load_default_certs()
    for entry in entries:
        try:
            if entry.suffix == ".crt":
                context.load_verify_locations(cafile=entry)
            elif entry.with_suffix(".key").is_file():
                context.load_cert_chain(entry, entry.with_suffix(".key"))
        except (OSError, ssl.SSLError) as error:
            msg = f"cannot load the certificate {entry} for registry {host}: {error}"
            raise RegistryError(msg) from error
    return context


def _choose(entries: list[dict[str, object]], platform: Platform) -> dict[str, object] | None:
    """The index entry for ``platform``: the one the machine runs most natively (containerd's
    order), the first of equals."""
    ranked: list[tuple[int, int, dict[str, object]]] = []
    for position, entry in enumerate(entries):
        found = _platform_of(entry.get("platform"))
        rank = platform.preference(found) if found is not None else None
        if rank is not None:
            ranked.append((rank, position, entry))
    return min(ranked, key=lambda item: item[:2])[2] if ranked else None


def check_image(
    registry: str,
    repository: str,
    *,
    tag: str | None = None,
    digest: str | None = None,
    credentials: Credentials | None = None,
    platform: Platform | None = DEFAULT_PLATFORM,
    settings: RegistrySettings | None = None,
    deadline: Deadline | None = None,
) -> ImageCheck:
    """Ask ``registry`` whether ``repository`` has the image ``tag`` (or ``digest``) for
    ``platform``, and return what it found.

    ``registry`` is a host (``docker.io`` means Docker Hub); a ``digest``, when given, is what is
    checked (the tag is then informational, as in a pull). ``platform=None`` asks for no
    particular platform: the reference must still name a runnable image (an image manifest
    with an image configuration, or an index with at least one entry for a platform, whose
    manifest exists), but which platforms it has is not checked. ``settings`` defaults to
    :meth:`RegistrySettings.from_environ`; ``deadline``, when given, is the running deadline of
    a larger operation (the credential lookup before the check) that the check must also keep,
    instead of a new one of :attr:`RegistrySettings.deadline` seconds. Raises a subclass of
    :class:`~lzy.exceptions.RegistryError` that says what is wrong.
    """
    from lzy.env import _http  # noqa: PLC0415 - imports httpx: most processes ask no registry

    if tag is None and digest is None:
        tag = "latest"
    settings = settings or RegistrySettings.from_environ()
    deadline = deadline or _http.Deadline(settings.deadline)
    session = _Session(
        registry=registry,
        repository=repository,
        credentials=credentials,
        settings=settings,
        deadline=deadline,
    )
    shown = f"{registry}/{repository}" + (f":{tag}" if tag else "") + (f"@{digest}" if digest else "")
    try:
        session.ping()
        top = session.manifest(digest or cast("str", tag), shown=shown)
        found = _find_platform(session, top, platform, shown)
        return ImageCheck(
            registry=registry,
            repository=repository,
            tag=tag,
            digest=top.digest,
            media_type=top.media_type,
            platform=platform,
            matched_platform=found.matched if platform is not None else None,
            platform_digest=found.digest if platform is not None else None,
            platforms=found.platforms,
            registry_url=session.base,
            authentication=session.authentication,
            username=(
                credentials.username if credentials is not None and session.authentication != "none" else None
            ),
        )
    finally:
        session.close()


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class _Found:
    platforms: tuple[Platform, ...] = ()
    matched: Platform | None = None
    digest: str | None = None


def _find_platform(session: _Session, top: _Manifest, platform: Platform | None, shown: str) -> _Found:
    """The image manifest for ``platform`` under ``top`` (following nested indexes); for
    ``platform=None``, the manifest of the platform an index prefers (``linux/amd64`` when it has
    it, else its first), so that what is found is a runnable image whatever the platform."""
    current = top
    platforms: tuple[Platform, ...] = ()
    for _ in range(_MAX_INDEX_DEPTH):
        if current.media_type not in _INDEXES:
            built = session.config(current.body.get("config"), shown=shown)
            if platform is None:
                return _Found(
                    platforms=platforms or ((built,) if built else ()), matched=built, digest=current.digest
                )
            if built is None or not platform.accepts(built):
                what = f"is built for {built} only" if built is not None else "names no platform"
                msg = f"{shown} {what}, not for {platform}. {_PLATFORM_HINT.format(platform=platform)}"
                raise PlatformNotFoundError(msg)
            return _Found(platforms=platforms or (built,), matched=built, digest=current.digest)
        entries = [e for e in map(_object, _list(current.body.get("manifests"))) if e is not None]
        listed = tuple(
            dict.fromkeys(p for e in entries if (p := _platform_of(e.get("platform"))) is not None)
        )
        platforms = platforms or listed
        if not listed:
            listed_how = f"none of its {len(entries)} entries is" if entries else "it lists no entry"
            msg = (
                f"{shown} is an index without a runnable image: {listed_how} for a platform"
                " (attestations and signatures are not images)"
            )
            raise PlatformNotFoundError(msg)
        wanted = platform
        if wanted is None:
            wanted = next((p for p in listed if DEFAULT_PLATFORM.accepts(p)), listed[0])
        chosen = _choose(entries, wanted)
        if chosen is None:
            offered = ", ".join(str(p) for p in listed)
            hint = _PLATFORM_HINT.format(platform=wanted)
            msg = f"{shown} has no image for {wanted}; it provides {offered}. {hint}"
            raise PlatformNotFoundError(msg)
        child = _valid_digest(chosen.get("digest"))
        if child is None:
            msg = f"the index of {shown} has an entry for {wanted} without a valid digest"
            raise RegistryProtocolError(msg)
        if chosen.get("mediaType") in _INDEXES:
            current = session.manifest(child, shown=f"{shown} ({wanted})")
            continue
        session.exists(child, shown=shown)
        return _Found(platforms=platforms, matched=_platform_of(chosen.get("platform")), digest=child)
    msg = f"{shown}: indexes nested more than {_MAX_INDEX_DEPTH} deep"
    raise RegistryProtocolError(msg)


_PLATFORM_HINT: Final = (
    "Build and push one for {platform}, or check for the platform the op runs on"
    " (platform=..., or Platform.for_cpu_type of the provisioning's cpu_type)"
)


def _list(value: object) -> list[object]:
    return cast("list[object]", value) if isinstance(value, list) else []
