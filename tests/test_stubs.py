"""The stubs in ``stubs/``: generated, faithful to the dataclass fields, shipped, and used by checkers."""

from __future__ import annotations

import ast
import dataclasses
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from lzy.env import _stubgen
from lzy.env._base import import_klass
from lzy.env._catalog import POINTS, Point, dotted_paths, field_docs
from tests.editor_text import klass_meaning

ROOT = Path(__file__).resolve().parents[1]
OWNER_STUB = ROOT / "stubs" / "lzy" / "env" / "owner.pyi"
CASES = [(point, klass) for point in POINTS for klass in point.klasses]


def _ids(case: tuple[Point, type[object]]) -> str:
    return f"{case[0].method}-{case[1].__qualname__}"


def _overloads(method: str) -> list[ast.FunctionDef]:
    tree = ast.parse(OWNER_STUB.read_text(encoding="utf-8"))
    owner = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "EnvOwner")
    return [n for n in owner.body if isinstance(n, ast.FunctionDef) and n.name == method]


def _literal_strings(annotation: str) -> tuple[str, ...]:
    """The strings of a ``Literal[...]`` annotation as the stub writes it (empty for another)."""
    if not annotation.startswith("Literal["):
        return ()
    node = ast.parse(annotation, mode="eval").body
    return tuple(c.value for c in ast.walk(node) if isinstance(c, ast.Constant) and isinstance(c.value, str))


def _klass_annotation(overload: ast.FunctionDef) -> str | None:
    for argument in [*overload.args.args, *overload.args.kwonlyargs]:
        if argument.arg == "klass" and argument.annotation is not None:
            return ast.unparse(argument.annotation)
    return None


def _keywords(overload: ast.FunctionDef) -> tuple[set[str], set[str]]:
    """The keyword parameters of an overload other than ``klass``: all, and the required ones."""
    names: set[str] = set()
    required: set[str] = set()
    for argument, default in zip(overload.args.kwonlyargs, overload.args.kw_defaults, strict=True):
        if argument.arg == "klass":
            continue
        names.add(argument.arg)
        if default is None:
            required.add(argument.arg)
    return names, required


def _fields(klass: type[object]) -> tuple[set[str], set[str]]:
    assert dataclasses.is_dataclass(klass)
    fields = [f for f in dataclasses.fields(klass) if f.init]
    missing = dataclasses.MISSING
    required = {f.name for f in fields if f.default is missing and f.default_factory is missing}
    return {f.name for f in fields}, required


def test_checked_in_stubs_are_what_the_generator_writes() -> None:
    """``stubs/`` is up to date with the fields: ``nox -s stubs`` would change nothing."""
    for path, text in _stubgen.generate().items():
        checked_in = (ROOT / "stubs" / path).read_text(encoding="utf-8")
        assert checked_in == text, f"stubs/{path} is stale: run `nox -s stubs`"
    assert _stubgen.main(["--check"]) == 0


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_each_dotted_path_overload_takes_the_klass_fields(case: tuple[Point, type[object]]) -> None:
    """The dotted-path overload of a klass takes its fields, required ones required."""
    point, klass = case
    paths = dotted_paths(klass)
    by_path = [o for o in _overloads(point.method) if _literal_strings(_klass_annotation(o) or "") == paths]
    assert len(by_path) == 1
    (overload,) = by_path
    assert _keywords(overload) == _fields(klass)
    assert overload.args.vararg is None
    assert overload.args.kwarg is None


@pytest.mark.parametrize("point", POINTS, ids=lambda p: p.method)
def test_the_no_klass_overload_takes_the_default_klass_fields(point: Point) -> None:
    """Without ``klass`` the keywords are the default klass's, and ``klass`` is no keyword there."""
    overload = _overloads(point.method)[1]
    assert _klass_annotation(overload) is None
    assert _keywords(overload) == _fields(point.default)


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_dotted_paths_in_the_stub_import_the_klass(case: tuple[Point, type[object]]) -> None:
    """Each ``Literal`` path the stub accepts names the klass at run time."""
    point, klass = case
    for path in dotted_paths(klass):
        assert import_klass(path, point.base, point.method) is klass


@pytest.mark.parametrize("point", POINTS, ids=lambda p: p.method)
def test_overloads_go_from_the_class_object_to_the_positional_instance(point: Point) -> None:
    """First ``klass=`` a class (ParamSpec), then no klass, the dotted paths, last the instance."""
    overloads = _overloads(point.method)
    assert len(overloads) == 3 + len(point.klasses)
    first, last = overloads[0], overloads[-1]
    assert first.args.vararg is not None
    assert first.args.kwarg is not None
    assert ast.unparse(first.args.vararg.annotation or ast.Constant(None)) == "_FieldsP.args"
    assert ast.unparse(first.args.kwarg.annotation or ast.Constant(None)) == "_FieldsP.kwargs"
    assert [a.arg for a in last.args.posonlyargs] == ["self", point.field]
    assert not last.args.kwonlyargs
    for overload in overloads:
        names = {n.id for n in ast.walk(overload.args) if isinstance(n, ast.Name)}
        assert "Any" not in names, "no catch-all Any parameters"
        assert ast.get_docstring(overload), f"{point.method} overload without a docstring"


@pytest.mark.parametrize("point", POINTS, ids=lambda p: p.method)
def test_the_instance_overload_takes_none_only_when_the_default_needs_no_keyword(point: Point) -> None:
    """``with_container(None)`` would build a DockerContainer without its required image."""
    last = _overloads(point.method)[-1]
    annotation = ast.unparse(last.args.posonlyargs[1].annotation or ast.Constant(None))
    needs_keyword = _fields(point.default)[1] != set()
    assert annotation == point.base.__qualname__ + ("" if needs_keyword else " | None")


def _param_lines(overload: ast.FunctionDef) -> dict[str, str]:
    doc = ast.get_docstring(overload) or ""
    found: dict[str, str] = {}
    for line in doc.splitlines():
        name, separator, text = line.removeprefix(":param ").partition(": ")
        if line.startswith(":param ") and separator:
            found[name] = text
    return found


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_every_keyword_is_documented_with_the_klass_meaning(case: tuple[Point, type[object]]) -> None:
    """Every overload that takes a field documents it, and the text names this klass's meaning.

    The class-object overload and the instance overload (whose docstring jedi shows for every
    overload) document every field of every klass of the point.
    """
    point, klass = case
    overloads = _overloads(point.method)
    for field in field_docs(klass):
        for overload in overloads:
            keywords, _ = _keywords(overload)
            if field.name in keywords or overload in (overloads[0], overloads[-1]):
                shown = _param_lines(overload)[field.name]
                assert klass_meaning(point, klass, field, shown), (overload.lineno, field.name, shown)


def _wheel_map() -> dict[str, str]:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    wheel = pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]
    mapping: dict[str, str] = wheel["force-include"]
    return mapping


def test_the_wheel_ships_every_stub_next_to_its_module_with_py_typed() -> None:
    """``force-include`` puts each generated stub and ``py.typed`` into the ``lzy`` package."""
    mapping = _wheel_map()
    for path in _stubgen.generate():
        assert mapping.get(f"stubs/{path}") == path
        assert (ROOT / path).with_suffix(".py").is_file()
    assert mapping.get("stubs/lzy/py.typed") == "lzy/py.typed"


WRONG = """\
from lzy.api.v1 import Lzy
from lzy.api.v1.env import ManualPythonEnv

Lzy().workflow("w").with_python_env(klass=ManualPythonEnv, python_version="3.11", pypi_packagez={})
"""


def _tool(name: str) -> list[str]:
    executable = shutil.which(name, path=str(Path(sys.executable).parent))
    if executable is None:
        pytest.skip(f"{name} is not installed here; `nox -s typecheck` runs this test")
    return [executable]


@pytest.fixture
def wrong_call(tmp_path: Path) -> Path:
    path = tmp_path / "wrong_call.py"
    path.write_text(WRONG, encoding="utf-8")
    return path


def test_mypy_with_the_repo_config_flags_a_wrong_keyword(wrong_call: Path) -> None:
    """``mypy stubs FILE`` (the typecheck session's second run) checks FILE against the stub."""
    done = subprocess.run(
        [*_tool("mypy"), "--config-file", "pyproject.toml", "stubs", str(wrong_call)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1, done.stdout
    assert 'No overload variant of "with_python_env" of "EnvOwner"' in done.stdout
    assert "[call-overload]" in done.stdout


def test_pyright_with_the_repo_config_flags_a_wrong_keyword(wrong_call: Path) -> None:
    """pyright with ``stubPath = "stubs"`` resolves ``lzy.env.owner`` to the stub, not the source."""
    done = subprocess.run(
        [*_tool("pyright"), "--project", "pyproject.toml", str(wrong_call)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1, done.stdout
    assert 'No parameter named "pypi_packagez"' in done.stdout
