"""The env options: generated from every field, read by the Python API's rules, documented in ``--help``."""

from __future__ import annotations

import argparse
import dataclasses
import re
from collections.abc import Callable, Mapping

import pytest

from lzy.api.v1 import Lzy
from lzy.api.v1.env import (
    ANY,
    AutoPythonEnv,
    CliOverrides,
    Container,
    DockerContainer,
    Env,
    EnvExplorer,
    Exploration,
    ManualPythonEnv,
    NoContainer,
    OnlyLocalPythonEnv,
    Provisioning,
    PullPolicy,
    PythonEnv,
)
from lzy.env._catalog import POINTS, field_docs
from lzy.env._cli_parser import FieldOption, Kind, KlassOption, field_options, klass_names
from lzy.env._rst import plain_text
from lzy.exceptions import ConfigurationError

PASSWORD = "canary-Pa55word"


class FixedExplorer(EnvExplorer):
    """An explorer of one's own, named on the command line by its dotted path."""

    def explore(self, namespace: Mapping[str, object]) -> Exploration:
        del namespace
        return Exploration()


def fixed_explorer() -> EnvExplorer:
    """A factory with no settings, as ``--python-env.explorer`` names it."""
    return FixedExplorer()


#: For every field name of a built-in klass: what is typed on the command line (one item per
#: occurrence of the option) and the value the Python API is given for the same setting.
SAMPLES: dict[str, tuple[tuple[str, ...], object]] = {
    "cpu_type": (("aarch64",), "aarch64"),
    "cpu_count": (("4",), 4),
    "gpu_type": (("A100",), "A100"),
    "gpu_count": (("2",), 2),
    "ram_size_gb": (("16.5",), 16.5),
    "python_version": (("3.12",), "3.12"),
    "pypi_index_url": (("https://mirror.example/simple",), "https://mirror.example/simple"),
    "extra_index_urls": (
        ("https://a.example/simple", "https://b.example/simple"),
        ["https://a.example/simple", "https://b.example/simple"],
    ),
    "additional_pypi_packages": (("numpy=2.1.0", "scipy==1.14.1"), {"numpy": "2.1.0", "scipy": "1.14.1"}),
    "exclude_packages": (("pandas", "torch"), {"pandas", "torch"}),
    "target_platform": (("manylinux_2_28_aarch64",), "manylinux_2_28_aarch64"),
    "explorer": ((f"{__name__}.fixed_explorer",), fixed_explorer),
    "raise_on_binaries": (("false",), False),
    "treat_editables_as_locals": (("no",), False),
    "pypi_packages": (("numpy=2.1.0", "attrs=24.2.0"), {"numpy": "2.1.0", "attrs": "24.2.0"}),
    "local_module_paths": (("src/models", "tools.py"), ["src/models", "tools.py"]),
    "image": (("ghcr.io/acme/train:1.4",), "ghcr.io/acme/train:1.4"),
    "registry": (("ghcr.io",), "ghcr.io"),
    "pull_policy": (("IfNotPresent",), PullPolicy.IF_NOT_PRESENT),
    "username": (("robot",), "robot"),
    "password": (("env:LZY_TEST_PASSWORD",), PASSWORD),
    "pin_digest": (("true",), True),
}

#: Fields that are only valid together.
COMPANIONS = {"username": ("password",), "password": ("username",)}

KLASS_FIELDS = [
    (point.field, klass, doc.name) for point in POINTS for klass in point.klasses for doc in field_docs(klass)
]


def _option(point: str, field: str) -> str:
    return f"--{point.replace('_', '-')}.{field.replace('_', '-')}"


def _klass_args(point: str, klass: type[object]) -> list[str]:
    names = {k: name for name, k in klass_names(next(p for p in POINTS if p.field == point)).items()}
    return [f"--{point.replace('_', '-')}", names.get(klass, f"{klass.__module__}.{klass.__qualname__}")]


def _env(point: str, value: object) -> Env:
    """The env that sets ``point`` to ``value`` through the Python API."""
    if isinstance(value, Provisioning):
        return Env(provisioning=value)
    if isinstance(value, PythonEnv):
        return Env(python_env=value)
    assert isinstance(value, Container), point
    return Env(container=value)


def _setting(point: str, klass: type[object], fields: list[str]) -> tuple[list[str], dict[str, object]]:
    """The command line and the keywords that set ``fields`` (and what they need) on ``klass``."""
    required = [doc.name for doc in field_docs(klass) if doc.required]
    wanted = list(dict.fromkeys([*required, *fields, *(c for f in fields for c in COMPANIONS.get(f, ()))]))
    argv = _klass_args(point, klass)
    values: dict[str, object] = {}
    for name in wanted:
        texts, value = SAMPLES[name]
        for text in texts:
            argv += [_option(point, name), text]
        values[name] = value
    return argv, values


@pytest.fixture(autouse=True)
def _password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LZY_TEST_PASSWORD", PASSWORD)


def test_every_field_of_every_klass_has_a_sample() -> None:
    """A new field of a built-in klass needs a sample here, so the round trips cover it."""
    missing = sorted({name for _, _, name in KLASS_FIELDS} - set(SAMPLES))
    assert not missing, f"add command-line samples for {missing}"


@pytest.mark.parametrize(("point", "klass", "field"), KLASS_FIELDS, ids=lambda v: getattr(v, "__name__", v))
def test_each_field_round_trips(point: str, klass: type[object], field: str) -> None:
    """Each field set on the command line equals the same setting through the Python API."""
    argv, values = _setting(point, klass, [field])
    assert Env.from_cli_args(argv) == _env(point, klass(**values))


@pytest.mark.parametrize(
    ("point", "klass"),
    [(p.field, k) for p in POINTS for k in p.klasses],
    ids=lambda v: getattr(v, "__name__", v),
)
def test_all_fields_of_a_klass_round_trip_together(point: str, klass: type[object]) -> None:
    """Every field of a klass at once, through ``--POINT KLASS`` and the field options."""
    argv, values = _setting(point, klass, [doc.name for doc in field_docs(klass)])
    assert Env.from_cli_args(argv) == _env(point, klass(**values))


def test_klass_is_a_short_name_a_class_name_or_a_dotted_path() -> None:
    """``--python-env manual``, ``ManualPythonEnv`` and the dotted paths choose the same klass."""
    tail = ["--python-env.python-version", "3.11", "--python-env.pypi-packages", "numpy=2.1.0"]
    expected = Env(python_env=ManualPythonEnv(python_version="3.11", pypi_packages={"numpy": "2.1.0"}))
    for name in ("manual", "MANUAL", "ManualPythonEnv", "lzy.api.v1.env.ManualPythonEnv"):
        assert Env.from_cli_args(["--python-env", name, *tail]) == expected
    assert Env.from_cli_args(["--container", "none"]) == Env(container=NoContainer())
    assert Env.from_cli_args(["--python-env", "local"]) == Env(python_env=OnlyLocalPythonEnv())


def test_short_names() -> None:
    """Every built-in klass but a point's base has a short name, derived from its class name."""
    names = {point.field: set(klass_names(point)) for point in POINTS}
    assert names == {
        "provisioning": set(),
        "python_env": {"auto", "manual", "local"},
        "container": {"docker", "none"},
    }


def test_fields_without_a_klass_build_the_points_default_klass() -> None:
    """``--container.image`` alone is a DockerContainer; a python env field alone an AutoPythonEnv."""
    env = Env.from_cli_args(["--container.image", "ubuntu:24.04", "--python-env.python-version", "3.12"])
    assert env == Env(
        container=DockerContainer(image="ubuntu:24.04"), python_env=AutoPythonEnv(python_version="3.12")
    )


@pytest.mark.parametrize("option", [o for o in field_options() if o.accepts_any], ids=lambda o: o.option)
@pytest.mark.parametrize("spelling", ["ANY", "any"])
def test_any_is_accepted_where_the_field_accepts_it(option: FieldOption, spelling: str) -> None:
    """``ANY`` (in any case) is the sentinel wherever the field's type admits it."""
    assert Env.from_cli_args([option.option, spelling]) == Env(
        provisioning=Provisioning(**{option.name: ANY})
    )


def test_repeated_options_add_up_and_the_last_scalar_wins() -> None:
    """Mappings merge key by key (the last value of a key wins), sequences append, scalars are replaced."""
    env = Env.from_cli_args(
        [
            *("--python-env.additional-pypi-packages", "numpy=1.0"),
            *("--python-env.additional-pypi-packages", "numpy=2.0"),
            *("--python-env.extra-index-urls", "https://a.example/simple"),
            *("--python-env.extra-index-urls", "https://b.example/simple"),
            *("--python-env.python-version", "3.11", "--python-env.python-version", "3.12"),
            *("--environ", "A=1", "--environ", "A=2", "--environ", "B=x=y"),
        ]
    )
    assert env == Env(
        python_env=AutoPythonEnv(
            python_version="3.12",
            additional_pypi_packages={"numpy": "2.0"},
            extra_index_urls=["https://a.example/simple", "https://b.example/simple"],
        ),
        environ={"A": "2", "B": "x=y"},
    )


def test_environ_name_alone_passes_this_process_value(monkeypatch: pytest.MonkeyPatch) -> None:
    """``--environ HF_TOKEN`` takes the value set here, as ``docker run -e`` does: no secret in argv."""
    monkeypatch.setenv("HF_TOKEN", "hf_secret_value")
    assert Env.from_cli_args(["--environ", "HF_TOKEN"]) == Env(environ={"HF_TOKEN": "hf_secret_value"})


@pytest.mark.parametrize("source", ["file", "stdin"])
def test_secret_from_a_file_or_standard_input(
    source: str, tmp_path: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A password comes from ``file:PATH`` or ``-`` (standard input), its trailing newline removed."""
    import io

    path = f"{tmp_path}/password"
    with open(path, "w", encoding="utf-8") as file:
        file.write(PASSWORD + "\n")
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    given = f"file:{path}" if source == "file" else "-"
    argv = ["--container.image", "a:1", "--container.username", "u", "--container.password", given]
    env = Env.from_cli_args(argv)
    assert env.container == DockerContainer(image="a:1", username="u", password=PASSWORD)


STDIN_PASSWORD = ["--container.image", "a:1", "--container.username", "u", "--container.password", "-"]


@pytest.mark.parametrize(
    ("argv", "stdin", "words"),
    [
        (STDIN_PASSWORD, "", "- read an empty line from standard input; an empty secret is refused"),
        (STDIN_PASSWORD, "\n", "- read an empty line from standard input; an empty secret is refused"),
        (
            [*STDIN_PASSWORD, "--for", "train", *STDIN_PASSWORD[2:]],
            f"{PASSWORD}\n{PASSWORD}\n",
            "- is given 2 times (--container.password, --container.password), but standard input gives"
            " one secret",
        ),
    ],
    ids=["nothing", "empty-line", "twice"],
)
def test_a_secret_from_standard_input_is_one_line_and_not_empty(
    argv: list[str],
    stdin: str,
    words: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``-`` reads one line; an empty one, or a second ``-``, is an error naming the option."""
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    with pytest.raises(SystemExit) as exit_:
        CliOverrides.from_cli_args(argv)
    assert exit_.value.code == 2
    assert f"argument --container.password: {words}" in " ".join(capsys.readouterr().err.split())


def test_a_secret_from_standard_input_is_read_once_per_namespace(monkeypatch: pytest.MonkeyPatch) -> None:
    """A namespace read twice (by ``Lzy.with_cli_args`` and by hand) reads standard input once."""
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO(f"{PASSWORD}\nnext line\n"))
    parser = argparse.ArgumentParser(allow_abbrev=False)
    CliOverrides.add_arguments(parser)
    namespace = parser.parse_args(STDIN_PASSWORD)
    first, second = CliOverrides.from_cli_args(namespace), Lzy().with_cli_args(namespace).cli
    assert first == second
    assert isinstance(first.env.container, DockerContainer)
    assert first.env.container.password == PASSWORD


def test_a_bool_option_alone_means_true() -> None:
    """``--python-env.raise-on-binaries`` alone is true; ``=false`` is false."""
    env = Env.from_cli_args(["--python-env.raise-on-binaries", "--python-env.treat-editables-as-locals=OFF"])
    assert env.python_env == AutoPythonEnv(raise_on_binaries=True, treat_editables_as_locals=False)


def test_no_options_is_an_empty_env() -> None:
    """Nothing given is the empty env, which sets nothing at its level."""
    assert Env.from_cli_args([]) == Env()
    assert CliOverrides.from_cli_args([]) == CliOverrides()


# --------------------------------------------------------------------------- bad values

#: Bad values by kind: the arguments, the option the error must name, texts it must contain
#: (the value and what is allowed), and texts it must not (a secret).
BAD: list[tuple[tuple[str, ...], str, tuple[str, ...], tuple[str, ...]]] = [
    (("--provisioning.cpu-count", "four"), "--provisioning.cpu-count", ("'four'", "int", "ANY"), ()),
    (("--provisioning.cpu-count", "1.5"), "--provisioning.cpu-count", ("'1.5'", "int"), ()),
    (("--provisioning.cpu-count", "\u0664"), "--provisioning.cpu-count", ("ASCII digits",), ()),
    (("--provisioning.cpu-count", "0"), "--provisioning.cpu-count", ("got 0", "positive int"), ()),
    (("--provisioning.gpu-count", "-1"), "--provisioning.gpu-count", ("got -1", "non-negative int"), ()),
    (("--provisioning.ram-size-gb", "lots"), "--provisioning.ram-size-gb", ("'lots'", "number"), ()),
    (("--provisioning.ram-size-gb", "inf"), "--provisioning.ram-size-gb", ("'inf'", "number"), ()),
    (("--provisioning.ram-size-gb", "nan"), "--provisioning.ram-size-gb", ("'nan'", "number"), ()),
    (("--provisioning.ram-size-gb", "0"), "--provisioning.ram-size-gb", ("got 0", "positive"), ()),
    (("--provisioning.cpu-type", " "), "--provisioning.cpu-type", ("' '", "non-empty"), ()),
    (("--provisioning", "os.path"), "--provisioning", ("os.path", "subclass"), ()),
    (("--python-env", "conda"), "--python-env", ("'conda'", "auto, manual, local"), ()),
    (("--python-env", "lzy.api.v1.env.PythonEnv"), "--python-env", ("PythonEnv", "abstract"), ()),
    (
        ("--python-env", "lzy.api.v1.env.DockerContainer"),
        "--python-env",
        ("DockerContainer", "PythonEnv"),
        (),
    ),
    (("--python-env", "no_such_module.Env"), "--python-env", ("no_such_module", "not found"), ()),
    (("--python-env.python-version", "3.x"), "--python-env.python-version", ("'3.x'", "'3.11'"), ()),
    (
        ("--python-env.pypi-index-url", "mirror"),
        "--python-env.pypi-index-url",
        ("'mirror'", "http(s)://"),
        (),
    ),
    (
        ("--python-env.extra-index-urls", "ftp://user:hunter2@files.example/simple"),
        "--python-env.extra-index-urls",
        ("ftp://***@files.example/simple", "http(s)://"),
        ("hunter2",),
    ),
    (
        ("--python-env.additional-pypi-packages", "numpy"),
        "--python-env.additional-pypi-packages",
        ("'numpy'", "KEY=VALUE"),
        (),
    ),
    (
        ("--python-env.additional-pypi-packages", "numpy=latest"),
        "--python-env.additional-pypi-packages",
        ("'latest'", "PEP 440"),
        (),
    ),
    (
        ("--python-env.exclude-packages", "not a name"),
        "--python-env.exclude-packages",
        ("'not a name'", "distribution name"),
        (),
    ),
    (
        ("--python-env.raise-on-binaries=maybe",),
        "--python-env.raise-on-binaries",
        ("'maybe'", "true or false"),
        (),
    ),
    (
        ("--python-env.explorer", "fixed_explorer"),
        "--python-env.explorer",
        ("'fixed_explorer'", "dotted path"),
        (),
    ),
    (
        ("--python-env.explorer", "no_such_module.factory"),
        "--python-env.explorer",
        ("no_such_module", "does not import"),
        (),
    ),
    (("--python-env.explorer", "os.sep"), "--python-env.explorer", ("os.sep", "not callable"), ()),
    (
        ("--python-env", "manual", "--python-env.python-version", "3.11"),
        "--python-env",
        ("ManualPythonEnv", "requires --python-env.pypi-packages"),
        (),
    ),
    (
        ("--python-env", "local", "--python-env.pypi-index-url", "https://x.example/simple"),
        "--python-env.pypi-index-url",
        ("OnlyLocalPythonEnv", "no field 'pypi_index_url'", "--python-env.python-version"),
        (),
    ),
    (("--container", "podman"), "--container", ("'podman'", "docker, none"), ()),
    (("--container.image", "Ubuntu:24.04"), "--container.image", ("'Ubuntu:24.04'", "lower case"), ()),
    (
        ("--container", "none", "--container.image", "a"),
        "--container.image",
        ("NoContainer", "no field 'image'"),
        (),
    ),
    (
        ("--container.pull-policy", "sometimes"),
        "--container.pull-policy",
        ("'sometimes'", "ALWAYS, IF_NOT_PRESENT, NEVER"),
        (),
    ),
    (
        ("--container.image", "a:1", "--container.username", "u", "--container.password", "hunter2"),
        "--container.password",
        ("env:NAME", "file:PATH"),
        ("hunter2",),
    ),
    (
        (
            "--container.image",
            "a:1",
            "--container.username",
            "u",
            "--container.password",
            "env:LZY_UNSET_VARIABLE",
        ),
        "--container.password",
        ("LZY_UNSET_VARIABLE", "not set"),
        (),
    ),
    (
        (
            "--container.image",
            "a:1",
            "--container.username",
            "u",
            "--container.password",
            "file:/no/such/file",
        ),
        "--container.password",
        ("/no/such/file", "cannot read"),
        (),
    ),
    (
        ("--container.image", "a:1", "--container.username", "u"),
        "--container.username",
        ("username is given without the other",),
        (),
    ),
    (
        ("--container.image", "ghcr.io/a/b:1", "--container.registry", "quay.io"),
        "--container.registry",
        ("contradicts",),
        (),
    ),
    (("--environ", "=hunter2"), "--environ", ("'=***'", "KEY=VALUE"), ("hunter2",)),
    (("--environ", "LZY_UNSET_VARIABLE"), "--environ", ("'LZY_UNSET_VARIABLE'", "not set"), ()),
]


@pytest.mark.parametrize(("argv", "option", "shown", "hidden"), BAD, ids=[" ".join(case[0]) for case in BAD])
def test_a_bad_value_is_an_argparse_error_naming_the_option(
    argv: tuple[str, ...],
    option: str,
    shown: tuple[str, ...],
    hidden: tuple[str, ...],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Exit status 2 and ``argument OPTION: ...`` with the value and what is allowed; no secret."""
    with pytest.raises(SystemExit) as exit_:
        CliOverrides.from_cli_args(list(argv))
    assert exit_.value.code == 2
    error = capsys.readouterr().err
    message = " ".join(error.split())
    assert f"error: argument {option}: " in message
    for text in shown:
        assert text in message
    for text in hidden:
        assert text not in error


def test_every_kind_of_value_has_bad_cases() -> None:
    """The bad-value table covers every kind of option, the klass options and --environ."""
    kinds = {option.kind for option in field_options()}
    covered = {
        option.kind
        for argv, _, _, _ in BAD
        for option in field_options()
        if any(arg.split("=")[0] == option.option for arg in argv)
    }
    assert kinds <= covered, f"no bad case for {kinds - covered}"
    klass_options = {KlassOption(point=point).option for point in POINTS}
    assert klass_options <= {case[1] for case in BAD}


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (
            ["--provisioning.cpu-c", "2"],
            "unrecognized arguments: --provisioning.cpu-c ***; an option is written in full:"
            " did you mean '--provisioning.cpu-count'? (*** is argument 2,",
        ),
        (
            ["--provisioning.cpu", "2"],
            "unrecognized arguments: --provisioning.cpu ***; an option is written in full:"
            " did you mean '--provisioning.cpu-type' or '--provisioning.cpu-count'?",
        ),
        (
            ["--python-env.pypi_index_url", "https://x.example/simple"],
            "unrecognized arguments: --python-env.pypi_index_url ***; did you mean"
            " '--python-env.pypi-index-url'?",
        ),
        (["--enviorn", "A=1"], "unrecognized arguments: --enviorn ***; did you mean '--environ'?"),
        (
            ["--environ", "A=1", "--", "--environ", "B=2"],
            "unrecognized arguments: -- --environ ***; --environ comes after '--', which ends the options"
            " (*** is argument 5,",
        ),
        (
            ["\u2014provisioning.cpu-count", "2"],
            "unrecognized arguments: \u2014provisioning.cpu-count ***; '\u2014provisioning.cpu-count' starts"
            " with '\u2014' (em dash), not '--': did you mean '--provisioning.cpu-count'?",
        ),
        (
            ["\u2013\u2013environ=A=1"],
            "unrecognized arguments: \u2013\u2013environ=***; '\u2013\u2013environ' starts with"
            " '\u2013' (en dash), not '--': did you mean '--environ'?",
        ),
    ],
)
def test_an_unknown_or_abbreviated_option_is_refused_with_the_closest(
    argv: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """No abbreviations (a new field would change their meaning); the closest option is named,
    and a dash pasted in place of ``--`` is pointed out."""
    with pytest.raises(SystemExit) as exit_:
        CliOverrides.from_cli_args(argv)
    assert exit_.value.code == 2
    assert expected in capsys.readouterr().err


SECRET = "hunter2-SECRET"


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["--container.image", "a:1", "--container.passwd", SECRET], "--container.passwd ***"),
        ([f"--container.pasword={SECRET}"], "--container.pasword=***"),
        ([f"--environ-token={SECRET}"], "--environ-token=***"),
        (["--container.image", "a:1", SECRET], "unrecognized arguments: *** (*** is argument 3,"),
        (["--container.passwd", f"-h{SECRET}"], "ignored explicit argument ***"),
        (["--container.passwd", f"-x{SECRET}"], "--container.passwd ***"),
        ([f"\u2014\u2014container.password={SECRET}"], "\u2014\u2014container.password=***"),
    ],
)
@pytest.mark.parametrize("read", [Env.from_cli_args, CliOverrides.from_cli_args, Lzy().with_cli_args])
def test_an_unrecognized_argument_names_the_option_never_its_value(
    argv: list[str], named: str, read: Callable[[list[str]], object], capsys: pytest.CaptureFixture[str]
) -> None:
    """A mistyped secret option is refused by its name: the value, maybe a secret, is not shown."""
    with pytest.raises(SystemExit) as exit_:
        read(argv)
    assert exit_.value.code == 2
    error = capsys.readouterr().err
    assert named in error
    assert "not shown: it may be a secret" in error
    assert "SECRET" not in error


def test_nothing_is_half_applied() -> None:
    """A bad value anywhere exits; no env with the good values is returned."""
    with pytest.raises(SystemExit):
        Env.from_cli_args(["--provisioning.cpu-count", "4", "--provisioning.gpu-count", "-1"])


# --------------------------------------------------------------------------- help


def _help() -> str:
    return " ".join(CliOverrides.generate_argparser(prog="train.py").format_help().split())


@pytest.mark.parametrize(("point", "klass", "field"), KLASS_FIELDS, ids=lambda v: getattr(v, "__name__", v))
def test_help_shows_each_fields_meaning_type_and_default(point: str, klass: type[object], field: str) -> None:
    """``--help`` names the option and gives the field's ``#:`` text, what it takes and its default."""
    text = _help()
    option = next(o for o in field_options() if o.point.field == point and o.name == field)
    doc = next(d for d in field_docs(klass) if d.name == field)
    assert option.option in text
    assert " ".join(plain_text(doc.doc).split()) in text
    assert f"Takes {option.type_text()}" in text
    default = "required" if doc.required else "default "
    assert re.search(re.escape(" ".join(plain_text(doc.doc).split())) + r".{0,80}" + default, text)


def test_help_groups_options_by_point_with_the_merge_rule() -> None:
    """One group per point, titled with its merge rule, plus --environ and --for."""
    text = CliOverrides.generate_argparser(prog="train.py").format_help()
    for title in (
        "provisioning (merged field by field):",
        "python_env (replaced whole):",
        "container (replaced whole):",
        "environ (merged key by key):",
        "aiming options at one op or workflow:",
    ):
        assert title in text
    assert "--for NAME" in text
    assert "--environ KEY=VALUE" in text
    flat = " ".join(text.split())
    assert "replaces the one set in code" in flat


def test_help_has_no_markup() -> None:
    """The ``#:`` comments' reStructuredText roles and literals are plain text in ``--help``."""
    text = CliOverrides.generate_argparser(prog="train.py").format_help()
    assert "``" not in text
    assert ":class:" not in text
    assert ":data:" not in text


def test_help_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    """``--help`` prints the options and exits with status 0, as argparse does."""
    with pytest.raises(SystemExit) as exit_:
        CliOverrides.from_cli_args(["--help"])
    assert exit_.value.code == 0
    assert "--provisioning.cpu-count" in capsys.readouterr().out


def test_every_kind_is_used_and_described() -> None:
    """Each kind of value is read by some built-in field, and what it takes is said."""
    for option in field_options():
        assert option.type_text()
        assert option.metavar()
    assert {option.kind for option in field_options()} == set(Kind)


# --------------------------------------------------------------------------- a parser of one's own


def test_options_join_a_parser_of_ones_own() -> None:
    """``add_arguments`` adds the env options beside the script's own; the namespace is read back."""
    parser = argparse.ArgumentParser(prog="train.py", allow_abbrev=False)
    parser.add_argument("--epochs", type=int, default=1)
    CliOverrides.add_arguments(parser)
    args = parser.parse_args(
        ["--epochs", "3", "--provisioning.cpu-count", "2", "--for", "eval", "--environ", "A=1"]
    )
    assert args.epochs == 3
    assert CliOverrides.from_cli_args(args) == CliOverrides(
        env=Env(provisioning=Provisioning(cpu_count=2)), targets={"eval": Env(environ={"A": "1"})}
    )
    assert not hasattr(args, "provisioning.cpu_count")


def test_a_namespace_without_the_options_is_refused() -> None:
    """Reading a namespace of a parser that was not given the options is a clear error."""
    args = argparse.ArgumentParser().parse_args([])
    with pytest.raises(ConfigurationError, match=r"CliOverrides\.add_arguments\(parser\)"):
        CliOverrides.from_cli_args(args)
    with pytest.raises(ConfigurationError, match=r"Env\.add_arguments\(parser\)"):
        Env.from_cli_args(args)


def test_env_from_cli_args_refuses_aimed_options(capsys: pytest.CaptureFixture[str]) -> None:
    """An Env is one level for every op: options aimed with --for are read by CliOverrides."""
    parser = argparse.ArgumentParser(prog="train.py", allow_abbrev=False)
    CliOverrides.add_arguments(parser)
    args = parser.parse_args(["--for", "train", "--provisioning.cpu-count", "2"])
    with pytest.raises(SystemExit):
        Env.from_cli_args(args)
    assert "CliOverrides.from_cli_args" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        Env.from_cli_args(["--for", "train"])


def test_overrides_hold_only_what_is_given() -> None:
    """Options aimed at a name are kept apart from those for every op."""
    overrides = CliOverrides.from_cli_args(
        [
            "--environ",
            "A=1",
            "--for",
            "train",
            "--environ",
            "B=2",
            "--for",
            "eval",
            "--environ",
            "C=3",
            "--for",
            "train",
            "--environ",
            "D=4",
        ]
    )
    assert overrides.env == Env(environ={"A": "1"})
    assert dict(overrides.targets) == {
        "train": Env(environ={"B": "2", "D": "4"}),
        "eval": Env(environ={"C": "3"}),
    }


def test_sample_values_are_those_of_the_python_api() -> None:
    """The samples are valid Python API values (the round trips compare equal envs, not errors)."""
    for point in POINTS:
        for klass in point.klasses:
            _, values = _setting(point.field, klass, [doc.name for doc in field_docs(klass)])
            assert dataclasses.is_dataclass(klass(**values))
