"""The last compile of a catalog directory, kept whole, so that a compile of files that have not
changed gives the same snapshot without checking or building anything.

The key is the compiler's fingerprint, how paths are shown, the version (commit and dirty flag,
which fix the registration dates too) and every file's path and content digest. A file's digest is
taken from its last stat when its size, mtime, ctime, inode and device are as they were and it was
modified before the second the memo was written (git's racy-timestamp rule: a file changed within
that second may have changed again unseen); any other file is read. A catalog with anything the
directory reader refuses (a symlink, an oversized or irregular file) is always read.

The memo is one file, sealed like the outcome cache: one that is truncated, foreign or garbled is
no memo, and its snapshot is checked against its own digest when it is loaded.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import sys
from array import array
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelreg.atomic_files import write_atomic
from modelreg.build.snapshot import Snapshot
from modelreg.build.version import VersionInfo
from modelreg.catalog.directory import DirectorySource
from modelreg.catalog.yaml_loader import MAX_FILE_BYTES
from modelreg.check.outcome_cache import digest, seal, unseal
from modelreg.diagnostics import Diagnostic, Severity

FORMAT = b"modelreg-worktree 4"
Signature = tuple[int, int, int, int, int]


def _signature(info: os.stat_result) -> Signature:
    return info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino, info.st_dev


@dataclass
class Listing:
    """A directory's catalog files by path with their stat signatures, and the digests known
    without reading (None where the file must be read)."""

    signatures: dict[str, Signature]
    digests: dict[str, bytes | None]


class WorktreeMemo:
    """The memo file `path` of one catalog directory, for a compiler identified by `salt`."""

    def __init__(self, path: Path, salt: str) -> None:
        self.path = path
        self._header = FORMAT + b"\0" + salt.encode() + b"\0" + sys.version.encode() + b"\0"
        self._loaded: tuple[dict[str, Any], int] | None = None

    def _load(self) -> tuple[dict[str, Any], int]:
        # The memo's content and the second it was written in.
        if self._loaded is None:
            self._loaded = self._read()
        return self._loaded

    def _read(self) -> tuple[dict[str, Any], int]:
        try:
            with open(self.path, "rb") as fh:
                written = os.fstat(fh.fileno()).st_mtime_ns // 1_000_000_000
                raw = fh.read()
        except OSError:
            return {}, 0
        memo = unseal(self._header, raw)
        return (memo, written) if isinstance(memo, dict) else ({}, 0)

    def listing(self, source: DirectorySource) -> Listing | None:
        """The files `source.read` would read, with the digests the last memo vouches for; None
        when the directory holds anything the reader refuses or reports."""
        memo, written = self._load()
        files = memo.get("files")
        known: dict[str, Any] = files if isinstance(files, dict) else {}
        irregular: list[str] = []
        signatures: dict[str, Signature] = {}
        digests: dict[str, bytes | None] = {}
        for full, rel in source.walk(irregular.append):
            try:
                info = os.lstat(full)
            except OSError:
                return None
            if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_FILE_BYTES:
                return None
            signature = signatures[rel] = _signature(info)
            entry: Any = known.get(rel)
            trusted = isinstance(entry, tuple) and len(entry) == 2 and entry[0] == signature \
                and info.st_mtime_ns // 1_000_000_000 < written
            digests[rel] = entry[1] if trusted else None
        return None if irregular else Listing(signatures, digests)

    @staticmethod
    def key(salt: str, display_root: str, version: VersionInfo, digests: dict[str, bytes]) -> bytes:
        """What the snapshot of these files at `version` depends on."""
        parts = [salt.encode(), display_root.encode(), repr(version.to_snapshot()).encode()]
        for rel in sorted(digests):
            parts += [rel.encode(), digests[rel]]
        return digest(*parts)

    def get(self, key: bytes) -> Snapshot | None:
        """The snapshot memoised under `key`, with its warnings, or None."""
        memo, _ = self._load()
        return self._snapshot(memo) if memo.get("key") == key else None

    def previous(self) -> tuple[Snapshot, dict[str, bytes]] | None:
        """The last compile's snapshot whatever it was keyed by, and the content digest of each
        file it was compiled from: what the next compile may derive its own from."""
        memo, _ = self._load()
        snapshot = self._snapshot(memo)
        files = memo.get("files")
        if snapshot is None or not isinstance(files, dict):
            return None
        digests: dict[str, bytes] = {}
        for rel, entry in files.items():
            if not (isinstance(rel, str) and isinstance(entry, tuple) and len(entry) == 2
                    and isinstance(entry[1], bytes)):
                return None
            digests[rel] = entry[1]
        return snapshot, digests

    @staticmethod
    def _snapshot(memo: dict[str, Any]) -> Snapshot | None:
        raw, document = memo.get("snapshot"), memo.get("document")
        if not isinstance(raw, bytes) or not isinstance(document, dict):
            return None
        # The document as the compile built it (its keys in the tree's order, as a fresh compile
        # gives them to `show`), held to the bytes it was built with.
        claimed = document.get("$digest")
        if not isinstance(claimed, str) or not raw.startswith(b'{"$digest":"' + claimed.encode() + b'"') \
                or hashlib.sha256(raw).digest() != memo.get("raw_sha256"):
            return None
        try:
            warnings = [Diagnostic(d[0], d[1], d[2], d[3], d[4], Severity(d[5])) for d in memo["warnings"]]
        except (ValueError, TypeError, KeyError, IndexError):
            return None
        spans = memo.get("spans")
        models = document.get("models")
        kept: array[int] | None = None
        if isinstance(spans, bytes) and isinstance(models, dict) and len(spans) == 16 * len(models):
            kept = array("q")
            kept.frombytes(spans)
        return Snapshot(document, raw, claimed, warnings, kept)

    def put(self, key: bytes, snapshot: Snapshot, listing: Listing, digests: dict[str, bytes]) -> None:
        """Keep `snapshot` under `key`, with the stat signature of each file and the digest of the
        content it was compiled from."""
        records = {rel: (signature, digests[rel]) for rel, signature in listing.signatures.items() if rel in digests}
        warnings = [(d.file, d.line, d.column, d.code, d.message, d.severity.value) for d in snapshot.warnings]
        memo = {"key": key, "snapshot": snapshot.raw, "raw_sha256": hashlib.sha256(snapshot.raw).digest(),
                "document": snapshot.document, "warnings": warnings, "files": records,
                "spans": snapshot.spans.tobytes() if snapshot.spans is not None else None}
        with contextlib.suppress(OSError, ValueError):  # ValueError: a value marshal cannot hold
            sealed = seal(self._header, memo)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(self.path, sealed)
