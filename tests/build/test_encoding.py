"""The snapshot's bytes put together in parts are the bytes of encoding the document whole."""

from __future__ import annotations

import json
from typing import Any

import pytest

from modelreg.build.encoding import encode_derived, encode_document, encode_records
from modelreg.build.snapshot_index import SnapshotIndex
from modelreg.check import parallel
from modelreg.check.parallel import WORKERS_ENV
from modelreg.snapshot_format import BODY_SHIFT, decode, encode


def _document(models: int) -> dict[str, Any]:
    records = {
        f"acme/m{i:05}": {"name": f"acme/m{i:05}", "provider": "acme", "source": f"acme/m{i:05}.yaml",
                          "registered_at": None, "priority": i % 7, "pools": ["chat"],
                          "lifecycle": {"status": "active"}, "note": "é\u2028\"quoted\""}
        for i in range(models)
    }
    return {"format": {"name": "modelreg-registry", "major": 1, "minor": 0}, "version": {"label": "unversioned"},
            "capabilities": {"chat": {"path": "chat"}}, "aliases": {}, "features": {}, "providers": {"acme": {}},
            "models": records, "pools": {"chat": sorted(records)}}


@pytest.mark.parametrize("workers", ["1", "2"])
def test_the_models_encoded_over_several_processes_are_the_bytes_of_one_encoding(
        monkeypatch: pytest.MonkeyPatch, workers: str) -> None:
    monkeypatch.setenv(WORKERS_ENV, workers)
    forks: list[int] = []
    real_fork = parallel._fork

    def counting(work: Any, part: Any) -> Any:
        forks.append(len(part))
        return real_fork(work, part)

    monkeypatch.setattr(parallel, "_fork", counting)
    document = _document(2500)
    split = parallel.worker_count(2500) > 1
    assert encode_document(document) == encode(document)
    # Split over two processes unless told not to (or a thread of the test run's keeps it from forking).
    assert forks == ([1250] if split else [])
    assert not (split and workers == "1")
    assert encode_document(_document(0)) == encode(_document(0))


def test_records_lie_where_their_spans_say_and_a_derivation_copies_them_exactly() -> None:
    document = _document(50)
    encoded = encode_records(document)
    assert (encoded.raw, encoded.digest) == encode(document)
    for i, name in enumerate(sorted(document["models"])):
        start, end = encoded.spans[2 * i], encoded.spans[2 * i + 1]
        assert json.loads(b"{" + encoded.raw[start:end] + b"}") == {name: document["models"][name]}
    for key, (start, end) in encoded.sections.items():
        assert json.loads(encoded.raw[start:end]) == document[key]
    assert encoded.sections["aliases"][0] > BODY_SHIFT
    base = SnapshotIndex.of_document(document)
    base.spans, base.sections = encoded.spans, encoded.sections
    # Drop one model, change another, add a third: the rest is copied from the earlier bytes.
    after = json.loads(json.dumps(document))
    del after["models"]["acme/m00003"]
    after["models"]["acme/m00007"]["priority"] = 99
    after["models"]["acme/m00007x"] = {**after["models"]["acme/m00008"], "name": "acme/m00007x"}
    after["pools"]["chat"] = sorted(after["models"])
    after["version"] = {"label": "1.gabc"}
    index = SnapshotIndex.of_document(after)
    changed = {name: after["models"][name] for name in ("acme/m00007", "acme/m00007x")}
    derived = encode_derived(encoded.raw, base, index, changed)
    assert (derived.raw, derived.digest) == encode(after)
    assert decode(derived.raw)["models"] == after["models"]
    for i, name in enumerate(sorted(after["models"])):
        start, end = derived.spans[2 * i], derived.spans[2 * i + 1]
        assert json.loads(b"{" + derived.raw[start:end] + b"}") == {name: after["models"][name]}
