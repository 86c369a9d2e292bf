"""The parts of an HTTP request that a slow or hostile server must not stretch: a total deadline
that cuts the connection when it passes, and a connection that verifies TLS and goes through the
proxy the environment names (`HTTP(S)_PROXY`, `NO_PROXY`), as urllib's would.

Shared by the runtime's snapshot fetch and the compiler's discovery sync. Standard library only.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import threading
import time
import urllib.parse
import urllib.request
from functools import cache


class Deadline:
    """The time a request has in all (connect, headers, every read), and the connection to cut
    when it runs out: whatever read or connect is waiting on the socket then returns at once."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.start = time.monotonic()
        self.end = self.start + seconds
        self.expired = threading.Event()
        self._lock = threading.Lock()
        self._connection: http.client.HTTPConnection | None = None
        self._socket: socket.socket | None = None
        self._timer = threading.Timer(seconds, self._cut)
        self._timer.daemon = True
        self._timer.start()

    def left(self) -> float:
        """Seconds left; OSError once there are none (the caller then reports the deadline)."""
        left = self.end - time.monotonic()
        if left <= 0 or self.expired.is_set():
            self.expired.set()
            raise OSError("the deadline passed")
        return left

    def spent(self) -> float:
        """Seconds since the deadline started."""
        return time.monotonic() - self.start

    def watch(self, connection: http.client.HTTPConnection) -> None:
        """Cut `connection` when the deadline passes."""
        with self._lock:
            self._connection = connection

    def connect(self, connection: http.client.HTTPConnection) -> None:
        """Connect `connection`, each later read waiting at most for what is left. The socket is
        held here: a response that ends its connection takes the socket from `connection.sock`,
        and the cut must still reach it."""
        connection.connect()
        sock = connection.sock
        if sock is not None:
            sock.settimeout(self.left())
            with self._lock:
                self._socket = sock
            if self.expired.is_set():  # the timer fired while connecting
                self._cut()

    def _cut(self) -> None:
        self.expired.set()
        with self._lock:
            sock = self._socket or (self._connection.sock if self._connection is not None else None)
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except (OSError, AttributeError):  # closed meanwhile
                pass

    def cancel(self) -> None:
        """Stop the timer (the request is over)."""
        self._timer.cancel()

    def __enter__(self) -> Deadline:
        return self

    def __exit__(self, *exc: object) -> None:
        self.cancel()


@cache
def tls_context() -> ssl.SSLContext:
    """The verifying TLS context: loading the system's certificates costs more than a request,
    so once per process."""
    return ssl.create_default_context()


def is_loopback(host: str) -> bool:
    """Whether `host` names this machine (`localhost`, 127.0.0.0/8, ::1)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def proxy_for(location: str) -> str | None:
    """The proxy the environment names for an http(s) URL (`HTTP(S)_PROXY`, unless `NO_PROXY`
    exempts its host), or None."""
    parts = urllib.parse.urlsplit(location)
    proxy = urllib.request.getproxies().get(parts.scheme)
    if not proxy or urllib.request.proxy_bypass(parts.hostname or ""):
        return None
    return proxy


def open_connection(location: str, deadline: Deadline) -> tuple[http.client.HTTPConnection, str]:
    """A connection for `location` (through the environment's proxy when it names one), not yet
    connected, watched by `deadline`, and the request target to send on it. ValueError for
    anything but an http(s) URL with a host."""
    parts = urllib.parse.urlsplit(location)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{location}: not an http(s) URL")
    https = parts.scheme == "https"
    port = parts.port or (443 if https else 80)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    proxy = proxy_for(location)
    host, through = parts.hostname, None
    if proxy:
        proxied = urllib.parse.urlsplit(proxy if "://" in proxy else f"http://{proxy}")
        through = (proxied.hostname or "", proxied.port or 80)
    timeout = deadline.left()
    connection: http.client.HTTPConnection
    if https:
        context = tls_context()
        if through is not None:
            connection = http.client.HTTPSConnection(through[0], through[1], timeout=timeout, context=context)
            connection.set_tunnel(host, port)
        else:
            connection = http.client.HTTPSConnection(host, port, timeout=timeout, context=context)
    elif through is not None:
        connection = http.client.HTTPConnection(through[0], through[1], timeout=timeout)
        target = location  # a plain-http proxy is asked for the whole URL
    else:
        connection = http.client.HTTPConnection(host, port, timeout=timeout)
    deadline.watch(connection)
    return connection, target
