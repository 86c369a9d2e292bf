"""The OpenAI-compatible adapter against a fake provider on 127.0.0.1, through the router."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from modelreg.runtime import (
    AllCandidatesFailed,
    BreakerPolicy,
    BreakerState,
    DeadlineExceeded,
    EventKind,
    FailureKind,
    OpenAIClient,
    ProviderError,
    RequestRejected,
    RetryPolicy,
    Router,
    RouterEvent,
    StreamInterrupted,
)
from tests.runtime.conftest import model, registry
from tests.runtime.fake_provider import FakeProvider, cut, hang, ok, status, stream

ENV = {"ACME_API_KEY": "key-acme", "BRAVO_API_KEY": "key-bravo"}
MESSAGES = [{"role": "user", "content": "Hi"}]


class Setup:
    def __init__(self, provider: FakeProvider, *, timeout: float = 2.0, env: dict[str, str] | None = None,
                 **policy: Any) -> None:
        self.provider = provider
        self.sleeps: list[float] = []
        self.events: list[RouterEvent] = []
        models = [model("acme/alpha", priority=1, model_id="alpha-2024"), model("acme/beta", priority=2),
                  model("bravo/gamma", priority=3)]
        self.router = Router(registry(models, base_url=provider.url), policy=RetryPolicy(**policy),
                             sleep=self.sleeps.append, random=lambda: 0.0, on_event=self.events.append)
        self.client = OpenAIClient(env=ENV if env is None else env, timeout=timeout)

    def failures(self) -> list[tuple[str | None, str | None]]:
        return [(e.model, e.reason) for e in self.events if e.kind is EventKind.FAILURE]

    def chat(self) -> str:
        reply = self.router.call("chat", self.client.chat(MESSAGES, temperature=0))
        content: str = reply["choices"][0]["message"]["content"]
        return f"{reply['model']}: {content}"


@pytest.fixture
def setup(provider: FakeProvider) -> Setup:
    return Setup(provider)


def test_a_successful_chat_request(setup: Setup, provider: FakeProvider) -> None:
    provider.script("alpha-2024", ok("hello there"))
    assert setup.chat() == "alpha-2024: hello there"
    [request] = provider.seen
    assert request.path == "/v1/chat/completions"
    assert request.headers["Authorization"] == "Bearer key-acme"
    assert request.body == {"model": "alpha-2024", "messages": MESSAGES, "temperature": 0}


def test_429_waits_as_told_then_retries(setup: Setup, provider: FakeProvider) -> None:
    provider.script("alpha-2024", status(429, "slow down", Retry_After="2"), ok("after the wait"))
    assert setup.chat() == "alpha-2024: after the wait"
    assert provider.calls() == ["alpha-2024", "alpha-2024"]
    assert setup.sleeps == [2.0]


def test_5xx_retries_then_fails_over(setup: Setup, provider: FakeProvider) -> None:
    provider.script("alpha-2024", status(500), status(503))
    assert setup.chat() == "beta: hello"
    assert provider.calls() == ["alpha-2024", "alpha-2024", "beta"]
    assert setup.sleeps == [0.25]


@pytest.mark.parametrize("code", [401, 403, 404])
def test_auth_and_not_found_fail_over_at_once(setup: Setup, provider: FakeProvider, code: int) -> None:
    provider.script("alpha-2024", status(code, '{"error": {"message": "nope"}}'))
    assert setup.chat() == "beta: hello"
    assert provider.calls() == ["alpha-2024", "beta"]
    assert setup.sleeps == []


def test_context_too_long_fails_over(setup: Setup, provider: FakeProvider) -> None:
    provider.script("alpha-2024", status(400, '{"error": {"code": "context_length_exceeded", '
                                              '"message": "This model\'s maximum context length is 8192 tokens"}}'))
    assert setup.chat() == "beta: hello"
    assert provider.calls() == ["alpha-2024", "beta"]


def test_an_invalid_request_stops(setup: Setup, provider: FakeProvider) -> None:
    provider.script("alpha-2024", status(400, '{"error": {"message": "temperature must be <= 2"}}'))
    with pytest.raises(RequestRejected) as caught:
        setup.chat()
    assert provider.calls() == ["alpha-2024"]
    assert str(caught.value).splitlines()[1] == (
        '  #1 acme/alpha: stop: acme/alpha: invalid request (HTTP 400: {"error": {"message": '
        '"temperature must be <= 2"}})')


def test_a_hanging_provider_times_out_and_fails_over(provider: FakeProvider) -> None:
    setup = Setup(provider, timeout=0.2)
    provider.script("alpha-2024", hang(), hang())
    assert setup.chat() == "beta: hello"
    assert provider.calls() == ["alpha-2024", "alpha-2024", "beta"]
    # The client's own timeout ended each attempt (the fake hangs far longer, then drops the line).
    assert setup.failures() == [("acme/alpha", "acme/alpha: timed out (no complete answer within 0.2s)")] * 2


def test_a_cut_connection_is_retried(setup: Setup, provider: FakeProvider) -> None:
    provider.script("alpha-2024", cut(), ok("second"))
    assert setup.chat() == "alpha-2024: second"
    assert provider.calls() == ["alpha-2024", "alpha-2024"]


def test_the_deadline_bounds_a_hanging_request(provider: FakeProvider) -> None:
    setup = Setup(provider, timeout=30.0, deadline=0.3)
    provider.script("alpha-2024", hang())
    with pytest.raises(DeadlineExceeded) as caught:
        setup.chat()
    assert provider.calls() == ["alpha-2024"]
    # Timed out, not cut off when the fake gives up: the request's timeout was the 0.3 s left, not 30 s.
    assert [(a.model, a.outcome, a.reason) for a in caught.value.attempts] == [
        ("acme/alpha", "retry", "acme/alpha: timed out (no complete answer within 0.3s)")]
    assert str(caught.value).splitlines()[0] == "chat: deadline of 0.3s expired after 1 attempt(s)"


def test_a_missing_api_key_skips_the_provider_without_a_request(provider: FakeProvider) -> None:
    setup = Setup(provider, env={"BRAVO_API_KEY": "key-bravo"})
    assert setup.chat() == "gamma: hello"
    assert provider.calls() == ["gamma"]
    assert setup.router.breaker_state("acme/alpha") is BreakerState.CLOSED


def test_every_failure_reported_at_once(provider: FakeProvider) -> None:
    setup = Setup(provider, attempts_per_model=1)
    provider.script("alpha-2024", status(401))
    provider.script("beta", status(404))
    provider.script("gamma", status(502, "bad gateway"))
    with pytest.raises(AllCandidatesFailed) as caught:
        setup.chat()
    assert str(caught.value) == (
        "chat: all 3 candidate(s) failed\n"
        "  #1 acme/alpha: failover: acme/alpha: authentication failed (HTTP 401)\n"
        "  #2 acme/beta: failover: acme/beta: model not found (HTTP 404)\n"
        "  #3 bravo/gamma: retry: bravo/gamma: server error (HTTP 502: bad gateway)")


def test_the_breaker_stops_calling_a_failing_provider(provider: FakeProvider) -> None:
    models = [model("acme/alpha", model_id="alpha-2024")]
    router = Router(registry(models, base_url=provider.url), policy=RetryPolicy(attempts_per_model=1),
                    breaker=BreakerPolicy(consecutive_failures=2, open_for=60.0))
    client = OpenAIClient(env=ENV)
    provider.script("alpha-2024", status(500), status(500), ok())
    for _ in range(3):
        with pytest.raises(AllCandidatesFailed):
            router.call("chat", client.chat(MESSAGES))
    assert provider.calls() == ["alpha-2024", "alpha-2024"]


def collect(chunks: Iterator[dict[str, object]]) -> list[str]:
    texts = []
    for chunk in chunks:
        choices = chunk["choices"]
        assert isinstance(choices, list)
        texts.append(choices[0]["delta"]["content"])
    return texts


def test_streaming_fails_over_before_the_first_chunk(setup: Setup, provider: FakeProvider) -> None:
    provider.script("alpha-2024", status(503), stream("a", "b", cut_after=0))
    provider.script("beta", stream("Hel", "lo", "!"))
    with setup.router.stream("chat", setup.client.chat_stream(MESSAGES)) as chunks:
        assert chunks.model.name == "acme/beta"
        assert collect(chunks) == ["Hel", "lo", "!"]
    assert provider.calls() == ["alpha-2024", "alpha-2024", "beta"]
    assert provider.seen[-1].body["stream"] is True


def test_streaming_never_fails_over_after_the_first_chunk(setup: Setup, provider: FakeProvider) -> None:
    provider.script("alpha-2024", stream("Hel", "lo", cut_after=1))
    received: list[str] = []
    with pytest.raises(StreamInterrupted) as caught, setup.router.stream(
            "chat", setup.client.chat_stream(MESSAGES)) as chunks:
        for chunk in chunks:
            received.append(chunk["choices"][0]["delta"]["content"])
    assert received == ["Hel"]
    assert provider.calls() == ["alpha-2024"]
    assert str(caught.value) == ("acme/alpha: stream interrupted after the first chunk: "
                                 "acme/alpha: the stream ended before [DONE]")


def test_a_provider_speaking_another_protocol_is_refused(provider: FakeProvider) -> None:
    models = [model("acme/alpha", model_id="alpha-2024")]
    router = Router(registry(models, base_url=provider.url, api="anthropic"))
    with pytest.raises(AllCandidatesFailed, match="provider `acme` speaks `anthropic`, not the OpenAI API"):
        router.call("chat", OpenAIClient(env=ENV).chat(MESSAGES))
    assert provider.calls() == []


def test_a_non_json_answer_fails_over(setup: Setup, provider: FakeProvider) -> None:
    model_alpha = setup.router.registry.get_model("acme/alpha")
    assert model_alpha is not None
    provider.script("alpha-2024", status(200, "<html>proxy error</html>"))
    with pytest.raises(ProviderError) as caught:
        setup.client.complete(model_alpha, MESSAGES)
    assert caught.value.kind is FailureKind.FAILOVER
    assert str(caught.value) == "acme/alpha: the response is not JSON"
