/**
 * Fetching a snapshot over HTTP from a server that may be slow, broken or hostile.
 *
 * One fetch has a total deadline, across redirects: when it passes, the request is aborted
 * however the server drips its headers or body. The body is capped (against the declared length,
 * and again while it streams) and hashed as it arrives. Requests are conditional (ETag,
 * Last-Modified) and follow at most five redirects. Every failure is a SnapshotError naming the
 * URL, of the same kind the Python runtime gives. TLS certificates are verified (Node's default).
 * Unlike the Python runtime, Node 20's fetch does not read `HTTP(S)_PROXY` from the environment.
 */

import { SnapshotError, describe } from "./errors.js";
import { thousands } from "./show.js";
import { BodyHasher } from "./snapshotFormat.js";

export const DEFAULT_FETCH_TIMEOUT_MS = 30_000;
/** Above a 100,000-model snapshot (about 90 MB). */
export const DEFAULT_MAX_BYTES = 128 * 1024 * 1024;
export const MAX_REDIRECTS = 5;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** What one fetch brought: the body (null when the server says it has not changed), its digest
 * as `decode` checks it, and the validators for the next request. */
export interface Fetched {
  readonly raw: Buffer | null;
  readonly bodyDigest: string | null;
  readonly etag: string | null;
  readonly lastModified: string | null;
}

/** Options of one fetch. */
export interface FetchOptions {
  /** Send `If-None-Match` with this ETag. */
  etag?: string | null;
  /** Send `If-Modified-Since` with this date. */
  lastModified?: string | null;
  /** The whole fetch, from the first connect to the last byte of the last redirect. */
  timeoutMs?: number;
  maxBytes?: number;
}

/** True for an http:// or https:// source. */
export function isUrl(source: unknown): source is string {
  return typeof source === "string" && (source.startsWith("http://") || source.startsWith("https://"));
}

/**
 * GET a snapshot, conditionally when `etag` or `lastModified` are given (then `raw` is null when
 * the server answers 304 Not Modified). SnapshotError for anything but a whole body in time.
 */
export async function fetchSnapshot(url: string, options: FetchOptions = {}): Promise<Fetched> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS;
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  const controller = new AbortController();
  const started = performance.now();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const timedOut = (): SnapshotError => new SnapshotError(url, `no whole snapshot within ${timeoutMs / 1000} s `
    + `(${((performance.now() - started) / 1000).toFixed(1)} s spent)`, "timeout");
  try {
    let location = url;
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      const target = new URL(location);
      if (target.protocol !== "http:" && target.protocol !== "https:") {
        throw new SnapshotError(url, `${location}: not an http(s) URL`, "fetch");
      }
      const headers: Record<string, string> = {
        Accept: "application/json",
        // What arrives is what the digest covers, and what the size cap counts.
        "Accept-Encoding": "identity",
        "User-Agent": "modelreg-runtime",
      };
      if (options.etag) {
        headers["If-None-Match"] = options.etag;
      }
      if (options.lastModified) {
        headers["If-Modified-Since"] = options.lastModified;
      }
      const response = await fetch(target, { headers, redirect: "manual", signal: controller.signal });
      const moved = response.headers.get("location");
      if (REDIRECTS.has(response.status) && moved) {
        await response.body?.cancel();
        location = new URL(moved, target).href;
        continue;
      }
      const fetched = await read(response, url, options, maxBytes);
      if (controller.signal.aborted) { // the deadline passed as the last byte came: take no chances
        throw timedOut();
      }
      return fetched;
    }
    throw new SnapshotError(url, `more than ${MAX_REDIRECTS} redirects`, "fetch");
  } catch (error) {
    // An aborted request can fail in many ways; whatever it looked like, it was the deadline.
    if (controller.signal.aborted) {
      throw timedOut();
    }
    if (error instanceof SnapshotError) {
      throw error;
    }
    const cause = error instanceof Error && error.cause !== undefined ? error.cause : error;
    throw new SnapshotError(url, `cannot fetch the snapshot: ${describe(cause)}`, "fetch", { cause: error });
  } finally {
    clearTimeout(timer);
  }
}

async function read(response: Response, url: string, options: FetchOptions, maxBytes: number): Promise<Fetched> {
  if (response.status === 304) {
    await response.body?.cancel();
    return { raw: null, bodyDigest: null, etag: response.headers.get("etag") ?? options.etag ?? null,
             lastModified: validator(response) ?? options.lastModified ?? null };
  }
  if (response.status !== 200) {
    await response.body?.cancel();
    throw new SnapshotError(url, `the server answered ${response.status} ${response.statusText}`.trimEnd(), "http-status");
  }
  const header = response.headers.get("content-length");
  const declared = header !== null && /^\d+$/.test(header) ? Number(header) : null;
  if (declared !== null && declared > maxBytes) {
    await response.body?.cancel();
    throw new SnapshotError(url, `the snapshot is ${thousands(declared)} bytes, over the limit of ${thousands(maxBytes)}`,
      "too-large");
  }
  const hasher = new BodyHasher();
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) {
        break;
      }
      size += value.length;
      if (size > maxBytes) {
        await reader.cancel();
        throw new SnapshotError(url, `the snapshot is over the limit of ${thousands(maxBytes)} bytes`, "too-large");
      }
      hasher.update(value);
      chunks.push(value);
    }
  } catch (error) {
    if (error instanceof SnapshotError || (error instanceof Error && error.name === "AbortError")) {
      throw error;
    }
    // The connection closed before the declared length, or the transfer broke.
    const cause = error instanceof Error && error.cause !== undefined ? error.cause : error;
    throw new SnapshotError(url, `the snapshot was not received whole: ${describe(cause)}`, "incomplete", { cause: error });
  }
  if (declared !== null && size < declared) {
    throw new SnapshotError(url, `the snapshot was not received whole: ${size} bytes read, ${declared - size} more expected`,
      "incomplete");
  }
  return { raw: Buffer.concat(chunks, size), bodyDigest: hasher.hexDigest(), etag: response.headers.get("etag"),
           lastModified: validator(response) };
}

/**
 * The response's Last-Modified, when it can tell versions apart: only at least a second before the
 * response's Date (a file changed again within that second would have the same Last-Modified, and
 * a conditional request would miss it).
 */
function validator(response: Response): string | null {
  const modified = response.headers.get("last-modified");
  if (modified === null) {
    return null;
  }
  const when = Date.parse(modified);
  const date = Date.parse(response.headers.get("date") ?? "");
  return Number.isFinite(when) && Number.isFinite(date) && date - when >= 1000 ? modified : null;
}
