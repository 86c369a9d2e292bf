"""A snapshot server on loopback that misbehaves in every way it can, phase after phase: the watcher
and `load_snapshot` reject each bad phase within its deadline, in bounded memory, with a
SnapshotError that says what happened, and keep serving the last good snapshot throughout."""

from __future__ import annotations

import gc
import json
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from modelreg import bounded_http, snapshot_format
from modelreg.runtime import SnapshotError, SnapshotWatcher, fetch, load_snapshot
from modelreg.runtime.fetch import fetch_snapshot
from tests.runtime.conftest import model, snapshot_bytes

GOOD_1 = snapshot_bytes([model("acme/a"), model("acme/b")], label="1")
GOOD_2 = snapshot_bytes([model("acme/a"), model("beta/c")], label="2")
MIB = 1024 * 1024


def _unknown_major() -> bytes:
    document = json.loads(GOOD_2)
    del document["$digest"]
    document["format"]["major"] = 99
    return snapshot_format.encode(document)[0]


def _wrong_digest() -> bytes:
    return GOOD_2.replace(b'"label":"2"', b'"label":"3"', 1)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.server.requests.append({**self.headers, "path": self.path})
        phase = self.server.phase
        if phase.startswith("redirect"):  # redirect-N: N hops, then the good snapshot
            hops = int(phase.split("-")[1])
            self.server.phase = f"redirect-{hops - 1}" if hops > 1 else "good-2"
            self.send_response(302)
            self.send_header("Location", "/moved/registry.json")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if phase == "drip-headers":  # the status line itself, a byte at a time
            for byte in b"HTTP/1.1 200 OK\r\n":
                if self.server.stop.wait(0.3) or not self._send(bytes([byte])):
                    return
            return
        if phase in ("404", "500"):
            self.send_response(int(phase))
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if phase == "drip":  # one byte a second, for ever (until the client leaves)
            self._head(len(GOOD_2))
            for byte in GOOD_2:
                if self.server.stop.wait(1.0):
                    return
                if not self._send(bytes([byte])):
                    return
            return
        if phase == "huge":  # 200 MB that it does not announce: the client must count
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            block = b" " * MIB
            for _ in range(200):
                if not self._send(block):
                    return
            return
        if phase == "huge-declared":
            self._head(200 * MIB)
            self._send(b"{")
            return
        if phase == "cut":  # half of what it announces, then the connection closes
            self._head(len(GOOD_2))
            self._send(GOOD_2[: len(GOOD_2) // 2])
            self.close_connection = True
            return
        body = {"garbage": b"<html>not a snapshot</html>", "truncated": GOOD_2[: len(GOOD_2) // 2],
                "wrong-digest": _wrong_digest(), "unknown-major": _unknown_major(), "good-1": GOOD_1,
                "good-2": GOOD_2}[phase]
        modified = f"Mon, 0{1 + phase.endswith('2')} Jan 2024 00:00:00 GMT"
        if phase.startswith("good") and self.headers.get("If-Modified-Since") == modified:
            self.send_response(304)
            self.send_header("Last-Modified", modified)
            self.end_headers()
            return
        self._head(len(body), modified if phase.startswith("good") else None)
        self._send(body)

    def _head(self, length: int, modified: str | None = None) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(length))
        if modified is not None:  # no ETag: Last-Modified is all this server offers
            self.send_header("Last-Modified", modified)
        self.end_headers()

    def _send(self, data: bytes) -> bool:
        try:
            self.wfile.write(data)
            self.wfile.flush()
            return True
        except OSError:  # the client gave up: expected here
            return False


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    phase = "good-1"

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[dict[str, str]] = []
        self.stop = threading.Event()

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}/registry.json"


@pytest.fixture
def server() -> Iterator[_Server]:
    srv = _Server()
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    yield srv
    srv.stop.set()
    srv.shutdown()
    srv.server_close()
    thread.join()


EXPECTED = {
    "garbage": "not a JSON snapshot",
    "truncated": "not a JSON snapshot",
    "cut": "the snapshot was not received whole: IncompleteRead(",
    "huge": "the snapshot is over the limit of 134,217,728 bytes",
    "huge-declared": "the snapshot is 209,715,200 bytes, over the limit of 134,217,728",
    "drip": "no whole snapshot within 1 s",
    "drip-headers": "no whole snapshot within 1 s",
    "wrong-digest": "digest mismatch",
    "unknown-major": "snapshot format major version 99 is not supported",
    "404": "the server answered 404 Not Found",
    "500": "the server answered 500 Internal Server Error",
}


def test_every_bad_phase_is_rejected_in_time_and_the_last_good_snapshot_serves(server: _Server) -> None:
    errors: list[Exception] = []
    watcher = SnapshotWatcher(server.url, timeout=30.0, on_error=errors.append)
    good = watcher.current
    assert good.version.label == "1"
    for phase, expected in EXPECTED.items():
        server.phase = phase
        # Only the drip meets the deadline (it never ends); everything else is refused for what it is.
        watcher.timeout = 1.0 if phase.startswith("drip") else 30.0
        started = time.monotonic()
        assert watcher.check() is False, phase
        if phase.startswith("drip"):
            assert time.monotonic() - started < 10.0  # held for the deadline, not for the drip
        assert watcher.current is good, phase
        assert isinstance(errors[-1], SnapshotError), phase
        assert str(errors[-1]).startswith(f"{server.url}: "), phase
        assert expected in str(errors[-1]), (phase, str(errors[-1]))
    assert len(errors) == len(EXPECTED)
    server.phase = "good-2"
    assert watcher.check() is True
    assert watcher.version.label == "2"
    # No ETag, a Last-Modified: the next poll asks whether it changed, and the body is not sent again.
    assert watcher.check() is False
    assert server.requests[-1]["If-Modified-Since"] == "Mon, 02 Jan 2024 00:00:00 GMT"
    assert watcher.last_error is None
    # Every connection was closed, whatever the server did: nothing is left for the collector to find
    # (an unclosed socket warns, and warnings fail the test).
    errors.clear()
    gc.collect()


def test_load_snapshot_refuses_what_the_watcher_refuses(server: _Server) -> None:
    for phase in ("404", "cut", "garbage"):
        server.phase = phase
        with pytest.raises(SnapshotError, match=EXPECTED[phase].replace("(", r"\(")):
            load_snapshot(server.url)
    server.phase = "good-1"
    assert load_snapshot(server.url).version.label == "1"
    fetched = fetch_snapshot(server.url)
    assert fetched.raw == GOOD_1 and fetched.etag is None
    assert fetched.last_modified == "Mon, 01 Jan 2024 00:00:00 GMT"
    assert fetch_snapshot(server.url, last_modified=fetched.last_modified).raw is None  # 304
    with pytest.raises(SnapshotError, match="not an http"):
        fetch_snapshot("ftp://example.test/registry.json")


MEASURE = """\
import resource, sys
from modelreg.runtime import SnapshotWatcher
watcher = SnapshotWatcher(sys.argv[1], timeout=30.0)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print("ready", flush=True)
sys.stdin.readline()
rejected = watcher.check() is False and watcher.last_error is not None
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(rejected, (after - before) // 1024, watcher.last_error)
"""


@pytest.mark.slow
def test_a_200_mb_body_is_refused_in_bounded_memory(server: _Server) -> None:
    # A process of its own, so its peak memory is the watcher's alone.
    child = subprocess.Popen([sys.executable, "-c", MEASURE, server.url], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert child.stdout is not None and child.stdin is not None
    try:
        assert child.stdout.readline() == "ready\n"
        server.phase = "huge"
        child.stdin.write("go\n")
        child.stdin.flush()
        rejected, grown, *why = child.stdout.readline().split()
    finally:
        _, err = child.communicate(timeout=60)
    assert child.returncode == 0, err
    assert rejected == "True", " ".join(why)
    assert int(grown) <= 64, f"the process grew by {grown} MiB"
    assert "over the limit of 134,217,728 bytes" in " ".join(why)


def test_redirects_are_followed_a_few_times(server: _Server) -> None:
    server.phase = "redirect-2"
    assert load_snapshot(server.url).version.label == "2"
    assert [request["path"] for request in server.requests] == [
        "/registry.json", "/moved/registry.json", "/moved/registry.json"]
    server.phase = "redirect-9"
    with pytest.raises(SnapshotError, match=r"more than 5 redirects$"):
        load_snapshot(server.url)


def test_the_proxy_the_environment_names_is_used(server: _Server, monkeypatch: pytest.MonkeyPatch) -> None:
    # The server stands in for the proxy: it is asked for the whole URL of a port where nothing listens.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    url = f"http://127.0.0.1:{closed}/registry.json"
    host, port = server.server_address[:2]
    monkeypatch.setenv("http_proxy", f"http://{host!s}:{port}")
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    server.phase = "good-2"
    assert load_snapshot(url).version.label == "2"
    assert server.requests[-1]["path"] == url
    monkeypatch.setenv("no_proxy", "127.0.0.1")  # then it goes straight there, and finds no one
    with pytest.raises(SnapshotError, match=rf"^{re.escape(url)}: cannot fetch the snapshot: .*refused"):
        load_snapshot(url)


def test_an_ipv6_literal_keeps_its_host_and_default_port() -> None:
    deadline = bounded_http.Deadline(5.0)
    try:
        connection, target = bounded_http.open_connection("http://[::1]/registry.json?v=2", deadline)
        assert (connection.host, connection.port, target) == ("::1", 80, "/registry.json?v=2")
        connection, _ = bounded_http.open_connection("https://[::1]:8443/x", deadline)
        assert (connection.host, connection.port) == ("::1", 8443)
    finally:
        deadline.cancel()


class _Headers:
    def __init__(self, **headers: str) -> None:
        self.headers = {name.replace("_", "-"): value for name, value in headers.items()}

    def getheader(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name, default)


def test_a_last_modified_that_cannot_tell_versions_apart_is_not_used() -> None:
    modified = "Mon, 01 Jan 2024 00:00:00 GMT"
    validator = fetch._validator
    assert validator(_Headers(Last_Modified=modified, Date="Mon, 01 Jan 2024 00:00:01 GMT")) == modified  # type: ignore[arg-type]
    # Changed in the second it was served: a change later in that second would keep the same value.
    assert validator(_Headers(Last_Modified=modified, Date=modified)) is None  # type: ignore[arg-type]
    assert validator(_Headers(Last_Modified=modified)) is None  # type: ignore[arg-type]
    assert validator(_Headers(Last_Modified="yesterday", Date=modified)) is None  # type: ignore[arg-type]
    assert validator(_Headers(Date=modified)) is None  # type: ignore[arg-type]
