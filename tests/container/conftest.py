"""Fixtures of the registry tests: real registries on loopback holding a few tiny images.

One storage directory is filled once per session through an open registry; a registry with
htpasswd (HTTP Basic) authentication and one with token authentication then serve it.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from .support import (
    REQUIRED_ENV,
    Pushed,
    Pusher,
    RegistryServer,
    TokenKeys,
    TokenServer,
    htpasswd_file,
    missing_tools,
)

#: The password of the test user: it must never show up anywhere.
CANARY = "canary-Pw-5f1e9c"
#: An identity token (OAuth2 refresh token) of the test user: it must never show up either.
CANARY_IDENTITY = "canary-identity-0b7d2a"
#: A user whose credentials are valid but who may pull nothing from ``lzy/``.
OUTSIDER = ("bob", "bob-password-31c4")


@dataclasses.dataclass(frozen=True)
class Images:
    """What the session's storage holds."""

    #: ``lzy/single:1.0``: one Docker v2 manifest for linux/amd64.
    single: Pushed
    #: ``lzy/multi:2.0``: an OCI index for linux/amd64 and linux/arm64/v8 (and an attestation).
    multi: Pushed
    #: The linux/amd64 manifest of :attr:`multi`.
    multi_amd64: Pushed
    #: The linux/arm64/v8 manifest of :attr:`multi`.
    multi_arm64: Pushed
    #: ``lzy/armonly:1``: an index for linux/arm64/v8 and linux/arm/v7 only.
    arm_only: Pushed
    #: ``lzy/armsingle:1``: one OCI manifest for linux/arm64.
    arm_single: Pushed
    #: ``lzy/chart:1``: an OCI artifact whose configuration is a Helm chart's.
    chart: Pushed
    #: ``public/tool:1``: anyone may pull it from the token registry.
    public: Pushed
    #: ``lzy/attonly:1``: an index whose only entry is a build attestation (no runnable image).
    attestation_only: Pushed
    #: ``lzy/amdv3:1``: an index for linux/amd64/v3 only (x86-64-v3 machines, not every amd64).
    amd64_v3: Pushed


@pytest.fixture(scope="session")
def registry_tools() -> None:
    """Skip (loudly) when the registry cannot run here; fail instead where it is required."""
    missing = missing_tools()
    if missing:
        reason = (
            f"the registry tests need {', '.join(missing)}: install Debian's docker-registry,"
            " apache2-utils and openssl (`nox -s tests` does so when run as root)"
        )
        if os.environ.get(REQUIRED_ENV):
            pytest.fail(reason)
        pytest.skip(reason)


@pytest.fixture(scope="session")
def storage(registry_tools: None, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Images]:
    """A registry storage directory with the test images, pushed through the registry API."""
    root = tmp_path_factory.mktemp("registry") / "data"
    with RegistryServer(root) as server, Pusher(server.url) as push:
        single = push.image("lzy/single", "1.0")
        amd64 = push.image("lzy/multi", None, oci=True)
        arm64 = push.image("lzy/multi", None, oci=True, architecture="arm64", variant="v8")
        multi = push.index("lzy/multi", "2.0", {"linux/amd64": amd64, "linux/arm64/v8": arm64})
        arm_a = push.image("lzy/armonly", None, oci=True, architecture="arm64", variant="v8")
        arm_b = push.image("lzy/armonly", None, oci=True, architecture="arm", variant="v7")
        arm_only = push.index("lzy/armonly", "1", {"linux/arm64/v8": arm_a, "linux/arm/v7": arm_b})
        arm_single = push.image("lzy/armsingle", "1", oci=True, architecture="arm64")
        chart = push.image(
            "lzy/chart", "1", oci=True, config_media_type="application/vnd.cncf.helm.config.v1+json"
        )
        public = push.image("public/tool", "1")
        attested = push.image("lzy/attonly", None, oci=True, os_name="unknown", architecture="unknown")
        attestation_only = push.index("lzy/attonly", "1", {"unknown/unknown": attested}, attestation=False)
        v3 = push.image("lzy/amdv3", None, oci=True, variant="v3")
        amd64_v3 = push.index("lzy/amdv3", "1", {"linux/amd64/v3": v3})
    images = Images(
        single=single,
        multi=multi,
        multi_amd64=amd64,
        multi_arm64=arm64,
        arm_only=arm_only,
        arm_single=arm_single,
        chart=chart,
        public=public,
        attestation_only=attestation_only,
        amd64_v3=amd64_v3,
    )
    return root, images


@pytest.fixture(scope="session")
def images(storage: tuple[Path, Images]) -> Images:
    """The images the registries serve."""
    return storage[1]


@pytest.fixture(scope="session")
def basic_registry(storage: tuple[Path, Images], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A registry with htpasswd authentication (HTTP Basic); yields its ``host:port``."""
    users = tmp_path_factory.mktemp("htpasswd") / "htpasswd"
    htpasswd_file(users, {"alice": CANARY, OUTSIDER[0]: OUTSIDER[1]})
    auth = {"htpasswd": {"realm": "lzy-test", "path": str(users)}}
    with RegistryServer(storage[0], auth=auth) as server:
        yield server.host


@pytest.fixture(scope="session")
def token_service(registry_tools: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TokenServer]:
    """A token service: alice may pull ``lzy/`` and ``public/``, bob only ``public/``, anyone
    ``public/``; ``CANARY_IDENTITY`` is alice's identity token."""
    keys = TokenKeys.generate(tmp_path_factory.mktemp("token-keys"))
    with TokenServer(
        keys,
        users={"alice": CANARY, OUTSIDER[0]: OUTSIDER[1]},
        grants={"alice": ("lzy/", "public/"), OUTSIDER[0]: ("public/",), None: ("public/",)},
        refresh_tokens={CANARY_IDENTITY: "alice"},
    ) as service:
        yield service


@pytest.fixture(scope="session")
def token_registry(storage: tuple[Path, Images], token_service: TokenServer) -> Iterator[str]:
    """A registry with token authentication (Bearer); yields its ``host:port``."""
    with RegistryServer(storage[0], auth=token_service.registry_auth()) as server:
        yield server.host


@dataclasses.dataclass(frozen=True)
class Registries:
    """Both authenticated registries and the token service."""

    #: The htpasswd registry's ``host:port``.
    basic: str
    #: The token registry's ``host:port``.
    token: str
    #: The token service the token registry trusts.
    service: TokenServer


@pytest.fixture
def registries(basic_registry: str, token_registry: str, token_service: TokenServer) -> Registries:
    """Both authenticated registries and the token service."""
    return Registries(basic=basic_registry, token=token_registry, service=token_service)


@pytest.fixture(params=["basic", "token"])
def registry(request: pytest.FixtureRequest) -> str:
    """Each authenticated registry in turn: ``host:port``."""
    name = "basic_registry" if request.param == "basic" else "token_registry"
    return str(request.getfixturevalue(name))


@pytest.fixture
def helper_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A directory on ``PATH`` for credential helpers."""
    directory = tmp_path / "bin"
    directory.mkdir()
    monkeypatch.setenv("PATH", f"{directory}{os.pathsep}{os.environ['PATH']}")
    return directory
