"""Fetching a snapshot over HTTP from a server that may be slow, broken or hostile.

One GET has a total deadline (a timer closes the connection when it passes, however the server
drips its headers or body), a size cap checked against the declared length and again while the
body streams, and conditional requests by ETag and Last-Modified. The body streams into an
unnamed temporary file while it is hashed, so the process holds one copy of the snapshot, once it
has all arrived. Every failure is a SnapshotError that names the URL and, for an HTTP error, the
status. Standard library only.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass

from modelreg.errors import SnapshotError
from modelreg.snapshot_format import BodyHasher

DEFAULT_FETCH_TIMEOUT = 30.0
# Above a 100,000-model snapshot (about 90 MB).
DEFAULT_MAX_BYTES = 128 * 1024 * 1024
_CHUNK = 1 << 16


@dataclass(frozen=True)
class Fetched:
    """What one GET brought: the body (None when the server says it has not changed), the digest
    of its body as `snapshot_format.decode` checks it, and the validators for the next request."""

    raw: bytes | None
    body_digest: str | None
    etag: str | None
    last_modified: str | None


def is_url(source: object) -> bool:
    """True for an http:// or https:// source."""
    return isinstance(source, str) and source.startswith(("http://", "https://"))


def fetch_snapshot(url: str, *, etag: str | None = None, last_modified: str | None = None,
                   timeout: float = DEFAULT_FETCH_TIMEOUT, max_bytes: int = DEFAULT_MAX_BYTES) -> Fetched:
    """GET a snapshot, conditionally when `etag` or `last_modified` are given (then `raw` is None
    when the server answers 304 Not Modified).

    `timeout` bounds the whole request, from connecting to the last byte; `max_bytes` bounds the
    body. TLS certificates are verified. SnapshotError for anything but a whole body in time.
    """
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SnapshotError(f"{url}: not an http(s) URL")
    if parts.scheme == "https":
        connection: http.client.HTTPConnection = http.client.HTTPSConnection(
            parts.hostname, parts.port, timeout=timeout, context=ssl.create_default_context())
    else:
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    headers = {"Accept": "application/json", "User-Agent": "modelreg-runtime"}
    if etag is not None:
        headers["If-None-Match"] = etag
    if last_modified is not None:
        headers["If-Modified-Since"] = last_modified
    expired = threading.Event()
    timer = threading.Timer(timeout, _cut, (connection, expired))
    timer.daemon = True
    timer.start()
    started = time.monotonic()
    try:
        fetched = _get(connection, url, parts, headers, etag, last_modified, max_bytes)
    except (OSError, http.client.HTTPException, SnapshotError) as exc:
        if expired.is_set():  # whatever the cut connection looked like, it was the deadline
            raise SnapshotError(f"{url}: no whole snapshot within {timeout:g} s "
                                f"({time.monotonic() - started:.1f} s spent)") from None
        if isinstance(exc, SnapshotError):
            raise
        if isinstance(exc, http.client.HTTPException):  # a garbled response, a chunk cut short
            raise SnapshotError(f"{url}: the snapshot was not received whole: {exc!r}") from None
        raise SnapshotError(f"{url}: cannot fetch the snapshot: {exc}") from None
    finally:
        timer.cancel()
        connection.close()
    if expired.is_set():  # the timer fired as the last byte came: take no chances with it
        raise SnapshotError(f"{url}: no whole snapshot within {timeout:g} s")
    return fetched


def _get(connection: http.client.HTTPConnection, url: str, parts: urllib.parse.SplitResult,
         headers: dict[str, str], etag: str | None, last_modified: str | None, max_bytes: int) -> Fetched:
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    connection.request("GET", target, headers=headers)
    # Closed here, whatever happens: a response that ends its connection holds the socket open
    # past `connection.close()`.
    with connection.getresponse() as response:
        return _read(response, url, etag, last_modified, max_bytes)


def _read(response: http.client.HTTPResponse, url: str, etag: str | None, last_modified: str | None,
          max_bytes: int) -> Fetched:
    if response.status == 304:
        return Fetched(None, None, response.getheader("ETag") or etag,
                       response.getheader("Last-Modified") or last_modified)
    if response.status != 200:
        raise SnapshotError(f"{url}: the server answered {response.status} {response.reason}".rstrip())
    declared = response.getheader("Content-Length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise SnapshotError(f"{url}: the snapshot is {int(declared):,} bytes, over the limit of {max_bytes:,}")
    hasher = BodyHasher()
    size = 0
    with tempfile.TemporaryFile() as spool:
        while chunk := response.read(_CHUNK):
            size += len(chunk)
            if size > max_bytes:
                raise SnapshotError(f"{url}: the snapshot is over the limit of {max_bytes:,} bytes")
            hasher.update(chunk)
            spool.write(chunk)
        if declared is not None and declared.isdigit() and size < int(declared):
            # The connection closed before the declared length: what arrived is not the snapshot.
            raise SnapshotError(f"{url}: the snapshot was not received whole: "
                                f"IncompleteRead({size} bytes read, {int(declared) - size} more expected)")
        spool.seek(0)
        raw = spool.read()
    return Fetched(raw, hasher.hexdigest(), response.getheader("ETag"), response.getheader("Last-Modified"))


def _cut(connection: http.client.HTTPConnection, expired: threading.Event) -> None:
    # The deadline passed: whatever read is waiting on the socket returns at once.
    expired.set()
    sock = connection.sock
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
