"""`modelreg diff`: what a change does to the registry, above all to each capability's pool.

Each side is a git revision, the work tree, or a compiled snapshot file. The report lists models
added, removed and changed (field by field), and for every capability the models that enter or
leave its pool and those whose place in the routing order changed. It renders as text, as
markdown for a pull-request comment (bounded under GitHub's 1 MiB job-summary cap), or as JSON
(`schemas/diff.schema.json`).
"""

from __future__ import annotations

import html
import json
import os
from bisect import bisect_left
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from compiler.catalog import DEFAULT_CATALOG
from compiler.changes import derive_snapshot, fill_registration_dates
from compiler.errors import CatalogInvalid, StateError, UsageError
from compiler.gc_pause import collector_paused
from compiler.snapshot import Snapshot
from compiler.snapshot_cache import SnapshotCache
from compiler.state import SHALLOW_HINT, StateManager

FORMATS = ("text", "markdown", "json")
DIFF_FORMAT = "modelreg-diff"
DIFF_VERSION = 1
# GitHub refuses a job summary over 1 MiB; stay clear of it with room for the caller's own lines.
MARKDOWN_LIMIT = 1024 * 1024 - 24 * 1024
# Markdown value cells longer than this are cut: the JSON report holds them whole.
CELL_WIDTH = 160
# Snapshot fields reported elsewhere than in a model's field changes.
_NOT_FIELDS = frozenset({"pools"})


class _Absent:
    """A field that does not exist on one side (not the same as a null value)."""

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT: Any = _Absent()


@dataclass(frozen=True)
class FieldChange:
    """One field that differs: dotted path, value before, value after (ABSENT when missing)."""

    field: str
    old: Any
    new: Any

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"field": self.field}
        if self.old is not ABSENT:
            data["old"] = self.old
        if self.new is not ABSENT:
            data["new"] = self.new
        return data


def field_changes(old: Mapping[str, Any], new: Mapping[str, Any], prefix: str = "",
                  skip: Iterable[str] = ()) -> list[FieldChange]:
    """Differences between two mappings, nested mappings compared key by key (`features.vision`)."""
    skipped = set(skip)
    found: list[FieldChange] = []
    for key in sorted(set(old) | set(new)):
        if key in skipped:
            continue
        before, after = old.get(key, ABSENT), new.get(key, ABSENT)
        name = f"{prefix}{key}"
        if isinstance(before, dict) and isinstance(after, dict):
            found.extend(field_changes(before, after, f"{name}."))
        elif before != after or type(before) is not type(after):
            found.append(FieldChange(name, before, after))
    return found


@dataclass
class Side:
    """One side of a diff: where it came from, and its snapshot document."""

    kind: str
    """`revision`, `worktree` or `snapshot`."""
    ref: str
    document: dict[str, Any]
    digest: str | None = None

    @property
    def commit(self) -> str | None:
        commit: str | None = self.document["version"]["commit"]
        return commit

    @property
    def label(self) -> str:
        return str(self.document["version"]["label"])

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "ref": self.ref, "commit": self.commit, "label": self.label, "digest": self.digest}


@dataclass
class PoolChange:
    """How one capability's pool changed. Positions are 1-based places in the routing order."""

    capability: str
    before: list[str] | None
    after: list[str] | None
    entered: list[tuple[str, int]] = field(default_factory=list)
    left: list[tuple[str, int]] = field(default_factory=list)
    moved: list[tuple[str, int, int]] = field(default_factory=list)

    @property
    def size(self) -> int:
        """How many lines of detail this change has."""
        return len(self.entered) + len(self.left) + len(self.moved)

    def to_json(self) -> dict[str, Any]:
        return {
            "capability": self.capability,
            "before": None if self.before is None else len(self.before),
            "after": None if self.after is None else len(self.after),
            "entered": [{"name": n, "position": p} for n, p in self.entered],
            "left": [{"name": n, "position": p} for n, p in self.left],
            "moved": [{"name": n, "from": a, "to": b} for n, a, b in self.moved],
        }


@dataclass
class ItemChange:
    """A model, provider or capability present on both sides whose fields differ."""

    name: str
    changes: list[FieldChange]


@dataclass
class Diff:
    """Everything that differs between two registry snapshots."""

    base: Side
    head: Side
    models_added: list[str] = field(default_factory=list)
    models_removed: list[str] = field(default_factory=list)
    models_changed: list[ItemChange] = field(default_factory=list)
    pools: list[PoolChange] = field(default_factory=list)
    providers_added: list[str] = field(default_factory=list)
    providers_removed: list[str] = field(default_factory=list)
    providers_changed: list[ItemChange] = field(default_factory=list)
    capabilities_added: list[str] = field(default_factory=list)
    capabilities_removed: list[str] = field(default_factory=list)
    capabilities_changed: list[ItemChange] = field(default_factory=list)
    vocabulary: list[FieldChange] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """Whether anything differs (`--exit-code` exits 1 then)."""
        return any((self.models_added, self.models_removed, self.models_changed, self.pools, self.providers_added,
                    self.providers_removed, self.providers_changed, self.capabilities_added,
                    self.capabilities_removed, self.capabilities_changed, self.vocabulary))

    @property
    def providers_count(self) -> int:
        return len(self.providers_added) + len(self.providers_removed) + len(self.providers_changed)

    @property
    def capabilities_count(self) -> int:
        return (len(self.capabilities_added) + len(self.capabilities_removed) + len(self.capabilities_changed)
                + len(self.vocabulary))

    def summary(self) -> str:
        """One line: "2 models added, 1 changed; 3 pools changed"."""
        counts = [(len(self.models_added), "added"), (len(self.models_removed), "removed"),
                  (len(self.models_changed), "changed")]
        items = [(n, verb) for n, verb in counts if n]
        if items:
            (first, verb), rest = items[0], items[1:]
            text = ", ".join([f"{_count(first, 'model')} {verb}", *(f"{n} {v}" for n, v in rest)])
        else:
            text = "no models changed"
        text += f"; {_count(len(self.pools), 'pool')} changed" if self.pools else "; no pools changed"
        if self.providers_count:
            text += f"; {_count(self.providers_count, 'provider')} changed"
        if self.capabilities_count:
            text += f"; {_count(self.capabilities_count, 'capability change', 'capability changes')}"
        return text

    def to_json(self) -> dict[str, Any]:
        """The report of `schemas/diff.schema.json`."""
        head_models = self.head.document["models"]
        base_models = self.base.document["models"]
        return {
            "format": DIFF_FORMAT,
            "version": DIFF_VERSION,
            "base": self.base.to_json(),
            "head": self.head.to_json(),
            "changed": self.changed,
            "summary": {
                "text": self.summary(),
                "models_added": len(self.models_added),
                "models_removed": len(self.models_removed),
                "models_changed": len(self.models_changed),
                "pools_changed": len(self.pools),
                "providers_changed": self.providers_count,
                "capabilities_changed": self.capabilities_count,
            },
            "models": {
                "added": [{"name": n, "pools": head_models[n]["pools"]} for n in self.models_added],
                "removed": [{"name": n, "pools": base_models[n]["pools"]} for n in self.models_removed],
                "changed": [_item_json(c, "name") for c in self.models_changed],
            },
            "pools": [p.to_json() for p in self.pools],
            "providers": {
                "added": self.providers_added,
                "removed": self.providers_removed,
                "changed": [_item_json(c, "name") for c in self.providers_changed],
            },
            "capabilities": {
                "added": self.capabilities_added,
                "removed": self.capabilities_removed,
                "changed": [_item_json(c, "path") for c in self.capabilities_changed],
                "vocabulary": [c.to_json() for c in self.vocabulary],
            },
        }


def _item_json(item: ItemChange, key: str) -> dict[str, Any]:
    return {key: item.name, "changes": [c.to_json() for c in item.changes]}


def _count(n: int, noun: str, plural: str | None = None) -> str:
    return f"{n} {noun if n == 1 else (plural or noun + 's')}"


def _keyed(old: Mapping[str, Any], new: Mapping[str, Any], skip: Iterable[str] = ()
           ) -> tuple[list[str], list[str], list[ItemChange]]:
    added = sorted(set(new) - set(old))
    removed = sorted(set(old) - set(new))
    changed = []
    for name in sorted(set(old) & set(new)):
        if old[name] != new[name]:
            changes = field_changes(old[name], new[name], skip=skip)
            if changes:
                changed.append(ItemChange(name, changes))
    return added, removed, changed


def _stable(common_old: Sequence[str], common_new: Sequence[str]) -> set[str]:
    """The largest set of members that kept their relative order (a longest increasing
    subsequence); everyone else moved."""
    index = {name: i for i, name in enumerate(common_old)}
    sequence = [index[name] for name in common_new]
    tails: list[int] = []
    tail_at: list[int] = []
    previous = [-1] * len(sequence)
    for i, value in enumerate(sequence):
        k = bisect_left(tails, value)
        if k == len(tails):
            tails.append(value)
            tail_at.append(i)
        else:
            tails[k] = value
            tail_at[k] = i
        previous[i] = tail_at[k - 1] if k else -1
    keep: set[str] = set()
    i = tail_at[-1] if tail_at else -1
    while i >= 0:
        keep.add(common_new[i])
        i = previous[i]
    return keep


def pool_change(capability: str, before: list[str] | None, after: list[str] | None) -> PoolChange | None:
    """How a pool's ordered members changed; None when they did not."""
    old, new = before or [], after or []
    if old == new:
        return None
    old_at = {name: i + 1 for i, name in enumerate(old)}
    new_at = {name: i + 1 for i, name in enumerate(new)}
    change = PoolChange(capability, before, after)
    change.entered = [(name, new_at[name]) for name in new if name not in old_at]
    change.left = [(name, old_at[name]) for name in old if name not in new_at]
    common_old = [name for name in old if name in new_at]
    common_new = [name for name in new if name in old_at]
    if common_old != common_new:
        keep = _stable(common_old, common_new)
        change.moved = [(name, old_at[name], new_at[name]) for name in common_new if name not in keep]
    return change


def compare(base: Side, head: Side) -> Diff:
    """The differences between two sides."""
    a, b = base.document, head.document
    diff = Diff(base, head)
    diff.models_added, diff.models_removed, diff.models_changed = _keyed(a["models"], b["models"], _NOT_FIELDS)
    for path in sorted(set(a["pools"]) | set(b["pools"])):
        change = pool_change(path, a["pools"].get(path), b["pools"].get(path))
        if change is not None:
            diff.pools.append(change)
    diff.providers_added, diff.providers_removed, diff.providers_changed = _keyed(a["providers"], b["providers"])
    (diff.capabilities_added, diff.capabilities_removed,
     diff.capabilities_changed) = _keyed(a["capabilities"], b["capabilities"])
    diff.vocabulary = field_changes({"aliases": a["aliases"], "features": a["features"]},
                                    {"aliases": b["aliases"], "features": b["features"]})
    return diff


# -- where the sides come from ---------------------------------------------------------------


def default_base(state: StateManager) -> str:
    """The merge-base of HEAD with the default branch: in a pull request (`GITHUB_BASE_REF`) its
    target branch, else `origin/HEAD`, `init.defaultBranch`, `main` or `master`. On the default
    branch itself that is HEAD, so the work tree is compared with its own commit.

    UsageError when no such branch exists: comparing HEAD with itself would report "no changes"
    for a branch full of them."""
    git = state.require_git("find the default branch")
    head = state.head().commit
    if head is None:
        raise UsageError("the repository has no commits yet: nothing to diff against; give BASE as a snapshot file")
    target = os.environ.get("GITHUB_BASE_REF")
    if target:
        # The pull request names its base; any other branch would be the wrong one.
        candidates = [f"refs/remotes/origin/{target}", f"refs/heads/{target}"]
        hint = f", or fetch origin/{target}"
    else:
        candidates = []
        origin_head = git.text("symbolic-ref", "-q", "refs/remotes/origin/HEAD", ok=(0, 1))
        if origin_head:
            candidates.append(origin_head)
        configured = git.text("config", "--get", "init.defaultBranch", ok=(0, 1))
        for name in dict.fromkeys(n for n in (configured, "main", "master") if n):
            candidates += [f"refs/remotes/origin/{name}", f"refs/heads/{name}"]
        hint = ""
    for ref in candidates:
        if git.text("rev-parse", "-q", "--verify", f"{ref}^{{commit}}", ok=(0, 1)):
            base = git.text("merge-base", head, ref, ok=(0, 1))
            if not base:
                raise StateError(f"HEAD and {ref} have no common history; give BASE explicitly")
            return base
    raise UsageError(f"cannot find the default branch to diff against; give BASE{hint}")


def _revision(state: StateManager, commit: str, loaded: list[tuple[str, dict[str, Any]]],
              allow_shallow: bool, dates: bool) -> dict[str, Any]:
    # A cached snapshot, else one derived from a snapshot at hand (the other side, or the cached
    # commit closest to this one), else a full compile (its document only: a diff only compares;
    # `compile --rev` is what fills the cache). Without `dates`, nothing is cached (see load_sides).
    version = state.version(commit)
    if version.history == "shallow" and not allow_shallow:
        raise StateError(SHALLOW_HINT)
    store = SnapshotCache.for_state(state) if version.history == "full" and dates else None
    if store is not None:
        hit = store.get(commit)
        if hit is not None:
            return hit.document
    for base_commit, document in loaded:
        derived = derive_snapshot(state, document, base_commit, commit, dates=dates)
        if derived is not None:
            return derived
    if store is not None:
        nearest = _nearest_cached(state, store, commit)
        if nearest is not None:
            cached = store.get(nearest)
            if cached is not None:
                derived = derive_snapshot(state, cached.document, nearest, commit)
                if derived is not None:
                    return derived
    return state.compile_document(commit, allow_shallow=allow_shallow, dates=dates)


def _nearest_cached(state: StateManager, store: SnapshotCache, commit: str) -> str | None:
    best: tuple[int, str] | None = None
    for candidate in store.commits()[:4]:
        try:
            distance = len(state.changed_files(candidate, commit))
        except StateError:  # a commit gone from the repository
            continue
        if best is None or distance < best[0]:
            best = (distance, candidate)
    return best[1] if best is not None else None


def load_sides(catalog: str | os.PathLike[str] = DEFAULT_CATALOG, base: str | None = None,
               head: str | None = None, *, allow_shallow: bool = False) -> tuple[Side, Side]:
    """Resolve BASE and HEAD: snapshot files, revisions, or (HEAD omitted) the work tree. BASE
    omitted is the merge-base with the default branch.

    When both sides are commits compiled here (no snapshot file, nothing cached), their documents
    carry only the `registered_at` dates that can differ between them (of files added or removed
    in between); the others are None on both sides.
    """
    state = StateManager(catalog)
    specs: list[tuple[str, str, str | None]] = []  # (kind, ref, commit)
    for spec, default in ((base, "base"), (head, "head")):
        if spec is not None and Path(spec).is_file():
            specs.append(("snapshot", spec, None))
        elif spec is not None:
            specs.append(("revision", spec, state.resolve(spec)))
        elif default == "base":
            if not state.in_git:
                raise UsageError(f"{state.display} is not in a git repository: give BASE (and HEAD) as snapshot files")
            specs.append(("revision", "merge-base", default_base(state)))
        else:
            commit = state.head().commit if state.in_git else None
            clean = commit is not None and not state.catalog_dirty()
            specs.append(("worktree", "working tree", commit if clean else None))
    documents: dict[int, Side] = {}
    loaded: list[tuple[str, dict[str, Any]]] = []
    store = SnapshotCache.for_state(state) if state.in_git else None
    # Sides that need no compile go first, so the others can be derived from them.
    order = sorted(range(2), key=lambda i: _cost(specs[i], store))
    # Two commits to compile, and no cached snapshot to derive one from: their dates are needed
    # only where they differ, which the history between them tells, not the whole of it.
    commits = [commit for kind, _, commit in specs if kind != "snapshot" and commit is not None]
    shallow = state.in_git and state.is_shallow()
    cached = store is not None and bool(store.commits())
    comparable = len(commits) == 2 and not shallow and all(_cost(spec, store) == 2 for spec in specs) and not cached
    # Otherwise a first side compiled in full needs the dates of its whole history: git walks it on
    # another core while that side is read and parsed here. A side derived from another (the
    # other side, or a cached commit nearby) reads only the history in between.
    first = specs[order[0]]
    if not comparable and not cached and _cost(first, store) == 2 and first[2] is not None and not shallow:
        state.prefetch_registration_dates([first[2]])
    for i in order:
        kind, ref, commit = specs[i]
        if kind == "snapshot":
            snapshot = Snapshot.read(ref)
            # Not a base to derive from: another version of modelreg may have compiled it.
            documents[i] = Side(kind, ref, snapshot.document, snapshot.digest)
            continue
        try:
            if commit is None:  # a work tree with uncommitted changes
                documents[i] = Side(kind, ref, state.compile(allow_shallow=allow_shallow, cache=False).document)
                continue
            document = _revision(state, commit, loaded, allow_shallow, dates=not comparable)
        except CatalogInvalid as exc:
            where = f"{ref} ({commit[:12]})" if commit is not None and kind == "revision" else ref
            raise CatalogInvalid(exc.diagnostics, f"{where}: the catalog is invalid there; no diff") from None
        loaded.append((commit, document))
        documents[i] = Side(kind, ref, document)
    if comparable:
        fill_registration_dates(state, loaded)
    return documents[0], documents[1]


def _cost(spec: tuple[str, str, str | None], store: SnapshotCache | None) -> int:
    kind, _, commit = spec
    if kind == "snapshot":
        return 0
    if commit is not None and store is not None and store.has(commit):
        return 1
    return 2


def diff_catalog(catalog: str | os.PathLike[str] = DEFAULT_CATALOG, base: str | None = None,
                 head: str | None = None, *, allow_shallow: bool = False) -> Diff:
    """The diff between two states of a catalog (see `load_sides`)."""
    with collector_paused:  # two whole catalogs are built; the collector would only walk them
        return compare(*load_sides(catalog, base, head, allow_shallow=allow_shallow))


# -- rendering -------------------------------------------------------------------------------


def format_value(value: Any) -> str:
    """A field value for people: strings as they are, the rest as JSON, ABSENT as `(none)`."""
    if value is ABSENT:
        return "(none)"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def render_text(diff: Diff) -> str:
    """The diff for a terminal."""
    lines = [f"diff {diff.base.label} ({diff.base.ref}) -> {diff.head.label} ({diff.head.ref}): {diff.summary()}"]
    if diff.pools:
        lines.append("\npools:")
        for pool in diff.pools:
            lines.append(f"  {pool.capability}: {_size(pool.before)} -> {_size(pool.after)} models")
            lines += [f"    + {n} (#{p})" for n, p in pool.entered]
            lines += [f"    - {n} (was #{p})" for n, p in pool.left]
            lines += [f"    ~ {n} #{a} -> #{b}" for n, a, b in pool.moved]
    if diff.models_added:
        lines.append("\nmodels added:")
        models = diff.head.document["models"]
        lines += [f"  + {n}  pools: {', '.join(models[n]['pools']) or '(none)'}" for n in diff.models_added]
    if diff.models_removed:
        lines.append("\nmodels removed:")
        lines += [f"  - {n}" for n in diff.models_removed]
    for title, items in (("models changed", diff.models_changed), ("providers changed", diff.providers_changed),
                         ("capabilities changed", diff.capabilities_changed)):
        if items:
            lines.append(f"\n{title}:")
            for item in items:
                lines.append(f"  ~ {item.name}")
                lines += [f"      {c.field}: {format_value(c.old)} -> {format_value(c.new)}" for c in item.changes]
    for title, names in (("providers added", diff.providers_added), ("providers removed", diff.providers_removed),
                         ("capabilities added", diff.capabilities_added),
                         ("capabilities removed", diff.capabilities_removed)):
        if names:
            lines.append(f"\n{title}: {', '.join(names)}")
    if diff.vocabulary:
        lines.append("\naliases and features:")
        lines += [f"  {c.field}: {format_value(c.old)} -> {format_value(c.new)}" for c in diff.vocabulary]
    return "\n".join(lines) + "\n"


def render_json(diff: Diff) -> str:
    """The versioned JSON report (`schemas/diff.schema.json`)."""
    return json.dumps(diff.to_json(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _size(members: list[str] | None) -> str:
    return "(none)" if members is None else str(len(members))


def _code(text: str) -> str:
    """A name, path or field name (user-controlled) as inline code that nothing in it can break out of.

    A backtick span takes everything literally but a backtick, and a table cell ends at a bare `|`;
    text holding either (or a line break, or edge spaces a span would trim) becomes `<code>` with
    every ASCII punctuation character written as a character reference, which markdown shows as
    text and never reads as syntax."""
    if text and text.strip() == text and text.isprintable() and "`" not in text and "|" not in text:
        return f"`{text}`"
    escaped = "".join(f"&#{ord(c)};" if (c.isascii() and not c.isalnum() and c != " ") or not c.isprintable()
                      else c for c in text)
    return f"<code>{escaped}</code>"


def _cell(value: Any) -> str:
    text = format_value(value).replace("\n", " ")
    if len(text) > CELL_WIDTH:
        text = text[:CELL_WIDTH - 1] + "…"
    return html.escape(text, quote=False).replace("|", "\\|")


class _Budget:
    """Markdown under a byte limit: parts are added while they fit; the rest is counted."""

    def __init__(self, limit: int) -> None:
        self.parts: list[str] = []
        self.size = 0
        self.limit = limit
        self.dropped = 0
        self.full = False

    def add(self, text: str, reserve: int = 0) -> bool:
        size = len(text.encode("utf-8"))
        if self.full or self.size + size + reserve > self.limit:
            self.full = True
            return False
        self.parts.append(text)
        self.size += size
        return True


# Room kept for closing a section and for the truncation line.
_RESERVE = 512


def render_markdown(diff: Diff, limit: int = MARKDOWN_LIMIT) -> str:
    """The diff as a pull-request comment or job summary: the summary line and a table of pool
    changes first, then collapsible details, cut with a "truncated" line to stay under `limit`
    bytes."""
    out = _Budget(limit)
    out.add(f"### modelreg diff: {_code(diff.base.label)} → {_code(diff.head.label)}\n\n**{diff.summary()}**\n\n")
    if diff.pools:
        out.add("| capability | before | after | entered | left | moved |\n|---|---:|---:|---:|---:|---:|\n")
        for i, pool in enumerate(diff.pools):
            row = (f"| {_code(pool.capability)} | {_size(pool.before)} | {_size(pool.after)} | {len(pool.entered)} "
                   f"| {len(pool.left)} | {len(pool.moved)} |\n")
            if not out.add(row, _RESERVE):
                out.dropped += len(diff.pools) - i
                break
        out.add("\n")
    models = diff.head.document["models"]
    old_models = diff.base.document["models"]
    sections: list[tuple[str, list[Callable[[], str]]]] = [
        (f"Pool changes ({len(diff.pools)})",
         [line for i, p in enumerate(diff.pools) for line in _pool_lines(p, first=i == 0)]),
        (f"Models added ({len(diff.models_added)})",
         [_line(f"- {_code(n)}: pools {_names(models[n]['pools'])}\n") for n in diff.models_added]),
        (f"Models removed ({len(diff.models_removed)})",
         [_line(f"- {_code(n)}: left {_names(old_models[n]['pools'])}\n") for n in diff.models_removed]),
        (f"Models changed ({len(diff.models_changed)})", [_item_block(c) for c in diff.models_changed]),
        (f"Providers ({diff.providers_count})",
         [_line(f"- added {_code(n)}\n") for n in diff.providers_added]
         + [_line(f"- removed {_code(n)}\n") for n in diff.providers_removed]
         + [_item_block(c, bool(diff.providers_added or diff.providers_removed)) for c in diff.providers_changed]),
        (f"Capability tree ({diff.capabilities_count})",
         [_line(f"- added {_code(n)}\n") for n in diff.capabilities_added]
         + [_line(f"- removed {_code(n)}\n") for n in diff.capabilities_removed]
         + [_item_block(c, bool(diff.capabilities_added or diff.capabilities_removed))
            for c in diff.capabilities_changed]
         + [_line(f"- {_code(c.field)}: {_cell(c.old)} → {_cell(c.new)}\n") for c in diff.vocabulary]),
    ]
    for title, items in sections:
        if not items:
            continue
        if out.full or not out.add(f"<details><summary>{title}</summary>\n\n", _RESERVE):
            out.dropped += len(items)
            continue
        for i, item in enumerate(items):
            if not out.add(item(), _RESERVE):
                out.dropped += len(items) - i
                break
        out.parts.append("\n</details>\n\n")
    if out.dropped:
        out.parts.append(f"**truncated: {out.dropped} more changes, see the artifact** "
                         "(`modelreg diff --format json` has them all)\n")
    return "".join(out.parts)


def _line(text: str) -> Callable[[], str]:
    return lambda: text


def _names(names: Sequence[str]) -> str:
    return ", ".join(_code(n) for n in names) if names else "(none)"


def _pool_lines(pool: PoolChange, *, first: bool) -> list[Callable[[], str]]:
    # One item a line: a pool that 10,000 models enter is cut inside, not dropped whole.
    gap = "" if first else "\n"
    lines = [_line(f"{gap}**{_code(pool.capability)}** ({_size(pool.before)} → {_size(pool.after)})\n\n")]
    lines += [_line(f"- entered: {_code(n)} at #{p}\n") for n, p in pool.entered]
    lines += [_line(f"- left: {_code(n)} (was #{p})\n") for n, p in pool.left]
    lines += [_line(f"- moved: {_code(n)} #{a} → #{b}\n") for n, a, b in pool.moved]
    return lines


def _item_block(item: ItemChange, after_list: bool = False) -> Callable[[], str]:
    # After a list item, the title needs a blank line before it, or it joins that item's text.
    gap = "\n" if after_list else ""

    def render() -> str:
        rows = "".join(f"| {_code(c.field)} | {_cell(c.old)} | {_cell(c.new)} |\n" for c in item.changes)
        return f"{gap}**{_code(item.name)}**\n\n| field | before | after |\n|---|---|---|\n{rows}\n"
    return render
