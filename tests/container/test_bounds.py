"""A check ends within its deadline whatever the registry, the network or the credential helper
does, and says which failure it met: servers that drip, hang, speak no HTTP or are not
registries, slow helpers, and the settings that bound all of it."""

from __future__ import annotations

import functools
import math
import os
import signal
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from lzy.api.v1.env import DockerContainer, EffectiveEnv, Env, Level, RegistrySettings
from lzy.exceptions import (
    FieldValueError,
    NotARegistryError,
    RegistryProtocolError,
    RegistryUnreachableError,
    ResolutionError,
)

from .conftest import CANARY, Images
from .support import (
    FakeRegistry,
    RawServer,
    RegistryServer,
    StaticServer,
    docker_config,
    drip,
    garbage,
    helper_leaving_a_child,
    non_loopback_address,
    outcome_within,
    read_request,
    slow_helper,
)

#: Generous for a loaded machine, yet far below what an unbounded check would take: a guard
#: against a hang, not a measure of speed.
HANG_GUARD = 60.0
#: A deadline far shorter than the read timeout, so that only the deadline can end a read (the
#: HTTPS attempt before plain HTTP ends at the connect timeout, as with the defaults).
SHORT = RegistrySettings(timeout=30, connect_timeout=0.2, retries=3, deadline=1.0)


def _outcome(action: Callable[[], object]) -> object:
    return outcome_within(action, HANG_GUARD)


_MISBEHAVING = [
    pytest.param(
        functools.partial(drip, head=b"HTTP/1.1 200 OK\r\n", every=0.1), id="headers-a-byte-at-a-time"
    ),
    pytest.param(read_request, id="takes-the-request-never-answers"),
]


@pytest.mark.parametrize("serve", _MISBEHAVING)
def test_check_ends_at_the_deadline(serve: Callable[[socket.socket], None]) -> None:
    """A registry that sends its headers a byte at a time, or never answers, ends the check at its
    deadline, though every single read is far within the timeout."""
    with RawServer(serve) as server:
        outcome = _outcome(lambda: DockerContainer(image=f"{server.host}/app:1").check(settings=SHORT))
    assert isinstance(outcome, RegistryUnreachableError), outcome
    assert "did not finish answering within 1 s" in str(outcome)
    assert "RegistrySettings.deadline" in str(outcome)


def _body_dripping_registry(connection: socket.socket) -> None:
    """``/v2/`` answers at once as a registry; anything else drips its body."""
    request = read_request(connection)
    if request.startswith(b"GET /v2/ "):
        connection.sendall(
            b"HTTP/1.1 200 OK\r\nDocker-Distribution-API-Version: registry/2.0\r\n"
            b"Content-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"
        )
        connection.close()
        return
    connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n")
    while True:
        connection.sendall(b" ")
        time.sleep(0.1)


@pytest.mark.parametrize("pin", [False, True])
def test_a_manifest_dripped_a_byte_at_a_time_ends_at_the_deadline(pin: bool) -> None:
    """The body counts too, for :meth:`check` and for pinning the digest alike."""
    with RawServer(_body_dripping_registry) as server:
        container = DockerContainer(image=f"{server.host}/app:1", pin_digest=pin)
        if pin:
            outcome = _outcome(functools.partial(container.pinned, settings=SHORT))
        else:
            outcome = _outcome(functools.partial(container.check, settings=SHORT))
    assert isinstance(outcome, RegistryUnreachableError), outcome
    assert "did not finish answering within 1 s while fetching the manifest" in str(outcome)


def test_the_environment_bounds_pinning_wherever_the_env_is_resolved(monkeypatch: pytest.MonkeyPatch) -> None:
    """``LZY_REGISTRY_DEADLINE`` bounds the pin made when an environment is resolved, which takes
    no settings."""
    monkeypatch.setenv("LZY_REGISTRY_DEADLINE", "0.7")
    with RawServer(read_request) as server:
        effective = EffectiveEnv.from_layers(
            {Level.OP: Env(container=DockerContainer(image=f"{server.host}/app:1", pin_digest=True))}
        )
        outcome = _outcome(lambda: effective.resolve({}))
    assert isinstance(outcome, RegistryUnreachableError), outcome
    assert "within 0.7 s" in str(outcome)


# -- what is not a registry -------------------------------------------------------------------


def test_bytes_that_are_not_http_are_not_a_registry() -> None:
    """A server answering something that is not HTTP is :exc:`NotARegistryError`, at once (no retry)."""
    with RawServer(garbage) as server, pytest.raises(NotARegistryError) as caught:
        # HTTPS first: this server waits for a request that a TLS handshake never completes.
        DockerContainer(image=f"{server.host}/app:1").check(
            settings=RegistrySettings(retries=5, connect_timeout=0.2)
        )
    assert "answered with something that is not HTTP" in str(caught.value)
    assert "(tried once)" in str(caught.value)


def _json_everywhere(path: str, authorization: str | None) -> tuple[int, bytes, dict[str, str]]:
    return 200, b'{"hello": "world"}', {}


def _identified(path: str, authorization: str | None) -> tuple[int, bytes, dict[str, str]]:
    return 200, b'{"hello": "world"}', {"Docker-Distribution-API-Version": "registry/2.0"}


def test_a_server_answering_json_everywhere_is_not_a_registry() -> None:
    """``200 application/json`` at every path passes for ``/v2/``, but its "manifest" is no
    manifest and it never said it is a registry: :exc:`NotARegistryError`."""
    with FakeRegistry(_json_everywhere) as server, pytest.raises(NotARegistryError) as caught:
        DockerContainer(image=f"{server.host}/app:1").check()
    assert "does not look like a container registry" in str(caught.value)


def test_a_registry_sending_a_document_that_is_no_manifest_breaks_the_protocol() -> None:
    """A server that said it is a registry and sends a JSON document that is no manifest:
    :exc:`RegistryProtocolError`, not "not an image"."""
    with FakeRegistry(_identified) as server, pytest.raises(RegistryProtocolError, match="not a manifest"):
        DockerContainer(image=f"{server.host}/app:1").check()


# -- plain HTTP elsewhere than this machine ----------------------------------------------------


@pytest.fixture(scope="module")
def remote_registry(storage: tuple[Path, Images]) -> Iterator[str]:
    """An open plain-HTTP registry on an address of this machine that is not a loopback one."""
    address = non_loopback_address()
    if address is None:
        pytest.skip("this machine has no address but loopback ones: cannot serve a registry elsewhere")
    with RegistryServer(storage[0], address=address) as server:
        yield server.host


def test_a_plain_http_registry_elsewhere_is_refused_with_a_hint(remote_registry: str, images: Images) -> None:
    """HTTPS to a plain-HTTP registry that is not on loopback fails at once, hinting at the insecure
    option; with it, the check goes through."""
    container = DockerContainer(image=f"{remote_registry}/lzy/single:1.0")
    with pytest.raises(RegistryUnreachableError) as caught:
        container.check()
    message = str(caught.value)
    assert "did not complete a TLS handshake" in message
    assert f"--insecure-registry {remote_registry}" in message
    assert f"LZY_INSECURE_REGISTRIES={remote_registry}" in message
    found = container.check(settings=RegistrySettings(insecure_registries=(remote_registry,)))
    assert (found.digest, found.registry_url) == (images.single.digest, f"http://{remote_registry}")


def test_insecure_registries_come_from_the_environment(
    remote_registry: str, images: Images, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``LZY_INSECURE_REGISTRIES`` (hosts separated by commas) is used by checks given no settings."""
    monkeypatch.setenv("LZY_INSECURE_REGISTRIES", f"other.example:5000, {remote_registry}")
    found = DockerContainer(image=f"{remote_registry}/lzy/single:1.0").check()
    assert found.digest == images.single.digest


# -- credential helpers ------------------------------------------------------------------------


def test_a_slow_helper_counts_against_the_checks_deadline(
    helper_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A helper that takes longer than the check's deadline is stopped there, and the error says
    so; a lookup outside a check is bounded by the deadline the environment sets."""
    slow_helper(helper_dir, "slow", 30)
    docker_config({"credsStore": "slow"})
    container = DockerContainer(image="127.0.0.1:9/app:1")
    outcome = _outcome(lambda: container.check(settings=RegistrySettings(deadline=0.5)))
    assert isinstance(outcome, ResolutionError), outcome
    assert "docker-credential-slow did not answer within the 0.5 s deadline" in str(outcome)
    assert "was stopped" in str(outcome)
    monkeypatch.setenv("LZY_REGISTRY_DEADLINE", "0.3")
    looked_up = _outcome(container.credentials)
    assert isinstance(looked_up, ResolutionError), looked_up
    assert "within the 0.3 s deadline" in str(looked_up)


def test_a_helper_that_answers_and_leaves_a_process_behind_is_heard(
    basic_registry: str, helper_dir: Path, images: Images
) -> None:
    """A helper is done when it exits, though a process it started still holds its output open."""
    helper_leaving_a_child(helper_dir, "agent", ("alice", CANARY))
    docker_config({"credsStore": "agent"})
    try:
        outcome = _outcome(
            lambda: DockerContainer(image=f"{basic_registry}/lzy/single:1.0").check(
                settings=RegistrySettings(deadline=10)
            )
        )
    finally:
        pid_file = helper_dir / "agent.pid"
        if pid_file.exists():
            os.kill(int(pid_file.read_text()), signal.SIGTERM)
    assert not isinstance(outcome, BaseException), outcome
    assert getattr(outcome, "digest", None) == images.single.digest


# -- settings ----------------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["timeout", "connect_timeout", "deadline", "backoff"])
@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan])
def test_unbounded_settings_are_refused(field: str, value: float) -> None:
    """No setting may be infinite (or NaN): every failure must end."""
    with pytest.raises(FieldValueError, match=f"RegistrySettings.{field} must be a finite number"):
        RegistrySettings(**{field: value})  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """``LZY_REGISTRY_DEADLINE`` and ``LZY_INSECURE_REGISTRIES`` adjust the defaults; unset, the
    defaults stay."""
    assert RegistrySettings.from_environ({}) == RegistrySettings()
    settings = RegistrySettings.from_environ(
        {"LZY_REGISTRY_DEADLINE": " 4.5 ", "LZY_INSECURE_REGISTRIES": "Reg.Example:5000,,10.0.0.1"}
    )
    assert settings.deadline == 4.5
    assert settings.insecure_registries == ("reg.example:5000", "10.0.0.1")


@pytest.mark.parametrize(
    ("environ", "words"),
    [
        (
            {"LZY_REGISTRY_DEADLINE": "soon"},
            "LZY_REGISTRY_DEADLINE must be a number of seconds > 0, got 'soon'",
        ),
        ({"LZY_REGISTRY_DEADLINE": "inf"}, "LZY_REGISTRY_DEADLINE must be a number of seconds > 0"),
        ({"LZY_REGISTRY_DEADLINE": "0"}, "LZY_REGISTRY_DEADLINE must be a number of seconds > 0"),
        ({"LZY_INSECURE_REGISTRIES": "http://reg.example"}, "LZY_INSECURE_REGISTRIES must be registry hosts"),
    ],
)
def test_bad_settings_in_the_environment_name_the_variable(environ: dict[str, str], words: str) -> None:
    """A bad value in the environment is refused naming the variable."""
    with pytest.raises(FieldValueError, match=words):
        RegistrySettings.from_environ(environ)


def test_pinned_takes_settings() -> None:
    """:meth:`DockerContainer.pinned` pins with the settings it is given; a wrong type is refused."""
    with StaticServer(503, b"busy", "text/plain") as server:
        container = DockerContainer(image=f"{server.host}/app:1")
        with pytest.raises(RegistryUnreachableError, match=r"tried 3 times"):
            container.pinned(settings=RegistrySettings(retries=2, backoff=0.01))
    with pytest.raises(TypeError, match="must be a RegistrySettings"):
        container.pinned(settings={"deadline": 1})  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
