"""Test support: a real distribution registry on loopback, a token service, and tiny images.

The registry is Debian's ``docker-registry`` package (the distribution registry), started on
``127.0.0.1`` with a port the kernel picks. Images are pushed through the registry API itself:
blobs by monolithic upload, then manifests and indexes by ``PUT``.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import gzip
import hashlib
import http.server
import io
import ipaddress
import json
import re
import shutil
import socket
import subprocess
import sys
import tarfile
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import Literal, Self

import httpx

from lzy.env._http import chain

#: The environment variable the nox session sets when it has installed the registry: the tests
#: then fail, rather than skip, when it cannot be started.
REQUIRED_ENV = "LZY_TEST_REGISTRY_REQUIRED"

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"

#: The registry's token service name and the issuer of its tokens.
SERVICE = "lzy-test-registry"
ISSUER = "lzy-test-issuer"


def missing_tools() -> list[str]:
    """The programs the registry tests need that are not installed."""
    return [tool for tool in ("docker-registry", "htpasswd", "openssl") if shutil.which(tool) is None]


def digest(data: bytes) -> str:
    """The sha256 digest of ``data``, as registries write it."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


# --------------------------------------------------------------------------------------------
# The registry


class RegistryServer:
    """A distribution registry on 127.0.0.1 (or ``address``) serving ``root``, stopped on exit.

    ``auth`` is the registry's ``auth`` configuration (``htpasswd`` or ``token``), or ``None``
    for an open registry; with ``tls`` it serves HTTPS with that certificate.
    """

    def __init__(
        self,
        root: Path,
        *,
        auth: Mapping[str, object] | None = None,
        tls: ServerCertificate | None = None,
        address: str = "127.0.0.1",
    ) -> None:
        self.root = root
        self.auth = auth
        self.tls = tls
        self.address = address
        self.host = ""
        self._process: subprocess.Popen[str] | None = None
        self._drain: threading.Thread | None = None
        self._log: list[str] = []

    def __enter__(self) -> RegistryServer:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Start the registry and wait until it listens."""
        config_dir = self.root.parent / f"config-{uuid.uuid4().hex[:8]}"
        config_dir.mkdir(parents=True)
        config: dict[str, object] = {
            "version": 0.1,
            "log": {"level": "info", "accesslog": {"disabled": True}},
            "storage": {"filesystem": {"rootdirectory": str(self.root)}, "delete": {"enabled": True}},
            "http": {"addr": f"{self.address}:0", "secret": "lzy-tests"},
        }
        if self.auth is not None:
            config["auth"] = dict(self.auth)
        if self.tls is not None:
            tls = {"certificate": str(self.tls.certificate), "key": str(self.tls.key)}
            config["http"] = {"addr": f"{self.address}:0", "secret": "lzy-tests", "tls": tls}
        # YAML is a superset of JSON: the registry reads this file as it is.
        path = config_dir / "config.yml"
        path.write_text(json.dumps(config))
        self._process = subprocess.Popen(
            ["docker-registry", "serve", str(path)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        stderr = self._process.stderr
        assert stderr is not None
        found: list[str] = []
        ready = threading.Event()

        def drain() -> None:
            for line in stderr:
                self._log.append(line)
                match = re.search(r"listening on ([0-9.]+:\d+)", line)
                if match and not found:
                    found.append(match[1])
                    ready.set()
            ready.set()

        self._drain = threading.Thread(target=drain, name="registry-log", daemon=True)
        self._drain.start()
        if not ready.wait(30) or not found:
            self.stop()
            log = "".join(self._log)[-2000:]
            msg = f"docker-registry did not start listening:\n{log}"
            raise RuntimeError(msg)
        self.host = found[0]

    def stop(self) -> None:
        """Stop the registry (idempotent)."""
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if self._drain is not None:
            self._drain.join(10)
        if self._process is not None and self._process.stderr is not None:
            self._process.stderr.close()

    @property
    def url(self) -> str:
        """The registry's base URL."""
        return f"{'https' if self.tls else 'http'}://{self.host}"


@dataclasses.dataclass
class ServerCertificate:
    """A certificate authority and a server certificate for ``127.0.0.1`` it signed."""

    authority: Path
    certificate: Path
    key: Path

    @classmethod
    def generate(cls, directory: Path) -> ServerCertificate:
        """Make both with the ``openssl`` command."""
        ca_key, ca = directory / "ca.key", directory / "ca.crt"
        key, request, certificate = (
            directory / "server.key",
            directory / "server.csr",
            directory / "server.crt",
        )
        extensions = directory / "server.ext"
        extensions.write_text(
            "subjectAltName=IP:127.0.0.1\nauthorityKeyIdentifier=keyid\nbasicConstraints=CA:FALSE\n"
        )
        for command in (
            ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=lzy-test-ca",
             "-keyout", str(ca_key), "-out", str(ca)],
            ["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", str(key),
             "-out", str(request)],
            ["x509", "-req", "-in", str(request), "-CA", str(ca), "-CAkey", str(ca_key), "-CAcreateserial",
             "-days", "2", "-extfile", str(extensions), "-out", str(certificate)],
        ):  # fmt: skip
            subprocess.run(["openssl", *command], check=True, capture_output=True)
        return cls(authority=ca, certificate=certificate, key=key)


def htpasswd_file(path: Path, users: Mapping[str, str]) -> Path:
    """An htpasswd file with bcrypt hashes (the registry accepts no other), passwords on stdin."""
    for number, (user, password) in enumerate(users.items()):
        flags = "-iBc" if number == 0 else "-iB"
        subprocess.run(
            ["htpasswd", flags, str(path), user], input=password, text=True, check=True, capture_output=True
        )
    return path


# --------------------------------------------------------------------------------------------
# Pushing images through the registry API


@dataclasses.dataclass(frozen=True)
class Pushed:
    """What a push stored: the digest and media type of the manifest or index, and its body."""

    digest: str
    media_type: str
    body: bytes


class Pusher:
    """Pushes blobs, manifests and indexes to one registry with an ``Authorization`` header."""

    def __init__(self, base_url: str, authorization: Mapping[str, str] | None = None) -> None:
        self.base_url = base_url
        self.authorization = dict(authorization or {})
        self.client = httpx.Client(base_url=base_url, timeout=30)

    def __enter__(self) -> Pusher:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.client.close()

    def _headers(self, repository: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        headers = dict(extra or {})
        header = self.authorization.get(repository) or self.authorization.get("*")
        if header is not None:
            headers["Authorization"] = header
        return headers

    def blob(self, repository: str, data: bytes) -> str:
        """Upload ``data`` as a blob (POST then monolithic PUT); returns its digest."""
        blob_digest = digest(data)
        started = self.client.post(f"/v2/{repository}/blobs/uploads/", headers=self._headers(repository))
        assert started.status_code == 202, started.text
        location = started.headers["Location"]
        separator = "&" if "?" in location else "?"
        target = f"{location}{separator}digest={urllib.parse.quote(blob_digest)}"
        done = self.client.put(
            target,
            content=data,
            headers=self._headers(repository, {"Content-Type": "application/octet-stream"}),
        )
        assert done.status_code == 201, done.text
        return blob_digest

    def manifest(
        self, repository: str, reference: str, document: Mapping[str, object], media_type: str
    ) -> Pushed:
        """PUT a manifest or index under ``reference`` (a tag or its digest)."""
        body = json.dumps(document, separators=(",", ":")).encode()
        answer = self.client.put(
            f"/v2/{repository}/manifests/{reference}",
            content=body,
            headers=self._headers(repository, {"Content-Type": media_type}),
        )
        assert answer.status_code == 201, answer.text
        return Pushed(digest=digest(body), media_type=media_type, body=body)

    def image(
        self,
        repository: str,
        tag: str | None,
        *,
        os_name: str = "linux",
        architecture: str = "amd64",
        variant: str | None = None,
        oci: bool = False,
        config_media_type: str | None = None,
    ) -> Pushed:
        """Push a one-layer image for one platform; ``tag=None`` pushes it by digest only."""
        layer_tar = _layer(f"built for {os_name}/{architecture}/{variant or ''}\n")
        layer = gzip.compress(layer_tar, mtime=0)
        config: dict[str, object] = {
            "architecture": architecture,
            "os": os_name,
            "rootfs": {"type": "layers", "diff_ids": [digest(layer_tar)]},
            "config": {"Cmd": ["/hello"]},
        }
        if variant is not None:
            config["variant"] = variant
        config_body = json.dumps(config).encode()
        config_type = config_media_type or (OCI_CONFIG if oci else DOCKER_CONFIG)
        media_type = OCI_MANIFEST if oci else DOCKER_MANIFEST
        document = {
            "schemaVersion": 2,
            "mediaType": media_type,
            "config": {
                "mediaType": config_type,
                "digest": self.blob(repository, config_body),
                "size": len(config_body),
            },
            "layers": [
                {
                    "mediaType": OCI_LAYER if oci else DOCKER_LAYER,
                    "digest": self.blob(repository, layer),
                    "size": len(layer),
                }
            ],
        }
        body = json.dumps(document, separators=(",", ":")).encode()
        return self.manifest(repository, tag or digest(body), document, media_type)

    def index(
        self, repository: str, tag: str, images: Mapping[str, Pushed], *, attestation: bool = True
    ) -> Pushed:
        """Push an OCI index of ``images`` (keyed by ``os/arch[/variant]``), with a build
        attestation entry (platform ``unknown/unknown``) as buildkit adds one."""
        entries: list[dict[str, object]] = []
        for platform, image in images.items():
            parts = platform.split("/")
            entry_platform: dict[str, str] = {"os": parts[0], "architecture": parts[1]}
            if len(parts) == 3:
                entry_platform["variant"] = parts[2]
            entries.append(
                {
                    "mediaType": image.media_type,
                    "digest": image.digest,
                    "size": len(image.body),
                    "platform": entry_platform,
                }
            )
        if attestation and images:
            first = next(iter(images.values()))
            entries.append(
                {
                    "mediaType": OCI_MANIFEST,
                    "digest": first.digest,
                    "size": len(first.body),
                    "platform": {"os": "unknown", "architecture": "unknown"},
                    "annotations": {"vnd.docker.reference.type": "attestation-manifest"},
                }
            )
        document = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}
        return self.manifest(repository, tag, document, OCI_INDEX)


def _layer(text: str) -> bytes:
    """A tar archive holding one file, ``/hello``."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        data = text.encode()
        info = tarfile.TarInfo("hello")
        info.size = len(data)
        info.mode = 0o755
        archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


# --------------------------------------------------------------------------------------------
# Servers on loopback


class QuietHandler(http.server.BaseHTTPRequestHandler):
    """A request handler that logs nothing and answers with one call."""

    def log_message(self, format: str, *args: object) -> None:
        """Nothing: the tests' output stays clean."""

    def reply(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        """Send ``status`` with ``body``."""
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class LoopbackServer:
    """An HTTP server on 127.0.0.1, in a thread, while the ``with`` block runs."""

    _server: http.server.ThreadingHTTPServer | None = None

    def handler(self) -> type[QuietHandler]:
        """The request handler class, which may refer to ``self``."""
        raise NotImplementedError

    @property
    def host(self) -> str:
        """``127.0.0.1:port``."""
        assert self._server is not None
        return f"127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> Self:
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self.handler())
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


# --------------------------------------------------------------------------------------------
# A token service


@dataclasses.dataclass
class TokenKeys:
    """A self-signed certificate and its key: the registry trusts tokens signed with the key."""

    key: Path
    certificate: Path

    @classmethod
    def generate(cls, directory: Path) -> TokenKeys:
        """Make an RSA key and a certificate for it with the ``openssl`` command."""
        key, certificate = directory / "token.key", directory / "token.pem"
        subprocess.run(
            [
                "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                "-subj", "/CN=lzy-test-token-issuer", "-keyout", str(key), "-out", str(certificate),
            ],
            check=True,
            capture_output=True,
        )  # fmt: skip
        return cls(key=key, certificate=certificate)

    def der_base64(self) -> str:
        """The certificate in DER, base64-encoded (the ``x5c`` header's form)."""
        text = self.certificate.read_text()
        body = text.split("-----BEGIN CERTIFICATE-----", 1)[1].split("-----END CERTIFICATE-----", 1)[0]
        return "".join(body.split())


@dataclasses.dataclass
class Grant:
    """Who may pull what: user (``None`` for anonymous) -> repository path prefixes."""

    pulls: dict[str | None, tuple[str, ...]]


class TokenServer(LoopbackServer):
    """A token service of the Docker token protocol on 127.0.0.1.

    ``GET /token?service=&scope=`` with HTTP Basic credentials (or none), and ``POST /token``
    with an OAuth2 ``refresh_token`` grant. Issues RS256 JWTs signed with ``keys`` (by the
    ``openssl`` command), granting pull (and push, to ``pushers``) on the repositories the user
    may access; wrong credentials get a 401.
    """

    def __init__(
        self,
        keys: TokenKeys,
        *,
        users: Mapping[str, str],
        grants: Mapping[str | None, tuple[str, ...]],
        refresh_tokens: Mapping[str, str] | None = None,
        pushers: tuple[str, ...] = (),
    ) -> None:
        self.keys = keys
        self.users = dict(users)
        self.grants = dict(grants)
        self.refresh_tokens = dict(refresh_tokens or {})
        self.pushers = pushers
        #: Every token issued, so tests can check that none leaks.
        self.issued: list[str] = []
        #: The requests received: (method, path with query, whether credentials were sent).
        self.requests: list[tuple[str, str, bool]] = []

    @property
    def realm(self) -> str:
        """The token endpoint's URL."""
        return f"http://{self.host}/token"

    def registry_auth(self) -> dict[str, object]:
        """The registry's ``auth`` configuration that trusts this service."""
        return {
            "token": {
                "realm": self.realm,
                "service": SERVICE,
                "issuer": ISSUER,
                "rootcertbundle": str(self.keys.certificate),
            }
        }

    def handler(self) -> type[QuietHandler]:
        """Answers ``GET /token`` and ``POST /token``."""
        owner = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                parts = urllib.parse.urlsplit(self.path)
                query = urllib.parse.parse_qs(parts.query)
                header = self.headers.get("Authorization", "")
                owner.requests.append(("GET", self.path, bool(header)))
                user: str | None = None
                if header:
                    scheme, _, value = header.partition(" ")
                    name, _, password = base64.b64decode(value).decode().partition(":")
                    if scheme.lower() != "basic" or owner.users.get(name) != password:
                        self._send(
                            401, {"errors": [{"code": "UNAUTHORIZED", "message": "wrong credentials"}]}
                        )
                        return
                    user = name
                self._grant(user, query)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                form = urllib.parse.parse_qs(self.rfile.read(length).decode())
                owner.requests.append(("POST", self.path, True))
                refresh = form.get("refresh_token", [""])[0]
                if form.get("grant_type") != ["refresh_token"] or refresh not in owner.refresh_tokens:
                    self._send(401, {"error": "invalid_grant"})
                    return
                self._grant(owner.refresh_tokens[refresh], form, oauth=True)

            def _grant(
                self, user: str | None, query: Mapping[str, list[str]], *, oauth: bool = False
            ) -> None:
                access: list[dict[str, object]] = []
                for scope in query.get("scope", []):
                    kind, _, rest = scope.partition(":")
                    name, _, actions = rest.rpartition(":")
                    allowed = [
                        a
                        for a in actions.split(",")
                        if (a == "pull" and any(name.startswith(p) for p in owner.grants.get(user, ())))
                        or (a == "push" and user in owner.pushers)
                    ]
                    if kind == "repository" and allowed:
                        access.append({"type": "repository", "name": name, "actions": allowed})
                token = owner.token(user, access)
                key = "access_token" if oauth else "token"
                self._send(200, {key: token, "expires_in": 300})

            def _send(self, status: int, document: Mapping[str, object]) -> None:
                self.reply(status, json.dumps(document).encode())

        return Handler

    def token(self, user: str | None, access: list[dict[str, object]]) -> str:
        """A JWT the registry accepts, signed with the ``openssl`` command."""
        now = int(time.time())
        header = {"typ": "JWT", "alg": "RS256", "x5c": [self.keys.der_base64()]}
        claims = {
            "iss": ISSUER,
            "sub": user or "",
            "aud": SERVICE,
            "exp": now + 300,
            "nbf": now - 10,
            "iat": now,
            "jti": uuid.uuid4().hex,
            "access": access,
        }
        signing_input = f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"
        signature = subprocess.run(
            ["openssl", "dgst", "-sha256", "-sign", str(self.keys.key)],
            input=signing_input.encode(),
            capture_output=True,
            check=True,
        ).stdout
        token = f"{signing_input}.{_b64url(signature)}"
        self.issued.append(token)
        return token


class StaticServer(LoopbackServer):
    """A plain web server on 127.0.0.1 (not a registry) answering every path with ``status``."""

    def __init__(self, status: int, body: bytes, content_type: str) -> None:
        self.status, self.body, self.content_type = status, body, content_type

    def handler(self) -> type[QuietHandler]:
        """Answers every ``GET`` alike."""
        owner = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                self.reply(owner.status, owner.body, owner.content_type)

        return Handler


def credential_helper(directory: Path, name: str, answers: Mapping[str, tuple[str, str]]) -> Path:
    """A real ``docker-credential-NAME`` program speaking the helper protocol: ``get`` reads the
    server URL on standard input and answers JSON, or ``credentials not found``. The answers
    are kept in a file beside it, so no secret is in the program's arguments or source."""
    answers_file = directory / f"{name}-answers.json"
    answers_file.write_text(json.dumps({server: list(pair) for server, pair in answers.items()}))
    script = directory / f"docker-credential-{name}"
    script.write_text(
        f"#!{sys.executable}\n"
        "import json, sys\n"
        f"answers = json.load(open({str(answers_file)!r}))\n"
        "if sys.argv[1:] != ['get']:\n"
        "    sys.exit('unsupported: ' + ' '.join(sys.argv[1:]))\n"
        "server = sys.stdin.read().strip()\n"
        "if server not in answers:\n"
        "    print('credentials not found in native keychain'); sys.exit(1)\n"
        "user, secret = answers[server]\n"
        "print(json.dumps({'ServerURL': server, 'Username': user, 'Secret': secret}))\n"
    )
    script.chmod(0o755)
    return script


Scheme = Literal["htpasswd", "token", "open"]


def iter_exceptions(error: BaseException) -> Iterator[BaseException]:
    """``error`` and every exception chained to it (cause and context)."""
    yield from chain(error)


# --------------------------------------------------------------------------------------------
# Servers that misbehave


class RawServer:
    """A TCP server on 127.0.0.1 handing each connection to ``serve`` in a thread of its own,
    for servers that misbehave below HTTP (a byte at a time, or not HTTP at all). Connections
    still open are closed when the ``with`` block ends."""

    def __init__(self, serve: Callable[[socket.socket], object]) -> None:
        self.serve = serve
        self._listener = socket.socket()
        self._open: list[socket.socket] = []
        self._stopped = threading.Event()

    @property
    def host(self) -> str:
        """``127.0.0.1:port``."""
        return f"127.0.0.1:{self._listener.getsockname()[1]}"

    def __enter__(self) -> Self:
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(16)
        self._listener.settimeout(0.05)
        threading.Thread(target=self._accept, name="raw-server", daemon=True).start()
        return self

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._open.append(connection)
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection: socket.socket) -> None:
        with contextlib.suppress(OSError):  # the client went away, or the server is stopping
            self.serve(connection)

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._stopped.set()
        self._listener.close()
        for connection in self._open:
            connection.close()


def read_request(connection: socket.socket) -> bytes:
    """The request head a client sent (up to the blank line), or what came before it closed."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def drip(connection: socket.socket, head: bytes, *, every: float = 0.2, body: bool = False) -> None:
    """Answer the request with ``head`` at once, then one byte every ``every`` seconds forever:
    of the headers (``body=False``) or of a body the headers promise to be long."""
    read_request(connection)
    connection.sendall(head)
    while True:
        connection.sendall(b"x" if body else b"X")
        time.sleep(every)


def garbage(connection: socket.socket) -> None:
    """Answer the request with bytes that are not HTTP, then close."""
    read_request(connection)
    connection.sendall(b"\x00\x01this is not HTTP\r\n\r\n")
    connection.close()


class FakeRegistry(LoopbackServer):
    """A web server answering ``GET``/``HEAD`` from ``route(path, authorization)``: ``(status,
    body, headers)``. It stands for servers that are not a registry, or a registry that
    misbehaves, where the real one cannot be made to."""

    def __init__(self, route: Callable[[str, str | None], tuple[int, bytes, Mapping[str, str]]]) -> None:
        self.route = route

    def handler(self) -> type[QuietHandler]:
        """Answers every ``GET`` and ``HEAD`` from :attr:`route`."""
        owner = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                status, body, headers = owner.route(self.path, self.headers.get("Authorization"))
                self.send_response(status)
                for name, value in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def do_HEAD(self) -> None:
                self.do_GET()

        return Handler


def slow_helper(directory: Path, name: str, seconds: float) -> Path:
    """A ``docker-credential-NAME`` that answers only after ``seconds``."""
    script = directory / f"docker-credential-{name}"
    script.write_text(
        f"#!{sys.executable}\n"
        "import json, sys, time\n"
        "sys.stdin.read()\n"
        f"time.sleep({seconds})\n"
        "print(json.dumps({'Username': 'alice', 'Secret': 'never-used'}))\n"
    )
    script.chmod(0o755)
    return script


def helper_leaving_a_child(directory: Path, name: str, answer: tuple[str, str]) -> Path:
    """A ``docker-credential-NAME`` that answers and exits at once, leaving behind a process
    that holds its standard output open for a minute (as a helper that starts an agent may);
    that process's id is written to ``NAME.pid`` beside it."""
    answers_file = directory / f"{name}-answer.json"
    answers_file.write_text(json.dumps({"Username": answer[0], "Secret": answer[1]}))
    script = directory / f"docker-credential-{name}"
    script.write_text(
        "#!/bin/sh\n"
        "read server\n"
        "sleep 60 &\n"
        f"echo $! > {str(directory / f'{name}.pid')!r}\n"
        f"cat {str(answers_file)!r}\n"
        "exit 0\n"
    )
    script.chmod(0o755)
    return script


def non_loopback_address() -> str | None:
    """An IPv4 address of this machine that is not a loopback one, or ``None``."""
    candidates: list[str] = []
    with contextlib.suppress(OSError):
        candidates += [
            str(info[4][0]) for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)
        ]
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("192.0.2.1", 9))  # a route lookup only: nothing is sent
        candidates.append(str(probe.getsockname()[0]))
    for address in candidates:
        if not ipaddress.ip_address(address).is_loopback and address != "0.0.0.0":
            with contextlib.suppress(OSError), socket.socket() as listener:
                listener.bind((address, 0))
                return address
    return None


def outcome_within(action: Callable[[], object], seconds: float) -> object:
    """What ``action`` returns or raises, run in a thread; the test fails if it is still running
    after ``seconds`` (a guard against a hang, not a measure of speed)."""
    found: list[object] = []

    def run() -> None:
        try:
            found.append(action())
        except BaseException as error:
            found.append(error)

    worker = threading.Thread(target=run, name="outcome-within", daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"still running after {seconds} s"
    return found[0]


def docker_config(content: Mapping[str, object]) -> Path:
    """Write ``content`` as the ``config.json`` of ``$DOCKER_CONFIG`` (each test has its own)."""
    import os

    directory = Path(os.environ["DOCKER_CONFIG"])
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.json").write_text(json.dumps(content))
    return directory
