"""An OpenAI-compatible chat client on the standard library, speaking the router's error
classification.

It sends `POST {api_base}/chat/completions` with the model's `model_id`, authenticated with the
key in the environment variable the provider's snapshot record names (`api_key_env`). HTTP
statuses, network errors and stream error events become `ProviderError`s whose kind tells the
router to retry, fail over or stop. One deadline bounds the whole response, not each socket
read: a provider that drips its body or sends keep-alives and no data is cut when it passes.
"""

from __future__ import annotations

import http.client
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from .bounded_http import Deadline, open_connection
from .errors import FailureKind, ProviderError
from .openai_wire import (
    DONE,
    MAX_ERROR_BODY,
    Message,
    completion,
    connection_failed,
    payload,
    prepare,
    sse_event,
    status_error,
    timed_out,
)
from .snapshot_registry import SnapshotModel


class OpenAIClient:
    """Chat completions against any OpenAI-compatible provider of the snapshot.

    `env` is where API keys are looked up (default `os.environ`); `base_urls` overrides a
    provider's `api_base` by provider name (a proxy, a test server). A request, the whole of its
    response included, takes at most `timeout` seconds, or less when the routed call's deadline
    is nearer; for a stream, that bound covers every chunk.

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
        deadline, connection, response = self._open(model, payload(model, messages, params))
        with deadline:
            try:
                body = response.read()
            except (OSError, http.client.HTTPException) as exc:
                raise self._failed(model, deadline, exc) from exc
            finally:
                response.close()
                connection.close()
            if deadline.expired.is_set():  # cut mid-body: what was read is not the whole answer
                raise timed_out(model, deadline.seconds)
        return completion(model, body)

    def stream(self, model: SnapshotModel, messages: Sequence[Message], **params: Any) -> Iterator[dict[str, Any]]:
        """A streamed chat completion: the SSE `data:` chunks, parsed, until `[DONE]`.

        The request is sent when iteration starts. A stream that ends without `[DONE]` raises
        ProviderError (retry): the connection was cut. An error event raises the error it names.
        """
        deadline, connection, response = self._open(model, payload(model, messages, params, stream=True))
        try:
            while True:
                try:
                    line = response.readline()
                except (OSError, http.client.HTTPException) as exc:
                    raise self._failed(model, deadline, exc) from exc
                if not line:
                    if deadline.expired.is_set():
                        raise timed_out(model, deadline.seconds)
                    raise ProviderError(f"{model.name}: the stream ended before [DONE]", FailureKind.RETRY)
                event = sse_event(model, line)
                if event is DONE:
                    return
                if event is not None:
                    yield event
        finally:
            deadline.cancel()
            response.close()
            connection.close()

    def _open(self, model: SnapshotModel,
              body: dict[str, Any]) -> tuple[Deadline, http.client.HTTPConnection, http.client.HTTPResponse]:
        request = prepare(model, body, env=self._env, base_urls=self._base_urls, timeout=self.timeout,
                          user_agent=self.user_agent)
        deadline = Deadline(request.timeout)
        try:
            connection, target = open_connection(request.url, deadline)
        except ValueError as exc:
            deadline.cancel()
            raise ProviderError(f"{model.name}: {exc}", FailureKind.FAILOVER, counts_for_breaker=False) from None
        except OSError as exc:
            deadline.cancel()
            raise self._failed(model, deadline, exc) from exc
        response: http.client.HTTPResponse | None = None
        try:
            deadline.connect(connection)
            connection.request("POST", target, body=request.body, headers=request.headers)
            response = connection.getresponse()
            if response.status >= 400:
                raise status_error(model, response.status, response.read(MAX_ERROR_BODY), response.headers)
            if response.status >= 300:
                raise ProviderError(f"{model.name}: redirected (HTTP {response.status}); set the provider's "
                                    "api_base to where it points", FailureKind.FAILOVER)
        except BaseException as exc:
            deadline.cancel()
            if response is not None:
                response.close()  # a response that ends its connection holds the socket
            connection.close()
            if isinstance(exc, OSError | http.client.HTTPException):
                raise self._failed(model, deadline, exc) from exc
            raise
        return deadline, connection, response

    @staticmethod
    def _failed(model: SnapshotModel, deadline: Deadline, exc: BaseException) -> ProviderError:
        if deadline.expired.is_set() or isinstance(exc, TimeoutError):
            return timed_out(model, deadline.seconds)
        return connection_failed(model, exc)
