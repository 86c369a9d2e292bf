"""`modelreg diff`: revisions, the work tree and snapshot files; pool changes; text, markdown, JSON."""

from __future__ import annotations

import copy
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import modelreg.build.pipeline
import modelreg.check.change_check
from modelreg import CatalogInvalid
from modelreg.build.compile import compile_catalog
from modelreg.build.revision_derive import derive_snapshot
from modelreg.build.version import version_at
from modelreg.catalog.directory import WorktreeReader
from modelreg.catalog.files import CatalogFiles
from modelreg.check.change_check import check_change
from modelreg.diff.render import MARKDOWN_LIMIT, render_json, render_markdown
from modelreg.diff.report import Side, compare, pool_change
from modelreg.git.registration_dates import RegistrationDates
from modelreg.git.runner import Git
from modelreg.schemas import validator
from tests.conftest import CHAT, run_cli, write
from tests.git_helpers import catalog_repo, commit_all, git, init_repo

NEW = "name: acme/new\nprovider: acme\ncapabilities: [embedding.text-embedding]\npriority: 1\n"


@pytest.fixture
def repo(catalog: Path) -> Path:
    """Four commits: the catalog; acme/new added; chat-large moved first; embed-small removed."""
    root = init_repo(catalog.parent)
    commit_all(root, "catalog", date="2024-01-01T00:00:00+00:00")
    write(catalog, "acme/new.yaml", NEW)
    commit_all(root, "add new", date="2024-02-01T00:00:00+00:00")
    chat = catalog / "acme/chat-large.yaml"
    chat.write_text(chat.read_text().replace("priority: 10", "priority: 1"))
    commit_all(root, "chat-large first", date="2024-03-01T00:00:00+00:00")
    (catalog / "acme/embed-small.yaml").unlink()
    commit_all(root, "drop embed-small", date="2024-04-01T00:00:00+00:00")
    return root


def label(repo: Path, rev: str) -> str:
    sha = git(repo, "rev-parse", rev)
    return f"{git(repo, 'rev-list', '--count', sha)}.g{sha[:12]}"


def test_text_report(repo: Path, catalog: Path) -> None:
    run = run_cli("diff", "HEAD~3", "HEAD", "--catalog", str(catalog))
    assert run.code == 0, run.err
    assert run.out == f"""\
diff {label(repo, "HEAD~3")} (HEAD~3) -> {label(repo, "HEAD")} (HEAD): 1 model added, 1 removed, 1 changed; \
4 pools changed

pools:
  embedding: 1 -> 1 models
    + acme/new (#1)
    - acme/embed-small (was #1)
  embedding.text-embedding: 1 -> 1 models
    + acme/new (#1)
    - acme/embed-small (was #1)
  generation: 2 -> 2 models
    ~ acme/chat-large #2 -> #1
  generation.text-generation: 2 -> 2 models
    ~ acme/chat-large #2 -> #1

models added:
  + acme/new  pools: embedding, embedding.text-embedding

models removed:
  - acme/embed-small

models changed:
  ~ acme/chat-large
      priority: 10 -> 1
"""


def test_markdown_report(repo: Path, catalog: Path) -> None:
    run = run_cli("diff", "HEAD~2", "HEAD~1", "--catalog", str(catalog), "--format", "markdown")
    assert run.code == 0, run.err
    assert run.out == f"""\
### modelreg diff: `{label(repo, "HEAD~2")}` → `{label(repo, "HEAD~1")}`

**1 model changed; 2 pools changed**

| capability | before | after | entered | left | moved |
|---|---:|---:|---:|---:|---:|
| `generation` | 2 | 2 | 0 | 0 | 1 |
| `generation.text-generation` | 2 | 2 | 0 | 0 | 1 |

<details><summary>Pool changes (2)</summary>

**`generation`** (2 → 2)

- moved: `acme/chat-large` #2 → #1

**`generation.text-generation`** (2 → 2)

- moved: `acme/chat-large` #2 → #1

</details>

<details><summary>Models changed (1)</summary>

**`acme/chat-large`**

| field | before | after |
|---|---|---|
| `priority` | 10 | 1 |


</details>

"""


def test_json_report_follows_its_schema(repo: Path, catalog: Path) -> None:
    run = run_cli("diff", "HEAD~3", "HEAD", "--catalog", str(catalog), "--format", "json")
    assert run.code == 0, run.err
    report = json.loads(run.out)
    assert list(validator("diff").iter_errors(report)) == []
    assert report["summary"] == {"text": "1 model added, 1 removed, 1 changed; 4 pools changed", "models_added": 1,
                                 "models_removed": 1, "models_changed": 1, "pools_changed": 4,
                                 "providers_changed": 0, "capabilities_changed": 0}
    assert report["base"] == {"kind": "revision", "ref": "HEAD~3", "commit": git(repo, "rev-parse", "HEAD~3"),
                              "label": label(repo, "HEAD~3"), "digest": None}
    assert report["models"]["changed"] == [
        {"name": "acme/chat-large", "changes": [{"field": "priority", "old": 10, "new": 1}]}]
    assert report["pools"][2] == {"capability": "generation", "before": 2, "after": 2, "entered": [], "left": [],
                                  "moved": [{"name": "acme/chat-large", "from": 2, "to": 1}]}


def test_exit_code(repo: Path, catalog: Path) -> None:
    assert run_cli("diff", "HEAD~1", "HEAD", "--catalog", str(catalog), "--exit-code").code == 1
    assert run_cli("diff", "HEAD~1", "HEAD", "--catalog", str(catalog)).code == 0
    same = run_cli("diff", "HEAD", "HEAD", "--catalog", str(catalog), "--exit-code")
    assert same.code == 0
    assert same.out.endswith(": no models changed; no pools changed\n")


def test_default_base_is_the_merge_base_and_head_the_work_tree(repo: Path, catalog: Path) -> None:
    git(repo, "checkout", "-q", "-b", "feature", "HEAD~1")
    chat = catalog / "acme/chat-large.yaml"
    chat.write_text(chat.read_text().replace("priority: 1", "priority: 99"))
    commit_all(repo, "on the branch")
    write(catalog, "acme/draft.yaml", "name: acme/draft\nprovider: acme\ncapabilities: [chat]\n")
    run = run_cli("diff", "--catalog", str(catalog), "--format", "json")
    assert run.code == 0, run.err
    report = json.loads(run.out)
    assert report["base"]["commit"] == git(repo, "merge-base", "main", "feature")
    assert report["base"]["ref"] == "merge-base"
    assert (report["head"]["kind"], report["head"]["ref"]) == ("worktree", "working tree")
    assert report["head"]["label"].endswith(".dirty")
    # main removed embed-small after the branch point: not this branch's change.
    assert [m["name"] for m in report["models"]["added"]] == ["acme/draft"]
    assert report["models"]["removed"] == []
    assert report["models"]["changed"] == [
        {"name": "acme/chat-large", "changes": [{"field": "priority", "old": 1, "new": 99}]}]


def test_in_a_pull_request_the_base_is_the_target_branch(repo: Path, tmp_path_factory: pytest.TempPathFactory,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    git(repo, "branch", "release", "HEAD~2")
    clone = tmp_path_factory.mktemp("clone") / "repo"
    git(repo, "clone", "-q", f"file://{repo}", str(clone))
    git(clone, "config", "user.name", "Test Author")
    git(clone, "config", "user.email", "test@example.com")
    git(clone, "checkout", "-q", "-b", "fix", "origin/release")
    write(clone / "models.d", "acme/fix.yaml", "name: acme/fix\nprovider: acme\ncapabilities: [chat]\n")
    commit_all(clone, "fix on the release branch")
    monkeypatch.setenv("GITHUB_BASE_REF", "release")
    report = json.loads(run_cli("diff", "HEAD", "--catalog", str(clone / "models.d"), "--format", "json").out)
    assert report["summary"]["text"] == "no models changed; no pools changed"
    report = json.loads(run_cli("diff", "--catalog", str(clone / "models.d"), "--format", "json").out)
    assert report["base"]["commit"] == git(repo, "rev-parse", "release")
    assert [m["name"] for m in report["models"]["added"]] == ["acme/fix"]


def test_an_empty_repository_has_nothing_to_diff_against(catalog: Path) -> None:
    init_repo(catalog.parent)
    run = run_cli("diff", "--catalog", str(catalog))
    assert (run.code, run.err) == (2, "modelreg: error: the repository has no commits yet: nothing to diff "
                                      "against; give BASE as a snapshot file\n")
    run = run_cli("diff", "HEAD", "--catalog", str(catalog))
    assert (run.code, run.err) == (2, "modelreg: error: unknown revision `HEAD`: the repository has no commits "
                                      "yet\n")


def _branch_with_a_new_model(repo: Path, catalog: Path) -> None:
    git(repo, "checkout", "-q", "-b", "feature")
    write(catalog, "acme/draft.yaml", "name: acme/draft\nprovider: acme\ncapabilities: [chat]\n")
    commit_all(repo, "draft")


NO_DEFAULT_BRANCH = "modelreg: error: cannot find the default branch to diff against; give BASE"


def test_without_a_default_branch_diff_asks_for_base(repo: Path, catalog: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    git(repo, "branch", "-m", "main", "trunk")
    _branch_with_a_new_model(repo, catalog)
    run = run_cli("diff", "--catalog", str(catalog), "--exit-code")
    assert (run.code, run.out, run.err) == (2, "", f"{NO_DEFAULT_BRANCH}\n")
    monkeypatch.setenv("GITHUB_BASE_REF", "main")
    run = run_cli("diff", "--catalog", str(catalog), "--exit-code")
    assert (run.code, run.out, run.err) == (2, "", f"{NO_DEFAULT_BRANCH}, or fetch origin/main\n")
    # The pull request's target is the base: another branch that happens to exist is not.
    git(repo, "branch", "main", "trunk")
    monkeypatch.setenv("GITHUB_BASE_REF", "release")
    run = run_cli("diff", "--catalog", str(catalog), "--exit-code")
    assert (run.code, run.out, run.err) == (2, "", f"{NO_DEFAULT_BRANCH}, or fetch origin/release\n")
    run = run_cli("diff", "trunk", "--catalog", str(catalog), "--exit-code")
    assert run.code == 1, run.err
    assert run.out.splitlines()[0] == (f"diff {label(repo, 'trunk')} (trunk) -> {label(repo, 'HEAD')} "
                                       "(working tree): 1 model added; 2 pools changed")


def test_init_default_branch_names_the_default_branch(repo: Path, catalog: Path) -> None:
    git(repo, "branch", "-m", "main", "trunk")
    _branch_with_a_new_model(repo, catalog)
    git(repo, "config", "init.defaultBranch", "trunk")
    report = json.loads(run_cli("diff", "--catalog", str(catalog), "--format", "json").out)
    assert report["base"]["commit"] == git(repo, "rev-parse", "trunk")
    assert [m["name"] for m in report["models"]["added"]] == ["acme/draft"]


def test_origin_head_names_the_default_branch(repo: Path, catalog: Path,
                                              tmp_path_factory: pytest.TempPathFactory) -> None:
    git(repo, "branch", "-m", "main", "trunk")
    clone = tmp_path_factory.mktemp("clone") / "repo"
    git(repo, "clone", "-q", f"file://{repo}", str(clone))
    git(clone, "config", "user.name", "Test Author")
    git(clone, "config", "user.email", "test@example.com")
    assert git(clone, "symbolic-ref", "refs/remotes/origin/HEAD") == "refs/remotes/origin/trunk"
    _branch_with_a_new_model(clone, clone / "models.d")
    report = json.loads(run_cli("diff", "--catalog", str(clone / "models.d"), "--format", "json").out)
    assert report["base"]["commit"] == git(repo, "rev-parse", "trunk")
    assert [m["name"] for m in report["models"]["added"]] == ["acme/draft"]


def test_on_the_default_branch_the_base_is_head(repo: Path, catalog: Path) -> None:
    write(catalog, "acme/draft.yaml", "name: acme/draft\nprovider: acme\ncapabilities: [chat]\n")
    report = json.loads(run_cli("diff", "--catalog", str(catalog), "--format", "json").out)
    assert (report["base"]["ref"], report["base"]["commit"]) == ("merge-base", git(repo, "rev-parse", "HEAD"))
    assert [m["name"] for m in report["models"]["added"]] == ["acme/draft"]


def test_a_clean_work_tree_is_its_commit(repo: Path, catalog: Path) -> None:
    report = json.loads(run_cli("diff", "HEAD~1", "--catalog", str(catalog), "--format", "json").out)
    assert report["head"] == {"kind": "worktree", "ref": "working tree", "commit": git(repo, "rev-parse", "HEAD"),
                              "label": label(repo, "HEAD"), "digest": None}
    assert report["summary"]["models_removed"] == 1


def test_a_cold_diff_reads_the_whole_catalog_once(repo: Path, catalog: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    checks: list[tuple[str, list[str]]] = []
    commands: list[str] = []
    for module in (modelreg.build.pipeline, modelreg.check.change_check):
        def counting_check(files: CatalogFiles, real: Any = module.check_catalog, name: str = module.__name__,
                           **options: Any) -> Any:
            checks.append((name, files.paths()))
            return real(files, **options)
        monkeypatch.setattr(module, "check_catalog", counting_check)
    real_run = Git.run

    def counting_run(self: Git, *args: str, **kwargs: Any) -> bytes:
        commands.append(args[0])
        return real_run(self, *args, **kwargs)

    real_start = Git.start

    def counting_start(self: Git, *args: str) -> Any:
        commands.append(args[0])
        return real_start(self, *args)

    monkeypatch.setattr(Git, "run", counting_run)
    monkeypatch.setattr(Git, "start", counting_start)
    run = run_cli("diff", "HEAD~3", "HEAD", "--catalog", str(catalog), "--format", "json")
    assert run.code == 0, run.err
    assert json.loads(run.out)["summary"]["text"] == "1 model added, 1 removed, 1 changed; 4 pools changed"
    # BASE is compiled from one full read; HEAD is derived from it by checking only what changed
    # (with the tree and providers it resolves against); history is walked once for each side.
    assert checks == [
        ("modelreg.build.pipeline", ["acme/chat-large.yaml", "acme/coder.yaml", "acme/embed-small.yaml",
                                      "acme/provider.yaml", "capabilities.yaml"]),
        ("modelreg.check.change_check", ["acme/chat-large.yaml", "acme/new.yaml", "acme/provider.yaml",
                                         "capabilities.yaml"]),
    ]
    assert commands.count("log") == 2
    # A diff only compares: it leaves no cached snapshot behind, so the next one is as cold.
    checks.clear()
    assert run_cli("diff", "HEAD~3", "HEAD", "--catalog", str(catalog), "--format", "json").out == run.out
    assert [name for name, _ in checks] == ["modelreg.build.pipeline", "modelreg.check.change_check"]
    # `compile --rev` caches BASE's snapshot: then the diff reads nothing in full.
    assert run_cli("compile", "--catalog", str(catalog), "--rev", "HEAD~3", "-o", str(repo / "out.json")).code == 0
    checks.clear()
    commands.clear()
    assert run_cli("diff", "HEAD~3", "HEAD", "--catalog", str(catalog), "--format", "json").out == run.out
    assert [name for name, _ in checks] == ["modelreg.check.change_check"]
    assert commands.count("log") == 1


def test_a_cold_diff_dates_only_what_differs_and_agrees_with_full_snapshots(
        repo: Path, catalog: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    # More history: a model removed and added back unchanged, another file touched, and a merged
    # branch, so that some pairs of commits are on one first-parent line and some are not.
    coder = (catalog / "acme/coder.yaml").read_bytes()
    (catalog / "acme/coder.yaml").unlink()
    commit_all(repo, "coder out", date="2024-05-01T00:00:00+00:00")
    (catalog / "acme/coder.yaml").write_bytes(coder)
    commit_all(repo, "coder back", date="2024-06-01T00:00:00+00:00")
    git(repo, "checkout", "-q", "-b", "side", "HEAD~2")
    write(catalog, "acme/side.yaml", NEW.replace("acme/new", "acme/side"))
    commit_all(repo, "side model", date="2024-07-01T00:00:00+00:00")
    git(repo, "checkout", "-q", "main")
    git(repo, "merge", "-q", "--no-ff", "-m", "merge side", "side", date="2024-08-01T00:00:00+00:00")
    revs = [git(repo, "rev-parse", rev) for rev in ("HEAD", "HEAD^1", "HEAD^2", "HEAD~2", "HEAD~4", "HEAD~5")]
    out = tmp_path_factory.mktemp("snapshots")
    for rev in revs:  # full snapshots: every date known
        assert run_cli("compile", "--catalog", str(catalog), "--rev", rev, "-o", str(out / f"{rev}.json")).code == 0
    monkeypatch.setenv("MODELREG_CACHE", "0")
    for base in revs:
        for head in revs:
            cold = json.loads(run_cli("diff", base, head, "--catalog", str(catalog), "--format", "json").out)
            full = json.loads(run_cli("diff", str(out / f"{base}.json"), str(out / f"{head}.json"),
                                      "--format", "json").out)
            for key in ("models", "pools", "summary", "providers", "capabilities"):
                assert cold[key] == full[key], (base, head, key)
    # The model added back shows its new registration date, from either side.
    back = json.loads(run_cli("diff", "HEAD~3", "HEAD~1", "--catalog", str(catalog), "--format", "json").out)
    assert back["models"]["changed"] == [{"name": "acme/coder", "changes": [
        {"field": "registered_at", "old": "2024-01-01T00:00:00+00:00", "new": "2024-06-01T00:00:00+00:00"}]}]


def test_snapshot_files_as_sides(repo: Path, catalog: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    out = tmp_path_factory.mktemp("out")
    assert run_cli("compile", "--catalog", str(catalog), "--rev", "HEAD~3", "-o", str(out / "old.json")).code == 0
    assert run_cli("compile", "--catalog", str(catalog), "-o", str(out / "new.json")).code == 0
    by_files = json.loads(run_cli("diff", str(out / "old.json"), str(out / "new.json"), "--format", "json").out)
    by_revs = json.loads(run_cli("diff", "HEAD~3", "HEAD", "--catalog", str(catalog), "--format", "json").out)
    assert by_files["base"]["kind"] == "snapshot"
    assert by_files["base"]["digest"] == json.loads((out / "old.json").read_bytes())["$digest"]
    for key in ("models", "pools", "summary", "providers", "capabilities"):
        assert by_files[key] == by_revs[key]


def test_outside_git_only_snapshot_files_work(catalog: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    out = tmp_path_factory.mktemp("out")
    assert run_cli("compile", "--catalog", str(catalog), "-o", str(out / "s.json")).code == 0
    run = run_cli("diff", "--catalog", str(catalog))
    assert (run.code, run.err) == (2, f"modelreg: error: {catalog} is not in a git repository: give BASE "
                                      "(and HEAD) as snapshot files\n")
    run = run_cli("diff", str(out / "s.json"), "--catalog", str(catalog), "--exit-code")
    assert (run.code, run.out.split(": ", 1)[1]) == (0, "no models changed; no pools changed\n")


def test_an_invalid_revision_reports_its_diagnostics(repo: Path, catalog: Path) -> None:
    write(catalog, "acme/bad.yaml", "name: acme/bad\nprovider: acme\ncapabilities: [chatt]\n")
    bad = commit_all(repo, "broken")
    run = run_cli("diff", "HEAD~1", "HEAD", "--catalog", str(catalog))
    assert run.code == 1
    assert run.err == (f"{catalog}/acme/bad.yaml:3:16: error[unknown-capability]: unknown capability `chatt`; "
                       "did you mean `generation.text-generation`?\n"
                       f"HEAD ({bad[:12]}): the catalog is invalid there; no diff\n")
    run = run_cli("diff", "HEAD~1", "nowhere", "--catalog", str(catalog))
    assert (run.code, run.err) == (2, "modelreg: error: unknown revision `nowhere`: no such commit, branch or tag\n")


def test_a_shallow_clone_needs_allow_shallow(repo: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    clone = tmp_path_factory.mktemp("clone") / "repo"
    git(repo, "clone", "-q", "--depth", "2", f"file://{repo}", str(clone))
    run = run_cli("diff", "HEAD~1", "HEAD", "--catalog", str(clone / "models.d"))
    assert run.code == 1 and "git fetch --unshallow" in run.err
    run = run_cli("diff", "HEAD~1", "HEAD", "--catalog", str(clone / "models.d"), "--allow-shallow")
    assert run.code == 0, run.err
    assert "1 model removed" in run.out


def _full(catalog: Path, rev: str) -> dict[str, Any]:
    document = dict(compile_catalog(catalog, rev=rev).document)
    del document["$digest"]
    return document


def derive_from(catalog: Path, base: dict[str, Any], base_commit: str, commit: str) -> dict[str, Any] | None:
    """The document of `commit` derived from `base`, the one of `base_commit`, with dates."""
    repo = catalog_repo(catalog)
    return derive_snapshot(repo, RegistrationDates(repo), base, base_commit, commit, version_at(repo, commit))


def test_a_derived_snapshot_equals_a_full_compile(repo: Path, catalog: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELREG_CACHE", "0")
    # More history: a deprecated model pointing at another, that target re-added after removal.
    write(catalog, "acme/legacy.yaml", "name: acme/legacy\nprovider: acme\ncapabilities: [chat]\n"
                                       "lifecycle: {status: deprecated, replacement: acme/coder}\n")
    commit_all(repo, "legacy", date="2024-05-01T00:00:00+00:00")
    write(catalog, "acme/embed-small.yaml", "name: acme/embed-small\nprovider: acme\n"
                                            "capabilities: [embedding.text-embedding]\n")
    commit_all(repo, "embed-small is back", date="2024-06-01T00:00:00+00:00")
    # Models that move inside their pools, leave them for others, and retire out of all of them.
    chat = catalog / "acme/chat-large.yaml"
    chat.write_text(chat.read_text() + "lifecycle: {status: deprecated}\n")
    write(catalog, "acme/new.yaml", NEW.replace("[embedding.text-embedding]", "[chat]").replace("1\n", "7\n"))
    embed = catalog / "acme/embed-small.yaml"
    embed.write_text(embed.read_text() + "lifecycle: {status: retired, replacement: acme/new}\n")
    commit_all(repo, "chat-large deprecated, new moves to chat, embed-small retired",
               date="2024-07-01T00:00:00+00:00")
    revs = [git(repo, "rev-parse", f"HEAD~{i}") for i in range(7)]
    full = {rev: _full(catalog, rev) for rev in revs}
    for base in revs:
        for target in revs:
            if base != target or base == revs[0]:
                derived = derive_from(catalog, full[base], base, target)
                assert derived == full[target], (base, target)


def test_derived_registration_dates_read_only_the_history_in_between(
        repo: Path, catalog: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELREG_CACHE", "0")
    dates = RegistrationDates(catalog_repo(catalog))
    base = git(repo, "rev-parse", "HEAD")
    # A file removed and added back unchanged: the same bytes at both ends, a new date.
    coder = (catalog / "acme/coder.yaml").read_bytes()
    (catalog / "acme/coder.yaml").unlink()
    write(catalog, "acme/fresh.yaml", NEW.replace("acme/new", "acme/fresh"))
    commit_all(repo, "coder out, fresh in", date="2024-08-01T00:00:00+00:00")
    (catalog / "acme/coder.yaml").write_bytes(coder)
    head = commit_all(repo, "coder back", date="2024-09-01T00:00:00+00:00")
    assert dates.changes(base, head) == {
        "acme/coder.yaml": datetime(2024, 9, 1, tzinfo=UTC), "acme/fresh.yaml": datetime(2024, 8, 1, tzinfo=UTC)}
    assert dates.changes(head, base) is None  # not an earlier commit of its line
    derived = derive_from(catalog, _full(catalog, base), base, head)
    assert derived is not None
    assert derived["models"]["acme/coder"]["registered_at"] == "2024-09-01T00:00:00+00:00"
    assert derived == _full(catalog, head)
    # A base on a merged branch, not on the first-parent line: the whole history is read instead.
    git(repo, "checkout", "-q", "-b", "side")
    write(catalog, "acme/side.yaml", NEW.replace("acme/new", "acme/side"))
    side = commit_all(repo, "side model", date="2024-10-01T00:00:00+00:00")
    git(repo, "checkout", "-q", "main")
    write(catalog, "acme/main.yaml", NEW.replace("acme/new", "acme/main"))
    commit_all(repo, "main model", date="2024-10-02T00:00:00+00:00")
    git(repo, "merge", "-q", "--no-ff", "-m", "merge side", "side", date="2024-11-01T00:00:00+00:00")
    merged = git(repo, "rev-parse", "HEAD")
    assert dates.changes(side, merged) is None
    derived = derive_from(catalog, _full(catalog, side), side, merged)
    assert derived == _full(catalog, merged)
    # Counted from the merge that brought it onto main, not from its commit on the branch.
    assert derived is not None and derived["models"]["acme/side"]["registered_at"] == "2024-11-01T00:00:00+00:00"
    assert dates.changes(head, merged) == {
        "acme/main.yaml": datetime(2024, 10, 2, tzinfo=UTC), "acme/side.yaml": datetime(2024, 11, 1, tzinfo=UTC)}


def test_derivation_declines_tree_and_provider_changes_and_reports_invalid_targets(
        repo: Path, catalog: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELREG_CACHE", "0")
    head = git(repo, "rev-parse", "HEAD")
    provider = catalog / "acme/provider.yaml"
    provider.write_text(provider.read_text().replace("priority: 50", "priority: 60"))
    changed = commit_all(repo, "provider")
    assert derive_from(catalog, _full(catalog, head), head, changed) is None
    write(catalog, "acme/legacy.yaml", "name: acme/legacy\nprovider: acme\ncapabilities: [chat]\n"
                                       "lifecycle: {status: deprecated, replacement: acme/coder}\n")
    valid = commit_all(repo, "legacy")
    (catalog / "acme/coder.yaml").unlink()
    broken = commit_all(repo, "coder gone, legacy still names it")
    with pytest.raises(CatalogInvalid) as caught:
        derive_from(catalog, _full(catalog, valid), valid, broken)
    with pytest.raises(CatalogInvalid) as full:
        compile_catalog(catalog, rev=broken)
    assert caught.value.diagnostics == [d for d in full.value.diagnostics if d.code != "empty-pool"]


def _document(models: int, offset: int = 0) -> dict[str, Any]:
    records = {}
    for i in range(offset, offset + models):
        name = f"p{i % 20:02d}/model-{i:05d}"
        records[name] = {"name": name, "provider": name[:3], "pools": ["generation", "generation.text-generation"],
                         "priority": i % 500, "lifecycle": {"status": "active"}, "registered_at": None}
    ordered = sorted(records, key=lambda n: (records[n]["priority"], n))
    return {"version": {"commit": None, "label": "unversioned"}, "models": records, "providers": {},
            "capabilities": {}, "aliases": {}, "features": {},
            "pools": {"generation": ordered, "generation.text-generation": ordered}}


def test_markdown_stays_under_the_job_summary_cap() -> None:
    diff = compare(Side("snapshot", "old.json", _document(100)), Side("snapshot", "new.json", _document(10_000, 100)))
    text = render_markdown(diff)
    assert len(text.encode()) < MARKDOWN_LIMIT <= 1024 * 1024
    assert text.startswith("### modelreg diff: `unversioned` → `unversioned`\n\n"
                           "**10000 models added, 100 removed; 2 pools changed**\n\n| capability |")
    assert text.index("| `generation.text-generation` | 100 | 10000 | 10000 | 100 | 0 |") < text.index("<details>")
    last = text.rstrip("\n").splitlines()[-1]
    assert last.startswith("**truncated: ") and last.endswith(" more changes, see the artifact** "
                                                              "(`modelreg diff --format json` has them all)")
    assert text.count("<details>") == text.count("</details>")
    report = json.loads(render_json(diff))
    assert len(report["models"]["added"]) == 10_000


def test_a_small_change_is_not_truncated() -> None:
    base = _document(50)
    head = copy.deepcopy(base)
    head["models"]["p01/model-00001"]["priority"] = 999
    diff = compare(Side("snapshot", "a", base), Side("snapshot", "b", head))
    assert "truncated" not in render_markdown(diff)
    assert diff.summary() == "1 model changed; no pools changed"


@pytest.mark.parametrize(("before", "after", "entered", "left", "moved"), [
    (["a", "b", "c"], ["a", "b", "c"], None, None, None),
    (["a", "b"], ["x", "a", "b"], [("x", 1)], [], []),
    (["a", "b", "c"], ["a", "c"], [], [("b", 2)], []),
    (["a", "b", "c", "d"], ["b", "c", "d", "a"], [], [], [("a", 1, 4)]),
    (["a", "b", "c"], ["c", "b", "a"], [], [], [("c", 3, 1), ("b", 2, 2)]),
    (None, ["a"], [("a", 1)], [], []),
])
def test_pool_changes(before: list[str] | None, after: list[str], entered: Any, left: Any, moved: Any) -> None:
    change = pool_change("p", before, after)
    if entered is None:
        assert change is None
        return
    assert change is not None
    assert (change.entered, change.left, change.moved) == (entered, left, moved)


def _hostile_sides() -> tuple[Side, Side]:
    """Two snapshot documents whose names, paths and keys all try to break the markdown."""
    cap = "gen|`</summary>"
    old_name, new_name, kept = "evil/`</details>|x", "evil/<details>`|y", "acme/*meta*"

    def document(models: dict[str, Any], pool: list[str], providers: dict[str, Any], aliases: dict[str, str],
                 version: str) -> dict[str, Any]:
        return {"version": {"commit": None, "label": version}, "models": models, "providers": providers,
                "capabilities": {cap: {"description": "x"}}, "aliases": aliases, "features": {},
                "pools": {cap: pool}}

    base = document({old_name: {"name": old_name, "pools": [cap]},
                     kept: {"name": kept, "pools": [cap], "x-meta": {}}},
                    [old_name, kept], {"p|`</details>": {"priority": 1}}, {}, "`</details>")
    head = document({new_name: {"name": new_name, "pools": [cap]},
                     kept: {"name": kept, "pools": [cap], "x-meta": {"a|b`</details>": 1}}},
                    [kept, new_name], {"p|`</details>": {"priority": 2}, "q`|": {}}, {"c`|": cap}, "2.g|`x")
    return Side("snapshot", "a", base), Side("snapshot", "b", head)


def _cells(row: str) -> int:
    return len(re.split(r"(?<!\\)\|", row)) - 2


def test_markdown_escapes_every_name_it_shows() -> None:
    text = render_markdown(compare(*_hostile_sides()))
    lines = text.splitlines()
    # Every collapsed section is opened and closed by modelreg's own lines, and by nothing else.
    assert re.findall(r"</?details>|</?summary>", text) == ["<details>", "<summary>", "</summary>",
                                                             "</details>"] * 6
    assert [line for line in lines if "details>" in line] == [
        "<details><summary>Pool changes (1)</summary>", "</details>",
        "<details><summary>Models added (1)</summary>", "</details>",
        "<details><summary>Models removed (1)</summary>", "</details>",
        "<details><summary>Models changed (1)</summary>", "</details>",
        "<details><summary>Providers (2)</summary>", "</details>",
        "<details><summary>Capability tree (1)</summary>", "</details>",
    ]
    # Every row of a table has the cells of its header.
    tables: list[list[str]] = [[]]
    for line in lines:
        if line.startswith("|"):
            tables[-1].append(line)
        elif tables[-1]:
            tables.append([])
    tables = [t for t in tables if t]
    assert len(tables) == 3
    for table in tables:
        assert {_cells(row) for row in table} == {_cells(table[0])}, table
    assert lines[0] == ("### modelreg diff: <code>&#96;&#60;&#47;details&#62;</code> → "
                        "<code>2&#46;g&#124;&#96;x</code>")
    assert lines[6] == "| <code>gen&#124;&#96;&#60;&#47;summary&#62;</code> | 2 | 2 | 1 | 1 | 0 |"
    assert "| <code>x&#45;meta&#46;a&#124;b&#96;&#60;&#47;details&#62;</code> | (none) | 1 |" in lines
    assert ("- <code>evil&#47;&#60;details&#62;&#96;&#124;y</code>: "
            "pools <code>gen&#124;&#96;&#60;&#47;summary&#62;</code>") in lines
    assert "**`acme/*meta*`**" in lines
    # A provider's table is its own block, not the tail of the list item above it.
    assert "- added <code>q&#96;&#124;</code>\n\n**<code>p&#124;&#96;&#60;&#47;details&#62;</code>**\n\n" in text
    assert "- <code>aliases&#46;c&#96;&#124;</code>: (none) → gen\\|`&lt;/summary&gt;" in lines


def test_markdown_of_a_hostile_field_name_in_a_real_repository(repo: Path, catalog: Path) -> None:
    chat = catalog / "acme/chat-large.yaml"
    chat.write_text(chat.read_text() + "x-meta: {k: 0}\n")
    commit_all(repo, "metadata")
    chat.write_text(chat.read_text().replace("{k: 0}", '{k: 0, "a|b`</details>": 1}'))
    commit_all(repo, "hostile metadata")
    run = run_cli("diff", "HEAD~1", "HEAD", "--catalog", str(catalog), "--format", "markdown")
    assert run.code == 0, run.err
    assert run.out.endswith("""\
<details><summary>Models changed (1)</summary>

**`acme/chat-large`**

| field | before | after |
|---|---|---|
| <code>x&#45;meta&#46;a&#124;b&#96;&#60;&#47;details&#62;</code> | (none) | 1 |


</details>

""")


def test_a_schema_invalid_replacement_in_a_revision_is_a_diagnostic_not_a_git_failure(catalog: Path) -> None:
    # A replacement the schema refuses is reported, never followed as a path into git.
    root = init_repo(catalog.parent)
    commit_all(root, "catalog", date="2024-01-01T00:00:00+00:00")
    write(catalog, "acme/chat-large.yaml", CHAT + "lifecycle:\n  replacement: ../../x\n")
    commit_all(root, "bad replacement", date="2024-02-01T00:00:00+00:00")
    result = run_cli("diff", "--catalog", str(catalog), "HEAD~1", "HEAD")
    assert result.code == 1
    assert "error[pattern]" in result.out + result.err, result.out + result.err
    assert "git ls-tree" not in result.err


def test_check_change_reads_no_file_outside_the_catalog(tmp_path: Path, catalog: Path) -> None:
    # Nor on disk: an absolute "replacement" in a file the schema refuses pulls nothing in.
    outside = tmp_path / "elsewhere" / "secret.yaml"
    write(outside.parent, "secret.yaml", "token: hunter2\n")
    bad = CHAT + f"lifecycle:\n  replacement: {outside.with_suffix('')}\n"
    check = check_change(WorktreeReader(catalog), ["acme/chat-large.yaml"],
                         overlay={"acme/chat-large.yaml": bad.encode()})
    touched = [d for d in check.diagnostics if "secret" in d.file]
    assert touched == [], touched
