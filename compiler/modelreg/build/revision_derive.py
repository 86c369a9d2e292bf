"""A snapshot of a commit derived from that of a nearby commit (`compile --rev`, `diff`), when
only model files differ between the two (`modelreg.build.derive`).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from modelreg.build.derive import Base, Derived, ModelChanges, derive
from modelreg.build.registration import derived_stamps
from modelreg.build.version import VersionInfo
from modelreg.catalog.paths import is_catalog_file, is_model_path
from modelreg.catalog.revision import GitSource, RevisionReader
from modelreg.git.registration_dates import RegistrationDates
from modelreg.git.repository import REGULAR_MODES, SYMLINK_MODE, CatalogRepository


def derive_snapshot(repo: CatalogRepository, dates: RegistrationDates | None, base: Mapping[str, Any],
                    base_commit: str, commit: str, version: VersionInfo) -> dict[str, Any] | None:
    """The snapshot document of `commit`, from the one of `base_commit`, when only model files
    differ; None when anything else changed (the tree, a provider) or when so much changed that a
    full compile is as quick. Raises CatalogInvalid when `commit`'s catalog is invalid.

    The result equals a full compile of `commit` at `version` (the tests hold it to that).
    Without `dates`, registration dates are left out (None), as a full compile without them
    leaves them.
    """
    derived = derive_revision(repo, dates, Base.of_document(base), base_commit, commit, version)
    return derived.document(base) if derived is not None else None


def derive_revision(repo: CatalogRepository, dates: RegistrationDates | None, base: Base, base_commit: str,
                    commit: str, version: VersionInfo) -> Derived | None:
    """`derive_snapshot` from any base, with the warnings of `commit` derived from the base's
    (when it has them)."""
    changes = revision_changes(repo, base_commit, commit)
    if changes is None:
        return None

    def stamps(present: Collection[str]) -> Mapping[str, str | None]:
        if dates is None or version.history != "full":
            return {}
        return derived_stamps(dates, base.index.version, base.dates(), base_commit, commit, present)
    return derive(RevisionReader(GitSource(repo, commit)), base, changes, version, stamps)


def revision_changes(repo: CatalogRepository, base_commit: str, commit: str) -> ModelChanges | None:
    """The model files that differ between two commits; None when any other catalog file does
    (or a symlink is involved: those follow the readers' own rules)."""
    found = ModelChanges()
    for status, rel, old_mode, new_mode in repo.changed_files(base_commit, commit):
        if SYMLINK_MODE in (old_mode, new_mode):
            return None
        if not is_catalog_file(rel):
            continue  # not read by the compiler
        if not is_model_path(rel):
            return None
        if status == "D":
            found.removed.add(rel)
        elif new_mode in REGULAR_MODES:
            found.changed.add(rel)
        else:
            return None
    return found
