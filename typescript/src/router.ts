/**
 * The capability router: ordered candidates for a request, and calls that fail over down the pool.
 *
 * `candidates` filters a capability's precomputed pool (features, context window, modalities,
 * lifecycle, providers) without walking anything. `call` tries the candidates in order:
 * transient failures retry the same model with backoff, model-specific ones fail over at once,
 * an invalid request stops; a per-model circuit breaker skips models that are down, and a
 * deadline bounds the whole chain, reaching each attempt as an `AbortSignal`. `stream` fails over
 * only until the first chunk. The decisions mirror the Python runtime's `Router` step for step;
 * `tests/conformance/fixtures/failover.json` holds both to them.
 */

import { breakerPolicy, type BreakerPolicy, type BreakerState, type Transition } from "./breaker.js";
import { classifyError, type ClassifyContext, type Failure } from "./classify.js";
import {
  AllCandidatesFailed,
  Attempt,
  DeadlineExceeded,
  NoCandidates,
  RequestRejected,
  StreamInterrupted,
  type FailureKind,
  type RoutingError,
} from "./errors.js";
import { LocalHealthStore, usageTokens, type HealthStore, type Limits } from "./health.js";
import { backoff, retryPolicy, type EventKind, type RetryPolicy, type RouterEvent } from "./policy.js";
import type { Model, SnapshotRegistry } from "./registry.js";
import { thousands } from "./show.js";

const ROUTABLE: readonly string[] = ["active", "preview", "deprecated"];

/** A `SnapshotRegistry`, or a `SnapshotWatcher` whose `current` registry changes on reload. */
export interface RegistrySource {
  readonly current: SnapshotRegistry;
}

/** Names a filter takes: one name as a plain string, or any iterable of names. */
export type Names = string | Iterable<string>;

/**
 * What a request needs from a model; every filter applies to every candidate. Where a filter
 * takes names, a single string is one name: `features: "vision"` means `["vision"]`.
 */
export interface Filters {
  /** Features the model must have; in a record or map, `false` means it must not have the feature. */
  features?: Names | Readonly<Record<string, boolean>> | ReadonlyMap<string, boolean> | undefined;
  /** Smallest context window, in tokens; a model that declares none does not qualify. */
  minContext?: number | null | undefined;
  minOutputTokens?: number | null | undefined;
  inputModalities?: Names | undefined;
  outputModalities?: Names | undefined;
  /** Allow list: only these providers. */
  providers?: Names | null | undefined;
  excludeProviders?: Names | undefined;
  excludeModels?: Names | undefined;
  /** Deprecated models come last; false leaves them out. */
  includeDeprecated?: boolean | undefined;
  includePreview?: boolean | undefined;
}

/** What an attempt is given besides its model. */
export interface AttemptContext {
  /** Aborted when the call's deadline passes (reason: a `TimeoutError` DOMException) or the caller aborts. */
  readonly signal: AbortSignal;
  /** Milliseconds left before the call's deadline, for the client's own timeout. */
  readonly remainingMs: number;
  /** The attempt's number within the call, from 1. */
  readonly attempt: number;
}

/** Calls one model. */
export type Invoke<T> = (model: Model, context: AttemptContext) => T | PromiseLike<T>;

/** Options of a routed call: the filters, and how hard to try. */
export interface CallOptions extends Filters {
  /** Over the router's policy, for this call. */
  policy?: Partial<RetryPolicy> | undefined;
  /** The call's deadline, over the policy's. */
  deadlineMs?: number | undefined;
  /** The caller's own cancellation: aborting it ends the call with its reason, retrying nothing. */
  signal?: AbortSignal | undefined;
}

/** A routing decision explained: the ordered candidates and why every other pool member is out. */
export interface Route {
  /** The canonical path (an alias resolved). */
  readonly capability: string;
  readonly candidates: readonly Model[];
  readonly excluded: readonly (readonly [Model, string])[];
  readonly poolSize: number;
  /** Candidates the router would skip right now, and why: circuit open, or at a limit. */
  readonly unavailable: readonly (readonly [Model, string])[];
}

/** Options of a `Router`. */
export interface RouterOptions {
  policy?: Partial<RetryPolicy>;
  breaker?: Partial<BreakerPolicy>;
  /** What a failure means (default `classifyError`). */
  classify?: (error: unknown, context: ClassifyContext) => Failure;
  onEvent?: (event: RouterEvent) => void;
  /** Breaker state and budgets; this process's memory by default. */
  store?: HealthStore;
  /** Request budgets by model name, over the `limits.rpm`/`limits.tpm` the catalog declares. */
  limits?: ReadonlyMap<string, Limits> | Readonly<Record<string, Limits>>;
  /** The tokens a call's result used, for `tpm` (default: the result's `usage`). */
  tokens?: (result: unknown) => number | null;
  /** Take models of equal priority in turn instead of always the first. */
  spread?: boolean;
  /** Milliseconds, monotonic (default `performance.now`). */
  clock?: () => number;
  /** Waits between tries (default a timer); must reject when `signal` aborts. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  random?: () => number;
}

interface Request {
  want: ReadonlySet<string>;
  refuse: ReadonlySet<string>;
  minContext: number;
  minOutput: number;
  inputs: ReadonlySet<string>;
  outputs: ReadonlySet<string>;
  allow: ReadonlySet<string> | null;
  deny: ReadonlySet<string>;
  denyModels: ReadonlySet<string>;
  statuses: ReadonlySet<string>;
}

const NO_NAMES: ReadonlySet<string> = new Set();

/** The names a filter gives; a bare string is one name, not the letters of the word. */
function toNames(value: Names | null | undefined): ReadonlySet<string> {
  if (value === null || value === undefined) {
    return NO_NAMES;
  }
  return typeof value === "string" ? new Set([value]) : new Set(value);
}

function featureFilter(features: Filters["features"]): [ReadonlySet<string>, ReadonlySet<string>] {
  if (features instanceof Map || (typeof features === "object" && features !== null
      && typeof (features as Iterable<string>)[Symbol.iterator] !== "function")) {
    const entries = features instanceof Map ? [...features] : Object.entries(features as Record<string, boolean>);
    return [new Set(entries.filter(([, on]) => on).map(([name]) => name)),
            new Set(entries.filter(([, on]) => !on).map(([name]) => name))];
  }
  return [toNames(features as Names | undefined), NO_NAMES];
}

function defaultSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** Why `model` fails `request`, in words; null if it passes. The slow twin of `select`. */
function whyNot(model: Model, request: Request): string | null {
  if (!request.statuses.has(model.status)) {
    return model.status === "retired" ? "retired" : `${model.status} models are excluded`;
  }
  const missing = [...request.want].filter((name) => !model.enabledFeatures.has(name)).sort();
  if (missing.length > 0) {
    return `lacks feature ${missing.map((name) => `\`${name}\``).join(", ")}`;
  }
  const unwanted = [...request.refuse].filter((name) => model.enabledFeatures.has(name)).sort();
  if (unwanted.length > 0) {
    return `has unwanted feature ${unwanted.map((name) => `\`${name}\``).join(", ")}`;
  }
  if (request.minContext && (model.contextWindow ?? 0) < request.minContext) {
    const have = model.contextWindow === null ? "unknown" : thousands(model.contextWindow);
    return `context window ${have} < ${thousands(request.minContext)}`;
  }
  if (request.minOutput && (model.maxOutputTokens ?? 0) < request.minOutput) {
    const have = model.maxOutputTokens === null ? "unknown" : thousands(model.maxOutputTokens);
    return `max output tokens ${have} < ${thousands(request.minOutput)}`;
  }
  const inputs = [...request.inputs].filter((name) => !model.inputModalities.has(name)).sort();
  if (inputs.length > 0) {
    return `no input modality ${inputs.join(", ")}`;
  }
  const outputs = [...request.outputs].filter((name) => !model.outputModalities.has(name)).sort();
  if (outputs.length > 0) {
    return `no output modality ${outputs.join(", ")}`;
  }
  if (request.allow !== null && !request.allow.has(model.provider)) {
    return `provider \`${model.provider}\` is not in the allow list`;
  }
  if (request.deny.has(model.provider)) {
    return `provider \`${model.provider}\` is excluded`;
  }
  if (request.denyModels.has(model.name)) {
    return "excluded by name";
  }
  return null;
}

function hasAll(set: ReadonlySet<string>, wanted: ReadonlySet<string>): boolean {
  for (const name of wanted) {
    if (!set.has(name)) {
      return false;
    }
  }
  return true;
}

function hasAny(set: ReadonlySet<string>, names: ReadonlySet<string>): boolean {
  for (const name of names) {
    if (set.has(name)) {
      return true;
    }
  }
  return false;
}

function select(pool: readonly Model[], request: Request, limit: number | null): readonly Model[] {
  const { want, refuse, minContext, minOutput, inputs, outputs, allow, deny, denyModels, statuses } = request;
  const chosen: Model[] = [];
  const late: Model[] = [];
  for (const model of pool) {
    if ((want.size && !hasAll(model.enabledFeatures, want)) || (refuse.size && hasAny(model.enabledFeatures, refuse))) {
      continue;
    }
    if (minContext && (model.contextWindow ?? 0) < minContext) {
      continue;
    }
    if (minOutput && (model.maxOutputTokens ?? 0) < minOutput) {
      continue;
    }
    if ((inputs.size && !hasAll(model.inputModalities, inputs)) || (outputs.size && !hasAll(model.outputModalities, outputs))) {
      continue;
    }
    if ((allow !== null && !allow.has(model.provider)) || deny.has(model.provider) || denyModels.has(model.name)) {
      continue;
    }
    const status = model.status;
    if (!statuses.has(status)) {
      continue;
    }
    if (status === "deprecated") {
      late.push(model);
      continue;
    }
    chosen.push(model);
    if (limit !== null && chosen.length >= limit) {
      break;
    }
  }
  if (late.length > 0 && (limit === null || chosen.length < limit)) {
    chosen.push(...late);
  }
  return Object.freeze(limit === null ? chosen : chosen.slice(0, limit));
}

/** Why an attempt ended, as the plan sees it. */
type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown; byDeadline: boolean };

/**
 * Routes requests for a capability to the models of its pool, failing over in pool order.
 *
 * `source` is a `SnapshotRegistry` or a `SnapshotWatcher` (each call reads its current registry
 * once, so a reload never splits a call between two snapshots). Circuit breakers are per model
 * name and survive reloads.
 */
export class Router {
  readonly policy: RetryPolicy;
  readonly breakerPolicy: BreakerPolicy;
  readonly #source: RegistrySource;
  readonly #classify: (error: unknown, context: ClassifyContext) => Failure;
  readonly #onEvent: ((event: RouterEvent) => void) | undefined;
  readonly #store: HealthStore;
  readonly #limitOverrides: ReadonlyMap<string, Limits>;
  readonly #tokens: (result: unknown) => number | null;
  readonly #spread: boolean;
  readonly #clock: () => number;
  readonly #sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly #random: () => number;
  readonly #turns = new Map<string, number>();
  #plain: [SnapshotRegistry | null, Map<string, readonly Model[]>] = [null, new Map()];
  #limitsOf: [SnapshotRegistry | null, Map<string, Limits | null>] = [null, new Map()];

  constructor(source: RegistrySource, options: RouterOptions = {}) {
    this.#source = source;
    this.policy = retryPolicy(options.policy);
    this.breakerPolicy = breakerPolicy(options.breaker);
    this.#classify = options.classify ?? classifyError;
    this.#onEvent = options.onEvent;
    this.#clock = options.clock ?? (() => performance.now());
    this.#store = options.store ?? new LocalHealthStore(this.breakerPolicy, this.#clock);
    const limits = options.limits;
    this.#limitOverrides = limits instanceof Map ? new Map(limits)
      : new Map(Object.entries((limits ?? {}) as Record<string, Limits>));
    this.#tokens = options.tokens ?? usageTokens;
    this.#spread = options.spread ?? false;
    this.#sleep = options.sleep ?? defaultSleep;
    this.#random = options.random ?? Math.random;
  }

  /** Where breaker state and request budgets live. */
  get store(): HealthStore {
    return this.#store;
  }

  /** The registry that the next call will use. */
  get registry(): SnapshotRegistry {
    return this.#source.current;
  }

  /**
   * The models that can serve `capability` (path or alias) under `filters`, in the order the
   * router tries them: pool order, deprecated models last, retired never. Throws
   * UnknownCapability, UnknownFeature or UnknownProvider for names the snapshot lacks.
   */
  candidates(capability: string, filters: Filters & { limit?: number | null | undefined } = {}): readonly Model[] {
    const registry = this.#source.current;
    const pool = registry.findByCapability(capability);
    return select(pool, this.#compile(registry, filters), filters.limit ?? null);
  }

  /** The candidates plus, for every other member of the pool, the reason it is out. */
  explain(capability: string, filters: Filters = {}): Route {
    const registry = this.#source.current;
    const pool = registry.findByCapability(capability);
    const request = this.#compile(registry, filters);
    const chosen = select(pool, request, null);
    const picked = new Set(chosen);
    const excluded = pool.filter((model) => !picked.has(model))
      .map((model) => Object.freeze([model, whyNot(model, request) ?? "not selected"] as const));
    const unavailable: (readonly [Model, string])[] = [];
    for (const model of chosen) {
      const why = this.#store.blocked(model.name, this.limits(model));
      if (why) {
        unavailable.push(Object.freeze([model, why] as const));
      }
    }
    return Object.freeze({
      capability: registry.tree.resolve(capability), candidates: chosen, excluded: Object.freeze(excluded),
      poolSize: pool.length, unavailable: Object.freeze(unavailable),
    });
  }

  /** The circuit state of one model (closed if it was never called). */
  breakerState(model: string): BreakerState {
    return this.#store.state(model);
  }

  /** The request budget the router holds `model` to: the one given, or the catalog's. */
  limits(model: Model): Limits | null {
    const registry = this.#source.current;
    if (this.#limitsOf[0] !== registry) {
      this.#limitsOf = [registry, new Map()]; // a new snapshot: the catalog's limits may have changed
    }
    const cache = this.#limitsOf[1];
    if (cache.has(model.name)) {
      return cache.get(model.name) as Limits | null;
    }
    let limits = this.#limitOverrides.get(model.name) ?? null;
    if (limits === null) {
      const rpm = positive(model.limits["rpm"]);
      const tpm = positive(model.limits["tpm"]);
      limits = rpm !== null || tpm !== null ? Object.freeze({ rpm, tpm }) : null;
    }
    cache.set(model.name, limits);
    return limits;
  }

  #compile(registry: SnapshotRegistry, filters: Filters): Request {
    const [want, refuse] = featureFilter(filters.features);
    const allow = filters.providers === null || filters.providers === undefined ? null : toNames(filters.providers);
    const deny = toNames(filters.excludeProviders);
    for (const name of [...(allow ?? []), ...deny]) {
      registry.findByProvider(name); // throws UnknownProvider with a suggestion
    }
    for (const name of [...want, ...refuse]) {
      registry.checkFeature(name);
    }
    const statuses = new Set(ROUTABLE);
    if (filters.includeDeprecated === false) {
      statuses.delete("deprecated");
    }
    if (filters.includePreview === false) {
      statuses.delete("preview");
    }
    return {
      want, refuse, minContext: filters.minContext ?? 0, minOutput: filters.minOutputTokens ?? 0,
      inputs: toNames(filters.inputModalities), outputs: toNames(filters.outputModalities), allow, deny,
      denyModels: toNames(filters.excludeModels), statuses,
    };
  }

  /** The candidates of a request without filters: the same for every call on one snapshot. */
  #unfiltered(registry: SnapshotRegistry, capability: string): readonly Model[] {
    if (this.#plain[0] !== registry) {
      this.#plain = [registry, new Map()];
    }
    const cache = this.#plain[1];
    let found = cache.get(capability);
    if (found === undefined) {
      found = select(registry.findByCapability(capability), this.#compile(registry, {}), null);
      cache.set(capability, found);
    }
    return found;
  }

  /** Rotate each run of equal priority by one more place on every call. */
  #takeTurns(capability: string, candidates: readonly Model[]): readonly Model[] {
    const ordered: Model[] = [];
    let start = 0;
    while (start < candidates.length) {
      const first = candidates[start] as Model;
      let end = start + 1;
      while (end < candidates.length && (candidates[end] as Model).priority === first.priority
             && (candidates[end] as Model).deprecated === first.deprecated) {
        end += 1;
      }
      let run = candidates.slice(start, end);
      if (run.length > 1) {
        const key = `${capability}\u0000${start}`;
        const turn = this.#turns.get(key) ?? 0;
        this.#turns.set(key, turn + 1);
        const shift = turn % run.length;
        run = [...run.slice(shift), ...run.slice(0, shift)];
      }
      ordered.push(...run);
      start = end;
    }
    return ordered;
  }

  #emit(event: RouterEvent): void {
    try {
      this.#onEvent?.(Object.freeze(event));
    } catch {
      // A broken metrics hook must not fail the request.
    }
  }

  /**
   * Call `invoke(model, context)` on the candidates in order until one succeeds; resolve to its
   * result. Transient failures retry the same model with backoff (at least the Retry-After),
   * model-specific ones fail over at once, an invalid request stops at once (`RequestRejected`).
   * Rejects with `NoCandidates` when no model passes the filters, `DeadlineExceeded` or
   * `AllCandidatesFailed` (listing every attempt) when none succeeds, and with the caller's
   * abort reason when `options.signal` aborts.
   */
  async call<T>(capability: string, invoke: Invoke<T>, options: CallOptions = {}): Promise<T> {
    const { policy: overrides, deadlineMs, signal, ...filters } = options;
    let policy = overrides === undefined ? this.policy : retryPolicy({ ...this.policy, ...overrides });
    if (deadlineMs !== undefined) {
      policy = retryPolicy({ ...policy, deadlineMs });
    }
    signal?.throwIfAborted();
    const registry = this.#source.current;
    const filtered = Object.values(filters).some((value) => value !== undefined);
    let candidates = filtered ? select(registry.findByCapability(capability), this.#compile(registry, filters), null)
      : this.#unfiltered(registry, capability);
    if (candidates.length === 0) {
      const request = this.#compile(registry, filters);
      const excluded = registry.findByCapability(capability)
        .map((model) => [model.name, whyNot(model, request) ?? "not selected"] as const);
      this.#emit(this.#event("gave-up", capability, null, 0, 0, { reason: "no candidates" }));
      throw new NoCandidates(capability, excluded);
    }
    if (this.#spread && candidates.length > 1) {
      candidates = this.#takeTurns(capability, candidates);
    }
    return this.#plan(capability, candidates, policy, invoke, signal);
  }

  #event(kind: EventKind, capability: string, model: string | null, attempt: number, elapsedMs: number,
         details: Partial<RouterEvent> = {}): RouterEvent {
    return {
      kind, capability, model, attempt, elapsedMs, failure: null, reason: "", delayMs: null, breakerFrom: null,
      breakerTo: null, ...details,
    };
  }

  async #plan<T>(capability: string, candidates: readonly Model[], policy: RetryPolicy, invoke: Invoke<T>,
                 signal: AbortSignal | undefined): Promise<T> {
    const clock = this.#clock;
    const store = this.#store;
    const start = clock();
    const deadline = start + policy.deadlineMs;
    const attempts: Attempt[] = [];
    let made = 0;
    let lastError: unknown;
    // Set when the deadline's timer ended an attempt: that is the deadline, even when the clock,
    // finer than the timer, reads a hair before it.
    let expired = false;
    const listening = this.#onEvent !== undefined;
    const emit = (kind: EventKind, model: string | null, details: Partial<RouterEvent> = {}): void => {
      if (listening) {
        this.#emit(this.#event(kind, capability, model, made, clock() - start, details));
      }
    };
    const breakerMoved = (model: string, transition: Transition | null): void => {
      if (transition !== null) {
        emit("breaker", model, { breakerFrom: transition[0], breakerTo: transition[1] });
      }
    };
    const giveUp = (type: new (capability: string, message: string, attempts: readonly Attempt[],
                                options?: ErrorOptions) => RoutingError, message: string): RoutingError => {
      emit("gave-up", null, { reason: message });
      return new type(capability, message, attempts, lastError === undefined ? undefined : { cause: lastError });
    };
    for (let position = 0; position < candidates.length; position++) {
      const model = candidates[position] as Model;
      const name = model.name;
      const limits = this.limits(model);
      let tries = 0;
      for (;;) {
        if (expired || clock() >= deadline) {
          throw giveUp(DeadlineExceeded, `deadline of ${policy.deadlineMs / 1000}s expired after ${made} attempt(s)`);
        }
        if (made >= policy.maxAttempts) {
          throw giveUp(AllCandidatesFailed, `gave up after ${made} attempt(s) (max_attempts)`);
        }
        const admission = store.admit(name, limits);
        breakerMoved(name, admission.transition);
        if (!admission.allowed) {
          attempts.push(new Attempt(name, null, "skipped", admission.reason, clock() - start));
          emit("skipped", name, { reason: admission.reason });
          break;
        }
        made += 1;
        tries += 1;
        emit("attempt", name);
        const outcome = await this.#attempt(model, invoke, deadline, made, signal);
        if (signal?.aborted) { // the caller gave up: nothing to learn about the model
          store.release(name);
          throw signal.reason;
        }
        if (outcome.ok) {
          const used = limits !== null && limits.tpm !== null ? this.#tokens(outcome.value) : null;
          breakerMoved(name, store.record(name, true, used));
          emit("success", name);
          return outcome.value;
        }
        lastError = outcome.error;
        expired ||= outcome.byDeadline;
        const failure = this.#classify(outcome.error, { deadlineExpired: outcome.byDeadline });
        if (failure.countsForBreaker) {
          // An invalid request shows the model answering: it is no strike against it.
          breakerMoved(name, store.record(name, failure.kind === "stop"));
        } else {
          store.release(name);
        }
        attempts.push(new Attempt(name, made, failure.kind, failure.reason, clock() - start));
        emit("failure", name, { failure: failure.kind, reason: failure.reason });
        if (failure.kind === "stop") {
          throw giveUp(RequestRejected, `${name} rejected the request as invalid; no other model is tried`);
        }
        if (failure.kind === "retry" && tries < policy.attemptsPerModel) {
          const wait = failure.retryAfterMs ?? 0;
          const delay = Math.max(backoff(policy, tries, this.#random()), wait);
          if (wait <= policy.maxRetryAfterMs && !expired && clock() + delay < deadline) {
            emit("retry", name, { failure: failure.kind, delayMs: delay });
            if (delay > 0) {
              await this.#sleep(delay, signal);
            }
            continue;
          }
        }
        if (position + 1 < candidates.length) {
          emit("failover", name, { failure: failure.kind as FailureKind, reason: `to ${(candidates[position + 1] as Model).name}` });
        }
        break;
      }
    }
    throw giveUp(AllCandidatesFailed, `all ${candidates.length} candidate(s) failed`);
  }

  /** One attempt, bounded by the deadline: a hung `invoke` is abandoned when it passes. */
  async #attempt<T>(model: Model, invoke: Invoke<T>, deadline: number, number: number,
                    signal: AbortSignal | undefined): Promise<Outcome<T>> {
    const controller = new AbortController();
    const remainingMs = Math.max(0, deadline - this.#clock());
    let byDeadline = false;
    const timer = setTimeout(() => {
      byDeadline = true;
      controller.abort(new DOMException(`no answer within ${remainingMs.toFixed(0)} ms`, "TimeoutError"));
    }, remainingMs);
    const onCallerAbort = (): void => controller.abort(signal?.reason);
    signal?.addEventListener("abort", onCallerAbort, { once: true });
    let onAbort: (() => void) | undefined;
    try {
      const aborted = new Promise<never>((_, reject) => {
        onAbort = () => reject(controller.signal.reason);
        controller.signal.addEventListener("abort", onAbort, { once: true });
      });
      const running = Promise.resolve().then(() => invoke(model, { signal: controller.signal, remainingMs, attempt: number }));
      running.catch(() => undefined); // an invoke abandoned at the deadline may still fail later
      return { ok: true, value: await Promise.race([running, aborted]) };
    } catch (error) {
      return { ok: false, error, byDeadline };
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onCallerAbort);
      if (onAbort !== undefined) {
        controller.signal.removeEventListener("abort", onAbort);
      }
    }
  }

  /**
   * Open a stream with failover up to its first chunk, and none after it. `open(model, context)`
   * returns an (async) iterable of chunks; failures while opening it or before its first chunk fail
   * over as in `call`. A failure after the first chunk rejects the stream's `next()` with
   * `StreamInterrupted`. Close the stream (`return()`, or `break` out of `for await`) to abandon it.
   */
  async stream<T>(capability: string, open: (model: Model, context: AttemptContext) => AsyncIterable<T> | Iterable<T>
    | PromiseLike<AsyncIterable<T> | Iterable<T>>, options: CallOptions = {}): Promise<RoutedStream<T>> {
    const opened = await this.call(capability, async (model, context) => {
      const chunks = await open(model, context);
      const iterator: Iterator<T> | AsyncIterator<T> = Symbol.asyncIterator in chunks
        ? (chunks as AsyncIterable<T>)[Symbol.asyncIterator]() : (chunks as Iterable<T>)[Symbol.iterator]();
      try {
        return { model, head: await iterator.next(), iterator };
      } catch (error) {
        await iterator.return?.();
        throw error;
      }
    }, options);
    return new RoutedStream(opened.model, opened.head, opened.iterator);
  }
}

function positive(value: unknown): number | null {
  return typeof value === "number" && Number.isInteger(value) && value >= 1 ? value : null;
}

/** The chunks of a stream that `Router.stream` opened on `model`. */
export class RoutedStream<T> implements AsyncIterableIterator<T> {
  readonly model: Model;
  #head: IteratorResult<T> | null;
  readonly #rest: Iterator<T> | AsyncIterator<T>;
  #closed = false;

  constructor(model: Model, head: IteratorResult<T>, rest: Iterator<T> | AsyncIterator<T>) {
    this.model = model;
    this.#head = head;
    this.#rest = rest;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<T>> {
    if (this.#closed) {
      return { done: true, value: undefined };
    }
    const head = this.#head;
    if (head !== null) {
      this.#head = null;
      if (head.done) {
        this.#closed = true;
      }
      return head;
    }
    let result: IteratorResult<T>;
    try {
      result = await this.#rest.next();
    } catch (error) {
      await this.return();
      throw new StreamInterrupted(this.model.name, error);
    }
    if (result.done) {
      this.#closed = true;
    }
    return result;
  }

  /** Stop reading: the underlying iterator is closed. */
  async return(): Promise<IteratorResult<T>> {
    if (!this.#closed) {
      this.#closed = true;
      this.#head = null;
      try {
        await this.#rest.return?.();
      } catch {
        // Closing a broken stream has nothing left to report.
      }
    }
    return { done: true, value: undefined };
  }
}
