"""Where a compiled catalog came from in git: the commit, whether the tree was dirty, a monotonic
number, and whether the history behind its registration dates is whole."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cache
from typing import TYPE_CHECKING

from modelreg.catalog.paths import status_changes_catalog

if TYPE_CHECKING:
    from modelreg.git.repository import CatalogRepository


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


def version_at(repo: CatalogRepository, commit: str) -> VersionInfo:
    """The version of the catalog at `commit`."""
    shallow = repo.is_shallow()
    # In a shallow clone the commit count is only what was fetched: not a version number.
    number = None if shallow else repo.commit_number(commit)
    return VersionInfo(commit=commit, dirty=False, number=number, history="shallow" if shallow else "full")


def worktree_version(repo: CatalogRepository | None) -> VersionInfo:
    """The version of the catalog's work tree: HEAD's, dirty when what the compiler reads differs
    from HEAD; unversioned outside git or before the first commit."""
    return start_worktree_version(repo)[1]()


def start_worktree_version(repo: CatalogRepository | None) -> tuple[VersionInfo, Callable[[], VersionInfo]]:
    """`worktree_version` with `git status` left running: the version but for `dirty`, now, and
    what waits for the whole of it (once), so the caller lists the files meanwhile."""
    if repo is None:
        return VersionInfo(), VersionInfo
    status = repo.start_status()  # while HEAD is looked up and counted
    head = repo.head_commit()
    if head is None:
        return VersionInfo(), VersionInfo
    known = version_at(repo, head)
    return known, cache(lambda: replace(known, dirty=status_changes_catalog(status())))
