"""Checking images against real registries on loopback: found, pinned, or refused clearly."""

from __future__ import annotations

import base64
import dataclasses
import re
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import pytest

from lzy.api.v1.env import DockerContainer, Platform, PullPolicy, RegistrySettings
from lzy.exceptions import (
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
    ResolutionError,
)

from .conftest import CANARY, CANARY_IDENTITY, OUTSIDER, Images
from .support import (
    RegistryServer,
    ServerCertificate,
    StaticServer,
    TokenServer,
    credential_helper,
    docker_config,
)

#: Quick to give up: failure tests stay fast.
QUICK = RegistrySettings(timeout=2.0, retries=1, backoff=0.01, deadline=20.0)


def _alice(image: str, **fields: object) -> DockerContainer:
    return DockerContainer(image=image, username="alice", password=CANARY, **fields)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]


def test_single_platform_image_is_found(registry: str, images: Images) -> None:
    """A single-platform image is found with its digest, media type and platform."""
    found = _alice(f"{registry}/lzy/single:1.0").check()
    assert found.digest == images.single.digest
    assert found.media_type == "application/vnd.docker.distribution.manifest.v2+json"
    assert str(found.matched_platform) == "linux/amd64"
    assert found.platform_digest == images.single.digest
    assert [str(p) for p in found.platforms] == ["linux/amd64"]
    assert found.pinned_image == f"{registry}/lzy/single:1.0@{images.single.digest}"
    assert found.registry_url == f"http://{registry}"
    assert found.username == "alice"


def test_authentication_scheme_follows_the_challenge(basic_registry: str, token_registry: str) -> None:
    """Basic for an htpasswd registry, a Bearer token from the token service for the other."""
    assert _alice(f"{basic_registry}/lzy/single:1.0").check().authentication == "basic"
    assert _alice(f"{token_registry}/lzy/single:1.0").check().authentication == "bearer"


@pytest.mark.parametrize(
    ("platform", "expected"),
    [
        (None, "multi_amd64"),
        ("linux/amd64", "multi_amd64"),
        ("linux/x86_64", "multi_amd64"),
        ("linux/arm64", "multi_arm64"),
        ("linux/aarch64", "multi_arm64"),
        ("linux/arm64/v8", "multi_arm64"),
        (Platform.for_cpu_type("aarch64"), "multi_arm64"),
    ],
)
def test_index_entry_for_the_platform_is_chosen(
    registry: str, images: Images, platform: Platform | str | None, expected: str
) -> None:
    """An index gives the entry for the target platform (aliases normalised); the digest is the index's."""
    found = _alice(f"{registry}/lzy/multi:2.0").check(platform=platform)
    assert found.digest == images.multi.digest
    assert found.media_type == "application/vnd.oci.image.index.v1+json"
    assert found.platform_digest == getattr(images, expected).digest
    assert [str(p) for p in found.platforms] == ["linux/amd64", "linux/arm64/v8"]


def test_index_without_the_platform_is_refused(registry: str) -> None:
    """An index without linux/amd64 names the platforms it has (attestations left out)."""
    with pytest.raises(PlatformNotFoundError) as caught:
        _alice(f"{registry}/lzy/armonly:1").check()
    message = str(caught.value)
    assert "has no image for linux/amd64; it provides linux/arm64/v8, linux/arm/v7" in message
    assert "unknown" not in message


def test_single_image_of_another_platform_is_refused(registry: str) -> None:
    """A single manifest built for arm64 is refused for amd64 and accepted for arm64."""
    container = _alice(f"{registry}/lzy/armsingle:1")
    with pytest.raises(PlatformNotFoundError, match=r"is built for linux/arm64 only, not for linux/amd64"):
        container.check()
    assert str(container.check(platform="linux/arm64/v8").matched_platform) == "linux/arm64"


def test_variant_must_match_when_asked(registry: str) -> None:
    """``linux/arm/v6`` is not served by a ``linux/arm/v7`` image."""
    with pytest.raises(PlatformNotFoundError, match="has no image for linux/arm/v6"):
        _alice(f"{registry}/lzy/armonly:1").check(platform="linux/arm/v6")
    assert _alice(f"{registry}/lzy/armonly:1").check(platform="linux/arm/v7").platform_digest is not None


@pytest.mark.parametrize(
    ("platform", "found"),
    [("linux/amd64", False), ("linux/amd64/v1", False), ("linux/amd64/v2", False), ("linux/amd64/v3", True),
     ("linux/amd64/v4", True)],
)  # fmt: skip
def test_amd64_variants_are_compared_as_containerd_does(
    registry: str, images: Images, platform: str, found: bool
) -> None:
    """An index for ``linux/amd64/v3`` only does not serve plain ``linux/amd64`` (v1) machines,
    nor v2; it serves v3 and v4 ones."""
    container = _alice(f"{registry}/lzy/amdv3:1")
    if found:
        assert container.check(platform=platform).digest == images.amd64_v3.digest
    else:
        with pytest.raises(PlatformNotFoundError, match=r"it provides linux/amd64/v3"):
            container.check(platform=platform)


def test_check_by_digest(registry: str, images: Images) -> None:
    """A reference by digest is checked by digest; an unknown digest is its own error."""
    found = _alice(f"{registry}/lzy/multi@{images.multi.digest}").check(platform="linux/arm64")
    assert (found.tag, found.digest) == (None, images.multi.digest)
    missing = "sha256:" + "0" * 64
    with pytest.raises(ManifestNotFoundError, match=f"has no digest '{missing}'"):
        _alice(f"{registry}/lzy/multi@{missing}").check()


def test_unknown_tag_names_close_tags(registry: str) -> None:
    """A tag that does not exist is :class:`ManifestNotFoundError`, suggesting close tags."""
    with pytest.raises(ManifestNotFoundError, match=r"lzy/single has no tag '1\.1'; closest tags: 1\.0"):
        _alice(f"{registry}/lzy/single:1.1").check()


def test_unknown_repository(registry: str) -> None:
    """A repository the registry does not have is :class:`RepositoryNotFoundError`."""
    with pytest.raises(RepositoryNotFoundError, match="has no repository 'lzy/nothing-here'"):
        _alice(f"{registry}/lzy/nothing-here:1").check()


def test_not_an_image(registry: str) -> None:
    """An artifact whose configuration is not an image's (a Helm chart) is :class:`NotAnImageError`."""
    with pytest.raises(NotAnImageError, match=r"application/vnd\.cncf\.helm\.config\.v1"):
        _alice(f"{registry}/lzy/chart:1").check()


def test_missing_credentials(registry: str) -> None:
    """Without credentials anywhere: :class:`RegistryCredentialsRequiredError`, saying how to give them."""
    with pytest.raises(RegistryCredentialsRequiredError) as caught:
        DockerContainer(image=f"{registry}/lzy/single:1.0").check()
    assert "docker login" in str(caught.value)
    assert "username=" in str(caught.value)


@pytest.mark.parametrize("password", ["wrong-password", CANARY + "x"])
def test_wrong_password(registry: str, password: str) -> None:
    """Wrong credentials: :class:`RegistryCredentialsRejectedError`, naming the user, not the password."""
    with pytest.raises(RegistryCredentialsRejectedError) as caught:
        DockerContainer(image=f"{registry}/lzy/single:1.0", username="alice", password=password).check()
    assert "user 'alice' (from DockerContainer.username/password)" in str(caught.value)
    assert password not in str(caught.value)


def test_valid_credentials_without_access(token_registry: str) -> None:
    """Credentials the token service accepts but that grant no pull: :class:`RegistryAccessDeniedError`."""
    container = DockerContainer(
        image=f"{token_registry}/lzy/single:1.0", username=OUTSIDER[0], password=OUTSIDER[1]
    )
    with pytest.raises(RegistryAccessDeniedError, match="accepted the credentials of user 'bob'"):
        container.check()


def test_anonymous_pull_with_a_token(token_registry: str, images: Images) -> None:
    """A public repository is checked with an anonymous token, as on Docker Hub."""
    found = DockerContainer(image=f"{token_registry}/public/tool:1").check()
    assert (found.digest, found.authentication, found.username) == (images.public.digest, "bearer", None)


def test_identity_token_uses_the_refresh_token_grant(token_registry: str, token_service: TokenServer) -> None:
    """An ``identitytoken`` in ``auths`` is sent as an OAuth2 refresh token (POST), not as a password."""
    docker_config({"auths": {token_registry: {"identitytoken": CANARY_IDENTITY}}})
    before = len(token_service.requests)
    found = DockerContainer(image=f"{token_registry}/lzy/single:1.0").check()
    assert found.username == "<token>"
    assert [method for method, _, _ in token_service.requests[before:]] == ["POST"]
    docker_config({"auths": {token_registry: {"identitytoken": "not-a-valid-token"}}})
    with pytest.raises(RegistryCredentialsRejectedError, match="an identity token"):
        DockerContainer(image=f"{token_registry}/lzy/single:1.0").check()


@pytest.mark.parametrize("through", ["credsStore", "credHelpers"])
def test_credentials_from_a_real_helper(
    registry: str, helper_dir: Path, through: str, images: Images
) -> None:
    """A config with only a credential helper: the check finds the image with the helper's credentials."""
    credential_helper(helper_dir, "lzytest", {registry: ("alice", CANARY)})
    docker_config(
        {"credsStore": "lzytest"} if through == "credsStore" else {"credHelpers": {registry: "lzytest"}}
    )
    container = DockerContainer(image=f"{registry}/lzy/multi:2.0")
    found = container.check()
    assert (found.digest, found.username) == (images.multi.digest, "alice")
    credentials = container.credentials()
    assert credentials is not None
    assert f"docker-credential-lzytest ({through} in" in credentials.source


def test_docker_hub_is_asked_for_under_its_special_key(helper_dir: Path) -> None:
    """Helpers are asked for Docker Hub as ``https://index.docker.io/v1/``, whatever alias the image uses."""
    credential_helper(helper_dir, "hub", {"https://index.docker.io/v1/": ("hubuser", CANARY)})
    docker_config({"credsStore": "hub"})
    for image in ("ubuntu:24.04", "docker.io/library/ubuntu", "index.docker.io/org/app:1"):
        credentials = DockerContainer(image=image).credentials()
        assert credentials is not None
        assert (credentials.username, credentials.password) == ("hubuser", CANARY)
    assert DockerContainer(image="ghcr.io/org/app:1").credentials() is None


def test_helper_failure_is_reported_without_its_output(helper_dir: Path) -> None:
    """A helper that fails is named with its exit code; what it printed (maybe a secret) is not shown."""
    script = helper_dir / "docker-credential-broken"
    script.write_text(f"#!/bin/sh\necho 'leaked {CANARY}' >&2\nexit 3\n")
    script.chmod(0o755)
    docker_config({"credsStore": "broken"})
    with pytest.raises(ResolutionError, match="docker-credential-broken failed") as caught:
        DockerContainer(image="ghcr.io/org/app:1").credentials()
    assert CANARY not in str(caught.value)


def test_pin_digest_records_the_checked_digest(registry: str, images: Images) -> None:
    """With ``pin_digest``, the resolved image names the digest the tag points to (the index's)."""
    resolved = _alice(f"{registry}/lzy/multi:2.0", pin_digest=True).resolve()
    assert resolved.image == f"{registry}/lzy/multi:2.0@{images.multi.digest}"
    assert resolved.pull_policy is PullPolicy.IF_NOT_PRESENT
    unpinned = _alice(f"{registry}/lzy/multi:2.0").resolve()
    assert unpinned.image == f"{registry}/lzy/multi:2.0"
    untagged = _alice(f"{registry}/lzy/single", pin_digest=False).resolve()
    assert untagged.image == f"{registry}/lzy/single:latest"


@pytest.mark.parametrize(
    ("image", "error", "words"),
    [
        ("lzy/chart:1", NotAnImageError, "application/vnd.cncf.helm.config.v1+json"),
        ("lzy/attonly:1", PlatformNotFoundError, "an index without a runnable image"),
    ],
)
def test_pin_digest_refuses_what_is_not_a_runnable_image(
    registry: str, image: str, error: type[RegistryError], words: str
) -> None:
    """Pinning refuses what :meth:`check` refuses for every platform: an artifact that is not an
    image (a Helm chart), an index of attestations only."""
    with pytest.raises(error, match=re.escape(words)):
        _alice(f"{registry}/{image}", pin_digest=True).resolve()
    with pytest.raises(error):
        _alice(f"{registry}/{image}").check()


def test_pin_digest_pins_an_image_of_another_platform(registry: str, images: Images) -> None:
    """Pinning asks for no particular platform: an arm-only image is pinned at its index's digest."""
    resolved = _alice(f"{registry}/lzy/armonly:1", pin_digest=True).resolve()
    assert resolved.image == f"{registry}/lzy/armonly:1@{images.arm_only.digest}"


def test_pinned_gives_a_copy_that_asks_no_registry(storage: tuple[Path, Images], images: Images) -> None:
    """:meth:`DockerContainer.pinned` writes the digest into the image: the copy resolves with the
    registry stopped, to the same reference as pinning at resolution."""
    with RegistryServer(storage[0]) as server:
        container = DockerContainer(image=f"{server.host}/lzy/multi:2.0", pull_policy="Always")
        pinned = container.pinned()
        assert pinned.pinned() is pinned
        assert dataclasses.replace(container, pin_digest=True).resolve() == pinned.resolve()
    assert pinned.image == f"{server.host}/lzy/multi:2.0@{images.multi.digest}"
    assert pinned.resolve().image == pinned.image
    assert (pinned.pull_policy, pinned.registry) == (container.pull_policy, container.registry)


def test_pin_digest_fails_at_resolution(registry: str) -> None:
    """A tag that does not exist fails resolution when pinning is asked for, before anything runs."""
    with pytest.raises(ManifestNotFoundError):
        _alice(f"{registry}/lzy/single:9.9", pin_digest=True).resolve()


# -- what is not a working registry ---------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "content_type", "fragment"),
    [
        (404, b"<html>not found</html>", "text/html", "answered HTTP 404"),
        (200, b"<html>welcome</html>", "text/html", "does not look like a container registry"),
        (500, b"oops", "text/plain", None),
    ],
)
def test_not_a_registry(status: int, body: bytes, content_type: str, fragment: str | None) -> None:
    """A web server that is not a registry is :class:`NotARegistryError`; failing with 5xx, unreachable."""
    with StaticServer(status, body, content_type) as server:
        container = DockerContainer(image=f"{server.host}/lzy/single:1.0")
        if fragment is None:
            with pytest.raises(RegistryUnreachableError, match="answered HTTP 500"):
                container.check(settings=QUICK)
        else:
            with pytest.raises(NotARegistryError, match=fragment):
                container.check(settings=QUICK)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_nothing_listening_is_unreachable() -> None:
    """A port where nothing listens: :class:`RegistryUnreachableError` naming the URL and the tries."""
    port = _free_port()
    with pytest.raises(RegistryUnreachableError) as caught:
        DockerContainer(image=f"127.0.0.1:{port}/lzy/single:1.0").check(settings=QUICK)
    message = str(caught.value)
    assert f"http://127.0.0.1:{port}/v2/" in message
    assert "could not be reached" in message
    assert "tried 2 times" in message


def test_stopped_registry_is_unreachable(storage: tuple[Path, Images]) -> None:
    """A registry that was found once and then stopped gives :class:`RegistryUnreachableError`."""
    server = RegistryServer(storage[0])
    with server:
        container = DockerContainer(image=f"{server.host}/lzy/single:1.0")
        assert container.check(settings=QUICK).authentication == "none"
    with pytest.raises(RegistryUnreachableError, match="could not be reached"):
        container.check(settings=QUICK)


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield int(listener.getsockname()[1])


def test_silent_server_times_out(silent_port: int) -> None:
    """A server that takes the request and never answers fails after the timeout, not never; the
    request is not retried (the server has it), while failing to connect is."""
    settings = RegistrySettings(timeout=0.2, connect_timeout=0.2, retries=1, backoff=0.01)
    with pytest.raises(RegistryUnreachableError, match=r"did not answer within 0\.2 s .*\(tried once\)"):
        DockerContainer(image=f"127.0.0.1:{silent_port}/app:1").check(settings=settings)


def test_deadline_bounds_the_whole_check() -> None:
    """The deadline stops retries that would run past it."""
    settings = RegistrySettings(retries=50, backoff=0.1, deadline=0.6)
    with (
        StaticServer(503, b"busy", "text/plain") as server,
        pytest.raises(RegistryUnreachableError, match=r"within 0\.6 s .*RegistrySettings\.deadline"),
    ):
        DockerContainer(image=f"{server.host}/app:1").check(settings=settings)


def test_basic_credentials_sent_as_http_authentication(basic_registry: str) -> None:
    """The check authenticates with an Authorization header; the URL it reached holds no credentials."""
    found = _alice(f"{basic_registry}/lzy/single:1.0").check()
    assert "@" not in found.registry_url
    assert base64.b64encode(f"alice:{CANARY}".encode()).decode() not in repr(found)


def test_error_classes_are_distinct() -> None:
    """Each failure has its own class, all under :class:`RegistryError` (a resolution error)."""
    classes = {
        RegistryUnreachableError,
        NotARegistryError,
        RegistryCredentialsRequiredError,
        RegistryCredentialsRejectedError,
        RegistryAccessDeniedError,
        RepositoryNotFoundError,
        ManifestNotFoundError,
        PlatformNotFoundError,
        NotAnImageError,
    }
    assert all(issubclass(c, RegistryError) for c in classes)
    assert not any(issubclass(a, b) for a in classes for b in classes if a is not b)
    assert issubclass(RegistryError, ResolutionError)


# -- TLS and plain HTTP -----------------------------------------------------------------------


@pytest.fixture(scope="session")
def tls_registry(
    storage: tuple[Path, Images], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Path]]:
    """An open registry serving HTTPS with a certificate of its own authority: ``host`` and the
    authority's certificate."""
    certificate = ServerCertificate.generate(tmp_path_factory.mktemp("tls"))
    with RegistryServer(storage[0], tls=certificate) as server:
        yield server.host, certificate.authority


def test_https_registry_trusted_through_certs_dir(
    tls_registry: tuple[str, Path], images: Images, tmp_path: Path
) -> None:
    """A registry's own authority in ``certs.d/<host>/ca.crt`` is trusted, as the docker daemon does."""
    host, authority = tls_registry
    certs = tmp_path / "certs.d"
    (certs / host).mkdir(parents=True)
    shutil.copy(authority, certs / host / "ca.crt")
    found = DockerContainer(image=f"{host}/lzy/single:1.0").check(settings=RegistrySettings(certs_dir=certs))
    assert (found.registry_url, found.digest) == (f"https://{host}", images.single.digest)


def test_untrusted_certificate_is_reported_at_once(tls_registry: tuple[str, Path], tmp_path: Path) -> None:
    """An unverifiable certificate is its own message, naming where to trust it; no retries, no plain HTTP."""
    host, _ = tls_registry
    settings = RegistrySettings(certs_dir=tmp_path / "certs.d")
    with pytest.raises(RegistryUnreachableError) as caught:
        DockerContainer(image=f"{host}/lzy/single:1.0").check(settings=settings)
    message = str(caught.value)
    assert "presented a TLS certificate that could not be verified" in message
    assert str(tmp_path / "certs.d" / host / "ca.crt") in message
    assert "(tried once)" in message


def test_credentials_never_go_to_a_plain_http_token_service(
    storage: tuple[Path, Images], token_service: TokenServer
) -> None:
    """A token service on plain HTTP elsewhere than this machine is not sent the password."""
    auth = token_service.registry_auth()
    token = dict(cast("dict[str, object]", auth["token"]), realm="http://tokens.example.invalid/token")
    with (
        RegistryServer(storage[0], auth={"token": token}) as server,
        pytest.raises(
            RegistryProtocolError, match=r"over plain HTTP to tokens\.example\.invalid; they are not sent"
        ),
    ):
        _alice(f"{server.host}/lzy/single:1.0").check(settings=QUICK)
