"""A snapshot derived from an earlier one of the same catalog, when only model files differ between
them: the changed files and the models that depend on them are checked (as a full compile would
check them), their records replaced, and only the pools they touch reordered. The earlier one is
a nearby revision's (`compile --rev`, `diff`) or the work tree's last compile.
"""

from __future__ import annotations

from bisect import insort
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from modelreg.build.registration import dated_record, derived_stamps
from modelreg.build.version import VersionInfo
from modelreg.catalog.files import CatalogFiles, FileReader
from modelreg.catalog.paths import CAPABILITIES_FILE, is_catalog_file, is_model_path, model_name
from modelreg.catalog.revision import GitSource, RevisionReader
from modelreg.check.catalog_check import CatalogCheck
from modelreg.check.change_check import check_change
from modelreg.check.cross_file import empty_pool_warnings
from modelreg.diagnostics import Diagnostic
from modelreg.errors import CatalogInvalid
from modelreg.git.registration_dates import RegistrationDates
from modelreg.git.repository import REGULAR_MODES, SYMLINK_MODE, CatalogRepository
from modelreg.models import Model

# Past this many changed files (or a quarter of the models), a full compile is as quick.
_MOST_CHANGED = 200

# `registered_at` of the files present after the change, from the base's records and what changed.
Stamps = Callable[[Collection[str]], Mapping[str, str | None]]


@dataclass
class ModelChanges:
    """Model files added or modified (`changed`) and removed (`removed`), by catalog path."""

    changed: set[str] = field(default_factory=set)
    removed: set[str] = field(default_factory=set)


@dataclass
class Derived:
    """A derived snapshot document (without `$digest`) and its warnings, in a full compile's order."""

    document: dict[str, Any]
    warnings: list[Diagnostic]


def derive_snapshot(repo: CatalogRepository, dates: RegistrationDates | None, base: Mapping[str, Any],
                    base_commit: str, commit: str, version: VersionInfo) -> dict[str, Any] | None:
    """The snapshot document of `commit`, from the one of `base_commit`, when only model files
    differ; None when anything else changed (the tree, a provider) or when so much changed that a
    full compile is as quick. Raises CatalogInvalid when `commit`'s catalog is invalid.

    The result equals a full compile of `commit` at `version` (the tests hold it to that).
    Without `dates`, registration dates are left out (None), as a full compile without them
    leaves them.
    """
    derived = derive_revision(repo, dates, base, None, base_commit, commit, version)
    return derived.document if derived is not None else None


def derive_revision(repo: CatalogRepository, dates: RegistrationDates | None, base: Mapping[str, Any],
                    base_warnings: Sequence[Diagnostic] | None, base_commit: str, commit: str,
                    version: VersionInfo) -> Derived | None:
    """`derive_snapshot`, with the warnings of `commit` derived from `base_warnings` (the base
    snapshot's; None when they are not wanted)."""
    changes = revision_changes(repo, base_commit, commit)
    if changes is None:
        return None

    def stamps(present: Collection[str]) -> Mapping[str, str | None]:
        if dates is None or version.history != "full":
            return {}
        return derived_stamps(dates, base, base_commit, commit, present)
    return derive(RevisionReader(GitSource(repo, commit)), base, base_warnings, changes, version, stamps)


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


def derive(reader: FileReader, base: Mapping[str, Any], base_warnings: Sequence[Diagnostic] | None,
           changes: ModelChanges, version: VersionInfo, stamps: Stamps) -> Derived | None:
    """The snapshot of the catalog `reader` reads, derived from `base` (the snapshot document of
    the same catalog before `changes`), at `version`, dated by `stamps`. None when a full
    compile is as quick, or is needed to say what is wrong; CatalogInvalid when the changed
    files (or the models that depend on them) are invalid.

    A model file's verdict depends on its own content, the tree and the providers (unchanged
    here), and on the models along its chain of replacements: every model whose chain passes
    through a changed or removed one is checked again with it. Warnings of the files not checked
    again stand; the empty-pool warnings are worked out again from the new pools.
    """
    records: dict[str, dict[str, Any]] = dict(base["models"])
    if len(changes.changed) + len(changes.removed) > max(_MOST_CHANGED, len(records) // 4):
        return None
    by_source = {rec["source"]: name for name, rec in records.items()}
    folded = {name.lower(): name for name in records}
    gone = {by_source[rel] for rel in changes.removed | changes.changed if rel in by_source}
    for rel in changes.changed - by_source.keys():
        # A new file whose name another model has but for case: a full compile names both files.
        if model_name(rel).lower() in folded:
            return None
    dependents = {records[name]["source"] for name in _replacing(records, gone) if name not in gone}
    focus = changes.changed | dependents
    check = check_change(reader, focus)
    if not check.ok():
        raise CatalogInvalid(check.diagnostics)
    affected: set[str] = set()
    for name in gone:
        affected.update(records.pop(name)["pools"])
    entering: dict[str, list[str]] = {}
    for rel in changes.changed:
        model = check.models[model_name(rel)]
        records[model.name] = model.to_snapshot()
        affected.update(model.pools)
        for path in model.pools:
            entering.setdefault(path, []).append(model.name)
    present = {rec["source"] for rec in records.values()}
    dated = stamps(present)
    # Unchanged records are shared with the base document (documents are read-only).
    models = {name: dated_record(rec, dated.get(rec["source"])) for name, rec in sorted(records.items())}
    pools: dict[str, list[str]] = dict(base["pools"])
    for path in affected:
        # Every other member kept its record, so their order in the base pool stands; the changed
        # models are placed into it by the compiler's own pool order, without re-sorting the pool.
        order = [name for name in base["pools"][path] if name not in gone]
        for name in entering.get(path, []):
            insort(order, name, key=lambda member: _pool_key(models[member]))
        pools[path] = order
    document = {key: value for key, value in base.items() if key != "$digest"}
    document.update(version=version.to_snapshot(), models=models, pools=pools)
    if base_warnings is None:
        return Derived(document, [])
    warnings = _warnings(reader, check, base_warnings, focus | changes.removed, pools)
    return Derived(document, warnings) if warnings is not None else None


def _replacing(records: Mapping[str, Mapping[str, Any]], names: Collection[str]) -> set[str]:
    # Every model whose chain of replacements passes through one of `names` (names match ignoring
    # case, as the check's lookups do).
    named_by: dict[str, list[str]] = {}
    for name, rec in records.items():
        replacement = rec["lifecycle"].get("replacement")
        if isinstance(replacement, str):
            named_by.setdefault(replacement.lower(), []).append(name)
    found: set[str] = set()
    pending = [name.lower() for name in names]
    while pending:
        for name in named_by.get(pending.pop(), ()):
            if name not in found:
                found.add(name)
                pending.append(name.lower())
    return found


def _warnings(reader: FileReader, check: CatalogCheck, base_warnings: Sequence[Diagnostic], checked: Collection[str],
              pools: Mapping[str, list[str]]) -> list[Diagnostic] | None:
    # The base's warnings but those of the files checked again and the empty pools; those files'
    # own warnings now; the empty pools of the new pools. None without the tree's document.
    tree_doc = check.documents.get(CAPABILITIES_FILE)
    if tree_doc is None or check.tree is None:
        return None
    files = CatalogFiles(reader.display_root)
    shown = {files.display(rel) for rel in checked}
    kept = [d for d in base_warnings if d.file not in shown and d.code != "empty-pool"]
    fresh = [d for d in check.warnings if d.file in shown]
    return sorted({*kept, *fresh, *empty_pool_warnings(tree_doc, check.tree, pools)})


def _pool_key(record: Mapping[str, Any]) -> tuple[int, int, str]:
    # What the pool order reads (status, priority, name), through the compiler's own Model.pool_key.
    return Model(name=record["name"], provider=record["provider"], capabilities=[], lifecycle=record["lifecycle"],
                 priority=record["priority"]).pool_key()
