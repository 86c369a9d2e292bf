"""Reading a catalog's files: from a directory on disk, or (see `compiler.state`) from git objects.

A source yields the raw bytes of every `.yaml` file under the catalog, keyed by its path relative
to the catalog (POSIX separators), plus diagnostics for files it refused to read.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from compiler.diagnostics import Diagnostic
from compiler.yaml_loader import MAX_FILE_BYTES, too_large

CAPABILITIES_FILE = "capabilities.yaml"
PROVIDER_FILE = "provider.yaml"
DEFAULT_CATALOG = "models.d"


@dataclass
class CatalogFiles:
    """What a source read: file contents by relative path, and the files it refused.

    A source may also list files it has not read yet (`deferred`, each with the key its `reader`
    reads it by): `take` reads them as they are needed, so reading can overlap checking.
    """

    display_root: str
    contents: dict[str, bytes] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    deferred: dict[str, str] = field(default_factory=dict)
    reader: Callable[[list[str]], Iterator[bytes | int]] | None = None
    """Reads deferred files by key, in order: each one's bytes, or its size when it is over
    MAX_FILE_BYTES (then it is not read)."""
    oversized: dict[str, int] = field(default_factory=dict)
    """Deferred files found over MAX_FILE_BYTES when taken, with their size."""

    def display(self, rel: str) -> str:
        """The path shown to users for a catalog file."""
        return f"{self.display_root.rstrip('/')}/{rel}" if self.display_root else rel

    def paths(self) -> list[str]:
        """Every file of the catalog, read or not, sorted."""
        return sorted({*self.contents, *self.deferred, *self.oversized})

    def take(self, rels: Sequence[str]) -> Iterator[tuple[str, bytes | int]]:
        """`(path, content)` of each of `rels`, in order; deferred files are read now, as a
        stream, and kept in `contents`. A deferred file over MAX_FILE_BYTES is not read: its
        size comes instead of its content (and again if it is taken again)."""
        pending = [rel for rel in dict.fromkeys(rels) if rel not in self.contents and rel in self.deferred]
        stream = iter(()) if not pending or self.reader is None else self.reader([self.deferred[r] for r in pending])
        try:
            for rel in rels:
                raw: bytes | int | None = self.contents.get(rel)
                if raw is None:
                    raw = self.oversized.get(rel)
                if raw is None:
                    if rel not in self.deferred:
                        raise KeyError(rel)
                    raw = next(stream)
                    del self.deferred[rel]
                    if isinstance(raw, int):
                        self.oversized[rel] = raw
                    else:
                        self.contents[rel] = raw
                yield rel, raw
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                close()


class CatalogSource(Protocol):
    """Anything that can hand over a catalog's files."""

    def read(self) -> CatalogFiles: ...


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
        root = os.fspath(self.root)
        # os.walk and plain strings: pathlib's objects cost more than reading a small file.
        for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            inside = os.path.relpath(dirpath, root)
            prefix = "" if inside == "." else inside.replace(os.sep, "/") + "/"
            for name in sorted(filenames):
                if not name.lower().endswith((".yaml", ".yml")):
                    continue  # README.md and the like; `.yml`/`.YAML` are read, to be told to rename
                self._read(files, os.path.join(dirpath, name), prefix + name, real_root)
            # Symlinked directories are not walked; say so instead of silently skipping them.
            for d in list(dirnames):
                if os.path.islink(os.path.join(dirpath, d)):
                    files.diagnostics.append(Diagnostic(
                        files.display(prefix + d), 1, 1, "symlink",
                        "symlinked directories are not read; move the files into the catalog"))
                    dirnames.remove(d)
        return files

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
            # would allocate a megabyte for every small file.
            chunks = []
            left = MAX_FILE_BYTES + 1
            want = min(info.st_size + 1, left)
            while left > 0 and (chunk := os.read(fd, want)):
                chunks.append(chunk)
                left -= len(chunk)
                want = min(left, 65536)
        finally:
            os.close(fd)
        files.contents[rel] = chunks[0] if len(chunks) == 1 else b"".join(chunks)
