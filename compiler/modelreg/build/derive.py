"""A revision's snapshot document derived from a nearby revision's, when only model files differ
between them: the changed files and the models that name them are checked (as a full compile
would check them), their records replaced, and only the pools they touch reordered.
"""

from __future__ import annotations

from bisect import insort
from collections.abc import Mapping
from typing import Any

from modelreg.build.registration import dated_record, derived_stamps
from modelreg.build.version import VersionInfo
from modelreg.catalog.paths import is_catalog_file, is_model_path, model_name
from modelreg.catalog.revision import GitSource, RevisionReader
from modelreg.check.change_check import check_change
from modelreg.errors import CatalogInvalid
from modelreg.git.registration_dates import RegistrationDates
from modelreg.git.repository import REGULAR_MODES, SYMLINK_MODE, CatalogRepository
from modelreg.models import Model


def derive_snapshot(repo: CatalogRepository, dates: RegistrationDates | None, base: Mapping[str, Any],
                    base_commit: str, commit: str, version: VersionInfo) -> dict[str, Any] | None:
    """The snapshot document of `commit`, from the one of `base_commit`, when only model files
    differ; None when anything else changed (the tree, a provider) or when so much changed that a
    full compile is as quick. Raises CatalogInvalid when `commit`'s catalog is invalid.

    The result equals a full compile of `commit` at `version` (the tests hold it to that).
    Without `dates`, registration dates are left out (None), as a full compile without them
    leaves them.
    """
    changes = repo.changed_files(base_commit, commit)
    records: dict[str, dict[str, Any]] = dict(base["models"])
    if len(changes) > max(200, len(records) // 4):
        return None
    by_source = {rec["source"]: name for name, rec in records.items()}
    changed: set[str] = set()
    removed: set[str] = set()
    for status, rel, old_mode, new_mode in changes:
        if SYMLINK_MODE in (old_mode, new_mode):
            return None  # symlinks follow DirectorySource's rules; leave them to a full compile
        if not is_catalog_file(rel):
            continue  # not read by the compiler
        if not is_model_path(rel):
            return None
        if status == "D":
            removed.add(rel)
        elif new_mode in REGULAR_MODES:
            changed.add(rel)
        else:
            return None
    gone = {by_source[rel] for rel in removed | changed if rel in by_source}
    dependents = {rec["source"] for name, rec in records.items()
                  if name not in gone and rec["lifecycle"].get("replacement") in gone}
    reader = RevisionReader(GitSource(repo, commit))
    check = check_change(reader, changed | dependents)
    if not check.ok():
        raise CatalogInvalid(check.diagnostics)
    affected: set[str] = set()
    for name in gone:
        affected.update(records.pop(name)["pools"])
    entering: dict[str, list[str]] = {}
    for rel in changed:
        model = check.models[model_name(rel)]
        records[model.name] = model.to_snapshot()
        affected.update(model.pools)
        for path in model.pools:
            entering.setdefault(path, []).append(model.name)
    present = {rec["source"] for rec in records.values()}
    stamps = derived_stamps(dates, base, base_commit, commit, present) \
        if dates is not None and version.history == "full" else {}
    # Unchanged records are shared with the base document (documents are read-only).
    models = {name: dated_record(rec, stamps.get(rec["source"])) for name, rec in sorted(records.items())}
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


def _pool_key(record: Mapping[str, Any]) -> tuple[int, int, str]:
    # What the pool order reads (status, priority, name), through the compiler's own Model.pool_key.
    return Model(name=record["name"], provider=record["provider"], capabilities=[], lifecycle=record["lifecycle"],
                 priority=record["priority"]).pool_key()
