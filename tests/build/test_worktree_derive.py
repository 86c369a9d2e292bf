"""A work-tree compile after model files changed derives its snapshot from the last one: it checks
the changed files and the models whose replacements run through them, and gives, byte for byte
and warning for warning, what a compile without the cache gives."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from modelreg.catalog.directory import WorktreeReader
from tests.build.conftest import count_reads
from tests.conftest import CHAT, PROVIDER, REPO, Run, run_cli, write
from tests.git_helpers import commit_all, git, init_repo


def models_in(parsed: list[str]) -> list[str]:
    return [rel for rel in parsed if rel != "capabilities.yaml" and not rel.endswith("/provider.yaml")]


def lifecycle(name: str, status: str, replacement: str) -> str:
    return (CHAT.replace("acme/chat-large", name).replace("priority: 10", f"lifecycle:\n  status: {status}")
            + f"  replacement: {replacement}\n")


def shown(run: Run, catalog: Path, out: Path) -> tuple[int, str, str]:
    return run.code, run.out.replace(str(out), "OUT"), run.err.replace(str(out), "OUT").replace(str(catalog), "CATALOG")


def both(catalog: Path, tmp_path: Path, parsed: list[str]) -> tuple[tuple[int, str, str], list[str]]:
    """The cached compile's outcome (exit code, output, diagnostics) and the model files it
    parsed, its outcome and bytes asserted equal to a compile's without the cache."""
    cached, fresh = tmp_path / "cached.json", tmp_path / "fresh.json"
    for path in (cached, fresh):
        path.unlink(missing_ok=True)
    parsed.clear()
    one = shown(run_cli("compile", "--catalog", str(catalog), "-o", str(cached)), catalog, cached)
    models = sorted(models_in(parsed))
    other = shown(run_cli("compile", "--catalog", str(catalog), "-o", str(fresh), "--no-cache"), catalog, fresh)
    assert one == other
    assert (cached.read_bytes() if cached.exists() else None) == (fresh.read_bytes() if fresh.exists() else None)
    return one, models


def remove(catalog: Path, rel: str) -> None:
    (catalog / rel).unlink()


def edit(catalog: Path, rel: str, old: str, new: str) -> None:
    path = catalog / rel
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


# Each step changes the catalog, then says which files the cached compile parses: the changed ones,
# the models whose replacements run through them and those they name (None: a full compile).
STEPS: list[tuple[str, Callable[[Path], object], list[str] | None]] = [
    ("a priority", lambda c: edit(c, "acme/chat-large.yaml", "priority: 10", "priority: 3"),
     ["acme/chat-large.yaml"]),
    ("a deprecated model", lambda c: write(c, "acme/old.yaml", lifecycle("acme/old", "deprecated", "acme/chat-large")),
     ["acme/old.yaml", "acme/chat-large.yaml"]),
    ("a model replaced by a deprecated one",
     lambda c: write(c, "acme/older.yaml", lifecycle("acme/older", "deprecated", "acme/old")),
     ["acme/older.yaml", "acme/old.yaml", "acme/chat-large.yaml"]),
    # Both models above now warn, the far one of a new chain end: it is checked again too.
    ("the chain's end deprecated", lambda c: write(c, "acme/chat-large.yaml",
                                                   lifecycle("acme/chat-large", "deprecated", "acme/coder")),
     ["acme/chat-large.yaml", "acme/old.yaml", "acme/older.yaml", "acme/coder.yaml"]),
    ("the only embedding model removed", lambda c: remove(c, "acme/embed-small.yaml"), []),
    ("a name the schema refuses",
     lambda c: write(c, "acme/Coder.yaml", CHAT.replace("acme/chat-large", "acme/Coder")), None),
    ("that file gone again", lambda c: remove(c, "acme/Coder.yaml"), None),
    ("an invalid model file", lambda c: edit(c, "acme/coder.yaml", "priority: 5", "priority: 5\nbatch: sometimes"),
     None),
    ("fixed", lambda c: edit(c, "acme/coder.yaml", "\nbatch: sometimes", ""), None),
    ("a provider's defaults", lambda c: edit(c, "acme/provider.yaml", "priority: 50", "priority: 40"), None),
    ("a replacement removed", lambda c: remove(c, "acme/chat-large.yaml"), None),
]


def test_a_derived_compile_is_a_fresh_compile_at_every_step(catalog: Path, tmp_path: Path, parsed: list[str]) -> None:
    init_repo(catalog.parent)
    commit_all(catalog.parent, "catalog", date="2024-01-02T03:04:05Z")
    both(catalog, tmp_path, parsed)
    outcomes = []
    for i, (what, change, expected) in enumerate(STEPS):
        change(catalog)
        if i == 4:
            commit_all(catalog.parent, "more models", date="2024-02-03T04:05:06Z")
        (code, _, err), models = both(catalog, tmp_path, parsed)
        outcomes.append((what, code, [line.split(" ", 1)[0] for line in err.splitlines() if "[" in line]))
        if expected is not None:
            assert models == sorted(expected), what
    chain = ["CATALOG/acme/old.yaml:11:16:", "CATALOG/acme/older.yaml:11:16:"]
    empty = "CATALOG/capabilities.yaml:16:3:"  # embedding: no model serves it
    assert outcomes == [
        ("a priority", 0, []),
        ("a deprecated model", 0, []),
        ("a model replaced by a deprecated one", 0, ["CATALOG/acme/older.yaml:11:16:"]),
        ("the chain's end deprecated", 0, chain),
        ("the only embedding model removed", 0, [*chain, empty]),
        ("a name the schema refuses", 1, ["CATALOG/acme/Coder.yaml:1:7:", *chain]),
        ("that file gone again", 0, [*chain, empty]),
        ("an invalid model file", 1, ["CATALOG/acme/coder.yaml:10:8:", *chain]),
        ("fixed", 0, [*chain, empty]),
        ("a provider's defaults", 0, [*chain, empty]),
        ("a replacement removed", 1, chain),
    ]


def old_files(catalog: Path) -> None:
    # Modified long before the memo is written: their stats are trusted.
    for path in catalog.rglob("*.yaml"):
        os.utime(path, ns=(1_500_000_000 * 10**9, 1_500_000_000 * 10**9))


def test_a_file_the_last_compile_lacked_keeps_its_date_after_a_commit(catalog: Path, tmp_path: Path,
                                                                       parsed: list[str]) -> None:
    # The memo's base compiled at one commit with a committed file missing from the work tree;
    # HEAD moves on without touching that file, which then comes back.
    init_repo(catalog.parent)
    commit_all(catalog.parent, "catalog", date="2024-01-02T03:04:05Z")
    embed = catalog / "acme/embed-small.yaml"
    kept = embed.read_bytes()
    embed.unlink()
    edit(catalog, "acme/coder.yaml", "priority: 5", "priority: 6")
    both(catalog, tmp_path, parsed)
    git(catalog.parent, "commit", "-qm", "coder", "--", "models.d/acme/coder.yaml", date="2024-02-03T04:05:06Z")
    embed.write_bytes(kept)
    both(catalog, tmp_path, parsed)
    assert b'"registered_at":"2024-01-02T03:04:05+00:00","source":"acme/embed-small.yaml"' \
        in (tmp_path / "cached.json").read_bytes()


def test_after_a_one_file_change_only_it_the_tree_and_the_providers_are_read(
        catalog: Path, tmp_path: Path, parsed: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    write(catalog, "beta/provider.yaml", PROVIDER.replace("acme", "beta"))
    write(catalog, "beta/small.yaml", "name: beta/small\nprovider: beta\ncapabilities: [generation.text-generation]\n")
    old_files(catalog)
    out = tmp_path / "registry.json"
    assert run_cli("compile", "--catalog", str(catalog), "-o", str(out)).code == 0
    edit(catalog, "acme/coder.yaml", "priority: 5", "priority: 6")
    os.utime(catalog / "acme/coder.yaml", ns=(1_600_000_000 * 10**9, 1_600_000_000 * 10**9))
    reads = count_reads(monkeypatch)
    parsed.clear()
    assert run_cli("compile", "--catalog", str(catalog), "-o", str(out)).code == 0
    # Once to see what changed, once to check it, with the tree and every provider it is checked against.
    assert reads == ["acme/coder.yaml", "acme/coder.yaml", "acme/provider.yaml", "beta/provider.yaml",
                     "capabilities.yaml"]
    assert models_in(parsed) == ["acme/coder.yaml"]
    assert b'"priority":6,' in out.read_bytes()
    assert run_cli("compile", "--catalog", str(catalog), "-o", str(tmp_path / "fresh.json"), "--no-cache").code == 0
    assert (tmp_path / "fresh.json").read_bytes() == out.read_bytes()


def test_a_file_that_changes_while_the_snapshot_is_derived_is_compiled_afresh(
        catalog: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "registry.json"
    assert run_cli("compile", "--catalog", str(catalog), "-o", str(out)).code == 0
    edit(catalog, "acme/coder.yaml", "priority: 5", "priority: 6")
    real = WorktreeReader.read

    def racing(self: WorktreeReader, rels: Any) -> Any:
        # Another edit lands between the listing and the check of the changed file.
        edit(catalog, "acme/coder.yaml", "priority: 6", "priority: 7")
        monkeypatch.setattr(WorktreeReader, "read", real)
        return real(self, rels)

    monkeypatch.setattr(WorktreeReader, "read", racing)
    assert run_cli("compile", "--catalog", str(catalog), "-o", str(out)).code == 0
    assert b'"priority":7,' in out.read_bytes()
    assert run_cli("compile", "--catalog", str(catalog), "-o", str(tmp_path / "fresh.json"), "--no-cache").code == 0
    assert (tmp_path / "fresh.json").read_bytes() == out.read_bytes()


def checked(catalog: Path, parsed: list[str], *extra: str) -> tuple[tuple[int, str, str], list[str]]:
    """`validate`'s outcome with the cache and the model files it parsed, asserted equal to the
    outcome without the cache."""
    parsed.clear()
    run = run_cli("validate", "--catalog", str(catalog), *extra)
    models = sorted(models_in(parsed))
    fresh = run_cli("validate", "--catalog", str(catalog), "--no-cache", *extra)
    assert (run.code, run.out, run.err) == (fresh.code, fresh.out, fresh.err)
    return (run.code, run.out, run.err.replace(str(catalog), "CATALOG")), models


def test_validate_derives_its_verdict_from_the_last_one(catalog: Path, tmp_path: Path, parsed: list[str]) -> None:
    # The first check is a full one, and what later ones derive from.
    (_, _, err), models = checked(catalog, parsed)
    assert err.splitlines()[-1] == "CATALOG: valid (0 error(s), 0 warning(s))"
    assert models == ["acme/chat-large.yaml", "acme/coder.yaml", "acme/embed-small.yaml"]
    assert checked(catalog, parsed)[1] == []  # nothing changed: nothing parsed
    verdicts = []
    for what, change, expected in STEPS:
        change(catalog)
        (code, _, err), models = checked(catalog, parsed)
        verdicts.append((what, code, err.splitlines()[-1]))
        if expected is not None:
            assert models == sorted(expected), what
    assert verdicts[:5] == [
        ("a priority", 0, "CATALOG: valid (0 error(s), 0 warning(s))"),
        ("a deprecated model", 0, "CATALOG: valid (0 error(s), 0 warning(s))"),
        ("a model replaced by a deprecated one", 0, "CATALOG: valid (0 error(s), 1 warning(s))"),
        ("the chain's end deprecated", 0, "CATALOG: valid (0 error(s), 2 warning(s))"),
        ("the only embedding model removed", 0, "CATALOG: valid (0 error(s), 3 warning(s))"),
    ]
    assert verdicts[-1] == ("a replacement removed", 1, "CATALOG: invalid (1 error(s), 1 warning(s))")


def test_validate_of_a_file_after_a_compile_derives_from_the_compile(
        catalog: Path, tmp_path: Path, parsed: list[str]) -> None:
    init_repo(catalog.parent)
    commit_all(catalog.parent, "catalog")
    assert run_cli("compile", "--catalog", str(catalog), "-o", str(tmp_path / "registry.json")).code == 0
    edit(catalog, "acme/coder.yaml", "priority: 5", "priority: 6")
    (code, _, err), models = checked(catalog, parsed)
    assert (code, err.splitlines()[-1], models) == (0, "CATALOG: valid (0 error(s), 0 warning(s))", ["acme/coder.yaml"])
    parsed.clear()
    run = run_cli("validate", str(catalog / "acme/coder.yaml"))
    assert (run.code, models_in(parsed)) == (0, [])


@pytest.mark.parametrize("verb", ["compile", "validate"])
def test_a_first_run_with_the_cache_reads_each_file_once(catalog: Path, tmp_path: Path, verb: str,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    # With no memo to take anything from, there is nothing to hash ahead of the full read.
    reads = count_reads(monkeypatch)
    extra = ["-o", str(tmp_path / "registry.json")] if verb == "compile" else []
    assert run_cli(verb, "--catalog", str(catalog), *extra).code == 0
    assert sorted(reads) == ["acme/chat-large.yaml", "acme/coder.yaml", "acme/embed-small.yaml", "acme/provider.yaml",
                             "capabilities.yaml"]


NO_OP = """
import sys
from modelreg.cli.main import main
assert main(sys.argv[1:]) == 0
loaded = ("modelreg.check.catalog_check", "modelreg.check.change_check", "modelreg.build.pipeline",
          "modelreg.build.derive", "modelreg.resolve.pools", "jsonschema_rs")
print(" ".join(name for name in loaded if name in sys.modules))
"""


def test_a_compile_with_nothing_changed_loads_no_checker(catalog: Path, tmp_path: Path) -> None:
    out = tmp_path / "registry.json"
    assert run_cli("compile", "--catalog", str(catalog), "-o", str(out)).code == 0
    again = subprocess.run([sys.executable, "-c", NO_OP, "compile", "--catalog", str(catalog), "-o", str(out)],
                           capture_output=True, text=True, cwd=REPO, timeout=60, check=False)
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines()[-1] == ""
