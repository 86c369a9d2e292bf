/**
 * What a failed attempt means for the router: retry the model, fail over, or stop.
 *
 * The default, `classifyError`, understands the clients services call providers with, without
 * importing any of them: the HTTP status wherever they put it (`status`, `statusCode`,
 * `status_code`, `response.status`: the `openai` and `@anthropic-ai/sdk` packages put `status`
 * and `headers` on their `APIError`), the wait a provider asks for (`retry-after-ms`,
 * `Retry-After`, LiteLLM's `llm_provider-retry-after`), the signals in an error body (context too
 * long, content policy, unknown model), the SDKs' connection and timeout errors by name, and
 * Node's network error codes, also behind fetch's "fetch failed". The cases it is held to are
 * `tests/conformance/fixtures/classification.json`, which the Python runtime passes too.
 */

import { ProviderError, type FailureKind } from "./errors.js";

/** A classified failure: what to do next, why, the wait the provider asked for, and whether it
 * says anything about the model's health (for its circuit breaker). */
export interface Failure {
  readonly kind: FailureKind;
  readonly reason: string;
  /** Milliseconds; null when the error asks for no particular wait. */
  readonly retryAfterMs: number | null;
  readonly countsForBreaker: boolean;
}

/** What the router knows about an attempt that the error alone does not say. */
export interface ClassifyContext {
  /** The router's own deadline aborted the attempt. */
  deadlineExpired?: boolean;
}

/** Response headers: a fetch `Headers` object, or a plain record (any case). */
export type HeadersLike = { get(name: string): string | null } | Record<string, unknown>;

const MAX_BODY = 64 * 1024;

const CONTEXT_TOO_LONG = new RegExp(
  "context_length_exceeded|context[_ ]window|context length|maximum context|too many tokens|"
  + "prompt is too long|input is too long|string_above_max_length|reduce the length|"
  + "contextwindowexceeded|exceeds? the (?:model's )?(?:maximum|max) (?:number of )?tokens", "i");
const CONTENT_POLICY = new RegExp(
  "content[ _-]?policy|content[ _-]?filter|content[ _-]?management|responsibleaipolicyviolation|"
  + "safety system|blocked by (?:the )?safety|prohibited[ _]content|flagged by (?:our|the) moderation", "i");
const UNKNOWN_MODEL = new RegExp(
  "invalid model name|model[ _]not[ _]found|unknown model|no such model|deploymentnotfound|"
  + "deployment[^.]{0,40}(?:not found|does not exist)|model[^.]{0,80}does not exist|"
  + "not a valid model|model is not supported|unsupported model|no deployments? available", "i");

/** Class names (along the prototype chain) of timeouts and of dropped or refused connections. */
const TIMEOUTS = new Set(["TimeoutError", "APIConnectionTimeoutError", "APITimeoutError", "ConnectTimeoutError",
  "HeadersTimeoutError", "BodyTimeoutError"]);
const CONNECTION = new Set(["APIConnectionError", "SocketError", "ConnectionError"]);
/** Node's and undici's error codes for the same. */
const TIMEOUT_CODES = new Set(["UND_ERR_CONNECT_TIMEOUT", "UND_ERR_HEADERS_TIMEOUT", "UND_ERR_BODY_TIMEOUT"]);
const CONNECTION_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT", "ECONNABORTED", "EHOSTUNREACH",
  "ENETUNREACH", "ENETDOWN", "EAI_AGAIN", "UND_ERR_SOCKET", "UND_ERR_CLOSED"]);
/** An abort: a timeout when the router's deadline caused it (the SDKs say APIUserAbortError). */
const ABORTS = new Set(["AbortError", "APIUserAbortError"]);
const RETRY_AFTER_HEADERS: readonly (readonly [string, number])[] = [
  ["retry-after-ms", 1], ["retry-after", 1000], ["llm_provider-retry-after-ms", 1], ["llm_provider-retry-after", 1000],
];
const NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const HTTP_DATE = /^[A-Za-z]{3},\s*\d{1,2}\s+[A-Za-z]{3}\s+\d{4}\s+\d{2}:\d{2}(?::\d{2})?\s+(?:GMT|UTC|UT|[+-]\d{4})$/;

function failure(kind: FailureKind, reason: string, retryAfterMs: number | null = null, countsForBreaker = true): Failure {
  return Object.freeze({ kind, reason, retryAfterMs, countsForBreaker });
}

function header(headers: HeadersLike, name: string): unknown {
  if (typeof headers.get === "function") {
    return (headers as { get(name: string): string | null }).get(name);
  }
  const record = headers as Record<string, unknown>;
  if (Object.hasOwn(record, name)) {
    return record[name];
  }
  for (const key of Object.keys(record)) {
    if (key.toLowerCase() === name) {
      return record[key];
    }
  }
  return undefined;
}

/**
 * Milliseconds to wait from `retry-after-ms`, `Retry-After` (seconds or an HTTP date) or
 * LiteLLM's forwarded `llm_provider-retry-after(-ms)`; null when absent or unreadable.
 */
export function parseRetryAfter(headers: HeadersLike | null | undefined, now: number = Date.now()): number | null {
  if (headers === null || headers === undefined || typeof headers !== "object") {
    return null;
  }
  for (const [name, scale] of RETRY_AFTER_HEADERS) {
    let value = header(headers, name);
    if (Array.isArray(value)) {
      value = value[0];
    }
    if (value === null || value === undefined) {
      continue;
    }
    const text = String(value).trim();
    if (NUMBER.test(text)) {
      return Math.max(0, Number(text) * scale);
    }
    if (scale === 1000 && HTTP_DATE.test(text)) {
      const when = Date.parse(text);
      if (Number.isFinite(when)) {
        return Math.max(0, when - now);
      }
    }
  }
  return null;
}

/**
 * The classification of an HTTP error status, with the error body's signals. A context-length
 * error, a content-policy refusal and an unknown model or deployment fail over (another model may
 * serve); a content-policy refusal and an invalid request say nothing about the model's health,
 * so they do not count against its breaker. Any other 400 or 422 stops.
 */
export function classifyStatus(status: number, body = "", retryAfterMs: number | null = null): Failure {
  const snippet = body.split(/\s+/).filter(Boolean).join(" ").slice(0, 200);
  const detail = `HTTP ${status}${snippet ? `: ${snippet}` : ""}`;
  if (status === 429) {
    return failure("retry", `rate limited (${detail})`, retryAfterMs);
  }
  if (status === 529) {
    return failure("retry", `overloaded (${detail})`, retryAfterMs);
  }
  if (status === 408 || status === 425 || (status >= 500 && status !== 501)) {
    return failure("retry", status >= 500 ? `server error (${detail})` : `timeout (${detail})`, retryAfterMs);
  }
  if (status === 401 || status === 403) {
    return failure("failover", `authentication failed (${detail})`);
  }
  if (status === 402) {
    return failure("failover", `payment required (${detail})`);
  }
  if (status === 404 || status === 410) {
    return failure("failover", `model not found (${detail})`);
  }
  if (status === 405 || status === 501) {
    return failure("failover", `not supported by this provider (${detail})`);
  }
  if (status === 413) {
    return failure("failover", `request too long for this model (${detail})`);
  }
  if (status >= 400 && status < 500) {
    if (CONTEXT_TOO_LONG.test(body)) {
      return failure("failover", `request too long for this model (${detail})`);
    }
    if (CONTENT_POLICY.test(body)) {
      return failure("failover", `refused by content policy (${detail})`, null, false);
    }
    if (UNKNOWN_MODEL.test(body)) {
      return failure("failover", `unknown model or deployment (${detail})`);
    }
    return failure("stop", `invalid request (${detail})`, null, false);
  }
  return failure("failover", `unexpected status (${detail})`);
}

function isStatus(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= 100 && value <= 599;
}

function field(value: unknown, name: string): unknown {
  return typeof value === "object" && value !== null ? (value as Record<string, unknown>)[name] : undefined;
}

function statusOf(error: unknown): number | null {
  for (const name of ["status", "statusCode", "status_code"]) {
    const value = field(error, name);
    if (isStatus(value)) {
      return value;
    }
  }
  const response = field(error, "response");
  for (const name of ["status", "statusCode", "status_code"]) {
    const value = field(response, name);
    if (isStatus(value)) {
      return value;
    }
  }
  return null;
}

function headersOf(error: unknown): HeadersLike | null {
  for (const holder of [error, field(error, "response")]) {
    const headers = field(holder, "headers");
    if (typeof headers === "object" && headers !== null) {
      return headers as HeadersLike;
    }
  }
  return null;
}

function text(value: unknown): string | null {
  if (typeof value === "string") {
    return value;
  }
  if (typeof value === "object" && value !== null) {
    try {
      return JSON.stringify(value);
    } catch {
      return null;
    }
  }
  return null;
}

/** The text of an error's body wherever the clients keep it (the npm SDKs: `error`), capped. */
function bodyOf(error: unknown): string {
  const parts = [field(error, "message"), field(error, "error"), field(error, "body"), field(error, "details")]
    .map(text).filter((part): part is string => part !== null);
  return parts.join("\n").slice(0, MAX_BODY);
}

/** The names of an error's class and those it extends, nearest first, and its `name`. */
function namesOf(error: unknown): string[] {
  const found: string[] = [];
  const own = field(error, "name");
  if (typeof own === "string") {
    found.push(own);
  }
  let prototype = typeof error === "object" && error !== null ? Object.getPrototypeOf(error) : null;
  while (prototype !== null && prototype !== Object.prototype) {
    const name = (prototype.constructor as { name?: unknown } | undefined)?.name;
    if (typeof name === "string" && !found.includes(name)) {
      found.push(name);
    }
    prototype = Object.getPrototypeOf(prototype);
  }
  return found;
}

function label(error: unknown): string {
  const name = namesOf(error)[0] ?? typeof error;
  const message = field(error, "message");
  return typeof message === "string" && message ? `${name}: ${message}` : name;
}

/** A transient network failure of this error or of any error it wraps (`cause`). */
function network(error: unknown, context: ClassifyContext): Failure | null {
  let current: unknown = error;
  for (let depth = 0; depth < 8 && typeof current === "object" && current !== null; depth++) {
    const names = namesOf(current);
    const code = field(current, "code");
    if (names.some((name) => TIMEOUTS.has(name)) || (typeof code === "string" && TIMEOUT_CODES.has(code))
        || (context.deadlineExpired === true && names.some((name) => ABORTS.has(name)))) {
      return failure("retry", `timed out (${label(current)})`);
    }
    if (names.some((name) => CONNECTION.has(name)) || (typeof code === "string" && CONNECTION_CODES.has(code))) {
      return failure("retry", `connection failed (${label(current)})`);
    }
    current = field(current, "cause");
  }
  return null;
}

/**
 * The default classification of an error thrown by `invoke`.
 *
 * A `ProviderError` carries its own kind. An error with an HTTP status is classified by it and by
 * its body (see `classifyStatus`). Timeouts and dropped or refused connections retry. Any other
 * error fails over: it says this model could not serve, not that the request is wrong. Pass
 * `new Router(source, { classify })` to decide otherwise, falling back on this function.
 */
export function classifyError(error: unknown, context: ClassifyContext = {}): Failure {
  if (error instanceof ProviderError) {
    return failure(error.kind, error.message, error.retryAfterMs, error.countsForBreaker);
  }
  const status = statusOf(error);
  if (status !== null) {
    return classifyStatus(status, bodyOf(error), parseRetryAfter(headersOf(error)));
  }
  return network(error, context) ?? failure("failover", label(error));
}
