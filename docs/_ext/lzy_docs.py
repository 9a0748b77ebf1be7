"""Sphinx extension that generates the parts of lzy's docs that come from the code.

Directives:

``.. lzy-keywords:: with_python_env``
    For every built-in ``klass`` of the point that ``with_python_env`` configures, a table of the
    keywords it accepts: type, required or default, and the ``#:`` comment above the field. The
    data comes from :mod:`lzy.env._catalog`, which the typing stubs are generated from too.

``.. lzy-merge-rules::``
    The merge table, read from :data:`lzy.env.environment.MERGE_RULES` (``:levels:`` adds the
    levels, read from :class:`lzy.env.environment.Level`).

``.. lzy-comment:: module NAME``
    The ``#:`` comment above a module-level name.

``.. lzy-run::``
    Runs its Python content when the page is read and shows the code and what it printed.
    Blocks with the same ``:group:`` on a page share their names. ``:raises: Name`` expects
    that exception and shows its last line.

``.. lzy-script:: examples/quickstart.py``
    Shows a script's source and runs it with the docs' interpreter, showing its output.

``.. lzy-typecheck::`` (or ``.. lzy-typecheck:: path/to/file.py``)
    Checks its Python content (or the file) with mypy and pyright, both strict, and shows the
    code and what they say.
    ``:errors:`` expects both to report errors; ``:run:`` runs the code too, showing its output.

``.. lzy-exception-tree::``
    The hierarchy of :mod:`lzy.exceptions` as a nested list.

A broken example (an unexpected exception, a non-zero exit status, a checker that disagrees) is
a warning at the directive, so a build with ``-W`` fails.

The extension also appends ``.. lzy-keywords::`` to the docstring of each ``with_*`` method of
:class:`lzy.api.v1.EnvOwner`, takes the text of a re-exported constant from the ``#:`` comment
in the module that defines it, shows private bases as their public ones, resolves references
written against an implementation module (``lzy.env.provisioning.Provisioning``) to the public
name the reference documents (``lzy.api.v1.env.Provisioning``), and warns about any public
name the reference does not document.
"""

from __future__ import annotations

import collections.abc
import contextlib
import dataclasses
import functools
import html
import importlib
import inspect
import io
import json
import os
import pkgutil
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar, Final, ParamSpec, ParamSpecArgs, ParamSpecKwargs, TypeVar, cast

from docutils import nodes
from docutils.parsers.rst import directives
from docutils.statemachine import StringList
from sphinx import addnodes
from sphinx.addnodes import pending_xref
from sphinx.application import Sphinx
from sphinx.domains.python import PythonDomain
from sphinx.environment import BuildEnvironment
from sphinx.pycode import ModuleAnalyzer
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective
from sphinx.util.nodes import nested_parse_with_titles
from sphinx.util.typing import OptionSpec

import lzy
import lzy.exceptions
from lzy.core import op as op_module
from lzy.env import environment
from lzy.env._base import OpTarget
from lzy.env._catalog import POINTS, dotted_paths, field_docs
from lzy.env._stubgen import CONSTRUCTED
from lzy.env.environment import MERGE_RULES, Level, MergeRule
from lzy.env.provisioning import MachineSpec
from lzy.runtime import local

ROOT: Final = Path(__file__).resolve().parents[2]
LOGGER: Final = logging.getLogger(__name__)

#: The public modules whose names the reference documents, most specific first.
FACADES: Final = ("lzy.api.v1.env", "lzy.api.v1")


# --------------------------------------------------------------------------- helpers


def _lzy_sources() -> list[Path]:
    return sorted((ROOT / "lzy").rglob("*.py"))


def _implementation_modules() -> list[str]:
    """Every lzy module but the public facades."""
    names = [info.name for info in pkgutil.walk_packages(lzy.__path__, "lzy.")]
    return [name for name in names if not name.startswith("lzy.api.")]


@functools.cache
def _facade_names() -> dict[str, str]:
    """Implementation path of every public object -> its public path."""
    names: dict[str, str] = {}
    for facade in reversed(FACADES):
        module = importlib.import_module(facade)
        for name in module.__all__:
            value = getattr(module, name)
            if inspect.ismodule(value):
                continue
            if inspect.isclass(value) or inspect.isfunction(value):
                names[f"{value.__module__}.{value.__qualname__}"] = f"{facade}.{name}"
                continue
            for source in _implementation_modules():
                if getattr(importlib.import_module(source), name, None) is value:
                    names[f"{source}.{name}"] = f"{facade}.{name}"
    return names


def _public_path(klass: type[object]) -> str:
    """Where the reference documents ``klass``."""
    path = f"{klass.__module__}.{klass.__qualname__}"
    return _facade_names().get(path, path)


#: Names of the implementation that a reader never meets, as the reference shows them instead.
_SHOWN_AS: Final = {
    # The immutable Mapping behind mapping-valued fields.
    "FrozenMap": "Mapping",
    # The explorer factory type: anything called with settings that returns an explorer.
    "ExplorerFactory": "Callable[..., EnvExplorer]",
    # How checkers tell a function from an op (lzy.core.op): what op() decorates.
    "_Function": "Callable",
}


def _public_annotation(text: str) -> str:
    """An annotation as written, with implementation-only names replaced by what they mean and
    private type variables by their names (``_R`` as ``R``)."""
    for private, shown in _SHOWN_AS.items():
        text = re.sub(rf"\b{private}\b", shown, text)
    return re.sub(r"\b_([A-Z]\w*?)(?:_co)?\b", r"\1", text)


def _private_last(path: str) -> tuple[bool, str]:
    """Sort key: public dotted paths (``lzy.api...``) before implementation ones."""
    return (not path.startswith(FACADES), path)


def _merge_rule(klass: type[object], field: str) -> str | None:
    """The merge rule that applies to ``field`` of ``klass``, as RST, or ``None`` for a field
    that is not a setting (an artifact's, a result's)."""
    points = {point.base: point for point in POINTS}
    if klass is environment.Env:
        rule = MERGE_RULES[field]
        return (
            f"{rule.value} across levels (:attr:`~lzy.api.v1.env.MergeRule.{rule.name}`); see :doc:`/merge`"
        )
    for base, point in points.items():
        if isinstance(klass, type) and issubclass(klass, base):
            rule = MERGE_RULES[point.field]
            if rule is MergeRule.FIELDS:
                return (
                    "merged field by field: this field comes from the highest level that sets it"
                    f" (:attr:`~lzy.api.v1.env.Env.{point.field}` is"
                    " :attr:`~lzy.api.v1.env.MergeRule.FIELDS`)"
                )
            return (
                f"none of its own: the whole :attr:`~lzy.api.v1.env.Env.{point.field}` is replaced by"
                " the highest level that sets one, with all its fields"
                f" (:attr:`~lzy.api.v1.env.MergeRule.{rule.name}`)"
            )
    return None


def _field_facts(klass: type[object], name: str) -> list[str]:
    """A field entry's type, default and merge rule, as an RST field list."""
    fields = {field.name: field for field in field_docs(klass)}
    field = fields.get(name)
    if field is None:
        return []
    default = "required" if field.required else _literal(field.default or "None")
    rule = _merge_rule(klass, name) or "does not apply: this is part of a result, not a setting"
    return [
        "",
        ".. rst-class:: lzy-field-facts",
        "",
        f":Type: {_literal(_public_annotation(field.annotation))}",
        f":Default: {default}",
        f":Merge rule: {rule}",
        "",
    ]


def shown_typehint(annotation: object, config: object) -> str | None:
    """How sphinx-autodoc-typehints shows a type variable or a callable (``typehints_formatter``).

    A type variable is shown as what it stands for: the op an environment decorator returns,
    the public class it is bound to, or its name (``P``, ``R``) where it stands for the
    decorated function's own parameters and return type, never as ``TypeVar(...)``. A callable
    of a ``ParamSpec`` or of ``...`` is shown as written, ``Callable[P, R]``, never with the
    parameters in brackets; what ``op()`` takes is shown as such a callable.
    """
    if isinstance(annotation, ParamSpec):
        return f"*{annotation.__name__.lstrip('_')}*"
    if isinstance(annotation, ParamSpecArgs | ParamSpecKwargs):
        origin = cast("ParamSpec", annotation.__origin__)
        kind = "args" if isinstance(annotation, ParamSpecArgs) else "kwargs"
        return f"*{origin.__name__.lstrip('_')}.{kind}*"
    if isinstance(annotation, TypeVar):
        bound = annotation.__bound__
        if bound is OpTarget:
            return ":class:`~lzy.api.v1.Op`"
        if isinstance(bound, type):
            return f":class:`~{_public_path(bound)}`"
        return f"*{annotation.__name__.lstrip('_').removesuffix('_co')}*"
    origin = getattr(annotation, "__origin__", None)
    arguments: tuple[object, ...] = getattr(annotation, "__args__", ())
    if origin is getattr(op_module, "_Function", None) or origin is collections.abc.Callable:
        from sphinx_autodoc_typehints import format_annotation  # noqa: PLC0415 - its own extension

        if not arguments:
            return ":py:class:`~collections.abc.Callable`"
        *parameters, result = arguments
        shown = "..." if parameters in ([Ellipsis], [[Ellipsis]]) else None
        if len(parameters) == 1 and isinstance(parameters[0], ParamSpec):
            shown = format_annotation(parameters[0], config)
        if origin is op_module._Function or shown is not None:
            returned = format_annotation(result, config)
            return f":py:class:`~collections.abc.Callable`\\ \\[{shown or '...'}, {returned}]"
    return None


def _literal(text: str) -> str:
    """``text`` as an RST inline literal."""
    return f"``{text}``" if "`" not in text else f":code:`{text}`"


def _cell(text: str) -> str:
    """Text safe inside a list-table cell: one paragraph."""
    return " ".join(text.split()) or "\\ "


def _attr_docs(module_name: str) -> dict[tuple[str, str], list[str]]:
    """The ``#:`` comments of a module, by ``(class qualname, attribute)``."""
    analyzer = ModuleAnalyzer.for_module(module_name)
    analyzer.analyze()
    return dict(analyzer.attr_docs)


def _doc_of(klass: type[object], name: str) -> str:
    """The ``#:`` comment above ``name`` in the body of ``klass``, as one paragraph."""
    lines = _attr_docs(klass.__module__).get((klass.__qualname__, name), [])
    return " ".join(line.strip() for line in lines if line.strip())


def _source_file(obj: object) -> Path | None:
    try:
        return Path(inspect.getfile(obj))  # type: ignore[arg-type]  # modules and classes
    except TypeError:
        return None


def _source_line(obj: object) -> int:
    try:
        return inspect.getsourcelines(obj)[1]  # type: ignore[arg-type]  # classes
    except (OSError, TypeError):
        return 0


class _Directive(SphinxDirective):
    """A directive that generates RST, parses it in place and reports broken examples."""

    def parse_rst(
        self, lines: Sequence[str], *, context: tuple[str, str | None] | None = None
    ) -> list[nodes.Node]:
        """Parse ``lines``; with ``context``, roles resolve as if written in that module and class."""
        container = nodes.container()
        ref_context = self.env.ref_context
        saved = {key: ref_context.get(key) for key in ("py:module", "py:class")}
        if context is not None:
            ref_context["py:module"] = context[0]
            if context[1] is None:
                ref_context.pop("py:class", None)
            else:
                ref_context["py:class"] = context[1]
        try:
            source = self.get_source_info()[0] or self.env.docname
            nested_parse_with_titles(self.state, StringList(list(lines), source=source), container)
        finally:
            for key, value in saved.items():
                if value is None:
                    ref_context.pop(key, None)
                else:
                    ref_context[key] = value
        return list(container.children)

    def fail(self, message: str) -> None:
        """Report a broken example: a warning at the directive, so ``-W`` fails the build."""
        LOGGER.warning(message, location=self.get_location(), type="lzy", subtype="example")

    def depend_on(self, *paths: Path | None) -> None:
        """Re-read this page when any of ``paths`` changes."""
        for path in paths:
            if path is not None:
                self.env.note_dependency(str(path))

    def output_block(self, label: str, text: str) -> list[nodes.Node]:
        """A label and a literal block with what an example printed."""
        block = nodes.literal_block(text, text, language="text", classes=["lzy-output"])
        self.set_source_info(block)
        return [nodes.rubric("", label, classes=["lzy-output-label"]), block]


# --------------------------------------------------------------------------- lzy-keywords


class KeywordsDirective(_Directive):
    """``.. lzy-keywords:: with_python_env``: the keywords each built-in klass accepts."""

    required_arguments = 1
    has_content = False

    def run(self) -> list[nodes.Node]:
        """One paragraph and one table per built-in klass of the method's point."""
        method = self.arguments[0]
        points = {point.method: point for point in POINTS}
        if method not in points:
            msg = f"lzy-keywords: unknown method {method!r}; known: {', '.join(points)}"
            raise self.error(msg)
        point = points[method]
        result: list[nodes.Node] = []
        for klass in point.klasses:
            self.depend_on(_source_file(klass))
            public = _public_path(klass)
            module, _, name = public.rpartition(".")
            default = " (the default)" if klass is point.default else ""
            paths = " or ".join(
                _literal(repr(path)) for path in sorted(dotted_paths(klass), key=_private_last)
            )
            lines = [f"**klass=**:class:`~{public}`{default}, or as a string {paths}.", ""]
            fields = field_docs(klass)
            if not fields:
                lines.append(f":class:`~{public}` takes no keywords.")
                result += self.parse_rst(lines, context=(module, name))
                continue
            # Two columns: the keyword with its type and default under it, then its meaning. A
            # name, a type or a default is never split inside a word, and in one column of its
            # own each would take room the meaning needs at 1280 px.
            lines += [
                ".. list-table::",
                "   :header-rows: 1",
                "   :widths: 35 65",
                "   :class: lzy-keywords",
                "",
                "   * - keyword: type, default",
                "     - meaning",
            ]
            for field in fields:
                if not field.doc:
                    msg = f"lzy-keywords: {klass.__qualname__}.{field.name} has no #: comment"
                    raise self.error(msg)
                default_text = "**required**"
                if not field.required:
                    default_text = f"default {_literal(field.default or 'None')}"
                lines += [
                    f"   * - :attr:`{field.name} <{public}.{field.name}>`",
                    "",
                    f"       | {_literal(_public_annotation(field.annotation))}",
                    f"       | {default_text}",
                    f"     - {_cell(field.doc)}",
                ]
            result += self.parse_rst([*lines, ""], context=(module, name))
        return result


# --------------------------------------------------------------------------- lzy-merge-rules


class MergeRulesDirective(_Directive):
    """``.. lzy-merge-rules::``: the merge table and the levels, read from the code."""

    has_content = False
    option_spec: ClassVar[OptionSpec] = {"levels": directives.flag}

    def run(self) -> list[nodes.Node]:
        """A table of :data:`MERGE_RULES` and, with ``:levels:``, one of the levels."""
        self.depend_on(_source_file(environment))
        lines = [
            ".. list-table::",
            "   :header-rows: 1",
            "   :widths: 20 30 50",
            "   :class: lzy-merge-rules",
            "",
            "   * - point (field of :class:`~lzy.api.v1.env.Env`)",
            "     - rule",
            "     - meaning",
        ]
        for point, rule in MERGE_RULES.items():
            lines += [
                f"   * - :attr:`~lzy.api.v1.env.Env.{point}`",
                f"     - {rule.value} (:attr:`~lzy.api.v1.env.MergeRule.{rule.name}`)",
                f"     - {_cell(_doc_of(MergeRule, rule.name))}",
            ]
        lines.append("")
        if "levels" in self.options:
            lines += [
                ".. list-table::",
                "   :header-rows: 1",
                "   :widths: 20 10 70",
                "   :class: lzy-levels",
                "",
                "   * - level",
                "     - rank",
                "     - where the value was set",
            ]
            for level in sorted(Level, reverse=True):
                lines += [
                    f"   * - :attr:`~lzy.api.v1.env.Level.{level.name}`",
                    f"     - {int(level)}",
                    f"     - {_cell(_doc_of(Level, level.name))}",
                ]
            lines.append("")
        return self.parse_rst(lines, context=("lzy.api.v1.env", None))


# --------------------------------------------------------------------------- lzy-comment


class CommentDirective(_Directive):
    """``.. lzy-comment:: module NAME``: the ``#:`` comment above a module-level name."""

    required_arguments = 2
    has_content = False

    def run(self) -> list[nodes.Node]:
        """The comment, parsed as RST in the context of its module."""
        module_name, name = self.arguments
        self.depend_on(_source_file(importlib.import_module(module_name)))
        lines = _attr_docs(module_name).get(("", name))
        if not lines:
            msg = f"lzy-comment: {module_name}.{name} has no #: comment"
            raise self.error(msg)
        return self.parse_rst([*lines, ""], context=(module_name, None))


# --------------------------------------------------------------------------- lzy-run


#: Names shared between ``lzy-run`` blocks, by ``(page, group)``.
_NAMESPACES: dict[tuple[str, str], dict[str, object]] = {}


def _execute(code: str, filename: str, namespace: dict[str, object]) -> tuple[str, Exception | None]:
    """Run ``code`` in ``namespace``: what it printed, and the exception it raised if any."""
    output = io.StringIO()
    try:
        # dont_inherit: the example runs as a user would write it, without this module's
        # postponed annotations (dataclasses defined in it need their annotations evaluated).
        compiled = compile(code, filename, "exec", dont_inherit=True)
        with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
            exec(compiled, namespace)
    except Exception as error:  # the caller reports it
        return output.getvalue(), error
    return output.getvalue(), None


def _exception_line(error: BaseException) -> str:
    return "".join(traceback.format_exception_only(type(error), error)).strip()


#: Where the examples of a group with ``:workdir:`` say they run: each runs in an empty
#: directory of its own, and its output shows that directory as this one, the same on every
#: machine.
SHOWN_WORKDIR: Final = "/tmp/lzy-example"
#: The directory each such group runs in, by page and group.
_WORKDIRS: dict[tuple[str, str], Path] = {}


def _in_workdir(
    key: tuple[str, str], run: collections.abc.Callable[[], tuple[str, Exception | None]]
) -> tuple[str, Exception | None]:
    """``run()`` with the group's own empty directory current; its path shown as
    :data:`SHOWN_WORKDIR` in what it printed."""
    workdir = _WORKDIRS.get(key)
    if workdir is None:
        workdir = _WORKDIRS[key] = Path(tempfile.mkdtemp(prefix="lzy-docs-")).resolve()
    before = Path.cwd()
    os.chdir(workdir)
    try:
        printed, raised = run()
    finally:
        os.chdir(before)
    return printed.replace(str(workdir), SHOWN_WORKDIR), raised


class RunDirective(_Directive):
    """``.. lzy-run::``: run the Python content now and show it with its output.

    Blocks of one ``:group:`` share their names. With ``:workdir:`` the group runs in an empty
    directory of its own (``pathlib.Path.cwd()`` in the example), shown in the output as
    :data:`SHOWN_WORKDIR` so that the page is the same on every machine.
    """

    has_content = True
    option_spec: ClassVar[OptionSpec] = {
        "group": directives.unchanged,
        "raises": directives.unchanged_required,
        "workdir": directives.flag,
    }

    def run(self) -> list[nodes.Node]:
        """Run the code in the group's namespace, capturing what it prints."""
        code = "\n".join(self.content)
        key = (self.env.docname, self.options.get("group", "default"))
        namespace = _NAMESPACES.setdefault(key, {"__name__": f"lzy_docs_{key[0].replace('/', '_')}"})
        expected = self.options.get("raises")
        self.depend_on(*_lzy_sources())
        filename = f"<{self.env.docname}: lzy-run>"
        if "workdir" in self.options or key in _WORKDIRS:
            printed, raised = _in_workdir(key, lambda: _execute(code, filename, namespace))
        else:
            printed, raised = _execute(code, filename, namespace)
        output = io.StringIO(printed)
        output.seek(0, io.SEEK_END)
        if raised is None:
            if expected is not None:
                self.fail(f"the example was expected to raise {expected} but did not")
        elif expected is None:
            details = "".join(traceback.format_exception(raised))
            self.fail(f"the example raised\n{details}")
            output.write(details)
        else:
            if expected not in {cls.__name__ for cls in type(raised).__mro__}:
                details = "".join(traceback.format_exception(raised))
                self.fail(f"the example raised {type(raised).__name__}, not {expected}\n{details}")
            output.write(f"Traceback (most recent call last):\n  ...\n{_exception_line(raised)}\n")
        block = nodes.literal_block(code, code, language="python")
        self.set_source_info(block)
        result: list[nodes.Node] = [block]
        text = output.getvalue().rstrip()
        if text:
            result += self.output_block("Output:" if raised is None else "It raises:", text)
        return result


#: Where a long dotted path, URL or type in a table cell may break across lines: after a dot,
#: a slash or a comma, before an opening bracket; never inside a name (not at an underscore).
_BREAK_AFTER: Final = re.compile(r"(?<=[./,])(?=[\w\[(\"'])|(?<=\w)(?=\[)")
#: Inline code in a table shorter than this never needs a break.
_BREAKABLE_LENGTH: Final = 20


def _break_points(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """Let long names, paths and types in table cells wrap where a reader expects a break.

    The cells wrap at spaces; inline code such as ``lzy.api.v1.env.ManualPythonEnv`` has none,
    so it gets an HTML ``<wbr>`` (which copying leaves out) at each point :data:`_BREAK_AFTER`
    names, and is otherwise never split: a name such as ``treat_editables_as_locals`` stays whole.
    """
    del docname
    if app.builder.format != "html":
        return
    for table in doctree.findall(nodes.table):
        for literal in list(table.findall(nodes.literal)):
            text = literal.astext()
            if len(text) < _BREAKABLE_LENGTH or " " in text:
                continue
            parts = _BREAK_AFTER.split(text)
            if len(parts) < 2:
                continue
            children: list[nodes.Node] = []
            for index, part in enumerate(parts):
                if index:
                    children.append(nodes.raw("", "<wbr>", format="html"))
                children.append(nodes.Text(part))
            literal.children = []
            literal.extend(children)


def _remove_workdirs(app: Sphinx, exception: BaseException | None) -> None:
    """Remove the directories the examples ran in, once every page is read."""
    del app, exception
    for key in list(_WORKDIRS):
        shutil.rmtree(_WORKDIRS.pop(key), ignore_errors=True)


def _purge_namespaces(app: Sphinx, env: BuildEnvironment, docname: str) -> None:
    for key in [key for key in _NAMESPACES if key[0] == docname]:
        del _NAMESPACES[key]
    for key in [key for key in _WORKDIRS if key[0] == docname]:
        shutil.rmtree(_WORKDIRS.pop(key), ignore_errors=True)


# --------------------------------------------------------------------------- lzy-script


class ScriptDirective(_Directive):
    """``.. lzy-script:: path``: a script's source and the output of running it now."""

    required_arguments = 1
    has_content = False
    option_spec: ClassVar[OptionSpec] = {"timeout": directives.positive_int}

    def run(self) -> list[nodes.Node]:
        """Show the source, run the script from the repository's root, show its output."""
        name = self.arguments[0]
        path = (ROOT / name).resolve()
        if not path.is_file():
            msg = f"lzy-script: {name} does not exist (looked at {path})"
            raise self.error(msg)
        self.depend_on(path, *_lzy_sources())
        source = path.read_text(encoding="utf-8")
        timeout = self.options.get("timeout", 300)
        try:
            done = subprocess.run(
                [sys.executable, str(path)],
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            self.fail(f"{name} did not finish in {timeout} s")
            return []
        if done.returncode != 0:
            self.fail(f"{name} exited with status {done.returncode}\n{done.stdout}{done.stderr}")
        block = nodes.literal_block(source, source, language="python")
        block["source"] = str(path)
        wrapper = nodes.container("", literal_block=True, classes=["literal-block-wrapper"])
        wrapper += nodes.caption(name, name)
        wrapper += block
        text = (done.stdout + done.stderr).rstrip()
        return [wrapper, *self.output_block(f"Output of python {name}:", text)]


# --------------------------------------------------------------------------- lzy-typecheck


_MYPY_CONFIG: Final = "[mypy]\nstrict = True\npython_version = 3.11\n"


def _wheel_layout(site: Path) -> None:
    """Lay lzy out under ``site`` as the wheel installs it: the package plus its force-included stubs."""
    shutil.copytree(ROOT / "lzy", site / "lzy", ignore=shutil.ignore_patterns("__pycache__"))
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    wheel = project.get("tool", {}).get("hatch", {}).get("build", {}).get("targets", {}).get("wheel", {})
    for source, target in wheel.get("force-include", {}).items():
        destination = site / target
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / source, destination)


_OVERLOADS_NOTE: Final = re.compile(r"^(?P<where>\S+:\d+): note: Possible overload variants:$")


def _without_overload_listing(text: str) -> str:
    """mypy's output with each "Possible overload variants" listing cut to its count.

    After an error on a call that matches no overload, mypy lists every overload of the method
    (the stub's private type variables included), one note per overload: a page of signatures
    that buries the errors. The page shows the error lines as mypy wrote them and, in place of
    the listing, how many overloads it had.
    """
    lines = text.splitlines()
    kept: list[str] = []
    index = 0
    while index < len(lines):
        match = _OVERLOADS_NOTE.match(lines[index])
        index += 1
        if match is None:
            kept.append(lines[index - 1])
            continue
        listed = f"{match['where']}: note:     "
        count = 0
        while index < len(lines) and lines[index].startswith(listed):
            count += 1
            index += 1
        kept.append(f"{match['where']}: note: Possible overload variants: ({count}, not shown here)")
    return "\n".join(kept)


class TypecheckDirective(_Directive):
    """``.. lzy-typecheck::``: check the Python content with mypy and pyright (strict) now.

    The checkers see lzy the way a user's checkers see the installed wheel: the package with the
    stubs the wheel puts next to its modules (``force-include`` in ``pyproject.toml``). Without
    ``:errors:`` both must pass; with it both must report an error, and their messages are shown.
    With ``:run:`` the code then runs, as in ``lzy-run``, and what it prints is shown.
    """

    has_content = True
    optional_arguments = 1
    option_spec: ClassVar[OptionSpec] = {"errors": directives.flag, "run": directives.flag}

    def _check(self, command: list[str], directory: Path) -> tuple[int, str]:
        environment = {**os.environ, "MYPYPATH": str(directory / "site")}
        try:
            done = subprocess.run(
                command,
                cwd=directory,
                env=environment,
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            self.fail(f"cannot run {command[2]}: {error}")
            return -1, str(error)
        return done.returncode, (done.stdout + done.stderr).replace(f"{directory}{os.sep}", "")

    def run(self) -> list[nodes.Node]:
        """Run both checkers on the code in a temporary directory."""
        shown: Path | None = None
        if self.arguments:
            shown = ROOT / self.arguments[0]
            if not shown.is_file():
                msg = f"lzy-typecheck: {self.arguments[0]} does not exist (looked at {shown})"
                raise self.error(msg)
            code = shown.read_text(encoding="utf-8")
        else:
            code = "\n".join(self.content) + "\n"
        stubs = sorted((ROOT / "stubs").rglob("*.pyi"))
        self.depend_on(shown, ROOT / "pyproject.toml", *stubs, *_lzy_sources())
        expect_errors = "errors" in self.options
        outputs: list[tuple[str, str]] = []
        with tempfile.TemporaryDirectory(prefix="lzy-typecheck-") as name:
            directory = Path(name)
            example = directory / "example.py"
            example.write_text(code, encoding="utf-8")
            (directory / "mypy.ini").write_text(_MYPY_CONFIG, encoding="utf-8")
            _wheel_layout(directory / "site")
            pyright_config = {
                "typeCheckingMode": "strict",
                "pythonVersion": "3.11",
                "include": ["example.py"],
                "extraPaths": [str(directory / "site")],
            }
            (directory / "pyrightconfig.json").write_text(json.dumps(pyright_config), encoding="utf-8")
            checks = {
                "mypy": [
                    *(sys.executable, "-m", "mypy", "--config-file", str(directory / "mypy.ini")),
                    *("--cache-dir", str(directory / ".mypy_cache")),
                    *("--hide-error-context", "--no-error-summary", "--no-pretty", str(example)),
                ],
                "pyright": [
                    *(sys.executable, "-m", "pyright", "-p", str(directory / "pyrightconfig.json")),
                    *("--pythonpath", sys.executable, str(example)),
                ],
            }
            for checker, command in checks.items():
                status, text = self._check(command, directory)
                if (status != 0) != expect_errors:
                    wanted = "to report errors" if expect_errors else "to pass"
                    self.fail(f"expected {checker} {wanted} (exit status {status}):\n{text}")
                if checker == "mypy":
                    text = _without_overload_listing(text)
                if checker == "pyright":
                    # pyright indents the continuation of a message with no-break spaces.
                    rows = [line.replace("\u00a0", " ") for line in text.splitlines()]
                    kept = [row[2:] for row in rows if " - error: " in row or row.startswith("    ")]
                    text = "\n".join(kept) or "0 errors"
                outputs.append((checker, text.strip() or "Success: no issues found"))
        block = nodes.literal_block(code, code, language="python")
        self.set_source_info(block)
        result: list[nodes.Node] = [block]
        if shown is not None:
            caption = self.arguments[0]
            wrapper = nodes.container("", literal_block=True, classes=["literal-block-wrapper"])
            wrapper += nodes.caption(caption, caption)
            wrapper += block
            result = [wrapper]
        for checker, text in outputs:
            result += self.output_block(f"{checker} (strict) says:", text)
        if "run" in self.options:
            printed, raised = _execute(code, f"<{self.env.docname}: lzy-typecheck>", {"__name__": "example"})
            if raised is not None:
                self.fail(f"the example raised\n{''.join(traceback.format_exception(raised))}")
            if printed.strip():
                result += self.output_block("Output:", printed.rstrip())
        return result


# --------------------------------------------------------------------------- lzy-exception-tree


class ExceptionTreeDirective(_Directive):
    """``.. lzy-exception-tree::``: every exception and warning of lzy, as a nested list."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        """A nested list in source order, naming the built-in exceptions each also is."""
        module = lzy.exceptions
        self.depend_on(_source_file(module))
        public = [getattr(module, name) for name in module.__all__]
        classes = sorted(
            (value for value in public if inspect.isclass(value) and issubclass(value, BaseException)),
            key=_source_line,
        )
        lines: list[str] = []

        def walk(cls: type[BaseException], depth: int) -> None:
            others = [base for base in cls.__bases__ if base not in classes]
            # Built-ins by name; others (dataclasses.FrozenInstanceError) by their full path.
            shown = " and ".join(
                f":exc:`{base.__name__}`"
                if base.__module__ == "builtins"
                else f":exc:`~{base.__module__}.{base.__qualname__}`"
                for base in others
            )

            note = ""
            if shown:
                note = f" (also a {shown})" if depth else f" (derives from {shown})"
            summary = (inspect.getdoc(cls) or "").split("\n\n", 1)[0]
            item = f":exc:`~lzy.exceptions.{cls.__name__}`{note}: {_cell(summary)}"
            lines.extend([f"{'  ' * depth}* {item}", ""])
            for child in classes:
                if cls in child.__bases__:
                    walk(child, depth + 1)

        for root in classes:
            if not any(base in classes for base in root.__bases__):
                walk(root, 0)
        return self.parse_rst(lines, context=("lzy.exceptions", None))


# --------------------------------------------------------------------------- events


@functools.cache
def _constant_doc(name: str) -> tuple[str, ...] | None:
    """The ``#:`` comment above the constant a public module re-exports as ``name``."""
    for source in _implementation_modules():
        value = getattr(importlib.import_module(source), name, None)
        if value is not None and value is getattr(importlib.import_module(FACADES[0]), name, None):
            doc = _attr_docs(source).get(("", name))
            if doc:
                return tuple(doc)
    return None


def _data_signature(  # noqa: PLR0917 - the signature of Sphinx's event
    app: Sphinx,
    what: str,
    name: str,
    obj: object,
    options: object,
    signature: str | None,
    return_annotation: str,
) -> tuple[None, None] | None:
    """Give module constants no signature, even when they are callable (``DEFAULT_ENV``).

    Sphinx 9 indexes the empty signature list of a constant when a later handler rewrites its
    signature; answering first with a result it ignores keeps other handlers from doing so.
    """
    return (None, None) if what == "data" else None


def _dataclass_signature(  # noqa: PLR0917 - the signature of Sphinx's event
    app: Sphinx,
    what: str,
    name: str,
    obj: object,
    options: object,
    signature: str | None,
    return_annotation: str,
) -> tuple[str, str] | None:
    """A dataclass's signature with its defaults as a user writes them (never ``<factory>``)."""
    if what != "class" or not isinstance(obj, type) or not dataclasses.is_dataclass(obj):
        return None
    fields = field_docs(obj)
    shown = [f.name if f.required else f"{f.name}={f.default}" for f in fields]

    return (f"(*, {', '.join(shown)})" if shown else "()"), return_annotation


def _forget_dataclass_parameters(  # noqa: PLR0917 - the signature of Sphinx's event
    app: Sphinx,
    what: str,
    name: str,
    obj: object,
    options: object,
    signature: str | None,
    return_annotation: str,
) -> None:
    """Each field of a dataclass has an entry of its own (type, default, merge rule), so the class
    does not list its keywords again as parameters: drop the types Sphinx recorded for them."""
    if what == "class" and isinstance(obj, type) and dataclasses.is_dataclass(obj):
        app.env.current_document.autodoc_annotations.pop(name, None)


def _hide_private_bases(
    app: Sphinx, name: str, obj: object, options: object, bases: list[type[object]]
) -> None:
    """Show a private implementation base (``lzy.env._base.EnvPart``) as its public bases."""

    def private(base: type[object]) -> bool:
        return any(part.startswith("_") for part in f"{base.__module__}.{base.__qualname__}".split("."))

    def public(base: type[object]) -> list[type[object]]:
        if not private(base):
            return [base]
        return [shown for parent in base.__bases__ if parent is not object for shown in public(parent)]

    shown = list(dict.fromkeys(shown for base in bases for shown in public(base)))
    bases[:] = shown or [object]


_POINT_METHODS: Final = frozenset(point.method for point in POINTS)


def _drop_constructor_params(  # noqa: PLR0917 - the signature of Sphinx's event
    app: Sphinx, what: str, name: str, obj: object, options: object, lines: list[str]
) -> None:
    """Leave out the ``:param`` lines a constructed class's docstring holds for editors
    (``lzy.env._stubgen`` writes them from the ``#:`` comments): each field has its own entry,
    with its type, default and merge rule, on the page."""
    del app, name, options
    if what == "class" and obj in CONSTRUCTED:
        while lines and not lines[-1].strip():
            lines.pop()
        while lines and lines[-1].startswith(":param "):
            lines.pop()
        while lines and not lines[-1].strip():
            lines.pop()


def _add_generated_text(  # noqa: PLR0917 - the signature of Sphinx's event
    app: Sphinx, what: str, name: str, obj: object, options: object, lines: list[str]
) -> None:
    """Add what autodoc cannot find itself: keyword tables, constants' comments, the hierarchy."""
    if what == "attribute":
        owner_path, _, field = name.rpartition(".")
        module_name, _, class_name = owner_path.rpartition(".")
        try:
            owner = getattr(importlib.import_module(module_name), class_name)
        except (ImportError, AttributeError, ValueError):
            owner = None
        if isinstance(owner, type) and dataclasses.is_dataclass(owner):
            lines += _field_facts(owner, field)
        return
    if what == "module" and name == "lzy.exceptions":
        lines += ["", ".. rubric:: The hierarchy", "", ".. lzy-exception-tree::", ""]
    elif what == "data" and name.startswith(f"{FACADES[0]}."):
        doc = _constant_doc(name.rpartition(".")[2])
        if doc is not None:
            lines[:] = list(doc)
    elif what == "method" and name.startswith("lzy.api.v1.EnvOwner."):
        method = name.rpartition(".")[2]
        if method in _POINT_METHODS:
            lines += [
                "",
                "The keywords each built-in ``klass`` accepts are below; a ``klass`` of your own (a"
                " subclass of the point's base class) takes the keywords of its constructor.",
                "",
                f".. lzy-keywords:: {method}",
                "",
            ]


def _resolve_public(
    app: Sphinx, env: BuildEnvironment, node: pending_xref, contnode: nodes.TextElement
) -> nodes.Node | None:
    """Resolve a reference to an implementation path by the public path documenting it."""
    target = node.get("reftarget", "")
    if node.get("refdomain") != "py" or not target.startswith("lzy."):
        return None
    names = _facade_names()
    parts = target.split(".")
    for cut in range(len(parts), 0, -1):
        prefix = ".".join(parts[:cut])
        if prefix in names:
            public = ".".join([names[prefix], *parts[cut:]])
            if public == target:
                return None
            clone = node.deepcopy()
            clone["reftarget"] = public
            domain = env.get_domain("py")
            builder, kind = app.builder, node["reftype"]
            return domain.resolve_xref(env, node["refdoc"], builder, kind, public, clone, contnode)
    return None


def _public_targets(app: Sphinx, doctree: nodes.document) -> None:
    """Point every reference to an implementation path at the public path documenting it, so
    links, their titles and the text shown for them name the public path."""
    names = _facade_names()
    for node in list(doctree.findall(pending_xref)):
        target = node.get("reftarget", "")
        if node.get("refdomain") != "py":
            continue
        shown = _SHOWN_AS.get(target.rpartition(".")[2])
        if shown is not None and target.startswith(("lzy.", *_SHOWN_AS_PREFIX)):
            node.replace_self(_type_nodes(node, shown))
            continue
        name = target.rpartition(".")[2].lstrip("~")
        if re.fullmatch(r"_[A-Z]\w*", name):  # a private type variable: shown by its name
            node.replace_self(nodes.emphasis(name, name.lstrip("_").removesuffix("_co")))
            continue
        if not target.startswith("lzy."):
            # A name relative to the module or class the text is written in (``RayRuntime`` in
            # the docstring of ``lzy.runtime.ray``): its full implementation path, when public.
            context = [node.get("py:module"), node.get("py:class")]
            candidates = [".".join([*filter(None, context[:i]), target.lstrip("~.")]) for i in (2, 1)]
            full = next((c for c in candidates if c in names), None)
            if full is None:
                continue
            target = full
        parts = target.split(".")
        for cut in range(len(parts), 0, -1):
            prefix = ".".join(parts[:cut])
            if prefix in names:
                public = ".".join([names[prefix], *parts[cut:]])
                node["reftarget"] = public
                for text in node.findall(nodes.Text):
                    if text.astext() == target:
                        text.parent.replace(text, nodes.Text(public))
                break


_SHOWN_AS_PREFIX: Final = tuple(_SHOWN_AS)


def _callable_brackets(app: Sphinx, doctree: nodes.document) -> None:
    """Show ``Callable[P, R]`` and ``Callable[..., R]`` as written: Sphinx writes the parameters
    of a ``ParamSpec`` or ``...`` in brackets (``Callable[[P], R]``), in signatures and in the
    types of a parameter list; and show ``*args: P.args`` as of type ``P.args``, not ``P``."""
    del app
    bracket_kinds = (addnodes.desc_sig_punctuation, nodes.emphasis)
    for opening in list(doctree.findall(lambda node: isinstance(node, bracket_kinds))):
        parent = opening.parent
        if parent is None or opening.astext() != "[":
            continue
        index = next((i for i, child in enumerate(parent.children) if child is opening), None)
        if index is None:  # removed as the inner bracket of an earlier match
            continue
        window = parent.children[index : index + 4]
        if len(window) < 4 or window[1].astext() != "[" or window[3].astext() != "]":
            continue
        inner = window[2].astext()
        if inner == "..." or (isinstance(window[2], nodes.emphasis) and inner in _paramspec_names()):
            parent.remove(window[3])
            parent.remove(window[1])
    for paragraph in list(doctree.findall(nodes.paragraph)):
        parts = paragraph.children
        shape = [type(part) for part in parts]
        if shape != [nodes.strong, nodes.Text, nodes.emphasis, nodes.Text]:
            continue
        kind, shown = parts[0].astext(), parts[2].astext()
        if kind in {"args", "kwargs"} and parts[1].astext() == " (" and shown in _paramspec_names():
            parts[2].replace_self(nodes.emphasis(f"{shown}.{kind}", f"{shown}.{kind}"))


@functools.cache
def _paramspec_names() -> frozenset[str]:
    """The names lzy's ParamSpecs are shown by (``P`` for ``_P``)."""
    found: set[str] = set()
    for name in _implementation_modules():
        module = importlib.import_module(name)
        found.update(v.__name__.lstrip("_") for v in vars(module).values() if isinstance(v, ParamSpec))
    return frozenset(found)


_PUBLIC_TYPES: Final = {"Mapping": "collections.abc.Mapping", "Callable": "collections.abc.Callable"}


def _type_nodes(node: pending_xref, shown: str) -> list[nodes.Node]:
    """``shown`` (``Callable[..., EnvExplorer]``) as text with references, in place of ``node``."""
    result: list[nodes.Node] = []
    for part in re.split(r"(\w+)", shown):
        if not part:
            continue
        if not part[0].isupper():
            result.append(nodes.Text(part))
            continue
        target = _PUBLIC_TYPES.get(part, f"lzy.api.v1.env.{part}")
        reference = pending_xref("", refdomain="py", reftype="class", reftarget=target)
        reference["refdoc"] = node.get("refdoc")
        reference["py:module"] = node.get("py:module")
        reference["py:class"] = node.get("py:class")
        reference += nodes.literal(part, part, classes=["xref", "py", "py-class"])
        result.append(reference)
    return result


#: The machine the examples' outputs are shown for, whatever machine builds the docs: the local
#: runtime's checks (cores, memory, GPUs) then print the same on every machine.
REFERENCE_MACHINE: Final = MachineSpec(
    name="this machine", cpu_type="x86_64", cpu_count=8, ram_size_gb=16.0, gpu_type=None, gpu_count=0
)


def _reference_machine(app: Sphinx) -> None:
    """Make the local runtime describe :data:`REFERENCE_MACHINE` while the examples run."""
    local.this_machine = lambda: REFERENCE_MACHINE


#: What a reader must never see on a page: the implementation behind the public names.
_INTERNALS: Final = re.compile(
    r"<factory>|<class '|\bTypeVar\(|\bParamSpec\(|\b(?:FrozenMap|OpTarget|ExplorerFactory|_Function)\b"
    # Sphinx's brackets around the parameters of a ParamSpec or of ``...``.
    r"|Callable\[\[(?:\.\.\.|[A-Z]\w*)\]"
    # A private type variable of lzy or of its stub (``_FieldsP``, ``_PythonEnvT``), as a
    # checker's message would show it.
    r"|\b_[A-Z][a-z][A-Za-z]*(?:P|T|T_co)\b"
    # A directory of this build: a temporary one (an example's own is shown as SHOWN_WORKDIR).
    r"|/tmp/(?:tmp|lzy-docs-)\w+"
)
#: A link whose title names an implementation module, where a public path documents the name.
_PRIVATE_TITLE: Final = re.compile(r'title="(lzy\.(?:env|core|runtime)\.[\w.]+)"')


def _check_pages(app: Sphinx, exception: BaseException | None) -> None:
    """Warn (so a ``-W`` build fails) for an internal name shown on a page, or a link titled
    with an implementation path. The highlighted source pages (``_modules/``) are the code."""
    if exception is not None or app.builder.format != "html":
        return
    out = Path(app.outdir)
    for page in sorted(out.rglob("*.html")):
        relative = page.relative_to(out)
        if relative.parts[0] in {"_modules", "_sources", "_static"}:
            continue
        raw = page.read_text(encoding="utf-8")
        text = html.unescape(re.sub(r"<[^>]+>", " ", raw))
        for match in _INTERNALS.finditer(text):
            LOGGER.warning(
                "%s shows %r, an internal of lzy", relative, match[0], type="lzy", subtype="internals"
            )
        for match in _PRIVATE_TITLE.finditer(raw):
            if match[1] in _facade_names():
                LOGGER.warning(
                    "%s links %s by its private path", relative, match[1], type="lzy", subtype="internals"
                )


#: The width the pages are checked at: a common laptop screen's.
LAYOUT_WIDTH: Final = 1280
#: Run in each page by :func:`_check_layout`: every code block, table and signature whose content
#: is wider than the room it has (cut off, or scrolled out of view), as JSON in the page's text.
_LAYOUT_SCRIPT: Final = """
document.addEventListener("DOMContentLoaded", () => {
  const wide = [];
  for (const element of document.querySelectorAll("article pre, article table, article dt.sig")) {
    const box = element.closest(".table-wrapper") || element;
    if (element.scrollWidth > element.clientWidth + 1 || box.scrollWidth > box.clientWidth + 1) {
      wide.push(element.tagName.toLowerCase() + ": " + element.innerText.slice(0, 60).replace(/\\s+/g, " "));
    }
  }
  const result = document.createElement("div");
  result.textContent = "LZY-LAYOUT:" + JSON.stringify(wide);
  document.body.appendChild(result);
});
"""


def _browser() -> str | None:
    """A Chromium to render the pages with (Debian's ``chromium``), if this machine has one."""
    return next(filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None)


def _check_layout(app: Sphinx, exception: BaseException | None) -> None:
    """Warn (so a ``-W`` build fails) for a code block, table or signature that a browser
    :data:`LAYOUT_WIDTH` pixels wide cannot show whole: each page is rendered by headless
    Chromium. Without Chromium the check is skipped, saying so (``nox -s docs`` installs it)."""
    if exception is not None or app.builder.format != "html":
        return
    browser = _browser()
    if browser is None:
        LOGGER.info("lzy: no Chromium here; the pages' layout at %d px is not checked", LAYOUT_WIDTH)
        return
    out = Path(app.outdir)
    for page in sorted(out.rglob("*.html")):
        relative = page.relative_to(out)
        if relative.parts[0] in {"_modules", "_sources", "_static"} or relative.name.startswith(
            ("genindex", "search", "py-modindex")
        ):
            continue
        probe = page.with_name(f".layout-{page.name}")
        script = f"<script>{_LAYOUT_SCRIPT}</script></head>"
        probe.write_text(page.read_text(encoding="utf-8").replace("</head>", script, 1), encoding="utf-8")
        try:
            options = ["--headless", "--no-sandbox", "--disable-gpu", f"--window-size={LAYOUT_WIDTH},1000"]
            done = subprocess.run(
                [browser, *options, "--dump-dom", probe.as_uri()],
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
        except subprocess.TimeoutExpired:
            LOGGER.warning("%s: Chromium did not render it in 120 s", relative, type="lzy", subtype="layout")
            continue
        finally:
            probe.unlink()
        found = re.search(r"LZY-LAYOUT:(\[.*?\])</div>", done.stdout)
        if found is None:
            LOGGER.warning("%s: Chromium rendered no result", relative, type="lzy", subtype="layout")
            continue
        for wide in json.loads(html.unescape(found[1])):
            message = "%s: at %d px this is wider than the page shows: %s"
            LOGGER.warning(message, relative, LAYOUT_WIDTH, wide, type="lzy", subtype="layout")


def _check_coverage(app: Sphinx, env: BuildEnvironment) -> None:
    """Warn (and so fail a ``-W`` build) for a public name or field the reference does not document."""
    documented = set(cast("PythonDomain", env.get_domain("py")).objects)
    for facade in FACADES:
        module = importlib.import_module(facade)
        for name in module.__all__:
            value = getattr(module, name)
            if inspect.ismodule(value):
                continue
            wanted = [f"{facade}.{name}"]
            if inspect.isclass(value) and dataclasses.is_dataclass(value):
                wanted += [f"{facade}.{name}.{field.name}" for field in dataclasses.fields(value)]
            for path in wanted:
                if path not in documented:
                    message = "the reference does not document %s"
                    LOGGER.warning(message, path, type="lzy", subtype="coverage")


def setup(app: Sphinx) -> dict[str, object]:
    """Register the directives and the event handlers."""
    app.add_directive("lzy-keywords", KeywordsDirective)
    app.add_directive("lzy-merge-rules", MergeRulesDirective)
    app.add_directive("lzy-comment", CommentDirective)
    app.add_directive("lzy-run", RunDirective)
    app.add_directive("lzy-script", ScriptDirective)
    app.add_directive("lzy-typecheck", TypecheckDirective)
    app.add_directive("lzy-exception-tree", ExceptionTreeDirective)
    # Before sphinx-autodoc-typehints (priority 500) would give those parameters their types.
    app.connect("autodoc-process-docstring", _drop_constructor_params, priority=100)
    app.connect("autodoc-process-docstring", _add_generated_text)
    app.connect("autodoc-process-bases", _hide_private_bases)
    app.connect("autodoc-process-signature", _data_signature, priority=100)
    app.connect("autodoc-process-signature", _dataclass_signature, priority=200)
    # After Sphinx records the parameters' types (priority 500).
    app.connect("autodoc-process-signature", _forget_dataclass_parameters, priority=600)
    app.connect("doctree-read", _public_targets)
    app.connect("doctree-read", _callable_brackets)
    app.connect("builder-inited", _reference_machine)
    app.connect("missing-reference", _resolve_public)
    app.connect("env-purge-doc", _purge_namespaces)
    app.connect("env-check-consistency", _check_coverage)
    app.connect("build-finished", _check_pages)
    app.connect("build-finished", _check_layout)
    app.connect("build-finished", _remove_workdirs)
    app.connect("doctree-resolved", _break_points)
    # lzy-run blocks of a page share names, so pages are read one at a time.
    return {"version": "1", "parallel_read_safe": False, "parallel_write_safe": True}
