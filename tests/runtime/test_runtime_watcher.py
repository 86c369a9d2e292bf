"""Hot reload: atomic swaps, rejected snapshots, ETags, and readers racing a reload."""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from pathlib import Path

import pytest

from modelreg import snapshot_format
from modelreg.atomic_files import write_atomic
from modelreg.build.snapshot import Snapshot
from modelreg.runtime import Router, SnapshotError, SnapshotRegistry, SnapshotWatcher
from tests.runtime.conftest import model, snapshot_bytes
from tests.runtime.fake_provider import FakeProvider

V1 = [model("acme/a", priority=1), model("acme/b", priority=2)]
V2 = [model("acme/a", priority=3), model("acme/b", priority=2), model("beta/c", priority=1)]
V3 = [model("beta/c", priority=1)]


def chat(registry: SnapshotRegistry) -> list[str]:
    return [m.name for m in registry.find_by_capability("chat")]


def future_major(models: list) -> bytes:  # type: ignore[type-arg]
    document = json.loads(snapshot_bytes(models))
    del document["$digest"]
    document["format"]["major"] = 9
    return snapshot_format.encode(document)[0]


def sealed_with_a_pool_too_many(models: list) -> bytes:  # type: ignore[type-arg]
    document = json.loads(snapshot_bytes(models))
    del document["$digest"]
    document["pools"]["generation.video"] = []
    return Snapshot.from_document(document).raw


@pytest.fixture
def path(tmp_path: Path) -> Path:
    target = tmp_path / "registry.json"
    write_atomic(target, snapshot_bytes(V1, label="1"))
    return target


def test_a_new_file_is_swapped_in(path: Path) -> None:
    swaps: list[tuple[str, str]] = []
    watcher = SnapshotWatcher(path, on_reload=lambda old, new: swaps.append((old.version.label, new.version.label)))
    assert chat(watcher.current) == ["acme/a", "acme/b"]
    assert watcher.check() is False
    write_atomic(path, snapshot_bytes(V2, label="2"))
    assert watcher.check() is True
    assert chat(watcher.current) == ["beta/c", "acme/b", "acme/a"]
    assert watcher.version.label == "2"
    assert swaps == [("1", "2")]
    assert watcher.check() is False


def test_the_same_content_rewritten_is_no_reload(path: Path) -> None:
    watcher = SnapshotWatcher(path)
    before = watcher.current
    write_atomic(path, snapshot_bytes(V1, label="1"))
    assert watcher.check() is False
    assert watcher.current is before


@pytest.mark.parametrize(("content", "message"), [
    (lambda: snapshot_bytes(V2, label="2")[:300], "not a JSON snapshot (truncated or corrupt?)"),
    (lambda: snapshot_bytes(V2, label="2").replace(b'"priority":3', b'"priority":4'), "digest mismatch"),
    (lambda: future_major(V2), "snapshot format major version 9 is not supported"),
    (lambda: b"", "not a JSON snapshot"),
    (lambda: b"[" * 100_000, "not a JSON snapshot (truncated or corrupt?): nested too deeply"),
    (lambda: sealed_with_a_pool_too_many(V2), "pool for `generation.video`, which is not in the capability tree"),
])
def test_a_bad_snapshot_is_rejected_and_the_last_good_one_serves(
        path: Path, caplog: pytest.LogCaptureFixture, content: object, message: str) -> None:
    errors: list[Exception] = []
    watcher = SnapshotWatcher(path, on_error=errors.append)
    good = watcher.current
    assert callable(content)
    path.write_bytes(content())  # a non-atomic writer, caught half way
    assert watcher.check() is False
    assert watcher.current is good
    assert len(errors) == 1 and isinstance(errors[0], SnapshotError) and message in str(errors[0])
    assert watcher.last_error is errors[0]
    [record] = [r for r in caplog.records if r.name == "modelreg.runtime"]
    assert record.levelno == logging.ERROR
    assert record.getMessage().startswith(f"{path}: new snapshot rejected, still serving 1 (sha256:")
    # Reported once, not at every poll; a good file afterwards is taken.
    assert watcher.check() is False and len(errors) == 1
    write_atomic(path, snapshot_bytes(V3, label="3"))
    assert watcher.check() is True
    assert chat(watcher.current) == ["beta/c"] and watcher.last_error is None


def test_a_vanished_file_is_reported_and_the_last_good_one_serves(path: Path) -> None:
    errors: list[Exception] = []
    watcher = SnapshotWatcher(path, on_error=errors.append)
    path.unlink()
    assert watcher.check() is False
    assert isinstance(errors[0], FileNotFoundError)
    assert chat(watcher.current) == ["acme/a", "acme/b"]


def test_a_url_is_polled_with_its_etag(provider: FakeProvider) -> None:
    errors: list[Exception] = []
    provider.document = (snapshot_bytes(V1, label="1"), '"one"')
    watcher = SnapshotWatcher(provider.root + "/registry.json", on_error=errors.append)
    assert chat(watcher.current) == ["acme/a", "acme/b"]
    assert watcher.check() is False
    assert provider.seen[-1].headers["If-None-Match"] == '"one"'
    provider.document = (b'{"$digest": "sha256:', '"broken"')
    assert watcher.check() is False
    assert "not a JSON snapshot" in str(errors[0])
    assert watcher.check() is False and len(errors) == 1  # 304 for the same broken ETag
    provider.document = (snapshot_bytes(V2, label="2"), '"two"')
    assert watcher.check() is True
    assert watcher.version.label == "2"
    assert [s.headers.get("If-None-Match") for s in provider.seen] == [None, '"one"', '"one"', '"broken"', '"broken"']


def test_a_snapshot_cut_short_over_http_is_reported_and_the_last_good_one_serves(provider: FakeProvider) -> None:
    errors: list[Exception] = []
    provider.document = (snapshot_bytes(V1, label="1"), '"one"')
    watcher = SnapshotWatcher(provider.root + "/registry.json", on_error=errors.append)
    good = watcher.current
    raw = snapshot_bytes(V2, label="2")
    provider.document = (raw[:500], '"two"')
    provider.document_length = len(raw)
    assert watcher.check() is False
    assert watcher.current is good
    assert [str(e) for e in errors] == [f"{provider.root}/registry.json: the snapshot was not received whole: "
                                        f"IncompleteRead(500 bytes read, {len(raw) - 500} more expected)"]
    assert isinstance(errors[0], SnapshotError)
    # A transfer cut short is not remembered as that ETag's content: the next poll fetches it again.
    provider.document = (raw, '"two"')
    provider.document_length = None
    assert watcher.check() is True
    assert watcher.version.label == "2"


def test_any_failure_while_loading_is_reported_and_the_watcher_keeps_serving(
        path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    errors: list[Exception] = []
    watcher = SnapshotWatcher(path, on_error=errors.append)
    good = watcher.current

    def broken(raw: bytes, *, source: str = "snapshot", body_digest: str | None = None) -> SnapshotRegistry:
        raise RuntimeError("a bug while indexing")

    monkeypatch.setattr(SnapshotRegistry, "from_bytes", broken)
    write_atomic(path, snapshot_bytes(V2, label="2"))
    assert watcher.check() is False
    assert watcher.current is good
    assert [type(e) for e in errors] == [RuntimeError]
    [record] = [r for r in caplog.records if r.name == "modelreg.runtime"]
    assert record.getMessage() == f"{path}: new snapshot rejected, still serving {good.version}: a bug while indexing"
    assert record.exc_info is not None and record.exc_info[0] is RuntimeError  # the unexpected gets a traceback
    monkeypatch.undo()
    write_atomic(path, snapshot_bytes(V3, label="3"))
    assert watcher.check() is True and watcher.version.label == "3"


def test_a_polling_thread_reloads_by_itself(path: Path) -> None:
    reloaded = threading.Event()
    with SnapshotWatcher(path, interval=0.01, on_reload=lambda old, new: reloaded.set()) as watcher:
        write_atomic(path, snapshot_bytes(V2, label="2"))
        assert reloaded.wait(5)
        assert watcher.version.label == "2"
    assert not any(t.name.startswith("modelreg-watch") for t in threading.enumerate())


def test_readers_never_see_a_half_swapped_snapshot(path: Path) -> None:
    versions = {"1": V1, "2": V2, "3": V3}
    raws = {label: snapshot_bytes(models, label=label) for label, models in versions.items()}
    expected = {label: chat(SnapshotRegistry.from_bytes(raw)) for label, raw in raws.items()}
    watcher = SnapshotWatcher(path)
    router = Router(watcher)
    stop = threading.Event()
    failures: list[BaseException] = []
    seen: set[str] = set()
    answers = [0]

    def reader() -> None:
        try:
            while not stop.is_set():
                registry = watcher.current
                label = registry.version.label
                assert chat(registry) == expected[label]
                assert [m.name for m in router.candidates("chat")] in expected.values()
                assert [m.name for m in watcher.find_by_capability("chat")] in expected.values()
                for m in registry.find_by_capability("chat"):
                    assert registry.get_model(m.name) is m
                seen.add(label)
                answers[0] += 1
        except BaseException as exc:  # reported to the main thread
            failures.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(4)]
    # Short GIL slices, so the reloading thread gets its turn often among the busy readers.
    interval = sys.getswitchinterval()
    sys.setswitchinterval(0.0002)
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 10
    try:
        for step in range(30):
            if step % 10 == 5:
                path.write_bytes(raws["2"][:-40])  # a corrupt snapshot arrives mid-way
                assert watcher.check() is False
            label = "123"[step % 3]
            write_atomic(path, raws[label])
            watcher.check()
            assert watcher.version.label == label
            time.sleep(0.001)
            if time.monotonic() > deadline:
                break
    finally:
        stop.set()
        for thread in threads:
            thread.join()
        sys.setswitchinterval(interval)
    assert failures == []
    assert seen == {"1", "2", "3"}
    assert answers[0] > 30
