"""The snapshot files a compile of a catalog directory wrote, by their stat signature, so that a
compile with nothing changed need not read an output file to know it still holds the snapshot.

An output is taken to hold the snapshot of a digest only when its size, mtime, ctime, inode and
device are as they were recorded, and it was modified before the second the ledger was written
(git's racy-timestamp rule); else it is read. The ledger is sealed like the other caches: one that
is truncated, foreign or garbled is empty.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

from modelreg.atomic_files import write_atomic
from modelreg.check.outcome_cache import seal, unseal

FORMAT = b"modelreg-outputs 1"
# Outputs remembered per catalog directory, the most recently written kept.
KEEP = 16


class OutputLedger:
    """The ledger file `path`, for a compiler identified by `salt`."""

    def __init__(self, path: Path, salt: str) -> None:
        self.path = path
        self._header = FORMAT + b"\0" + salt.encode() + b"\0" + sys.version.encode() + b"\0"

    def _read(self) -> tuple[dict[str, tuple[tuple[int, ...], str]], int]:
        # The entries by real path, and the second the ledger was written in.
        try:
            with open(self.path, "rb") as fh:
                written = os.fstat(fh.fileno()).st_mtime_ns // 1_000_000_000
                entries = unseal(self._header, fh.read())
        except OSError:
            return {}, 0
        return (entries, written) if isinstance(entries, dict) else ({}, 0)

    def holds(self, output: str | os.PathLike[str], digest: str) -> bool:
        """Whether the file `output` is known, by its stat alone, to hold the snapshot `digest`."""
        entries, written = self._read()
        entry = entries.get(os.path.realpath(output))
        signature = _signature(output)
        return signature is not None and entry == (signature, digest) and signature[1] < written * 1_000_000_000

    def record(self, output: str | os.PathLike[str], digest: str, file: tuple[int, int]) -> None:
        """Note that `output` holds the snapshot `digest`: the file `file` (inode, device) that
        this process wrote or read there, should it still be the one there (best effort: a ledger
        that cannot be written only means the output is read next time)."""
        signature = _signature(output)
        if signature is None or signature[3:] != file:  # another writer's since
            return
        entries, _ = self._read()
        real = os.path.realpath(output)
        entries.pop(real, None)
        entries[real] = (signature, digest)
        kept = dict(list(entries.items())[-KEEP:])
        with contextlib.suppress(OSError, ValueError):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(self.path, seal(self._header, kept), durable=False)


def _signature(path: str | os.PathLike[str]) -> tuple[int, ...] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino, info.st_dev)
