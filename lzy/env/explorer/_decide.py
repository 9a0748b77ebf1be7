"""The decisions: what to pin, what to ship, what to refuse, and why.

A distribution the op needs (found by the walk, required by one found, or a meta-package
requiring one) whose ``Requires-Python`` excludes the target is refused. An editable install
is shipped from its project; one installed from a local archive, a directory or a VCS URL
(PEP 610) is shipped as well, or refused when compiled: the index's file of the same name and
version may be other code. Any other is pinned when an index has a file the target installs;
else a pure one is shipped with a warning, and a compiled one is refused while
``raise_on_binaries``. What is shipped of a distribution includes its ``.dist-info``.
"""

from __future__ import annotations

import dataclasses
import os
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence

from lzy.env._base import FrozenMap, redact_url
from lzy.env.explorer._installed import Dist, Installed, is_compiled, satisfies
from lzy.env.explorer._pages import canonical_name, url_for
from lzy.env.explorer._target import Target
from lzy.env.explorer._walk import Found
from lzy.env.explorer.base import Classification, Exploration, PackageDecision
from lzy.exceptions import ExplorationError, LzyWarning

__all__ = ["Decider", "Outcome", "Verdict", "requirement_conflicts"]


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class Verdict:
    """What the indexes say about one distribution's installed version."""

    #: The index with a usable file, or ``None``.
    index: str | None
    #: The usable file, or ``None``.
    filename: str | None
    #: Why no file is usable, in short phrases (empty when one is, or when none exists).
    why: tuple[str, ...] = ()
    #: Whether files of the version exist, but all are refused for their Requires-Python.
    python_refused: bool = False
    #: Whether any index has files of this version at all.
    has_version: bool = False
    #: Whether any index knows the project.
    listed: bool = True
    #: A patch level when the usable file's Requires-Python admits only some of the target's.
    patch_hint: str | None = None
    #: The first index with files of the version (none of them usable), which installers
    #: take the version from.
    decided_by: str | None = None
    #: A later index with a usable file of the version, which installers do not reach.
    usable_later: str | None = None


@dataclasses.dataclass(kw_only=True, slots=True)
class Outcome:
    """Decisions, pins, paths and problems gathered while deciding."""

    decisions: list[PackageDecision] = dataclasses.field(default_factory=list[PackageDecision])
    pins: dict[str, str] = dataclasses.field(default_factory=dict[str, str])
    paths: set[str] = dataclasses.field(default_factory=set[str])
    problems: list[str] = dataclasses.field(default_factory=list[str])
    warnings: list[str] = dataclasses.field(default_factory=list[str])

    def decide(
        self,
        name: str,
        version: str | None,
        classification: Classification,
        reason: str,
        paths: tuple[str, ...] = (),
    ) -> None:
        """Record a decision; its paths are shipped."""
        self.decisions.append(
            PackageDecision(
                name=name, version=version, classification=classification, reason=reason, paths=paths
            )
        )
        self.paths.update(paths)

    def warn(self, message: str) -> None:
        """Record a warning, issued when the exploration succeeds."""
        self.warnings.append(message)

    def exploration(self) -> Exploration:
        """The exploration, after raising the problems and issuing the warnings."""
        if self.problems:
            listing = "\n".join(f"  - {p}" for p in self.problems)
            msg = f"the op's Python environment cannot be reproduced on the target:\n{listing}"
            raise ExplorationError(msg)
        for message in self.warnings:
            # Level 3 points at the caller of explore().
            warnings.warn(message, LzyWarning, stacklevel=3)
        return Exploration(
            pypi_packages=FrozenMap(sorted(self.pins.items())),
            local_module_paths=tuple(sorted(self.paths)),
            decisions=tuple(sorted(self.decisions, key=lambda d: (d.name, d.classification.value))),
        )


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class Decider:
    """Makes the decisions of one explorer, with its settings."""

    #: Canonical names of distributions left out.
    exclude_packages: frozenset[str]
    #: Whether compiled code that cannot be installed from the index is an error.
    raise_on_binaries: bool
    #: Whether editable installs are shipped as local code.
    treat_editables_as_locals: bool
    #: The target Python and platform.
    target: Target
    #: The target's marker environment.
    markers: Mapping[str, str]
    #: The indexes checked, in order (for messages).
    indexes: tuple[str, ...]
    #: The newest version before a distribution's installed one that an index has for the
    #: target (asked only to explain a refusal).
    older_fitting: Callable[[Dist], str | None]

    def excluded(self, found: Found, outcome: Outcome) -> None:
        """Decide about what the walk found excluded."""
        for name, (dist, module) in sorted(found.excluded.items()):
            reason = f"listed in exclude_packages (its module {module!r} is used); not walked"
            outcome.decide(name, dist.version, Classification.EXCLUDED, reason)
        for top in sorted(found.excluded_local):
            reason = f"listed in exclude_packages; local module {top!r} is not shipped"
            outcome.decide(canonical_name(top), None, Classification.EXCLUDED, reason)

    def needed(
        self, found: Found, installed: Installed, outcome: Outcome
    ) -> tuple[dict[str, tuple[Dist, str]], dict[str, tuple[Dist, str]]]:
        """Every distribution the op needs, with why when it is not used directly: those the
        walk found, what they require, and the meta-packages requiring any of them."""
        needed: dict[str, tuple[Dist, str]] = {name: (dist, "") for name, (dist, _) in found.dists.items()}
        for name, (dist, _) in found.editables.items():
            needed[name] = (dist, f"editable install of {dist.editable_dir}")
        self.follow_requirements(needed, installed, outcome)
        provides = {name: module for name, (_, module) in found.dists.items()}
        metas = self.meta_packages(needed, provides, installed)
        for name, (dist, why) in sorted(metas.items()):
            if name in self.exclude_packages:
                reason = f"listed in exclude_packages ({why})"
                outcome.decide(name, dist.version, Classification.EXCLUDED, reason)
            else:
                needed[name] = (dist, why)
        return needed, metas

    def classify(
        self, needed: Mapping[str, tuple[Dist, str]], found: Found, outcome: Outcome
    ) -> dict[str, tuple[Dist, str]]:
        """Decide what needs no index (editable and direct-URL installs, a Requires-Python
        that excludes the target); returns the rest, to be checked on the index."""
        checked: dict[str, tuple[Dist, str]] = {}
        for name, (dist, why) in sorted(needed.items()):
            if not self.python_fits(dist, outcome):
                continue
            direct = dist.direct_url
            if direct is not None and direct.kind == "editable" and self.treat_editables_as_locals:
                shipped = self.dist_paths(dist, found)
                tops = [p for p in shipped if p != dist.metadata_dir]
                if tops:
                    reason = f"editable install of {dist.editable_dir}; shipping {', '.join(tops)}"
                else:
                    reason = join(why, f"editable install of {dist.editable_dir}; no module of it is used")
                outcome.decide(name, dist.version, Classification.LOCAL, reason, shipped)
                self.check_binaries(name, tops, outcome)
            elif direct is not None and direct.kind != "editable":
                origin = (
                    f"installed from {direct.describe()}, not from an index (PEP 610 direct_url.json):"
                    " the index's file of that name and version may be other code"
                )
                self.ship(dist, join(why, origin), found, outcome)
            else:
                checked[name] = (dist, why)
        return checked

    def decide_checked(
        self,
        checked: Mapping[str, tuple[Dist, str]],
        *,
        verdicts: Mapping[str, Verdict],
        metas: Mapping[str, tuple[Dist, str]],
        installed: Installed,
        found: Found,
        outcome: Outcome,
    ) -> None:
        """Pin what the index has (``verdicts``); decide about the rest."""
        meta_pinned = {name for name in metas if name in verdicts and verdicts[name].filename is not None}
        meta_parents = installed.meta_parents(self.markers)
        for name, (dist, why) in sorted(checked.items()):
            verdict = verdicts[name]
            if verdict.filename is None:
                parents = [p.name for p in meta_parents.get(name, ()) if p.name in meta_pinned]
                self.unavailable(
                    dist, why=why, verdict=verdict, meta_parents=parents, found=found, outcome=outcome
                )
                continue
            if verdict.index is None:
                reason = f"installed {dist.version}; no index is checked, so it counts as available"
            else:
                reason = f"installed {dist.version}; found {verdict.filename} on {redact_url(verdict.index)}"
            if verdict.patch_hint is not None:
                note = self.patch_note(verdict.patch_hint, f"the Requires-Python of {verdict.filename}")
                outcome.warn(f"{name} {dist.version}: {note}")
                reason = f"{reason}; {note}"
            outcome.decide(name, dist.version, Classification.PYPI, join(why, reason))
            outcome.pins[name] = dist.version

    def decide_local(self, found: Found, installed: Installed, outcome: Outcome) -> None:
        """Ship code no distribution owns."""
        for top, top_paths in sorted(found.local.items()):
            shipped = tuple(sorted(top_paths))
            kind = f"namespace package {top!r}" if top in found.namespace_packages else f"module {top!r}"
            reason = f"no distribution owns {kind}; shipping {', '.join(shipped)}"
            unreadable = self.unreadable_near(shipped, installed)
            if unreadable:
                reason += f" (the metadata of {unreadable} next to it cannot be read)"
            outcome.decide(top, None, Classification.LOCAL, reason, shipped)
            self.check_binaries(top, shipped, outcome)
        for module, file in sorted(found.unplaced.items()):
            outcome.warn(
                f"module {module!r} (file {file}) belongs to no distribution and its top-level"
                " package cannot be located from its name and file, so it is not shipped"
            )

    def follow_requirements(
        self, needed: dict[str, tuple[Dist, str]], installed: Installed, outcome: Outcome
    ) -> None:
        """Add what ``needed`` requires, transitively, where this environment satisfies it."""
        queue = sorted(needed)
        while queue:
            parent = needed[queue.pop()][0]
            for requirement in installed.requirements(parent, self.markers):
                name = requirement.name
                if name in needed or name == "lzy":
                    continue
                dist = installed.by_name.get(name)
                if dist is None:
                    continue
                if not satisfies(dist.version, requirement.specifier):
                    continue
                why = f"required by {parent.name} {parent.version}"
                if name in self.exclude_packages:
                    if not any(d.name == name for d in outcome.decisions):
                        reason = f"listed in exclude_packages ({why}); not followed"
                        outcome.decide(name, dist.version, Classification.EXCLUDED, reason)
                    continue
                needed[name] = (dist, why)
                queue.append(name)

    def check_requirements(self, installed: Installed, outcome: Outcome) -> None:
        """A problem for each pin another pin's declared requirements exclude: installing
        both would fail on the target."""
        outcome.problems.extend(requirement_conflicts(outcome.pins, installed, self.markers))

    def python_fits(self, dist: Dist, outcome: Outcome) -> bool:
        """Whether ``dist``'s ``Requires-Python`` admits the target; a problem when it does not."""
        if dist.requires_python is None:
            return True
        fit = self.target.fits(dist.requires_python)
        if fit.admitted:
            if fit.partial and fit.patch_hint is not None:
                note = self.patch_note(fit.patch_hint, f"its Requires-Python {dist.requires_python!r}")
                outcome.warn(f"{dist.name} {dist.version}: {note}")
            return True
        problem = (
            f"{dist.name} {dist.version} requires Python {dist.requires_python} (its Requires-Python),"
            f" which excludes the target Python {self.target.python_text}"
        )
        if fit.patch_hint is not None:
            problem += f"; python_version={fit.patch_hint!r} would fit"
        older = self.older_fitting(dist)
        if older is not None:
            problem += (
                f"; the index has {dist.name} {older}, which fits: install that version here,"
                " or pin it with additional_pypi_packages"
            )
        outcome.problems.append(problem)
        return False

    def patch_note(self, hint: str, what: str) -> str:
        major_minor = f"{self.target.python[0]}.{self.target.python[1]}"
        return (
            f"{what} admits only some Python {major_minor} releases (such as {hint}),"
            f" and python_version {major_minor!r} lets the target run any of them;"
            f" give the patch level (python_version={hint!r}) to be sure"
        )

    def meta_packages(
        self, needed: Mapping[str, tuple[Dist, str]], provides: Mapping[str, str], installed: Installed
    ) -> dict[str, tuple[Dist, str]]:
        """Meta-packages that require (possibly through other meta-packages) a needed dist."""
        parents = installed.meta_parents(self.markers)
        metas: dict[str, tuple[Dist, str]] = {}
        queue = [(name, provides.get(name)) for name in sorted(needed)]
        while queue:
            name, module = queue.pop()
            for parent in parents.get(name, ()):
                if parent.name in metas or parent.name in needed or parent.name == "lzy":
                    continue
                why = f"meta-package (no files of its own) requiring {name!r}"
                if module is not None:
                    why += f", which provides {module!r}"
                metas[parent.name] = (parent, why)
                queue.append((parent.name, module))
        return metas

    def missing_reason(self, dist: Dist, verdict: Verdict) -> str:
        """Why no index gives ``dist``'s installed version for the target, in one line."""
        where = ", ".join(url_for(index, dist.name) for index in self.indexes)
        if verdict.has_version:
            decided = url_for(verdict.decided_by, dist.name) if verdict.decided_by else where
            reason = (
                f"installed {dist.version}, but no file of it on {decided} installs on"
                f" {self.target.describe()}: {'; '.join(verdict.why) or 'no usable file'}"
            )
            if verdict.usable_later is not None:
                reason += (
                    f" ({redact_url(verdict.usable_later)} has a usable file, but installers take a"
                    " version from the first index that has it)"
                )
            return reason
        if not verdict.listed:
            return f"installed {dist.version}, but the index has no such project ({where} not found)"
        return f"installed {dist.version}, but {where} has no file of that version"

    def unavailable(
        self,
        dist: Dist,
        *,
        why: str,
        verdict: Verdict,
        meta_parents: Sequence[str],
        found: Found,
        outcome: Outcome,
    ) -> None:
        """Decide about a distribution no index has a usable file of."""
        name = dist.name
        missing = self.missing_reason(dist, verdict)
        if meta_parents:
            reason = (
                f"{missing}; the pinned meta-package {meta_parents[0]!r} requires it, so the remote"
                " side installs what that meta-package needs there"
            )
            outcome.decide(name, dist.version, Classification.VIA_META_PACKAGE, join(why, reason))
            return
        if verdict.python_refused:
            problem = f"{name} {dist.version}: {missing}"
            older = self.older_fitting(dist)
            if older is not None:
                problem += (
                    f"; the index has {name} {older}, which fits: install that version here,"
                    " or pin it with additional_pypi_packages"
                )
            outcome.problems.append(problem)
            return
        self.ship(dist, join(why, missing), found, outcome)

    def ship(self, dist: Dist, missing: str, found: Found, outcome: Outcome) -> None:
        """Ship ``dist``'s installed files (and its metadata) as local code, when it can run
        on another platform."""
        name = dist.name
        shipped = self.dist_paths(dist, found)
        if not shipped and dist.meta:
            reason = f"{missing}; it is a meta-package without files, so nothing is shipped"
            outcome.warn(f"{name} {dist.version}: {reason}")
            outcome.decide(name, dist.version, Classification.LOCAL, reason)
            return
        if not [p for p in shipped if p != dist.metadata_dir]:
            outcome.problems.append(f"{name} {dist.version}: {missing}, and none of its files can be shipped")
            return
        if dist.compiled:
            compiled = (
                f"{missing}; it contains compiled code ({dist.compiled[0]}),"
                " which cannot be shipped to another platform"
            )
            if self.raise_on_binaries:
                outcome.problems.append(
                    f"{name} {dist.version}: {compiled}; publish a wheel for the target on the index,"
                    " exclude it, or pass raise_on_binaries=False to ship it anyway"
                )
                return
            reason = f"{compiled}; shipping it anyway because raise_on_binaries is False"
        else:
            reason = f"{missing}; it is pure Python, so its installed files and metadata are shipped"
        outcome.warn(f"{name} {dist.version}: {reason}")
        outcome.decide(name, dist.version, Classification.LOCAL, reason, shipped)

    def dist_paths(self, dist: Dist, found: Found) -> tuple[str, ...]:
        """What shipping ``dist`` means: its top-level files, and its metadata directory so
        that ``importlib.metadata`` (versions, entry points) works on the target."""
        if dist.editable_dir is not None:
            entry = found.editables.get(dist.name)
            paths = set(entry[1]) if entry else set[str]()
        else:
            paths = {p for p in dist.paths if os.path.exists(p)}
        if dist.metadata_dir is not None and os.path.exists(dist.metadata_dir):
            paths.add(dist.metadata_dir)
        return tuple(sorted(paths))

    def unreadable_near(self, shipped: Iterable[str], installed: Installed) -> str:
        """The unreadable metadata directories beside shipped paths (a hint for the reason)."""
        folders = {os.path.dirname(path) for path in shipped}
        near = [where for where in installed.unreadable if os.path.dirname(where) in folders]
        return ", ".join(sorted(near))

    def check_binaries(self, name: str, shipped: Iterable[str], outcome: Outcome) -> None:
        """An error (or a warning) for shipped local paths that contain compiled code."""
        for path in shipped:
            compiled = first_compiled(path)
            if compiled is None:
                continue
            what = (
                f"local module {name!r} at {path} contains compiled code ({compiled}),"
                " which cannot run on another platform"
            )
            if self.raise_on_binaries:
                outcome.problems.append(
                    f"{what}; publish it as a wheel for the target on the index,"
                    " or pass raise_on_binaries=False to ship it anyway"
                )
            else:
                outcome.warn(f"{what}; shipping it anyway because raise_on_binaries is False")


def requirement_conflicts(
    pins: Mapping[str, str],
    installed: Installed,
    markers: Mapping[str, str],
    *,
    forced: Mapping[str, str] | None = None,
) -> list[str]:
    """Why some of ``pins`` (canonical name -> version) cannot be installed together: a pinned
    distribution whose declared requirements (``Requires-Dist`` whose markers hold on the
    target, extras left out, read from the installed copy of that version) exclude the version
    pinned for another. ``forced`` names the pins the user gave (``additional_pypi_packages``),
    for the message."""
    forced = forced or {}
    problems: list[str] = []
    for name, version in sorted(pins.items()):
        dist = installed.by_name.get(name)
        if dist is None or (dist.version != version and not satisfies(dist.version, f"=={version}")):
            continue  # Its requirements are not known here.
        for requirement in installed.requirements(dist, markers):
            wanted = pins.get(requirement.name)
            if wanted is None or requirement.name == name or satisfies(wanted, requirement.specifier):
                continue
            given = " (given in additional_pypi_packages)" if requirement.name in forced else ""
            problems.append(
                f"{requirement.name} {wanted}{given} does not satisfy {name} {version}'s requirement"
                f" {requirement.name}{requirement.specifier} (its Requires-Dist), so the two cannot be"
                f" installed together; pin a version of one that the other accepts"
            )
    return problems


def join(why: str, reason: str) -> str:
    return f"{why}; {reason}" if why else reason


def first_compiled(path: str) -> str | None:
    """The first compiled file in ``path`` (a file or a directory tree), or ``None``."""
    if not os.path.isdir(path):
        return path if is_compiled(path) else None
    for directory, subdirs, files in os.walk(path):
        subdirs[:] = sorted(d for d in subdirs if d not in {"__pycache__", ".git"})
        for file in sorted(files):
            if is_compiled(file):
                return os.path.join(directory, file)
    return None
