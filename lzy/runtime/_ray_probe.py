"""Asks whether a Ray head answers at an address, step by step, for
:class:`~lzy.runtime.ray.RayRuntime` before it connects.

Run as a script by this interpreter (``python -P _ray_probe.py ADDRESS RAY_HOME TIMEOUT
[auto]``), in a child process the runtime stops at its deadline: Ray's own connection retries
for many minutes where nothing answers. It prints each step it passed (``resolved``,
``connected``) and then one JSON object: ``{"kind": "ok"}``, or the kind of failure
(``resolve``, ``refused``, ``unreachable``, ``auth``, ``gcs``) with Ray's or the system's words.
Standard library and Ray only: lzy is not imported here.
"""

from __future__ import annotations

import importlib
import json
import socket
import sys

__all__: list[str] = []


def __dir__() -> list[str]:
    return __all__


def _say(kind: str, detail: str = "") -> None:
    print(json.dumps({"kind": kind, "detail": detail}), flush=True)


def _step(name: str) -> None:
    print(name, flush=True)


def probe(address: str, timeout: float, *, automatic: bool) -> None:
    """Resolve the host, connect to the port, then ask the GCS there for its cluster id."""
    host, _, port = address.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    try:
        found = socket.getaddrinfo(host, int(port), type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        _say("resolve", str(error))
        return
    _step("resolved")
    family, kind, protocol, _, where = found[0]
    try:
        with socket.socket(family, kind, protocol) as connection:
            connection.settimeout(timeout)
            connection.connect(where)
    except ConnectionRefusedError as error:
        _say("refused", str(error))
        return
    except OSError as error:
        _say("unreachable", str(error) or type(error).__name__)
        return
    _step("connected")
    if automatic:
        # What ray.init does for an address it found itself: a token on this machine turns on
        # token authentication.
        try:
            setup = importlib.import_module("ray._private.authentication.authentication_token_setup")
            setup.maybe_enable_token_auth_if_token_available(warn_if_disabled=False)
        except Exception:  # Another Ray: ray.init decides as it does.
            pass
    try:
        raylet = importlib.import_module("ray._raylet")
        raylet.GcsClient(address=address)
    except Exception as error:  # Every failure is reported, by its kind.
        kind_name = "auth" if type(error).__name__ == "AuthenticationError" else "gcs"
        _say(kind_name, f"{type(error).__name__}: {error}")
        return
    _say("ok")


def main(argv: list[str]) -> None:
    """``ADDRESS RAY_HOME TIMEOUT [auto]``: RAY_HOME is the directory the caller imports Ray from."""
    address, ray_home, timeout = argv[0], argv[1], float(argv[2])
    sys.path.insert(0, ray_home)
    probe(address, timeout, automatic=argv[3:] == ["auto"])


if __name__ == "__main__":
    main(sys.argv[1:])
