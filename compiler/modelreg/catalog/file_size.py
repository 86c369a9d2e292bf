"""The cap on a catalog file's size, and the refusal of a file over it: checked before a file is
read (its size is known from a stat or git's listing) and again by the YAML loader."""

from __future__ import annotations

from modelreg.diagnostics import Diagnostic

MAX_FILE_BYTES = 1024 * 1024


def too_large(file: str, size: int) -> Diagnostic:
    """The refusal of a file over MAX_FILE_BYTES, wherever its size is found out."""
    return Diagnostic(file, 1, 1, "file-too-large", f"file is {size:,} bytes; the limit is {MAX_FILE_BYTES:,} bytes")
