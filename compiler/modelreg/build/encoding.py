"""A snapshot's canonical bytes, written section by section and record by record, so that a
snapshot derived from an earlier one copies the bytes of every section and model record the two
share instead of encoding them again.

The bytes are exactly `snapshot_format.encode`'s: canonical JSON is `{`, each key and value in
sorted order joined by commas, `}`, at every level, so a document may be put together from the
canonical bytes of its parts. Where each record and each top-level section lies in the file is
kept with the snapshot (`SnapshotIndex.spans`, `.sections`) for the next derivation.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from modelreg.build.snapshot_index import SnapshotIndex
from modelreg.check.parallel import iter_chunks
from modelreg.snapshot_format import BODY_SHIFT, canonical_json, seal_parts


@dataclass(frozen=True)
class Encoded:
    """A sealed snapshot's bytes and digest, with where each model's `"name":{record}` lies in
    `raw` (`spans[2*i]` to `spans[2*i+1]` for the `i`-th model in name order) and each top-level
    section's value (`sections`)."""

    raw: bytes
    digest: str
    spans: array[int]
    sections: dict[str, tuple[int, int]]


class _Body:
    # The canonical body put together part by part, knowing where each part lands in the file.
    def __init__(self) -> None:
        self.parts: list[bytes] = [b"{"]
        self.size = 1
        self.spans = array("q")
        self.sections: dict[str, tuple[int, int]] = {}

    def add(self, part: bytes) -> None:
        self.parts.append(part)
        self.size += len(part)

    def record(self, fragment: bytes) -> None:
        self.spans.extend((self.size + BODY_SHIFT, self.size + len(fragment) + BODY_SHIFT))
        self.add(fragment)

    def section(self, key: str, value: bytes | Callable[[], None]) -> None:
        # `value`: the section's bytes, or what adds them.
        if len(self.parts) > 1:
            self.add(b",")
        self.add(canonical_json(key) + b":")
        start = self.size
        if isinstance(value, bytes):
            self.add(value)
        else:
            value()
        self.sections[key] = (start + BODY_SHIFT, self.size + BODY_SHIFT)

    def seal(self) -> Encoded:
        self.add(b"}")
        raw, digest = seal_parts(self.parts)
        return Encoded(raw, digest, self.spans, self.sections)


def encode_document(document: Mapping[str, Any]) -> tuple[bytes, str]:
    """`snapshot_format.encode`'s bytes and digest, the models encoded slice by slice over the
    machine's cores (`modelreg.check.parallel`): in a large catalog they are most of the work."""
    if "$digest" in document:
        raise ValueError("the document must not carry `$digest` yet")
    parts = [b"{"]
    for key in sorted(document):
        if len(parts) > 1:
            parts.append(b",")
        parts.append(canonical_json(key) + b":")
        if key != "models":
            parts.append(canonical_json(document[key]))
            continue
        parts.append(b"{")
        first = len(parts)
        for chunk in iter_chunks(_encode_slice, sorted(document["models"].items())):
            for piece in chunk:
                if len(parts) > first:
                    parts.append(b",")
                parts.append(piece)
        parts.append(b"}")
    parts.append(b"}")
    return seal_parts(parts)


def _encode_slice(items: Sequence[tuple[str, Any]]) -> list[bytes]:
    # The records of a slice of the models in name order, as the models section holds them: its
    # canonical JSON but the braces.
    return [canonical_json(dict(items))[1:-1]] if items else []


def encode_records(document: Mapping[str, Any]) -> Encoded:
    """Seal `document` (without `$digest`), keeping where its records and sections lie."""
    if "$digest" in document:
        raise ValueError("the document must not carry `$digest` yet")
    body = _Body()
    for key in sorted(document):
        if key == "models":
            body.section(key, lambda: _models(body, document["models"]))
        else:
            body.section(key, canonical_json(document[key]))
    return body.seal()


def _models(body: _Body, records: Mapping[str, Any]) -> None:
    body.add(b"{")
    for i, name in enumerate(sorted(records)):
        if i:
            body.add(b",")
        body.record(canonical_json(name) + b":" + canonical_json(records[name]))
    body.add(b"}")


def encode_derived(raw: bytes, base: SnapshotIndex, index: SnapshotIndex, records: Mapping[str, Any]) -> Encoded:
    """Seal the snapshot derived from the one sealed in `raw` (indexed by `base`, with its byte
    positions): the models of `index` in order, each from `records` when there, else copied from
    `raw`; the pools and version of `index`; every other section copied."""
    if base.spans is None or base.sections is None:
        raise ValueError("the base snapshot's byte positions are not known")
    sections = base.sections
    body = _Body()
    for key in sorted(sections):
        if key == "models":
            body.section(key, lambda: _derived_models(body, raw, base, index, records))
        elif key == "pools":
            body.section(key, canonical_json(index.pools))
        elif key == "version":
            body.section(key, canonical_json(index.version))
        else:
            start, end = sections[key]
            body.section(key, raw[start:end])
    return body.seal()


def _derived_models(body: _Body, raw: bytes, base: SnapshotIndex, index: SnapshotIndex,
                    records: Mapping[str, Any]) -> None:
    # Runs of records that lie side by side in `raw` are copied as one slice, commas and all.
    assert base.spans is not None
    spans = base.spans
    at = base.positions
    run: list[int] = []  # the first and last base position of the run being gathered

    def flush() -> None:
        first, last = run
        start = body.size + BODY_SHIFT
        shift = start - spans[2 * first]
        body.spans.extend(offset + shift for offset in spans[2 * first:2 * last + 2])
        body.add(raw[spans[2 * first]:spans[2 * last + 1]])
        run.clear()

    body.add(b"{")
    written = False
    for name in index.entries:
        i = None if name in records else at.get(name)
        if i is not None and run and i == run[1] + 1:
            run[1] = i
            continue
        if run:
            flush()
        if written:
            body.add(b",")
        written = True
        if i is not None:
            run[:] = [i, i]
        else:
            body.record(canonical_json(name) + b":" + canonical_json(records[name]))
    if run:
        flush()
    body.add(b"}")
