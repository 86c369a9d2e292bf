"""Real git repositories for the tests, made with the git CLI and never reading the user's config."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from modelreg.git.registration_dates import RegistrationDates
from modelreg.git.repository import CatalogRepository

AUTHOR = "Test Author <test@example.com>"


def isolate_git(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    """No global or system git config, and no repository inherited from the environment."""
    home.mkdir(parents=True, exist_ok=True)
    empty = home / "gitconfig"
    empty.write_text("", encoding="utf-8")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(empty))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_AUTHOR_DATE", "GIT_COMMITTER_DATE",
                 "GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL",
                 "GITHUB_BASE_REF", "MODELREG_CACHE"):
        monkeypatch.delenv(name, raising=False)


def git(cwd: Path, *args: str, date: str | None = None, check: bool = True) -> str:
    """Run git in `cwd`; `date` fixes both the author and the committer date."""
    env = dict(os.environ)
    if date is not None:
        env.update(GIT_AUTHOR_DATE=date, GIT_COMMITTER_DATE=date)
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, env=env, check=False)
    if check and proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {proc.stderr}")
    return proc.stdout.strip()


def init_repo(root: Path) -> Path:
    """`git init` with a local identity, on branch main."""
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.name", "Test Author")
    git(root, "config", "user.email", "test@example.com")
    git(root, "config", "commit.gpgsign", "false")
    return root


def commit_all(root: Path, message: str, *, date: str | None = None) -> str:
    """Stage everything and commit; returns the commit id."""
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message, date=date)
    return git(root, "rev-parse", "HEAD")


def catalog_repo(catalog: Path) -> CatalogRepository:
    """The repository of a catalog that a test put in git."""
    repo = CatalogRepository.find(catalog)
    assert repo is not None, f"{catalog} is not in a git repository"
    return repo


def dates_of(catalog: Path) -> RegistrationDates:
    """Registration dates of a catalog that a test put in git."""
    return RegistrationDates(catalog_repo(catalog))
