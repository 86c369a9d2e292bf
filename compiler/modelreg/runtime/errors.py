"""Errors of the runtime: lookups, provider failures and their classification, routing outcomes.

`ModelregError` is the root of the whole project's exception tree (the compiler's errors extend
it too), so one `except ModelregError` at the edge catches them all. Standard library only.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass


class ModelregError(Exception):
    """Base of every error modelreg raises on purpose."""


def did_you_mean(suggestions: Sequence[str]) -> str:
    """`; did you mean `x`?` for the best suggestion, or nothing when there is none."""
    return f"; did you mean `{suggestions[0]}`?" if suggestions else ""


class UnknownName(ModelregError, KeyError):
    """A name looked up in a vocabulary that does not hold it, with close matches."""

    kind = "name"

    def __init__(self, name: str, suggestions: Sequence[str] = ()) -> None:
        self.name = name
        self.suggestions = list(suggestions)
        super().__init__(f"unknown {self.kind} `{name}`{did_you_mean(self.suggestions)}")

    def __str__(self) -> str:
        # KeyError would quote the message; show it as written.
        return str(self.args[0])


class UnknownCapability(UnknownName):
    """A capability path or alias that the tree does not know."""

    kind = "capability"

    @property
    def path(self) -> str:
        return self.name


class SnapshotError(ModelregError):
    """A snapshot that cannot be loaded: unknown format, bad digest, truncated or not JSON.

    `kind` says which check refused it, in words every runtime shares (the TypeScript runtime's
    `SnapshotError.kind` takes the same values, held to them by the conformance suite):
    `too-large`, `not-json`, `not-snapshot` (no format marker, or not an object),
    `unsupported-major`, `not-canonical`, `digest-mismatch`, `invalid` (the document contradicts
    itself or the contract), and for a URL `http-status`, `timeout`, `incomplete` and `fetch`.
    """

    KINDS = frozenset({"too-large", "not-json", "not-snapshot", "unsupported-major", "not-canonical",
                       "digest-mismatch", "invalid", "http-status", "timeout", "incomplete", "fetch"})

    def __init__(self, message: str, kind: str = "invalid") -> None:
        if kind not in self.KINDS:
            raise ValueError(f"unknown snapshot error kind {kind!r}")
        super().__init__(message)
        self.kind = kind


class UnknownProvider(UnknownName):
    """A provider name the snapshot does not know."""

    kind = "provider"


class UnknownFeature(UnknownName):
    """A feature name outside the snapshot's feature vocabulary."""

    kind = "feature"


class FailureKind(enum.Enum):
    """What the router does after a failed attempt."""

    RETRY = "retry"
    """Transient (timeout, rate limit, 5xx, dropped connection): try the same model again, then the next."""
    FAILOVER = "failover"
    """This model cannot serve the request (auth, model not found, context too long): next model at once."""
    STOP = "stop"
    """The request itself is invalid; every other model would reject it too: give up at once."""


class ProviderError(ModelregError):
    """A failed call to a model, already classified.

    Adapters raise it; `invoke` callables may raise it too to tell the router what to do.
    `retry_after` is the delay the provider asked for (seconds), `status` the HTTP status if any.
    `counts_for_breaker` is False for failures that say nothing about the model's health (a
    missing API key, a protocol the adapter does not speak).
    """

    def __init__(self, message: str, kind: FailureKind, *, status: int | None = None,
                 retry_after: float | None = None, counts_for_breaker: bool = True) -> None:
        super().__init__(message)
        self.kind = kind
        self.status = status
        self.retry_after = retry_after
        self.counts_for_breaker = counts_for_breaker


class StreamInterrupted(ProviderError):
    """A stream failed after its first chunk was delivered; the router does not fail over then."""

    def __init__(self, model: str, cause: BaseException) -> None:
        super().__init__(f"{model}: stream interrupted after the first chunk: {cause}", FailureKind.STOP)
        self.model = model


@dataclass(frozen=True, slots=True)
class Attempt:
    """One try of one model within a routed call, as the final error reports it."""

    model: str
    number: int | None
    """Attempt number within the call, from 1; None for a skipped model."""
    outcome: str
    """`retry`, `failover`, `stop` (the failure's kind), or `skipped` (breaker open)."""
    reason: str
    elapsed: float
    """Seconds from the start of the call to the end of this attempt."""

    def __str__(self) -> str:
        label = f"#{self.number}" if self.number is not None else "-"
        return f"{label} {self.model}: {self.outcome}: {self.reason}"


class RoutingError(ModelregError):
    """A routed call that did not succeed; `attempts` lists every try and why it failed."""

    def __init__(self, capability: str, message: str, attempts: Sequence[Attempt] = ()) -> None:
        self.capability = capability
        self.attempts = tuple(attempts)
        lines = [f"{capability}: {message}"]
        lines += [f"  {attempt}" for attempt in self.attempts]
        super().__init__("\n".join(lines))


class NoCandidates(RoutingError):
    """No model of the pool passes the request's filters; `excluded` says why for each."""

    def __init__(self, capability: str, excluded: Sequence[tuple[str, str]]) -> None:
        self.excluded = tuple(excluded)
        detail = "; ".join(f"{name}: {why}" for name, why in self.excluded[:10])
        more = f"; and {len(self.excluded) - 10} more" if len(self.excluded) > 10 else ""
        pool = f" ({detail}{more})" if detail else " (the pool is empty)"
        super().__init__(capability, f"no model can serve this request{pool}")


class AllCandidatesFailed(RoutingError):
    """Every candidate was tried (or skipped) and none succeeded, or the attempt budget ran out."""


class DeadlineExceeded(AllCandidatesFailed):
    """The call's overall deadline expired before a model succeeded."""


class RequestRejected(RoutingError):
    """A model rejected the request as invalid (a 400-class error any model would give): no failover."""
