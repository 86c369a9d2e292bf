"""The OpenAI-compatible chat API on the wire, for the sync and the async client alike: where a
request goes and with which headers, and what a response or a server-sent event means.
Standard library only.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .classify import classify_status, parse_retry_after
from .errors import FailureKind, ProviderError
from .router import remaining_time
from .snapshot_registry import SnapshotModel

Message = Mapping[str, Any]
MAX_ERROR_BODY = 64 * 1024
DONE: Any = object()
"""What `sse_event` returns for the stream's `[DONE]`."""

# Stream error events carry a type rather than a status (Anthropic's, OpenAI's) or the status as
# a string (LiteLLM's `"code": "429"`): the status each type stands for.
_ERROR_TYPES = {
    "rate_limit_error": 429, "overloaded_error": 529, "api_error": 500, "server_error": 500,
    "invalid_request_error": 400, "authentication_error": 401, "permission_error": 403,
    "not_found_error": 404, "request_too_large": 413, "timeout_error": 504,
}


@dataclass(frozen=True, slots=True)
class Prepared:
    """A request ready to send: where, with which headers and body, within how long."""

    url: str
    headers: dict[str, str]
    body: bytes
    timeout: float


def prepare(model: SnapshotModel, payload: dict[str, Any], *, env: Mapping[str, str],
            base_urls: Mapping[str, str], timeout: float, user_agent: str) -> Prepared:
    """The chat-completions request for `model`, bounded by the routed call's remaining time."""
    provider = model.endpoint
    if provider is not None and provider.api not in (None, "openai"):
        raise ProviderError(f"{model.name}: provider `{model.provider}` speaks `{provider.api}`, not the "
                            "OpenAI API", FailureKind.FAILOVER, counts_for_breaker=False)
    base = base_urls.get(model.provider) or (provider.api_base if provider else None)
    if not base:
        raise ProviderError(f"{model.name}: provider `{model.provider}` has no api_base",
                            FailureKind.FAILOVER, counts_for_breaker=False)
    headers = {"Content-Type": "application/json", "Accept": "application/json", "User-Agent": user_agent}
    key_env = provider.api_key_env if provider else None
    if key_env:
        key = env.get(key_env)
        if not key:
            raise ProviderError(f"{model.name}: no API key: the environment variable {key_env} is not set",
                                FailureKind.FAILOVER, counts_for_breaker=False)
        headers["Authorization"] = f"Bearer {key}"
    left = remaining_time()
    if left is not None:
        if left <= 0:
            raise ProviderError(f"{model.name}: no time left before the deadline", FailureKind.RETRY,
                                counts_for_breaker=False)
        timeout = min(timeout, left)
    return Prepared(base.rstrip("/") + "/chat/completions", headers, json.dumps(payload).encode("utf-8"), timeout)


def payload(model: SnapshotModel, messages: Sequence[Message], params: Mapping[str, Any],
            *, stream: bool = False) -> dict[str, Any]:
    """The request body: the model's own ID, the messages, and any other parameters."""
    body: dict[str, Any] = {"model": model.model_id, "messages": list(messages)}
    if stream:
        body["stream"] = True
    body.update(params)
    return body


def status_error(model: SnapshotModel, status: int, body: bytes, headers: Any) -> ProviderError:
    """The classified error of an HTTP error response."""
    failure = classify_status(status, body[:MAX_ERROR_BODY].decode("utf-8", "replace"), parse_retry_after(headers))
    return ProviderError(f"{model.name}: {failure.reason}", failure.kind, status=status,
                         retry_after=failure.retry_after, counts_for_breaker=failure.counts_for_breaker)


def timed_out(model: SnapshotModel, seconds: float) -> ProviderError:
    return ProviderError(f"{model.name}: timed out (no complete answer within {seconds:.3g}s)", FailureKind.RETRY)


def connection_failed(model: SnapshotModel, exc: BaseException) -> ProviderError:
    return ProviderError(f"{model.name}: connection failed ({type(exc).__name__}: {exc})", FailureKind.RETRY)


def completion(model: SnapshotModel, body: bytes) -> dict[str, Any]:
    """The parsed completion; ProviderError (fail over) for anything but a JSON object."""
    try:
        reply = json.loads(body)
    except ValueError:
        raise ProviderError(f"{model.name}: the response is not JSON", FailureKind.FAILOVER) from None
    if not isinstance(reply, dict):
        raise ProviderError(f"{model.name}: the response is not a JSON object", FailureKind.FAILOVER)
    return reply


def sse_event(model: SnapshotModel, line: bytes) -> Any:
    """What one line of a server-sent event stream holds: a chunk (parsed JSON), `DONE`, or None
    for lines that carry no data (separators, comments, `event:` lines).

    An error event (`data: {"error": ...}`, as OpenAI, Anthropic and LiteLLM's proxy send them
    mid-stream) raises a classified ProviderError instead of passing for a chunk.
    """
    text = line.decode("utf-8", "replace").strip()
    if not text.startswith("data:"):
        return None
    data = text[5:].strip()
    if data == "[DONE]":
        return DONE
    try:
        chunk = json.loads(data)
    except ValueError:
        raise ProviderError(f"{model.name}: a stream chunk is not JSON", FailureKind.FAILOVER) from None
    if isinstance(chunk, dict) and "error" in chunk and "choices" not in chunk:
        raise stream_error(model, chunk["error"], data)
    return chunk


def stream_error(model: SnapshotModel, error: Any, raw: str) -> ProviderError:
    """The classified error of a stream's error event."""
    status: int | None = None
    if isinstance(error, Mapping):
        code = error.get("code") if error.get("code") is not None else error.get("status")
        if isinstance(code, int) and 100 <= code <= 599:
            status = code
        elif isinstance(code, str) and code.isdigit() and 100 <= int(code) <= 599:
            status = int(code)
        if status is None:
            status = _ERROR_TYPES.get(str(error.get("type")))
    failure = classify_status(status or 500, raw)
    return ProviderError(f"{model.name}: error event in the stream: {failure.reason}", failure.kind,
                         status=status, retry_after=failure.retry_after,
                         counts_for_breaker=failure.counts_for_breaker)
