"""What an editor shows inside ``with_*(...)``: asked of jedi and of pyright-family servers.

The package is laid out as the wheel installs it (the stubs next to their modules), in a
workspace with a user's file. For each klass of each point, and each way of naming it, the tests
ask what an editor shows after ``with_*(klass=..., ``: every field of the klass offered as a
``name=`` completion; in signature help, while ``name=`` is typed, that klass's text for the
field (and, for a class object, its type and default in the signature); in hover over a
keyword of a complete call, the klass's type and text. ``tests/editor_text.py`` says how a
keyword that several klasses share is shown.

Both servers list the keywords of *every* overload of the method, whichever ``klass`` is given:
the checkers, not the completion list, reject a keyword of another klass.
"""

from __future__ import annotations

import dataclasses
import inspect
import itertools
import json
import os
import queue
import re
import shutil
import subprocess
import sys
import threading
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Final, Protocol, cast

import pytest

from lzy.core import op as op_module
from lzy.core.lzy import Lzy
from lzy.env._catalog import POINTS, FieldDoc, Point, dotted_paths, field_docs
from lzy.env._stubgen import CONSTRUCTED
from tests.editor_text import field_text, klass_meaning

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


def _is_class_object(call: str) -> bool:
    return "klass=" in call and 'klass="' not in call


CASES: Final = [
    pytest.param(point, klass, call, id=f"{point.method}-{klass.__qualname__}-{index}")
    for point in POINTS
    for klass in point.klasses
    for index, call in enumerate(_calls(point, klass))
]
# The klasses by name, as the design writes them, and the module as the docs import it.
HEADER: Final = (
    "from lzy.api.v1 import Lzy\nfrom lzy.api.v1 import env as lzenv\n"
    f"from lzy.api.v1.env import {', '.join(sorted(k.__qualname__ for p in POINTS for k in p.klasses))}\n"
)
ATTRIBUTE_CASES: Final = [
    pytest.param(point, klass, id=f"{point.method}-{klass.__qualname__}")
    for point in POINTS
    for klass in point.klasses
    if field_docs(klass)
]


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


def _param_line(doc: str, name: str) -> str:
    """The text of the ``:param name:`` line of a docstring."""
    prefix = f":param {name}: "
    lines = [line.removeprefix(prefix) for line in doc.splitlines() if line.startswith(prefix)]
    assert len(lines) == 1, f"no single :param {name}: line in {doc!r}"
    return lines[0]


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


class _JediSignature(Protocol):
    @property
    def params(self) -> list[_JediName]: ...

    def docstring(self, raw: bool = ...) -> str: ...


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


@pytest.mark.parametrize(("point", "klass", "call"), CASES)
def test_jedi_signatures_show_the_klass_fields_and_meaning(
    jedi_script: Callable[[str], _JediScript], point: Point, klass: type[object], call: str
) -> None:
    """One of jedi's signatures takes exactly the klass's keywords, and the text jedi shows
    with every signature (the last overload's docstring) gives this klass's meaning of each."""
    text = HEADER + call
    signatures = jedi_script(text).get_signatures(*_end(text))
    keywords = [{p.name for p in s.params} - {"self", "klass"} for s in signatures]
    assert _names(klass) in keywords, f"no signature of {point.method} takes exactly its fields"
    for signature in signatures:
        doc = signature.docstring(raw=True)
        for field in _fields(klass):
            shown = _param_line(doc, field.name)
            assert klass_meaning(point, klass, field, shown), (field.name, shown)


@pytest.mark.parametrize(("point", "klass"), ATTRIBUTE_CASES)
def test_jedi_offers_the_fields_after_an_attribute_klass(
    jedi_script: Callable[[str], _JediScript], point: Point, klass: type[object]
) -> None:
    """``klass=lzenv.K, `` (the docs' import style) is completed like ``klass=K, ``."""
    text = f"{HEADER}Lzy().workflow('w').{point.method}(klass=lzenv.{klass.__qualname__}, "
    offered = {c.name.removesuffix("=") for c in jedi_script(text).complete(*_end(text))}
    assert _names(klass) <= offered


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


def _completion_labels(server: LanguageServer, workspace: Path, text: str) -> list[str]:
    document, position = _open(server, workspace, text)
    result = server.request("textDocument/completion", {"textDocument": document, "position": position})
    items = cast("list[object]", result) if isinstance(result, list) else _list(_dict(result)["items"])
    return [str(_dict(item)["label"]) for item in items]


@pytest.mark.parametrize(("point", "klass", "call"), CASES)
def test_language_server_offers_the_fields_of_the_klass(
    server: LanguageServer, workspace: Path, point: Point, klass: type[object], call: str
) -> None:
    """Every field is a ``name=`` item; nothing outside the point's klasses is."""
    labels = _completion_labels(server, workspace, HEADER + call)
    offered = {label.removesuffix("=") for label in labels if label.endswith("=")}
    assert _names(klass) <= offered
    assert offered <= _allowed(point)


@pytest.mark.parametrize(("point", "klass"), ATTRIBUTE_CASES)
def test_language_server_offers_the_fields_after_an_attribute_klass_and_a_letter(
    server: LanguageServer, workspace: Path, point: Point, klass: type[object]
) -> None:
    """After ``klass=lzenv.K, `` and a field's first letter, the fields with that letter are offered.

    With no letter typed yet, pyright's completion provider looks back across the comma to the
    attribute name and offers the members of ``lzenv`` instead of keywords (see the next test):
    a matter of pyright's reading of the line, which no stub can change.
    """
    opened = f"{HEADER}Lzy().workflow('w').{point.method}(klass=lzenv.{klass.__qualname__}, "
    for letter in sorted({name[0] for name in _names(klass)}):
        labels = _completion_labels(server, workspace, opened + letter)
        offered = {label.removesuffix("=") for label in labels if label.endswith("=")}
        assert {name for name in _names(klass) if name.startswith(letter)} <= offered


def test_language_server_offers_module_members_right_after_an_attribute_klass(
    server: LanguageServer, workspace: Path
) -> None:
    """What pyright offers right after ``klass=lzenv.ManualPythonEnv, ``: lzenv's names, no keyword.

    This pins the behaviour the typing page describes; when a pyright release completes keywords
    here, this test fails and the page is to be updated.
    """
    import lzy.api.v1.env as lzenv

    text = f"{HEADER}Lzy().workflow('w').with_python_env(klass=lzenv.ManualPythonEnv, "
    labels = set(_completion_labels(server, workspace, text))
    assert not {label for label in labels if label.endswith("=")}
    assert set(lzenv.__all__) <= labels


@pytest.mark.parametrize(("point", "klass"), ATTRIBUTE_CASES)
def test_language_server_signature_help_of_a_dotted_path_is_not_the_klass_own(
    server: LanguageServer, workspace: Path, point: Point, klass: type[object]
) -> None:
    """While ``klass="<dotted path>", `` is typed, the signature pyright shows is not the path's
    overload (it picks none for a string; the typing page says so). This pins the behaviour the
    page describes; when a pyright release picks the path's overload, this test fails and the
    page is to be updated."""
    path = dotted_paths(klass)[0]
    text = f'{HEADER}Lzy().workflow("w").{point.method}(klass="{path}", '
    document, position = _open(server, workspace, text)
    result = _dict(
        server.request("textDocument/signatureHelp", {"textDocument": document, "position": position})
    )
    signatures = [str(_dict(s)["label"]) for s in _list(result["signatures"])]
    assert any(path in label for label in signatures), "every overload is listed, the path's too"
    active = result.get("activeSignature")
    shown = signatures[active if isinstance(active, int) else 0]
    assert path not in shown, shown


def _signature_help(server: LanguageServer, workspace: Path, text: str) -> tuple[str, str]:
    """The active parameter's label and documentation in signature help at the end of ``text``."""
    document, position = _open(server, workspace, text)
    result = _dict(
        server.request("textDocument/signatureHelp", {"textDocument": document, "position": position})
    )
    active = result.get("activeSignature")
    assert isinstance(active, int), f"no active signature for {text!r}"
    signature = _dict(_list(result["signatures"])[active])
    parameter = signature.get("activeParameter", result.get("activeParameter"))
    assert isinstance(parameter, int)
    shown = _dict(_list(signature["parameters"])[parameter])
    label = shown["label"]
    if isinstance(label, list):  # [start, end] offsets into the signature's label
        start, end = cast("list[int]", label)
        label = str(signature["label"])[start:end]
    return str(label), _text(shown.get("documentation"))


@pytest.mark.parametrize(("point", "klass", "call"), CASES)
def test_language_server_signature_help_shows_the_klass_meaning(
    server: LanguageServer, workspace: Path, point: Point, klass: type[object], call: str
) -> None:
    """Typing ``name=`` shows this klass's text for the field, and for a class object the
    signature pyright shows is the klass's own: the field with its type."""
    for field in _fields(klass):
        label, doc = _signature_help(server, workspace, f"{HEADER}{call}{field.name}=")
        assert doc.startswith(f"{field.name}: ")
        assert klass_meaning(point, klass, field, doc.removeprefix(f"{field.name}: ")), doc
        if _is_class_object(call):
            assert label.startswith(f"{field.name}: {field.annotation}"), label


_SAMPLES: Final = {
    "str": '"x"',
    "bool": "True",
    "Mapping[str, str]": "{}",
    "ExplorerFactory": "lzenv.AutoEnvExplorer",
}


def _sample(annotation: str) -> str:
    """A value of that type, to write a complete call."""
    if annotation.endswith("| None"):
        return "None"
    if annotation.startswith("list[str]"):
        return "[]"
    return _SAMPLES[annotation]


def _hover(server: LanguageServer, workspace: Path, text: str, keyword: str) -> str:
    """The hover text over ``keyword=`` in the last line of ``text``."""
    document, _ = _open(server, workspace, text)
    match = re.search(rf"[( ]{keyword}=", text.rsplit("\n", 2)[-2])
    assert match is not None
    before = text[: len(text) - len(text.rsplit("\n", 2)[-2]) - 1 + match.start() + 2].split("\n")
    position = {"line": len(before) - 1, "character": len(before[-1])}
    result = server.request("textDocument/hover", {"textDocument": document, "position": position})
    return _text(_dict(result)["contents"])


@pytest.mark.parametrize(("point", "klass", "call"), CASES)
def test_language_server_hover_shows_the_klass_type_and_meaning(
    server: LanguageServer, workspace: Path, point: Point, klass: type[object], call: str
) -> None:
    """Hover over a keyword of a complete call: this klass's type and its text for the field."""
    fields = _fields(klass)
    arguments = ", ".join(f"{f.name}={_sample(f.annotation)}" for f in fields)
    text = f"{HEADER}{call}{arguments})\n"
    for field in fields:
        shown = _hover(server, workspace, text, field.name)
        head, _, doc = shown.partition("\n\n")
        assert head == f"(parameter) {field.name}: {field.annotation}", shown
        assert klass_meaning(point, klass, field, doc.removeprefix(f"{field.name}: ")), shown


def test_every_field_has_documentation_to_show() -> None:
    """No field of a built-in klass lacks its ``#:`` comment (an editor would show nothing)."""
    undocumented: list[FieldDoc] = [f for p in POINTS for k in p.klasses for f in _fields(k) if not f.doc]
    assert not undocumented


OP_SOURCE: Final = '''from lzy.api.v1 import op


class Model:
    @op
    def fit(self, rate: float) -> int:
        """Fit the model.

        :param rate: The learning rate.
        """
        return 1


@op
def train(rate: float) -> int:
    """Train the model.

    :param rate: The learning rate.
    """
    return 1


'''


@pytest.mark.parametrize(
    ("call", "summary"),
    [
        ("train(", "Train the model."),
        ("Model().fit(", "Fit the model."),
        ("train.with_environ(A='1')(", "Train the model."),
        ("Model().fit.with_provisioning(cpu_count=1)(", "Fit the model."),
    ],
)
def test_language_server_signature_help_of_an_op_shows_its_function(
    server: LanguageServer, workspace: Path, call: str, summary: str
) -> None:
    """Calling an op (a function, a method read from an instance, a changed copy), signature help
    shows the function's parameters (``self`` bound) and the function's own docstring."""
    document, position = _open(server, workspace, OP_SOURCE + call)
    result = _dict(
        server.request("textDocument/signatureHelp", {"textDocument": document, "position": position})
    )
    signature = _dict(_list(result["signatures"])[int(cast("int", result.get("activeSignature", 0)))])
    assert signature["label"] == "(rate: float) -> int"
    assert _text(signature.get("documentation")).splitlines()[0] == summary


CONSTRUCTOR_CASES: Final = [
    pytest.param(klass, id=klass.__qualname__) for klass in CONSTRUCTED if field_docs(klass)
]


def _constructor_header(klass: type[object]) -> str:
    return f"from {klass.__module__} import {klass.__qualname__}\n"


@pytest.mark.parametrize("klass", CONSTRUCTOR_CASES)
def test_language_server_signature_help_of_a_constructor_shows_each_field_text(
    server: LanguageServer, workspace: Path, klass: type[object]
) -> None:
    """Typing ``ManualPythonEnv(name=`` (and every class a user builds an env with) shows the
    field's ``#:`` text and default, read from the ``:param`` lines of the class docstring."""
    header = _constructor_header(klass).replace(klass.__module__, "lzy.api.v1.env")
    for field in _fields(klass):
        label, doc = _signature_help(server, workspace, f"{header}{klass.__qualname__}({field.name}=")
        assert label.startswith(f"{field.name}: "), label
        assert doc == f"{field.name}: {field_text(field)}", doc


@pytest.mark.parametrize("klass", CONSTRUCTOR_CASES)
def test_language_server_hover_on_a_constructor_lists_every_field(
    server: LanguageServer, workspace: Path, klass: type[object]
) -> None:
    """Hover over the class in ``ManualPythonEnv(...)`` shows one line per field: its text."""
    text = f"from lzy.api.v1.env import {klass.__qualname__}\n{klass.__qualname__}()\n"
    document, _ = _open(server, workspace, text)
    result = server.request(
        "textDocument/hover", {"textDocument": document, "position": {"line": 1, "character": 1}}
    )
    shown = _text(_dict(result)["contents"])
    for field in _fields(klass):
        assert _param_line(shown, field.name) == field_text(field), shown


@pytest.mark.parametrize("klass", CONSTRUCTOR_CASES)
def test_jedi_signature_of_a_constructor_shows_each_field_text(
    jedi_script: Callable[[str], _JediScript], klass: type[object]
) -> None:
    """jedi's signature of ``ManualPythonEnv(`` carries each field's text and default."""
    text = f"from lzy.api.v1.env import {klass.__qualname__}\n{klass.__qualname__}("
    (signature,) = jedi_script(text).get_signatures(*_end(text))
    assert {p.name for p in signature.params} == _names(klass)
    for field in _fields(klass):
        assert _param_line(signature.docstring(raw=True), field.name) == field_text(field)


#: Calls whose keywords an editor documents from a docstring: (the code up to the keyword,
#: the object whose docstring holds the text).
KEYWORD_CALLS: Final = {
    "op-env": ("from lzy.api.v1 import op\n\n\n@op(env=", op_module.op),
    "op-description": ("from lzy.api.v1 import op\n\n\n@op(description=", op_module.op),
    "Lzy-runtime": ("from lzy.api.v1 import Lzy\n\nLzy(runtime=", Lzy),
    "Lzy-env": ("from lzy.api.v1 import Lzy\n\nLzy(env=", Lzy),
    "Lzy-cli": ("from lzy.api.v1 import Lzy\n\nLzy(cli=", Lzy),
    "workflow-name": ("from lzy.api.v1 import Lzy\n\nLzy().workflow(name=", Lzy.workflow),
    "workflow-env": ("from lzy.api.v1 import Lzy\n\nLzy().workflow('w', env=", Lzy.workflow),
}


@pytest.mark.parametrize("case", sorted(KEYWORD_CALLS))
def test_signature_help_of_op_lzy_and_workflow_shows_each_keyword_text(
    server: LanguageServer,
    jedi_script: Callable[[str], _JediScript],
    workspace: Path,
    case: str,
) -> None:
    """``@op(env=``, ``Lzy(runtime=``, ``lzy.workflow(name=`` and the others: pyright-family
    servers and jedi show the keyword's own line of the docstring, the same in both."""
    text, documented = KEYWORD_CALLS[case]
    keyword = case.partition("-")[2]
    expected = _param_line(inspect.cleandoc(documented.__doc__ or ""), keyword)
    _, doc = _signature_help(server, workspace, text)
    assert doc == f"{keyword}: {expected}"
    signatures = jedi_script(text).get_signatures(*_end(text))
    assert signatures
    for signature in signatures:
        assert _param_line(signature.docstring(raw=True), keyword) == expected
