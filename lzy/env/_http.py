"""HTTP requests bounded in wall-clock time, whatever the server does.

httpx bounds each connect, read and write by a timeout that starts again with every one: a
server that sends its answer one byte every few seconds never times out, and a DNS lookup is
not bounded at all. :func:`fetch` bounds a whole exchange instead. The clients :func:`client`
makes run every network operation (the DNS lookup, each connect, the TLS handshake, each read
and write) with at most the time the current :class:`Deadline` leaves, so a request, its
redirects, its headers and its body end by the deadline; past it, :exc:`DeadlineExceeded`.

Outside :func:`fetch` such a client behaves as any httpx client. Proxies are taken from the
environment (``HTTPS_PROXY``, ``HTTP_PROXY``, ``ALL_PROXY``, ``NO_PROXY``) as httpx takes them.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import ipaddress
import math
import socket
import ssl
import threading
import time
import urllib.request
from collections.abc import Generator, Iterable, Iterator, Mapping, MutableMapping
from typing import TYPE_CHECKING, Final, Protocol, cast

import h11
import httpcore
import httpx

if TYPE_CHECKING:
    from typing import Any

__all__ = ["Deadline", "DeadlineExceeded", "NotHTTP", "Reply", "chain", "client", "fetch"]


def __dir__() -> list[str]:
    return __all__


class Deadline:
    """A moment (on the monotonic clock) by which some work must end: ``seconds`` from now."""

    __slots__ = ("_end", "seconds")

    def __init__(self, seconds: float) -> None:
        if not math.isfinite(seconds) or seconds <= 0:
            msg = f"a deadline is a finite number of seconds > 0, got {seconds!r}"
            raise ValueError(msg)
        #: The seconds the work was given.
        self.seconds = seconds
        self._end = time.monotonic() + seconds

    def remaining(self) -> float:
        """The seconds left, ``0.0`` once the deadline has passed."""
        return max(0.0, self._end - time.monotonic())

    @property
    def expired(self) -> bool:
        """Whether the deadline has passed."""
        return self._end <= time.monotonic()


class DeadlineExceeded(httpx.TimeoutException):
    """A request that did not end by its :class:`Deadline`."""


class NotHTTP(httpx.RemoteProtocolError):
    """An answer that is not HTTP at all (its status line or headers are malformed), as opposed
    to a connection closed before any answer: the server speaks another protocol."""


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class Reply:
    """An answer read whole (up to a limit)."""

    #: The HTTP status code.
    status: int
    #: The response headers.
    headers: httpx.Headers
    #: The body, decoded (``Content-Encoding``), at most the limit :func:`fetch` was given.
    body: bytes
    #: Whether the body was longer than the limit and cut there.
    truncated: bool
    #: The URL that answered (after redirects).
    url: str


#: The deadline of the exchange the current thread (or task) is in, read by every socket
#: operation of the clients :func:`client` makes.
_CURRENT: Final[contextvars.ContextVar[Deadline | None]] = contextvars.ContextVar(
    "lzy_http_deadline", default=None
)


def fetch(
    session: httpx.Client,
    method: str,
    url: str,
    *,
    deadline: Deadline,
    limit: int,
    headers: Mapping[str, str] | None = None,
    data: Mapping[str, str] | None = None,
    auth: tuple[str, str] | None = None,
) -> Reply:
    """Send a request with ``session`` (made by :func:`client`) and read its answer, all by
    ``deadline``: the body is read up to ``limit`` bytes and cut there (:attr:`Reply.truncated`).

    Raises :exc:`DeadlineExceeded` when the deadline passes first (before the request, or while
    connecting, sending, or reading the headers or the body), :exc:`NotHTTP` when what came back
    is not an HTTP answer, and the other :exc:`httpx.HTTPError` exceptions as httpx does
    (timeouts of one operation among them).
    """
    if deadline.expired:
        msg = f"the deadline of {deadline.seconds:g} s had passed before the request"
        raise DeadlineExceeded(msg)
    token = _CURRENT.set(deadline)
    try:
        request = session.build_request(method, url, headers=headers, data=data)
        response = _send(session, request, auth)
        try:
            chunks: list[bytes] = []
            size = 0
            truncated = False
            for chunk in response.iter_bytes():
                if size + len(chunk) > limit:
                    chunks.append(chunk[: limit - size])
                    truncated = True
                    break
                size += len(chunk)
                chunks.append(chunk)
        finally:
            response.close()
        return Reply(
            status=response.status_code,
            headers=response.headers,
            body=b"".join(chunks),
            truncated=truncated,
            url=str(response.url),
        )
    finally:
        _CURRENT.reset(token)


def _send(session: httpx.Client, request: httpx.Request, auth: tuple[str, str] | None) -> httpx.Response:
    """Send ``request`` and read the headers of its answer; an answer that is not HTTP is :exc:`NotHTTP`."""
    try:
        return session.send(request, auth=auth, stream=True)
    except httpx.RemoteProtocolError as error:
        # h11 refused what came back; a connection closed before any answer is not its doing.
        if any(isinstance(e, h11.RemoteProtocolError) for e in chain(error)):
            raise NotHTTP(str(error), request=request) from error
        raise


def chain(error: BaseException) -> Iterator[BaseException]:
    """``error`` and what it wraps: its causes and contexts, each once."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def client(
    *,
    verify: ssl.SSLContext,
    timeout: float,
    connect_timeout: float,
    headers: Mapping[str, str] | None = None,
    follow_redirects: bool = True,
) -> httpx.Client:
    """An httpx client whose every network operation is bounded by the :class:`Deadline` of the
    :func:`fetch` it serves, besides ``timeout`` (each read and write) and ``connect_timeout``
    (the DNS lookup, each connect, the TLS handshake)."""
    return httpx.Client(
        transport=_Transport(verify),
        timeout=httpx.Timeout(timeout, connect=connect_timeout),
        headers=dict(headers or {}),
        follow_redirects=follow_redirects,
    )


# --------------------------------------------------------------------------------------------
# The network operations, bounded


class _DeadlineHit(httpcore.TimeoutException):
    """An operation cut short by the deadline (not by its own timeout)."""


def _bound(timeout: float | None) -> tuple[float | None, bool]:
    """The timeout to give an operation, and whether it is the deadline's rather than its own."""
    deadline = _CURRENT.get()
    if deadline is None:
        return timeout, False
    remaining = deadline.remaining()
    if remaining <= 0:
        msg = f"the deadline of {deadline.seconds:g} s passed"
        raise _DeadlineHit(msg)
    if timeout is None or remaining < timeout:
        return remaining, True
    return timeout, False


@contextlib.contextmanager
def _deadline_of(cut: bool) -> Generator[None]:
    """Turn the timeout of an operation that was given the deadline's time into :class:`_DeadlineHit`."""
    try:
        yield
    except httpcore.TimeoutException as error:
        deadline = _CURRENT.get()
        if cut and deadline is not None and not isinstance(error, _DeadlineHit):
            msg = f"the deadline of {deadline.seconds:g} s passed"
            raise _DeadlineHit(msg) from None
        raise


class _Stream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        bounded, cut = _bound(timeout)
        with _deadline_of(cut):
            return self._inner.read(max_bytes, bounded)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        bounded, cut = _bound(timeout)
        with _deadline_of(cut):
            self._inner.write(buffer, bounded)

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        bounded, cut = _bound(timeout)
        with _deadline_of(cut):
            return _Stream(self._inner.start_tls(ssl_context, server_hostname, bounded))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


def _addresses(host: str, port: int, timeout: float | None) -> list[str]:
    """The addresses of ``host``, looked up in a thread of its own so that the lookup too is
    bounded (``getaddrinfo`` takes no timeout)."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return [host]
    found: list[list[str]] = []
    failed: list[OSError] = []
    done = threading.Event()

    def look_up() -> None:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            found.append(list(dict.fromkeys(str(info[4][0]) for info in infos)))
        except OSError as error:
            failed.append(error)
        finally:
            done.set()

    bounded, cut = _bound(timeout)
    threading.Thread(target=look_up, name=f"lzy-dns-{host}", daemon=True).start()
    if not done.wait(bounded):
        if cut:
            deadline = _CURRENT.get()
            seconds = deadline.seconds if deadline is not None else bounded
            msg = f"the deadline of {seconds:g} s passed while looking up {host}"
            raise _DeadlineHit(msg)
        msg = f"looking up {host} took more than {bounded:g} s"
        raise httpcore.ConnectTimeout(msg)
    if failed:
        raise httpcore.ConnectError(str(failed[0]))
    return found[0]


class _Backend(httpcore.NetworkBackend):
    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        options = list(socket_options or ())
        error: httpcore.ConnectError | httpcore.ConnectTimeout | None = None
        for address in _addresses(host, port, timeout):
            bounded, cut = _bound(timeout)
            try:
                with _deadline_of(cut):
                    stream = self._inner.connect_tcp(
                        address, port, timeout=bounded, local_address=local_address, socket_options=options
                    )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as failed:
                error = failed  # the next address may do better
                continue
            return _Stream(stream)
        if error is not None:
            raise error
        msg = f"{host} has no address"
        raise httpcore.ConnectError(msg)

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        bounded, cut = _bound(timeout)
        with _deadline_of(cut):
            return _Stream(
                self._inner.connect_unix_socket(path, timeout=bounded, socket_options=socket_options)
            )

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


# --------------------------------------------------------------------------------------------
# The transport: httpx requests through httpcore pools that use the bounded backend

#: httpcore's errors and the httpx errors they are raised as, the most specific first.
_ERRORS: Final[tuple[tuple[type[Exception], type[httpx.TransportError]], ...]] = (
    (_DeadlineHit, DeadlineExceeded),
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.ProxyError, httpx.ProxyError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.ProtocolError, httpx.ProtocolError),
)


@contextlib.contextmanager
def _as_httpx() -> Generator[None]:
    try:
        yield
    except Exception as error:
        for source, target in _ERRORS:
            if isinstance(error, source):
                raise target(str(error)) from error
        raise


class _Body(httpx.SyncByteStream):
    def __init__(self, inner: Iterable[bytes]) -> None:
        self._inner = inner

    def __iter__(self) -> Iterator[bytes]:
        with _as_httpx():
            yield from self._inner

    def close(self) -> None:
        close = getattr(self._inner, "close", None)
        if callable(close):
            with _as_httpx():
                close()


class _Extended(Protocol):
    @property
    def extensions(self) -> MutableMapping[str, Any]: ...


def _extensions(answer: _Extended) -> MutableMapping[str, Any]:
    """httpcore's response extensions, typed (httpcore leaves the attribute unannotated)."""
    return answer.extensions


class _Transport(httpx.BaseTransport):
    """Requests through httpcore connection pools whose network backend is bounded: one pool
    for direct connections, one per proxy the environment names."""

    def __init__(self, ssl_context: ssl.SSLContext) -> None:
        self._ssl_context = ssl_context
        self._backend = _Backend()
        self._lock = threading.Lock()
        self._pools: dict[str | None, httpcore.ConnectionPool] = {}

    def _proxy(self, url: httpx.URL) -> str | None:
        """The proxy the environment names for ``url``, as httpx and pip read it, or ``None``."""
        proxies = urllib.request.getproxies()
        proxy = proxies.get(url.scheme) or proxies.get("all")
        if not proxy:
            return None
        netloc = f"[{url.host}]" if ":" in url.host else url.host
        if url.port is not None:
            netloc += f":{url.port}"
        return None if urllib.request.proxy_bypass(netloc) else proxy

    def _pool(self, proxy: str | None) -> httpcore.ConnectionPool:
        with self._lock:
            pool = self._pools.get(proxy)
            if pool is None:
                pool = self._new_pool(proxy)
                self._pools[proxy] = pool
            return pool

    def _new_pool(self, proxy: str | None) -> httpcore.ConnectionPool:
        if proxy is None:
            return httpcore.ConnectionPool(ssl_context=self._ssl_context, network_backend=self._backend)
        url = httpx.URL(proxy if "://" in proxy else f"http://{proxy}")
        origin = httpcore.URL(scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path)
        auth = (url.username, url.password) if url.username else None
        if url.scheme in {"socks5", "socks5h"}:
            return httpcore.SOCKSProxy(
                proxy_url=origin,
                proxy_auth=auth,
                ssl_context=self._ssl_context,
                network_backend=self._backend,
            )
        return httpcore.HTTPProxy(
            proxy_url=origin, proxy_auth=auth, ssl_context=self._ssl_context, network_backend=self._backend
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` through the pool for its URL."""
        pool = self._pool(self._proxy(request.url))
        core = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=cast("Iterable[bytes]", request.stream),
            extensions=request.extensions,
        )
        with _as_httpx():
            answer = pool.handle_request(core)
        return httpx.Response(
            status_code=answer.status,
            headers=answer.headers,
            stream=_Body(cast("Iterable[bytes]", answer.stream)),
            extensions=_extensions(answer),
        )

    def close(self) -> None:
        """Close every pool."""
        with self._lock:
            pools = list(self._pools.values())
            self._pools.clear()
        for pool in pools:
            pool.close()
