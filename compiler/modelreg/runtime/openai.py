"""An OpenAI-compatible chat client on urllib, speaking the router's error classification.

It sends `POST {api_base}/chat/completions` with the model's `model_id`, authenticated with the
key in the environment variable the provider's snapshot record names (`api_key_env`). HTTP
statuses and network errors become `ProviderError`s whose kind tells the router to retry, fail
over or stop. Standard library only.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from modelreg.runtime.classify import classify_status, parse_retry_after
from modelreg.runtime.errors import FailureKind, ProviderError
from modelreg.runtime.router import remaining_time
from modelreg.runtime.snapshot_registry import SnapshotModel

Message = Mapping[str, Any]
_MAX_ERROR_BODY = 64 * 1024


class OpenAIClient:
    """Chat completions against any OpenAI-compatible provider of the snapshot.

    `env` is where API keys are looked up (default `os.environ`); `base_urls` overrides a
    provider's `api_base` by provider name (a proxy, a test server). Each request times out after
    `timeout` seconds, or sooner when the routed call's deadline is nearer.

        client = OpenAIClient()
        reply = router.call("chat", client.chat([{"role": "user", "content": "Hi"}]))
    """

    def __init__(self, *, env: Mapping[str, str] | None = None, base_urls: Mapping[str, str] | None = None,
                 timeout: float = 60.0, user_agent: str = "modelreg-runtime") -> None:
        self._env = os.environ if env is None else env
        self._base_urls = dict(base_urls or {})
        self.timeout = timeout
        self.user_agent = user_agent

    def chat(self, messages: Sequence[Message], **params: Any) -> Callable[[SnapshotModel], dict[str, Any]]:
        """An `invoke` for `Router.call`: one chat completion on whichever model it is given."""
        return lambda model: self.complete(model, messages, **params)

    def chat_stream(self, messages: Sequence[Message],
                    **params: Any) -> Callable[[SnapshotModel], Iterator[dict[str, Any]]]:
        """An `open_stream` for `Router.stream`: the completion's SSE chunks as parsed JSON."""
        return lambda model: self.stream(model, messages, **params)

    def complete(self, model: SnapshotModel, messages: Sequence[Message], **params: Any) -> dict[str, Any]:
        """One chat completion; returns the parsed response, raises ProviderError."""
        with self._open(model, {"model": model.model_id, "messages": list(messages), **params}) as response:
            try:
                body = response.read()
            except (OSError, http.client.HTTPException) as exc:
                raise _network_error(model, exc) from exc
        try:
            reply = json.loads(body)
        except ValueError:
            raise ProviderError(f"{model.name}: the response is not JSON", FailureKind.FAILOVER) from None
        if not isinstance(reply, dict):
            raise ProviderError(f"{model.name}: the response is not a JSON object", FailureKind.FAILOVER)
        return reply

    def stream(self, model: SnapshotModel, messages: Sequence[Message], **params: Any) -> Iterator[dict[str, Any]]:
        """A streamed chat completion: the SSE `data:` chunks, parsed, until `[DONE]`.

        The request is sent when iteration starts. A stream that ends without `[DONE]` raises
        ProviderError (retry): the connection was cut.
        """
        response = self._open(model, {"model": model.model_id, "messages": list(messages), "stream": True, **params})
        try:
            while True:
                try:
                    line = response.readline()
                except (OSError, http.client.HTTPException) as exc:
                    raise _network_error(model, exc) from exc
                if not line:
                    raise ProviderError(f"{model.name}: the stream ended before [DONE]", FailureKind.RETRY)
                text = line.decode("utf-8", "replace").strip()
                if not text.startswith("data:"):
                    continue  # blank separators, comments, `event:` lines
                data = text[5:].strip()
                if data == "[DONE]":
                    return
                try:
                    chunk = json.loads(data)
                except ValueError:
                    raise ProviderError(f"{model.name}: a stream chunk is not JSON", FailureKind.FAILOVER) from None
                yield chunk
        finally:
            response.close()

    def _open(self, model: SnapshotModel, payload: dict[str, Any]) -> http.client.HTTPResponse:
        provider = model.endpoint
        if provider is not None and provider.api not in (None, "openai"):
            raise ProviderError(f"{model.name}: provider `{model.provider}` speaks `{provider.api}`, not the "
                                "OpenAI API", FailureKind.FAILOVER, counts_for_breaker=False)
        base = self._base_urls.get(model.provider) or (provider.api_base if provider else None)
        if not base:
            raise ProviderError(f"{model.name}: provider `{model.provider}` has no api_base",
                                FailureKind.FAILOVER, counts_for_breaker=False)
        headers = {"Content-Type": "application/json", "Accept": "application/json", "User-Agent": self.user_agent}
        key_env = provider.api_key_env if provider else None
        if key_env:
            key = self._env.get(key_env)
            if not key:
                raise ProviderError(f"{model.name}: no API key: the environment variable {key_env} is not set",
                                    FailureKind.FAILOVER, counts_for_breaker=False)
            headers["Authorization"] = f"Bearer {key}"
        request = urllib.request.Request(base.rstrip("/") + "/chat/completions", method="POST",
                                         data=json.dumps(payload).encode("utf-8"), headers=headers)
        timeout = self.timeout
        left = remaining_time()
        if left is not None:
            if left <= 0:
                raise ProviderError(f"{model.name}: no time left before the deadline", FailureKind.RETRY,
                                    counts_for_breaker=False)
            timeout = min(timeout, left)
        try:
            response: http.client.HTTPResponse = urllib.request.urlopen(request, timeout=timeout)
        except urllib.error.HTTPError as exc:
            raise _http_error(model, exc) from None
        except (OSError, http.client.HTTPException) as exc:
            raise _network_error(model, exc) from exc
        return response


def _http_error(model: SnapshotModel, exc: urllib.error.HTTPError) -> ProviderError:
    try:
        body = exc.read(_MAX_ERROR_BODY).decode("utf-8", "replace")
    except (OSError, http.client.HTTPException):
        body = ""
    finally:
        exc.close()
    failure = classify_status(exc.code, body, parse_retry_after(exc.headers))
    return ProviderError(f"{model.name}: {failure.reason}", failure.kind, status=exc.code,
                         retry_after=failure.retry_after)


def _network_error(model: SnapshotModel, exc: BaseException) -> ProviderError:
    reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    if isinstance(reason, TimeoutError | socket.timeout):
        return ProviderError(f"{model.name}: timed out ({reason or 'no answer in time'})", FailureKind.RETRY)
    return ProviderError(f"{model.name}: connection failed ({type(reason).__name__}: {reason})", FailureKind.RETRY)
