"""Fetching a snapshot over HTTP from a server that may be slow, broken or hostile.

One fetch has a total deadline, across redirects: a timer shuts the connection down when it
passes, however the server drips its headers or body, and every step checks it too. The body is
capped (against the declared length, and again while it streams), and streams into an unnamed
temporary file while it is hashed, so the process holds one copy of the snapshot, once all of it
has arrived. Requests are conditional (ETag, Last-Modified), follow redirects (a few), and go
through the proxy the environment names (`HTTP(S)_PROXY`, `NO_PROXY`), as urllib's would. Every
failure is a SnapshotError that names the URL and, for an HTTP error, the status. Standard
library only.
"""

from __future__ import annotations

import email.utils
import http.client
import tempfile
import urllib.parse
from dataclasses import dataclass

from .bounded_http import Deadline, open_connection
from .errors import SnapshotError
from .snapshot_format import BodyHasher
from .snapshot_source import DEFAULT_FETCH_TIMEOUT, DEFAULT_MAX_BYTES

MAX_REDIRECTS = 5
_REDIRECTS = (301, 302, 303, 307, 308)
_CHUNK = 1 << 16


@dataclass(frozen=True)
class Fetched:
    """What one fetch brought: the body (None when the server says it has not changed), the digest
    of its body as `snapshot_format.decode` checks it, and the validators for the next request
    (a Last-Modified only when it can tell versions apart: see `_validator`)."""

    raw: bytes | None
    body_digest: str | None
    etag: str | None
    last_modified: str | None


def fetch_snapshot(url: str, *, etag: str | None = None, last_modified: str | None = None,
                   timeout: float = DEFAULT_FETCH_TIMEOUT, max_bytes: int = DEFAULT_MAX_BYTES) -> Fetched:
    """GET a snapshot, conditionally when `etag` or `last_modified` are given (then `raw` is None
    when the server answers 304 Not Modified).

    `timeout` bounds the whole fetch, from the first connect to the last byte of the last
    redirect; `max_bytes` bounds the body. TLS certificates are verified. SnapshotError for
    anything but a whole body in time.
    """
    deadline = Deadline(timeout)
    location = url
    try:
        for _ in range(MAX_REDIRECTS + 1):
            fetched, moved = _get_once(location, url, etag, last_modified, max_bytes, deadline)
            if moved is None:
                assert fetched is not None
                if deadline.expired.is_set():  # the timer fired as the last byte came: take no chances
                    raise OSError("the deadline passed")
                return fetched
            location = moved
        raise SnapshotError(f"{url}: more than {MAX_REDIRECTS} redirects", "fetch")
    except Exception as exc:
        # A connection cut by the deadline can fail in many ways (a reset, an empty read, an SSL
        # object gone, a body found short); whatever it looked like, it was the deadline. So is a
        # read that timed out: each one waits at most for what is left.
        if deadline.expired.is_set() or isinstance(exc, TimeoutError):
            raise SnapshotError(f"{url}: no whole snapshot within {deadline.seconds:g} s "
                                f"({deadline.spent():.1f} s spent)", "timeout") from None
        if isinstance(exc, SnapshotError):
            raise
        if isinstance(exc, http.client.HTTPException):  # a garbled response, a chunk cut short
            raise SnapshotError(f"{url}: the snapshot was not received whole: {exc!r}", "incomplete") from None
        if isinstance(exc, OSError):
            raise SnapshotError(f"{url}: cannot fetch the snapshot: {exc}", "fetch") from None
        raise
    finally:
        deadline.cancel()


def _get_once(location: str, url: str, etag: str | None, last_modified: str | None, max_bytes: int,
              deadline: Deadline) -> tuple[Fetched | None, str | None]:
    # One request: (what it fetched, None), or (None, where it was redirected to).
    try:
        connection, target = open_connection(location, deadline)
    except ValueError as exc:
        raise SnapshotError(str(exc), "fetch") from None
    headers = {"Accept": "application/json", "User-Agent": "modelreg-runtime"}
    if etag is not None:
        headers["If-None-Match"] = etag
    if last_modified is not None:
        headers["If-Modified-Since"] = last_modified
    try:
        deadline.connect(connection)
        connection.request("GET", target, headers=headers)
        # Closed here, whatever happens: a response that ends its connection holds the socket
        # open past `connection.close()`.
        with connection.getresponse() as response:
            if response.status in _REDIRECTS and response.getheader("Location"):
                return None, urllib.parse.urljoin(location, response.getheader("Location", ""))
            return _read(response, url, etag, last_modified, max_bytes, deadline), None
    finally:
        connection.close()


def _read(response: http.client.HTTPResponse, url: str, etag: str | None, last_modified: str | None,
          max_bytes: int, deadline: Deadline) -> Fetched:
    if response.status == 304:
        return Fetched(None, None, response.getheader("ETag") or etag, _validator(response) or last_modified)
    if response.status != 200:
        raise SnapshotError(f"{url}: the server answered {response.status} {response.reason}".rstrip(), "http-status")
    declared = response.getheader("Content-Length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise SnapshotError(f"{url}: the snapshot is {int(declared):,} bytes, over the limit of {max_bytes:,}",
                            "too-large")
    hasher = BodyHasher()
    size = 0
    with tempfile.TemporaryFile() as spool:
        while chunk := response.read(_CHUNK):
            deadline.left()
            size += len(chunk)
            if size > max_bytes:
                raise SnapshotError(f"{url}: the snapshot is over the limit of {max_bytes:,} bytes", "too-large")
            hasher.update(chunk)
            spool.write(chunk)
        deadline.left()  # an empty read may be the deadline's cut
        if declared is not None and declared.isdigit() and size < int(declared):
            # The connection closed before the declared length: what arrived is not the snapshot.
            raise SnapshotError(f"{url}: the snapshot was not received whole: "
                                f"IncompleteRead({size} bytes read, {int(declared) - size} more expected)",
                                "incomplete")
        spool.seek(0)
        raw = spool.read()
    return Fetched(raw, hasher.hexdigest(), response.getheader("ETag"), _validator(response))


def _validator(response: http.client.HTTPResponse) -> str | None:
    """The response's Last-Modified, when it can tell versions apart: only at least a second
    before the response's Date (a file changed again within that second would have the same
    Last-Modified, and a conditional request would miss it)."""
    modified = response.getheader("Last-Modified")
    if modified is None:
        return None
    try:
        when = email.utils.parsedate_to_datetime(modified)
        date = email.utils.parsedate_to_datetime(response.getheader("Date", ""))
    except (TypeError, ValueError, IndexError):
        return None
    return modified if (date - when).total_seconds() >= 1 else None
