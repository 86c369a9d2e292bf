"""The retry policy of a routed call and the events that report what happened in it, shared by
the sync and async router. Standard library only.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass

from .breaker import BreakerState
from .errors import FailureKind
from .log import logger


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
    """A candidate was skipped: its circuit is open or it is at a limit (see `reason`)."""
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


LOG_LEVELS = {
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
    level = LOG_LEVELS[event.kind]
    if logger.isEnabledFor(level):
        logger.log(level, "%s", event.describe())
