"""`modelreg diff`: what a change does to the registry, above all to each capability's pool.

The report lists models added, removed and changed (field by field), and for every capability the
models that enter or leave its pool and those whose place in the routing order changed. Where
the two sides come from is `modelreg.diff.sides`; how the report is shown, `modelreg.diff.render`.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from modelreg.catalog.dotted import ABSENT

DIFF_FORMAT = "modelreg-diff"
DIFF_VERSION = 1
# Snapshot fields reported elsewhere than in a model's field changes.
_NOT_FIELDS = frozenset({"pools"})




@dataclass(frozen=True)
class FieldChange:
    """One field that differs: dotted path, value before, value after (ABSENT when missing)."""

    field: str
    old: Any
    new: Any

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"field": self.field}
        if self.old is not ABSENT:
            data["old"] = self.old
        if self.new is not ABSENT:
            data["new"] = self.new
        return data


def field_changes(old: Mapping[str, Any], new: Mapping[str, Any], prefix: str = "",
                  skip: Iterable[str] = ()) -> list[FieldChange]:
    """Differences between two mappings, nested mappings compared key by key (`features.vision`)."""
    skipped = set(skip)
    found: list[FieldChange] = []
    for key in sorted(set(old) | set(new)):
        if key in skipped:
            continue
        before, after = old.get(key, ABSENT), new.get(key, ABSENT)
        name = f"{prefix}{key}"
        if isinstance(before, dict) and isinstance(after, dict):
            found.extend(field_changes(before, after, f"{name}."))
        elif before != after or type(before) is not type(after):
            found.append(FieldChange(name, before, after))
    return found


@dataclass
class Side:
    """One side of a diff: where it came from, and its snapshot document."""

    kind: str
    """`revision`, `worktree` or `snapshot`."""
    ref: str
    document: dict[str, Any]
    digest: str | None = None

    @property
    def commit(self) -> str | None:
        commit: str | None = self.document["version"]["commit"]
        return commit

    @property
    def label(self) -> str:
        return str(self.document["version"]["label"])

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "ref": self.ref, "commit": self.commit, "label": self.label, "digest": self.digest}


@dataclass
class PoolChange:
    """How one capability's pool changed. Positions are 1-based places in the routing order."""

    capability: str
    before: list[str] | None
    after: list[str] | None
    entered: list[tuple[str, int]] = field(default_factory=list)
    left: list[tuple[str, int]] = field(default_factory=list)
    moved: list[tuple[str, int, int]] = field(default_factory=list)

    @property
    def size(self) -> int:
        """How many lines of detail this change has."""
        return len(self.entered) + len(self.left) + len(self.moved)

    def to_json(self) -> dict[str, Any]:
        return {
            "capability": self.capability,
            "before": None if self.before is None else len(self.before),
            "after": None if self.after is None else len(self.after),
            "entered": [{"name": n, "position": p} for n, p in self.entered],
            "left": [{"name": n, "position": p} for n, p in self.left],
            "moved": [{"name": n, "from": a, "to": b} for n, a, b in self.moved],
        }


@dataclass
class ItemChange:
    """A model, provider or capability present on both sides whose fields differ."""

    name: str
    changes: list[FieldChange]


@dataclass
class Diff:
    """Everything that differs between two registry snapshots."""

    base: Side
    head: Side
    models_added: list[str] = field(default_factory=list)
    models_removed: list[str] = field(default_factory=list)
    models_changed: list[ItemChange] = field(default_factory=list)
    pools: list[PoolChange] = field(default_factory=list)
    providers_added: list[str] = field(default_factory=list)
    providers_removed: list[str] = field(default_factory=list)
    providers_changed: list[ItemChange] = field(default_factory=list)
    capabilities_added: list[str] = field(default_factory=list)
    capabilities_removed: list[str] = field(default_factory=list)
    capabilities_changed: list[ItemChange] = field(default_factory=list)
    vocabulary: list[FieldChange] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """Whether anything differs (`--exit-code` exits 1 then)."""
        return any((self.models_added, self.models_removed, self.models_changed, self.pools, self.providers_added,
                    self.providers_removed, self.providers_changed, self.capabilities_added,
                    self.capabilities_removed, self.capabilities_changed, self.vocabulary))

    @property
    def providers_count(self) -> int:
        return len(self.providers_added) + len(self.providers_removed) + len(self.providers_changed)

    @property
    def capabilities_count(self) -> int:
        return (len(self.capabilities_added) + len(self.capabilities_removed) + len(self.capabilities_changed)
                + len(self.vocabulary))

    def summary(self) -> str:
        """One line: "2 models added, 1 changed; 3 pools changed"."""
        counts = [(len(self.models_added), "added"), (len(self.models_removed), "removed"),
                  (len(self.models_changed), "changed")]
        items = [(n, verb) for n, verb in counts if n]
        if items:
            (first, verb), rest = items[0], items[1:]
            text = ", ".join([f"{_count(first, 'model')} {verb}", *(f"{n} {v}" for n, v in rest)])
        else:
            text = "no models changed"
        text += f"; {_count(len(self.pools), 'pool')} changed" if self.pools else "; no pools changed"
        if self.providers_count:
            text += f"; {_count(self.providers_count, 'provider')} changed"
        if self.capabilities_count:
            text += f"; {_count(self.capabilities_count, 'capability change', 'capability changes')}"
        return text

    def to_json(self) -> dict[str, Any]:
        """The report of `schemas/diff.schema.json`."""
        head_models = self.head.document["models"]
        base_models = self.base.document["models"]
        return {
            "format": DIFF_FORMAT,
            "version": DIFF_VERSION,
            "base": self.base.to_json(),
            "head": self.head.to_json(),
            "changed": self.changed,
            "summary": {
                "text": self.summary(),
                "models_added": len(self.models_added),
                "models_removed": len(self.models_removed),
                "models_changed": len(self.models_changed),
                "pools_changed": len(self.pools),
                "providers_changed": self.providers_count,
                "capabilities_changed": self.capabilities_count,
            },
            "models": {
                "added": [{"name": n, "pools": head_models[n]["pools"]} for n in self.models_added],
                "removed": [{"name": n, "pools": base_models[n]["pools"]} for n in self.models_removed],
                "changed": [_item_json(c, "name") for c in self.models_changed],
            },
            "pools": [p.to_json() for p in self.pools],
            "providers": {
                "added": self.providers_added,
                "removed": self.providers_removed,
                "changed": [_item_json(c, "name") for c in self.providers_changed],
            },
            "capabilities": {
                "added": self.capabilities_added,
                "removed": self.capabilities_removed,
                "changed": [_item_json(c, "path") for c in self.capabilities_changed],
                "vocabulary": [c.to_json() for c in self.vocabulary],
            },
        }


def _item_json(item: ItemChange, key: str) -> dict[str, Any]:
    return {key: item.name, "changes": [c.to_json() for c in item.changes]}


def _count(n: int, noun: str, plural: str | None = None) -> str:
    return f"{n} {noun if n == 1 else (plural or noun + 's')}"


def _keyed(old: Mapping[str, Any], new: Mapping[str, Any], skip: Iterable[str] = ()
           ) -> tuple[list[str], list[str], list[ItemChange]]:
    added = sorted(set(new) - set(old))
    removed = sorted(set(old) - set(new))
    changed = []
    for name in sorted(set(old) & set(new)):
        if old[name] != new[name]:
            changes = field_changes(old[name], new[name], skip=skip)
            if changes:
                changed.append(ItemChange(name, changes))
    return added, removed, changed


def _stable(common_old: Sequence[str], common_new: Sequence[str]) -> set[str]:
    """The largest set of members that kept their relative order (a longest increasing
    subsequence); everyone else moved."""
    index = {name: i for i, name in enumerate(common_old)}
    sequence = [index[name] for name in common_new]
    tails: list[int] = []
    tail_at: list[int] = []
    previous = [-1] * len(sequence)
    for i, value in enumerate(sequence):
        k = bisect_left(tails, value)
        if k == len(tails):
            tails.append(value)
            tail_at.append(i)
        else:
            tails[k] = value
            tail_at[k] = i
        previous[i] = tail_at[k - 1] if k else -1
    keep: set[str] = set()
    i = tail_at[-1] if tail_at else -1
    while i >= 0:
        keep.add(common_new[i])
        i = previous[i]
    return keep


def pool_change(capability: str, before: list[str] | None, after: list[str] | None) -> PoolChange | None:
    """How a pool's ordered members changed; None when they did not."""
    old, new = before or [], after or []
    if old == new:
        return None
    old_at = {name: i + 1 for i, name in enumerate(old)}
    new_at = {name: i + 1 for i, name in enumerate(new)}
    change = PoolChange(capability, before, after)
    change.entered = [(name, new_at[name]) for name in new if name not in old_at]
    change.left = [(name, old_at[name]) for name in old if name not in new_at]
    common_old = [name for name in old if name in new_at]
    common_new = [name for name in new if name in old_at]
    if common_old != common_new:
        keep = _stable(common_old, common_new)
        change.moved = [(name, old_at[name], new_at[name]) for name in common_new if name not in keep]
    return change


def compare(base: Side, head: Side) -> Diff:
    """The differences between two sides."""
    a, b = base.document, head.document
    diff = Diff(base, head)
    diff.models_added, diff.models_removed, diff.models_changed = _keyed(a["models"], b["models"], _NOT_FIELDS)
    for path in sorted(set(a["pools"]) | set(b["pools"])):
        change = pool_change(path, a["pools"].get(path), b["pools"].get(path))
        if change is not None:
            diff.pools.append(change)
    diff.providers_added, diff.providers_removed, diff.providers_changed = _keyed(a["providers"], b["providers"])
    (diff.capabilities_added, diff.capabilities_removed,
     diff.capabilities_changed) = _keyed(a["capabilities"], b["capabilities"])
    diff.vocabulary = field_changes({"aliases": a["aliases"], "features": a["features"]},
                                    {"aliases": b["aliases"], "features": b["features"]})
    return diff
