"""The ``lzy-env`` command: explain, validate, diff and describe environments.

``lzy-env explain TARGET`` loads an op (or a workflow, a Lzy, an Env) from a file or a module and
shows its effective env with the level of every value, the command line's options given after
it taking the level ``CLI``; ``validate`` resolves it and says whether it holds; ``schema`` prints
the JSON Schema of what ``--json`` writes; ``diff`` compares two serialized resolved envs.
Output is an aligned table on a terminal (coloured only on a TTY, never with ``NO_COLOR``) and
JSON with ``--json``. :data:`EXIT_STATUSES` lists what the exit status means.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import dataclasses
import enum
import importlib
import importlib.util
import json
import os
import re
import shutil
import sys
import textwrap
import traceback
import types
import warnings
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Final, TextIO, cast

import lzy
from lzy.env._base import OpTarget, closest, describe, redact_url
from lzy.env._cli_parser import ArgumentParser, HelpFormatter, add_arguments, command_line, parse_args
from lzy.env._schema import json_schema
from lzy.env._serial import dump
from lzy.env.cli import CliOverrides
from lzy.env.container.docker import DockerContainer
from lzy.env.container.registry import DEADLINE_ENV, INSECURE_ENV, ImageCheck, Platform, registry_host
from lzy.env.environment import EffectiveEnv, Env, ExplainRow, Level, ResolvedEnv
from lzy.env.explorer.base import Classification, EnvExplorer, ExplorerFactory, namespace_of
from lzy.env.owner import EnvOwner
from lzy.env.python.auto import AutoPythonEnv, make_explorer
from lzy.env.python.base import PythonEnv, ResolvedPythonEnv
from lzy.env.python.manual import ManualPythonEnv
from lzy.exceptions import LzyError

__all__ = [
    "EXIT_STATUSES",
    "Check",
    "DiffOutput",
    "Difference",
    "ExplainOutput",
    "Status",
    "ValidateOutput",
    "build_parser",
    "main",
    "schemas",
]

#: The command worked: the env is explained or valid, the envs do not differ, the schema is printed.
EXIT_OK: Final = 0
#: ``validate``: the env does not resolve or a check failed; ``diff``: the envs differ.
EXIT_NO: Final = 1
#: The command could not do its work: the command line is wrong (argparse's status for an unknown
#: option or a bad value), or an input cannot be read. As ``diff`` and ``cmp`` do, 1 is an answer
#: and 2 is trouble.
EXIT_ERROR: Final = 2
#: Interrupted (Ctrl-C): 128 plus the number of ``SIGINT``, as a shell reports it.
EXIT_INTERRUPTED: Final = 130

#: Each exit status and what it means.
EXIT_STATUSES: Final = (
    (EXIT_OK, "success: explained; valid; no differences; schema printed"),
    (EXIT_NO, "validate: the env does not resolve or a check failed; diff: the envs differ"),
    (
        EXIT_ERROR,
        "error: the command line is wrong (an unknown option, a bad value), or an input cannot be"
        " read (TARGET or --in does not load; a file is missing, too large or not a serialized env)",
    ),
    (EXIT_INTERRUPTED, "interrupted (Ctrl-C)"),
)

#: The most ``diff`` reads of a file: a serialized env is kilobytes, and a file larger than this
#: (or an endless one, ``/dev/zero``) is not one.
MAX_ENV_BYTES: Final = 16 * 1024 * 1024


# --------------------------------------------------------------------------- output documents


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class ExplainOutput:
    """What ``lzy-env explain --json`` writes."""

    #: What was explained, in words (``"op 'train' in workflow 'nightly' (train.py)"``).
    target: str
    #: One row per value of the effective env, with the level it came from.
    rows: tuple[ExplainRow, ...]


class Status(enum.Enum):
    """The outcome of one check of ``lzy-env validate``."""

    #: The point resolves (and passes the checks asked for).
    OK = "ok"
    #: The point does not resolve, or a check asked for failed.
    FAILED = "failed"


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class Check:
    """One point of the env as ``lzy-env validate`` found it."""

    #: The point (``"provisioning"``, ``"python_env"``, ``"container"``, ``"environ"``).
    point: str
    #: Whether it holds.
    status: Status
    #: What was found, or why it failed (the error's own words).
    detail: str


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class ValidateOutput:
    """What ``lzy-env validate --json`` writes."""

    #: What was validated, in words.
    target: str
    #: Whether every point resolves and every check asked for passed.
    valid: bool
    #: One check per point, in the order of the merge table.
    checks: tuple[Check, ...]
    #: Warnings issued while resolving (a local module shipped with compiled code, ...).
    warnings: tuple[str, ...]
    #: The resolved env, as :meth:`ResolvedEnv.to_dict <lzy.env.environment.ResolvedEnv.to_dict>`
    #: writes it (no secrets); ``None`` when it is not valid.
    resolved: ResolvedEnv | None


class Change(enum.Enum):
    """How a path differs between two envs."""

    #: Only the second env has it.
    ADDED = "added"
    #: Only the first env has it.
    REMOVED = "removed"
    #: Both have it, with different values.
    CHANGED = "changed"


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class Difference:
    """One path whose value differs between two serialized envs."""

    #: The dotted path; a list item keyed by its ``name`` is ``list[name]``.
    path: str
    #: How it differs.
    change: Change
    #: The value in the first env (``null`` when added).
    a: object
    #: The value in the second env (``null`` when removed).
    b: object
    #: Whether a secret is part of the values: it is written ``***`` (credentials in a URL
    #: masked), so the values shown may look alike while the secrets differ.
    secret: bool = False


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class DiffOutput:
    """What ``lzy-env diff --json`` writes."""

    #: The first file.
    a: str
    #: The second file.
    b: str
    #: Every path that differs, in the order of the first env's keys.
    differences: tuple[Difference, ...]


def schemas() -> dict[str, dict[str, object]]:
    """The JSON Schema of each document ``lzy-env`` writes, by the name ``lzy-env schema`` takes."""
    by_name = frozenset({Level})
    return {
        "resolved-env": json_schema(ResolvedEnv, title="lzy resolved env (ResolvedEnv.to_dict)"),
        "explain": json_schema(ExplainOutput, title="lzy-env explain --json", enums_by_name=by_name),
        "validate": json_schema(ValidateOutput, title="lzy-env validate --json"),
        "diff": json_schema(DiffOutput, title="lzy-env diff --json"),
    }


def _to_json(value: object) -> object:
    if isinstance(value, _Hidden):  # before the dataclasses: its value is the secret
        return value.shown
    if isinstance(value, ResolvedEnv):
        return value.to_dict()
    if isinstance(value, Level):
        return value.name
    if isinstance(value, enum.Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): _to_json(v) for k, v in cast("Mapping[object, object]", value).items()}
    if isinstance(value, tuple | list):
        return [_to_json(item) for item in cast("Sequence[object]", value)]
    return value


def _json_text(value: object, *, indent: int | None = 2) -> str:
    """``value`` as JSON text; never a bare ``NaN`` or ``Infinity``, which JSON does not have."""
    return json.dumps(_to_json(value), indent=indent, allow_nan=False)


def _print_json(value: object) -> None:
    print(_json_text(value))


# --------------------------------------------------------------------------- terminal output


class _Style:
    """ANSI colour when writing to a terminal and ``NO_COLOR`` is unset (https://no-color.org)."""

    _CODES: Final = {
        "bold": "1",
        "dim": "2",
        "red": "31",
        "green": "32",
        "yellow": "33",
        "blue": "34",
        "cyan": "36",
    }

    def __init__(self, stream: TextIO) -> None:
        isatty = getattr(stream, "isatty", None)
        self.enabled = (
            callable(isatty)
            and bool(isatty())
            and not os.environ.get("NO_COLOR")
            and os.environ.get("TERM") != "dumb"
        )

    def __call__(self, text: str, *styles: str) -> str:
        if not self.enabled or not styles or not text:
            return text
        codes = ";".join(self._CODES[style] for style in styles)
        return f"\033[{codes}m{text}\033[0m"


_LEVEL_STYLES: Final = {
    Level.DEFAULT: ("dim",),
    Level.LZY: ("blue",),
    Level.WORKFLOW: ("cyan",),
    Level.OP: ("green",),
    Level.CLI: ("bold", "yellow"),
}


def _table(
    headers: Sequence[str] | None,
    rows: Iterable[Sequence[str]],
    style: _Style,
    styles: Callable[[int, str], tuple[str, ...]] = lambda column, cell: (),
    *,
    wrap: bool = False,
) -> str:
    """Rows as aligned columns (a cell may span lines); ``styles`` colours a cell after padding.

    With ``wrap``, the last column's text is wrapped to the terminal's width.
    """
    body = [tuple(_printable(cell) for cell in row) for row in rows]
    headers = [_printable(cell) for cell in headers] if headers else None
    table = ([tuple(headers)] if headers else []) + body
    if not table:
        return ""
    columns = len(table[0])
    widths = [max(len(line) for row in table for line in row[i].splitlines() or [""]) for i in range(columns)]
    if wrap:
        room = max(30, shutil.get_terminal_size().columns - 1 - sum(widths[:-1]) - 2 * (columns - 1))
        body = [(*row[:-1], _wrapped(row[-1], room)) for row in body]
        table = ([tuple(headers)] if headers else []) + body
        widths[-1] = max(len(line) for row in table for line in row[-1].splitlines() or [""])
    out: list[str] = []

    def emit(row: Sequence[str], painted: bool) -> None:
        split = [cell.splitlines() or [""] for cell in row]
        for index in range(max(len(lines) for lines in split)):
            cells: list[str] = []
            for column, lines in enumerate(split):
                text = lines[index] if index < len(lines) else ""
                padded = text.ljust(widths[column]) if column < columns - 1 else text
                cells.append(style(padded, *styles(column, row[column])) if painted else padded)
            out.append("  ".join(cells).rstrip())

    if headers:
        emit(headers, painted=False)
        out.append("  ".join("-" * width for width in widths))
    for row in body:
        emit(row, painted=True)
    return "\n".join(out)


#: Characters that a terminal may act on: C0 controls but the line feed, DEL, C1 controls.
_CONTROL: Final = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")


def _printable(text: str) -> str:
    """``text`` with every control character but the line feed written as an escape (``\\x1b``):
    a value read from a file or a module (an environment variable's name) cannot move the
    cursor, colour the terminal or set its title."""
    return _CONTROL.sub(lambda match: match.group().encode("unicode_escape").decode("ascii"), text)


def _wrapped(text: str, width: int) -> str:
    return "\n".join(
        "\n".join(textwrap.wrap(line, width, break_long_words=False, break_on_hyphens=False) or [""])
        for line in text.splitlines()
    )


# --------------------------------------------------------------------------- loading targets


class _InputError(Exception):
    """An input that cannot be read: exit status :data:`EXIT_ERROR`."""


_MODULE_NAME: Final = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*")


@contextlib.contextmanager
def _importing(argv0: str) -> Generator[None, None, None]:
    """Run a user's module as imported, not as a script: its ``sys.argv`` holds no arguments, so
    a module-level ``Lzy().with_cli_args()`` reads nothing (the CLI level is ``lzy-env``'s), and
    what it prints goes to standard error, keeping standard output for the command's own."""
    saved = sys.argv
    sys.argv = [argv0]
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        sys.argv = saved


def _failed_import(where: str, error: BaseException) -> _InputError:
    if isinstance(error, SystemExit):
        return _InputError(f"importing {where} exited (status {error.code}) instead of defining its ops")
    details = "".join(traceback.format_exception(error)).rstrip()
    return _InputError(f"importing {where} raised {type(error).__name__}: {error}\n{details}")


#: The files loaded by this run, so TARGET and ``--in`` naming one file share one module.
_LOADED: dict[Path, types.ModuleType] = {}


def _load_file(path: Path) -> types.ModuleType:
    if not path.is_file():
        raise _InputError(f"{path} is not a file")
    known = _LOADED.get(path.resolve())
    if known is not None:
        return known
    stem = path.stem
    # The file's own name, as when it runs as a script beside its modules, unless that name is
    # another module's (an imported one, or one the file would shadow on sys.path).
    name = f"_lzy_env_target_{len(sys.modules)}"
    if stem.isidentifier() and stem not in sys.modules:
        found = importlib.util.find_spec(stem)
        if found is None or (found.origin is not None and Path(found.origin).resolve() == path.resolve()):
            name = stem
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise _InputError(f"{path} cannot be imported as a Python module")
    module = importlib.util.module_from_spec(spec)
    directory = str(path.resolve().parent)
    if directory not in sys.path:
        sys.path.insert(0, directory)  # as when the file runs as a script: its neighbours import
    sys.modules[name] = module
    try:
        with _importing(str(path)):
            spec.loader.exec_module(module)
    except (Exception, SystemExit) as error:
        del sys.modules[name]
        raise _failed_import(str(path), error) from None
    _LOADED[path.resolve()] = module
    return module


def _load_module(name: str) -> types.ModuleType:
    if not _MODULE_NAME.fullmatch(name):
        raise _InputError(f"{name!r} is neither a .py file nor a module name")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # as python -m does
    try:
        with _importing(name):
            return importlib.import_module(name)
    except ModuleNotFoundError as error:
        if error.name is not None and name.startswith(error.name):
            raise _InputError(f"no module named {name!r} (and no file {name!r})") from None
        raise _failed_import(name, error) from None
    except (Exception, SystemExit) as error:
        raise _failed_import(name, error) from None


def _load(reference: str, *, module: types.ModuleType | None = None) -> tuple[object, str, types.ModuleType]:
    """The object ``FILE_OR_MODULE:NAME`` names (or ``NAME`` in ``module``), its name and module."""
    if module is None and Path(reference).is_file():  # a:b/train.py is a file, not a:OBJECT
        raise _InputError(f"{reference} is a file; name the object in it: {reference}:OBJECT")
    where, colon, name = reference.rpartition(":")
    if colon:
        if not where or not name:
            raise _InputError(f"{reference!r} is not FILE_OR_MODULE:OBJECT")
        path = Path(where)
        module = _load_file(path) if where.endswith(".py") or path.is_file() else _load_module(where)
    elif module is None:
        raise _InputError(f"{reference!r} is not FILE_OR_MODULE:OBJECT (for example train.py:train)")
    else:
        name = reference
    found: object = module
    parts = name.split(".")
    for index, part in enumerate(parts):
        try:
            found = getattr(found, part)
        except AttributeError:
            public = [n for n in dir(found) if not n.startswith("_")]
            owner = module.__name__ if index == 0 else ".".join(parts[:index])
            raise _InputError(f"{owner} has no {part!r}{closest(part, public)}") from None
    return found, name, module


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class _Subject:
    """What is explained or validated: its levels and the names ``--for`` is matched against."""

    description: str
    layers: Mapping[Level, Env]
    function: Callable[..., object] | None = None
    op: str | None = None
    workflow: str | None = None


def _subject(value: object, name: str) -> _Subject:
    """Classify a loaded object by the env layer's own types: an op is an :class:`OpTarget`, a
    workflow an :class:`EnvOwner` with a ``name`` and the ``lzy`` it belongs to."""
    if isinstance(value, Env):
        return _Subject(description=f"env {name!r}", layers={Level.OP: value})
    if isinstance(value, OpTarget) and isinstance(value, EnvOwner):
        function: object = getattr(value, "function", None)
        op_name: object = getattr(value, "name", None)
        if callable(function) and isinstance(op_name, str):
            return _Subject(
                description=f"op {op_name!r}", layers={Level.OP: value.env}, function=function, op=op_name
            )
        return _Subject(description=f"op builder {name!r}", layers={Level.OP: value.env})
    if isinstance(value, EnvOwner):
        owner: object = getattr(value, "lzy", None)
        workflow: object = getattr(value, "name", None)
        if isinstance(owner, EnvOwner) and isinstance(workflow, str):
            layers = {Level.LZY: owner.env, Level.WORKFLOW: value.env}
            return _Subject(description=f"workflow {workflow!r}", layers=layers, workflow=workflow)
        return _Subject(description=f"{type(value).__name__} {name!r}", layers={Level.LZY: value.env})
    msg = f"{name} is {describe(value)} ({type(value).__name__}); expected an op, a workflow, a Lzy or an Env"
    raise _InputError(msg)


def _subject_of(args: argparse.Namespace) -> _Subject:
    target: str = args.target
    value, name, module = _load(target)
    subject = _subject(value, name)
    where = f" ({target.rpartition(':')[0]})"
    scope_reference: str | None = args.scope
    if scope_reference is None:
        return dataclasses.replace(subject, description=subject.description + where)
    if set(subject.layers) != {Level.OP}:
        raise _InputError(f"--in applies to an op, but {target} is a {subject.description.split()[0]}")
    scope_value, scope_name, _ = _load(scope_reference, module=module)
    scope = _subject(scope_value, scope_name)
    if set(scope.layers) - {Level.LZY, Level.WORKFLOW}:
        raise _InputError(f"--in names a workflow or a Lzy, but {scope_reference} is a {scope.description}")
    return dataclasses.replace(
        subject,
        description=f"{subject.description} in {scope.description}{where}",
        layers={**scope.layers, **subject.layers},
        workflow=scope.workflow,
    )


def _effective(args: argparse.Namespace) -> tuple[_Subject, EffectiveEnv]:
    """The subject and its effective env with the command line's overrides as the CLI level."""
    overrides = CliOverrides.from_cli_args(args)
    subject = _subject_of(args)
    names = {subject.workflow, subject.op, (subject.op or "").rpartition(".")[2]} - {None, ""}
    for target in overrides.targets:
        if target not in names:
            said = ", ".join(sorted(cast("set[str]", names))) or "nothing"
            print(
                _printable(
                    f"lzy-env: warning: --for {target} names neither op nor workflow here ({said});"
                    " its options are not applied"
                ),
                file=sys.stderr,
            )
    cli = overrides.env_for(op=subject.op, workflow=subject.workflow)
    layers = {**subject.layers, Level.CLI: cli}
    return subject, EffectiveEnv.from_layers(layers, function=subject.function)


# --------------------------------------------------------------------------- explain


def _explain(args: argparse.Namespace, style: _Style) -> int:
    subject, effective = _effective(args)
    rows = tuple(effective.rows())
    if args.json:
        _print_json(ExplainOutput(target=subject.description, rows=rows))
        return EXIT_OK
    print(style(_printable(subject.description), "bold"))
    print()
    table = [(row.path, row.value, row.level.name) for row in rows]

    def level_style(column: int, cell: str) -> tuple[str, ...]:
        return _LEVEL_STYLES[Level[cell]] if column == 2 else ()

    print(_table(("path", "value", "level"), table, style, level_style))
    return EXIT_OK


# --------------------------------------------------------------------------- validate


def _without_index(factory: ExplorerFactory) -> ExplorerFactory:
    """``factory`` with no index to query: every installed distribution counts as available."""

    def explorer_without_index(**settings: object) -> EnvExplorer:
        offline = {**settings, "pypi_index_url": None, "extra_index_urls": ()}
        return make_explorer(factory, offline, owner="lzy-env validate")

    return explorer_without_index


def _index_detail(resolved: ResolvedPythonEnv, *, check_index: bool) -> str:
    """What ``validate`` learnt from the index about an AutoPythonEnv's pins, and what it did not."""
    if not check_index:
        return "the index was not asked (--check-index asks it)"
    kinds = collections.Counter(decision.classification for decision in resolved.decisions)
    urls = (resolved.pypi_index_url, *resolved.extra_index_urls)
    indexes = ", ".join(redact_url(url) for url in urls if url is not None)
    parts = [
        f"{kinds[Classification.PYPI]} pinned by exploring, each found on {indexes}"
        if kinds[Classification.PYPI]
        else "the exploration pinned nothing, so nothing was looked up on the index"
    ]
    if kinds[Classification.VIA_META_PACKAGE]:
        parts.append(f"{kinds[Classification.VIA_META_PACKAGE]} not there, installed through a meta-package")
    given = [d.name for d in resolved.decisions if d.classification is Classification.ADDITIONAL]
    if given:
        parts.append(
            f"{len(given)} from additional_pypi_packages ({', '.join(given)}) not looked up:"
            " --check-index checks what the exploration pins, not pins given by hand"
        )
    return "; ".join(parts)


def _python_detail(env: PythonEnv, resolved: ResolvedPythonEnv, *, check_index: bool) -> str:
    packages = len(resolved.pypi_packages)
    local = len(resolved.local_module_paths)
    counts = (
        f"{packages} package{'s' * (packages != 1)} pinned, {local} local module{'s' * (local != 1)}"
        if resolved.install
        else f"nothing installed, {local} local module{'s' * (local != 1)} shipped"
    )
    if isinstance(env, AutoPythonEnv):
        index = _index_detail(resolved, check_index=check_index) if packages or check_index else ""
    elif isinstance(env, ManualPythonEnv) and packages:
        index = "listed by hand, not looked up on the index"
    else:
        index = ""
    return f"{type(env).__name__}: {counts}" + (f"; {index}" if index else "")


def _container_detail(effective: EffectiveEnv, resolved: object) -> str:
    image: object = getattr(resolved, "image", None)
    if image is None:
        return f"{type(effective.container).__name__}: no container"
    policy: object = getattr(resolved, "pull_policy", None)
    shown_policy = policy.value if isinstance(policy, enum.Enum) else policy
    if isinstance(effective.container, DockerContainer) and effective.container.username is not None:
        credentials = "credentials given"
    elif getattr(resolved, "username", None) is not None:
        credentials = "credentials from the Docker configuration"
    else:
        credentials = "no credentials (anonymous pull)"
    return f"{image}, pull policy {shown_policy}, {credentials}"


def _platform_argument(text: str) -> Platform:
    try:
        return Platform.parse(text)
    except LzyError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _seconds_argument(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = float("nan")
    if not 0 < seconds < float("inf"):
        msg = f"expected a number of seconds > 0, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return seconds


def _host_argument(text: str) -> str:
    try:
        return registry_host("--insecure-registry", text)
    except LzyError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


@contextlib.contextmanager
def _registry_options(args: argparse.Namespace) -> Generator[None]:
    """``--registry-deadline`` and ``--insecure-registry`` as the environment variables they stand
    for, while ``validate`` runs: the registry check and the pinning of a digest both read them
    (:meth:`RegistrySettings.from_environ <lzy.env.container.registry.RegistrySettings.from_environ>`)."""
    deadline: float | None = args.registry_deadline
    insecure: list[str] = args.insecure_registry or []
    changes: dict[str, str] = {}
    if deadline is not None:
        changes[DEADLINE_ENV] = repr(deadline)
    if insecure:
        changes[INSECURE_ENV] = ",".join(h for h in (os.environ.get(INSECURE_ENV, ""), *insecure) if h)
    saved = {name: os.environ.get(name) for name in changes}
    os.environ.update(changes)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _platform(effective: EffectiveEnv) -> Platform:
    """The image platform of the machine the provisioning asks for (``linux/amd64`` by default)."""
    cpu_type = effective.provisioning.cpu_type
    return Platform.for_cpu_type(cpu_type if isinstance(cpu_type, str) else None)


def _registry_detail(found: ImageCheck) -> str:
    """What ``DockerContainer.check`` found, in words."""
    who = f" as {found.username}" if found.username is not None else ""
    matched = f" as {found.matched_platform}" if found.matched_platform is not None else ""
    return (
        f"found on {found.registry_url} for {found.platform}{matched} at {found.digest}"
        f" ({found.authentication} authentication{who})"
    )


def _provisioning_detail(resources: object) -> str:
    assert dataclasses.is_dataclass(resources)
    wanted = [
        f"{field.name}={getattr(resources, field.name)!r}"
        for field in dataclasses.fields(resources)
        if getattr(resources, field.name) is not None
    ]
    return ", ".join(wanted) or "no requirements"


def _validate(args: argparse.Namespace, style: _Style) -> int:
    subject, effective = _effective(args)
    check_index: bool = args.check_index
    check_registry: bool = args.check_registry
    platform: Platform | None = args.platform
    version = getattr(effective.python_env, "python_version", None)
    namespace = (
        namespace_of(subject.function, python_version=version if isinstance(version, str) else None)
        if subject.function is not None
        else {}
    )
    checks: list[Check] = []
    warned: list[str] = []
    parts: dict[str, object] = {}

    def step(point: str, work: Callable[[], tuple[object, str]]) -> None:
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                value, detail = work()
        except Exception as error:  # a failure of any kind means the env does not resolve
            kind = "" if isinstance(error, LzyError) else f"{type(error).__name__}: "
            checks.append(Check(point=point, status=Status.FAILED, detail=f"{kind}{error}"))
            return
        warned.extend(f"{point}: {warning.message}" for warning in caught)
        checks.append(Check(point=point, status=Status.OK, detail=detail))
        parts[point] = value

    def provisioning() -> tuple[object, str]:
        resources = effective.provisioning.requirements()
        return resources, _provisioning_detail(resources)

    def python_env() -> tuple[object, str]:
        env = effective.python_env
        if isinstance(env, AutoPythonEnv) and not check_index:
            env = dataclasses.replace(env, explorer=_without_index(env.explorer))
        resolved = env.resolve(namespace)
        return resolved, _python_detail(effective.python_env, resolved, check_index=check_index)

    def container() -> tuple[object, str]:
        chosen = effective.container
        if not isinstance(chosen, DockerContainer):
            return (resolved := chosen.resolve()), _container_detail(effective, resolved)
        # pin_digest asks the registry while resolving: only --check-registry lets validate do that.
        unpinned = chosen.pin_digest and not check_registry
        resolved = (dataclasses.replace(chosen, pin_digest=False) if unpinned else chosen).resolve()
        detail = _container_detail(effective, resolved)
        if not check_registry:
            pinned = ", and pins the digest that pin_digest asks for" if unpinned else ""
            return resolved, f"{detail}; the registry was not asked (--check-registry asks it{pinned})"
        found = chosen.check(platform=platform or _platform(effective))
        return resolved, f"{detail}; {_registry_detail(found)}"

    def environ() -> tuple[object, str]:
        count = len(effective.environ)
        return effective.environ, f"{count} variable{'s' * (count != 1)}"

    with _registry_options(args):
        for point, work in (
            ("provisioning", provisioning),
            ("python_env", python_env),
            ("container", container),
            ("environ", environ),
        ):
            step(point, work)
    valid = all(check.status is Status.OK for check in checks)
    resolved = ResolvedEnv(**cast("dict[str, Any]", parts)) if valid else None
    output = ValidateOutput(
        target=subject.description,
        valid=valid,
        checks=tuple(checks),
        warnings=tuple(warned),
        resolved=resolved,
    )
    if args.json:
        _print_json(output)
    else:
        _print_validation(output, style)
    return EXIT_OK if valid else EXIT_NO


def _print_validation(output: ValidateOutput, style: _Style) -> None:
    print(style(_printable(output.target), "bold"))
    print()
    rows = [(check.status.value, check.point, check.detail) for check in output.checks]

    def status_style(column: int, cell: str) -> tuple[str, ...]:
        if column != 0:
            return ()
        return ("green",) if cell == Status.OK.value else ("bold", "red")

    print(_table(None, rows, style, status_style, wrap=True))
    for warning in output.warnings:
        print(f"{style('warning', 'yellow')}: {_printable(warning)}")
    print()
    failed = sum(check.status is Status.FAILED for check in output.checks)
    if failed:
        print(style(f"invalid: {failed} of {len(output.checks)} points do not resolve", "bold", "red"))
    else:
        print(style("valid", "bold", "green"))


# --------------------------------------------------------------------------- schema


def _schema(args: argparse.Namespace, style: _Style) -> int:
    document: str = args.document
    print(_json_text(schemas()[document]))
    return EXIT_OK


# --------------------------------------------------------------------------- diff


def _no_constant(name: str) -> object:
    msg = f"{name} is not a JSON number"
    raise ValueError(msg)


def _read_env(path: str) -> ResolvedEnv:
    """A serialized resolved env from ``path``: ``ResolvedEnv.to_json()`` or ``validate --json`` output,
    checked against its layout and its classes' rules."""
    try:
        with open(path, "rb") as stream:  # a pipe too: lzy-env diff <(...) <(...)
            content = stream.read(MAX_ENV_BYTES + 1)
    except OSError as error:
        raise _InputError(f"cannot read {path}: {error.strerror or error}") from None
    if len(content) > MAX_ENV_BYTES:
        limit = MAX_ENV_BYTES // (1024 * 1024)
        raise _InputError(f"{path} is larger than {limit} MiB: a serialized env is not (read stopped there)")
    try:
        text = content.decode("utf-8-sig")  # a byte order mark, as some editors write, is allowed
    except UnicodeDecodeError as error:
        bom = (
            " (it starts with a UTF-16 byte order mark)" if content[:2] in {b"\xff\xfe", b"\xfe\xff"} else ""
        )
        raise _InputError(f"{path} is not UTF-8 text{bom}: JSON is read as UTF-8 ({error.reason})") from None
    try:
        data: object = json.loads(text, parse_constant=_no_constant)
    except (ValueError, RecursionError) as error:
        raise _InputError(f"{path} is not JSON: {error}") from None
    if isinstance(data, dict) and "resolved" in data and "schema_version" not in data:
        data = cast("dict[str, object]", data)["resolved"]
        if data is None:
            raise _InputError(f"{path} is the report of an env that does not resolve: it holds no env")
    if not isinstance(data, dict):
        raise _InputError(f"{path} is not a serialized resolved env: it holds {type(data).__name__}")
    try:
        return ResolvedEnv.from_dict(cast("dict[str, object]", data))
    except Exception as error:  # any refusal of the layout means the file is not a serialized env
        raise _InputError(f"{path} is not a serialized resolved env: {error}") from None


@dataclasses.dataclass(frozen=True, slots=True)
class _Hidden:
    """A secret of a serialized env: compared by its value, shown only masked."""

    value: object
    shown: str = dataclasses.field(compare=False)


def _comparable(env: ResolvedEnv) -> object:
    """``env`` as JSON data whose secrets are :class:`_Hidden`: a changed secret is seen, not shown."""
    return dump(env, include_secrets=False, hide=_Hidden)


def _has_hidden(value: object) -> bool:
    if isinstance(value, _Hidden):
        return True
    if isinstance(value, dict):
        return any(_has_hidden(item) for item in cast("dict[str, object]", value).values())
    return isinstance(value, list) and any(_has_hidden(item) for item in cast("list[object]", value))


def _as_object(value: object) -> dict[str, object] | None:
    return cast("dict[str, object]", value) if isinstance(value, dict) else None


def _as_list(value: object) -> list[object] | None:
    return cast("list[object]", value) if isinstance(value, list) else None


def _keyed(items: Sequence[object]) -> dict[str, object] | None:
    """``items`` by their ``name`` member when each is an object with a distinct name."""
    names: dict[str, object] = {}
    for item in items:
        member = _as_object(item)
        name = member.get("name") if member is not None else None
        if not isinstance(name, str) or name in names:
            return None
        names[name] = item
    return names


def _same(a: object, b: object) -> bool:
    return a == b and isinstance(a, bool) == isinstance(b, bool)


def _differences(a: object, b: object, path: str) -> Iterator[Difference]:
    first_object, second_object = _as_object(a), _as_object(b)
    first_list, second_list = _as_list(a), _as_list(b)
    if first_object is not None and second_object is not None:
        yield from _mapping_differences(
            first_object, second_object, lambda key: f"{path}.{key}" if path else key
        )
    elif first_list is not None and second_list is not None:
        yield from _list_differences(first_list, second_list, path)
    elif not _same(a, b):
        yield _difference(path, Change.CHANGED, a, b)


def _difference(path: str, change: Change, a: object, b: object) -> Difference:
    return Difference(path=path, change=change, a=a, b=b, secret=_has_hidden(a) or _has_hidden(b))


def _list_differences(first: list[object], second: list[object], path: str) -> Iterator[Difference]:
    """Items keyed by ``name`` compare as a mapping; others as items removed and added."""
    first_keyed, second_keyed = _keyed(first), _keyed(second)
    if first_keyed is not None and second_keyed is not None:
        yield from _mapping_differences(first_keyed, second_keyed, lambda key: f"{path}[{key}]")
        return
    removed = [item for item in first if not any(_same(item, other) for other in second)]
    added = [item for item in second if not any(_same(item, other) for other in first)]
    for item in removed:
        yield _difference(path, Change.REMOVED, item, None)
    for item in added:
        yield _difference(path, Change.ADDED, None, item)
    if not removed and not added and first != second:
        yield _difference(path, Change.CHANGED, first, second)


def _mapping_differences(
    a: Mapping[str, object], b: Mapping[str, object], child: Callable[[str], str]
) -> Iterator[Difference]:
    for key in [*a, *(key for key in b if key not in a)]:
        if key not in b:
            yield _difference(child(key), Change.REMOVED, a[key], None)
        elif key not in a:
            yield _difference(child(key), Change.ADDED, None, b[key])
        else:
            yield from _differences(a[key], b[key], child(key))


def _diff(args: argparse.Namespace, style: _Style) -> int:
    first_path: str = args.a
    second_path: str = args.b
    first, second = _comparable(_read_env(first_path)), _comparable(_read_env(second_path))
    differences = tuple(_differences(first, second, ""))
    if args.json:
        _print_json(DiffOutput(a=first_path, b=second_path, differences=differences))
        return EXIT_NO if differences else EXIT_OK
    if not differences:
        print(_printable(f"no differences between {first_path} and {second_path}"))
        return EXIT_OK

    def shown(value: object, change: Change, side: Change) -> str:
        return "" if change is side else _json_text(value, indent=None)

    rows = [
        (d.path, d.change.value, shown(d.a, d.change, Change.ADDED), shown(d.b, d.change, Change.REMOVED))
        for d in differences
    ]

    def change_style(column: int, cell: str) -> tuple[str, ...]:
        return {2: ("red",), 3: ("green",)}.get(column, ())

    print(_table(("path", "change", first_path, second_path), rows, style, change_style))
    if any(difference.secret for difference in differences):
        print(
            _printable(
                f"\n*** is a secret, not shown: {first_path} or {second_path} was written with its secrets"
            )
        )
    return EXIT_NO


# --------------------------------------------------------------------------- the parser


_DESCRIPTION: Final = (
    "Explain, validate, diff and describe lzy environments. Options that describe an env"
    " (--provisioning.cpu-count 4, --environ KEY=VALUE, ...) given after explain or validate form"
    " the CLI level, which wins over the code's levels."
)
_ENV_USAGE: Final = "[ENV OPTION ...]"


def _epilog() -> str:
    lines = ["exit status:"]
    lines += [f"  {status}  {meaning}" for status, meaning in EXIT_STATUSES]
    return "\n".join(lines)


def _target_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "target",
        metavar="TARGET",
        help=(
            "FILE_OR_MODULE:OBJECT: an op, a workflow, a Lzy or an Env, in a .py file or an"
            " importable module (train.py:train, mypackage.jobs:train). The module is imported,"
            " not run as a script: its if __name__ == '__main__' block does not run."
        ),
    )
    parser.add_argument(
        "--in",
        dest="scope",
        metavar="SCOPE",
        help=(
            "Explain the op inside this workflow or Lzy: a name in TARGET's module, or"
            " FILE_OR_MODULE:OBJECT. Its levels (Lzy, workflow) take part."
        ),
    )


def _json_argument(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "--json",
        action="store_true",
        help=f"Write {what} as JSON (its schema: lzy-env schema {parser.prog.split()[-1]}).",
    )


def build_parser() -> argparse.ArgumentParser:
    """The parser of the ``lzy-env`` command and its subcommands."""
    parser = ArgumentParser(
        prog="lzy-env",
        description=_DESCRIPTION,
        epilog=_epilog(),
        formatter_class=HelpFormatter,
        allow_abbrev=False,  # as the env options' own parser: see generate_argparser
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {lzy.__version__}")
    commands = parser.add_subparsers(title="commands", dest="command", required=True, metavar="COMMAND")

    explain = commands.add_parser(
        "explain",
        help="show the effective env of an op, with the level of every value",
        description=(
            "Show the effective env of an op (inside its workflow with --in), with the level every"
            " value came from. The env options given here form the CLI level, above the op's."
        ),
        usage=f"%(prog)s [-h] [--in SCOPE] [--json] TARGET {_ENV_USAGE}",
        epilog=_epilog(),
        formatter_class=HelpFormatter,
        allow_abbrev=False,
    )
    _target_arguments(explain)
    _json_argument(explain, "the rows")
    add_arguments(explain, targets=True)
    explain.set_defaults(run=_explain, subcommand_parser=explain)

    validate = commands.add_parser(
        "validate",
        help="resolve an env and check it; exit status 1 when it does not hold",
        description=(
            "Resolve the effective env of an op (or a workflow, a Lzy, an Env) and check every point:"
            " provisioning consistent, Python env explored (an AutoPythonEnv without asking the index"
            " unless --check-index), container reference and credentials found (the image asked of"
            " its registry with --check-registry). Exits with status 1"
            " when a point does not resolve. With --json, the report holds the resolved env, which"
            " lzy-env diff compares."
        ),
        usage=(
            "%(prog)s [-h] [--in SCOPE] [--check-index] [--check-registry] [--platform OS/ARCH]"
            " [--registry-deadline SECONDS] [--insecure-registry HOST] [--json]"
            f" TARGET {_ENV_USAGE}"
        ),
        epilog=_epilog(),
        formatter_class=HelpFormatter,
        allow_abbrev=False,
    )
    _target_arguments(validate)
    validate.add_argument(
        "--check-registry",
        action="store_true",
        help=(
            "Ask the container registry: a DockerContainer's image must exist there for the"
            " target platform, with the credentials the Docker configuration gives (network)."
        ),
    )
    validate.add_argument(
        "--platform",
        type=_platform_argument,
        metavar="OS/ARCH",
        help=(
            "The platform --check-registry asks for (linux/arm64, linux/arm/v7). Default: the"
            " architecture that provisioning.cpu_type names, else linux/amd64."
        ),
    )
    validate.add_argument(
        "--registry-deadline",
        type=_seconds_argument,
        metavar="SECONDS",
        help=(
            "The most time asking the registry may take, the credential helper included: the"
            " check of --check-registry, and pinning the digest (RegistrySettings.deadline)."
            " Sets LZY_REGISTRY_DEADLINE while validate runs. Default: LZY_REGISTRY_DEADLINE, else 15."
        ),
    )
    validate.add_argument(
        "--insecure-registry",
        action="append",
        type=_host_argument,
        metavar="HOST",
        help=(
            "A registry (host[:port]) that may be reached over plain HTTP when HTTPS fails, as the"
            " docker daemon's insecure-registries; repeatable, added to LZY_INSECURE_REGISTRIES."
            " Registries on this machine always may."
        ),
    )
    validate.add_argument(
        "--check-index",
        action="store_true",
        help=(
            "Ask the package index: each distribution that an AutoPythonEnv's exploration pins"
            " must have a file for the target Python and platform there (network). Pins given by"
            " hand (additional_pypi_packages, a ManualPythonEnv's pypi_packages) are not looked up,"
            " and the report says so."
        ),
    )
    _json_argument(validate, "the report")
    add_arguments(validate, targets=True)
    validate.set_defaults(run=_validate, subcommand_parser=validate)

    names = list(schemas())
    schema = commands.add_parser(
        "schema",
        help="print the JSON Schema of a document lzy-env writes",
        description=(
            "Print the JSON Schema (draft 2020-12) of a serialized resolved env (ResolvedEnv.to_dict,"
            " the default) or of what explain, validate or diff write with --json; generated from"
            " the dataclasses."
        ),
        epilog=_epilog(),
        formatter_class=HelpFormatter,
        allow_abbrev=False,
    )
    schema.add_argument("document", nargs="?", default=names[0], choices=names, help="Default: %(default)s.")
    schema.set_defaults(run=_schema, subcommand_parser=schema)

    diff = commands.add_parser(
        "diff",
        help="show what differs between two serialized envs, path by path",
        description=(
            "Compare two serialized resolved envs (ResolvedEnv.to_json output, or the report of"
            " lzy-env validate --json) path by path. Exits with status 1 when they differ."
        ),
        epilog=_epilog(),
        formatter_class=HelpFormatter,
        allow_abbrev=False,
    )
    diff.add_argument("a", metavar="A.json", help="The first env.")
    diff.add_argument("b", metavar="B.json", help="The second env.")
    _json_argument(diff, "the differences")
    diff.set_defaults(run=_diff, subcommand_parser=diff)
    return parser


def _subcommand_parser(
    parser: argparse.ArgumentParser,
) -> Callable[[argparse.Namespace], argparse.ArgumentParser]:
    """The parser of the subcommand a namespace was read by (``lzy-env`` itself when none)."""

    def chosen(namespace: argparse.Namespace) -> argparse.ArgumentParser:
        found: object = getattr(namespace, "subcommand_parser", None)
        return found if isinstance(found, argparse.ArgumentParser) else parser

    return chosen


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``lzy-env`` with ``argv`` (``sys.argv[1:]`` by default); returns the exit status."""
    words = command_line(argv, "lzy-env")
    parser = build_parser()
    args = parse_args(parser, words, errors=_subcommand_parser(parser))
    run = cast("Callable[[argparse.Namespace, _Style], int]", args.run)
    try:
        return run(args, _Style(sys.stdout))
    except _InputError as error:
        print(f"lzy-env: error: {_printable(str(error))}", file=sys.stderr)
        return EXIT_ERROR
    except BrokenPipeError:
        # The reader went away (lzy-env ... | head): stop quietly, as other tools do, and keep
        # Python from complaining when it flushes standard output at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
