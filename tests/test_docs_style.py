"""The docs show one formatting style for chains of ``with_*`` calls, and only that one.

A chain of two or more ``with_*`` calls is written inside parentheses with each ``.with_*`` call
at the start of its own line. Every Python example on every page is checked: the content of
``lzy-run``, ``lzy-typecheck``, ``testcode`` and Python ``code-block`` directives, and the
files ``lzy-script``, ``lzy-typecheck`` and ``literalinclude`` show.
"""

from __future__ import annotations

import ast
import dataclasses
import re
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"

_CODE_DIRECTIVE = re.compile(
    r"^(?P<indent>\s*)\.\. (?:lzy-run|lzy-typecheck|testcode|doctest|code-block:: python|code:: python)::?.*$"
)
_FILE_DIRECTIVE = re.compile(r"^\s*\.\. (?:lzy-script|lzy-typecheck|literalinclude):: (?P<path>\S+\.py)\s*$")


@dataclasses.dataclass(frozen=True)
class Example:
    """One Python example shown in the docs."""

    #: Where it is: ``page.rst:line`` or the script's path.
    where: str
    #: Its source.
    code: str


def _block(lines: list[str], start: int, indent: int) -> str:
    """The directive body that follows line ``start``: options skipped, dedented."""
    body: list[str] = []
    index = start + 1
    while index < len(lines):
        line = lines[index]
        if line.strip() and len(line) - len(line.lstrip()) <= indent:
            break
        body.append(line)
        index += 1
    text = textwrap.dedent("\n".join(body))
    kept = [line for line in text.splitlines() if not re.match(r"^:[\w-]+:", line)]
    return "\n".join(kept).strip("\n") + "\n"


def _examples() -> Iterator[Example]:
    for page in sorted(DOCS.rglob("*.rst")):
        if "_build" in page.parts:
            continue
        lines = page.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines):
            where = f"{page.relative_to(ROOT)}:{number + 1}"
            if match := _FILE_DIRECTIVE.match(line):
                path = ROOT / match["path"]
                yield Example(str(path.relative_to(ROOT)), path.read_text(encoding="utf-8"))
            elif match := _CODE_DIRECTIVE.match(line):
                yield Example(where, _block(lines, number, len(match["indent"])))


def _chain(node: ast.expr) -> list[ast.Attribute]:
    """The method attributes of a call chain, outermost first (``a.b().c()`` -> ``c``, ``b``)."""
    attributes: list[ast.Attribute] = []
    current: ast.expr = node
    while True:
        if isinstance(current, ast.Call):
            current = current.func
        elif isinstance(current, ast.Attribute):
            attributes.append(current)
            current = current.value
        else:
            return attributes


def style_problems(code: str) -> list[str]:
    """Why ``code`` breaks the chain style; empty when it follows it."""
    tree = ast.parse(code)
    problems: list[str] = []
    inner: set[int] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call | ast.Attribute) or id(node) in inner:
            continue
        chain = _chain(node)
        for attribute in chain:
            inner.add(id(attribute))
            inner.add(id(attribute.value))
        calls = [attribute for attribute in chain if attribute.attr.startswith("with_")]
        if len(calls) < 2:
            continue
        for attribute in calls:
            receiver_end = attribute.value.end_lineno or attribute.value.lineno
            if receiver_end >= (attribute.end_lineno or attribute.lineno):
                problems.append(
                    f"line {attribute.lineno}: .{attribute.attr}(...) continues a chain of"
                    f" {len(calls)} with_* calls on the same line; put each call on its own line"
                    " inside parentheses"
                )
    if "\\\n" in code:
        problems.append("a backslash continues a line; use parentheses")
    return problems


EXAMPLES = list(_examples())


def test_the_docs_have_examples() -> None:
    """The scan finds the examples of the pages (a guard against an empty parametrization)."""
    assert len(EXAMPLES) > 20


@pytest.mark.parametrize("example", EXAMPLES, ids=[example.where for example in EXAMPLES])
def test_example_uses_the_recommended_chain_style(example: Example) -> None:
    """Every example writes a chain of ``with_*`` calls one call per line inside parentheses."""
    assert style_problems(example.code) == [], example.where


@pytest.mark.parametrize(
    ("code", "ok"),
    [
        ("x = a.with_b(1)\n", True),
        ("x = (\n    a\n    .with_b(1)\n    .with_c(2)\n)\n", True),
        ("with (\n    lzy.workflow('w')\n    .with_b(1)\n    .with_c(2)\n) as wf:\n    pass\n", True),
        ("x = a.with_b(1).with_c(2)\n", False),
        ("with lzy.workflow('w').with_b(1).with_c(2) as wf:\n    pass\n", False),
        ("@op().with_b(1).with_c(2)\ndef f() -> None: ...\n", False),
        ("x = (\n    a.with_b(1)\n    .with_c(2)\n)\n", False),
    ],
)
def test_style_check_tells_the_styles_apart(code: str, ok: bool) -> None:
    """The check accepts the recommended layout and rejects one-line chains."""
    assert (style_problems(code) == []) is ok
