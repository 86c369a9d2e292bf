"""Reading a catalog from a commit's objects, without a checkout and without touching the work
tree: the whole of it (`GitSource`), or chosen files (`RevisionReader`), with the refusals a
directory on disk gets (`modelreg.catalog.directory`).
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Collection, Iterable, Iterator, Mapping

from modelreg.catalog.file_size import MAX_FILE_BYTES, too_large
from modelreg.catalog.files import CatalogFiles
from modelreg.catalog.paths import (
    PROVIDER_FILE,
    in_hidden_directory,
    is_catalog_file,
    is_hidden_directory,
    is_hidden_name,
    is_model_path,
    link_target,
    model_name,
)
from modelreg.diagnostics import Diagnostic
from modelreg.git.repository import SYMLINK_MODE, CatalogRepository, TreeEntry
from modelreg.git.runner import MissingObject

_MAX_SYMLINK_HOPS = 40


class GitSource:
    """A catalog read from a commit's objects: the same `read() -> CatalogFiles` as
    `DirectorySource`, with the same refusals (symlinks that leave the catalog, symlinked
    directories, files over the size cap), without a checkout and without touching the work tree."""

    def __init__(self, repo: CatalogRepository, commit: str, display_root: str | None = None) -> None:
        self.repo = repo
        self.commit = commit
        self.display_root = display_root if display_root is not None else repo.display
        self._names: dict[str, str] = {}  # object -> a path it is read for, to name it in errors
        self._targets: dict[str, bytes] = {}

    def entries(self, rels: Iterable[str] | None = None) -> dict[str, TreeEntry]:
        """Tree entries under the catalog (all of them, or only the named paths that exist)."""
        return self.repo.tree_entries(self.commit, rels)

    def read(self, *, defer: bool = False) -> CatalogFiles:
        """The catalog at the commit. With `defer`, files are listed but read only when taken
        (`CatalogFiles.take`), as a stream that overlaps whatever is done with them."""
        entries = self.entries()
        files = CatalogFiles(self.display_root)
        # Every symlink's target in one `cat-file` stream, not one git process per link.
        self._targets.update(self.repo.blobs(e.sha for e in entries.values() if e.mode == SYMLINK_MODE))
        self.fill(files, entries, [rel for rel in entries if is_catalog_file(rel)], entries, defer=defer)
        # A symlink to a directory is reported whatever its name; one with a catalog file's name
        # was reported by `fill` already.
        for rel, entry in entries.items():
            if entry.mode == SYMLINK_MODE and not is_catalog_file(rel):
                self._directory_link(files, rel, entries)
        return files

    def fill(self, files: CatalogFiles, entries: Mapping[str, TreeEntry], rels: Iterable[str],
             tree: Mapping[str, TreeEntry] | None = None, *, defer: bool = False) -> None:
        """Read `rels` (paths of `entries`) into `files`, refusing what DirectorySource refuses.

        `tree` is the whole catalog listing, needed to follow symlinks; without it the targets are
        looked up on demand. With `defer`, the files are only listed for `files.take`.
        """
        wanted: dict[str, str] = {}
        for rel in rels:
            entry = entries.get(rel)
            if entry is None or entry.kind != "blob":
                continue
            target = self._follow(rel, entry, tree, files) if entry.mode == SYMLINK_MODE else (rel, entry)
            if target is None:
                continue
            wanted[rel] = target[1].sha
        for rel, sha in wanted.items():
            self._names.setdefault(sha, rel)
        reader = self._stream
        if defer:
            files.deferred.update(wanted)
            files.reader = reader
            return
        for rel, raw in zip(wanted, reader(list(wanted.values())), strict=True):
            if isinstance(raw, int):
                files.diagnostics.append(too_large(files.display(rel), raw))
            else:
                files.contents[rel] = raw

    def _lookup(self, rel: str, tree: Mapping[str, TreeEntry] | None) -> TreeEntry | None:
        if tree is not None:
            return tree.get(rel)
        return self.entries([rel]).get(rel)

    def _is_directory(self, rel: str, tree: Mapping[str, TreeEntry] | None) -> bool:
        if tree is not None:
            return any(path.startswith(rel + "/") for path in tree)
        entry = self.entries([rel]).get(rel)
        return entry is not None and entry.kind == "tree"

    def _follow(self, rel: str, entry: TreeEntry, tree: Mapping[str, TreeEntry] | None,
                files: CatalogFiles) -> tuple[str, TreeEntry] | None:
        current, link = rel, entry
        for _ in range(_MAX_SYMLINK_HOPS):
            if link.mode != SYMLINK_MODE:
                return current, link
            target = self._target(link.sha)
            resolved = link_target(current, target)
            if resolved is None:
                # Named as DirectorySource names it: where the link leads from the catalog on disk.
                shown = os.path.normpath(os.path.join(self.repo.catalog.resolve(), posixpath.dirname(current), target))
                files.diagnostics.append(Diagnostic(
                    files.display(rel), 1, 1, "symlink",
                    f"symlink points outside the catalog (to {shown}); replace it with the file itself"))
                return None
            found = self._lookup(resolved, tree)
            if found is None:
                if self._is_directory(resolved, tree):
                    self._report_directory_link(files, rel)
                    return None
                files.diagnostics.append(Diagnostic(files.display(rel), 1, 1, "unreadable",
                                                    "cannot read the file: No such file or directory"))
                return None
            if found.kind == "tree":
                self._report_directory_link(files, rel)
                return None
            current, link = resolved, found
        files.diagnostics.append(Diagnostic(files.display(rel), 1, 1, "unreadable",
                                            "cannot read the file: Too many levels of symbolic links"))
        return None

    def _directory_link(self, files: CatalogFiles, rel: str, tree: Mapping[str, TreeEntry]) -> None:
        # Followed link by link, as the file system does: `a -> .b -> drafts/` is a directory too.
        current, entry = rel, tree[rel]
        for _ in range(_MAX_SYMLINK_HOPS):
            resolved = link_target(current, self._target(entry.sha))
            if resolved is None:
                return
            if self._is_directory(resolved, tree):
                self._report_directory_link(files, rel)
                return
            following = tree.get(resolved)
            if following is None or following.mode != SYMLINK_MODE:
                return
            current, entry = resolved, following

    def _stream(self, shas: list[str]) -> Iterator[bytes | int]:
        # Sizes come with the objects: one over the cap is refused as it is met, never held.
        try:
            yield from self.repo.stream_blobs(shas, limit=MAX_FILE_BYTES)
        except MissingObject as exc:
            rel = self._names.get(exc.sha or "")
            raise (exc.about(f"{self.display_root}/{rel} at commit {self.commit[:12]}") if rel else exc) from None

    def _target(self, sha: str) -> str:
        if sha not in self._targets:
            self._targets.update(self.repo.blobs([sha]))
        return self._targets.get(sha, b"").decode("utf-8", "surrogateescape")

    @staticmethod
    def _report_directory_link(files: CatalogFiles, rel: str) -> None:
        # A directory on disk is walked, and so reported, only when it is not hidden.
        if is_hidden_directory(rel):
            return
        files.diagnostics.append(Diagnostic(
            files.display(rel), 1, 1, "symlink",
            "symlinked directories are not read; move the files into the catalog"))


class RevisionReader:
    """Chosen files of the catalog at one commit, read from git's objects with GitSource's rules."""

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
        top = self.source.repo.tree_entries(self.source.commit, recursive=False)
        candidates = [f"{name}/{PROVIDER_FILE}" for name, entry in sorted(top.items())
                      if entry.kind == "tree" and not is_hidden_name(name)]
        return sorted(self._entries(candidates))

    def exists(self, rel: str) -> bool:
        return bool(self._entries([rel]))

    def model_names(self) -> list[str]:
        if self._listing is None:
            self._listing = self.source.entries()
        return sorted(model_name(rel) for rel in self._listing if is_model_path(rel))
