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

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .breaker import BreakerPolicy as BreakerPolicy
    from .breaker import BreakerState as BreakerState
    from .breaker import CircuitBreaker as CircuitBreaker
    from .classify import Failure as Failure
    from .classify import classify_error as classify_error
    from .classify import classify_status as classify_status
    from .classify import parse_retry_after as parse_retry_after
    from .errors import AllCandidatesFailed as AllCandidatesFailed
    from .errors import Attempt as Attempt
    from .errors import DeadlineExceeded as DeadlineExceeded
    from .errors import FailureKind as FailureKind
    from .errors import ModelregError as ModelregError
    from .errors import NoCandidates as NoCandidates
    from .errors import ProviderError as ProviderError
    from .errors import RequestRejected as RequestRejected
    from .errors import RoutingError as RoutingError
    from .errors import SnapshotError as SnapshotError
    from .errors import StreamInterrupted as StreamInterrupted
    from .errors import UnknownCapability as UnknownCapability
    from .errors import UnknownFeature as UnknownFeature
    from .errors import UnknownProvider as UnknownProvider
    from .failover import EventKind as EventKind
    from .failover import RetryPolicy as RetryPolicy
    from .failover import RouterEvent as RouterEvent
    from .health import Admission as Admission
    from .health import HealthStore as HealthStore
    from .health import Limits as Limits
    from .health import LocalHealthStore as LocalHealthStore
    from .health import usage_tokens as usage_tokens
    from .openai import OpenAIClient as OpenAIClient
    from .openai_async import AsyncOpenAIClient as AsyncOpenAIClient
    from .router import AsyncRoutedStream as AsyncRoutedStream
    from .router import Filters as Filters
    from .router import RegistrySource as RegistrySource
    from .router import Route as Route
    from .router import RoutedStream as RoutedStream
    from .router import Router as Router
    from .router import remaining_time as remaining_time
    from .snapshot_registry import Provider as Provider
    from .snapshot_registry import SnapshotModel as SnapshotModel
    from .snapshot_registry import SnapshotRegistry as SnapshotRegistry
    from .snapshot_registry import SnapshotVersion as SnapshotVersion
    from .snapshot_registry import load_snapshot as load_snapshot
    from .watcher import SnapshotWatcher as SnapshotWatcher

# Each name loads with its module on first use: the compiler imports the contract modules
# (`errors`, `capability_tree`, `snapshot_format`) through this package, and must not pay for the
# router, its clients and asyncio every time it starts.
_EXPORTS = {
    "Admission": "health",
    "AllCandidatesFailed": "errors",
    "AsyncOpenAIClient": "openai_async",
    "AsyncRoutedStream": "router",
    "Attempt": "errors",
    "BreakerPolicy": "breaker",
    "BreakerState": "breaker",
    "CircuitBreaker": "breaker",
    "DeadlineExceeded": "errors",
    "EventKind": "failover",
    "Failure": "classify",
    "FailureKind": "errors",
    "Filters": "router",
    "HealthStore": "health",
    "Limits": "health",
    "LocalHealthStore": "health",
    "ModelregError": "errors",
    "NoCandidates": "errors",
    "OpenAIClient": "openai",
    "Provider": "snapshot_registry",
    "ProviderError": "errors",
    "RegistrySource": "router",
    "RequestRejected": "errors",
    "RetryPolicy": "failover",
    "Route": "router",
    "RoutedStream": "router",
    "Router": "router",
    "RouterEvent": "failover",
    "RoutingError": "errors",
    "SnapshotError": "errors",
    "SnapshotModel": "snapshot_registry",
    "SnapshotRegistry": "snapshot_registry",
    "SnapshotVersion": "snapshot_registry",
    "SnapshotWatcher": "watcher",
    "StreamInterrupted": "errors",
    "UnknownCapability": "errors",
    "UnknownFeature": "errors",
    "UnknownProvider": "errors",
    "classify_error": "classify",
    "classify_status": "classify",
    "load_snapshot": "snapshot_registry",
    "parse_retry_after": "classify",
    "remaining_time": "router",
    "usage_tokens": "health",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
