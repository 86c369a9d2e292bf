"""The modelreg runtime: load a compiled snapshot and route requests with failover.

Standard library only, and it imports nothing of the compiler: the contract the compiler stands
on (the exception tree's root, the capability tree, the snapshot's format) lives here. Its modules
import each other relatively, so the same files are two packages: `modelreg.runtime` inside the
`modelreg` distribution, and `modelreg_runtime`, the `modelreg-runtime` distribution that
services install alone (`runtime/pyproject.toml`).

    from modelreg_runtime import load_snapshot, Router      # or: from modelreg.runtime import ...

    registry = load_snapshot("build/registry.json")
    router = Router(registry)
    router.candidates("chat", features={"tool_calling"}, min_context=100_000)
    router.call("chat", invoke)          # invoke(model) -> result, with failover
"""

from __future__ import annotations

from .breaker import BreakerPolicy, BreakerState, CircuitBreaker
from .classify import Failure, classify_error, classify_status, parse_retry_after
from .errors import (
    AllCandidatesFailed,
    Attempt,
    DeadlineExceeded,
    FailureKind,
    ModelregError,
    NoCandidates,
    ProviderError,
    RequestRejected,
    RoutingError,
    SnapshotError,
    StreamInterrupted,
    UnknownCapability,
    UnknownFeature,
    UnknownProvider,
)
from .failover import EventKind, RetryPolicy, RouterEvent
from .health import Admission, HealthStore, Limits, LocalHealthStore, usage_tokens
from .openai import OpenAIClient
from .openai_async import AsyncOpenAIClient
from .router import (
    AsyncRoutedStream,
    Filters,
    RegistrySource,
    Route,
    RoutedStream,
    Router,
    remaining_time,
)
from .snapshot_registry import Provider, SnapshotModel, SnapshotRegistry, SnapshotVersion, load_snapshot
from .watcher import SnapshotWatcher

__all__ = [
    "Admission",
    "AllCandidatesFailed",
    "AsyncOpenAIClient",
    "AsyncRoutedStream",
    "Attempt",
    "BreakerPolicy",
    "BreakerState",
    "CircuitBreaker",
    "DeadlineExceeded",
    "EventKind",
    "Failure",
    "FailureKind",
    "Filters",
    "HealthStore",
    "Limits",
    "LocalHealthStore",
    "ModelregError",
    "NoCandidates",
    "OpenAIClient",
    "Provider",
    "ProviderError",
    "RegistrySource",
    "RequestRejected",
    "RetryPolicy",
    "Route",
    "RoutedStream",
    "Router",
    "RouterEvent",
    "RoutingError",
    "SnapshotError",
    "SnapshotModel",
    "SnapshotRegistry",
    "SnapshotVersion",
    "SnapshotWatcher",
    "StreamInterrupted",
    "UnknownCapability",
    "UnknownFeature",
    "UnknownProvider",
    "classify_error",
    "classify_status",
    "load_snapshot",
    "parse_retry_after",
    "remaining_time",
    "usage_tokens",
]
