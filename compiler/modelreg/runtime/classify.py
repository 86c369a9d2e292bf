"""What a failed attempt means for the router: retry the model, fail over, or stop.

The default, `classify_error`, understands the clients services call providers with without
importing any of them. It reads an HTTP status wherever the common clients put it
(`status_code`, `status`, `code`, `response.status_code`, botocore's response metadata), the
wait a provider asks for (`retry-after-ms`, `Retry-After`, LiteLLM's `llm_provider-retry-after`),
the exception classes of `openai`, `anthropic`, `httpx`, `google-genai` and botocore by name, and
the signals in an error body (context too long, content policy, unknown model). Standard library
only.
"""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeGuard

from .errors import FailureKind, ProviderError

_MAX_BODY = 64 * 1024


@dataclass(frozen=True, slots=True)
class Failure:
    """A classified failure: what to do next, why, how long the provider asked us to wait, and
    whether it says anything about the model's health (for its circuit breaker)."""

    kind: FailureKind
    reason: str
    retry_after: float | None = None
    counts_for_breaker: bool = True


class Headers(Protocol):
    """Response headers: a mapping, `http.client.HTTPMessage`, or `httpx.Headers`."""

    def get(self, name: str, /) -> Any: ...


_CONTEXT_TOO_LONG = re.compile(
    r"context_length_exceeded|context[_ ]window|context length|maximum context|too many tokens|"
    r"prompt is too long|input is too long|string_above_max_length|reduce the length|"
    r"contextwindowexceeded|exceeds? the (?:model's )?(?:maximum|max) (?:number of )?tokens",
    re.IGNORECASE)
_CONTENT_POLICY = re.compile(
    r"content[ _-]?policy|content[ _-]?filter|content[ _-]?management|responsibleaipolicyviolation|"
    r"safety system|blocked by (?:the )?safety|prohibited[ _]content|flagged by (?:our|the) moderation",
    re.IGNORECASE)
_UNKNOWN_MODEL = re.compile(
    r"invalid model name|model[ _]not[ _]found|unknown model|no such model|deploymentnotfound|"
    r"deployment[^.]{0,40}(?:not found|does not exist)|model[^.]{0,80}does not exist|"
    r"not a valid model|model is not supported|unsupported model|no deployments? available",
    re.IGNORECASE)

# Exception classes by name, most specific first along each class's MRO: the router needs no
# client installed to know them. APITimeoutError subclasses APIConnectionError in both SDKs, so
# the MRO walk meets the timeout first.
_TIMEOUTS = frozenset({
    "TimeoutError", "APITimeoutError", "TimeoutException", "ConnectTimeout", "ReadTimeout",
    "WriteTimeout", "PoolTimeout", "ReadTimeoutError", "ConnectTimeoutError", "ServerTimeoutError",
})
_CONNECTION = frozenset({
    "APIConnectionError", "ConnectError", "ReadError", "WriteError", "CloseError", "NetworkError",
    "RemoteProtocolError", "ProxyError", "EndpointConnectionError", "ConnectionClosedError",
    "ClientConnectorError", "ServerDisconnectedError", "ClientOSError", "ConnectionError",
    "RemoteDisconnected", "IncompleteRead", "HTTPException",
})
# Throttling and outage codes of AWS (botocore's ClientError carries them in `response`).
_AWS_RETRY = frozenset({
    "ThrottlingException", "TooManyRequestsException", "ServiceUnavailableException",
    "ModelNotReadyException", "ModelTimeoutException", "InternalServerException",
    "RequestLimitExceeded", "Throttling", "ProvisionedThroughputExceededException",
})
_AWS_FAILOVER = frozenset({
    "AccessDeniedException", "ResourceNotFoundException", "UnrecognizedClientException",
    "ExpiredTokenException", "ModelErrorException", "ServiceQuotaExceededException",
})


def parse_retry_after(headers: Headers | Mapping[str, Any] | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from `retry-after-ms`, `Retry-After` (seconds or an HTTP date), or LiteLLM's
    forwarded `llm_provider-retry-after(-ms)`; None if absent or unreadable."""
    if not headers:
        return None
    for name, scale in (("retry-after-ms", 1000.0), ("retry-after", 1.0),
                        ("llm_provider-retry-after-ms", 1000.0), ("llm_provider-retry-after", 1.0)):
        value = _header(headers, name)
        if value is None:
            continue
        seconds = _seconds(str(value).strip(), scale, now)
        if seconds is not None:
            return seconds
    return None


def _header(headers: Headers | Mapping[str, Any], name: str) -> Any:
    value = headers.get(name)
    if value is None and isinstance(headers, Mapping):  # a plain dict keeps the sender's case
        for key, item in headers.items():
            if isinstance(key, str) and key.lower() == name:
                return item
    return value


def _seconds(value: str, scale: float, now: float | None) -> float | None:
    try:
        return max(0.0, float(value) / scale)
    except ValueError:
        pass
    if scale != 1.0:
        return None
    try:
        import email.utils  # only for a Retry-After given as a date

        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def classify_status(status: int, body: str = "", retry_after: float | None = None) -> Failure:
    """The classification of an HTTP error status, with the error body's signals.

    A context-length error, a content-policy refusal and an unknown model or deployment fail over
    (another model may serve); a content-policy refusal and an invalid request say nothing about
    the model's health, so they do not count against its breaker. Any other 400 or 422 stops.
    """
    snippet = " ".join(body.split())[:200]
    detail = f"HTTP {status}" + (f": {snippet}" if snippet else "")
    if status == 429:
        return Failure(FailureKind.RETRY, f"rate limited ({detail})", retry_after)
    if status == 529:
        return Failure(FailureKind.RETRY, f"overloaded ({detail})", retry_after)
    if status in (408, 425) or (status >= 500 and status != 501):
        return Failure(FailureKind.RETRY, f"server error ({detail})" if status >= 500 else f"timeout ({detail})",
                       retry_after)
    if status in (401, 403):
        return Failure(FailureKind.FAILOVER, f"authentication failed ({detail})")
    if status == 402:
        return Failure(FailureKind.FAILOVER, f"payment required ({detail})")
    if status in (404, 410):
        return Failure(FailureKind.FAILOVER, f"model not found ({detail})")
    if status in (405, 501):
        return Failure(FailureKind.FAILOVER, f"not supported by this provider ({detail})")
    if status == 413:
        return Failure(FailureKind.FAILOVER, f"request too long for this model ({detail})")
    if 400 <= status < 500:
        if _CONTEXT_TOO_LONG.search(body):
            return Failure(FailureKind.FAILOVER, f"request too long for this model ({detail})")
        if _CONTENT_POLICY.search(body):
            return Failure(FailureKind.FAILOVER, f"refused by content policy ({detail})", counts_for_breaker=False)
        if _UNKNOWN_MODEL.search(body):
            return Failure(FailureKind.FAILOVER, f"unknown model or deployment ({detail})")
        return Failure(FailureKind.STOP, f"invalid request ({detail})", counts_for_breaker=False)
    return Failure(FailureKind.FAILOVER, f"unexpected status ({detail})")


def classify_error(error: BaseException) -> Failure:
    """The default classification of an exception raised by `invoke`.

    A `ProviderError` carries its own kind. An error with an HTTP status is classified by it and
    by its body (see `classify_status`). Timeouts and dropped or refused connections retry. Any
    other exception fails over: it says this model could not serve, not that the request is
    wrong. Pass `Router(classify=...)` to decide otherwise, falling back on this function.
    """
    if isinstance(error, ProviderError):
        return Failure(error.kind, str(error), error.retry_after, error.counts_for_breaker)
    # urllib's errors exist only once urllib.error is loaded: no import for the clients that never do.
    urllib_error = sys.modules.get("urllib.error")
    if urllib_error is not None and isinstance(error, urllib_error.HTTPError):
        return classify_status(error.code, "", parse_retry_after(error.headers))
    aws = _aws_error(error)
    if aws is not None:
        return aws
    status = _status_of(error)
    if status is not None:
        return classify_status(status, _body_of(error), parse_retry_after(_headers_of(error)))
    if isinstance(error, TimeoutError):
        return Failure(FailureKind.RETRY, f"timed out ({error or 'no answer in time'})")
    if urllib_error is not None and isinstance(error, urllib_error.URLError):
        reason = error.reason
        if isinstance(reason, TimeoutError):
            return Failure(FailureKind.RETRY, f"timed out ({reason})")
        return Failure(FailureKind.RETRY, f"connection failed ({reason})")
    for cls in type(error).__mro__:
        name = cls.__name__
        if name in _TIMEOUTS:
            return Failure(FailureKind.RETRY, f"timed out ({type(error).__name__}: {error or 'no answer in time'})")
        if name in _CONNECTION:
            return Failure(FailureKind.RETRY, f"connection failed ({type(error).__name__}: {error})")
    return Failure(FailureKind.FAILOVER, f"{type(error).__name__}: {error}")


def _status_of(error: BaseException) -> int | None:
    for name in ("status_code", "status", "code"):
        value = getattr(error, name, None)
        if _is_status(value):
            return int(value)
    response = getattr(error, "response", None)
    if response is not None:
        for name in ("status_code", "status"):
            value = getattr(response, name, None)
            if _is_status(value):
                return int(value)
    return None


def _is_status(value: object) -> TypeGuard[int]:
    # `code` is an errno on an OSError and a string on some clients: only an HTTP status counts.
    return isinstance(value, int) and not isinstance(value, bool) and 100 <= value <= 599


def _headers_of(error: BaseException) -> Headers | None:
    headers = getattr(error, "headers", None)
    if headers is None:
        headers = getattr(getattr(error, "response", None), "headers", None)
    return headers if hasattr(headers, "get") else None


def _body_of(error: BaseException) -> str:
    """The text of an error's body wherever the client keeps it, capped."""
    parts = [str(error)]
    body = getattr(error, "body", None)
    if isinstance(body, Mapping | list):
        parts.append(json.dumps(body, default=str))
    elif isinstance(body, str | bytes):
        parts.append(body if isinstance(body, str) else body.decode("utf-8", "replace"))
    for name in ("message", "details"):
        value = getattr(error, name, None)
        if isinstance(value, str):
            parts.append(value)
        elif isinstance(value, Mapping | list):
            parts.append(json.dumps(value, default=str))
    response = getattr(error, "response", None)
    if response is not None and body is None:
        try:  # httpx raises ResponseNotRead for a stream that was never read
            text = response.text
        except Exception:
            text = None
        if isinstance(text, str):
            parts.append(text)
    return "\n".join(parts)[:_MAX_BODY]


def _aws_error(error: BaseException) -> Failure | None:
    """botocore's ClientError: the code and status are in the `response` dict."""
    response = getattr(error, "response", None)
    if not isinstance(response, Mapping):
        return None
    details = response.get("Error")
    if not isinstance(details, Mapping):
        return None
    code = str(details.get("Code", ""))
    message = str(details.get("Message", ""))
    metadata = response.get("ResponseMetadata")
    status = metadata.get("HTTPStatusCode") if isinstance(metadata, Mapping) else None
    headers = metadata.get("HTTPHeaders") if isinstance(metadata, Mapping) else None
    reason = f"{code}: {message}" if message else code
    if code in _AWS_RETRY:
        kind = "throttled" if "hrottl" in code or "TooMany" in code or "Limit" in code else "unavailable"
        return Failure(FailureKind.RETRY, f"{kind} ({reason})", parse_retry_after(headers))
    if code in _AWS_FAILOVER:
        return Failure(FailureKind.FAILOVER, reason)
    if _is_status(status):
        return classify_status(int(status), reason, parse_retry_after(headers))
    return None
