"""`modelreg history NAME`: the commits that touched one model's file, and what each changed."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from modelreg.catalog.paths import DEFAULT_CATALOG, model_path
from modelreg.catalog.yaml_loader import YamlLoadError, load_yaml
from modelreg.diff.render import format_value
from modelreg.diff.report import FieldChange, field_changes
from modelreg.errors import StateError, UsageError
from modelreg.git.registration_dates import HISTORY_LOG_OPTIONS
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
    repo = CatalogRepository.require(catalog, "read a model's history")
    # The clone's oldest commit holds the file without its parent, so it would pass for the commit
    # that added every model.
    if repo.is_shallow():
        raise StateError(f"cannot show the history of `{name}`: this is a shallow clone, which holds only part "
                         "of it; run `git fetch --unshallow` (in GitHub Actions, check out with `fetch-depth: 0`)")
    entries = _entries(repo, rel, repo.resolve(rev))
    if not entries:
        raise UsageError(f"no commit touches {repo.display}/{rel}; is `{name}` a model of this catalog?")
    return entries


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
