/**
 * Where the router keeps what it learns about models: circuit breakers and request budgets.
 * `HealthStore` is the interface; `LocalHealthStore`, the default, keeps it in this process.
 * Mirrors the Python runtime's `modelreg.runtime.health`.
 */

import { breakerPolicy, CircuitBreaker, type BreakerPolicy, type BreakerState, type Transition } from "./breaker.js";
import { thousands } from "./show.js";

const MINUTE_MS = 60_000;

/** A model's request budget: requests and tokens per minute (null: no limit). */
export interface Limits {
  readonly rpm: number | null;
  readonly tpm: number | null;
}

/** A store's answer to "may an attempt go to this model now?". */
export interface Admission {
  readonly allowed: boolean;
  /** Why not: `circuit open`, or the limit the model is at. */
  readonly reason: string;
  /** The breaker state change that asking caused (open -> half-open for a probe). */
  readonly transition: Transition | null;
}

const ADMITTED: Admission = Object.freeze({ allowed: true, reason: "", transition: null });

/** Breaker state and request budgets per model name, for one router (or, with a shared backend, a fleet). */
export interface HealthStore {
  /** Take a slot for one attempt: refused while the circuit is open or a limit is reached. */
  admit(model: string, limits: Limits | null): Admission;
  /** An attempt's outcome that says something about the model's health. */
  record(model: string, ok: boolean, tokens?: number | null): Transition | null;
  /** An attempt ended with no outcome that counts: give back a probe slot. */
  release(model: string, tokens?: number | null): void;
  /** The circuit state of one model as this store knows it. */
  state(model: string): BreakerState;
  /** Why an attempt on `model` would be refused now ("" if it would not), taking nothing. */
  blocked(model: string, limits: Limits | null): string;
}

/** The in-process store: one `CircuitBreaker` per model and per-minute usage counters. */
export class LocalHealthStore implements HealthStore {
  readonly policy: BreakerPolicy;
  readonly #clock: () => number;
  readonly #breakers = new Map<string, CircuitBreaker>();
  /** model -> [minute, requests, tokens] */
  readonly #usage = new Map<string, [number, number, number]>();

  constructor(policy: BreakerPolicy = breakerPolicy(), clock: () => number = () => performance.now()) {
    this.policy = policy;
    this.#clock = clock;
  }

  /** The breaker of `model`, made on first use. */
  breaker(model: string): CircuitBreaker {
    let breaker = this.#breakers.get(model);
    if (breaker === undefined) {
      breaker = new CircuitBreaker(this.policy, this.#clock);
      this.#breakers.set(model, breaker);
    }
    return breaker;
  }

  admit(model: string, limits: Limits | null): Admission {
    const breaker = this.breaker(model);
    if (limits !== null) {
      const refused = this.#overBudget(model, limits);
      if (refused) {
        return Object.freeze({ allowed: false, reason: refused, transition: null });
      }
    }
    const [allowed, transition] = breaker.acquire();
    if (!allowed) {
      if (limits !== null && limits.rpm !== null) {
        this.#count(model, -1, 0);
      }
      return Object.freeze({ allowed: false, reason: "circuit open", transition });
    }
    return transition === null ? ADMITTED : Object.freeze({ allowed: true, reason: "", transition });
  }

  record(model: string, ok: boolean, tokens: number | null = null): Transition | null {
    if (tokens) {
      this.#count(model, 0, tokens);
    }
    return this.breaker(model).record(ok);
  }

  release(model: string, tokens: number | null = null): void {
    if (tokens) {
      this.#count(model, 0, tokens);
    }
    this.breaker(model).release();
  }

  state(model: string): BreakerState {
    return this.#breakers.get(model)?.state ?? "closed";
  }

  blocked(model: string, limits: Limits | null): string {
    if (this.state(model) === "open") {
      return "circuit open";
    }
    if (limits !== null) {
      const [requests, tokens] = this.usage(model);
      return over(limits, requests, tokens);
    }
    return "";
  }

  /** Requests and tokens of `model` in the current minute. */
  usage(model: string): [number, number] {
    const counts = this.#current(model);
    return [counts[1], counts[2]];
  }

  /** Open `model`'s circuit now. */
  open(model: string): Transition | null {
    return this.breaker(model).open();
  }

  #overBudget(model: string, limits: Limits): string {
    const counts = this.#current(model);
    const refused = over(limits, counts[1], counts[2]);
    if (!refused && limits.rpm !== null) {
      counts[1] += 1;
    }
    return refused;
  }

  #count(model: string, requests: number, tokens: number): void {
    const counts = this.#current(model);
    counts[1] += requests;
    counts[2] += tokens;
  }

  #current(model: string): [number, number, number] {
    const minute = Math.floor(this.#clock() / MINUTE_MS);
    let counts = this.#usage.get(model);
    if (counts === undefined || counts[0] !== minute) {
      counts = [minute, 0, 0];
      this.#usage.set(model, counts);
    }
    return counts;
  }
}

/** The limit that this minute's usage has reached, in words; "" if none. */
function over(limits: Limits, requests: number, tokens: number): string {
  if (limits.tpm !== null && tokens >= limits.tpm) {
    return `at its limit of ${thousands(limits.tpm)} tokens a minute`;
  }
  if (limits.rpm !== null && requests >= limits.rpm) {
    return `at its limit of ${thousands(limits.rpm)} requests a minute`;
  }
  return "";
}

/**
 * The tokens a completion used, from its `usage` (as the SDKs return it: `total_tokens`, or input
 * and output tokens); null when it does not say.
 */
export function usageTokens(result: unknown): number | null {
  const usage = typeof result === "object" && result !== null ? (result as Record<string, unknown>)["usage"] : undefined;
  if (typeof usage !== "object" || usage === null) {
    return null;
  }
  const get = (name: string): number => {
    const value = (usage as Record<string, unknown>)[name];
    return typeof value === "number" ? value : 0;
  };
  const total = (usage as Record<string, unknown>)["total_tokens"] ?? (get("input_tokens") || get("prompt_tokens"))
    + (get("output_tokens") || get("completion_tokens"));
  return typeof total === "number" && Number.isInteger(total) && total > 0 ? total : null;
}
