"""The async OpenAI-compatible chat client, on `httpx` (the runtime's optional `httpx` extra).

The same requests, keys and error classification as `OpenAIClient`, for `Router.acall` and
`Router.astream`. The routed call's remaining time bounds the whole response: the request, the
body and, for a stream, every wait for the next chunk. `httpx` is imported when a client is made,
never by `import modelreg.runtime`.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .errors import FailureKind, ProviderError
from .openai_wire import (
    DONE,
    MAX_ERROR_BODY,
    Message,
    Prepared,
    completion,
    connection_failed,
    payload,
    prepare,
    sse_event,
    status_error,
    timed_out,
)
from .snapshot_registry import SnapshotModel

if TYPE_CHECKING:
    import httpx


class AsyncOpenAIClient:
    """Async chat completions against any OpenAI-compatible provider of the snapshot.

    Takes the arguments of `OpenAIClient`, plus `client`: an `httpx.AsyncClient` to share (made
    and owned here when None; close it with `aclose`).

        client = AsyncOpenAIClient()
        reply = await router.acall("chat", client.chat([{"role": "user", "content": "Hi"}]))
    """

    def __init__(self, *, env: Mapping[str, str] | None = None, base_urls: Mapping[str, str] | None = None,
                 timeout: float = 60.0, user_agent: str = "modelreg-runtime",
                 client: httpx.AsyncClient | None = None) -> None:
        try:
            import httpx
        except ImportError:
            raise ImportError("AsyncOpenAIClient needs httpx: pip install 'modelreg[httpx]'") from None
        self._httpx = httpx
        self._env = os.environ if env is None else env
        self._base_urls = dict(base_urls or {})
        self.timeout = timeout
        self.user_agent = user_agent
        self._owned = client is None
        self._client = client if client is not None else httpx.AsyncClient(trust_env=True)

    async def aclose(self) -> None:
        """Close the HTTP client, if this object made it."""
        if self._owned:
            await self._client.aclose()

    def chat(self, messages: Sequence[Message],
             **params: Any) -> Callable[[SnapshotModel], Awaitable[dict[str, Any]]]:
        """An `invoke` for `Router.acall`: one chat completion on whichever model it is given."""
        return lambda model: self.complete(model, messages, **params)

    def chat_stream(self, messages: Sequence[Message],
                    **params: Any) -> Callable[[SnapshotModel], AsyncIterator[dict[str, Any]]]:
        """An `open_stream` for `Router.astream`: the completion's SSE chunks as parsed JSON."""
        return lambda model: self.stream(model, messages, **params)

    async def complete(self, model: SnapshotModel, messages: Sequence[Message], **params: Any) -> dict[str, Any]:
        """One chat completion; returns the parsed response, raises ProviderError."""
        request = prepare(model, payload(model, messages, params), env=self._env, base_urls=self._base_urls,
                          timeout=self.timeout, user_agent=self.user_agent)
        end = asyncio.get_running_loop().time() + request.timeout
        response = await self._send(model, request, end, stream=False)
        if response.status_code >= 400:
            raise status_error(model, response.status_code, response.content[:MAX_ERROR_BODY], response.headers)
        return completion(model, response.content)

    async def stream(self, model: SnapshotModel, messages: Sequence[Message],
                     **params: Any) -> AsyncIterator[dict[str, Any]]:
        """A streamed chat completion: the SSE `data:` chunks, parsed, until `[DONE]`."""
        request = prepare(model, payload(model, messages, params, stream=True), env=self._env,
                          base_urls=self._base_urls, timeout=self.timeout, user_agent=self.user_agent)
        end = asyncio.get_running_loop().time() + request.timeout
        response = await self._send(model, request, end, stream=True)
        try:
            if response.status_code >= 400:
                body = await response.aread()
                raise status_error(model, response.status_code, body[:MAX_ERROR_BODY], response.headers)
            lines = response.aiter_lines()
            while True:
                try:
                    # Only the waits are timed: the time the caller spends between chunks is its own.
                    async with asyncio.timeout_at(end):
                        line = await anext(lines)
                except StopAsyncIteration:
                    raise ProviderError(f"{model.name}: the stream ended before [DONE]", FailureKind.RETRY) from None
                except TimeoutError:
                    raise timed_out(model, request.timeout) from None
                except self._httpx.HTTPError as exc:
                    raise connection_failed(model, exc) from exc
                event = sse_event(model, line.encode("utf-8"))
                if event is DONE:
                    return
                if event is not None:
                    yield event
        finally:
            await response.aclose()

    async def _send(self, model: SnapshotModel, request: Prepared, end: float, *, stream: bool) -> httpx.Response:
        """Send `request`, done by `end` (loop time): its headers, and its body unless `stream`."""
        try:
            async with asyncio.timeout_at(end):
                return await self._client.send(
                    self._client.build_request("POST", request.url, content=request.body, headers=request.headers,
                                               timeout=request.timeout), stream=stream)
        except TimeoutError:
            raise timed_out(model, request.timeout) from None
        except self._httpx.TimeoutException as exc:
            raise timed_out(model, request.timeout) from exc
        except self._httpx.HTTPError as exc:
            raise connection_failed(model, exc) from exc
