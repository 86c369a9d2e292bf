"""What a derivation reads of a snapshot, kept beside its bytes so that the next snapshot is derived
without parsing this one: per model the few fields a derivation asks about, the pools, and where
each record and each top-level section lies in the bytes.

A record itself is decoded from its bytes only when a derivation must change it (a new
registration date); everything else of a record is copied as bytes.
"""

from __future__ import annotations

import json
import marshal
from array import array
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, NamedTuple

from modelreg.models import STATUS_ORDER
from modelreg.snapshot_format import canonical_json, decode


class Entry(NamedTuple):
    """What a derivation reads of one model's record (a tuple: ten thousand load in a blink)."""

    source: str
    registered_at: str | None
    replacement: str | None
    pools: tuple[str, ...]
    status_rank: int
    priority: int

    @staticmethod
    def of(record: Mapping[str, Any], shared: dict[Any, Any] | None = None) -> Entry:
        """The entry of a snapshot record. Values met before in `shared` (a date, a set of pools)
        are those very objects: marshal keeps each once, and loads it once."""
        known = {} if shared is None else shared
        lifecycle = record["lifecycle"]
        replacement = lifecycle.get("replacement")
        pools = tuple(record["pools"])
        date = record["registered_at"]
        return Entry(record["source"], known.setdefault(date, date),
                     replacement if isinstance(replacement, str) else None, known.setdefault(pools, pools),
                     STATUS_ORDER.get(lifecycle.get("status"), 0), record["priority"])

    def pool_key(self, name: str) -> tuple[int, int, str]:
        """The model's place in a pool, as `Model.pool_key` gives it."""
        return (self.status_rank, self.priority, name)


@dataclass
class SnapshotIndex:
    """The entries of a snapshot's models in name order, its pools, and, for a sealed snapshot,
    where in its bytes each model's `"name":{record}` lies (`spans[2*i]` to `spans[2*i+1]`) and
    each top-level section's value (`sections`). `version` and `providers` are the snapshot's
    version and how many providers it has; `tree`, its capability paths in the compile's order
    (which the bytes, their keys sorted, do not keep, and `show` lists the tree in)."""

    entries: dict[str, Entry]
    pools: dict[str, list[str]]
    version: dict[str, Any]
    providers: int = 0
    tree: list[str] = field(default_factory=list)
    spans: array[int] | None = None
    sections: dict[str, tuple[int, int]] | None = None

    @classmethod
    def of_document(cls, document: Mapping[str, Any]) -> SnapshotIndex:
        """The index of a snapshot document (no byte positions)."""
        shared: dict[Any, Any] = {}
        entries = {name: Entry.of(rec, shared) for name, rec in sorted(document["models"].items())}
        # A pool's members are the entries' own names: kept once.
        named = {name: name for name in entries}
        pools = {path: [named.get(name, name) for name in names] for path, names in document["pools"].items()}
        return cls(entries, pools, dict(document["version"]), len(document["providers"]),
                   list(document["capabilities"]))

    def dumps(self) -> bytes:
        """The index as marshal's bytes (see `loads`)."""
        spans = self.spans.tobytes() if self.spans is not None else None
        return marshal.dumps((list(self.entries), [tuple(e) for e in self.entries.values()], self.pools,
                              self.version, self.providers, self.tree, spans, self.sections))

    @classmethod
    def loads(cls, raw: bytes) -> SnapshotIndex | None:
        """The index `dumps` gave, or None for bytes that do not hold one."""
        try:
            names, rows, pools, version, providers, tree, spans, sections = marshal.loads(raw)
            index = cls(dict(zip(names, map(Entry._make, rows), strict=True)), pools, version, providers, tree)
        except (EOFError, ValueError, TypeError):
            return None
        if not isinstance(pools, dict) or not all(isinstance(v, list) for v in pools.values()) \
                or not isinstance(version, dict) or not isinstance(providers, int) or not isinstance(tree, list):
            return None
        if spans is not None:
            if not isinstance(spans, bytes) or len(spans) != 16 * len(index.entries) \
                    or not isinstance(sections, dict):
                return None
            index.spans = array("q")
            index.spans.frombytes(spans)
            index.sections = sections
        return index

    @cached_property
    def positions(self) -> dict[str, int]:
        """Each model's place in name order: the `i` of its span."""
        return {name: i for i, name in enumerate(self.entries)}

    def document(self, raw: bytes, *, source: str = "snapshot") -> dict[str, Any]:
        """The document of the snapshot sealed in `raw` (the one this indexes), decoded and
        checked, its capabilities in the compile's order."""
        document = decode(raw, source=source)
        capabilities = document["capabilities"]
        if sorted(self.tree) == sorted(capabilities):
            document["capabilities"] = {path: capabilities[path] for path in self.tree}
        return document

    def records(self, raw: bytes) -> Callable[[str], dict[str, Any]]:
        """The records of the snapshot sealed in `raw` (the one this indexes, with its byte
        positions), each decoded from its own bytes when asked for."""
        spans = self.spans
        if spans is None:
            raise ValueError("the index holds no byte positions")

        def record(name: str) -> dict[str, Any]:
            i = self.positions[name]
            # The span is `"name":{record}`; the record starts after the name and its colon.
            decoded: dict[str, Any] = json.loads(raw[spans[2 * i] + len(canonical_json(name)) + 1:spans[2 * i + 1]])
            return decoded
        return record
