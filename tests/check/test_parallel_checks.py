"""Per-file checks over forked workers: `iter_chunks` itself, and a catalog checked, validated and
compiled with and without it; revisions read as a stream (`GitSource.read(defer=True)`), and git
run in the background (`GitRun`)."""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import sys
import threading
import time
import warnings
import weakref
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from modelreg.build.compile import compile_catalog
from modelreg.catalog.directory import DirectorySource
from modelreg.catalog.file_size import MAX_FILE_BYTES
from modelreg.catalog.files import CatalogFiles
from modelreg.catalog.revision import GitSource
from modelreg.check import catalog_check, parallel
from modelreg.check.catalog_check import CatalogCheck, check_catalog
from modelreg.check.parallel import iter_chunks, worker_count
from modelreg.diagnostics import Diagnostic
from modelreg.errors import StateError
from modelreg.git.runner import Git, GitRun
from tests.conftest import CAPABILITIES, CHAT, PROVIDER, Run, run_cli, write
from tests.git_helpers import catalog_repo, commit_all, dates_of, git, init_repo

JAN = "2024-01-01T00:00:00+00:00"
FEB = "2024-02-01T00:00:00+00:00"
MAR = "2024-03-01T00:00:00+00:00"
CAPABILITY_CYCLE = ("generation.text-generation", "chat", "generation.text-generation.code-generation",
                    "embedding.text-embedding")
Work = Callable[[Sequence[Any]], list[Any]]


# -- helpers -------------------------------------------------------------------------------


@pytest.fixture
def workers(monkeypatch: pytest.MonkeyPatch) -> Callable[[int], None]:
    """Splitting worth it from one item per process; `workers(n)` sets MODELREG_WORKERS."""
    monkeypatch.setattr(parallel, "MIN_PER_WORKER", 1)

    def use(count: int) -> None:
        monkeypatch.setenv("MODELREG_WORKERS", str(count))

    return use


@pytest.fixture
def parent_parts(monkeypatch: pytest.MonkeyPatch) -> list[list[Any]]:
    """The slices that `check_catalog`'s per-file work ran on in this process (a child's slice is
    listed only when the parent had to redo it)."""
    parts: list[list[Any]] = []
    parent = os.getpid()

    def spying(work: Work, items: Sequence[Any], *, min_per_worker: int | None = None) -> Iterator[list[Any]]:
        def recorded(part: Sequence[Any]) -> list[Any]:
            if os.getpid() == parent:
                parts.append(list(part))
            return work(part)

        return iter_chunks(recorded, items, min_per_worker=min_per_worker)

    monkeypatch.setattr(catalog_check, "iter_chunks", spying)
    return parts


@pytest.fixture
def no_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every revision compiled afresh: a cache hit would make serial and parallel trivially agree."""
    monkeypatch.setenv("MODELREG_CACHE", "0")


def map_chunks(work: Work, items: Sequence[Any], *, min_per_worker: int | None = None) -> list[Any]:
    """Every slice's results of `iter_chunks`, in one list."""
    with contextlib.closing(iter_chunks(work, items, min_per_worker=min_per_worker)) as chunks:
        return [result for chunk in chunks for result in chunk]


def squares_with_pid(items: Sequence[int]) -> list[Any]:
    pid = os.getpid()
    return [(item * item, pid) for item in items]


def open_fds() -> set[str]:
    return set(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else set()


def model_text(name: str, index: int, fields: Mapping[str, str] | None = None) -> str:
    """A model file; `fields` replace or add top-level keys (flow-style YAML values)."""
    values = {"name": name, "provider": name.split("/")[0],
              "capabilities": f"[{CAPABILITY_CYCLE[index % len(CAPABILITY_CYCLE)]}]",
              "priority": str(index % 7), "features": f"{{tool_calling: {'true' if index % 2 else 'false'}}}",
              "limits": f"{{context_window: {4096 * (index + 1)}}}", **(fields or {})}
    return "".join(f"{key}: {value}\n" for key, value in values.items())


# Valid models with cross-file relations, half of them across the two halves of a split.
GOOD_EXTRAS: dict[str, dict[str, str]] = {
    "acme/m04": {"lifecycle": "{status: deprecated, replacement: beta/b05}"},
    "acme/m09": {"lifecycle": "{status: deprecated, replacement: acme/m25}"},
    "acme/m25": {"lifecycle": "{status: deprecated, replacement: beta/b01}"},
    "beta/b07": {"lifecycle": "{status: retired, replacement: acme/m02}"},
    "acme/m15": {"capabilities": "[generation.text-completion]"},  # deprecated capability: a warning
    "acme/m20": {"x-team": "{owner: ml, tags: [a, b], weight: 1.5}", "description": "'Has: a colon'"},
    "beta/b03": {"modalities": "{input: [text, image], output: [text]}", "cost": "{input_per_mtok: 0.25}"},
}

# Files that break, in both halves: with 41 model files and two processes, the parent checks
# acme/m00..acme/m20 and the child acme/m21..ghost/orphan.
BROKEN_FILES: dict[str, str] = {
    "acme/m03": "name: acme/m03\nprovider: [acme\n",  # YAML syntax
    "beta/b02": model_text("beta/b02", 2, {"delivery": "later"}),  # schema
    "acme/m27": model_text("acme/m06", 27),  # the name of a file of the other half
    "ghost/orphan": model_text("ghost/orphan", 1),  # no ghost/provider.yaml
    "acme/m18": model_text("acme/m18", 18, {"features": "{visoin: true}"}),
    "beta/b04": model_text("beta/b04", 4, {"capabilities": "[generation.text-generatoin]"}),
}
BROKEN_EXTRAS: dict[str, dict[str, str]] = {
    "acme/m07": {"lifecycle": "{status: retired}"},  # without a replacement
    "beta/b09": {"lifecycle": "{status: deprecated, replacement: acme/m07}"},  # a retired one
    "acme/m11": {"lifecycle": "{status: deprecated, replacement: beta/b02}"},  # a broken file: no second error
    "acme/m12": {"lifecycle": "{status: deprecated, replacement: beta/b99}"},  # unknown
    "acme/m13": {"lifecycle": "{status: deprecated, replacement: beta/b06}"},  # a loop across the halves
    "beta/b06": {"lifecycle": "{status: deprecated, replacement: acme/m13}"},
    "beta/b08": {"lifecycle": "{status: deprecated, replacement: acme/m04}"},  # deprecated itself: a warning
}


def big_catalog(root: Path, *, broken: bool) -> Path:
    """40 model files of two providers (41 with the broken ones' orphan), every live node served."""
    write(root, "capabilities.yaml", CAPABILITIES)
    write(root, "acme/provider.yaml", PROVIDER)
    write(root, "beta/provider.yaml", PROVIDER.replace("acme", "beta").replace("ACME", "BETA")
          .replace("priority: 50", "priority: 40\n  lifecycle:\n    released: 2024-05-01"))
    names = [f"acme/m{i:02d}" for i in range(30)] + [f"beta/b{i:02d}" for i in range(10)]
    extras = {**GOOD_EXTRAS, **(BROKEN_EXTRAS if broken else {})}
    for index, name in enumerate(names):
        write(root, f"{name}.yaml", model_text(name, index, extras.get(name)))
    if broken:
        for rel, text in BROKEN_FILES.items():
            write(root, f"{rel}.yaml", text)
    return root


def outcome(check: CatalogCheck) -> dict[str, Any]:
    """Everything a check gives, as comparable values."""
    return {
        "diagnostics": check.diagnostics,
        "names": sorted(check.models),
        "models": {name: model.to_snapshot() for name, model in check.models.items()},
        "pools": {path: pool.names for path, pool in check.pools.items()},
        "providers": check.providers,
        "documents": {rel: (doc.file, doc.data) for rel, doc in check.documents.items()},
    }


def check_dir(root: Path) -> CatalogCheck:
    return check_catalog(DirectorySource(root, "models.d").read())


# -- iter_chunks -----------------------------------------------------------------------------


def test_worker_count_follows_the_setting_the_list_size_and_the_platform(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "usable_cores", lambda: 16)
    monkeypatch.delenv("MODELREG_WORKERS", raising=False)
    assert worker_count(100_000) == 8  # by default, up to 8 of the usable cores
    assert worker_count(2_999) == 2  # MIN_PER_WORKER (1000) items each at least
    assert worker_count(999) == 1
    assert worker_count(100, min_per_worker=10) == 8
    assert worker_count(30, min_per_worker=10) == 3
    monkeypatch.setattr(parallel, "MIN_PER_WORKER", 5)  # read at call time
    assert worker_count(15) == 3
    for setting, expected in (("1", 1), ("3", 3), ("12", 12), (" 2 ", 2), ("0", 8), ("-2", 8), ("many", 8)):
        monkeypatch.setenv("MODELREG_WORKERS", setting)
        assert worker_count(100, min_per_worker=1) == expected, setting
    monkeypatch.delenv("MODELREG_WORKERS")
    with monkeypatch.context() as windows:
        windows.delattr(os, "fork")
        assert worker_count(100_000) == 1
    monkeypatch.setattr(parallel, "usable_cores", lambda: 1)
    assert worker_count(100_000) == 1


def test_results_come_back_in_order_from_forked_processes(workers: Callable[[int], None]) -> None:
    workers(3)
    items = list(range(10))
    results = map_chunks(squares_with_pid, items)
    assert [square for square, _ in results] == [square for square, _ in squares_with_pid(items)]
    # Slices of 4, 4 and 2: the first done here, the others each in a child of their own.
    pids = [pid for _, pid in results]
    parent, first, second = os.getpid(), pids[4], pids[8]
    assert pids == [parent] * 4 + [first] * 4 + [second] * 2
    assert len({parent, first, second}) == 3
    # Fewer items than workers: one slice per item; min_per_worker bounds the split too.
    assert [pid == parent for _, pid in map_chunks(squares_with_pid, [7, 8])] == [True, False]
    assert len({pid for _, pid in map_chunks(squares_with_pid, items, min_per_worker=5)}) == 2
    assert map_chunks(squares_with_pid, []) == []


def test_one_worker_or_another_thread_means_no_fork(workers: Callable[[int], None]) -> None:
    items = list(range(6))
    workers(1)
    assert map_chunks(squares_with_pid, items) == squares_with_pid(items)
    workers(3)
    release = threading.Event()
    waiter = threading.Thread(target=release.wait)
    waiter.start()
    try:
        assert worker_count(len(items)) == 1
        assert map_chunks(squares_with_pid, items) == squares_with_pid(items)
    finally:
        release.set()
        waiter.join()
    assert worker_count(len(items)) == 3


def test_a_thread_just_joined_never_stops_the_split(workers: Callable[[int], None]) -> None:
    # The OS lists a joined thread for a moment after `join()` returns (seen in about one join of
    # ten): that thread is finished, and every one of these joins must leave the split as it was.
    workers(3)
    for _ in range(200):
        thread = threading.Thread(target=lambda: None)
        thread.start()
        thread.join()
        assert worker_count(6) == 3


def _listing_extra(monkeypatch: pytest.MonkeyPatch, tid: str, times: int | None) -> list[int]:
    """Make /proc/self/task list `tid` too, for the first `times` listings (always when None);
    returns the count of listings made."""
    listdir = os.listdir
    made = [0]

    def listing(path: str) -> list[str]:
        found = listdir(path)
        if path != "/proc/self/task":
            return found
        made[0] += 1
        return [*found, tid] if times is None or made[0] <= times else found

    monkeypatch.setattr(os, "listdir", listing)
    return made


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="the OS lists no tasks in /proc")
def test_a_task_that_leaves_within_the_grace_is_a_finished_thread(workers: Callable[[int], None],
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    workers(3)
    made = _listing_extra(monkeypatch, "999998", times=3)
    assert worker_count(6) == 3
    assert made[0] == 4  # listed three times with it, then once without


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="the OS lists no tasks in /proc")
def test_a_thread_python_does_not_know_of_means_no_fork(workers: Callable[[int], None],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    # A C library's thread is not in `threading`'s count; the OS lists it in /proc/self/task, and
    # it outlives the grace. It is waited for once: then it is known for what it is.
    workers(3)
    listdir = os.listdir
    _listing_extra(monkeypatch, "999999", times=None)
    assert worker_count(6) == 1
    slept: list[float] = []
    monkeypatch.setattr(time, "sleep", slept.append)
    assert worker_count(6) == 1
    assert map_chunks(squares_with_pid, list(range(6))) == squares_with_pid(list(range(6)))
    assert slept == []
    # Once it is gone, splitting is back.
    monkeypatch.setattr(os, "listdir", listdir)
    assert worker_count(6) == 3


def test_a_child_that_fails_has_its_slice_redone_here(workers: Callable[[int], None]) -> None:
    workers(3)
    parent = os.getpid()
    done_here: list[list[int]] = []

    def fragile(items: Sequence[int]) -> list[Any]:
        if os.getpid() != parent:
            raise RuntimeError("only the parent can do this")
        done_here.append(list(items))
        return squares_with_pid(items)

    before = open_fds()
    items = list(range(10))
    assert map_chunks(fragile, items) == squares_with_pid(items)
    assert done_here == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert open_fds() == before


def test_a_child_that_dies_has_its_slice_redone_here(workers: Callable[[int], None]) -> None:
    workers(2)
    parent = os.getpid()

    def mortal(items: Sequence[int]) -> list[Any]:
        if os.getpid() != parent:
            os.kill(os.getpid(), signal.SIGKILL)
        return squares_with_pid(items)

    items = list(range(5))
    assert map_chunks(mortal, items) == squares_with_pid(items)


def test_no_process_to_be_had_means_the_slice_is_done_here(workers: Callable[[int], None],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    workers(3)

    def no_fork() -> int:
        raise BlockingIOError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(os, "fork", no_fork)
    before = open_fds()
    items = list(range(10))
    assert map_chunks(squares_with_pid, items) == squares_with_pid(items)
    assert open_fds() == before


def test_results_that_marshal_cannot_carry_are_computed_here(workers: Callable[[int], None]) -> None:
    workers(3)
    parent = os.getpid()

    def opaque(items: Sequence[int]) -> list[Any]:
        if os.getpid() == parent:
            return squares_with_pid(items)
        return [(item * item, object()) for item in items]

    items = list(range(9))
    assert map_chunks(opaque, items) == squares_with_pid(items)


def test_a_failure_here_stops_and_reaps_the_children(workers: Callable[[int], None],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    workers(3)
    parent = os.getpid()
    children: list[int] = []
    fork = parallel._fork

    def recording_fork(work: Work, part: Sequence[Any]) -> tuple[int, int, Sequence[Any]] | Sequence[Any]:
        child = fork(work, part)
        assert isinstance(child, tuple)
        children.append(child[0])
        return child

    monkeypatch.setattr(parallel, "_fork", recording_fork)

    def failing_here(items: Sequence[int]) -> list[Any]:
        if os.getpid() == parent:
            raise ValueError("the parent's slice failed")
        time.sleep(60)  # a child still at work: it is killed, not waited for
        return []

    before = open_fds()
    started = time.monotonic()
    with pytest.raises(ValueError, match="the parent's slice failed"):
        map_chunks(failing_here, list(range(9)))
    assert time.monotonic() - started < 30
    assert len(children) == 2
    for pid in children:
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # already reaped: no zombie left
    assert open_fds() == before


def test_chunks_come_one_share_at_a_time_and_closing_stops_the_rest(workers: Callable[[int], None]) -> None:
    workers(3)
    parent = os.getpid()

    def slow_elsewhere(items: Sequence[int]) -> list[Any]:
        if os.getpid() != parent:
            time.sleep(60)
        return squares_with_pid(items)

    before = open_fds()
    started = time.monotonic()
    chunks = iter_chunks(slow_elsewhere, list(range(9)))
    # This process's share first, before any child is done.
    assert next(chunks) == squares_with_pid([0, 1, 2])
    chunks.close()
    assert time.monotonic() - started < 30
    assert open_fds() == before
    # One list per share, in order: 5 items over 3 processes are shares of 2, 2 and 1.
    shares = list(iter_chunks(squares_with_pid, list(range(5))))
    assert [[square for square, _ in share] for share in shares] == [[0, 1], [4, 9], [16]]
    assert [share[0][1] == parent for share in shares] == [True, False, False]


# -- check_catalog, serial and parallel --------------------------------------------------------


def test_a_catalog_checks_the_same_over_two_processes(tmp_path: Path, workers: Callable[[int], None],
                                                      parent_parts: list[list[Any]]) -> None:
    for broken in (False, True):
        root = big_catalog(tmp_path / ("broken" if broken else "good") / "models.d", broken=broken)
        workers(1)
        serial = check_dir(root)
        workers(2)
        parent_parts.clear()
        split = check_dir(root)
        # The parent checked the first half only: the child's results came back, not redone here.
        model_files = sorted(rel for rel in DirectorySource(root).read().contents
                             if rel.count("/") == 1 and not rel.endswith("/provider.yaml"))
        assert len(model_files) == (41 if broken else 40)
        assert parent_parts == [model_files[:(len(model_files) + 1) // 2]]
        assert outcome(split) == outcome(serial)
        assert split.diagnostics == serial.diagnostics
        if not broken:
            assert serial.ok() and len(serial.models) == 40
            assert {d.code for d in serial.diagnostics} == {"deprecated-capability", "deprecated-replacement"}
            assert serial.models["acme/m09"].lifecycle == {"status": "deprecated", "replacement": "acme/m25"}
            assert serial.models["beta/b01"].lifecycle == {"status": "active", "released": "2024-05-01"}
            assert serial.models["acme/m20"].extensions == {"x-team": {"owner": "ml", "tags": ["a", "b"],
                                                                       "weight": 1.5}}
            assert "beta/b07" not in serial.pools["generation"]  # retired
        else:
            assert serial.models == {} and serial.pools == {}
            found = {(d.file, d.code) for d in serial.diagnostics}
            assert found == {
                ("models.d/acme/m03.yaml", "yaml-syntax"),
                ("models.d/beta/b02.yaml", "enum"),
                ("models.d/acme/m27.yaml", "name-path-mismatch"),
                ("models.d/acme/m27.yaml", "duplicate-name"),
                ("models.d/acme/m06.yaml", "duplicate-name"),
                ("models.d/ghost/orphan.yaml", "unknown-provider"),
                ("models.d/acme/m18.yaml", "unknown-feature"),
                ("models.d/beta/b04.yaml", "unknown-capability"),
                ("models.d/acme/m07.yaml", "retired-without-replacement"),
                ("models.d/beta/b09.yaml", "bad-replacement"),
                ("models.d/acme/m12.yaml", "unknown-replacement"),
                ("models.d/acme/m13.yaml", "bad-replacement"),
                ("models.d/beta/b06.yaml", "bad-replacement"),
                ("models.d/acme/m09.yaml", "deprecated-replacement"),
                ("models.d/beta/b08.yaml", "deprecated-replacement"),
                ("models.d/acme/m15.yaml", "deprecated-capability"),
            }
            duplicates = [d for d in serial.diagnostics if d.code == "duplicate-name"]
            duplicate = next(d for d in duplicates if d.file.endswith("m27.yaml"))
            assert duplicate.message.startswith("model `acme/m06` is already defined in models.d/acme/m06.yaml:1;")
            original = next(d for d in duplicates if d.file.endswith("m06.yaml"))
            assert original.message.startswith("model `acme/m06` is defined again in models.d/acme/m27.yaml:1;")


def test_validate_and_compile_print_the_same_bytes_over_two_processes(
        tmp_path: Path, workers: Callable[[int], None], parent_parts: list[list[Any]],
        monkeypatch: pytest.MonkeyPatch) -> None:
    # Every run checks every file, so each split is seen: cached outcomes would spare the later runs.
    monkeypatch.setenv("MODELREG_CACHE", "0")
    good = str(big_catalog(tmp_path / "good", broken=False))
    broken = str(big_catalog(tmp_path / "broken", broken=True))
    output = str(tmp_path / "registry.json")

    def runs() -> list[tuple[Run, bytes | None]]:
        found: list[tuple[Run, bytes | None]] = []
        for argv in (("validate", "--catalog", good), ("validate", "--catalog", broken),
                     ("validate", "--catalog", broken, "--format", "json"),
                     ("compile", "--catalog", good, "-o", output), ("compile", "--catalog", broken, "-o", output)):
            if os.path.exists(output):
                os.unlink(output)
            run = run_cli(*argv)
            found.append((run, Path(output).read_bytes() if os.path.exists(output) else None))
        return found

    workers(1)
    serial = runs()
    assert [len(part) for part in parent_parts] == [40, 41, 41, 40, 41]  # each run's files in one slice
    workers(2)
    parent_parts.clear()
    split = runs()
    assert [len(part) for part in parent_parts] == [20, 21, 21, 20, 21]  # the other half in a child
    assert split == serial
    assert [run.code for run, _ in serial] == [0, 1, 1, 0, 1]
    assert serial[3][1] is not None and b'"acme/m00"' in serial[3][1]
    assert serial[4][1] is None
    assert "invalid (13 error(s), 3 warning(s))" in serial[1][0].err


# -- revisions read as a stream ----------------------------------------------------------------


@pytest.fixture
def repo(catalog: Path) -> Path:
    root = init_repo(catalog.parent)
    commit_all(root, "catalog", date=JAN)
    return root


def test_a_deferred_revision_lists_every_file_and_reads_on_take(repo: Path, catalog: Path) -> None:
    # A symlink to a model (read as its target), one leaving the catalog and a file over the cap
    # (refused up front either way), and a non-YAML file (never listed).
    (catalog / "acme/alias.yaml").symlink_to("chat-large.yaml")
    (catalog / "acme/escape.yaml").symlink_to("../../elsewhere.yaml")
    write(catalog, "acme/huge.yaml", "x" * (MAX_FILE_BYTES + 1))
    write(catalog, "acme/NOTES.txt", "not read")
    head = commit_all(repo, "more files", date=FEB)
    state = catalog_repo(catalog)
    eager = GitSource(state, head).read()
    lazy = GitSource(state, head).read(defer=True)

    assert lazy.contents == {}
    assert [d.code for d in eager.diagnostics] == ["symlink", "file-too-large"]
    assert eager.paths() == sorted(eager.contents) == [
        "acme/alias.yaml", "acme/chat-large.yaml", "acme/coder.yaml", "acme/embed-small.yaml",
        "acme/provider.yaml", "capabilities.yaml"]
    # Deferred, a file's size is found out as it is read: the oversized one is listed until taken,
    # then refused unread, and checking reports it as the eager read did.
    assert lazy.diagnostics == eager.diagnostics[:1]
    assert lazy.paths() == sorted([*eager.paths(), "acme/huge.yaml"])
    assert list(lazy.take(["acme/huge.yaml", "acme/huge.yaml"])) == [("acme/huge.yaml", MAX_FILE_BYTES + 1)] * 2
    assert lazy.oversized == {"acme/huge.yaml": MAX_FILE_BYTES + 1} and "acme/huge.yaml" not in lazy.deferred
    assert check_catalog(GitSource(state, head).read(defer=True)).diagnostics == check_catalog(eager).diagnostics
    assert lazy.paths() == sorted([*eager.paths(), "acme/huge.yaml"])
    assert eager.contents["acme/alias.yaml"] == eager.contents["acme/chat-large.yaml"] == CHAT.encode()

    # A few files taken, in the order asked: they move from `deferred` to `contents`.
    wanted = ["capabilities.yaml", "acme/alias.yaml", "acme/chat-large.yaml"]
    assert list(lazy.take(wanted)) == [(rel, eager.contents[rel]) for rel in wanted]
    assert lazy.contents == {rel: eager.contents[rel] for rel in wanted}
    assert sorted(lazy.deferred) == ["acme/coder.yaml", "acme/embed-small.yaml", "acme/provider.yaml"]
    assert lazy.paths() == sorted([*eager.paths(), "acme/huge.yaml"])
    # Taking the rest, with files already read among them, reads only what is left.
    asked: list[list[str]] = []
    assert lazy.reader is not None
    reader = lazy.reader

    def counting(shas: list[str]) -> Iterator[bytes | int]:
        asked.append(shas)
        return reader(shas)

    lazy.reader = counting
    assert dict(lazy.take(lazy.paths())) == {**eager.contents, "acme/huge.yaml": MAX_FILE_BYTES + 1}
    assert [len(shas) for shas in asked] == [3]
    assert lazy.deferred == {} and lazy.contents == eager.contents
    assert list(lazy.take(["capabilities.yaml"])) == [("capabilities.yaml", eager.contents["capabilities.yaml"])]
    assert len(asked) == 1  # nothing deferred: git not run again
    with pytest.raises(KeyError, match=r"acme/missing\.yaml"):
        list(lazy.take(["acme/missing.yaml"]))


def test_a_deferred_revision_checks_and_compiles_as_the_eager_one(
        tmp_path: Path, workers: Callable[[int], None], parent_parts: list[list[Any]], no_cache: None) -> None:
    catalog = big_catalog(tmp_path / "models.d", broken=False)
    repo = init_repo(tmp_path)
    first = commit_all(repo, "catalog", date=JAN)
    write(catalog, "acme/m30.yaml", model_text("acme/m30", 30))
    head = commit_all(repo, "one more", date=FEB)
    state = catalog_repo(catalog)

    workers(1)
    eager = GitSource(state, head).read()
    serial = check_catalog(eager)
    workers(2)
    lazy = GitSource(state, head).read(defer=True)
    parent_parts.clear()
    split = check_catalog(lazy)
    assert len(parent_parts) == 1 and len(parent_parts[0]) == 21  # the child's 20 came back
    assert outcome(split) == outcome(serial)
    # The bytes the child read came back with its results.
    assert lazy.deferred == {} and lazy.contents == eager.contents

    workers(1)
    serial_head = compile_catalog(catalog, rev="HEAD")
    serial_first = compile_catalog(catalog, rev=first)
    assert run_cli("compile", "--catalog", str(catalog), "--rev", "HEAD", "-o", str(tmp_path / "serial.json")).code == 0
    workers(2)
    parent_parts.clear()
    assert compile_catalog(catalog, rev="HEAD").raw == serial_head.raw
    assert compile_catalog(catalog, rev=first).raw == serial_first.raw
    assert compile_catalog(catalog).raw == serial_head.raw  # the work tree, clean at HEAD
    run = run_cli("compile", "--catalog", str(catalog), "--rev", "HEAD", "-o", str(tmp_path / "split.json"))
    assert run.code == 0, run.err
    assert (tmp_path / "split.json").read_bytes() == (tmp_path / "serial.json").read_bytes() == serial_head.raw
    assert [len(part) for part in parent_parts] == [21, 20, 21, 21]  # every compile split in two
    models = serial_head.document["models"]
    assert len(models) == 41
    assert models["acme/m30"]["registered_at"] == "2024-02-01T00:00:00+00:00"
    assert models["beta/b09"]["registered_at"] == "2024-01-01T00:00:00+00:00"


def test_a_child_that_fails_after_reading_a_revision_has_its_files_read_here(
        tmp_path: Path, workers: Callable[[int], None], monkeypatch: pytest.MonkeyPatch) -> None:
    catalog = big_catalog(tmp_path / "models.d", broken=True)
    head = commit_all(init_repo(tmp_path), "catalog", date=JAN)
    state = catalog_repo(catalog)
    workers(1)
    eager = GitSource(state, head).read()
    serial = check_catalog(eager)
    parent = os.getpid()
    done_here: list[int] = []

    def failing_children(work: Work, items: Sequence[Any], *,
                         min_per_worker: int | None = None) -> Iterator[list[Any]]:
        def lost(part: Sequence[Any]) -> list[Any]:
            results = work(part)  # a child reads its files from git, then fails
            if os.getpid() != parent:
                raise RuntimeError("lost on the way back")
            done_here.append(len(part))
            return results

        return iter_chunks(lost, items, min_per_worker=min_per_worker)

    monkeypatch.setattr(catalog_check, "iter_chunks", failing_children)
    workers(2)
    lazy = GitSource(state, head).read(defer=True)
    assert outcome(check_catalog(lazy)) == outcome(serial)
    assert done_here == [21, 20]  # the child's half redone here, read here again
    assert lazy.deferred == {} and lazy.contents == eager.contents


def test_an_invalid_revision_reports_the_same_over_two_processes(
        tmp_path: Path, workers: Callable[[int], None], no_cache: None) -> None:
    catalog = big_catalog(tmp_path / "models.d", broken=True)
    repo = init_repo(tmp_path)
    commit_all(repo, "catalog", date=JAN)
    output = str(tmp_path / "never.json")
    workers(1)
    serial = run_cli("compile", "--catalog", str(catalog), "--rev", "HEAD", "-o", output)
    workers(2)
    split = run_cli("compile", "--catalog", str(catalog), "--rev", "HEAD", "-o", output)
    assert split == serial
    assert serial.code == 1
    # Positions in files checked by the child, and in cross-file checks of them, as serial ones.
    assert f"{catalog}/beta/b09.yaml:7:46: error[bad-replacement]: replacement `acme/m07` is itself " \
           "retired" in serial.err
    assert f"{catalog}/acme/m27.yaml:1:7: error[duplicate-name]: model `acme/m06` is already defined in " \
           f"{catalog}/acme/m06.yaml:1;" in serial.err
    assert serial.err.endswith(f"{catalog} at HEAD: invalid; nothing written to {output}\n")
    assert not os.path.exists(output)


def test_streamed_blobs_come_in_order_and_a_missing_one_is_named(repo: Path, catalog: Path) -> None:
    state = catalog_repo(catalog)
    git_runner = state.git
    entries = state.tree_entries(git(repo, "rev-parse", "HEAD"))
    chat, coder = entries["acme/chat-large.yaml"].sha, entries["acme/coder.yaml"].sha
    chat_bytes = (catalog / "acme/chat-large.yaml").read_bytes()
    coder_bytes = (catalog / "acme/coder.yaml").read_bytes()
    assert list(git_runner.stream_blobs([coder, chat, coder])) == [coder_bytes, chat_bytes, coder_bytes]
    assert list(git_runner.stream_blobs([])) == []
    missing = "0123456789abcdef0123456789abcdef01234567"
    stream = git_runner.stream_blobs([chat, missing, coder])
    assert next(stream) == chat_bytes  # what comes before the missing one is delivered
    with pytest.raises(StateError, match=f"^cannot read git object {missing}: it is missing or corrupt; the "
                                         r"repository is damaged: `git fsck --full` lists what is missing or corrupt$"):
        next(stream)
    # A stream left half read stops its git when closed.
    stream = git_runner.stream_blobs([chat, coder])
    assert next(stream) == chat_bytes
    assert isinstance(stream, Generator)
    stream.close()
    # A deferred file whose object is gone fails when taken, naming it.
    files = CatalogFiles("models.d", deferred={"acme/gone.yaml": missing}, reader=git_runner.stream_blobs)
    with pytest.raises(StateError, match=missing):
        list(files.take(["acme/gone.yaml"]))
    assert files.deferred == {"acme/gone.yaml": missing} and files.contents == {}


def test_taking_a_deferred_path_twice_keeps_the_later_paths_right() -> None:
    blobs = {"sha-a": b"A", "sha-b": b"B"}

    def reader(shas: list[str]) -> Iterator[bytes]:
        return (blobs[sha] for sha in shas)

    files = CatalogFiles("", deferred={"a.yaml": "sha-a", "b.yaml": "sha-b"}, reader=reader)
    assert list(files.take(["a.yaml", "a.yaml", "b.yaml"])) == [("a.yaml", b"A"), ("a.yaml", b"A"),
                                                                ("b.yaml", b"B")]


# -- git in the background ---------------------------------------------------------------------


class Unraisable:
    """Collects what Python could not raise (a `__del__`'s ResourceWarning under -W error)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.seen: list[str] = []
        monkeypatch.setattr(sys, "unraisablehook", self._hook)

    def _hook(self, info: Any) -> None:
        self.seen.append(f"{info.exc_type.__name__}: {info.exc_value}")


def drop_cleanly(held: list[Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """Drop the last reference to what `held` holds: no warning, nothing unraisable."""
    unraisable = Unraisable(monkeypatch)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        held.clear()
        gc.collect()
    assert [str(w.message) for w in caught] == []
    assert unraisable.seen == []


def test_prefetched_dates_never_asked_for_are_cleaned_up(repo: Path, catalog: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[GitRun] = []
    start = Git.start

    def recording_start(self: Git, *args: str) -> GitRun:
        started.append(start(self, *args))
        return started[-1]

    monkeypatch.setattr(Git, "start", recording_start)
    held = [dates_of(catalog)]
    held[0].prefetch([git(repo, "rev-parse", "HEAD")])
    (run,) = started
    assert run.args[0] == "log"
    proc, files, gone = run._proc, (run._out, run._err), weakref.ref(run)
    del run
    started.clear()

    drop_cleanly(held, monkeypatch)
    assert gone() is None
    assert proc.returncode is not None
    assert all(file.closed for file in files)
    with pytest.raises(ChildProcessError):
        os.waitpid(proc.pid, os.WNOHANG)  # reaped


def test_a_background_git_still_running_when_dropped_is_killed(repo: Path, catalog: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    git_runner = catalog_repo(catalog).git
    command = git_runner._command

    def slow(args: Any, env: Mapping[str, str] | None) -> tuple[list[str], dict[str, str]]:
        _, full = command(args, env)
        return ["sleep", "60"], full  # stands in for a long history walk

    monkeypatch.setattr(git_runner, "_command", slow)
    held = [git_runner.start("log")]
    proc, files = held[0]._proc, (held[0]._out, held[0]._err)
    assert proc.poll() is None

    started = time.monotonic()
    drop_cleanly(held, monkeypatch)
    assert time.monotonic() - started < 30
    assert proc.returncode == -signal.SIGKILL
    assert all(file.closed for file in files)


def test_a_collected_background_git_is_closed_at_once(repo: Path, catalog: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    held = [catalog_repo(catalog).git.start("rev-parse", "HEAD")]
    run = held[0]
    assert run.result().decode().strip() == git(repo, "rev-parse", "HEAD")
    assert run._out.closed and run._err.closed and run._proc.returncode == 0
    del run
    drop_cleanly(held, monkeypatch)


# -- registration dates since a base ----------------------------------------------------------


def test_registration_changes_bring_a_base_up_to_date(repo: Path, catalog: Path) -> None:
    state = dates_of(catalog)
    base = git(repo, "rev-parse", "HEAD")
    write(catalog, "acme/new.yaml", model_text("acme/new", 3))
    commit_all(repo, "add new", date=FEB)
    (catalog / "acme/embed-small.yaml").unlink()
    head = commit_all(repo, "remove embed", date=MAR)

    changes = state.changes(base, head)
    assert changes == {"acme/new.yaml": datetime(2024, 2, 1, tzinfo=UTC), "acme/embed-small.yaml": None}
    brought = {**state.dates(base), **changes}
    assert {rel: when for rel, when in brought.items() if when is not None} == state.dates(head)
    assert state.changes(head, head) == {}
    assert state.changes(head, base) is None


def test_an_oversized_file_gets_the_same_diagnostics_in_a_revision_as_in_the_work_tree(catalog: Path) -> None:
    # A revision read as it is checked learns a file's size only then; the file still gets what
    # the work tree gives it: refused for its size, and then as absent (`missing-file` for the
    # tree, `unknown-replacement` for a model naming it).
    root = init_repo(catalog.parent)
    write(catalog, "acme/coder.yaml", (catalog / "acme/coder.yaml").read_text()
          + "lifecycle:\n  status: deprecated\n  replacement: acme/chat-large\n")
    padding = "".join(f"# {i:08d} {'x' * 60}\n" for i in range(MAX_FILE_BYTES // 60))
    write(catalog, "acme/chat-large.yaml", CHAT + padding)
    write(catalog, "capabilities.yaml", (catalog / "capabilities.yaml").read_text() + padding)
    commit = commit_all(root, "oversized", date=JAN)

    def codes(diagnostics: list[Diagnostic]) -> list[tuple[str, str]]:
        return sorted((d.file, d.code) for d in diagnostics)

    worktree = check_catalog(DirectorySource(catalog, "models.d").read())
    source = GitSource(catalog_repo(catalog), commit)
    source.display_root = "models.d"
    revision = check_catalog(source.read(defer=True))
    assert codes(revision.diagnostics) == codes(worktree.diagnostics)
