"""Asking package indexes whether a pinned version has a file the target can install.

The client speaks the simple repository API: PEP 691 JSON first, PEP 503 HTML as a fallback
(the ``Accept`` header lets the server choose). Project pages are kept in process and on disk
with their HTTP validators (``ETag``, ``Last-Modified``), so asking again costs nothing or a
``304 Not Modified``.

Freshness rule: a cached page that already lists a usable file for the pinned version is used
without asking again (index files are immutable once uploaded); any other cached page is used
while younger than :data:`PAGE_TTL_SECONDS` and revalidated after that.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import pathlib
import re
import threading
import time
import urllib.parse
import weakref
from collections.abc import Callable, Collection, Generator
from typing import TYPE_CHECKING, Final

from lzy._secrets import MASK, redact_text
from lzy.env._base import redact_url, split_credentials
from lzy.env._cache import CACHE_DIR_ENV, cache_root
from lzy.env.explorer._pages import (
    Listing,
    ProjectPage,
    canonical_name,
    file_url_path,
    parse_html,
    parse_json,
    parse_json_version,
    url_for,
)
from lzy.exceptions import PackageIndexError

if TYPE_CHECKING:
    import logging
    import ssl

    # Imported where used at run time: most processes that import lzy never query an index.
    import httpx

    from lzy.env._http import Reply

__all__ = [
    "CACHE_DIR_ENV",
    "PAGE_TTL_SECONDS",
    "ROOT_TTL_SECONDS",
    "IndexClient",
    "IndexRootError",
    "IndexSettings",
    "default_cache_dir",
    "write_atomically",
]


def _log() -> logging.Logger:
    import logging  # noqa: PLC0415 - only to report a cache that cannot be written

    return logging.getLogger("lzy.env.explorer")


#: How long a cached project page that lacks the pinned version is trusted before it is
#: revalidated with the index (seconds).
PAGE_TTL_SECONDS: Final = 600.0
#: How long an index found to be a simple repository's root is trusted before it is checked
#: again (seconds).
ROOT_TTL_SECONDS: Final = 7 * 24 * 3600.0
#: Media types of the simple API, preferred first (PEP 691), with HTML as the fallback.
_ACCEPT: Final = (
    "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01"
)
_JSON_TYPES: Final = frozenset({"application/vnd.pypi.simple.v1+json", "application/json"})
_HTML_TYPES: Final = frozenset({"application/vnd.pypi.simple.v1+html", "text/html"})
#: Answers worth retrying: the server may do better a moment later.
_RETRY_STATUS: Final = frozenset({429, 500, 502, 503, 504})
_CACHE_FORMAT: Final = 2


def default_cache_dir() -> pathlib.Path:
    """Where index answers are kept: ``simple/`` under :func:`~lzy.env._cache.cache_root`."""
    return cache_root() / "simple"


class IndexRootError(PackageIndexError):
    """An index URL that is not the root of a simple repository."""


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class IndexSettings:
    """How patiently the client talks to an index."""

    #: Seconds to wait to connect, and between two reads of an answer.
    timeout: float = 10.0
    #: Seconds a whole request may take, its answer read (however slowly the server sends it).
    deadline: float = 60.0
    #: How many times a failed request (timeout, connection error, 429 or 5xx) is retried.
    retries: int = 2
    #: Seconds before the first retry; doubled before each next one.
    backoff: float = 0.2
    #: How long a cached page that lacks the pinned version is trusted, in seconds.
    page_ttl: float = PAGE_TTL_SECONDS
    #: Where pages are cached across runs; ``None`` keeps them in process only.
    cache_dir: pathlib.Path | None = None


class IndexClient:
    """Fetches project pages from simple indexes, with in-process and on-disk caches.

    Safe to use from several threads at once.
    """

    def __init__(self, settings: IndexSettings) -> None:
        self.settings = settings
        self._pages: dict[tuple[str, str], ProjectPage] = {}
        self._unsaved: dict[tuple[str, str], ProjectPage] = {}
        self._usable: dict[tuple[str, str], dict[str, tuple[str, str | None]]] = {}
        self._found_unsaved: set[tuple[str, str]] = set()
        self._not_on_disk: set[tuple[str, str]] = set()
        self._preparing: threading.Thread | None = None
        self._valid_roots: set[str] = set()
        self._lock = threading.Lock()
        # Building the first client takes a while; lookups that need no network must not wait.
        self._client_lock = threading.Lock()
        # One client per concurrent request, each with its own keep-alive connection, lent out
        # and given back: a single client shared by many threads spends its time matching
        # requests to connections under its pool's lock. A list so that the finalizer can close
        # them without holding on to ``self``.
        self._pool: list[httpx.Client] = []
        self._idle: list[httpx.Client] = []
        self._tls: list[ssl.SSLContext] = []
        weakref.finalize(self, _close_all, self._pool)
        #: Number of HTTP requests sent (for diagnostics).
        self.requests_sent = 0

    def close(self) -> None:
        """Close the pooled HTTP connections."""
        with self._client_lock:
            self._idle.clear()
            _close_all(self._pool)

    def prepare(self, index: str, clients: int = 1) -> None:
        """Start building up to ``clients`` HTTP clients in the background (importing the HTTP
        library, loading TLS certificates and reading the proxy settings take a while) when
        ``index`` has nothing cached on disk, so that they are ready when the requests go out.
        With a filled cache they are built only if needed.
        """
        if urllib.parse.urlsplit(index).scheme == "file":
            return
        folder = self._folder(index)
        if folder is not None and folder.is_dir():
            return
        with self._client_lock:
            if self._pool or self._preparing is not None:
                return
            self._preparing = threading.Thread(
                target=self._warm_up, args=(clients,), name="lzy-index-client", daemon=True
            )
            self._preparing.start()

    def _warm_up(self, clients: int) -> None:
        for _ in range(clients):
            client = self._new_client()
            with self._client_lock:
                self._idle.append(client)

    def _new_client(self) -> httpx.Client:
        import httpx  # noqa: PLC0415 - imported on first use: most processes query no index

        from lzy.env import _http  # noqa: PLC0415

        with self._client_lock:
            if not self._tls:
                # Loading the certificates is the slow part of making a client: done once.
                self._tls.append(httpx.create_ssl_context())
            tls = self._tls[0]
        # Built outside the lock: other threads lend and return clients meanwhile.
        client = _http.client(
            verify=tls,
            timeout=self.settings.timeout,
            connect_timeout=self.settings.timeout,
            headers={"User-Agent": "lzy-explorer"},
        )
        with self._client_lock:
            self._pool.append(client)
        return client

    @contextlib.contextmanager
    def _http(self) -> Generator[httpx.Client, None, None]:
        """Lend a client for one request (made when none is idle), then take it back."""
        with self._client_lock:
            client = self._idle.pop() if self._idle else None
        if client is None:
            client = self._new_client()
        try:
            yield client
        finally:
            with self._client_lock:
                if client in self._pool:
                    self._idle.append(client)

    def lookup(
        self,
        index: str,
        project: str,
        *,
        settled: Callable[[ProjectPage], bool],
        offline: bool = False,
        version: str | None = None,
    ) -> ProjectPage | None:
        """``project``'s page on ``index``, from cache when allowed.

        A cached page (in process, else on disk) is used when ``settled(page)`` is true, whatever
        its age, or when it is younger than the TTL; otherwise it is fetched or revalidated.
        With ``offline``, ``None`` is returned instead of asking the index. With ``version``,
        the page may hold only that version's files (a big JSON page is not parsed whole).
        """
        name = canonical_name(project)
        key = (index, name)
        with self._lock:
            cached = self._pages.get(key)
            on_disk = key not in self._not_on_disk
        if cached is not None and cached.only_version not in {None, version}:
            cached = None  # Another version's partial page: of no use here.
        if cached is None and on_disk:
            cached = self._load(index, name)
            with self._lock:
                if cached is None:
                    self._not_on_disk.add(key)
                else:
                    self._pages.setdefault(key, cached)
        if cached is not None and (
            settled(cached) or time.time() - cached.checked_at < self.settings.page_ttl
        ):
            return cached
        if offline:
            return None
        page = self._fetch(index, name, cached, version)
        with self._lock:
            self._pages[key] = page
            if page.only_version is None:
                self._unsaved[key] = page
        return page

    def save(self, settled: Collection[tuple[str, str]] = ()) -> None:
        """Write the pages fetched since the last call to the disk cache, except the
        ``settled`` ones (``(index, project)``: a usable file was found, and remembered with
        :meth:`remember`, so the page is not needed again), and the usable files remembered.

        Called once after a batch of concurrent lookups: writing from the fetching threads
        would make them contend for the interpreter lock at every system call.
        """
        with self._lock:
            unsaved, self._unsaved = self._unsaved, {}
            found, self._found_unsaved = self._found_unsaved, set()
        for (index, name), page in unsaved.items():
            if (index, name) not in settled:
                self._store(index, name, page)
        for index, scope in found:
            self._store_usable(index, scope)

    def usable(self, index: str, scope: str, key: str) -> tuple[str, str | None] | None:
        """A usable file found before on ``index`` for target ``scope`` and ``key``
        (``name==version``, pure or not): its name and patch hint, or ``None``."""
        with self._lock:
            known = self._usable.get((index, scope))
        if known is None:
            known = self._load_usable(index, scope)
            with self._lock:
                known = self._usable.setdefault((index, scope), known)
        return known.get(key)

    def remember(self, index: str, scope: str, key: str, filename: str, hint: str | None) -> None:
        """Remember a usable file (files never change once uploaded), on disk at :meth:`save`."""
        self.usable(index, scope, key)
        with self._lock:
            self._usable[index, scope][key] = (filename, hint)
            self._found_unsaved.add((index, scope))

    def _usable_path(self, index: str, scope: str) -> pathlib.Path | None:
        folder = self._folder(index)
        return None if folder is None else folder / f"usable-{scope}.json"

    def _load_usable(self, index: str, scope: str) -> dict[str, tuple[str, str | None]]:
        path = self._usable_path(index, scope)
        if path is None:
            return {}
        try:
            data = json.loads(path.read_bytes())
            return {str(k): (str(v[0]), None if v[1] is None else str(v[1])) for k, v in data.items()}
        except (OSError, ValueError, TypeError, IndexError, AttributeError):
            return {}

    def _store_usable(self, index: str, scope: str) -> None:
        path = self._usable_path(index, scope)
        if path is None:
            return
        merged = self._load_usable(index, scope)  # What other processes found meanwhile.
        with self._lock:
            merged.update(self._usable.get((index, scope), {}))
        try:
            write_atomically(path, json.dumps({k: list(v) for k, v in merged.items()}))
        except OSError as error:
            _log().debug("cannot cache usable files from %s: %s", redact_url(index), error)

    # -- network ------------------------------------------------------------------------------

    def _fetch(self, index: str, name: str, cached: ProjectPage | None, version: str | None) -> ProjectPage:
        if urllib.parse.urlsplit(index).scheme == "file":
            return self._fetch_file(index, name)
        url = f"{split_credentials(index)[0].rstrip('/')}/{name}/"
        headers = {"Accept": _ACCEPT}
        if cached is not None and cached.found and cached.only_version is None:
            if cached.etag:
                headers["If-None-Match"] = cached.etag
            if cached.last_modified:
                headers["If-Modified-Since"] = cached.last_modified
        response = self._send(url, headers, index=index, project=name)
        now = time.time()
        if response.status == 304 and cached is not None:
            return dataclasses.replace(cached, checked_at=now)
        if response.status in {404, 410}:
            return ProjectPage(found=False, checked_at=now)
        if response.status in {401, 403}:
            msg = (
                f"package index {redact_url(index)} refused access to {url_for(index, name)}"
                f" while looking up package {name!r} (HTTP {response.status});"
                " check the credentials in the index URL"
            )
            raise PackageIndexError(msg)
        if response.status != 200:
            msg = (
                f"package index {redact_url(index)} answered HTTP {response.status}"
                f" for {url_for(index, name)} while looking up package {name!r}"
            )
            raise PackageIndexError(msg)
        if response.truncated:
            msg = (
                f"package index {redact_url(index)} answered with more than {_PAGE_LIMIT // 2**20} MiB"
                f" for {url_for(index, name)} while looking up package {name!r}"
            )
            raise PackageIndexError(msg)
        (filenames, requires_python), only = self._parse(response, index=index, project=name, version=version)
        return ProjectPage(
            found=True,
            filenames=filenames,
            requires_python=requires_python,
            etag=response.headers.get("ETag"),
            last_modified=response.headers.get("Last-Modified"),
            checked_at=now,
            only_version=only,
        )

    def _send(self, url: str, headers: dict[str, str], *, index: str, project: str) -> Reply:
        """GET ``url`` with bounded retries, each bounded in wall-clock time; the error names the
        index and the package."""
        attempts = self.settings.retries + 1
        problem = ""
        for attempt in range(attempts):
            if attempt:
                time.sleep(self.settings.backoff * 2 ** (attempt - 1))
            reply, problem = self._get(url, headers, index=index, limit=_PAGE_LIMIT)
            if reply is None:
                continue
            if reply.status in _RETRY_STATUS:
                problem = f"answered HTTP {reply.status}"
                continue
            return reply
        tries = "once" if attempts == 1 else f"{attempts} times"
        msg = (
            f"package index {redact_url(index)} {problem} (tried {tries}) while looking up"
            f" package {project!r} at {url_for(index, project)}"
        )
        raise PackageIndexError(msg)

    def _get(self, url: str, headers: dict[str, str], *, index: str, limit: int) -> tuple[Reply | None, str]:
        """One GET through :func:`lzy.env._http.fetch` (the body read up to ``limit`` bytes, all
        by the deadline): the answer, or ``None`` and what went wrong, credentials masked."""
        import httpx  # noqa: PLC0415 - imported on first use: most processes query no index

        from lzy.env import _http  # noqa: PLC0415

        with self._lock:
            self.requests_sent += 1
        deadline = _http.Deadline(self.settings.deadline)
        try:
            with self._http() as client:
                reply = _http.fetch(
                    client, "GET", url, deadline=deadline, limit=limit, headers=headers, auth=_auth(index)
                )
        except _http.DeadlineExceeded:
            return None, f"did not answer within {self.settings.deadline:g} s"
        except httpx.TimeoutException:
            return None, f"did not answer within {self.settings.timeout:g} s"
        except httpx.HTTPError as error:
            return None, f"could not be reached ({type(error).__name__}: {_scrub(str(error), index)})"
        return reply, ""

    def _parse(
        self, response: Reply, *, index: str, project: str, version: str | None
    ) -> tuple[Listing, str | None]:
        """The page's files, and the version they are limited to (``None``: all of them)."""
        content_type = response.headers.get("Content-Type", "")
        media = content_type.split(";", 1)[0].strip().lower()
        body = response.body
        if media in _JSON_TYPES:
            if version is not None:
                found = parse_json_version(body, project, version)
                if found is not None:
                    return found, version
            listing = parse_json(body)
            if listing is not None:
                return listing, None
            problem = "a JSON answer without a 'files' list"
        elif media in _HTML_TYPES:
            return parse_html(body, _charset(content_type)), None
        else:
            problem = f"content type {media or 'none'!r}"
        msg = (
            f"package index {redact_url(index)} does not speak the simple repository API"
            f" (PEP 503/691): {url_for(index, project)} gave {problem} while looking up"
            f" package {project!r}"
        )
        raise PackageIndexError(msg)

    def validate(self, index: str) -> None:
        """Check once that ``index`` is the root of a simple repository (PEP 503/691): a
        project page, a site's home page or an index URL without its ``/simple`` path is
        refused here, before its 404s are taken for "no such project"."""
        with self._lock:
            if index in self._valid_roots:
                return
        if urllib.parse.urlsplit(index).scheme == "file":
            if not pathlib.Path(file_url_path(index)).is_dir():
                msg = f"package index {redact_url(index)} is not a directory"
                raise IndexRootError(msg)
        elif split_credentials(index)[0].rstrip("/") not in _KNOWN_ROOTS and not self._root_on_disk(index):
            self._check_root(index)
            self._remember_root(index)
        with self._lock:
            self._valid_roots.add(index)

    def _check_root(self, index: str) -> None:
        root = split_credentials(index)[0].rstrip("/") + "/"
        problem = ""
        for attempt in range(self.settings.retries + 1):
            if attempt:
                time.sleep(self.settings.backoff * 2 ** (attempt - 1))
            # Only the head of the page is read: PyPI's root is tens of megabytes.
            reply, problem = self._get(root, {"Accept": _ACCEPT}, index=index, limit=_ROOT_HEAD_BYTES)
            if reply is None:
                continue
            status = reply.status
            content_type = reply.headers.get("Content-Type", "")
            media = content_type.split(";", 1)[0].strip().lower()
            head = reply.body if status == 200 else b""
            charset = _charset(content_type)
            if status in _RETRY_STATUS:
                problem = f"answered HTTP {status}"
                continue
            if status in {401, 403}:
                msg = (
                    f"package index {redact_url(index)} refused access to its root (HTTP {status});"
                    " check the credentials in the index URL"
                )
                raise PackageIndexError(msg)
            if status != 200:
                problem = f"answered HTTP {status} for its root"
                break
            found = _root_problem(head, media, charset)
            if found is None:
                return
            problem = found
            break
        else:
            tries = "once" if self.settings.retries == 0 else f"{self.settings.retries + 1} times"
            msg = f"package index {redact_url(index)} {problem} (tried {tries}) when asked for its root"
            raise PackageIndexError(msg)
        msg = (
            f"package index {redact_url(index)} is not the root of a simple repository"
            f" (PEP 503/691): it {problem}.{_root_hint(index, problem)}"
        )
        raise IndexRootError(msg)

    def _root_marker(self, index: str) -> pathlib.Path | None:
        folder = self._folder(index)
        return None if folder is None else folder / "root.json"

    def _root_on_disk(self, index: str) -> bool:
        marker = self._root_marker(index)
        if marker is None:
            return False
        try:
            checked = float(json.loads(marker.read_bytes())["checked_at"])
        except (OSError, ValueError, KeyError, TypeError):
            return False
        return time.time() - checked < ROOT_TTL_SECONDS

    def _remember_root(self, index: str) -> None:
        marker = self._root_marker(index)
        if marker is not None:
            with contextlib.suppress(OSError):
                write_atomically(marker, json.dumps({"index": redact_url(index), "checked_at": time.time()}))

    def _fetch_file(self, index: str, name: str) -> ProjectPage:
        root = pathlib.Path(file_url_path(index))
        if not root.is_dir():
            msg = f"package index {redact_url(index)} is not a directory (looking up package {name!r})"
            raise PackageIndexError(msg)
        page = root / name / "index.html"
        try:
            body = page.read_bytes()
        except FileNotFoundError:
            return ProjectPage(found=False, checked_at=time.time())
        except OSError as error:
            msg = f"package index {redact_url(index)}: cannot read {page} for package {name!r}: {error}"
            raise PackageIndexError(msg) from error
        filenames, requires_python = parse_html(body, None)
        return ProjectPage(
            found=True, filenames=filenames, requires_python=requires_python, checked_at=time.time()
        )

    # -- disk cache ---------------------------------------------------------------------------

    def _folder(self, index: str) -> pathlib.Path | None:
        if self.settings.cache_dir is None:
            return None
        bare = split_credentials(index)[0]
        import hashlib  # noqa: PLC0415 - lazy

        return self.settings.cache_dir / hashlib.sha256(bare.encode()).hexdigest()[:24]

    def _path(self, index: str, name: str) -> pathlib.Path | None:
        folder = self._folder(index)
        return None if folder is None else folder / f"{name}.json"

    def _load(self, index: str, name: str) -> ProjectPage | None:
        path = self._path(index, name)
        if path is None:
            return None
        try:
            data = json.loads(path.read_bytes())
        except (OSError, ValueError):
            return None
        try:
            if data["format"] != _CACHE_FORMAT:
                return None
            return ProjectPage(
                found=bool(data["found"]),
                filenames=tuple(str(f) for f in data["filenames"]),
                requires_python={str(k): str(v) for k, v in data["requires_python"].items()},
                etag=data["etag"],
                last_modified=data["last_modified"],
                checked_at=float(data["checked_at"]),
            )
        except (KeyError, TypeError, ValueError):
            return None

    def _store(self, index: str, name: str, page: ProjectPage) -> None:
        path = self._path(index, name)
        if path is None:
            return
        data = {
            "format": _CACHE_FORMAT,
            "index": redact_url(index),
            "found": page.found,
            "filenames": list(page.filenames),
            "requires_python": dict(page.requires_python),
            "etag": page.etag,
            "last_modified": page.last_modified,
            "checked_at": page.checked_at,
        }
        try:
            write_atomically(path, json.dumps(data))
        except OSError as error:
            _log().debug("cannot cache the page of %s from %s: %s", name, redact_url(index), error)


def write_atomically(path: pathlib.Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file moved into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    import tempfile  # noqa: PLC0415 - lazy

    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)  # one write: json.dump() writes piecemeal
        os.replace(temporary, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _charset(content_type: str) -> str | None:
    """The ``charset`` parameter of a ``Content-Type`` header, or ``None``."""
    for parameter in content_type.split(";")[1:]:
        key, _, value = parameter.partition("=")
        if key.strip().lower() == "charset" and value.strip():
            return value.strip().strip('"')
    return None


def _close_all(pool: list[httpx.Client]) -> None:
    while pool:
        pool.pop().close()


def _scrub(text: str, index: str) -> str:
    """``text`` (an HTTP library's error) as it may be shown: the secrets it carries masked
    (:func:`~lzy._secrets.redact_text`: credentials of any URL in it, tokens), and the
    credential of ``index`` wherever it stands as a whole word, as written or percent-encoded:
    its password, or its user name when there is no password (a token given as the user).
    A word is masked only whole, so that a name that is also part of another word leaves that
    word alone; one shorter than four characters is not searched for (it would mask ordinary
    words), and in a URL it is masked all the same."""
    text = redact_text(text)
    credentials = split_credentials(index)[1]
    if credentials is None:
        return text
    user, password = credentials
    secret = password or user
    forms = {secret, urllib.parse.quote(secret, safe="")} if len(secret) >= 4 else set[str]()
    for form in sorted(forms, key=len, reverse=True):
        text = re.sub(rf"(?<![\w%.~-]){re.escape(form)}(?![\w%.~-])", MASK, text)
    return text


def _auth(index: str) -> tuple[str, str] | None:
    """The credentials of ``index``, sent as HTTP basic authentication, never in a URL."""
    return split_credentials(index)[1]


#: How much of an index's root page is read to recognise it (PyPI's is tens of megabytes).
_ROOT_HEAD_BYTES: Final = 256 * 1024
#: The largest project page read (PyPI's biggest simple pages are tens of megabytes).
_PAGE_LIMIT: Final = 256 * 2**20
#: Roots known to be simple repositories, never asked again.
_KNOWN_ROOTS: Final = frozenset({"https://pypi.org/simple", "https://test.pypi.org/simple"})
#: File name endings that make a link a distribution file, not a project page.
_FILE_ENDINGS: Final = (".whl", ".tar.gz", ".zip", ".tar.bz2", ".tgz", ".egg", ".exe", ".msi", ".rpm")


def _root_problem(head: bytes, media: str, charset: str | None) -> str | None:
    """Why the start of a root page is not a simple repository's root, or ``None`` if it is."""
    if media in _JSON_TYPES:
        text = head.decode("utf-8", errors="replace")
        if re.search(r'"files"\s*:', text[:4096]) and not re.search(r'"projects"\s*:', text[:4096]):
            return "answers with one project's page (a 'files' list), not the list of projects"
        if re.search(r'"projects"\s*:\s*\[', text):
            return None
        return "answers JSON without a 'projects' list"
    if media not in _HTML_TYPES:
        return f"answers with content type {media or 'none'!r}"
    from lzy.env.explorer._html import RootLinks  # noqa: PLC0415 - only for HTML roots

    parser = RootLinks()
    parser.feed(head.decode(charset or "utf-8", errors="replace"))
    files = [
        href for href, _ in parser.links if urllib.parse.urlsplit(href).path.lower().endswith(_FILE_ENDINGS)
    ]
    if files:
        return "answers with one project's page (links to distribution files), not the list of projects"
    if parser.repository_version:
        return None
    strangers = [
        (href, text)
        for href, text in parser.links
        if canonical_name(
            urllib.parse.unquote(urllib.parse.urlsplit(href).path.rstrip("/").rpartition("/")[2])
        )
        != canonical_name(text)
    ]
    if strangers:
        href, text = strangers[0]
        example = f"{text[:40]!r} -> {href[:80]!r}"
        return f"answers with a web page whose links are not project pages (such as {example})"
    return None


def _root_hint(index: str, problem: str) -> str:
    path = urllib.parse.urlsplit(index).path.rstrip("/")
    if "one project's page" in problem:
        parent = split_credentials(index)[0].rstrip("/").rpartition("/")[0]
        return f" Give the index root instead, such as {redact_url(parent)}"
    if not path.endswith("simple"):
        return " An index URL usually ends in /simple (PyPI's is https://pypi.org/simple)"
    return ""
