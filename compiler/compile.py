"""The compiler's entry points: check a catalog, compile it into a snapshot."""

from __future__ import annotations

import os
from pathlib import Path

from compiler.catalog import DEFAULT_CATALOG, DirectorySource
from compiler.errors import CatalogInvalid, UsageError
from compiler.git_version import working_tree_version
from compiler.snapshot import Snapshot, build_snapshot
from compiler.validate import CatalogCheck, check_catalog


def validate_catalog(catalog: str | os.PathLike[str] = DEFAULT_CATALOG) -> CatalogCheck:
    """Check a catalog directory; the result holds every diagnostic (it does not raise on them)."""
    root = Path(catalog)
    if not root.is_dir():
        raise UsageError(f"catalog directory not found: {os.fspath(catalog)}")
    return check_catalog(DirectorySource(root, os.fspath(catalog)).read())


def compile_catalog(catalog: str | os.PathLike[str] = DEFAULT_CATALOG, *, strict: bool = False) -> Snapshot:
    """Compile a catalog directory into a snapshot.

    Raises CatalogInvalid (with every diagnostic) when the catalog has errors, or warnings under
    `strict`. Writing the snapshot is the caller's choice: `snapshot.write(path)`.
    """
    check = validate_catalog(catalog)
    if not check.ok(strict=strict):
        raise CatalogInvalid(check.diagnostics)
    return build_snapshot(check, working_tree_version(catalog))
