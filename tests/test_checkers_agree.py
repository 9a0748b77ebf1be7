"""Every form of a ``with_*`` call and of ``op()``: mypy and pyright (strict) accept it exactly
when lzy does.

The corpus is made here, not written by hand. For each point: each thing that can come first
(nothing, ``None``, an instance of the point or of another point, a built-in class of the point
or of another, a dotted path), each ``klass=`` (none, each built-in class and each of its dotted
paths, the abstract base, another point's class, a misspelt path, a factory function, a
:func:`functools.partial`) and each set of keywords (none, the klass's required ones, those plus
an unknown one, plus a wrong type, plus a string for a list of strings). For ``op()``: each way
of giving it something (``op(f)``, ``op()(f)``, its builder's ``with_*`` then a call, ``Op(f)``,
with a wrong ``env`` or ``description``) and each thing (a def, a lambda, a built-in, a bound
method, an op, a partial, an object with ``__call__``, a cached function, a class, an async or
generator function, ``None``, a number, a string). Each call runs on its own at run time
(accepted, or refused with an error of lzy's hierarchy), and the whole file is checked once by
each checker the way a user's project sees lzy (the stub in the wheel layout). A checker's
verdict on a line is whether it reported an error there.

Where the two cannot agree, :data:`RUN_TIME_ONLY` and :data:`CHECKERS_ONLY` name the form and
the reason; the typing page lists the same rules under "What only the run time catches".
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import pytest

from lzy.env._catalog import POINTS, Point, dotted_paths, field_docs
from lzy.env.owner import EnvOwner
from lzy.exceptions import LzyError

ROOT: Final = Path(__file__).resolve().parents[1]

#: Values of the right type for a field, by its annotation as written.
_VALUES: Final = {
    "str": '"3.11"',
    "Mapping[str, str]": "{}",
}


def _value(annotation: str, name: str) -> str:
    if name == "image":
        return '"ubuntu:24.04"'
    return _VALUES[annotation]


def _required(klass: type[object]) -> list[str]:
    return [f"{f.name}={_value(f.annotation, f.name)}" for f in field_docs(klass) if f.required]


def _list_field(klass: type[object]) -> str | None:
    """A field of ``klass`` that takes a list of strings, if it has one."""
    return next((f.name for f in field_docs(klass) if f.annotation.startswith("list[str]")), None)


def _other(point: Point) -> Point:
    return POINTS[(POINTS.index(point) + 1) % len(POINTS)]


def _instance(klass: type[object]) -> str:
    return f"{klass.__qualname__}({', '.join(_required(klass))})"


@dataclasses.dataclass(frozen=True)
class Form:
    """One call of the corpus."""

    #: The call as written (``wf.with_python_env(...)``).
    code: str
    #: Where the checkers and lzy cannot agree: a key of :data:`RUN_TIME_ONLY` or
    #: :data:`CHECKERS_ONLY`; empty when they must.
    kind: str = ""


#: Forms lzy refuses that a checker accepts (both, or the one named), by kind: why it cannot tell.
RUN_TIME_ONLY: Final = {
    "klass-not-a-class": (
        "the overload that binds keywords to a klass's constructor takes any callable: a"
        " checker cannot ask for a class and for its constructor's parameters at once"
    ),
    "what-the-function-is": (
        "a type does not tell async def from a def returning a coroutine, nor a generator"
        " function from a function returning an iterator"
    ),
    "class-to-op": "pyright matches a class's constructor against the function op() takes",
}
#: Forms both checkers refuse and lzy runs, by kind: redundant spellings lzy cannot tell apart
#: from the plain one, since a default given explicitly is the default.
CHECKERS_ONLY: Final = {
    "none-first-and-klass": "None first, then klass=: lzy cannot tell None given from None left out",
    "default-klass-given": (
        "something first and klass= the method's own default: lzy cannot tell that default"
        " given from left out, and takes what comes first"
    ),
}


def _default_klass_text(point: Point) -> str:
    """``klass=``'s default in the method's signature, as the corpus writes it."""
    default = inspect.signature(getattr(EnvOwner, point.method)).parameters["klass"].default
    return default.__qualname__ if isinstance(default, type) else repr(default)


def _firsts(point: Point) -> Iterator[tuple[str, str, type[object] | None]]:
    """What can come first: (text, what it is, the klass whose keywords go with it)."""
    yield "", "nothing", None
    yield "None", "none", None
    for klass in point.klasses:
        yield _instance(klass), "instance", klass
        yield klass.__qualname__, "class", klass
    other = _other(point).klasses[0]
    yield _instance(other), "other-instance", other
    yield other.__qualname__, "other-class", other
    yield repr(dotted_paths(point.default)[0]), "path", point.default


def _klasses(point: Point) -> Iterator[tuple[str, type[object] | None, str]]:
    """``klass=`` values: (text, the klass it names if any, what it is)."""
    yield "", None, "none"
    for klass in point.klasses:
        yield klass.__qualname__, klass, "class"
        for path in dotted_paths(klass):
            yield repr(path), klass, "path"
    yield point.base.__qualname__, None, "abstract"
    yield _other(point).klasses[0].__qualname__, None, "other-class"
    yield repr(dotted_paths(point.default)[0] + "x"), None, "misspelt-path"
    yield f"_factory_{point.field}", point.default, "factory"
    yield f"functools.partial({point.default.__qualname__})", point.default, "partial"


def _keywords(klass: type[object] | None) -> Iterator[list[str]]:
    required = _required(klass) if klass is not None else []
    yield []
    if required:
        yield required
    yield [*required, "no_such_field=1"]
    if klass is not None and (listed := _list_field(klass)):
        yield [*required, f'{listed}="src"']
    if klass is not None and field_docs(klass):
        first = field_docs(klass)[0]
        yield [*(r for r in required if not r.startswith(f"{first.name}=")), f"{first.name}=1.5"]


def _kind(point: Point, first_kind: str, klass_text: str, klass_kind: str) -> str:
    """Which agreement rule a form falls under (see :class:`Form`)."""
    if klass_kind in {"factory", "partial"}:
        return "klass-not-a-class"
    if first_kind == "none" and klass_kind != "none":
        return "none-first-and-klass"
    if first_kind != "nothing" and klass_text == _default_klass_text(point):
        return "default-klass-given"
    return ""


#: What ``op()`` may be given: (text, kind for :data:`RUN_TIME_ONLY`, or empty).
_OP_SUBJECTS: Final = [
    ("_plain", ""),
    ("lambda: 1", ""),
    ("len", ""),
    ("_Holder().method", ""),
    ("_Holder.method", ""),
    ("_existing_op", ""),
    ("functools.partial(_plain)", ""),
    ("_Callable()", ""),
    ("functools.cache(_plain)", ""),
    ("None", ""),
    ("42", ""),
    ('"_plain"', ""),
    ("_async", "what-the-function-is"),
    ("_async_generator", "what-the-function-is"),
    ("_generator", "what-the-function-is"),
    ("_Holder", "class-to-op"),
]
#: The ways to hand it to ``op()``, each with ``{}`` for the subject.
_OP_WRAPPERS: Final = [
    "op({})",
    "op()({})",
    "op(env=Env())({})",
    'op(description="d")({})',
    "op().with_provisioning(cpu_count=1)({})",
    "op({}, env=Env())",
    "op({}, description=1)",
    "op({}, env=Provisioning())",
    "Op({})",
]


def forms() -> list[Form]:
    """The corpus: every combination above, for every point, then every ``op()`` form."""
    made: list[Form] = []
    for point in POINTS:
        for (first, first_kind, first_klass), (klass_text, klass, klass_kind) in itertools.product(
            _firsts(point), _klasses(point)
        ):
            named = klass or first_klass or (point.default if not first else None)
            for words in _keywords(named):
                arguments = [a for a in (first, f"klass={klass_text}" if klass_text else "", *words) if a]
                code = f"wf.{point.method}({', '.join(arguments)})"
                made.append(Form(code, _kind(point, first_kind, klass_text, klass_kind)))
    for wrapper, (subject, kind) in itertools.product(_OP_WRAPPERS, _OP_SUBJECTS):
        if subject == "None" and wrapper != "op({})":
            continue  # op(None) is op(); a builder or Op given None is a plain wrong type
        made.append(Form(wrapper.format(subject), kind))
    return list(dict.fromkeys(made))


FORMS: Final = forms()

_HEADER: Final = """\
from __future__ import annotations

import functools

from collections.abc import AsyncIterator, Iterator

from lzy.api.v1 import Lzy, Op, op
from lzy.api.v1.env import (
    AutoPythonEnv,
    Container,
    DockerContainer,
    Env,
    ManualPythonEnv,
    NoContainer,
    OnlyLocalPythonEnv,
    Provisioning,
    PythonEnv,
)


def _plain() -> int:
    return 1


async def _async() -> int:
    return 1


async def _async_generator() -> AsyncIterator[int]:
    yield 1


def _generator() -> Iterator[int]:
    yield 1


class _Holder:
    def method(self) -> int:
        return 1


class _Callable:
    def __call__(self) -> int:
        return 1


_existing_op = op(_plain)


def _factory_provisioning() -> Provisioning:
    return Provisioning()


def _factory_python_env() -> AutoPythonEnv:
    return AutoPythonEnv()


def _factory_container(*, image: str) -> DockerContainer:
    return DockerContainer(image=image)


wf = Lzy().workflow("w")
"""


_NAMESPACE: Final[dict[str, object]] = {}
exec(compile(_HEADER, "<corpus header>", "exec"), _NAMESPACE)


@functools.cache
def _run_time(form: Form) -> bool:
    """Whether lzy accepts the call; anything it refuses must be an error of its hierarchy."""
    try:
        exec(compile(form.code, "<corpus>", "exec"), dict(_NAMESPACE))
    except LzyError:
        return False
    return True


def _tool(name: str) -> str:
    executable = shutil.which(name, path=str(Path(sys.executable).parent))
    if executable is None:
        pytest.skip(f"{name} is not installed here; `nox -s typecheck` runs this test")
    return executable


@pytest.fixture(scope="module")
def checked(tmp_path_factory: pytest.TempPathFactory) -> dict[str, set[int]]:
    """The lines of the corpus file each checker reports an error on."""
    directory = tmp_path_factory.mktemp("corpus")
    site = directory / "site"
    shutil.copytree(ROOT / "lzy", site / "lzy", ignore=shutil.ignore_patterns("__pycache__"))
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    for source, target in pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["force-include"].items():
        shutil.copyfile(ROOT / source, site / target)
    corpus = directory / "corpus.py"
    corpus.write_text(_HEADER + "".join(f"{form.code}\n" for form in FORMS), encoding="utf-8")
    first_line = _HEADER.count("\n") + 1
    (directory / "mypy.ini").write_text("[mypy]\nstrict = True\npython_version = 3.11\n", encoding="utf-8")
    config = {"typeCheckingMode": "strict", "pythonVersion": "3.11", "extraPaths": [str(site)]}
    (directory / "pyrightconfig.json").write_text(json.dumps(config), encoding="utf-8")
    runs: dict[str, tuple[list[str], re.Pattern[str]]] = {
        "mypy": (
            [_tool("mypy"), "--config-file", "mypy.ini", "--no-error-summary", "corpus.py"],
            re.compile(r"^corpus\.py:(\d+): error:"),
        ),
        "pyright": (
            [_tool("pyright"), "-p", "pyrightconfig.json", "--pythonpath", sys.executable, "corpus.py"],
            re.compile(r"corpus\.py:(\d+):\d+ - error:"),
        ),
    }
    lines: dict[str, set[int]] = {}
    for checker, (command, pattern) in runs.items():
        done = subprocess.run(
            command,
            cwd=directory,
            env={**os.environ, "MYPYPATH": str(site), "PYRIGHT_PYTHON_IGNORE_WARNINGS": "1"},
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        found = {int(m[1]) - first_line for m in map(pattern.search, done.stdout.splitlines()) if m}
        assert not {n for n in found if n < 0}, f"{checker} reports the corpus's own header:\n{done.stdout}"
        lines[checker] = found
    return lines


def test_the_corpus_covers_every_point_and_both_verdicts() -> None:
    """The corpus is large, names every method, and holds calls lzy accepts and refuses."""
    assert len(FORMS) > 300
    assert {form.code.split("(")[0] for form in FORMS} == {*(f"wf.{p.method}" for p in POINTS), "op", "Op"}
    verdicts = {_run_time(form) for form in FORMS}
    assert verdicts == {True, False}


@pytest.mark.parametrize("checker", ["mypy", "pyright"])
def test_each_checker_accepts_exactly_what_lzy_accepts(checker: str, checked: dict[str, set[int]]) -> None:
    """A call the run time accepts has no error; one it refuses has one, except the forms the
    corpus marks as a rule only one side can check, which must then go that way."""
    disagree: list[str] = []
    for number, form in enumerate(FORMS):
        accepted, reported = _run_time(form), number in checked[checker]
        if form.kind in RUN_TIME_ONLY:
            wrong = accepted  # a checker may see another mistake in it too
        elif form.kind in CHECKERS_ONLY:
            wrong = not reported  # lzy may see another mistake in it too
        else:
            wrong = accepted == reported
        if wrong:
            verdict = "accepts" if accepted else "refuses"
            shown = "reports it" if reported else "does not"
            disagree.append(
                f"lzy {verdict}, {checker} {shown}{f' ({form.kind})' if form.kind else ''}: {form.code}"
            )
    assert disagree == []


def test_run_time_only_rules_are_on_the_typing_page() -> None:
    """Each kind of call only the run time refuses is one the typing page lists."""
    page = (ROOT / "docs" / "typing.rst").read_text(encoding="utf-8")
    listed = {
        "klass-not-a-class": "**A klass that is not a class**",
        "what-the-function-is": "an async function, an async generator or a generator function",
        "class-to-op": "**A class given to** :func:`~lzy.api.v1.op`",
    }
    assert set(RUN_TIME_ONLY) == set(listed)
    for text in listed.values():
        assert text in page
