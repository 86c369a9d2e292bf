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
import threading
from collections.abc import Callable
from typing import Any

from .errors import SnapshotError

FORMAT_NAME = "modelreg-registry"
FORMAT_MAJOR = 1
FORMAT_MINOR = 0

_PREFIX = b'{"$digest":"sha256:'
_HEX_LEN = 64
# The digest field is `{"$digest":"sha256:<64 hex>",`; the body resumes after it.
_BODY_START = len(_PREFIX) + _HEX_LEN + 2
# Below this many body bytes, starting a thread to hash them costs more than it saves.
_HASH_IN_THREAD_FROM = 1 << 20


def canonical_json(data: Any) -> bytes:
    """Canonical JSON bytes: sorted keys, compact separators, UTF-8."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


# Where a byte of the canonical body sits in the file: the digest field goes in after its `{`.
BODY_SHIFT = _BODY_START - 1


def encode(document: dict[str, Any]) -> tuple[bytes, str]:
    """The file bytes and digest for a snapshot document (given without `$digest`)."""
    if "$digest" in document:
        raise ValueError("the document must not carry `$digest` yet")
    return seal_body(canonical_json(document))


def seal_body(body: bytes) -> tuple[bytes, str]:
    """The file bytes and digest of a document given as its canonical bytes (without `$digest`):
    the digest field goes in first, so a byte at `i` of `body` is at `i + BODY_SHIFT` in the file."""
    return seal_parts([body])


def seal_parts(parts: list[bytes]) -> tuple[bytes, str]:
    """`seal_body` of the body that is `parts` put together (the first starting with its `{`),
    hashed part by part and copied once, into the file's bytes."""
    hasher = hashlib.sha256()
    for part in parts:
        hasher.update(part)
    digest = hasher.hexdigest()
    return b"".join([_PREFIX, digest.encode("ascii"), b'",', memoryview(parts[0])[1:], *parts[1:]]), "sha256:" + digest


def claimed_digest(raw: bytes) -> str | None:
    """The digest (`sha256:<hex>`) that `raw` says it is sealed with, not checked; None for bytes
    that do not start as a sealed snapshot does."""
    if not raw.startswith(_PREFIX) or raw[_BODY_START - 2:_BODY_START] != b'",':
        return None
    return "sha256:" + raw[len(_PREFIX):len(_PREFIX) + _HEX_LEN].decode("ascii", "replace")


def verify_digest(raw: bytes, digest: str) -> Callable[[], bool]:
    """Start checking that `raw` is a snapshot sealed to `digest` (`sha256:<hex>`); the returned
    function waits for the answer. A large body is hashed by a second thread meanwhile (see
    `_body_digest`)."""
    if not raw.startswith(_PREFIX) or raw[_BODY_START - 2:_BODY_START] != b'",' \
            or raw[len(_PREFIX):_BODY_START - 2].decode("ascii", "replace") != digest.removeprefix("sha256:"):
        return lambda: False
    hexdigest = _body_digest(raw)
    return lambda: hexdigest() == digest.removeprefix("sha256:")


def decode(raw: bytes, *, source: str = "snapshot", body_digest: str | None = None) -> dict[str, Any]:
    """Verify and parse snapshot bytes; raises SnapshotError naming what is wrong.

    A good file is parsed once, while a second thread hashes it (see `_body_digest`), unless its
    body was hashed already as it arrived (`body_digest`, from a `BodyHasher`). A file that
    fails its seal (canonical prefix and digest) is refused, and why is said in this order: a
    newer major version (which may seal itself differently) first, then bytes that are not even
    JSON, and only then the broken seal.
    """
    if not raw.startswith(_PREFIX) or raw[_BODY_START - 2:_BODY_START] != b'",':
        check_format(_parse(raw, source), source=source)
        raise SnapshotError(f"{source}: not in canonical form; the file must start with its `$digest` field",
                            "not-canonical")
    digest = _body_digest(raw) if body_digest is None else (lambda: body_digest)
    document = _parse(raw, source)
    check_format(document, source=source)
    expected = raw[len(_PREFIX):len(_PREFIX) + _HEX_LEN].decode("ascii", "replace")
    actual = digest()
    if actual != expected:
        raise SnapshotError(f"{source}: digest mismatch (the file says sha256:{expected[:12]}…, its content "
                            f"hashes to sha256:{actual[:12]}…); it was modified or truncated", "digest-mismatch")
    return document


def sealed_digest(raw: bytes) -> str | None:
    """The digest (`sha256:<hex>`) that `raw` is sealed with, when its bytes hold to it (without
    parsing them); None for bytes that are not a sealed snapshot or fail their seal."""
    if not raw.startswith(_PREFIX) or raw[_BODY_START - 2:_BODY_START] != b'",':
        return None
    expected = raw[len(_PREFIX):len(_PREFIX) + _HEX_LEN].decode("ascii", "replace")
    return "sha256:" + expected if _sha256_hex(memoryview(raw)[_BODY_START:]) == expected else None


def _body_digest(raw: bytes) -> Callable[[], str]:
    """Start hashing the body of sealed bytes; the returned function waits for the hex digest.

    hashlib lets go of the GIL while it hashes a large buffer, so for a large file a second
    thread hashes while this one parses. The thread says when it is about to hash, and the caller
    waits for that: `json.loads` keeps the GIL for its whole run, so a thread that had not yet
    reached hashlib would only start once the parse is over.
    """
    body = memoryview(raw)[_BODY_START:]  # no copy of a many-megabyte body
    if len(body) < _HASH_IN_THREAD_FROM:
        digest = _sha256_hex(body)
        return lambda: digest
    result: list[str] = []
    hashing = threading.Event()

    def run() -> None:
        hashing.set()
        result.append(_sha256_hex(body))

    thread = threading.Thread(target=run, name="snapshot-digest", daemon=True)
    try:
        thread.start()
    except RuntimeError:  # no thread to be had (at interpreter shutdown, say): hash here
        digest = _sha256_hex(body)
        return lambda: digest
    hashing.wait()

    def wait() -> str:
        thread.join()
        # Should the thread have failed (out of memory), hash here rather than fail the load.
        return result[0] if result else _sha256_hex(body)

    return wait


class BodyHasher:
    """Hashes a snapshot's bytes as they arrive, chunk by chunk, the way `decode` checks them (the
    sha256 of everything after the `$digest` field), so nobody holds a second copy to hash."""

    def __init__(self) -> None:
        self._hasher = hashlib.sha256(b"{")
        self._skip = _BODY_START

    def update(self, chunk: bytes) -> None:
        if self._skip:
            cut = min(self._skip, len(chunk))
            self._skip -= cut
            chunk = chunk[cut:]
        self._hasher.update(chunk)

    def hexdigest(self) -> str:
        return self._hasher.hexdigest()


def _sha256_hex(body: memoryview) -> str:
    hasher = hashlib.sha256(b"{")
    hasher.update(body)
    return hasher.hexdigest()


def _parse(raw: bytes, source: str) -> dict[str, Any]:
    try:
        document = json.loads(raw)
    except RecursionError:
        raise SnapshotError(f"{source}: not a JSON snapshot (truncated or corrupt?): nested too deeply",
                            "not-json") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise SnapshotError(f"{source}: not a JSON snapshot (truncated or corrupt?): {exc}", "not-json") from None
    if not isinstance(document, dict):
        raise SnapshotError(f"{source}: not a snapshot: the top level is not an object", "not-snapshot")
    return document


def check_format(document: dict[str, Any], *, source: str = "snapshot") -> None:
    """Refuse a document whose format marker is missing or of a major version we do not know."""
    marker = document.get("format")
    if not isinstance(marker, dict) or marker.get("name") != FORMAT_NAME:
        raise SnapshotError(f"{source}: not a modelreg snapshot (no `format` marker `{FORMAT_NAME}`)", "not-snapshot")
    major = marker.get("major")
    # `type` rather than `==`: JSON's true and 1.0 are not the integer 1.
    if type(major) is not int or major != FORMAT_MAJOR:
        raise SnapshotError(f"{source}: snapshot format major version {major!r} is not supported; this "
                            f"version of modelreg reads major version {FORMAT_MAJOR}", "unsupported-major")
