"""Outcomes of checking model files, kept between runs so that a compile after a small change
checks only what changed.

An outcome (what `ModelContext.check` gives for one file) depends on the file's bytes and path,
on how paths are shown, on the capability tree and the set of usable providers (the `context`
digest of a key), on the compiler itself (the `salt`), and, for a model that resolves, on its
provider's file: an entry records which provider it read and that file's digest, and is taken
only while that digest still holds. A `provider.yaml` change re-resolves that provider's models
alone.

Everything lives in one file, read once and written once per run (atomically), framed by a
marker with the format and the salt and sealed by a digest of its body: a truncated, garbled,
foreign or half-written file reads as empty, and an entry that does not name the file and
content it is filed under is ignored. The cache is only ever slower than no cache, never wrong.
"""

from __future__ import annotations

import contextlib
import hashlib
import marshal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from modelreg.atomic_files import write_atomic

FORMAT = b"modelreg-outcomes 2"
# Enough for several large catalogs (or revisions of one) side by side; past it, the entries
# used least recently go first.
MAX_ENTRIES = 200_000
# An outcome is (state, payload, diagnostics); see `modelreg.check.file_check`.
_STATES = frozenset({0, 1, 2, 3})
NO_DEPENDENCY = b"-"
# How many bytes a `digest` is.
DIGEST_SIZE = 20


def digest(*parts: bytes) -> bytes:
    """A digest of `parts`, each length-prefixed so that no two sequences collide (one part alone,
    a file's content, is digested as it is)."""
    if len(parts) == 1:
        return hashlib.blake2b(parts[0], digest_size=DIGEST_SIZE).digest()
    h = hashlib.blake2b(digest_size=DIGEST_SIZE)
    for part in parts:
        h.update(len(part).to_bytes(8, "little"))
        h.update(part)
    return h.digest()


def seal(header: bytes, value: Any) -> bytes:
    """`value` (plain data) as a cache file: `header`, a digest of the body, the body."""
    body = marshal.dumps(value)
    return header + hashlib.sha256(body).digest() + body


def unseal(header: bytes, raw: bytes) -> Any:
    """What `seal(header, ...)` sealed in `raw`; None for anything else (another header, a body
    that is cut short or garbled)."""
    start = len(header) + 32
    body = raw[start:]
    if not raw.startswith(header) or len(raw) < start or hashlib.sha256(body).digest() != raw[len(header):start]:
        return None
    try:
        return marshal.loads(body)
    except (EOFError, ValueError, TypeError):
        return None


class OutcomeCache:
    """The outcomes stored in one file, `path`, for a compiler identified by `salt`."""

    def __init__(self, path: Path, salt: str, *, max_entries: int | None = None) -> None:
        self.path = path
        self.max_entries = MAX_ENTRIES if max_entries is None else max_entries
        # Python's version too: marshal's format is only promised within one.
        self._header = FORMAT + b"\0" + salt.encode() + b"\0" + sys.version.encode() + b"\0"
        self._entries: dict[bytes, Any] | None = None
        self._used: dict[bytes, Any] = {}
        self._added = False
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        """How many entries the file holds (as this run last read or wrote it)."""
        return len(self._load())

    def _load(self) -> dict[bytes, Any]:
        if self._entries is None:
            self._entries = self._read()
        return self._entries

    def _read(self) -> dict[bytes, Any]:
        try:
            raw = self.path.read_bytes()
        except OSError:
            return {}
        entries = unseal(self._header, raw)
        return entries if isinstance(entries, dict) else {}

    def get(self, key: bytes, rel: str, content: bytes, dependency: Callable[[str | None], bytes]) -> Any:
        """The outcome filed under `key` for the file `rel` with content digest `content`, or
        None. `dependency(provider)` is the digest of what the entry's provider is now."""
        entry: Any = self._load().get(key)
        if not _well_formed(entry) or entry[0] != rel or entry[1] != content or dependency(entry[2]) != entry[3]:
            self.misses += 1
            return None
        self.hits += 1
        self._used[key] = entry
        return entry[4]

    def put(self, key: bytes, rel: str, content: bytes, provider: str | None, dependency: bytes,
            outcome: tuple[int, Any, list[tuple[Any, ...]]]) -> None:
        """File `outcome` under `key`: the file `rel` with content digest `content`, resolved
        (when `provider` is not None) with a provider whose digest is `dependency`."""
        self._used[key] = (rel, content, provider, dependency, outcome)
        self._added = True

    def save(self) -> None:
        """Write what this run used and added, with older entries up to the bound. Nothing is
        written when nothing was added; a cache that cannot be written is no cache."""
        if not self._added:
            return
        entries = {k: v for k, v in self._load().items() if k not in self._used}
        entries.update(self._used)  # the most recently used last
        excess = len(entries) - self.max_entries
        if excess > 0:
            for key in list(entries)[:excess]:
                del entries[key]
        with contextlib.suppress(OSError):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(self.path, seal(self._header, entries), durable=False)
        self._entries = entries
        self._used = {}
        self._added = False


def _well_formed(entry: Any) -> bool:
    if not (isinstance(entry, tuple) and len(entry) == 5):
        return False
    outcome = entry[4]
    if not (isinstance(outcome, tuple) and len(outcome) == 3 and outcome[0] in _STATES):
        return False
    state, payload, found = outcome
    if (state == 3 and not isinstance(payload, tuple)) or (state == 2 and not isinstance(payload, dict)):
        return False
    return isinstance(found, list) and all(isinstance(d, tuple) and len(d) == 6 for d in found)
