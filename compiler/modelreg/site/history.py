"""What the site shows of git: each model's last change, and the pool diff of the last commit.

Registration dates are the snapshot's own (`registered_at`). Both questions are asked of the
commit the snapshot names, so a site built from an older snapshot tells that snapshot's story.
Whatever git cannot tell (no repository, a shallow clone, a first commit) is a note for the pages
to show, never a failure of the build.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from modelreg.build.snapshot import Snapshot
from modelreg.diff.report import Diff
from modelreg.diff.sides import diff_catalog
from modelreg.errors import CatalogInvalid, UsageError
from modelreg.git.repository import CatalogRepository, NotInCommit
from modelreg.history import LastChange, last_changes


@dataclass
class SiteHistory:
    """The history the pages show; a note says why a part is missing."""

    commit: str | None = None
    """The commit both parts are read at (the snapshot's)."""
    changes: dict[str, LastChange] = field(default_factory=dict)
    """By catalog path (a model's `source`)."""
    changes_note: str | None = None
    diff: Diff | None = None
    diff_note: str | None = None
    base: str | None = None
    """The commit the diff starts from (the first parent of `commit`)."""


def read_history(catalog: str | os.PathLike[str], snapshot: Snapshot) -> SiteHistory:
    """The last change of every model of `snapshot` and the pool diff of its commit against that
    commit's first parent, read from the repository that holds `catalog`."""
    repo = CatalogRepository.find(catalog) if Path(catalog).is_dir() else None
    commit: str | None = snapshot.version.get("commit")
    if repo is None:
        note = f"{os.fspath(catalog)} is not in a git repository: no history to show"
        return SiteHistory(changes_note=note, diff_note=f"no previous revision: {note}")
    if commit is None:
        note = "the snapshot names no commit (the repository had none when it was compiled): no history to show"
        return SiteHistory(changes_note=note, diff_note=f"no previous revision: {note}")
    try:
        commit = repo.resolve(commit)
    except UsageError:
        note = f"the snapshot's commit {commit[:12]} is not in the repository of {os.fspath(catalog)}"
        return SiteHistory(changes_note=note, diff_note=f"no previous revision: {note}")
    if repo.is_shallow():
        # The clone's oldest commit would pass for the one that added, and last changed, every model.
        note = ("a shallow clone holds only part of the history: run `git fetch --unshallow` (in GitHub "
                "Actions, check out with `fetch-depth: 0`)")
        return SiteHistory(commit, changes_note=note, diff_note=note)
    sources = [model["source"] for model in snapshot.document["models"].values()]
    history = SiteHistory(commit, last_changes(catalog, sources, rev=commit))
    parent = repo.first_parent(commit)
    if parent is None:
        history.diff_note = f"no previous revision: {commit[:12]} is the repository's first commit"
        return history
    history.base = parent
    try:
        history.diff = diff_catalog(catalog, parent, commit)
    except NotInCommit:
        history.diff_note = f"no previous revision of the catalog: it is new in {commit[:12]}"
    except CatalogInvalid:
        history.diff_note = (f"the catalog at the previous revision ({parent[:12]}) does not compile: no pool "
                             "diff to show")
    return history
