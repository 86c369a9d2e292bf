"""Reading a provider's listing over HTTP, bounded: a total deadline per request and for the whole
sync, a size cap per response and for the whole listing (both enforced while reading), one retry
on 429/5xx that honours `Retry-After` up to a bound, TLS verified, and an API key that is sent
only over https (or plain http to this machine) and never appears in an error message.
"""

from __future__ import annotations

import email.utils
import http.client
import json
import time
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from modelreg.bounded_http import Deadline, is_loopback, open_connection, proxy_for
from modelreg.errors import ListingError

_CHUNK = 1 << 16
_RETRIED = frozenset({429, 500, 502, 503, 504})
_REDIRECTS = (301, 302, 303, 307, 308)
MAX_REDIRECTS = 3


@dataclass(frozen=True)
class Limits:
    """The bounds of one sync's network reads."""

    request_seconds: float = 30.0
    total_seconds: float = 300.0
    max_response_bytes: int = 16 * 1024 * 1024
    max_listing_bytes: int = 64 * 1024 * 1024
    max_pages: int = 100
    max_retry_after: float = 30.0


def shown_url(url: str) -> str:
    """A URL as errors show it: without its query, which may carry a page token or a key."""
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


class ListingClient:
    """Requests for one provider's listing, within `limits`; `secret` (the API key) is scrubbed
    from every message."""

    def __init__(self, limits: Limits | None = None, *, secret: str | None = None) -> None:
        self.limits = limits or Limits()
        self._secret = secret or None
        self._end = time.monotonic() + self.limits.total_seconds
        self.bytes_read = 0
        self.pages = 0

    def get_json(self, url: str, *, what: str, headers: Mapping[str, str] | None = None,
                 body: Any = None, page: bool = True) -> Any:
        """One request: GET (POST with a JSON `body`) and parse the JSON answer. `what` names it in
        errors (`page 2`); `page` counts it against the page cap (a listing's pages, not the
        requests per model some APIs need). ListingError for anything but a whole JSON body in
        time."""
        if page:
            self.pages += 1
            if self.pages > self.limits.max_pages:
                raise self._error(f"{shown_url(url)}: more than {self.limits.max_pages} pages; the listing is not "
                                  "complete")
        sends_key = self._secret is not None and any(self._secret in value for value in (headers or {}).values())
        raw = self._with_retry(url, what, dict(headers or {}), body, sends_key)
        return parse_json(raw, f"{shown_url(url)}: {what}")

    def _with_retry(self, url: str, what: str, headers: dict[str, str], body: Any, sends_key: bool) -> bytes:
        for attempt in (1, 2):
            status, reason, retry_after, raw = self._request(url, what, headers, body, sends_key)
            if status == 200:
                return raw
            if status in _RETRIED and attempt == 1:
                wait = retry_after if retry_after is not None else 1.0
                if wait <= self.limits.max_retry_after and time.monotonic() + wait < self._end:
                    time.sleep(wait)
                    continue
            hint = {401: " (check the API key)", 403: " (check the API key's permissions)"}.get(status, "")
            raise self._error(f"{shown_url(url)}: {what}: the server answered {status} {reason}".rstrip() + hint)
        raise AssertionError("unreachable")

    def _request(self, url: str, what: str, headers: dict[str, str], body: Any,
                 sends_key: bool) -> tuple[int, str, float | None, bytes]:
        left = self._end - time.monotonic()
        if left <= 0:
            raise self._error(f"{shown_url(url)}: {what}: the deadline of the whole sync "
                              f"({self.limits.total_seconds:g} s) passed")
        seconds = min(self.limits.request_seconds, left)
        location = url
        with Deadline(seconds) as deadline:
            try:
                for _ in range(MAX_REDIRECTS + 1):
                    self._check_transport(location, sends_key)
                    status, reason, moved, retry_after, raw = self._once(location, headers, body, deadline, url, what)
                    if moved is None:
                        if deadline.expired.is_set():
                            raise OSError("the deadline passed")
                        return status, reason, retry_after, raw
                    # A key goes only where it was meant to: not to another host.
                    if urllib.parse.urlsplit(moved).netloc != urllib.parse.urlsplit(location).netloc and sends_key:
                        raise self._error(f"{shown_url(url)}: {what}: redirected to another host "
                                          f"({shown_url(moved)}); the API key is not sent there")
                    location = moved
                raise self._error(f"{shown_url(url)}: {what}: more than {MAX_REDIRECTS} redirects")
            except ListingError:
                raise
            except Exception as exc:
                # Each socket read waits at most for what is left, so a read that times out is the
                # deadline too, however close the timer was to firing.
                if deadline.expired.is_set() or isinstance(exc, TimeoutError):
                    if seconds < self.limits.request_seconds:
                        raise self._error(f"{shown_url(url)}: {what}: the deadline of the whole sync "
                                          f"({self.limits.total_seconds:g} s) passed") from None
                    raise self._error(f"{shown_url(url)}: {what}: no whole answer within {seconds:g} s") from None
                if isinstance(exc, ValueError):  # http.client's words may quote a header: not repeated
                    raise self._error(f"{shown_url(url)}: {what}: the request could not be sent "
                                      f"({type(exc).__name__})") from None
                if isinstance(exc, http.client.HTTPException):
                    raise self._error(f"{shown_url(url)}: {what}: the answer was not received whole "
                                      f"({type(exc).__name__})") from None
                if isinstance(exc, OSError):
                    raise self._error(f"{shown_url(url)}: {what}: cannot connect: {exc.strerror or exc}") from None
                raise

    def _check_transport(self, location: str, sends_key: bool) -> None:
        parts = urllib.parse.urlsplit(location)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise self._error(f"{shown_url(location)}: not an http(s) URL")
        if not sends_key or parts.scheme == "https":
            return
        if not is_loopback(parts.hostname):
            raise self._error(f"{shown_url(location)}: refusing to send the API key over plain http to "
                              f"{parts.hostname}; use https")
        proxy = proxy_for(location)
        if proxy is not None:
            raise self._error(f"{shown_url(location)}: refusing to send the API key over plain http through the "
                              f"proxy {shown_url(proxy)}; set NO_PROXY for this host")

    def _once(self, location: str, headers: dict[str, str], body: Any, deadline: Deadline, url: str,
              what: str) -> tuple[int, str, str | None, float | None, bytes]:
        connection, target = open_connection(location, deadline)
        sent = {"Accept": "application/json", "User-Agent": "modelreg-sync", **headers}
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        try:
            deadline.connect(connection)
            connection.request("POST" if payload is not None else "GET", target, body=payload, headers=sent)
            with connection.getresponse() as response:
                if response.status in _REDIRECTS and response.getheader("Location"):
                    return response.status, response.reason, urllib.parse.urljoin(
                        location, response.getheader("Location", "")), None, b""
                if response.status != 200:
                    return response.status, response.reason, None, _retry_after(response), b""
                return 200, response.reason, None, None, self._read(response, deadline, url, what)
        finally:
            connection.close()

    def _read(self, response: http.client.HTTPResponse, deadline: Deadline, url: str, what: str) -> bytes:
        cap = self.limits.max_response_bytes
        declared = response.getheader("Content-Length")
        if declared is not None and declared.isdigit() and int(declared) > cap:
            raise self._error(f"{shown_url(url)}: {what}: the answer is {int(declared):,} bytes, over the limit "
                              f"of {cap:,}")
        chunks: list[bytes] = []
        size = 0
        while chunk := response.read(_CHUNK):
            deadline.left()
            size += len(chunk)
            self.bytes_read += len(chunk)
            if size > cap:
                raise self._error(f"{shown_url(url)}: {what}: the answer is over the limit of {cap:,} bytes")
            if self.bytes_read > self.limits.max_listing_bytes:
                raise self._error(f"{shown_url(url)}: {what}: the listing is over the limit of "
                                  f"{self.limits.max_listing_bytes:,} bytes")
            chunks.append(chunk)
        deadline.left()  # an empty read may be the deadline's cut
        if declared is not None and declared.isdigit() and size < int(declared):
            raise self._error(f"{shown_url(url)}: {what}: the answer was cut short ({size:,} of "
                              f"{int(declared):,} bytes)")
        return b"".join(chunks)

    def _error(self, message: str) -> ListingError:
        if self._secret:
            message = message.replace(self._secret, "***")
        return ListingError(message)


def parse_json(raw: bytes, where: str) -> Any:
    """A body's JSON; ListingError naming `where` for one that is not (or nests too deep to read)."""
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        at = f" (line {exc.lineno}, column {exc.colno})" if isinstance(exc, json.JSONDecodeError) else ""
        raise ListingError(f"{where}: the body is not JSON{at}") from None


def check_key(key: str, variable: str) -> str:
    """The API key from `variable`, stripped of the whitespace a paste leaves around it; ListingError
    (naming the variable, never the key) for one that holds control characters."""
    key = key.strip()
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in key):
        raise ListingError(f"{variable} holds control characters (a line break?); set it to the key alone")
    return key


def _retry_after(response: http.client.HTTPResponse) -> float | None:
    # Seconds, or an HTTP date.
    value = (response.getheader("Retry-After") or "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
