"""`.pre-commit-hooks.yaml`: valid for pre-commit, and the hook does what its manifest says."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from modelreg.cli.parser import build_parser
from modelreg.project import repository_url
from tests.conftest import CHAT, REPO, write

MANIFEST = REPO / ".pre-commit-hooks.yaml"


def _hooks() -> list[dict[str, Any]]:
    hooks: list[dict[str, Any]] = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    return hooks


def test_manifest_passes_pre_commits_own_validation() -> None:
    result = subprocess.run([sys.executable, "-m", "pre_commit", "validate-manifest", str(MANIFEST)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_hook_validates_the_catalog_the_repository_names_when_a_yaml_file_changes() -> None:
    (hook,) = _hooks()
    assert hook["id"] == "modelreg-validate"
    assert hook["language"] == "python"
    # One file cannot be judged alone (unique names, providers, replacements live in other files).
    assert hook["pass_filenames"] is False
    files = re.compile(hook["files"])
    for path in ("models.d/acme/x.yaml", "catalog/capabilities.yaml", "a/b.yml", "modelreg.toml", "pyproject.toml",
                 "sub/pyproject.toml"):
        assert files.search(path), path
    for path in ("README.md", "models.d/acme/discovery.json", "my-modelreg.toml", "x.yaml.orig"):
        assert not files.search(path), path
    # No catalog in the arguments: validate reads the repository's setting, or finds models.d/.
    assert "args" not in hook
    argv = shlex.split(hook["entry"])
    assert argv == ["modelreg", "validate"]
    args = build_parser().parse_args(argv[1:])
    assert (args.paths, args.catalog) == ([], None)


def test_the_manifest_names_the_repository_of_the_package() -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    url = pyproject["project"]["urls"]["Repository"]
    assert repository_url() == url
    assert f"#     - repo: {url}\n" in MANIFEST.read_text(encoding="utf-8")


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
    local = {key: hook[key] for key in ("id", "name", "files", "pass_filenames", "require_serial")}
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


@pytest.mark.slow
def test_the_hook_checks_the_catalog_the_repository_setting_names(catalog: Path, tmp_path: Path) -> None:
    (hook,) = _hooks()
    repo = tmp_path / "repo"
    repo.mkdir()
    catalog.rename(repo / "catalog")
    (repo / "modelreg.toml").write_text('catalog = "catalog"\n', encoding="utf-8")
    _git(repo, "init", "-q", "-b", "main")
    entry = hook["entry"].replace("modelreg", f"{shlex.quote(sys.executable)} -m modelreg", 1)
    local = {key: hook[key] for key in ("id", "name", "files", "pass_filenames", "require_serial")}
    config = {"repos": [{"repo": "local", "hooks": [{**local, "entry": entry, "language": "system"}]}]}
    (repo / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    write(repo / "catalog", "acme/chat-large.yaml", CHAT.replace("priority: 10", "priorty: 10"))
    _git(repo, "add", "-A")
    failed = _pre_commit(repo, tmp_path / "pre-commit-home")
    assert failed.returncode == 1
    assert ("catalog/acme/chat-large.yaml:9:1: error[unknown-key]: unknown key `priorty` in the document; "
            "did you mean `priority`?") in failed.stdout
    assert "catalog: invalid (1 error(s), 0 warning(s))" in failed.stdout
