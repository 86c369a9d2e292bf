"""`compile --rev X` when X's parent is cached derives X's snapshot from it, to the bytes and
warnings a compile without the cache gives."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.build.test_worktree_derive import STEPS, edit, models_in
from tests.conftest import run_cli
from tests.git_helpers import commit_all, init_repo


def test_a_revision_next_to_a_cached_one_compiles_to_the_fresh_bytes(catalog: Path, tmp_path: Path,
                                                                     parsed: list[str]) -> None:
    init_repo(catalog.parent)
    commit_all(catalog.parent, "catalog", date="2024-01-02T03:04:05Z")
    assert run_cli("compile", "--catalog", str(catalog), "--rev", "HEAD", "-o", str(tmp_path / "first.json")).code == 0
    outcomes = []
    for i, (what, change, expected) in enumerate(STEPS):
        change(catalog)
        commit_all(catalog.parent, what, date=f"2024-02-{i + 1:02d}T04:05:06Z")
        cached, fresh = tmp_path / f"cached-{i}.json", tmp_path / f"fresh-{i}.json"
        parsed.clear()
        one = run_cli("compile", "--catalog", str(catalog), "--rev", "HEAD", "-o", str(cached))
        models = sorted(models_in(parsed))
        other = run_cli("compile", "--catalog", str(catalog), "--rev", "HEAD", "-o", str(fresh), "--no-cache")
        assert (one.code, one.err.replace(str(cached), "OUT")) == (other.code, other.err.replace(str(fresh), "OUT"))
        assert (cached.read_bytes() if cached.exists() else None) == (fresh.read_bytes() if fresh.exists() else None)
        if expected is not None:
            assert models == sorted(expected), what
        outcomes.append((what, one.code, len([line for line in one.err.splitlines() if ": warning[" in line])))
    assert outcomes == [
        ("a priority", 0, 0), ("a deprecated model", 0, 0), ("a model replaced by a deprecated one", 0, 1),
        ("the chain's end deprecated", 0, 2), ("the only embedding model removed", 0, 3),
        ("a name the schema refuses", 1, 2), ("that file gone again", 0, 3), ("an invalid model file", 1, 2),
        ("fixed", 0, 3), ("a provider's defaults", 0, 3), ("a replacement removed", 1, 1),
    ]


def _entry_file(snapshots: Path, suffix: str) -> Path:
    (found,) = (p for p in snapshots.iterdir() if p.name.endswith(suffix) and not p.name.endswith(".warnings.json"))
    return found


def _changed_record(raw: bytes) -> bytes:
    # acme/chat-large's priority: a record the derivation copies. The digest the bytes start with
    # still finds their index; only hashing them shows them wrong.
    assert b'"priority":10' in raw
    return raw.replace(b'"priority":10', b'"priority":17', 1)


# What is done to the cached entry of the base commit: (the file's suffix, the change).
BASE_CORRUPTIONS: dict[str, tuple[str, Callable[[bytes], bytes]]] = {
    "a truncated index": (".index", lambda raw: raw[:-8]),
    "a garbled index": (".index", lambda raw: raw[:-8] + bytes(8)),
    "another snapshot's index": (".index", lambda raw: raw.replace(b"sha256:", b"sha256:0", 1)[:len(raw)]),
    "a changed record in the snapshot": (".json", _changed_record),
    "a snapshot cut short": (".json", lambda raw: raw[:len(raw) // 2]),
}


@pytest.mark.parametrize("corrupt", sorted(BASE_CORRUPTIONS))
def test_a_base_that_cannot_be_trusted_is_not_derived_from(catalog: Path, tmp_path: Path, corrupt: str) -> None:
    init_repo(catalog.parent)
    commit_all(catalog.parent, "catalog")
    assert run_cli("compile", "--catalog", str(catalog), "--rev", "HEAD", "-o", str(tmp_path / "first.json")).code == 0
    suffix, change = BASE_CORRUPTIONS[corrupt]
    target = _entry_file(catalog.parent / ".git" / "modelreg" / "snapshots", suffix)
    target.write_bytes(change(target.read_bytes()))
    edit(catalog, "acme/coder.yaml", "priority: 5", "priority: 6")
    commit_all(catalog.parent, "priority")
    cached, fresh = tmp_path / "cached.json", tmp_path / "fresh.json"
    assert run_cli("compile", "--catalog", str(catalog), "--rev", "HEAD", "-o", str(cached)).code == 0
    assert run_cli("compile", "--catalog", str(catalog), "--rev", "HEAD", "-o", str(fresh), "--no-cache").code == 0
    assert cached.read_bytes() == fresh.read_bytes()
