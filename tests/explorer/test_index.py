"""Target tags and project pages, without a server."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from packaging.tags import Tag, parse_tag

from lzy.env.explorer._index import Listing, ProjectPage, parse_html, parse_json, target_tags

TAGS = target_tags((3, 11), "manylinux_2_28_x86_64")


@pytest.mark.parametrize(
    ("tag", "installs"),
    [
        ("cp311-cp311-manylinux_2_28_x86_64", True),
        ("cp311-cp311-manylinux2014_x86_64", True),
        ("cp311-cp311-manylinux1_x86_64", True),
        ("cp311-cp311-linux_x86_64", True),
        ("cp37-abi3-manylinux_2_17_x86_64", True),
        ("py3-none-any", True),
        ("py2.py3-none-any", True),
        ("cp311-none-any", True),
        ("cp311-cp311-manylinux_2_29_x86_64", False),
        ("cp311-cp311-manylinux_2_28_aarch64", False),
        ("cp312-cp312-manylinux_2_28_x86_64", False),
        ("cp311-cp311-win_amd64", False),
        ("pp310-pypy310_pp73-manylinux_2_28_x86_64", False),
    ],
)
def test_manylinux_target(tag: str, installs: bool) -> None:
    """A manylinux_2_28 machine with CPython 3.11 installs older manylinux, abi3 and pure wheels."""
    assert bool(parse_tag(tag) & TAGS) is installs


@pytest.mark.parametrize(
    ("platform", "accepted", "refused"),
    [
        ("musllinux_1_2_aarch64", "musllinux_1_1_aarch64", "manylinux_2_17_aarch64"),
        ("macosx_11_0_arm64", "macosx_10_9_universal2", "macosx_12_0_arm64"),
        ("win_amd64", "win_amd64", "win32"),
    ],
)
def test_other_platforms(platform: str, accepted: str, refused: str) -> None:
    """Other platform families expand to what such a machine accepts."""
    tags = target_tags((3, 12), platform)
    assert Tag("cp312", "cp312", accepted) in tags
    assert Tag("cp312", "cp312", refused) not in tags


versions = st.tuples(st.integers(0, 30), st.integers(0, 30), st.integers(0, 30)).map(
    lambda v: ".".join(map(str, v))
)


@given(version=versions, other=versions)
def test_only_the_pinned_version_counts(version: str, other: str) -> None:
    """A page's wheel counts exactly when its version equals the pinned one."""
    page = ProjectPage(found=True, filenames=(f"my_pkg-{other}-py3-none-any.whl",))
    usable = page.version_files("my-pkg", version, TAGS, sdist=False, python="3.11").usable
    assert (usable is not None) is (tuple(map(int, version.split("."))) == tuple(map(int, other.split("."))))


@given(version=versions)
def test_sdist_counts_only_when_allowed(version: str) -> None:
    """An sdist is usable only when the caller allows it (pure-Python distributions)."""
    page = ProjectPage(
        found=True, filenames=(f"my-pkg-{version}.tar.gz", "my-pkg-junk.zip", "other-1.0.tar.gz")
    )
    assert (
        page.version_files("my_pkg", version, TAGS, sdist=True, python="3.11").usable
        == f"my-pkg-{version}.tar.gz"
    )
    files = page.version_files("my_pkg", version, TAGS, sdist=False, python="3.11")
    assert (files.usable, files.files) == (None, (f"my-pkg-{version}.tar.gz",))


def test_html_page_file_names() -> None:
    """File names come from the anchors' text, else from the link's last path segment."""
    body = (
        b'<html><body><a href="../files/a-1.0.tar.gz#sha256=00">a-1.0.tar.gz</a>'
        b'<a href="https://host/p/a-1.1-py3-none-any.whl?x=1" data-requires-python="&gt;=3.12"></a>'
        b"<p>a-9.tar.gz</p></body></html>"
    )
    assert parse_html(body, "utf-8") == (
        ("a-1.0.tar.gz", "a-1.1-py3-none-any.whl"),
        {"a-1.1-py3-none-any.whl": ">=3.12"},
    )


@pytest.mark.parametrize(
    ("body", "names"),
    [
        (
            b'{"files": [{"filename": "a-1.0.tar.gz", "requires-python": ">=3.8"}, {"url": "x"}, 3]}',
            (("a-1.0.tar.gz",), {"a-1.0.tar.gz": ">=3.8"}),
        ),
        (b'{"projects": []}', None),
        (b"[1, 2]", None),
        (b"not json", None),
    ],
)
def test_json_page_file_names(body: bytes, names: Listing | None) -> None:
    """A PEP 691 page needs a ``files`` list; anything else is not the simple API."""
    assert parse_json(body) == names


@pytest.mark.parametrize(
    ("specifier", "python", "usable"),
    [
        (">=3.12", "3.11", False),
        (">=3.12", "3.12", True),
        ("<3.11.5", "3.11.7", False),
        ("not a spec", "3.11", True),
    ],
)
def test_requires_python_of_a_file(specifier: str, python: str, usable: bool) -> None:
    """A file whose ``Requires-Python`` excludes the target is listed, with why, not used."""
    filename = "a-1.0-py3-none-any.whl"
    page = ProjectPage(found=True, filenames=(filename,), requires_python={filename: specifier})
    files = page.version_files("a", "1.0", target_tags((3, 11), "any"), sdist=False, python=python)
    assert (files.usable is not None) is usable
    if not usable:
        assert files.files == (f"{filename} (Requires-Python {specifier})",)
