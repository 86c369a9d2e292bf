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
        """`<number>.g<commit12>` (`.dirty` appended), or `unversioned` outside git.

        Without a number (a shallow clone cannot count its commits) it is `g<commit12>`.
        """
        if self.commit is None:
            return "unversioned"
        number = f"{self.number}." if self.number is not None else ""
        return f"{number}g{self.commit[:12]}" + (".dirty" if self.dirty else "")

    def to_snapshot(self) -> dict[str, object]:
        return {"commit": self.commit, "dirty": self.dirty, "number": self.number, "label": self.label,
                "history": self.history}


def open_repo(path: str | os.PathLike[str]) -> git.Repo | None:
    """The git repository that contains `path`, or None when it is not in one."""
    try:
        return git.Repo(Path(path).resolve(), search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        return None
