"""The private .netrc through which a local cluster's installers get index credentials."""

from __future__ import annotations

import netrc
import os
import stat
from pathlib import Path

import pytest

from lzy.exceptions import LzyWarning, RuntimeRefusedError
from lzy.runtime._ray_cluster import Netrc


@pytest.fixture
def own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The user's own .netrc, named by NETRC."""
    path = tmp_path / "own-netrc"
    path.write_text("machine files.example login me password mine\ndefault login anon password guest\n")
    monkeypatch.setenv("NETRC", str(path))
    return path


def test_credentials_are_written_privately_beside_the_users_own(own: Path) -> None:
    """The file is 0600 in a 0700 directory, keeps the user's entries and reads back as the
    installers read it."""
    file = Netrc()
    file.add("127.0.0.1", "alice", "pw-1")
    path = Path(file.path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    parsed = netrc.netrc(str(path))
    assert parsed.authenticators("127.0.0.1") == ("alice", "", "pw-1")
    assert parsed.authenticators("files.example") == ("me", "", "mine")
    assert parsed.authenticators("elsewhere.example") == ("anon", "", "guest")
    assert own.read_text().count("machine") == 1
    file.close()
    assert not path.parent.exists()


def test_a_token_without_password_is_a_login_alone(own: Path) -> None:
    """``https://TOKEN@host`` gives a login and no password."""
    file = Netrc()
    file.add("pkgs.example", "tok-123", "")
    assert "machine pkgs.example login tok-123\n" in Path(file.path).read_text()
    file.close()
    del own


def test_one_login_per_host(own: Path) -> None:
    """The same credentials again are fine; others for the same host are refused."""
    file = Netrc()
    file.add("127.0.0.1", "alice", "pw-1")
    file.add("127.0.0.1", "alice", "pw-1")
    with pytest.raises(
        RuntimeRefusedError, match=r"two different credentials for the package index host 127\.0\.0\.1"
    ) as caught:
        file.add("127.0.0.1", "bob", "pw-2")
    assert "pw-2" not in str(caught.value)
    file.close()
    del own


@pytest.mark.parametrize(
    ("login", "password"), [("alice", "two words"), ("al ice", "pw"), ("alice", 'q"uote')]
)
def test_what_a_netrc_cannot_hold_is_refused(own: Path, login: str, password: str) -> None:
    """A user name or password with whitespace or quotes is refused, without showing it."""
    file = Netrc()
    with pytest.raises(RuntimeRefusedError, match=r"cannot be written to a \.netrc") as caught:
        file.add("127.0.0.1", login, password)
    assert password not in str(caught.value)
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


def test_netrc_is_exported_only_while_the_cluster_starts(own: Path) -> None:
    """NETRC names the private file inside the block and the user's own again after it."""
    file = Netrc()
    with file.exported():
        assert os.environ["NETRC"] == file.path
    assert os.environ["NETRC"] == str(own)
    file.close()
