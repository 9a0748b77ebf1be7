"""How an op's function, arguments, result and output travel to its process and back, on the
local and the isolated runtime: decorators, methods, other Python versions, the caller's script."""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import cast

import pytest

from lzy.api.v1 import IsolatedRuntime, LocalRuntime, Lzy, Runtime, op
from lzy.api.v1.env import EnvExplorer, Exploration, ManualPythonEnv, OnlyLocalPythonEnv
from lzy.exceptions import NotAnOpError, OpExecutionError, RuntimeRefusedError
from lzy.runtime._python import find_interpreters
from tests.explorer.conftest import prepend_path

RUNNING = f"{sys.version_info.major}.{sys.version_info.minor}"
#: The checkout these tests belong to: scripts they start import this lzy.
ROOT = Path(__file__).resolve().parents[2]


class _Nothing(EnvExplorer):
    """An explorer that finds nothing: these tests list what they ship."""

    def explore(self, namespace: Mapping[str, object]) -> Exploration:
        del namespace
        return Exploration()


def _other_version(oldest: tuple[int, int], newest: tuple[int, int] = (99, 0)) -> str | None:
    running = sys.version_info[:2]
    versions = sorted({tuple(int(p) for p in i.version.split(".")[:2]) for i in find_interpreters()})
    fitting = [v for v in versions if v != running and oldest <= v <= newest]
    return f"{fitting[-1][0]}.{fitting[-1][1]}" if fitting else None


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A directory of the test's own modules on ``sys.path``, forgotten afterwards."""
    root = tmp_path / "project"
    root.mkdir()
    prepend_path(monkeypatch, root)
    before = set(sys.modules)
    yield root
    for name in set(sys.modules) - before:
        if str(getattr(sys.modules[name], "__file__", "") or "").startswith(str(root)):
            del sys.modules[name]


def _module(project: Path, name: str, source: str) -> object:
    (project / f"{name}.py").write_text(textwrap.dedent(source))
    importlib.invalidate_caches()
    return importlib.import_module(name)


def _runtimes(tmp_path: Path) -> list[tuple[str, Runtime]]:
    return [("local", LocalRuntime()), ("isolated", IsolatedRuntime(cache_dir=tmp_path / "cache"))]


DECORATED = """
    import functools
    from lzy.api.v1 import op

    def doubled(function):
        @functools.wraps(function)
        def wrapper(x):
            return 2 * function(x)
        return wrapper

    @op
    @doubled
    def twice(x: int) -> int:
        return x
"""


def test_a_decorator_under_the_op_still_runs(tmp_path: Path, project: Path) -> None:
    """A functools.wraps decorator under @op runs in the op's process, on every runtime and
    under another Python version: the child unwraps the op, not the decorators."""
    module = _module(project, "decorated", DECORATED)
    twice: Callable[[int], int] = getattr(module, "twice")  # noqa: B009
    assert twice(5) == 10  # a plain call, outside a workflow
    local = [str(project / "decorated.py")]
    for _, runtime in _runtimes(tmp_path):
        env = ManualPythonEnv(python_version=RUNNING, pypi_packages={}, local_module_paths=local)
        with Lzy(runtime=runtime).workflow("w").with_python_env(env):
            assert twice(5) == 10
    other = _other_version((3, 11))
    if other is not None:
        env = ManualPythonEnv(python_version=other, pypi_packages={}, local_module_paths=local)
        with Lzy(runtime=IsolatedRuntime(cache_dir=tmp_path / "cache")).workflow("w").with_python_env(env):
            assert twice(5) == 10


METHODS = """
    class Scaler:
        def __init__(self, factor: int) -> None:
            self.factor = factor

        def scale(self, x: int) -> tuple[int, int]:
            import sys
            return self.factor * x, sys.version_info[1]
"""


def test_a_bound_method_runs_with_its_instance_under_another_python(tmp_path: Path, project: Path) -> None:
    """op(instance.method) under another Python version gets its instance (by pickle), not the
    argument in its place."""
    other = _other_version((3, 8))
    if other is None:
        pytest.skip(f"no CPython other than {RUNNING} is installed here (pyenv install one)")
    module = _module(project, "methods", METHODS)
    scaler = getattr(module, "Scaler")(10)  # noqa: B009
    env = ManualPythonEnv(
        python_version=other, pypi_packages={}, local_module_paths=[str(project / "methods.py")]
    )
    with Lzy(runtime=IsolatedRuntime(cache_dir=tmp_path / "cache")).workflow("w").with_python_env(env):
        # A bound method is an op's function like any other (typed Any here: built at run time).
        scale = cast("Callable[[int], tuple[int, int]]", op(scaler.scale))
        value, minor = scale(7)
    assert (value, minor) == (70, int(other.split(".")[1]))


def test_an_op_method_binds_its_instance(tmp_path: Path, project: Path) -> None:
    """@op on a method of a class: called on an instance (also after a with_* method), the
    instance is its first argument."""
    module = _module(
        project,
        "model",
        """
        from lzy.api.v1 import op

        class Model:
            def __init__(self, weight: int) -> None:
                self.weight = weight

            @op
            def predict(self, x: int) -> int:
                return self.weight * x
        """,
    )
    model = getattr(module, "Model")(5)  # noqa: B009
    assert model.predict(3) == 15
    for _, runtime in _runtimes(tmp_path):
        env = ManualPythonEnv(
            python_version=RUNNING, pypi_packages={}, local_module_paths=[str(project / "model.py")]
        )
        with Lzy(runtime=runtime).workflow("w").with_python_env(env):
            assert model.predict(3) == 15
            # with_* on the bound op keep it bound: the instance still comes first.
            assert model.predict.with_environ(MODE="x")(3) == 15


def test_a_module_importing_lzy_is_refused_under_an_old_python_before_any_build(
    tmp_path: Path, project: Path
) -> None:
    """Under Python 3.8 to 3.10 an op whose module imports lzy cannot load (lzy needs 3.11):
    refused before anything is built, saying what to do."""
    old = _other_version((3, 8), (3, 10))
    if old is None:
        pytest.skip("no CPython 3.8 to 3.10 is installed here (pyenv install one)")
    module = _module(project, "newonly", "from lzy.api.v1 import op\n\n@op\ndef f() -> int:\n    return 1\n")
    f: Callable[[], int] = getattr(module, "f")  # noqa: B009
    runtime = IsolatedRuntime(cache_dir=tmp_path / "cache")
    env = ManualPythonEnv(
        python_version=old, pypi_packages={}, local_module_paths=[str(project / "newonly.py")]
    )
    with (
        Lzy(runtime=runtime).workflow("w").with_python_env(env),
        pytest.raises(RuntimeRefusedError) as raised,
    ):
        f()
    assert f"op f cannot run under Python {old}: its module" in str(raised.value)
    assert "imports lzy, which runs on Python 3.11 and newer" in str(raised.value)
    assert runtime.builds == 0


def test_an_op_whose_module_is_not_shipped_could_not_start(tmp_path: Path, project: Path) -> None:
    """The child cannot import the op's module: 'could not start', never 'the op raised'."""
    module = _module(project, "unshipped", "def f() -> int:\n    return 1\n")
    f = cast("Callable[[], int]", op(getattr(module, "f")))  # noqa: B009
    runtime = IsolatedRuntime(cache_dir=tmp_path / "cache")
    other = _other_version((3, 11))
    if other is None:
        pytest.skip(f"no CPython 3.11+ other than {RUNNING} is installed here")
    env = ManualPythonEnv(python_version=other, pypi_packages={})
    with Lzy(runtime=runtime).workflow("w").with_python_env(env), pytest.raises(OpExecutionError) as raised:
        f()
    text = str(raised.value)
    assert "op f could not start in its process: ModuleNotFoundError: No module named 'unshipped'" in text
    assert "ship it as a local module (local_module_paths)" in text


SCRIPT = """
    import dataclasses
    import sys

    from lzy.api.v1 import IsolatedRuntime, Lzy, op
    from lzy.api.v1.env import ManualPythonEnv


    @dataclasses.dataclass
    class Point:
        x: int


    class Refused(Exception):
        pass


    @op
    def move(point: Point) -> Point:
        return Point(point.x + sys.version_info[1])


    @op
    def refuse() -> None:
        raise Refused("no")


    if __name__ == "__main__":
        env = ManualPythonEnv(python_version=sys.argv[1], pypi_packages={})
        with Lzy(runtime=IsolatedRuntime()).workflow("w").with_python_env(env):
            print("moved", move(Point(100)))
            try:
                refuse()
            except Refused as error:
                print("refused", type(error).__name__, error)
"""


def _run_app(
    tmp_path: Path, source: str, how: str, *args: str, **variables: str
) -> subprocess.CompletedProcess[str]:
    """Run ``source`` as the program the caller started: a script file (``how="script"``) or a
    package's ``__main__`` with ``python -m``, in ``tmp_path / "app"`` with this lzy and a
    cache of the test's own, ``args`` after it and ``variables`` in its environment."""
    root = tmp_path / "app"
    (root / "apppkg").mkdir(parents=True)
    (root / "apppkg" / "__init__.py").write_text("")
    (root / "apppkg" / "__main__.py").write_text(textwrap.dedent(source))
    (root / "script.py").write_text(textwrap.dedent(source))
    command = ["-m", "apppkg"] if how == "module" else [str(root / "script.py")]
    environ = {
        **os.environ,
        "LZY_CACHE_DIR": str(tmp_path / "cache"),
        "PYTHONPATH": os.pathsep.join([str(root), str(ROOT)]),
        **variables,
    }
    return subprocess.run(
        [sys.executable, *command, *args], capture_output=True, text=True, env=environ, cwd=root, check=False
    )


@pytest.mark.parametrize("how", ["script", "module"])
def test_objects_of_the_callers_script_come_back_from_another_python(how: str, tmp_path: Path) -> None:
    """A class and an exception of the caller's script (run as a file or with python -m) travel
    to another Python version and back: the child imports the script without running its main
    block, and its objects are the caller's __main__ objects again."""
    other = _other_version((3, 11))
    if other is None:
        pytest.skip(f"no CPython 3.11+ other than {RUNNING} is installed here")
    done = _run_app(tmp_path, SCRIPT, how, other)
    assert done.returncode == 0, done.stderr
    minor = int(other.split(".")[1])
    assert done.stdout.splitlines() == [f"moved Point(x={100 + minor})", "refused Refused no"]


UNGUARDED = """
    import os
    import sys

    from lzy.api.v1 import IsolatedRuntime, Lzy, op
    from lzy.api.v1.env import ManualPythonEnv


    @op
    def minor() -> int:
        print("ran in", sys.version_info[:2])
        return sys.version_info[1]


    env = ManualPythonEnv(python_version=os.environ.get("OTHER_PYTHON", "3.11"), pypi_packages={})
    with Lzy(runtime=IsolatedRuntime()).workflow("unguarded").with_python_env(env):
        print("minor", minor())
"""


@pytest.mark.parametrize("how", ["script", "module"])
def test_a_program_that_runs_workflows_when_imported_is_refused_in_the_ops_process(
    how: str, tmp_path: Path
) -> None:
    """The child imports the caller's script (or python -m module) to find an op bound for
    another Python: a workflow its top level starts there is refused, naming the file and the
    guard to write, and the op never runs twice."""
    other = _other_version((3, 11))
    if other is None:
        pytest.skip(f"no CPython 3.11+ other than {RUNNING} is installed here")
    done = _run_app(tmp_path, UNGUARDED, how, OTHER_PYTHON=other)
    root = tmp_path / "app"
    assert done.returncode == 1, done.stdout
    assert "ran in" not in done.stdout
    shown = "apppkg.__main__" if how == "module" else str(root / "script.py")
    assert (
        f"op minor could not start in its process: lzy.exceptions.WorkflowContextError: workflow"
        f" 'unguarded' cannot start while an op's process imports {shown} to find the op it runs"
    ) in done.stderr
    assert 'if __name__ == "__main__":' in done.stderr


TOP_LEVEL_IMPORT = """
    import os

    import hypothesis  # the program's, not the op's

    from lzy.api.v1 import IsolatedRuntime, Lzy, op
    from lzy.api.v1.env import ManualPythonEnv


    @op
    def double(x: int) -> int:
        return 2 * x


    if __name__ == "__main__":
        env = ManualPythonEnv(python_version=os.environ["OTHER_PYTHON"], pypi_packages={})
        with Lzy(runtime=IsolatedRuntime()).workflow("w").with_python_env(env):
            double(21)
"""


def test_a_failed_import_of_the_callers_script_names_the_script(tmp_path: Path) -> None:
    """Another Python imports the caller's script to find the op: a top-level import the env
    lacks fails there, and the error says the script's imports run in the op's process."""
    other = _other_version((3, 11))
    if other is None:
        pytest.skip(f"no CPython 3.11+ other than {RUNNING} is installed here")
    script = tmp_path / "program.py"
    script.write_text(textwrap.dedent(TOP_LEVEL_IMPORT))
    environ = {
        **os.environ,
        "LZY_CACHE_DIR": str(tmp_path / "cache"),
        "PYTHONPATH": str(ROOT),
        "OTHER_PYTHON": other,
    }
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, env=environ, cwd=tmp_path, check=False
    )
    assert done.returncode == 1
    assert (
        "op double could not start in its process: ModuleNotFoundError: No module named 'hypothesis'"
        in done.stderr
    )
    assert (
        f"The op's process imports the caller's program ({script}) to find the op, and runs its top-level"
        " imports: pin what they need too (pypi_packages), or move those imports into the functions that"
        " use them."
    ) in done.stderr


SIBLING = """
    import os

    from lzy.api.v1 import IsolatedRuntime, Lzy, op
    from lzy.api.v1.env import ManualPythonEnv

    from sibpkg.helper import helper


    @op
    def run_in(x: int) -> int:
        return helper(x)


    if __name__ == "__main__":
        env = ManualPythonEnv(python_version=os.environ["WANTED_PYTHON"], pypi_packages={})
        with Lzy(runtime=IsolatedRuntime()).workflow("w").with_python_env(env):
            print("helped", run_in(5))
"""


@pytest.mark.parametrize("same", [True, False])
def test_the_package_of_python_m_is_shipped_for_either_python(same: bool, tmp_path: Path) -> None:
    """An op of a ``python -m`` package's __main__ that uses a sibling module runs under the
    caller's Python (by value) and under another (by reference): the package is shipped for both."""
    wanted = RUNNING if same else _other_version((3, 11))
    if wanted is None:
        pytest.skip(f"no CPython 3.11+ other than {RUNNING} is installed here")
    root = tmp_path / "app"
    (root / "sibpkg").mkdir(parents=True)
    (root / "sibpkg" / "__init__.py").write_text("")
    (root / "sibpkg" / "helper.py").write_text("def helper(x):\n    return 100 * x\n")
    (root / "sibpkg" / "__main__.py").write_text(textwrap.dedent(SIBLING))
    environ = {
        **os.environ,
        "LZY_CACHE_DIR": str(tmp_path / "cache"),
        "PYTHONPATH": os.pathsep.join([str(root), str(ROOT)]),
        "WANTED_PYTHON": wanted,
    }
    done = subprocess.run(
        [sys.executable, "-m", "sibpkg"],
        capture_output=True,
        text=True,
        env=environ,
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "helped 500"


def test_an_op_sees_a_changed_file_behind_a_symbolic_link(tmp_path: Path, project: Path) -> None:
    """A package whose subdirectory is a link is copied with what the link points to, and an
    edit there is shipped anew."""
    real = tmp_path / "real"
    real.mkdir()
    (real / "word.py").write_text("WORD = 'v1'\n")
    (project / "linked").mkdir()
    (project / "linked" / "__init__.py").write_text("")
    (project / "linked" / "sub").symlink_to(real, target_is_directory=True)

    @op
    def read() -> str:
        return str(getattr(importlib.import_module("linked.sub.word"), "WORD"))  # noqa: B009

    env = ManualPythonEnv(
        python_version=RUNNING, pypi_packages={}, local_module_paths=[str(project / "linked")]
    )
    workflow = Lzy(runtime=IsolatedRuntime(cache_dir=tmp_path / "cache")).workflow("w").with_python_env(env)
    with workflow:
        assert read() == "v1"
    (real / "word.py").write_text("WORD = 'v2'\n")
    with workflow:
        assert read() == "v2"


def test_portions_of_a_namespace_package_are_shipped_together(tmp_path: Path) -> None:
    """Two directories of one namespace package (no __init__.py) are merged in the copy, as the
    import system merges them; two regular packages of one name are refused before any build."""
    for root, module in (("one", "a"), ("two", "b")):
        (tmp_path / root / "nsp").mkdir(parents=True)
        (tmp_path / root / "nsp" / f"{module}.py").write_text(f"NAME = {module!r}\n")

    @op
    def names() -> str:
        return "".join(str(getattr(importlib.import_module(f"nsp.{m}"), "NAME")) for m in "ab")  # noqa: B009

    portions = [str(tmp_path / "one" / "nsp"), str(tmp_path / "two" / "nsp")]
    runtime = IsolatedRuntime(cache_dir=tmp_path / "cache")
    env = ManualPythonEnv(python_version=RUNNING, pypi_packages={}, local_module_paths=portions)
    with Lzy(runtime=runtime).workflow("w").with_python_env(env):
        assert names() == "ab"
    (tmp_path / "one" / "nsp" / "__init__.py").write_text("")
    with (
        Lzy(runtime=runtime).workflow("w").with_python_env(env),
        pytest.raises(RuntimeRefusedError) as raised,
    ):
        names()
    assert "two local modules are both called 'nsp'" in str(raised.value)


def test_an_ops_output_goes_where_the_callers_goes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """What an op prints reaches this process's sys.stdout and sys.stderr (a notebook cell, a
    test's capture), on the local and the isolated runtime."""

    @op
    def talk() -> None:
        print("said to stdout")
        print("said to stderr", file=sys.stderr)

    only_local = OnlyLocalPythonEnv(explorer=_Nothing)
    for kind, runtime in _runtimes(tmp_path):
        with Lzy(runtime=runtime).workflow("w").with_python_env(only_local):
            talk()
        captured = capsys.readouterr()
        assert (captured.out, captured.err) == ("said to stdout\n", "said to stderr\n"), kind


def test_arguments_that_do_not_pickle_are_refused_naming_the_op(tmp_path: Path) -> None:
    """An argument no pickler can carry (a lock) is a refusal naming the op, before any run."""
    import threading

    @op
    def take(value: object) -> None:
        del value

    for _, runtime in _runtimes(tmp_path):
        env = OnlyLocalPythonEnv(explorer=_Nothing)
        with (
            Lzy(runtime=runtime).workflow("w").with_python_env(env),
            pytest.raises(RuntimeRefusedError) as raised,
        ):
            take(threading.Lock())
        assert (
            "op test_arguments_that_do_not_pickle_are_refused_naming_the_op.<locals>.take cannot be sent"
            in str(raised.value)
        )


def test_a_huge_environment_is_an_error_naming_the_op(tmp_path: Path) -> None:
    """A variable larger than the system lets a process start with is said plainly."""

    @op
    def nothing() -> None: ...

    env = OnlyLocalPythonEnv(explorer=_Nothing)
    with (
        Lzy(runtime=LocalRuntime()).workflow("w").with_python_env(env).with_environ(HUGE="x" * 4_000_000),
        pytest.raises(OpExecutionError) as raised,
    ):
        nothing()
    assert "could not start its process" in str(raised.value)
    assert "environment variables are too large" in str(raised.value)


@pytest.mark.parametrize(
    ("source", "fragment"),
    [
        ("async def f():\n    return 1\n", "op got the async function f: an op runs to completion"),
        ("async def f():\n    yield 1\n", "op got the async function f"),
        ("def f():\n    yield 1\n", "op got the generator function f: a generator cannot be sent back"),
        (
            "@classmethod\ndef f(cls):\n    return 1\n",
            "op got a classmethod object; put @op under @classmethod",
        ),
    ],
)
def test_functions_an_op_cannot_be_are_refused_where_written(source: str, fragment: str) -> None:
    """Async functions, generators and classmethod objects are refused by @op with what to do,
    not after they ran."""
    namespace: dict[str, object] = {}
    exec(source, namespace)
    with pytest.raises(NotAnOpError, match=re.escape(fragment)):
        op(namespace["f"])  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue, reportArgumentType]


def test_an_op_of_a_module_loaded_from_a_path_travels_whole(tmp_path: Path) -> None:
    """A plugin loaded with spec_from_file_location cannot be imported by name in the child:
    its op travels by value with the whole module, on the local and the isolated runtime."""
    import importlib.util

    plugin = tmp_path / "team_plugin_ops.py"
    plugin.write_text(
        "from lzy.api.v1 import op\n\nRATE = 3\n\ndef helper(x):\n    return RATE * x\n\n"
        "@op\ndef scaled(x: int) -> int:\n    return helper(x)\n"
    )
    spec = importlib.util.spec_from_file_location("team_plugin_ops", plugin)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["team_plugin_ops"] = module
    try:
        spec.loader.exec_module(module)
        scaled: Callable[[int], int] = getattr(module, "scaled")  # noqa: B009
        for kind, runtime in _runtimes(tmp_path):
            with Lzy(runtime=runtime).workflow("w").with_python_env(OnlyLocalPythonEnv(explorer=_Nothing)):
                assert scaled(5) == 15, kind
    finally:
        del sys.modules["team_plugin_ops"]


SPAWNED = """
    import multiprocessing
    import sys

    from lzy.api.v1 import LocalRuntime, Lzy, op
    from lzy.api.v1.env import EnvExplorer, Exploration, OnlyLocalPythonEnv


    class Nothing(EnvExplorer):
        def explore(self, namespace):
            return Exploration()


    @op
    def square(x: int) -> int:
        return x * x


    def worker(queue) -> None:
        env = OnlyLocalPythonEnv(explorer=Nothing)
        with Lzy(runtime=LocalRuntime()).workflow("child").with_python_env(env):
            queue.put(square(7))


    if __name__ == "__main__":
        context = multiprocessing.get_context("spawn")
        queue = context.Queue()
        process = context.Process(target=worker, args=(queue,))
        process.start()
        print("child got", queue.get(timeout=60))
        process.join(60)
"""


def test_a_spawned_process_runs_ops_of_the_script(tmp_path: Path) -> None:
    """In a multiprocessing child (spawn), the script is __mp_main__: its ops travel by value,
    and a workflow there runs them."""
    script = tmp_path / "spawner.py"
    script.write_text(textwrap.dedent(SPAWNED))
    done = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "child got 49"


def test_the_local_runtime_keeps_the_standard_library_out_of_pythonpath(tmp_path: Path) -> None:
    """The op's PYTHONPATH names what this interpreter added, not its standard library or site
    directories: another Python the op starts must not import this one's."""
    import sysconfig

    @op
    def pythonpath() -> list[str]:
        return os.environ.get("PYTHONPATH", "").split(os.pathsep)

    with Lzy(runtime=LocalRuntime()).workflow("w").with_python_env(OnlyLocalPythonEnv(explorer=_Nothing)):
        entries = pythonpath()
    stdlib = sysconfig.get_paths()["stdlib"]
    assert not [e for e in entries if e.startswith(stdlib)]
    other = _other_version((3, 8))
    if other is not None:
        interpreter = next(i for i in find_interpreters() if i.version.startswith(other + "."))

        @op
        def run_other(python: str) -> int:
            return subprocess.run([python, "-c", "import re, json"], check=False).returncode

        with Lzy(runtime=LocalRuntime()).workflow("w").with_python_env(OnlyLocalPythonEnv(explorer=_Nothing)):
            assert run_other(interpreter.path) == 0


def _exec_defined() -> Callable[[int], int]:
    namespace: dict[str, object] = {"__name__": __name__}
    exec("def cell(x):\n    return x + 1\n", namespace)  # code run as a notebook runs it
    return cast("Callable[[int], int]", namespace["cell"])


def _renamed(function: Callable[[int], int]) -> Callable[[int], int]:
    """A decorator that takes the function's name but keeps no ``__wrapped__``."""

    def wrapper(x: int) -> int:
        return function(x)

    wrapper.__module__ = function.__module__
    wrapper.__qualname__ = function.__qualname__
    wrapper.__name__ = function.__name__
    return wrapper


def _plain(x: int) -> int:
    return x


_LAMBDA: Callable[[int], int] = lambda x: x  # noqa: E731 - a lambda is what is tested


def _nested() -> Callable[[int], int]:
    def inner(x: int) -> int:
        return x

    return inner


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (_exec_defined, "it was defined by code run in a namespace of its own (exec()"),
        (_nested, "it is defined inside a function or as a lambda"),
        (lambda: _LAMBDA, "it is defined inside a function or as a lambda"),
        (lambda: _renamed(_plain), "names something else than the function called"),
    ],
    ids=["exec", "nested", "lambda", "decorated"],
)
def test_what_cannot_travel_to_another_python_is_refused_with_its_reason(
    make: Callable[[], Callable[[int], int]], reason: str, tmp_path: Path
) -> None:
    """A function another interpreter cannot import by name is refused before anything is built,
    with the reason that applies to it."""
    other = _other_version((3, 8))
    if other is None:
        pytest.skip(f"no CPython other than {RUNNING} is installed here")
    runtime = IsolatedRuntime(cache_dir=tmp_path / "cache")
    env = ManualPythonEnv(python_version=other, pypi_packages={})
    with (
        Lzy(runtime=runtime).workflow("w").with_python_env(env),
        pytest.raises(RuntimeRefusedError) as raised,
    ):
        op(make())(1)
    assert f"cannot run under Python {other}: only a function of a module travels to another Python" in str(
        raised.value
    )
    assert reason in str(raised.value)
    assert runtime.builds == 0
