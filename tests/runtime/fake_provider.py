"""A fake OpenAI-compatible provider on 127.0.0.1 for the runtime's tests.

Each request's reply is scripted per `model` (the request body's model ID): a JSON completion,
an error status (with headers such as Retry-After), a hang, a cut connection, or an SSE stream.
Unscripted requests get a completion (a one-chunk stream when they ask for a stream). It also
serves a snapshot file over GET with an ETag, whole or cut short.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Reply:
    kind: str  # ok | status | hang | cut | stream | drip | keepalive
    status: int = 200
    body: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    chunks: tuple[str, ...] = ()
    cut_after: int | None = None
    error: dict[str, Any] | None = None
    """For a stream: an SSE `data: {"error": ...}` event sent after `chunks`."""
    interval: float = 0.0
    """For drip and keepalive: the pause between bytes or keep-alive comments."""


def ok(content: str = "hello") -> Reply:
    return Reply("ok", body=content)


def status(code: int, body: str = "", **headers: str) -> Reply:
    return Reply("status", status=code, body=body, headers={k.replace("_", "-"): v for k, v in headers.items()})


def hang() -> Reply:
    return Reply("hang")


def cut() -> Reply:
    return Reply("cut")


def stream(*chunks: str, cut_after: int | None = None, error: dict[str, Any] | None = None) -> Reply:
    return Reply("stream", chunks=chunks, cut_after=cut_after, error=error)


def drip(content: str = "hello", interval: float = 0.2) -> Reply:
    """A completion whose body comes one byte every `interval` seconds."""
    return Reply("drip", body=content, interval=interval)


def keepalive(interval: float = 0.2) -> Reply:
    """A stream that sends SSE keep-alive comments every `interval` seconds and never any data."""
    return Reply("keepalive", interval=interval)


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        fake = self.server.fake
        fake.seen.append(Seen("GET", self.path, dict(self.headers), {}))
        raw, etag = fake.document
        if self.headers.get("If-None-Match") == etag:
            self.send_response(304)
            self.send_header("ETag", etag)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        # A declared length beyond the body, then the connection closes: a transfer cut short.
        self.send_header("Content-Length", str(fake.document_length or len(raw)))
        self.send_header("ETag", etag)
        self.end_headers()
        self.wfile.write(raw)

    def do_POST(self) -> None:
        fake = self.server.fake
        length = int(self.headers.get("Content-Length", "0"))
        body = json.loads(self.rfile.read(length) or b"{}")
        fake.seen.append(Seen("POST", self.path, dict(self.headers), body))
        model = body.get("model", "")
        with fake.lock:
            script = fake.scripts.get(model)
            reply = script.popleft() if script else stream("hello") if body.get("stream") else ok()
        if reply.kind == "hang":
            fake.release.wait(10)
            return
        if reply.kind in ("drip", "keepalive"):
            self._trickle(reply, model)
            return
        if reply.kind == "cut":
            return  # close the connection without a word
        if reply.kind == "status":
            data = reply.body.encode()
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        if reply.kind == "stream":
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            for index, text in enumerate(reply.chunks):
                if reply.cut_after is not None and index >= reply.cut_after:
                    return
                chunk = {"object": "chat.completion.chunk", "model": model,
                         "choices": [{"index": 0, "delta": {"content": text}}]}
                self.wfile.write(b": keep-alive\n\ndata: " + json.dumps(chunk).encode() + b"\n\n")
                self.wfile.flush()
            if reply.error is not None:
                self.wfile.write(b"data: " + json.dumps({"error": reply.error}).encode() + b"\n\n")
                self.wfile.flush()
                return
            self.wfile.write(b"data: [DONE]\n\n")
            return
        data = completion(model, reply.body, anthropic=self.path.endswith("/messages"))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


    def _trickle(self, reply: Reply, model: str) -> None:
        fake = self.server.fake
        self.send_response(200)
        if reply.kind == "drip":
            data = completion(model, reply.body)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            pieces = [data[i:i + 1] for i in range(len(data))]
        else:
            self.send_header("Content-Type", "text/event-stream")
            pieces = [b": keep-alive\n\n"] * 1000
        self.end_headers()
        for piece in pieces:
            self.wfile.write(piece)
            self.wfile.flush()
            if fake.release.wait(reply.interval):
                return


def completion(model: str, content: str, *, anthropic: bool = False) -> bytes:
    """A completion in the OpenAI format, or Anthropic's Messages format."""
    if anthropic:
        return json.dumps({
            "id": "msg_1", "type": "message", "role": "assistant", "model": model,
            "content": [{"type": "text", "text": content}], "stop_reason": "end_turn", "stop_sequence": None,
            "usage": {"input_tokens": 3, "output_tokens": 2},
        }).encode()
    return json.dumps({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 0, "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
    }).encode()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeProvider

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that gave up (timeout) leaves a broken pipe behind: expected here


class FakeProvider:
    """Start with `FakeProvider()`, stop with `close()`; `url` is the OpenAI-style base URL."""

    def __init__(self) -> None:
        self.scripts: dict[str, deque[Reply]] = {}
        self.seen: list[Seen] = []
        self.lock = threading.Lock()
        self.release = threading.Event()
        self.document: tuple[bytes, str] = (b"", '"0"')
        self.document_length: int | None = None
        """The Content-Length to announce for `document` instead of its true length."""
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.fake = self
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.01},
                                        daemon=True)
        self._thread.start()

    @property
    def root(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def url(self) -> str:
        return self.root + "/v1"

    def script(self, model_id: str, *replies: Reply) -> None:
        with self.lock:
            self.scripts.setdefault(model_id, deque()).extend(replies)

    def calls(self, model_id: str | None = None) -> list[str]:
        """The model IDs of the POSTs received, in order (only `model_id`'s if given)."""
        return [s.body.get("model", "") for s in self.seen
                if s.method == "POST" and (model_id is None or s.body.get("model") == model_id)]

    def close(self) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
