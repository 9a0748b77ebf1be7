"""Requests bounded in wall-clock time (``lzy.env._http``), against real servers on loopback that
answer slowly, a byte at a time, not at all, or not in HTTP."""

from __future__ import annotations

import functools
import http.server
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from lzy.env import _http

from .container.support import (
    QuietHandler,
    RawServer,
    StaticServer,
    drip,
    garbage,
    outcome_within,
    read_request,
)

#: Generous for a loaded machine, yet far below what an unbounded request would take.
HANG_GUARD = 30.0


def _client(timeout: float = 10.0) -> httpx.Client:
    return _http.client(verify=ssl.create_default_context(), timeout=timeout, connect_timeout=timeout)


def _ends(action: Callable[[], object]) -> object:
    return outcome_within(action, HANG_GUARD)


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    """A bounded client with timeouts far longer than the deadlines the tests give."""
    with _client() as made:
        yield made


@pytest.mark.parametrize(
    "serve",
    [
        pytest.param(functools.partial(drip, head=b"HTTP/1.1 200 OK\r\n"), id="headers-a-byte-at-a-time"),
        pytest.param(
            functools.partial(drip, head=b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n", body=True),
            id="body-a-byte-at-a-time",
        ),
        pytest.param(read_request, id="never-answers"),
    ],
)
def test_the_deadline_ends_a_request_whatever_the_server_does(
    client: httpx.Client, serve: Callable[[socket.socket], None]
) -> None:
    """A server that drips its headers or body, or never answers, meets the deadline, not the
    per-read timeout that each byte would restart."""
    with RawServer(serve) as server:
        outcome = _ends(
            lambda: _http.fetch(
                client, "GET", f"http://{server.host}/", deadline=_http.Deadline(0.8), limit=1 << 20
            )
        )
    assert isinstance(outcome, _http.DeadlineExceeded), outcome
    assert "deadline of 0.8 s" in str(outcome)


def test_an_expired_deadline_sends_nothing(client: httpx.Client) -> None:
    """A request whose deadline has passed is not sent."""
    requests: list[bytes] = []
    deadline = _http.Deadline(0.01)
    time.sleep(0.02)
    with (
        RawServer(lambda connection: requests.append(read_request(connection))) as server,
        pytest.raises(_http.DeadlineExceeded, match="had passed before the request"),
    ):
        _http.fetch(client, "GET", f"http://{server.host}/", deadline=deadline, limit=10)
    assert requests == []


def test_an_answer_is_read_whole_and_cut_at_the_limit(client: httpx.Client) -> None:
    """The body is read up to the limit; a longer one is cut there and said to be."""
    with StaticServer(200, b"0123456789", "text/plain") as server:
        url = f"http://{server.host}/x"
        whole = _http.fetch(client, "GET", url, deadline=_http.Deadline(10), limit=10)
        cut = _http.fetch(client, "GET", url, deadline=_http.Deadline(10), limit=4)
    assert (whole.status, whole.body, whole.truncated, whole.url) == (200, b"0123456789", False, url)
    assert (cut.body, cut.truncated) == (b"0123", True)
    assert whole.headers["Content-Type"] == "text/plain"


def test_an_answer_that_is_not_http_is_told_from_a_dropped_connection(client: httpx.Client) -> None:
    """Bytes that are not HTTP are :exc:`~lzy.env._http.NotHTTP`; a connection closed before any
    answer is an ordinary protocol error."""
    with RawServer(garbage) as server, pytest.raises(_http.NotHTTP):
        _http.fetch(client, "GET", f"http://{server.host}/", deadline=_http.Deadline(10), limit=10)
    with RawServer(lambda connection: connection.close()) as server:
        outcome = _ends(
            lambda: _http.fetch(
                client, "GET", f"http://{server.host}/", deadline=_http.Deadline(10), limit=10
            )
        )
    assert isinstance(outcome, httpx.TransportError), outcome
    assert not isinstance(outcome, _http.NotHTTP)


def test_the_own_timeout_of_an_operation_still_applies() -> None:
    """Within a long deadline, a read that waits longer than the timeout is httpx's ReadTimeout."""
    with _client(timeout=0.3) as client, RawServer(read_request) as server:
        outcome = _ends(
            lambda: _http.fetch(
                client, "GET", f"http://{server.host}/", deadline=_http.Deadline(20), limit=10
            )
        )
    assert isinstance(outcome, httpx.ReadTimeout), outcome
    assert not isinstance(outcome, _http.DeadlineExceeded)


def test_nothing_listening_is_a_connect_error(client: httpx.Client) -> None:
    """A refused connection is httpx's ConnectError, as without the bound."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(httpx.ConnectError):
        _http.fetch(client, "GET", f"http://127.0.0.1:{port}/", deadline=_http.Deadline(10), limit=10)


def test_host_names_are_looked_up(client: httpx.Client) -> None:
    """A name is looked up (in a thread bounded by the deadline) and its address connected to."""
    with StaticServer(200, b"ok", "text/plain") as server:
        port = server.host.rsplit(":", 1)[1]
        reply = _http.fetch(client, "GET", f"http://localhost:{port}/", deadline=_http.Deadline(10), limit=10)
    assert reply.body == b"ok"


class _Proxy(http.server.ThreadingHTTPServer):
    """An HTTP proxy on loopback that answers every request itself, recording its target."""

    def __init__(self) -> None:
        self.targets: list[str] = []
        owner = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                owner.targets.append(self.path)
                self.reply(200, b"from the proxy", "text/plain")

        super().__init__(("127.0.0.1", 0), Handler)


def test_proxies_come_from_the_environment(client: httpx.Client, monkeypatch: pytest.MonkeyPatch) -> None:
    """``HTTP_PROXY`` is used, and ``NO_PROXY`` bypasses it, as httpx and pip do."""
    proxy = _Proxy()
    threading.Thread(target=proxy.serve_forever, args=(0.05,), daemon=True).start()
    try:
        with StaticServer(200, b"direct", "text/plain") as server:
            monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.server_address[1]}")
            monkeypatch.delenv("http_proxy", raising=False)
            monkeypatch.setenv("NO_PROXY", "")
            monkeypatch.delenv("no_proxy", raising=False)
            url = f"http://{server.host}/via"
            proxied = _http.fetch(client, "GET", url, deadline=_http.Deadline(10), limit=100)
            monkeypatch.setenv("NO_PROXY", "127.0.0.1")
            with _client() as fresh:
                direct = _http.fetch(fresh, "GET", url, deadline=_http.Deadline(10), limit=100)
    finally:
        proxy.shutdown()
        proxy.server_close()
    assert (proxied.body, direct.body) == (b"from the proxy", b"direct")
    assert proxy.targets == [url]


def test_outside_fetch_the_client_is_an_ordinary_client(client: httpx.Client) -> None:
    """Without a deadline the client works as httpx does."""
    with StaticServer(200, b"ok", "text/plain") as server:
        assert client.get(f"http://{server.host}/").text == "ok"


@pytest.mark.parametrize("seconds", [0, -1, float("inf"), float("nan")])
def test_a_deadline_is_finite_and_positive(seconds: float) -> None:
    """An unbounded or empty deadline is refused."""
    with pytest.raises(ValueError, match="finite number of seconds > 0"):
        _http.Deadline(seconds)
