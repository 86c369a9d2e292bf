"""The breaker's targets at 1,000 routed calls a minute, on a fake clock: a rate, not a count."""

from __future__ import annotations

import random
from collections.abc import Callable

from modelreg.runtime import (
    BreakerPolicy,
    BreakerState,
    CircuitBreaker,
    EventKind,
    FailureKind,
    ProviderError,
    RetryPolicy,
    Router,
    RouterEvent,
    SnapshotModel,
)
from tests.runtime.conftest import FakeClock, model, registry

PER_CALL = 60.0 / 1000  # 1,000 calls a minute


def make_router(clock: FakeClock, events: list[RouterEvent]) -> Router:
    models = [model("acme/a", priority=1), model("acme/b", priority=2)]
    return Router(registry(models), policy=RetryPolicy(attempts_per_model=2), clock=clock, sleep=clock.sleep,
                  random=lambda: 0.0, on_event=events.append)


def transient() -> ProviderError:
    return ProviderError("HTTP 503", FailureKind.RETRY)


def failing_first(count: int) -> Callable[[SnapshotModel], str]:
    """An invoke whose first `count` tries fail with a transient error."""
    tries = iter([transient()] * count)

    def invoke(chosen: SnapshotModel) -> str:
        error = next(tries, None)
        if error is not None:
            raise error
        return chosen.name
    return invoke


def test_one_percent_of_calls_failing_once_never_opens_the_breaker(clock: FakeClock) -> None:
    events: list[RouterEvent] = []
    router = make_router(clock, events)
    served: list[str] = []
    for call in range(5_000):  # five minutes
        served.append(router.call("chat", failing_first(1 if call % 100 == 0 else 0)))
        clock.advance(PER_CALL)
    assert served == ["acme/a"] * 5_000
    assert [e for e in events if e.kind is EventKind.BREAKER] == []
    assert router.breaker_state("acme/a") is BreakerState.CLOSED


def test_a_model_that_fails_every_call_is_cut_off_within_five_routed_calls(clock: FakeClock) -> None:
    events: list[RouterEvent] = []
    router = make_router(clock, events)

    def invoke(chosen: SnapshotModel) -> str:
        if chosen.name == "acme/a":
            raise transient()
        return chosen.name
    routed = 0
    while router.breaker_state("acme/a") is not BreakerState.OPEN and routed < 5:
        assert router.call("chat", invoke) == "acme/b"
        routed += 1
        clock.advance(PER_CALL)
    assert router.breaker_state("acme/a") is BreakerState.OPEN
    assert routed == 3  # five failed attempts in a row: two, two, then one
    # From then on it is skipped without a call.
    tried: list[str] = []

    def record(chosen: SnapshotModel) -> str:
        tried.append(chosen.name)
        return chosen.name
    router.call("chat", record)
    assert tried == ["acme/b"]


def fails_a(failing: bool) -> Callable[[SnapshotModel], str]:
    def invoke(chosen: SnapshotModel) -> str:
        if chosen.name == "acme/a" and failing:
            raise ProviderError("HTTP 500", FailureKind.FAILOVER)
        return chosen.name
    return invoke


def test_half_the_calls_failing_opens_the_breaker_within_a_minute(clock: FakeClock) -> None:
    events: list[RouterEvent] = []
    router = make_router(clock, events)
    rolls = random.Random(7)
    start = clock()
    opened_at = None
    for _ in range(1_000):
        router.call("chat", fails_a(rolls.random() < 0.5))
        if router.breaker_state("acme/a") is BreakerState.OPEN:
            opened_at = clock() - start
            break
        clock.advance(PER_CALL)
    assert opened_at is not None and opened_at < 60.0
    [opening] = [e for e in events if e.kind is EventKind.BREAKER]
    assert (opening.model, opening.breaker_from, opening.breaker_to) == ("acme/a", BreakerState.CLOSED,
                                                                         BreakerState.OPEN)


def test_the_rate_slides_with_the_window() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(BreakerPolicy(failure_rate=0.5, min_volume=4, consecutive_failures=99, window=60.0),
                             clock)
    for ok in (False, True, False, True):  # half of four, but a success never opens the circuit
        assert breaker.record(ok) is None
    assert breaker.state is BreakerState.CLOSED
    assert breaker.counts() == (4, 2, 0)
    clock.advance(61.0)  # the old attempts leave the window
    assert breaker.counts() == (0, 0, 0)
    for ok in (True, True, True):
        breaker.record(ok)
    assert breaker.record(False) is None  # one in four
    assert breaker.record(False) is None  # two in five
    assert breaker.record(False) == (BreakerState.CLOSED, BreakerState.OPEN)  # three in six
