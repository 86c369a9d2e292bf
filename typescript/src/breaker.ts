/**
 * A model's circuit breaker: it opens on a failure rate, not on a count of failures.
 *
 * A count opens the breaker of a busy, healthy model as surely as a dead one's: at 1,000 calls a
 * minute, five failures are 0.5%. So the breaker opens when, over a sliding window with a minimum
 * volume, the share of failed attempts reaches a rate; or at once after a run of consecutive
 * failures, for a model that is plainly down and gets too few calls to make a rate. Every attempt
 * counts, a retried one included. Mirrors the Python runtime's `CircuitBreaker`; both are held to
 * the scenarios of `tests/conformance/fixtures/failover.json`.
 */

/** When a model's circuit opens and for how long. */
export interface BreakerPolicy {
  /** The share of failed attempts in the window that opens the circuit, in (0, 1]. */
  readonly failureRate: number;
  /** The attempts the window needs before the rate counts. */
  readonly minVolume: number;
  readonly windowMs: number;
  /** A run of this many failures opens the circuit whatever the rate (a gap over the window restarts it). */
  readonly consecutiveFailures: number;
  /** How long the circuit stays open before one probe call is let through (half-open). */
  readonly openForMs: number;
}

export const DEFAULT_BREAKER_POLICY: BreakerPolicy = Object.freeze({
  failureRate: 0.5, minVolume: 20, windowMs: 60_000, consecutiveFailures: 5, openForMs: 30_000,
});

/** A breaker policy: the defaults with `overrides` over them; throws RangeError for nonsense. */
export function breakerPolicy(overrides: Partial<BreakerPolicy> = {}): BreakerPolicy {
  const policy = { ...DEFAULT_BREAKER_POLICY, ...overrides };
  if (!(policy.failureRate > 0 && policy.failureRate <= 1)) {
    throw new RangeError("failureRate must be in (0, 1]");
  }
  if (policy.minVolume < 1 || policy.consecutiveFailures < 1 || policy.windowMs <= 0 || policy.openForMs < 0) {
    throw new RangeError("breaker thresholds must be positive");
  }
  return Object.freeze(policy);
}

/** Whether these counts open the circuit. */
export function trips(policy: BreakerPolicy, total: number, failed: number, consecutive: number): boolean {
  return consecutive >= policy.consecutiveFailures
    || (total >= policy.minVolume && failed >= Math.ceil(policy.failureRate * total - 1e-9));
}

export type BreakerState = "closed" | "open" | "half-open";

/** A change of state: [from, to]. */
export type Transition = readonly [BreakerState, BreakerState];

/** The window slides in twelfths: memory and time per call stay constant. */
const BUCKETS = 12;

/** The circuit of one model. The clock (milliseconds) is injected. */
export class CircuitBreaker {
  readonly policy: BreakerPolicy;
  readonly #clock: () => number;
  readonly #width: number;
  #state: BreakerState = "closed";
  /** [bucket index, attempts, failures], oldest first. */
  #buckets: [number, number, number][] = [];
  #total = 0;
  #failed = 0;
  #consecutive = 0;
  #lastFailure = 0;
  #openedAt = 0;
  #probing = false;

  constructor(policy: BreakerPolicy, clock: () => number) {
    this.policy = policy;
    this.#clock = clock;
    this.#width = policy.windowMs / BUCKETS;
  }

  get state(): BreakerState {
    return this.#state;
  }

  /** Attempts and failures in the window, and the current run of failures. */
  counts(): [number, number, number] {
    this.#slide(Math.floor(this.#clock() / this.#width));
    return [this.#total, this.#failed, this.#consecutive];
  }

  /**
   * May a call go to this model now? Also the state change it caused, if any. An open circuit past
   * its `openForMs` turns half-open and the caller becomes the probe; while the probe runs,
   * everyone else is refused.
   */
  acquire(): [boolean, Transition | null] {
    if (this.#state === "closed") {
      return [true, null];
    }
    if (this.#state === "open") {
      if (this.#clock() - this.#openedAt < this.policy.openForMs) {
        return [false, null];
      }
      this.#state = "half-open";
      this.#probing = true;
      return [true, ["open", "half-open"]];
    }
    if (this.#probing) {
      return [false, null];
    }
    this.#probing = true;
    return [true, null];
  }

  /** Give back a probe slot whose call ended without an outcome that counts. */
  release(): void {
    this.#probing = false;
  }

  /** Record an attempt's outcome; returns the state change it caused, if any. */
  record(ok: boolean): Transition | null {
    const now = this.#clock();
    if (this.#state === "half-open") {
      this.#probing = false;
      if (ok) {
        this.#reset();
        this.#state = "closed";
        return ["half-open", "closed"];
      }
      this.#state = "open";
      this.#openedAt = now;
      return ["half-open", "open"];
    }
    if (this.#state === "open") {
      return null; // an attempt that started before the circuit opened
    }
    const index = Math.floor(now / this.#width);
    let bucket = this.#buckets[this.#buckets.length - 1];
    if (bucket === undefined || bucket[0] !== index) {
      this.#slide(index);
      bucket = [index, 0, 0];
      this.#buckets.push(bucket);
    }
    bucket[1] += 1;
    this.#total += 1;
    if (ok) {
      this.#consecutive = 0;
      return null;
    }
    bucket[2] += 1;
    this.#failed += 1;
    if (now - this.#lastFailure > this.policy.windowMs) {
      this.#consecutive = 0;
    }
    this.#lastFailure = now;
    this.#consecutive += 1;
    if (!trips(this.policy, this.#total, this.#failed, this.#consecutive)) {
      return null;
    }
    this.#state = "open";
    this.#openedAt = now;
    this.#reset();
    return ["closed", "open"];
  }

  /** Open the circuit now; null if it already was. */
  open(): Transition | null {
    if (this.#state === "open") {
      return null;
    }
    const before = this.#state;
    this.#state = "open";
    this.#openedAt = this.#clock();
    this.#probing = false;
    this.#reset();
    return [before, "open"];
  }

  #slide(index: number): void {
    const oldest = index - BUCKETS + 1;
    while (this.#buckets.length > 0 && (this.#buckets[0] as [number, number, number])[0] < oldest) {
      const [, total, failed] = this.#buckets.shift() as [number, number, number];
      this.#total -= total;
      this.#failed -= failed;
    }
  }

  #reset(): void {
    this.#buckets = [];
    this.#total = 0;
    this.#failed = 0;
    this.#consecutive = 0;
  }
}
