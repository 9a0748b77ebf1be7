"""The directory that lets an op's interpreter import lzy and its requirements, and nothing else.

An op's module usually imports lzy (``from lzy.api.v1 import op``) and a call travelling by value
needs cloudpickle, but the op's environment must hold only what the op asked for. So the child
gets one more ``sys.path`` entry, *after* the environment's own: a directory of links to the
top-level modules of the ``lzy`` distribution and of its requirements, transitively. A version of
one of them that the op pins itself comes first and wins.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import importlib.util
import shutil
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from lzy.runtime._store import unwritable

__all__ = ["support_dir"]


def __dir__() -> list[str]:
    return __all__


_LOCK = threading.Lock()
_MADE: dict[Path, Path] = {}


def _closure(root: str) -> list[importlib.metadata.Distribution]:
    """``root``'s distribution and its requirements, transitively (markers of this interpreter,
    no extras)."""
    seen: dict[str, importlib.metadata.Distribution] = {}
    pending = [root]
    while pending:
        name = canonicalize_name(pending.pop())
        if name in seen:
            continue
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        seen[name] = dist
        for line in dist.requires or ():
            try:
                requirement = Requirement(line)
            except InvalidRequirement:
                continue
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                pending.append(requirement.name)
    return list(seen.values())


def _top_level_names(dist: importlib.metadata.Distribution) -> set[str]:
    text = dist.read_text("top_level.txt")
    if text:
        return {line.strip() for line in text.splitlines() if line.strip()}
    names: set[str] = set()
    for file in dist.files or ():
        parts = PurePosixPath(str(file)).parts
        if not parts or parts[0] in {"..", "__pycache__"} or parts[0].endswith((".dist-info", ".data")):
            continue
        first = parts[0]
        if len(parts) > 1:
            names.add(first)
        elif first.endswith((".py", ".so", ".pyd")):
            names.add(first.split(".", 1)[0])
    return names


def _metadata_dir(dist: importlib.metadata.Distribution) -> Path | None:
    """The distribution's ``.dist-info`` directory, so ``importlib.metadata`` finds it."""
    for file in dist.files or ():
        if str(file).endswith(".dist-info/METADATA"):
            folder = Path(str(dist.locate_file(file))).parent
            return folder if folder.is_dir() else None
    return None


def _locations(name: str) -> Iterator[Path]:
    """Where the top-level module ``name`` lives (its file, or its package's directories)."""
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return
    if spec is None:
        return
    if spec.submodule_search_locations:
        yield from (Path(p) for p in spec.submodule_search_locations if Path(p).is_dir())
    elif spec.origin and Path(spec.origin).is_file():
        yield Path(spec.origin)


def _entries() -> dict[str, Path]:
    """Link name -> target for lzy and its requirements."""
    entries: dict[str, Path] = {}
    for dist in _closure("lzy"):
        names = _top_level_names(dist)
        if canonicalize_name(str(dist.metadata["Name"])) == "lzy":
            names.add("lzy")  # an editable install lists no package files
        for name in sorted(names):
            for location in _locations(name):
                entries.setdefault(location.name, location)
        metadata = _metadata_dir(dist)
        if metadata is not None:
            entries.setdefault(metadata.name, metadata)
    if "lzy" not in entries:  # not installed as a distribution: a source checkout on sys.path
        entries.update((location.name, location) for location in _locations("lzy"))
    return entries


def support_dir(root: Path) -> Path:
    """The support directory under ``root`` (made once, then reused while it matches)."""
    with _LOCK:
        made = _MADE.get(root)
        if made is not None and made.is_dir():  # removed under this process: made again
            return made
        entries = _entries()
        digest = hashlib.sha256(
            "\n".join(f"{name}={target}" for name, target in sorted(entries.items())).encode()
        ).hexdigest()[:16]
        final = root / "support" / digest
        if not final.is_dir():
            try:
                final.parent.mkdir(parents=True, exist_ok=True)
                staging = Path(tempfile.mkdtemp(prefix=".tmp-", dir=final.parent))
            except OSError as error:
                raise unwritable(root, final.parent, error) from error
            for name, target in entries.items():
                _link(staging / name, target)
            try:
                staging.rename(final)
            except OSError:  # another process made it first: the same content
                shutil.rmtree(staging, ignore_errors=True)
        _MADE[root] = final
        return final


def _link(link: Path, target: Path) -> None:
    try:
        link.symlink_to(target, target_is_directory=target.is_dir())
    except OSError:  # no symlinks here (Windows without the privilege): copy
        with contextlib.suppress(OSError):
            if target.is_dir():
                shutil.copytree(target, link, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy2(target, link)
