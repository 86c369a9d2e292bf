"""`modelreg history NAME`: the commits that touched a model, newest first, field by field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from modelreg import ModelDefinition, ModelRegistry
from tests.conftest import run_cli
from tests.git_helpers import commit_all, git, init_repo


@pytest.fixture
def repo(catalog: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = init_repo(catalog.parent)
    commit_all(root, "catalog", date="2024-01-01T00:00:00+00:00")
    registry = ModelRegistry(catalog, author="Catalog Bot <bot@example.com>")
    for date, priority in (("2024-02-01T00:00:00+00:00", 30), ("2024-03-01T09:30:00+02:00", 20)):
        monkeypatch.setenv("GIT_COMMITTER_DATE", date)
        monkeypatch.setenv("GIT_AUTHOR_DATE", date)
        registry.register(ModelDefinition(name="acme/vision", provider="acme", capabilities=["chat"],
                                          features={"vision": True}, priority=priority))
    monkeypatch.setenv("GIT_COMMITTER_DATE", "2024-04-01T00:00:00+00:00")
    registry.unregister("acme/vision", message="retire the vision model")
    return root


def test_history_text(repo: Path, catalog: Path) -> None:
    shas = git(repo, "log", "--format=%H", "-3").splitlines()
    run = run_cli("history", "acme/vision", "--catalog", str(catalog))
    assert run.code == 0, run.err
    assert run.out == f"""\
{shas[0][:12]}  2024-04-01 00:00:00 UTC  Catalog Bot <bot@example.com>
    retire the vision model
    deleted acme/vision

{shas[1][:12]}  2024-03-01 07:30:00 UTC  Catalog Bot <bot@example.com>
    register acme/vision
    priority: 30 -> 20

{shas[2][:12]}  2024-02-01 00:00:00 UTC  Catalog Bot <bot@example.com>
    register acme/vision
    added acme/vision
"""


def test_history_json(repo: Path, catalog: Path) -> None:
    run = run_cli("history", "acme/vision", "--catalog", str(catalog), "--format", "json", "--rev", "HEAD~1")
    assert run.code == 0, run.err
    report = json.loads(run.out)
    assert (report["format"], report["version"], report["name"]) == ("modelreg-history", 1, "acme/vision")
    newest, oldest = report["commits"]
    assert newest["change"] == "modified"
    assert newest["date"] == "2024-03-01T07:30:00+00:00"
    assert newest["fields"] == [{"field": "priority", "old": 30, "new": 20}]
    assert oldest["change"] == "added"
    assert oldest["fields"] == [
        {"field": "capabilities", "new": ["chat"]}, {"field": "features", "new": {"vision": True}},
        {"field": "name", "new": "acme/vision"}, {"field": "priority", "new": 30}, {"field": "provider", "new": "acme"}]


def test_history_of_an_unknown_model_or_a_bad_name(repo: Path, catalog: Path) -> None:
    run = run_cli("history", "acme/never", "--catalog", str(catalog))
    assert (run.code, run.err) == (2, f"modelreg: error: no commit touches {catalog}/acme/never.yaml; is "
                                      "`acme/never` a model of this catalog?\n")
    run = run_cli("history", "../../etc/passwd", "--catalog", str(catalog))
    assert run.code == 2
    assert "leads out of the catalog" in run.err


def test_history_outside_git(catalog: Path) -> None:
    run = run_cli("history", "acme/coder", "--catalog", str(catalog))
    assert (run.code, run.err) == (1, f"modelreg: error: {catalog} is not inside a git repository; cannot read a "
                                      "model's history (run `git init` and commit the catalog first)\n")


def test_history_refuses_a_shallow_clone(repo: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    clone = tmp_path_factory.mktemp("clone") / "repo"
    git(repo, "clone", "-q", "--depth", "2", f"file://{repo}", str(clone))
    # The boundary commit holds the file without its parent: it would pass for the one that added it.
    run = run_cli("history", "acme/vision", "--catalog", str(clone / "models.d"), "--rev", "HEAD~1")
    assert (run.code, run.out) == (1, "")
    # Only what `history` can do is suggested: it has no --allow-shallow.
    assert run.err == ("modelreg: error: cannot show the history of `acme/vision`: this is a shallow clone, which "
                       "holds only part of it; run `git fetch --unshallow` (in GitHub Actions, check out with "
                       "`fetch-depth: 0`)\n")


def test_last_changes_agree_with_each_models_history(repo: Path, catalog: Path) -> None:
    from modelreg.history import last_changes, model_history

    # acme/vision came, changed and went; now it comes back, and a merged branch changes acme/coder.
    registry = ModelRegistry(catalog, author="Catalog Bot <bot@example.com>")
    registry.register(ModelDefinition(name="acme/vision", provider="acme", capabilities=["chat"]))
    git(repo, "checkout", "-q", "-b", "tune")
    coder = catalog / "acme" / "coder.yaml"
    coder.write_text(coder.read_text(encoding="utf-8").replace("priority: 5", "priority: 6"), encoding="utf-8")
    commit_all(repo, "tune acme/coder")
    git(repo, "checkout", "-q", "main")
    git(repo, "merge", "-q", "--no-ff", "-m", "merge tune", "tune")
    merge = git(repo, "rev-parse", "HEAD")

    rels = ["acme/vision.yaml", "acme/coder.yaml", "acme/embed-small.yaml", "acme/gone.yaml"]
    found = last_changes(catalog, rels)
    assert sorted(found) == ["acme/coder.yaml", "acme/embed-small.yaml", "acme/vision.yaml"]
    for rel, change in found.items():
        entries = model_history(catalog, rel.removesuffix(".yaml"))
        newest = entries[0]
        assert (change.commit, change.date, change.subject, change.change) == (
            newest.commit, newest.date, newest.subject, newest.change)
        assert change.author == newest.author.split(" <")[0]
    # Counted from its latest addition: the earlier life of the file belongs to another model.
    assert (found["acme/vision.yaml"].change, found["acme/vision.yaml"].commits) == ("added", 1)
    # A merge stands for what its branch brought in, as `registered_at` counts it.
    assert (found["acme/coder.yaml"].commit, found["acme/coder.yaml"].commits) == (merge, 2)
    # At an earlier revision, its story then.
    earlier = last_changes(catalog, rels, rev="HEAD~2")
    assert sorted(earlier) == ["acme/coder.yaml", "acme/embed-small.yaml"]
