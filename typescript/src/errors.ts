/**
 * The runtime's errors: lookups, snapshots that cannot be loaded, provider failures and routing
 * outcomes. Each mirrors the Python runtime's class of the same name (`modelreg.runtime.errors`);
 * the conformance suite holds the two to the same kinds and messages.
 */

/** Base of every error the runtime raises on purpose. */
export class ModelregError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** `; did you mean `x`?` for the best suggestion, or nothing when there is none. */
export function didYouMean(suggestions: readonly string[]): string {
  return suggestions.length > 0 ? `; did you mean \`${suggestions[0]}\`?` : "";
}

/** What an unknown name was looked up as. */
export type UnknownKind = "name" | "capability" | "provider" | "feature";

/** A name looked up in a vocabulary that does not hold it, with close matches. */
export class UnknownName extends ModelregError {
  /** The name that was asked for. */
  readonly requested: string;
  /** Close matches, best first. */
  readonly suggestions: readonly string[];
  readonly kind: UnknownKind;

  constructor(requested: string, suggestions: readonly string[] = [], kind: UnknownKind = "name") {
    super(`unknown ${kind} \`${requested}\`${didYouMean(suggestions)}`);
    this.requested = requested;
    this.suggestions = Object.freeze([...suggestions]);
    this.kind = kind;
  }
}

/** A capability path or alias that the tree does not know. */
export class UnknownCapability extends UnknownName {
  constructor(path: string, suggestions: readonly string[] = []) {
    super(path, suggestions, "capability");
  }

  /** The path that was asked for. */
  get path(): string {
    return this.requested;
  }
}

/** A provider name the snapshot does not know. */
export class UnknownProvider extends UnknownName {
  constructor(provider: string, suggestions: readonly string[] = []) {
    super(provider, suggestions, "provider");
  }
}

/** A feature name outside the snapshot's feature vocabulary. */
export class UnknownFeature extends UnknownName {
  constructor(feature: string, suggestions: readonly string[] = []) {
    super(feature, suggestions, "feature");
  }
}

/**
 * Which check refused a snapshot; the same words as the Python runtime's `SnapshotError.kind`.
 * `not-snapshot`: not an object, or no format marker; `invalid`: the document contradicts itself
 * or the contract; `http-status`, `timeout`, `incomplete` and `fetch` are a URL's.
 */
export type SnapshotErrorKind =
  | "too-large"
  | "not-json"
  | "not-snapshot"
  | "unsupported-major"
  | "not-canonical"
  | "digest-mismatch"
  | "invalid"
  | "http-status"
  | "timeout"
  | "incomplete"
  | "fetch";

/** A snapshot that cannot be loaded: its message names the source and what is wrong. */
export class SnapshotError extends ModelregError {
  readonly kind: SnapshotErrorKind;
  /** The file path or URL. */
  readonly source: string;
  /** For `invalid`: what the document gets wrong, without the source. */
  readonly detail: string | undefined;

  constructor(source: string, message: string, kind: SnapshotErrorKind, options?: { detail?: string; cause?: unknown }) {
    super(`${source}: ${message}`, options?.cause === undefined ? undefined : { cause: options.cause });
    this.kind = kind;
    this.source = source;
    this.detail = options?.detail;
  }
}

/** What the router does after a failed attempt. */
export type FailureKind = "retry" | "failover" | "stop";

/** The failure kinds by name: `FailureKind.RETRY` is `"retry"`. */
export const FailureKind = Object.freeze({
  /** Transient (timeout, rate limit, 5xx, dropped connection): the same model again, then the next. */
  RETRY: "retry",
  /** This model cannot serve the request (auth, model not found, context too long): the next model at once. */
  FAILOVER: "failover",
  /** The request itself is invalid; every other model would reject it too: give up at once. */
  STOP: "stop",
} as const);

/** Options of a `ProviderError`. */
export interface ProviderErrorOptions {
  /** The HTTP status, when there is one. */
  status?: number | null;
  /** The wait the provider asked for, in milliseconds. */
  retryAfterMs?: number | null;
  /** False for a failure that says nothing about the model's health (a missing key, say). */
  countsForBreaker?: boolean;
  cause?: unknown;
}

/**
 * A failed call to a model, already classified. Adapters throw it, and so may an `invoke`
 * function, to tell the router what to do.
 */
export class ProviderError extends ModelregError {
  readonly kind: FailureKind;
  readonly status: number | null;
  readonly retryAfterMs: number | null;
  readonly countsForBreaker: boolean;

  constructor(message: string, kind: FailureKind, options: ProviderErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.kind = kind;
    this.status = options.status ?? null;
    this.retryAfterMs = options.retryAfterMs ?? null;
    this.countsForBreaker = options.countsForBreaker ?? true;
  }
}

/** A stream failed after its first chunk was delivered; the router does not fail over then. */
export class StreamInterrupted extends ProviderError {
  readonly model: string;

  constructor(model: string, cause: unknown) {
    super(`${model}: stream interrupted after the first chunk: ${describe(cause)}`, "stop", { cause });
    this.model = model;
  }
}

/** What one try of one model came to: a failure's kind, or `skipped` (circuit open, or at a limit). */
export type AttemptOutcome = FailureKind | "skipped";

/** One try of one model within a routed call, as the final error reports it. */
export class Attempt {
  /** The attempt's number within the call, from 1; null for a skipped model. */
  readonly number: number | null;

  constructor(
    readonly model: string,
    number: number | null,
    readonly outcome: AttemptOutcome,
    readonly reason: string,
    /** Milliseconds from the start of the call to the end of this attempt. */
    readonly elapsedMs: number,
  ) {
    this.number = number;
    Object.freeze(this);
  }

  toString(): string {
    return `${this.number === null ? "-" : `#${this.number}`} ${this.model}: ${this.outcome}: ${this.reason}`;
  }
}

/** A routed call that did not succeed; `attempts` lists every try and why it failed. */
export class RoutingError extends ModelregError {
  readonly capability: string;
  readonly attempts: readonly Attempt[];

  constructor(capability: string, message: string, attempts: readonly Attempt[] = [], options?: ErrorOptions) {
    super([`${capability}: ${message}`, ...attempts.map((attempt) => `  ${attempt}`)].join("\n"), options);
    this.capability = capability;
    this.attempts = Object.freeze([...attempts]);
  }
}

/** No model of the pool passes the request's filters; `excluded` says why for each. */
export class NoCandidates extends RoutingError {
  readonly excluded: readonly (readonly [string, string])[];

  constructor(capability: string, excluded: readonly (readonly [string, string])[]) {
    const detail = excluded.slice(0, 10).map(([name, why]) => `${name}: ${why}`).join("; ");
    const more = excluded.length > 10 ? `; and ${excluded.length - 10} more` : "";
    super(capability, `no model can serve this request${detail ? ` (${detail}${more})` : " (the pool is empty)"}`);
    this.excluded = Object.freeze(excluded.map((pair) => Object.freeze([pair[0], pair[1]] as const)));
  }
}

/** Every candidate was tried (or skipped) and none succeeded, or the attempt budget ran out. */
export class AllCandidatesFailed extends RoutingError {}

/** The call's overall deadline expired before a model succeeded. */
export class DeadlineExceeded extends AllCandidatesFailed {}

/** A model rejected the request as invalid (a 400-class error any model would give): no failover. */
export class RequestRejected extends RoutingError {}

/** An error's message, or the value itself in words. */
export function describe(error: unknown): string {
  if (error instanceof Error) {
    return error.message || error.name;
  }
  return String(error);
}
