"""Target tags and project pages, without a server."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from packaging.tags import Tag, parse_tag

from lzy.env.explorer._pages import Listing, ProjectPage, parse_html, parse_json, parse_json_version
from lzy.env.explorer._target import Target

TARGET = Target(python=(3, 11), patch=None, platform="manylinux_2_28_x86_64")
TAGS = TARGET.tags()


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
    tags = Target(python=(3, 12), patch=None, platform=platform).tags()
    assert Tag("cp312", "cp312", accepted) in tags
    assert Tag("cp312", "cp312", refused) not in tags


versions = st.tuples(st.integers(0, 30), st.integers(0, 30), st.integers(0, 30)).map(
    lambda v: ".".join(map(str, v))
)


@given(version=versions, other=versions)
def test_only_the_pinned_version_counts(version: str, other: str) -> None:
    """A page's wheel counts exactly when its version equals the pinned one."""
    page = ProjectPage(found=True, filenames=(f"my_pkg-{other}-py3-none-any.whl",))
    usable = page.version_files("my-pkg", version, TARGET, sdist=False).usable
    assert (usable is not None) is (tuple(map(int, version.split("."))) == tuple(map(int, other.split("."))))


@given(version=versions)
def test_sdist_counts_only_when_allowed(version: str) -> None:
    """An sdist is usable only when the caller allows it (pure-Python distributions)."""
    page = ProjectPage(
        found=True, filenames=(f"my-pkg-{version}.tar.gz", "my-pkg-junk.zip", "other-1.0.tar.gz")
    )
    assert page.version_files("my_pkg", version, TARGET, sdist=True).usable == f"my-pkg-{version}.tar.gz"
    files = page.version_files("my_pkg", version, TARGET, sdist=False)
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
        ("<3.11.5", "3.11", True),
        (">=3.11.5", "3.11", True),
        ("not a spec", "3.11", True),
    ],
)
def test_requires_python_of_a_file(specifier: str, python: str, usable: bool) -> None:
    """A file whose ``Requires-Python`` excludes the target is not used, and the page says why;
    ``3.11`` is some 3.11.z, ``3.11.7`` exactly that."""
    filename = "a-1.0-py3-none-any.whl"
    page = ProjectPage(found=True, filenames=(filename,), requires_python={filename: specifier})
    major, minor, *patch = (int(p) for p in python.split("."))
    target = Target(python=(major, minor), patch=patch[0] if patch else None, platform="any")
    files = page.version_files("a", "1.0", target, sdist=False)
    assert (files.usable is not None) is usable
    if not usable:
        assert files.python_refused
        assert files.why == (f"Requires-Python {specifier!r} excludes Python {python}",)


@pytest.mark.parametrize(
    ("filenames", "why"),
    [
        (
            ["a-1.0-cp311-cp311-manylinux_2_34_x86_64.whl"],
            "its wheels need glibc 2.34 or newer (manylinux_2_34), newer than the target platform"
            " manylinux_2_28_x86_64",
        ),
        (
            ["a-1.0-cp312-cp312-manylinux_2_17_x86_64.whl", "a-1.0-cp313-cp313-manylinux_2_17_x86_64.whl"],
            "no wheel for CPython 3.11 (only for cp312, cp313)",
        ),
        (
            ["a-1.0-cp311-cp311-win_amd64.whl", "a-1.0-cp311-cp311-macosx_11_0_arm64.whl"],
            "no wheel for manylinux_2_28_x86_64 (only for macosx_11_0_arm64, win_amd64)",
        ),
        (["a-1.0.tar.gz"], "only a source distribution, and the installed package has compiled code"),
    ],
)
def test_why_no_file_is_usable(filenames: list[str], why: str) -> None:
    """A version without a usable file says why in one phrase per cause, not as file names."""
    page = ProjectPage(found=True, filenames=tuple(filenames))
    files = page.version_files("a", "1.0", TARGET, sdist=False)
    assert files.usable is None
    assert files.why == (why,)


def test_partial_requires_python_gives_the_patch_level() -> None:
    """A bound that admits only some 3.11.z is usable for ``3.11`` and says from which one."""
    filename = "a-1.0-py3-none-any.whl"
    page = ProjectPage(found=True, filenames=(filename,), requires_python={filename: ">=3.11.5"})
    assert page.version_files("a", "1.0", TARGET, sdist=False).patch_hint == "3.11.5"


def test_older_fitting_version() -> None:
    """The newest earlier version with a usable file is found, pre-releases skipped."""
    names = ("a-2.0-py3-none-any.whl", "a-1.9-py3-none-any.whl", "a-1.8-py3-none-any.whl", "a-1.95rc1.tar.gz")
    page = ProjectPage(found=True, filenames=names, requires_python={names[0]: ">=3.12", names[1]: ">=3.12"})
    assert page.older_fitting("a", "2.0", TARGET, sdist=True) == "1.8"


def test_one_version_is_read_from_a_json_page_without_parsing_it_whole() -> None:
    """The entries of one version are found whatever the key order, nested objects and name
    spelling; other versions (even ``1.0.post1``) are not taken; no entry means "parse it all"."""
    files: list[dict[str, object]] = [
        {"filename": "My_Pkg-1.0-py3-none-any.whl", "hashes": {}, "requires-python": ">=3.9"},
        {"core-metadata": {"sha256": "ab"}, "filename": "my-pkg-1.0.tar.gz", "hashes": {"sha256": "cd"}},
        {"filename": "my_pkg-1.0.post1-py3-none-any.whl", "hashes": {}},
        {"filename": "my_pkg-1.01.tar.gz", "hashes": {}},
    ]
    body = json.dumps({"meta": {"api-version": "1.1"}, "name": "my-pkg", "files": files}).encode()
    assert parse_json_version(body, "my.pkg", "1.0") == (
        ("My_Pkg-1.0-py3-none-any.whl", "my-pkg-1.0.tar.gz"),
        {"My_Pkg-1.0-py3-none-any.whl": ">=3.9"},
    )
    assert parse_json_version(body, "my-pkg", "2.0") is None
