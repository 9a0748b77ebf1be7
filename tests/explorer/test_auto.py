"""AutoEnvExplorer against distributions installed on the fly and a real index on loopback."""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import site as site_dirs  # the fixture ``site`` is a test directory
import subprocess
import sys
import sysconfig
import threading
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import pytest

import lzy
import lzy.env.explorer.auto
from lzy.env.explorer import _installed
from lzy.env.explorer.base import Classification, Exploration, PackageDecision, namespace_of
from lzy.exceptions import ExplorationError, LzyWarning, PackageIndexError

from .conftest import MakeExplorer, QuickExplorer, load, prepend_path
from .support import Flavour, IndexServer, Site, build_wheel, wheel

SO = sysconfig.get_config_var("EXT_SUFFIX") or ".so"
LINUX_WHEEL = "cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64"


def decision(exploration: Exploration, name: str) -> PackageDecision:
    """The one decision about ``name``."""
    found = [d for d in exploration.decisions if d.name == name]
    assert len(found) == 1, exploration.decisions
    return found[0]


def module(name: str) -> types.ModuleType:
    """Import ``name`` (written by the test) as a module object."""
    loaded = load(name)
    assert isinstance(loaded, types.ModuleType)
    return loaded


def install_alpha_beta(site: Site) -> None:
    """``alpha`` 1.0 imports ``beta`` 2.0, and declares it."""
    site.install(
        "alpha", "1.0", {"alpha/__init__.py": "import beta\n", "alpha/core.py": ""}, requires=["beta>=2"]
    )
    site.install("beta", "2.0", {"beta.py": "VALUE = 2\n"})


# -- index flavours and the walk --------------------------------------------------------------


@pytest.mark.parametrize("flavour", ["json", "html"])
def test_pins_what_the_index_has_through_transitive_imports(
    flavour: Flavour, site: Site, make_explorer: MakeExplorer
) -> None:
    """Both answer flavours work, and a distribution used only through another is pinned."""
    install_alpha_beta(site)
    with IndexServer(
        {"alpha": [wheel("alpha", "1.0")], "beta": [wheel("beta", "2.0")]}, flavour=flavour
    ) as server:
        explorer = make_explorer(pypi_index_url=server.url())
        found = explorer.explore({"alpha": module("alpha")})
    assert dict(found.pypi_packages) == {"alpha": "1.0", "beta": "2.0"}
    assert found.local_module_paths == ()
    reason = decision(found, "beta").reason
    assert (
        reason == f"required by alpha 1.0; installed 2.0; found beta-2.0-py3-none-any.whl on {server.url()}"
    )


def pip_install(target: Path, *arguments: str) -> None:
    """Install with this interpreter's pip into ``target``, whatever the machine's pip
    configuration says; skips the test where pip cannot run."""
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target)]
    environ = {**os.environ, "PIP_CONFIG_FILE": os.devnull}
    environ = {k: v for k, v in environ.items() if not k.startswith("PIP_") or k == "PIP_CONFIG_FILE"}
    done = subprocess.run([*command, *arguments], capture_output=True, text=True, check=False, env=environ)
    if done.returncode:
        pytest.skip(f"pip cannot install here: {done.stderr.strip()[-300:]}")


def test_wheel_installed_by_pip_from_the_index(
    tmp_path: Path, index: IndexServer, make_explorer: MakeExplorer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A wheel pip itself installed from the index (not written by the tests) is pinned."""
    built = build_wheel(tmp_path, "pipmade", "4.2", {"pipmade/__init__.py": "", "pipmade/extra.py": ""})
    index.publish("pipmade", built)
    pip_install(tmp_path / "target", "--index-url", index.url(), "pipmade==4.2")
    prepend_path(monkeypatch, tmp_path / "target")
    found = make_explorer().explore({"extra": module("pipmade.extra")})
    assert dict(found.pypi_packages) == {"pipmade": "4.2"}


def test_distribution_installed_by_pip_from_a_local_wheel_is_shipped_not_pinned(
    tmp_path: Path, index: IndexServer, make_explorer: MakeExplorer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A distribution pip installed from a local wheel (PEP 610 ``direct_url.json``) may differ
    from the index's file of the same name and version: it is shipped, with its metadata."""
    built = build_wheel(tmp_path, "pipmade", "4.2", {"pipmade/__init__.py": "", "pipmade/extra.py": ""})
    index.publish("pipmade", built)
    pip_install(tmp_path / "target", str(built))
    prepend_path(monkeypatch, tmp_path / "target")
    with pytest.warns(LzyWarning, match="not from an index"):
        found = make_explorer().explore({"extra": module("pipmade.extra")})
    assert found.pypi_packages == {}
    shipped = decision(found, "pipmade")
    assert shipped.classification is Classification.LOCAL
    assert f"installed from the archive {built.as_uri()}, not from an index" in shipped.reason
    assert {Path(p).name for p in found.local_module_paths} == {"pipmade", "pipmade-4.2.dist-info"}


@pytest.mark.parametrize(
    ("direct_url", "shown"),
    [
        ({"url": "file:///work/src/vcsdist", "dir_info": {}}, "the directory file:///work/src/vcsdist"),
        (
            {
                "url": "https://bob:hunter2@git.example/vcsdist.git",
                "vcs_info": {"vcs": "git", "commit_id": "ab"},
            },
            "the repository https://***@git.example/vcsdist.git",
        ),
        (
            {
                "url": "https://gitlab.example/o/vcsdist.git?private_token=hunter2#egg=vcsdist",
                "vcs_info": {"vcs": "git", "commit_id": "ab"},
            },
            "the repository https://gitlab.example/o/vcsdist.git, not from",
        ),
        (
            {
                "url": "https://hunter2@github.com/o/vcsdist.git",
                "vcs_info": {"vcs": "git", "commit_id": "ab"},
            },
            "the repository https://***@github.com/o/vcsdist.git",
        ),
        ({"not": "a PEP 610 document"}, "a location its metadata does not say"),
        ({"url": ""}, "a location its metadata does not say"),
    ],
)
def test_directory_and_vcs_installs_are_not_taken_from_the_index(
    direct_url: dict[str, object], shown: str, site: Site, index: IndexServer, make_explorer: MakeExplorer
) -> None:
    """Installed from a directory or a repository: shipped (credentials masked in the reason),
    or refused when compiled."""
    site.install("vcsdist", "1.0", {"vcsdist.py": ""}, direct_url=direct_url)
    index.add("vcsdist", wheel("vcsdist", "1.0"))
    with pytest.warns(LzyWarning, match="vcsdist"):
        found = make_explorer().explore({"v": module("vcsdist")})
    assert shown in decision(found, "vcsdist").reason
    assert "hunter2" not in repr(found)
    site.install("vcsbin", "1.0", {"vcsbin/__init__.py": "", f"vcsbin/_c{SO}": b"\0"}, direct_url=direct_url)
    index.add("vcsbin", wheel("vcsbin", "1.0", LINUX_WHEEL))
    with pytest.raises(ExplorationError, match=r"vcsbin 1\.0: installed from .* contains compiled code"):
        make_explorer().explore({"v": module("vcsbin")})
    assert index.requests_for("vcsdist") == index.requests_for("vcsbin") == 0


def test_unreadable_direct_url_is_not_taken_from_the_index(
    site: Site, index: IndexServer, make_explorer: MakeExplorer
) -> None:
    """A ``direct_url.json`` that is not JSON still says the distribution came from no index."""
    dist_info = site.install("oddurl", "1.0", {"oddurl.py": ""}, direct_url={})
    (dist_info / "direct_url.json").write_text("NOT JSON")
    index.add("oddurl", wheel("oddurl", "1.0"))
    with pytest.warns(LzyWarning, match="oddurl"):
        found = make_explorer().explore({"o": module("oddurl")})
    assert "direct_url.json cannot be read" in decision(found, "oddurl").reason
    assert found.pypi_packages == {}


def test_objects_stand_for_their_modules(site: Site, index: IndexServer, make_explorer: MakeExplorer) -> None:
    """A class, a function and an instance lead to the distributions defining them."""
    site.install(
        "gizmo", "3.1", {"gizmo/__init__.py": "class Gizmo:\n    pass\n\ndef make():\n    return Gizmo()\n"}
    )
    index.add("gizmo", wheel("gizmo", "3.1"))
    gizmo: Any = module("gizmo")
    for value in (gizmo.Gizmo, gizmo.make, gizmo.make(), [gizmo.make()]):
        found = make_explorer().explore({"value": value})
        assert dict(found.pypi_packages) == {"gizmo": "3.1"}


def test_standard_library_and_lzy_are_never_listed(make_explorer: MakeExplorer, index: IndexServer) -> None:
    """Nothing from the standard library or lzy is listed, and lzy's own imports are not walked."""
    namespace = {"os": os, "dumps": json.dumps, "lzy": lzy, "auto": lzy.env.explorer.auto}
    found = make_explorer().explore(namespace)
    assert found == Exploration()
    assert index.project_requests() == 0


def test_namespace_of_an_op_in_local_code(
    site: Site, project: Path, index: IndexServer, make_explorer: MakeExplorer
) -> None:
    """A project package and a single-file module are shipped; what they import is pinned."""
    install_alpha_beta(site)
    index.add("alpha", wheel("alpha", "1.0"))
    index.add("beta", wheel("beta", "2.0"))
    (project / "myproj").mkdir()
    (project / "myproj" / "__init__.py").write_text("")
    (project / "myproj" / "util.py").write_text("import alpha\n\ndef f():\n    return 1\n")
    (project / "myproj" / "ops.py").write_text(
        "import helper\nfrom myproj.util import f\n\ndef op():\n    return helper.X + f()\n"
    )
    (project / "helper.py").write_text("X = 1\n")
    ops: Any = module("myproj.ops")
    found = make_explorer().explore(namespace_of(ops.op))
    assert found.local_module_paths == (str(project / "helper.py"), str(project / "myproj"))
    assert dict(found.pypi_packages) == {"alpha": "1.0", "beta": "2.0"}
    mine = decision(found, "myproj")
    assert mine.classification is Classification.LOCAL
    assert mine.reason == f"no distribution owns module 'myproj'; shipping {project / 'myproj'}"


@pytest.mark.parametrize("other", [False, True])
def test_an_op_of_a_script_for_another_python_takes_the_scripts_imports(
    other: bool,
    *,
    site: Site,
    project: Path,
    index: IndexServer,
    make_explorer: MakeExplorer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Another major.minor imports the caller's script to find an op of it by name, and runs the
    script's top-level imports: they are pinned then, and only then (for this interpreter's
    version the op's function travels by value and the script is not imported)."""
    install_alpha_beta(site)
    index.add("alpha", wheel("alpha", "1.0"))
    index.add("beta", wheel("beta", "2.0"))
    script = project / "program.py"
    script.write_text("import alpha\n\ndef op():\n    return 1\n")
    main = types.ModuleType("__main__")
    main.__file__ = str(script)
    monkeypatch.setitem(sys.modules, "__main__", main)
    exec(compile(script.read_text(), str(script), "exec"), vars(main))  # as python runs a script
    running = f"{sys.version_info[0]}.{sys.version_info[1]}"
    version = ("3.9" if running != "3.9" else "3.10") if other else running
    found = make_explorer().explore(namespace_of(vars(main)["op"], python_version=version))
    assert ("alpha" in dict(found.pypi_packages)) is other


def _op_made_of(how: str, ops: Any) -> Callable[..., object]:
    """An op built from module ``ops`` as ``how`` says."""
    if how == "partial":
        return functools.partial(ops.run, ops.Kind())
    if how == "nested partial":
        return functools.partial(functools.partial(ops.run), kind=ops.Kind())
    if how == "bound method":
        return cast("Callable[..., object]", ops.Runner().run)
    return cast("Callable[..., object]", ops.Runner())


@pytest.mark.parametrize("how", ["partial", "nested partial", "bound method", "callable object"])
def test_partials_methods_and_callable_objects_are_explored(
    how: str,
    site: Site,
    project: Path,
    index: IndexServer,
    make_explorer: MakeExplorer,
) -> None:
    """An op made of ``functools.partial``, a bound method or a callable object: its function,
    what it binds and its module are explored like a plain function's."""
    site.install("partdep", "1.0", {"partdep.py": "def size(x):\n    return len(x)\n"})
    site.install("kinddep", "2.0", {"kinddep.py": "class Base:\n    pass\n"})
    index.add("partdep", wheel("partdep", "1.0"))
    index.add("kinddep", wheel("kinddep", "2.0"))
    (project / "kinds.py").write_text("import kinddep\n\nclass Kind(kinddep.Base):\n    pass\n")
    (project / "partops.py").write_text(
        "import partdep\nfrom kinds import Kind\n\n"
        "def run(kind=None, x=()):\n    return partdep.size(x)\n\n"
        "class Runner:\n"
        "    kind = Kind()\n"
        "    def run(self, x=()):\n        return partdep.size(x)\n"
        "    def __call__(self, x=()):\n        return partdep.size(x)\n"
    )
    found = make_explorer().explore(namespace_of(_op_made_of(how, module("partops"))))
    assert dict(found.pypi_packages) == {"kinddep": "2.0", "partdep": "1.0"}
    assert found.local_module_paths == (str(project / "kinds.py"), str(project / "partops.py"))


def test_imports_inside_the_op_body_are_found_without_importing_them(
    site: Site, project: Path, index: IndexServer, make_explorer: MakeExplorer
) -> None:
    """``import x`` inside the op runs only when the op runs: its owner is still pinned, and
    finding it does not import it here."""
    site.install("lazydist", "1.5", {"lazydist/__init__.py": "", "lazydist/sub.py": ""})
    index.add("lazydist", wheel("lazydist", "1.5"))
    (project / "lazyops.py").write_text(
        "def op():\n"
        "    from lazydist import sub\n"
        "    try:\n"
        "        import not_installed_anywhere\n"
        "    except ImportError:\n"
        "        pass\n"
        "    return sub\n"
    )
    ops: Any = module("lazyops")
    found = make_explorer().explore(namespace_of(ops.op))
    assert dict(found.pypi_packages) == {"lazydist": "1.5"}
    assert "lazydist" not in sys.modules
    assert found.local_module_paths == (str(project / "lazyops.py"),)


def test_imports_inside_functions_of_shipped_code_are_followed(
    site: Site, project: Path, index: IndexServer, make_explorer: MakeExplorer
) -> None:
    """A local module's functions may import other local modules and distributions when called:
    both are needed on the target. Imports under ``if TYPE_CHECKING:`` and
    ``if __name__ == "__main__":`` are not."""
    site.install("lazydist", "1.5", {"lazydist/__init__.py": ""})
    site.install("typingonly", "0.1", {"typingonly.py": ""})
    index.add("lazydist", wheel("lazydist", "1.5"))
    (project / "lazyhelpers").mkdir()
    (project / "lazyhelpers" / "__init__.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    import typingonly\n"
        "def helper():\n"
        "    from . import later\n"
        "    import lazylocal\n"
        "    return later.VALUE + lazylocal.VALUE\n"
    )
    (project / "lazyhelpers" / "later.py").write_text("import lazydist\nVALUE = 1\n")
    (project / "lazylocal.py").write_text("VALUE = 2\n")
    (project / "lazyops2.py").write_text(
        "from lazyhelpers import helper\n\ndef op():\n    return helper()\n\n"
        "if __name__ == '__main__':\n    import scriptonly\n"
    )
    site.install("scriptonly", "0.2", {"scriptonly.py": ""})
    ops: Any = module("lazyops2")
    found = make_explorer().explore(namespace_of(ops.op))
    assert dict(found.pypi_packages) == {"lazydist": "1.5"}
    assert found.local_module_paths == (
        str(project / "lazyhelpers"),
        str(project / "lazylocal.py"),
        str(project / "lazyops2.py"),
    )
    assert index.requests_for("typingonly") == 0
    assert index.requests_for("scriptonly") == 0


# -- editable installs and namespace packages --------------------------------------------------


def editable(site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``edpkg`` 0.1 installed in editable mode from ``tmp_path/ed`` (src layout)."""
    source = tmp_path / "ed" / "src"
    (source / "edpkg").mkdir(parents=True)
    (source / "edpkg" / "__init__.py").write_text("import beta\n")
    site.install("edpkg", "0.1", {"__editable__.edpkg-0.1.pth": f"{source}\n"}, editable_dir=tmp_path / "ed")
    site.install("beta", "2.0", {"beta.py": ""})
    prepend_path(monkeypatch, source)
    return source


def test_editable_install_is_local(
    site: Site,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    index: IndexServer,
    make_explorer: MakeExplorer,
) -> None:
    """An editable install is shipped from its source tree with its metadata (so it can read its
    own version there); what it imports is still pinned."""
    source = editable(site, tmp_path, monkeypatch)
    index.add("beta", wheel("beta", "2.0"))
    found = make_explorer().explore({"edpkg": module("edpkg")})
    assert found.local_module_paths == (str(source / "edpkg"), str(site.root / "edpkg-0.1.dist-info"))
    assert dict(found.pypi_packages) == {"beta": "2.0"}
    mine = decision(found, "edpkg")
    assert (mine.classification, mine.version) == (Classification.LOCAL, "0.1")
    assert mine.reason == f"editable install of {tmp_path / 'ed'}; shipping {source / 'edpkg'}"
    assert index.requests_for("edpkg") == 0


def test_editable_install_from_the_index_when_asked(
    site: Site,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    index: IndexServer,
    make_explorer: MakeExplorer,
) -> None:
    """With ``treat_editables_as_locals=False`` an editable install is pinned like any other."""
    editable(site, tmp_path, monkeypatch)
    index.add("beta", wheel("beta", "2.0"))
    index.add("edpkg", wheel("edpkg", "0.1"))
    found = make_explorer(treat_editables_as_locals=False).explore({"edpkg": module("edpkg")})
    assert dict(found.pypi_packages) == {"beta": "2.0", "edpkg": "0.1"}
    assert found.local_module_paths == ()


def install_editable_project(site: Site, project: Path, layout: str) -> None:
    """``edproj`` 1.0 installed in editable mode from ``project`` (flat layout, the package
    beside scripts), the way ``layout`` names: a ``.pth`` file adding the project directory
    (hatchling, flit, pdm), setuptools' import hook with its ``MAPPING``, the ``editables``
    library's hook, or ``setup.py develop`` (an ``.egg-link`` and an ``.egg-info`` in the
    project)."""
    (project / "edproj").mkdir()
    (project / "edproj" / "__init__.py").write_text("VERSION = 1\n")
    if layout == "pth":
        site.install("edproj", "1.0", {"_editable_impl_edproj.pth": f"{project}\n"}, editable_dir=project)
    elif layout == "setuptools hook":
        hook = f"MAPPING: dict[str, str] = {{'edproj': {str(project / 'edproj')!r}}}\nNAMESPACES = {{}}\n"
        files = {"__editable__.edproj-1.0.pth": "import __editable___edproj_1_0_finder\n"}
        files["__editable___edproj_1_0_finder.py"] = hook
        site.install("edproj", "1.0", files, editable_dir=project)
        # What building the editable wheel leaves in the project, which is on sys.path.
        egg_info = project / "edproj.egg-info"
        egg_info.mkdir()
        (egg_info / "PKG-INFO").write_text("Metadata-Version: 2.1\nName: edproj\nVersion: 1.0\n")
        (egg_info / "top_level.txt").write_text("edproj\n")
        (egg_info / "SOURCES.txt").write_text("pyproject.toml\nedproj/__init__.py\n")
    elif layout == "editables hook":
        init = str(project / "edproj" / "__init__.py")
        hook = "from editables.redirector import RedirectingFinder as F\nF.install()\n"
        hook += f"F.map_module('edproj', {init!r})\n"
        files = {"_edproj.pth": "import _edproj\n", "_edproj.py": hook}
        site.install("edproj", "1.0", files, editable_dir=project)
    else:
        egg_info = project / "edproj.egg-info"
        egg_info.mkdir()
        (egg_info / "PKG-INFO").write_text("Metadata-Version: 2.1\nName: edproj\nVersion: 1.0\n")
        (egg_info / "top_level.txt").write_text("edproj\n")
        (site.root / "edproj.egg-link").write_text(f"{project}\n.\n")


@pytest.mark.parametrize("layout", ["pth", "setuptools hook", "editables hook", "egg-link"])
@pytest.mark.parametrize("editables_local", [True, False])
def test_code_beside_an_editable_projects_packages_is_local_code(
    layout: str,
    editables_local: bool,
    site: Site,
    tmp_path: Path,
    *,
    monkeypatch: pytest.MonkeyPatch,
    index: IndexServer,
    make_explorer: MakeExplorer,
) -> None:
    """An editable install owns the modules it maps, not its whole directory: scripts in the
    project (at its root or in a folder of their own) are shipped as local code whether the
    project's package is shipped or pinned from the index."""
    project = tmp_path / "checkout"
    (project / "scripts").mkdir(parents=True)
    install_editable_project(site, project, layout)
    (project / "rootscript.py").write_text("ROOT = 1\n")
    (project / "scripts" / "helper.py").write_text("HELP = 1\n")
    (project / "scripts" / "run.py").write_text(
        "import edproj\nimport helper\nimport rootscript\n\n"
        "def op():\n    return edproj.VERSION + helper.HELP + rootscript.ROOT\n"
    )
    prepend_path(monkeypatch, project)
    prepend_path(monkeypatch, project / "scripts")
    index.add("edproj", wheel("edproj", "1.0"))
    found = make_explorer(treat_editables_as_locals=editables_local).explore(namespace_of(module("run").op))
    scripts = [
        str(project / "rootscript.py"),
        *(str(project / "scripts" / f) for f in ("helper.py", "run.py")),
    ]
    for name in ("helper", "rootscript", "run"):
        assert decision(found, name).classification is Classification.LOCAL
    mine = decision(found, "edproj")
    if editables_local:
        assert (mine.classification, mine.version) == (Classification.LOCAL, "1.0")
        assert str(project / "edproj") in found.local_module_paths
        assert found.pypi_packages == {}
    else:
        assert (mine.classification, mine.version) == (Classification.PYPI, "1.0")
        assert dict(found.pypi_packages) == {"edproj": "1.0"}
        assert sorted(found.local_module_paths) == sorted(scripts)


def test_src_directory_of_an_editable_project_is_all_its_code(
    site: Site,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    index: IndexServer,
    make_explorer: MakeExplorer,
) -> None:
    """A ``.pth`` file adding a directory other than the project's own (``src/``) maps every
    module in it, whatever its name."""
    project = tmp_path / "srcproj"
    (project / "src" / "othername").mkdir(parents=True)
    (project / "src" / "othername" / "__init__.py").write_text("")
    site.install("srcproj", "2.0", {"srcproj.pth": f"{project / 'src'}\n"}, editable_dir=project)
    prepend_path(monkeypatch, project / "src")
    index.add("srcproj", wheel("srcproj", "2.0"))
    found = make_explorer(treat_editables_as_locals=False).explore({"m": module("othername")})
    assert dict(found.pypi_packages) == {"srcproj": "2.0"}
    assert found.local_module_paths == ()


def test_namespace_package_portions_are_shipped(
    site: Site,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    index: IndexServer,
    make_explorer: MakeExplorer,
) -> None:
    """Local portions of a namespace package are shipped; a portion a distribution owns is pinned."""
    for portion, name in (("p1", "x"), ("p2", "y")):
        (tmp_path / portion / "acme").mkdir(parents=True)
        (tmp_path / portion / "acme" / f"{name}.py").write_text("")
        prepend_path(monkeypatch, tmp_path / portion)
    site.install("acme-z", "1.0", {"acme/z.py": ""})
    index.add("acme-z", wheel("acme-z", "1.0"))
    namespace = {"x": module("acme.x"), "y": module("acme.y"), "z": module("acme.z")}
    found = make_explorer().explore(namespace)
    assert found.local_module_paths == (str(tmp_path / "p1" / "acme"), str(tmp_path / "p2" / "acme"))
    assert dict(found.pypi_packages) == {"acme-z": "1.0"}
    assert decision(found, "acme").reason.startswith("no distribution owns namespace package 'acme'")


def test_module_on_a_pth_added_path_is_local(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, index: IndexServer, make_explorer: MakeExplorer
) -> None:
    """A directory that a ``.pth`` file puts on ``sys.path`` holds local code: it is shipped."""
    extra = tmp_path / "extra"
    (extra / "pthpkg").mkdir(parents=True)
    (extra / "pthpkg" / "__init__.py").write_text("")
    (extra / "pthmod.py").write_text("import pthpkg\n")
    pth_site = tmp_path / "pth-site"
    pth_site.mkdir()
    (pth_site / "extra.pth").write_text(f"# a comment line\n{extra}\n")
    monkeypatch.setattr(sys, "path", list(sys.path))
    site_dirs.addsitedir(str(pth_site))
    assert str(extra) in sys.path
    found = make_explorer().explore({"pthmod": module("pthmod")})
    assert found.local_module_paths == (str(extra / "pthmod.py"), str(extra / "pthpkg"))
    assert found.pypi_packages == {}
    assert decision(found, "pthpkg").classification is Classification.LOCAL
    assert index.project_requests() == 0


def test_distribution_installed_on_a_pth_added_path_is_pinned(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, index: IndexServer, make_explorer: MakeExplorer
) -> None:
    """A distribution whose site directory is reached through a ``.pth`` file is still a
    distribution: it is pinned, not shipped."""
    vendored = Site(tmp_path / "vendored")
    vendored.root.mkdir()
    vendored.install("gamma", "3.1", {"gamma/__init__.py": ""})
    index.add("gamma", wheel("gamma", "3.1"))
    pth_site = tmp_path / "pth-site"
    pth_site.mkdir()
    (pth_site / "vendored.pth").write_text(f"{vendored.root}\n")
    monkeypatch.setattr(sys, "path", list(sys.path))
    site_dirs.addsitedir(str(pth_site))
    found = make_explorer().explore({"gamma": module("gamma")})
    assert dict(found.pypi_packages) == {"gamma": "3.1"}
    assert found.local_module_paths == ()


# -- the index lacks something ---------------------------------------------------------------


def test_pure_distribution_missing_from_the_index_is_shipped(
    site: Site, index: IndexServer, make_explorer: MakeExplorer
) -> None:
    """A pure-Python distribution the index lacks is shipped, with a warning saying why."""
    site.install("gamma", "0.3", {"gamma/__init__.py": ""})
    index.add("gamma", wheel("gamma", "0.2"))
    with pytest.warns(
        LzyWarning, match=r"gamma 0\.3: installed 0\.3, but .* has no file of that version; it is pure Python"
    ):
        found = make_explorer().explore({"gamma": module("gamma")})
    assert found.pypi_packages == {}
    assert found.local_module_paths == (str(site.root / "gamma"), str(site.root / "gamma-0.3.dist-info"))
    assert decision(found, "gamma").classification is Classification.LOCAL


def test_unknown_project_with_a_valid_index(
    site: Site, index: IndexServer, make_explorer: MakeExplorer
) -> None:
    """A 404 for the project on an index whose root is a simple API means "not there"."""
    site.install("gamma", "0.3", {"gamma.py": ""})
    with pytest.warns(LzyWarning, match=r"the index has no such project \(.*/simple/gamma/ not found\)"):
        found = make_explorer().explore({"gamma": module("gamma")})
    assert found.local_module_paths == (str(site.root / "gamma-0.3.dist-info"), str(site.root / "gamma.py"))


def compiled_dist(site: Site) -> None:
    """``delta`` 1.0 with a compiled module."""
    site.install(
        "delta",
        "1.0",
        {"delta/__init__.py": "", f"delta/_speed{SO}": b"\x7fELF not really"},
    )


@pytest.mark.parametrize(
    "case",
    [
        ([], "3.11", "has no file of that version"),
        (
            [wheel("delta", "1.0", "cp311-cp311-win_amd64")],
            "3.11",
            "installs on CPython 3.11 on manylinux_2_28_x86_64: no wheel for manylinux_2_28_x86_64"
            " (only for win_amd64)",
        ),
        (
            [wheel("delta", "1.0", LINUX_WHEEL)],
            "3.12",
            "installs on CPython 3.12 on manylinux_2_28_x86_64: no wheel for CPython 3.12 (only for cp311)",
        ),
        (
            [wheel("delta", "1.0", "cp311-cp311-manylinux_2_34_x86_64")],
            "3.11",
            "its wheels need glibc 2.34 or newer (manylinux_2_34)",
        ),
        (
            ["delta-1.0.tar.gz"],
            "3.11",
            "only a source distribution, and the installed package has compiled code",
        ),
        (
            [wheel("delta", "1.0", "cp312-abi3-manylinux_2_17_x86_64.manylinux2014_x86_64")],
            "3.11",
            "its wheels need CPython 3.12 or newer (cp312-abi3), newer than the target Python 3.11",
        ),
    ],
    ids=["missing", "other-platform", "other-python", "newer-glibc", "sdist-only", "newer-abi3"],
)
def test_compiled_distribution_the_target_cannot_install_is_an_error(
    case: tuple[list[str], str, str], site: Site, index: IndexServer, make_explorer: MakeExplorer
) -> None:
    """Compiled code without a usable file on the index is an error saying why, in one line."""
    files, python_version, problem = case
    compiled_dist(site)
    index.add("delta", *files)
    explorer = make_explorer(python_version=python_version)
    with pytest.raises(ExplorationError, match=r"delta 1\.0: installed 1\.0") as caught:
        explorer.explore({"delta": module("delta")})
    assert problem in str(caught.value)
    assert "contains compiled code (delta/_speed" in str(caught.value)
    assert len(str(caught.value).splitlines()) == 2


def test_compiled_distribution_shipped_when_binaries_are_allowed(
    site: Site, index: IndexServer, make_explorer: MakeExplorer
) -> None:
    """With ``raise_on_binaries=False`` it is shipped with a warning instead."""
    compiled_dist(site)
    index.add("delta", wheel("delta", "1.0", "cp311-cp311-win_amd64"))
    with pytest.warns(LzyWarning, match="shipping it anyway because raise_on_binaries is False"):
        found = make_explorer(raise_on_binaries=False).explore({"delta": module("delta")})
    assert found.local_module_paths == (str(site.root / "delta"), str(site.root / "delta-1.0.dist-info"))


@pytest.mark.parametrize(
    ("filename", "usable"),
    [
        (wheel("delta", "1.0", LINUX_WHEEL), True),
        (wheel("delta", "1.0", "cp38-abi3-manylinux_2_28_x86_64"), True),
        (wheel("delta", "1.0", "cp311-cp311-manylinux_2_34_x86_64"), False),
        (wheel("delta", "1.0", "cp311-cp311-musllinux_1_2_x86_64"), False),
        (wheel("delta", "1.0.0", LINUX_WHEEL), True),
        (wheel("delta", "1.0.1", LINUX_WHEEL), False),
        (wheel("delta", "1.0", "cp311-cp311-manylinux_2_5_x86_64.manylinux1_x86_64"), True),
        (wheel("delta", "1.0", "cp311-cp311-manylinux2010_x86_64.manylinux_2_12_x86_64"), True),
        (wheel("delta", "1.0", "cp39.cp310.cp311-cp39.cp310.cp311-manylinux_2_17_x86_64"), True),
        (wheel("Delta", "1.0", "py2.py3-none-any"), True),
        (wheel("delta", "1.0", "cp312-abi3-manylinux_2_17_x86_64"), False),
    ],
)
def test_wheel_tags_for_the_target(
    filename: str, usable: bool, site: Site, index: IndexServer, make_explorer: MakeExplorer
) -> None:
    """A wheel counts when its tags fit the target Python and platform, and its version is equal."""
    compiled_dist(site)
    index.add("delta", filename)
    explorer = make_explorer(python_version="3.11.7")
    if usable:
        assert dict(explorer.explore({"delta": module("delta")}).pypi_packages) == {"delta": "1.0"}
    else:
        with pytest.raises(ExplorationError):
            explorer.explore({"delta": module("delta")})


@pytest.mark.parametrize("flavour", ["json", "html"])
@pytest.mark.parametrize(
    ("name", "version", "filename"),
    [
        ("gamma", "0.3", "gamma-0.3.tar.bz2"),
        ("gamma", "0.3", "gamma-0.3.tgz"),
        ("gamma", "0.3", "gamma-0.3.tar.xz"),
        ("Foo.Bar", "1.0", "Foo.Bar-1.0.tar.gz"),
        ("foo_bar", "1.0", "FOO_BAR-1.0-py2.py3-none-any.whl"),
        ("gamma", "1.0+cpu", "gamma-1.0+cpu-py3-none-any.whl"),
    ],
)
def test_pure_distribution_files_the_installers_take_are_usable(
    name: str, version: str, filename: str, flavour: Flavour, *, site: Site, make_explorer: MakeExplorer
) -> None:
    """Older source archives (.tar.bz2, .tgz, .tar.xz), names spelt otherwise and compressed
    tag sets are files pip and uv install: the pin is taken, not shipped as 'no file'."""
    module_name = name.lower().replace(".", "_")
    site.install(name, version, {f"{module_name}.py": ""})
    project = re.sub(r"[-_.]+", "-", name).lower()
    with IndexServer({project: [filename]}, flavour=flavour) as server:
        found = make_explorer(pypi_index_url=server.url()).explore({"m": module(module_name)})
    assert dict(found.pypi_packages) == {project: version}


def test_html_file_names_come_from_the_links_not_their_text(
    site: Site, index: IndexServer, make_explorer: MakeExplorer
) -> None:
    """A PEP 503 page's file names are the last part of each link's URL, decoded, as pip reads
    them; the anchor's text may say anything."""
    site.install("gamma", "1.0+cpu", {"gamma.py": ""})
    links = (
        '<a href="../../files/gamma-0.9-py3-none-any.whl#sha256=00">an older one</a>\n'
        '<a href="https://files.example/gamma-1.0%2Bcpu-py3-none-any.whl#sha256=00"'
        ' data-requires-python="&gt;=3.8">download (CPU build)</a>\n'
    )
    index.state.pages["/simple/gamma"] = ("text/html", f"<html><body>{links}</body></html>".encode())
    found = make_explorer().explore({"g": module("gamma")})
    assert decision(found, "gamma").reason == (
        f"installed 1.0+cpu; found gamma-1.0+cpu-py3-none-any.whl on {index.url()}"
    )


@pytest.mark.parametrize("flavour", ["json", "html"])
def test_requires_python_on_the_page_is_honoured(
    flavour: Flavour, site: Site, make_explorer: MakeExplorer
) -> None:
    """A pure distribution whose files all exclude the target Python is an error naming the
    package, the bound and the target, and the older version that fits; never shipped."""
    site.install("gamma", "0.3", {"gamma.py": ""})
    with IndexServer({"gamma": [wheel("gamma", "0.2"), wheel("gamma", "0.3")]}, flavour=flavour) as server:
        server.state.requires_python[wheel("gamma", "0.3")] = ">=3.12"
        with pytest.raises(ExplorationError) as caught:
            make_explorer(pypi_index_url=server.url(), python_version="3.11").explore(
                {"gamma": module("gamma")}
            )
        found = make_explorer(pypi_index_url=server.url(), python_version="3.12").explore(
            {"gamma": module("gamma")}
        )
    assert "gamma 0.3: installed 0.3, but no file of it" in str(caught.value)
    assert "Requires-Python '>=3.12' excludes Python 3.11" in str(caught.value)
    assert "the index has gamma 0.2, which fits" in str(caught.value)
    assert dict(found.pypi_packages) == {"gamma": "0.3"}


@pytest.mark.parametrize(
    ("python_version", "outcome"),
    [
        ("3.11", "excluded"),
        ("3.12", "pinned"),
        ("3.12.1", "pinned"),
    ],
)
def test_installed_requires_python_is_honoured(
    python_version: str, outcome: str, site: Site, index: IndexServer, make_explorer: MakeExplorer
) -> None:
    """The installed version's own Requires-Python counts too, even where the index gives none."""
    site.install("gamma", "0.3", {"gamma.py": ""}, requires_python=">=3.12")
    index.add("gamma", wheel("gamma", "0.3"))
    explorer = make_explorer(python_version=python_version)
    if outcome == "pinned":
        assert dict(explorer.explore({"gamma": module("gamma")}).pypi_packages) == {"gamma": "0.3"}
        return
    with pytest.raises(
        ExplorationError,
        match=r"gamma 0\.3 requires Python >=3\.12 \(its Requires-Python\), which excludes the target"
        r" Python 3\.11",
    ):
        explorer.explore({"gamma": module("gamma")})


@pytest.mark.parametrize(
    ("python_version", "outcome"),
    [("3.11", "warned"), ("3.11.7", "pinned"), ("3.11.2", "refused")],
)
def test_patch_level_bounds(
    python_version: str, outcome: str, site: Site, index: IndexServer, make_explorer: MakeExplorer
) -> None:
    """``3.11`` is some 3.11.z: a bound from 3.11.5 fits it, with a warning naming the patch
    level; an exact ``3.11.2`` is refused, and the refusal says which patch level would fit."""
    site.install("gamma", "0.3", {"gamma.py": ""}, requires_python=">=3.11.5")
    index.add("gamma", wheel("gamma", "0.3"))
    explorer = make_explorer(python_version=python_version)
    if outcome == "refused":
        with pytest.raises(ExplorationError, match=r"python_version='3\.11\.5' would fit"):
            explorer.explore({"gamma": module("gamma")})
        return
    if outcome == "warned":
        with pytest.warns(LzyWarning, match=r"admits only some Python 3\.11 releases \(such as 3\.11\.5\)"):
            found = explorer.explore({"gamma": module("gamma")})
    else:
        found = explorer.explore({"gamma": module("gamma")})
    assert dict(found.pypi_packages) == {"gamma": "0.3"}


def test_sdist_counts_for_pure_python(site: Site, index: IndexServer, make_explorer: MakeExplorer) -> None:
    """A pure-Python distribution whose index has only its sdist is pinned."""
    site.install("gamma", "0.3", {"gamma.py": ""})
    index.add("gamma", "gamma-0.3.tar.gz")
    found = make_explorer().explore({"gamma": module("gamma")})
    assert decision(found, "gamma").reason == f"installed 0.3; found gamma-0.3.tar.gz on {index.url()}"


def test_extra_index_is_asked_after_the_main_one(
    site: Site, index: IndexServer, make_explorer: MakeExplorer
) -> None:
    """A distribution found only on an extra index is pinned, and the reason names that index."""
    site.install("gamma", "0.3", {"gamma.py": ""})
    with IndexServer({"gamma": [wheel("gamma", "0.3")]}) as extra:
        found = make_explorer(extra_index_urls=(extra.url(),)).explore({"gamma": module("gamma")})
    assert decision(found, "gamma").reason.endswith(f"on {extra.url()}")
    assert index.requests_for("gamma") == 1


@pytest.mark.parametrize(
    ("first", "then", "pinned_from"),
    [
        pytest.param([wheel("gamma", "0.2")], [wheel("gamma", "0.3")], "extra", id="other version first"),
        pytest.param([wheel("gamma", "0.3")], [wheel("gamma", "0.3")], "first", id="on both"),
        pytest.param(
            [wheel("gamma", "0.3", "cp311-cp311-win_amd64")],
            [wheel("gamma", "0.3")],
            None,
            id="unusable first",
        ),
    ],
)
def test_a_version_comes_from_the_first_index_that_has_it(
    first: list[str],
    then: list[str],
    pinned_from: str | None,
    *,
    site: Site,
    index: IndexServer,
    make_explorer: MakeExplorer,
) -> None:
    """Installers take a version from the first index with files of it: that index decides,
    so a usable file on a later one does not make the version available."""
    site.install("gamma", "0.3", {"gamma.py": ""})
    index.add("gamma", *first)
    with IndexServer({"gamma": then}) as extra:
        explorer = make_explorer(extra_index_urls=(extra.url(),))
        if pinned_from is None:
            with pytest.warns(LzyWarning, match="installers take a version from the first index"):
                found = explorer.explore({"gamma": module("gamma")})
            reason = decision(found, "gamma").reason
            assert f"no file of it on {index.url()}/gamma/ installs" in reason
            assert f"({extra.url()} has a usable file" in reason
            assert found.pypi_packages == {}
        else:
            found = explorer.explore({"gamma": module("gamma")})
            url = index.url() if pinned_from == "first" else extra.url()
            assert decision(found, "gamma").reason == f"installed 0.3; found {wheel('gamma', '0.3')} on {url}"


@pytest.mark.parametrize(
    ("requirement", "refused"),
    [
        ("beta<2", True),
        ("beta>=1,!=2.0", True),
        ("beta<2; python_version < '3'", False),
        ("beta<2; extra == 'old'", False),
        ("beta[fast]>=2", False),
    ],
)
def test_a_pin_another_pins_requirement_excludes_is_refused_naming_both(
    requirement: str, refused: bool, site: Site, index: IndexServer, make_explorer: MakeExplorer
) -> None:
    """Two pins whose declared requirements (markers of the target, no extras) exclude each
    other cannot be installed together: refused, naming both, not left for the installer."""
    site.install("alpha", "1.0", {"alpha.py": ""}, requires=[requirement])
    site.install("beta", "2.0", {"beta.py": ""})
    index.add("alpha", wheel("alpha", "1.0"))
    index.add("beta", wheel("beta", "2.0"))
    namespace = {"a": module("alpha"), "b": module("beta")}
    if refused:
        specifier = requirement.removeprefix("beta")
        match = rf"beta 2\.0 does not satisfy alpha 1\.0's requirement beta{re.escape(specifier)}"
        with pytest.raises(ExplorationError, match=match):
            make_explorer().explore(namespace)
    else:
        assert dict(make_explorer().explore(namespace).pypi_packages) == {"alpha": "1.0", "beta": "2.0"}


@pytest.mark.parametrize("flavour", ["json", "html"])
@pytest.mark.parametrize("root", ["/some/path/simple", "/root/pypi/+simple", "/deep/er/index"])
@pytest.mark.parametrize("slash", ["", "/"])
def test_index_below_the_host_root(
    root: str, slash: str, flavour: Flavour, site: Site, make_explorer: MakeExplorer
) -> None:
    """An index whose root is a path on its host (and a port), given with or without its
    trailing slash, is asked for project pages below that path."""
    site.install("gamma", "0.3", {"gamma.py": ""})
    with IndexServer({"gamma": [wheel("gamma", "0.3")]}, flavour=flavour, root=root) as server:
        url = f"{server.url()}{slash}"
        found = make_explorer(pypi_index_url=url).explore({"gamma": module("gamma")})
        assert server.requests_for("gamma") == 1
    assert decision(found, "gamma").reason == f"installed 0.3; found {wheel('gamma', '0.3')} on {url}"


def test_file_index(site: Site, tmp_path: Path, make_explorer: MakeExplorer) -> None:
    """A ``file://`` index directory with PEP 503 pages works like a served one."""
    site.install("gamma", "0.3", {"gamma.py": ""})
    (tmp_path / "files" / "gamma").mkdir(parents=True)
    page = f'<html><body><a href="gamma-0.3-py3-none-any.whl">{wheel("gamma", "0.3")}</a></body></html>'
    (tmp_path / "files" / "gamma" / "index.html").write_text(page)
    url = (tmp_path / "files").as_uri()
    found = make_explorer(pypi_index_url=url).explore({"gamma": module("gamma")})
    assert decision(found, "gamma").reason == f"installed 0.3; found gamma-0.3-py3-none-any.whl on {url}"


# -- meta-packages -----------------------------------------------------------------------------


def meta(site: Site) -> types.ModuleType:
    """``metafw`` 5.0 has no files and requires ``metafw-core`` 5.0, which is compiled."""
    site.install("metafw", "5.0", {}, requires=["metafw-core==5.0", "unrelated>=1; python_version < '3'"])
    site.install("metafw-core", "5.0", {"metafw_core/__init__.py": "", f"metafw_core/_c{SO}": b"\0"})
    return module("metafw_core")


def test_meta_package_is_pinned(site: Site, index: IndexServer, make_explorer: MakeExplorer) -> None:
    """A meta-package requiring a used distribution is found and pinned too."""
    core = meta(site)
    index.add("metafw", wheel("metafw", "5.0"))
    index.add("metafw-core", wheel("metafw_core", "5.0", LINUX_WHEEL))
    found = make_explorer().explore({"core": core})
    assert dict(found.pypi_packages) == {"metafw": "5.0", "metafw-core": "5.0"}
    assert decision(found, "metafw").reason.startswith(
        "meta-package (no files of its own) requiring 'metafw-core', which provides 'metafw_core'"
    )


def test_platform_part_of_a_meta_package_is_left_to_it(
    site: Site, index: IndexServer, make_explorer: MakeExplorer
) -> None:
    """A part the target cannot install is left to the pinned meta-package, not an error."""
    core = meta(site)
    index.add("metafw", wheel("metafw", "5.0"))
    index.add("metafw-core", wheel("metafw_core", "5.0", "cp311-cp311-win_amd64"))
    found = make_explorer().explore({"core": core})
    assert dict(found.pypi_packages) == {"metafw": "5.0"}
    assert decision(found, "metafw-core").classification is Classification.VIA_META_PACKAGE


# -- exclusions --------------------------------------------------------------------------------


def test_excluded_distribution_is_left_out_and_not_walked(
    site: Site, index: IndexServer, make_explorer: MakeExplorer
) -> None:
    """An excluded distribution is neither pinned nor followed into its imports."""
    site.install("alpha", "1.0", {"alpha/__init__.py": "import Beta_Pkg\n"}, requires=["Beta_Pkg"])
    site.install("Beta_Pkg", "2.0", {"Beta_Pkg.py": "import epsilon\n"}, requires=["epsilon"])
    site.install("epsilon", "1.0", {"epsilon.py": ""})
    index.add("alpha", wheel("alpha", "1.0"))
    found = make_explorer(exclude_packages=frozenset({"beta-pkg"})).explore({"alpha": module("alpha")})
    assert dict(found.pypi_packages) == {"alpha": "1.0"}
    assert decision(found, "beta-pkg").classification is Classification.EXCLUDED
    assert index.requests_for("epsilon") == 0


def test_excluded_local_module_is_not_shipped(project: Path, make_explorer: MakeExplorer) -> None:
    """``exclude_packages`` also names local top-level modules."""
    (project / "scratch.py").write_text("")
    found = make_explorer(exclude_packages=frozenset({"scratch"})).explore({"s": module("scratch")})
    assert found.local_module_paths == ()
    assert decision(found, "scratch").classification is Classification.EXCLUDED


def test_no_index_counts_everything_installed_as_available(
    site: Site, index: IndexServer, make_explorer: MakeExplorer
) -> None:
    """``pypi_index_url=None`` sends no request and pins every installed distribution."""
    install_alpha_beta(site)
    compiled_dist(site)
    found = make_explorer(pypi_index_url=None).explore({"alpha": module("alpha"), "d": module("delta")})
    assert dict(found.pypi_packages) == {"alpha": "1.0", "beta": "2.0", "delta": "1.0"}
    assert decision(found, "alpha").reason == "installed 1.0; no index is checked, so it counts as available"
    assert sum(index.state.requests.values()) == 0


# -- local compiled code -----------------------------------------------------------------------


@pytest.fixture
def extension(project: Path) -> types.ModuleType:
    """A tiny C extension ``fastext`` built in the project directory."""
    compiler = shutil.which("gcc") or shutil.which("cc")
    include = sysconfig.get_paths()["include"]
    if compiler is None or not Path(include, "Python.h").exists():
        pytest.skip("needs a C compiler and the Python headers")
    source = project / "fastext.c"
    source.write_text(
        "#include <Python.h>\n"
        'static struct PyModuleDef def = {PyModuleDef_HEAD_INIT, "fastext", NULL, -1, NULL};\n'
        "PyMODINIT_FUNC PyInit_fastext(void) { return PyModule_Create(&def); }\n"
    )
    target = project / f"fastext{SO}"
    subprocess.run(
        [compiler, "-shared", "-fPIC", f"-I{include}", str(source), "-o", str(target)],
        check=True,
        capture_output=True,
    )
    return module("fastext")


def test_local_compiled_extension_is_an_error(
    extension: types.ModuleType, project: Path, make_explorer: MakeExplorer
) -> None:
    """A local module with compiled code cannot be shipped to another platform."""
    with pytest.raises(ExplorationError, match=r"local module 'fastext' at .* contains compiled code"):
        make_explorer().explore({"fastext": extension})


def test_local_compiled_extension_is_shipped_with_a_warning(
    extension: types.ModuleType, project: Path, make_explorer: MakeExplorer
) -> None:
    """With ``raise_on_binaries=False`` it is shipped anyway, with a warning."""
    with pytest.warns(LzyWarning, match="fastext"):
        found = make_explorer(raise_on_binaries=False).explore({"fastext": extension})
    assert found.local_module_paths == (str(project / f"fastext{SO}"),)


def test_local_package_holding_a_shared_library(project: Path, make_explorer: MakeExplorer) -> None:
    """A compiled file anywhere inside a shipped package counts, imported or not."""
    (project / "withlib" / "bin").mkdir(parents=True)
    (project / "withlib" / "__init__.py").write_text("")
    (project / "withlib" / "bin" / "libthing.so.1").write_bytes(b"\0")
    with pytest.raises(ExplorationError, match=r"libthing\.so\.1"):
        make_explorer().explore({"withlib": module("withlib")})


# -- broken indexes ----------------------------------------------------------------------------


def test_index_answering_500_is_an_error_naming_index_and_package(
    site: Site, index: IndexServer, make_explorer: MakeExplorer
) -> None:
    """A failing index gives a bounded number of tries, then an error naming it and the package."""
    site.install("gamma", "0.3", {"gamma.py": ""})
    index.state.status = 500
    with pytest.raises(PackageIndexError) as caught:
        make_explorer().explore({"gamma": module("gamma")})
    assert str(caught.value) == (
        f"package index {index.url()} answered HTTP 500 (tried 2 times) while looking up"
        f" package 'gamma' at {index.url()}/gamma/"
    )
    assert index.requests_for("gamma") == QuickExplorer.index_retries + 1


class Impatient(QuickExplorer):
    """Gives up after a short wait and no retry."""

    index_timeout = 0.3
    index_retries = 0


def test_hanging_index_is_an_error_not_a_hang(
    site: Site, index: IndexServer, make_explorer: MakeExplorer
) -> None:
    """An index that never answers fails after the timeout."""
    site.install("gamma", "0.3", {"gamma.py": ""})
    index.state.hang = threading.Event()
    with pytest.raises(
        PackageIndexError,
        match=r"did not answer within 0\.3 s \(tried once\) while looking up package 'gamma'",
    ):
        make_explorer(Impatient).explore({"gamma": module("gamma")})


class Bounded(Impatient):
    """Reads patiently, but gives a whole request one second."""

    index_timeout = 5.0
    index_deadline = 1.0


def test_an_index_that_trickles_its_answer_fails_at_the_deadline(
    site: Site, index: IndexServer, make_explorer: MakeExplorer
) -> None:
    """A server sending a byte now and then never lets a read time out: the request is bounded
    in wall-clock time all the same."""
    site.install("gamma", "0.3", {"gamma.py": ""})
    index.add("gamma", wheel("gamma", "0.3"))
    index.state.trickle = 0.2
    with pytest.raises(PackageIndexError, match=r"did not answer within 1 s \(tried once\)"):
        make_explorer(Bounded).explore({"gamma": module("gamma")})


def test_unreachable_index(site: Site, make_explorer: MakeExplorer) -> None:
    """Nothing listening on the port is an error naming the index."""
    site.install("gamma", "0.3", {"gamma.py": ""})
    with IndexServer() as closed:
        url = closed.url()
    with pytest.raises(PackageIndexError, match=r"could not be reached .* package 'gamma'"):
        make_explorer(Impatient, pypi_index_url=url).explore({"gamma": module("gamma")})


def test_url_that_is_not_a_simple_index(site: Site, index: IndexServer, make_explorer: MakeExplorer) -> None:
    """A URL whose root is not a simple API is reported, not taken for "package missing"."""
    site.install("gamma", "0.3", {"gamma.py": ""})
    url = f"http://127.0.0.1:{index.port}/not-simple"
    with pytest.raises(PackageIndexError, match="is not the root of a simple repository") as caught:
        make_explorer(pypi_index_url=url).explore({"gamma": module("gamma")})
    assert url in str(caught.value)


def test_answer_that_is_not_the_simple_api(
    site: Site, index: IndexServer, make_explorer: MakeExplorer
) -> None:
    """A page in another format is reported with the index and the package."""
    site.install("gamma", "0.3", {"gamma.py": ""})
    index.state.status = 200
    with pytest.raises(
        PackageIndexError, match=r"is not the root of a simple repository .* content type 'text/plain'"
    ):
        make_explorer().explore({"gamma": module("gamma")})


# -- caches ------------------------------------------------------------------------------------


def test_second_exploration_sends_no_request(
    site: Site, index: IndexServer, make_explorer: MakeExplorer
) -> None:
    """The same explorer answers again from memory, and a new one from the disk cache."""
    install_alpha_beta(site)
    index.add("alpha", wheel("alpha", "1.0"))
    index.add("beta", wheel("beta", "2.0"))
    namespace = {"alpha": module("alpha")}
    first = make_explorer().explore(namespace)
    assert index.project_requests() == 2
    explorer = make_explorer()
    assert explorer.explore(namespace) == first
    assert explorer.explore(namespace) == first
    assert index.project_requests() == 2
    assert explorer.requests_sent == 0


class Revalidating(QuickExplorer):
    """Trusts no cached page that lacks what it needs."""

    index_cache_ttl = 0.0


def test_stale_pages_are_revalidated_with_their_etag(
    site: Site, index: IndexServer, make_explorer: MakeExplorer
) -> None:
    """A cached page lacking the version is asked again with ``If-None-Match``; a 304 reuses it."""
    site.install("gamma", "0.3", {"gamma.py": ""})
    index.add("gamma", wheel("gamma", "0.2"))
    namespace = {"gamma": module("gamma")}
    with pytest.warns(LzyWarning, match="gamma"):
        make_explorer(Revalidating).explore(namespace)
    with pytest.warns(LzyWarning, match="gamma"):
        make_explorer(Revalidating).explore(namespace)
    assert (index.state.conditional, index.state.not_modified) == (1, 1)
    index.add("gamma", wheel("gamma", "0.3"))
    found = make_explorer(Revalidating).explore(namespace)
    assert dict(found.pypi_packages) == {"gamma": "0.3"}


def test_cache_dir_follows_the_environment(
    site: Site,
    index: IndexServer,
    make_explorer: MakeExplorer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``LZY_CACHE_DIR`` chooses where index answers are kept; a usable file is kept as such,
    not as the page that listed it."""
    monkeypatch.setenv("LZY_CACHE_DIR", str(tmp_path / "here"))
    site.install("gamma", "0.3", {"gamma.py": ""})
    index.add("gamma", wheel("gamma", "0.3"))
    make_explorer().explore({"gamma": module("gamma")})
    kept = {p.name: p.read_text() for p in (tmp_path / "here").rglob("*.json")}
    assert "gamma.json" not in kept
    assert "gamma-0.3-py3-none-any.whl" in kept["usable-cp3.11-manylinux_2_28_x86_64.json"]


# -- credentials -------------------------------------------------------------------------------

SECRET = "s3cr3t-pa55"


def test_credentials_are_used_and_never_shown(
    site: Site,
    index: IndexServer,
    make_explorer: MakeExplorer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Credentials in the index URL authenticate, and appear in no message, warning or cache file."""
    monkeypatch.setenv("LZY_CACHE_DIR", str(tmp_path / "cache"))
    install_alpha_beta(site)
    site.install("gamma", "0.3", {"gamma.py": ""})
    index.state.credentials = ("alice", SECRET)
    index.add("alpha", wheel("alpha", "1.0"))
    index.add("beta", wheel("beta", "2.0"))
    url = index.url(credentials=("alice", SECRET))
    explorer = make_explorer(pypi_index_url=url)
    with pytest.warns(LzyWarning) as caught:
        found = explorer.explore({"alpha": module("alpha"), "gamma": module("gamma")})
    assert dict(found.pypi_packages) == {"alpha": "1.0", "beta": "2.0"}
    shown = [str(w.message) for w in caught] + [d.reason for d in found.decisions] + [repr(explorer)]
    shown += [p.read_text() for p in (tmp_path / "cache").rglob("*.json")]
    assert all(SECRET not in text and "alice" not in text for text in shown), shown
    assert f"http://***@127.0.0.1:{index.port}/simple" in decision(found, "alpha").reason

    site.install("zeta", "0.1", {"zeta.py": ""})
    index.state.status = 503
    with pytest.raises(PackageIndexError) as error:
        make_explorer(pypi_index_url=url).explore({"zeta": module("zeta")})
    assert SECRET not in str(error.value)
    assert "***@127.0.0.1" in str(error.value)


def test_wrong_credentials(site: Site, index: IndexServer, make_explorer: MakeExplorer) -> None:
    """A 401 says to check the credentials, without showing them."""
    site.install("gamma", "0.3", {"gamma.py": ""})
    index.state.credentials = ("user", "right")
    url = index.url(credentials=("user", SECRET))
    with pytest.raises(PackageIndexError, match="refused access") as caught:
        make_explorer(pypi_index_url=url).explore({"gamma": module("gamma")})
    assert SECRET not in str(caught.value)


# -- settings ----------------------------------------------------------------------------------


def test_bad_python_version() -> None:
    """A Python version that is not ``3.X`` or ``3.X.Y`` is refused with the value shown."""
    with pytest.raises(ValueError, match=r"'3\.eleven'"):
        QuickExplorer(python_version="3.eleven")


def test_repr_shows_settings_without_credentials() -> None:
    """The repr names the index (redacted), the Python version and the platform."""
    explorer = QuickExplorer(pypi_index_url="https://u:p@example.invalid/simple", python_version="3.12")
    assert repr(explorer) == (
        "QuickExplorer(pypi_index_url='https://***@example.invalid/simple', extra_index_urls=(),"
        " python=3.12, target_platform='manylinux_2_28_x86_64')"
    )
    explorer.close()


def test_running_interpreter_is_the_default_target() -> None:
    """Without ``python_version`` the tags are those of the running interpreter's version."""
    explorer = QuickExplorer()
    assert f"python={sys.version_info.major}.{sys.version_info.minor}" in repr(explorer)
    explorer.close()


# -- the result does not depend on what else was imported ----------------------------------------


def test_body_only_imports_follow_declared_requirements_whatever_was_imported(
    site: Site, project: Path, index: IndexServer, make_explorer: MakeExplorer
) -> None:
    """A distribution reached only from the op's body brings what it requires, and the result
    is the same before and after the program imports it."""
    site.install("lazydist", "1.5", {"lazydist/__init__.py": "import lazydep\n"}, requires=["lazydep>=1"])
    site.install("lazydep", "1.0", {"lazydep.py": ""})
    index.add("lazydist", wheel("lazydist", "1.5"))
    index.add("lazydep", wheel("lazydep", "1.0"))
    (project / "bodyops.py").write_text("def op():\n    import lazydist\n    return lazydist\n")
    ops: Any = module("bodyops")
    before = make_explorer().explore(namespace_of(ops.op))
    assert "lazydist" not in sys.modules
    module("lazydist")
    after = make_explorer().explore(namespace_of(ops.op))
    assert dict(before.pypi_packages) == dict(after.pypi_packages) == {"lazydist": "1.5", "lazydep": "1.0"}
    assert decision(before, "lazydep").reason.startswith("required by lazydist 1.5; ")


def test_requirement_markers_are_evaluated_for_the_target(
    site: Site, index: IndexServer, make_explorer: MakeExplorer
) -> None:
    """A requirement applies when its markers hold on the target Python and platform, and only
    when the installed version satisfies it; extras are not followed."""
    site.install(
        "marked",
        "1.0",
        {"marked.py": ""},
        requires=[
            "winonly; sys_platform == 'win32'",
            "newpy; python_version >= '3.12'",
            "tooold>=2",
            "optional; extra == 'fast'",
        ],
    )
    for name in ("winonly", "newpy", "tooold", "optional"):
        site.install(name, "1.0", {f"{name}.py": ""})
        index.add(name, wheel(name, "1.0"))
    index.add("marked", wheel("marked", "1.0"))
    namespace = {"m": module("marked")}
    assert set(make_explorer(python_version="3.11").explore(namespace).pypi_packages) == {"marked"}
    assert set(make_explorer(python_version="3.12").explore(namespace).pypi_packages) == {"marked", "newpy"}
    windows = make_explorer(python_version="3.11", target_platform="win_amd64").explore(namespace)
    assert set(windows.pypi_packages) == {"marked", "winonly"}


def test_namespace_siblings_imported_elsewhere_are_not_pinned(
    site: Site,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    index: IndexServer,
    make_explorer: MakeExplorer,
) -> None:
    """Walking a namespace package does not reach sibling portions the rest of the program
    imported: the result for an op is the same whatever else was imported."""
    (tmp_path / "mine" / "nsco").mkdir(parents=True)
    (tmp_path / "mine" / "nsco" / "ours.py").write_text("VALUE = 1\n")
    prepend_path(monkeypatch, tmp_path / "mine")
    site.install("nsco-heavy", "1.0", {"nsco/heavy/__init__.py": ""})
    site.install("nsco-compiled", "1.0", {"nsco/fast/__init__.py": "", f"nsco/fast/_c{SO}": b"\0"})
    index.add("nsco-heavy", wheel("nsco-heavy", "1.0"))
    namespace = {"ours": module("nsco.ours")}
    alone = make_explorer().explore(namespace)
    module("nsco.heavy")
    module("nsco.fast")
    crowded = make_explorer().explore(namespace)
    assert alone == crowded
    assert crowded.pypi_packages == {}
    assert crowded.local_module_paths == (str(tmp_path / "mine" / "nsco"),)


# -- what is shipped works on the target ------------------------------------------------------


def test_shipped_distribution_can_read_its_own_metadata(
    site: Site, index: IndexServer, make_explorer: MakeExplorer, tmp_path: Path
) -> None:
    """Copied elsewhere alone, the shipped paths of a distribution the index lacks still give
    its version and entry points through ``importlib.metadata``."""
    dist_info = site.install(
        "selfaware",
        "0.7.1",
        {"selfaware/__init__.py": "from importlib.metadata import version\nV = version('selfaware')\n"},
    )
    (dist_info / "entry_points.txt").write_text("[console_scripts]\nselfaware = selfaware:main\n")
    with pytest.warns(LzyWarning, match="selfaware"):
        found = make_explorer().explore({"s": module("selfaware")})
    target = tmp_path / "target"
    target.mkdir()
    for path in found.local_module_paths:
        shutil.copytree(path, target / Path(path).name)
    code = (
        "import importlib.metadata as m, selfaware;"
        "print(selfaware.V, [e.name for e in m.entry_points(group='console_scripts', name='selfaware')])"
    )
    done = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(target)!r}); {code}"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.split() == ["0.7.1", "['selfaware']"]


def test_unreadable_metadata_is_not_fatal(
    site: Site, index: IndexServer, make_explorer: MakeExplorer, tmp_path: Path
) -> None:
    """An old ``.egg-info`` listing files outside the site directory (which breaks
    ``importlib.metadata`` on some Pythons) does not stop an op that does not use it."""
    egg = site.root / "oldegg-0.1-py3.11.egg-info"
    egg.mkdir()
    (egg / "PKG-INFO").write_text("Metadata-Version: 1.1\nName: oldegg\nVersion: 0.1\n")
    (egg / "installed-files.txt").write_text("../oldegg.py\n../../../../outside/bin/oldegg\n")
    (site.root / "oldegg.py").write_text("")
    broken = site.root / "broken-1.0.dist-info"
    broken.mkdir()
    (broken / "METADATA").write_bytes(b"\xff\xfe not text")
    install_alpha_beta(site)
    index.add("alpha", wheel("alpha", "1.0"))
    index.add("beta", wheel("beta", "2.0"))
    index.add("oldegg", "oldegg-0.1.tar.gz")
    found = make_explorer().explore({"alpha": module("alpha")})
    assert dict(found.pypi_packages) == {"alpha": "1.0", "beta": "2.0"}
    egg_found = make_explorer().explore({"o": module("oldegg")})
    assert dict(egg_found.pypi_packages) == {"oldegg": "0.1"}


def install_without_file_list(site: Site, how: str, files: dict[str, str | bytes]) -> None:
    """Install ``debpkg`` 1.0 with ``files``, its file list missing or broken as ``how`` says:
    Debian's ``.egg-info`` (``top_level.txt``, no file list) or ``.dist-info`` without
    ``RECORD``, a distutils ``.egg-info`` file, or a ``RECORD`` that is garbage or lists
    absolute paths."""
    for path, content in files.items():
        (site.root / path).parent.mkdir(parents=True, exist_ok=True)
        data = content.encode() if isinstance(content, str) else content
        (site.root / path).write_bytes(data)
    pkg_info = "Metadata-Version: 1.2\nName: debpkg\nVersion: 1.0\n"
    if how == "debian egg-info":
        egg = site.root / "debpkg-1.0.egg-info"
        egg.mkdir()
        (egg / "PKG-INFO").write_text(pkg_info)
        (egg / "top_level.txt").write_text("debpkg\n")
        (egg / "dependency_links.txt").write_text("\n")
    elif how == "distutils egg-info file":
        (site.root / "debpkg-1.0.egg-info").write_text(pkg_info)
    else:
        dist_info = site.install("debpkg", "1.0", {})
        record = dist_info / "RECORD"
        if how == "no RECORD":
            record.unlink()
        elif how == "garbage RECORD":
            record.write_bytes(b'\x00\xff,,,\n"unterminated')
        else:
            record.write_text("".join(f"{site.root / path},,\n" for path in files))


@pytest.mark.parametrize(
    "how", ["debian egg-info", "no RECORD", "garbage RECORD", "absolute RECORD", "distutils egg-info file"]
)
def test_distribution_without_a_usable_file_list_is_recognised(
    how: str, site: Site, index: IndexServer, make_explorer: MakeExplorer
) -> None:
    """Without a file list (or with a broken one) a distribution still owns its modules, found
    from ``top_level.txt`` or its name, and is pinned from the index."""
    layout: dict[str, str | bytes] = (
        {"debpkg.py": "X = 1\n"}
        if how == "distutils egg-info file"
        else {"debpkg/__init__.py": "from debpkg import sub\n", "debpkg/sub.py": ""}
    )
    install_without_file_list(site, how, layout)
    index.add("debpkg", wheel("debpkg", "1.0"))
    found = make_explorer().explore({"d": module("debpkg")})
    assert dict(found.pypi_packages) == {"debpkg": "1.0"}
    assert found.local_module_paths == ()


def test_debian_package_files_come_from_dpkgs_list(
    site: Site,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    index: IndexServer,
    make_explorer: MakeExplorer,
) -> None:
    """A Debian package's distutils ``.egg-info`` file names neither its files nor its module
    (``pycups`` installs ``cups``): dpkg's file list of the package says which are its own,
    so its compiled module is pinned from the index, not refused as local code."""
    files = {"debcups/__init__.py": "", f"debcups/_c{SO}": "\0"}
    for path, content in files.items():
        (site.root / path).parent.mkdir(parents=True, exist_ok=True)
        (site.root / path).write_text(content)
    egg_info = site.root / "pydebcups-2.0.egg-info"
    egg_info.write_text("Metadata-Version: 1.1\nName: pydebcups\nVersion: 2.0\n")
    dpkg = tmp_path / "dpkg-info"
    dpkg.mkdir()
    listed = [str(site.root), str(site.root / "debcups"), *(str(site.root / p) for p in files), str(egg_info)]
    (dpkg / "python3-debcups:amd64.list").write_text("/.\n/usr\n" + "\n".join(listed) + "\n")
    (dpkg / "unrelated.list").write_text("/usr/share/doc/unrelated\n/usr/lib/x.egg-info\n")
    monkeypatch.setattr(_installed, "_DPKG_INFO", str(dpkg))
    monkeypatch.setattr(_installed, "_dpkg_owners", None)
    index.add("pydebcups", wheel("pydebcups", "2.0", LINUX_WHEEL))
    found = make_explorer().explore({"c": module("debcups")})
    assert dict(found.pypi_packages) == {"pydebcups": "2.0"}
    assert found.local_module_paths == ()


def test_egg_info_requirements_are_followed(
    site: Site, index: IndexServer, make_explorer: MakeExplorer
) -> None:
    """An ``.egg-info`` declares its requirements in ``requires.txt``: those that apply on the
    target are followed, extras and markers that exclude it are not."""
    install_without_file_list(site, "debian egg-info", {"debpkg.py": ""})
    (site.root / "debpkg-1.0.egg-info" / "requires.txt").write_text(
        "beta>=2\n\n[fast]\nspeedup\n\n[:python_version < '3']\nancient\n"
    )
    for name in ("beta", "speedup", "ancient"):
        site.install(name, "2.0", {f"{name}.py": ""})
        index.add(name, wheel(name, "2.0"))
    index.add("debpkg", wheel("debpkg", "1.0"))
    found = make_explorer().explore({"d": module("debpkg")})
    assert dict(found.pypi_packages) == {"beta": "2.0", "debpkg": "1.0"}


def test_compiled_code_is_seen_without_a_file_list(
    site: Site, index: IndexServer, make_explorer: MakeExplorer
) -> None:
    """Debian's compiled packages have no file list: their compiled modules are still found, so
    a source distribution on the index does not count for them."""
    files: dict[str, str | bytes] = {"debpkg/__init__.py": "", f"debpkg/_speedups{SO}": b"\0"}
    install_without_file_list(site, "debian egg-info", files)
    index.add("debpkg", "debpkg-1.0.tar.gz")
    with pytest.raises(ExplorationError, match=r"debpkg 1\.0: .*contains compiled code \(debpkg/_speedups"):
        make_explorer().explore({"d": module("debpkg")})


# -- platforms and index roots -------------------------------------------------------------------


def test_legacy_manylinux_target_platform(
    site: Site, index: IndexServer, make_explorer: MakeExplorer
) -> None:
    """``manylinux2014_x86_64`` is manylinux_2_17: it installs manylinux1 wheels, not 2_28 ones."""
    compiled_dist(site)
    index.add("delta", wheel("delta", "1.0", "cp311-cp311-manylinux1_x86_64"))
    explorer = make_explorer(python_version="3.11", target_platform="manylinux2014_x86_64")
    assert explorer.target_platform == "manylinux_2_17_x86_64"
    assert dict(explorer.explore({"delta": module("delta")}).pypi_packages) == {"delta": "1.0"}


@pytest.mark.parametrize(
    "platform", ["linux", "manylinux_2_28_x86-64", "manylinux1_aarch64", "macos_14_arm64"]
)
def test_unknown_target_platform_names_the_field(platform: str) -> None:
    """An unknown platform is an error naming the field and the value, not a list of packages."""
    with pytest.raises(
        ValueError, match=rf"QuickExplorer\.target_platform must be a wheel platform tag .*{platform!r}"
    ):
        QuickExplorer(target_platform=platform)


def root_page(index: IndexServer, path: str, content_type: str, body: str) -> str:
    """Serve ``body`` at ``path`` on ``index``; returns the URL."""
    index.state.pages[path] = (content_type, body.encode())
    return f"http://127.0.0.1:{index.port}{path}"


@pytest.mark.parametrize(
    "case",
    [
        (
            "/site",
            "text/html",
            '<html><body><a href="/about/">About us</a> <a href="https://x.example/">Elsewhere</a></body></html>',
            "a web page whose links are not project pages",
        ),
        (
            "/simple/gamma",
            "text/html",
            '<html><body><a href="../../files/gamma-0.3.tar.gz#sha256=00">gamma-0.3.tar.gz</a></body></html>',
            "one project's page",
        ),
        (
            "/api",
            "application/vnd.pypi.simple.v1+json",
            '{"meta": {}, "name": "gamma", "files": []}',
            "one project's page",
        ),
    ],
    ids=["web-page", "html-project-page", "json-project-page"],
)
def test_only_a_simple_repository_root_is_an_index(
    case: tuple[str, str, str, str], site: Site, index: IndexServer, make_explorer: MakeExplorer
) -> None:
    """A site's page or one project's page answering 200 is refused as the index, before any
    package is taken for missing from it."""
    path, content_type, body, expected = case
    site.install("gamma", "0.3", {"gamma.py": ""})
    url = root_page(index, path, content_type, body)
    index.state.fallback = (content_type, body.encode())
    with pytest.raises(PackageIndexError, match="is not the root of a simple repository") as caught:
        make_explorer(pypi_index_url=url).explore({"gamma": module("gamma")})
    assert expected in str(caught.value)


# -- credentials never leave as text -------------------------------------------------------------


def test_credentials_reach_no_log_record(
    site: Site, index: IndexServer, make_explorer: MakeExplorer, caplog: pytest.LogCaptureFixture
) -> None:
    """With every logger at DEBUG (the HTTP client's included), no record carries the index's
    user name, password or their Basic encoding: they travel as HTTP authentication."""
    import base64
    import logging

    user, password = "canary-user", "canary-Pa55-word"
    install_alpha_beta(site)
    index.state.credentials = (user, password)
    index.add("alpha", wheel("alpha", "1.0"))
    index.add("beta", wheel("beta", "2.0"))
    encoded = base64.b64encode(f"{user}:{password}".encode()).decode()
    with caplog.at_level(logging.DEBUG):
        for name in ("httpx", "httpcore", "lzy", ""):
            logging.getLogger(name).setLevel(logging.DEBUG)
        found = make_explorer(pypi_index_url=index.url(credentials=(user, password))).explore(
            {"alpha": module("alpha")}
        )
    assert dict(found.pypi_packages) == {"alpha": "1.0", "beta": "2.0"}
    assert any(record.name.startswith("httpx") for record in caplog.records)
    for record in caplog.records:
        text = f"{record.getMessage()} {record.args!r}"
        assert password not in text, text
        assert user not in text, text
        assert encoded not in text, text


def test_installed_summaries_are_kept_on_disk_and_refreshed(
    site: Site,
    index: IndexServer,
    make_explorer: MakeExplorer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A new process reads installed distributions' summaries from disk, and a distribution
    whose metadata changed since is read again."""

    monkeypatch.setenv("LZY_CACHE_DIR", str(tmp_path / "cache"))
    dist_info = site.install("gamma", "0.3", {"gamma.py": ""})
    index.add("gamma", wheel("gamma", "0.3"), wheel("gamma", "0.4"))
    namespace = {"gamma": module("gamma")}
    assert dict(make_explorer().explore(namespace).pypi_packages) == {"gamma": "0.3"}
    assert _installed._summaries_path().is_file()  # pyright: ignore[reportPrivateUsage] - its place
    metadata = dist_info / "METADATA"
    metadata.write_text(metadata.read_text().replace("Version: 0.3", "Version: 0.4"))
    os.utime(metadata, ns=(metadata.stat().st_atime_ns, metadata.stat().st_mtime_ns + 10**9))
    _installed._installed_cache.clear()  # pyright: ignore[reportPrivateUsage] - a new process
    assert dict(make_explorer().explore(namespace).pypi_packages) == {"gamma": "0.4"}
