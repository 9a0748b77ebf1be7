"""Plain-text tables (``explain()``): aligned, no wider than a formatted line, no word split."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from lzy.env.environment import render_table

HEADERS = ("package", "version", "kind", "why")
ROWS = [
    (
        "packaging",
        "26.4",
        "pypi",
        "installed 26.4; found packaging-26.4-py3-none-any.whl on file:///tmp/x/simple",
    ),
    ("shapes", "", "local", "no distribution owns module 'shapes'; shipping /tmp/x/project/shapes.py"),
]


def _columns(line: str, widths: list[int]) -> list[str]:
    """The cells of one table line, cut at the column starts the separator line gives."""
    starts = list(itertools.accumulate([0, *(w + 2 for w in widths[:-1])]))
    return [line[start : start + width].strip() for start, width in zip(starts, widths, strict=True)]


def test_a_table_that_fits_is_one_line_per_row() -> None:
    """Rows that fit in 88 columns are written as they are, under a dashed separator."""
    text = render_table(("a", "bb"), [("x", "y"), ("long cell", "z")])
    assert text.splitlines() == ["a          bb", "---------  --", "x          y", "long cell  z"]


def test_a_wide_table_wraps_its_widest_column_under_itself() -> None:
    """A row wider than 88 columns wraps the reason at spaces; its other cells stay on line one."""
    lines = render_table(HEADERS, ROWS).splitlines()
    widths = [len(dashes) for dashes in lines[1].split("  ")]
    assert max(map(len, lines)) <= 88
    assert [_columns(line, widths)[0] for line in lines[2:]] == ["packaging", "", "shapes", ""]
    reasons = [_columns(line, widths)[3] for line in lines[2:]]
    assert " ".join(reasons[:2]) == ROWS[0][3]
    assert " ".join(reasons[2:]) == ROWS[1][3]


def test_a_word_longer_than_the_room_is_never_split() -> None:
    """A path longer than any column could be is kept whole: the table is then wider than 88."""
    path = "/" + "very-long-directory-name/" * 5 + "module.py"
    lines = render_table(HEADERS, [("m", "", "local", f"shipping {path} as is")]).splitlines()
    assert any(line.endswith(path) or f" {path}" in line for line in lines)


_WORDS = st.text(alphabet="abcdefghij./_-:", min_size=1, max_size=30)
_CELLS = st.lists(_WORDS, min_size=0, max_size=12).map(" ".join)


@given(st.lists(st.tuples(_CELLS, _CELLS, _CELLS), min_size=1, max_size=6), st.integers(30, 120))
def test_every_word_of_every_cell_is_shown_whole_in_its_column(
    rows: list[tuple[str, str, str]], width: int
) -> None:
    """Whatever the rows, each cell's words come back in order from its column, and a table
    whose longest words leave room is at most ``width`` columns wide."""
    headers = ("one", "two", "three")
    lines = render_table(headers, rows, width=width).splitlines()
    widths = [len(dashes) for dashes in lines[1].split("  ")]
    shown: list[list[str]] = [[] for _ in headers]
    for line in lines[2:]:
        for column, cell in enumerate(_columns(line, widths)):
            shown[column].append(cell)
    floors: list[int] = []
    for column, header in enumerate(headers):
        words = " ".join(row[column] for row in rows).split()
        assert " ".join(shown[column]).split() == words
        floors.append(max(len(word) for word in [header, *words]))
        assert widths[column] >= floors[column]
    if sum(floors) + 2 * (len(headers) - 1) <= width:
        assert max(map(len, lines)) <= width
