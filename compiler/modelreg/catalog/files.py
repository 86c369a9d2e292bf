"""What reading a catalog gives: every catalog file's bytes by its path relative to the catalog
(POSIX separators), and diagnostics for the files that were refused.

Sources: a directory on disk (`modelreg.catalog.directory`) or a commit's objects
(`modelreg.catalog.revision`).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from modelreg.diagnostics import Diagnostic


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


class FileReader(Protocol):
    """Reads chosen files of one state of a catalog (the work tree, or a commit)."""

    display_root: str

    def read(self, rels: Collection[str]) -> CatalogFiles: ...

    def providers(self) -> list[str]: ...

    def exists(self, rel: str) -> bool: ...

    def model_names(self) -> list[str]: ...
