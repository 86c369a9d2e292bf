"""Failover machinery shared by the sync and async router: error classification, retry policy,
per-model circuit breakers and the events that report what happened. Standard library only.
"""

from __future__ import annotations

import email.utils
import enum
import http.client
import logging
import re
import threading
import time
import urllib.error
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from modelreg.runtime.errors import FailureKind, ProviderError
from modelreg.runtime.log import logger


@dataclass(frozen=True, slots=True)
class Failure:
    """A classified failure: what to do next, why, and how long the provider asked us to wait."""

    kind: FailureKind
    reason: str
    retry_after: float | None = None
    counts_for_breaker: bool = True


_CONTEXT_TOO_LONG = re.compile(
    r"context_length_exceeded|context length|context window|maximum context|too many tokens|"
    r"prompt is too long|input is too long|string_above_max_length|reduce the length", re.IGNORECASE)


class Headers(Protocol):
    """Response headers: a mapping, or `http.client.HTTPMessage`."""

    def get(self, name: str, /) -> Any: ...


def parse_retry_after(headers: Headers | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from `Retry-After` (seconds or an HTTP date) or `retry-after-ms`; None if absent."""
    if not headers:
        return None
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = headers.get("Retry-After")
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def classify_status(status: int, body: str = "", retry_after: float | None = None) -> Failure:
    """The classification of an HTTP error status (with the response body, for context-length errors)."""
    snippet = " ".join(body.split())[:200]
    detail = f"HTTP {status}" + (f": {snippet}" if snippet else "")
    if status == 429:
        return Failure(FailureKind.RETRY, f"rate limited ({detail})", retry_after)
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
    if status == 413 or (status in (400, 422) and _CONTEXT_TOO_LONG.search(body)):
        return Failure(FailureKind.FAILOVER, f"request too long for this model ({detail})")
    if 400 <= status < 500:
        return Failure(FailureKind.STOP, f"invalid request ({detail})")
    return Failure(FailureKind.FAILOVER, f"unexpected status ({detail})")


def classify_error(error: BaseException) -> Failure:
    """The default classification of an exception raised by `invoke`.

    ProviderError carries its own kind; urllib's HTTPError maps by status; timeouts and dropped
    connections are transient. Any other exception fails over: it says this model could not
    serve, not that the request is wrong.
    """
    if isinstance(error, ProviderError):
        return Failure(error.kind, str(error), error.retry_after, error.counts_for_breaker)
    if isinstance(error, urllib.error.HTTPError):
        return classify_status(error.code, "", parse_retry_after(error.headers))
    if isinstance(error, TimeoutError):
        return Failure(FailureKind.RETRY, f"timed out ({error or 'no answer in time'})")
    if isinstance(error, urllib.error.URLError):
        if isinstance(error.reason, TimeoutError):
            return Failure(FailureKind.RETRY, f"timed out ({error.reason})")
        return Failure(FailureKind.RETRY, f"connection failed ({error.reason})")
    if isinstance(error, ConnectionError | http.client.HTTPException):
        return Failure(FailureKind.RETRY, f"connection failed ({type(error).__name__}: {error})")
    return Failure(FailureKind.FAILOVER, f"{type(error).__name__}: {error}")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard one routed call tries.

    `attempts_per_model` bounds the tries of one model for transient failures (1 = no retry);
    `max_attempts` bounds the tries of the whole chain; `deadline` (seconds) bounds its time.
    Backoff doubles from `backoff_base` up to `backoff_max`, minus up to `jitter` of itself; a
    Retry-After longer than the backoff wins, and one longer than `max_retry_after` (or past the
    deadline) makes the router fail over instead of waiting.
    """

    attempts_per_model: int = 2
    max_attempts: int = 8
    deadline: float = 60.0
    backoff_base: float = 0.25
    backoff_max: float = 8.0
    jitter: float = 0.5
    max_retry_after: float = 30.0

    def __post_init__(self) -> None:
        if self.attempts_per_model < 1 or self.max_attempts < 1:
            raise ValueError("attempts_per_model and max_attempts must be at least 1")
        if self.deadline <= 0:
            raise ValueError("deadline must be positive")

    def backoff(self, tries: int, rand: float) -> float:
        """The pause after the `tries`-th failed try of one model (`rand` in [0, 1))."""
        delay = min(self.backoff_max, self.backoff_base * 2.0 ** (tries - 1))
        return delay * (1 - self.jitter * rand)


@dataclass(frozen=True, slots=True)
class BreakerPolicy:
    """When a model's circuit opens and for how long.

    The circuit opens when, within the last `window` seconds, the model had at least
    `min_volume` calls of which at least `failures` failed. It stays open for `open_for` seconds,
    then lets exactly one probe call through (half-open): success closes it, failure reopens it.
    """

    failures: int = 5
    window: float = 60.0
    min_volume: int = 5
    open_for: float = 30.0

    def __post_init__(self) -> None:
        if self.failures < 1 or self.min_volume < 1 or self.window <= 0 or self.open_for < 0:
            raise ValueError("breaker thresholds must be positive")


class BreakerState(enum.Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half-open"


Transition = tuple[BreakerState, BreakerState]


class CircuitBreaker:
    """The circuit of one model. Thread-safe; the clock is injected."""

    def __init__(self, policy: BreakerPolicy, clock: Callable[[], float]) -> None:
        self.policy = policy
        self._clock = clock
        self._lock = threading.Lock()
        self._state = BreakerState.CLOSED
        self._calls: deque[tuple[float, bool]] = deque()
        self._opened_at = 0.0
        self._probing = False

    @property
    def state(self) -> BreakerState:
        with self._lock:
            return self._state

    def acquire(self) -> tuple[bool, Transition | None]:
        """May a call go to this model now? Also the state change it caused, if any.

        An open circuit past its `open_for` turns half-open and the caller becomes the probe;
        while the probe runs, everyone else is refused.
        """
        with self._lock:
            if self._state is BreakerState.CLOSED:
                return True, None
            if self._state is BreakerState.OPEN:
                if self._clock() - self._opened_at < self.policy.open_for:
                    return False, None
                self._state = BreakerState.HALF_OPEN
                self._probing = True
                return True, (BreakerState.OPEN, BreakerState.HALF_OPEN)
            if self._probing:
                return False, None
            self._probing = True
            return True, None

    def release(self) -> None:
        """Give back a probe slot whose call ended without an outcome (cancelled)."""
        with self._lock:
            self._probing = False

    def record(self, ok: bool) -> Transition | None:
        """Record a call's outcome; returns the state change it caused, if any."""
        with self._lock:
            now = self._clock()
            if self._state is BreakerState.HALF_OPEN:
                self._probing = False
                if ok:
                    self._state = BreakerState.CLOSED
                    self._calls.clear()
                    return BreakerState.HALF_OPEN, BreakerState.CLOSED
                self._state = BreakerState.OPEN
                self._opened_at = now
                return BreakerState.HALF_OPEN, BreakerState.OPEN
            if self._state is BreakerState.OPEN:
                return None  # a call that started before the circuit opened
            calls = self._calls
            calls.append((now, ok))
            horizon = now - self.policy.window
            while calls and calls[0][0] <= horizon:
                calls.popleft()
            if ok or len(calls) < self.policy.min_volume:
                return None
            failed = sum(1 for _, good in calls if not good)
            if failed < self.policy.failures:
                return None
            self._state = BreakerState.OPEN
            self._opened_at = now
            calls.clear()
            return BreakerState.CLOSED, BreakerState.OPEN


class EventKind(enum.Enum):
    """What a router event reports."""

    ATTEMPT = "attempt"
    """A call to a model starts."""
    FAILURE = "failure"
    """A call failed (see `failure` and `reason`)."""
    RETRY = "retry"
    """The same model will be tried again after `delay` seconds."""
    FAILOVER = "failover"
    """The router moves on to the next candidate."""
    SKIPPED = "skipped"
    """A candidate was skipped because its circuit is open."""
    BREAKER = "breaker"
    """A model's circuit changed state (`breaker_from` -> `breaker_to`)."""
    SUCCESS = "success"
    """The final outcome: a model answered."""
    GAVE_UP = "gave-up"
    """The final outcome: the call failed (see `reason`)."""


@dataclass(frozen=True, slots=True)
class RouterEvent:
    """One thing that happened during a routed call, for metrics and logs."""

    kind: EventKind
    capability: str
    model: str | None
    attempt: int
    """Attempts made so far in this call."""
    elapsed: float
    """Seconds since the call started."""
    failure: FailureKind | None = None
    reason: str = ""
    delay: float | None = None
    breaker_from: BreakerState | None = None
    breaker_to: BreakerState | None = None

    def describe(self) -> str:
        """One line for a log."""
        parts = [f"{self.capability}: {self.kind.value}"]
        if self.model:
            parts.append(self.model)
        if self.kind is EventKind.BREAKER and self.breaker_from and self.breaker_to:
            parts.append(f"{self.breaker_from.value} -> {self.breaker_to.value}")
        if self.failure is not None:
            parts.append(f"[{self.failure.value}]")
        if self.reason:
            parts.append(self.reason)
        if self.delay is not None:
            parts.append(f"(waiting {self.delay:.3f}s)")
        parts.append(f"attempt {self.attempt}, {self.elapsed:.3f}s")
        return " ".join(parts)


_LOG_LEVELS = {
    EventKind.ATTEMPT: logging.DEBUG,
    EventKind.SUCCESS: logging.DEBUG,
    EventKind.FAILURE: logging.INFO,
    EventKind.RETRY: logging.INFO,
    EventKind.FAILOVER: logging.INFO,
    EventKind.SKIPPED: logging.INFO,
    EventKind.BREAKER: logging.WARNING,
    EventKind.GAVE_UP: logging.WARNING,
}


def log_event(event: RouterEvent) -> None:
    """Send an event to the `modelreg.runtime` logger at a level that fits it."""
    level = _LOG_LEVELS[event.kind]
    if logger.isEnabledFor(level):
        logger.log(level, "%s", event.describe())
