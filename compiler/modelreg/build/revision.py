"""Compiling a revision of a catalog in git, the one way: the snapshot cached for the commit;
else, when the snapshot is only compared (a diff), one derived from a snapshot of a nearby
commit; else a full compile of the commit's objects.

A revision compiles to the same bytes as the work tree did when it was HEAD with a clean tree.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from modelreg.build.cache import SnapshotCache
from modelreg.build.derive import Base, from_unchecked_base
from modelreg.build.limits import Limits
from modelreg.build.outcome_store import outcomes_in_git
from modelreg.build.pipeline import checked_catalog, sealed
from modelreg.build.revision_derive import derive_revision, derive_snapshot
from modelreg.build.snapshot import Snapshot, derived_snapshot, snapshot_document
from modelreg.build.version import VersionInfo, version_at
from modelreg.catalog.revision import GitSource
from modelreg.errors import CatalogInvalid, StateError
from modelreg.gc_pause import collector_paused
from modelreg.git.registration_dates import SHALLOW_HINT, RegistrationDates
from modelreg.git.repository import CatalogRepository

# Cached commits tried as the base of a derived snapshot, the most recently used first.
_NEAREST_TRIED = 4


class RevisionCompiler:
    """Compiles revisions of one catalog. `cache` False leaves the snapshot cache and the
    per-file outcome cache alone (they are also off under MODELREG_CACHE=0); `allow_shallow`
    accepts a shallow clone, whose snapshots have no registration dates (`history: shallow`),
    where otherwise it raises StateError."""

    def __init__(self, repo: CatalogRepository, *, cache: bool = True, allow_shallow: bool = False) -> None:
        self.repo = repo
        self.dates = RegistrationDates(repo)
        self.allow_shallow = allow_shallow
        self._store = SnapshotCache.for_repository(repo) if cache else None
        self._outcomes = outcomes_in_git(repo.git.common_dir) if cache else None

    def version(self, commit: str) -> VersionInfo:
        """The version a snapshot of `commit` records; StateError for a shallow clone unless allowed."""
        version = version_at(self.repo, commit)
        if version.history == "shallow" and not self.allow_shallow:
            raise StateError(SHALLOW_HINT)
        return version

    def _cache(self, version: VersionInfo) -> SnapshotCache | None:
        # Only a snapshot with every registration date is kept: a shallow clone's would be taken
        # for the whole truth once the history is fetched.
        return self._store if version.history == "full" else None

    def is_cached(self, commit: str) -> bool:
        """Whether `commit` has a cached snapshot (without reading it)."""
        return self._store is not None and self._store.has(commit)

    def has_cached(self) -> bool:
        """Whether any commit of this catalog has a cached snapshot."""
        return self._store is not None and bool(self._store.commits())

    def snapshot(self, commit: str, *, strict: bool = False, limits: Limits | None = None) -> Snapshot:
        """The sealed snapshot of `commit`, with its warnings, as `compile --rev` writes it: cached,
        or compiled in full and then cached. Raises CatalogInvalid with every diagnostic, and
        LimitExceeded past `limits` (the defaults when None)."""
        limits = limits or Limits()
        where = f"{self.repo.display} at {commit[:12]}"
        version = self.version(commit)
        store = self._cache(version)
        hit = store.get(commit) if store is not None else None
        # Under --strict, warnings fail the compile: compile again to report them.
        if hit is not None and not (strict and hit.warnings):
            # A snapshot cached under other bounds is held to these.
            limits.check_models(hit.model_count(), where)
            limits.check_snapshot(hit.size(), where)
            return hit
        with collector_paused:
            snapshot = self._derived(store, commit, version, limits, where) if store is not None else None
            if snapshot is None or (strict and snapshot.warnings):
                check = checked_catalog(lambda: GitSource(self.repo, commit).read(defer=True), version, self.dates,
                                        strict=strict, limits=limits, where=where, outcomes=self._outcomes)
                snapshot = sealed(check, version, limits, where, spans=store is not None)
        if store is not None:
            store.put(commit, snapshot)
        return snapshot

    def _derived(self, store: SnapshotCache, commit: str, version: VersionInfo, limits: Limits,
                 where: str) -> Snapshot | None:
        # `commit`'s snapshot derived from the nearest cached one, when only model files differ
        # and they are valid (else a full compile, which says in full what is wrong).
        nearest = self._nearest_cached(store, commit)
        found = store.base(nearest) if nearest is not None else None
        if nearest is None or found is None:
            return None
        cached, verified = found
        try:
            return self._derived_from(cached, verified, nearest, commit, version, limits, where)
        finally:
            verified()  # no thread left hashing, whatever happened

    def _derived_from(self, cached: Snapshot, verified: Callable[[], bool], nearest: str, commit: str,
                      version: VersionInfo, limits: Limits, where: str) -> Snapshot | None:
        # The commit's files are checked while the base's bytes are hashed; the bytes are copied
        # only once they hold to their seal.
        index = cached.index
        if index is None or index.spans is None:
            return None
        base = Base(index, cached.warnings, index.records(cached.raw))
        try:
            derived = from_unchecked_base(lambda: derive_revision(self.repo, self.dates, base, nearest, commit,
                                                                   version), verified)
        except CatalogInvalid:
            return None
        if derived is None:
            return None
        limits.check_models(len(derived.index.entries), where)
        snapshot = derived_snapshot(cached.raw, index, derived)
        limits.check_snapshot(snapshot.size(), where)
        return snapshot

    def document(self, commit: str, *, dates: bool = True,
                 near: Sequence[tuple[str, dict[str, Any]]] = ()) -> dict[str, Any]:
        """The snapshot document of `commit` for comparing, not publishing: not sealed, cached or
        warned about. Cached when it can be; else derived from the document of a commit in `near`
        (commit, document) or from a cached nearby commit; else compiled in full. Without
        `dates`, every `registered_at` is left None where it is not already known (no pass over
        the history). Raises CatalogInvalid when the catalog is invalid at `commit`."""
        version = self.version(commit)
        store = self._cache(version)
        hit = store.get(commit) if store is not None else None
        if hit is not None:
            return hit.document
        known = self.dates if dates else None
        for base_commit, document in near:
            derived = derive_snapshot(self.repo, known, document, base_commit, commit, version)
            if derived is not None:
                return derived
        if store is not None and dates:
            nearest = self._nearest_cached(store, commit)
            cached = store.get(nearest) if nearest is not None else None
            if nearest is not None and cached is not None:
                derived = derive_snapshot(self.repo, self.dates, cached.document, nearest, commit, version)
                if derived is not None:
                    return derived
        with collector_paused:
            check = checked_catalog(lambda: GitSource(self.repo, commit).read(defer=True), version, known,
                                    warnings=False, outcomes=self._outcomes)
            return snapshot_document(check, version)

    def _nearest_cached(self, store: SnapshotCache, commit: str) -> str | None:
        best: tuple[int, str] | None = None
        for candidate in store.commits()[:_NEAREST_TRIED]:
            try:
                distance = len(self.repo.changed_files(candidate, commit))
            except StateError:  # a commit gone from the repository
                continue
            if best is None or distance < best[0]:
                best = (distance, candidate)
        return best[1] if best is not None else None
