"""Where the router keeps what it learns about models: circuit breakers and request budgets.

`HealthStore` is the interface; `LocalHealthStore`, the default, keeps it in this process. The
Redis store (`modelreg.runtime.redis_store`) shares it across replicas. Standard library only.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from .breaker import BreakerPolicy, BreakerState, CircuitBreaker, Transition

MINUTE = 60.0


@dataclass(frozen=True, slots=True)
class Limits:
    """A model's request budget: requests and tokens per minute (None: no limit)."""

    rpm: int | None = None
    tpm: int | None = None

    def __post_init__(self) -> None:
        for name in ("rpm", "tpm"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ValueError(f"{name} must be a positive integer, not {value!r}")

    def __bool__(self) -> bool:
        return self.rpm is not None or self.tpm is not None


@dataclass(frozen=True, slots=True)
class Admission:
    """A store's answer to "may an attempt go to this model now?"."""

    allowed: bool
    reason: str = ""
    """Why not: `circuit open`, or the limit the model is at."""
    transition: Transition | None = None
    """The breaker state change that asking caused (open -> half-open for a probe)."""


ADMITTED = Admission(True)


class HealthStore(Protocol):
    """Breaker state and request budgets per model name, for one router or a fleet."""

    def admit(self, model: str, limits: Limits | None) -> Admission:
        """Take a slot for one attempt: refused while the circuit is open or a limit is reached."""
        ...

    def record(self, model: str, ok: bool, tokens: int | None = None) -> Transition | None:
        """An attempt's outcome that says something about the model's health."""
        ...

    def release(self, model: str, tokens: int | None = None) -> None:
        """An attempt ended with no outcome that counts: give back a probe slot."""
        ...

    def state(self, model: str) -> BreakerState:
        """The circuit state of one model as this store knows it."""
        ...

    def blocked(self, model: str, limits: Limits | None) -> str:
        """Why an attempt on `model` would be refused now ("" if it would not), taking nothing."""
        ...


class LocalHealthStore:
    """The in-process store: one `CircuitBreaker` per model and per-minute usage counters."""

    def __init__(self, policy: BreakerPolicy | None = None, *, clock: Callable[[], float]) -> None:
        self.policy = policy or BreakerPolicy()
        self._clock = clock
        self._breakers: dict[str, CircuitBreaker] = {}
        self._usage: dict[str, list[int]] = {}  # model -> [minute, requests, tokens]
        self._lock = threading.Lock()

    def breaker(self, model: str) -> CircuitBreaker:
        """The breaker of `model`, made on first use."""
        breaker = self._breakers.get(model)
        if breaker is None:
            with self._lock:
                breaker = self._breakers.setdefault(model, CircuitBreaker(self.policy, self._clock))
        return breaker

    def admit(self, model: str, limits: Limits | None) -> Admission:
        breaker = self._breakers.get(model) or self.breaker(model)
        if limits:
            refused = self._over_budget(model, limits)
            if refused:
                return Admission(False, refused)
        allowed, transition = breaker.acquire()
        if not allowed:
            if limits and limits.rpm is not None:
                self._count(model, requests=-1)
            return Admission(False, "circuit open", transition)
        return ADMITTED if transition is None else Admission(True, "", transition)

    def record(self, model: str, ok: bool, tokens: int | None = None) -> Transition | None:
        if tokens:
            self._count(model, tokens=tokens)
        return (self._breakers.get(model) or self.breaker(model)).record(ok)

    def release(self, model: str, tokens: int | None = None) -> None:
        if tokens:
            self._count(model, tokens=tokens)
        self.breaker(model).release()

    def state(self, model: str) -> BreakerState:
        breaker = self._breakers.get(model)
        return breaker.state if breaker is not None else BreakerState.CLOSED

    def blocked(self, model: str, limits: Limits | None) -> str:
        if self.state(model) is BreakerState.OPEN:
            return "circuit open"
        if limits:
            requests, tokens = self.usage(model)
            return _over(limits, requests, tokens)
        return ""

    def usage(self, model: str) -> tuple[int, int]:
        """Requests and tokens of `model` in the current minute."""
        with self._lock:
            counts = self._current(model)
            return counts[1], counts[2]

    def open(self, model: str) -> Transition | None:
        """Open `model`'s circuit now (what another replica learnt)."""
        return self.breaker(model).open()

    def _over_budget(self, model: str, limits: Limits) -> str:
        with self._lock:
            counts = self._current(model)
            refused = _over(limits, counts[1], counts[2])
            if not refused and limits.rpm is not None:
                counts[1] += 1
            return refused

    def _count(self, model: str, *, requests: int = 0, tokens: int = 0) -> None:
        with self._lock:
            counts = self._current(model)
            counts[1] += requests
            counts[2] += tokens

    def _current(self, model: str) -> list[int]:
        minute = int(self._clock() // MINUTE)
        counts = self._usage.get(model)
        if counts is None or counts[0] != minute:
            counts = self._usage[model] = [minute, 0, 0]
        return counts


def _over(limits: Limits, requests: int, tokens: int) -> str:
    """The limit that this minute's usage has reached, in words; "" if none."""
    if limits.tpm is not None and tokens >= limits.tpm:
        return f"at its limit of {limits.tpm:,} tokens a minute"
    if limits.rpm is not None and requests >= limits.rpm:
        return f"at its limit of {limits.rpm:,} requests a minute"
    return ""


def usage_tokens(result: object) -> int | None:
    """The tokens a completion used, from its `usage` (an object or a dict, as the SDKs and the
    runtime's clients return it); None when it does not say."""
    usage = result.get("usage") if isinstance(result, dict) else getattr(result, "usage", None)
    if usage is None:
        return None
    if isinstance(usage, dict):
        total = usage.get("total_tokens")
        if total is None:
            total = (usage.get("input_tokens") or usage.get("prompt_tokens") or 0) + (
                usage.get("output_tokens") or usage.get("completion_tokens") or 0)
    else:
        total = getattr(usage, "total_tokens", None)
        if total is None:
            total = (getattr(usage, "input_tokens", None) or getattr(usage, "prompt_tokens", None) or 0) + (
                getattr(usage, "output_tokens", None) or getattr(usage, "completion_tokens", None) or 0)
    return total if isinstance(total, int) and total > 0 else None
