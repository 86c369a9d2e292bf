"""Checking a change to a catalog without re-reading all of it, exactly as a full compile would.

A model file's verdict depends on its own content, on `capabilities.yaml`, on the provider files,
and on the models it names as `replacement`; removing a model also touches every model that names
it. `check_change` runs the compiler's own `check_catalog` on just that closure, so a 10,000-model
catalog accepts or rejects a registration in milliseconds, with the diagnostics a full compile
would give for those files. `derive_snapshot` uses it to turn one commit's snapshot into
another's when only model files differ between them.
"""

from __future__ import annotations

import difflib
import os
from bisect import insort
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from compiler.catalog import CAPABILITIES_FILE, PROVIDER_FILE, CatalogFiles, DirectorySource
from compiler.errors import CatalogInvalid
from compiler.models import Model
from compiler.schemas import is_valid
from compiler.state import GitSource, StateManager, TreeEntry, in_hidden_directory, is_catalog_file
from compiler.validate import CatalogCheck, check_catalog
from compiler.yaml_loader import YamlLoadError, load_yaml

_REGULAR = ("100644", "100755")


def is_model_path(rel: str) -> bool:
    """Whether a catalog path is read as a model file (`<provider>/<model>.yaml`, maybe nested)."""
    parts = rel.split("/")
    return (rel.endswith(".yaml") and len(parts) >= 2 and not (len(parts) == 2 and parts[1] == PROVIDER_FILE)
            and not in_hidden_directory(rel))


class Reader(Protocol):
    """Reads chosen files of one state of a catalog (the work tree, or a commit)."""

    display_root: str

    def read(self, rels: Collection[str]) -> CatalogFiles: ...

    def providers(self) -> list[str]: ...

    def exists(self, rel: str) -> bool: ...

    def model_names(self) -> list[str]: ...


class WorktreeReader:
    """Files of the catalog on disk, read with DirectorySource's rules."""

    def __init__(self, root: str | os.PathLike[str], display_root: str | None = None) -> None:
        self.root = Path(root)
        self.display_root = display_root if display_root is not None else os.fspath(root)

    def _visible(self, rel: str) -> bool:
        # DirectorySource skips dot-directories and does not walk symlinked directories.
        parent = self.root
        for part in rel.split("/")[:-1]:
            parent = parent / part
            if part.startswith(".") or parent.is_symlink():
                return False
        return True

    def read(self, rels: Collection[str]) -> CatalogFiles:
        files = CatalogFiles(self.display_root)
        real_root = self.root.resolve()
        for rel in sorted(rels):
            full = self.root / rel
            if not self._visible(rel) or not os.path.lexists(full):
                continue
            DirectorySource.read_file(files, full, rel, real_root)
        return files

    def providers(self) -> list[str]:
        found = []
        for entry in sorted(os.scandir(self.root), key=lambda e: e.name):
            if entry.name.startswith(".") or entry.is_symlink() or not entry.is_dir():
                continue
            if os.path.lexists(os.path.join(entry.path, PROVIDER_FILE)):
                found.append(f"{entry.name}/{PROVIDER_FILE}")
        return found

    def exists(self, rel: str) -> bool:
        return self._visible(rel) and os.path.lexists(self.root / rel)

    def model_names(self) -> list[str]:
        names = []
        for dirpath, dirnames, filenames in os.walk(self.root):
            dirnames[:] = [d for d in dirnames
                           if not d.startswith(".") and not os.path.islink(os.path.join(dirpath, d))]
            for name in filenames:
                rel = Path(dirpath, name).relative_to(self.root).as_posix()
                if is_model_path(rel):
                    names.append(rel.removesuffix(".yaml"))
        return sorted(names)


class RevisionReader:
    """Files of the catalog at one commit, read from git's objects."""

    def __init__(self, source: GitSource) -> None:
        self.source = source
        self.display_root = source.display_root
        self._listing: dict[str, TreeEntry] | None = None
        self._looked_up: dict[str, TreeEntry | None] = {}

    def _entries(self, rels: Iterable[str]) -> dict[str, TreeEntry]:
        wanted = list(rels)
        if self._listing is not None:
            return {rel: self._listing[rel] for rel in wanted if rel in self._listing}
        # A check asks for the same paths again (providers, then their files; exists, then read).
        missing = [rel for rel in wanted if rel not in self._looked_up]
        if missing:
            found = self.source.entries(missing)
            self._looked_up.update((rel, found.get(rel)) for rel in missing)
        return {rel: entry for rel in wanted if (entry := self._looked_up[rel]) is not None}

    def read(self, rels: Collection[str]) -> CatalogFiles:
        files = CatalogFiles(self.display_root)
        visible = [rel for rel in rels if not in_hidden_directory(rel)]
        self.source.fill(files, self._entries(visible), visible, self._listing)
        return files

    def providers(self) -> list[str]:
        top = self.source.state.tree_entries(self.source.commit, recursive=False)
        candidates = [f"{name}/{PROVIDER_FILE}" for name, entry in sorted(top.items())
                      if entry.kind == "tree" and not name.startswith(".")]
        return sorted(self._entries(candidates))

    def exists(self, rel: str) -> bool:
        return bool(self._entries([rel]))

    def model_names(self) -> list[str]:
        if self._listing is None:
            self._listing = self.source.entries()
        return sorted(rel.removesuffix(".yaml") for rel in self._listing if is_model_path(rel))


@dataclass
class _SubsetFiles(CatalogFiles):
    """A subset of a catalog's files, some shown under another name (a file being registered)."""

    shown: dict[str, str] = field(default_factory=dict)

    def display(self, rel: str) -> str:
        return self.shown.get(rel) or super().display(rel)


def _replacement(rel: str, raw: bytes) -> str | None:
    # The model a file names as its replacement (a provider's by default), to bring it into the
    # check; None unless the file loads and its schema accepts it (its check says why): a name
    # the schema refuses is never taken for a path.
    if rel.count("/") == 1 and rel.endswith("/" + PROVIDER_FILE):
        kind = "provider"
    elif is_model_path(rel):
        kind = "model"
    else:
        return None
    try:
        data = load_yaml("", raw).data
    except YamlLoadError:
        return None
    if not is_valid(kind, data):
        return None
    if kind == "provider":
        data = data.get("defaults") or {}
    target: str | None = (data.get("lifecycle") or {}).get("replacement")
    return target


def check_change(reader: Reader, focus: Collection[str], overlay: Mapping[str, bytes | None] | None = None,
                 shown: Mapping[str, str] | None = None) -> CatalogCheck:
    """Check the files in `focus` as a full compile of the catalog would.

    `overlay` replaces files of the reader's state (None removes one), `shown` displays some
    paths under another name in diagnostics. The result holds the diagnostics of the checked
    closure (warnings about empty pools left out: they need the whole catalog) and, when it has
    no error, the resolved models of that closure.
    """
    overlay = dict(overlay or {})
    wanted = {CAPABILITIES_FILE, *reader.providers(), *focus}
    names: list[str] | None = None
    files = _SubsetFiles(reader.display_root, shown=dict(shown or {}))

    def exists(rel: str) -> bool:
        return overlay[rel] is not None if rel in overlay else reader.exists(rel)

    # The closure first, from the files' data alone: one check of it then, not one per round.
    pending = set(wanted)
    while pending:
        base = reader.read([rel for rel in pending if rel not in overlay])
        files.contents.update(base.contents)
        files.diagnostics.extend(base.diagnostics)
        files.contents.update({rel: content for rel, content in overlay.items()
                               if rel in pending and content is not None})
        extra: set[str] = set()
        for rel in sorted(pending):
            raw = files.contents.get(rel)
            target = _replacement(rel, raw) if raw is not None else None
            if target is None or f"{target}.yaml" in wanted:
                continue
            if exists(f"{target}.yaml"):
                extra.add(f"{target}.yaml")
                continue
            # A full compile suggests the closest name of the whole catalog; bring it in.
            if names is None:
                present = set(reader.model_names())
                for path, content in overlay.items():
                    if is_model_path(path):
                        (present.add if content is not None else present.discard)(path.removesuffix(".yaml"))
                names = sorted(present)
            close = difflib.get_close_matches(target, names, n=1)
            if close and f"{close[0]}.yaml" not in wanted:
                extra.add(f"{close[0]}.yaml")
        pending = extra - wanted
        wanted |= extra
    return check_catalog(files, pool_warnings=False)  # they need the whole catalog


def derive_snapshot(state: StateManager, base: Mapping[str, Any], base_commit: str,
                    commit: str, *, dates: bool = True) -> dict[str, Any] | None:
    """The snapshot document of `commit`, from the one of `base_commit`, when only model files
    differ; None when anything else changed (the tree, a provider) or when so much changed that a
    full compile is as quick. Raises CatalogInvalid when `commit`'s catalog is invalid.

    The result equals a full compile of `commit` (the tests hold it to that). Without `dates`,
    registration dates are left out (None), as `StateManager.compile_document` leaves them.
    """
    changes = state.changed_files(base_commit, commit)
    records: dict[str, dict[str, Any]] = dict(base["models"])
    if len(changes) > max(200, len(records) // 4):
        return None
    by_source = {rec["source"]: name for name, rec in records.items()}
    changed: set[str] = set()
    removed: set[str] = set()
    for status, rel, old_mode, new_mode in changes:
        if "120000" in (old_mode, new_mode):
            return None  # symlinks follow DirectorySource's rules; leave them to a full compile
        if not is_catalog_file(rel):
            continue  # not read by the compiler
        if not is_model_path(rel):
            return None
        if status == "D":
            removed.add(rel)
        elif new_mode in _REGULAR:
            changed.add(rel)
        else:
            return None
    version = state.version(commit)
    gone = {by_source[rel] for rel in removed | changed if rel in by_source}
    dependents = {rec["source"] for name, rec in records.items()
                  if name not in gone and rec["lifecycle"].get("replacement") in gone}
    reader = RevisionReader(GitSource(state, commit))
    check = check_change(reader, changed | dependents)
    if not check.ok():
        raise CatalogInvalid(check.diagnostics)
    affected: set[str] = set()
    for name in gone:
        affected.update(records.pop(name)["pools"])
    entering: dict[str, list[str]] = {}
    for rel in changed:
        model = check.models[rel.removesuffix(".yaml")]
        records[model.name] = model.to_snapshot()
        affected.update(model.pools)
        for path in model.pools:
            entering.setdefault(path, []).append(model.name)
    present = {rec["source"] for rec in records.values()}
    stamps = _stamps(state, base, base_commit, commit, present) if dates and version.history == "full" else {}
    models: dict[str, dict[str, Any]] = {}
    for name, rec in sorted(records.items()):
        stamp = stamps.get(rec["source"])
        # Unchanged records are shared with the base document (documents are read-only).
        models[name] = rec if rec["registered_at"] == stamp else {**rec, "registered_at": stamp}
    pools: dict[str, list[str]] = dict(base["pools"])
    for path in affected:
        # Every other member kept its record, so their order in the base pool stands; the changed
        # models are placed into it by the compiler's own pool order, without re-sorting the pool.
        order = [name for name in base["pools"][path] if name not in gone]
        for name in entering.get(path, []):
            insort(order, name, key=lambda member: _pool_key(models[member]))
        pools[path] = order
    document = {key: value for key, value in base.items() if key != "$digest"}
    document.update(version=version.to_snapshot(), models=models, pools=pools)
    return document


def _stamps(state: StateManager, base: Mapping[str, Any], base_commit: str, commit: str,
            present: Collection[str]) -> dict[str, str | None]:
    # `registered_at` of `commit`'s files (`present`). The base's dates hold but for files added
    # or removed between the two commits, when one is on the other's first-parent line: then only
    # the history in between is read, and for an older commit, the history of those of its files
    # alone. Otherwise, the whole history.
    between = state.registration_between(base_commit, commit) if base["version"]["history"] == "full" else None
    if between is None:
        return {rel: when.isoformat() for rel, when in state.registration_dates(commit).items()}
    older, changes = between
    stamps: dict[str, str | None] = {rec["source"]: rec["registered_at"] for rec in base["models"].values()}
    if older == commit:
        changes = dict.fromkeys(changes, None) | state.registration_dates(
            commit, [rel for rel in changes if rel in present])
    stamps.update((rel, when.isoformat() if when else None) for rel, when in changes.items())
    return stamps


def fill_registration_dates(state: StateManager, sides: Sequence[tuple[str, dict[str, Any]]]) -> None:
    """Give two documents of commits, compiled or derived without dates, the `registered_at` that
    can differ between them: those of the files added or removed in between (the others are the
    same on both sides, so a comparison needs none). Reads only the history in between when one
    commit is on the other's first-parent line, else each commit's whole history. Replaces the
    records it dates (documents share records)."""
    (one, _), (other, _) = sides
    between = state.registration_between(one, other)
    for commit, document in sides:
        if between is None:
            dated: Mapping[str, datetime | None] = state.registration_dates(commit)
        else:
            older, changes = between
            if commit == older:  # only its own files have a date there
                present = {rec["source"] for rec in document["models"].values()}
                dated = state.registration_dates(commit, [rel for rel in changes if rel in present])
            else:
                dated = changes
            dated = {rel: dated.get(rel) for rel in changes}
        models = document["models"]
        for name, rec in list(models.items()):
            if rec["source"] in dated:
                when = dated[rec["source"]]
                models[name] = {**rec, "registered_at": when.isoformat() if when else None}


def _pool_key(record: Mapping[str, Any]) -> tuple[int, int, str]:
    # What the pool order reads (status, priority, name), through the compiler's own Model.pool_key.
    return Model(name=record["name"], provider=record["provider"], capabilities=[], lifecycle=record["lifecycle"],
                 priority=record["priority"]).pool_key()
