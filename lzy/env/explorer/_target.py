"""The target an exploration checks against: a CPython version and a wheel platform.

A target Python given as ``"3.11"`` means *some* 3.11.z, the runtime's choice (the rule
``python_version`` follows everywhere): a ``Requires-Python`` bound fits it when it admits some
patch level, and when it admits only some of them the decision says from which one. A target
given as ``"3.11.7"`` is checked as exactly that.

Platforms are wheel platform tags. The names of the first manylinux policies
(``manylinux2014``, ``manylinux2010``, ``manylinux1``) stand for the PEP 600 names they alias,
and a machine accepts what pip accepts there: older glibc, musl or macOS versions, the legacy
aliases beside their PEP 600 names, and ``linux_<arch>``.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import sys
from typing import TYPE_CHECKING, Final, cast

from lzy.env._base import describe
from lzy.exceptions import FieldTypeError, FieldValueError

if TYPE_CHECKING:
    from packaging.tags import Tag

__all__ = ["Fit", "Target", "check_platform", "check_python"]

#: Architectures of Linux wheels (manylinux, musllinux and plain ``linux``).
_LINUX_ARCHS: Final = frozenset(
    {"x86_64", "i686", "aarch64", "armv7l", "ppc64", "ppc64le", "s390x", "riscv64", "loongarch64"}
)
#: Architectures of macOS wheels.
_MAC_ARCHS: Final = frozenset({"x86_64", "arm64", "universal2", "intel", "universal", "i386", "ppc64"})
#: The first manylinux policies, by name: the glibc version each stands for and the
#: architectures it was defined for (PEP 513, 571 and 599).
_LEGACY_MANYLINUX: Final = {
    "manylinux1": ((2, 5), frozenset({"x86_64", "i686"})),
    "manylinux2010": ((2, 12), frozenset({"x86_64", "i686"})),
    "manylinux2014": (
        (2, 17),
        frozenset({"x86_64", "i686", "aarch64", "armv7l", "ppc64", "ppc64le", "s390x"}),
    ),
}
_LEGACY_BY_GLIBC: Final = {glibc: name for name, (glibc, _) in _LEGACY_MANYLINUX.items()}
_VERSIONED: Final = re.compile(r"(manylinux|musllinux|macosx)_(\d+)_(\d+)_([a-z0-9_]+)")
_LEGACY: Final = re.compile(r"(manylinux1|manylinux2010|manylinux2014)_([a-z0-9_]+)")
_PLAIN_LINUX: Final = re.compile(r"linux_([a-z0-9_]+)")
_WINDOWS: Final = frozenset({"win32", "win_amd64", "win_arm64"})
_EXAMPLES: Final = (
    "a wheel platform tag such as 'manylinux_2_28_x86_64', 'manylinux2014_aarch64',"
    " 'musllinux_1_2_x86_64', 'macosx_11_0_arm64', 'win_amd64' or 'any'"
)
_PYTHON: Final = re.compile(r"3\.(\d{1,3})(?:\.(\d{1,3}))?")


def check_platform(owner: str, value: object) -> str:
    """``value`` as a PEP 600 platform tag (legacy manylinux names translated), or an error
    naming ``owner.target_platform``, the value and what is allowed."""
    where = f"{owner}.target_platform"
    if not isinstance(value, str):
        msg = f"{where} must be {_EXAMPLES}, got {describe(value)} ({type(value).__name__})"
        raise FieldTypeError(msg)
    problem = _platform_problem(value)
    if problem is not None:
        normalized = re.sub(r"[^a-z0-9_]", "_", value.strip().lower())
        hint = f"; did you mean {normalized!r}?" if _platform_problem(normalized) is None else ""
        msg = f"{where} must be {_EXAMPLES}, got {value!r}: {problem}{hint}"
        raise FieldValueError(msg)
    return _canonical_platform(value)


def _platform_problem(value: str) -> str | None:
    if value in _WINDOWS or value == "any":
        return None
    if (legacy := _LEGACY.fullmatch(value)) is not None:
        archs = _LEGACY_MANYLINUX[legacy[1]][1]
        if legacy[2] not in archs:
            return f"{legacy[1]} is defined for {', '.join(sorted(archs))} only"
        return None
    if (versioned := _VERSIONED.fullmatch(value)) is not None:
        family, arch = versioned[1], versioned[4]
        archs = _MAC_ARCHS if family == "macosx" else _LINUX_ARCHS
        if arch not in archs:
            return f"unknown {family} architecture {arch!r} (known: {', '.join(sorted(archs))})"
        if family == "manylinux" and versioned[2] != "2":
            return "manylinux versions are glibc versions, 2.x"
        return None
    if (plain := _PLAIN_LINUX.fullmatch(value)) is not None:
        if plain[1] not in _LINUX_ARCHS:
            return f"unknown linux architecture {plain[1]!r} (known: {', '.join(sorted(_LINUX_ARCHS))})"
        return None
    return "not a platform tag pip installs wheels for"


def _canonical_platform(value: str) -> str:
    legacy = _LEGACY.fullmatch(value)
    if legacy is None:
        return value
    (major, minor), _ = _LEGACY_MANYLINUX[legacy[1]]
    return f"manylinux_{major}_{minor}_{legacy[2]}"


def check_python(owner: str, value: object) -> tuple[tuple[int, int], int | None]:
    """``(3, minor)`` and the patch level (``None`` when not given) of a target Python
    ``"3.11"`` or ``"3.11.7"``; ``None`` is the running interpreter, to its minor version."""
    if value is None:
        return (sys.version_info.major, sys.version_info.minor), None
    match = _PYTHON.fullmatch(value) if isinstance(value, str) and value.isascii() else None
    if match is None:
        msg = f"{owner}.python_version must look like '3.11' or '3.11.7', got {value!r}"
        raise FieldValueError(msg)
    return (3, int(match[1])), None if match[2] is None else int(match[2])


@dataclasses.dataclass(frozen=True, slots=True)
class Fit:
    """How a ``Requires-Python`` bound fits the target Python."""

    #: Whether some Python the target may run is admitted.
    admitted: bool
    #: When only some patch levels of an ``X.Y`` target are admitted (or, for an exact target
    #: that is refused, when another patch level of it would be), the first such patch level.
    patch_hint: str | None = None

    @property
    def partial(self) -> bool:
        """Whether the bound admits the target only at some patch levels."""
        return self.admitted and self.patch_hint is not None


@dataclasses.dataclass(frozen=True, slots=True)
class Target:
    """A CPython version (``patch`` ``None``: any patch level) on a wheel platform."""

    #: ``(3, minor)``.
    python: tuple[int, int]
    #: The patch level, or ``None`` for "some patch level".
    patch: int | None
    #: The platform tag (PEP 600 names; legacy manylinux names are translated).
    platform: str

    @property
    def python_text(self) -> str:
        """``"3.11"`` or ``"3.11.7"``."""
        base = f"{self.python[0]}.{self.python[1]}"
        return base if self.patch is None else f"{base}.{self.patch}"

    def describe(self) -> str:
        """``"CPython 3.11 on manylinux_2_28_x86_64"``."""
        return f"CPython {self.python_text} on {self.platform}"

    def tags(self) -> frozenset[Tag]:
        """The wheel tags the target installs."""
        return _tags(self.python, self.platform)

    def markers(self) -> dict[str, str]:
        """The PEP 508 marker environment of the target (no extra)."""
        return dict(_markers(self.python, self.patch, self.platform))

    def fits(self, specifier: str) -> Fit:
        """How ``specifier`` (a ``Requires-Python`` value) fits the target Python; one that
        cannot be parsed fits, as pip ignores it."""
        return _fit(specifier, self.python, self.patch)


@functools.lru_cache(maxsize=4096)
def _fit(specifier: str, python: tuple[int, int], patch: int | None) -> Fit:
    from lzy.env.explorer import _memo  # noqa: PLC0415 - the answers are kept across processes

    key = f"{specifier} {python[0]}.{python[1]}.{'*' if patch is None else patch}"
    answer = _memo.get("fits", key)
    pair = cast("list[object]", answer) if isinstance(answer, list) else []
    if len(pair) == 2:
        admitted, hint = pair
        return Fit(admitted=bool(admitted), patch_hint=hint if isinstance(hint, str) else None)
    fit = _compute_fit(specifier, python, patch)
    _memo.put("fits", key, [fit.admitted, fit.patch_hint])
    return fit


def _compute_fit(specifier: str, python: tuple[int, int], patch: int | None) -> Fit:
    from packaging.specifiers import InvalidSpecifier, SpecifierSet  # noqa: PLC0415 - lazy

    try:
        specifiers = SpecifierSet(specifier)
    except InvalidSpecifier:
        return Fit(admitted=True)
    base = f"{python[0]}.{python[1]}"
    # The admitted patch levels change only at the patch levels a specifier names: checking
    # those, their neighbours, 0 and a large one covers every interval.
    candidates = {0, 999}
    for item in specifiers:
        release = item.version.split(".")
        if release[:2] == [str(python[0]), str(python[1])] and len(release) > 2 and release[2].isdigit():
            named = int(release[2])
            candidates.update({max(named - 1, 0), named, named + 1})
    admitted = sorted(p for p in candidates if specifiers.contains(f"{base}.{p}", prereleases=True))
    if patch is not None:
        if specifiers.contains(f"{base}.{patch}", prereleases=True):
            return Fit(admitted=True)
        return Fit(admitted=False, patch_hint=f"{base}.{admitted[0]}" if admitted else None)
    if not admitted:
        return Fit(admitted=False)
    if len(admitted) == len(candidates):
        return Fit(admitted=True)
    return Fit(admitted=True, patch_hint=f"{base}.{admitted[0]}")


def _linux_platforms(family: str, major: int, minor: int, arch: str) -> list[str]:
    tags: list[str] = []
    if family == "musllinux":
        tags = [f"musllinux_{major}_{older}_{arch}" for older in range(minor, -1, -1)]
    else:
        # pip's rule: glibc 2.5 is the oldest on x86, 2.17 elsewhere.
        oldest = 5 if arch in {"x86_64", "i686"} else 17
        for older in range(minor, oldest - 1, -1):
            tags.append(f"manylinux_{major}_{older}_{arch}")
            legacy = _LEGACY_BY_GLIBC.get((major, older))
            if legacy is not None and arch in _LEGACY_MANYLINUX[legacy][1]:
                tags.append(f"{legacy}_{arch}")
    return [*tags, f"linux_{arch}"]


@functools.cache
def _platforms(platform: str) -> tuple[str, ...]:
    """Every platform tag a machine with ``platform`` installs, most specific first."""
    match = _VERSIONED.fullmatch(platform)
    if match is None:
        return (platform,)
    family, major, minor, arch = match[1], int(match[2]), int(match[3]), match[4]
    if family == "macosx":
        from packaging.tags import mac_platforms  # noqa: PLC0415 - lazy: loads platform machinery

        return tuple(mac_platforms((major, minor), arch))
    return tuple(_linux_platforms(family, major, minor, arch))


@functools.cache
def _tags(python: tuple[int, int], platform: str) -> frozenset[Tag]:
    from packaging.tags import compatible_tags, cpython_tags  # noqa: PLC0415 - lazy

    platforms = list(_platforms(platform))
    tags = set(cpython_tags(python, platforms=platforms))
    interpreter = f"cp{python[0]}{python[1]}"
    tags.update(compatible_tags(python, interpreter=interpreter, platforms=platforms))
    return frozenset(tags)


def platform_tags(platform: str) -> tuple[str, ...]:
    """The platform tags a machine with ``platform`` installs (for messages and tests)."""
    return _platforms(platform)


_MACHINES: Final = {"win32": "x86", "win_amd64": "AMD64", "win_arm64": "ARM64"}


@functools.cache
def _markers(python: tuple[int, int], patch: int | None, platform: str) -> tuple[tuple[str, str], ...]:
    if patch is None:
        running = sys.version_info
        patch = running.micro if (running.major, running.minor) == python else 0
    if platform.startswith("macosx"):
        system, sys_platform, os_name = "Darwin", "darwin", "posix"
        arch = platform.rsplit("_", 1)[-1]
        machine = "arm64" if arch in {"arm64", "universal2"} else "x86_64"
    elif platform.startswith("win"):
        system, sys_platform, os_name = "Windows", "win32", "nt"
        machine = _MACHINES.get(platform, "AMD64")
    elif platform == "any":
        system, sys_platform, os_name, machine = "Linux", "linux", "posix", "x86_64"
    else:
        system, sys_platform, os_name = "Linux", "linux", "posix"
        match = _VERSIONED.fullmatch(platform) or _PLAIN_LINUX.fullmatch(platform)
        machine = match[match.lastindex or 1] if match is not None else "x86_64"
    return (
        ("implementation_name", "cpython"),
        ("implementation_version", f"{python[0]}.{python[1]}.{patch}"),
        ("os_name", os_name),
        ("platform_machine", machine),
        ("platform_python_implementation", "CPython"),
        ("platform_release", ""),
        ("platform_system", system),
        ("platform_version", ""),
        ("python_full_version", f"{python[0]}.{python[1]}.{patch}"),
        ("python_version", f"{python[0]}.{python[1]}"),
        ("sys_platform", sys_platform),
        ("extra", ""),
    )
