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
from lzy.exceptions import LzyError

from .conftest import CANARY, CANARY_IDENTITY, Registries
from .support import TokenServer, credential_helper, iter_exceptions

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
