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
from typing import Final, cast

from lzy.env._base import describe, expect_str, secret
from lzy.env.container.base import Container, PullPolicy, ResolvedContainer
from lzy.exceptions import (
    ContainerConfigError,
    FieldTypeError,
    ImageReferenceError,
    ResolutionError,
)

__all__ = [
    "DOCKER_HUB",
    "DockerContainer",
    "ImageReference",
    "PullPolicy",
    "find_credentials",
    "normalize_registry",
]


def __dir__() -> list[str]:
    return __all__


#: The canonical name of Docker Hub's registry.
DOCKER_HUB: Final = "docker.io"
_HUB_ALIASES: Final = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})
#: The key the docker CLI uses for Docker Hub in ``config.json`` and credential helpers.
_HUB_CONFIG_KEY: Final = "https://index.docker.io/v1/"

# The grammar of github.com/distribution/reference.
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[0-9a-fA-F:.]+\])(?::[0-9]+)?"
_PATH_RE: Final = re.compile(rf"{_COMPONENT}(?:/{_COMPONENT})*")
_DOMAIN_RE: Final = re.compile(_DOMAIN)
_TAG_RE: Final = re.compile(r"[\w][\w.-]{0,127}")
_DIGEST_RE: Final = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}")


def normalize_registry(registry: str) -> str:
    """``registry`` lower-cased, with Docker Hub's aliases folded into ``docker.io``."""
    host = registry.strip().lower().removeprefix("https://").removeprefix("http://").rstrip("/")
    return DOCKER_HUB if host in _HUB_ALIASES else host


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

        Raises :class:`~lzy.exceptions.ImageReferenceError` for a malformed reference or a
        ``registry`` that contradicts the one in the reference.
        """
        text = reference.strip()
        rest, digest = text, None
        if "@" in rest:
            rest, digest = rest.split("@", 1)
            if not _DIGEST_RE.fullmatch(digest):
                msg = (
                    f"DockerContainer.image {reference!r}: digest {digest!r} is not of the form"
                    " 'algorithm:hex' (for example 'sha256:' and 64 hex digits)"
                )
                raise ImageReferenceError(msg)
        tag = None
        last_slash = rest.rfind("/")
        colon = rest.rfind(":")
        if colon > last_slash:
            rest, tag = rest[:colon], rest[colon + 1 :]
            if not _TAG_RE.fullmatch(tag):
                msg = (
                    f"DockerContainer.image {reference!r}: tag {tag!r} is not allowed; a tag is"
                    " up to 128 letters, digits, '_', '.' and '-', not starting with '.' or '-'"
                )
                raise ImageReferenceError(msg)
        first, _, remainder = rest.partition("/")
        named_registry: str | None = None
        if remainder and ("." in first or ":" in first or first == "localhost" or first != first.lower()):
            named_registry, path = first, remainder
            if not _DOMAIN_RE.fullmatch(named_registry):
                msg = f"DockerContainer.image {reference!r}: registry {named_registry!r} is not a host[:port]"
                raise ImageReferenceError(msg)
        else:
            path = rest
        if not path or not _PATH_RE.fullmatch(path):
            hint = " (repository names must be lower case)" if path != path.lower() else ""
            msg = (
                f"DockerContainer.image {reference!r}: repository {path!r} is not valid{hint};"
                " expected [registry[:port]/]name[/name...][:tag][@digest]"
            )
            raise ImageReferenceError(msg)
        if (
            named_registry is not None
            and registry is not None
            and normalize_registry(named_registry) != normalize_registry(registry)
        ):
            msg = (
                f"DockerContainer: registry={registry!r} contradicts the registry"
                f" {named_registry!r} named in image {reference!r}; give one of them"
            )
            raise ImageReferenceError(msg)
        host = normalize_registry(named_registry or registry or DOCKER_HUB)
        if host == DOCKER_HUB and "/" not in path:
            path = f"library/{path}"
        if len(host) + 1 + len(path) > 255:
            msg = f"DockerContainer.image {reference!r}: the repository name is longer than 255 characters"
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
    # The value is a secret: the message names its type only.
    if value is not None and not isinstance(value, str):
        msg = f"DockerContainer.password must be a str or None, got a {type(value).__name__}"
        raise FieldTypeError(msg)


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
    ``$DOCKER_CONFIG/config.json`` (default ``~/.docker/config.json``).
    """

    #: The image reference: ``[registry[:port]/]path[:tag][@digest]``, for example
    #: ``"ubuntu:24.04"`` or ``"ghcr.io/org/app@sha256:..."``.
    image: str
    #: The registry host, when :attr:`image` names none; ``None`` means the one in the image,
    #: else ``docker.io``. ``index.docker.io`` and ``registry-1.docker.io`` mean ``docker.io``.
    registry: str | None = None
    #: When the image is pulled; ``None`` follows Kubernetes: ``ALWAYS`` for ``:latest`` or an
    #: untagged image, else ``IF_NOT_PRESENT``.
    pull_policy: PullPolicy | None = None
    #: The user name to pull with; ``None`` looks in the Docker configuration.
    username: str | None = None
    #: The password or token to pull with. A secret: never shown in ``repr``, logs, messages
    #: or serialized output unless explicitly asked for.
    password: str | None = secret(default=None)

    def __post_init__(self) -> None:
        image = expect_str(self, "image", self.image)
        if self.registry is not None:
            expect_str(self, "registry", self.registry)
        object.__setattr__(self, "pull_policy", _pull_policy(self.pull_policy))
        if self.username is not None:
            expect_str(self, "username", self.username)
        _check_password(self.password)
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

    def resolve(self) -> ResolvedContainer:
        """The full image reference, the pull policy and credentials (explicit or configured)."""
        reference = self.reference
        username, password = self.username, self.password
        if username is None:
            found = find_credentials(reference.registry)
            if found is not None:
                username, password = found
        return ResolvedContainer(
            container_type="docker",
            # What a pull of an untagged image fetches, said explicitly.
            image=str(reference) if reference.tag or reference.digest else f"{reference}:latest",
            registry=reference.registry,
            pull_policy=self.pull_policy or reference.default_pull_policy(),
            username=username,
            password=password,
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
    ``credsStore``, then a base64 ``auth`` in ``auths``. Helpers are run as
    ``docker-credential-<name> get`` with the server URL on standard input.
    """
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
            return _from_helper(helper, server)
    store = config.get("credsStore")
    if isinstance(store, str) and store:
        found = _from_helper(store, server)
        if found is not None:
            return found
    for key, entry in _object(config.get("auths")).items():
        if _matches(key, registry):
            return _from_auth(key, _object(entry))
    return None


def _object(value: object) -> dict[str, object]:
    """``value`` if it is a JSON object, else an empty one."""
    if not isinstance(value, dict):
        return {}
    items = cast("dict[object, object]", value).items()
    return {k: v for k, v in items if isinstance(k, str)}


def _from_auth(key: str, entry: dict[str, object]) -> tuple[str, str] | None:
    auth = entry.get("auth")
    if isinstance(auth, str) and auth:
        try:
            username, _, password = base64.b64decode(auth, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError) as error:
            msg = f"the Docker configuration's auths entry for {key!r} is not valid base64 'user:password'"
            raise ResolutionError(msg) from error
        return username, password
    user, token = entry.get("username"), entry.get("password")
    if isinstance(user, str) and isinstance(token, str):
        return user, token
    return None


def _from_helper(helper: str, server: str) -> tuple[str, str] | None:
    program = f"docker-credential-{helper}"
    executable = shutil.which(program)
    if executable is None:
        msg = f"the Docker configuration names credential helper {helper!r}, but {program} is not on PATH"
        raise ResolutionError(msg)
    try:
        done = subprocess.run(
            [executable, "get"],
            input=server,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except subprocess.TimeoutExpired as error:
        msg = f"credential helper {program} did not answer within 30 s"
        raise ResolutionError(msg) from error
    if done.returncode != 0:
        if "credentials not found" in (done.stdout + done.stderr).lower():
            return None
        # The helper's output may echo what it read; it is not shown.
        msg = f"credential helper {program} failed for {server} (exit code {done.returncode})"
        raise ResolutionError(msg)
    try:
        answer = json.loads(done.stdout)
    except ValueError as error:
        msg = f"credential helper {program} did not answer with JSON for {server}"
        raise ResolutionError(msg) from error
    fields = _object(answer)
    user, token = fields.get("Username"), fields.get("Secret")
    if not isinstance(user, str) or not isinstance(token, str):
        msg = f"credential helper {program} answered without Username and Secret for {server}"
        raise ResolutionError(msg)
    return user, token
