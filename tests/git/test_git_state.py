"""Git as persisted state: compiling any revision, registration dates, versions, and bad repositories."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

from modelreg.build.compile import compile_catalog
from modelreg.build.snapshot import Snapshot
from modelreg.catalog.directory import DirectorySource
from modelreg.catalog.revision import GitSource
from modelreg.check.catalog_check import check_catalog
from modelreg.errors import StateError
from modelreg.git.runner import Git, GitFailed
from modelreg.git.transaction import CatalogWriter
from modelreg.history import model_history
from tests.conftest import EMBED, run_cli, write
from tests.git_helpers import catalog_repo, commit_all, dates_of, git, init_repo

JAN = "2024-01-01T00:00:00+00:00"
FEB = "2024-02-01T10:00:00+02:00"  # 08:00 UTC
MAR = "2024-03-01T00:00:00+00:00"
NEW_MODEL = """\
name: acme/new
provider: acme
capabilities: [embedding.text-embedding]
priority: 1
"""


@pytest.fixture
def repo(catalog: Path) -> Path:
    root = init_repo(catalog.parent)
    commit_all(root, "catalog", date=JAN)
    return root


@pytest.fixture
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("out")


def dates(source: Path | Snapshot) -> dict[str, str | None]:
    document = json.loads(source.read_bytes()) if isinstance(source, Path) else source.document
    return {name: model["registered_at"] for name, model in document["models"].items()}


def test_compiling_a_past_revision_gives_the_bytes_compiled_when_it_was_head(
        repo: Path, catalog: Path, out: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELREG_CACHE", "0")
    assert run_cli("compile", "--catalog", str(catalog), "-o", str(out / "then.json")).code == 0
    then = git(repo, "rev-parse", "HEAD")
    write(catalog, "acme/new.yaml", NEW_MODEL)
    commit_all(repo, "add new", date=FEB)
    (catalog / "acme/chat-large.yaml").write_text(
        (catalog / "acme/chat-large.yaml").read_text().replace("priority: 10", "priority: 7"))
    commit_all(repo, "reprioritise", date=MAR)

    for rev in (then, "HEAD~2", then[:10]):
        run = run_cli("compile", "--catalog", str(catalog), "--rev", rev, "-o", str(out / "now.json"))
        assert run.code == 0, run.err
        assert (out / "now.json").read_bytes() == (out / "then.json").read_bytes()
    document = json.loads((out / "now.json").read_bytes())
    assert document["version"] == {"commit": then, "dirty": False, "number": 1, "label": f"1.g{then[:12]}",
                                   "history": "full"}
    assert git(repo, "status", "--porcelain") == ""


def test_the_work_tree_and_head_compile_to_the_same_bytes(repo: Path, catalog: Path, out: Path) -> None:
    write(catalog, "acme/new.yaml", NEW_MODEL)
    commit_all(repo, "add new", date=FEB)
    assert run_cli("compile", "--catalog", str(catalog), "-o", str(out / "tree.json")).code == 0
    assert run_cli("compile", "--catalog", str(catalog), "--rev", "HEAD", "-o", str(out / "head.json")).code == 0
    assert (out / "tree.json").read_bytes() == (out / "head.json").read_bytes()
    # The second compile of HEAD is served by the cache that the first one filled.
    assert compile_catalog(catalog, rev="HEAD").raw == (out / "tree.json").read_bytes()


def test_a_work_tree_compile_never_fills_the_cache(repo: Path, catalog: Path) -> None:
    # git calls this tree clean, yet the work tree has one model less than HEAD.
    git(repo, "update-index", "--skip-worktree", "models.d/acme/coder.yaml")
    (catalog / "acme/coder.yaml").unlink()
    assert git(repo, "status", "--porcelain") == ""
    assert sorted(compile_catalog(catalog).document["models"]) == ["acme/chat-large", "acme/embed-small"]
    assert sorted(compile_catalog(catalog, rev="HEAD").document["models"]) == [
        "acme/chat-large", "acme/coder", "acme/embed-small"]
    assert len(list((repo / ".git/modelreg/snapshots").glob("*.json"))) == 2  # HEAD's snapshot, its warnings


def test_files_the_compiler_does_not_read_leave_the_tree_clean(repo: Path, catalog: Path) -> None:
    write(catalog, "NOTES.txt", "untracked notes\n")
    write(catalog, "acme/README.md", "tracked, then edited\n")
    commit_all(repo, "readme", date=FEB)
    write(catalog, "acme/README.md", "edited\n")
    write(catalog, ".drafts/acme/draft.yaml", NEW_MODEL)
    assert compile_catalog(catalog).version["dirty"] is False
    # A catalog file renamed to a name the compiler does not read is gone from the catalog.
    git(repo, "mv", "models.d/acme/embed-small.yaml", "models.d/acme/embed-small.txt")
    assert compile_catalog(catalog).version["dirty"] is True


def test_registered_at_is_the_commit_that_added_the_file_in_utc(repo: Path, catalog: Path, out: Path) -> None:
    write(catalog, "acme/new.yaml", NEW_MODEL)
    commit_all(repo, "add new", date=FEB)
    # Changing a model keeps its date: it was registered when its file was added.
    (catalog / "acme/chat-large.yaml").write_text(
        (catalog / "acme/chat-large.yaml").read_text().replace("priority: 10", "priority: 7"))
    commit_all(repo, "reprioritise", date=MAR)
    assert run_cli("compile", "--catalog", str(catalog), "-o", str(out / "s.json")).code == 0
    assert dates(out / "s.json") == {
        "acme/chat-large": "2024-01-01T00:00:00+00:00",
        "acme/coder": "2024-01-01T00:00:00+00:00",
        "acme/embed-small": "2024-01-01T00:00:00+00:00",
        "acme/new": "2024-02-01T08:00:00+00:00",
    }


def test_a_model_removed_and_added_again_is_registered_from_its_new_addition(repo: Path, catalog: Path) -> None:
    (catalog / "acme/embed-small.yaml").unlink()
    commit_all(repo, "drop embed", date=FEB)
    write(catalog, "acme/embed-small.yaml", EMBED)
    commit_all(repo, "bring embed back", date=MAR)
    snapshot = compile_catalog(catalog)
    assert snapshot.document["models"]["acme/embed-small"]["registered_at"] == "2024-03-01T00:00:00+00:00"
    assert snapshot.document["models"]["acme/coder"]["registered_at"] == "2024-01-01T00:00:00+00:00"


def test_uncommitted_models_have_no_date_and_the_tree_is_dirty(repo: Path, catalog: Path) -> None:
    write(catalog, "acme/new.yaml", NEW_MODEL)
    snapshot = compile_catalog(catalog)
    assert snapshot.document["models"]["acme/new"]["registered_at"] is None
    assert snapshot.document["models"]["acme/coder"]["registered_at"] == "2024-01-01T00:00:00+00:00"
    head = git(repo, "rev-parse", "HEAD")
    assert snapshot.version == {"commit": head, "dirty": True, "number": 1, "label": f"1.g{head[:12]}.dirty",
                                "history": "full"}


def test_an_ignored_catalog_file_makes_the_tree_dirty(repo: Path, catalog: Path) -> None:
    (repo / ".gitignore").write_text("models.d/acme/new.yaml\n")
    commit_all(repo, "ignore", date=FEB)
    write(catalog, "acme/new.yaml", NEW_MODEL)
    # The work tree compile reads it, so it cannot claim to be HEAD's catalog.
    assert compile_catalog(catalog).version["dirty"] is True


def merge(repo: Path, branch: str, *, date: str, resolve: bool = False) -> None:
    """Merge `branch` into main with a merge commit (`resolve`: keep main's side of a conflict)."""
    git(repo, "merge", "-q", "--no-ff", "--no-commit", branch, check=not resolve)
    if resolve:
        git(repo, "checkout", "-q", "--ours", "--", "models.d")
        git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", f"merge {branch}", date=date)


def test_a_model_from_a_merged_branch_counts_from_the_merge(repo: Path, catalog: Path) -> None:
    git(repo, "checkout", "-q", "-b", "side")
    write(catalog, "acme/new.yaml", NEW_MODEL)
    commit_all(repo, "add new on a branch", date=FEB)
    git(repo, "checkout", "-q", "main")
    # A model added by the merge commit itself: no commit of either branch added it.
    git(repo, "merge", "-q", "--no-ff", "--no-commit", "side")
    write(catalog, "acme/in-merge.yaml", NEW_MODEL.replace("acme/new", "acme/in-merge"))
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "merge side", date=MAR)
    dated = dates_of(catalog).dates(git(repo, "rev-parse", "HEAD"))
    assert dated["acme/new.yaml"] == datetime(2024, 3, 1, tzinfo=UTC)
    assert dated["acme/in-merge.yaml"] == datetime(2024, 3, 1, tzinfo=UTC)
    assert dated["acme/coder.yaml"] == datetime(2024, 1, 1, tzinfo=UTC)
    # `modelreg history` reads the same line of history: the model was added by the merge.
    entries = model_history(catalog, "acme/new")
    assert [(e.subject, e.change, e.date) for e in entries] == [("merge side", "added", dated["acme/new.yaml"])]


def test_a_deletion_on_a_branch_that_the_merge_undid_keeps_the_date(repo: Path, catalog: Path) -> None:
    git(repo, "checkout", "-q", "-b", "side")
    (catalog / "acme/embed-small.yaml").unlink()
    write(catalog, "acme/new.yaml", NEW_MODEL)
    commit_all(repo, "drop embed, add new on a branch", date=MAR)
    git(repo, "checkout", "-q", "main")
    embed = catalog / "acme/embed-small.yaml"
    embed.write_text(embed.read_text() + "priority: 9\n")
    commit_all(repo, "reprioritise embed", date=FEB)
    merge(repo, "side", date=MAR, resolve=True)
    assert (catalog / "acme/embed-small.yaml").is_file()
    snapshot = compile_catalog(catalog)
    assert dates(snapshot) == {"acme/chat-large": "2024-01-01T00:00:00+00:00",
                               "acme/coder": "2024-01-01T00:00:00+00:00",
                               "acme/embed-small": "2024-01-01T00:00:00+00:00",
                               "acme/new": "2024-03-01T00:00:00+00:00"}
    assert [e.change for e in model_history(catalog, "acme/embed-small")] == ["modified", "added"]


def test_registration_dates_follow_history_not_commit_dates(repo: Path, catalog: Path) -> None:
    git(repo, "checkout", "-q", "-b", "side")
    write(catalog, "acme/new.yaml", NEW_MODEL)
    commit_all(repo, "add new on a branch", date=MAR)
    (catalog / "acme/new.yaml").unlink()
    write(catalog, "acme/other.yaml", NEW_MODEL.replace("acme/new", "acme/other"))
    commit_all(repo, "drop new, add other", date=MAR)
    git(repo, "checkout", "-q", "main")
    # Committed on main after the branch's commits, by a machine whose clock is weeks behind.
    write(catalog, "acme/new.yaml", NEW_MODEL)
    commit_all(repo, "add new on main", date="2024-01-15T00:00:00+00:00")
    merge(repo, "side", date=MAR)
    dated = dates_of(catalog).dates(git(repo, "rev-parse", "HEAD"))
    assert dated["acme/new.yaml"] == datetime(2024, 1, 15, tzinfo=UTC)
    assert dated["acme/other.yaml"] == datetime(2024, 3, 1, tzinfo=UTC)


def test_registered_at_is_the_committer_time(repo: Path, catalog: Path) -> None:
    write(catalog, "acme/new.yaml", NEW_MODEL)
    git(repo, "add", "-A")
    env_dates = {"GIT_AUTHOR_DATE": JAN, "GIT_COMMITTER_DATE": MAR}
    subprocess.run(["git", "commit", "-q", "-m", "add new"], cwd=repo, check=True, env={**os.environ, **env_dates})
    snapshot = compile_catalog(catalog)
    assert snapshot.document["models"]["acme/new"]["registered_at"] == "2024-03-01T00:00:00+00:00"
    assert model_history(catalog, "acme/new")[0].date == datetime(2024, 3, 1, tzinfo=UTC)


def test_moving_the_catalog_directory_dates_its_models_from_the_move(repo: Path, catalog: Path) -> None:
    git(repo, "mv", "models.d", "catalog")
    commit_all(repo, "move the catalog", date=MAR)
    snapshot = compile_catalog(repo / "catalog")
    assert {m["registered_at"] for m in snapshot.document["models"].values()} == {"2024-03-01T00:00:00+00:00"}


def test_registration_dates_take_one_pass_over_history(repo: Path, catalog: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    for i in range(5):
        write(catalog, f"acme/extra-{i}.yaml", NEW_MODEL.replace("acme/new", f"acme/extra-{i}"))
        commit_all(repo, f"add {i}", date=FEB)
    calls: list[tuple[str, ...]] = []
    real = Git.run

    def counting(self: Git, *args: str, **kwargs: object) -> bytes:
        calls.append(args)
        return real(self, *args, **kwargs)  # type: ignore[arg-type]

    real_start = Git.start

    def counting_start(self: Git, *args: str) -> object:
        calls.append(args)
        return real_start(self, *args)

    monkeypatch.setattr(Git, "run", counting)
    monkeypatch.setattr(Git, "start", counting_start)
    snapshot = compile_catalog(catalog, rev="HEAD")
    assert len(snapshot.document["models"]) == 8
    assert all(m["registered_at"] for m in snapshot.document["models"].values())
    assert [args[0] for args in calls if args[0] == "log"] == ["log"]


def test_registration_dates_of_many_files_take_one_pass_not_one_path_each(
        repo: Path, catalog: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for i in range(12):
        write(catalog, f"acme/extra-{i}.yaml", NEW_MODEL.replace("acme/new", f"acme/extra-{i}"))
        commit_all(repo, f"add {i}", date=FEB)
    state = dates_of(catalog)
    head = git(repo, "rev-parse", "HEAD")
    every = state.dates(head)
    logs: list[tuple[str, ...]] = []
    real = Git.run

    def counting(self: Git, *args: str, **kwargs: object) -> bytes:
        if args[0] == "log":
            logs.append(args)
        return real(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Git, "run", counting)
    few = ["acme/extra-0.yaml", "acme/extra-5.yaml", "acme/gone.yaml"]
    assert state.dates(head, few) == {rel: every[rel] for rel in few[:2]}
    assert logs[-1][-4:] == ("--", "models.d/acme/extra-0.yaml", "models.d/acme/extra-5.yaml",
                             "models.d/acme/gone.yaml")
    # Past a few paths, git's walk slows with every pathspec: one pass over the catalog instead.
    many = [f"acme/extra-{i}.yaml" for i in range(12)] + ["acme/gone.yaml"]
    assert state.dates(head, many) == {rel: every[rel] for rel in many[:12]}
    assert logs[-1][-2:] == ("--", "models.d")


def test_registration_dates_fetched_in_the_background_are_the_same(repo: Path, catalog: Path) -> None:
    write(catalog, "acme/new.yaml", NEW_MODEL)
    head = commit_all(repo, "add new", date=FEB)
    first = git(repo, "rev-parse", "HEAD~1")
    direct = dates_of(catalog).dates(head)
    state = dates_of(catalog)
    state.prefetch([head, first, head])
    assert state.dates(head) == direct
    assert state.dates(first) == dates_of(catalog).dates(first)
    assert direct["acme/new.yaml"] == datetime(2024, 2, 1, 8, tzinfo=UTC)
    # git's failure surfaces where the dates are asked for, as if git had run there.
    missing = "0" * 40
    state.prefetch([missing])
    with pytest.raises(GitFailed, match=r"^`git log --first-parent` failed: fatal: bad object 0{40}$"):
        state.dates(missing)


def test_the_version_number_counts_commits(repo: Path, catalog: Path) -> None:
    write(catalog, "acme/new.yaml", NEW_MODEL)
    commit_all(repo, "add new", date=FEB)
    assert compile_catalog(catalog).version["number"] == 2
    assert compile_catalog(catalog, rev="HEAD~1").version["number"] == 1


def test_outside_git_compile_works_and_revisions_fail_clearly(catalog: Path, out: Path) -> None:
    run = run_cli("compile", "--catalog", str(catalog), "-o", str(out / "s.json"))
    assert run.code == 0, run.err
    document = json.loads((out / "s.json").read_bytes())
    assert document["version"] == {"commit": None, "dirty": None, "number": None, "label": "unversioned",
                                   "history": "none"}
    assert set(dates(out / "s.json").values()) == {None}
    run = run_cli("compile", "--catalog", str(catalog), "--rev", "HEAD", "-o", str(out / "r.json"))
    assert run.code == 1
    assert run.err == (f"modelreg: error: {catalog} is not inside a git repository; cannot compile revision "
                       "`HEAD` (run `git init` and commit the catalog first)\n")
    assert not (out / "r.json").exists()


def test_an_empty_repository_compiles_unversioned_and_has_no_revisions(catalog: Path, out: Path) -> None:
    init_repo(catalog.parent)
    assert compile_catalog(catalog).version["label"] == "unversioned"
    run = run_cli("compile", "--catalog", str(catalog), "--rev", "HEAD", "-o", str(out / "s.json"))
    assert (run.code, run.err) == (2, "modelreg: error: unknown revision `HEAD`: the repository has no commits yet\n")


def test_an_unknown_revision_is_a_usage_error_and_writes_nothing(repo: Path, catalog: Path, out: Path) -> None:
    run = run_cli("compile", "--catalog", str(catalog), "--rev", "no-such-branch", "-o", str(out / "s.json"))
    assert (run.code, run.err) == (2, "modelreg: error: unknown revision `no-such-branch`: no such commit, "
                                      "branch or tag\n")
    run = run_cli("compile", "--catalog", str(catalog), "--rev", "--output=/tmp/x", "-o", str(out / "s.json"))
    assert run.code == 2
    assert not (out / "s.json").exists()


def test_a_revision_with_an_invalid_catalog_reports_its_diagnostics(repo: Path, catalog: Path, out: Path) -> None:
    good = (out / "s.json")
    good.write_bytes(b"old")
    write(catalog, "acme/bad.yaml", NEW_MODEL.replace("acme/new", "acme/bad").replace(
        "embedding.text-embedding", "embeding.text-embedding"))
    bad = commit_all(repo, "broken", date=FEB)
    (catalog / "acme/bad.yaml").unlink()
    commit_all(repo, "fixed", date=MAR)
    run = run_cli("compile", "--catalog", str(catalog), "--rev", bad[:12], "-o", str(good))
    assert run.code == 1
    assert run.err == (f"{catalog}/acme/bad.yaml:3:16: error[unknown-capability]: unknown capability "
                       "`embeding.text-embedding`; did you mean `embedding.text-embedding`?\n"
                       f"{catalog} at {bad[:12]}: invalid; nothing written to {good}\n")
    assert good.read_bytes() == b"old"


def test_a_revision_without_the_catalog_says_so(repo: Path, catalog: Path) -> None:
    git(repo, "mv", "models.d", "catalog")
    commit_all(repo, "move", date=FEB)
    with pytest.raises(StateError, match=r"the catalog .*models.d does not exist at commit [0-9a-f]{12}"):
        compile_catalog(catalog, rev="HEAD")


def test_a_detached_head_compiles(repo: Path, catalog: Path) -> None:
    write(catalog, "acme/new.yaml", NEW_MODEL)
    commit_all(repo, "add new", date=FEB)
    git(repo, "checkout", "-q", "--detach", "HEAD~1")
    snapshot = compile_catalog(catalog)
    assert snapshot.version["commit"] == git(repo, "rev-parse", "HEAD")
    assert sorted(snapshot.document["models"]) == ["acme/chat-large", "acme/coder", "acme/embed-small"]


def test_a_shallow_clone_stops_compile_unless_allowed(
        repo: Path, catalog: Path, tmp_path_factory: pytest.TempPathFactory, out: Path) -> None:
    write(catalog, "acme/new.yaml", NEW_MODEL)
    commit_all(repo, "add new", date=FEB)
    clone = tmp_path_factory.mktemp("clone") / "repo"
    git(repo, "clone", "-q", "--depth", "1", f"file://{repo}", str(clone))
    shallow_catalog = clone / "models.d"
    run = run_cli("compile", "--catalog", str(shallow_catalog), "-o", str(out / "s.json"))
    assert run.code == 1
    assert "git fetch --unshallow" in run.err and "fetch-depth: 0" in run.err and "--allow-shallow" in run.err
    assert not (out / "s.json").exists()
    assert run_cli("compile", "--catalog", str(shallow_catalog), "--rev", "HEAD", "-o", str(out / "s.json")).code == 1

    run = run_cli("compile", "--catalog", str(shallow_catalog), "--allow-shallow", "-o", str(out / "s.json"))
    assert run.code == 0, run.err
    head = git(clone, "rev-parse", "HEAD")
    document = json.loads((out / "s.json").read_bytes())
    assert document["version"] == {"commit": head, "dirty": False, "number": None, "label": f"g{head[:12]}",
                                   "history": "shallow"}
    assert set(dates(out / "s.json").values()) == {None}
    # The full history gives the same commit a different snapshot, and says why.
    full = compile_catalog(catalog, rev=head)
    assert full.version["history"] == "full" and full.digest != document["$digest"]

    # Looking and routing need no registration dates.
    shown = run_cli("show", "--catalog", str(shallow_catalog), "--capability", "chat")
    assert (shown.code, shown.out.splitlines()[0]) == (0, "generation.text-generation: 2 model(s)")
    routed = run_cli("route", "chat", "--catalog", str(shallow_catalog))
    assert routed.code == 0, routed.err


def test_git_source_refuses_what_the_directory_source_refuses(repo: Path, catalog: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    os.symlink("/etc/passwd", catalog / "acme/passwd.yaml")
    os.symlink("chat-large.yaml", catalog / "acme/alias.yaml")
    os.symlink("missing.yaml", catalog / "acme/dangling.yaml")
    os.symlink("../acme", catalog / "linked-dir")
    write(catalog, "..drafts/x.yaml", "not: read\n")
    os.symlink("..drafts", catalog / "drafts-link")  # inside the catalog, though its name starts with `..`
    write(catalog, "acme/huge.yaml", "# " + "x" * (1024 * 1024 + 10) + "\n")
    write(catalog, ".hidden/x.yaml", "not: read\n")
    write(catalog, "acme/old.yml", NEW_MODEL)
    commit_all(repo, "hostile files", date=FEB)
    head = git(repo, "rev-parse", "HEAD")
    on_disk = DirectorySource(catalog, str(catalog)).read()
    batches: list[tuple[str, ...]] = []
    real = Git.run

    def counting(self: Git, *args: str, **kwargs: object) -> bytes:
        if args[0] == "cat-file":
            batches.append(args)
        return real(self, *args, **kwargs)  # type: ignore[arg-type]

    real_stream = Git.stream_blobs

    def counting_stream(self: Git, shas: Sequence[str], limit: int | None = None) -> Iterator[bytes | int]:
        batches.append(("cat-file", "--batch"))
        return real_stream(self, shas, limit)

    monkeypatch.setattr(Git, "run", counting)
    monkeypatch.setattr(Git, "stream_blobs", counting_stream)
    in_git = GitSource(catalog_repo(catalog), head).read()
    # One `cat-file` stream for every symlink's target, one for every file: not one git per link.
    assert len(batches) == 2
    assert sorted(in_git.diagnostics) == sorted(on_disk.diagnostics)
    assert {d.code for d in in_git.diagnostics} == {"symlink", "unreadable", "file-too-large"}
    assert in_git.contents == on_disk.contents
    assert check_catalog(in_git).diagnostics == check_catalog(on_disk).diagnostics


def test_strict_compile_of_a_cached_revision_still_fails_on_warnings(repo: Path, catalog: Path) -> None:
    (catalog / "acme/coder.yaml").unlink()  # the code-generation pool becomes empty: a warning
    commit_all(repo, "drop coder", date=FEB)
    assert compile_catalog(catalog, rev="HEAD").warnings  # fills the cache
    cached = compile_catalog(catalog, rev="HEAD")
    assert [d.code for d in cached.warnings] == ["empty-pool"]
    assert cached.warnings[0].file == f"{catalog}/capabilities.yaml"
    run = run_cli("compile", "--catalog", str(catalog), "--rev", "HEAD", "--strict", "-o", os.devnull)
    assert run.code == 1
    assert "warning[empty-pool]" in run.err


def test_writes_never_follow_a_symlinked_directory(repo: Path, catalog: Path,
                                                   tmp_path_factory: pytest.TempPathFactory) -> None:
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    (catalog / "evil").symlink_to(elsewhere)
    writer = CatalogWriter(catalog_repo(catalog))
    with writer.lock() as head, pytest.raises(StateError, match="evil is a symlink; modelreg writes only"):
        writer.commit(head, {"evil/x.yaml": b"name: evil/x\n"}, "sneak out")
    assert list(elsewhere.iterdir()) == []
