"""A snapshot document's canonical bytes, written record by record, so that a snapshot derived
from an earlier one copies the bytes of every model record the two share instead of encoding it
again.

The bytes are exactly `snapshot_format.encode`'s: canonical JSON is `{`, each key and value in
sorted order joined by commas, `}`, at every level, so the models section may be put together
from each record's own canonical bytes. Where each record lies in the file (`Encoded.spans`) is
kept with the snapshot for the next derivation.
"""

from __future__ import annotations

from array import array
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from modelreg.snapshot_format import BODY_SHIFT, canonical_json, seal_body


@dataclass(frozen=True)
class Encoded:
    """A sealed snapshot's bytes and digest, and where each model's `"name":{record}` lies in
    `raw`: `spans[2*i]` to `spans[2*i+1]` for the `i`-th model in name order."""

    raw: bytes
    digest: str
    spans: array[int]


@dataclass(frozen=True)
class Earlier:
    """An earlier snapshot whose record bytes may be copied: its models (the very record
    objects a derived document shares with it), its bytes and their spans."""

    models: Mapping[str, Any]
    raw: bytes
    spans: array[int]


def encode_records(document: Mapping[str, Any], earlier: Earlier | None = None) -> Encoded:
    """Seal `document` (without `$digest`), copying from `earlier` the bytes of each record that
    is the same object as the earlier one of its name (documents are read-only, so the same
    object has the same bytes)."""
    if "$digest" in document:
        raise ValueError("the document must not carry `$digest` yet")
    known: dict[str, tuple[Any, int]] = {}
    if earlier is not None and len(earlier.spans) == 2 * len(earlier.models):
        known = {name: (rec, i) for i, (name, rec) in enumerate(earlier.models.items())}
    parts: list[bytes] = []
    offsets: list[int] = []
    size = 1  # the opening brace
    for key in sorted(document):
        parts.append(canonical_json(key) + b":")
        size += len(parts[-1])
        if key != "models":
            parts.append(canonical_json(document[key]))
        else:
            records = document[key]
            fragments: list[bytes] = []
            position = size + 1  # after the section's `{`
            for name in sorted(records):
                rec = records[name]
                seen = known.get(name)
                if seen is not None and seen[0] is rec:
                    i = seen[1]
                    assert earlier is not None
                    fragment = earlier.raw[earlier.spans[2 * i]:earlier.spans[2 * i + 1]]
                else:
                    fragment = canonical_json(name) + b":" + canonical_json(rec)
                if fragments:
                    position += 1  # the comma before it
                offsets += (position + BODY_SHIFT, position + len(fragment) + BODY_SHIFT)
                position += len(fragment)
                fragments.append(fragment)
            parts.append(b"{" + b",".join(fragments) + b"}")
        size += len(parts[-1]) + 1  # and the comma (or closing brace) after it
        parts.append(b",")
    if parts:
        parts[-1] = b"}"
    body = b"{" + b"".join(parts) if parts else b"{}"
    raw, digest = seal_body(body)
    return Encoded(raw, digest, array("q", offsets))
