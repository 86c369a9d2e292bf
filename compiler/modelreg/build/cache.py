"""Compiled snapshots of commits, kept in `.git/modelreg/snapshots/` so a revision compiles once.

A commit's snapshot depends only on the commit, the catalog's place in the repository and the
compiler itself, so the key is the commit plus a fingerprint of the compiler's code and schemas:
a new version of modelreg never reads an old entry. Entries are written atomically and verified
by their digest on reading; the cache is best effort (a read-only `.git` just means no cache).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path

from modelreg.atomic_files import write_atomic
from modelreg.build.fingerprint import compiler_fingerprint
from modelreg.build.snapshot import LazySnapshot, Snapshot, describe
from modelreg.build.snapshot_index import SnapshotIndex
from modelreg.check.outcome_cache import seal, unseal
from modelreg.diagnostics import Diagnostic, Severity
from modelreg.errors import SnapshotError
from modelreg.git.repository import CatalogRepository
from modelreg.snapshot_format import claimed_digest, sealed_digest, verify_digest

# Snapshots of a 10,000-model catalog are ~8 MB; a handful covers a branch and its base.
KEEP = 8


class SnapshotCache:
    """Snapshots by commit for one catalog of one repository."""

    def __init__(self, directory: Path, key: str, display_root: str) -> None:
        self.directory = directory
        self.key = key
        self.display_root = display_root

    @classmethod
    def for_repository(cls, repo: CatalogRepository) -> SnapshotCache | None:
        """The cache of a catalog in git (None when MODELREG_CACHE=0)."""
        if os.environ.get("MODELREG_CACHE") == "0":
            return None
        key = hashlib.sha256(f"{repo.rel}\0{compiler_fingerprint()}".encode()).hexdigest()[:16]
        return cls(repo.git.common_dir / "modelreg" / "snapshots", key, repo.display)

    def _paths(self, commit: str) -> tuple[Path, Path]:
        stem = self.directory / f"{commit}.{self.key}"
        return stem.with_name(stem.name + ".json"), stem.with_name(stem.name + ".warnings.json")

    def _index_path(self, commit: str) -> Path:
        # The entry's index (`Snapshot.index`), when it was encoded record by record.
        return self.directory / f"{commit}.{self.key}.index"

    def has(self, commit: str) -> bool:
        """Whether `commit` has an entry (without reading it)."""
        return all(path.is_file() for path in self._paths(commit))

    def get(self, commit: str) -> Snapshot | None:
        """The cached snapshot of `commit`, with its warnings and (when kept) its index, or None.
        With its index, the bytes are checked against their seal but parsed only when the
        document is asked for."""
        return self._get(commit, checked=True)

    def base(self, commit: str) -> tuple[Snapshot, Callable[[], bool]] | None:
        """The cached snapshot of `commit` with its index, to derive another from, and what says
        whether its bytes hold to their seal: they are hashed meanwhile, and nothing derived from
        them may be used before the answer is True. None without an entry or an index."""
        snapshot = self._get(commit, checked=False)
        if snapshot is None or snapshot.index is None:
            return None
        return snapshot, verify_digest(snapshot.raw, snapshot.digest)

    def _get(self, commit: str, *, checked: bool) -> Snapshot | None:
        # The entry; its bytes `checked` against their seal now, else taken to have the digest they
        # claim (and then only an entry with its index is had).
        snapshot_path, warnings_path = self._paths(commit)
        try:
            raw = snapshot_path.read_bytes()
            records = json.loads(warnings_path.read_bytes())
            prefix = self.display_root.rstrip("/") + "/" if self.display_root else ""
            warnings = [Diagnostic(prefix + r["file"], r["line"], r["column"], r["code"], r["message"],
                                   Severity(r["severity"])) for r in records]
            digest = sealed_digest(raw) if checked else claimed_digest(raw)
            index = self._index(commit, digest) if digest is not None else None
            snapshot: Snapshot
            if digest is not None and index is not None:
                source = str(snapshot_path)
                snapshot = LazySnapshot(lambda: index.document(raw, source=source), raw, digest, warnings,
                                        count=len(index.entries), version=index.version, index=lambda: index,
                                        summary=describe(len(index.entries), index.providers, index.pools,
                                                         index.version["label"], digest))
            elif checked:
                snapshot = Snapshot.from_bytes(raw, source=str(snapshot_path))
                snapshot.warnings = warnings
            else:
                return None
        except (OSError, ValueError, TypeError, KeyError, SnapshotError):
            return None
        with contextlib.suppress(OSError):
            os.utime(snapshot_path)
        return snapshot

    def _index(self, commit: str, digest: str) -> SnapshotIndex | None:
        # The entry's index, sealed with the digest of the bytes it indexes.
        try:
            raw = self._index_path(commit).read_bytes()
        except OSError:
            return None
        body = unseal(_index_header(digest), raw)
        return SnapshotIndex.loads(body) if isinstance(body, bytes) else None

    def put(self, commit: str, snapshot: Snapshot) -> None:
        """Keep `snapshot` as the one of `commit`, dropping the least recently used beyond KEEP."""
        snapshot_path, warnings_path = self._paths(commit)
        prefix = self.display_root.rstrip("/") + "/" if self.display_root else ""
        records = [{**d.to_dict(), "file": d.file.removeprefix(prefix)} for d in snapshot.warnings]
        try:
            index = snapshot.index
            if index is not None and index.spans is not None:
                write_atomic(self._index_path(commit), seal(_index_header(snapshot.digest), index.dumps()),
                             durable=False)
            write_atomic(warnings_path, json.dumps(records, sort_keys=True).encode())
            write_atomic(snapshot_path, snapshot.raw)
            self._evict()
        except OSError:
            pass

    def commits(self) -> list[str]:
        """Commits with a cached snapshot, most recently used first."""
        try:
            entries = list(self.directory.glob(f"*.{self.key}.json"))
            entries.sort(key=lambda p: p.stat().st_mtime, reverse=True)
        except OSError:
            return []
        return [p.name.split(".", 1)[0] for p in entries]

    def _evict(self) -> None:
        for commit in self.commits()[KEEP:]:
            for path in (*self._paths(commit), self._index_path(commit)):
                with contextlib.suppress(OSError):
                    path.unlink()


def _index_header(digest: str) -> bytes:
    return b"modelreg-index 1\0" + digest.encode() + b"\0"
