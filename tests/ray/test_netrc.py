"""The private .netrc through which a local cluster's installers get index credentials."""

from __future__ import annotations

import netrc
import stat
import threading
from pathlib import Path

import pytest

from lzy.exceptions import LzyWarning, RuntimeRefusedError
from lzy.runtime._ray_cluster import Netrc, netrc_problem


@pytest.fixture
def own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The user's own .netrc, named by NETRC."""
    path = tmp_path / "own-netrc"
    path.write_text("machine files.example login me password mine\ndefault login anon password guest\n")
    monkeypatch.setenv("NETRC", str(path))
    return path


def _read(file: Netrc) -> netrc.netrc:
    return netrc.netrc(file.path)


def test_credentials_are_written_privately_beside_the_users_own(own: Path) -> None:
    """The file is 0600 in a 0700 directory, keeps the user's entries (``default`` last, where
    readers stop) and reads back as the installers read it."""
    file = Netrc()
    with file.lent({"127.0.0.1": ("alice", "pw-1")}):
        path = Path(file.path)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        parsed = _read(file)
        assert parsed.authenticators("127.0.0.1") == ("alice", "", "pw-1")
        assert parsed.authenticators("files.example") == ("me", "", "mine")
        assert parsed.authenticators("elsewhere.example") == ("anon", "", "guest")
        assert path.read_text().splitlines()[-1].startswith("default ")
    assert own.read_text().count("machine") == 1
    file.close()
    assert not path.parent.exists()


def test_credentials_are_there_only_while_the_call_runs(own: Path) -> None:
    """After the block (whether it failed or not) the file holds the user's entries alone."""
    file = Netrc()
    before = Path(file.path).read_text()
    during: list[tuple[str, str | None, str | None] | None] = []

    def failing_build() -> None:
        with file.lent({"127.0.0.1": ("alice", "typo")}):
            during.append(_read(file).authenticators("127.0.0.1"))
            raise RuntimeError("the build failed")

    with pytest.raises(RuntimeError, match="the build failed"):
        failing_build()
    assert during == [("alice", "", "typo")]
    assert Path(file.path).read_text() == before
    with file.lent({"127.0.0.1": ("alice", "right")}):
        assert _read(file).authenticators("127.0.0.1") == ("alice", "", "right")
    file.close()
    del own


def test_a_call_gives_its_own_credentials_for_a_host_the_user_has(own: Path) -> None:
    """The URL's credentials win over the user's entry for that host, and the user's come back."""
    file = Netrc()
    with file.lent({"files.example": ("bob", "from-url")}):
        assert _read(file).authenticators("files.example") == ("bob", "", "from-url")
    assert _read(file).authenticators("files.example") == ("me", "", "mine")
    file.close()
    del own


def test_a_token_without_password_is_a_login_alone(own: Path) -> None:
    """``https://TOKEN@host`` gives a login and no password."""
    file = Netrc()
    with file.lent({"pkgs.example": ("tok-123", "")}):
        assert "machine pkgs.example login tok-123\n" in Path(file.path).read_text()
    file.close()
    del own


def test_other_credentials_for_a_host_wait_for_the_call_that_lent_some(own: Path) -> None:
    """Calls with the same credentials share the entry; a call with others for the same host
    waits until no running call needs the first ones, then sees its own."""
    file = Netrc()
    order: list[str] = []
    waiting = threading.Event()
    seen: list[tuple[str, str | None, str | None] | None] = []

    def other() -> None:
        waiting.set()
        with file.lent({"127.0.0.1": ("bob", "pw-2")}):
            order.append("bob")
            seen.append(_read(file).authenticators("127.0.0.1"))

    with file.lent({"127.0.0.1": ("alice", "pw-1")}), file.lent({"127.0.0.1": ("alice", "pw-1")}):
        thread = threading.Thread(target=other)
        thread.start()
        waiting.wait()
        thread.join(0.5)
        assert thread.is_alive()
        order.append("alice")
    thread.join(10)
    assert order == ["alice", "bob"]
    assert seen == [("bob", "", "pw-2")]
    assert "127.0.0.1" not in Path(file.path).read_text()
    file.close()
    del own


@pytest.mark.parametrize(
    ("login", "password"), [("alice", "two words"), ("al ice", "pw"), ("alice", 'q"uote')]
)
def test_what_a_netrc_cannot_hold_is_refused(own: Path, login: str, password: str) -> None:
    """A user name or password with whitespace or quotes is refused, without showing it."""
    problem = netrc_problem("127.0.0.1", login, password)
    assert problem is not None
    assert "cannot be written to a .netrc" in problem
    assert password not in problem
    file = Netrc()
    with (
        pytest.raises(RuntimeRefusedError, match=r"cannot be written to a \.netrc"),
        file.lent({"127.0.0.1": (login, password)}),
    ):
        pass
    file.close()
    del own


def test_an_unreadable_own_netrc_is_a_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A .netrc that does not parse is left out, with a warning that names it."""
    broken = tmp_path / "broken"
    broken.write_text("machine\n")
    monkeypatch.setenv("NETRC", str(broken))
    with pytest.warns(LzyWarning, match=str(broken)):
        file = Netrc()
    assert Path(file.path).read_text() == ""
    file.close()
