"""A snapshot derived from an earlier one of the same catalog, when only model files differ between
them: the changed files and the models that depend on them are checked (as a full compile would
check them), their records replaced, and only the pools they touch reordered. The earlier one is
a nearby revision's (`compile --rev`, `diff`: `modelreg.build.revision_derive`) or the work tree's
last compile (`modelreg.build.worktree_derive`).
"""

from __future__ import annotations

from bisect import insort
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from modelreg.build.snapshot_index import Entry, SnapshotIndex
from modelreg.build.version import VersionInfo
from modelreg.catalog.files import CatalogFiles, FileReader
from modelreg.catalog.paths import CAPABILITIES_FILE, model_name
from modelreg.check.catalog_check import CatalogCheck
from modelreg.check.change_check import check_change
from modelreg.check.cross_file import empty_pool_warnings
from modelreg.diagnostics import Diagnostic
from modelreg.errors import CatalogInvalid

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
class Base:
    """The snapshot a derivation starts from: its index, its warnings (None when they are not
    wanted) and its records, each fetched only when the derivation must change it."""

    index: SnapshotIndex
    warnings: Sequence[Diagnostic] | None
    record: Callable[[str], dict[str, Any]]

    @classmethod
    def of_document(cls, document: Mapping[str, Any], warnings: Sequence[Diagnostic] | None = None) -> Base:
        """The base that is a snapshot document at hand."""
        return cls(SnapshotIndex.of_document(document), warnings, document["models"].__getitem__)

    def dates(self) -> dict[str, str | None]:
        """`registered_at` of each of the base's files."""
        return {entry.source: entry.registered_at for entry in self.index.entries.values()}


@dataclass
class Derived:
    """A derived snapshot: its index (no byte positions yet), the records that differ from the
    base's (new, changed, dated anew) and its warnings, in a full compile's order."""

    index: SnapshotIndex
    records: dict[str, dict[str, Any]]
    warnings: list[Diagnostic]

    def document(self, base: Mapping[str, Any]) -> dict[str, Any]:
        """The whole document, from the base's: the records it keeps are the base's own objects
        (documents are read-only)."""
        kept = base["models"]
        models = {name: self.records[name] if name in self.records else kept[name] for name in self.index.entries}
        document = {key: value for key, value in base.items() if key != "$digest"}
        document.update(version=self.index.version, models=models, pools=self.index.pools)
        return document


def derive(reader: FileReader, base: Base, changes: ModelChanges, version: VersionInfo,
           stamps: Stamps) -> Derived | None:
    """The snapshot of the catalog `reader` reads, derived from `base` (a snapshot of the same
    catalog before `changes`), at `version`, dated by `stamps`. None when a full compile is as
    quick, or is needed to say what is wrong; CatalogInvalid when the changed files (or the
    models that depend on them) are invalid.

    A model file's verdict depends on its own content, the tree and the providers (unchanged
    here), and on the models along its chain of replacements: every model whose chain passes
    through a changed or removed one is checked again with it. Warnings of the files not checked
    again stand; the empty-pool warnings are worked out again from the new pools.
    """
    entries: dict[str, Entry] = dict(base.index.entries)
    if len(changes.changed) + len(changes.removed) > max(_MOST_CHANGED, len(entries) // 4):
        return None
    by_source = {entry.source: name for name, entry in entries.items()}
    folded = {name.lower(): name for name in entries}
    gone = {by_source[rel] for rel in changes.removed | changes.changed if rel in by_source}
    for rel in changes.changed - by_source.keys():
        # A new file whose name another model has but for case: a full compile names both files.
        if model_name(rel).lower() in folded:
            return None
    dependents = {entries[name].source for name in _replacing(entries, gone) if name not in gone}
    focus = changes.changed | dependents
    check = check_change(reader, focus)
    if not check.ok():
        raise CatalogInvalid(check.diagnostics)
    affected: set[str] = set()
    for name in gone:
        affected.update(entries.pop(name).pools)
    records: dict[str, dict[str, Any]] = {}
    entering: dict[str, list[str]] = {}
    for rel in changes.changed:
        model = check.models[model_name(rel)]
        records[model.name] = model.to_snapshot()
        entries[model.name] = Entry.of(records[model.name])
        affected.update(model.pools)
        for path in model.pools:
            entering.setdefault(path, []).append(model.name)
    dated = stamps({entry.source for entry in entries.values()})
    for name, entry in entries.items():
        stamp = dated.get(entry.source)
        if entry.registered_at != stamp:
            # Only now is a kept record fetched: its date is all that changes.
            records[name] = {**(records[name] if name in records else base.record(name)), "registered_at": stamp}
            entries[name] = entry._replace(registered_at=stamp)
    pools: dict[str, list[str]] = dict(base.index.pools)
    for path in affected:
        # Every other member kept its record, so their order in the base pool stands; the changed
        # models are placed into it by the compiler's own pool order, without re-sorting the pool.
        order = [name for name in base.index.pools[path] if name not in gone]
        for name in entering.get(path, []):
            insort(order, name, key=lambda member: entries[member].pool_key(member))
        pools[path] = order
    index = SnapshotIndex(dict(sorted(entries.items())), pools, version.to_snapshot(), base.index.providers,
                          base.index.tree)
    if base.warnings is None:
        return Derived(index, records, [])
    warnings = _warnings(reader, check, base.warnings, focus | changes.removed, pools)
    return Derived(index, records, warnings) if warnings is not None else None


def _replacing(entries: Mapping[str, Entry], names: Collection[str]) -> set[str]:
    # Every model whose chain of replacements passes through one of `names` (names match ignoring
    # case, as the check's lookups do).
    named_by: dict[str, list[str]] = {}
    for name, entry in entries.items():
        if entry.replacement is not None:
            named_by.setdefault(entry.replacement.lower(), []).append(name)
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


def from_unchecked_base(derivation: Callable[[], Derived | None], verified: Callable[[], bool]) -> Derived | None:
    """What `derivation` gives from a base whose bytes are being checked against their seal
    meanwhile (`verified` waits for the answer): None when they fail it, whatever it gave. An
    error stands only when the bytes hold: a record decoded from bad bytes may raise anything."""
    try:
        derived = derivation()
    except (ValueError, TypeError):
        if verified():
            raise
        return None
    return derived if verified() else None

