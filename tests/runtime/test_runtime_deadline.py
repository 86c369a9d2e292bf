"""The deadline holds against providers that hang, drip or only keep alive, sync and async; and a
stream's error event is an error, before and after the first chunk."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

from modelreg.runtime import (
    AsyncOpenAIClient,
    DeadlineExceeded,
    FailureKind,
    OpenAIClient,
    ProviderError,
    RetryPolicy,
    Router,
    RouterEvent,
    SnapshotModel,
    StreamInterrupted,
)
from tests.runtime.conftest import model, registry
from tests.runtime.fake_provider import FakeProvider, drip, keepalive, stream

ENV = {"ACME_API_KEY": "key"}
MESSAGES = [{"role": "user", "content": "Hi"}]
DEADLINE = 1.0
# A generous bound for "returned at the deadline": the fake would hold the call for 30 s and more.
PROMPTLY = DEADLINE + 1.5


def make_router(provider: FakeProvider, events: list[RouterEvent] | None = None) -> Router:
    models = [model("acme/a", priority=1), model("acme/b", priority=2)]
    return Router(registry(models, base_url=provider.url), policy=RetryPolicy(attempts_per_model=1),
                  on_event=None if events is None else events.append)


@pytest.mark.parametrize("reply", ["drip", "keepalive"])
def test_a_dripping_or_idle_provider_cannot_hold_a_call_past_its_deadline(provider: FakeProvider, reply: str) -> None:
    script = drip("x" * 200, interval=0.2) if reply == "drip" else keepalive(interval=0.2)
    provider.script("a", script)
    provider.script("b", script)
    router, client = make_router(provider), OpenAIClient(env=ENV, timeout=30.0)
    started = time.monotonic()
    with pytest.raises(DeadlineExceeded) as caught:
        if reply == "drip":
            router.call("chat", client.chat(MESSAGES), deadline=DEADLINE)
        else:
            with router.stream("chat", client.chat_stream(MESSAGES), deadline=DEADLINE) as chunks:
                list(chunks)
    assert time.monotonic() - started < PROMPTLY
    [attempt] = caught.value.attempts
    assert (attempt.model, attempt.outcome) == ("acme/a", "retry")
    assert attempt.reason.startswith("acme/a: timed out (no complete answer within ")


def test_acall_returns_at_the_deadline_and_leaves_no_thread_behind(provider: FakeProvider) -> None:
    provider.script("a", drip("x" * 200, interval=0.2))
    router, client = make_router(provider), OpenAIClient(env=ENV, timeout=30.0)
    finished = threading.Event()

    def work(chosen: SnapshotModel) -> dict[str, Any]:
        try:
            return client.complete(chosen, MESSAGES)
        finally:
            finished.set()

    async def main() -> None:
        await router.acall("chat", lambda chosen: asyncio.to_thread(work, chosen), deadline=DEADLINE)

    started = time.monotonic()
    with pytest.raises(DeadlineExceeded):
        asyncio.run(main())
    assert time.monotonic() - started < PROMPTLY
    # The worker thread was not left reading: the deadline cut its connection too.
    assert finished.wait(1.0)


@pytest.mark.parametrize("reply", ["drip", "keepalive"])
def test_the_async_client_holds_the_deadline(provider: FakeProvider, reply: str) -> None:
    script = drip("x" * 200, interval=0.2) if reply == "drip" else keepalive(interval=0.2)
    provider.script("a", script)
    provider.script("b", script)
    router = make_router(provider)

    async def main() -> None:
        client = AsyncOpenAIClient(env=ENV, timeout=30.0)
        try:
            if reply == "drip":
                await router.acall("chat", client.chat(MESSAGES), deadline=DEADLINE)
            else:
                async with await router.astream("chat", client.chat_stream(MESSAGES), deadline=DEADLINE) as chunks:
                    async for _ in chunks:
                        pass
        finally:
            await client.aclose()

    started = time.monotonic()
    with pytest.raises(DeadlineExceeded):
        asyncio.run(main())
    assert time.monotonic() - started < PROMPTLY


RATE_LIMITED = {"message": "Rate limit reached", "type": "rate_limit_error", "code": "429"}
INVALID = {"message": "messages: field required", "type": "invalid_request_error", "code": None}


def test_an_error_event_before_the_first_chunk_fails_over(provider: FakeProvider) -> None:
    provider.script("a", stream(error=RATE_LIMITED))
    events: list[RouterEvent] = []
    router, client = make_router(provider, events), OpenAIClient(env=ENV)
    with router.stream("chat", client.chat_stream(MESSAGES)) as chunks:
        texts = [c["choices"][0]["delta"]["content"] for c in chunks]
    assert (chunks.model.name, texts) == ("acme/b", ["hello"])
    [failure] = [e for e in events if e.kind.value == "failure"]
    assert (failure.model, failure.failure) == ("acme/a", FailureKind.RETRY)
    assert failure.reason.startswith("acme/a: error event in the stream: rate limited (HTTP 429: ")


def test_an_error_event_after_the_first_chunk_interrupts_the_stream(provider: FakeProvider) -> None:
    provider.script("a", stream("Hel", error=RATE_LIMITED))
    router, client = make_router(provider), OpenAIClient(env=ENV)
    texts: list[str] = []
    with pytest.raises(StreamInterrupted) as caught, router.stream("chat", client.chat_stream(MESSAGES)) as chunks:
        for chunk in chunks:
            texts.append(chunk["choices"][0]["delta"]["content"])
    assert texts == ["Hel"]
    cause = caught.value.__cause__
    assert isinstance(cause, ProviderError) and (cause.kind, cause.status) == (FailureKind.RETRY, 429)


def test_an_invalid_request_event_stops_the_stream(provider: FakeProvider) -> None:
    provider.script("a", stream(error=INVALID))
    router, client = make_router(provider), OpenAIClient(env=ENV)
    with pytest.raises(Exception) as caught:
        router.stream("chat", client.chat_stream(MESSAGES))
    assert type(caught.value).__name__ == "RequestRejected"
    assert provider.calls() == ["a"]


def test_the_async_stream_fails_over_on_an_error_event_and_interrupts_after_a_chunk(provider: FakeProvider) -> None:
    provider.script("a", stream(error={"type": "overloaded_error", "message": "Overloaded"}))
    provider.script("b", stream("one", "two"))
    provider.script("a", stream("Hel", error=RATE_LIMITED))
    router = make_router(provider)

    async def main() -> tuple[str, list[str], list[str]]:
        client = AsyncOpenAIClient(env=ENV)
        try:
            async with await router.astream("chat", client.chat_stream(MESSAGES)) as chunks:
                first = [c["choices"][0]["delta"]["content"] async for c in chunks]
            served = chunks.model.name
            second: list[str] = []
            with pytest.raises(StreamInterrupted):
                async with await router.astream("chat", client.chat_stream(MESSAGES)) as more:
                    async for c in more:
                        second.append(c["choices"][0]["delta"]["content"])
            return served, first, second
        finally:
            await client.aclose()

    assert asyncio.run(main()) == ("acme/b", ["one", "two"], ["Hel"])
