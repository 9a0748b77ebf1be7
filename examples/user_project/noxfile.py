"""The project's sessions: ``nox -s typecheck`` checks it with mypy and pyright (strict)."""

from __future__ import annotations

import os

import nox
from nox.command import CommandFailed

nox.options.default_venv_backend = "venv"

#: What lzy is installed from: its requirement, or a wheel file given in ``LZY_REQUIREMENT``.
LZY = os.environ.get("LZY_REQUIREMENT", "lzy")
CHECKERS = ("mypy>=1.13", "pyright[nodejs]>=1.1.390", "nox>=2024.10.9")


@nox.session
def typecheck(session: nox.Session) -> None:
    """Type-check the project, or the paths given after ``--``, with mypy and then pyright."""
    session.install(LZY, *CHECKERS)
    failed: list[str] = []
    for checker in ("mypy", "pyright"):  # both run, so one session reports every error
        try:
            session.run(checker, *session.posargs)
        except CommandFailed:
            failed.append(checker)
    if failed:
        session.error(f"{' and '.join(failed)} found errors")
