"""`modelreg history NAME`: the commits that touched one model's file, and what each changed."""

from __future__ import annotations

import os
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from modelreg.catalog.paths import DEFAULT_CATALOG, model_path
from modelreg.catalog.yaml_loader import YamlLoadError, load_yaml
from modelreg.diff.render import format_value
from modelreg.diff.report import FieldChange, field_changes
from modelreg.errors import StateError, UsageError
from modelreg.git.registration_dates import HISTORY_LOG_OPTIONS, log_events
from modelreg.git.repository import CatalogRepository
from modelreg.git.runner import MissingObject

_NULL_SHA = "0" * 40


@dataclass
class HistoryEntry:
    """One commit that touched a model's file."""

    commit: str
    date: datetime
    """The commit's time (UTC), as `registered_at` counts it."""
    author: str
    subject: str
    change: str
    """`added`, `modified` or `deleted`."""
    fields: list[FieldChange]
    """Field by field, against the file's previous version (nothing for a deletion)."""
    problem: str | None = None
    """Why the fields could not be compared (a version that is not valid YAML)."""

    def to_json(self) -> dict[str, Any]:
        return {"commit": self.commit, "date": self.date.isoformat(), "author": self.author,
                "subject": self.subject, "change": self.change, "fields": [c.to_json() for c in self.fields],
                "problem": self.problem}


def model_history(catalog: str | os.PathLike[str] = DEFAULT_CATALOG, name: str = "", *,
                  rev: str = "HEAD") -> list[HistoryEntry]:
    """The commits on `rev`'s first-parent line that added, changed or deleted
    `<catalog>/<name>.yaml`, newest first (a merge stands for what its branch brought in, as
    `registered_at` counts it). UsageError when no commit touched it."""
    rel = model_path(name)
    repo = _full_history(catalog, "read a model's history", f"the history of `{name}`")
    entries = _entries(repo, rel, repo.resolve(rev))
    if not entries:
        raise UsageError(f"no commit touches {repo.display}/{rel}; is `{name}` a model of this catalog?")
    return entries


def _full_history(catalog: str | os.PathLike[str], action: str, what: str) -> CatalogRepository:
    repo = CatalogRepository.require(catalog, action)
    # The clone's oldest commit holds every file without its parent, so it would pass for the
    # commit that added every model.
    if repo.is_shallow():
        raise StateError(f"cannot show {what}: this is a shallow clone, which holds only part of it; run "
                         "`git fetch --unshallow` (in GitHub Actions, check out with `fetch-depth: 0`)")
    return repo


@dataclass(frozen=True)
class LastChange:
    """The newest commit that touched a file: what `model_history` lists first, without the fields."""

    commit: str
    date: datetime
    """The commit's time (UTC)."""
    author: str
    """The author's name (no e-mail address: this is for pages anyone may read)."""
    subject: str
    change: str
    """`added` or `modified`."""
    commits: int
    """How many commits touched the file, the one that added it included."""


def last_changes(catalog: str | os.PathLike[str], rels: Collection[str], *,
                 rev: str = "HEAD") -> dict[str, LastChange]:
    """The last change of each catalog file of `rels` that exists at `rev`, along the same
    first-parent line as `model_history`, from one `git log` over the whole catalog. StateError in
    a shallow clone, as `model_history`."""
    repo = _full_history(catalog, "read the catalog's history", "the catalog's history")
    out = repo.git.run("log", *HISTORY_LOG_OPTIONS, "--name-status", "--format=%x01%H%x00%ct%x00%an%x00%s",
                       repo.resolve(rev), "--", repo.rel or ".")
    wanted = set(rels)
    newest: dict[str, tuple[str, str]] = {}
    counts: dict[str, int] = {}
    gone: set[str] = set()
    for header, status, rel in log_events(repo, out):
        if rel not in wanted or rel in gone:
            continue
        if rel not in newest:
            if status == "D":  # deleted since: it is not a file of `rev`, whatever came before
                gone.add(rel)
                continue
            newest[rel] = (header, "added" if status == "A" else "modified")
        counts[rel] = counts.get(rel, 0) + 1
        if status == "A":  # its latest addition: what came before belongs to an earlier file
            gone.add(rel)
    found = {}
    for rel, (header, change) in newest.items():
        sha, when, author, subject = header.split("\x00", 3)
        found[rel] = LastChange(sha, datetime.fromtimestamp(int(when), UTC), author, subject, change, counts[rel])
    return found


def commit_entry(catalog: str | os.PathLike[str], name: str, commit: str) -> HistoryEntry | None:
    """What one commit did to a model's file, as `model_history` reports it; None when the commit
    left the file alone. Reads that commit only, not the file's whole history."""
    repo = CatalogRepository.require(catalog, "read a commit")
    entries = _entries(repo, model_path(name), repo.resolve(commit), "--no-walk")
    return entries[0] if entries else None


def _entries(repo: CatalogRepository, rel: str, commit: str, *walk: str) -> list[HistoryEntry]:
    path = repo.path(rel)
    out = repo.git.text("log", *walk, *HISTORY_LOG_OPTIONS, "--raw", "--no-abbrev",
                        "--format=%x01%H%x00%ct%x00%an <%ae>%x00%s", commit, "--", path)
    raw: list[tuple[list[str], str, str, str]] = []  # (header, status, old blob, new blob)
    header: list[str] = []
    for line in out.splitlines():
        if line.startswith("\x01"):
            header = line[1:].split("\x00")
        elif line.startswith(":") and line.endswith(f"\t{path}"):
            meta = line[1:].split("\t", 1)[0].split()
            raw.append((header, meta[4][0], meta[2], meta[3]))
    try:
        contents = repo.blobs(sha for _, _, old, new in raw for sha in (old, new) if sha != _NULL_SHA)
    except MissingObject as exc:
        raise exc.about(f"a version of {path}") from None
    entries = []
    for (sha, when, author, subject), status, old, new in raw:
        change = {"A": "added", "D": "deleted"}.get(status, "modified")
        problem = None
        fields: list[FieldChange] = []
        if change != "deleted":
            try:
                before = _load(path, old, contents)
                after = _load(path, new, contents)
                fields = field_changes(before, after)
            except YamlLoadError as exc:
                problem = f"not readable at this commit: {exc}"
        entries.append(HistoryEntry(sha, datetime.fromtimestamp(int(when), UTC), author, subject, change,
                                    fields, problem))
    return entries


def _load(path: str, sha: str, contents: dict[str, bytes]) -> dict[str, Any]:
    if sha == _NULL_SHA:
        return {}
    data = load_yaml(f"{sha[:12]}:{path}", contents[sha]).data
    return data if isinstance(data, dict) else {"(content)": data}


def history_json(name: str, entries: list[HistoryEntry]) -> dict[str, Any]:
    """The history as JSON: `{"format": "modelreg-history", "version": 1, "name", "commits"}`."""
    return {"format": "modelreg-history", "version": 1, "name": name, "commits": [e.to_json() for e in entries]}


def render_history(name: str, entries: list[HistoryEntry]) -> str:
    """The history for a terminal: one block per commit, newest first."""
    blocks = []
    for entry in entries:
        lines = [f"{entry.commit[:12]}  {entry.date.strftime('%Y-%m-%d %H:%M:%S UTC')}  {entry.author}"]
        lines.append(f"    {entry.subject}")
        if entry.change == "added":
            lines.append(f"    added {name}")
        elif entry.change == "deleted":
            lines.append(f"    deleted {name}")
        if entry.problem:
            lines.append(f"    ({entry.problem})")
        elif entry.change == "modified" and not entry.fields:
            lines.append("    (formatting only)")
        if entry.change != "added":
            for c in entry.fields:
                lines.append(f"    {c.field}: {format_value(c.old)} -> {format_value(c.new)}")
        blocks.append("\n".join(lines) + "\n")
    return "\n".join(blocks)
