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
        real_root = self.root.resolve()
        for dirpath, dirnames, filenames in os.walk(self.root, followlinks=False):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for name in sorted(filenames):
                if not name.lower().endswith((".yaml", ".yml")):
                    continue  # README.md and the like; `.yml`/`.YAML` are read, to be told to rename
                full = Path(dirpath) / name
                self.read_file(files, full, full.relative_to(self.root).as_posix(), real_root)
            # Symlinked directories are not walked; say so instead of silently skipping them.
            for d in list(dirnames):
                if (Path(dirpath) / d).is_symlink():
                    rel = (Path(dirpath) / d).relative_to(self.root).as_posix()
                    files.diagnostics.append(Diagnostic(
                        files.display(rel), 1, 1, "symlink",
                        "symlinked directories are not read; move the files into the catalog"))
                    dirnames.remove(d)
        return files

    @classmethod
    def read_file(cls, files: CatalogFiles, full: Path, rel: str, real_root: Path) -> None:
        """Read one catalog file into `files`, or record why it was refused."""
        problem = cls._problem(full, real_root)
        if problem is not None:
            files.diagnostics.append(Diagnostic(files.display(rel), 1, 1, *problem))
            return
        with open(full, "rb") as fh:
            files.contents[rel] = fh.read(MAX_FILE_BYTES + 1)

    @staticmethod
    def _problem(full: Path, real_root: Path) -> tuple[str, str] | None:
        if full.is_symlink():
            target = full.resolve()
            if not target.is_relative_to(real_root):
                return ("symlink", f"symlink points outside the catalog (to {target}); replace it with the file itself")
        try:
            info = full.stat()
        except OSError as exc:
            return ("unreadable", f"cannot read the file: {exc.strerror}")
        if not stat.S_ISREG(info.st_mode):
            return ("not-a-file", "not a regular file")
        if info.st_size > MAX_FILE_BYTES:
            refusal = too_large("", info.st_size)
            return (refusal.code, refusal.message)
        return None
