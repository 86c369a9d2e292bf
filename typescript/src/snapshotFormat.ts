/**
 * The snapshot's byte format, as the compiler writes it and the Python runtime reads it.
 *
 * A snapshot is canonical JSON (sorted keys, no insignificant white space, UTF-8) whose first key
 * is `$digest`: the sha256 of the same document serialised without `$digest`. The digest is
 * checked by hashing the file's bytes after the digest field, re-serialising nothing.
 */

import { isUtf8 } from "node:buffer";
import { createHash } from "node:crypto";

import { SnapshotError } from "./errors.js";
import { pythonFloat, pythonRepr } from "./show.js";

export const FORMAT_NAME = "modelreg-registry";
export const FORMAT_MAJOR = 1;
/** The minor version the compiler writes today; a loader ignores fields a newer minor adds. */
export const FORMAT_MINOR = 0;

const PREFIX = Buffer.from('{"$digest":"sha256:', "ascii");
const HEX_LENGTH = 64;
/** The digest field is `{"$digest":"sha256:<64 hex>",`; the body resumes after it. */
const BODY_START = PREFIX.length + HEX_LENGTH + 2;
const OPEN_BRACE = Buffer.from("{", "ascii");
const BOM = 0xfeff;

function isSealed(raw: Uint8Array): boolean {
  if (raw.length < BODY_START) {
    return false;
  }
  for (let i = 0; i < PREFIX.length; i++) {
    if (raw[i] !== PREFIX[i]) {
      return false;
    }
  }
  return raw[BODY_START - 2] === 0x22 && raw[BODY_START - 1] === 0x2c; // `",`
}

/** The hex sha256 of a sealed file's body (`{` and everything after its digest field). */
export function bodyDigest(raw: Uint8Array): string {
  return createHash("sha256").update(OPEN_BRACE).update(raw.subarray(BODY_START)).digest("hex");
}

/** Hashes a snapshot's bytes as they arrive, the way `decode` checks them. */
export class BodyHasher {
  private readonly hash = createHash("sha256").update(OPEN_BRACE);
  private skip = BODY_START;

  update(chunk: Uint8Array): void {
    if (this.skip > 0) {
      const cut = Math.min(this.skip, chunk.length);
      this.skip -= cut;
      chunk = chunk.subarray(cut);
    }
    this.hash.update(chunk);
  }

  hexDigest(): string {
    return this.hash.digest("hex");
  }
}

function parse(raw: Uint8Array, source: string): Record<string, unknown> {
  // Python's json.loads refuses bytes that are not UTF-8; Buffer#toString would replace them.
  if (!isUtf8(raw)) {
    throw new SnapshotError(source, "not a JSON snapshot (truncated or corrupt?): the file is not UTF-8", "not-json");
  }
  let text = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString("utf8");
  if (text.charCodeAt(0) === BOM) {
    text = text.slice(1); // as json.loads(bytes) decodes a file that starts with one
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw new SnapshotError(source, `not a JSON snapshot (truncated or corrupt?): ${(error as Error).message}`, "not-json");
  }
  if (typeof document !== "object" || document === null || Array.isArray(document)) {
    throw new SnapshotError(source, "not a snapshot: the top level is not an object", "not-snapshot");
  }
  return document as Record<string, unknown>;
}

/** Refuse a document whose format marker is missing or of a major version this runtime does not read. */
export function checkFormat(document: Record<string, unknown>, source: string): void {
  const marker = Object.hasOwn(document, "format") ? document["format"] : undefined;
  if (typeof marker !== "object" || marker === null || Array.isArray(marker)
      || (marker as Record<string, unknown>)["name"] !== FORMAT_NAME) {
    throw new SnapshotError(source, `not a modelreg snapshot (no \`format\` marker \`${FORMAT_NAME}\`)`, "not-snapshot");
  }
  const major = Object.hasOwn(marker, "major") ? (marker as Record<string, unknown>)["major"] : undefined;
  if (major !== FORMAT_MAJOR) {
    throw new SnapshotError(source, `snapshot format major version ${pythonRepr(major)} is not supported; this `
      + `version of modelreg reads major version ${FORMAT_MAJOR}`, "unsupported-major");
  }
}

/**
 * Verify and parse snapshot bytes; throws SnapshotError naming what is wrong.
 *
 * Why a file is refused is said in the order the Python runtime says it: a newer major version
 * first (it may seal itself differently), then bytes that are not even JSON, and only then a
 * broken seal (the canonical prefix, the digest). `digest` is the body's digest when it was
 * computed already (while the bytes arrived, or in the background).
 */
export function decode(raw: Uint8Array, source: string, digest?: string | (() => string)): Record<string, unknown> {
  if (!isSealed(raw)) {
    checkFormat(parse(raw, source), source);
    throw new SnapshotError(source, "not in canonical form; the file must start with its `$digest` field", "not-canonical");
  }
  const document = parse(raw, source);
  checkFormat(document, source);
  const expected = Buffer.from(raw.subarray(PREFIX.length, PREFIX.length + HEX_LENGTH)).toString("latin1");
  const actual = typeof digest === "function" ? digest() : digest ?? bodyDigest(raw);
  if (actual !== expected) {
    throw new SnapshotError(source, `digest mismatch (the file says sha256:${expected.slice(0, 12)}…, its content `
      + `hashes to sha256:${actual.slice(0, 12)}…); it was modified or truncated`, "digest-mismatch");
  }
  return document;
}

function canonicalValue(value: unknown): string {
  if (Array.isArray(value)) {
    return `[${value.map(canonicalValue).join(",")}]`;
  }
  if (typeof value === "object" && value !== null) {
    const keys = Object.keys(value).sort(byCodePoint);
    return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalValue((value as Record<string, unknown>)[key])}`).join(",")}}`;
  }
  if (typeof value === "number") {
    if (!Number.isFinite(value)) {
      throw new TypeError("canonical JSON holds no NaN or Infinity");
    }
    // Python's form of a float (`6e-05`, not `0.00006`). A whole float (`10.0`) comes out as `10`:
    // JSON.parse kept no trace of the `.0`.
    return Number.isInteger(value) ? String(value) : pythonFloat(value);
  }
  return JSON.stringify(value);
}

// UTF-16 order, which is Python's code point order for every key without astral characters.
function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Canonical JSON bytes: sorted keys, compact separators, UTF-8: the compiler's `canonical_json`,
 * byte for byte, for every document whose floats are not whole numbers.
 */
export function canonicalJson(value: unknown): Buffer {
  return Buffer.from(canonicalValue(value), "utf8");
}

/** The sealed bytes and digest of a snapshot document given without `$digest` (the compiler's `encode`). */
export function encode(document: Record<string, unknown>): { raw: Buffer; digest: string } {
  if (Object.hasOwn(document, "$digest")) {
    throw new TypeError("the document must not carry `$digest` yet");
  }
  const body = canonicalJson(document);
  const hex = createHash("sha256").update(body).digest("hex");
  return { raw: Buffer.concat([PREFIX, Buffer.from(`${hex}",`, "ascii"), body.subarray(1)]), digest: `sha256:${hex}` };
}
