"""`.pre-commit-hooks.yaml`: valid for pre-commit, and the hook does what its manifest says."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from modelreg.cli.parser import build_parser
from tests.conftest import CHAT, REPO, write

MANIFEST = REPO / ".pre-commit-hooks.yaml"


def _hooks() -> list[dict[str, Any]]:
    hooks: list[dict[str, Any]] = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    return hooks


def test_manifest_passes_pre_commits_own_validation() -> None:
    result = subprocess.run([sys.executable, "-m", "pre_commit", "validate-manifest", str(MANIFEST)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_hook_validates_the_whole_catalog_when_a_catalog_file_changes() -> None:
    (hook,) = _hooks()
    assert hook["id"] == "modelreg-validate"
    assert hook["language"] == "python"
    # One file cannot be judged alone (unique names, providers, replacements live in other files).
    assert hook["pass_filenames"] is False
    assert hook["files"] == r"^models\.d/"
    argv = [*shlex.split(hook["entry"]), *hook["args"]]
    assert argv[:2] == ["modelreg", "validate"]
    args = build_parser().parse_args(argv[1:])
    assert args.catalog == "models.d"


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def _pre_commit(repo: Path, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PRE_COMMIT_HOME": str(home), "PRE_COMMIT_COLOR": "never", "SKIP": ""}
    return subprocess.run([sys.executable, "-m", "pre_commit", "run"], cwd=repo, capture_output=True,
                          text=True, check=False, env=env)


@pytest.mark.slow
def test_the_hook_runs_in_a_catalog_repository(catalog: Path, tmp_path: Path) -> None:
    """pre-commit runs the manifest's hook (as a local `system` hook: installing it from the
    repository would need the network) on staged changes, and blocks a broken catalog."""
    (hook,) = _hooks()
    repo = tmp_path / "repo"
    repo.mkdir()
    catalog.rename(repo / "models.d")
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "config", "user.name", "Test")
    _git(repo, "config", "user.email", "test@example.com")
    entry = hook["entry"].replace("modelreg", f"{shlex.quote(sys.executable)} -m modelreg", 1)
    local = {key: hook[key] for key in ("id", "name", "args", "files", "pass_filenames", "require_serial")}
    config = {"repos": [{"repo": "local", "hooks": [{**local, "entry": entry, "language": "system"}]}]}
    (repo / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    _git(repo, "add", "-A")
    home = tmp_path / "pre-commit-home"

    passed = _pre_commit(repo, home)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "modelreg validate" in passed.stdout and "Passed" in passed.stdout
    _git(repo, "commit", "-q", "-m", "catalog")

    write(repo / "models.d", "acme/chat-large.yaml", CHAT.replace("priority: 10", "priorty: 10"))
    _git(repo, "add", "-A")
    failed = _pre_commit(repo, home)
    assert failed.returncode == 1
    assert ("models.d/acme/chat-large.yaml:9:1: error[unknown-key]: unknown key `priorty` in the document; "
            "did you mean `priority`?") in failed.stdout

    # A change outside the catalog does not run the hook at all.
    _git(repo, "reset", "-q", "--hard")
    write(repo, "README.md", "hello\n")
    _git(repo, "add", "README.md")
    skipped = _pre_commit(repo, home)
    assert skipped.returncode == 0, skipped.stdout + skipped.stderr
    assert "(no files to check)Skipped" in skipped.stdout
