"""The catalog a command works on, passed one way: `--catalog DIR`, else the repository's
setting or the catalog found from the current directory (`modelreg.catalog.location`).

`validate`, `compile` and `show` still take the catalog as a positional argument, as they did
before `--catalog`, with a note that it is deprecated.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TextIO

from modelreg.catalog.location import CatalogLocation, locate_catalog, shown
from modelreg.catalog.paths import DEFAULT_OUTPUT
from modelreg.errors import UsageError


def resolve_catalog(args: argparse.Namespace, err: TextIO) -> None:
    """Set `args.location`, and `args.catalog` to the catalog as printed, for a verb that takes one.

    A verb whose catalog is optional (`route`, `export`: a snapshot may stand in) keeps
    `args.catalog` None when none was given. `validate FILE...` finds each file's catalog itself.
    An empty `--catalog` is none, so that a workflow can pass an unset input straight through.
    """
    if not hasattr(args, "catalog") or getattr(args, "paths", None):
        return
    if args.catalog == "":  # what a script passes through for "not set": the catalog is found
        args.catalog = None
    legacy = getattr(args, "legacy_catalog", None)
    if legacy is not None:
        if args.catalog is not None:
            raise UsageError(f"the catalog is given twice (`{legacy}` and `--catalog {args.catalog}`); "
                             "give --catalog alone")
        err.write(f"modelreg: note: `modelreg {args.verb} CATALOG` is deprecated; write "
                  f"`modelreg {args.verb} --catalog {legacy}`, or leave the catalog out to have it found\n")
        args.catalog = legacy
    args.location = locate_catalog(args.catalog)
    if args.catalog is None and not getattr(args, "catalog_optional", False):
        args.catalog = shown(args.location.catalog)


def default_snapshot(location: CatalogLocation) -> str:
    """The project's snapshot (`build/registry.json` in its root), as printed."""
    path = location.root / DEFAULT_OUTPUT
    return os.fspath(DEFAULT_OUTPUT) if location.root == Path.cwd().resolve() else shown(path)
