"""The last compile of a catalog directory, kept whole, so that a compile of files that have not
changed gives the same snapshot without checking or building anything.

The key is the compiler's fingerprint, how paths are shown, the version (commit and dirty flag,
which fix the registration dates too) and every file's path and content digest. A file's digest is
taken from its last stat when its size, mtime, ctime, inode and device are as they were and it was
modified before the second the memo was written (git's racy-timestamp rule: a file changed within
that second may have changed again unseen); any other file is read. A catalog with anything the
directory reader refuses (a symlink, an oversized or irregular file) is always read.

An entry holds the snapshot's bytes, its document (loaded only when asked for), its warnings and
where each record lies in the bytes (what a snapshot derived from it copies); an entry of a
`validate` holds the document and the warnings alone. The memo is one file, sealed like the
outcome cache: one that is truncated, foreign or garbled is no memo.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import stat
import sys
from array import array
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeGuard

from modelreg.atomic_files import write_atomic
from modelreg.build.snapshot import Snapshot
from modelreg.build.version import VersionInfo
from modelreg.catalog.directory import DirectorySource
from modelreg.catalog.files import CatalogFiles
from modelreg.catalog.yaml_loader import MAX_FILE_BYTES
from modelreg.check.outcome_cache import digest, seal, unseal
from modelreg.diagnostics import Diagnostic, Severity

FORMAT = b"modelreg-worktree 4"
Signature = tuple[int, int, int, int, int]


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

    @property
    def empty(self) -> bool:
        """Whether the memo holds no entry (none yet, or one it cannot trust): then nothing can be
        taken from it, and a compile had best read every file once, straight away."""
        return "key" not in self._load()[0]

    def listing(self, source: DirectorySource) -> Listing | None:
        """The files `source.read` would read, with the digests the last memo vouches for; None
        when the directory holds anything the reader refuses or reports."""
        memo, written = self._load()
        files = memo.get("files")
        known: dict[str, Any] = files if isinstance(files, dict) else {}
        irregular: list[str] = []
        signatures: dict[str, Signature] = {}
        digests: dict[str, bytes | None] = {}
        before = written * 1_000_000_000  # modified before the second the memo was written in
        lstat, is_regular = os.lstat, stat.S_ISREG  # once, not per file: this loop is a no-op compile
        for full, rel in source.walk(irregular.append):
            try:
                info = lstat(full)
            except OSError:
                return None
            if not is_regular(info.st_mode) or info.st_size > MAX_FILE_BYTES:
                return None
            signature = signatures[rel] = (info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino, info.st_dev)
            entry: Any = known.get(rel)
            trusted = type(entry) is tuple and len(entry) == 2 and entry[0] == signature and info.st_mtime_ns < before
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
        digests = _digests(memo)
        return (snapshot, digests) if snapshot is not None and digests is not None else None

    def checked(self, key: bytes) -> list[Diagnostic] | None:
        """The warnings of the catalog memoised under `key` (compiled or only checked), or None."""
        memo, _ = self._load()
        return _warnings(memo) if memo.get("key") == key else None

    def previous_check(self) -> tuple[dict[str, Any], list[Diagnostic], dict[str, bytes]] | None:
        """The last entry's document and warnings whatever it was keyed by, and the digests of its
        files: what a check of the catalog now may derive its verdict from. The document is for
        that alone: an entry without bytes may hold stale dates and version."""
        memo, _ = self._load()
        warnings, digests = _warnings(memo), _digests(memo)
        document = _document(memo) if warnings is not None and digests is not None else None
        if document is None or warnings is None or digests is None:
            return None
        return document, warnings, digests

    @staticmethod
    def _snapshot(memo: dict[str, Any]) -> Snapshot | None:
        raw, facts, warnings = memo.get("snapshot"), memo.get("facts"), _warnings(memo)
        # The bytes are sealed with the rest of the memo: no digest of their own to check.
        if not isinstance(raw, bytes) or not _is_facts(facts) or warnings is None:
            return None
        digest_of, count, summary = facts
        if not raw.startswith(b'{"$digest":"' + digest_of.encode() + b'"'):
            return None
        spans = memo.get("spans")
        kept: array[int] | None = None
        if isinstance(spans, bytes) and len(spans) == 16 * count:
            kept = array("q")
            kept.frombytes(spans)
        return _MemoSnapshot(lambda: _document(memo), raw, digest_of, warnings, kept, count, summary)

    def put(self, key: bytes, snapshot: Snapshot, listing: Listing, digests: dict[str, bytes]) -> None:
        """Keep `snapshot` under `key`, with the stat signature of each file and the digest of the
        content it was compiled from."""
        self._write(key, listing, digests, snapshot.document, snapshot.warnings,
                    {"snapshot": snapshot.raw,
                     "spans": snapshot.spans.tobytes() if snapshot.spans is not None else None,
                     "facts": (snapshot.digest, snapshot.model_count(), snapshot.summary())})

    def put_check(self, key: bytes, document: dict[str, Any], warnings: list[Diagnostic], listing: Listing,
                  digests: dict[str, bytes]) -> None:
        """Keep the verdict on a valid catalog, checked but not compiled: its warnings, and the
        document a later check derives from (see `previous_check`), without bytes."""
        self._write(key, listing, digests, document, warnings, {})

    def _write(self, key: bytes, listing: Listing, digests: dict[str, bytes], document: dict[str, Any],
               warnings: list[Diagnostic], sealed_bytes: dict[str, Any]) -> None:
        records = {rel: (signature, digests[rel]) for rel, signature in listing.signatures.items() if rel in digests}
        # The document as marshal's bytes within the memo: loaded only when it is asked for.
        memo = {"key": key, "document": marshal.dumps(document), "files": records, **sealed_bytes,
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


def _digests(memo: dict[str, Any]) -> dict[str, bytes] | None:
    # Each file's content digest, as the entry's files were listed.
    files = memo.get("files")
    if not isinstance(files, dict):
        return None
    digests: dict[str, bytes] = {}
    for rel, entry in files.items():
        if not (isinstance(rel, str) and isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[1], bytes)):
            return None
        digests[rel] = entry[1]
    return digests


def _warnings(memo: dict[str, Any]) -> list[Diagnostic] | None:
    try:
        return [Diagnostic(d[0], d[1], d[2], d[3], d[4], Severity(d[5])) for d in memo["warnings"]]
    except (ValueError, TypeError, KeyError, IndexError):
        return None


def _document(memo: dict[str, Any]) -> dict[str, Any] | None:
    # The entry's document, from the bytes it was kept as (sealed with the rest of the memo).
    kept = memo.get("document")
    try:
        document = marshal.loads(kept) if isinstance(kept, bytes) else None
    except (EOFError, ValueError, TypeError):
        return None
    return document if isinstance(document, dict) else None


def _is_facts(facts: Any) -> TypeGuard[tuple[str, int, str]]:
    return isinstance(facts, tuple) and len(facts) == 3 and isinstance(facts[0], str) \
        and isinstance(facts[1], int) and isinstance(facts[2], str)


class _MemoSnapshot(Snapshot):
    """A memoised snapshot whose document is loaded when first asked for: a compile that only
    writes the bytes again and says what they hold never loads it."""

    def __init__(self, load: Callable[[], dict[str, Any] | None], raw: bytes, digest: str,
                 warnings: list[Diagnostic], spans: array[int] | None, count: int, summary: str) -> None:
        self._load_document = load
        self._loaded_document: dict[str, Any] | None = None
        self._count = count
        self._summary = summary
        super().__init__({}, raw, digest, warnings, spans)

    @property  # type: ignore[override]
    def document(self) -> dict[str, Any]:
        if self._loaded_document is None:
            document = self._load_document()
            if document is None:  # sealed with the bytes, so only a memo read in part
                raise ValueError("the memo's snapshot document cannot be read")
            self._loaded_document = document
        return self._loaded_document

    @document.setter
    def document(self, value: dict[str, Any]) -> None:
        if value:
            self._loaded_document = value

    def model_count(self) -> int:
        return self._count

    def summary(self) -> str:
        return self._summary
