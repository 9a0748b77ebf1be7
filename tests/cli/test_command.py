"""``lzy-env`` end to end: a real process on example files, its JSON checked against its own schemas."""

from __future__ import annotations

import functools
import importlib.metadata
import json
import os
import pty
import shutil
import socket
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from lzy.api.v1.env import (
    Classification,
    DockerContainer,
    EffectiveEnv,
    Env,
    EnvExplorer,
    Exploration,
    Level,
    ManualPythonEnv,
    PackageDecision,
    Provisioning,
    PullPolicy,
    ResolvedEnv,
)
from lzy.env._base import FrozenMap
from tests.container.support import (
    REQUIRED_ENV,
    Pushed,
    Pusher,
    RegistryServer,
    missing_tools,
    non_loopback_address,
)
from tests.explorer.support import IndexServer, wheel

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "cli" / "train.py"


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A directory outside the repository holding a copy of the examples, as a user's project."""
    shutil.copytree(EXAMPLE.parent, tmp_path / "examples" / "cli")
    return tmp_path


def _environment(**extra: str) -> dict[str, str]:
    environment = {
        k: v for k, v in os.environ.items() if k not in {"NO_COLOR", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL"}
    }
    environment.update(PIP_CONFIG_FILE=os.devnull, COLUMNS="120", **extra)
    return environment


def lzy_env(
    *args: str,
    cwd: Path,
    status: int = 0,
    program: Sequence[str] = (sys.executable, "-m", "lzy.env"),
    **env: str,
) -> subprocess.CompletedProcess[str]:
    """Run ``lzy-env`` in a new process and check its exit status."""
    done = subprocess.run(
        [*program, *args],
        cwd=cwd,
        env=_environment(**env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == status, f"exit status {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done


@functools.cache
def _printed_schema(name: str) -> str:
    return lzy_env("schema", name, cwd=ROOT).stdout


def schema(name: str) -> Any:
    """What ``lzy-env schema NAME`` prints (once per test run), checked to be a valid JSON Schema."""
    document: Any = json.loads(_printed_schema(name))
    jsonschema.Draft202012Validator.check_schema(document)
    return document


def check(schema_document: Any, document: object) -> None:
    """Validate ``document`` against ``schema_document`` with jsonschema (draft 2020-12)."""
    validator: Any = jsonschema.Draft202012Validator(schema_document)
    validator.validate(document)


def validated(output: str, name: str) -> Any:
    """``output`` parsed, after a real JSON Schema validator accepted it against ``lzy-env schema NAME``."""
    data: Any = json.loads(output)
    check(schema(name), data)
    return data


def _rows(data: Any) -> dict[str, tuple[str, str]]:
    return {row["path"]: (row["value"], row["level"]) for row in data["rows"]}


# --------------------------------------------------------------------------- explain


def test_explain_shows_the_command_line_winning_over_the_op(workdir: Path) -> None:
    """``explain ... --for train --environ EPOCHS=10``: the op set EPOCHS=3, the row says 10 from CLI."""
    args = (
        "explain",
        "examples/cli/train.py:train",
        "--in",
        "nightly",
        "--for",
        "train",
        "--environ",
        "EPOCHS=10",
    )
    data = validated(lzy_env(*args, "--provisioning.cpu-count", "2", "--json", cwd=workdir).stdout, "explain")
    rows = _rows(data)
    assert rows["environ.EPOCHS"] == ("'10'", "CLI")
    assert rows["provisioning.cpu_count"] == ("2", "CLI")
    assert rows["environ.MODE"] == ("'careful'", "LZY")
    assert rows["python_env"] == ("OnlyLocalPythonEnv", "WORKFLOW")
    assert data["target"] == "op 'train' in workflow 'nightly' (examples/cli/train.py)"

    text = lzy_env(*args, cwd=workdir).stdout
    line = next(line for line in text.splitlines() if line.startswith("environ.EPOCHS"))
    assert line.split() == ["environ.EPOCHS", "'10'", "CLI"]
    assert "\x1b[" not in text


def test_explain_aimed_at_one_op_leaves_the_others_alone(workdir: Path) -> None:
    """Options after ``--for train`` do not touch evaluate, which keeps the op's own values."""
    args = ("--in", "nightly", "--for", "train", "--provisioning.cpu-count", "2", "--json")
    data = validated(
        lzy_env("explain", "examples/cli/train.py:evaluate", *args, cwd=workdir).stdout, "explain"
    )
    assert _rows(data)["provisioning.cpu_count"] == ("1", "OP")


def test_explain_without_in_shows_only_the_ops_levels(workdir: Path) -> None:
    """An op alone: its own level, the command line and the defaults."""
    data = json.loads(lzy_env("explain", "examples/cli/train.py:train", "--json", cwd=workdir).stdout)
    assert {level for _, level in _rows(data).values()} == {"OP", "DEFAULT"}


@pytest.mark.parametrize(
    ("target", "levels"),
    [("nightly", {"LZY", "WORKFLOW", "DEFAULT"}), ("lzy", {"LZY", "DEFAULT"})],
)
def test_explain_a_workflow_or_a_lzy(workdir: Path, target: str, levels: set[str]) -> None:
    """TARGET may be a workflow or a Lzy: their levels are explained without an op's."""
    data = json.loads(lzy_env("explain", f"examples/cli/train.py:{target}", "--json", cwd=workdir).stdout)
    assert {level for _, level in _rows(data).values()} == levels


def test_the_scripts_own_command_line_reading_does_not_interfere(workdir: Path) -> None:
    """The example calls ``Lzy().with_cli_args()`` at import: under lzy-env it reads nothing."""
    done = lzy_env(
        "explain", "examples/cli/train.py:train", "--in", "nightly", "--environ", "MODE=x", cwd=workdir
    )
    assert "usage:" not in done.stderr


def test_a_target_in_an_importable_module(workdir: Path) -> None:
    """``package.module:NAME`` imports the module from the working directory, as ``python -m`` does."""
    package = workdir / "jobs"
    package.mkdir()
    (package / "__init__.py").write_text("", encoding="utf-8")
    (package / "tasks.py").write_text(
        "from lzy.api.v1 import op\n\n@op().with_provisioning(cpu_count=3)\ndef step() -> None: ...\n",
        encoding="utf-8",
    )
    data = json.loads(lzy_env("explain", "jobs.tasks:step", "--json", cwd=workdir).stdout)
    assert _rows(data)["provisioning.cpu_count"] == ("3", "OP")
    assert data["target"] == "op 'step' (jobs.tasks)"


def test_what_a_module_prints_at_import_does_not_spoil_the_json(workdir: Path) -> None:
    """A target that prints while it is imported: that goes to standard error, the JSON is whole."""
    (workdir / "chatty.py").write_text(
        "from lzy.api.v1 import Lzy, op\n\nprint('loading the model registry')\n\n"
        "lzy = Lzy().with_provisioning(cpu_count=2)\nwf = lzy.workflow('w')\n\n"
        "@op\ndef step() -> None: ...\n",
        encoding="utf-8",
    )
    done = lzy_env("explain", "chatty.py:step", "--in", "chatty.py:wf", "--json", cwd=workdir)
    assert _rows(validated(done.stdout, "explain"))["provisioning.cpu_count"] == ("2", "LZY")
    assert done.stderr.count("loading the model registry") == 1


def test_an_unmatched_aim_is_warned_about(workdir: Path) -> None:
    """``--for trian`` (a typo) names nothing here: a warning says its options are not applied."""
    done = lzy_env(
        "explain",
        "examples/cli/train.py:train",
        "--in",
        "nightly",
        "--for",
        "trian",
        "--environ",
        "A=1",
        cwd=workdir,
    )
    assert "--for trian names neither op nor workflow here (nightly, train)" in done.stderr


# --------------------------------------------------------------------------- validate and diff


def test_validate_writes_a_resolved_env_that_matches_the_schema(workdir: Path) -> None:
    """``validate --json``: the report and the resolved env in it match ``lzy-env schema``."""
    done = lzy_env("validate", "examples/cli/train.py:train", "--in", "nightly", "--json", cwd=workdir)
    report = validated(done.stdout, "validate")
    assert report["valid"] is True
    assert [check["point"] for check in report["checks"]] == [
        "provisioning",
        "python_env",
        "container",
        "environ",
    ]
    resolved = report["resolved"]
    check(schema("resolved-env"), resolved)
    assert ResolvedEnv.from_dict(resolved).environ == {"MODE": "careful", "EPOCHS": "3"}
    text = lzy_env("validate", "examples/cli/train.py:train", "--in", "nightly", cwd=workdir).stdout
    assert text.rstrip().endswith("valid")
    assert "local module shipped" in text  # the example itself: it is local code


@pytest.mark.parametrize(
    ("options", "point", "words"),
    [
        (("--provisioning.gpu-count", "2"), "provisioning", "without a gpu_type"),
        (
            (
                "--python-env",
                "manual",
                "--python-env.python-version",
                "3.11",
                "--python-env.pypi-packages",
                "numpy=2.1.0",
                "--python-env.local-module-paths",
                "no/such/dir",
            ),
            "python_env",
            "does not exist",
        ),
    ],
)
def test_validate_exits_1_naming_what_does_not_resolve(
    workdir: Path, options: tuple[str, ...], point: str, words: str
) -> None:
    """An env that does not resolve: exit status 1, the point and the error's own words."""
    args = ("validate", "examples/cli/train.py:train", "--in", "nightly", *options)
    report = validated(lzy_env(*args, "--json", cwd=workdir, status=1).stdout, "validate")
    assert report["valid"] is False
    assert report["resolved"] is None
    failed = [c for c in report["checks"] if c["status"] == "failed"]
    assert [c["point"] for c in failed] == [point]
    assert words in failed[0]["detail"]
    text = lzy_env(*args, cwd=workdir, status=1).stdout
    assert "invalid: 1 of 4 points do not resolve" in text


def test_diff_shows_exactly_the_changed_paths(workdir: Path) -> None:
    """Two resolved envs differing in a resource, a variable and the Python env: those paths only."""
    base = ("validate", "examples/cli/train.py:train", "--in", "nightly", "--json")
    (workdir / "a.json").write_text(lzy_env(*base, cwd=workdir).stdout, encoding="utf-8")
    changed = (
        *("--provisioning.cpu-count", "2", "--environ", "MODE=fast"),
        *(
            "--python-env",
            "manual",
            "--python-env.python-version",
            "3.11",
            "--python-env.pypi-packages",
            "numpy=2.1.0",
        ),
    )
    (workdir / "b.json").write_text(lzy_env(*base, *changed, cwd=workdir).stdout, encoding="utf-8")
    done = lzy_env("diff", "a.json", "b.json", "--json", cwd=workdir, status=1)
    data = validated(done.stdout, "diff")
    changes = {d["path"]: (d["change"], d["a"], d["b"]) for d in data["differences"]}
    local = changes.pop("python_env.local_module_paths")
    assert local[0] == "removed"
    assert str(local[1]).endswith("train.py")
    assert changes == {
        "provisioning.cpu_count": ("changed", 1, 2),
        "python_env.install": ("changed", False, True),
        "python_env.python_version": ("changed", None, "3.11"),
        "python_env.pypi_packages.numpy": ("added", None, "2.1.0"),
        "python_env.decisions[train]": ("removed", changes["python_env.decisions[train]"][1], None),
        "environ.MODE": ("changed", "careful", "fast"),
    }
    text = lzy_env("diff", "a.json", "b.json", cwd=workdir, status=1).stdout
    assert any(line.split() == ["provisioning.cpu_count", "changed", "1", "2"] for line in text.splitlines())
    assert lzy_env("diff", "a.json", "a.json", cwd=workdir).stdout.startswith("no differences")


def test_diff_reads_what_to_json_writes(tmp_path: Path) -> None:
    """``ResolvedEnv.to_json()`` output diffs as well; pins keyed by name, lists by item."""
    first = (Provisioning(cpu_count=2), DockerContainer(image="ubuntu:24.04"))
    second = (
        Provisioning(cpu_count=2, ram_size_gb=8),
        DockerContainer(image="ubuntu:24.04", pull_policy=PullPolicy.NEVER),
    )
    for name, (provisioning, container) in (("a.json", first), ("b.json", second)):
        resolved = ResolvedEnv(
            provisioning=provisioning.requirements(),
            python_env=ManualPythonEnv(python_version="3.11", pypi_packages={}).resolve({}),
            container=container.resolve(),
        )
        (tmp_path / name).write_text(resolved.to_json(), encoding="utf-8")
    data = json.loads(lzy_env("diff", "a.json", "b.json", "--json", cwd=tmp_path, status=1).stdout)
    assert {(d["path"], d["change"], d["a"], d["b"]) for d in data["differences"]} == {
        ("provisioning.ram_size_gb", "changed", None, 8),
        ("container.pull_policy", "changed", "IfNotPresent", "Never"),
    }


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("{not json", "is not JSON"),
        ('{"schema_version": 99}', "schema_version 99"),
        ("[1, 2]", "holds list"),
        ('{"valid": false, "resolved": null}', "holds no env"),
    ],
)
def test_diff_refuses_what_is_not_a_serialized_env(tmp_path: Path, content: str, words: str) -> None:
    """Exit status 2 and a message naming the file when it is not a serialized env."""
    (tmp_path / "bad.json").write_text(content, encoding="utf-8")
    done = lzy_env("diff", "bad.json", "bad.json", cwd=tmp_path, status=2)
    assert "bad.json" in done.stderr
    assert words in done.stderr


def _secret_env(password: str | None, token: str | None) -> ResolvedEnv:
    environ = {"API_TOKEN": token, "MODE": "fast"} if token else {"MODE": "fast"}
    user = "bot" if password else None
    container = DockerContainer(image="ghcr.io/acme/train:1", username=user, password=password)
    env = Env(container=container, environ=environ)
    return EffectiveEnv.from_layers({Level.OP: env}).resolve({})


@pytest.mark.parametrize("as_json", [False, True])
def test_diff_says_a_secret_changed_without_showing_it(tmp_path: Path, as_json: bool) -> None:
    """Envs written with ``include_secrets=True``: a changed password or token is listed, masked."""
    envs = {
        "plain.json": _secret_env(None, None),
        "one.json": _secret_env("hunter2-SECRET", "tok-SECRET"),
        "two.json": _secret_env("other-SECRET", "tok-SECRET"),
    }
    for name, env in envs.items():
        (tmp_path / name).write_text(env.to_json(include_secrets=True), encoding="utf-8")
    json_flag = ("--json",) if as_json else ()
    added = lzy_env("diff", "plain.json", "one.json", *json_flag, cwd=tmp_path, status=1).stdout
    changed = lzy_env("diff", "one.json", "two.json", *json_flag, cwd=tmp_path, status=1).stdout
    assert "SECRET" not in added + changed
    if as_json:
        first = {d["path"]: d for d in validated(added, "diff")["differences"]}
        assert first["container.password"] == {
            "path": "container.password",
            "change": "changed",
            "a": None,
            "b": "***",
            "secret": True,
        }
        assert first["environ.API_TOKEN"]["b"] == "***"
        assert first["container.username"]["secret"] is False
        second = validated(changed, "diff")["differences"]
        assert [(d["path"], d["a"], d["b"], d["secret"]) for d in second] == [
            ("container.password", "***", "***", True)
        ]
    else:
        assert ["container.password", "changed", "null", '"***"'] in [
            line.split() for line in added.splitlines()
        ]
        assert ["environ.API_TOKEN", "added", '"***"'] in [line.split() for line in added.splitlines()]
        assert "*** is a secret, not shown" in changed
    assert lzy_env("diff", "one.json", "one.json", cwd=tmp_path).stdout.startswith("no differences")


#: How a good serialized env is spoiled, and what the refusal says.
SPOILED: list[tuple[Callable[[str], bytes], str]] = [
    (lambda text: text.encode("utf-16"), "is not UTF-8 text (it starts with a UTF-16 byte order mark)"),
    (lambda text: text.replace('"ram_size_gb": null', '"ram_size_gb": NaN').encode(), "NaN is not"),
    (lambda text: text.replace('"cpu_count": 1', '"cpu_count": "lots"').encode(), "cpu_count must be"),
    (lambda text: text.replace('"cpu_count": 1', '"cpu_count": -5').encode(), "positive int, got -5"),
    (lambda text: text.replace('"cpu_count": 1', '"cpu_count": 1' + "0" * 5000).encode(), "is not JSON"),
    (lambda text: text.replace('"environ": {}', '"environ": {"A": 5}').encode(), "environ['A'] must be"),
    (lambda text: ("[" * 100_000).encode(), "is not JSON"),
]


@pytest.mark.parametrize(
    ("write", "words"),
    SPOILED,
    ids=["utf-16", "nan", "string-count", "negative-count", "huge-int", "number-variable", "deep"],
)
def test_diff_checks_its_inputs(tmp_path: Path, write: Callable[[str], bytes], words: str) -> None:
    """A file of another encoding, with NaN, or with values of the wrong type or range: exit 2."""
    resolved = EffectiveEnv.from_layers({Level.OP: Env(provisioning=Provisioning(cpu_count=1))}).resolve({})
    text = json.dumps(resolved.to_dict())
    (tmp_path / "good.json").write_text(text, encoding="utf-8")
    (tmp_path / "bad.json").write_bytes(write(text))
    done = lzy_env("diff", "good.json", "bad.json", cwd=tmp_path, status=2)
    assert done.stderr.startswith("lzy-env: error: bad.json ")
    assert words in done.stderr
    assert "Traceback" not in done.stderr


# --------------------------------------------------------------------------- --check-index


@pytest.fixture
def uses_packaging(workdir: Path) -> str:
    """An op whose code uses ``packaging``, an installed distribution the explorer pins."""
    (workdir / "parse.py").write_text(
        textwrap.dedent(
            """
            import packaging.version

            from lzy.api.v1 import op


            @op
            def newest(versions: list[str]) -> str:
                return str(max(packaging.version.Version(v) for v in versions))
            """
        ),
        encoding="utf-8",
    )
    return "parse.py:newest"


def test_check_index_asks_the_index(workdir: Path, uses_packaging: str) -> None:
    """``--check-index`` looks the pinned distribution up on a real index on loopback."""
    version = importlib.metadata.version("packaging")
    with IndexServer({"packaging": [wheel("packaging", version)]}) as index:
        args = ("validate", uses_packaging, "--python-env.pypi-index-url", index.url(), "--json")
        offline = json.loads(lzy_env(*args, cwd=workdir).stdout)
        assert index.project_requests() == 0
        checked = validated(lzy_env(*args, "--check-index", cwd=workdir).stdout, "validate")
        assert index.requests_for("packaging") >= 1
    for report in (offline, checked):
        assert report["resolved"]["python_env"]["pypi_packages"] == {"packaging": version}
    python = {c["point"]: c["detail"] for c in checked["checks"]}["python_env"]
    assert f"1 pinned by exploring, each found on {index.url()}" in python
    assert "--check-index asks it" in {c["point"]: c["detail"] for c in offline["checks"]}["python_env"]


def test_check_index_says_which_pins_it_did_not_look_up(workdir: Path, uses_packaging: str) -> None:
    """Pins given in additional_pypi_packages are not looked up, and the report says so; with
    nothing explored to pin, it says that the index was not asked rather than that all was found."""
    version = importlib.metadata.version("packaging")
    with IndexServer({"packaging": [wheel("packaging", version)]}) as index:
        forced = (
            "--python-env.pypi-index-url",
            index.url(),
            "--python-env.additional-pypi-packages",
            "attrs=24.2.0",
        )
        done = lzy_env("validate", uses_packaging, "--check-index", *forced, "--json", cwd=workdir)
        assert index.requests_for("attrs") == 0
        nothing = lzy_env(
            "validate", "examples/cli/train.py:train", "--check-index", *forced, "--json", cwd=workdir
        )
    python = {c["point"]: c["detail"] for c in validated(done.stdout, "validate")["checks"]}["python_env"]
    assert f"1 pinned by exploring, each found on {index.url()}" in python
    assert "1 from additional_pypi_packages (attrs) not looked up" in python
    python = {c["point"]: c["detail"] for c in validated(nothing.stdout, "validate")["checks"]}["python_env"]
    assert "the exploration pinned nothing, so nothing was looked up on the index" in python
    assert "found on" not in python


def test_check_index_fails_on_an_unreachable_index(workdir: Path, uses_packaging: str) -> None:
    """An index that does not answer: exit status 1 and the index error's own words."""
    with IndexServer() as index:
        url = index.url()
    done = lzy_env(
        "validate", uses_packaging, "--check-index", "--python-env.pypi-index-url", url, cwd=workdir, status=1
    )
    assert "failed  python_env" in done.stdout
    assert "127.0.0.1" in done.stdout


# --------------------------------------------------------------------------- --check-registry


@pytest.fixture(scope="module")
def registry_storage(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Pushed]:
    """A registry storage directory holding ``lzy/train:1.0`` for linux/amd64."""
    missing = missing_tools()
    if missing:
        reason = f"--check-registry needs a real registry: install {', '.join(missing)}"
        if os.environ.get(REQUIRED_ENV):
            pytest.fail(reason)
        pytest.skip(reason)
    root = tmp_path_factory.mktemp("registry") / "data"
    with RegistryServer(root) as server, Pusher(server.url) as push:
        return root, push.image("lzy/train", "1.0")


@pytest.fixture(scope="module")
def registry(registry_storage: tuple[Path, Pushed]) -> Iterator[tuple[str, Pushed]]:
    """A real distribution registry on loopback holding ``lzy/train:1.0`` for linux/amd64."""
    with RegistryServer(registry_storage[0]) as server:
        yield server.host, registry_storage[1]


def _registry_check(workdir: Path, image: str, *options: str, status: int = 0) -> Any:
    args = ("validate", "examples/cli/train.py:train", "--container.image", image, "--check-registry")
    report = validated(lzy_env(*args, *options, "--json", cwd=workdir, status=status).stdout, "validate")
    return {check["point"]: check for check in report["checks"]}["container"]


def test_check_registry_finds_the_image_and_its_digest(workdir: Path, registry: tuple[str, Pushed]) -> None:
    """``--check-registry`` asks the registry: the image is found, its digest shown."""
    host, pushed = registry
    found = _registry_check(workdir, f"{host}/lzy/train:1.0")
    assert found["status"] == "ok"
    assert pushed.digest in found["detail"]
    assert "for linux/amd64" in found["detail"]
    unasked = lzy_env(
        "validate", "examples/cli/train.py:train", "--container.image", f"{host}/lzy/train:9", cwd=workdir
    )
    assert "the registry was not asked" in " ".join(unasked.stdout.split())


@pytest.mark.parametrize(
    ("image", "options", "words"),
    [
        ("{host}/lzy/train:2.0", (), "2.0"),
        ("{host}/lzy/missing:1.0", (), "lzy/missing"),
        ("{host}/lzy/train:1.0", ("--platform", "linux/arm64"), "linux/arm64"),
        ("{host}/lzy/train:1.0", ("--provisioning.cpu-type", "aarch64"), "linux/arm64"),
    ],
)
def test_check_registry_fails_naming_what_is_missing(
    workdir: Path, registry: tuple[str, Pushed], image: str, options: tuple[str, ...], words: str
) -> None:
    """A missing tag, repository or platform: exit status 1 and the registry error's own words."""
    found = _registry_check(workdir, image.format(host=registry[0]), *options, status=1)
    assert found["status"] == "failed"
    assert words in found["detail"]


def test_check_registry_pins_the_digest(workdir: Path, registry: tuple[str, Pushed]) -> None:
    """With ``--check-registry``, an image with ``pin_digest`` is resolved at its digest."""
    host, pushed = registry
    args = ("validate", "examples/cli/train.py:train", "--container.image", f"{host}/lzy/train:1.0")
    report = validated(
        lzy_env(*args, "--container.pin-digest", "--check-registry", "--json", cwd=workdir).stdout, "validate"
    )
    assert report["resolved"]["container"]["image"] == f"{host}/lzy/train:1.0@{pushed.digest}"


def test_registry_deadline_bounds_the_check(workdir: Path) -> None:
    """``--registry-deadline`` bounds the whole check: a registry that never answers fails within it."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        host = f"127.0.0.1:{listener.getsockname()[1]}"
        found = _registry_check(workdir, f"{host}/lzy/train:1.0", "--registry-deadline", "0.5", status=1)
    assert "did not finish answering within 0.5 s" in found["detail"]


def test_insecure_registry_allows_plain_http_elsewhere(
    workdir: Path, registry_storage: tuple[Path, Pushed]
) -> None:
    """A plain-HTTP registry that is not on this machine's loopback is refused, naming the option
    that allows it; ``--insecure-registry`` does."""
    address = non_loopback_address()
    if address is None:
        pytest.skip("this machine has no address but loopback ones: cannot serve a registry elsewhere")
    with RegistryServer(registry_storage[0], address=address) as server:
        image = f"{server.host}/lzy/train:1.0"
        refused = _registry_check(workdir, image, "--registry-deadline", "10", status=1)
        allowed = _registry_check(workdir, image, "--insecure-registry", server.host)
    assert f"--insecure-registry {server.host}" in refused["detail"]
    assert registry_storage[1].digest in allowed["detail"]


@pytest.mark.parametrize(
    ("option", "value", "words"),
    [
        ("--registry-deadline", "0", "expected a number of seconds > 0, got '0'"),
        ("--registry-deadline", "inf", "expected a number of seconds > 0, got 'inf'"),
        ("--insecure-registry", "http://reg.example", "--insecure-registry must be a registry host"),
    ],
)
def test_bad_registry_options_are_usage_errors(workdir: Path, option: str, value: str, words: str) -> None:
    """A deadline that is not a finite positive number, or a host that is a URL: exit status 2."""
    done = lzy_env("validate", "examples/cli/train.py:train", option, value, cwd=workdir, status=2)
    assert f"argument {option}: " in done.stderr
    assert words in done.stderr


class _Listener:
    """A TCP port on loopback that counts the connections made to it, answering none."""

    def __init__(self) -> None:
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.socket.settimeout(0.1)
        self.port = self.socket.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self.socket.accept()
            except TimeoutError:
                continue
            self.connections += 1
            connection.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.socket.close()


def test_pin_digest_asks_the_registry_only_with_check_registry(workdir: Path) -> None:
    """An op with ``pin_digest=True``: ``validate`` connects to nothing unless --check-registry."""
    listener = _Listener()
    try:
        (workdir / "pinned.py").write_text(
            "from lzy.api.v1 import op\n\n\n"
            f"@op().with_container(image='127.0.0.1:{listener.port}/acme/train:1', pin_digest=True)\n"
            "def pinned() -> int:\n    return 1\n",
            encoding="utf-8",
        )
        done = lzy_env("validate", "pinned.py:pinned", "--json", cwd=workdir)
        assert listener.connections == 0
        container = {c["point"]: c for c in validated(done.stdout, "validate")["checks"]}["container"]
        assert "pins the digest that pin_digest asks for" in container["detail"]
        lzy_env("validate", "pinned.py:pinned", "--check-registry", cwd=workdir, status=1)
        assert listener.connections >= 1
    finally:
        listener.close()


def test_a_bad_platform_is_a_usage_error(workdir: Path) -> None:
    """``--platform linux`` is not os/architecture: argparse's error, exit status 2."""
    done = lzy_env("validate", "examples/cli/train.py:train", "--platform", "linux", cwd=workdir, status=2)
    assert "argument --platform: platform 'linux' is not of the form os/architecture" in done.stderr


# --------------------------------------------------------------------------- schema


def test_every_schema_is_valid_and_says_what_each_field_means(tmp_path: Path) -> None:
    """Each schema is a valid draft 2020-12 schema; each property of the env is described."""
    for name in ("resolved-env", "explain", "validate", "diff"):
        document = schema(name)
        assert document["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    env = schema("resolved-env")
    assert env["properties"]["schema_version"] == {"const": 1, "description": "The version of this layout."}
    for definition in env["$defs"].values():
        for prop in definition["properties"].values():
            assert prop.get("description")


class Decided(EnvExplorer):
    """An explorer with one decision of every kind, so the schema meets every enum value."""

    def explore(self, namespace: Mapping[str, object]) -> Exploration:
        del namespace
        decisions = tuple(
            PackageDecision(name=f"p{i}", version="1.0", classification=kind, reason="test", paths=("/x",))
            for i, kind in enumerate(Classification)
        )
        return Exploration(
            pypi_packages=FrozenMap({"p0": "1.0"}), local_module_paths=("/x",), decisions=decisions
        )


def test_the_schema_accepts_what_to_dict_writes_and_refuses_the_rest(tmp_path: Path) -> None:
    """Real resolved envs validate; an unknown key, a wrong type and a wrong version do not."""
    from lzy.api.v1.env import AutoPythonEnv

    validator: Any = jsonschema.Draft202012Validator(schema("resolved-env"))
    resolved = ResolvedEnv(
        provisioning=Provisioning(cpu_count=2, gpu_type="A100", ram_size_gb=1.5).requirements(),
        python_env=AutoPythonEnv(explorer=Decided).resolve({}),
        container=DockerContainer(image="ubuntu:24.04", username="u", password="canary-pw").resolve(),
        environ={"MODE": "fast", "API_TOKEN": "canary-token"},
    )
    for document in (resolved.to_dict(), resolved.to_dict(include_secrets=True)):
        validator.validate(document)
    good = resolved.to_dict()
    for broken in (
        {**good, "extra": 1},
        {**good, "schema_version": 2},
        {**good, "provisioning": {**good["provisioning"], "cpu_count": "2"}},
        {**good, "container": {**good["container"], "pull_policy": "Sometimes"}},
    ):
        assert not validator.is_valid(broken)


# --------------------------------------------------------------------------- the command itself


def test_the_console_script_is_the_same_command(workdir: Path) -> None:
    """``lzy-env`` (the installed console script) and ``python -m lzy.env`` answer alike."""
    try:
        importlib.metadata.distribution("lzy")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip(
            "lzy is not installed here, so its console script is not either (nox -s tests installs it)"
        )
    script = shutil.which("lzy-env", path=str(Path(sys.executable).parent))
    assert script is not None, (
        "lzy is installed but its lzy-env console script is not next to the interpreter"
    )
    args = ("explain", "examples/cli/train.py:train", "--in", "nightly", "--environ", "A=1")
    assert lzy_env(*args, cwd=workdir, program=[script]).stdout == lzy_env(*args, cwd=workdir).stdout
    assert lzy_env("--version", cwd=workdir, program=[script]).stdout.startswith("lzy-env ")


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("explain", "missing.py:train"), "missing.py is not a file"),
        (("explain", "examples/cli/train.py:trian"), "has no 'trian'; did you mean 'train'?"),
        (("explain", "examples/cli/train.py"), "is a file; name the object in it"),
        (("explain", "examples/cli/train.py:os"), "expected an op, a workflow, a Lzy or an Env"),
        (("explain", "no_such_module:train"), "no module named 'no_such_module'"),
        (("explain", "examples/cli/train.py:nightly", "--in", "lzy"), "--in applies to an op"),
        (("explain", "examples/cli/train.py:train", "--in", "evaluate"), "--in names a workflow or a Lzy"),
        (("explain", "broken.py:op"), "ZeroDivisionError"),
        (("explain", "exits.py:op"), "exited (status 4)"),
    ],
)
def test_inputs_that_do_not_load_exit_2(workdir: Path, args: tuple[str, ...], words: str) -> None:
    """A target that does not load: exit status 2 and what went wrong, the user's traceback included."""
    (workdir / "broken.py").write_text("1 / 0\n", encoding="utf-8")
    (workdir / "exits.py").write_text("import sys\nsys.exit(4)\n", encoding="utf-8")
    done = lzy_env(*args, cwd=workdir, status=2)
    assert done.stderr.startswith("lzy-env: error: ")
    assert words in done.stderr


def test_a_bad_option_exits_2_naming_it(workdir: Path) -> None:
    """argparse's status and message, naming the option and the value."""
    done = lzy_env(
        "explain", "examples/cli/train.py:train", "--provisioning.cpu-count", "-1", cwd=workdir, status=2
    )
    assert (
        "argument --provisioning.cpu-count: Provisioning.cpu_count must be a positive int, got -1"
        in done.stderr
    )
    assert "usage: lzy-env explain" in done.stderr


def test_an_unknown_option_names_the_subcommand_and_the_closest(workdir: Path) -> None:
    """A typo in an option: the subcommand's usage, exit status 2, and the option meant."""
    done = lzy_env("validate", "examples/cli/train.py:train", "--check-indx", cwd=workdir, status=2)
    assert "usage: lzy-env validate" in done.stderr
    assert "unrecognized arguments: --check-indx; did you mean '--check-index'?" in done.stderr


def test_help_lists_commands_and_exit_statuses(tmp_path: Path) -> None:
    """``lzy-env --help`` names the subcommands and documents every exit status."""
    text = lzy_env("--help", cwd=tmp_path).stdout
    for word in (
        "explain",
        "validate",
        "schema",
        "diff",
        "exit status:",
        "  0  ",
        "  1  ",
        "  2  ",
        "  130  ",
    ):
        assert word in text
    explain = lzy_env("explain", "--help", cwd=tmp_path).stdout
    assert "--provisioning.cpu-count N|ANY" in explain
    assert "--in SCOPE" in explain


def _run_on_a_terminal(
    args: Sequence[str], cwd: Path, env: Mapping[str, str], *, typed: tuple[bytes, bytes] | None = None
) -> str:
    """Run with standard input and output on a pseudo-terminal; what it printed. With ``typed``
    (a prompt, an answer), the answer is typed once the prompt is shown."""
    leader, follower = pty.openpty()
    with subprocess.Popen(
        [sys.executable, "-m", "lzy.env", *args],
        cwd=cwd,
        env=_environment(**env),
        stdin=follower,
        stdout=follower,
        stderr=follower,
        start_new_session=True,  # this terminal, not the one running the tests, is its own
    ) as process:
        os.close(follower)
        chunks: list[bytes] = []
        while True:
            if typed is not None and typed[0] in b"".join(chunks):
                os.write(leader, typed[1])
                typed = None
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the terminal closes when the process ends
                break
            if not chunk:
                break
            chunks.append(chunk)
        process.wait(60)
    os.close(leader)
    return b"".join(chunks).decode()


def test_a_password_typed_on_a_terminal_is_prompted_for_and_not_shown(workdir: Path) -> None:
    """``--container.password -`` on a terminal: a prompt, and what is typed is not echoed."""
    args = (
        *("explain", "examples/cli/train.py:train", "--container.image", "a:1"),
        *("--container.username", "u", "--container.password", "-"),
    )
    prompt = b"--container.password (not shown as you type): "
    shown = _run_on_a_terminal(args, workdir, {"NO_COLOR": "1"}, typed=(prompt, b"hunter2-SECRET\n"))
    assert prompt.decode() in shown
    assert "container.password" in shown.split(prompt.decode(), 1)[1]  # the table came after it
    assert "hunter2" not in shown


@pytest.mark.parametrize(("no_color", "coloured"), [(None, True), ("1", False), ("", True)])
def test_colour_only_on_a_terminal_and_never_with_no_color(
    workdir: Path, no_color: str | None, coloured: bool
) -> None:
    """Colour on a TTY unless ``NO_COLOR`` is set to a non-empty value; never when piped."""
    args = ("explain", "examples/cli/train.py:train", "--in", "nightly", "--environ", "A=1")
    env = {"TERM": "xterm"} if no_color is None else {"TERM": "xterm", "NO_COLOR": no_color}
    assert ("\x1b[" in _run_on_a_terminal(args, workdir, env)) is coloured
    assert "\x1b[" not in lzy_env(*args, cwd=workdir, TERM="xterm").stdout
