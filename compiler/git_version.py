"""Where a catalog came from in git: the commit, whether the tree was dirty, a monotonic number."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import git


@dataclass(frozen=True)
class VersionInfo:
    """The git identity of a compiled catalog."""

    commit: str | None = None
    dirty: bool | None = None
    number: int | None = None
    history: str = "none"

    @property
    def label(self) -> str:
        """`<number>.g<commit12>` (`.dirty` appended), or `unversioned` outside git."""
        if self.commit is None:
            return "unversioned"
        return f"{self.number}.g{self.commit[:12]}" + (".dirty" if self.dirty else "")

    def to_snapshot(self) -> dict[str, object]:
        return {"commit": self.commit, "dirty": self.dirty, "number": self.number, "label": self.label,
                "history": self.history}


def open_repo(path: str | os.PathLike[str]) -> git.Repo | None:
    """The git repository that contains `path`, or None when it is not in one."""
    try:
        return git.Repo(Path(path).resolve(), search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        return None


def working_tree_version(catalog: str | os.PathLike[str]) -> VersionInfo:
    """Version of a catalog read from the working tree: HEAD, and dirty if the catalog differs."""
    repo = open_repo(catalog)
    if repo is None or not repo.head.is_valid():
        return VersionInfo()
    try:
        head = repo.head.commit
        rel = Path(catalog).resolve().relative_to(Path(repo.working_tree_dir or ".").resolve()).as_posix()
        status = repo.git.status("--porcelain", "--untracked-files=all", "--", rel or ".")
        number = int(repo.git.rev_list("--count", head.hexsha))
        shallow = (Path(repo.git_dir) / "shallow").exists()
    finally:
        repo.close()
    return VersionInfo(commit=head.hexsha, dirty=bool(status.strip()), number=number,
                       history="shallow" if shallow else "full")
