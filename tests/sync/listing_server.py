"""A provider's model listing on 127.0.0.1, in any of the formats sync reads, with real
pagination, the key checked the way each API checks it (401 otherwise), and faults on demand:
a status, a hang, a malformed or huge body, a drip, a body cut short, on any page."""

from __future__ import annotations

import json
import threading
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

KEY = "sk-test-0123456789abcdef-SECRET"
PATHS = {"openai": "/v1/models", "anthropic": "/v1/models", "gemini": "/v1beta/models", "mistral": "/v1/models",
         "openrouter": "/api/v1/models", "cohere": "/v1/models", "ollama": "/api/tags"}


@dataclass
class Fault:
    kind: str  # status | hang | malformed | huge | drip | cut | missing-field | redirect | body
    status: int = 500
    headers: dict[str, str] = field(default_factory=dict)
    times: int = 1_000_000
    """How many requests of its page it hits (a retry after the first gets through with 1)."""


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


def entry(fmt: str, model_id: str, **facts: Any) -> dict[str, Any]:
    """A realistic listing entry of `fmt` for a chat model (facts: context, output, display)."""
    context = facts.get("context", 128000)
    output = facts.get("output", 8192)
    display = facts.get("display", model_id.upper())
    if fmt == "openai":
        return {"id": model_id, "object": "model", "created": 1700000000, "owned_by": "acme"}
    if fmt == "anthropic":
        return {"type": "model", "id": model_id, "display_name": display, "created_at": "2025-01-01T00:00:00Z",
                "max_input_tokens": context, "max_tokens": output,
                "capabilities": {"image_input": {"supported": True}, "pdf_input": {"supported": False},
                                 "batch": {"supported": True}}}
    if fmt == "gemini":
        return {"name": f"models/{model_id}", "displayName": display, "inputTokenLimit": context,
                "outputTokenLimit": output, "supportedGenerationMethods": ["generateContent", "countTokens"]}
    if fmt == "mistral":
        return {"id": model_id, "object": "model", "name": model_id, "aliases": [],
                "capabilities": {"completion_chat": True, "function_calling": True, "vision": False},
                "max_context_length": context, "deprecation": None}
    if fmt == "openrouter":
        return {"id": model_id, "name": display, "context_length": context,
                "architecture": {"input_modalities": ["text", "image"], "output_modalities": ["text"]},
                "pricing": {"prompt": "0.000003", "completion": "0.000015"},
                "top_provider": {"max_completion_tokens": output}, "supported_parameters": ["tools", "max_tokens"]}
    if fmt == "cohere":
        return {"name": model_id, "endpoints": ["chat"], "context_length": context, "is_deprecated": False,
                "features": ["tools"]}
    if fmt == "ollama":
        return {"name": model_id, "model": model_id, "size": 1, "details": {"family": "llama"},
                "_show": {"capabilities": ["completion", "tools"],
                          "model_info": {"general.architecture": "llama", "llama.context_length": context}}}
    raise ValueError(fmt)


class ListingServer:
    """Serves `entries` (in `fmt`) at `url`, `page_size` to a page where the format pages."""

    def __init__(self, fmt: str, entries: list[dict[str, Any]], *, page_size: int = 2, key: str | None = KEY,
                 bare_list: bool = False) -> None:
        self.fmt = fmt
        self.entries = entries
        self.page_size = page_size
        self.key = key
        self.bare_list = bare_list
        self.faults: dict[int, Fault] = {}
        self.seen: list[Seen] = []
        self._hits: dict[int, int] = {}
        self._stop = threading.Event()
        self._server = _QuietServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}{PATHS[self.fmt]}"

    def close(self) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()

    def authorised(self, headers: dict[str, str]) -> bool:
        if self.key is None or self.fmt == "ollama":
            return True
        if self.fmt == "anthropic":
            return headers.get("x-api-key") == self.key and headers.get("anthropic-version") == "2023-06-01"
        if self.fmt == "gemini":
            return headers.get("x-goog-api-key") == self.key
        return headers.get("authorization") == f"Bearer {self.key}"

    def page(self, query: dict[str, str]) -> tuple[int, Any]:
        """(page number, body) for a listing request."""
        size = self.page_size
        if self.fmt == "anthropic":
            start = 0
            if "after_id" in query:
                start = next(i for i, e in enumerate(self.entries) if e["id"] == query["after_id"]) + 1
            chunk = self.entries[start:start + size]
            more = start + size < len(self.entries)
            return start // size + 1, {"data": chunk, "has_more": more,
                                        "first_id": chunk[0]["id"] if chunk else None,
                                        "last_id": chunk[-1]["id"] if chunk else None}
        if self.fmt in ("gemini", "cohere"):
            token_key, next_key, items = (("pageToken", "nextPageToken", "models") if self.fmt == "gemini"
                                          else ("page_token", "next_page_token", "models"))
            start = int(query.get(token_key, "0"))
            chunk = self.entries[start:start + size]
            body: dict[str, Any] = {items: chunk}
            if start + size < len(self.entries):
                body[next_key] = str(start + size)
            return start // size + 1, body
        if self.fmt == "ollama":
            return 1, {"models": [{k: v for k, v in e.items() if k != "_show"} for e in self.entries]}
        if self.bare_list:
            return 1, list(self.entries)
        return 1, {"object": "list", "data": list(self.entries)}

    def show(self, name: str) -> Any:
        return next(e["_show"] for e in self.entries if e["name"] == name)

    def hit(self, number: int) -> Fault | None:
        fault = self.faults.get(number)
        count = self._hits.get(number, 0)
        self._hits[number] = count + 1
        if fault is None or count >= fault.times:
            return None
        return fault


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hung up on a fault (a drip, a huge body) is the point of the test.
        pass


def _handler(server: ListingServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None,
                  length: int | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body) if length is None else length))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            self._serve(None)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            self._serve(json.loads(self.rfile.read(length) or b"null"))

        def _serve(self, body: Any) -> None:
            parts = urllib.parse.urlsplit(self.path)
            query = dict(urllib.parse.parse_qsl(parts.query))
            headers = {k.lower(): v for k, v in self.headers.items()}
            server.seen.append(Seen(self.command, self.path, headers, body))
            if not server.authorised(headers):
                self._send(401, b'{"error": {"message": "invalid api key"}}')
                return
            if server.fmt == "ollama" and parts.path == "/api/show":
                number, answer = 2, server.show(body["model"])
            else:
                number, answer = server.page(query)
            fault = server.hit(number)
            raw = json.dumps(answer).encode()
            if fault is None:
                self._send(200, raw)
            elif fault.kind == "redirect":
                self._send(302, b"", {"Location": fault.headers["Location"]})
            elif fault.kind == "body":
                self._send(200, fault.headers["body"].encode())
            elif fault.kind == "status":
                self._send(fault.status, b'{"error": "scripted"}', fault.headers)
            elif fault.kind == "hang":
                server._stop.wait(30)
            elif fault.kind == "malformed":
                self._send(200, raw[: len(raw) // 2])  # whole as sent, but not JSON
            elif fault.kind == "missing-field":
                broken = json.loads(raw)
                items = broken if isinstance(broken, list) else broken.get("data") or broken.get("models")
                items[0].pop("id", None)
                items[0].pop("name", None)
                self._send(200, json.dumps(broken).encode())
            elif fault.kind == "huge":
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()  # no length: the body runs until the connection closes
                self.close_connection = True
                chunk = b" " * (1 << 20)
                try:
                    self.wfile.write(b'{"data": [')
                    for _ in range(20):
                        self.wfile.write(chunk)
                    self.wfile.write(b"]}")
                except OSError:
                    pass
            elif fault.kind == "drip":
                self.send_response(200)
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                try:
                    for byte in raw:
                        if server._stop.wait(0.2):
                            return
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                except OSError:
                    pass
            elif fault.kind == "cut":
                self._send(200, raw[: len(raw) // 2], length=len(raw))
                self.close_connection = True
            else:
                raise AssertionError(fault.kind)

    return Handler

