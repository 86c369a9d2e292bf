"""Reading a catalog directory on disk: the whole of it (`DirectorySource`), or chosen files
(`WorktreeReader`), with the same refusals.

Only regular files are read; a symlink is followed only when its target stays inside the
catalog; symlinked directories are not walked (and are reported); files over the size cap are
refused before they are read.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Collection, Iterator
from pathlib import Path

from modelreg.catalog.file_size import MAX_FILE_BYTES, too_large
from modelreg.catalog.files import CatalogFiles
from modelreg.catalog.paths import PROVIDER_FILE, is_hidden_name, is_model_path, is_yaml_name, model_name
from modelreg.diagnostics import Diagnostic


class DirectorySource:
    """A catalog directory on disk.

    Only regular files are read; a symlink is followed only when its target stays inside the
    catalog; files over the size cap are refused before they are read.
    """

    def __init__(self, root: str | os.PathLike[str], display_root: str | None = None) -> None:
        self.root = Path(root)
        self.display_root = display_root if display_root is not None else os.fspath(root)

    def read(self) -> CatalogFiles:
        files = CatalogFiles(self.display_root)
        real_root = os.fspath(self.root.resolve())

        def symlinked(rel: str) -> None:
            # Not walked; said instead of silently skipped.
            files.diagnostics.append(Diagnostic(files.display(rel), 1, 1, "symlink",
                                                "symlinked directories are not read; move the files into the catalog"))

        for full, rel in self.walk(symlinked):
            self._read(files, full, rel, real_root)
        return files

    def walk(self, symlinked: Callable[[str], None]) -> Iterator[tuple[str, str]]:
        """(full path, relative path) of every file that `read` reads, in order, without reading
        or checking them; `symlinked(rel)` hears of each symlinked directory, which is not walked."""
        for entry, rel in self.scan(symlinked):
            yield entry.path, rel

    def scan(self, symlinked: Callable[[str], None]) -> Iterator[tuple[os.DirEntry[str], str]]:
        """`walk`, giving each file's directory entry (whose `stat(follow_symlinks=False)` is the
        file's lstat) instead of its full path."""
        # Directory entries and plain strings: pathlib's objects cost more than reading a small file.
        return self._scan(os.fspath(self.root), "", symlinked)

    def _scan(self, directory: str, prefix: str,
              symlinked: Callable[[str], None]) -> Iterator[tuple[os.DirEntry[str], str]]:
        try:
            with os.scandir(directory) as listing:
                entries = sorted(listing, key=_name)
        except OSError:
            return  # as os.walk: a directory that cannot be listed holds nothing
        subdirectories = []
        for entry in entries:
            try:
                is_directory = entry.is_dir()  # a symlink to a directory too: reported, not walked
            except OSError:
                is_directory = False
            if is_directory:
                if not is_hidden_name(entry.name):
                    subdirectories.append(entry)
            elif is_yaml_name(entry.name):  # not README.md and the like; `.yml`/`.YAML` are, to be told to rename
                yield entry, prefix + entry.name
        walked = []
        for entry in subdirectories:
            if entry.is_symlink():
                symlinked(prefix + entry.name)
            else:
                walked.append(entry)
        for entry in walked:
            yield from self._scan(entry.path, prefix + entry.name + "/", symlinked)

    @classmethod
    def read_file(cls, files: CatalogFiles, full: Path, rel: str, real_root: Path) -> None:
        """Read one catalog file into `files`, or record why it was refused."""
        cls._read(files, os.fspath(full), rel, os.fspath(real_root))

    @staticmethod
    def _read(files: CatalogFiles, full: str, rel: str, real_root: str) -> None:
        try:
            info = os.lstat(full)
            if stat.S_ISLNK(info.st_mode):
                target = os.path.realpath(full)
                if target != real_root and not target.startswith(real_root.rstrip(os.sep) + os.sep):
                    files.diagnostics.append(Diagnostic(
                        files.display(rel), 1, 1, "symlink",
                        f"symlink points outside the catalog (to {target}); replace it with the file itself"))
                    return
                info = os.stat(full)
        except OSError as exc:
            files.diagnostics.append(Diagnostic(files.display(rel), 1, 1, "unreadable",
                                                f"cannot read the file: {exc.strerror}"))
            return
        if not stat.S_ISREG(info.st_mode):
            files.diagnostics.append(Diagnostic(files.display(rel), 1, 1, "not-a-file", "not a regular file"))
            return
        if info.st_size > MAX_FILE_BYTES:
            files.diagnostics.append(too_large(files.display(rel), info.st_size))
            return
        fd = os.open(full, os.O_RDONLY)
        try:
            # Asked for its size (and one byte more, should it have grown): a read of the cap
            # would allocate a megabyte for every small file. A first read that gives the size it
            # had, and not the byte more, met the end: no second read to be told so.
            chunks = []
            left = MAX_FILE_BYTES + 1
            want = min(info.st_size + 1, left)
            while left > 0 and (chunk := os.read(fd, want)):
                chunks.append(chunk)
                left -= len(chunk)
                if len(chunks) == 1 and len(chunk) == info.st_size < want:
                    break
                want = min(left, 65536)
        finally:
            os.close(fd)
        files.contents[rel] = chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _name(entry: os.DirEntry[str]) -> str:
    return entry.name


class WorktreeReader:
    """Chosen files of the catalog on disk, read with DirectorySource's rules (for checking a
    change without reading the whole catalog)."""

    def __init__(self, root: str | os.PathLike[str], display_root: str | None = None) -> None:
        self.root = Path(root)
        self.display_root = display_root if display_root is not None else os.fspath(root)

    def _visible(self, rel: str) -> bool:
        # DirectorySource skips dot-directories and does not walk symlinked directories.
        parent = self.root
        for part in rel.split("/")[:-1]:
            parent = parent / part
            if is_hidden_name(part) or parent.is_symlink():
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
            if is_hidden_name(entry.name) or entry.is_symlink() or not entry.is_dir():
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
                           if not is_hidden_name(d) and not os.path.islink(os.path.join(dirpath, d))]
            for name in filenames:
                rel = Path(dirpath, name).relative_to(self.root).as_posix()
                if is_model_path(rel):
                    names.append(model_name(rel))
        return sorted(names)
