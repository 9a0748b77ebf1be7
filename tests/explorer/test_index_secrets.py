"""Index credentials through the whole resolution: they authenticate, and no surface, warning,
error or log record of any logger (the HTTP client's included) shows them."""

from __future__ import annotations

import json
import types
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest

from lzy.api.v1.env import AutoPythonEnv, EffectiveEnv, Env, Level
from lzy.exceptions import LzyError

from ..log_capture import every_log_record, shown
from .conftest import QuickExplorer, load
from .support import IndexServer, Site, wheel

#: The password every test below gives the index, and then looks for everywhere.
CANARY = "c4nary-Idx-S3CRET-77"


def _op_using(name: str) -> Callable[[], object]:
    """A function whose namespace holds module ``name``, as an op's would."""
    loaded = load(name)
    assert isinstance(loaded, types.ModuleType)

    def job() -> object:
        return loaded

    return job


def _published(site: Site, index: IndexServer, name: str) -> None:
    site.install(name, "1.0", {f"{name}.py": ""})
    index.add(name, wheel(name, "1.0"))


def test_index_credentials_authenticate_and_reach_no_log_record(
    site: Site, index: IndexServer, tmp_path: Path
) -> None:
    """Resolving an op against an index that wants a password: the pins come from it, and the
    canary is in no display, serialized form, cache file, warning or log record, while the HTTP
    client did log its requests."""
    _published(site, index, "alpha")
    index.state.credentials = ("alice", CANARY)
    url = index.url(credentials=("alice", CANARY))
    python_env = AutoPythonEnv(
        pypi_index_url=url, extra_index_urls=[url], python_version="3.11", explorer=QuickExplorer
    )
    with every_log_record() as records, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        effective = EffectiveEnv.from_layers(
            {Level.OP: Env(python_env=python_env)}, function=_op_using("alpha")
        )
        resolved = effective.resolve()
        texts = [repr(effective), effective.explain(), repr(resolved), resolved.explain(), resolved.to_json()]
        texts.append(json.dumps(resolved.to_dict()))
    assert dict(resolved.python_env.pypi_packages) == {"alpha": "1.0"}
    assert any(record.name.startswith("httpx") for record in records), "the HTTP client logged nothing"
    texts += shown(records) + [str(w.message) for w in caught]
    texts += [path.read_text(errors="replace") for path in tmp_path.rglob("*") if path.is_file()]
    assert not [text for text in texts if CANARY in text]
    assert CANARY in resolved.to_json(include_secrets=True)  # kept for a runtime that installs


@pytest.mark.parametrize(
    ("state", "given"),
    [
        ({"credentials": ("alice", "right")}, ("alice", CANARY)),
        ({"credentials": ("alice", CANARY), "status": 503}, ("alice", CANARY)),
    ],
    ids=["wrong password", "server error"],
)
def test_a_failing_index_shows_no_credentials(
    site: Site, index: IndexServer, state: dict[str, object], given: tuple[str, str]
) -> None:
    """A refusal or a server error: the error and every log record hold no credentials."""
    _published(site, index, "gamma")
    for key, value in state.items():
        setattr(index.state, key, value)
    python_env = AutoPythonEnv(
        pypi_index_url=index.url(credentials=given), python_version="3.11", explorer=QuickExplorer
    )
    effective = EffectiveEnv.from_layers({Level.OP: Env(python_env=python_env)}, function=_op_using("gamma"))
    with every_log_record() as records, pytest.raises(LzyError) as caught:
        effective.resolve()
    assert CANARY not in str(caught.value)
    assert "***@127.0.0.1" in str(caught.value)
    assert not [text for text in shown(records) if CANARY in text]


@pytest.mark.parametrize(
    ("index", "text", "shown"),
    [
        pytest.param(
            "https://alice:hunter22@mirror.example/simple",
            "refused hunter22 for https://alice:hunter22@proxy.example/",
            "refused *** for https://***@proxy.example/",
            id="a URL and the password alone",
        ),
        pytest.param(
            "https://pypi:s3cret-pw@pypi.example/simple",
            "pypi.example did not answer; pypi-tools and pypi_x are words",
            "pypi.example did not answer; pypi-tools and pypi_x are words",
            id="a user name inside other words",
        ),
        pytest.param(
            "https://u:p%40ss%2Fw%C3%B6rd@mirror.example/simple",
            "sent p%40ss%2Fw%C3%B6rd, then p@ss/wörd",
            "sent ***, then ***",
            id="percent-encoded or not",
        ),
        pytest.param(
            "https://x:ab@mirror.example/simple",
            "about a table: ab",
            "about a table: ab",
            id="too short to search for",
        ),
        pytest.param(
            "https://mirror.example/simple",
            "proxy https://user:pw@proxy.example:3128 refused",
            "proxy https://***@proxy.example:3128 refused",
            id="another URL's credentials",
        ),
    ],
)
def test_http_errors_are_scrubbed_by_whole_words(index: str, text: str, shown: str) -> None:
    """The index client's errors lose the credentials of the index (as written or
    percent-encoded) and of any URL in them, and nothing else."""
    from lzy.env.explorer import _index

    assert _index._scrub(text, index) == shown  # pyright: ignore[reportPrivateUsage] - the helper itself
