"""The ModelRegistry API and `modelreg register`/`unregister`: every change a commit of one file."""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from modelreg import BusyError, CatalogInvalid, ModelDefinition, ModelRegistry, StateError, UnknownCapability
from modelreg.build.compile import validate_catalog
from modelreg.catalog.model_file import dump_model_file
from modelreg.errors import UsageError
from tests.conftest import run_cli, write
from tests.git_helpers import commit_all, git, init_repo

JAN = "2024-01-01T00:00:00+00:00"
NOW = "2024-06-01T12:00:00+00:00"


@pytest.fixture
def repo(catalog: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = init_repo(catalog.parent)
    commit_all(root, "catalog", date=JAN)
    # Commits made by the registry get a fixed time, so registered_at can be asserted exactly.
    monkeypatch.setenv("GIT_COMMITTER_DATE", NOW)
    monkeypatch.setenv("GIT_AUTHOR_DATE", NOW)
    return root


def vision(**changes: object) -> ModelDefinition:
    fields: dict[str, object] = dict(
        name="acme/vision-pro", provider="acme", capabilities=["chat", "embedding.text-embedding"],
        model_id="vision-pro:2025", features={"vision": True, "tool_calling": False},
        limits={"context_window": 200000}, lifecycle={"released": "2024-05-13"}, priority=3)
    fields.update(changes)
    return ModelDefinition(**fields)  # type: ignore[arg-type]


def head(repo: Path) -> str:
    return git(repo, "rev-parse", "HEAD")


def names(models: list) -> list[str]:  # type: ignore[type-arg]
    return [m.name for m in models]


def test_register_writes_one_file_in_the_catalog_style_and_commits_it(repo: Path, catalog: Path) -> None:
    registry = ModelRegistry(catalog)
    before = head(repo)
    model = registry.register(vision())
    assert (catalog / "acme/vision-pro.yaml").read_text() == """\
# yaml-language-server: $schema=../../schemas/model.schema.json
name: acme/vision-pro
provider: acme
model_id: "vision-pro:2025"
capabilities:
  - chat
  - embedding.text-embedding
features:
  vision: true
  tool_calling: false
limits:
  context_window: 200000
lifecycle:
  released: "2024-05-13"
priority: 3
"""
    assert git(repo, "log", "--format=%s|%an <%ae>|%P", "-1") == (
        f"register acme/vision-pro|Test Author <test@example.com>|{before}")
    assert git(repo, "show", "--name-status", "--format=", "HEAD") == "A\tmodels.d/acme/vision-pro.yaml"
    assert git(repo, "status", "--porcelain") == ""
    assert model.pools == ["embedding", "embedding.text-embedding", "generation", "generation.text-generation"]
    assert model.registered_at == datetime(2024, 6, 1, 12, tzinfo=UTC)
    assert model.capabilities == ["embedding.text-embedding", "generation.text-generation"]
    assert model.features == {"streaming": True, "vision": True, "tool_calling": False}
    assert model.source == "acme/vision-pro.yaml"
    assert names(registry.find_by_capability("generation.text-generation")) == [
        "acme/vision-pro", "acme/coder", "acme/chat-large"]
    assert registry.get_model("acme/vision-pro") is model


def test_a_nested_name_gets_the_right_schema_path(repo: Path, catalog: Path) -> None:
    ModelRegistry(catalog).register(vision(name="acme/team/vision-pro"))
    first = (catalog / "acme/team/vision-pro.yaml").read_text().splitlines()[0]
    assert first == "# yaml-language-server: $schema=../../../schemas/model.schema.json"


def test_lookups(repo: Path, catalog: Path) -> None:
    registry = ModelRegistry(catalog)
    assert names(registry.list_models()) == ["acme/chat-large", "acme/coder", "acme/embed-small"]
    # A node's pool holds the models registered below it; an alias names the same node.
    assert names(registry.find_by_capability("generation")) == ["acme/coder", "acme/chat-large"]
    assert names(registry.find_by_capability("chat")) == ["acme/coder", "acme/chat-large"]
    assert names(registry.find_by_capability("generation.text-completion")) == []
    assert names(registry.find_by_provider("acme")) == ["acme/chat-large", "acme/coder", "acme/embed-small"]
    assert registry.find_by_provider("nobody") == []
    assert registry.get_model("acme/nothing") is None
    with pytest.raises(UnknownCapability, match=r"unknown capability `generaton`; did you mean `generation`\?"):
        registry.find_by_capability("generaton")
    assert registry.get_model("acme/coder").registered_at == datetime(2024, 1, 1, tzinfo=UTC)  # type: ignore[union-attr]


def test_re_registering_replaces_the_model_in_one_commit(repo: Path, catalog: Path) -> None:
    registry = ModelRegistry(catalog)
    registry.register(vision())
    first = head(repo)
    model = registry.register(vision(priority=500, features={"vision": True}))
    assert git(repo, "rev-list", "--count", f"{first}..HEAD") == "1"
    assert git(repo, "show", "--name-status", "--format=%s", "HEAD") == (
        "register acme/vision-pro\n\nM\tmodels.d/acme/vision-pro.yaml")
    assert model.registered_at == datetime(2024, 6, 1, 12, tzinfo=UTC)
    assert "tool_calling" not in (catalog / "acme/vision-pro.yaml").read_text()
    assert names(registry.find_by_capability("chat")) == ["acme/coder", "acme/chat-large", "acme/vision-pro"]
    # The same definition again changes nothing and makes no commit.
    registry.register(vision(priority=500, features={"vision": True}))
    assert git(repo, "rev-list", "--count", f"{first}..HEAD") == "1"


def test_registered_at_survives_replacement_of_an_old_model(repo: Path, catalog: Path) -> None:
    registry = ModelRegistry(catalog)
    model = registry.register(ModelDefinition(name="acme/coder", provider="acme",
                                              capabilities=["generation.text-generation.code-generation"],
                                              priority=1))
    assert model.registered_at == datetime(2024, 1, 1, tzinfo=UTC)
    assert ModelRegistry(catalog).get_model("acme/coder") == model


def test_unregister(repo: Path, catalog: Path) -> None:
    registry = ModelRegistry(catalog)
    before = head(repo)
    assert registry.unregister("acme/coder") is True
    assert git(repo, "show", "--name-status", "--format=%s", "HEAD") == (
        "unregister acme/coder\n\nD\tmodels.d/acme/coder.yaml")
    assert git(repo, "rev-parse", "HEAD~1") == before
    assert not (catalog / "acme/coder.yaml").exists()
    assert registry.get_model("acme/coder") is None
    assert names(registry.find_by_capability("generation")) == ["acme/chat-large"]
    assert names(registry.find_by_capability("generation.text-generation.code-generation")) == []
    after = head(repo)
    assert registry.unregister("acme/coder") is False
    assert registry.unregister("acme/never-was") is False
    assert head(repo) == after
    assert git(repo, "status", "--porcelain") == ""


def test_a_new_registry_sees_the_same_state(repo: Path, catalog: Path) -> None:
    registry = ModelRegistry(catalog)
    registry.register(vision())
    registry.register(vision(name="acme/vision-mini", priority=200, model_id=None))
    registry.unregister("acme/chat-large")
    again = ModelRegistry(catalog)
    assert again.list_models() == registry.list_models()
    for path in registry.tree.paths():
        assert again.find_by_capability(path) == registry.find_by_capability(path)


def test_refresh_recomputes_pools_after_the_tree_changed(repo: Path, catalog: Path) -> None:
    registry = ModelRegistry(catalog)
    tree = (catalog / "capabilities.yaml").read_text()
    # code-generation moves from under text-generation to the top of `generation`.
    tree = tree.replace("        children:\n          code-generation:\n            description: Code.\n", "")
    tree = tree.replace("      text-completion:", "      code-generation:\n        description: Code.\n"
                                                   "      text-completion:")
    (catalog / "capabilities.yaml").write_text(tree)
    (catalog / "acme/coder.yaml").write_text((catalog / "acme/coder.yaml").read_text().replace(
        "generation.text-generation.code-generation", "generation.code-generation"))
    commit_all(repo, "flatten the tree", date=JAN)
    assert names(registry.find_by_capability("generation.text-generation")) == ["acme/coder", "acme/chat-large"]
    registry.refresh()
    assert names(registry.find_by_capability("generation.text-generation")) == ["acme/chat-large"]
    assert names(registry.find_by_capability("generation.code-generation")) == ["acme/coder"]
    assert registry.get_model("acme/coder").pools == ["generation", "generation.code-generation"]  # type: ignore[union-attr]


def _full_compile_diagnostics(catalog: Path, definition: ModelDefinition, scratch: Path) -> list[tuple[object, ...]]:
    copy = scratch / "models.d"
    shutil.copytree(catalog, copy)
    rel = f"{definition.name}.yaml"
    write(copy, rel, dump_model_file(definition, rel))
    return [(d.file.replace(str(copy), str(catalog)), d.line, d.column, d.code, d.message, d.severity)
            for d in validate_catalog(copy).diagnostics if d.code != "empty-pool"]


@pytest.mark.parametrize("changes", [
    {"capabilities": ["generaton.text"]},
    {"features": {"vison": True}},
    {"name": "acmee/vision-pro", "provider": "acmee"},
    {"provider": "other"},
    {"lifecycle": {"status": "retired"}},
    {"lifecycle": {"status": "deprecated", "replacement": "acme/chat-larg"}},
    {"priority": "high"},
    {"capabilities": []},
    {"delivery": "sometimes", "batch": "yes"},
    {"capabilities": ["generation.text-completion", "nope"]},
], ids=["capability", "feature", "provider", "provider-mismatch", "retired", "replacement", "type", "empty",
        "enum", "deprecated-and-unknown"])
def test_register_rejects_what_the_compiler_rejects_with_its_diagnostics(
        repo: Path, catalog: Path, tmp_path_factory: pytest.TempPathFactory, changes: dict[str, object]) -> None:
    registry = ModelRegistry(catalog)
    before = head(repo)
    definition = vision(**changes)
    expected = _full_compile_diagnostics(catalog, definition, tmp_path_factory.mktemp("copy"))
    with pytest.raises(CatalogInvalid) as caught:
        registry.register(definition)
    assert [(d.file, d.line, d.column, d.code, d.message, d.severity) for d in caught.value.diagnostics] == expected
    assert any(d.is_error for d in caught.value.diagnostics)
    assert caught.value.summary.endswith("nothing written")
    assert not (catalog / f"{definition.name}.yaml").exists()
    assert head(repo) == before
    assert git(repo, "status", "--porcelain") == ""
    assert registry.get_model(definition.name) is None


def test_a_replacement_that_exists_is_accepted(repo: Path, catalog: Path) -> None:
    model = ModelRegistry(catalog).register(vision(lifecycle={"status": "deprecated", "replacement": "acme/coder"}))
    assert model.status == "deprecated"


@pytest.mark.parametrize("name", ["../../x", "acme/../../x", "/etc/x", "acme\\x", "acme/./x", "ACME/x", "acme"])
def test_names_that_would_leave_the_catalog_are_refused_before_any_write(
        repo: Path, catalog: Path, name: str) -> None:
    registry = ModelRegistry(catalog)
    before = head(repo)
    with pytest.raises(UsageError, match=r"model name|not a valid model name"):
        registry.register(vision(name=name, provider=name.split("/")[0]))
    with pytest.raises(UsageError):
        registry.unregister(name)
    assert head(repo) == before
    assert git(repo, "status", "--porcelain", "--ignored") == ""
    # No `x.yaml` where the name leads, above the repository or inside it.
    leads_to = {Path(os.path.normpath(catalog / f"{name}.yaml")), repo.parent / "x.yaml", repo / "x.yaml"}
    assert sorted(str(p) for p in leads_to if os.path.lexists(p)) == []
    assert sorted(p.relative_to(repo).as_posix() for p in repo.rglob("*x.yaml")) == []


def test_a_symlinked_provider_directory_does_not_carry_a_write_out(
        repo: Path, catalog: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    write(elsewhere, "provider.yaml", (catalog / "acme/provider.yaml").read_text().replace("acme", "evil"))
    (catalog / "evil").symlink_to(elsewhere)
    commit_all(repo, "a symlinked provider")
    with pytest.raises(CatalogInvalid):  # the compiler does not read symlinked directories
        ModelRegistry(catalog)
    # Not in the directory above the repositories, where the escaping-name test looks for an x.yaml.
    source = write(tmp_path_factory.mktemp("incoming"), "x.yaml",
                   "name: evil/x\nprovider: evil\ncapabilities: [chat]\n")
    run = run_cli("register", str(source), "--catalog", str(catalog))
    assert run.code == 1
    assert "unknown provider `evil`" in run.err
    assert sorted(p.name for p in elsewhere.iterdir()) == ["provider.yaml"]


def test_register_refuses_a_file_with_uncommitted_changes_of_its_own(repo: Path, catalog: Path) -> None:
    registry = ModelRegistry(catalog)
    path = catalog / "acme/chat-large.yaml"
    edited = path.read_text().replace("priority: 10", "priority: 11")
    path.write_text(edited)
    before = head(repo)
    with pytest.raises(StateError, match=r"acme/chat-large.yaml has uncommitted changes; commit or discard them"):
        registry.register(ModelDefinition(name="acme/chat-large", provider="acme", capabilities=["chat"]))
    assert path.read_text() == edited
    assert head(repo) == before
    with pytest.raises(StateError, match="has uncommitted changes"):
        registry.unregister("acme/chat-large")
    assert path.read_text() == edited


def test_other_staged_changes_stay_staged_and_out_of_the_commit(repo: Path, catalog: Path) -> None:
    embed = catalog / "acme/embed-small.yaml"
    embed.write_text(embed.read_text() + "priority: 9\n")
    git(repo, "add", str(embed))
    write(repo, "notes.txt", "unrelated\n")
    ModelRegistry(catalog).register(vision())
    assert git(repo, "show", "--name-only", "--format=", "HEAD") == "models.d/acme/vision-pro.yaml"
    assert git(repo, "status", "--porcelain") == "M  models.d/acme/embed-small.yaml\n?? notes.txt"


def test_a_commit_that_would_depend_on_uncommitted_changes_is_refused(repo: Path, catalog: Path) -> None:
    registry = ModelRegistry(catalog)
    tree = catalog / "capabilities.yaml"
    tree.write_text(tree.read_text().replace("  embedding:\n", "  search:\n    description: Search.\n  embedding:\n"))
    before = head(repo)
    with pytest.raises(CatalogInvalid, match="depends on uncommitted changes") as caught:
        registry.register(vision(capabilities=["search"]))
    assert [(d.file, d.code) for d in caught.value.diagnostics] == [
        (f"HEAD:{catalog}/acme/vision-pro.yaml", "unknown-capability")]
    assert head(repo) == before
    assert not (catalog / "acme/vision-pro.yaml").exists()
    git(repo, "commit", "-qam", "add search")
    assert registry.register(vision(capabilities=["search"])).pools == ["search"]


def test_unregister_refuses_a_model_that_others_name_as_replacement(repo: Path, catalog: Path) -> None:
    registry = ModelRegistry(catalog)
    registry.register(vision(lifecycle={"status": "deprecated", "replacement": "acme/coder"}))
    before = head(repo)
    with pytest.raises(CatalogInvalid, match="`acme/coder` cannot be unregistered") as caught:
        registry.unregister("acme/coder")
    assert [(d.file, d.line, d.code) for d in caught.value.diagnostics] == [
        (f"{catalog}/acme/vision-pro.yaml", 15, "unknown-replacement")]
    assert head(repo) == before
    assert (catalog / "acme/coder.yaml").exists()
    assert registry.get_model("acme/coder") is not None


LEGACY = """\
name: acme/legacy
provider: acme
capabilities: [chat]
lifecycle:
  status: deprecated
  replacement: acme/coder
"""
RETIRED_CODER = ModelDefinition(name="acme/coder", provider="acme",
                                capabilities=["generation.text-generation.code-generation"],
                                lifecycle={"status": "retired", "replacement": "acme/chat-large"})


def test_register_refuses_to_break_a_model_that_names_it_as_replacement(repo: Path, catalog: Path) -> None:
    write(catalog, "acme/legacy.yaml", LEGACY)
    commit_all(repo, "legacy", date=JAN)
    registry = ModelRegistry(catalog)
    before = head(repo)
    with pytest.raises(CatalogInvalid, match="`acme/coder` is not registered") as caught:
        registry.register(RETIRED_CODER)
    assert [(d.file, d.line, d.code, d.message) for d in caught.value.diagnostics] == [
        (f"{catalog}/acme/legacy.yaml", 6, "bad-replacement",
         "replacement `acme/coder` is itself retired; name the model that replaces it")]
    assert head(repo) == before
    assert git(repo, "status", "--porcelain") == ""
    assert not validate_catalog(catalog).errors


def test_register_refuses_to_break_at_head_a_model_that_names_it_as_replacement(repo: Path, catalog: Path) -> None:
    write(catalog, "acme/legacy.yaml", LEGACY)
    commit_all(repo, "legacy", date=JAN)
    # Uncommitted: legacy now points elsewhere, but the commit would hold HEAD's legacy.
    write(catalog, "acme/legacy.yaml", LEGACY.replace("acme/coder", "acme/chat-large"))
    registry = ModelRegistry(catalog)
    before = head(repo)
    with pytest.raises(CatalogInvalid, match="depends on uncommitted changes") as caught:
        registry.register(RETIRED_CODER)
    assert [(d.file, d.line, d.code) for d in caught.value.diagnostics] == [
        (f"HEAD:{catalog}/acme/legacy.yaml", 6, "bad-replacement")]
    assert head(repo) == before
    assert git(repo, "diff", "--name-only") == "models.d/acme/legacy.yaml"
    assert git(repo, "status", "--porcelain", "--untracked-files=all", "--", "models.d/acme/coder.yaml") == ""


def _conflict(repo: Path) -> None:
    # notes.txt: `base`, then `side` on branch side and `main` on main; the catalog is not involved.
    write(repo, "notes.txt", "base\n")
    commit_all(repo, "notes", date=JAN)
    git(repo, "checkout", "-q", "-b", "side")
    write(repo, "notes.txt", "side\n")
    commit_all(repo, "side notes", date=JAN)
    git(repo, "checkout", "-q", "main")
    write(repo, "notes.txt", "main\n")
    commit_all(repo, "main notes", date=JAN)


@pytest.mark.parametrize(("command", "what", "marker", "fix"), [
    (["merge", "side"], "a merge", "MERGE_HEAD", "`git merge --continue` or `git merge --abort`"),
    (["cherry-pick", "side"], "a cherry-pick", "CHERRY_PICK_HEAD",
     "`git cherry-pick --continue` or `git cherry-pick --abort`"),
    (["revert", "--no-edit", "side"], "a revert", "REVERT_HEAD", "`git revert --continue` or `git revert --abort`"),
    (["rebase", "side"], "a rebase", "rebase-merge", "`git rebase --continue` or `git rebase --abort`"),
], ids=["merge", "cherry-pick", "revert", "rebase"])
def test_writes_are_refused_while_git_is_in_the_middle_of_an_operation(
        repo: Path, catalog: Path, command: list[str], what: str, marker: str, fix: str) -> None:
    _conflict(repo)
    registry = ModelRegistry(catalog)
    git(repo, *command, check=False)
    assert (repo / ".git" / marker).exists()
    before = head(repo)
    message = (f"{what} is in progress ({repo}/.git/{marker}); finish it or abort it ({fix}) before registering "
               "or unregistering models")
    with pytest.raises(StateError) as caught:
        registry.register(vision())
    assert str(caught.value) == message
    with pytest.raises(StateError) as caught:
        registry.unregister("acme/coder")
    assert str(caught.value) == message
    assert head(repo) == before
    assert git(repo, "status", "--porcelain", "--", "models.d") == ""


def test_a_symlinked_model_file_is_never_written_through(repo: Path, catalog: Path) -> None:
    shared = write(catalog, ".shared/coder.yaml", (catalog / "acme/coder.yaml").read_text())
    (catalog / "acme/coder.yaml").unlink()
    (catalog / "acme/coder.yaml").symlink_to("../.shared/coder.yaml")
    commit_all(repo, "coder from a shared file", date=JAN)
    registry = ModelRegistry(catalog)
    assert registry.get_model("acme/coder") is not None
    before = head(repo)
    content = shared.read_bytes()
    message = (f"{catalog}/acme/coder.yaml is a symlink; modelreg does not write through symlinks (replace it "
               "with the file itself, or remove it with `git rm`)")
    with pytest.raises(StateError) as caught:
        registry.register(ModelDefinition(name="acme/coder", provider="acme", capabilities=["chat"]))
    assert str(caught.value) == message
    with pytest.raises(StateError) as caught:
        registry.unregister("acme/coder")
    assert str(caught.value) == message
    assert os.readlink(catalog / "acme/coder.yaml") == "../.shared/coder.yaml"
    assert shared.read_bytes() == content
    assert head(repo) == before
    assert git(repo, "status", "--porcelain") == ""


def test_register_dates_a_model_as_a_new_registry_does(repo: Path, catalog: Path) -> None:
    # coder is deleted on a branch whose merge keeps it: it has been on main since January.
    git(repo, "checkout", "-q", "-b", "side")
    (catalog / "acme/coder.yaml").unlink()
    write(catalog, "acme/extra.yaml", "name: acme/extra\nprovider: acme\ncapabilities: [chat]\n")
    commit_all(repo, "drop coder, add extra on a branch", date="2024-03-01T00:00:00+00:00")
    git(repo, "checkout", "-q", "main")
    coder = catalog / "acme/coder.yaml"
    coder.write_text(coder.read_text().replace("priority: 5", "priority: 6"))
    commit_all(repo, "reprioritise coder", date="2024-02-01T00:00:00+00:00")
    git(repo, "merge", "-q", "--no-ff", "--no-commit", "side", check=False)
    git(repo, "checkout", "-q", "--ours", "--", "models.d")
    commit_all(repo, "merge side, keeping coder")
    model = ModelRegistry(catalog).register(ModelDefinition(
        name="acme/coder", provider="acme", capabilities=["generation.text-generation.code-generation"], priority=1))
    assert model.registered_at == datetime(2024, 1, 1, tzinfo=UTC)
    assert ModelRegistry(catalog).get_model("acme/coder") == model


def test_the_author_is_configurable(repo: Path, catalog: Path) -> None:
    ModelRegistry(catalog, author="Catalog Bot <bot@example.com>").register(vision())
    assert git(repo, "log", "-1", "--format=%an <%ae>|%cn <%ce>") == (
        "Catalog Bot <bot@example.com>|Catalog Bot <bot@example.com>")
    with pytest.raises(UsageError, match="not in the form `Name <email>`"):
        ModelRegistry(catalog, author="just a name")


def test_opening_needs_a_git_repository_and_a_valid_catalog(catalog: Path, tmp_path_factory: pytest.TempPathFactory
                                                            ) -> None:
    with pytest.raises(StateError, match="is not inside a git repository; cannot open a model registry"):
        ModelRegistry(catalog)
    init_repo(catalog.parent)
    (catalog / "acme/coder.yaml").write_text("name: acme/coder\nprovider: acme\ncapabilities: [nope]\n")
    with pytest.raises(CatalogInvalid) as caught:
        ModelRegistry(catalog)
    assert [(d.line, d.column, d.code) for d in caught.value.diagnostics] == [(3, 16, "unknown-capability")]


def test_a_shallow_clone_has_no_registration_dates(repo: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    clone = tmp_path_factory.mktemp("clone") / "repo"
    git(repo, "clone", "-q", "--depth", "1", f"file://{repo}", str(clone))
    with pytest.raises(StateError, match="git fetch --unshallow"):
        ModelRegistry(clone / "models.d")
    registry = ModelRegistry(clone / "models.d", allow_shallow=True)
    assert [m.registered_at for m in registry.list_models()] == [None, None, None]
    git(clone, "config", "user.name", "Test Author")
    git(clone, "config", "user.email", "test@example.com")
    assert registry.register(vision()).registered_at is None
    assert registry.register(ModelDefinition(name="acme/coder", provider="acme", capabilities=["chat"])
                             ).registered_at is None


def test_writes_need_a_commit_and_a_branch(catalog: Path) -> None:
    root = init_repo(catalog.parent)
    registry = ModelRegistry(catalog)  # reading an empty repository works
    with pytest.raises(StateError, match=r"the repository has no commits yet; commit the catalog first"):
        registry.register(vision())
    commit_all(root, "catalog", date=JAN)
    git(root, "checkout", "-q", "--detach")
    with pytest.raises(StateError, match=r"HEAD is detached \(at [0-9a-f]{12}\); check out a branch"):
        registry.register(vision())
    assert not (catalog / "acme/vision-pro.yaml").exists()
    assert git(root, "status", "--porcelain") == ""


def test_cli_register_and_unregister(repo: Path, catalog: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    source = tmp_path_factory.mktemp("incoming") / "vision.yaml"
    source.write_text("# from the vendor's docs\nname: acme/vision-pro\nprovider: acme\ncapabilities: [chat]\n")
    run = run_cli("register", str(source), "--catalog", str(catalog), "-m", "add the vision model")
    assert run.code == 0, run.err
    sha = head(repo)
    assert run.out == (f"registered acme/vision-pro (commit {sha[:12]}): {catalog}/acme/vision-pro.yaml\n"
                       "  pools: generation, generation.text-generation\n"
                       "  registered_at: 2024-06-01T12:00:00+00:00\n")
    assert git(repo, "log", "-1", "--format=%s") == "add the vision model"
    assert (catalog / "acme/vision-pro.yaml").read_text() == (
        "# yaml-language-server: $schema=../../schemas/model.schema.json\n"
        "name: acme/vision-pro\nprovider: acme\ncapabilities:\n  - chat\n")
    run = run_cli("unregister", "acme/vision-pro", "--catalog", str(catalog))
    assert (run.code, run.out) == (0, f"unregistered acme/vision-pro (commit {head(repo)[:12]})\n")
    run = run_cli("unregister", "acme/vision-pro", "--catalog", str(catalog))
    assert (run.code, run.err) == (2, f"modelreg: error: `acme/vision-pro` is not registered in {catalog}; "
                                      "nothing to unregister\n")


def test_cli_register_of_an_existing_name_shows_what_changed(
        repo: Path, catalog: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    source = tmp_path_factory.mktemp("incoming") / "chat-large.yaml"
    # The same fields as the catalog's file, written in another style: one commit, no field changed.
    source.write_text("name: acme/chat-large\nprovider: acme\nmodel_id: chat-large:2024\n"
                      "capabilities:\n  - generation.text-generation\nfeatures: {tool_calling: true}\n"
                      "limits: {context_window: 128000}\npriority: 10\n")
    run = run_cli("register", str(source), "--catalog", str(catalog))
    assert run.code == 0, run.err
    assert run.out == (f"registered acme/chat-large (commit {head(repo)[:12]}): {catalog}/acme/chat-large.yaml\n"
                       "  pools: generation, generation.text-generation\n"
                       "  registered_at: 2024-01-01T00:00:00+00:00\n"
                       "  replaced the previous definition: no field changed (formatting only)\n")
    source.write_text("name: acme/chat-large\nprovider: acme\nmodel_id: chat-large:2025\n"
                      "capabilities: [generation.text-generation, embedding.text-embedding]\n"
                      "features: {tool_calling: false, vision: true}\npriority: 10\n")
    run = run_cli("register", str(source), "--catalog", str(catalog))
    assert run.code == 0, run.err
    assert run.out == f"""\
registered acme/chat-large (commit {head(repo)[:12]}): {catalog}/acme/chat-large.yaml
  pools: embedding, embedding.text-embedding, generation, generation.text-generation
  registered_at: 2024-01-01T00:00:00+00:00
  replaced the previous definition:
    capabilities: ["generation.text-generation"] -> ["generation.text-generation", "embedding.text-embedding"]
    features.tool_calling: true -> false
    features.vision: (none) -> true
    limits: {{"context_window": 128000}} -> (none)
    model_id: chat-large:2024 -> chat-large:2025
"""
    before = head(repo)
    run = run_cli("register", str(source), "--catalog", str(catalog))
    assert (run.code, head(repo)) == (0, before)
    assert run.out == (f"registered acme/chat-large (already registered as written, no commit): "
                       f"{catalog}/acme/chat-large.yaml\n"
                       "  pools: embedding, embedding.text-embedding, generation, generation.text-generation\n"
                       "  registered_at: 2024-01-01T00:00:00+00:00\n")


def test_cli_register_points_into_the_given_file(repo: Path, catalog: Path,
                                                 tmp_path_factory: pytest.TempPathFactory) -> None:
    source = tmp_path_factory.mktemp("incoming") / "vision.yaml"
    source.write_text("name: acme/vision-pro\nprovider: acme\ncapabilities:\n  - chat\n  - visoin\n")
    before = head(repo)
    run = run_cli("register", str(source), "--catalog", str(catalog))
    assert run.code == 1
    assert run.err.startswith(f"{source}:5:5: error[unknown-capability]: unknown capability `visoin`")
    assert run.err.endswith("`acme/vision-pro` is not registered: 1 error(s); nothing written\n")
    source.write_text("name: acme/vision-pro\nname: again\n")
    run = run_cli("register", str(source), "--catalog", str(catalog))
    assert run.code == 1
    assert run.err.startswith(f"{source}:2:1: error[duplicate-key]: duplicate key `name` (first defined on line 1)")
    source.write_text("name: ../../etc/x\nprovider: acme\ncapabilities: [chat]\n")
    run = run_cli("register", str(source), "--catalog", str(catalog))
    assert run.code == 1
    assert run.err.startswith(f"{source}:1:7: error[pattern]: name `../../etc/x` is not valid")
    assert head(repo) == before
    assert git(repo, "status", "--porcelain") == ""


def test_cli_registers_a_new_file_written_in_place(repo: Path, catalog: Path) -> None:
    path = write(catalog, "acme/in-place.yaml", "name: acme/in-place\nprovider: acme\ncapabilities: [chat]\n")
    run = run_cli("register", str(path), "--catalog", str(catalog))
    assert run.code == 0, run.err
    assert git(repo, "status", "--porcelain") == ""
    assert git(repo, "show", "--name-status", "--format=", "HEAD") == "A\tmodels.d/acme/in-place.yaml"


def test_cli_register_outside_git_fails_clearly(catalog: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    source = tmp_path_factory.mktemp("incoming") / "vision.yaml"
    source.write_text("name: acme/vision-pro\nprovider: acme\ncapabilities: [chat]\n")
    run = run_cli("register", str(source), "--catalog", str(catalog))
    assert (run.code, run.err) == (1, f"modelreg: error: {catalog} is not inside a git repository; cannot register "
                                      "a model (run `git init` and commit the catalog first)\n")
    assert not (catalog / "acme/vision-pro.yaml").exists()
    run = run_cli("unregister", "acme/coder", "--catalog", str(catalog))
    assert (run.code, run.err) == (1, f"modelreg: error: {catalog} is not inside a git repository; cannot write "
                                      "to the catalog (run `git init` and commit the catalog first)\n")
    assert (catalog / "acme/coder.yaml").exists()
    assert run_cli("show", "--catalog", str(catalog)).code == 0


def test_busy_error_is_a_state_error() -> None:
    assert issubclass(BusyError, StateError)


def test_a_catalog_at_the_root_of_its_repository(catalog: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    init_repo(catalog)
    commit_all(catalog, "catalog", date=JAN)
    monkeypatch.setenv("GIT_COMMITTER_DATE", NOW)
    registry = ModelRegistry(catalog)
    assert registry.register(vision()).registered_at == datetime(2024, 6, 1, 12, tzinfo=UTC)
    assert git(catalog, "show", "--name-status", "--format=", "HEAD") == "A\tacme/vision-pro.yaml"
    assert ModelRegistry(catalog).list_models() == registry.list_models()
    assert registry.unregister("acme/coder")
    run = run_cli("diff", "HEAD~2", "HEAD", "--catalog", str(catalog))
    assert run.out.splitlines()[0].endswith("1 model added, 1 removed; 5 pools changed")


def test_a_close_match_that_is_no_valid_name_still_gets_diagnostics(catalog: Path, tmp_path: Path) -> None:
    # A file whose name is not a model name (capitals) is the closest match of a replacement: the
    # check brings it in to suggest it, and reports, rather than refusing the name as usage.
    from tests.git_helpers import commit_all, init_repo

    write(catalog, "acme/Zqvkwj.yaml", "name: acme/Zqvkwj\nprovider: acme\ncapabilities: [chat]\n")
    commit_all(init_repo(catalog.parent), "catalog")
    model = write(tmp_path / "outside", "old.yaml", "name: acme/old\nprovider: acme\ncapabilities: [chat]\n"
                                                    "lifecycle: {status: deprecated, replacement: acme/zqvkwj}\n")
    run = run_cli("register", str(model), "--catalog", str(catalog))
    assert run.code == 1, run.err
    assert "unknown-replacement" in run.err
