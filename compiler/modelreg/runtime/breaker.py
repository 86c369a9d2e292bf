"""A model's circuit breaker: it opens on a failure rate, not on a count of failures.

A count opens the breaker of a busy, healthy model as surely as a dead one's: at 1,000 calls a
minute, five failures are 0.5%. So the breaker opens when, over a sliding window with a minimum
volume, the share of failed attempts reaches a rate; or at once after a run of consecutive
failures, for a model that is plainly down and gets too few calls to make a rate.

Every attempt counts, including one a retry recovered: the rate absorbs the occasional transient
failure, and a model whose first tries fail half the time is unhealthy even when the second try
saves each call. Failures that say nothing about the model (an invalid request, a content-policy
refusal, a missing key) are not recorded at all. Standard library only.
"""

from __future__ import annotations

import enum
import math
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

_BUCKETS = 12  # the window slides in twelfths: memory and time per call stay constant


@dataclass(frozen=True, slots=True)
class BreakerPolicy:
    """When a model's circuit opens and for how long.

    It opens when, within the last `window` seconds, the model had at least `min_volume`
    attempts of which at least `failure_rate` failed, or after `consecutive_failures` failures
    in a row (a gap longer than `window` starts the run again). It stays open `open_for`
    seconds, then lets exactly one probe call through (half-open): success closes it, failure
    opens it again.
    """

    failure_rate: float = 0.5
    min_volume: int = 20
    window: float = 60.0
    consecutive_failures: int = 5
    open_for: float = 30.0

    def __post_init__(self) -> None:
        if not 0 < self.failure_rate <= 1:
            raise ValueError("failure_rate must be in (0, 1]")
        if self.min_volume < 1 or self.consecutive_failures < 1 or self.window <= 0 or self.open_for < 0:
            raise ValueError("breaker thresholds must be positive")

    def trips(self, total: int, failed: int, consecutive: int) -> bool:
        """Whether these counts open the circuit."""
        return consecutive >= self.consecutive_failures or (
            total >= self.min_volume and failed >= math.ceil(self.failure_rate * total - 1e-9))


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
        self._width = policy.window / _BUCKETS
        self._buckets: deque[list[int]] = deque()  # [bucket index, attempts, failures]
        self._total = 0
        self._failed = 0
        self._consecutive = 0
        self._last_failure = 0.0
        self._opened_at = 0.0
        self._probing = False

    @property
    def state(self) -> BreakerState:
        with self._lock:
            return self._state

    def counts(self) -> tuple[int, int, int]:
        """Attempts and failures in the window, and the current run of failures."""
        with self._lock:
            self._slide(int(self._clock() // self._width))
            return self._total, self._failed, self._consecutive

    def acquire(self) -> tuple[bool, Transition | None]:
        """May a call go to this model now? Also the state change it caused, if any.

        An open circuit past its `open_for` turns half-open and the caller becomes the probe;
        while the probe runs, everyone else is refused.
        """
        if self._state is BreakerState.CLOSED:  # the hot path: a read of one attribute
            return True, None
        with self._lock:
            state: BreakerState = self._state  # read again under the lock: another call may have closed it
            if state is BreakerState.CLOSED:
                return True, None
            if state is BreakerState.OPEN:
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
        """Give back a probe slot whose call ended without an outcome that counts."""
        with self._lock:
            self._probing = False

    def record(self, ok: bool) -> Transition | None:
        """Record an attempt's outcome; returns the state change it caused, if any."""
        with self._lock:
            now = self._clock()
            if self._state is BreakerState.HALF_OPEN:
                self._probing = False
                if ok:
                    self._reset()
                    self._state = BreakerState.CLOSED
                    return BreakerState.HALF_OPEN, BreakerState.CLOSED
                self._state = BreakerState.OPEN
                self._opened_at = now
                return BreakerState.HALF_OPEN, BreakerState.OPEN
            if self._state is BreakerState.OPEN:
                return None  # an attempt that started before the circuit opened
            index = int(now // self._width)
            buckets = self._buckets
            if buckets and buckets[-1][0] == index:
                bucket = buckets[-1]  # the window slid when this bucket was made: nothing to drop
            else:
                self._slide(index)
                bucket = [index, 0, 0]
                buckets.append(bucket)
            bucket[1] += 1
            self._total += 1
            if ok:
                self._consecutive = 0
                return None
            bucket[2] += 1
            self._failed += 1
            if now - self._last_failure > self.policy.window:
                self._consecutive = 0
            self._last_failure = now
            self._consecutive += 1
            if not self.policy.trips(self._total, self._failed, self._consecutive):
                return None
            self._state = BreakerState.OPEN
            self._opened_at = now
            self._reset()
            return BreakerState.CLOSED, BreakerState.OPEN

    def open(self) -> Transition | None:
        """Open the circuit now (another replica saw the model fail); None if it already was."""
        with self._lock:
            if self._state is BreakerState.OPEN:
                return None
            before = self._state
            self._state = BreakerState.OPEN
            self._opened_at = self._clock()
            self._probing = False
            self._reset()
            return before, BreakerState.OPEN

    def _slide(self, index: int) -> None:
        buckets = self._buckets
        oldest = index - _BUCKETS + 1
        while buckets and buckets[0][0] < oldest:
            _, total, failed = buckets.popleft()
            self._total -= total
            self._failed -= failed

    def _reset(self) -> None:
        self._buckets.clear()
        self._total = self._failed = self._consecutive = 0
