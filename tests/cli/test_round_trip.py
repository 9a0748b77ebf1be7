"""Round trips over generated values: a klass set from the command line is the klass the Python API
builds from the same values, and the command line refuses exactly what the Python API refuses."""

from __future__ import annotations

import contextlib
import enum
import io
import os
from collections.abc import Generator, Iterable, Mapping
from typing import Any, cast

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from lzy.api.v1.env import ANY, Env, EnvExplorer, Exploration
from lzy.env._catalog import POINTS, Point, field_docs
from lzy.env._cli_parser import FieldOption, Kind, KlassOption, field_options, klass_names
from lzy.exceptions import ConfigurationError
from tests.cli.test_options import SAMPLES


class Quiet(EnvExplorer):
    """An explorer that finds nothing, named by the command line's dotted path."""

    def explore(self, namespace: Mapping[str, object]) -> Exploration:
        del namespace
        return Exploration()


def quiet() -> EnvExplorer:
    """A factory of :class:`Quiet`."""
    return Quiet()


def loud() -> EnvExplorer:
    """Another factory, so that the choice matters."""
    return Quiet()


#: The callables a dotted-path option may name, by their path.
CALLABLES = {f"{__name__}.quiet": quiet, f"{__name__}.loud": loud}
#: Where a generated secret travels: the variable ``env:NAME`` names.
SECRET_VARIABLE = "LZY_ROUND_TRIP_SECRET"

KLASSES = [(point, klass) for point in POINTS for klass in point.klasses]

#: Text as a command line may carry it: anything but NUL and lone surrogates.
TEXT = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=16)


def _options(point: Point, klass: type[object]) -> dict[str, FieldOption]:
    names = {doc.name for doc in field_docs(klass)}
    return {o.name: o for o in field_options() if o.point is point and o.name in names}


def _seeds(name: str) -> list[object]:
    """The value the option samples use: a valid one, so that both outcomes are reached."""
    return [SAMPLES[name][1]] if name in SAMPLES else []


def _text(option: FieldOption) -> st.SearchStrategy[str]:
    seeds = [seed for seed in _seeds(option.name) if isinstance(seed, str)]
    text = st.one_of(st.sampled_from(seeds), TEXT) if seeds else TEXT
    if option.accepts_any:  # ANY in any case is ANY on the command line (documented)
        text = text.filter(lambda value: value.strip().upper() != "ANY")
    if option.is_url:  # env:NAME is read from a variable on the command line (documented)
        text = text.filter(lambda value: not value.startswith("env:"))
    return text


def _scalar(option: FieldOption) -> st.SearchStrategy[object]:
    kind = option.kind
    if kind is Kind.INT:
        base: st.SearchStrategy[object] = st.integers(-3, 10**9)
    elif kind is Kind.NUMBER:
        base = st.floats(-4, 1e9, allow_nan=False, allow_infinity=False)
    elif kind is Kind.BOOL:
        base = st.booleans()
    elif kind is Kind.CHOICE:
        assert option.choices is not None
        base = st.sampled_from(list(option.choices))
    elif kind is Kind.CALLABLE:
        base = st.sampled_from(list(CALLABLES.values()))
    elif kind is Kind.SECRET:
        base = TEXT
    elif kind is Kind.TEXT:
        base = _text(option)
    elif kind is Kind.SEQUENCE:
        lists = [
            sorted(cast("Iterable[str]", seed))
            for seed in _seeds(option.name)
            if isinstance(seed, list | tuple | set)
        ]
        items = st.lists(_text(option), min_size=1, max_size=3)
        base = st.one_of(st.sampled_from(lists), items) if lists else items
    else:
        assert kind is Kind.MAPPING
        keys = TEXT.filter(lambda key: "=" not in key)
        values = TEXT.filter(lambda value: not value.startswith("="))  # NAME==VERSION is a pin
        mappings = [
            dict(cast("Mapping[str, str]", seed)) for seed in _seeds(option.name) if isinstance(seed, dict)
        ]
        pairs = st.dictionaries(keys, values, min_size=1, max_size=3)
        base = st.one_of(st.sampled_from(mappings), pairs) if mappings else pairs
    return st.one_of(st.just(ANY), base) if option.accepts_any else base


def _words(option: FieldOption, value: object) -> list[str]:
    """The command line that gives ``option`` the value ``value``, written as a user would."""
    if value is ANY:
        return [f"{option.option}=any"]
    if option.kind is Kind.SECRET:
        return [f"{option.option}=env:{SECRET_VARIABLE}"]
    if option.kind is Kind.BOOL:
        return [f"{option.option}={'yes' if value else 'off'}"]
    if option.kind is Kind.CHOICE:
        assert isinstance(value, enum.Enum)
        return [f"{option.option}={value.name.lower()}"]
    if option.kind is Kind.CALLABLE:
        return [f"{option.option}={next(path for path, f in CALLABLES.items() if f is value)}"]
    if option.kind is Kind.NUMBER:
        return [f"{option.option}={value!r}"]
    if option.kind is Kind.SEQUENCE:
        return [f"{option.option}={item}" for item in cast("list[str]", value)]
    if option.kind is Kind.MAPPING:
        return [f"{option.option}={key}={item}" for key, item in cast("dict[str, str]", value).items()]
    return [f"{option.option}={value}"]


@contextlib.contextmanager
def _secret(value: object) -> Generator[None]:
    saved = os.environ.get(SECRET_VARIABLE)
    if isinstance(value, str):
        os.environ[SECRET_VARIABLE] = value
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop(SECRET_VARIABLE, None)
        else:
            os.environ[SECRET_VARIABLE] = saved


def _from_command_line(argv: list[str]) -> tuple[Env | int, str]:
    """The env the command line gives, or the exit status, with what was said on standard error."""
    said = io.StringIO()
    with contextlib.redirect_stderr(said):
        try:
            return Env.from_cli_args(argv), said.getvalue()
        except SystemExit as exit_:
            return (exit_.code if isinstance(exit_.code, int) else -1), said.getvalue()


def _from_python(point: Point, klass: type[object], values: dict[str, object]) -> Env | None:
    try:
        part = klass(**values)
        return Env(**cast("dict[str, Any]", {point.field: part}))
    except ConfigurationError:
        return None


@st.composite
def _settings(draw: st.DrawFn, point: Point, klass: type[object]) -> dict[str, object]:
    options = _options(point, klass)
    chosen = draw(st.lists(st.sampled_from(sorted(options)), unique=True)) if options else []
    required = [doc.name for doc in field_docs(klass) if doc.required]
    if draw(st.booleans()):  # mostly give what is required, so that valid settings come often
        chosen = list(dict.fromkeys([*required, *chosen]))
    return {name: draw(_scalar(options[name])) for name in chosen}


def _argv(point: Point, klass: type[object], values: dict[str, object]) -> list[str]:
    names = {k: name for name, k in klass_names(point).items()}
    options = _options(point, klass)
    argv = [KlassOption(point=point).option, names.get(klass, f"{klass.__module__}.{klass.__qualname__}")]
    for name, value in values.items():
        argv += _words(options[name], value)
    return argv


@pytest.mark.parametrize(("point", "klass"), KLASSES, ids=[klass.__name__ for _, klass in KLASSES])
@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(data=st.data())
def test_the_command_line_builds_what_the_python_api_builds(
    point: Point, klass: type[object], data: st.DataObject
) -> None:
    """Every field of every built-in klass, set to generated values: the same klass, or refused by both."""
    values = data.draw(_settings(point, klass))
    with _secret(
        next((v for name, v in values.items() if _options(point, klass)[name].kind is Kind.SECRET), None)
    ):
        got, said = _from_command_line(_argv(point, klass, values))
    expected = _from_python(point, klass, values)
    event("refused by both" if expected is None else "built by both")
    if expected is None:
        assert got == 2, f"the command line took what the Python API refuses: {values!r}"
        assert "error: argument --" in said, said
    else:
        assert got == expected, said


@settings(max_examples=100)
@given(st.dictionaries(TEXT.filter(lambda key: "=" not in key), TEXT, max_size=4))
def test_environ_from_the_command_line_is_environ_from_the_python_api(environ: dict[str, str]) -> None:
    """``--environ KEY=VALUE`` for generated variables: the same env, or refused by both."""
    argv = [f"--environ={key}={value}" for key, value in environ.items()]
    got, said = _from_command_line(argv)
    try:
        expected: Env | None = Env(environ=environ)
    except ConfigurationError:
        expected = None
    if expected is None:
        assert got == 2
        assert "error: argument --environ" in said
    else:
        assert got == expected, said


def test_every_point_and_klass_is_generated() -> None:
    """The round trips cover each built-in klass of each point, and each kind of value."""
    assert {klass for _, klass in KLASSES} == {klass for point in POINTS for klass in point.klasses}
    covered = {o.kind for point, klass in KLASSES for o in _options(point, klass).values()}
    assert covered == set(Kind)
