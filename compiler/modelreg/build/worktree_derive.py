"""The work tree's snapshot derived from its last compile (`modelreg.build.worktree_memo`) when
only model files changed since: what a compile after editing a model file costs.

Everything the derivation reads is held to the content digests the new memo key is made of: a
file that changes again while it runs makes it give up, and the compile reads everything afresh.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import TYPE_CHECKING

from modelreg.build.derive import Base, Derived, ModelChanges, Stamps, derive, from_unchecked_base
from modelreg.build.registration import worktree_stamps
from modelreg.build.snapshot import Snapshot, derived_snapshot
from modelreg.build.version import VersionInfo
from modelreg.build.worktree_memo import WorktreeMemo
from modelreg.catalog.directory import DirectorySource, WorktreeReader
from modelreg.catalog.files import CatalogFiles
from modelreg.catalog.paths import is_model_path
from modelreg.check.outcome_cache import digest
from modelreg.errors import CatalogInvalid

if TYPE_CHECKING:
    from modelreg.git.registration_dates import RegistrationDates


class _HeldReader(WorktreeReader):
    """The work tree's files, each of which must still have the digest it was listed with."""

    def __init__(self, source: DirectorySource, digests: Mapping[str, bytes]) -> None:
        super().__init__(source.root, source.display_root)
        self._digests = digests
        self.moved = False

    def read(self, rels: Collection[str]) -> CatalogFiles:
        files = super().read(rels)
        if files.diagnostics or any(self._digests.get(rel) != digest(raw) for rel, raw in files.contents.items()):
            self.moved = True
        return files


def derive_worktree(memo: WorktreeMemo, source: DirectorySource, version: VersionInfo,
                    dates: RegistrationDates | None, digests: Mapping[str, bytes]) -> Snapshot | None:
    """The snapshot of the work tree whose files have `digests`, at `version`, derived from the
    memo's last one; None when it cannot be (no memo, a change to anything but model files, too
    many changes, an invalid file: a full compile says what is wrong, in full)."""
    previous = memo.previous()
    if previous is None:
        return None
    snapshot, base_digests, verified = previous
    try:
        return _derived(snapshot, base_digests, verified, source, version, dates, digests)
    finally:
        verified()  # no thread left hashing, whatever happened


def _derived(snapshot: Snapshot, base_digests: Mapping[str, bytes], verified: Callable[[], bool],
             source: DirectorySource, version: VersionInfo, dates: RegistrationDates | None,
             digests: Mapping[str, bytes]) -> Snapshot | None:
    # The changed files are checked while the base's bytes are hashed; they are copied only once
    # they hold to their seal.
    index = snapshot.index
    assert index is not None  # `previous` gives only a snapshot with its index
    base = Base(index, snapshot.warnings, index.records(snapshot.raw))
    commit = version.commit

    def stamps(present: Collection[str]) -> Mapping[str, str | None]:
        if dates is None or version.history != "full" or commit is None:
            return {}
        return worktree_stamps(dates, index.version, base.dates(), commit, present)
    derived = from_unchecked_base(lambda: derive_held(source, base, base_digests, digests, version, stamps), verified)
    return derived_snapshot(snapshot.raw, index, derived) if derived is not None else None


def derive_held(source: DirectorySource, base: Base, base_digests: Mapping[str, bytes], digests: Mapping[str, bytes],
                version: VersionInfo, stamps: Stamps) -> Derived | None:
    """`derive` for the work tree whose files have `digests`, from `base` (of files with
    `base_digests`), holding every file it reads to its digest; None when it cannot derive, or
    when the catalog is invalid now (a full check reports it in full)."""
    changes = ModelChanges()
    for rel, now in digests.items():
        if base_digests.get(rel) != now:
            if not is_model_path(rel):
                return None
            changes.changed.add(rel)
    for rel in base_digests.keys() - digests.keys():
        if not is_model_path(rel):
            return None
        changes.removed.add(rel)
    reader = _HeldReader(source, digests)
    try:
        derived = derive(reader, base, changes, version, stamps)
    except CatalogInvalid:
        return None
    return None if reader.moved else derived
