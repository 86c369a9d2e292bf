/**
 * Hot reload: a watcher that keeps the latest good snapshot and swaps in new ones atomically.
 *
 * For a file it polls the modification time (and size and inode, so an atomic rename is seen even
 * within one mtime tick); for a URL it sends `If-None-Match` with the last ETag and
 * `If-Modified-Since` with the last `Last-Modified`. A new snapshot is fully loaded and verified
 * before it replaces the current one in a single assignment, so a reader holds either the old
 * registry or the new one, never a mix. A snapshot that fails to load (corrupt, truncated, unknown
 * format, unreadable) is reported through `onError` and the last good one keeps serving. Mirrors
 * the Python runtime's `SnapshotWatcher`.
 */

import { stat } from "node:fs/promises";

import { SnapshotError } from "./errors.js";
import { DEFAULT_FETCH_TIMEOUT_MS, DEFAULT_MAX_BYTES, fetchSnapshot, isUrl, type Fetched } from "./fetch.js";
import { readSnapshotFile, SnapshotRegistry, type Model, type SnapshotVersion } from "./registry.js";

/** Options of a `SnapshotWatcher`. */
export interface WatcherOptions {
  /** How often `start()` checks (default 5 s). */
  intervalMs?: number;
  /** Called after a new snapshot was swapped in. */
  onReload?: (previous: SnapshotRegistry, current: SnapshotRegistry) => void;
  /** Called when a new snapshot is rejected; the current one keeps serving. */
  onError?: (error: unknown) => void;
  timeoutMs?: number;
  maxBytes?: number;
}

type Signature = string;

/** Serves the latest good snapshot of a path or http(s) URL as `current`. */
export class SnapshotWatcher {
  readonly source: string;
  readonly intervalMs: number;
  /** Why the last check rejected a snapshot; null after a good one. */
  lastError: unknown = null;
  #current: SnapshotRegistry;
  #etag: string | null = null;
  #lastModified: string | null = null;
  #signature: Signature | null = null;
  #checking: Promise<boolean> = Promise.resolve(false);
  #timer: NodeJS.Timeout | null = null;
  readonly #options: WatcherOptions;

  private constructor(source: string, options: WatcherOptions, current: SnapshotRegistry) {
    this.source = source;
    this.intervalMs = options.intervalMs ?? 5000;
    this.#options = options;
    this.#current = current;
  }

  /**
   * Load `source` for the first time and watch it. Rejects when that first load fails: there is
   * nothing to serve yet.
   */
  static async open(source: string, options: WatcherOptions = {}): Promise<SnapshotWatcher> {
    const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
    if (isUrl(source)) {
      const fetched = await fetchSnapshot(source, { timeoutMs: options.timeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS, maxBytes });
      if (fetched.raw === null) {
        throw new SnapshotError(source, "the server answered 304 Not Modified to a request that was not conditional",
          "http-status");
      }
      const watcher = new SnapshotWatcher(source, options, SnapshotRegistry.fromBytes(fetched.raw,
        { source, bodyDigest: fetched.bodyDigest as string }));
      watcher.#etag = fetched.etag;
      watcher.#lastModified = fetched.lastModified;
      return watcher;
    }
    const signature = await signatureOf(source);
    const watcher = new SnapshotWatcher(source, options,
      SnapshotRegistry.fromBytes(await readSnapshotFile(source, maxBytes), { source }));
    watcher.#signature = signature;
    return watcher;
  }

  /** The latest good registry. Read it once per request and use that object throughout. */
  get current(): SnapshotRegistry {
    return this.#current;
  }

  /**
   * Look for a new snapshot now; true if one was swapped in. Never rejects for a bad or
   * unreachable snapshot: it is reported, and the current one stays. Checks run one at a time.
   */
  check(): Promise<boolean> {
    this.#checking = this.#checking.then(() => this.#check());
    return this.#checking;
  }

  async #check(): Promise<boolean> {
    let next: SnapshotRegistry | null;
    try {
      next = await this.#fetchNew();
    } catch (error) {
      this.#report(error);
      return false;
    }
    if (next === null) {
      return false;
    }
    const previous = this.#current;
    this.#current = next;
    this.lastError = null;
    try {
      this.#options.onReload?.(previous, next);
    } catch {
      // A broken callback must not undo a good reload.
    }
    return true;
  }

  async #fetchNew(): Promise<SnapshotRegistry | null> {
    const maxBytes = this.#options.maxBytes ?? DEFAULT_MAX_BYTES;
    if (isUrl(this.source)) {
      const fetched: Fetched = await fetchSnapshot(this.source, {
        etag: this.#etag, lastModified: this.#lastModified, maxBytes,
        timeoutMs: this.#options.timeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS,
      });
      if (fetched.raw === null) {
        return null;
      }
      // Remembered even for a bad body: the same bad body is reported once, not on every poll.
      this.#etag = fetched.etag;
      this.#lastModified = fetched.lastModified;
      return this.#parse(fetched.raw, fetched.bodyDigest as string);
    }
    const signature = await signatureOf(this.source);
    if (signature === this.#signature) {
      return null;
    }
    this.#signature = signature;
    return this.#parse(await readSnapshotFile(this.source, maxBytes));
  }

  #parse(raw: Buffer, bodyDigest?: string): SnapshotRegistry | null {
    const options = bodyDigest === undefined ? { source: this.source } : { source: this.source, bodyDigest };
    const registry = SnapshotRegistry.fromBytes(raw, options);
    return registry.digest === this.#current.digest ? null : registry;
  }

  #report(error: unknown): void {
    this.lastError = error;
    try {
      this.#options.onError?.(error);
    } catch {
      // The current snapshot still serves; a failing callback changes nothing.
    }
  }

  /** Check every `intervalMs` until `stop()`; the timer does not keep the process alive. */
  start(): this {
    if (this.#timer === null) {
      this.#timer = setInterval(() => void this.check(), this.intervalMs);
      this.#timer.unref();
    }
    return this;
  }

  /** Stop polling, and wait for a check under way. */
  async stop(): Promise<void> {
    if (this.#timer !== null) {
      clearInterval(this.#timer);
      this.#timer = null;
    }
    await this.#checking;
  }

  // The registry's queries, answered by the current snapshot.

  get version(): SnapshotVersion {
    return this.#current.version;
  }

  getModel(name: string): Model | undefined {
    return this.#current.getModel(name);
  }

  listModels(): readonly Model[] {
    return this.#current.listModels();
  }

  findByCapability(path: string): readonly Model[] {
    return this.#current.findByCapability(path);
  }

  findByProvider(provider: string): readonly Model[] {
    return this.#current.findByProvider(provider);
  }

  findByModelId(modelId: string): readonly Model[] {
    return this.#current.findByModelId(modelId);
  }

  pool(path: string): readonly string[] {
    return this.#current.pool(path);
  }
}

async function signatureOf(path: string): Promise<Signature> {
  const info = await stat(path, { bigint: true });
  return `${info.mtimeNs}:${info.size}:${info.ino}`;
}
