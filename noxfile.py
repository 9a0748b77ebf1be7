"""Development sessions: ``nox`` runs tests, type checks, lint and the docs build."""

from __future__ import annotations

import functools
import itertools
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import nox
from nox.command import CommandFailed

nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = True
nox.options.sessions = ["tests", "tests_explorer", "ray", "typecheck", "lint", "docs"]

PYPROJECT = nox.project.load_toml("pyproject.toml")


def _expose_pyenv_pythons(versions: list[str]) -> None:
    """Let pyenv's shims answer ``python3.12`` and the like for every installed version wanted.

    pyenv resolves a shim through ``PYENV_VERSION`` (several versions joined by ``:``, the first
    one answering ``python3``); with only the selected version there, nox would find no other
    interpreter. The selected version stays first.
    """
    pyenv = shutil.which("pyenv")
    if pyenv is None:
        return
    run = functools.partial(subprocess.run, capture_output=True, text=True, check=False)
    selected = os.environ.get("PYENV_VERSION") or run([pyenv, "version-name"]).stdout.strip()
    installed = run([pyenv, "versions", "--bare"]).stdout.split()
    chosen = [v for v in selected.split(":") if v]
    for version in versions:
        matching = sorted(
            (v for v in installed if v.startswith(f"{version}.") and v.replace(".", "").isdigit()),
            key=lambda v: tuple(int(p) for p in v.split(".")),
        )
        if matching and matching[-1] not in chosen:
            chosen.append(matching[-1])
    if chosen:
        os.environ["PYENV_VERSION"] = ":".join(chosen)


PYTHON = "3.11"
#: Every CPython the project supports: ``importlib.metadata`` differs from one to the next.
SUPPORTED_PYTHONS = ["3.11", "3.12", "3.13"]
_expose_pyenv_pythons(SUPPORTED_PYTHONS)


def _install(session: nox.Session, *groups: str, editable: bool = True) -> None:
    """Install the project (editable unless asked otherwise) and the named dependency groups."""
    requirements = [r for group in groups for r in nox.project.dependency_groups(PYPROJECT, group)]
    session.install("-e." if editable else ".", *requirements)


#: Debian packages the registry tests run: the distribution registry, htpasswd, openssl.
REGISTRY_PACKAGES = {"docker-registry": "docker-registry", "htpasswd": "apache2-utils", "openssl": "openssl"}


def _registry_tools(session: nox.Session) -> dict[str, str]:
    """Install what the registry tests need when missing (as root, with apt-get); the variables
    that make those tests fail rather than skip when it is installed."""
    missing = sorted({package for tool, package in REGISTRY_PACKAGES.items() if shutil.which(tool) is None})
    if missing and getattr(os, "geteuid", lambda: -1)() == 0 and shutil.which("apt-get"):
        apt = {"DEBIAN_FRONTEND": "noninteractive"}
        session.run("apt-get", "update", "-qq", env=apt, external=True)
        session.run(
            "apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing, env=apt, external=True
        )
        missing = sorted(
            {package for tool, package in REGISTRY_PACKAGES.items() if shutil.which(tool) is None}
        )
    if missing:
        session.warn(
            f"the registry tests will be skipped: {', '.join(missing)} not installed"
            f" (sudo apt-get install {' '.join(missing)})"
        )
        return {}
    return {"LZY_TEST_REGISTRY_REQUIRED": "1"}


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Run the test suite (installing Debian's docker-registry and apache2-utils when root)."""
    _install(session, "test")
    env = _registry_tools(session)
    # The editor and user-project tests need the checkers and language servers: the typecheck
    # session installs those and runs them. The Ray tests need Ray: the ray session runs them.
    elsewhere = (
        "tests/test_completion.py",
        "tests/test_user_project.py",
        "tests/test_checkers_agree.py",
        "tests/ray",
    )
    session.run("pytest", *(f"--ignore={path}" for path in elsewhere), *session.posargs, env=env)


@nox.session(python=PYTHON)
def ray(session: nox.Session) -> None:
    """Run the Ray runtime's tests on local Ray clusters the tests start (``pip install 'lzy[ray]'``)."""
    requirements = nox.project.dependency_groups(PYPROJECT, "test")
    session.install("-e.[ray]", *requirements)
    session.run("pytest", "tests/ray", *session.posargs)


@nox.session(python=SUPPORTED_PYTHONS)
def tests_explorer(session: nox.Session) -> None:
    """Run the explorer's tests on every supported CPython."""
    _install(session, "test")
    session.run("pytest", "tests/explorer", *session.posargs)


@nox.session(python=PYTHON)
def typecheck(session: nox.Session) -> None:
    """Type-check the package, the stubs, the tests and this file with mypy and pyright (strict)."""
    _install(session, "typecheck")
    session.run("python", "-m", "lzy.env._stubgen", "--check")
    # The implementation: lzy/ (and this file) as written.
    session.run("mypy")
    # The stubs, and the tests as a user's checker sees lzy: lzy.env.owner is the stub.
    session.run("mypy", "stubs", "tests")
    _stubtest(session)
    session.run("pyright")
    # Both checkers against the run time on every form of a with_* call, completion in editors,
    # and a user's project checked against the built wheel.
    session.run(
        "pytest",
        "tests/test_stubs.py",
        "tests/test_checkers_agree.py",
        "tests/test_completion.py",
        "tests/test_user_project.py",
        *session.posargs,
    )


def _stubtest(session: nox.Session) -> None:
    """Compare the stubs with the runtime modules they describe (mypy.stubtest).

    stubs/ has no ``__init__.pyi`` so that checkers fall back to lzy/ for modules without a
    stub; stubtest finds a stub only inside a package, so it gets a copy with empty markers.
    """
    with tempfile.TemporaryDirectory() as copy:
        shutil.copytree("stubs", copy, dirs_exist_ok=True)
        for package in ("lzy", "lzy/env"):
            (Path(copy) / package / "__init__.pyi").touch()
        session.run(
            "python",
            "-m",
            "mypy.stubtest",
            "lzy.env.owner",
            "--allowlist=stubs/stubtest-allowlist.txt",
            env={"MYPYPATH": copy},
        )


@nox.session(python=PYTHON)
def stubs(session: nox.Session) -> None:
    """Regenerate stubs/ from the fields of each built-in klass (``-- --check`` only compares)."""
    _install(session)
    session.run("python", "-m", "lzy.env._stubgen", *session.posargs)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """Lint with ruff."""
    _install(session, "lint")
    session.run("ruff", "check", ".")
    # The examples are left out: a formatter joins a short chain of with_* calls onto one line,
    # and the docs recommend one call per line (tests/test_docs_style.py checks them instead).
    session.run(
        "ruff", "format", "--check", "lzy", "stubs", "tests", "noxfile.py", "docs/conf.py", "docs/_ext"
    )


def _chromium(session: nox.Session) -> None:
    """Install Debian's chromium when missing (as root, with apt-get): the docs build renders each
    page with it to check that nothing is cut off at 1280 px, and skips that check without it."""
    browsers = ("chromium", "chromium-browser", "google-chrome")
    if any(shutil.which(name) for name in browsers):
        return
    if getattr(os, "geteuid", lambda: -1)() == 0 and shutil.which("apt-get"):
        apt = {"DEBIAN_FRONTEND": "noninteractive"}
        install = ("apt-get", "install", "-y", "-qq", "--no-install-recommends", "chromium")
        try:
            session.run("apt-get", "update", "-qq", env=apt, external=True)
            session.run(*install, env=apt, external=True)
        except CommandFailed:  # no package archive here: the rest of the build still runs
            session.warn("the pages' layout is not checked: apt-get could not install chromium")
    else:
        session.warn("the pages' layout is not checked: chromium is missing (sudo apt-get install chromium)")


@nox.session(python=PYTHON)
def docs(session: nox.Session) -> None:
    """Build the HTML docs (each page checked in Chromium at 1280 px) and run their examples; any
    warning fails."""
    _install(session, "docs")
    _chromium(session)
    build = ("sphinx-build", "-E", "-W", "-n", "--keep-going")
    session.run(*build, "-b", "html", "docs", "docs/_build/html")
    session.run(*build, "-b", "doctest", "docs", "docs/_build/doctest")


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Run the benchmarks, ``tests/bench/bench_*.py`` (not part of the test suite): importing the
    API against the previous generation's import, layering envs against ``dataclasses.replace``,
    the explorer against the previous generation's, the isolated runtime against plain
    subprocesses and uv; then Ray tasks (``bench_ray``, a session of its own).

    Each prints its numbers and its ratios against the reference it names. ``nox -s bench --
    explorer`` runs those whose file name contains ``explorer``; arguments from the first one
    starting with ``-`` on are passed to each script.
    """
    _install(session, "bench")
    names = list(itertools.takewhile(lambda arg: not arg.startswith("-"), session.posargs))
    options = session.posargs[len(names) :]
    # envzy needs packaging<24 and Ray packaging>=24.2: the Ray benchmark has an env of its own.
    scripts = [
        script for script in sorted(Path("tests/bench").glob("bench_*.py")) if script.stem != "bench_ray"
    ]
    chosen = [script for script in scripts if not names or any(name in script.stem for name in names)]
    for script in chosen:
        session.run("python", str(script), *options)
    if not names or any(name in "bench_ray" for name in names):
        session.notify("bench_ray")
    elif not chosen:
        session.error(f"no benchmark matches {names}; there are {[script.stem for script in scripts]}")


@nox.session(python=PYTHON)
def bench_ray(session: nox.Session) -> None:
    """Time a Ray task with a built runtime_env, and an op through RayRuntime, against a bare task."""
    session.install("-e.[ray]")
    session.run("python", "tests/bench/bench_ray.py", *session.posargs)
