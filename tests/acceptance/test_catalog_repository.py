"""`modelreg init`: a catalog repository of your own that validates as written, whose schema
comments resolve, and whose hook and workflow are this repository's."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from modelreg.catalog.schema_copies import COPY_NOTE, copy_text
from modelreg.project import github_repository, release_tag, repository_url
from modelreg.schemas import load_schema
from tests.acceptance.test_workflows import _check_jsonschema, _load, _simulate
from tests.conftest import REPO, run_cli
from tests.git_helpers import commit_all, git, init_repo
from tests.test_schemas import _offline_env

BUNDLED_FILES = [
    ".github/workflows/catalog.yml", ".gitignore", ".pre-commit-config.yaml", "README.md", "modelreg.toml",
    "models.d/acme/audio.yaml", "models.d/acme/classification.yaml", "models.d/acme/embedding.yaml",
    "models.d/acme/generation.yaml", "models.d/acme/moderation.yaml", "models.d/acme/provider.yaml",
    "models.d/acme/retrieval.yaml", "models.d/acme/understanding.yaml", "models.d/capabilities.yaml",
    "schemas/capabilities.schema.json", "schemas/model.schema.json", "schemas/provider.schema.json",
]
SMALL_FILES = [
    ".github/workflows/catalog.yml", ".gitignore", ".pre-commit-config.yaml", "README.md", "modelreg.toml",
    "models.d/acme/generation.yaml", "models.d/acme/provider.yaml", "models.d/capabilities.yaml",
    "schemas/capabilities.schema.json", "schemas/model.schema.json", "schemas/provider.schema.json",
]
NEXT = ("next: replace the example provider `acme` with yours (`modelreg new --provider NAME`), run `modelreg "
        "validate`, commit, and `pre-commit install`\n")


def _files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() and ".git" not in p.parts)


def _init(target: Path, *flags: str) -> None:
    run = run_cli("init", str(target), *flags)
    assert run.code == 0, run.err
    listed = _files(target)
    assert run.out == f"wrote {len(listed)} files into {target}:\n" + "".join(f"  {f}\n" for f in listed) + NEXT


@pytest.mark.parametrize(("flags", "files"), [((), BUNDLED_FILES), (("--empty",), SMALL_FILES)])
def test_init_writes_a_repository_that_validates_strict_with_every_pool_served(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, flags: tuple[str, ...], files: list[str]) -> None:
    target = tmp_path / "acme-catalog"
    _init(target, *flags)
    assert _files(target) == files
    monkeypatch.chdir(target)
    validated = run_cli("validate", "--strict")
    assert (validated.code, validated.out, validated.err) == (0, "", "models.d: valid (0 error(s), 0 warning(s))\n")
    compiled = run_cli("compile")
    assert compiled.code == 0, compiled.err
    snapshot = json.loads((target / "build" / "registry.json").read_text(encoding="utf-8"))
    live = [path for path, node in snapshot["capabilities"].items() if not node.get("deprecated")]
    assert live and all(snapshot["pools"][path] for path in live)
    assert (target / "modelreg.toml").read_text(encoding="utf-8").endswith('\ncatalog = "models.d"\n')


def test_the_bundled_tree_is_the_projects_own(tmp_path: Path) -> None:
    _init(tmp_path / "repo")
    assert (tmp_path / "repo" / "models.d" / "capabilities.yaml").read_bytes() == (
        REPO / "models.d" / "capabilities.yaml").read_bytes()
    audio = yaml.safe_load((tmp_path / "repo" / "models.d" / "acme" / "audio.yaml").read_text(encoding="utf-8"))
    assert audio == {"name": "acme/audio", "provider": "acme", "model_id": "audio",
                     "capabilities": ["audio.speech-to-text.speech-translation", "audio.text-to-speech",
                                      "audio.realtime"]}


def test_every_schema_comment_resolves_to_a_copy_that_checks_the_file_offline(tmp_path: Path) -> None:
    target = tmp_path / "repo"
    _init(target)
    comment = re.compile(r"^# yaml-language-server: \$schema=(\S+)$")
    checked = []
    for path in sorted((target / "models.d").rglob("*.yaml")):
        match = comment.match(path.read_text(encoding="utf-8").splitlines()[0])
        assert match, path
        schema = (path.parent / match[1]).resolve()
        assert schema.parent == target / "schemas"
        env, attempts = _offline_env(tmp_path)
        result = subprocess.run([sys.executable, "-m", "check_jsonschema", "--schemafile", str(schema), str(path)],
                                capture_output=True, text=True, check=False, env=env)
        assert (result.returncode, result.stdout) == (0, "ok -- validation done\n"), (path, result.stdout)
        assert not attempts.exists()
        checked.append(schema.name)
    assert sorted(set(checked)) == ["capabilities.schema.json", "model.schema.json", "provider.schema.json"]
    for name in ("capabilities", "provider", "model"):
        copy = json.loads((target / "schemas" / f"{name}.schema.json").read_text(encoding="utf-8"))
        assert copy.pop("$comment") == COPY_NOTE
        assert copy == load_schema(name)


def test_the_hook_and_the_workflow_are_this_repositorys_at_this_release(tmp_path: Path) -> None:
    target = tmp_path / "repo"
    _init(target)
    config = yaml.safe_load((target / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    manifest = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    assert config == {"repos": [{"repo": repository_url(), "rev": release_tag(),
                                 "hooks": [{"id": manifest[0]["id"]}]}]}
    assert repository_url() == f"https://github.com/{github_repository()}"

    caller = target / ".github" / "workflows" / "catalog.yml"
    workflow = _load(caller)
    (job,) = workflow["jobs"].values()
    owner_repo, _, rest = job["uses"].partition("/.github/")
    path, _, ref = rest.partition("@")
    assert (owner_repo, ref) == (github_repository(), release_tag())
    reusable = _load(REPO / ".github" / path)
    inputs = reusable["on"]["workflow_call"]["inputs"]
    assert set(job["with"]) <= set(inputs)
    assert {name for name, spec in inputs.items() if spec.get("required")} <= set(job["with"])
    assert job["with"]["modelreg-version"] == release_tag()
    assert workflow["permissions"] == {"contents": "read"}
    result = _check_jsonschema(caller)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_readmes_five_lines_are_what_init_writes(tmp_path: Path) -> None:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Your own catalog repository"):]
    block = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    assert len([line for line in block.splitlines() if line.strip()]) == 5
    _init(tmp_path / "repo")
    assert yaml.safe_load(block) == {"jobs": _load(tmp_path / "repo" / ".github" / "workflows" / "catalog.yml")["jobs"]}


def test_the_readmes_commands_run_as_written(tmp_path: Path) -> None:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Your own catalog repository"):]
    script = section.split("```sh\n", 1)[1].split("```", 1)[0]
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run(["bash", "--noprofile", "--norc", "-e", "-c", script], cwd=tmp_path, env=env,
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "models.d: valid (0 error(s), 0 warning(s))\n" in result.stderr
    assert result.stdout.splitlines()[-1].startswith(
        "wrote build/registry.json: 8 models from 2 providers; 31 capability pools (30 non-empty)")
    assert (tmp_path / "acme-catalog" / "models.d" / "openai" / "gpt-4o.yaml").is_file()


@pytest.mark.parametrize("setup", ["file", "full", "no-parent"])
def test_init_refuses_a_target_it_cannot_start_in_and_writes_nothing(tmp_path: Path, setup: str) -> None:
    target = tmp_path / "target"
    if setup == "file":
        target.write_text("hello\n", encoding="utf-8")
        message = f"{target} exists and is not a directory; choose a new or empty directory"
    elif setup == "full":
        init_repo(target)
        (target / "README.md").write_text("ours\n", encoding="utf-8")
        message = (f"{target} is not empty (it holds README.md); init starts a catalog repository in a new or empty "
                   "directory")
    else:
        target = tmp_path / "missing" / "target"
        message = f"{tmp_path / 'missing'} does not exist; create it first, or choose another directory"
    before = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*"))
    run = run_cli("init", str(target))
    assert (run.code, run.out, run.err) == (2, "", f"modelreg: error: {message}\n")
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == before


def test_init_beside_a_git_directory_and_a_failure_there_takes_back_what_moved(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = init_repo(tmp_path / "repo")
    real_rename = os.rename
    renames: list[str] = []

    def failing_rename(source: str | os.PathLike[str], destination: str | os.PathLike[str]) -> None:
        renames.append(os.fspath(destination))
        if len(renames) == 4:
            raise OSError(28, "No space left on device")
        real_rename(source, destination)

    monkeypatch.setattr(os, "rename", failing_rename)
    run = run_cli("init", str(target))
    assert (run.code, run.err) == (1, "modelreg: error: No space left on device\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["repo"]
    assert sorted(p.name for p in target.iterdir()) == [".git"]
    monkeypatch.setattr(os, "rename", real_rename)

    _init(target)
    assert git(target, "status", "--porcelain", "--untracked-files=all").splitlines() == [
        f"?? {rel}" for rel in BUNDLED_FILES]


def test_validate_keeps_the_schema_copies_current_and_leaves_other_files_alone(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "repo"
    _init(target)
    monkeypatch.chdir(target)
    schemas = target / "schemas"
    old = json.loads((schemas / "model.schema.json").read_text(encoding="utf-8"))
    old["description"] = "an older modelreg's model schema"
    (schemas / "model.schema.json").write_text(json.dumps(old), encoding="utf-8")
    (schemas / "provider.schema.json").unlink()
    run = run_cli("validate")
    assert (run.code, run.err) == (0, (
        "models.d: valid (0 error(s), 0 warning(s))\n"
        "modelreg: note: wrote schemas/model.schema.json: the copy of modelreg's schema that the catalog's `$schema` "
        "comments name\n"
        "modelreg: note: wrote schemas/provider.schema.json: the copy of modelreg's schema that the catalog's "
        "`$schema` comments name\n"))
    assert (schemas / "model.schema.json").read_text(encoding="utf-8") == copy_text("model")
    assert (schemas / "provider.schema.json").read_text(encoding="utf-8") == copy_text("provider")
    assert run_cli("validate").err == "models.d: valid (0 error(s), 0 warning(s))\n"

    # A file that is not a copy is the repository's own: never written over.
    own = '{"$id": "https://example.com/our-model.json"}\n'
    (schemas / "model.schema.json").write_text(own, encoding="utf-8")
    assert run_cli("validate").err == "models.d: valid (0 error(s), 0 warning(s))\n"
    assert (schemas / "model.schema.json").read_text(encoding="utf-8") == own


def test_validate_makes_no_schema_copies_where_nobody_asked_for_them(catalog: Path) -> None:
    assert run_cli("validate", "--catalog", str(catalog)).code == 0
    assert not (catalog.parent / "schemas").exists()
    # In modelreg's own repository `schemas/` beside the catalog is the source itself.
    before = {p.name: p.read_bytes() for p in (REPO / "schemas").iterdir()}
    assert run_cli("validate", "--catalog", str(REPO / "models.d")).code == 0
    assert {p.name: p.read_bytes() for p in (REPO / "schemas").iterdir()} == before


@pytest.mark.slow
def test_the_reusable_workflow_reviews_a_pull_request_of_an_initialised_repository(tmp_path: Path) -> None:
    origin = tmp_path / "origin"
    _init(origin)
    init_repo(origin)
    commit_all(origin, "A model catalog")
    git(tmp_path, "clone", "-q", str(origin), "workspace")
    workspace = tmp_path / "workspace"
    git(workspace, "config", "user.name", "T")
    git(workspace, "config", "user.email", "t@example.com")
    git(workspace, "checkout", "-q", "-b", "pr")
    (workspace / "models.d" / "acme" / "chat.yaml").write_text(
        "name: acme/chat\nprovider: acme\ncapabilities: [chat]\npriority: 1\n", encoding="utf-8")
    commit_all(workspace, "add acme/chat")

    contexts: dict[str, Any] = {"inputs.catalog": "", "inputs.python-version": "3.11",
                                "inputs.modelreg-version": release_tag(), "github.base_ref": "main"}
    ran, summary = _simulate("catalog-reusable.yml", workspace, contexts)
    assert [(name, code) for name, code, _ in ran] == [
        ("Validate", 0), ("Compile", 0), ("Pool diff against the base branch", 0)], ran
    assert ran[0][2] == "models.d: valid (0 error(s), 0 warning(s))\n"
    text = summary.read_text(encoding="utf-8")
    assert "**1 model added; 2 pools changed**" in text and "`acme/chat`" in text
    upload = next(s for s in _load(REPO / ".github" / "workflows" / "catalog-reusable.yml")["jobs"]["review"]["steps"]
                  if s.get("uses", "").startswith("actions/upload-artifact@"))
    for path in upload["with"]["path"].split():
        assert (workspace / path).is_file(), path

    (workspace / "models.d" / "acme" / "chat.yaml").write_text(
        "name: acme/chat\nprovider: acme\ncapabilities: [chatt]\n", encoding="utf-8")
    commit_all(workspace, "break acme/chat")
    ran, _ = _simulate("catalog-reusable.yml", workspace, {**contexts, "inputs.catalog": "models.d"})
    assert [(name, code) for name, code, _ in ran] == [("Validate", 1)]
    assert ran[0][2].startswith("::error file=models.d/acme/chat.yaml,line=3,col=16,title=modelreg "
                                "unknown-capability::unknown capability `chatt`")


@pytest.mark.slow
def test_the_reusable_workflow_on_a_push_validates_and_compiles_without_a_diff(tmp_path: Path) -> None:
    workspace = tmp_path / "workspace"
    _init(workspace)
    init_repo(workspace)
    commit_all(workspace, "A model catalog")
    contexts = {"inputs.catalog": "", "inputs.python-version": "3.11", "inputs.modelreg-version": release_tag(),
                "github.base_ref": "", "github.event_name": "push"}
    ran, summary = _simulate("catalog-reusable.yml", workspace, contexts)
    assert [(name, code) for name, code, _ in ran] == [("Validate", 0), ("Compile", 0)], ran
    assert (workspace / "build" / "registry.json").is_file()
    assert not (workspace / "build" / "diff.json").exists() and not summary.exists()
