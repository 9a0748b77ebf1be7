"""The whole environment: :class:`Env`, its merge across levels, provenance and artifacts.

The merge rule of each point is :data:`MERGE_RULES`, the one table that decides how levels
combine. :class:`EffectiveEnv` applies it and remembers where every value came from;
:meth:`EffectiveEnv.resolve` turns it into a :class:`ResolvedEnv` of artifacts, the only thing
a runtime needs.
"""

from __future__ import annotations

import dataclasses
import enum
import itertools
import operator
import textwrap
import types
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, TypeVar, cast

from lzy.env._base import (
    ENVIRON,
    SHOWN,
    EnvironMap,
    EnvPart,
    OpTarget,
    assemble,
    check_part_class,
    closest,
    decorate_op,
    describe,
    environ_field,
    environ_map,
    expect_instance,
    immutable,
    is_checked_part_class,
    is_secret_field,
    is_set,
    masked_repr,
    more_derived,
    redact_text,
    shown_environ,
)
from lzy.env._serial import JsonDocument
from lzy.env.container.base import Container, NoContainer, ResolvedContainer
from lzy.env.explorer.base import namespace_of
from lzy.env.provisioning import Provisioning, Resources
from lzy.env.python.auto import AutoPythonEnv
from lzy.env.python.base import PythonEnv, ResolvedPythonEnv
from lzy.exceptions import UnknownPathError

if TYPE_CHECKING:
    # argparse is loaded only when a command line is read (lzy.env._cli_parser).
    import argparse

__all__ = [
    "DEFAULT_ENV",
    "MERGE_RULES",
    "EffectiveEnv",
    "Env",
    "ExplainRow",
    "Level",
    "MergeRule",
    "ResolvedEnv",
    "layer_over",
    "render_table",
]


def __dir__() -> list[str]:
    return __all__


_O = TypeVar("_O", bound=OpTarget)


class Level(enum.IntEnum):
    """Where a value was set. A higher level wins over a lower one."""

    #: Not set by the user at any level: the library's default.
    DEFAULT = 0
    #: Set on :class:`~lzy.api.v1.Lzy`, for the whole program.
    LZY = 10
    #: Set on a workflow.
    WORKFLOW = 20
    #: Set on an op.
    OP = 30
    #: Given on the command line (:class:`~lzy.env.cli.CliOverrides`, ``lzy-env``): wins over
    #: every level set in code.
    CLI = 40


class MergeRule(enum.Enum):
    """How one point combines across levels."""

    #: The highest level that sets the point wins; the point is never merged.
    REPLACE = "replaced whole"
    #: Each field comes from the highest level that sets it.
    FIELDS = "merged field by field"
    #: Each key comes from the highest level that sets it.
    KEYS = "merged key by key"


#: The merge table: for each point (a field of :class:`Env`), how levels combine. This table
#: is the only place the rule lives; :class:`EffectiveEnv` and every ``with_*`` method apply it.
MERGE_RULES: Final[Mapping[str, MergeRule]] = types.MappingProxyType(
    {
        "provisioning": MergeRule.FIELDS,
        "python_env": MergeRule.REPLACE,
        "container": MergeRule.REPLACE,
        "environ": MergeRule.KEYS,
    }
)


#: The class each point's value must be an instance of (``environ`` is a mapping).
_POINT_BASES: Final[Mapping[str, type]] = types.MappingProxyType(
    {"provisioning": Provisioning, "python_env": PythonEnv, "container": Container}
)


def _expect_part(field: str, value: object, base: type) -> None:
    if value is None:
        return
    if not isinstance(value, base):
        expect_instance(f"Env.{field}", value, base, f"a {base.__name__} or None")
    if not is_checked_part_class(type(value)):
        check_part_class(type(value), f"Env.{field}")


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True, repr=False)
class Env(EnvPart):
    """The environment of one level: four independent points, each optional.

    A point left ``None`` (or ``environ`` left empty) is inherited from the outer level.
    Used as a decorator above ``@op`` it replaces the op's whole env.

    :param provisioning: The resources: merged field by field across levels. Default: ``None``.
    :param python_env: The Python environment: replaced whole by the highest level that sets it. Default: ``None``.
    :param container: The container: replaced whole by the highest level that sets it. Default: ``None``.
    :param environ: Environment variables: merged key by key across levels. The value of a variable whose name marks it as a secret (``HF_TOKEN``, ``PGPASSWORD``, ``apiKey``; see :ref:`secrets`) is shown as ``***``, and the credentials of every URL inside other values are masked. Default: ``{}``.
    """  # noqa: E501 - one line per parameter, as editors read them

    #: The resources: merged field by field across levels.
    provisioning: Provisioning | None = None
    #: The Python environment: replaced whole by the highest level that sets it.
    python_env: PythonEnv | None = None
    #: The container: replaced whole by the highest level that sets it.
    container: Container | None = None
    #: Environment variables: merged key by key across levels. The value of a variable whose
    #: name marks it as a secret (``HF_TOKEN``, ``PGPASSWORD``, ``apiKey``; see :ref:`secrets`)
    #: is shown as ``***``, and the credentials of every URL inside other values are masked.
    environ: Mapping[str, str] = environ_field()

    def __post_init__(self) -> None:
        # A subclass of Env is held to what a point class needs too (cached: checked once).
        check_part_class(type(self), type(self).__name__)
        _expect_part("provisioning", self.provisioning, Provisioning)
        _expect_part("python_env", self.python_env, PythonEnv)
        _expect_part("container", self.container, Container)
        object.__setattr__(self, "environ", environ_map("Env", "environ", self.environ))

    def __call__(self, op: _O, /) -> _O:
        """Decorate an op: ``op.with_env(self)`` (the op's whole env is replaced)."""
        return decorate_op(self, op, lambda o: o.with_env(self))

    def merged_over(self, outer: Env) -> Env:
        """This env layered over ``outer`` by :data:`MERGE_RULES` (this one wins).

        The result has the more derived class of the two, so a subclass of :class:`Env` keeps
        its type, its methods and its own fields (each taken from the env that sets it, this one
        first; a field equal to its default is not set).
        """
        if type(self) is Env and type(outer) is Env:
            return assemble(Env, _over(_POINTS_OF(outer), _POINTS_OF(self)))
        changes: dict[str, object] = {}
        for point, rule in MERGE_RULES.items():
            inner_value, outer_value = getattr(self, point), getattr(outer, point)
            changes[point] = _point_over(rule, outer_value, inner_value)
        base = more_derived(self, outer, "Env")
        for field in dataclasses.fields(base):
            if field.name in MERGE_RULES or not field.init:
                continue
            for env in (self, outer):
                if is_set(env, field.name):
                    changes[field.name] = getattr(env, field.name)
                    break
        return dataclasses.replace(base, **cast("dict[str, Any]", changes))

    @classmethod
    def generate_argparser(cls, *, prog: str | None = None) -> argparse.ArgumentParser:
        """A parser of the options that describe an env (``--provisioning.cpu-count 4``), one
        per field of every built-in klass, grouped by point, each with the field's meaning, type
        and default; :meth:`from_cli_args` reads its result."""
        from lzy.env import _cli_parser  # noqa: PLC0415 - argparse loads only for a command line

        return _cli_parser.generate_argparser(prog=prog, targets=False)

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        """Add the options of :meth:`generate_argparser` to a parser of your own, created with
        ``allow_abbrev=False``; see :meth:`CliOverrides.add_arguments
        <lzy.env.cli.CliOverrides.add_arguments>`."""
        from lzy.env import _cli_parser  # noqa: PLC0415 - argparse loads only for a command line

        _cli_parser.add_arguments(parser, targets=False, who="Env.add_arguments")

    @classmethod
    def from_cli_args(cls, argv: Sequence[str] | argparse.Namespace | None = None) -> Env:
        """The env a command line describes: ``argv``, its words (``sys.argv[1:]`` by default,
        where the words that are not env options are left to the program), or the namespace a
        parser given :meth:`add_arguments` returned.

        A bad value exits the way argparse does, with a message naming the option. To make the
        values win over an op's own, give them to :class:`~lzy.api.v1.Lzy` as its CLI level
        (:meth:`Lzy.with_cli_args <lzy.api.v1.Lzy.with_cli_args>`).
        """
        from lzy.env import _cli_parser  # noqa: PLC0415 - argparse loads only for a command line

        return _cli_parser.env_from_cli_args(argv)


#: Each point's rule, in the order of :data:`MERGE_RULES` (that of :class:`Env`'s fields).
_RULES: Final = tuple(MERGE_RULES.values())
#: Each point's place in that order.
_POINT_INDEX: Final = {point: index for index, point in enumerate(MERGE_RULES)}
#: An env's points, in that order.
_POINTS_OF: Final = operator.attrgetter(*MERGE_RULES)
#: No environment variables.
_NO_VARIABLES: Final = EnvironMap()
#: ``Level.DEFAULT``, looked up once.
_DEFAULT: Final = Level.DEFAULT


def _over(lower: Sequence[object], upper: Sequence[object]) -> list[object]:
    """The points of an env (``upper``, in the order of :data:`MERGE_RULES`) layered over
    ``lower``'s by each point's rule.

    For plain :class:`Env` objects: each value was checked when its env (and its provisioning)
    was made, and merging them relates no field to another, so nothing is checked again. A
    subclass of :class:`Env` merges through :meth:`Env.merged_over`, which builds (and so
    checks) its result; a subclass of :class:`Provisioning` through its own ``merged_over``.
    """
    return [_point_over(rule, below, value) for rule, below, value in zip(_RULES, lower, upper, strict=True)]


def _point_over(rule: MergeRule, below: object, value: object) -> object:
    """One point's ``value`` layered over ``below`` by ``rule`` (``None`` is unset)."""
    if value is None or below is None:
        return below if value is None else value
    if rule is MergeRule.REPLACE:
        return value
    if rule is MergeRule.FIELDS:
        return cast("Provisioning", value).merged_over(cast("Provisioning", below))
    if not value or not below:  # KEYS: an empty mapping sets no key
        return value or below
    return EnvironMap.layered(cast("tuple[EnvironMap, EnvironMap]", (below, value)))


def layer_over(outer: Env, point: str, value: object) -> Env:
    """``Env(**{point: value}).merged_over(outer)``, what each ``with_*`` method of an owner does:
    ``value`` is checked as :class:`Env` checks it, then merged over ``outer``'s by the point's rule."""
    if type(outer) is not Env:
        return Env(**cast("dict[str, Any]", {point: value})).merged_over(outer)
    if point == "environ":
        value = environ_map("Env", "environ", value)
    else:
        # The same point (immutable) over the same env always layers to the same env.
        known = _LAYERED.get((id(outer), point, id(value)))
        if known is not None and known[0] is outer and known[1] is value:
            return known[2]
        _expect_part(point, value, _POINT_BASES[point])
    points = list(_POINTS_OF(outer))
    index = _POINT_INDEX[point]
    points[index] = _point_over(_RULES[index], points[index], value)
    layered = assemble(Env, points)
    # A mapping given to with_environ may change after, and a user's class is kept alive by
    # no memory of lzy's: neither is remembered.
    if point != "environ" and type(value).__module__.startswith("lzy."):
        if len(_LAYERED) >= _LAYERINGS_KEPT:
            _LAYERED.clear()
        _LAYERED[id(outer), point, id(value)] = (outer, value, layered)
    return layered


#: What :func:`layer_over` made of a point over an env, by their identities; each entry holds
#: both, so no id in a kept key can be another object's.
_LAYERED: dict[tuple[int, str, int], tuple[Env, object, Env]] = {}


def _expect_path(path: object) -> None:
    if not isinstance(path, str):
        msg = f"source() takes a dotted path string, got {describe(path)}"
        raise UnknownPathError(msg)


def _default_env() -> Env:
    return Env(provisioning=Provisioning(), python_env=AutoPythonEnv(), container=NoContainer())


#: What applies where no level sets a value: no resource requirements, an
#: :class:`~lzy.env.python.auto.AutoPythonEnv` for the running interpreter, no container and no
#: environment variables.
DEFAULT_ENV: Final = _default_env()


@immutable
@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class ExplainRow:
    """One row of :meth:`EffectiveEnv.explain`."""

    #: The dotted path of the value (``"provisioning.cpu_count"``, ``"environ.MODE"``).
    path: str
    #: The value, as shown (secrets masked).
    value: str
    #: The level the value came from.
    level: Level


def _callable_name(value: object) -> str:
    """A class or function as a user names it: lzy's own by its name alone (its module is an
    implementation detail; the public facades export it), anyone else's by its dotted path."""
    module, qualname = getattr(value, "__module__", "?"), getattr(value, "__qualname__", "?")
    if module == "lzy" or str(module).startswith("lzy."):
        return str(qualname)
    return f"{module}.{qualname}"


def _show(value: object, field: dataclasses.Field[object]) -> str:
    """A field's value for :meth:`EffectiveEnv.explain`: secrets masked, readable forms for
    sets, callables and enums, and what an unset value stands for where it says so."""
    if value is None and callable(stands_for := field.metadata.get(SHOWN)):
        return f"None: {redact_text(str(stands_for()))}"
    if is_secret_field(field) or field.metadata.get(ENVIRON):
        return masked_repr(field, value)
    if isinstance(value, frozenset):
        text = repr(sorted(map(str, cast("frozenset[object]", value))))
    elif callable(value) and hasattr(value, "__qualname__"):
        text = _callable_name(value)
    elif isinstance(value, enum.Enum) and not isinstance(value, Level):
        text = f"{type(value).__name__}.{value.name}" if repr(value).startswith("<") else repr(value)
    else:
        text = repr(value)
    return redact_text(text)


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True, repr=False)
class EffectiveEnv(EnvPart):
    """The environment an op runs with, merged across levels, remembering where each value came from.

    Building one is cheap: nothing is explored until :meth:`resolve`.
    """

    #: The resources, merged field by field.
    provisioning: Provisioning
    #: The Python environment of the highest level that sets one.
    python_env: PythonEnv
    #: The container of the highest level that sets one.
    container: Container
    #: The environment variables, merged key by key (secret values masked when shown).
    environ: Mapping[str, str] = dataclasses.field(metadata={ENVIRON: True})
    #: The levels that took part, lowest first, with the env each set (``DEFAULT`` included).
    layers: tuple[tuple[Level, Env], ...]
    #: The op's function, whose namespace :meth:`resolve` explores; ``None`` for none.
    function: Callable[..., object] | None = None

    @classmethod
    def from_layers(
        cls,
        layers: Mapping[Level, Env | None],
        *,
        function: Callable[..., object] | None = None,
    ) -> EffectiveEnv:
        """Merge ``layers`` (any order; ``DEFAULT_ENV`` is added under them) by :data:`MERGE_RULES`.

        Envs are immutable: what the same envs at the same levels merge to is remembered, so
        layering them again (at every call of an op) costs a lookup.
        """
        # Sorted by level (each level once: a mapping's keys), the envs never compared. The key
        # names each env by its identity, with its level (see _layered_points).
        layered_envs = [(_DEFAULT, DEFAULT_ENV)]
        key: list[object] = [id(DEFAULT_ENV), _DEFAULT]
        for level, env in sorted(layers.items()):
            if env is not None and level is not _DEFAULT:
                layered_envs.append((level, env))
                key += (id(env), level)
        stack: tuple[tuple[Level, Env], ...] = tuple(layered_envs)
        points, _ = _layered_points(stack, tuple(key))
        if cls is EffectiveEnv:
            # Every value comes from a checked env: made as the merge makes an Env.
            return assemble(EffectiveEnv, (*points, stack, function))
        fields = cast("dict[str, Any]", dict(zip(MERGE_RULES, points, strict=True)))
        return cls(**fields, layers=stack, function=function)

    def _point_level(self, point: str) -> Level:
        rule = MERGE_RULES[point]
        level = Level.DEFAULT
        for layer_level, env in self.layers[1:]:
            value = getattr(env, point)
            if rule is MergeRule.FIELDS:
                is_set = value is not None and not cast("Provisioning", value).is_empty
            elif rule is MergeRule.KEYS:
                is_set = bool(value)
            else:
                is_set = value is not None
            if is_set:
                level = layer_level
        return level

    def _field_level(self, point: str, name: str) -> Level:
        level = Level.DEFAULT
        for layer_level, env in self.layers[1:]:
            value = getattr(env, point)
            if MERGE_RULES[point] is MergeRule.KEYS:
                if name in value:
                    level = layer_level
            elif value is not None and getattr(value, name, None) is not None:
                level = layer_level
        return level

    def merged_env(self) -> Env:
        """The envs of every level merged into one :class:`Env`, by :meth:`Env.merged_over`.

        Its class is the most derived of theirs, so the fields of a subclass of :class:`Env`
        (with the value of the highest level that sets each) are kept; its points are this
        effective env's.
        """
        merged = self.layers[0][1]
        for _, env in self.layers[1:]:
            merged = env.merged_over(merged)
        return merged

    def _own_fields(self) -> list[tuple[dataclasses.Field[object], object, Level]]:
        """The fields of subclasses of :class:`Env` among the levels (not the points): each with
        its merged value and the highest level that sets it."""
        if all(type(env) is Env for _, env in self.layers):
            return []
        merged = self.merged_env()
        found: list[tuple[dataclasses.Field[object], object, Level]] = []
        for field in dataclasses.fields(merged):
            if field.name in MERGE_RULES:
                continue
            level = Level.DEFAULT
            for layer_level, env in self.layers[1:]:
                if any(f.name == field.name for f in dataclasses.fields(env)) and is_set(env, field.name):
                    level = layer_level
            found.append((cast("dataclasses.Field[object]", field), getattr(merged, field.name), level))
        return found

    def source(self, path: str) -> Level:
        """The level the value at ``path`` came from.

        ``"provisioning"`` names the highest level that set any of it; ``"provisioning.cpu_count"``
        the highest that set that field (``DEFAULT`` when none did); a path inside a replaced
        point (``"python_env.python_version"``) names that point's level; ``"environ.NAME"`` the
        level that set that variable. Raises :class:`~lzy.exceptions.UnknownPathError` for a path
        that names nothing.
        """
        _expect_path(path)
        point, dot, rest = path.partition(".")
        if point not in MERGE_RULES:
            own = {field.name: level for field, _, level in self._own_fields()}
            if point in own and not dot:
                return own[point]
            names = [*MERGE_RULES, *own]
            msg = (
                f"unknown path {path!r}: {point!r} is not a point{closest(point, names)}"
                f" (points: {', '.join(MERGE_RULES)}"
                + (f"; fields of {type(self.merged_env()).__name__}: {', '.join(own)}" if own else "")
                + ")"
            )
            raise UnknownPathError(msg)
        if not dot:
            return self._point_level(point)
        rule = MERGE_RULES[point]
        if rule is MergeRule.KEYS:
            if rest not in self.environ:
                msg = (
                    f"unknown path {path!r}: no level sets the environment variable"
                    f" {rest!r}{closest(rest, self.environ)}"
                )
                raise UnknownPathError(msg)
            return self._field_level(point, rest)
        value = getattr(self, point)
        names = [f.name for f in dataclasses.fields(value)]
        if rest not in names:
            msg = (
                f"unknown path {path!r}: {type(value).__name__} has no field {rest!r}"
                f"{closest(rest, names)} (fields: {', '.join(names)})"
            )
            raise UnknownPathError(msg)
        if rule is MergeRule.REPLACE:
            return self._point_level(point)
        return self._field_level(point, rest)

    def rows(self) -> list[ExplainRow]:
        """One row per value, with the level it came from, in a stable order."""
        rows: list[ExplainRow] = []
        for point, rule in MERGE_RULES.items():
            value = getattr(self, point)
            if rule is MergeRule.KEYS:
                for key in sorted(value):
                    rows.append(
                        ExplainRow(
                            path=f"{point}.{key}",
                            value=repr(shown_environ({key: value[key]})[key]),
                            level=self.source(f"{point}.{key}"),
                        )
                    )
                if not value:
                    rows.append(ExplainRow(path=point, value="{}", level=Level.DEFAULT))
                continue
            if rule is MergeRule.REPLACE:
                rows.append(ExplainRow(path=point, value=type(value).__name__, level=self.source(point)))
            for field in dataclasses.fields(value):
                field_value = getattr(value, field.name)
                rows.append(
                    ExplainRow(
                        path=f"{point}.{field.name}",
                        value=_show(field_value, cast("dataclasses.Field[object]", field)),
                        level=self.source(f"{point}.{field.name}"),
                    )
                )
        rows.extend(
            ExplainRow(path=field.name, value=_show(value, field), level=level)
            for field, value, level in self._own_fields()
        )
        return rows

    def explain(self) -> str:
        """A table with one row per value: its path, its value and the level it came from."""
        return render_table(
            ("path", "value", "level"), [(r.path, r.value, r.level.name) for r in self.rows()]
        )

    def resolve(self, namespace: Mapping[str, object] | None = None) -> ResolvedEnv:
        """Turn every point into its artifact; the Python env explores here.

        ``namespace`` defaults to the namespace of the op's function (its referenced globals,
        closure and defaults; all its module's globals too when the Python env names another
        ``major.minor``, whose interpreter imports that module and runs its top-level imports).
        """
        if namespace is None and self.function is not None:
            version = getattr(self.python_env, "python_version", None)
            namespace = namespace_of(
                self.function, python_version=version if isinstance(version, str) else None
            )
        return ResolvedEnv(
            provisioning=self.provisioning.requirements(),
            python_env=self.python_env.resolve({} if namespace is None else namespace),
            container=self.container.resolve(),
            environ=self.environ,
        )


def _layered_points(
    stack: Sequence[tuple[Level, Env]], key: tuple[object, ...]
) -> tuple[Sequence[object], bool]:
    """The points the envs of ``stack`` (``DEFAULT_ENV`` first) merge to, and whether they are all
    plain :class:`Env` objects; ``key`` is the id and level of each.

    Envs are immutable, so the same envs at the same levels always merge to the same points:
    they are remembered for every start of a stack (the ops of a workflow share the workflow's
    and Lzy's levels below their own). An entry holds the envs its key names by identity, so
    no id in a kept key can be another env's.
    """
    known = _LAYERINGS.get(key)
    if known is not None:
        return known[0], known[1]
    top = stack[-1][1]
    plain = type(top) is Env
    if len(stack) == 1:
        points: Sequence[object] = _POINTS_OF(top)
    else:
        below, plain_below = _layered_points(stack[:-1], key[:-2])
        plain = plain and plain_below
        if plain:
            points = _over(below, _POINTS_OF(top))
        else:
            # A subclass of Env takes part: merged as Env.merged_over merges, level by level.
            merged = stack[0][1]
            for _, env in stack[1:]:
                merged = env.merged_over(merged)
            points = _POINTS_OF(merged)
    if len(_LAYERINGS) >= _LAYERINGS_KEPT:
        _LAYERINGS.clear()  # a program that makes more starts afresh
    _LAYERINGS[key] = (points, plain, stack)
    return points, plain


#: The merged points of the stacks layered last, whether their envs are plain, and the stacks
#: themselves (see :func:`_layered_points`).
_LAYERINGS: dict[tuple[object, ...], tuple[Sequence[object], bool, Sequence[tuple[Level, Env]]]] = {}
_LAYERINGS_KEPT: Final = 256


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True, repr=False)
class ResolvedEnv(EnvPart, JsonDocument):
    """The artifacts of every point: all a runtime needs to run an op."""

    #: The resource requirements.
    provisioning: Resources
    #: The Python environment to provide.
    python_env: ResolvedPythonEnv
    #: The container to run in.
    container: ResolvedContainer
    #: The environment variables to set (secret values masked when shown, left out of
    #: :meth:`to_dict` unless secrets are asked for).
    environ: Mapping[str, str] = environ_field()

    def __post_init__(self) -> None:
        object.__setattr__(self, "environ", environ_map("ResolvedEnv", "environ", self.environ))

    def explain(self) -> str:
        """Why each package and local module of the Python env was chosen."""
        return self.python_env.explain()


#: How many columns :func:`render_table` keeps a table to: a formatted source line's (88), which
#: a terminal shows whole and the docs' code blocks show without wrapping.
_TABLE_WIDTH: Final = 88


def render_table(headers: Sequence[str], rows: Iterable[Sequence[str]], *, width: int = _TABLE_WIDTH) -> str:
    """Rows of text as an aligned plain-text table with a header line, ``width`` columns at most.

    When the rows are wider, the widest column is narrowed first and its cells wrap at spaces,
    each continuation line under its column; a word (a name, a path, a URL) is never split,
    so a column is never narrower than its longest word.
    """
    table = [tuple(headers), *(tuple(r) for r in rows)]
    count = len(headers)
    widths = [max(len(row[i]) for row in table) for i in range(count)]
    floors = [max(len(word) for row in table for word in [*row[i].split(), ""]) for i in range(count)]
    excess = sum(widths) + 2 * (count - 1) - width
    while excess > 0:
        narrowable = [i for i in range(count) if widths[i] > floors[i]]
        if not narrowable:
            break
        widest = max(narrowable, key=lambda i: widths[i])
        others = [widths[i] for i in narrowable if i != widest]
        step = min(excess, widths[widest] - floors[widest], max(widths[widest] - max(others, default=0), 1))
        widths[widest] -= step
        excess -= step
    lines: list[str] = []
    for number, row in enumerate(table):
        cells = [_wrapped(cell, w) for cell, w in zip(row, widths, strict=True)]
        for parts in itertools.zip_longest(*cells, fillvalue=""):
            lines.append("  ".join(part.ljust(w) for part, w in zip(parts, widths, strict=True)).rstrip())
        if number == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _wrapped(cell: str, width: int) -> list[str]:
    """A cell's lines in a column ``width`` wide: as it is when it fits, else wrapped at spaces."""
    if len(cell) <= width:
        return [cell]
    return textwrap.wrap(cell, width, break_long_words=False, break_on_hyphens=False) or [""]
