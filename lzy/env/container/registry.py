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
import re
import ssl
import time
import urllib.parse
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Final, Literal, cast

from lzy.env._base import EnvPart, describe, secret
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

__all__ = [
    "DEFAULT_PLATFORM",
    "DOCKER_MANIFEST",
    "DOCKER_MANIFEST_LIST",
    "IDENTITY_TOKEN_USER",
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
    if match["ipv6"] is not None:
        try:
            ipaddress.IPv6Address(match["ipv6"])
        except ValueError:
            msg = f"{where} must be {allowed}, got {shown}, whose address is not an IPv6 address"
            raise FieldValueError(msg) from None
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
#: The variant an architecture has when none is written.
_DEFAULT_VARIANTS: Final = {"arm64": "v8", "arm": "v7", "amd64": "v1"}
_PLATFORM_PART: Final = re.compile(r"[a-z0-9][a-z0-9._-]*")


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class Platform:
    """The operating system and CPU architecture an image is built for (``linux/amd64``)."""

    #: The operating system, as images name it (``"linux"``, ``"windows"``).
    os: str
    #: The CPU architecture, as images name it (``"amd64"``, ``"arm64"``, ``"arm"``).
    architecture: str
    #: The architecture's variant (``"v7"`` for ``linux/arm/v7``), or ``None`` for any.
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
        parts = text.strip().lower().split("/")
        if not 2 <= len(parts) <= 3 or not all(_PLATFORM_PART.fullmatch(p) for p in parts):
            msg = (
                f"platform {text!r} is not of the form os/architecture[/variant],"
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
        known = _ARCHITECTURES.get(cpu_type.strip().lower())
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

    def accepts(self, other: Platform) -> bool:
        """Whether an image built for ``other`` runs on this platform: same OS and architecture,
        and the same variant when this one names a variant (``arm64`` is ``arm64/v8``)."""
        if (self.os, self.architecture) != (other.os, other.architecture):
            return False
        if self.variant is None:
            return True
        default = _DEFAULT_VARIANTS.get(self.architecture)
        return (other.variant or default) == self.variant


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
        or not (value >= 0 if zero else value > 0)
    ):
        wanted = "a number >= 0" if zero else "a number > 0"
        msg = f"{where} must be {wanted}, got {describe(value)}"
        raise FieldValueError(msg)
    return float(value)


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class RegistrySettings:
    """How patiently, and over what, a check talks to a registry."""

    #: Seconds to wait to connect, and between two reads of an answer.
    timeout: float = 10.0
    #: How many times a failed request (timeout, connection error, 429 or 5xx) is retried.
    retries: int = 2
    #: Seconds before the first retry; doubled before each next one.
    backoff: float = 0.2
    #: Seconds the whole check may take, retries included; past it the check fails.
    deadline: float = 60.0
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
        _positive("RegistrySettings.backoff", self.backoff, zero=True)
        _positive("RegistrySettings.deadline", self.deadline)
        _count("RegistrySettings.retries", self.retries)
        object.__setattr__(self, "insecure_registries", _hosts(self.insecure_registries))
        object.__setattr__(self, "certs_dir", _directory(self.certs_dir))


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
    current: BaseException | None = error
    while current is not None:
        if isinstance(current, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(current):
            return True
        current = current.__cause__ or current.__context__
    return False


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


class _Session:
    """One check: one HTTP client, the registry's base URL, and the authorization it granted."""

    def __init__(
        self,
        *,
        registry: str,
        repository: str,
        credentials: Credentials | None,
        settings: RegistrySettings,
    ) -> None:
        import httpx  # noqa: PLC0415 - imported on first use: most processes ask no registry

        self.registry = registry
        self.repository = repository
        self.credentials = credentials
        self.settings = settings
        self.api_host = _API_HOSTS.get(registry, registry)
        self.insecure = is_loopback(registry) or registry in settings.insecure_registries
        self.started = time.monotonic()
        self.client = httpx.Client(
            verify=_tls_context(self.api_host, settings),
            timeout=httpx.Timeout(settings.timeout),
            follow_redirects=True,
            headers={"User-Agent": _USER_AGENT},
        )
        self.base = f"https://{self.api_host}"
        self.authentication: Literal["basic", "bearer", "none"] = "none"
        # The Authorization header value: a secret, never logged or shown.
        self._authorization: str | None = None
        self._token: str | None = None
        self.authorized = False
        self.last_problem = ""
        self.untrusted = False

    def close(self) -> None:
        self.client.close()

    @property
    def image(self) -> str:
        return f"{self.registry}/{self.repository}"

    # -- plumbing -------------------------------------------------------------------------------

    def _scrub(self, text: str) -> str:
        """``text`` with every secret of this session replaced by ``***``."""
        for value in (
            self.credentials.password if self.credentials is not None else None,
            self._token,
            self._authorization.partition(" ")[2] if self._authorization else None,
        ):
            if value:
                text = text.replace(value, "***")
        return text

    def _remaining(self) -> float:
        return self.settings.deadline - (time.monotonic() - self.started)

    def _late(self, what: str) -> RegistryUnreachableError:
        msg = (
            f"registry {self.registry} did not finish answering within {self.settings.deadline:g} s"
            f" while {what} (RegistrySettings.deadline)"
        )
        return RegistryUnreachableError(msg)

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
        """Send one request with bounded retries; the error names the registry and ``what``."""
        import httpx  # noqa: PLC0415 - imported on first use: most processes ask no registry

        tries = self.settings.retries + 1 if attempts is None else attempts
        request_headers = dict(headers or {})
        if authorization is not None:
            request_headers["Authorization"] = authorization
        problem = ""
        for attempt in range(tries):
            if attempt:
                pause = self.settings.backoff * 2 ** (attempt - 1)
                if pause >= self._remaining():
                    raise self._late(what)
                time.sleep(pause)
            if self._remaining() <= 0:
                raise self._late(what)
            try:
                with self.client.stream(method, url, headers=request_headers, data=data) as response:
                    body = self._read(response, limit=limit, what=what)
                    answer = _Answer(
                        status=response.status_code, headers=response.headers, body=body, url=url
                    )
            except httpx.TimeoutException:
                problem = f"did not answer within {self.settings.timeout:g} s"
                continue
            except httpx.HTTPError as error:
                if _certificate_failed(error):
                    # Not worth retrying: the same certificate comes back.
                    self.untrusted = True
                    problem = (
                        f"presented a TLS certificate that could not be verified ({self._scrub(str(error))});"
                        " trust its certificate authority with SSL_CERT_FILE, or as"
                        f" {self._certs_hint(url)}"
                    )
                    tries = attempt + 1
                    break
                problem = f"could not be reached ({type(error).__name__}: {self._scrub(str(error))})"
                continue
            _log.debug("%s %s -> HTTP %s", method, url, answer.status)
            if answer.status in _RETRY_STATUS:
                problem = f"answered HTTP {answer.status}{self._said(answer)}"
                continue
            return answer
        times = "once" if tries == 1 else f"{tries} times"
        self.last_problem = problem
        msg = f"registry {self.registry} {problem} at {url} while {what} (tried {times})"
        raise RegistryUnreachableError(msg)

    def _read(self, response: httpx.Response, *, limit: int, what: str) -> bytes:
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > limit:
                if response.status_code >= 400:
                    break  # an error page: its beginning is all a message shows
                msg = (
                    f"registry {self.registry} sent more than {limit} bytes for {response.url}"
                    f" while {what}; no manifest or image configuration is that large"
                )
                raise RegistryProtocolError(msg)
            if self._remaining() <= 0:
                raise self._late(what)
            chunks.append(chunk)
        return b"".join(chunks)

    def _certs_hint(self, url: str) -> str:
        host = urllib.parse.urlsplit(url).netloc
        folder = self.settings.certs_dir or Path("/etc/docker/certs.d")
        return f"{folder / host / 'ca.crt'} (RegistrySettings.certs_dir)"

    def _said(self, answer: _Answer) -> str:
        """What the registry's error body says, as a message suffix (scrubbed, trimmed)."""
        errors = _registry_errors(answer.body[:_ERROR_LIMIT])
        if not errors:
            return ""
        text = "; ".join(f"{code}: {message}" if message else code for code, message in errors[:3])
        text = self._scrub(text)
        return f", {text[:300]}"

    # -- the protocol ---------------------------------------------------------------------------

    def ping(self) -> None:
        """``GET /v2/``: find the base URL (HTTPS, else plain HTTP where allowed) and the challenge."""
        what = "checking that it is a registry (GET /v2/)"
        schemes = ("https", "http") if self.insecure else ("https",)
        answer: _Answer | None = None
        failed: list[tuple[str, str]] = []
        for scheme in schemes:
            url = f"{scheme}://{self.api_host}/v2/"
            try:
                # HTTPS to a plain-HTTP registry fails at once: no retries before falling back.
                fallback = scheme == "https" and len(schemes) > 1
                answer = self.send("GET", url, what=what, attempts=1 if fallback else None)
            except RegistryUnreachableError as error:
                if self.untrusted:
                    raise  # it speaks TLS: plain HTTP would only meet the same server's refusal
                failed.append((str(error), self.last_problem))
                continue
            self.base = f"{scheme}://{self.api_host}"
            break
        if answer is None:
            msg = failed[-1][0]
            if len(failed) > 1:
                https = failed[0][1]
                msg += "; HTTPS failed the same way" if https == failed[-1][1] else f"; over HTTPS it {https}"
            raise RegistryUnreachableError(msg)
        distribution = answer.header("Docker-Distribution-API-Version") or ""
        if answer.status == 200:
            if distribution.startswith("registry/2") or answer.media_type in {"application/json", ""}:
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
            if distribution.startswith("registry/2"):
                msg = (
                    f"registry {self.registry} answered HTTP 401 at {answer.url} without a Basic or"
                    " Bearer challenge (WWW-Authenticate), so there is no way to authenticate"
                )
                raise RegistryProtocolError(msg)
        if answer.status == 403 and distribution.startswith("registry/2"):
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
            msg = (
                f"registry {self.registry} asks for a token from {realm[:200]!r}, which is not an"
                " http(s) URL of a token service"
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
        digest = self._verified_digest(answer, reference, shown)
        try:
            data = json.loads(answer.body)
        except ValueError:
            data = None
        body = _object(data)
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
    """The index entry for ``platform``: an exact variant first, then the architecture's default."""
    fitting = [
        e for e in entries if (p := _platform_of(e.get("platform"))) is not None and platform.accepts(p)
    ]
    if not fitting:
        return None

    def rank(entry: dict[str, object]) -> int:
        found = _platform_of(entry.get("platform"))
        assert found is not None
        default = _DEFAULT_VARIANTS.get(found.architecture)
        return 0 if found.variant in {platform.variant, None, default} else 1

    return min(fitting, key=rank)


def check_image(
    registry: str,
    repository: str,
    *,
    tag: str | None = None,
    digest: str | None = None,
    credentials: Credentials | None = None,
    platform: Platform | None = DEFAULT_PLATFORM,
    settings: RegistrySettings | None = None,
) -> ImageCheck:
    """Ask ``registry`` whether ``repository`` has the image ``tag`` (or ``digest``) for
    ``platform``, and return what it found.

    ``registry`` is a host (``docker.io`` means Docker Hub); a ``digest``, when given, is what is
    checked (the tag is then informational, as in a pull). ``platform=None`` asks for no platform:
    only the digest the reference points to is found. Raises a subclass of
    :class:`~lzy.exceptions.RegistryError` that says what is wrong.
    """
    if tag is None and digest is None:
        tag = "latest"
    settings = settings or RegistrySettings()
    session = _Session(registry=registry, repository=repository, credentials=credentials, settings=settings)
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
            matched_platform=found.matched,
            platform_digest=found.digest,
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
    """The image manifest for ``platform`` under ``top`` (following nested indexes)."""
    current = top
    platforms: tuple[Platform, ...] = ()
    for _ in range(_MAX_INDEX_DEPTH):
        if current.media_type not in _INDEXES:
            if platform is None:
                return _Found()
            built = session.config(current.body.get("config"), shown=shown)
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
        if platform is None:
            return _Found(platforms=platforms)
        chosen = _choose(entries, platform)
        if chosen is None:
            offered = ", ".join(str(p) for p in listed) or "no runnable platform"
            hint = _PLATFORM_HINT.format(platform=platform)
            msg = f"{shown} has no image for {platform}; it provides {offered}. {hint}"
            raise PlatformNotFoundError(msg)
        child = _valid_digest(chosen.get("digest"))
        if child is None:
            msg = f"the index of {shown} has an entry for {platform} without a valid digest"
            raise RegistryProtocolError(msg)
        if chosen.get("mediaType") in _INDEXES:
            current = session.manifest(child, shown=f"{shown} ({platform})")
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
