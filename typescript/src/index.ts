/**
 * The modelreg runtime for Node: load a compiled snapshot (`build/registry.json`) and route
 * requests by capability with retry, failover and a circuit breaker. No runtime dependencies.
 *
 * ```ts
 * import { loadSnapshot, Router } from "@modelreg/runtime";
 *
 * const registry = await loadSnapshot("build/registry.json");
 * const router = new Router(registry);
 * router.candidates("chat", { features: ["tool_calling"], minContext: 100_000 });
 * await router.call("chat", (model, { signal }) => callProvider(model, signal));
 * ```
 *
 * It reads the snapshot exactly as the Python runtime (`modelreg.runtime`) does: both are held to
 * one conformance suite (`tests/conformance/` in the modelreg repository).
 */

export { CircuitBreaker, DEFAULT_BREAKER_POLICY, breakerPolicy, trips } from "./breaker.js";
export type { BreakerPolicy, BreakerState, Transition } from "./breaker.js";
export { CapabilityTree } from "./capabilityTree.js";
export type { CapabilityNode } from "./capabilityTree.js";
export { classifyError, classifyStatus, parseRetryAfter } from "./classify.js";
export type { ClassifyContext, Failure, HeadersLike } from "./classify.js";
export { getCloseMatches } from "./difflib.js";
export {
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
  UnknownName,
  UnknownProvider,
} from "./errors.js";
export type { AttemptOutcome, ProviderErrorOptions, SnapshotErrorKind, UnknownKind } from "./errors.js";
export { DEFAULT_FETCH_TIMEOUT_MS, DEFAULT_MAX_BYTES, fetchSnapshot } from "./fetch.js";
export type { FetchOptions, Fetched } from "./fetch.js";
export { LocalHealthStore, usageTokens } from "./health.js";
export type { Admission, HealthStore, Limits } from "./health.js";
export { DEFAULT_RETRY_POLICY, backoff, describeEvent, retryPolicy } from "./policy.js";
export type { EventKind, RetryPolicy, RouterEvent } from "./policy.js";
export { FrozenSet, Model, SnapshotRegistry, loadSnapshot } from "./registry.js";
export type { FromBytesOptions, LoadOptions, ModelDefinition, ModelRecord, Provider, ProviderRecord, SnapshotVersion } from "./registry.js";
export { RoutedStream, Router } from "./router.js";
export type { AttemptContext, CallOptions, Filters, Invoke, Names, RegistrySource, Route, RouterOptions } from "./router.js";
export { FORMAT_MAJOR, FORMAT_MINOR, FORMAT_NAME, canonicalJson, decode, encode } from "./snapshotFormat.js";
export type * from "./snapshotTypes.js";
export { SnapshotWatcher } from "./watcher.js";
export type { WatcherOptions } from "./watcher.js";
