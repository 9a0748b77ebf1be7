"""An adversarial corpus of command lines, each with the exit status it must give.

Every line runs ``lzy-env`` in this process on a project of example files. Whatever it is given,
the command ends with a documented exit status, never a traceback of its own; what it prints
holds no secret given to it and no terminal escape; and what ``--json`` writes is valid against
the schema ``lzy-env schema`` prints.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
from collections.abc import Generator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from lzy.api.v1.env import DockerContainer, EffectiveEnv, Env, Level, ManualPythonEnv, Provisioning
from lzy.env import _command, cli

#: A secret given on some command lines: it must never be printed.
CANARY = "canary-5ecret"

OPS = '''
from lzy.api.v1 import Lzy, op
from lzy.api.v1.env import Env, OnlyLocalPythonEnv

lzy = Lzy().with_python_env(klass=OnlyLocalPythonEnv)
nightly = lzy.workflow("nightly").with_environ(MODE="careful")
base = Env(environ={"A": "1"})
answer = 42


@(op().with_provisioning(cpu_count=1).with_environ(EPOCHS="3"))
def train() -> str:
    return "trained"


@op
def evaluate() -> str:
    return "evaluated"


class Trainer:
    @op
    def fit(self) -> str:
        return "fit"


def plain() -> None:
    """Not an op."""
'''


def _write_env(path: Path, env: Env) -> None:
    path.write_text(EffectiveEnv.from_layers({Level.OP: env}).resolve({}).to_json(), encoding="utf-8")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example files, the serialized envs and the spoiled ones."""
    root = tmp_path_factory.mktemp("project")
    (root / "ops.py").write_text(OPS, encoding="utf-8")
    (root / "a:b").mkdir()
    (root / "a:b" / "c.py").write_text(OPS, encoding="utf-8")
    (root / "jobs").mkdir()
    (root / "jobs" / "__init__.py").write_text("", encoding="utf-8")
    (root / "jobs" / "nightly.py").write_text(OPS, encoding="utf-8")
    (root / "broken.py").write_text("1 / 0\n", encoding="utf-8")
    (root / "exits.py").write_text("import sys\nsys.exit(4)\n", encoding="utf-8")
    (root / "syntax.py").write_text("def (:\n", encoding="utf-8")
    (root / "interrupted.py").write_text("raise KeyboardInterrupt\n", encoding="utf-8")
    (root / "notes.txt").write_text("not python\n", encoding="utf-8")
    manual = ManualPythonEnv(python_version="3.12", pypi_packages={"numpy": "2.1.0"})
    _write_env(root / "a.json", Env(provisioning=Provisioning(cpu_count=1), python_env=manual))
    _write_env(
        root / "b.json",
        Env(provisioning=Provisioning(cpu_count=2), python_env=manual, environ={"MODE": "fast"}),
    )
    secret = DockerContainer(image="ghcr.io/acme/train:1", username="bot", password=CANARY)
    resolved = EffectiveEnv.from_layers(
        {Level.OP: Env(container=secret, environ={"API_TOKEN": CANARY})}
    ).resolve({})
    (root / "secret.json").write_text(resolved.to_json(include_secrets=True), encoding="utf-8")
    # A package's name, as a hostile serialized env may carry it, with escapes that clear the
    # screen and set the terminal's title: refused as no distribution name, shown escaped.
    (root / "escape.json").write_text(
        (root / "a.json").read_text().replace('"numpy"', '"nu\\u001b[2Jmpy\\u001b]0;title\\u0007"'),
        encoding="utf-8",
    )
    (root / "list.json").write_text("[1, 2]", encoding="utf-8")
    (root / "object.json").write_text('{"a": 1}', encoding="utf-8")
    (root / "empty.json").write_text("", encoding="utf-8")
    (root / "null.json").write_text("null", encoding="utf-8")
    (root / "nan.json").write_text(
        (root / "a.json").read_text().replace('"ram_size_gb": null', '"ram_size_gb": NaN')
    )
    (root / "utf16.json").write_bytes((root / "a.json").read_text().encode("utf-16"))
    (root / "latin1.json").write_bytes(b'{"environ": {"caf\xe9": "1"}}')
    (root / "deep.json").write_text("[" * 100_000, encoding="utf-8")
    (root / "wrong-type.json").write_text(
        (root / "a.json").read_text().replace('"cpu_count": 1', '"cpu_count": "lots"'), encoding="utf-8"
    )
    (root / "invalid-report.json").write_text('{"valid": false, "resolved": null}', encoding="utf-8")
    with open(root / "huge.json", "wb") as huge:  # sparse: large, but nothing on disk
        huge.truncate(_command.MAX_ENV_BYTES + 1)
    (root / "directory.json").mkdir()
    return root


#: (command line, exit status, words the output must hold). ``{CANARY}`` is the secret.
CORPUS: list[tuple[str, int, str]] = [
    # ------------------------------------------------------------------ the command itself
    ("", 2, "the following arguments are required: COMMAND"),
    ("--version", 0, "lzy-env "),
    ("--help", 0, "exit status:"),
    ("frobnicate", 2, "invalid choice: 'frobnicate'"),
    ("--json", 2, "the following arguments are required: COMMAND"),
    ("explain", 2, "the following arguments are required: TARGET"),
    ("explain --help", 0, "--provisioning.cpu-count N|ANY"),
    ("validate --help", 0, "--check-registry"),
    ("diff --help", 0, "A.json"),
    ("schema --help", 0, "resolved-env"),
    # ------------------------------------------------------------------ schema
    ("schema", 0, '"$schema"'),
    ("schema resolved-env", 0, '"title"'),
    ("schema explain", 0, "lzy-env explain --json"),
    ("schema validate", 0, "lzy-env validate --json"),
    ("schema diff", 0, "lzy-env diff --json"),
    ("schema nothing", 2, "invalid choice: 'nothing'"),
    ("schema explain diff", 2, "unrecognized arguments"),
    # ------------------------------------------------------------------ explain: targets
    ("explain ops.py:train", 0, "op 'train' (ops.py)"),
    ("explain ops.py:train --json", 0, '"rows"'),
    ("explain ops.py:evaluate --in nightly", 0, "op 'evaluate' in workflow 'nightly'"),
    ("explain ops.py:train --in ops.py:nightly --json", 0, '"WORKFLOW"'),
    ("explain ops.py:nightly", 0, "workflow 'nightly'"),
    ("explain ops.py:lzy", 0, "Lzy 'lzy'"),
    ("explain ops.py:base", 0, "env 'base'"),
    ("explain ops.py:Trainer.fit", 0, "op 'Trainer.fit'"),
    ("explain a:b/c.py:train", 0, "op 'train' (a:b/c.py)"),
    ("explain jobs.nightly:train", 0, "op 'train' (jobs.nightly)"),
    ("explain jobs.nightly:train --json", 0, '"target"'),
    ("explain ops.py:trian", 2, "has no 'trian'; did you mean 'train'?"),
    ("explain ops.py:Trainer.fiit", 2, "has no 'fiit'"),
    ("explain ops.py:answer", 2, "answer is 42 (int); expected an op, a workflow, a Lzy or an Env"),
    ("explain ops.py:plain", 2, "expected an op, a workflow, a Lzy or an Env"),
    ("explain ops.py", 2, "ops.py is a file; name the object in it: ops.py:OBJECT"),
    ("explain a:b/c.py", 2, "a:b/c.py is a file; name the object in it: a:b/c.py:OBJECT"),
    ("explain jobs.nightly", 2, "is not FILE_OR_MODULE:OBJECT (for example train.py:train)"),
    ("explain ops.py:", 2, "is not FILE_OR_MODULE:OBJECT"),
    ("explain :train", 2, "is not FILE_OR_MODULE:OBJECT"),
    ("explain missing.py:train", 2, "missing.py is not a file"),
    ("explain directory.json:train", 2, "no module named 'directory.json'"),
    ("explain notes.txt:train", 2, "cannot be imported as a Python module"),
    ("explain no_such_module:train", 2, "no module named 'no_such_module'"),
    ("explain jobs.missing:train", 2, "no module named 'jobs.missing'"),
    ("explain broken.py:op", 2, "ZeroDivisionError"),
    ("explain syntax.py:op", 2, "SyntaxError"),
    ("explain exits.py:op", 2, "exited (status 4)"),
    ("explain interrupted.py:op", 130, ""),
    ("explain ops.py:nightly --in lzy", 2, "--in applies to an op"),
    ("explain ops.py:train --in evaluate", 2, "--in names a workflow or a Lzy"),
    ("explain ops.py:train --in nowhere", 2, "has no 'nowhere'"),
    ("explain ops.py:train --in", 2, "expected one argument"),
    ("explain ops.py:train extra", 2, "unrecognized arguments: ***"),
    # ------------------------------------------------------------------ explain: env options
    ("explain ops.py:train --provisioning.cpu-count 4", 0, "CLI"),
    ("explain ops.py:train --provisioning.cpu-count=4 --json", 0, '"CLI"'),
    ("explain ops.py:train --provisioning.cpu-count ANY", 0, "ANY"),
    ("explain ops.py:train --provisioning.cpu-count any", 0, "ANY"),
    ("explain ops.py:train --provisioning.ram-size-gb 0.5", 0, "0.5"),
    ("explain ops.py:train --provisioning.ram-size-gb 1e1", 0, "10.0"),
    ("explain ops.py:train --provisioning.gpu-type A100 --provisioning.gpu-count 2", 0, "'A100'"),
    ("explain ops.py:train --environ MODE=fast --environ EMPTY=", 0, "environ.EMPTY"),
    ("explain ops.py:train --environ A=1 --environ A=2 --json", 0, "'2'"),
    ("explain ops.py:train --environ EQ=a=b", 0, "'a=b'"),
    ("explain ops.py:train --environ HOME", 0, "environ.HOME"),
    ("explain ops.py:train --python-env local", 0, "OnlyLocalPythonEnv"),
    (
        "explain ops.py:train --python-env manual --python-env.python-version 3.12"
        " --python-env.pypi-packages a=1",
        0,
        "ManualPythonEnv",
    ),
    (
        "explain ops.py:train --python-env Manual --python-env.python-version 3.12"
        " --python-env.pypi-packages a=1",
        0,
        "Manual",
    ),
    (
        "explain ops.py:train --python-env ManualPythonEnv --python-env.python-version 3.12"
        " --python-env.pypi-packages a=1",
        0,
        "Manual",
    ),
    (
        "explain ops.py:train --python-env lzy.env.python.manual.ManualPythonEnv"
        " --python-env.python-version 3.12 --python-env.pypi-packages a=1",
        0,
        "ManualPythonEnv",
    ),
    (
        "explain ops.py:train --python-env manual --python-env.python-version 3.12"
        " --python-env.pypi-packages numpy==2.1.0 --python-env.pypi-packages attrs=24.2.0",
        0,
        "numpy",
    ),
    ("explain ops.py:train --python-env.additional-pypi-packages numpy=2.1.0", 0, "numpy"),
    ("explain ops.py:train --python-env.exclude-packages torch --python-env.exclude-packages jax", 0, "jax"),
    ("explain ops.py:train --python-env.raise-on-binaries", 0, "raise_on_binaries"),
    ("explain ops.py:train --python-env.raise-on-binaries off", 0, "False"),
    ("explain ops.py:train --python-env.pypi-index-url https://mirror.example/simple", 0, "mirror.example"),
    ("explain ops.py:train --container docker --container.image ubuntu:24.04", 0, "ubuntu:24.04"),
    (
        "explain ops.py:train --container.image ubuntu:24.04 --container.pull-policy always",
        0,
        "PullPolicy.ALWAYS",
    ),
    (
        "explain ops.py:train --container.image ubuntu:24.04 --container.pull-policy if-not-present",
        0,
        "IF_NOT_PRESENT",
    ),
    ("explain ops.py:train --container none", 0, "NoContainer"),
    ("explain ops.py:train --for train --provisioning.cpu-count 8", 0, "8"),
    ("explain ops.py:train --for evaluate --provisioning.cpu-count 8", 0, "names neither op nor workflow"),
    ("explain ops.py:Trainer.fit --for fit --environ A=1", 0, "environ.A"),
    ("explain ops.py:evaluate --in nightly --for nightly --environ A=1", 0, "environ.A"),
    # ------------------------------------------------------------------ explain: bad values
    ("explain ops.py:train --provisioning.cpu-count 0", 2, "argument --provisioning.cpu-count"),
    ("explain ops.py:train --provisioning.cpu-count -1", 2, "positive int, got -1"),
    ("explain ops.py:train --provisioning.cpu-count four", 2, "invalid value 'four'"),
    ("explain ops.py:train --provisioning.cpu-count 4.5", 2, "expected an int"),
    ("explain ops.py:train --provisioning.cpu-count \u0664", 2, "ASCII digits"),
    ("explain ops.py:train --provisioning.cpu-count", 2, "expected one argument"),
    ("explain ops.py:train --provisioning.ram-size-gb nan", 2, "decimal number"),
    ("explain ops.py:train --provisioning.ram-size-gb inf", 2, "decimal number"),
    ("explain ops.py:train --provisioning.ram-size-gb -1", 2, "argument --provisioning.ram-size-gb"),
    ("explain ops.py:train --provisioning.gpu-count 2", 0, "gpu_count"),
    ("explain ops.py:train --python-env.raise-on-binaries maybe", 2, "expected true or false"),
    ("explain ops.py:train --container.image ubuntu --container.pull-policy sometimes", 2, "invalid choice"),
    ("explain ops.py:train --container.image 'UPPER/Case'", 2, "argument --container.image"),
    ("explain ops.py:train --container.username bob", 2, "requires --container.image"),
    ("explain ops.py:train --python-env manual", 2, "requires --python-env.python-version"),
    (
        "explain ops.py:train --python-env manual --python-env.python-version three"
        " --python-env.pypi-packages a=1",
        2,
        "python_version",
    ),
    ("explain ops.py:train --python-env conda", 2, "invalid klass 'conda'"),
    ("explain ops.py:train --python-env os.path", 2, "invalid klass"),
    (
        "explain ops.py:train --python-env local --python-env.pypi-index-url https://x.example/simple",
        2,
        "has no field",
    ),
    ("explain ops.py:train --python-env.pypi-packages numpy=1", 2, "has no field"),
    ("explain ops.py:train --python-env.additional-pypi-packages numpy", 2, "expected KEY=VALUE"),
    ("explain ops.py:train --python-env.additional-pypi-packages =1.0", 2, "non-empty KEY"),
    ("explain ops.py:train --python-env.pypi-index-url ftp://x", 2, "argument --python-env.pypi-index-url"),
    ("explain ops.py:train --python-env.pypi-index-url env:LZY_CORPUS_UNSET", 2, "is not set"),
    ("explain ops.py:train --python-env.explorer no.such.factory", 2, "does not import"),
    ("explain ops.py:train --python-env.explorer os.sep", 2, "is not callable"),
    ("explain ops.py:train --environ =x", 2, "non-empty KEY"),
    ("explain ops.py:train --environ LZY_CORPUS_UNSET", 2, "is not set in this environment"),
    ("explain ops.py:train --environ 'A B=1'", 2, "variable name 'A B' is not allowed"),
    ("explain ops.py:train --for", 2, "expected one argument"),
    ("explain ops.py:train --for ' ' --environ A=1", 2, "expected the name of an op or a workflow"),
    # ------------------------------------------------------------------ explain: mistyped options
    ("explain ops.py:train --provisioning.cpu-c 2", 2, "an option is written in full"),
    ("explain ops.py:train --prov 2", 2, "an option is written in full"),
    ("explain ops.py:train --provisioning.cpu_count 2", 2, "did you mean '--provisioning.cpu-count'?"),
    ("explain ops.py:train --Provisioning.cpu-count 2", 2, "did you mean '--provisioning.cpu-count'?"),
    ("explain ops.py:train --enviorn A=1", 2, "did you mean '--environ'?"),
    ("explain ops.py:train \u2014environ A=1", 2, "(em dash), not '--'"),
    ("explain ops.py:train -environ A=1", 2, "starts with 1 '-' where a long option has 2"),
    ("explain ops.py:train --json=yes", 2, "ignored explicit argument"),
    ("explain ops.py:train -- --environ A=1", 2, "comes after '--', which ends the options"),
    ("explain --environ A=1 ops.py:train", 0, "environ.A"),
    # ------------------------------------------------------------------ secrets
    (
        f"explain ops.py:train --environ API_TOKEN={CANARY}",
        0,
        "warning: --environ API_TOKEN=*** puts a secret",
    ),
    (f"explain ops.py:train --environ API_TOKEN={CANARY} --json", 0, "'***'"),
    (f"explain ops.py:train --environ DB=postgres://u:{CANARY}@db/x", 0, "warning: --environ DB=***"),
    (
        f"explain ops.py:train --python-env.pypi-index-url https://u:{CANARY}@h.example/simple",
        0,
        "give --python-env.pypi-index-url env:NAME instead",
    ),
    (f"explain ops.py:train --python-env.extra-index-urls https://{CANARY}@h.example/simple", 0, "***@"),
    (f"explain ops.py:train --container.image a:1 --container.password {CANARY}", 2, "not taken literally"),
    (f"explain ops.py:train --container.image a:1 --container.passwd {CANARY}", 2, "did you mean"),
    (f"explain ops.py:train --container.image a:1 --container.password={CANARY}", 2, "not taken literally"),
    (f"explain ops.py:train --container.password -h{CANARY}", 2, "expected one argument"),
    (f"explain ops.py:train --container.image a:1 {CANARY}", 2, "unrecognized arguments: ***"),
    ("explain ops.py:train --provisioning.cpu-count many", 2, "invalid value 'many'"),
    (f"explain ops.py:train --python-env.pypi-index-url 'https://u:{CANARY}@bad host/'", 2, "pypi_index_url"),
    (
        "explain ops.py:train --container.image a:1 --container.username bot"
        " --container.password env:LZY_CORPUS_SECRET",
        0,
        "container.password",
    ),
    ("explain ops.py:train --container.image a:1 --container.password file:missing.txt", 2, "cannot read"),
    ("explain ops.py:train --environ LZY_CORPUS_SECRET", 0, "environ.LZY_CORPUS_SECRET"),
    # ------------------------------------------------------------------ validate
    ("validate ops.py:train", 0, "valid"),
    ("validate ops.py:train --json", 0, '"valid": true'),
    ("validate ops.py:evaluate --in nightly --json", 0, '"resolved"'),
    ("validate ops.py:base --json", 0, '"checks"'),
    ("validate ops.py:train --provisioning.gpu-count 2", 1, "without a gpu_type"),
    ("validate ops.py:train --provisioning.gpu-count 2 --json", 1, '"valid": false'),
    (
        "validate ops.py:train --python-env manual --python-env.python-version 3.12"
        " --python-env.pypi-packages a=1 --python-env.local-module-paths no/such/dir --json",
        1,
        "does not exist",
    ),
    ("validate ops.py:train --platform linux", 2, "argument --platform"),
    ("validate ops.py:train --registry-deadline 0", 2, "expected a number of seconds > 0"),
    ("validate ops.py:train --registry-deadline nan", 2, "expected a number of seconds > 0"),
    ("validate ops.py:train --insecure-registry 'bad host'", 2, "argument --insecure-registry"),
    ("validate ops.py:train --check-indx", 2, "did you mean '--check-index'?"),
    ("validate missing.py:train --json", 2, "missing.py is not a file"),
    (f"validate ops.py:train --environ API_TOKEN={CANARY} --json", 0, '"valid": true'),
    # ------------------------------------------------------------------ diff
    ("diff a.json a.json", 0, "no differences"),
    ("diff a.json a.json --json", 0, '"differences": []'),
    ("diff a.json b.json", 1, "provisioning.cpu_count"),
    ("diff a.json b.json --json", 1, '"change": "changed"'),
    ("diff b.json a.json --json", 1, '"change": "removed"'),
    ("diff a.json secret.json", 1, "*** is a secret, not shown"),
    ("diff a.json secret.json --json", 1, '"secret": true'),
    ("diff secret.json secret.json", 0, "no differences"),
    ("diff a.json escape.json", 2, "'nu\\x1b[2Jmpy\\x1b]0;title\\x07' is not a valid distribution name"),
    ("diff a.json", 2, "the following arguments are required: B.json"),
    ("diff a.json b.json c.json", 2, "unrecognized arguments: ***"),
    ("diff missing.json a.json", 2, "cannot read missing.json: No such file or directory"),
    ("diff a.json directory.json", 2, "cannot read directory.json: Is a directory"),
    ("diff a.json ops.py", 2, "ops.py is not JSON"),
    ("diff a.json empty.json", 2, "empty.json is not JSON"),
    ("diff a.json null.json", 2, "holds NoneType"),
    ("diff a.json list.json", 2, "list.json is not a serialized resolved env: it holds list"),
    ("diff a.json object.json", 2, "object.json is not a serialized resolved env"),
    ("diff a.json nan.json", 2, "NaN is not a JSON number"),
    ("diff a.json utf16.json", 2, "UTF-16 byte order mark"),
    ("diff a.json latin1.json", 2, "is not UTF-8 text"),
    ("diff a.json deep.json", 2, "deep.json is not JSON"),
    ("diff a.json wrong-type.json", 2, "cpu_count must be"),
    ("diff a.json invalid-report.json", 2, "holds no env"),
    ("diff a.json huge.json", 2, "huge.json is larger than 16 MiB"),
    ("diff a.json /dev/zero", 2, "/dev/zero is larger than 16 MiB"),
    ("diff a.json /dev/null", 2, "/dev/null is not JSON"),
    ("diff a.json b.json --provisioning.cpu-count 2", 2, "unrecognized arguments: --provisioning.cpu-count"),
]


@contextlib.contextmanager
def _environment(**variables: str) -> Generator[None]:
    saved = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _split(line: str) -> list[str]:
    import shlex

    return shlex.split(line)


def _run(argv: list[str]) -> int:
    try:
        return cli.main(argv)
    except SystemExit as exit_:  # argparse: --help, --version, a usage error
        return exit_.code if isinstance(exit_.code, int) else 1


_SCHEMAS: dict[str, Any] = {}


def _schema(name: str) -> Any:
    if name not in _SCHEMAS:
        document: Any = json.loads(json.dumps(_command.schemas()[name]))
        jsonschema.Draft202012Validator.check_schema(document)
        _SCHEMAS[name] = document
    return _SCHEMAS[name]


def test_the_corpus_is_large_and_covers_every_status() -> None:
    """More than a hundred lines, every documented exit status among them."""
    assert len(CORPUS) > 100
    assert {status for _, status, _ in CORPUS} == {status for status, _ in _command.EXIT_STATUSES}
    assert len({line for line, _, _ in CORPUS}) == len(CORPUS), "a line is there twice"


@pytest.mark.parametrize("case", CORPUS, ids=[line or "(nothing)" for line, _, _ in CORPUS])
def test_each_command_line_ends_as_documented(
    case: tuple[str, int, str],
    project: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Its exit status; no traceback of lzy's; no secret printed or logged; no escape; JSON valid
    against its schema."""
    line, status, words = case
    caplog.set_level(logging.DEBUG)
    monkeypatch.chdir(project)
    monkeypatch.setattr(sys, "path", [str(project), *sys.path])
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    argv = _split(line)
    with _environment(LZY_CORPUS_SECRET=CANARY, PIP_CONFIG_FILE=os.devnull):
        got = _run(argv)
    out, error = capsys.readouterr()
    shown = out + error
    assert got == status, f"exit status {got}, not {status}\n{shown}"
    assert words in shown
    assert CANARY not in shown
    assert CANARY not in caplog.text
    assert "\x1b" not in shown, "an escape on a stream that is not a terminal"
    user_error = any(name in line for name in ("broken.py", "syntax.py"))
    assert user_error or "Traceback" not in shown
    if "--json" in argv and status in {0, 1} and "--help" not in argv:
        command = argv[0]
        validator: Any = jsonschema.Draft202012Validator(_schema(command))
        validator.validate(json.loads(out))
