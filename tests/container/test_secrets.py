"""A canary password (and the tokens issued for it) never shows: not in a log record at DEBUG
(the HTTP client's included), a ``repr``, a ``str``, ``explain()``, serialized output, an
exception message or a subprocess's arguments."""

from __future__ import annotations

import base64
import functools
import json
import logging
import os
import sys
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from lzy.api.v1.env import DockerContainer, EffectiveEnv, Env, ImageCheck, Level
from lzy.exceptions import LzyError, RegistryCredentialsRejectedError, ResolutionError

from .conftest import CANARY, CANARY_IDENTITY, Registries
from .support import FakeRegistry, TokenServer, credential_helper, iter_exceptions

#: Arguments of every subprocess started while :data:`_WATCHING` is set (an audit hook).
_SPAWNED: list[str] = []
_WATCHING: list[bool] = []


def _audit(event: str, args: tuple[object, ...]) -> None:
    if _WATCHING and event in {"subprocess.Popen", "os.exec", "os.posix_spawn"}:
        _SPAWNED.append(repr(args))


sys.addaudithook(_audit)


@pytest.fixture
def spawned() -> Iterator[list[str]]:
    """The arguments of the subprocesses the test starts."""
    _SPAWNED.clear()
    _WATCHING.append(True)
    yield _SPAWNED
    _WATCHING.clear()


def _texts_of(value: object) -> list[str]:
    texts = [repr(value), str(value)]
    if isinstance(value, ImageCheck):
        texts.append(json.dumps(value.to_dict()))
    return texts


def _shown_by_error(error: BaseException) -> list[str]:
    texts = ["".join(traceback.format_exception(error))]
    for item in iter_exceptions(error):
        texts += [str(item), repr(item), repr(item.args)]
    return texts


def _secrets(token_service: TokenServer) -> list[str]:
    basic = base64.b64encode(f"alice:{CANARY}".encode()).decode()
    return [CANARY, CANARY_IDENTITY, basic, *token_service.issued]


def test_canary_never_shows(
    registries: Registries,
    caplog: pytest.LogCaptureFixture,
    spawned: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Successes and failures with the canary password, through every way of giving it."""
    basic_registry, token_registry = registries.basic, registries.token
    for name in ("", "httpx", "httpcore", "lzy"):
        caplog.set_level(logging.DEBUG, logger=name or None)
    shown: list[str] = []

    def attempt(action: Callable[[], object]) -> None:
        try:
            shown.extend(_texts_of(action()))
        except LzyError as error:
            shown.extend(_shown_by_error(error))

    for registry in (basic_registry, token_registry):
        for password in (CANARY, CANARY + "-wrong"):
            container = DockerContainer(
                image=f"{registry}/lzy/multi:2.0", username="alice", password=password
            )
            shown += _texts_of(container)
            attempt(container.check)
            attempt(functools.partial(container.check, platform="linux/s390x"))
            attempt(container.resolve)
            effective = EffectiveEnv.from_layers({Level.OP: Env(container=container)})
            shown += [effective.explain(), repr(effective)]
            resolved = effective.resolve({})
            shown += [resolved.to_json(), repr(resolved), resolved.explain(), json.dumps(resolved.to_dict())]
            pinned = DockerContainer(
                image=f"{registry}/lzy/multi:2.0", username="alice", password=password, pin_digest=True
            )
            attempt(pinned.resolve)

    # Through a credential helper, an auths entry and an identity token.
    helpers = tmp_path / "bin"
    helpers.mkdir()
    credential_helper(helpers, "canary", {basic_registry: ("alice", CANARY)})
    monkeypatch.setenv("PATH", f"{helpers}{os.pathsep}{os.environ['PATH']}")
    config = Path(os.environ["DOCKER_CONFIG"])
    config.mkdir(parents=True, exist_ok=True)
    auth = base64.b64encode(f"alice:{CANARY}".encode()).decode()
    (config / "config.json").write_text(
        json.dumps(
            {
                "credsStore": "canary",
                "auths": {token_registry: {"identitytoken": CANARY_IDENTITY}, "ghcr.io": {"auth": auth}},
            }
        )
    )
    for image in (f"{basic_registry}/lzy/single:1.0", f"{token_registry}/lzy/single:1.0", "ghcr.io/a/b:1"):
        container = DockerContainer(image=image)
        shown += _texts_of(container.credentials())
        shown += _texts_of(container.resolve())
        if not image.startswith("ghcr.io"):
            attempt(container.check)
            attempt(functools.partial(container.check, platform="windows/amd64"))

    logged = [f"{r.name} {r.levelname} {r.getMessage()} {r.args!r}" for r in caplog.records]
    assert any("httpx" in line for line in logged), "the HTTP client's records were not captured"
    assert any(line.startswith("lzy.env.container DEBUG") for line in logged)
    assert spawned, "the credential helper did not run"
    everything = "\n".join(shown + logged + spawned)
    for secret in _secrets(registries.service):
        assert secret not in everything


@pytest.mark.parametrize(
    "entry",
    [
        pytest.param({"auth": base64.b64encode(CANARY.encode()).decode()}, id="auth-a-token-alone"),
        pytest.param({"auth": base64.b64encode(f":{CANARY}".encode()).decode()}, id="auth-no-user-name"),
        pytest.param({"username": "", "password": CANARY}, id="fields-no-user-name"),
    ],
)
def test_an_auths_entry_that_is_not_user_and_password_is_refused_unseen(
    basic_registry: str, entry: dict[str, str]
) -> None:
    """An ``auths`` entry without a user name (a token alone would become the user name, shown
    everywhere) is refused, as the docker CLI refuses it, showing nothing decoded."""
    config = Path(os.environ["DOCKER_CONFIG"])
    config.mkdir(parents=True, exist_ok=True)
    (config / "config.json").write_text(json.dumps({"auths": {basic_registry: entry}}))
    container = DockerContainer(image=f"{basic_registry}/lzy/single:1.0")
    for action in (container.check, container.resolve, container.credentials):
        with pytest.raises(ResolutionError) as caught:
            action()
        shown = "\n".join(_shown_by_error(caught.value))
        assert CANARY not in shown
        assert "auths entry" in str(caught.value)


def test_a_short_password_is_not_revealed_by_masking(basic_registry: str) -> None:
    """A one-letter password is not masked wherever the letter occurs in the registry's message
    (which would spell the message around it): a message quoting any credential is left out whole."""
    container = DockerContainer(image=f"{basic_registry}/lzy/single:1.0", username="alice", password="a")
    with pytest.raises(RegistryCredentialsRejectedError) as caught:
        container.check()
    message = str(caught.value)
    assert "***" not in message
    assert "its message is not shown: it quotes the credentials" in message
    with pytest.raises(RegistryCredentialsRejectedError) as other:
        DockerContainer(image=f"{basic_registry}/lzy/single:1.0", username="alice", password="xyz").check()
    assert "authentication required" in str(other.value)


def _echoing(path: str, authorization: str | None) -> tuple[int, bytes, dict[str, str]]:
    """A registry whose errors quote the Authorization header it was sent."""
    identified = {"Docker-Distribution-API-Version": "registry/2.0"}
    if path == "/v2/":
        if authorization is None:
            return 401, b"{}", {**identified, "WWW-Authenticate": 'Basic realm="echo"'}
        return 200, b"{}", identified
    errors = [{"code": "MANIFEST_UNKNOWN", "message": f"you sent {authorization}"}]
    return 404, json.dumps({"errors": errors}).encode(), identified


@pytest.mark.parametrize("password", [CANARY, "p", "Pw"])
def test_a_registry_quoting_the_credentials_is_not_repeated(password: str) -> None:
    """Whatever the length of the password, an error that quotes the credentials sent (here the
    Authorization header) is not shown, in any form they were sent."""
    basic = base64.b64encode(f"alice:{password}".encode()).decode()
    with FakeRegistry(_echoing) as server, pytest.raises(LzyError) as caught:
        DockerContainer(image=f"{server.host}/lzy/app:1", username="alice", password=password).check()
    shown = "\n".join(_shown_by_error(caught.value))
    assert basic not in shown
    assert "you sent" not in shown
    assert "it quotes the credentials" in str(caught.value)
