"""Test support: installed distributions made on the fly, and a simple index on loopback.

Installing a wheel is unpacking it: the package files plus a ``.dist-info`` directory with
``METADATA``, ``WHEEL`` and ``RECORD``. :class:`Site` writes exactly that into a directory on
``sys.path``, which is what :mod:`importlib.metadata` reads, so no pip run is needed.
"""

from __future__ import annotations

import base64
import dataclasses
import email.utils
import hashlib
import html
import http.server
import json
import pathlib
import re
import threading
import time
import urllib.parse
import zipfile
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Literal

#: How the server answers a project page: the client's choice, or forced.
Flavour = Literal["negotiate", "json", "html"]

_JSON = "application/vnd.pypi.simple.v1+json"
_HTML = "text/html; charset=utf-8"


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return f"sha256={digest.decode()}"


@dataclasses.dataclass
class Site:
    """A ``site-packages``-like directory on ``sys.path`` to install distributions into."""

    root: pathlib.Path

    def install(
        self,
        name: str,
        version: str,
        files: Mapping[str, str | bytes],
        *,
        requires: Iterable[str] = (),
        editable_dir: pathlib.Path | None = None,
        direct_url: Mapping[str, object] | None = None,
        requires_python: str | None = None,
    ) -> pathlib.Path:
        """Install ``name`` ``version`` with ``files`` (paths relative to the site); returns
        the ``.dist-info`` directory. ``direct_url`` is written as PEP 610's ``direct_url.json``
        (``editable_dir`` writes an editable one)."""
        dist_info = f"{name.replace('-', '_')}-{version}.dist-info"
        written: dict[str, bytes] = {}
        for path, content in files.items():
            data = content.encode() if isinstance(content, str) else content
            target = self.root / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            written[path] = data
        metadata = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
        metadata += [f"Requires-Dist: {r}" for r in requires]
        if requires_python is not None:
            metadata.append(f"Requires-Python: {requires_python}")
        meta_files: dict[str, bytes] = {
            "METADATA": ("\n".join(metadata) + "\n\nA long description.\n").encode(),
            "WHEEL": b"Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
            "INSTALLER": b"pip\n",
        }
        if editable_dir is not None:
            direct = {"url": editable_dir.as_uri(), "dir_info": {"editable": True}}
            meta_files["direct_url.json"] = json.dumps(direct).encode()
        elif direct_url is not None:
            meta_files["direct_url.json"] = json.dumps(direct_url).encode()
        (self.root / dist_info).mkdir(parents=True)
        for filename, data in meta_files.items():
            (self.root / dist_info / filename).write_bytes(data)
            written[f"{dist_info}/{filename}"] = data
        rows = [f"{path},{_hash(data)},{len(data)}" for path, data in written.items()]
        rows.append(f"{dist_info}/RECORD,,")
        (self.root / dist_info / "RECORD").write_text("\n".join(rows) + "\n")
        return self.root / dist_info


def build_wheel(
    directory: pathlib.Path,
    name: str,
    version: str,
    files: Mapping[str, str],
    *,
    requires: Iterable[str] = (),
) -> pathlib.Path:
    """Write a pure-Python wheel of ``files`` into ``directory`` (a zip with ``METADATA``,
    ``WHEEL`` and ``RECORD``, as a build backend would) and return its path; ``requires`` are
    its ``Requires-Dist`` lines."""
    dist_info = f"{name.replace('-', '_')}-{version}.dist-info"
    contents = {path: text.encode() for path, text in files.items()}
    metadata = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    metadata += [f"Requires-Dist: {r}" for r in requires]
    contents[f"{dist_info}/METADATA"] = ("\n".join(metadata) + "\n").encode()
    contents[f"{dist_info}/WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    rows = [f"{path},{_hash(data)},{len(data)}" for path, data in contents.items()]
    contents[f"{dist_info}/RECORD"] = ("\n".join([*rows, f"{dist_info}/RECORD,,"]) + "\n").encode()
    path = directory / wheel(name, version)
    with zipfile.ZipFile(path, "w") as archive:
        for member, data in contents.items():
            archive.writestr(member, data)
    return path


def _sha256(data: bytes | None) -> str:
    """The hex SHA-256 of a served file; ``00`` for a file listed by name only."""
    return "00" if data is None else hashlib.sha256(data).hexdigest()


def _requires_attribute(specifier: str | None) -> str:
    return "" if specifier is None else f' data-requires-python="{html.escape(specifier)}"'


def wheel(name: str, version: str, tag: str = "py3-none-any") -> str:
    """A wheel file name."""
    return f"{name.replace('-', '_')}-{version}-{tag}.whl"


@dataclasses.dataclass
class _State:
    projects: dict[str, list[str]]
    flavour: Flavour
    status: int | None = None
    hang: threading.Event | None = None
    delay: float = 0.0
    #: Seconds between two bytes of every answer's body (a server that trickles its answer).
    trickle: float = 0.0
    credentials: tuple[str, str] | None = None
    requires_python: dict[str, str] = dataclasses.field(default_factory=dict[str, str])
    files: dict[str, bytes] = dataclasses.field(default_factory=dict[str, bytes])
    requests: Counter[str] = dataclasses.field(default_factory=Counter[str])
    #: Other pages served as they are, by path: content type and body.
    pages: dict[str, tuple[str, bytes]] = dataclasses.field(default_factory=dict[str, tuple[str, bytes]])
    #: What every other path answers (content type and body) instead of a 404, as some sites do.
    fallback: tuple[str, bytes] | None = None
    not_modified: int = 0
    conditional: int = 0
    #: The path of the simple repository's root (files are served beside it, in ``files/``).
    root: str = "/simple"
    lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body leave in separate writes; without TCP_NODELAY, Nagle's algorithm and the
    # client's delayed ACK would add some 40 ms to every keep-alive answer.
    disable_nagle_algorithm = True

    @property
    def state(self) -> _State:
        """The state of the server this request came to."""
        server = self.server
        assert isinstance(server, _Server)
        return server.state

    def log_message(self, format: str, *args: object) -> None:
        del format, args

    def do_GET(self) -> None:
        state = self.state
        path = urllib.parse.urlsplit(self.path).path
        with state.lock:
            state.requests[path] += 1
            if "If-None-Match" in self.headers:
                state.conditional += 1
        if state.hang is not None:
            state.hang.wait(30)
            return
        if state.delay:
            time.sleep(state.delay)
        if state.credentials is not None:
            expected = base64.b64encode(":".join(state.credentials).encode()).decode()
            if self.headers.get("Authorization") != f"Basic {expected}":
                self._send(401, "text/plain", b"who are you?")
                return
        if state.status is not None:
            self._send(state.status, "text/plain", b"broken")
            return
        base = state.root.rpartition("/")[0]
        inside = path[len(base) :] if path.startswith(f"{base}/") else "/"
        parts = [p for p in inside.split("/") if p]
        if parts[:1] == ["simple"] and state.root.rpartition("/")[2] != "simple":
            parts = []  # this root is not called "simple"
        elif parts[:1] == [state.root.rpartition("/")[2]]:
            parts[0] = "simple"
        if path.rstrip("/") in state.pages:
            content_type, body = state.pages[path.rstrip("/")]
            self._send(200, content_type, body)
        elif len(parts) == 2 and parts[0] == "files" and parts[1] in state.files:
            self._send(200, "application/octet-stream", state.files[parts[1]])
        elif parts == ["simple"]:
            self._page(None)
        elif len(parts) == 2 and parts[0] == "simple" and parts[1] in state.projects:
            self._page(parts[1])
        elif state.fallback is not None:
            self._send(200, *state.fallback)
        else:
            self._send(404, "text/plain", b"not found")

    def do_HEAD(self) -> None:
        """Answer as to GET, without the body (uv asks before it downloads a wheel)."""
        self.do_GET()

    def _page(self, project: str | None) -> None:
        state = self.state
        flavour = state.flavour
        if flavour == "negotiate":
            flavour = "json" if "vnd.pypi.simple.v1+json" in self.headers.get("Accept", "") else "html"
        names = sorted(state.projects) if project is None else state.projects[project]
        if flavour == "json":
            if project is None:
                data: object = {"meta": {"api-version": "1.0"}, "projects": [{"name": n} for n in names]}
            else:
                files: list[dict[str, object]] = [
                    {
                        "filename": f,
                        "url": f"../../files/{f}",
                        "hashes": {"sha256": _sha256(state.files[f])} if f in state.files else {},
                        "requires-python": state.requires_python.get(f),
                    }
                    for f in names
                ]
                data = {"meta": {"api-version": "1.0"}, "name": project, "files": files}
            body, content_type = json.dumps(data).encode(), _JSON
        else:
            prefix = "" if project is None else "../../files/"
            requires = state.requires_python
            links = "".join(
                f'<a href="{prefix}{n}#sha256={_sha256(state.files.get(n))}"'
                f"{_requires_attribute(requires.get(n))}>{n}</a><br/>\n"
                for n in names
            )
            body = f"<!DOCTYPE html><html><body>\n{links}</body></html>".encode()
            content_type = _HTML
        etag = f'"{hashlib.sha256(body).hexdigest()[:16]}"'
        if self.headers.get("If-None-Match") == etag:
            with state.lock:
                state.not_modified += 1
            self.send_response(304)
            self.send_header("ETag", etag)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self._send(200, content_type, body, etag=etag)

    def _send(self, status: int, content_type: str, body: bytes, *, etag: str | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Last-Modified", email.utils.formatdate(0, usegmt=True))
        if etag is not None:
            self.send_header("ETag", etag)
        self.end_headers()
        if self.command == "HEAD":
            return
        if not self.state.trickle:
            self.wfile.write(body)
            return
        try:
            for index in range(len(body)):
                self.wfile.write(body[index : index + 1])
                self.wfile.flush()
                time.sleep(self.state.trickle)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # The client gave up, as it should.


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128
    state: _State


class IndexServer:
    """A PEP 503/691 simple index on 127.0.0.1: file names on project pages, and the files
    themselves for those given to :meth:`publish`."""

    def __init__(
        self,
        projects: Mapping[str, Iterable[str]] | None = None,
        *,
        flavour: Flavour = "negotiate",
        root: str = "/simple",
    ) -> None:
        """Serve ``projects`` (name -> file names) with the repository's root at path ``root``."""
        state = _State(projects={}, flavour=flavour, root=root.rstrip("/"))
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.state = state
        self.state = state
        for name, files in (projects or {}).items():
            self.add(name, *files)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True)

    def __enter__(self) -> IndexServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.state.hang is not None:
            self.state.hang.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def add(self, project: str, *files: str) -> None:
        """List ``files`` on ``project``'s page."""
        self.state.projects.setdefault(_normalize(project), []).extend(files)

    def publish(self, project: str, path: pathlib.Path) -> None:
        """List the file at ``path`` on ``project``'s page and serve its bytes, so installers
        can download it (with its SHA-256 on the page, as a real index gives it)."""
        self.state.files[path.name] = path.read_bytes()
        self.add(project, path.name)

    @property
    def port(self) -> int:
        """The port the server listens on."""
        return self._server.server_address[1]

    def url(self, *, credentials: tuple[str, str] | None = None) -> str:
        """The index URL (``/simple``), with credentials in it when given."""
        auth = "" if credentials is None else f"{credentials[0]}:{credentials[1]}@"
        return f"http://{auth}127.0.0.1:{self.port}{self.state.root}"

    def project_requests(self) -> int:
        """Requests for project pages so far."""
        with self.state.lock:
            root = self.state.root
            return sum(
                n
                for path, n in self.state.requests.items()
                if path.startswith(f"{root}/") and path != f"{root}/"
            )

    def requests_for(self, project: str) -> int:
        """Requests for one project's page so far."""
        with self.state.lock:
            return self.state.requests[f"{self.state.root}/{_normalize(project)}/"]
