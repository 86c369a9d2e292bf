"""Router.call and Router.acall: classification, retries, failover, breakers, deadlines, events.

Time is a fake clock: backoff sleeps advance it, nothing really waits.
"""

from __future__ import annotations

import asyncio
import logging
import urllib.error
from collections.abc import Callable, Iterator
from email.message import Message
from typing import Any

import pytest

from modelreg.runtime import (
    AllCandidatesFailed,
    BreakerPolicy,
    BreakerState,
    DeadlineExceeded,
    EventKind,
    FailureKind,
    ProviderError,
    RequestRejected,
    RetryPolicy,
    Router,
    RouterEvent,
    SnapshotModel,
    StreamInterrupted,
    classify_error,
    classify_status,
    parse_retry_after,
    remaining_time,
)
from tests.runtime.conftest import FakeClock, model, registry

MODELS = [model("acme/a", priority=1), model("acme/b", priority=2), model("beta/c", priority=3),
          model("beta/d", priority=4), model("beta/e", priority=5),
          model("solo/only", ["generation.image-generation"])]


def retry(reason: str = "HTTP 500", after: float | None = None) -> ProviderError:
    return ProviderError(reason, FailureKind.RETRY, retry_after=after)


def failover(reason: str = "HTTP 401") -> ProviderError:
    return ProviderError(reason, FailureKind.FAILOVER)


def stop(reason: str = "HTTP 400") -> ProviderError:
    return ProviderError(reason, FailureKind.STOP)


class Script:
    """An invoke whose outcome per model is scripted: exceptions are raised, values returned.

    `cost` seconds pass on the clock during each call; unscripted calls return the model name.
    """

    def __init__(self, clock: FakeClock, cost: float = 0.0, **outcomes: list[Any]) -> None:
        self.clock = clock
        self.cost = cost
        self.outcomes = {name.replace("_", "/"): list(items) for name, items in outcomes.items()}
        self.calls: list[str] = []
        self.remaining: list[float | None] = []

    def _next(self, m: SnapshotModel) -> Any:
        self.calls.append(m.name)
        self.remaining.append(remaining_time())
        self.clock.advance(self.cost)
        queue = self.outcomes.get(m.name)
        outcome = queue.pop(0) if queue else m.name
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    def __call__(self, m: SnapshotModel) -> Any:
        return self._next(m)

    async def coroutine(self, m: SnapshotModel) -> Any:
        await asyncio.sleep(0)
        return self._next(m)


def make_router(clock: FakeClock, events: list[RouterEvent] | None = None, **policy: Any) -> Router:
    breaker = policy.pop("breaker", BreakerPolicy(consecutive_failures=100, min_volume=100))
    return Router(registry(MODELS), policy=RetryPolicy(**policy), breaker=breaker, clock=clock,
                  sleep=clock.sleep, async_sleep=clock.async_sleep, random=lambda: 0.0,
                  on_event=None if events is None else events.append)


Run = Callable[..., Any]


def run_sync(router: Router, capability: str, script: Script, **kwargs: Any) -> Any:
    return router.call(capability, script, **kwargs)


def run_async(router: Router, capability: str, script: Script, **kwargs: Any) -> Any:
    return asyncio.run(router.acall(capability, script.coroutine, **kwargs))


both = pytest.mark.parametrize("run", [run_sync, run_async], ids=["call", "acall"])


@both
def test_success_on_the_first_model(run: Run, clock: FakeClock) -> None:
    script = Script(clock)
    assert run(make_router(clock), "chat", script) == "acme/a"
    assert script.calls == ["acme/a"]


@both
def test_transient_failure_retries_the_same_model_with_backoff(run: Run, clock: FakeClock) -> None:
    script = Script(clock, acme_a=[retry(), "second try"])
    assert run(make_router(clock, backoff_base=0.5), "chat", script) == "second try"
    assert script.calls == ["acme/a", "acme/a"]
    assert clock.sleeps == [0.5]


@both
def test_retry_after_is_honoured(run: Run, clock: FakeClock) -> None:
    script = Script(clock, acme_a=[retry("HTTP 429", after=3.0)])
    assert run(make_router(clock), "chat", script) == "acme/a"
    assert script.calls == ["acme/a", "acme/a"]
    assert clock.sleeps == [3.0]


@both
def test_a_retry_after_too_long_fails_over_instead_of_waiting(run: Run, clock: FakeClock) -> None:
    script = Script(clock, acme_a=[retry("HTTP 429", after=120.0)])
    assert run(make_router(clock, max_retry_after=30.0), "chat", script) == "acme/b"
    assert script.calls == ["acme/a", "acme/b"]
    assert clock.sleeps == []


@both
def test_retries_exhausted_fail_over(run: Run, clock: FakeClock) -> None:
    script = Script(clock, acme_a=[retry(), retry(), retry()])
    assert run(make_router(clock, attempts_per_model=2), "chat", script) == "acme/b"
    assert script.calls == ["acme/a", "acme/a", "acme/b"]
    assert clock.sleeps == [0.25]


@both
def test_model_specific_failures_fail_over_at_once(run: Run, clock: FakeClock) -> None:
    script = Script(clock, acme_a=[failover("HTTP 401")], acme_b=[failover("HTTP 404")])
    assert run(make_router(clock), "chat", script) == "beta/c"
    assert script.calls == ["acme/a", "acme/b", "beta/c"]
    assert clock.sleeps == []


@both
def test_an_invalid_request_stops_at_once(run: Run, clock: FakeClock) -> None:
    script = Script(clock, acme_a=[retry(), stop("invalid request (HTTP 400)")])
    with pytest.raises(RequestRejected) as caught:
        run(make_router(clock), "chat", script)
    assert script.calls == ["acme/a", "acme/a"]
    assert str(caught.value) == (
        "chat: acme/a rejected the request as invalid; no other model is tried\n"
        "  #1 acme/a: retry: HTTP 500\n"
        "  #2 acme/a: stop: invalid request (HTTP 400)")
    assert isinstance(caught.value.__cause__, ProviderError)


@both
def test_when_everything_fails_one_error_lists_every_attempt(run: Run, clock: FakeClock) -> None:
    script = Script(clock, cost=0.5, acme_a=[failover("auth failed")], acme_b=[retry("HTTP 503"), retry("HTTP 502")],
                    beta_c=[failover("model not found")], beta_d=[ValueError("bad adapter state")],
                    beta_e=[TimeoutError("read timed out")] * 2)
    with pytest.raises(AllCandidatesFailed) as caught:
        run(make_router(clock), "chat", script)
    assert str(caught.value) == (
        "chat: all 5 candidate(s) failed\n"
        "  #1 acme/a: failover: auth failed\n"
        "  #2 acme/b: retry: HTTP 503\n"
        "  #3 acme/b: retry: HTTP 502\n"
        "  #4 beta/c: failover: model not found\n"
        "  #5 beta/d: failover: ValueError: bad adapter state\n"
        "  #6 beta/e: retry: timed out (read timed out)\n"
        "  #7 beta/e: retry: timed out (read timed out)")
    assert [a.elapsed for a in caught.value.attempts] == [0.5, 1.0, 1.75, 2.25, 2.75, 3.25, 4.0]
    assert isinstance(caught.value.__cause__, TimeoutError)


@both
def test_the_number_of_attempts_is_bounded(run: Run, clock: FakeClock) -> None:
    script = Script(clock, acme_a=[failover()], acme_b=[failover()], beta_c=[failover()])
    with pytest.raises(AllCandidatesFailed, match=r"^chat: gave up after 3 attempt\(s\) \(max_attempts\)"):
        run(make_router(clock, max_attempts=3), "chat", script)
    assert script.calls == ["acme/a", "acme/b", "beta/c"]


@both
def test_the_deadline_covers_the_whole_chain(run: Run, clock: FakeClock) -> None:
    script = Script(clock, cost=4.0, acme_a=[failover()], acme_b=[failover()], beta_c=[failover()])
    with pytest.raises(DeadlineExceeded) as caught:
        run(make_router(clock, deadline=10.0), "chat", script)
    assert script.calls == ["acme/a", "acme/b", "beta/c"]
    assert script.remaining == [10.0, 6.0, 2.0]
    assert str(caught.value).splitlines()[0] == "chat: deadline of 10s expired after 3 attempt(s)"


@both
def test_no_backoff_sleep_past_the_deadline(run: Run, clock: FakeClock) -> None:
    script = Script(clock, cost=1.0, acme_a=[retry("HTTP 429", after=5.0)])
    assert run(make_router(clock, deadline=4.0), "chat", script) == "acme/b"
    assert clock.sleeps == []


@both
def test_a_per_call_deadline_overrides_the_policy(run: Run, clock: FakeClock) -> None:
    script = Script(clock, cost=3.0, acme_a=[failover()])
    with pytest.raises(DeadlineExceeded, match="deadline of 2s expired after 1 attempt"):
        run(make_router(clock, deadline=60.0), "chat", script, deadline=2.0)


@both
def test_filters_apply_to_fallbacks_too(run: Run, clock: FakeClock) -> None:
    script = Script(clock, acme_a=[failover()], acme_b=[failover()])
    with pytest.raises(AllCandidatesFailed, match="all 2 candidate"):
        run(make_router(clock), "chat", script, providers=["acme"])
    assert script.calls == ["acme/a", "acme/b"]


@both
def test_events_report_every_step(run: Run, clock: FakeClock) -> None:
    events: list[RouterEvent] = []
    script = Script(clock, acme_a=[retry("HTTP 500"), failover("HTTP 401")])
    assert run(make_router(clock, events), "chat", script) == "acme/b"
    assert [(e.kind, e.model, e.attempt) for e in events] == [
        (EventKind.ATTEMPT, "acme/a", 1),
        (EventKind.FAILURE, "acme/a", 1),
        (EventKind.RETRY, "acme/a", 1),
        (EventKind.ATTEMPT, "acme/a", 2),
        (EventKind.FAILURE, "acme/a", 2),
        (EventKind.FAILOVER, "acme/a", 2),
        (EventKind.ATTEMPT, "acme/b", 3),
        (EventKind.SUCCESS, "acme/b", 3),
    ]
    assert events[1].failure is FailureKind.RETRY and events[1].reason == "HTTP 500"
    assert events[2].delay == 0.25
    assert events[5].reason == "to acme/b"


def test_events_are_logged_and_a_broken_callback_does_not_fail_the_call(
        clock: FakeClock, caplog: pytest.LogCaptureFixture) -> None:
    def broken(event: RouterEvent) -> None:
        raise RuntimeError("metrics backend down")

    router = Router(registry(MODELS), clock=clock, sleep=clock.sleep, random=lambda: 0.0, on_event=broken)
    caplog.set_level(logging.DEBUG, logger="modelreg.runtime")
    script = Script(clock, acme_a=[failover("HTTP 403")])
    assert router.call("chat", script) == "acme/b"
    messages = [r.getMessage() for r in caplog.records if r.name == "modelreg.runtime"]
    assert "chat: failure acme/a [failover] HTTP 403 attempt 1, 0.000s" in messages
    assert "chat: success acme/b attempt 2, 0.000s" in messages
    assert messages.count("router event callback failed") == 5


@both
def test_the_breaker_opens_skips_probes_once_and_closes(run: Run, clock: FakeClock) -> None:
    events: list[RouterEvent] = []
    router = make_router(clock, events, attempts_per_model=1,
                         breaker=BreakerPolicy(failure_rate=0.6, min_volume=3, consecutive_failures=10,
                                               window=60.0, open_for=30.0))
    # One success and two failures within the window: volume 3, a failure rate of 2/3 -> open.
    assert run(router, "generation.image-generation", Script(clock)) == "solo/only"
    for _ in range(2):
        with pytest.raises(AllCandidatesFailed):
            run(router, "generation.image-generation", Script(clock, solo_only=[failover("HTTP 401")]))
    assert router.breaker_state("solo/only") is BreakerState.OPEN

    # While open, the only model of the pool is skipped: nothing is called.
    script = Script(clock)
    with pytest.raises(AllCandidatesFailed) as caught:
        run(router, "generation.image-generation", script)
    assert script.calls == []
    assert str(caught.value) == ("generation.image-generation: all 1 candidate(s) failed\n"
                                 "  - solo/only: skipped: circuit open")

    # After open_for, one probe goes through; a failed probe reopens the circuit.
    clock.advance(30.0)
    script = Script(clock, solo_only=[failover("HTTP 401")])
    with pytest.raises(AllCandidatesFailed):
        run(router, "generation.image-generation", script)
    assert script.calls == ["solo/only"]
    assert router.breaker_state("solo/only") is BreakerState.OPEN

    # The next probe succeeds and closes it.
    clock.advance(30.0)
    assert run(router, "generation.image-generation", Script(clock)) == "solo/only"
    assert router.breaker_state("solo/only") is BreakerState.CLOSED
    transitions = [(e.breaker_from, e.breaker_to) for e in events if e.kind is EventKind.BREAKER]
    assert transitions == [
        (BreakerState.CLOSED, BreakerState.OPEN),
        (BreakerState.OPEN, BreakerState.HALF_OPEN),
        (BreakerState.HALF_OPEN, BreakerState.OPEN),
        (BreakerState.OPEN, BreakerState.HALF_OPEN),
        (BreakerState.HALF_OPEN, BreakerState.CLOSED),
    ]


def test_half_open_lets_exactly_one_probe_through(clock: FakeClock) -> None:
    router = make_router(clock, attempts_per_model=1,
                         breaker=BreakerPolicy(consecutive_failures=1, window=60.0, open_for=10.0))
    with pytest.raises(AllCandidatesFailed):
        router.call("chat", Script(clock, acme_a=[failover()]), providers=["acme"], exclude_models=["acme/b"])
    clock.advance(10.0)
    inner: list[list[str]] = []

    def probe(m: SnapshotModel) -> str:
        # A second request while the probe is in flight: acme/a is skipped, acme/b serves it.
        nested = Script(clock)
        assert router.call("chat", nested, providers=["acme"]) == "acme/b"
        inner.append(nested.calls)
        return m.name

    assert router.call("chat", probe, providers=["acme"]) == "acme/a"
    assert inner == [["acme/b"]]
    assert router.breaker_state("acme/a") is BreakerState.CLOSED


class Abandoned(BaseException):
    """Leaves a call mid-attempt, as a cancelled task or an interrupt does."""


@both
def test_a_probe_abandoned_midway_frees_its_slot(run: Run, clock: FakeClock) -> None:
    events: list[RouterEvent] = []
    router = make_router(clock, events, attempts_per_model=1,
                         breaker=BreakerPolicy(consecutive_failures=1, window=60.0, open_for=10.0))
    only_a: dict[str, Any] = {"providers": ["acme"], "exclude_models": ["acme/b"]}
    with pytest.raises(AllCandidatesFailed):
        run(router, "chat", Script(clock, acme_a=[failover()]), **only_a)
    clock.advance(10.0)
    with pytest.raises(Abandoned):
        run(router, "chat", Script(clock, acme_a=[Abandoned()]), **only_a)
    assert router.breaker_state("acme/a") is BreakerState.HALF_OPEN
    # Had the abandoned probe kept its slot, acme/a would be skipped now.
    assert run(router, "chat", Script(clock), **only_a) == "acme/a"
    assert router.breaker_state("acme/a") is BreakerState.CLOSED
    assert [e.kind for e in events if e.model == "acme/a"].count(EventKind.SKIPPED) == 0


def test_failures_outside_the_window_do_not_open_the_breaker(clock: FakeClock) -> None:
    router = make_router(clock, attempts_per_model=1,
                         breaker=BreakerPolicy(consecutive_failures=2, failure_rate=1.0, min_volume=2,
                                               window=10.0, open_for=30.0))
    for _ in range(3):
        router.call("chat", Script(clock, acme_a=[failover()]))
        clock.advance(11.0)
    assert router.breaker_state("acme/a") is BreakerState.CLOSED
    router.call("chat", Script(clock, acme_a=[failover()]))
    router.call("chat", Script(clock, acme_a=[failover()]))
    assert router.breaker_state("acme/a") is BreakerState.OPEN


def test_failures_that_say_nothing_about_the_model_do_not_count(clock: FakeClock) -> None:
    router = make_router(clock, attempts_per_model=1,
                         breaker=BreakerPolicy(consecutive_failures=1, window=60.0, open_for=30.0))
    missing_key = ProviderError("no API key", FailureKind.FAILOVER, counts_for_breaker=False)
    assert router.call("chat", Script(clock, acme_a=[missing_key])) == "acme/b"
    assert router.breaker_state("acme/a") is BreakerState.CLOSED


def test_an_invalid_request_is_no_strike_against_the_model(clock: FakeClock) -> None:
    router = make_router(clock, breaker=BreakerPolicy(consecutive_failures=1, window=60.0, open_for=30.0))
    with pytest.raises(RequestRejected):
        router.call("chat", Script(clock, acme_a=[stop()]))
    assert router.breaker_state("acme/a") is BreakerState.CLOSED


def test_acall_cancels_an_attempt_at_the_deadline() -> None:
    router = Router(registry(MODELS), policy=RetryPolicy(deadline=0.05), random=lambda: 0.0)
    calls: list[str] = []

    async def hang(m: SnapshotModel) -> str:
        calls.append(m.name)
        await asyncio.sleep(30)
        return m.name

    with pytest.raises(DeadlineExceeded) as caught:
        asyncio.run(router.acall("chat", hang))
    assert calls == ["acme/a"]
    assert caught.value.attempts[0].outcome == "retry"
    assert caught.value.attempts[0].reason.startswith("timed out")


def test_stream_fails_over_only_before_the_first_chunk(clock: FakeClock) -> None:
    router = make_router(clock)
    opened: list[str] = []

    def open_stream(m: SnapshotModel) -> Iterator[str]:
        opened.append(m.name)
        if m.name == "acme/a":
            raise failover("HTTP 404")
        if m.name == "acme/b":
            yield from ()
            raise retry("connection reset")  # before the first chunk
        yield "one"
        yield "two"
        raise retry("connection reset")

    chunks = router.stream("chat", open_stream)
    assert chunks.model.name == "beta/c"
    assert opened == ["acme/a", "acme/b", "acme/b", "beta/c"]
    received = []
    with pytest.raises(StreamInterrupted, match=r"^beta/c: stream interrupted after the first chunk: connection reset"):
        for chunk in chunks:
            received.append(chunk)
    assert received == ["one", "two"]
    assert opened == ["acme/a", "acme/b", "acme/b", "beta/c"]


def test_a_stream_closed_early_closes_its_source(clock: FakeClock) -> None:
    closed: list[bool] = []

    def open_stream(m: SnapshotModel) -> Iterator[str]:
        try:
            yield "one"
            yield "two"
        finally:
            closed.append(True)

    with make_router(clock).stream("chat", open_stream) as chunks:
        assert next(chunks) == "one"
    assert closed == [True]


@pytest.mark.parametrize(("status", "body", "kind", "reason"), [
    (429, "", FailureKind.RETRY, "rate limited (HTTP 429)"),
    (500, "oops", FailureKind.RETRY, "server error (HTTP 500: oops)"),
    (503, "", FailureKind.RETRY, "server error (HTTP 503)"),
    (529, "", FailureKind.RETRY, "overloaded (HTTP 529)"),
    (408, "", FailureKind.RETRY, "timeout (HTTP 408)"),
    (401, "", FailureKind.FAILOVER, "authentication failed (HTTP 401)"),
    (403, "", FailureKind.FAILOVER, "authentication failed (HTTP 403)"),
    (404, "", FailureKind.FAILOVER, "model not found (HTTP 404)"),
    (501, "", FailureKind.FAILOVER, "not supported by this provider (HTTP 501)"),
    (400, '{"error": {"code": "context_length_exceeded"}}', FailureKind.FAILOVER,
     'request too long for this model (HTTP 400: {"error": {"code": "context_length_exceeded"}})'),
    (413, "", FailureKind.FAILOVER, "request too long for this model (HTTP 413)"),
    (400, '{"error": {"message": "messages: field required"}}', FailureKind.STOP,
     'invalid request (HTTP 400: {"error": {"message": "messages: field required"}})'),
    (422, "", FailureKind.STOP, "invalid request (HTTP 422)"),
])
def test_http_statuses_are_classified(status: int, body: str, kind: FailureKind, reason: str) -> None:
    failure = classify_status(status, body)
    assert (failure.kind, failure.reason) == (kind, reason)


def test_exceptions_are_classified() -> None:
    headers = Message()
    headers["Retry-After"] = "7"
    http_429 = urllib.error.HTTPError("http://x", 429, "Too Many Requests", headers, None)
    assert classify_error(http_429).kind is FailureKind.RETRY and classify_error(http_429).retry_after == 7.0
    http_429.close()
    assert classify_error(TimeoutError()).kind is FailureKind.RETRY
    assert classify_error(ConnectionResetError("reset")).reason == "connection failed (ConnectionResetError: reset)"
    assert classify_error(urllib.error.URLError(TimeoutError("slow"))).reason == "timed out (slow)"
    assert classify_error(urllib.error.URLError("refused")).kind is FailureKind.RETRY
    assert classify_error(KeyError("x")).kind is FailureKind.FAILOVER


def test_retry_after_forms() -> None:
    assert parse_retry_after({"Retry-After": "2"}) == 2.0
    assert parse_retry_after({"Retry-After": "1.5", "retry-after-ms": "250"}) == 0.25
    assert parse_retry_after({"Retry-After": "Wed, 21 Oct 2015 07:28:10 GMT"}, now=1445412480.0) == 10.0
    assert parse_retry_after({"Retry-After": "soon"}) is None
    assert parse_retry_after({}) is None and parse_retry_after(None) is None


def test_policies_refuse_nonsense() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        RetryPolicy(attempts_per_model=0)
    with pytest.raises(ValueError, match="deadline must be positive"):
        RetryPolicy(deadline=0)
    with pytest.raises(ValueError, match="breaker thresholds"):
        BreakerPolicy(consecutive_failures=0)
    with pytest.raises(ValueError, match="failure_rate"):
        BreakerPolicy(failure_rate=0)
