"""Putting the site together and writing it: pages, script, styles, the payload and `api.json`."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from importlib.resources import files as package_files
from pathlib import Path

from modelreg.atomic_files import write_tree_atomic
from modelreg.build.snapshot import Snapshot
from modelreg.errors import UsageError
from modelreg.site import pages
from modelreg.site.history import SiteHistory, read_history
from modelreg.site.payload import build_payload, render_payload

# The snapshot, byte for byte, at a path that stays put: tools fetch the catalog by this URL.
API_FILE = "api.json"
# Marks a directory as a site modelreg wrote, so a rebuild may replace it and nothing else. Hidden,
# so GitHub Pages' artifact leaves it out.
MARKER = ".modelreg-site"
STATIC = ("site.js", "site.css")


@dataclass
class SiteReport:
    """What `build_site` wrote."""

    path: Path
    sizes: dict[str, int]
    """Bytes per file written, by its path in the site."""
    notes: list[str] = field(default_factory=list)
    """What the site could not show, and why (no git history, no previous revision)."""
    diff_summary: str | None = None

    @property
    def pages_bytes(self) -> int:
        """Everything but `api.json`: what a visitor's browser loads."""
        return sum(size for name, size in self.sizes.items() if name != API_FILE)


def render_site(snapshot: Snapshot, history: SiteHistory) -> dict[str, bytes]:
    """Every file of the site, by its path in it."""
    static = package_files("modelreg.site") / "static"
    site = {
        "index.html": pages.index_page(snapshot),
        "pools.html": pages.pools_page(snapshot),
        "models.html": pages.models_page(snapshot),
        "model.html": pages.model_page(snapshot),
        "changes.html": pages.changes_page(snapshot, history),
        "data.js": render_payload(build_payload(snapshot, history)),
        API_FILE: snapshot.raw,
        MARKER: b"modelreg site\n",
    }
    for name in STATIC:
        site[name] = (static / name).read_bytes()
    return site


def build_site(snapshot: Snapshot, catalog: str | os.PathLike[str], out: str | os.PathLike[str]) -> SiteReport:
    """Write the site of `snapshot` into the directory `out`, with history from the git
    repository of `catalog` when there is one. The directory is replaced whole or not at all; one
    that exists and is not a site modelreg wrote (or empty) is refused with UsageError."""
    target = Path(out)
    if target.exists() and not (target.is_dir() and (not any(target.iterdir()) or (target / MARKER).is_file())):
        raise UsageError(f"{os.fspath(out)} exists and is not a site that modelreg wrote; give a new or empty "
                         "directory")
    history = read_history(catalog, snapshot)
    site = render_site(snapshot, history)
    write_tree_atomic(target, site)
    # Without history, the diff's note only says so again.
    note = history.changes_note or history.diff_note
    notes = [note] if note else []
    return SiteReport(target, {name: len(data) for name, data in sorted(site.items()) if name != MARKER}, notes,
                      history.diff.summary() if history.diff is not None else None)
