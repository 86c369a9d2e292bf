"""What a proposed change (files to write, not yet written) does to a catalog: both states checked
as a pull request's would be, and the diff between them. Discovery sync and import propose
changes this way before anything is written."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from modelreg.build.snapshot import snapshot_document
from modelreg.build.version import VersionInfo
from modelreg.catalog.files import CatalogFiles
from modelreg.check.catalog_check import check_catalog
from modelreg.diff.report import Diff, Side, compare
from modelreg.errors import CatalogInvalid
from modelreg.gc_pause import collector_paused


def diff_proposed(read_all: Callable[[], CatalogFiles], writes: Mapping[str, bytes], *, base_ref: str,
                  head_ref: str, what: str) -> Diff:
    """The diff of the catalog `read_all` gives, before and after `writes` (catalog path ->
    content). CatalogInvalid, with every diagnostic, when the catalog is invalid before (fix it
    first) or would be after (`what` names the change in the message); nothing is written here."""
    with collector_paused:
        base = read_all()
        contents = dict(base.take(base.paths()))
        read = {r: c for r, c in contents.items() if isinstance(c, bytes)}
        oversized = {r: c for r, c in contents.items() if isinstance(c, int)}
        before = CatalogFiles(base.display_root, read, list(base.diagnostics), oversized=oversized)
        after = CatalogFiles(before.display_root, dict(before.contents), list(before.diagnostics),
                             oversized=dict(before.oversized))
        after.contents.update(writes)
        for rel in writes:
            after.oversized.pop(rel, None)
        before_check = check_catalog(before)
        if not before_check.ok():
            raise CatalogInvalid(before_check.diagnostics, f"{before.display_root}: the catalog is invalid before "
                                 f"{what}; fix it first (nothing written)")
        after_check = check_catalog(after)
        if not after_check.ok():
            raise CatalogInvalid(after_check.diagnostics, f"{what} would make the catalog invalid: "
                                 f"{len(after_check.errors)} error(s); nothing written")
        version = VersionInfo()
        return compare(Side("revision", base_ref, snapshot_document(before_check, version)),
                       Side("worktree", head_ref, snapshot_document(after_check, version)))
