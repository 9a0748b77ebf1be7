"""Bad values are refused at construction, naming the field; what is accepted can be shown."""

from __future__ import annotations

import dataclasses
import difflib
import importlib.metadata
import json
import re
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lzy.api.v1 import LocalRuntime, Lzy
from lzy.api.v1.env import (
    ANY,
    AutoPythonEnv,
    DockerContainer,
    EffectiveEnv,
    Env,
    EnvExplorer,
    Exploration,
    Level,
    MachineSpec,
    ManualPythonEnv,
    NoContainer,
    OnlyLocalPythonEnv,
    Provisioning,
    PythonEnv,
    Resources,
)
from lzy.env._base import split_credentials
from lzy.env.python.base import same_version
from lzy.exceptions import (
    ConfigurationError,
    EnvironError,
    FieldTypeError,
    FieldValueError,
    ImmutableEnvError,
    KlassError,
    ResolutionError,
    UnknownFieldError,
)


class NothingExplorer(EnvExplorer):
    """Finds nothing and asks no index: these tests are about values, not exploration."""

    def explore(self, namespace: Mapping[str, object]) -> Exploration:
        del namespace
        return Exploration()


def _untyped(function: object) -> Any:
    """``function`` for a call a checker would refuse: the test is what happens at run time."""
    return cast("Any", function)


def _refusal(make: Callable[[], object]) -> tuple[object, ConfigurationError | None]:
    """What ``make()`` returns, or the configuration error it raises."""
    try:
        return make(), None
    except ConfigurationError as error:
        return None, error


def _shown_everywhere(env: Env) -> None:
    """Every display of ``env``: none may raise. Resolving may refuse what is inconsistent
    across fields (a GPU count without a model), as documented, with a resolution error."""
    effective = EffectiveEnv.from_layers({Level.OP: env})
    repr(env)
    str(env)
    effective.explain()
    effective.rows()
    try:
        resolved = effective.resolve({})
    except ResolutionError:
        return
    repr(resolved)
    resolved.explain()
    json.dumps(resolved.to_dict())
    resolved.to_json()
    resolved.to_json(include_secrets=True)


# -- URLs -------------------------------------------------------------------------------------------

_hosts = st.sampled_from(
    [
        "pypi.org",
        "mirror.example",
        "127.0.0.1",
        "[::1]",
        "localhost",
        "my_service",
        "bücher.example",
        "xn--bcher-kva.example",
        "a" * 64 + ".example",
        "ho st",
        "",
        "-bad.example",
        "a..b",
        "[::1",
        "[zz::1]",
        "exa%41mple.org",
        "host\x00",
        "ex\u0130mple.org",
    ]
)
_ports = st.sampled_from(
    [None, "", "0", "1", "80", "65535", "65536", "99999", "abc", "+80", "\u0668\u0660", "\uff18\uff10", "-1"]
)
_userinfo = (
    st.none()
    | st.sampled_from(["u:p", "__token__:abc", "user@corp:p@ss", "tok", ":", "u:"])
    | st.text(max_size=8)
)
_schemes = st.sampled_from(["https", "http", "HTTPS", "file", "ftp", "", "https:/", "https:"])
_paths = st.sampled_from(
    ["", "/", "/simple", "/simple/", "/a b", "/x?q=1", "/x#f", "/\x7f", "/ünï"]
) | st.text(max_size=6).map(lambda t: "/" + t)


@st.composite
def url_like(draw: st.DrawFn) -> str:
    """Strings built like URLs from good and bad parts."""
    scheme, userinfo, host, port, path = (
        draw(_schemes),
        draw(_userinfo),
        draw(_hosts),
        draw(_ports),
        draw(_paths),
    )
    netloc = (
        (f"{userinfo}@" if userinfo is not None else "") + host + (f":{port}" if port is not None else "")
    )
    separator = "://" if scheme and not scheme.endswith(":") and not scheme.endswith("/") else ""
    return f"{scheme}{separator}{netloc}{path}"


@given(st.one_of(url_like(), st.text(max_size=30)))
def test_an_accepted_index_url_can_be_shown_and_split(value: str) -> None:
    """A URL is refused naming the field, or accepted and then shown, explained, serialized
    and split into URL and credentials without error."""
    made, error = _refusal(lambda: AutoPythonEnv(pypi_index_url=value, explorer=NothingExplorer))
    if error is not None:
        assert "AutoPythonEnv.pypi_index_url" in str(error)
        return
    python_env = cast("AutoPythonEnv", made)
    _shown_everywhere(Env(python_env=python_env))
    accepted = python_env.pypi_index_url
    assert accepted is not None
    bare, _ = split_credentials(accepted)
    assert "@" not in re.split(r"[/?#]", bare.partition("://")[2], maxsplit=1)[0]
    httpx.URL(bare)  # the index client's HTTP library takes it


@given(st.lists(st.one_of(url_like(), st.text(max_size=12)), max_size=3))
def test_extra_index_urls_are_refused_by_index_or_shown(values: list[str]) -> None:
    """Each extra index URL is checked; an error names its index in the list."""
    made, error = _refusal(
        lambda: ManualPythonEnv(python_version="3.11", pypi_packages={}, extra_index_urls=values)
    )
    if error is not None:
        assert "ManualPythonEnv.extra_index_urls[" in str(error)
        return
    _shown_everywhere(Env(python_env=cast("ManualPythonEnv", made)))


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("https://host:99999/simple", "port 99999, out of range 1-65535"),
        ("https://host:0/simple", "port 0, out of range"),
        ("https://host:٨٠/simple", "not a number (ASCII digits"),
        ("https://host:+80/simple", "not a number"),
        ("https://ho st/simple", "must not contain a space"),
        ("https://host\t/simple", "must not contain a tab"),
        ("https:///simple", "has no host"),
        ("https://[::1/simple", "without its closing ']'"),
        ("https://[::g]/simple", "invalid IPv6 host"),
        ("https://-host/simple", "is not a host name"),
        ("https://a..b/simple", "is not a host name"),
        ("https://a{b}.org/simple", "must not contain the character '{'"),
        ("mirror.example/simple", "must be an absolute http(s):// or file:// URL"),
        ("ftp://mirror.example/simple", "must be an absolute http(s):// or file:// URL"),
        ("file://server/share", "must be a file:///absolute/path URL"),
        ("https://host/simple?token=s3cr3t", "must not have a query ('?...') or a fragment"),
        ("https://host/simple#s3cr3t", "must not have a query ('?...') or a fragment"),
        ("https://a.example/simple,https://b.example/simple", "not several joined by commas"),
        ("https://a.example/simple, http://b.example/simple", "not several joined by commas"),
        ("https://u:s3cr3t@a.example/simple,file:///srv", "not several joined by commas"),
        ("https://\u00a1/simple", "not a valid international domain name (IDNA 2008)"),
        ("https://ho\u200bst/simple", "U+200B"),
        ("https://u:p\u3000w@host/simple", "credentials that are not written as user:password@"),
        ("https://host/sim\u00a0ple", "U+00A0"),
        ("https://host/\u202eelpmis", "U+202E"),
        ("https://u:p/w@host:99999/simple", "port 99999, out of range"),
        ("https://u:p w@host/simple", "credentials that are not written as user:password@"),
    ],
)
def test_malformed_urls_are_refused_with_the_field_named(value: str, fragment: str) -> None:
    """Ports, hosts, spaces, schemes: what is wrong is said, with the field and the value."""
    with pytest.raises(FieldValueError) as caught:
        AutoPythonEnv(pypi_index_url=value)
    assert "AutoPythonEnv.pypi_index_url" in str(caught.value)
    assert fragment in str(caught.value)
    assert "s3cr3t" not in str(caught.value)


@pytest.mark.parametrize(
    "value",
    [
        "https://pypi.org/simple",
        "http://127.0.0.1:8080/simple/",
        "https://__token__:p%40ss@mirror.example:8443/simple",
        "https://[::1]:3141/root/pypi/+simple/",
        "https://bücher.example/simple",
        "http://my_service:8000/",
        "file:///srv/wheels",
        "https://host.example:8443/some/path,v2/simple/",
    ],
)
def test_well_formed_urls_are_accepted(value: str) -> None:
    """Host names, IP addresses, international names, credentials and local directories."""
    assert AutoPythonEnv(pypi_index_url=value).pypi_index_url == (
        value.rstrip("/") if value.count("/") > 3 else value
    )


# -- any field, any value ---------------------------------------------------------------------------

_junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.just(ANY),
    st.lists(st.text(max_size=6), max_size=3),
    st.dictionaries(st.text(max_size=6), st.text(max_size=6) | st.integers(), max_size=3),
    st.just(b"bytes"),
    st.just(Path("/tmp")),
)
_KWARGS: dict[type[object], Mapping[str, st.SearchStrategy[object]]] = {
    Provisioning: {
        "cpu_type": st.sampled_from(["x86_64", "any", "ANY", " ", "\x00", "A100"]) | _junk,
        "cpu_count": st.integers(-2, 2**40) | _junk,
        "gpu_type": st.sampled_from(["A100", "any", "\t", "RTX 4090"]) | _junk,
        "gpu_count": st.integers(-2, 16) | _junk,
        "ram_size_gb": st.floats() | st.integers(-1, 2**1100) | _junk,
    },
    AutoPythonEnv: {
        "python_version": st.sampled_from(["3.11", "3", "3.11.7", "3.\u0661\u0661", "2.7", "3.011", "4"])
        | _junk,
        "pypi_index_url": url_like() | _junk,
        "extra_index_urls": st.lists(url_like(), max_size=2) | _junk,
        "additional_pypi_packages": st.dictionaries(
            st.sampled_from(["numpy", "NumPy", "a_b", "\u017fcipy", "-x", ""]),
            st.sampled_from(["1.0", " 2.1.0 ", "v3", "٢.0", ">=1", "1.0+cpu", "=="]),
            max_size=3,
        )
        | _junk,
        "exclude_packages": st.lists(st.sampled_from(["numpy", "torch", "bad name", ""]), max_size=3) | _junk,
        "target_platform": st.sampled_from(["manylinux_2_28_x86_64", "any", "Linux-x86_64", ""]) | _junk,
        "raise_on_binaries": _junk,
        "treat_editables_as_locals": _junk,
    },
    ManualPythonEnv: {
        "python_version": st.sampled_from(["3.11", "3.12.1", "3.x"]) | _junk,
        "pypi_packages": st.dictionaries(
            st.sampled_from(["attrs", "Attrs", "x"]), st.sampled_from(["23.1", "23.1.0"])
        )
        | _junk,
        "pypi_index_url": url_like() | _junk,
        "local_module_paths": st.lists(
            st.sampled_from(["a\x00b", "\udc80x", ""]) | st.text(max_size=5), max_size=2
        )
        | _junk,
    },
    OnlyLocalPythonEnv: {
        "python_version": st.sampled_from(["3.11", "3.12"]) | _junk,
        "raise_on_binaries": _junk,
    },
    DockerContainer: {
        "image": st.sampled_from(["ubuntu:24.04", "ghcr.io/a/b:1", "u:p@h/x", "UPPER", ""]) | _junk,
        "registry": st.sampled_from(["ghcr.io", "localhost:5000", "https://u:p@h", "bad host"]) | _junk,
        "pull_policy": st.sampled_from(["Always", "never", "sometimes"]) | _junk,
        "username": st.sampled_from(["robot"]) | _junk,
        "password": st.sampled_from(["pw"]) | _junk,
    },
}


@st.composite
def constructions(draw: st.DrawFn) -> tuple[type[object], dict[str, object]]:
    """A class and keywords for it, each keyword drawn from good values and junk."""
    klass = draw(st.sampled_from(list(_KWARGS)))
    fields = _KWARGS[klass]
    names = draw(st.lists(st.sampled_from(sorted(fields)), unique=True))
    return klass, {name: draw(fields[name]) for name in names}


@given(constructions())
def test_construction_refuses_clearly_or_gives_something_showable(
    case: tuple[type[object], dict[str, object]],
) -> None:
    """Any value in any field: an lzy configuration error naming the class, or an object that
    every display (repr, explain, rows, to_dict, to_json) shows without raising."""
    klass, fields = case
    if klass in {AutoPythonEnv, OnlyLocalPythonEnv}:
        fields = {**fields, "explorer": NothingExplorer}
    part, error = _refusal(lambda: _untyped(klass)(**fields))
    if error is not None:
        assert klass.__name__ in str(error)
        return
    if isinstance(part, ManualPythonEnv) and part.local_module_paths:
        part = dataclasses.replace(part, local_module_paths=())
    if isinstance(part, Provisioning):
        env = Env(provisioning=part)
    elif isinstance(part, DockerContainer):
        env = Env(container=part)
    else:
        env = Env(python_env=cast("PythonEnv", part))
    _shown_everywhere(env)


# -- versions and names ---------------------------------------------------------------------------

#: Three, as other scripts write it: Arabic-Indic, Devanagari, full-width, superscript, bold.
_OTHER_DIGITS = ["\u0663", "\u0969", "\uff13", "\u00b3", "\U0001d7d1"]


@pytest.mark.parametrize("digit", _OTHER_DIGITS)
def test_only_ascii_digits_make_a_version(digit: str) -> None:
    """Unicode digits are digits to ``\\d``, not to a Python version or a pin."""
    with pytest.raises(FieldValueError, match="python_version"):
        AutoPythonEnv(python_version=f"{digit}.11")
    with pytest.raises(FieldValueError, match=r"pypi_packages\['numpy'\]"):
        ManualPythonEnv(python_version="3.11", pypi_packages={"numpy": f"2.{digit}"})


@pytest.mark.parametrize(
    ("given_version", "stored"),
    [("3.11", "3.11"), ("3", "3"), ("3.11.7", "3.11.7"), ("3.011", "3.11"), ("03.11", "3.11")],
)
def test_python_versions_are_normalized(given_version: str, stored: str) -> None:
    """Leading zeros go, as PEP 440 reads versions."""
    assert OnlyLocalPythonEnv(python_version=given_version).python_version == stored


@pytest.mark.parametrize("value", ["2.7", "4", " 3.11", "3.11 ", "3.11.7.1", "3.", "py3.11", "3.11rc1"])
def test_python_versions_that_are_no_python_3_version_are_refused(value: str) -> None:
    """Another major version, white space, extra parts."""
    with pytest.raises(FieldValueError, match=r"OnlyLocalPythonEnv\.python_version"):
        OnlyLocalPythonEnv(python_version=value)


@pytest.mark.parametrize(
    ("pin", "stored"),
    [
        ("2.1.0", "2.1.0"),
        (" 2.1.0 ", "2.1.0"),
        ("v2.1", "2.1"),
        ("2.1.0-1", "2.1.0.post1"),
        ("1.0+CPU", "1.0+cpu"),
    ],
)
def test_pins_are_normalized_pep_440_versions(pin: str, stored: str) -> None:
    """Pins are trimmed and written as PEP 440 writes them."""
    env = ManualPythonEnv(python_version="3.11", pypi_packages={"numpy": pin})
    assert env.pypi_packages == {"numpy": stored}


@pytest.mark.parametrize(
    ("pin", "hint"), [("==2.1.0", "write the version alone: '2.1.0'"), (">=2", "PEP 440")]
)
def test_a_pin_that_is_a_specifier_is_refused(pin: str, hint: str) -> None:
    """A pin is one exact version, not a requirement specifier."""
    with pytest.raises(FieldValueError, match="is not an exact version") as caught:
        ManualPythonEnv(python_version="3.11", pypi_packages={"numpy": pin})
    assert hint in str(caught.value)


def test_two_pins_of_one_project_conflict() -> None:
    """Names that normalize to one project (case, ``-``, ``_``, ``.``) are a conflict naming both."""
    with pytest.raises(FieldValueError) as caught:
        ManualPythonEnv(
            python_version="3.11", pypi_packages={"zope.interface": "6.0", "Zope_Interface": "6.0"}
        )
    assert "'zope.interface' and 'Zope_Interface' name the same project (zope-interface)" in str(caught.value)
    with pytest.raises(FieldValueError, match="name the same project"):
        AutoPythonEnv(additional_pypi_packages={"numpy": "2.1.0", "NumPy": "2.0.0"})


def test_a_package_both_forced_and_excluded_is_a_conflict() -> None:
    """``additional_pypi_packages`` installs it, ``exclude_packages`` leaves it out: not both."""
    with pytest.raises(ConfigurationError, match=r"'numpy' \('NumPy'\) is both in additional_pypi_packages"):
        AutoPythonEnv(additional_pypi_packages={"numpy": "2.1.0"}, exclude_packages=["NumPy"])


@pytest.mark.parametrize("name", ["\u017fcipy", "numpy\u212a", "a b", "-x", "x-", ""])
def test_distribution_names_are_ascii_pep_508_names(name: str) -> None:
    """Letters that only case-insensitive Unicode matching confuses with ASCII are refused."""
    with pytest.raises(ConfigurationError):
        ManualPythonEnv(python_version="3.11", pypi_packages={name: "1.0"})


def test_pins_are_compared_as_versions_by_the_local_runtime() -> None:
    """``26.4.0`` is ``26.4``: a pin that names the installed version with more zeros is met."""
    installed = importlib.metadata.version("packaging")
    assert same_version(installed + ".0", installed)
    assert same_version("26.4.0", "26.4")
    assert not same_version("26.4.1", "26.4")
    env = Env(
        python_env=ManualPythonEnv(python_version="3.11", pypi_packages={"packaging": installed + ".0"})
    )
    LocalRuntime().check(EffectiveEnv.from_layers({Level.OP: env}).resolve({}))


@pytest.mark.parametrize("value", ["manylinux_2_28_x86_64", "macosx_11_0_arm64", "win_amd64", "any"])
def test_wheel_platform_tags_are_accepted(value: str) -> None:
    """The tags wheels are published under."""
    assert AutoPythonEnv(target_platform=value).target_platform == value


@pytest.mark.parametrize(
    ("value", "hint"), [("manylinux-2-28-x86-64", "did you mean 'manylinux_2_28_x86_64'?"), ("Linux x86", "")]
)
def test_a_platform_that_is_no_wheel_tag_is_refused(value: str, hint: str) -> None:
    """A wrong tag would silently find no wheel for anything."""
    with pytest.raises(FieldValueError, match=r"AutoPythonEnv\.target_platform") as caught:
        AutoPythonEnv(target_platform=value)
    assert hint in str(caught.value)


# -- paths and variables ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["a\x00b", "mod\ud800.py"])
def test_impossible_local_paths_are_refused_at_once(path: str) -> None:
    """A NUL or a character the file system cannot encode is refused at construction."""
    with pytest.raises(FieldValueError, match=r"ManualPythonEnv.local_module_paths\[1\]"):
        ManualPythonEnv(python_version="3.11", pypi_packages={}, local_module_paths=["ok.py", path])


def test_a_bare_string_is_not_a_list_of_strings() -> None:
    """It would be read as its characters; the error shows how to write one item."""
    with pytest.raises(FieldTypeError, match=r"for one, write \['numpy'\]"):
        _untyped(AutoPythonEnv)(exclude_packages="numpy")
    with pytest.raises(FieldTypeError, match="local_module_paths must be a list or tuple"):
        _untyped(ManualPythonEnv)(python_version="3.11", pypi_packages={}, local_module_paths="src")


@pytest.mark.parametrize(
    "environ", [{"A": "x\x00"}, {"A": "\ud800"}, {"\ud800": "x"}, {"A=B": "x"}, {"": "x"}, {"A": 1}]
)
def test_impossible_variables_are_refused(environ: dict[str, object]) -> None:
    """A name or value the operating system cannot take is refused when the env is made."""
    with pytest.raises(ConfigurationError, match=r"Env\.environ"):
        _untyped(Env)(environ=environ)


# -- construction as the with_* methods do it ------------------------------------------------------

_CONSTRUCTIONS: list[tuple[type[object], str, dict[str, object]]] = [
    (Provisioning, "with_provisioning", {"cpu_cont": 1}),
    (Provisioning, "with_provisioning", {"gpus": 1, "cpu_count": 2}),
    (AutoPythonEnv, "with_python_env", {"bogus": 1}),
    (AutoPythonEnv, "with_python_env", {"pypi_index": "https://x/simple"}),
    (ManualPythonEnv, "with_python_env", {"python_version": "3.11"}),
    (ManualPythonEnv, "with_python_env", {"python_version": "3.11", "pypi_packages": {}, "local_paths": []}),
    (OnlyLocalPythonEnv, "with_python_env", {"explorers": None}),
    (DockerContainer, "with_container", {"imag": "ubuntu"}),
    (DockerContainer, "with_container", {}),
    (NoContainer, "with_container", {"image": "ubuntu"}),
]


@pytest.mark.parametrize(("klass", "method", "fields"), _CONSTRUCTIONS)
def test_direct_construction_fails_as_the_with_method_does(
    klass: type[object], method: str, fields: dict[str, object]
) -> None:
    """``Provisioning(cpu_cont=1)`` and ``with_provisioning(cpu_cont=1)``: the same error, with
    the valid fields listed and the closest suggested."""
    with pytest.raises(ConfigurationError) as direct:
        klass(**fields)
    with pytest.raises(ConfigurationError) as through:
        getattr(Lzy(), method)(klass=klass, **fields)
    assert type(direct.value) is type(through.value)
    assert str(direct.value) == str(through.value)
    if isinstance(direct.value, UnknownFieldError):
        assert "(valid fields: " in str(direct.value)


def test_unknown_field_suggests_the_closest() -> None:
    """The message names the klass, the keyword and the closest valid one."""
    with pytest.raises(
        UnknownFieldError, match="Provisioning has no field 'cpu_cont'; did you mean 'cpu_count'"
    ):
        _untyped(Provisioning)(cpu_cont=1)


def test_fields_are_keywords_only() -> None:
    """A positional value says the fields are keywords and lists them."""
    with pytest.raises(FieldTypeError, match="Provisioning takes its fields as keywords only"):
        _untyped(Provisioning)(2)


_KLASS_PATHS = [
    (".lzy.env.provisioning.Provisioning", "is relative"),
    ("..Provisioning", "is relative"),
    ("lzy..env.Provisioning", "is not a dotted path"),
    ("lzy.env.provisioning.", "is not a dotted path"),
    ("lzy/env/provisioning.Provisioning", "is not a dotted path"),
    ("lzy.env.provisioning.Provisioning ", "is not a dotted path"),
    ("lzy.env.provisioning.class", "is not a dotted path"),
    ("a\x00b.C", "is not a dotted path"),
    ("Provisioning", "is not a dotted path"),
    ("lzy.env.provisioning.Provisioning.cpu_count.x", "has no attribute"),
    ("lzy.env.provisioning.Provisionin", "did you mean 'Provisioning'"),
    ("no_such_package.sub.Provisioning", "module 'no_such_package' not found"),
    ("lzy.env.provisioning.ANY", "must be a subclass of Provisioning"),
]


@pytest.mark.parametrize(("path", "fragment"), _KLASS_PATHS)
def test_a_malformed_klass_path_is_the_klass_error(path: str, fragment: str) -> None:
    """Relative, empty, non-identifier or missing: a KlassError naming ``klass``, never an error
    of the import machinery."""
    with pytest.raises(KlassError) as caught:
        _untyped(Lzy().with_provisioning)(klass=path)
    assert "klass" in str(caught.value)
    assert fragment in str(caught.value)


def test_a_klass_module_that_fails_to_import_is_the_klass_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A module that raises while importing, or imports what is missing, says so."""
    (tmp_path / "raising_points.py").write_text("raise RuntimeError('broken on import')\n")
    (tmp_path / "needy_points.py").write_text("import no_such_dependency_xyz\n")
    monkeypatch.setattr(sys, "path", [str(tmp_path), *sys.path])
    with pytest.raises(KlassError, match="raised RuntimeError: broken on import"):
        _untyped(Lzy().with_provisioning)(klass="raising_points.Provisioning")
    with pytest.raises(KlassError, match=r"importing 'needy_points' failed .*no_such_dependency_xyz"):
        _untyped(Lzy().with_provisioning)(klass="needy_points.Provisioning")
    for name in ("raising_points", "needy_points"):
        sys.modules.pop(name, None)


@pytest.mark.parametrize("field", ["cpu_type", "gpu_type"])
@pytest.mark.parametrize("spelled", ["ANY", "any", " Any "])
def test_the_sentinel_spelled_as_a_string_is_refused(field: str, spelled: str) -> None:
    """``gpu_type="ANY"`` would ask for a model called ANY; the error points to ``ANY``."""
    with pytest.raises(FieldValueError, match=f"write {field}=ANY"):
        _untyped(Provisioning)(**{field: spelled})
    assert getattr(Provisioning(**{field: ANY}), field) is ANY


@pytest.mark.parametrize("value", [float("inf"), float("nan"), 0, -1.5, 10**400])
def test_memory_is_a_positive_finite_number(value: float) -> None:
    """Including ints too large to be a float."""
    with pytest.raises(FieldValueError, match=r"Provisioning\.ram_size_gb must be a positive finite number"):
        Provisioning(ram_size_gb=value)


@pytest.mark.parametrize("value", ["https://u:p@reg.example", "bad host", "reg.example/path"])
def test_a_registry_is_a_host(value: str) -> None:
    """``registry=`` is a host[:port]; credentials go in username and password."""
    with pytest.raises(FieldValueError, match=r"DockerContainer\.registry must be a registry host"):
        DockerContainer(image="app", registry=value)


# -- immutability -----------------------------------------------------------------------------------

_ASSIGNMENTS: list[tuple[Callable[[], object], str, str]] = [
    (lambda: Env(python_env=AutoPythonEnv()), "python_env", ".with_python_env("),
    (Env, "environ", ".with_environ("),
    (AutoPythonEnv, "pypi_index_url", "dataclasses.replace(python_env, pypi_index_url=...)"),
    (Provisioning, "cpu_count", ".with_provisioning(cpu_count=...)"),
    (lambda: DockerContainer(image="x"), "image", "dataclasses.replace(container, image=...)"),
    (lambda: EffectiveEnv.from_layers({}), "environ", "dataclasses.replace"),
]


@pytest.mark.parametrize(("make", "field", "hint"), _ASSIGNMENTS)
def test_assigning_a_field_says_envs_are_immutable(make: Callable[[], object], field: str, hint: str) -> None:
    """``env.python_env = ...`` (as one might write it) says how to make a changed copy; it is
    still a :class:`dataclasses.FrozenInstanceError`."""
    part = make()
    with pytest.raises(ImmutableEnvError) as caught:
        setattr(part, field, None)
    assert "is immutable" in str(caught.value)
    assert hint in str(caught.value)
    assert isinstance(caught.value, dataclasses.FrozenInstanceError)
    with pytest.raises(ImmutableEnvError):
        delattr(part, field)


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class _SlotsDiskProvisioning(Provisioning):
    """A user's slots subclass: its generated ``__setattr__`` is replaced as the built-in one is."""

    #: Disk throughput in MB/s.
    disk_io: int | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class _DictDiskProvisioning(Provisioning):
    """A user's subclass that is not a slots class."""

    #: Disk throughput in MB/s.
    disk_io: int | None = None


#: One of each configuration class, with the point it configures (``None`` for none).
_FROZEN_OBJECTS: list[tuple[Callable[[], object], str | None]] = [
    (Env, None),
    (Provisioning, "provisioning"),
    (AutoPythonEnv, "python_env"),
    (lambda: ManualPythonEnv(python_version="3.11", pypi_packages={}), "python_env"),
    (OnlyLocalPythonEnv, "python_env"),
    (lambda: DockerContainer(image="ubuntu"), "container"),
    (NoContainer, "container"),
    (lambda: EffectiveEnv.from_layers({}), None),
    (_SlotsDiskProvisioning, "provisioning"),
    (_DictDiskProvisioning, "provisioning"),
    (lambda: Resources(cpu_count=1), None),
    (lambda: MachineSpec(name="m", cpu_type="x86_64", cpu_count=1, ram_size_gb=1), None),
    (lambda: EffectiveEnv.from_layers({}).rows()[0], None),
]

#: Names assigned by mistake: misspelt fields, another point's field, no field at all, dunders.
_MISTAKEN_NAMES = [
    "pyhton_env",
    "cpu_cont",
    "imag",
    "pypi_index",
    "enviorn",
    "nonexistent",
    "_POINT",
    "__dict__",
    "__class__",
]


@pytest.mark.parametrize("name", _MISTAKEN_NAMES)
@pytest.mark.parametrize(("make", "point"), _FROZEN_OBJECTS)
@pytest.mark.parametrize("change", ["assigned", "deleted"])
def test_assigning_or_deleting_any_name_says_the_object_is_immutable(
    make: Callable[[], object], point: str | None, name: str, change: str
) -> None:
    """A misspelt field on a frozen (slots) class is the library's immutability error, naming
    the field and the closest one, with the way to a changed copy; never a ``TypeError`` about
    ``super()`` or an ``AttributeError`` from the slots."""
    part = make()
    before = repr(part)
    attempt: Callable[[], None] = (
        (lambda: setattr(part, name, 1)) if change == "assigned" else (lambda: delattr(part, name))
    )
    with pytest.raises(ImmutableEnvError) as caught:
        attempt()
    message = str(caught.value)
    assert f"has no field {name!r}" in message
    assert f"cannot be {change}" in message
    assert "is immutable" in message
    assert "dataclasses.replace(" in message
    if point is not None:
        assert f".with_{point}(" in message
    names = [f.name for f in dataclasses.fields(cast("Any", part))]
    suggestion = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    if suggestion:
        assert f"did you mean {suggestion[0]!r}" in message
    assert repr(part) == before


# -- every field, hostile values --------------------------------------------------------------------


class _BrokenRepr:
    """A value whose ``repr`` raises: a message about it must still be made."""

    def __repr__(self) -> str:
        raise RuntimeError("no repr")


#: Values of every kind no field (or few) takes: wrong types, a bool where an int goes, NaN and
#: infinities, a huge int, empty and blank strings, NUL, controls, a lone surrogate, a direction
#: mark, non-ASCII digits, a long string, and an object whose repr fails.
_HOSTILE: list[object] = [
    True,
    -1,
    0.5,
    float("nan"),
    float("inf"),
    10**400,
    "",
    " ",
    "\x00",
    "a\x00b",
    "a\x1bb",
    "\ud800",
    "\u202eexe.txt",
    "\u0661\u0662",
    "\uff11\uff12",
    "x" * 5000,
    b"bytes",
    [],
    {},
    object(),
    _BrokenRepr(),
]

#: For each field: the class, the ``with_*`` method that builds it, keywords it needs, and the
#: hostile values it takes (those are skipped: every other one must be refused).
_FIELDS: dict[str, tuple[type[object], str, dict[str, object], tuple[object, ...]]] = {
    "Provisioning.cpu_type": (
        Provisioning,
        "with_provisioning",
        {},
        ("\u0661\u0662", "\uff11\uff12", "x" * 5000),
    ),
    "Provisioning.cpu_count": (Provisioning, "with_provisioning", {}, ()),
    "Provisioning.gpu_type": (
        Provisioning,
        "with_provisioning",
        {},
        ("\u0661\u0662", "\uff11\uff12", "x" * 5000),
    ),
    "Provisioning.gpu_count": (Provisioning, "with_provisioning", {}, ()),
    "Provisioning.ram_size_gb": (Provisioning, "with_provisioning", {}, (0.5,)),
    "AutoPythonEnv.python_version": (AutoPythonEnv, "with_python_env", {}, ()),
    "AutoPythonEnv.pypi_index_url": (AutoPythonEnv, "with_python_env", {}, ()),
    "AutoPythonEnv.extra_index_urls": (AutoPythonEnv, "with_python_env", {}, ([],)),
    "AutoPythonEnv.additional_pypi_packages": (AutoPythonEnv, "with_python_env", {}, ({},)),
    "AutoPythonEnv.exclude_packages": (AutoPythonEnv, "with_python_env", {}, ([],)),
    "AutoPythonEnv.target_platform": (AutoPythonEnv, "with_python_env", {}, ()),
    "AutoPythonEnv.explorer": (AutoPythonEnv, "with_python_env", {}, ()),
    "AutoPythonEnv.raise_on_binaries": (AutoPythonEnv, "with_python_env", {}, (True,)),
    "AutoPythonEnv.treat_editables_as_locals": (AutoPythonEnv, "with_python_env", {}, (True,)),
    "ManualPythonEnv.python_version": (ManualPythonEnv, "with_python_env", {"pypi_packages": {}}, ()),
    "ManualPythonEnv.pypi_packages": (ManualPythonEnv, "with_python_env", {"python_version": "3.11"}, ({},)),
    "ManualPythonEnv.local_module_paths": (
        ManualPythonEnv,
        "with_python_env",
        {"python_version": "3.11", "pypi_packages": {}},
        ([],),
    ),
    "OnlyLocalPythonEnv.python_version": (OnlyLocalPythonEnv, "with_python_env", {}, ()),
    "OnlyLocalPythonEnv.raise_on_binaries": (OnlyLocalPythonEnv, "with_python_env", {}, (True,)),
    "DockerContainer.image": (DockerContainer, "with_container", {}, ()),
    "DockerContainer.registry": (DockerContainer, "with_container", {"image": "ubuntu"}, ()),
    "DockerContainer.pull_policy": (DockerContainer, "with_container", {"image": "ubuntu"}, ()),
    "DockerContainer.username": (
        DockerContainer,
        "with_container",
        {"image": "ubuntu", "password": "pw"},
        ("\u0661\u0662", "\uff11\uff12", "x" * 5000),
    ),
    "DockerContainer.password": (
        DockerContainer,
        "with_container",
        {"image": "ubuntu", "username": "u"},
        (" ", "\u0661\u0662", "\uff11\uff12", "x" * 5000),
    ),
    "DockerContainer.pin_digest": (DockerContainer, "with_container", {"image": "ubuntu"}, (True,)),
}


@pytest.mark.parametrize("value", _HOSTILE, ids=lambda value: type(value).__name__)
@pytest.mark.parametrize("path", list(_FIELDS))
def test_every_field_refuses_hostile_values_by_name_alike_both_ways(path: str, value: object) -> None:
    """Each hostile value a field does not take is refused when the object is made, with an lzy
    error naming ``Class.field``; ``with_*`` refuses it with the same error."""
    klass, method, needed, accepted = _FIELDS[path]
    if any(type(value) is type(good) and value == good for good in accepted):
        return
    field = path.partition(".")[2]
    fields = {**needed, field: value}
    with pytest.raises(ConfigurationError) as direct:
        _untyped(klass)(**fields)
    assert path in str(direct.value)
    with pytest.raises(ConfigurationError) as through:
        getattr(Lzy(), method)(klass=klass, **fields)
    assert (type(through.value), str(through.value)) == (type(direct.value), str(direct.value))


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ({"A B": "1"}, "holds white space"),
        ({"A\tB": "1"}, "control character U+0009"),
        ({"A\u202e": "1"}, "direction mark U+202E"),
        ({"A\x1b": "1"}, "control character U+001B"),
        ({"A": "x\x1by"}, "control character U+001B"),
        ({"A": "x\x7f"}, "control character U+007F"),
        ({"A": "x\x85"}, "control character U+0085"),
        ({"API_TOKEN": "s3cret\x07"}, "value not shown"),
    ],
)
def test_variable_names_and_values_with_controls_are_refused(value: dict[str, str], fragment: str) -> None:
    """A name is printable without white space; a value may hold tabs and line breaks only."""
    with pytest.raises(EnvironError) as caught:
        Env(environ=value)
    assert fragment in str(caught.value)
    assert "s3cret" not in str(caught.value)


def test_values_may_hold_tabs_and_line_breaks() -> None:
    """A PEM key or a multi-line setting is a value like any other."""
    key = "-----BEGIN CERTIFICATE-----\nMIIB\tx\r\n-----END CERTIFICATE-----\n"
    assert Env(environ={"CA_CERT": key}).environ["CA_CERT"] == key


@pytest.mark.parametrize("path", ["a\nb", "src\tx", "x\u202ey.py", "\x7fx"])
def test_a_local_path_with_a_control_character_is_refused(path: str) -> None:
    """A line break, a tab or a direction mark in a path is refused at once."""
    with pytest.raises(FieldValueError, match=r"local_module_paths\[0\] holds the"):
        ManualPythonEnv(python_version="3.11", pypi_packages={}, local_module_paths=[path])


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("cpu_count", 2**31, "must be at most 2,147,483,647 (a 32-bit count), got 2147483648"),
        ("gpu_count", 10**400, "got a number of about 401 digits"),
        ("ram_size_gb", 2**31, "must be at most 1,073,741,824 GiB"),
        ("ram_size_gb", 10**5000, "got a number of about 5,001 digits"),
    ],
    ids=["cpu_count", "gpu_count", "ram_size_gb", "ram_size_gb-long"],
)
def test_huge_numbers_are_refused_with_the_bound(field: str, value: int, fragment: str) -> None:
    """Counts fit in 32 bits and memory in an EiB; a number too long to print is described."""
    with pytest.raises(FieldValueError) as caught:
        _untyped(Provisioning)(**{field: value})
    assert f"Provisioning.{field}" in str(caught.value)
    assert fragment in str(caught.value)


@pytest.mark.parametrize(
    "version", ["3." + "1" * 5000, "3.11.12345", "1" * 4400], ids=["long", "five", "huge"]
)
def test_a_python_version_with_too_many_digits_is_refused(version: str) -> None:
    """Never the ``ValueError`` of ``int()`` on a 5,000-digit number."""
    with pytest.raises(FieldValueError, match="python_version must be a version string"):
        AutoPythonEnv(python_version=version)


@pytest.mark.parametrize("version", ["1" * 5000, "1." + "2" * 4400], ids=["huge", "long"])
def test_a_pin_with_too_many_digits_is_refused(version: str) -> None:
    """Never the ``ValueError`` of ``int()`` on a 5,000-digit number."""
    with pytest.raises(FieldValueError, match=r"pypi_packages\['x'\]: .* is not an exact version"):
        ManualPythonEnv(python_version="3.11", pypi_packages={"x": version})


@pytest.mark.parametrize(
    ("username", "password", "fragment"),
    [
        ("a b", "pw", "username must not hold ' '"),
        ("a:b", "pw", "username must not hold ':'"),
        ("a\x00", "pw", "username must not hold '\\x00'"),
        ("u", "", "password must be a non-empty string"),
        ("u", "s3cret\n", "password holds a control character"),
        ("u", "s3cret\x00", "password holds a control character"),
        ("u", "s3cret\ud800", "password holds a control character"),
    ],
)
def test_registry_logins_that_cannot_be_sent_are_refused(username: str, password: str, fragment: str) -> None:
    """A user name HTTP authentication cannot carry, or a password with a control character, is
    refused when the container is made; the password is never shown."""
    with pytest.raises(FieldValueError) as caught:
        DockerContainer(image="ubuntu", username=username, password=password)
    assert fragment in str(caught.value)
    assert "s3cret" not in str(caught.value)


@pytest.mark.parametrize("registry", ["x" * 254, "a" * 64 + ".example", "a." * 127 + "com"])
def test_a_registry_host_longer_than_dns_allows_is_refused(registry: str) -> None:
    """253 characters, 63 to a label."""
    with pytest.raises(FieldValueError, match="longer than DNS allows"):
        DockerContainer(image="ubuntu", registry=registry)


@pytest.mark.parametrize("name", ["", " ", "a\nb", "w\x00", "\u202ew"])
def test_a_workflow_name_is_printable_text(name: str) -> None:
    """A workflow's name is shown in messages and logs: no controls, no direction marks."""
    with pytest.raises(ConfigurationError, match=r"Workflow\.name"):
        Lzy().workflow(name)


@pytest.mark.parametrize(
    ("pins", "message"),
    [
        ({"nu\x1b[2Jmpy": "2.1.0"}, "is not a valid distribution name"),
        ({"numpy": "2.1.0\x1b[31m"}, "is not an exact version (PEP 440)"),
        ({"numpy": "2.1.0", "NumPy": "2.0.0"}, "numpy"),
    ],
)
def test_a_resolved_env_read_back_holds_its_pins_to_the_points_rules(
    pins: dict[str, str], message: str
) -> None:
    """A serialized env whose pins a Python env would refuse is refused when it is read back."""
    from lzy.api.v1 import op
    from lzy.api.v1.env import ManualPythonEnv
    from lzy.env.environment import ResolvedEnv

    env = ManualPythonEnv(python_version="3.11", pypi_packages={"numpy": "2.1.0"})
    data = op(abs).with_python_env(env).effective_env().resolve().to_dict()
    data["python_env"]["pypi_packages"] = pins
    with pytest.raises(ConfigurationError, match=re.escape(message)):
        ResolvedEnv.from_dict(data)
