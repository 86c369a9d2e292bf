/**
 * The retry policy of a routed call and the events that report what happened in it. Mirrors the
 * Python runtime's `modelreg.runtime.failover`, in milliseconds.
 */

import type { BreakerState } from "./breaker.js";
import type { FailureKind } from "./errors.js";

/** How hard one routed call tries. */
export interface RetryPolicy {
  /** Tries of one model for transient failures (1: no retry). */
  readonly attemptsPerModel: number;
  /** Tries of the whole chain. */
  readonly maxAttempts: number;
  /** The whole chain's time; no attempt starts after it. */
  readonly deadlineMs: number;
  /** Backoff doubles from this... */
  readonly backoffBaseMs: number;
  /** ...up to this, less up to `jitter` of itself. */
  readonly backoffMaxMs: number;
  readonly jitter: number;
  /** A Retry-After longer than this (or past the deadline) fails over instead of waiting. */
  readonly maxRetryAfterMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = Object.freeze({
  attemptsPerModel: 2, maxAttempts: 8, deadlineMs: 60_000, backoffBaseMs: 250, backoffMaxMs: 8000, jitter: 0.5,
  maxRetryAfterMs: 30_000,
});

/** A retry policy: the defaults with `overrides` over them; throws RangeError for nonsense. */
export function retryPolicy(overrides: Partial<RetryPolicy> = {}): RetryPolicy {
  const policy = { ...DEFAULT_RETRY_POLICY, ...overrides };
  if (policy.attemptsPerModel < 1 || policy.maxAttempts < 1) {
    throw new RangeError("attemptsPerModel and maxAttempts must be at least 1");
  }
  if (!(policy.deadlineMs > 0)) {
    throw new RangeError("deadlineMs must be positive");
  }
  return Object.freeze(policy);
}

/** The pause after the `tries`-th failed try of one model (`random` in [0, 1)). */
export function backoff(policy: RetryPolicy, tries: number, random: number): number {
  const delay = Math.min(policy.backoffMaxMs, policy.backoffBaseMs * 2 ** (tries - 1));
  return delay * (1 - policy.jitter * random);
}

/** What a router event reports; the same words as the Python runtime's `EventKind`. */
export type EventKind =
  /** A call to a model starts. */
  | "attempt"
  /** A call failed (see `failure` and `reason`). */
  | "failure"
  /** The same model will be tried again after `delayMs`. */
  | "retry"
  /** The router moves on to the next candidate. */
  | "failover"
  /** A candidate was skipped: its circuit is open or it is at a limit (see `reason`). */
  | "skipped"
  /** A model's circuit changed state (`breakerFrom` -> `breakerTo`). */
  | "breaker"
  /** The final outcome: a model answered. */
  | "success"
  /** The final outcome: the call failed (see `reason`). */
  | "gave-up";

/** One thing that happened during a routed call, for metrics and logs. */
export interface RouterEvent {
  readonly kind: EventKind;
  readonly capability: string;
  readonly model: string | null;
  /** Attempts made so far in this call. */
  readonly attempt: number;
  /** Milliseconds since the call started. */
  readonly elapsedMs: number;
  readonly failure: FailureKind | null;
  readonly reason: string;
  readonly delayMs: number | null;
  readonly breakerFrom: BreakerState | null;
  readonly breakerTo: BreakerState | null;
}

/** One line for a log. */
export function describeEvent(event: RouterEvent): string {
  const parts = [`${event.capability}: ${event.kind}`];
  if (event.model) {
    parts.push(event.model);
  }
  if (event.kind === "breaker" && event.breakerFrom && event.breakerTo) {
    parts.push(`${event.breakerFrom} -> ${event.breakerTo}`);
  }
  if (event.failure !== null) {
    parts.push(`[${event.failure}]`);
  }
  if (event.reason) {
    parts.push(event.reason);
  }
  if (event.delayMs !== null) {
    parts.push(`(waiting ${(event.delayMs / 1000).toFixed(3)}s)`);
  }
  parts.push(`attempt ${event.attempt}, ${(event.elapsedMs / 1000).toFixed(3)}s`);
  return parts.join(" ");
}
