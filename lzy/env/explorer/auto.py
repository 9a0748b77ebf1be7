""":class:`AutoEnvExplorer`: find what an op's code uses, pin it, and check the index has it.

An exploration has four parts, each in a module of its own:

1. **Installed distributions** (``lzy.env.explorer._installed``): what is on ``sys.path``,
   which modules each distribution owns, what it requires and where it came from.
2. **The walk** (``lzy.env.explorer._walk``): from the namespace through the local code it
   uses, recording the owner of each module reached.
3. **The index check** (``lzy.env.explorer._index``, pages in
   ``lzy.env.explorer._pages``): does an index have a file of the installed version that
   the target (``lzy.env.explorer._target``) installs, and if not, why.
4. **The decisions** (``lzy.env.explorer._decide``): pin, ship or refuse, with a reason.

This module ties them together. Walk results and the installed-distribution map are cached per
process; index answers are cached in process and on disk, under ``$LZY_CACHE_DIR`` (by default
``lzy/simple`` in the user's cache directory).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING, ClassVar, Final

from lzy.env._base import redact_url
from lzy.env.explorer.base import EnvExplorer, Exploration
from lzy.exceptions import PackageIndexError

if TYPE_CHECKING:
    from lzy.env.explorer._decide import Verdict
    from lzy.env.explorer._installed import Dist
    from lzy.env.explorer._pages import ProjectPage, VersionFiles

# The parts of an exploration are imported where an explorer is made or explores: importing
# lzy's API (AutoPythonEnv's default explorer is this class) loads none of them.

__all__ = ["DEFAULT_INDEX_URL", "DEFAULT_TARGET_PLATFORM", "AutoEnvExplorer"]


def __dir__() -> list[str]:
    return __all__


#: The index queried when none is given: PyPI's simple API.
DEFAULT_INDEX_URL: Final = "https://pypi.org/simple"
#: The platform the remote side installs wheels for (a ``packaging.tags`` platform tag).
DEFAULT_TARGET_PLATFORM: Final = "manylinux_2_28_x86_64"


class AutoEnvExplorer(EnvExplorer):
    """Explores an op's code: pins installed distributions the index has, ships local code.

    One instance serves many explorations; it keeps index answers in process, and on disk
    under ``$LZY_CACHE_DIR`` (default: the user's cache directory, ``lzy/simple`` in it).
    """

    #: Seconds to wait to connect to an index, and between two reads of its answer.
    index_timeout: ClassVar[float] = 10.0
    #: Seconds one index request may take in all, its answer read, however slowly the index
    #: sends it.
    index_deadline: ClassVar[float] = 60.0
    #: How many times a failed index request (timeout, connection error, 429, 5xx) is retried.
    index_retries: ClassVar[int] = 2
    #: Seconds before the first retry of an index request; doubled before each next one.
    index_backoff: ClassVar[float] = 0.2
    #: Seconds a cached index page that lacks the pinned version is trusted before it is
    #: revalidated (a page that has it is trusted for good: index files do not change).
    index_cache_ttl: ClassVar[float] = 600.0
    #: How many index requests run at once.
    max_workers: ClassVar[int] = 32

    def __init__(
        self,
        *,
        pypi_index_url: str | None = DEFAULT_INDEX_URL,
        extra_index_urls: Sequence[str] = (),
        exclude_packages: Collection[str] = (),
        python_version: str | None = None,
        target_platform: str = DEFAULT_TARGET_PLATFORM,
        raise_on_binaries: bool = True,
        treat_editables_as_locals: bool = True,
    ) -> None:
        """Close the explorer over its settings.

        ``pypi_index_url=None`` queries no index: every installed distribution counts as
        available. ``python_version`` (``"3.11"``: some 3.11.z; ``"3.11.7"``: exactly that)
        defaults to the running interpreter's ``major.minor``. ``target_platform`` is a wheel
        platform tag; the legacy manylinux names (``manylinux2014_x86_64``) are accepted.
        """
        from lzy.env.explorer._decide import Decider  # noqa: PLC0415 - see the imports
        from lzy.env.explorer._index import IndexClient, IndexSettings, default_cache_dir  # noqa: PLC0415
        from lzy.env.explorer._pages import canonical_name  # noqa: PLC0415
        from lzy.env.explorer._target import Target, check_platform, check_python  # noqa: PLC0415

        owner = type(self).__name__
        python, patch = check_python(owner, python_version)
        platform = check_platform(owner, target_platform)
        #: The index checked first, or ``None`` to check none.
        self.pypi_index_url = pypi_index_url
        #: Indexes checked, in order, when :attr:`pypi_index_url` lacks a distribution.
        self.extra_index_urls = tuple(extra_index_urls)
        #: Canonical names of distributions left out (and not walked through).
        self.exclude_packages = frozenset(canonical_name(n) for n in exclude_packages)
        #: The target Python version as given, or ``None`` for the running interpreter.
        self.python_version = python_version
        #: The target platform tag (legacy manylinux names translated to PEP 600 ones).
        self.target_platform = platform
        #: Whether compiled code that cannot be installed from the index is an error.
        self.raise_on_binaries = raise_on_binaries
        #: Whether editable installs are shipped as local code.
        self.treat_editables_as_locals = treat_editables_as_locals
        self._target = Target(python=python, patch=patch, platform=platform)
        self._markers = self._target.markers()
        # Usable files are remembered per target: Python (as given) and platform.
        self._scope = f"cp{self._target.python_text}-{platform}"
        self._available: dict[tuple[str, str, bool], Verdict] = {}
        self._decider = Decider(
            exclude_packages=self.exclude_packages,
            raise_on_binaries=raise_on_binaries,
            treat_editables_as_locals=treat_editables_as_locals,
            target=self._target,
            markers=self._markers,
            indexes=self._indexes(),
            older_fitting=self._older_fitting,
        )
        self._client = IndexClient(
            IndexSettings(
                timeout=self.index_timeout,
                deadline=self.index_deadline,
                retries=self.index_retries,
                backoff=self.index_backoff,
                page_ttl=self.index_cache_ttl,
                cache_dir=default_cache_dir(),
            )
        )

    def __repr__(self) -> str:
        index = None if self.pypi_index_url is None else redact_url(self.pypi_index_url)
        return (
            f"{type(self).__name__}(pypi_index_url={index!r},"
            f" extra_index_urls={tuple(redact_url(u) for u in self.extra_index_urls)!r},"
            f" python={self._target.python_text}, target_platform={self.target_platform!r})"
        )

    def close(self) -> None:
        """Close the index connections (the explorer stays usable and reopens them)."""
        self._client.close()

    @property
    def requests_sent(self) -> int:
        """How many HTTP requests this explorer sent to indexes so far."""
        return self._client.requests_sent

    def explore(self, namespace: Mapping[str, object]) -> Exploration:
        """Explore ``namespace`` and the modules it uses, transitively.

        Local code is followed through its modules (their globals, and the imports in their
        source); an installed distribution through its declared requirements (``Requires-Dist``
        whose markers hold on the target, extras left out, when this environment satisfies
        them), never through its modules, so the result does not depend on what the program
        imported before.

        A distribution the index has for the target becomes a ``pypi_packages`` pin: the first
        index, in order, with files of the installed version decides, as installers take the
        version from there. One it lacks is shipped as local code (with its ``.dist-info``) with a
        :class:`~lzy.exceptions.LzyWarning` when it is pure Python; with compiled code it is an
        :class:`~lzy.exceptions.ExplorationError` when ``raise_on_binaries`` (else shipped with
        a warning). So is one installed from a local archive, a directory or a VCS URL
        (PEP 610): the index's file of the same name and version may be other code. A
        distribution whose ``Requires-Python`` excludes the target Python is an error, which
        names a version on the index that fits, if there is one. An index that cannot be
        reached, or is not the root of a simple repository, raises
        :class:`~lzy.exceptions.PackageIndexError`.
        """
        from lzy.env.explorer import _memo  # noqa: PLC0415 - see the imports
        from lzy.env.explorer._decide import Outcome  # noqa: PLC0415
        from lzy.env.explorer._installed import installed_distributions  # noqa: PLC0415
        from lzy.env.explorer._walk import walk  # noqa: PLC0415

        if self.pypi_index_url is not None:
            self._client.prepare(self.pypi_index_url, clients=self.max_workers // 2)
        installed = installed_distributions()
        found = walk(namespace, installed, self.exclude_packages)
        outcome = Outcome()
        decider = self._decider
        decider.excluded(found, outcome)
        needed, metas = decider.needed(found, installed, outcome)
        checked = decider.classify(needed, found, outcome)
        verdicts = self._check(checked)
        decider.decide_checked(
            checked, verdicts=verdicts, metas=metas, installed=installed, found=found, outcome=outcome
        )
        decider.decide_local(found, installed, outcome)
        decider.check_requirements(installed, outcome)
        _memo.save()
        return outcome.exploration()

    # -- index ----------------------------------------------------------------------------

    def _older_fitting(self, dist: Dist) -> str | None:
        """The newest version before the installed one the index has for the target."""
        for index in self._indexes():
            try:
                page = self._client.lookup(index, dist.name, settled=lambda _: False)
            except PackageIndexError:
                return None
            if page is not None and page.found:
                older = page.older_fitting(dist.name, dist.version, self._target, sdist=not dist.compiled)
                if older is not None:
                    return older
        return None

    def _indexes(self) -> tuple[str, ...]:
        if self.pypi_index_url is None:
            return ()
        return (self.pypi_index_url, *self.extra_index_urls)

    def _check(self, dists: Mapping[str, tuple[Dist, str]]) -> dict[str, Verdict]:
        """Ask the indexes about every distribution, concurrently, cache first; each index's
        root is validated once, alongside."""
        from lzy.env.explorer._decide import Verdict  # noqa: PLC0415 - see the imports
        from lzy.env.explorer._index import IndexRootError  # noqa: PLC0415

        if self.pypi_index_url is None:
            return {name: Verdict(index=None, filename="(installed)") for name in dists}
        verdicts: dict[str, Verdict] = {}
        pending: list[Dist] = []
        for name, (dist, _) in dists.items():
            verdict = self._lookup(dist, offline=True)
            if verdict is None:
                pending.append(dist)
            else:
                verdicts[name] = verdict
        if not pending:
            return verdicts
        workers = max(1, min(self.max_workers, len(pending) + len(self._indexes())))
        import concurrent.futures  # noqa: PLC0415 - only when something is not cached

        executor = concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix="lzy-index")
        try:
            roots = [executor.submit(self._client.validate, index) for index in self._indexes()]
            futures = {executor.submit(self._lookup, dist, offline=False): dist for dist in pending}
            failure: BaseException | None = None
            for future in concurrent.futures.as_completed(futures):
                error = future.exception()
                if error is not None:
                    failure = failure or error
                    continue
                verdict = future.result()
                if verdict is not None:
                    verdicts[futures[future].name] = verdict
            for root in roots:
                error = root.exception()
                # An index that is no simple repository explains any other failure; one that
                # cannot be reached is better told by a lookup, which names the package.
                if error is not None and (failure is None or isinstance(error, IndexRootError)):
                    raise error
            if failure is not None:
                raise failure
        finally:
            executor.shutdown(wait=False, cancel_futures=True)
            settled = {(v.index, name) for name, v in verdicts.items() if v.index is not None and v.filename}
            self._client.save(settled)
        return verdicts

    def _lookup(self, dist: Dist, *, offline: bool) -> Verdict | None:
        """The verdict of the indexes, in order, on ``dist``'s installed version; ``None`` when
        ``offline`` and what decides is not cached.

        Installers take a version from the first index that has files of it (uv told so by
        the isolated runtime; pip finds the same files there): that index decides whether the
        target can install it, whatever later indexes hold.
        """
        from lzy.env.explorer._decide import Verdict  # noqa: PLC0415 - see the imports

        pure = not dist.compiled
        key = (dist.name, dist.version, pure)
        known = self._available.get(key)
        if known is not None:
            return known
        remembered = f"{dist.name}=={dist.version}{'' if pure else ' compiled'}"
        read: list[tuple[ProjectPage, VersionFiles]] = []

        def files_of(page: ProjectPage) -> VersionFiles:
            """The page's files of this version, read once however often it is asked."""
            if not read or read[-1][0] is not page:
                read.append((page, page.version_files(dist.name, dist.version, self._target, sdist=pure)))
            return read[-1][1]

        def settled(page: ProjectPage) -> bool:
            return files_of(page).usable is not None

        listed = False
        indexes = self._indexes()
        for position, index in enumerate(indexes):
            # A usable file found before on this index: no earlier index had the version.
            found = self._client.usable(index, self._scope, remembered)
            if found is not None:
                verdict = Verdict(index=index, filename=found[0], patch_hint=found[1])
                self._available[key] = verdict
                return verdict
            page = self._client.lookup(
                index, dist.name, settled=settled, offline=offline, version=dist.version
            )
            if page is None:
                return None
            files = files_of(page)
            if files.usable is not None:
                # Index files never change once uploaded, so a usable file stays usable.
                verdict = Verdict(index=index, filename=files.usable, patch_hint=files.patch_hint)
                self._available[key] = verdict
                self._client.remember(index, self._scope, remembered, files.usable, files.patch_hint)
                return verdict
            listed = listed or page.found
            if files.files:
                later = self._usable_later(dist, indexes[position + 1 :], offline=offline)
                return Verdict(
                    index=None,
                    filename=None,
                    why=files.why,
                    python_refused=files.python_refused,
                    has_version=True,
                    listed=True,
                    decided_by=index,
                    usable_later=later,
                )
        return Verdict(index=None, filename=None, listed=listed)

    def _usable_later(self, dist: Dist, indexes: Sequence[str], *, offline: bool) -> str | None:
        """The first of ``indexes`` with a usable file of ``dist``'s version (for a message:
        installers do not take it from there), as far as it can be known."""
        for index in indexes:
            try:
                page = self._client.lookup(
                    index, dist.name, settled=lambda _: False, offline=offline, version=dist.version
                )
            except PackageIndexError:
                return None
            if page is None:
                return None
            if page.version_files(dist.name, dist.version, self._target, sdist=not dist.compiled).usable:
                return index
        return None
