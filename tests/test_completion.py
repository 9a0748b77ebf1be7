"""What an editor offers inside ``with_*(...)``: asked of jedi and of pyright-family servers.

The package is laid out as the wheel installs it (the stubs next to their modules), in a
workspace with a user's file. For each klass of each point, and each way of naming it, the tests
ask for completions after ``with_*(klass=..., `` and check that every field of the klass is
offered as a ``name=`` item, that nothing outside the point's klasses is, and that each field's
``#:`` documentation reaches the editor: in the completion item when the server puts it there,
and in pyright's signature help.

Both servers list the keywords of *every* overload of the method, whichever ``klass`` is given:
the checkers, not the completion list, reject a keyword of another klass.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import queue
import shutil
import subprocess
import sys
import threading
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Final, Protocol, cast

import pytest

from lzy.env._catalog import POINTS, FieldDoc, Point, dotted_paths, field_docs

ROOT: Final = Path(__file__).resolve().parents[1]
TIMEOUT: Final = 120.0


def _calls(point: Point, klass: type[object]) -> list[str]:
    """The ways to name ``klass`` in a call, as the text that opens the call."""
    opened = f"Lzy().workflow('w').{point.method}("
    calls = [f"{opened}klass={klass.__qualname__}, "]
    calls += [f'{opened}klass="{path}", ' for path in dotted_paths(klass)]
    if klass is point.default:
        calls.append(opened)
    return calls


CASES: Final = [
    pytest.param(point, klass, call, id=f"{point.method}-{klass.__qualname__}-{index}")
    for point in POINTS
    for klass in point.klasses
    for index, call in enumerate(_calls(point, klass))
]
# The klasses by name, as the design writes them (pyright offers no keywords after an attribute
# argument such as ``klass=lzenv.ManualPythonEnv, `` until a letter is typed).
HEADER: Final = "from lzy.api.v1 import Lzy\nfrom lzy.api.v1.env import {}\n".format(
    ", ".join(sorted(k.__qualname__ for p in POINTS for k in p.klasses))
)


def _fields(klass: type[object]) -> tuple[FieldDoc, ...]:
    assert dataclasses.is_dataclass(klass)
    return field_docs(klass)


def _names(klass: type[object]) -> set[str]:
    return {f.name for f in _fields(klass)}


def _allowed(point: Point) -> set[str]:
    """What a completion list may offer: the keywords of all the point's klasses, and klass.

    Before ``klass`` is given, pyright shows the user-klass overload with its ParamSpec
    unsolved, as ``(klass, *args, **kwargs)``, and so offers ``kwargs=`` too.
    """
    return {"klass", "kwargs", *itertools.chain.from_iterable(_names(k) for k in point.klasses)}


def _docs_of(point: Point, name: str) -> set[str]:
    return {f.doc for k in point.klasses for f in _fields(k) if f.name == name}


def _first_with(point: Point, name: str) -> type[object]:
    return next(k for k in point.klasses if name in _names(k))


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding ``lzy`` as the wheel installs it, beside which the user's files go."""
    root = tmp_path_factory.mktemp("workspace")
    shutil.copytree(ROOT / "lzy", root / "lzy", ignore=shutil.ignore_patterns("__pycache__"))
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    shipped: dict[str, str] = pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["force-include"]
    for source, target in shipped.items():
        shutil.copyfile(ROOT / source, root / target)
    return root


# jedi ---------------------------------------------------------------------------------------


class _JediName(Protocol):
    @property
    def name(self) -> str: ...

    def docstring(self) -> str: ...


class _JediSignature(Protocol):
    @property
    def params(self) -> list[_JediName]: ...


class _JediScript(Protocol):
    def complete(self, line: int, column: int) -> list[_JediName]: ...

    def get_signatures(self, line: int, column: int) -> list[_JediSignature]: ...


@pytest.fixture(scope="module")
def jedi_script(workspace: Path) -> Callable[[str], _JediScript]:
    """Make a jedi script of a user's file in the workspace (jedi ships no type information)."""
    jedi = pytest.importorskip("jedi")
    # Only the workspace's lzy (with its stubs), not the editable install of this checkout.
    path = [str(workspace), *(p for p in sys.path if p and Path(p).resolve() != ROOT)]
    project = jedi.Project(workspace, sys_path=path, smart_sys_path=False)

    def script(text: str) -> _JediScript:
        return cast("_JediScript", jedi.Script(text, path=workspace / "user.py", project=project))

    return script


def _end(text: str) -> tuple[int, int]:
    """jedi's position of the end of ``text``: line from 1, column from 0."""
    lines = text.split("\n")
    return len(lines), len(lines[-1])


@pytest.mark.parametrize(("point", "klass", "call"), CASES)
def test_jedi_offers_the_fields_of_the_klass(
    jedi_script: Callable[[str], _JediScript], point: Point, klass: type[object], call: str
) -> None:
    """jedi completes every field of the klass as ``name=``; nothing outside the point."""
    text = HEADER + call
    items = {c.name: c for c in jedi_script(text).complete(*_end(text)) if c.name.endswith("=")}
    offered = {label.removesuffix("=") for label in items}
    assert _names(klass) <= offered
    assert offered <= _allowed(point)
    for field in _fields(klass):
        doc = items[f"{field.name}="].docstring()
        if doc:  # jedi gives keyword completions no documentation today
            assert field.doc in doc


@pytest.mark.parametrize(("point", "klass", "call"), CASES)
def test_jedi_has_a_signature_with_exactly_the_fields_of_the_klass(
    jedi_script: Callable[[str], _JediScript], point: Point, klass: type[object], call: str
) -> None:
    """Among jedi's call signatures (one per overload) is the klass's, with its keywords.

    jedi shows the docstring of the last overload for every overload, so the fields'
    documentation reaches jedi users through the fields' names only.
    """
    text = HEADER + call
    signatures = jedi_script(text).get_signatures(*_end(text))
    keywords = [{p.name for p in s.params} - {"self", "klass"} for s in signatures]
    assert _names(klass) in keywords, f"no signature of {point.method} takes exactly its fields"


# pyright-family language servers --------------------------------------------------------------


class LanguageServer:
    """A language server over stdio, spoken to in LSP's JSON-RPC; enough for these tests."""

    def __init__(self, command: list[str], root: Path) -> None:
        env = {**os.environ, "PYRIGHT_PYTHON_IGNORE_WARNINGS": "1"}
        self._process = subprocess.Popen(
            command,
            cwd=root,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self._ids = itertools.count(1)
        self._inbox: queue.Queue[dict[str, object] | None] = queue.Queue()
        threading.Thread(target=self._read_all, daemon=True).start()

    def _read_all(self) -> None:
        stream = self._process.stdout
        assert stream is not None
        while True:
            length = 0
            while (line := stream.readline()) not in {b"\r\n", b""}:
                name, _, value = line.decode("ascii").partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            if not length:
                self._inbox.put(None)
                return
            self._inbox.put(cast("dict[str, object]", json.loads(stream.read(length))))

    def _send(self, message: dict[str, object]) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode()
        stream = self._process.stdin
        assert stream is not None
        stream.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        stream.flush()

    def notify(self, method: str, params: object) -> None:
        self._send({"method": method, "params": params})

    def request(self, method: str, params: object) -> object:
        """Send a request and return its result, answering the server's own requests meanwhile."""
        number = next(self._ids)
        self._send({"id": number, "method": method, "params": params})
        while True:
            message = self._inbox.get(timeout=TIMEOUT)
            if message is None:
                msg = f"the language server exited while answering {method}"
                raise RuntimeError(msg)
            if "method" in message and "id" in message:
                self._send({"id": message["id"], "result": self._answer(message)})
            elif message.get("id") == number:
                if "error" in message:
                    msg = f"{method} failed: {message['error']}"
                    raise RuntimeError(msg)
                return message.get("result")

    @staticmethod
    def _answer(message: dict[str, object]) -> object:
        if message["method"] == "workspace/configuration":
            items = _dict(message["params"])["items"]
            return [None for _ in _list(items)]
        return None

    def close(self) -> None:
        try:
            self.request("shutdown", None)
            self.notify("exit", None)
            self._process.wait(timeout=10)
        finally:
            if self._process.poll() is None:
                self._process.kill()
                self._process.wait()
            for stream in (self._process.stdin, self._process.stdout):
                if stream is not None:
                    stream.close()


def _dict(value: object) -> dict[str, object]:
    assert isinstance(value, dict)
    return cast("dict[str, object]", value)


def _list(value: object) -> list[object]:
    assert isinstance(value, list)
    return cast("list[object]", value)


def _text(value: object) -> str:
    """The text of a documentation value: a string or a ``MarkupContent``."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    content = _dict(value).get("value", "")
    assert isinstance(content, str)
    return content


@pytest.fixture(scope="module", params=["pyright-langserver", "basedpyright-langserver"])
def server(request: pytest.FixtureRequest, workspace: Path) -> Iterator[LanguageServer]:
    name = cast("str", request.param)
    executable = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if executable is None:
        pytest.skip(f"{name} is not installed here (`nox -s typecheck` installs both servers)")
    started = LanguageServer([executable, "--stdio"], workspace)
    capabilities = {
        "textDocument": {
            "completion": {"completionItem": {"documentationFormat": ["plaintext"]}},
            "signatureHelp": {
                "signatureInformation": {
                    "documentationFormat": ["plaintext"],
                    "activeParameterSupport": True,
                }
            },
        },
        "workspace": {"configuration": True},
    }
    uri = workspace.as_uri()
    started.request(
        "initialize",
        {
            "processId": os.getpid(),
            "rootUri": uri,
            "workspaceFolders": [{"uri": uri, "name": "workspace"}],
            "capabilities": capabilities,
        },
    )
    started.notify("initialized", {})
    yield started
    started.close()


_documents = itertools.count()


def _open(server: LanguageServer, workspace: Path, text: str) -> tuple[dict[str, object], dict[str, int]]:
    """Open ``text`` as a new file; return its identifier and the position at its end."""
    path = workspace / f"user_{next(_documents)}.py"
    path.write_text(text, encoding="utf-8")
    document = {"uri": path.as_uri(), "languageId": "python", "version": 1, "text": text}
    server.notify("textDocument/didOpen", {"textDocument": document})
    lines = text.split("\n")
    return {"uri": path.as_uri()}, {"line": len(lines) - 1, "character": len(lines[-1])}


@pytest.mark.parametrize(("point", "klass", "call"), CASES)
def test_language_server_offers_the_fields_of_the_klass(
    server: LanguageServer, workspace: Path, point: Point, klass: type[object], call: str
) -> None:
    """Every field is a ``name=`` item (documented, if the resolved item has documentation)."""
    document, position = _open(server, workspace, HEADER + call)
    result = server.request("textDocument/completion", {"textDocument": document, "position": position})
    items = cast("list[object]", result) if isinstance(result, list) else _list(_dict(result)["items"])
    named = {str(item["label"]): item for item in map(_dict, items) if str(item["label"]).endswith("=")}
    offered = {label.removesuffix("=") for label in named}
    assert _names(klass) <= offered
    assert offered <= _allowed(point)
    for field in _fields(klass):
        resolved = _dict(server.request("completionItem/resolve", named[f"{field.name}="]))
        doc = _text(resolved.get("documentation"))
        if doc:  # pyright gives keyword-argument items no documentation today
            assert field.doc in doc


def _shown_parameter_doc(server: LanguageServer, workspace: Path, text: str) -> str:
    document, position = _open(server, workspace, text)
    result = _dict(
        server.request("textDocument/signatureHelp", {"textDocument": document, "position": position})
    )
    active = result.get("activeSignature")
    assert isinstance(active, int), f"no active signature for {text!r}"
    signature = _dict(_list(result["signatures"])[active])
    parameter = signature.get("activeParameter", result.get("activeParameter"))
    assert isinstance(parameter, int)
    return _text(_dict(_list(signature["parameters"])[parameter]).get("documentation"))


@pytest.mark.parametrize(("point", "klass", "call"), CASES)
def test_language_server_signature_help_documents_each_field(
    server: LanguageServer, workspace: Path, point: Point, klass: type[object], call: str
) -> None:
    """Typing ``name=`` shows the field's ``#:`` documentation in signature help.

    pyright takes a keyword's documentation from the first overload that has a parameter of
    that name, so for a field several klasses share (``python_version``, ``explorer``) it shows
    the first such klass's text; a field first declared by this klass shows this klass's.
    """
    for field in _fields(klass):
        shown = _shown_parameter_doc(server, workspace, f"{HEADER}{call}{field.name}=")
        assert shown.startswith(f"{field.name}: ")
        assert any(doc in shown for doc in _docs_of(point, field.name))
        if _first_with(point, field.name) is klass:
            assert field.doc in shown


def test_every_field_has_documentation_to_show() -> None:
    """No field of a built-in klass lacks its ``#:`` comment (an editor would show nothing)."""
    undocumented: list[FieldDoc] = [f for p in POINTS for k in p.klasses for f in _fields(k) if not f.doc]
    assert not undocumented
