"""Containers: image references, registries, pull policies, credentials and secrets."""

from __future__ import annotations

import base64
import json
import os
import re
import stat
import sys
from pathlib import Path

import pytest

from lzy.api.v1.env import DockerContainer, ImageReference, NoContainer, PullPolicy
from lzy.exceptions import ContainerConfigError, FieldTypeError, ImageReferenceError, ResolutionError

DIGEST = "sha256:" + "a" * 64


@pytest.mark.parametrize(
    ("reference", "registry", "path", "tag", "digest"),
    [
        ("ubuntu", "docker.io", "library/ubuntu", None, None),
        ("ubuntu:24.04", "docker.io", "library/ubuntu", "24.04", None),
        ("org/app:1.0", "docker.io", "org/app", "1.0", None),
        ("index.docker.io/org/app", "docker.io", "org/app", None, None),
        ("registry-1.docker.io/library/ubuntu:22.04", "docker.io", "library/ubuntu", "22.04", None),
        ("ghcr.io/org/team/app:v2", "ghcr.io", "org/team/app", "v2", None),
        ("localhost:5000/app", "localhost:5000", "app", None, None),
        ("localhost/app:1", "localhost", "app", "1", None),
        ("127.0.0.1:5000/a/b@" + DIGEST, "127.0.0.1:5000", "a/b", None, DIGEST),
        ("Registry.Example.COM:443/app:t@" + DIGEST, "registry.example.com:443", "app", "t", DIGEST),
        ("[::1]:5000/app:latest", "[::1]:5000", "app", "latest", None),
    ],
)
def test_parse_image_reference(
    reference: str, registry: str, path: str, tag: str | None, digest: str | None
) -> None:
    """References parse into registry (normalised), path, tag and digest."""
    parsed = ImageReference.parse(reference)
    assert (parsed.registry, parsed.path, parsed.tag, parsed.digest) == (registry, path, tag, digest)
    assert ImageReference.parse(str(parsed)) == parsed


@pytest.mark.parametrize(
    ("reference", "fragment"),
    [
        ("Ubuntu", "repository 'Ubuntu' is not valid (repository names must be lower case)"),
        ("ubuntu:", "tag '' is not allowed"),
        ("ubuntu:-x", "tag '-x' is not allowed"),
        ("ubuntu@sha256:xyz", "digest 'sha256:xyz' is not sha256: and 64 lower-case hex digits"),
        ("org//app", "repository 'org//app' is not valid"),
        ("ghcr.io/", "repository 'ghcr.io/' is not valid"),
        ("a" * 260, "longer than 255"),
        ("ex ample.com/app", "got 'ex ample.com', which has ' '"),
    ],
)
def test_malformed_reference_is_refused(reference: str, fragment: str) -> None:
    """A malformed reference is refused at construction, naming the part that is wrong."""
    with pytest.raises(ImageReferenceError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        DockerContainer(image=reference)


def test_registry_field_applies_and_is_normalised() -> None:
    """``registry=`` applies to an image that names none; aliases mean docker.io."""
    assert DockerContainer(image="app:1", registry="ghcr.io").resolve().image == "ghcr.io/app:1"
    assert DockerContainer(image="ubuntu", registry="index.docker.io").registry == "docker.io"
    assert DockerContainer(image="docker.io/library/ubuntu", registry="registry-1.docker.io").registry == (
        "docker.io"
    )


def test_contradicting_registry_is_an_error() -> None:
    """A ``registry=`` that contradicts the image's registry is refused."""
    with pytest.raises(
        ImageReferenceError, match=re.escape("registry='quay.io' contradicts the registry 'ghcr.io'")
    ):
        DockerContainer(image="ghcr.io/org/app", registry="quay.io")


@pytest.mark.parametrize(
    ("image", "policy"),
    [
        ("ubuntu", PullPolicy.ALWAYS),
        ("ubuntu:latest", PullPolicy.ALWAYS),
        ("ubuntu:24.04", PullPolicy.IF_NOT_PRESENT),
        ("ubuntu@" + DIGEST, PullPolicy.IF_NOT_PRESENT),
        ("ubuntu:latest@" + DIGEST, PullPolicy.IF_NOT_PRESENT),
    ],
)
def test_default_pull_policy_follows_kubernetes(image: str, policy: PullPolicy) -> None:
    """Without ``pull_policy``, ``:latest`` or untagged images are always pulled."""
    assert DockerContainer(image=image).resolve().pull_policy is policy


def test_pull_policy_accepts_members_and_their_names() -> None:
    """A member, its name or its Kubernetes spelling is accepted; anything else is refused."""
    assert DockerContainer(image="a:1", pull_policy=PullPolicy.NEVER).pull_policy is PullPolicy.NEVER
    assert DockerContainer(image="a:1", pull_policy="IfNotPresent").pull_policy is PullPolicy.IF_NOT_PRESENT
    for spelled in ("always", "if_not_present", "ifnotpresent", "Never"):
        assert isinstance(DockerContainer(image="a:1", pull_policy=spelled).pull_policy, PullPolicy)
    with pytest.raises(FieldTypeError, match=re.escape("pull_policy must be one of PullPolicy.ALWAYS")):
        DockerContainer(image="a:1", pull_policy="sometimes")


def test_password_never_shown() -> None:
    """The password is masked in repr and left out of serialized artifacts unless asked."""
    container = DockerContainer(image="ghcr.io/org/app:1", username="bot", password="s3cr3t-token")
    assert "s3cr3t" not in repr(container)
    assert "password='***'" in repr(container)
    resolved = container.resolve()
    assert "s3cr3t" not in repr(resolved)
    assert resolved.password == "s3cr3t-token"


def test_username_and_password_go_together() -> None:
    """One credential without the other is refused."""
    with pytest.raises(ContainerConfigError, match="password is given without the other"):
        DockerContainer(image="a:1", password="x")
    with pytest.raises(FieldTypeError) as caught:
        DockerContainer(image="a:1", username="u", password=1234)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    assert "1234" not in str(caught.value)


def _docker_config(content: dict[str, object]) -> Path:
    directory = Path(os.environ["DOCKER_CONFIG"])
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.json").write_text(json.dumps(content))
    return directory


def _helper(directory: Path, name: str, answers: dict[str, tuple[str, str]]) -> None:
    """A real ``docker-credential-NAME`` program speaking the helper protocol."""
    script = directory / f"docker-credential-{name}"
    script.write_text(
        f"#!{sys.executable}\n"
        "import json, sys\n"
        f"answers = {answers!r}\n"
        "assert sys.argv[1] == 'get'\n"
        "server = sys.stdin.read().strip()\n"
        "if server not in answers:\n"
        "    print('credentials not found in native keychain'); sys.exit(1)\n"
        "user, secret = answers[server]\n"
        "print(json.dumps({'ServerURL': server, 'Username': user, 'Secret': secret}))\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)


def test_credentials_from_auths() -> None:
    """A base64 ``auth`` entry in ``auths`` gives the credentials."""
    token = base64.b64encode(b"robot:pa:ss").decode()
    _docker_config({"auths": {"ghcr.io": {"auth": token}}})
    resolved = DockerContainer(image="ghcr.io/org/app:1").resolve()
    assert (resolved.username, resolved.password) == ("robot", "pa:ss")
    assert DockerContainer(image="quay.io/org/app:1").resolve().username is None


def test_docker_hub_key_matches_docker_io() -> None:
    """Docker Hub's historic config key serves every alias of docker.io."""
    token = base64.b64encode(b"hubuser:hubpass").decode()
    _docker_config({"auths": {"https://index.docker.io/v1/": {"auth": token}}})
    assert DockerContainer(image="ubuntu:24.04").resolve().username == "hubuser"


def test_cred_helpers_win_over_store_and_auths(monkeypatch: pytest.MonkeyPatch) -> None:
    """``credHelpers`` for the registry wins, then ``credsStore``, then ``auths``, like the docker CLI."""
    directory = _docker_config(
        {
            "credHelpers": {"ghcr.io": "ghhelper"},
            "credsStore": "store",
            "auths": {"ghcr.io": {"auth": base64.b64encode(b"a:b").decode()}, "quay.io": {}},
        }
    )
    _helper(directory, "ghhelper", {"ghcr.io": ("gh-user", "gh-token")})
    _helper(directory, "store", {"quay.io": ("quay-user", "quay-token")})
    monkeypatch.setenv("PATH", f"{directory}{os.pathsep}{os.environ['PATH']}")
    gh = DockerContainer(image="ghcr.io/org/app:1").resolve()
    assert (gh.username, gh.password) == ("gh-user", "gh-token")
    quay = DockerContainer(image="quay.io/org/app:1").resolve()
    assert (quay.username, quay.password) == ("quay-user", "quay-token")
    assert DockerContainer(image="docker.io/org/app:1").resolve().username is None


def test_missing_helper_is_a_clear_error() -> None:
    """A configured helper that is not installed is named in the error."""
    _docker_config({"credsStore": "nonexistent-helper"})
    with pytest.raises(ResolutionError, match="docker-credential-nonexistent-helper is not on PATH"):
        DockerContainer(image="ghcr.io/org/app:1").resolve()


def test_explicit_credentials_skip_the_configuration() -> None:
    """Given credentials are used as they are; the configuration is not read."""
    _docker_config({"credsStore": "nonexistent-helper"})
    resolved = DockerContainer(image="a:1", username="u", password="p").resolve()
    assert (resolved.username, resolved.password) == ("u", "p")


def test_no_container() -> None:
    """``NoContainer`` resolves to no container type and no image."""
    assert NoContainer().container_type is None
    resolved = NoContainer().resolve()
    assert (resolved.container_type, resolved.image) == (None, None)
    assert DockerContainer(image="a:1").container_type == "docker"


@pytest.mark.parametrize(
    ("image", "resolved"),
    [
        ("ubuntu", "docker.io/library/ubuntu:latest"),
        ("ghcr.io/org/app", "ghcr.io/org/app:latest"),
        ("ubuntu:24.04", "docker.io/library/ubuntu:24.04"),
        ("ubuntu@sha256:" + "a" * 64, "docker.io/library/ubuntu@sha256:" + "a" * 64),
    ],
)
def test_resolved_image_names_what_a_pull_fetches(image: str, resolved: str) -> None:
    """The artifact is the full reference: registry, path, and the implied ``latest`` tag."""
    assert DockerContainer(image=image).resolve().image == resolved
