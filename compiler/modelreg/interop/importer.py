"""`modelreg import`: another tool's catalog into this one, as files for a person to review.

The plan is checked as a pull request would check it; a result that would not validate writes
nothing. By default the files are written into the work tree (each atomically; a failure midway
puts back what was written), with `commit` they are committed in one commit, with `dry_run`
nothing is written.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelreg.atomic_files import write_atomic_many
from modelreg.capability_tree import CapabilityTree
from modelreg.catalog.directory import DirectorySource
from modelreg.catalog.files import CatalogFiles
from modelreg.catalog.model_file import CatalogModel
from modelreg.catalog.paths import CAPABILITIES_FILE, DEFAULT_CATALOG, file_kind, is_model_path, status_changes_catalog
from modelreg.catalog.yaml_loader import YamlLoadError, load_yaml
from modelreg.diff.proposed import diff_proposed
from modelreg.diff.report import Diff
from modelreg.errors import CatalogInvalid, StateError, UsageError
from modelreg.git.repository import CatalogRepository
from modelreg.git.transaction import CommitInfo
from modelreg.interop.aliases import catalog_provider
from modelreg.interop.entries import Parsed
from modelreg.interop.merge import ImportPlan, plan_import
from modelreg.registry import open_writer


@dataclass
class ImportResult:
    """What an import did: the plan, the diff it makes, and the commit (with `commit`)."""

    plan: ImportPlan
    diff: Diff | None
    written: bool
    commit: CommitInfo | None = None


def import_catalog(parsed: Parsed, catalog: str | os.PathLike[str] = DEFAULT_CATALOG, *, overwrite: bool = False,
                   providers: Collection[str] = (), dry_run: bool = False, commit: bool = False,
                   author: str | None = None, message: str | None = None) -> ImportResult:
    """Import `parsed` (read by `read_litellm` or `read_models_dev`) into the catalog at
    `catalog`. CatalogInvalid when the catalog is invalid, or would be after; StateError for
    `commit` outside git or with uncommitted catalog changes."""
    root = Path(catalog)
    if not root.is_dir():
        raise UsageError(f"catalog directory not found: {os.fspath(catalog)}")
    repo = CatalogRepository.find(catalog) if commit else None
    if commit and repo is None:
        raise StateError(f"{os.fspath(catalog)} is not in a git repository: --commit needs one")
    display = repo.display if repo is not None else os.fspath(catalog)
    source = DirectorySource(root, display)
    files = source.read()
    tree, models, known = _catalog(files)
    only = _selected(providers, known, parsed)
    plan = plan_import(parsed, models, known, tree, overwrite=overwrite, only=only)
    if not plan.writes:
        return ImportResult(plan, None, False)
    diff = diff_proposed(_reuse(files), plan.writes, base_ref="catalog", head_ref=f"import {parsed.source}",
                         what=f"the import of {parsed.source}")
    if dry_run:
        return ImportResult(plan, diff, False)
    if commit:
        assert repo is not None
        writer = open_writer(catalog, "import", author=author)
        with writer.lock() as head:
            status = writer.status()
            if status_changes_catalog(status):
                dirty = ", ".join(sorted(status)[:5])
                raise StateError(f"{display} has uncommitted changes ({dirty}); commit or stash them first "
                                 "(the import commits the catalog as it checked it)")
            info = writer.commit(head, plan.writes, message or f"import {len(plan.imported)} models from "
                                 f"{Path(parsed.source).name}")
        return ImportResult(plan, diff, True, info)
    _write_all(root, plan.writes)
    return ImportResult(plan, diff, True)


def _selected(names: Collection[str], known: Collection[str], parsed: Parsed) -> set[str]:
    # `--provider` takes the catalog's names or the file's own (`gemini` is the catalog's `google`).
    chosen = set()
    for name in names:
        provider = name if name in known else catalog_provider(name)
        if provider is None or (provider not in known and all(e.provider != provider for e in parsed.entries)):
            raise UsageError(f"--provider {name}: neither the catalog nor {parsed.source} has that provider")
        chosen.add(provider)
    return chosen


def _reuse(files: CatalogFiles) -> Callable[[], CatalogFiles]:
    # The files were read once; the diff reads the same ones.
    return lambda: files


def _catalog(files: CatalogFiles) -> tuple[CapabilityTree, dict[str, CatalogModel], dict[str, dict[str, Any]]]:
    contents = dict(files.take(files.paths()))
    tree: CapabilityTree | None = None
    models: dict[str, CatalogModel] = {}
    providers: dict[str, dict[str, Any]] = {}
    for rel, raw in contents.items():
        if isinstance(raw, int):
            continue  # over the size cap: the check reports it
        try:
            data = load_yaml(files.display(rel), raw).data
        except YamlLoadError:
            continue  # the check reports it
        if not isinstance(data, dict):
            continue
        kind = file_kind(rel)
        if rel == CAPABILITIES_FILE:
            tree = CapabilityTree.from_mapping(data)
        elif kind == "provider":
            providers[rel.split("/")[0]] = data
        elif is_model_path(rel) and isinstance(data.get("name"), str):
            models[data["name"]] = CatalogModel(data["name"], rel, data)
    if tree is None:
        raise CatalogInvalid([], f"{files.display(CAPABILITIES_FILE)} is missing or unreadable; run `modelreg "
                                 "validate`")
    return tree, models, providers


def _write_all(root: Path, writes: dict[str, bytes]) -> None:
    # Each file atomically; a failure midway puts back what was written, so no import is half done.
    previous = {root / rel: (root / rel).read_bytes() if (root / rel).is_file() else None for rel in writes}
    try:
        write_atomic_many({root / rel: content for rel, content in writes.items()})
    except BaseException:
        with contextlib.suppress(OSError):
            write_atomic_many({path: before for path, before in previous.items() if before is not None})
        for path, before in previous.items():
            if before is None:
                with contextlib.suppress(OSError):
                    path.unlink(missing_ok=True)
        raise
