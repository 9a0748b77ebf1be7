"""Sphinx extension for the command-line page: everything on it comes from the parsers themselves.

Directives:

``.. lzy-cli-options::``
    The env options, one table per group of :meth:`CliOverrides.generate_argparser
    <lzy.env.cli.CliOverrides.generate_argparser>` (the parser ``Lzy().with_cli_args()`` and
    ``lzy-env`` use): each option with what it takes, each klass's ``#:`` text for the field
    (with its links) and its default.

``.. lzy-cli-command:: explain``
    A subcommand of ``lzy-env`` (none: the command itself): its usage, description and own
    arguments, read from the parser ``lzy-env`` runs; for the command itself, its subcommands
    and its exit statuses.

``.. lzy-cli-run::``
    Runs the command line in its content (``lzy-env ...`` or ``python ...``, with this
    interpreter) in a sandbox directory holding a copy of the repository's ``examples/cli``, and
    shows the command and what it printed. The sandbox lies outside the repository, as a user's
    project does (lzy's own checkout is an editable install, whose files the explorer counts as
    lzy's). ``> FILE`` at the end keeps standard output in the sandbox for a later command.
    ``:status: N`` expects that exit status (default 0); another is a warning, so a ``-W`` build
    fails.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar, Final

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective
from sphinx.util.nodes import nested_parse_with_titles
from sphinx.util.typing import OptionSpec

from lzy.env import _cli_parser, _command
from lzy.env._cli_parser import FieldOption, KlassOption, klass_names
from lzy.env.cli import CliOverrides

ROOT: Final = Path(__file__).resolve().parents[2]
LOGGER: Final = logging.getLogger(__name__)
#: Where the reference documents the names the ``#:`` comments link to.
PUBLIC_MODULE: Final = "lzy.api.v1.env"
#: The width ``--help`` text and tables are written for on the page.
COLUMNS: Final = "80"


def _groups(parser: argparse.ArgumentParser) -> list[argparse._ArgumentGroup]:
    # argparse keeps its groups and their actions in attributes without a public accessor;
    # its own help formatter reads the same ones.
    return list(parser._action_groups)


def _actions(group: argparse._ArgumentGroup) -> list[argparse.Action]:
    return list(group._group_actions)


def _cell(text: str) -> str:
    return " ".join(text.split()) or "\\ "


def _escaped(text: str) -> str:
    """Plain text (a parser's help) as reStructuredText that shows it as written: options as
    literals (so ``--for`` is not typeset as a dash), markup characters escaped."""
    words: list[str] = []
    for word in _cell(text).split(" "):
        option = re.fullmatch(r"([(\[]?)(--[\w.=-]*\w)(\W*)", word)
        if option:
            words.append(f"{option[1]}``{option[2]}``{option[3]}")
        else:
            words.append(re.sub(r"([\\*`|_])", r"\\\1", word))
    return " ".join(words)


def _qualified(rst: str, klass: type[object]) -> str:
    """``rst`` with ``:attr:`name``` of a field of ``klass`` written as ``Klass.name``, so the
    text resolves in a table that mixes klasses."""
    return re.sub(r":(attr|meth):`(?!~)([A-Za-z_]\w*)`", rf":\1:`~{klass.__qualname__}.\2`", rst)


class _Directive(SphinxDirective):
    def parse_rst(self, lines: Sequence[str]) -> list[nodes.Node]:
        container = nodes.container()
        saved = self.env.ref_context.get("py:module")
        self.env.ref_context["py:module"] = PUBLIC_MODULE
        try:
            source = self.get_source_info()[0] or self.env.docname
            nested_parse_with_titles(self.state, StringList(list(lines), source=source), container)
        finally:
            if saved is None:
                self.env.ref_context.pop("py:module", None)
            else:
                self.env.ref_context["py:module"] = saved
        return list(container.children)

    def depend_on_code(self) -> None:
        for path in (ROOT / "lzy" / "env").rglob("*.py"):
            self.env.note_dependency(str(path))


def _option_rows(action: argparse.Action) -> list[str]:
    spec = getattr(action, "spec", None)
    option = ", ".join(f"``{o}``" for o in action.option_strings)
    metavar = action.metavar if isinstance(action.metavar, str) else ""
    if isinstance(spec, FieldOption):
        names = {klass: name for name, klass in klass_names(spec.point).items()}
        meanings: list[str] = []
        for klass, doc in spec.docs:
            label = names.get(klass, klass.__name__)
            default = "**required**" if doc.required else f"default ``{doc.default}``"
            prefix = f"*{label}*: " if len(spec.point.klasses) > 1 else ""
            meanings.append(f"{prefix}{_cell(_qualified(doc.doc, klass))} ({default})")
        takes, meaning = spec.type_text(), " |br| ".join(meanings)
    elif isinstance(spec, KlassOption):
        names = klass_names(spec.point)
        listed = ", ".join(f"``{name}`` (:class:`{klass.__name__}`)" for name, klass in names.items())
        takes = "a short name or a dotted path"
        base, default = spec.point.base.__name__, spec.point.default.__name__
        meaning = (
            f"The klass of ``{spec.point.field}``: {listed + ', or ' if listed else ''}the dotted path of a"
            f" subclass of :class:`{base}`. Default: :class:`{default}`."
        )
    else:
        takes, meaning = metavar, _escaped(action.help or "")
    return [f"   * - {option} ``{metavar}``", f"     - {_cell(takes)}", f"     - {meaning}"]


class OptionsDirective(_Directive):
    """``.. lzy-cli-options::``: the env options of the generated parser, group by group."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        """One rubric, description and table per argument group with env options."""
        self.depend_on_code()
        parser = CliOverrides.generate_argparser(prog="train.py")
        lines: list[str] = [".. |br| raw:: html", "", "   <br />", ""]
        for group in _groups(parser):
            actions = [
                a for a in _actions(group) if a.option_strings and not isinstance(a, argparse._HelpAction)
            ]
            if not actions or group.title in {"options", "optional arguments"}:
                continue
            lines += [f".. rubric:: {group.title}", "", _escaped(group.description or ""), ""]
            lines += [
                ".. list-table::",
                "   :header-rows: 1",
                "   :widths: 30 20 50",
                "   :class: lzy-cli-options",
                "",
                "   * - option",
                "     - takes",
                "     - meaning (per klass) and default",
            ]
            for action in actions:
                lines += _option_rows(action)
            lines.append("")
        return self.parse_rst(lines)


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


class CommandDirective(_Directive):
    """``.. lzy-cli-command:: NAME``: a subcommand's usage, description and own arguments."""

    optional_arguments = 1
    has_content = False

    def run(self) -> list[nodes.Node]:
        """The usage block, the description and a table of the arguments that are not env options."""
        self.depend_on_code()
        os.environ["COLUMNS"] = COLUMNS
        parser = _command.build_parser()
        if self.arguments:
            subcommands = _subcommands(parser)
            name = self.arguments[0]
            if name not in subcommands:
                msg = f"lzy-cli-command: no subcommand {name!r}; known: {', '.join(subcommands)}"
                raise self.error(msg)
            parser = subcommands[name]
        usage = parser.format_usage().strip()
        block = nodes.literal_block(usage, usage, language="text")
        self.set_source_info(block)
        lines: list[str] = [_escaped(parser.description or ""), ""]
        rows: list[str] = []
        env_options = False
        for group in _groups(parser):
            for action in _actions(group):
                if getattr(action, "spec", None) is not None or action.option_strings == [
                    _cli_parser.ENVIRON_OPTION
                ]:
                    env_options = True
                    continue
                if action.option_strings == [_cli_parser.TARGET_OPTION] or isinstance(
                    action, argparse._HelpAction | argparse._SubParsersAction
                ):
                    continue
                name = ", ".join(action.option_strings) or str(action.metavar or action.dest)
                help_text = (action.help or "").replace("%(default)s", str(action.default))
                rows += [f"   * - ``{name}``", f"     - {_escaped(help_text)}"]
        if rows:
            lines += [
                ".. list-table::",
                "   :header-rows: 1",
                "   :widths: 25 75",
                "",
                "   * - argument",
                "     - meaning",
                *rows,
                "",
            ]
        if env_options:
            lines += ["And every env option (:ref:`cli-options`), ``--for NAME`` included.", ""]
        if not self.arguments:
            lines += [
                ".. list-table::",
                "   :header-rows: 1",
                "   :widths: 20 80",
                "",
                "   * - command",
                "     - what it does",
            ]
            for name, text in _subcommands_help(parser):
                lines += [f"   * - ``{name}``", f"     - {_escaped(text)}"]
            lines += ["", ".. list-table:: Exit statuses", "   :header-rows: 1", "   :widths: 10 90", ""]
            lines += ["   * - status", "     - meaning"]
            for status, meaning in _command.EXIT_STATUSES:
                lines += [f"   * - ``{status}``", f"     - {_escaped(meaning)}"]
            lines.append("")
        return [block, *self.parse_rst(lines)]


def _subcommands_help(parser: argparse.ArgumentParser) -> list[tuple[str, str]]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return [(choice.dest, choice.help or "") for choice in action._choices_actions]
    return []


class RunDirective(_Directive):
    """``.. lzy-cli-run::``: run one command line in the sandbox and show what it printed."""

    has_content = True
    option_spec: ClassVar[OptionSpec] = {"status": int}

    def run(self) -> list[nodes.Node]:
        """Run the command with this interpreter; show ``$ command`` and its output."""
        self.depend_on_code()
        command = " ".join(line.strip() for line in self.content).strip()
        words = shlex.split(command)
        keep: str | None = None
        if len(words) >= 2 and words[-2] == ">":
            keep, words = words[-1], words[:-2]
        if not words or words[0] not in {"lzy-env", "python"}:
            raise self.error(f"lzy-cli-run runs lzy-env or python, not {command!r}")
        program = [sys.executable, "-m", "lzy.env"] if words[0] == "lzy-env" else [sys.executable]
        sandbox = _sandbox(self.env.app)
        environment = {**os.environ, "COLUMNS": COLUMNS, "NO_COLOR": "1", "PIP_CONFIG_FILE": os.devnull}
        for name in ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL"):
            environment.pop(name, None)
        try:
            done = subprocess.run(
                [*program, *words[1:]],
                cwd=sandbox,
                env=environment,
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
        except subprocess.TimeoutExpired:
            LOGGER.warning("%s did not finish in 300 s", command, location=self.get_location())
            return []
        expected = self.options.get("status", 0)
        if done.returncode != expected:
            LOGGER.warning(
                "%s exited with status %s, not %s\n%s%s",
                command,
                done.returncode,
                expected,
                done.stdout,
                done.stderr,
                location=self.get_location(),
                type="lzy",
                subtype="example",
            )
        shown = done.stderr if keep is not None else done.stdout + done.stderr
        if keep is not None:
            (sandbox / keep).write_text(done.stdout, encoding="utf-8")
        status = f"\n(exit status {done.returncode})" if done.returncode else ""
        text = f"$ {_wrapped(command)}\n{shown.rstrip()}{status}".rstrip()
        block = nodes.literal_block(text, text, language="console")
        self.set_source_info(block)
        return [block]


def _wrapped(command: str, width: int = 72) -> str:
    """A long command line broken before options, with the shell's ``\\`` continuation."""
    lines: list[str] = []
    for word in command.split(" "):
        if lines and (len(lines[-1]) + 1 + len(word) <= width or not word.startswith("-")):
            lines[-1] += f" {word}"
        else:
            lines.append(word if not lines else f"    {word}")
    return " \\\n".join(lines)


_SANDBOXES: dict[int, Path] = {}


def _sandbox(app: Sphinx) -> Path:
    """This build's sandbox: a temporary directory with a copy of ``examples/cli``."""
    sandbox = _SANDBOXES.get(id(app))
    if sandbox is None:
        sandbox = _SANDBOXES[id(app)] = Path(tempfile.mkdtemp(prefix="lzy-cli-docs-"))
        shutil.copytree(ROOT / "examples" / "cli", sandbox / "examples" / "cli")
    return sandbox


def _remove_sandbox(app: Sphinx, exception: BaseException | None) -> None:
    sandbox = _SANDBOXES.pop(id(app), None)
    if sandbox is not None:
        shutil.rmtree(sandbox, ignore_errors=True)


def setup(app: Sphinx) -> dict[str, object]:
    """Register the directives."""
    app.add_directive("lzy-cli-options", OptionsDirective)
    app.add_directive("lzy-cli-command", CommandDirective)
    app.add_directive("lzy-cli-run", RunDirective)
    app.connect("build-finished", _remove_sandbox)
    # Commands of a page run in order and may read what an earlier one kept.
    return {"version": "1", "parallel_read_safe": False, "parallel_write_safe": True}
