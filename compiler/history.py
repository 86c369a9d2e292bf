"""`modelreg history NAME`: the commits that touched one model's file, and what each changed."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from compiler.catalog import DEFAULT_CATALOG
from compiler.diff import FieldChange, field_changes, format_value
from compiler.errors import UsageError
from compiler.model_file import model_path
from compiler.state import StateManager
from compiler.yaml_loader import YamlLoadError, load_yaml

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
    """The commits reachable from `rev` that added, changed or deleted `<catalog>/<name>.yaml`,
    newest first. UsageError when no commit touched it."""
    rel = model_path(name)
    state = StateManager(catalog)
    git = state.require_git("read a model's history")
    commit = state.resolve(rev)
    path = state.path(rel)
    out = git.text("log", "--no-renames", "--no-follow", "--raw", "--no-abbrev",
                   "--format=%x01%H%x00%ct%x00%an <%ae>%x00%s", commit, "--", path)
    raw: list[tuple[list[str], str, str, str]] = []  # (header, status, old blob, new blob)
    header: list[str] = []
    for line in out.splitlines():
        if line.startswith("\x01"):
            header = line[1:].split("\x00")
        elif line.startswith(":") and line.endswith(f"\t{path}"):
            meta = line[1:].split("\t", 1)[0].split()
            raw.append((header, meta[4][0], meta[2], meta[3]))
    if not raw:
        raise UsageError(f"no commit touches {state.display}/{rel}; is `{name}` a model of this catalog?")
    contents = git.blobs(sha for _, _, old, new in raw for sha in (old, new) if sha != _NULL_SHA)
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
