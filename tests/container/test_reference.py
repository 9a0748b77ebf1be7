"""Strict validation: registry hosts, digests, tags and paths, platforms, container types,
and the parts of the registry protocol that need no server."""

from __future__ import annotations

import dataclasses
import re
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lzy.api.v1.env import (
    Container,
    DockerContainer,
    EffectiveEnv,
    Env,
    ImageReference,
    Level,
    Platform,
    RegistrySettings,
    ResolvedContainer,
)
from lzy.env.container.registry import is_loopback, masked_reference, parse_challenges
from lzy.exceptions import FieldTypeError, FieldValueError, ImageReferenceError, UnsupportedContainerError

SECRET = "hunter2-secret"
NO_PARAMS: dict[str, str] = {}


@pytest.mark.parametrize(
    ("registry", "fragment"),
    [
        ("https://ghcr.io", "without a scheme, got 'https://ghcr.io'; did you mean 'ghcr.io'?"),
        ("http://localhost:5000", "did you mean 'localhost:5000'?"),
        (f"bot:{SECRET}@ghcr.io", "without credentials, got '***@ghcr.io'"),
        (f"https://bot:{SECRET}@ghcr.io", "without a scheme and credentials, got 'https://***@ghcr.io'"),
        (f"bot:{SECRET}/x@ghcr.io", "got '***@ghcr.io'"),
        ("ghcr.io/org", "got 'ghcr.io/org', which has a path"),
        ("ghcr.io:0", "port 0 in 'ghcr.io:0' is out of range (1 to 65535)"),
        ("ghcr.io:65536", "port 65536"),
        ("ghcr.io:123456", "which is not a host name"),
        ("gh cr.io", "which has ' '"),
        ("exämple.com", "which has 'ä'"),
        ("-ghcr.io", "which is not a host name"),
        ("[::zz]:5000", "whose address is not an IPv6 address"),
        ("[fe80::1%eth0]:5000", "a zone index like '%eth0' is not allowed"),
        ("[::ffff:1.2.3.4]", "whose address is not an IPv6 address of hex digits and ':'"),
    ],
)
def test_registry_field_is_a_host(registry: str, fragment: str) -> None:
    """``registry=`` is ``host[:port]``: no scheme, path or credentials; refused values are masked."""
    with pytest.raises(FieldValueError) as caught:
        DockerContainer(image="app:1", registry=registry)
    assert fragment in str(caught.value)
    assert SECRET not in str(caught.value)


@pytest.mark.parametrize(
    "registry", ["ghcr.io", "localhost:5000", "127.0.0.1:65535", "[::1]:5000", "Quay.IO"]
)
def test_valid_registry_hosts(registry: str) -> None:
    """Host names, IPv4 and bracketed IPv6 addresses, with a port in range, are accepted."""
    assert DockerContainer(image="app:1", registry=registry).registry == registry.lower()


def test_registry_must_be_a_string() -> None:
    """A registry of another type names its type."""
    with pytest.raises(FieldTypeError, match=r"DockerContainer.registry must be a str"):
        DockerContainer(image="app:1", registry=5000)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]


@pytest.mark.parametrize(
    ("image", "fragment"),
    [
        (f"bot:{SECRET}@ghcr.io/org/app:1", "'***@ghcr.io/org/app:1' has credentials"),
        (f"bot:{SECRET}@ubuntu", "'***@ubuntu' has credentials"),
        (f"bot:{SECRET}@localhost:5000/app", "'***@localhost:5000/app' has credentials"),
        (f"bot:{SECRET}@ghcr.io/app@sha256:" + "a" * 64, "'***@ghcr.io/app@sha256:" + "a" * 64),
        (
            "https://ghcr.io/org/app:1",
            "has a scheme; an image reference has none: write it as 'ghcr.io/org/app:1'",
        ),
        (f"https://bot:{SECRET}@ghcr.io/app", "'https://***@ghcr.io/app' has a scheme"),
    ],
)
def test_credentials_or_scheme_in_image_are_refused_masked(image: str, fragment: str) -> None:
    """An image reference with credentials or a scheme is refused, shown with credentials masked."""
    with pytest.raises(ImageReferenceError) as caught:
        DockerContainer(image=image)
    assert fragment in str(caught.value)
    assert SECRET not in str(caught.value)


@pytest.mark.parametrize(
    ("digest", "fragment"),
    [
        ("sha256:" + "a" * 63, "is not sha256: and 64 lower-case hex digits (got 63 characters)"),
        ("sha256:" + "a" * 65, "(got 65 characters)"),
        ("sha256:" + "A" * 64, "has upper-case hex digits"),
        ("sha256:" + "g" * 64, "is not sha256: and 64"),
        ("sha512:" + "a" * 64, "is not sha512: and 128 lower-case hex digits"),
        (
            "md5:" + "a" * 32,
            "has algorithm 'md5'; registries use sha256 (64 hex digits), sha512 (128 hex digits)",
        ),
        ("sha256", "is not of the form 'algorithm:hex'"),
    ],
)
def test_digest_is_validated_per_algorithm(digest: str, fragment: str) -> None:
    """A digest has a registered algorithm and exactly its number of lower-case hex digits."""
    with pytest.raises(ImageReferenceError) as caught:
        DockerContainer(image=f"ubuntu@{digest}")
    assert fragment in str(caught.value)


@pytest.mark.parametrize("digest", ["sha256:" + "0123456789abcdef" * 4, "sha512:" + "0123456789abcdef" * 8])
def test_sha256_and_sha512_digests_are_accepted(digest: str) -> None:
    """Both registered algorithms are accepted at their length."""
    assert DockerContainer(image=f"ghcr.io/org/app@{digest}").reference.digest == digest


@pytest.mark.parametrize(
    "image",
    [
        "ubuntu:ü",
        "ubuntu:\uff12\uff14",
        "ubuntü:1",
        "ghcr.io/órg/app",
        "ubuntu:" + "a" * 129,
        "ubuntu:.hidden",
        "a__-b:1",
    ],
)
def test_non_grammar_references_are_refused(image: str) -> None:
    """Tags and paths follow the distribution spec's ASCII grammar (``\\w`` would admit Unicode)."""
    with pytest.raises(ImageReferenceError):
        DockerContainer(image=image)


@pytest.mark.parametrize(
    "image",
    [
        "ubuntu\u00a0",
        "\u00a0ubuntu",
        "ubuntu\u2003",
        "ubuntu:24.04\u3000",
        "[fe80::1%eth0]:5000/x",
        "",
        "   ",
        "\n",
    ],
)
def test_references_are_not_made_valid_by_folding(image: str) -> None:
    """Only ASCII white space is stripped: a Unicode space is refused, not dropped; a zone index
    is refused in a registry host; an empty reference is an :exc:`ImageReferenceError`."""
    with pytest.raises(ImageReferenceError):
        DockerContainer(image=image)


_component = st.from_regex(r"[a-z0-9]{1,6}(?:(?:[._]|__|-{1,2})[a-z0-9]{1,6}){0,2}", fullmatch=True)
#: A first component without a dot: with one, docker reads it as a registry host.
_first = st.from_regex(r"[a-z0-9]{1,6}(?:(?:_|__|-{1,2})[a-z0-9]{1,6}){0,2}", fullmatch=True)
_paths = st.tuples(_first, st.lists(_component, max_size=2)).map(
    lambda parts: "/".join([parts[0], *parts[1]])
)
_tag = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}", fullmatch=True)
_digest = st.one_of(
    st.text("0123456789abcdef", min_size=64, max_size=64).map(lambda h: f"sha256:{h}"),
    st.text("0123456789abcdef", min_size=128, max_size=128).map(lambda h: f"sha512:{h}"),
)


@given(
    registry=st.sampled_from(["", "ghcr.io/", "localhost:5000/", "127.0.0.1:443/", "[::1]:5000/"]),
    path=_paths,
    tag=st.none() | _tag,
    digest=st.none() | _digest,
)
def test_valid_references_round_trip(registry: str, path: str, tag: str | None, digest: str | None) -> None:
    """Any reference the grammar allows parses, and its full form parses back to the same thing."""
    text = registry + path + (f":{tag}" if tag else "") + (f"@{digest}" if digest else "")
    parsed = ImageReference.parse(text)
    assert (parsed.tag, parsed.digest) == (tag, digest)
    assert ImageReference.parse(str(parsed)) == parsed


@given(
    path=_paths,
    tag=_tag,
    where=st.integers(min_value=0, max_value=100),
    char=st.characters(min_codepoint=128, exclude_categories=["Cs"]),
)
def test_any_non_ascii_character_is_refused(path: str, tag: str, where: int, char: str) -> None:
    """One non-ASCII character anywhere in a valid reference makes it invalid."""
    text = f"{path}:{tag}"
    position = where % (len(text) + 1)
    with pytest.raises(ImageReferenceError):
        ImageReference.parse(text[:position] + char + text[position:])


#: Passwords of any characters ``repr`` shows as they are (so a leak could not hide behind escaping).
_password = st.text(
    st.characters(
        min_codepoint=32, max_codepoint=0x2FF, exclude_categories=["Cc"], exclude_characters="\\'\""
    ),
    min_size=4,
    max_size=24,
).map(lambda text: f"Pw{text}Zq")


def _refusal(password: str, where: str) -> str:
    digest = "@sha256:" + "c" * 64 if where.endswith("digest") else ""
    scheme = "https://" if where.endswith("scheme") else ""
    image, registry = f"{scheme}bot:{password}@ghcr.io/org/app:1{digest}", None
    if where.startswith("registry"):
        image, registry = "org/app:1", f"{scheme}bot:{password}@ghcr.io"
    with pytest.raises(FieldValueError) as caught:
        DockerContainer(image=image, registry=registry)
    return str(caught.value)


@given(
    password=_password,
    where=st.sampled_from(["image", "image-digest", "image-scheme", "registry", "registry-scheme"]),
)
def test_no_password_shows_in_a_refusal(password: str, where: str) -> None:
    """Whatever characters a password has, a reference or registry holding it is refused with the
    same message as any other password: not one of its characters shows (a refusal for a
    non-ASCII character would show that character)."""
    message = _refusal(password, where)
    assert message == _refusal("Pwplain", where)
    assert "***@ghcr.io" in message


def test_masked_reference_keeps_digests() -> None:
    """Masking keeps a digest and a port, and hides what precedes an ``@`` that is not a digest's."""
    digest = "sha256:" + "b" * 64
    assert masked_reference(f"ghcr.io/app@{digest}") == f"ghcr.io/app@{digest}"
    assert masked_reference(f"u:p@ghcr.io:5000/app@{digest}") == f"***@ghcr.io:5000/app@{digest}"
    assert masked_reference("u:p@host:5000") == "***@host:5000"


# -- platforms -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("linux/amd64", "linux/amd64"),
        ("linux/x86_64", "linux/amd64"),
        ("Linux/AArch64", "linux/arm64"),
        ("linux/arm/v7", "linux/arm/v7"),
        ("linux/armhf", "linux/arm/v7"),
        ("windows/amd64", "windows/amd64"),
    ],
)
def test_platform_parse_normalises(text: str, shown: str) -> None:
    """``os/arch[/variant]`` with containerd's architecture aliases."""
    assert str(Platform.parse(text)) == shown


@pytest.mark.parametrize("text", ["amd64", "linux", "linux/amd64/v2/x", "linux//amd64", "linux/amd 64", ""])
def test_platform_parse_refuses_other_forms(text: str) -> None:
    """Anything but ``os/arch[/variant]`` is refused, naming the form."""
    with pytest.raises(FieldValueError, match="os/architecture"):
        Platform.parse(text)


@pytest.mark.parametrize(
    ("cpu_type", "shown"),
    [
        (None, "linux/amd64"),
        ("x86_64", "linux/amd64"),
        ("aarch64", "linux/arm64"),
        ("armv7l", "linux/arm/v7"),
    ],
)
def test_platform_for_cpu_type(cpu_type: str | None, shown: str) -> None:
    """The provisioning's ``cpu_type`` gives the Linux platform; none means linux/amd64."""
    assert str(Platform.for_cpu_type(cpu_type)) == shown


def test_platform_for_a_cpu_model_is_refused() -> None:
    """A CPU model says no architecture: the error asks for the platform explicitly."""
    with pytest.raises(FieldValueError, match="cpu_type 'Intel Xeon' names no CPU architecture"):
        Platform.for_cpu_type("Intel Xeon")


@pytest.mark.parametrize(
    ("target", "image", "accepted"),
    [
        ("linux/amd64", "linux/amd64", True),
        ("linux/amd64", "linux/amd64/v1", True),
        ("linux/amd64", "linux/amd64/v2", False),
        ("linux/amd64", "linux/amd64/v3", False),
        ("linux/amd64/v3", "linux/amd64/v3", True),
        ("linux/amd64/v3", "linux/amd64/v2", True),
        ("linux/amd64/v3", "linux/amd64", True),
        ("linux/amd64/v3", "linux/amd64/v4", False),
        ("linux/amd64", "linux/386", True),
        ("linux/386", "linux/amd64", False),
        ("linux/amd64", "linux/arm64", False),
        ("linux/arm64", "linux/arm64/v8", True),
        ("linux/arm64/v8", "linux/arm64", True),
        ("linux/arm64", "linux/arm64/v8.2", False),
        ("linux/arm64/v8.2", "linux/arm64/v8.1", True),
        ("linux/arm64/v9", "linux/arm64/v8.5", True),
        ("linux/arm64/v9", "linux/arm64/v8.6", False),
        ("linux/arm64", "linux/arm/v7", True),
        ("linux/arm64", "linux/arm/v8", True),
        ("linux/arm/v7", "linux/arm64", False),
        ("linux/arm/v7", "linux/arm/v6", True),
        ("linux/arm/v6", "linux/arm/v7", False),
        ("linux/arm/v6", "linux/arm", False),
        ("linux/arm", "linux/arm/v7", True),
        ("linux/arm", "linux/arm/v5", True),
        ("linux/arm/v5", "linux/arm/v6", False),
        ("linux/ppc64le", "linux/ppc64le", True),
        ("windows/amd64", "linux/amd64", False),
    ],
)
def test_platform_accepts(target: str, image: str, accepted: bool) -> None:
    """Whether a machine runs an image is decided as containerd decides it (``platforms.Only``):
    amd64 (v1) needs an image with no variant or v1; a higher level runs the lower ones; arm64
    runs 32-bit arm up to v8; amd64 runs 386."""
    assert Platform.parse(target).accepts(Platform.parse(image)) is accepted


def test_the_most_native_image_is_preferred() -> None:
    """Among images a machine runs, the exact platform comes first, then lower levels in order."""
    machine = Platform.parse("linux/amd64/v3")
    ranks = [
        machine.preference(Platform.parse(text))
        for text in ("linux/amd64/v3", "linux/amd64/v2", "linux/amd64")
    ]
    known = [rank for rank in ranks if rank is not None]
    assert known == sorted(set(known))
    assert len(known) == 3
    assert known[0] == 0
    assert machine.preference(Platform.parse("linux/arm64")) is None


@pytest.mark.parametrize("text", ["linux/\u212amd64", "linux/amd64\u00a0", "\u00a0linux/amd64"])
def test_platform_is_ascii_before_it_is_folded(text: str) -> None:
    """No non-ASCII character is folded or stripped into an ASCII platform (the Kelvin sign
    lower-cases to ``k``; a no-break space is not white space here)."""
    with pytest.raises(FieldValueError, match="in ASCII"):
        Platform.parse(text)


def test_check_refuses_a_bad_platform_before_any_request() -> None:
    """A malformed platform is refused before the registry is asked."""
    with pytest.raises(FieldValueError, match="os/architecture"):
        DockerContainer(image="127.0.0.1:1/app:1").check(platform="amd64")


# -- settings, challenges, loopback ---------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "fragment"),
    [
        ({"timeout": 0}, "timeout must be a finite number > 0"),
        ({"retries": -1}, "retries must be an int >= 0"),
        ({"retries": True}, "retries must be an int >= 0"),
        ({"deadline": "soon"}, "deadline must be a finite number > 0"),
        ({"insecure_registries": "ghcr.io"}, "must be a tuple of hosts"),
        ({"insecure_registries": ("http://x",)}, "insecure_registries[0] must be a registry host"),
    ],
)
def test_settings_are_validated(fields: dict[str, object], fragment: str) -> None:
    """Each setting is checked, naming the field and what is allowed."""
    with pytest.raises((FieldValueError, FieldTypeError), match=re.escape(fragment)):
        RegistrySettings(**fields)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (['Basic realm="Registry Realm"'], [("basic", {"realm": "Registry Realm"})]),
        (
            [
                'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:a/b:pull"'
            ],
            [
                (
                    "bearer",
                    {
                        "realm": "https://auth.docker.io/token",
                        "service": "registry.docker.io",
                        "scope": "repository:a/b:pull",
                    },
                )
            ],
        ),
        (
            ['Basic realm="a, b", Bearer realm="https://x/t", error="insufficient_scope"'],
            [
                ("basic", {"realm": "a, b"}),
                ("bearer", {"realm": "https://x/t", "error": "insufficient_scope"}),
            ],
        ),
        (["Negotiate", "BASIC Realm=plain"], [("negotiate", NO_PARAMS), ("basic", {"realm": "plain"})]),
        (['Bearer realm="with \\"quotes\\""'], [("bearer", {"realm": 'with "quotes"'})]),
    ],
)
def test_challenges_are_parsed(headers: list[str], expected: list[tuple[str, dict[str, str]]]) -> None:
    """``WWW-Authenticate`` values give each challenge's scheme and parameters (RFC 7235)."""
    assert [(c.scheme, dict(c.params)) for c in parse_challenges(headers)] == expected


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("localhost:5000", True), ("127.0.0.1", True), ("127.8.9.1:80", True), ("[::1]:5000", True),
     ("ghcr.io", False), ("10.0.0.1:5000", False), ("registry.localhost", True)],
)  # fmt: skip
def test_loopback_hosts(host: str, loopback: bool) -> None:
    """Registries on this machine may be reached over plain HTTP, like the docker daemon allows."""
    assert is_loopback(host) is loopback


# -- container types -------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True, repr=False)
class PodmanContainer(Container):
    """A container of a type no runtime of lzy runs."""

    image: str = "fedora:40"

    @property
    def container_type(self) -> str:
        """``"podman"``."""
        return "podman"

    def resolve(self) -> ResolvedContainer:
        """A podman artifact."""
        return ResolvedContainer(container_type="podman", image=self.image)


def test_unknown_container_type_is_refused_at_resolution() -> None:
    """A container type no runtime runs fails when the env is resolved, not inside a runtime."""
    effective = EffectiveEnv.from_layers({Level.OP: Env(container=PodmanContainer())})
    with pytest.raises(
        UnsupportedContainerError, match="container type 'podman' cannot be run: lzy's runtimes run 'docker'"
    ):
        effective.resolve({})


def test_no_container_and_docker_types_resolve() -> None:
    """``None`` and ``"docker"`` are the types lzy runs."""
    assert ResolvedContainer().container_type is None
    assert ResolvedContainer(container_type="docker", image="ubuntu:24.04").container_type == "docker"
    assert set(string.ascii_lowercase) >= set("docker")
