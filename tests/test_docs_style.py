"""The docs show one formatting style, the one ``ruff format`` and ``black`` write and keep.

A chain of ``with_*`` calls that does not fit on one line is written inside parentheses with each
``.with_*`` call at the start of its own line; one that fits stays on one line. That is what
both formatters write at their default settings (88 columns), so users who run either keep the
style. Every Python example is checked with both: the content of ``lzy-run``,
``lzy-typecheck``, ``testcode`` and Python ``code-block`` directives on every page, the files
``lzy-script``, ``lzy-typecheck`` and ``literalinclude`` show, ``examples/`` and the README's
Python blocks. The style page's tip says what the formatters do with chains; each of its
sentences is checked here with both.
"""

from __future__ import annotations

import ast
import dataclasses
import re
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import black
import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"

# The directives whose body is Python to check: lzy's and sphinx.ext.doctest's (testcode), and
# Sphinx's code-block (also spelt code and sourcecode) in one of Pygments' names for Python.
_CODE_DIRECTIVE = re.compile(
    r"^(?P<indent>\s*)\.\. (?:(?:lzy-run|lzy-typecheck|testcode)::.*"
    r"|(?:code-block|sourcecode|code):: +(?:python3?|py3?)\s*)$",
    flags=re.IGNORECASE,
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
    seen: set[Path] = set()
    for path in sorted((ROOT / "examples").rglob("*.py")):
        seen.add(path)
        yield Example(str(path.relative_to(ROOT)), path.read_text(encoding="utf-8"))
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for number, block in enumerate(re.findall(r"```python\n(.*?)```", readme, flags=re.DOTALL)):
        yield Example(f"README.md python block {number + 1}", block)
    for page in sorted(DOCS.rglob("*.rst")):
        if "_build" in page.parts:
            continue
        lines = page.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines):
            where = f"{page.relative_to(ROOT)}:{number + 1}"
            if match := _FILE_DIRECTIVE.match(line):
                path = (page.parent / match["path"]).resolve()
                if not path.is_file():
                    path = ROOT / match["path"]
                if path not in seen:
                    seen.add(path)
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
    """Why ``code`` breaks the chain style beyond what a formatter decides; empty when it follows it.

    A chain of ``with_*`` calls spread over several lines has each call on its own line.
    """
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
        if len(calls) < 2 or node.lineno == node.end_lineno:
            continue
        for attribute in calls:
            if isinstance(attribute.value, ast.Name):
                continue  # ``base.with_x(...)`` opens the chain on one line, as the formatters write it
            receiver_end = attribute.value.end_lineno or attribute.value.lineno
            if receiver_end >= (attribute.end_lineno or attribute.lineno):
                problems.append(
                    f"line {attribute.lineno}: .{attribute.attr}(...) shares a line with the call before"
                    f" it in a chain of {len(calls)} with_* calls written over several lines; put each"
                    " call on its own line inside parentheses"
                )
    if "\\\n" in code:
        problems.append("a backslash continues a line; use parentheses")
    return problems


def black_formatted(code: str) -> str:
    """``code`` as ``black`` writes it with its default settings."""
    return black.format_str(code, mode=black.Mode())


def ruff_formatted(code: str) -> str:
    """``code`` as ``ruff format`` writes it with its default settings (no project configuration)."""
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    assert ruff is not None, "ruff is in the test dependency group"
    done = subprocess.run(
        [ruff, "format", "--isolated", "--stdin-filename", "example.py", "-"],
        input=code,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


EXAMPLES = list(_examples())


def test_the_docs_have_examples() -> None:
    """The scan finds the examples of the pages (a guard against an empty parametrization)."""
    assert len(EXAMPLES) > 20


@pytest.mark.parametrize("example", EXAMPLES, ids=[example.where for example in EXAMPLES])
def test_example_uses_the_recommended_chain_style(example: Example) -> None:
    """Every example writes a long chain of ``with_*`` calls one call per line inside parentheses."""
    assert style_problems(example.code) == [], example.where


#: How many columns of code a page shows at 1280 px without scrolling: a formatted line's.
PAGE_COLUMNS = 88


@pytest.mark.parametrize("example", EXAMPLES, ids=[example.where for example in EXAMPLES])
def test_example_lines_fit_the_page(example: Example) -> None:
    """No line of an example is wider than the formatters' 88 columns, which a page shows whole
    (a formatter leaves a long string or comment as it is, so this is checked on its own)."""
    wide = [(n, len(line)) for n, line in enumerate(example.code.splitlines(), 1) if len(line) > PAGE_COLUMNS]
    assert wide == [], example.where


@pytest.mark.parametrize("formatted", [black_formatted, ruff_formatted], ids=["black", "ruff"])
@pytest.mark.parametrize("example", EXAMPLES, ids=[example.where for example in EXAMPLES])
def test_formatters_leave_the_example_as_it_is(formatted: object, example: Example) -> None:
    """``black`` and ``ruff format`` (default settings) change nothing in the example."""
    assert callable(formatted)
    assert formatted(example.code) == example.code, example.where


@pytest.mark.parametrize(
    ("code", "ok"),
    [
        ("x = a.with_b(1)\n", True),
        ("x = a.with_b(1).with_c(2)\n", True),
        ("x = (\n    a\n    .with_b(1)\n    .with_c(2)\n)\n", True),
        ("with (\n    lzy.workflow('w')\n    .with_b(1)\n    .with_c(2)\n) as wf:\n    pass\n", True),
        ("x = (\n    a.with_b(1)\n    .with_c(2)\n)\n", True),
        ("x = (\n    a.b().with_b(1)\n    .with_c(2)\n)\n", False),
        ("x = (\n    a\n    .with_b(1).with_c(2)\n)\n", False),
        ("x = a.with_b(1) \\\n    .with_c(2)\n", False),
    ],
)
def test_style_check_tells_the_styles_apart(code: str, ok: bool) -> None:
    """The check accepts the formatters' layouts and rejects a chain split in the middle."""
    assert (style_problems(code) == []) is ok


_CHAIN = '.with_python_env(klass=ManualPythonEnv, python_version="3.11", pypi_packages={})'
_LONG_ARGUMENTS = 'klass=ManualPythonEnv, python_version="3.11", pypi_packages={"numpy": "2.1.0"}'
# The recommended layout's lines inside the parentheses, after the chain's start.
_CALLS = f'    {_CHAIN}\n    .with_environ(MODE="fast")\n'
_WITH = f'with (\n    lzy.workflow("train")\n{_CALLS}) as wf:\n    pass\n'
_DECORATOR = f"@(\n    op()\n{_CALLS})\ndef foo() -> int:\n    return 1\n"

#: What the style page's tip says both formatters do, as (what is written, what they make of
#: it), or (what is written, what black makes of it, what ruff makes of it).
TIP: dict[str, tuple[str, str] | tuple[str, str, str]] = {
    "a chain that fits in 88 columns is joined onto one line": (
        'lzy = (\n    Lzy()\n    .with_provisioning(cpu_count=1)\n    .with_environ(MODE="fast")\n)\n',
        'lzy = Lzy().with_provisioning(cpu_count=1).with_environ(MODE="fast")\n',
    ),
    "an assignment's chain that does not fit is split one call per line": (
        f'lzy = Lzy().with_provisioning(cpu_count=1){_CHAIN}.with_environ(MODE="fast")\n',
        f"lzy = (\n    Lzy()\n    .with_provisioning(cpu_count=1)\n{_CALLS})\n",
    ),
    "the parentheses of a with statement are kept": (_WITH, _WITH),
    "the parentheses of a decorator are kept": (_DECORATOR, _DECORATOR),
    "from one line, black splits a with statement inside the first call, ruff puts as wf inside": (
        f'with lzy.workflow("train"){_CHAIN}.with_environ(MODE="fast") as wf:\n    pass\n',
        'with lzy.workflow("train").with_python_env(\n'
        '    klass=ManualPythonEnv, python_version="3.11", pypi_packages={}\n'
        ').with_environ(MODE="fast") as wf:\n    pass\n',
        f'with (\n    lzy.workflow("train")\n{_CALLS.removesuffix(chr(10))} as wf\n):\n    pass\n',
    ),
    "a single call's arguments that do not fit go on the next line": (
        f'wf = lzy.workflow("train").with_python_env({_LONG_ARGUMENTS})\n',
        f'wf = lzy.workflow("train").with_python_env(\n    {_LONG_ARGUMENTS}\n)\n',
    ),
    "one per line when that line is still too long": (
        f'wf = lzy.workflow("train").with_python_env({_LONG_ARGUMENTS}, local_module_paths=["src"])\n',
        'wf = lzy.workflow("train").with_python_env(\n'
        "    klass=ManualPythonEnv,\n"
        '    python_version="3.11",\n'
        '    pypi_packages={"numpy": "2.1.0"},\n'
        '    local_module_paths=["src"],\n'
        ")\n",
    ),
}


@pytest.mark.parametrize("formatter", ["black", "ruff"])
@pytest.mark.parametrize("claim", list(TIP))
def test_the_style_tip_says_what_the_formatters_do(claim: str, formatter: str) -> None:
    """Each sentence of the style page's tip, as both formatters at their default settings act."""
    written, *made = TIP[claim]
    expected = made[0] if formatter == "black" else made[-1]
    formatted = black_formatted(written) if formatter == "black" else ruff_formatted(written)
    assert formatted == expected


def test_formatters_keep_a_long_chain_one_call_per_line() -> None:
    """The recommended layout of a chain too long for one line is what both formatters keep."""
    code = (
        "with (\n"
        '    lzy.workflow("train")\n'
        '    .with_python_env(klass=ManualPythonEnv, python_version="3.11", pypi_packages={})\n'
        '    .with_container(image="ubuntu:24.04")\n'
        ") as wf:\n"
        "    pass\n"
    )
    assert black_formatted(code) == code
    assert ruff_formatted(code) == code
