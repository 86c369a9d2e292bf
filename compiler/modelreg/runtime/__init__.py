"""The modelreg runtime: load a compiled snapshot and route requests with failover.

Standard library only, and importing it imports nothing of the package but its ground floor
(`errors`, `capability_tree`, `snapshot_format`, `gc_pause`), so a service can embed it without
PyYAML or jsonschema.

    from modelreg.runtime import load_snapshot, Router

    registry = load_snapshot("build/registry.json")
    router = Router(registry)
    router.candidates("chat", features={"tool_calling"}, min_context=100_000)
    router.call("chat", invoke)          # invoke(model) -> result, with failover
"""

from __future__ import annotations

from modelreg.errors import ModelregError, SnapshotError, UnknownCapability
from modelreg.runtime.breaker import BreakerPolicy, BreakerState, CircuitBreaker
from modelreg.runtime.classify import Failure, classify_error, classify_status, parse_retry_after
from modelreg.runtime.errors import (
    AllCandidatesFailed,
    Attempt,
    DeadlineExceeded,
    FailureKind,
    NoCandidates,
    ProviderError,
    RequestRejected,
    RoutingError,
    StreamInterrupted,
    UnknownFeature,
    UnknownProvider,
)
from modelreg.runtime.failover import EventKind, RetryPolicy, RouterEvent
from modelreg.runtime.health import Admission, HealthStore, Limits, LocalHealthStore, usage_tokens
from modelreg.runtime.openai import OpenAIClient
from modelreg.runtime.openai_async import AsyncOpenAIClient
from modelreg.runtime.router import (
    AsyncRoutedStream,
    Filters,
    RegistrySource,
    Route,
    RoutedStream,
    Router,
    remaining_time,
)
from modelreg.runtime.snapshot_registry import Provider, SnapshotModel, SnapshotRegistry, SnapshotVersion, load_snapshot
from modelreg.runtime.watcher import SnapshotWatcher

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
