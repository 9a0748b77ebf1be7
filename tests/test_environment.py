"""The merge table, provenance (``source``/``explain``) and the serialized artifacts."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lzy.api.v1.env import (
    ANY,
    MERGE_RULES,
    DockerContainer,
    EffectiveEnv,
    Env,
    Level,
    ManualPythonEnv,
    MergeRule,
    NoContainer,
    OnlyLocalPythonEnv,
    Provisioning,
    ResolvedEnv,
)
from lzy.env._base import FrozenMap, is_secret_name, split_credentials
from lzy.exceptions import EnvironError, FieldTypeError, FieldValueError, UnknownPathError

USER_LEVELS = (Level.LZY, Level.WORKFLOW, Level.OP)
PROVISIONING_FIELDS = ("cpu_type", "cpu_count", "gpu_type", "gpu_count", "ram_size_gb")

provisionings = st.builds(
    Provisioning,
    cpu_type=st.none() | st.just(ANY) | st.sampled_from(["x86_64", "arm64"]),
    cpu_count=st.none() | st.just(ANY) | st.integers(1, 64),
    gpu_type=st.none() | st.just(ANY) | st.sampled_from(["A100", "H100"]),
    gpu_count=st.none() | st.just(ANY) | st.integers(0, 8),
    ram_size_gb=st.none() | st.just(ANY) | st.floats(0.5, 512),
)
python_envs = st.builds(
    ManualPythonEnv,
    python_version=st.sampled_from(["3.11", "3.12"]),
    pypi_packages=st.dictionaries(
        st.sampled_from(["numpy", "scipy", "attrs"]), st.sampled_from(["1.0", "2.1.0"])
    ),
)
containers = st.sampled_from(
    [NoContainer(), DockerContainer(image="ubuntu:24.04"), DockerContainer(image="ghcr.io/a/b:1")]
)
environs = st.dictionaries(
    st.sampled_from(["MODE", "LEVEL", "TOKEN"]),
    st.text(st.characters(exclude_categories=["Cc", "Cs"]) | st.sampled_from("\t\n\r"), max_size=5),
    max_size=3,
)
envs = st.builds(
    Env,
    provisioning=st.none() | provisionings,
    python_env=st.none() | python_envs,
    container=st.none() | containers,
    environ=environs,
)
layer_maps = st.fixed_dictionaries({level: st.none() | envs for level in USER_LEVELS})


@given(layer_maps)
def test_merge_table_holds_for_any_layers(layers: Mapping[Level, Env | None]) -> None:
    """Every point follows its rule, and ``source`` names the level each value came from."""
    effective = EffectiveEnv.from_layers(layers)
    set_layers = [(level, env) for level, env in sorted(layers.items()) if env is not None]

    # python_env and container: replaced whole by the highest level that sets them.
    for point in ("python_env", "container"):
        setters = [
            (level, getattr(env, point)) for level, env in set_layers if getattr(env, point) is not None
        ]
        expected_level, expected = (
            setters[-1] if setters else (Level.DEFAULT, getattr(effective.layers[0][1], point))
        )
        assert getattr(effective, point) == expected
        assert effective.source(point) is expected_level

    # provisioning: each field from the highest level that sets it.
    for field in PROVISIONING_FIELDS:
        setters = [
            (level, getattr(env.provisioning, field))
            for level, env in set_layers
            if env.provisioning is not None and getattr(env.provisioning, field) is not None
        ]
        expected_level, expected = setters[-1] if setters else (Level.DEFAULT, None)
        assert getattr(effective.provisioning, field) == expected
        assert effective.source(f"provisioning.{field}") is expected_level
    field_levels = [effective.source(f"provisioning.{f}") for f in PROVISIONING_FIELDS]
    assert effective.source("provisioning") is max(field_levels)

    # environ: each key from the highest level that sets it.
    expected_environ: dict[str, str] = {}
    key_levels: dict[str, Level] = {}
    for level, env in set_layers:
        for key, value in env.environ.items():
            expected_environ[key] = value
            key_levels[key] = level
    assert dict(effective.environ) == expected_environ
    for key, level in key_levels.items():
        assert effective.source(f"environ.{key}") is level
    assert effective.source("environ") is max(key_levels.values(), default=Level.DEFAULT)


@given(envs, envs, envs)
def test_merged_over_is_associative(a: Env, b: Env, c: Env) -> None:
    """Layering in steps gives the same env as layering at once (successive with_* calls)."""
    assert a.merged_over(b.merged_over(c)) == a.merged_over(b).merged_over(c)


def test_merge_rules_are_the_documented_table() -> None:
    """The table names every point of Env with its rule."""
    assert dict(MERGE_RULES) == {
        "provisioning": MergeRule.FIELDS,
        "python_env": MergeRule.REPLACE,
        "container": MergeRule.REPLACE,
        "environ": MergeRule.KEYS,
    }


def _example() -> EffectiveEnv:
    return EffectiveEnv.from_layers(
        {
            Level.LZY: Env(provisioning=Provisioning(cpu_count=5), environ={"MODE": "slow"}),
            Level.WORKFLOW: Env(
                python_env=ManualPythonEnv(python_version="3.11", pypi_packages={"numpy": "2.1.0"}),
                container=DockerContainer(image="ubuntu:24.04", username="u", password="hunter2"),
            ),
            Level.OP: Env(provisioning=Provisioning(gpu_count=1, gpu_type="A100"), environ={"MODE": "fast"}),
        }
    )


@pytest.mark.parametrize(
    ("path", "level"),
    [
        ("provisioning", Level.OP),
        ("provisioning.cpu_count", Level.LZY),
        ("provisioning.gpu_type", Level.OP),
        ("provisioning.ram_size_gb", Level.DEFAULT),
        ("python_env", Level.WORKFLOW),
        ("python_env.python_version", Level.WORKFLOW),
        ("python_env.pypi_index_url", Level.WORKFLOW),
        ("container", Level.WORKFLOW),
        ("container.image", Level.WORKFLOW),
        ("environ", Level.OP),
        ("environ.MODE", Level.OP),
    ],
)
def test_source_names_the_level(path: str, level: Level) -> None:
    """``source(path)`` answers where a value came from."""
    assert _example().source(path) is level


@pytest.mark.parametrize(
    ("path", "fragment"),
    [
        ("resources", "'resources' is not a point"),
        ("provisioning.cpu_cont", "Provisioning has no field 'cpu_cont'; did you mean 'cpu_count'?"),
        ("python_env.index_url", "ManualPythonEnv has no field 'index_url'"),
        ("container.tag", "DockerContainer has no field 'tag'"),
        ("environ.MOOD", "no level sets the environment variable 'MOOD'; did you mean 'MODE'?"),
        ("", "'' is not a point"),
    ],
)
def test_unknown_path_is_an_error(path: str, fragment: str) -> None:
    """A path that names nothing is an error that says what exists."""
    with pytest.raises(UnknownPathError, match=fragment.replace("?", r"\?")):
        _example().source(path)


def test_explain_has_a_row_per_value_and_hides_secrets() -> None:
    """``explain()`` lists every value with its level; the password is masked."""
    text = _example().explain()
    lines = text.splitlines()
    assert lines[0].split() == ["path", "value", "level"]
    assert any(line.split() == ["provisioning.cpu_count", "5", "LZY"] for line in lines)
    assert any(line.split() == ["environ.MODE", "'fast'", "OP"] for line in lines)
    assert any(line.split() == ["container.password", "'***'", "WORKFLOW"] for line in lines)
    assert "hunter2" not in text
    rows = _example().rows()
    assert {row.path for row in rows} >= {f"provisioning.{f}" for f in PROVISIONING_FIELDS}


def test_layering_is_cheap_and_lazy() -> None:
    """Building an effective env explores nothing: an explorer that fails is not called."""

    class Exploding(OnlyLocalPythonEnv):
        def resolve(self, namespace: Mapping[str, object]) -> ResolvedEnv:  # type: ignore[override]  # pyright: ignore[reportIncompatibleMethodOverride]
            raise AssertionError("explored while layering")

    effective = EffectiveEnv.from_layers({Level.OP: Env(python_env=Exploding())})
    assert effective.source("python_env") is Level.OP
    with pytest.raises(AssertionError, match="explored while layering"):
        effective.resolve()


def test_env_validates_its_points() -> None:
    """A point of the wrong type, or a class instead of an instance, is refused."""
    with pytest.raises(FieldTypeError, match=re.escape("Env.provisioning must be a Provisioning or None")):
        Env(provisioning={"cpu_count": 1})  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    with pytest.raises(FieldTypeError, match=r"pass an instance such as NoContainer\(...\), not the class"):
        Env(container=NoContainer)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]


@pytest.mark.parametrize(
    ("environ", "fragment"),
    [
        ({"": "x"}, "variable name '' is not allowed"),
        ({"A=B": "x"}, "variable name 'A=B' is not allowed"),
        ({"A\x00": "x"}, "is not allowed; a name is a non-empty str without '=' or NUL"),
        ({1: "x"}, "variable name 1 is not allowed"),
        ({"PORT": 8080}, r"Env.environ\['PORT'\] must be a str without NUL, got 8080 \(int\)"),
        ({"X": "a\x00b"}, "must be a str without NUL"),
        ("A=B", "must be a mapping of variable names to strings"),
    ],
)
def test_bad_environ_is_refused(environ: object, fragment: str) -> None:
    """Variable names must be non-empty without '=' or NUL; values must be strings."""
    with pytest.raises(EnvironError, match=fragment):
        Env(environ=environ)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]


def test_environ_is_frozen_and_env_hashable() -> None:
    """``Env`` is a value: its environ cannot change under it, and it hashes."""
    source = {"A": "1"}
    env = Env(environ=source)
    source["A"] = "2"
    assert env.environ == {"A": "1"}
    assert isinstance(env.environ, FrozenMap)
    assert hash(env) == hash(Env(environ={"A": "1"}))


def _resolved() -> ResolvedEnv:
    return EffectiveEnv.from_layers(
        {
            Level.WORKFLOW: Env(
                python_env=ManualPythonEnv(
                    python_version="3.11",
                    pypi_packages={"numpy": "2.1.0"},
                    pypi_index_url="https://bot:t0ken@mirror.example/simple",
                ),
                container=DockerContainer(image="ubuntu:24.04", username="u", password="hunter2"),
                provisioning=Provisioning(cpu_count=2, ram_size_gb=1.5),
                environ={"MODE": "fast", "HF_TOKEN": "hf_s3cr3t", "DB_URL": "postgres://app:pw0rd@db/x"},
            )
        }
    ).resolve()


def test_resolved_env_round_trips_through_json_with_secrets() -> None:
    """``to_dict(include_secrets=True)`` then ``from_dict`` gives the same artifacts."""
    resolved = _resolved()
    text = json.dumps(resolved.to_dict(include_secrets=True))
    assert ResolvedEnv.from_dict(json.loads(text)) == resolved
    assert ResolvedEnv.from_json(resolved.to_json(include_secrets=True)) == resolved


def test_serialized_env_leaves_secrets_out_by_default() -> None:
    """Without ``include_secrets`` the password and URL credentials are not written."""
    resolved = _resolved()
    data = resolved.to_dict()
    text = json.dumps(data)
    assert data["schema_version"] == ResolvedEnv.SCHEMA_VERSION
    assert "hunter2" not in text
    assert "t0ken" not in text
    assert data["python_env"]["pypi_index_url"] == "https://***@mirror.example/simple"
    assert data["container"]["password"] is None
    assert "hunter2" not in repr(resolved)
    assert "t0ken" not in repr(resolved)
    assert ResolvedEnv.from_dict(data).python_env.pypi_packages == {"numpy": "2.1.0"}
    # A variable whose name marks a secret is left out; URL credentials are masked.
    assert data["environ"] == {"MODE": "fast", "DB_URL": "postgres://***@db/x"}
    assert "hf_s3cr3t" not in text
    assert "pw0rd" not in text


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("HF_TOKEN", True),
        ("AWS_SECRET_ACCESS_KEY", True),
        ("db-password", True),
        ("OPENAI_API_KEY", True),
        ("GOOGLE_APPLICATION_CREDENTIALS", True),
        ("MODE", False),
        ("AUTHOR", False),
        ("KEYBOARD_LAYOUT", False),
        ("TOKENIZERS_PARALLELISM", False),
    ],
)
def test_secret_variable_names(name: str, secret: bool) -> None:
    """A variable is secret when a word of its name (split at ``_``, ``-``, ``.``) says so."""
    assert is_secret_name(name) is secret


def test_secret_variables_are_masked_wherever_shown() -> None:
    """repr, explain() and error messages never show a secret variable's value."""
    env = Env(environ={"HF_TOKEN": "hf_s3cr3t", "MODE": "fast", "DB_URL": "postgres://app:pw0rd@db/x"})
    effective = EffectiveEnv.from_layers({Level.OP: env})
    for shown in (repr(env), repr(effective), effective.explain(), repr(effective.resolve({}))):
        assert "hf_s3cr3t" not in shown
        assert "pw0rd" not in shown
    lines = [line.split() for line in effective.explain().splitlines()]
    assert ["environ.HF_TOKEN", "'***'", "OP"] in lines
    assert ["environ.MODE", "'fast'", "OP"] in lines
    assert ["environ.DB_URL", "'postgres://***@db/x'", "OP"] in lines
    assert effective.environ["HF_TOKEN"] == "hf_s3cr3t"  # the op still gets the real value
    with pytest.raises(EnvironError) as raised:
        Env(environ={"API_TOKEN": "t0k\x00en"})
    assert "t0k" not in str(raised.value)
    assert "value not shown" in str(raised.value)


def test_from_dict_refuses_another_schema_version() -> None:
    """An unknown schema version is refused with the supported one named."""
    data = _resolved().to_dict()
    data["schema_version"] = 99
    with pytest.raises(FieldValueError, match="schema_version 99 is not supported"):
        ResolvedEnv.from_dict(data)
    data["schema_version"] = ResolvedEnv.SCHEMA_VERSION
    data["python_env"]["surprise"] = 1
    with pytest.raises(FieldValueError, match=r"unknown keys \['surprise'\]"):
        ResolvedEnv.from_dict(data)


@pytest.mark.parametrize(
    ("given", "bare", "credentials"),
    [
        ("https://host/simple", "https://host/simple", None),
        ("https://u%40x:p%3Aw@host:8080/simple?q=1", "https://host:8080/simple?q=1", ("u@x", "p:w")),
        ("http://token@host/", "http://host/", ("token", "")),
        ("http://a:b@[::1]:3/x", "http://[::1]:3/x", ("a", "b")),
    ],
)
def test_split_credentials_takes_them_out_of_the_url(
    given: str, bare: str, credentials: tuple[str, str] | None
) -> None:
    """The URL loses its user:password@ part, which comes back decoded and apart."""
    assert split_credentials(given) == (bare, credentials)
