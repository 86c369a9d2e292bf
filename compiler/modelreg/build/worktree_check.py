"""`validate` of a catalog directory, the check pre-commit runs on every commit: when only model
files changed since the last check (or compile) of a valid catalog, the verdict is derived from
it, checking the changed files and the models that depend on them; otherwise every file is checked.
Either way the diagnostics are those of a full check. No git: the work tree alone is read.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from modelreg.build.derive import Base, Stamps
from modelreg.build.fingerprint import compiler_fingerprint
from modelreg.build.outcome_store import outcomes_for, worktree_check_memo_for, worktree_memo_for
from modelreg.build.snapshot_index import SnapshotIndex
from modelreg.build.version import VersionInfo
from modelreg.build.worktree_derive import derive_held
from modelreg.build.worktree_memo import WorktreeMemo, listed_digests
from modelreg.catalog.directory import DirectorySource
from modelreg.check.catalog_check import check_catalog
from modelreg.check.outcome_cache import digest
from modelreg.diagnostics import Diagnostic, Findings

# A check's memo is not a snapshot's: no version, and dates are not its business.
_UNVERSIONED = VersionInfo()


@dataclass
class Verdict(Findings):
    """What checking a catalog found: every diagnostic, and how many files were checked."""

    diagnostics: list[Diagnostic] = field(default_factory=list)
    files: int = 0


def check_worktree(root: str | os.PathLike[str], display_root: str, *, cache: bool = True) -> Verdict:
    """The verdict on the catalog directory `root` (shown as `display_root`), as a full check
    gives it. `cache` False checks every file, without reading or writing any cache."""
    source = DirectorySource(root, display_root)
    memo = worktree_check_memo_for(root) if cache else None
    compiled = worktree_memo_for(root) if cache else None
    listing = memo.listing(source) if memo is not None else None
    if listing is not None and compiled is not None and not any(listing.digests.values()):
        # Never checked before: the last compile's stats vouch for the files instead.
        listing = compiled.listing(source) or listing
    if memo is not None and listing is not None and not (memo.empty and (compiled is None or compiled.empty)):
        digests = listed_digests(source, listing)
        if digests is not None:
            key = WorktreeMemo.key(compiler_fingerprint(), display_root, _UNVERSIONED, digests)
            warnings = memo.checked(key)
            if warnings is not None:
                return Verdict(warnings, len(digests))
            # From this check's last verdict, or else from the last compile's.
            for earlier in (memo, compiled):
                previous = earlier.previous_check() if earlier is not None else None
                if previous is None:
                    continue
                index, base_warnings, base_digests = previous
                base = Base(index, base_warnings, _no_record)
                derived = derive_held(source, base, base_digests, digests, _UNVERSIONED, _kept_dates(base))
                if derived is not None:
                    memo.put_check(key, derived.index, derived.warnings, listing, digests)
                    return Verdict(derived.warnings, len(digests))
                break
    files = source.read()
    check = check_catalog(files, outcomes=outcomes_for(root) if cache else None)
    verdict = Verdict(check.diagnostics, len(check.documents))
    if memo is not None and listing is not None and check.ok() and not files.diagnostics and not files.oversized \
            and set(files.contents) == set(listing.signatures):
        from modelreg.build.snapshot import snapshot_document

        known = {rel: digest(raw) for rel, raw in files.contents.items()}
        memo.put_check(WorktreeMemo.key(compiler_fingerprint(), display_root, _UNVERSIONED, known),
                       SnapshotIndex.of_document(snapshot_document(check, _UNVERSIONED)), check.warnings, listing,
                       known)
    return verdict


def _kept_dates(base: Base) -> Stamps:
    # Whatever dates the base's records hold, so that no record a change leaves is dated anew.
    stamps = base.dates()

    def stamped(present: Collection[str]) -> Mapping[str, str | None]:
        return stamps
    return stamped


def _no_record(name: str) -> dict[str, Any]:
    # A check's memo keeps no records; with the base's own dates, a derivation asks for none.
    raise LookupError(f"a check's memo holds no record of {name}")
