"""Sessions of this project: ``nox -s typecheck`` runs mypy and pyright, both strict."""

import os

import nox

# lzy is installed from a checkout of its repository beside this project, unless the LZY
# environment variable names another path, a wheel file or a requirement.
LZY = os.environ.get("LZY", "../lzy")
# Each checker as pip installs it; pyright[nodejs] brings its own Node.js.
CHECKERS = {"mypy": "mypy>=1.13", "pyright": "pyright[nodejs]>=1.1.390"}


@nox.session
@nox.parametrize("checker", list(CHECKERS))
def typecheck(session: nox.Session, checker: str) -> None:
    """One checker over the project (or the paths after --); both run if one fails."""
    session.install(LZY, CHECKERS[checker])
    session.run(checker, *session.posargs)
