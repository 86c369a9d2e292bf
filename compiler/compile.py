"""The compiler's entry points: check a catalog, compile it into a snapshot."""

from __future__ import annotations

import os
from pathlib import Path

from compiler.catalog import DEFAULT_CATALOG, DirectorySource
from compiler.errors import UsageError
from compiler.snapshot import Snapshot
from compiler.validate import CatalogCheck, check_catalog


def validate_catalog(catalog: str | os.PathLike[str] = DEFAULT_CATALOG) -> CatalogCheck:
    """Check a catalog directory; the result holds every diagnostic (it does not raise on them)."""
    root = Path(catalog)
    if not root.is_dir():
        raise UsageError(f"catalog directory not found: {os.fspath(catalog)}")
    return check_catalog(DirectorySource(root, os.fspath(catalog)).read())


def compile_catalog(catalog: str | os.PathLike[str] = DEFAULT_CATALOG, *, strict: bool = False,
                    rev: str | None = None, allow_shallow: bool = False) -> Snapshot:
    """Compile a catalog directory into a snapshot.

    Raises CatalogInvalid (with every diagnostic) when the catalog has errors, or warnings under
    `strict`. Writing the snapshot is the caller's choice: `snapshot.write(path)`.

    `rev` compiles a git revision (`HEAD~3`, a tag, a sha) from git's objects instead of the work
    tree, to the bytes the work tree gave when that revision was HEAD. In git, every model's
    `registered_at` comes from history; a shallow clone raises StateError unless `allow_shallow`.
    """
    from compiler.state import StateManager

    return StateManager(catalog).compile(rev, strict=strict, allow_shallow=allow_shallow)
