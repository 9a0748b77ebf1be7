""":class:`DockerContainer`: run in a Docker image, with credentials found the docker CLI's way."""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Final, Self, cast

from lzy.env._base import describe, expect_bool, expect_instance, expect_str, immutable, redact_text, secret
from lzy.env.container.base import Container, PullPolicy, ResolvedContainer
from lzy.env.container.registry import (
    DEADLINE_ENV,
    DEFAULT_PLATFORM,
    IDENTITY_TOKEN_USER,
    Credentials,
    ImageCheck,
    Platform,
    RegistrySettings,
    check_image,
    masked_reference,
    registry_host,
)
from lzy.exceptions import (
    ContainerConfigError,
    FieldTypeError,
    FieldValueError,
    ImageReferenceError,
    ResolutionError,
)

if TYPE_CHECKING:
    from lzy.env._http import Deadline

__all__ = [
    "DOCKER_HUB",
    "DockerContainer",
    "ImageCheck",
    "ImageReference",
    "Platform",
    "PullPolicy",
    "RegistrySettings",
    "find_credentials",
    "lookup_credentials",
    "normalize_registry",
]


def __dir__() -> list[str]:
    return __all__


#: The canonical name of Docker Hub's registry.
DOCKER_HUB: Final = "docker.io"
_HUB_ALIASES: Final = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})
#: The key the docker CLI uses for Docker Hub in ``config.json`` and credential helpers.
_HUB_CONFIG_KEY: Final = "https://index.docker.io/v1/"

# The grammar of github.com/distribution/reference, ASCII only (``[a-z]``, not ``\\w``).
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_PATH_RE: Final = re.compile(rf"{_COMPONENT}(?:/{_COMPONENT})*")
_TAG_RE: Final = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
#: The digest algorithms registries use, with the length of their lower-case hex encoding.
_DIGEST_LENGTHS: Final = {"sha256": 64, "sha512": 128}
_HEX_RE: Final = re.compile(r"[a-f0-9]+")


def normalize_registry(registry: str) -> str:
    """``registry`` lower-cased (ASCII letters only), with Docker Hub's aliases folded into
    ``docker.io``."""
    host = (
        _ascii_lower(registry.strip(_ASCII_SPACE))
        .removeprefix("https://")
        .removeprefix("http://")
        .rstrip("/")
    )
    return DOCKER_HUB if host in _HUB_ALIASES else host


def _ascii_lower(text: str) -> str:
    """``text`` with its ASCII letters lower-cased and nothing else changed: ``str.lower`` folds
    some non-ASCII letters into ASCII ones (the Kelvin sign into ``k``)."""
    return text.translate(_ASCII_LOWER)


_ASCII_LOWER: Final = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
#: White space a reference may be written with: ASCII only (a no-break space is not white space here).
_ASCII_SPACE: Final = " \t\n\r\x0b\x0c"


def _digest_problem(digest: str) -> str | None:
    """Why ``digest`` is not a digest a registry accepts, or ``None``."""
    algorithm, colon, encoded = digest.partition(":")
    if not colon:
        return "is not of the form 'algorithm:hex' (for example 'sha256:' and 64 hex digits)"
    length = _DIGEST_LENGTHS.get(algorithm)
    if length is None:
        allowed = ", ".join(f"{name} ({n} hex digits)" for name, n in _DIGEST_LENGTHS.items())
        return f"has algorithm {algorithm!r}; registries use {allowed}"
    if encoded != encoded.lower() and _HEX_RE.fullmatch(encoded.lower()):
        return "has upper-case hex digits; digests are written in lower case"
    if len(encoded) != length or not _HEX_RE.fullmatch(encoded):
        return f"is not {algorithm}: and {length} lower-case hex digits (got {len(encoded)} characters)"
    return None


def _refuse_non_references(text: str, where: str) -> None:
    """Refuse what no reference has: a scheme, credentials, non-ASCII characters.

    A scheme and credentials are refused before any character is, and shown masked, so that a
    refusal for a character never shows one of a password.
    """
    if "://" in text:
        # What follows the scheme, without any credentials (masked first, then dropped).
        bare = masked_reference(redact_text(text).partition("://")[2])
        bare = bare.partition("***@")[2] if bare.startswith("***@") else bare
        msg = (
            f"{where} has a scheme; an image reference has none: write it as"
            f" {bare!r} ([registry[:port]/]path[:tag][@digest])"
        )
        raise ImageReferenceError(msg)
    name, at, digest = text.rpartition("@")
    if at and ("@" in name or "/" in digest or masked_reference(text) != text):
        msg = (
            f"{where} has credentials before an '@'; they do not belong in an image"
            " reference: give username= and password=, or use the Docker configuration"
        )
        raise ImageReferenceError(msg)
    if not text.isascii():
        bad = next(c for c in text if not c.isascii())
        msg = f"{where}: {bad!r} (U+{ord(bad):04X}) is not allowed; image references are ASCII only"
        raise ImageReferenceError(msg)


def _split_digest(text: str, where: str) -> tuple[str, str | None]:
    name, at, digest = text.rpartition("@")
    if not at:
        return text, None
    problem = _digest_problem(digest)
    if problem is not None:
        msg = f"{where}: digest {digest!r} {problem}"
        raise ImageReferenceError(msg)
    return name, digest


def _split_tag(text: str, where: str) -> tuple[str, str | None]:
    colon = text.rfind(":")
    if colon <= text.rfind("/"):
        return text, None
    tag = text[colon + 1 :]
    if not _TAG_RE.fullmatch(tag):
        msg = (
            f"{where}: tag {tag!r} is not allowed; a tag is up to 128 ASCII letters,"
            " digits, '_', '.' and '-', not starting with '.' or '-'"
        )
        raise ImageReferenceError(msg)
    return text[:colon], tag


@immutable
@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class ImageReference:
    """A parsed image reference: ``[registry/]path[:tag][@digest]``."""

    #: The registry host, normalised (``docker.io`` for Docker Hub and its aliases).
    registry: str
    #: The repository path (``library/ubuntu`` for ``ubuntu`` on Docker Hub).
    path: str
    #: The tag, or ``None``.
    tag: str | None = None
    #: The content digest (``sha256:...``), or ``None``.
    digest: str | None = None

    @classmethod
    def parse(cls, reference: str, *, registry: str | None = None) -> ImageReference:
        """Parse ``reference``; ``registry`` applies when the reference names none.

        The grammar is the distribution spec's, in ASCII: a path of lower-case components, a
        tag of up to 128 letters, digits, ``_``, ``.`` and ``-`` (not starting with ``.`` or
        ``-``), a ``sha256`` (64 hex digits) or ``sha512`` (128) digest. Raises
        :class:`~lzy.exceptions.ImageReferenceError` for a malformed reference (shown with any
        credentials masked), or a ``registry`` that contradicts the one in the reference.
        """
        if registry is not None:
            registry = registry_host("DockerContainer.registry", registry)
        # ASCII white space only: a no-break space around a name is refused, not dropped.
        text = reference.strip(_ASCII_SPACE)
        where = f"DockerContainer.image {masked_reference(text)!r}"
        if not text:
            msg = (
                f"DockerContainer.image must be an image reference like 'ubuntu:24.04'"
                f" ([registry[:port]/]path[:tag][@digest]), got {reference!r}"
            )
            raise ImageReferenceError(msg)
        _refuse_non_references(text, where)
        rest, digest = _split_digest(text, where)
        rest, tag = _split_tag(rest, where)
        first, _, remainder = rest.partition("/")
        named_registry: str | None = None
        if remainder and (
            "." in first or ":" in first or first == "localhost" or first != _ascii_lower(first)
        ):
            try:
                named_registry = registry_host(f"{where}: registry", first)
            except FieldValueError as error:
                raise ImageReferenceError(str(error)) from None
            path = remainder
        else:
            path = rest
        if not path or not _PATH_RE.fullmatch(path):
            hint = " (repository names must be lower case)" if path != _ascii_lower(path) else ""
            msg = (
                f"{where}: repository {path!r} is not valid{hint};"
                " expected [registry[:port]/]name[/name...][:tag][@digest], each name of lower-case"
                " letters and digits separated by '.', '_', '__' or dashes"
            )
            raise ImageReferenceError(msg)
        if (
            named_registry is not None
            and registry is not None
            and normalize_registry(named_registry) != normalize_registry(registry)
        ):
            msg = (
                f"DockerContainer: registry={registry!r} contradicts the registry"
                f" {named_registry!r} named in image {masked_reference(text)!r}; give one of them"
            )
            raise ImageReferenceError(msg)
        host = normalize_registry(named_registry or registry or DOCKER_HUB)
        if host == DOCKER_HUB and "/" not in path:
            path = f"library/{path}"
        if len(host) + 1 + len(path) > 255:
            msg = f"{where}: the repository name is longer than 255 characters"
            raise ImageReferenceError(msg)
        return cls(registry=host, path=path, tag=tag, digest=digest)

    def __str__(self) -> str:
        text = f"{self.registry}/{self.path}"
        if self.tag is not None:
            text += f":{self.tag}"
        if self.digest is not None:
            text += f"@{self.digest}"
        return text

    def default_pull_policy(self) -> PullPolicy:
        """Kubernetes' default: ``ALWAYS`` for ``:latest`` or no tag and no digest, else
        ``IF_NOT_PRESENT``."""
        if self.digest is None and self.tag in {None, "latest"}:
            return PullPolicy.ALWAYS
        return PullPolicy.IF_NOT_PRESENT


def _check_password(value: object) -> None:
    # The value is a secret: the message names its type and what is wrong, never a character.
    if value is None:
        return
    if not isinstance(value, str):
        msg = f"DockerContainer.password must be a str or None, got a {type(value).__name__}"
        raise FieldTypeError(msg)
    if not value:
        msg = "DockerContainer.password must be a non-empty string (a registry refuses an empty one)"
        raise FieldValueError(msg)
    if not value.isprintable() or not _encodable(value):
        msg = (
            "DockerContainer.password holds a control character (a NUL or a line break, say), an"
            " invisible one or a lone surrogate; a registry login takes printable text only"
            " (value not shown: it is a secret)"
        )
        raise FieldValueError(msg)


def _check_username(value: object) -> None:
    if value is None:
        return
    text = expect_str("DockerContainer", "username", value)
    bad = next((c for c in text if not c.isprintable() or c.isspace() or c == ":"), None)
    if bad is not None or not _encodable(text):
        what = f"{bad!r} (U+{ord(bad):04X})" if bad is not None else "a lone surrogate"
        msg = (
            f"DockerContainer.username must not hold {what}: a user name is printable text without"
            f" spaces or ':' (HTTP authentication splits at the first ':'), got {describe(text)}"
        )
        raise FieldValueError(msg)


def _encodable(text: str) -> bool:
    """Whether ``text`` encodes as UTF-8 (no lone surrogate), as every login sends it."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _pull_policy(value: object) -> PullPolicy | None:
    if value is None or isinstance(value, PullPolicy):
        return value
    if isinstance(value, str):
        # A name as Python or Kubernetes spells it: "IF_NOT_PRESENT", "IfNotPresent", "never".
        wanted = value.replace("_", "").casefold()
        for member in PullPolicy:
            if wanted in {member.name.replace("_", "").casefold(), member.value.casefold()}:
                return member
    allowed = ", ".join(f"PullPolicy.{m.name}" for m in PullPolicy)
    spelled = ", ".join(repr(m.value) for m in PullPolicy)
    msg = (
        f"DockerContainer.pull_policy must be one of {allowed} (or their Kubernetes names"
        f" {spelled}) or None, got {describe(value)}"
    )
    raise FieldTypeError(msg)


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True, repr=False)
class DockerContainer(Container):
    """Run the op in a Docker image.

    Credentials, when not given, come from the user's Docker configuration the way the docker
    CLI finds them: ``credHelpers``, then ``credsStore``, then ``auths`` in
    ``$DOCKER_CONFIG/config.json`` (default ``~/.docker/config.json``). :meth:`check` asks the
    registry, with those credentials, whether the image exists for the target platform.

    :param image: The image reference: ``[registry[:port]/]path[:tag][@digest]``, for example ``"ubuntu:24.04"`` or ``"ghcr.io/org/app@sha256:..."``. Required.
    :param registry: The registry host (``host[:port]``, no scheme, path or credentials), when :attr:`image` names none; ``None`` means the one in the image, else ``docker.io``. ``index.docker.io`` and ``registry-1.docker.io`` mean ``docker.io``. Default: ``None``.
    :param pull_policy: When the image is pulled: a :class:`PullPolicy`, or its name in any case as Python or Kubernetes spells it (``"IF_NOT_PRESENT"``, ``"IfNotPresent"``, ``"never"``); ``None`` follows Kubernetes: ``ALWAYS`` for ``:latest`` or an untagged image, else ``IF_NOT_PRESENT`` (so also for a pinned digest). Default: ``None``.
    :param username: The user name to pull with; ``None`` looks in the Docker configuration. Default: ``None``.
    :param password: The password or token to pull with. A secret: never shown in ``repr``, logs, messages or serialized output unless explicitly asked for. Default: ``None``.
    :param pin_digest: Record the digest the tag points to when the environment is resolved: resolution asks the registry (as :meth:`pinned` does: the tag must name a runnable image, for any platform) and the resolved image is ``registry/path:tag@digest``, so the tag cannot move between the check and the pull. Bounded by ``LZY_REGISTRY_DEADLINE`` (default 15 s). Off by default: resolution then needs no network. An image with a digest is pinned already and asks nothing. Default: ``False``.
    """  # noqa: E501 - one line per parameter, as editors read them

    #: The image reference: ``[registry[:port]/]path[:tag][@digest]``, for example
    #: ``"ubuntu:24.04"`` or ``"ghcr.io/org/app@sha256:..."``.
    image: str
    #: The registry host (``host[:port]``, no scheme, path or credentials), when :attr:`image`
    #: names none; ``None`` means the one in the image, else ``docker.io``.
    #: ``index.docker.io`` and ``registry-1.docker.io`` mean ``docker.io``.
    registry: str | None = None
    #: When the image is pulled: a :class:`PullPolicy`, or its name in any case as Python or
    #: Kubernetes spells it (``"IF_NOT_PRESENT"``, ``"IfNotPresent"``, ``"never"``); ``None``
    #: follows Kubernetes: ``ALWAYS`` for ``:latest`` or an untagged image, else
    #: ``IF_NOT_PRESENT`` (so also for a pinned digest).
    pull_policy: PullPolicy | str | None = None
    #: The user name to pull with; ``None`` looks in the Docker configuration.
    username: str | None = None
    #: The password or token to pull with. A secret: never shown in ``repr``, logs, messages
    #: or serialized output unless explicitly asked for.
    password: str | None = secret(default=None)
    #: Record the digest the tag points to when the environment is resolved: resolution asks
    #: the registry (as :meth:`pinned` does: the tag must name a runnable image, for any
    #: platform) and the resolved image is ``registry/path:tag@digest``, so the tag cannot move
    #: between the check and the pull. Bounded by ``LZY_REGISTRY_DEADLINE`` (default 15 s). Off
    #: by default: resolution then needs no network. An image with a digest is pinned already
    #: and asks nothing.
    pin_digest: bool = False

    def __post_init__(self) -> None:
        image = expect_str(self, "image", self.image, allow_empty=True)
        if self.registry is not None:
            registry_host("DockerContainer.registry", self.registry)
        object.__setattr__(self, "pull_policy", _pull_policy(self.pull_policy))
        _check_username(self.username)
        _check_password(self.password)
        expect_bool(self, "pin_digest", self.pin_digest)
        if (self.username is None) != (self.password is None):
            given = "username" if self.password is None else "password"
            msg = (
                f"DockerContainer: {given} is given without the other;"
                " give both, or neither to use the Docker configuration"
            )
            raise ContainerConfigError(msg)
        reference = ImageReference.parse(image, registry=self.registry)
        object.__setattr__(self, "registry", reference.registry)

    @property
    def container_type(self) -> str:
        """Always ``"docker"``."""
        return "docker"

    @property
    def reference(self) -> ImageReference:
        """The parsed image reference."""
        return ImageReference.parse(self.image, registry=self.registry)

    def credentials(self) -> Credentials | None:
        """The credentials a pull and :meth:`check` use: :attr:`username` and :attr:`password`
        when given, else those the Docker configuration has for the registry, else ``None``.

        A credential helper the configuration names may take at most the
        :attr:`~RegistrySettings.deadline` of :meth:`RegistrySettings.from_environ`.
        """
        return self._credentials(None)

    def _credentials(self, deadline: Deadline | None) -> Credentials | None:
        if self.username is not None and self.password is not None:
            return Credentials(
                username=self.username, password=self.password, source="DockerContainer.username/password"
            )
        return _lookup(self.reference.registry, deadline)

    def resolve(self) -> ResolvedContainer:
        """The full image reference, the pull policy and credentials (explicit or configured).

        With :attr:`pin_digest`, the registry is asked for the digest the tag points to, as
        :meth:`pinned` does with the settings of :meth:`RegistrySettings.from_environ` (so
        ``LZY_REGISTRY_DEADLINE`` and ``LZY_INSECURE_REGISTRIES`` bound it wherever the
        environment is resolved), and registry errors (:class:`~lzy.exceptions.RegistryError`)
        are raised here.
        """
        reference = self.reference
        if self.pin_digest and reference.digest is None:
            reference, credentials = self._pin(reference, RegistrySettings.from_environ())
        else:
            credentials = self._credentials(None)
        return ResolvedContainer(
            container_type="docker",
            # What a pull of an untagged image fetches, said explicitly.
            image=str(reference) if reference.tag or reference.digest else f"{reference}:latest",
            registry=reference.registry,
            pull_policy=_pull_policy(self.pull_policy) or reference.default_pull_policy(),
            username=credentials.username if credentials is not None else None,
            password=credentials.password if credentials is not None else None,
        )

    def pinned(self, *, settings: RegistrySettings | None = None) -> Self:
        """A copy whose :attr:`image` names the digest its tag points to now, asked of the
        registry (``registry/path:tag@sha256:...``): resolving the copy asks no registry, and
        every pull fetches what was pinned. An image that has a digest already is returned as
        it is.

        The reference must name a runnable image, for any platform: an image manifest whose
        configuration is an image's, or an index with an entry for a platform whose manifest
        exists. ``settings`` bounds the time it takes, the credential helper included;
        ``None`` means :meth:`RegistrySettings.from_environ`. Raises a subclass of
        :class:`~lzy.exceptions.RegistryError` naming what is wrong.
        """
        if settings is not None:
            expect_instance(
                "DockerContainer.pinned: settings", settings, RegistrySettings, "a RegistrySettings"
            )
        reference = self.reference
        if reference.digest is not None:
            return self
        pinned, _ = self._pin(reference, settings or RegistrySettings.from_environ())
        return dataclasses.replace(self, image=str(pinned))

    def _pin(
        self, reference: ImageReference, settings: RegistrySettings
    ) -> tuple[ImageReference, Credentials | None]:
        """``reference`` with the digest its tag points to, and the credentials that asked."""
        from lzy.env._http import Deadline  # noqa: PLC0415 - imports httpx: only to ask a registry

        deadline = Deadline(settings.deadline)
        credentials = self._credentials(deadline)
        found = check_image(
            reference.registry,
            reference.path,
            tag=reference.tag or "latest",
            credentials=credentials,
            platform=None,
            settings=settings,
            deadline=deadline,
        )
        return dataclasses.replace(reference, tag=found.tag, digest=found.digest), credentials

    def check(
        self, *, platform: Platform | str | None = None, settings: RegistrySettings | None = None
    ) -> ImageCheck:
        """Ask the image's registry whether the image exists for ``platform``, with the
        credentials :meth:`resolve` finds, and return what it found (the digest among it).

        ``platform`` is ``os/architecture[/variant]`` or a :class:`Platform`; ``None`` means
        ``linux/amd64``. For the machine an op is provisioned on, pass
        ``Platform.for_cpu_type(cpu_type)``. ``settings`` bounds the time spent (timeouts,
        retries, and a deadline for the whole check that the credential helper counts against)
        and says which registries may be reached over plain HTTP; ``None`` means
        :meth:`RegistrySettings.from_environ`.

        Raises a subclass of :class:`~lzy.exceptions.RegistryError` naming what is wrong: the
        registry is unreachable or is not one, credentials are missing or rejected, the
        repository, tag or digest does not exist, or the image lacks the platform.
        """
        from lzy.env._http import Deadline  # noqa: PLC0415 - imports httpx: only to ask a registry

        if platform is None:
            target = DEFAULT_PLATFORM
        elif isinstance(platform, Platform):
            target = platform
        else:
            target = Platform.parse(platform)
        if settings is not None:
            where = "DockerContainer.check: settings"
            expect_instance(where, settings, RegistrySettings, "a RegistrySettings")
        settings = settings or RegistrySettings.from_environ()
        deadline = Deadline(settings.deadline)
        reference = self.reference
        return check_image(
            reference.registry,
            reference.path,
            tag=reference.tag,
            digest=reference.digest,
            credentials=self._credentials(deadline),
            platform=target,
            settings=settings,
            deadline=deadline,
        )


def _config_path() -> Path:
    directory = os.environ.get("DOCKER_CONFIG")
    return Path(directory) / "config.json" if directory else Path.home() / ".docker" / "config.json"


def _matches(key: str, registry: str) -> bool:
    host = key.removeprefix("https://").removeprefix("http://").split("/", 1)[0]
    return normalize_registry(host) == registry


def find_credentials(registry: str) -> tuple[str, str] | None:
    """``(username, secret)`` for ``registry`` from the Docker configuration, or ``None``.

    Follows the docker CLI: a ``credHelpers`` entry for the registry wins, then the global
    ``credsStore``, then ``auths`` (an ``identitytoken``, else a base64 ``auth``, else
    ``username`` and ``password``). Helpers are run as ``docker-credential-<name> get`` with the
    server URL on standard input (``https://index.docker.io/v1/`` for Docker Hub). A user name
    of ``<token>`` marks the secret as an identity token.
    """
    found = lookup_credentials(registry)
    return None if found is None else (found.username, found.password)


def lookup_credentials(registry: str, *, timeout: float | None = None) -> Credentials | None:
    """:func:`find_credentials`, as :class:`Credentials` that also say where they were found.

    A credential helper may take at most ``timeout`` seconds (``None``: the
    :attr:`~RegistrySettings.deadline` of :meth:`RegistrySettings.from_environ`); one that has
    not answered by then is stopped, and the lookup fails with
    :class:`~lzy.exceptions.ResolutionError`. An ``auths`` entry whose ``auth`` is not base64 of
    ``user:password`` is refused the way the docker CLI refuses it, without showing any of it.
    """
    deadline: Deadline | None = None
    if timeout is not None:
        from lzy.env._http import Deadline  # noqa: PLC0415 - imports httpx: only for a helper's time

        try:
            deadline = Deadline(timeout)
        except ValueError:
            msg = (
                f"lookup_credentials: timeout must be a finite number of seconds > 0, got {describe(timeout)}"
            )
            raise FieldValueError(msg) from None
    return _lookup(registry, deadline)


def _lookup(registry: str, deadline: Deadline | None) -> Credentials | None:
    path = _config_path()
    try:
        config = _object(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        msg = f"cannot read the Docker configuration {path}: {error}"
        raise ResolutionError(msg) from error
    registry = normalize_registry(registry)
    server = _HUB_CONFIG_KEY if registry == DOCKER_HUB else registry
    for key, helper in _object(config.get("credHelpers")).items():
        if isinstance(helper, str) and _matches(key, registry):
            return _from_helper(helper, server, f"credHelpers in {path}", deadline)
    store = config.get("credsStore")
    if isinstance(store, str) and store:
        found = _from_helper(store, server, f"credsStore in {path}", deadline)
        if found is not None:
            return found
    for key, entry in _object(config.get("auths")).items():
        if _matches(key, registry):
            return _from_auth(key, _object(entry), f"auths entry {key!r} in {path}")
    return None


def _object(value: object) -> dict[str, object]:
    """``value`` if it is a JSON object, else an empty one."""
    if not isinstance(value, dict):
        return {}
    items = cast("dict[object, object]", value).items()
    return {k: v for k, v in items if isinstance(k, str)}


def _from_auth(key: str, entry: dict[str, object], source: str) -> Credentials | None:
    identity = entry.get("identitytoken")
    if isinstance(identity, str) and identity:
        return Credentials(username=IDENTITY_TOKEN_USER, password=identity, source=source)
    auth = entry.get("auth")
    if isinstance(auth, str) and auth:
        # Nothing decoded is ever shown: all of it may be the secret.
        where = f"the {source} has an 'auth'"
        fix = (
            "write 'auth' as base64 of 'user:password' (or 'user:token'), or log in again"
            f" with `docker login {key}`"
        )
        try:
            decoded = base64.b64decode(auth, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            # Not chained: the decoding error holds the decoded bytes, a secret.
            msg = f"{where} that is not valid base64 of UTF-8 'user:password'; {fix}"
            raise ResolutionError(msg) from None
        username, colon, password = decoded.partition(":")
        if not colon or not username:
            # The docker CLI refuses both ("invalid auth configuration file"): taken as a user
            # name, a token alone would be shown wherever the user name is.
            problem = "no ':' between a user name and a password" if not colon else "an empty user name"
            msg = f"{where} whose decoded value has {problem}, as the docker CLI refuses too; {fix}"
            raise ResolutionError(msg)
        return Credentials(username=username, password=password.strip("\x00"), source=source)
    user, token = entry.get("username"), entry.get("password")
    if isinstance(user, str) and isinstance(token, str):
        if not user:
            msg = f"the {source} has a password without a user name; give 'username' too, or log in again"
            raise ResolutionError(msg)
        return Credentials(username=user, password=token, source=source)
    return None


#: The most a credential helper may print: an answer is a small JSON object.
_HELPER_OUTPUT_LIMIT: Final = 1024 * 1024


def _from_helper(helper: str, server: str, where: str, deadline: Deadline | None) -> Credentials | None:
    program = f"docker-credential-{helper}"
    executable = shutil.which(program)
    if executable is None:
        msg = f"the Docker configuration names credential helper {helper!r}, but {program} is not on PATH"
        raise ResolutionError(msg)
    if deadline is None:
        from lzy.env._http import Deadline  # noqa: PLC0415 - imports httpx: only for a helper's time

        deadline = Deadline(RegistrySettings.from_environ().deadline)
    returncode, stdout, stderr = _run_helper(executable, program, server, deadline)
    if returncode != 0:
        if b"credentials not found" in (stdout + stderr).lower():
            return None
        # The helper's output may echo what it read; it is not shown.
        msg = f"credential helper {program} failed for {server} (exit code {returncode})"
        raise ResolutionError(msg)
    try:
        answer = json.loads(stdout.decode())
    except ValueError:
        # Not chained: the decoding error holds the helper's whole answer, which has the secret.
        said = "nothing" if not stdout.strip() else "something that is not JSON"
        msg = f"credential helper {program} answered {said} for {server} (exit code 0)"
        raise ResolutionError(msg) from None
    fields = _object(answer)
    user, token = fields.get("Username"), fields.get("Secret")
    if not isinstance(user, str) or not isinstance(token, str):
        msg = f"credential helper {program} answered without Username and Secret for {server}"
        raise ResolutionError(msg)
    return Credentials(username=user, password=token, source=f"credential helper {program} ({where})")


def _run_helper(executable: str, program: str, server: str, deadline: Deadline) -> tuple[int, bytes, bytes]:
    """Run ``<helper> get`` with ``server`` on its standard input, by ``deadline``: its exit
    code and what it printed.

    The helper is done when it exits, not when its output closes: a helper that starts a
    lasting agent (gpg-agent for ``pass``) may leave it holding the output open. One that has
    not exited by the deadline is stopped.
    """
    process = subprocess.Popen(
        [executable, "get"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        stdin = process.stdin
        assert stdin is not None
        try:
            stdin.write(server.encode())
            stdin.close()
        except BrokenPipeError:
            pass  # it exited without reading: its exit code says what happened
        if os.name == "nt":
            try:
                stdout, stderr = process.communicate(timeout=deadline.remaining())
            except subprocess.TimeoutExpired:
                raise _helper_late(program, deadline) from None
            return process.returncode, stdout, stderr
        return _collect(process, program, deadline)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def _collect(process: subprocess.Popen[bytes], program: str, deadline: Deadline) -> tuple[int, bytes, bytes]:
    """What ``process`` prints until it exits (and what it had printed by then), by ``deadline``."""
    import selectors  # noqa: PLC0415 - only to read a credential helper

    assert process.stdout is not None
    assert process.stderr is not None
    output = {process.stdout.fileno(): bytearray(), process.stderr.fileno(): bytearray()}
    with selectors.DefaultSelector() as selector:
        for fd in output:
            selector.register(fd, selectors.EVENT_READ)
        exited = False
        while selector.get_map():
            remaining = deadline.remaining()
            if remaining <= 0 and not exited:
                raise _helper_late(program, deadline)
            # Once it has exited, only what is already written is read (wait 0).
            ready = selector.select(0 if exited else min(remaining, 0.05))
            if not ready:
                if exited:
                    break
                exited = process.poll() is not None
                continue
            for key, _ in ready:
                fd = key.fd
                chunk = os.read(fd, 65536)
                if not chunk:
                    selector.unregister(fd)
                    continue
                output[fd] += chunk
                if len(output[fd]) > _HELPER_OUTPUT_LIMIT:
                    msg = f"credential helper {program} printed more than {_HELPER_OUTPUT_LIMIT} bytes"
                    raise ResolutionError(msg)
    try:
        # Its output has ended; it has exited too, or must by the deadline.
        returncode = process.wait(max(deadline.remaining(), 0.001))
    except subprocess.TimeoutExpired:
        raise _helper_late(program, deadline) from None
    return returncode, bytes(output[process.stdout.fileno()]), bytes(output[process.stderr.fileno()])


def _helper_late(program: str, deadline: Deadline) -> ResolutionError:
    msg = (
        f"credential helper {program} did not answer within the {deadline.seconds:g} s deadline"
        " (RegistrySettings.deadline) and was stopped; a helper that asks for a passphrase needs"
        f" more: raise the deadline with RegistrySettings(deadline=...), {DEADLINE_ENV}"
        " or lzy-env validate --registry-deadline"
    )
    return ResolutionError(msg)
