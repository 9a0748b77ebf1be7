"""The examples of the Ray page print what the page shows, on a local cluster they start."""

from __future__ import annotations

import json
import re
import textwrap

from tests.ray.support import ROOT, run_python

PAGE = ROOT / "docs" / "runtimes-ray.rst"
_BLOCK = re.compile(r"^\.\. code-block:: (?P<language>\w+)\n\n(?P<body>(?:(?:   .*)?\n)+)", re.MULTILINE)
#: What differs from one cluster to the next: its port, node ids, this machine's cores.
_VARIABLE = [
    (re.compile(r"127\.0\.0\.1:\d+"), "127.0.0.1:PORT"),
    (re.compile(r"\([0-9a-f]{8}\)"), "(NODE)"),
    (re.compile(r"it has \d+\)"), "it has N)"),
]


def _examples() -> list[tuple[str, str | None]]:
    """Each Python example of the page, with the output shown right after it (if any)."""
    blocks = [
        (m["language"], textwrap.dedent(m["body"]).strip("\n")) for m in _BLOCK.finditer(PAGE.read_text())
    ]
    examples: list[tuple[str, str | None]] = []
    for index, (language, body) in enumerate(blocks):
        if language != "python":
            continue
        following = blocks[index + 1] if index + 1 < len(blocks) else None
        examples.append((body, following[1] if following and following[0] == "text" else None))
    return examples


def _normal(text: str) -> str:
    for pattern, replacement in _VARIABLE:
        text = pattern.sub(replacement, text)
    return text.strip()


def test_the_examples_print_what_the_page_shows() -> None:
    """Every example runs, each in its own namespace, in one process that starts its own local
    cluster as a reader's program would; every output shown is what it printed."""
    examples = _examples()
    assert len(examples) >= 3
    runner = f"""
import contextlib, io, json
outputs = []
for code in {json.dumps([code for code, _ in examples])}:
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code, {str(PAGE)!r}, "exec"), {{"__name__": "__main__"}})
    outputs.append(printed.getvalue())
print(json.dumps(outputs))
"""
    done = run_python(runner)
    assert done.returncode == 0, done.stderr[-3000:]
    outputs: list[str] = json.loads(done.stdout.splitlines()[-1])
    for (code, shown), printed in zip(examples, outputs, strict=True):
        if shown is not None:
            assert _normal(printed) == _normal(shown), code


def test_the_examples_run_on_any_python_the_cluster_runs() -> None:
    """No example names a Python version: Ray runs every task with its workers' interpreter, so
    a version written into an example would be refused on a cluster running another one."""
    for code, _ in _examples():
        assert not re.search(r"python_version\s*=\s*[\"']\d", code), code
