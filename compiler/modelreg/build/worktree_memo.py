"""The last compile of a catalog directory, kept whole, so that a compile of files that have not
changed gives the same snapshot without checking or building anything.

The key is the compiler's fingerprint, how paths are shown, the version (commit and dirty flag,
which fix the registration dates too) and every file's path and content digest. A file's digest is
taken from its last stat when its size, mtime, ctime, inode and device are as they were and it was
modified before the second the memo was written (git's racy-timestamp rule: a file changed within
that second may have changed again unseen); any other file is read. A catalog with anything the
directory reader refuses (a symlink, an oversized or irregular file) is always read.

An entry holds what the snapshot says of itself (digest, counts, version), its warnings and its
index (`modelreg.build.snapshot_index`, loaded only when a derivation asks for it); the
snapshot's bytes lie in a file of their own beside it, which a compile with nothing changed reads
without parsing. An entry of a `validate` holds the index and the warnings alone. The memo is
sealed like the outcome cache: one that is truncated, foreign or garbled is no memo; the bytes
beside it are taken only when they seal themselves to the digest the memo names.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import stat
import struct
import sys
from collections.abc import Callable, Collection
from dataclasses import dataclass
from functools import cache, partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeGuard

from modelreg import snapshot_format
from modelreg.atomic_files import write_atomic
from modelreg.build.output_ledger import OutputLedger
from modelreg.build.snapshot_index import SnapshotIndex
from modelreg.build.version import VersionInfo
from modelreg.catalog.directory import DirectorySource
from modelreg.catalog.file_size import MAX_FILE_BYTES
from modelreg.catalog.files import CatalogFiles
from modelreg.check.outcome_cache import DIGEST_SIZE, digest, seal, unseal
from modelreg.diagnostics import Diagnostic, Severity
from modelreg.errors import StateError

if TYPE_CHECKING:
    from modelreg.build.snapshot import Snapshot

FORMAT = b"modelreg-worktree 5"
# A file's stat signature (size, mtime, ctime, inode, device), packed: the memo keeps ten thousand
# of them as one string of bytes, which loads at once.
_SIGNATURE = struct.Struct("<5q")


@dataclass
class Listing:
    """A directory's catalog files by path with their stat signatures, and the digests known
    without reading (None where the file must be read)."""

    signatures: dict[str, bytes]
    digests: dict[str, bytes | None]


class WorktreeMemo:
    """The memo file `path` of one catalog directory, for a compiler identified by `salt`; the
    snapshot's bytes lie beside it (`snapshot_path`)."""

    def __init__(self, path: Path, salt: str) -> None:
        self.path = path
        self.snapshot_path = path.with_suffix(".snapshot")
        self.outputs = OutputLedger(path.with_suffix(".outputs"), salt)
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

    @property
    def empty(self) -> bool:
        """Whether the memo holds no entry (none yet, or one it cannot trust): then nothing can be
        taken from it, and a compile had best read every file once, straight away."""
        return "key" not in self._load()[0]

    def listing(self, source: DirectorySource) -> Listing | None:
        """The files `source.read` would read, with the digests the last memo vouches for; None
        when the directory holds anything the reader refuses or reports."""
        memo, written = self._load()
        names, known, known_digests = _files(memo) or ([], b"", b"")
        at = {name: i for i, name in enumerate(names)}
        irregular: list[str] = []
        signatures: dict[str, bytes] = {}
        digests: dict[str, bytes | None] = {}
        before = written * 1_000_000_000  # modified before the second the memo was written in
        # Looked up once, not per file: this loop is a no-op compile.
        is_regular, pack, width, size = stat.S_ISREG, _SIGNATURE.pack, _SIGNATURE.size, DIGEST_SIZE
        for found, rel in source.scan(irregular.append):
            try:
                info = found.stat(follow_symlinks=False)
            except OSError:
                return None
            if not is_regular(info.st_mode) or info.st_size > MAX_FILE_BYTES:
                return None
            signature = signatures[rel] = pack(info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino,
                                               info.st_dev)
            i = at.get(rel)
            trusted = i is not None and known[width * i:width * (i + 1)] == signature and info.st_mtime_ns < before
            digests[rel] = known_digests[size * i:size * (i + 1)] if trusted and i is not None else None
        return None if irregular else Listing(signatures, digests)

    @staticmethod
    def key(salt: str, display_root: str, version: VersionInfo, digests: dict[str, bytes]) -> bytes:
        """What the snapshot of these files at `version` depends on."""
        files = marshal.dumps(sorted(digests.items()))
        return digest(salt.encode(), display_root.encode(), repr(version.to_snapshot()).encode(), files)

    def get(self, key: bytes, rebuild: Callable[[], bytes]) -> Snapshot | None:
        """The snapshot memoised under `key`, with its warnings, or None. Its bytes are read when
        first needed (a file that holds them already is not written again, so they may never
        be); should the memo's copy not seal to its digest then, `rebuild` gives them."""
        memo, _ = self._load()
        return self._snapshot(memo, rebuild) if memo.get("key") == key else None

    def previous(self) -> tuple[Snapshot, dict[str, bytes], Callable[[], bool]] | None:
        """The last compile's snapshot whatever it was keyed by (with its index), the content
        digest of each file it was compiled from, and what says whether its bytes hold to their
        seal: what the next compile may derive its own from. The bytes are checked meanwhile;
        nothing derived from them may be used before the answer is True."""
        memo, _ = self._load()
        try:
            raw = self.snapshot_path.read_bytes()
        except OSError:
            return None
        snapshot = self._snapshot(memo, raw)
        digests = _digests(memo)
        if snapshot is None or digests is None or snapshot.index is None:
            return None
        return snapshot, digests, snapshot_format.verify_digest(raw, snapshot.digest)

    def last_version(self) -> dict[str, Any] | None:
        """The version of the last compile's snapshot, or None."""
        facts = self._load()[0].get("facts")
        return facts[3] if _is_facts(facts) else None

    def checked(self, key: bytes) -> list[Diagnostic] | None:
        """The warnings of the catalog memoised under `key` (compiled or only checked), or None."""
        memo, _ = self._load()
        return _warnings(memo) if memo.get("key") == key else None

    def previous_check(self) -> tuple[SnapshotIndex, list[Diagnostic], dict[str, bytes]] | None:
        """The last entry's index and warnings whatever it was keyed by, and the digests of its
        files: what a check of the catalog now may derive its verdict from. The index is for
        that alone: an entry of a check holds no dates."""
        memo, _ = self._load()
        warnings, digests, index = _warnings(memo), _digests(memo), _index(memo)
        if index is None or warnings is None or digests is None:
            return None
        return index, warnings, digests

    def _snapshot(self, memo: dict[str, Any], raw: Callable[[], bytes] | bytes) -> Snapshot | None:
        # `raw`: the bytes as read, not yet checked; or what rebuilds them, should the copy beside
        # the memo not seal to its digest when they are first needed.
        facts, warnings = memo.get("facts"), _warnings(memo)
        if not _is_facts(facts) or warnings is None:
            return None
        digest_of, count, summary, version, size = facts

        def read_or_rebuild(rebuild: Callable[[], bytes]) -> bytes:
            with contextlib.suppress(OSError):
                kept = self.snapshot_path.read_bytes()
                # The bytes lie apart from the sealed memo: they must seal themselves, to its digest.
                if snapshot_format.sealed_digest(kept) == digest_of:
                    return kept
            rebuilt = rebuild()
            if snapshot_format.sealed_digest(rebuilt) != digest_of:
                raise StateError("the catalog changed while it was being compiled; compile again")
            with contextlib.suppress(OSError):  # the next derivation has its base again
                write_atomic(self.snapshot_path, rebuilt, durable=False)
            return rebuilt
        bytes_of = raw if isinstance(raw, bytes) else partial(read_or_rebuild, raw)
        index = cache(lambda: _index(memo))  # once, for the document and for a derivation

        def document() -> dict[str, Any]:
            known = index()
            if known is None:  # sealed with the facts, so only a memo read in part
                raise ValueError("the memo's snapshot index cannot be read")
            return known.document(snapshot.raw, source=str(self.snapshot_path))
        from modelreg.build.snapshot import LazySnapshot  # here: a `validate` has no snapshot to load

        snapshot = LazySnapshot(document, bytes_of, digest_of, warnings, count=count, summary=summary, version=version,
                            index=index, size=size)
        return snapshot

    def put(self, key: bytes, snapshot: Snapshot, listing: Listing, digests: dict[str, bytes]) -> None:
        """Keep `snapshot` (one with its index) under `key`, with the stat signature of each file
        and the digest of the content it was compiled from."""
        index = snapshot.index
        if index is None:
            return
        with contextlib.suppress(OSError):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # The bytes first: a memo never names bytes not yet written (and a race is caught by
            # the digest the bytes must seal to).
            # The stat of the file written, not of the name: another compile may have renamed its own over it.
            info = write_atomic(self.snapshot_path, snapshot.raw, durable=False)
            snapshot.copy = (self.snapshot_path, (info.st_ino, info.st_dev, info.st_size, info.st_mtime_ns))
            self._write(key, listing, digests, index, snapshot.warnings,
                        (snapshot.digest, snapshot.model_count(), snapshot.summary(), snapshot.version,
                         snapshot.size()))

    def put_check(self, key: bytes, index: SnapshotIndex, warnings: list[Diagnostic], listing: Listing,
                  digests: dict[str, bytes]) -> None:
        """Keep the verdict on a valid catalog, checked but not compiled: its warnings, and the
        index a later check derives from (see `previous_check`), without bytes."""
        self._write(key, listing, digests, index, warnings, None)

    def _write(self, key: bytes, listing: Listing, digests: dict[str, bytes], index: SnapshotIndex,
               warnings: list[Diagnostic], facts: tuple[str, int, str, dict[str, Any], int] | None) -> None:
        names = [rel for rel in listing.signatures if rel in digests]
        files = (names, b"".join(listing.signatures[rel] for rel in names), b"".join(digests[rel] for rel in names))
        # The index as marshal's bytes within the memo: loaded only when it is asked for.
        memo = {"key": key, "index": index.dumps(), "files": files, "facts": facts,
                "warnings": [(d.file, d.line, d.column, d.code, d.message, d.severity.value) for d in warnings]}
        with contextlib.suppress(OSError, ValueError):  # ValueError: a value marshal cannot hold
            sealed = seal(self._header, memo)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(self.path, sealed, durable=False)
        self._loaded = None


def read_files(source: DirectorySource, rels: Collection[str]) -> dict[str, bytes] | None:
    """The bytes of the files `rels` of `source`, read by its rules; None when any of them is
    refused (the full read says why)."""
    files = CatalogFiles(source.display_root)
    real_root = source.root.resolve()
    for rel in rels:
        DirectorySource.read_file(files, source.root / rel, rel, real_root)
    if files.diagnostics or len(files.contents) != len(rels):
        return None
    return files.contents


def listed_digests(source: DirectorySource, listing: Listing) -> dict[str, bytes] | None:
    """Every listed file's content digest: the memo's where it vouches for the file, else of the
    file read now. None when a file read now is refused (the full read says why)."""
    unread = [rel for rel, known in listing.digests.items() if known is None]
    fresh = read_files(source, unread)
    if fresh is None:
        return None
    return {rel: known if known is not None else digest(fresh[rel]) for rel, known in listing.digests.items()}


def _files(memo: dict[str, Any]) -> tuple[list[str], bytes, bytes] | None:
    # The entry's files: their paths, and their signatures and digests each as one string of
    # bytes, in the same order; None for a memo without them.
    files = memo.get("files")
    if isinstance(files, tuple) and len(files) == 3:
        names, signatures, digests = files
        if isinstance(names, list) and isinstance(signatures, bytes) and isinstance(digests, bytes) \
                and len(signatures) == _SIGNATURE.size * len(names) and len(digests) == DIGEST_SIZE * len(names):
            return names, signatures, digests
    return None


def _digests(memo: dict[str, Any]) -> dict[str, bytes] | None:
    # Each file's content digest, as the entry's files were listed.
    files = _files(memo)
    if files is None:
        return None
    names, _, digests = files
    return {name: digests[DIGEST_SIZE * i:DIGEST_SIZE * (i + 1)] for i, name in enumerate(names)}


def _warnings(memo: dict[str, Any]) -> list[Diagnostic] | None:
    try:
        return [Diagnostic(d[0], d[1], d[2], d[3], d[4], Severity(d[5])) for d in memo["warnings"]]
    except (ValueError, TypeError, KeyError, IndexError):
        return None


def _index(memo: dict[str, Any]) -> SnapshotIndex | None:
    # The entry's index, from the bytes it was kept as (sealed with the rest of the memo).
    kept = memo.get("index")
    return SnapshotIndex.loads(kept) if isinstance(kept, bytes) else None


def _is_facts(facts: Any) -> TypeGuard[tuple[str, int, str, dict[str, Any], int]]:
    return isinstance(facts, tuple) and len(facts) == 5 and isinstance(facts[0], str) \
        and isinstance(facts[1], int) and isinstance(facts[2], str) and isinstance(facts[3], dict) \
        and isinstance(facts[4], int)
