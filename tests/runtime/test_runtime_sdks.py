"""The router's default classification of what the official clients raise: `openai`, `anthropic`
and `httpx`, each against a fake provider on 127.0.0.1, and through the router."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from typing import Any

import anthropic
import botocore.exceptions
import httpx
import openai
import pytest

from modelreg.runtime import (
    BreakerState,
    FailureKind,
    RequestRejected,
    RetryPolicy,
    Router,
    SnapshotModel,
    classify_error,
    remaining_time,
)
from tests.runtime.conftest import model, registry
from tests.runtime.fake_provider import FakeProvider, Reply, cut, hang, ok, status

MESSAGES: list[Any] = [{"role": "user", "content": "Hi"}]


def openai_error(detail: str, code: str | None = None) -> str:
    return json.dumps({"error": {"message": detail, "type": "invalid_request_error", "code": code}})


CASES: dict[str, tuple[Reply, FailureKind, bool, float | None]] = {
    # name: (the fake's reply, expected kind, counts for the breaker, expected retry-after)
    "429 with Retry-After": (status(429, openai_error("Rate limit reached"), Retry_After="2"),
                             FailureKind.RETRY, True, 2.0),
    "429 with retry-after-ms": (status(429, openai_error("slow down"), retry_after_ms="1500"),
                                FailureKind.RETRY, True, 1.5),
    "429 behind LiteLLM": (Reply("status", status=429, body=openai_error("slow down"),
                                 headers={"llm_provider-retry-after": "3"}), FailureKind.RETRY, True, 3.0),
    "500": (status(500, openai_error("The server had an error")), FailureKind.RETRY, True, None),
    "503": (status(503, "upstream unavailable"), FailureKind.RETRY, True, None),
    "529 overloaded": (status(529, '{"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}'),
                       FailureKind.RETRY, True, None),
    "401": (status(401, openai_error("Incorrect API key provided")), FailureKind.FAILOVER, True, None),
    "403": (status(403, openai_error("Not allowed")), FailureKind.FAILOVER, True, None),
    "404": (status(404, openai_error("The model `gpt-9` does not exist", "model_not_found")),
            FailureKind.FAILOVER, True, None),
    "context too long": (status(400, openai_error("This model's maximum context length is 8192 tokens",
                                                  "context_length_exceeded")), FailureKind.FAILOVER, True, None),
    "content policy": (status(400, openai_error("Your request was rejected as a result of our safety system.",
                                                "content_policy_violation")), FailureKind.FAILOVER, False, None),
    "unknown model behind LiteLLM": (status(400, openai_error("Invalid model name passed in model=gpt-9")),
                                     FailureKind.FAILOVER, True, None),
    "400": (status(400, openai_error("messages: field required")), FailureKind.STOP, False, None),
    "422": (status(422, '{"detail": [{"loc": ["body", "messages"], "msg": "field required"}]}'),
            FailureKind.STOP, False, None),
    "timeout": (hang(), FailureKind.RETRY, True, None),
    "dropped connection": (cut(), FailureKind.RETRY, True, None),
}


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


Call = Callable[[str], Any]


def openai_call(base_url: str) -> Call:
    client = openai.OpenAI(base_url=base_url, api_key="key", max_retries=0, timeout=0.5)
    return lambda model_id: client.chat.completions.create(model=model_id, messages=MESSAGES)


def anthropic_call(base_url: str) -> Call:
    client = anthropic.Anthropic(base_url=base_url.removesuffix("/v1"), api_key="key", max_retries=0, timeout=0.5)
    return lambda model_id: client.messages.create(model=model_id, max_tokens=16, messages=MESSAGES)


def httpx_call(base_url: str) -> Call:
    client = httpx.Client(base_url=base_url, timeout=0.5)

    def call(model_id: str) -> Any:
        response = client.post("/chat/completions", json={"model": model_id, "messages": MESSAGES})
        response.raise_for_status()
        return response.json()
    return call


CLIENTS = {"openai": openai_call, "anthropic": anthropic_call, "httpx": httpx_call}


def raised(call: Callable[[], Any]) -> BaseException:
    try:
        call()
    except Exception as exc:
        return exc
    raise AssertionError("the call succeeded")


@pytest.mark.parametrize("client", sorted(CLIENTS))
@pytest.mark.parametrize("case", sorted(CASES))
def test_every_common_failure_of_each_client_is_classified(provider: FakeProvider, client: str, case: str) -> None:
    reply, kind, counts, retry_after = CASES[case]
    provider.script("m", reply)
    error = raised(lambda: CLIENTS[client](provider.url)("m"))
    failure = classify_error(error)
    assert (failure.kind, failure.counts_for_breaker, failure.retry_after) == (kind, counts, retry_after), (
        type(error), failure.reason)
    if case == "timeout":  # by the class name: both SDKs' timeouts subclass their connection error
        assert failure.reason.startswith("timed out ("), failure.reason


@pytest.mark.parametrize("client", sorted(CLIENTS))
def test_a_refused_connection_is_transient(client: str) -> None:
    error = raised(lambda: CLIENTS[client](f"http://127.0.0.1:{closed_port()}/v1")("m"))
    failure = classify_error(error)
    assert (failure.kind, failure.counts_for_breaker) == (FailureKind.RETRY, True)
    assert failure.reason.startswith("connection failed ("), failure.reason


def test_aws_throttling_and_google_statuses_are_known() -> None:
    throttled = botocore.exceptions.ClientError(
        {"Error": {"Code": "ThrottlingException", "Message": "Too many requests"},
         "ResponseMetadata": {"HTTPStatusCode": 400, "HTTPHeaders": {"retry-after": "4"}}}, "Converse")
    failure = classify_error(throttled)
    assert (failure.kind, failure.retry_after, failure.reason) == (
        FailureKind.RETRY, 4.0, "throttled (ThrottlingException: Too many requests)")
    too_long = botocore.exceptions.ClientError(
        {"Error": {"Code": "ValidationException", "Message": "Input is too long for requested model."},
         "ResponseMetadata": {"HTTPStatusCode": 400}}, "Converse")
    assert classify_error(too_long).kind is FailureKind.FAILOVER
    invalid = botocore.exceptions.ClientError(
        {"Error": {"Code": "ValidationException", "Message": "messages: field required"},
         "ResponseMetadata": {"HTTPStatusCode": 400}}, "Converse")
    assert (classify_error(invalid).kind, classify_error(invalid).counts_for_breaker) == (FailureKind.STOP, False)
    assert classify_error(botocore.exceptions.ReadTimeoutError(endpoint_url="http://x")).reason.startswith(
        "timed out (ReadTimeoutError: ")
    assert classify_error(botocore.exceptions.EndpointConnectionError(endpoint_url="http://x")).kind is (
        FailureKind.RETRY)
    # google-genai's APIError: `code` is the HTTP status, `status` a word.
    exhausted = type("ClientError", (Exception,), {"code": 429, "status": "RESOURCE_EXHAUSTED",
                                                   "message": "Quota exceeded"})("429 RESOURCE_EXHAUSTED")
    assert classify_error(exhausted).kind is FailureKind.RETRY
    # An OSError's errno is no HTTP status.
    assert classify_error(FileNotFoundError(2, "gone")).kind is FailureKind.FAILOVER


class Fleet:
    """Three models on the fake provider, routed with the official openai SDK as `invoke`."""

    def __init__(self, provider: FakeProvider, **policy: Any) -> None:
        self.provider = provider
        self.sleeps: list[float] = []
        models = [model("acme/a", priority=1), model("acme/b", priority=2), model("acme/c", priority=3)]
        self.router = Router(registry(models, base_url=provider.url), policy=RetryPolicy(**policy),
                             sleep=self.sleeps.append, random=lambda: 0.0)
        self.client = openai.OpenAI(base_url=provider.url, api_key="key", max_retries=0)

    def invoke(self, chosen: SnapshotModel) -> Any:
        return self.client.with_options(timeout=remaining_time()).chat.completions.create(
            model=chosen.model_id, messages=MESSAGES)


def test_the_router_waits_as_the_sdk_error_says_then_retries(provider: FakeProvider) -> None:
    fleet = Fleet(provider)
    provider.script("a", status(429, openai_error("Rate limit reached"), Retry_After="2"), ok("after the wait"))
    reply = fleet.router.call("chat", fleet.invoke)
    assert (reply.model, reply.choices[0].message.content) == ("a", "after the wait")
    assert fleet.sleeps == [2.0]
    assert provider.calls() == ["a", "a"]


def test_invalid_requests_stop_at_once_and_never_open_a_breaker(provider: FakeProvider) -> None:
    fleet = Fleet(provider)
    for _ in range(5):
        provider.script("a", status(400, openai_error("messages: field required")))
        with pytest.raises(RequestRejected) as caught:
            fleet.router.call("chat", fleet.invoke)
    assert provider.calls() == ["a"] * 5  # five bad requests, five HTTP calls
    assert [fleet.router.breaker_state(m) for m in ("acme/a", "acme/b", "acme/c")] == [BreakerState.CLOSED] * 3
    assert str(caught.value).startswith("chat: acme/a rejected the request as invalid; no other model is tried")


def test_content_policy_and_unknown_models_fail_over(provider: FakeProvider) -> None:
    fleet = Fleet(provider)
    provider.script("a", status(400, openai_error("Rejected by our safety system", "content_policy_violation")))
    provider.script("b", status(400, openai_error("Invalid model name passed in model=b")))
    reply = fleet.router.call("chat", fleet.invoke)
    assert reply.model == "c"
    assert provider.calls() == ["a", "b", "c"]


def test_with_the_sdks_retries_off_a_refused_connection_costs_one_call_per_try() -> None:
    port = closed_port()
    models = [model("acme/a", priority=1)]
    sleeps: list[float] = []
    router = Router(registry(models, base_url=f"http://127.0.0.1:{port}/v1"), sleep=sleeps.append,
                    random=lambda: 0.0)
    client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="key", max_retries=0)
    with pytest.raises(Exception) as caught:
        router.call("chat", lambda m: client.with_options(timeout=remaining_time()).chat.completions.create(
            model=m.model_id, messages=MESSAGES))
    assert [a.outcome for a in caught.value.attempts] == ["retry", "retry"]  # type: ignore[attr-defined]
    assert sleeps == [0.25]  # the router's own backoff, and nothing of the SDK's
