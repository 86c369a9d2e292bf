"""The per-file outcome cache: a compile after a change checks what changed and what depends on
it, gives the bytes a compile without the cache gives, and takes nothing from a cache it cannot
trust."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import modelreg.check.outcome_cache as outcome_cache
from modelreg.build.compile import compile_catalog
from modelreg.build.fingerprint import compiler_fingerprint
from modelreg.build.outcome_store import outcomes_for, worktree_memo_for
from modelreg.build.worktree_memo import WorktreeMemo
from modelreg.catalog.directory import DirectorySource
from modelreg.check.outcome_cache import OutcomeCache, seal, unseal
from tests.build.conftest import count_reads
from tests.conftest import PROVIDER, REPO, run_cli, write
from tests.git_helpers import commit_all, init_repo

BETA = PROVIDER.replace("acme", "beta").replace("Acme AI", "Beta").replace("ACME", "BETA")
BETA_MODEL = "name: beta/small\nprovider: beta\ncapabilities: [generation.text-generation]\n"


def compiled(catalog: Path, out: Path, *extra: str) -> bytes:
    run = run_cli("compile", "--catalog", str(catalog), "-o", str(out), *extra)
    assert run.code == 0, run.err
    return out.read_bytes()


def uncached(catalog: Path, tmp_path: Path) -> bytes:
    return compiled(catalog, tmp_path / "uncached.json", "--no-cache")


def cache_file(catalog: Path) -> Path:
    cache = outcomes_for(catalog)
    assert cache is not None
    return cache.path


def memo_file(catalog: Path) -> Path:
    memo = worktree_memo_for(catalog)
    assert memo is not None
    return memo.path


def forget(catalog: Path) -> None:
    """Drop the memo of the last compile, so that the next one goes to the per-file cache."""
    memo_file(catalog).unlink(missing_ok=True)


def test_after_a_one_file_change_only_that_file_is_parsed_and_checked(
        catalog: Path, tmp_path: Path, parsed: list[str]) -> None:
    out = tmp_path / "registry.json"
    first = compiled(catalog, out)
    assert sorted(parsed) == ["acme/chat-large.yaml", "acme/coder.yaml", "acme/embed-small.yaml"]
    assert cache_file(catalog).is_file()
    assert cache_file(catalog).parent == Path(os.environ["XDG_CACHE_HOME"]) / "modelreg"
    parsed.clear()
    assert compiled(catalog, out) == first
    assert parsed == []
    chat = catalog / "acme/chat-large.yaml"
    chat.write_text(chat.read_text(encoding="utf-8").replace("priority: 10", "priority: 1"), encoding="utf-8")
    changed = compiled(catalog, out)
    assert parsed == ["acme/chat-large.yaml"]
    assert changed != first and b'"priority":1,' in changed
    parsed.clear()
    assert uncached(catalog, tmp_path) == changed
    assert sorted(parsed) == ["acme/chat-large.yaml", "acme/coder.yaml", "acme/embed-small.yaml"]


def test_validate_shares_the_cache_and_reports_the_same(catalog: Path, parsed: list[str]) -> None:
    write(catalog, "acme/broken.yaml", "name: acme/broken\nprovider: acme\ncapabilities: [generaton]\nbatch: yes\n")
    first = run_cli("validate", "--catalog", str(catalog))
    assert first.code == 1 and "unknown-capability" in first.err and "yaml-ambiguous" in first.err
    assert len(parsed) == 4
    parsed.clear()
    again = run_cli("validate", "--catalog", str(catalog))
    assert (again.code, again.out, again.err) == (first.code, first.out, first.err)
    assert parsed == []
    fresh = run_cli("validate", "--catalog", str(catalog), "--no-cache")
    assert (fresh.code, fresh.out, fresh.err) == (first.code, first.out, first.err)
    assert len(parsed) == 4


def test_a_provider_change_rechecks_that_providers_models_alone(
        catalog: Path, tmp_path: Path, parsed: list[str]) -> None:
    write(catalog, "beta/provider.yaml", BETA)
    write(catalog, "beta/small.yaml", BETA_MODEL)
    out = tmp_path / "registry.json"
    compiled(catalog, out)
    parsed.clear()
    provider = catalog / "acme/provider.yaml"
    provider.write_text(PROVIDER.replace("priority: 50", "priority: 7").replace("8192", "4096"), encoding="utf-8")
    changed = compiled(catalog, out)
    assert sorted(parsed) == ["acme/chat-large.yaml", "acme/coder.yaml", "acme/embed-small.yaml"]
    assert b'"priority":7' in changed
    assert uncached(catalog, tmp_path) == changed


def test_a_tree_change_rechecks_every_model(catalog: Path, tmp_path: Path, parsed: list[str]) -> None:
    out = tmp_path / "registry.json"
    compiled(catalog, out)
    parsed.clear()
    tree = catalog / "capabilities.yaml"
    tree.write_text(tree.read_text(encoding="utf-8").replace("  json_mode: Returns JSON.\n", ""), encoding="utf-8")
    changed = compiled(catalog, out)
    assert len(parsed) == 3
    assert uncached(catalog, tmp_path) == changed


def test_a_newly_broken_provider_is_reported_from_cached_models_too(catalog: Path, parsed: list[str]) -> None:
    assert run_cli("validate", "--catalog", str(catalog)).code == 0
    (catalog / "acme/provider.yaml").write_text(PROVIDER.replace("api: openai", "api: [openai"), encoding="utf-8")
    cached = run_cli("validate", "--catalog", str(catalog))
    fresh = run_cli("validate", "--catalog", str(catalog), "--no-cache")
    assert cached.code == 1 and (cached.out, cached.err) == (fresh.out, fresh.err)


@pytest.mark.parametrize("off", ["--no-cache", "MODELREG_CACHE=0"])
def test_the_cache_can_be_turned_off(catalog: Path, tmp_path: Path, parsed: list[str],
                                     monkeypatch: pytest.MonkeyPatch, off: str) -> None:
    flags = [off] if off.startswith("--") else []
    if not flags:
        monkeypatch.setenv("MODELREG_CACHE", "0")
    for _ in range(2):
        compiled(catalog, tmp_path / "registry.json", *flags)
        assert run_cli("validate", "--catalog", str(catalog), *flags).code == 0
    assert len(parsed) == 12
    assert not (Path(os.environ["XDG_CACHE_HOME"]) / "modelreg").exists()


def _header(cache: Path) -> bytes:
    return OutcomeCache(cache, compiler_fingerprint())._header


def _sealed(cache: Path, entries: dict[bytes, Any]) -> None:
    # A cache file as the compiler writes it, around `entries`.
    cache.write_bytes(seal(_header(cache), entries))


def _entries(cache: Path) -> dict[bytes, Any]:
    entries: dict[bytes, Any] = unseal(_header(cache), cache.read_bytes())
    return entries


def _swap_outcomes(cache: Path) -> None:
    # Each file's outcome filed under another file's key: only what an entry names gives it away.
    entries = _entries(cache)
    keys = sorted(entries)
    outcomes = [entries[k] for k in keys]
    _sealed(cache, {k: outcomes[(i + 1) % len(keys)] for i, k in enumerate(keys)})


def _stale_content(cache: Path) -> None:
    # Each entry claims the right file, with the digest of other content.
    _sealed(cache, {k: (v[0], b"\0" * 20, *v[2:]) for k, v in _entries(cache).items()})


def _malformed(cache: Path) -> None:
    _sealed(cache, {k: ("not", "an", "entry") for k in _entries(cache)} | {b"x": None})


def _another_version(cache: Path) -> None:
    # The format's version ends the file's first field: `modelreg-outcomes 2\0...`.
    raw = cache.read_bytes()
    end = raw.index(b"\0")
    assert raw[end - 1:end].isdigit()
    cache.write_bytes(raw[:end - 1] + b"9" + raw[end:])


def _directory(cache: Path) -> None:
    cache.unlink()
    cache.mkdir()


CORRUPTIONS: dict[str, Callable[[Path], object]] = {
    "truncated": lambda p: p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2]),
    "cut at the header": lambda p: p.write_bytes(p.read_bytes()[:10]),
    "empty": lambda p: p.write_bytes(b""),
    "garbage": lambda p: p.write_bytes(os.urandom(4096)),
    "a flipped byte": lambda p: p.write_bytes(p.read_bytes()[:-5] + bytes([p.read_bytes()[-5] ^ 1])
                                              + p.read_bytes()[-4:]),
    "another format version": _another_version,
    "another compiler": lambda p: p.write_bytes(p.read_bytes().replace(compiler_fingerprint().encode(),
                                                                       b"0" * 64, 1)),
    "outcomes under other keys": _swap_outcomes,
    "entries for other content": _stale_content,
    "malformed entries": _malformed,
    "a directory": _directory,
}


@pytest.mark.parametrize("corrupt", sorted(CORRUPTIONS))
def test_a_corrupted_cache_is_ignored_and_rebuilt(catalog: Path, tmp_path: Path, parsed: list[str],
                                                  corrupt: str) -> None:
    out = tmp_path / "registry.json"
    expected = compiled(catalog, out)
    CORRUPTIONS[corrupt](cache_file(catalog))
    forget(catalog)
    parsed.clear()
    assert compiled(catalog, tmp_path / "again.json") == expected
    assert sorted(parsed) == ["acme/chat-large.yaml", "acme/coder.yaml", "acme/embed-small.yaml"]
    parsed.clear()
    forget(catalog)
    assert compiled(catalog, tmp_path / "third.json") == expected
    # Rebuilt, unless it cannot be written at all (a directory stands where the file goes).
    assert len(parsed) == (3 if corrupt == "a directory" else 0)


def _resealed(memo: Path, change: Callable[[dict[str, Any]], None]) -> None:
    header = WorktreeMemo(memo, compiler_fingerprint())._header
    content = unseal(header, memo.read_bytes())
    change(content)
    memo.write_bytes(seal(header, content))


def _tampered_snapshot(memo: Path) -> None:
    # The bytes beside the memo, changed without their seal.
    beside = memo.with_suffix(".snapshot")
    raw = beside.read_bytes()
    assert b'"priority":5,' in raw  # acme/coder's, a record a derivation copies
    beside.write_bytes(raw.replace(b'"priority":5,', b'"priority":7,'))


def _another_snapshot(memo: Path, other: bytes) -> None:
    # Bytes that seal themselves, but to another digest than the memo names: another compile's.
    memo.with_suffix(".snapshot").write_bytes(other)


def _digests_swapped(content: dict[str, Any]) -> None:
    # Stat records that vouch for other content: the key of what they claim is not the memo's.
    names, signatures, digests = content["files"]
    size = len(digests) // len(names)
    each = [digests[size * i:size * (i + 1)] for i in range(len(names))]
    models = [i for i, rel in enumerate(names) if rel.startswith("acme/") and rel != "acme/provider.yaml"]
    for i, j in zip(models, models[1:] + models[:1], strict=True):
        each[i] = digests[size * j:size * (j + 1)]
    content["files"] = (names, signatures, b"".join(each))


# Each corrupts the memo at the path it is given; `other` is the bytes of another compile's snapshot.
MEMO_CORRUPTIONS: dict[str, Callable[[Path, bytes], object]] = {
    name: lambda p, other, corrupt=CORRUPTIONS[name]: corrupt(p)
    for name in ("truncated", "cut at the header", "empty", "garbage", "a flipped byte", "another format version",
                 "another compiler", "a directory")
} | {
    "a tampered snapshot": lambda p, other: _tampered_snapshot(p),
    "another compile's snapshot": _another_snapshot,
    "stat records of other content": lambda p, other: _resealed(p, _digests_swapped),
    "no snapshot": lambda p, other: p.with_suffix(".snapshot").unlink(),
    "no facts": lambda p, other: _resealed(p, lambda c: c.pop("facts")),
    "no index": lambda p, other: _resealed(p, lambda c: c.pop("index")),
}


@pytest.mark.parametrize("corrupt", sorted(MEMO_CORRUPTIONS))
def test_a_corrupted_memo_of_the_last_compile_is_ignored(catalog: Path, tmp_path: Path, corrupt: str) -> None:
    out = tmp_path / "registry.json"
    expected = compiled(catalog, out)
    chat = catalog / "acme/chat-large.yaml"
    before = chat.read_bytes()
    chat.write_bytes(before.replace(b"priority: 10", b"priority: 19"))
    changed = compiled(catalog, out)
    chat.write_bytes(before)
    os.utime(memo_file(catalog), ns=(2 * 10**18, 2 * 10**18))  # written after every file: stats are trusted
    MEMO_CORRUPTIONS[corrupt](memo_file(catalog), expected)
    assert compiled(catalog, tmp_path / "again.json") == expected != changed
    assert compiled(catalog, tmp_path / "third.json") == expected
    assert uncached(catalog, tmp_path) == expected


def test_a_no_op_compile_reads_no_file_and_a_racy_one_is_read(catalog: Path, tmp_path: Path, parsed: list[str],
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    chat = catalog / "acme/chat-large.yaml"
    old, racy = 1_500_000_000 * 10**9, 1_600_000_000 * 10**9
    for path in catalog.rglob("*.yaml"):
        os.utime(path, ns=(old, racy if path == chat else old))
    out = tmp_path / "registry.json"
    expected = compiled(catalog, out)
    reads = count_reads(monkeypatch)
    memo = memo_file(catalog)
    os.utime(memo, ns=(racy + 10**9, racy + 10**9))  # written a second after the newest file
    parsed.clear()
    assert compiled(catalog, out) == expected
    assert (reads, parsed) == ([], [])
    # A file modified within the second the memo was written in may have changed since, unseen.
    os.utime(memo, ns=(racy + 999_999_999, racy + 999_999_999))
    store = worktree_memo_for(catalog)
    assert store is not None
    listing = store.listing(DirectorySource(catalog))
    assert listing is not None
    assert [rel for rel, d in listing.digests.items() if d is None] == ["acme/chat-large.yaml"]
    assert compiled(catalog, out) == expected
    assert reads == ["acme/chat-large.yaml"]  # the racy file alone, to prove it did not change
    assert parsed == []


def test_the_cache_has_a_bound_and_prunes_the_least_recently_used(
        catalog: Path, tmp_path: Path, parsed: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(outcome_cache, "MAX_ENTRIES", 2)
    out = tmp_path / "registry.json"
    expected = compiled(catalog, out)
    store = outcomes_for(catalog)
    assert store is not None and len(store) == 2
    parsed.clear()
    forget(catalog)
    assert compiled(catalog, out) == expected
    assert len(parsed) == 1  # the one pruned
    assert len(_entries(cache_file(catalog))) == 2


def test_two_compiles_racing_on_one_cache(catalog: Path, tmp_path: Path, parsed: list[str]) -> None:
    for i in range(40):
        write(catalog, f"acme/m{i:02}.yaml", f"name: acme/m{i:02}\nprovider: acme\n"
                                             "capabilities: [generation.text-generation]\n")
    expected = uncached(catalog, tmp_path)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "compiler"), os.environ.get("PYTHONPATH", "")])}
    procs = [subprocess.Popen([sys.executable, "-m", "modelreg", "compile", "--catalog", str(catalog),
                               "-o", str(tmp_path / f"race{i}.json")], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for i in range(2)]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    assert (tmp_path / "race0.json").read_bytes() == expected == (tmp_path / "race1.json").read_bytes()
    parsed.clear()
    # Whichever writer won, each file is whole.
    memo = memo_file(catalog)
    assert sorted(p.name for p in cache_file(catalog).parent.iterdir()) == [
        cache_file(catalog).name, memo.name, memo.with_suffix(".outputs").name, memo.with_suffix(".snapshot").name]
    assert compiled(catalog, tmp_path / "after.json") == expected
    forget(catalog)
    assert compiled(catalog, tmp_path / "after.json") == expected
    assert parsed == []


def test_a_no_op_compile_leaves_the_snapshot_alone(catalog: Path, tmp_path: Path) -> None:
    out = tmp_path / "registry.json"
    first = compiled(catalog, out)
    os.utime(out, ns=(1_000_000_000, 1_000_000_000))  # long ago: any rewrite shows
    assert compiled(catalog, out) == first
    assert out.stat().st_mtime_ns == 1_000_000_000
    write(catalog, "acme/new.yaml", "name: acme/new\nprovider: acme\ncapabilities: [embedding]\n")
    assert compiled(catalog, out) != first
    assert out.stat().st_mtime_ns != 1_000_000_000


def test_revisions_and_the_work_tree_share_the_cache_in_git(tmp_path: Path, catalog: Path,
                                                            parsed: list[str]) -> None:
    init_repo(tmp_path)
    commit_all(tmp_path, "catalog")
    out = tmp_path / "build" / "registry.json"
    compiled(catalog, out)
    store = tmp_path / ".git" / "modelreg" / "outcomes.bin"
    assert cache_file(catalog) == store and store.is_file()
    assert not (Path(os.environ["XDG_CACHE_HOME"]) / "modelreg").exists()
    parsed.clear()
    head = compiled(catalog, tmp_path / "head.json", "--rev", "HEAD")
    assert parsed == []  # the same files as the work tree: nothing to check
    chat = catalog / "acme/chat-large.yaml"
    chat.write_text(chat.read_text(encoding="utf-8").replace("priority: 10", "priority: 3"), encoding="utf-8")
    commit_all(tmp_path, "chat first")
    parsed.clear()
    after = compiled(catalog, tmp_path / "after.json", "--rev", "HEAD")
    assert parsed == ["acme/chat-large.yaml"]
    assert after == compiled(catalog, tmp_path / "fresh.json", "--rev", "HEAD", "--no-cache") != head
    parsed.clear()
    diff = run_cli("diff", "HEAD~1", "--catalog", str(catalog))
    assert diff.code == 0 and "acme/chat-large" in diff.out
    assert parsed == []
    assert run_cli("diff", "HEAD~1", "--catalog", str(catalog), "--no-cache").out == diff.out
    # The base in full; the work tree (HEAD) derived from it, its one changed file parsed.
    assert len(parsed) == 4


def test_a_memoised_compile_reports_its_warnings_and_fails_on_them_under_strict(catalog: Path,
                                                                                tmp_path: Path) -> None:
    write(catalog, "acme/legacy.yaml",
          "name: acme/legacy\nprovider: acme\ncapabilities: [generation.text-completion]\n")
    out = str(tmp_path / "registry.json")
    first = run_cli("compile", "--catalog", str(catalog), "-o", out)
    assert first.code == 0 and "warning[deprecated-capability]" in first.err
    assert memo_file(catalog).is_file()
    again = run_cli("compile", "--catalog", str(catalog), "-o", out)
    assert (again.code, again.out, again.err) == (first.code, first.out, first.err)
    strict = run_cli("compile", "--catalog", str(catalog), "-o", out, "--strict")
    assert strict.code == 1 and "warning[deprecated-capability]" in strict.err
    assert strict.err == run_cli("compile", "--catalog", str(catalog), "-o", out, "--strict", "--no-cache").err


def test_a_memoised_snapshot_is_the_fresh_one_down_to_its_document_order(catalog: Path, tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    fresh = compile_catalog(catalog)
    os.utime(memo_file(catalog), ns=(2 * 10**18, 2 * 10**18))  # written after every file: stats are trusted
    reads = count_reads(monkeypatch)
    again = compile_catalog(catalog)
    assert reads == []  # the memo's
    assert (again.raw, again.digest) == (fresh.raw, fresh.digest)
    # `show` prints the tree in the document's order: the memo keeps it, as JSON's sorted keys would not.
    assert list(again.document["capabilities"]) == list(fresh.document["capabilities"])
    assert [root.path for root in again.tree.roots()] == [root.path for root in fresh.tree.roots()] \
        != sorted(root.path for root in fresh.tree.roots())
    assert json.dumps(again.document, sort_keys=True) == json.dumps(fresh.document, sort_keys=True)
    assert run_cli("show", "--catalog", str(catalog)).out == run_cli("show", "--catalog", str(catalog)).out


def test_a_memo_hit_writes_its_bytes_only_where_they_are_missing_and_rebuilds_bytes_gone_bad(
        catalog: Path, tmp_path: Path, parsed: list[str]) -> None:
    out = tmp_path / "registry.json"
    expected = compiled(catalog, out)
    os.utime(memo_file(catalog), ns=(2 * 10**18, 2 * 10**18))  # written after every file: stats are trusted
    beside = memo_file(catalog).with_suffix(".snapshot")
    # The output is another name of the memo's copy: one file, written once.
    assert out.stat().st_ino == beside.stat().st_ino
    # The output holds the snapshot: it is not written, and the memo's copy is not needed.
    beside.unlink()
    beside.write_bytes(b"not the snapshot")
    before = out.stat().st_mtime_ns
    parsed.clear()
    assert compiled(catalog, out) == expected
    assert (out.stat().st_mtime_ns, parsed) == (before, [])
    # A new output needs the bytes: the memo's copy fails its seal, so they are compiled again,
    # and the copy is whole again for the next compile.
    assert compiled(catalog, tmp_path / "new.json") == expected
    assert beside.read_bytes() == expected
    # An output of the same size that does not hold the snapshot is written.
    out.write_bytes(expected.replace(b'"priority":10', b'"priority":11'))
    assert compiled(catalog, out) == expected
    # The one file changed in place, by either name: the output is written again, whole.
    chat = catalog / "acme/chat-large.yaml"
    chat.write_bytes(chat.read_bytes().replace(b"priority: 10", b"priority: 12"))
    changed = compiled(catalog, out)
    assert out.stat().st_ino == beside.stat().st_ino
    with open(beside, "r+b") as shared:
        shared.write(b"{}")
    assert compiled(catalog, out) == changed == uncached(catalog, tmp_path)


def test_an_output_whose_stat_is_as_written_is_not_read_and_any_other_is(catalog: Path, tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "registry.json"
    expected = compiled(catalog, out)
    ledger = memo_file(catalog).with_suffix(".outputs")
    opened: list[str] = []
    real_open = open

    def watching(file: Any, *args: Any, **kwargs: Any) -> Any:
        opened.append(os.fspath(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr("builtins.open", watching)
    # Recorded in the second the output was written: it may change again unseen, so it is read.
    written = out.stat().st_mtime_ns
    os.utime(ledger, ns=(written, written))
    assert compiled(catalog, out) == expected
    assert os.fspath(out) in opened
    # Recorded a second after it was written: the stat vouches for it.
    os.utime(ledger, ns=(written + 10**9, written + 10**9))
    opened.clear()
    assert compiled(catalog, out) == expected
    assert os.fspath(out) not in opened
    # Changed since, to the same size: its stat is another, and it is written again.
    out.write_bytes(expected.replace(b'"priority":10', b'"priority":11'))
    os.utime(ledger, ns=(2 * 10**18, 2 * 10**18))
    assert compiled(catalog, out) == expected
    # A garbled ledger is no ledger.
    ledger.write_bytes(b"garbage")
    out.write_bytes(expected.replace(b'"priority":10', b'"priority":11'))
    assert compiled(catalog, out) == expected


def test_a_copy_or_an_output_another_compile_replaced_meanwhile_is_not_taken_for_this_ones(
        catalog: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    chat = catalog / "acme/chat-large.yaml"
    compile_catalog(catalog)
    chat.write_bytes(chat.read_bytes().replace(b"priority: 10", b"priority: 12"))
    real_replace = os.replace
    others: list[bytes] = []

    def racing(src: Any, dst: Any) -> None:
        # Another compile renames its own copy over this one's the moment this one's is in place.
        real_replace(src, dst)
        if os.fspath(dst).endswith(".snapshot") and not others:
            others.append(Path(dst).read_bytes().replace(b'"priority":12', b'"priority":13'))
            (tmp_path / "other").write_bytes(others[0])
            real_replace(tmp_path / "other", dst)

    monkeypatch.setattr(os, "replace", racing)
    snapshot = compile_catalog(catalog)  # derived, its bytes copied beside the memo
    monkeypatch.setattr(os, "replace", real_replace)
    assert snapshot.copy is not None and others
    out = tmp_path / "registry.json"
    snapshot.write(out)
    assert out.read_bytes() == snapshot.raw != others[0]
    assert out.stat().st_ino != snapshot.copy[0].stat().st_ino
    # A ledger keeps only the file this process wrote or read: not one put there since.
    memo = worktree_memo_for(catalog)
    assert memo is not None
    replaced = tmp_path / "replaced.json"
    replaced.write_bytes(b"another writer's")
    memo.outputs.record(replaced, snapshot.digest, (out.stat().st_ino, out.stat().st_dev))
    os.utime(memo.outputs.path, ns=(2 * 10**18, 2 * 10**18))
    assert not memo.outputs.holds(replaced, snapshot.digest)
    memo.outputs.record(out, snapshot.digest, (out.stat().st_ino, out.stat().st_dev))
    os.utime(memo.outputs.path, ns=(2 * 10**18, 2 * 10**18))
    assert memo.outputs.holds(out, snapshot.digest)
