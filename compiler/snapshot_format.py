"""The snapshot's byte format, shared by the compiler (which writes it) and the runtime (which
reads it). Standard library only.

A snapshot file is canonical JSON: keys sorted, no insignificant whitespace, UTF-8. Its first key
is `$digest`, the sha256 of the same document serialised canonically without `$digest`. So the
reader checks the digest by hashing the file's bytes after the digest field, without
re-serialising anything.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from compiler.errors import SnapshotError

FORMAT_NAME = "modelreg-registry"
FORMAT_MAJOR = 1
FORMAT_MINOR = 0

_PREFIX = b'{"$digest":"sha256:'
_HEX_LEN = 64
# The digest field is `{"$digest":"sha256:<64 hex>",`; the body resumes after it.
_BODY_START = len(_PREFIX) + _HEX_LEN + 2


def canonical_json(data: Any) -> bytes:
    """Canonical JSON bytes: sorted keys, compact separators, UTF-8."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def encode(document: dict[str, Any]) -> tuple[bytes, str]:
    """The file bytes and digest for a snapshot document (given without `$digest`)."""
    if "$digest" in document:
        raise ValueError("the document must not carry `$digest` yet")
    body = canonical_json(document)
    digest = hashlib.sha256(body).hexdigest()
    return _PREFIX + digest.encode("ascii") + b'",' + body[1:], "sha256:" + digest


def decode(raw: bytes, *, source: str = "snapshot") -> dict[str, Any]:
    """Verify and parse snapshot bytes; raises SnapshotError naming what is wrong.

    The seal (canonical prefix and digest) is checked on the bytes before they are parsed, so a
    good file is parsed once. A file that fails it is parsed only to say why it is refused.
    """
    problem = _seal_problem(raw)
    if problem is not None:
        # Explain the refusal: a newer major version (which may seal itself differently) first,
        # then bytes that are not even JSON, and only then the broken seal.
        check_format(_parse(raw, source), source=source)
        raise SnapshotError(f"{source}: {problem}")
    document = _parse(raw, source)
    check_format(document, source=source)
    return document


def _seal_problem(raw: bytes) -> str | None:
    """Why `raw` is not a sealed snapshot (prefix, digest), or None when its digest holds."""
    if not raw.startswith(_PREFIX) or raw[_BODY_START - 2:_BODY_START] != b'",':
        return "not in canonical form; the file must start with its `$digest` field"
    expected = raw[len(_PREFIX):len(_PREFIX) + _HEX_LEN].decode("ascii", "replace")
    hasher = hashlib.sha256(b"{")
    hasher.update(memoryview(raw)[_BODY_START:])  # no copy of a many-megabyte body
    actual = hasher.hexdigest()
    if actual != expected:
        return (f"digest mismatch (the file says sha256:{expected[:12]}…, its content hashes to "
                f"sha256:{actual[:12]}…); it was modified or truncated")
    return None


def _parse(raw: bytes, source: str) -> dict[str, Any]:
    try:
        document = json.loads(raw)
    except RecursionError:
        raise SnapshotError(f"{source}: not a JSON snapshot (truncated or corrupt?): nested too deeply") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise SnapshotError(f"{source}: not a JSON snapshot (truncated or corrupt?): {exc}") from None
    if not isinstance(document, dict):
        raise SnapshotError(f"{source}: not a snapshot: the top level is not an object")
    return document


def check_format(document: dict[str, Any], *, source: str = "snapshot") -> None:
    """Refuse a document whose format marker is missing or of a major version we do not know."""
    marker = document.get("format")
    if not isinstance(marker, dict) or marker.get("name") != FORMAT_NAME:
        raise SnapshotError(f"{source}: not a modelreg snapshot (no `format` marker `{FORMAT_NAME}`)")
    major = marker.get("major")
    # `type` rather than `==`: JSON's true and 1.0 are not the integer 1.
    if type(major) is not int or major != FORMAT_MAJOR:
        raise SnapshotError(f"{source}: snapshot format major version {major!r} is not supported; this "
                            f"version of modelreg reads major version {FORMAT_MAJOR}")


def write_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Write a file so that readers see either the old content or the new, never a part."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), 0o644)  # mkstemp makes 0600; a snapshot is meant to be read
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
