/**
 * The runtime registry: a compiled snapshot loaded into immutable, indexed objects.
 *
 * `loadSnapshot(source)` reads `build/registry.json` (a path or an http(s) URL), checks its format
 * marker and digest, checks that the document agrees with itself exactly as the Python runtime's
 * loader does (the tree's links, pools for exactly its nodes naming only known models, the types
 * of what routing reads), and builds every index once: pools by capability path and alias, models
 * by name and by provider. Every query afterwards is a map lookup returning a frozen array.
 */

import { open } from "node:fs/promises";
import { fileURLToPath } from "node:url";

import { CapabilityTree, capabilityNode, type CapabilityNode } from "./capabilityTree.js";
import { getCloseMatches } from "./difflib.js";
import { SnapshotError, UnknownFeature, UnknownProvider } from "./errors.js";
import { DEFAULT_FETCH_TIMEOUT_MS, DEFAULT_MAX_BYTES, fetchSnapshot, isUrl } from "./fetch.js";
import { show, thousands } from "./show.js";
import { decode } from "./snapshotFormat.js";
import type { SnapshotDocument } from "./snapshotTypes.js";

type Json = Record<string, unknown>;

/** A snapshot model record, as the schema describes it. */
export type ModelRecord = SnapshotDocument["models"][string];
/** A snapshot provider record, as the schema describes it. */
export type ProviderRecord = SnapshotDocument["providers"][string];

const EMPTY: Readonly<Record<string, never>> = Object.freeze({});

/** A Set that refuses to change once built. */
export class FrozenSet<T> extends Set<T> {
  private sealed?: boolean;

  constructor(items?: Iterable<T>) {
    super(items);
    this.sealed = true;
    Object.freeze(this);
  }

  override add(value: T): this {
    if (this.sealed) {
      throw new TypeError("this set is read-only");
    }
    return super.add(value);
  }

  override delete(_value: T): boolean {
    throw new TypeError("this set is read-only");
  }

  override clear(): void {
    throw new TypeError("this set is read-only");
  }
}

/** Freezes a decoded JSON value and everything in it, once. */
function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const item of Object.values(value)) {
      deepFreeze(item);
    }
  }
  return value;
}

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A provider as the snapshot describes it: how to reach its API. */
export interface Provider {
  readonly name: string;
  readonly displayName: string;
  /** Wire protocol: `openai` means OpenAI-compatible chat completions. */
  readonly api: string | null;
  readonly apiBase: string | null;
  /** The environment variable that holds the API key. */
  readonly apiKeyEnv: string | null;
  /** The provider's whole snapshot record, read-only. */
  readonly data: Readonly<ProviderRecord>;
}

/** A model as the catalog defines it: the registry contract's `ModelDefinition`. */
export interface ModelDefinition {
  readonly name: string;
  readonly provider: string;
  readonly capabilities: readonly string[];
  readonly delivery: string;
  readonly batch: boolean;
  /** The snapshot's feature flags. */
  readonly features: Readonly<Record<string, boolean>>;
  readonly constraints: Readonly<Record<string, unknown>>;
}

function frozen<T extends object>(value: T): T {
  return Object.isFrozen(value) ? value : Object.freeze(value);
}

/**
 * A resolved model, read-only: the definition plus what the compiler derived (`pools`,
 * `registeredAt`). What a load does not need (sets, frozen lists, dates) is made on first use:
 * building it for every model at load would cost more than the rest of the load.
 */
export class Model implements ModelDefinition {
  readonly name: string;
  readonly provider: string;
  /** The provider's own ID for the model, sent in API requests. */
  readonly modelId: string;
  readonly contextWindow: number | null;
  readonly maxOutputTokens: number | null;
  /** Lifecycle status: preview, active, deprecated or retired. */
  readonly status: string;
  readonly priority: number;
  readonly delivery: string;
  readonly batch: boolean;
  readonly displayName: string | null;
  /** The model's provider record (API base, key variable). */
  readonly endpoint: Provider;
  readonly #record: Json;
  #enabled: FrozenSet<string> | undefined;
  #features: Readonly<Record<string, boolean>> | undefined;
  #inputs: FrozenSet<string> | undefined;
  #outputs: FrozenSet<string> | undefined;

  /** Made by the registry's loader from a checked record; not for constructing by hand. */
  constructor(name: string, endpoint: Provider, record: Json) {
    const limits = record["limits"] as Json;
    this.name = name;
    this.provider = endpoint.name;
    this.modelId = record["model_id"] as string;
    this.contextWindow = (limits["context_window"] ?? null) as number | null;
    this.maxOutputTokens = (limits["max_output_tokens"] ?? null) as number | null;
    this.status = ((record["lifecycle"] as Json)["status"] ?? "active") as string;
    this.priority = record["priority"] as number;
    this.delivery = record["delivery"] as string;
    this.batch = record["batch"] as boolean;
    this.displayName = (record["display_name"] ?? null) as string | null;
    this.endpoint = endpoint;
    this.#record = record;
    Object.freeze(this);
  }

  get capabilities(): readonly string[] {
    return frozen(this.#record["capabilities"] as string[]);
  }

  /** Every capability path whose pool holds the model (its capabilities and their ancestors). */
  get pools(): readonly string[] {
    return frozen(this.#record["pools"] as string[]);
  }

  /** The snapshot's feature flags (a 1 or 0 in the file reads as true or false). */
  get features(): Readonly<Record<string, boolean>> {
    if (this.#features === undefined) {
      const flags = this.#record["features"] as Record<string, boolean | number>;
      this.#features = Object.freeze(Object.fromEntries(Object.entries(flags).map(([key, on]) => [key, on === true || on === 1])));
    }
    return this.#features;
  }

  /** The features the model has (its true flags). */
  get enabledFeatures(): ReadonlySet<string> {
    if (this.#enabled === undefined) {
      const flags = this.#record["features"] as Record<string, boolean | number>;
      this.#enabled = new FrozenSet(Object.keys(flags).filter((key) => flags[key] === true || flags[key] === 1));
    }
    return this.#enabled;
  }

  get inputModalities(): ReadonlySet<string> {
    return (this.#inputs ??= this.#modalitySet("input"));
  }

  get outputModalities(): ReadonlySet<string> {
    return (this.#outputs ??= this.#modalitySet("output"));
  }

  /** When the commit that added the model was made (a fresh Date each time); null when unknown. */
  get registeredAt(): Date | null {
    const when = this.#record["registered_at"];
    return typeof when === "string" ? new Date(when) : null;
  }

  get deprecated(): boolean {
    return this.status === "deprecated";
  }

  hasFeature(name: string): boolean {
    return this.enabledFeatures.has(name);
  }

  get constraints(): Readonly<Record<string, unknown>> {
    return this.#view("constraints");
  }

  get limits(): Readonly<Record<string, unknown>> {
    return this.#view("limits");
  }

  get cost(): Readonly<Record<string, unknown>> {
    return this.#view("cost");
  }

  /** Status, dates and replacement. */
  get lifecycle(): Readonly<Record<string, unknown>> {
    return this.#view("lifecycle");
  }

  get description(): string | null {
    const value = this.#record["description"];
    return typeof value === "string" ? value : null;
  }

  /** The record's `x-` keys. */
  get extensions(): Readonly<Record<string, unknown>> {
    return Object.freeze(Object.fromEntries(Object.entries(this.record).filter(([key]) => key.startsWith("x-"))));
  }

  /** The model's whole snapshot record, read-only (nested values too). */
  get record(): Readonly<ModelRecord> {
    return deepFreeze(this.#record) as unknown as ModelRecord;
  }

  #modalitySet(key: string): FrozenSet<string> {
    return new FrozenSet(((this.#record["modalities"] as Json)[key] ?? []) as string[]);
  }

  #view(key: string): Readonly<Record<string, unknown>> {
    const value = Object.hasOwn(this.#record, key) ? this.#record[key] : undefined;
    return isObject(value) ? deepFreeze(value) : EMPTY;
  }

  toString(): string {
    return `<Model ${this.name} (${this.status}, priority ${this.priority})>`;
  }
}

/** Where a snapshot came from: its git commit and label, its digest and format version. */
export interface SnapshotVersion {
  readonly label: string;
  readonly commit: string | null;
  readonly dirty: boolean | null;
  readonly number: number | null;
  readonly history: string;
  readonly digest: string;
  readonly formatMinor: number;
}

// -- checks of the snapshot document, in the Python runtime's order and words ------------------
//
// A snapshot that passes its digest check was still written by some program, maybe not ours or
// not this version of it. Whatever routing relies on is checked at load, so a bad file is
// refused with a message instead of failing requests later.

class Invalid extends Error {}

type TypeName = "str" | "int" | "bool" | "dict" | "list" | "null";
const TYPE_WORDS: Record<TypeName, string> = {
  str: "a string", int: "an integer", bool: "a boolean", dict: "an object", list: "an array", null: "null",
};
const STR_OR_NULL: readonly TypeName[] = ["str", "null"];
const INT_OR_NULL: readonly TypeName[] = ["int", "null"];
const REQUIRED = Symbol("required");
const MODEL_FIELDS: readonly (readonly [string, readonly TypeName[]])[] = [
  ["provider", ["str"]], ["model_id", ["str"]], ["capabilities", ["list"]], ["features", ["dict"]],
  ["limits", ["dict"]], ["modalities", ["dict"]], ["lifecycle", ["dict"]], ["priority", ["int"]],
  ["pools", ["list"]], ["delivery", ["str"]], ["batch", ["bool"]],
];
const MODEL_NESTED: readonly (readonly [string, string, readonly TypeName[]])[] = [
  ["limits", "context_window", INT_OR_NULL], ["limits", "max_output_tokens", INT_OR_NULL],
  ["modalities", "input", ["list"]], ["modalities", "output", ["list"]], ["lifecycle", "status", ["str"]],
];

function typeOf(value: unknown): TypeName | "float" {
  if (value === null) {
    return "null";
  }
  switch (typeof value) {
    case "string":
      return "str";
    case "boolean":
      return "bool";
    case "number":
      return Number.isInteger(value) ? "int" : "float";
    default:
      return Array.isArray(value) ? "list" : "dict";
  }
}

/** What is wrong with `record[key]`: missing though required, or of none of `types`. */
function problem(record: Json, key: string, types: readonly TypeName[], required: boolean, label = key): string | null {
  if (!Object.hasOwn(record, key)) {
    return required ? `\`${label}\` is missing` : null;
  }
  const value = record[key];
  if ((types as readonly string[]).includes(typeOf(value))) {
    return null;
  }
  return `\`${label}\` must be ${types.map((type) => TYPE_WORDS[type]).join(" or ")}, not ${show(value)}`;
}

/** `record[key]` (or `fallback` when it is absent and may be); throws Invalid otherwise. */
function get(record: Json, key: string, types: readonly TypeName[], where = "", fallback: unknown = REQUIRED): any {
  const found = problem(record, key, types, fallback === REQUIRED);
  if (found !== null) {
    throw new Invalid(where ? `${where}: ${found}` : found);
  }
  return Object.hasOwn(record, key) ? record[key] : fallback;
}

function object(value: unknown, where: string): Json {
  if (!isObject(value)) {
    throw new Invalid(`${where} must be an object, not ${show(value)}`);
  }
  return value;
}

function strings(record: Json, key: string, where: string): string[] {
  const items: unknown[] = get(record, key, ["list"], where);
  for (const item of items) {
    if (typeof item !== "string") {
      throw new Invalid(`${where}: \`${key}\` must hold strings, not ${show(item)}`);
    }
  }
  return items as string[];
}

function names(items: Iterable<string>): string {
  return [...items].sort().map((item) => `\`${item}\``).join(", ");
}

function readVersion(document: Json): SnapshotVersion {
  const version: Json = get(document, "version", ["dict"]);
  const marker: Json = get(document, "format", ["dict"]);
  return Object.freeze({
    label: get(version, "label", ["str"], "`version`"),
    commit: get(version, "commit", STR_OR_NULL, "`version`", null),
    dirty: get(version, "dirty", ["bool", "null"], "`version`", null),
    number: get(version, "number", INT_OR_NULL, "`version`", null),
    history: get(version, "history", ["str"], "`version`", "none"),
    digest: get(document, "$digest", ["str"], "", ""),
    formatMinor: get(marker, "minor", ["int"], "`format`", 0),
  });
}

/** The capability tree, once every parent and child it names exists and agrees with it. */
function readTree(document: Json): CapabilityTree {
  const nodes: Record<string, Json> = get(document, "capabilities", ["dict"]);
  const aliases: Json = get(document, "aliases", ["dict"]);
  const features: Json = get(document, "features", ["dict"]);
  const paths = Object.keys(nodes);
  for (const path of paths) {
    const where = `capability \`${path}\``;
    const record = object(nodes[path], where);
    get(record, "parent", STR_OR_NULL, where);
    strings(record, "children", where);
    strings(record, "aliases", where);
    get(record, "description", STR_OR_NULL, where);
    get(record, "deprecated", ["dict", "null"], where);
  }
  const known = new Set(paths);
  const node = (path: string): Json => nodes[path] as Json;
  // Every node named exists first, so that a dangling name is reported as such rather than as the
  // disagreement it also causes.
  for (const path of paths) {
    const parent = node(path)["parent"] as string | null;
    if (parent !== null && !known.has(parent)) {
      throw new Invalid(`capability \`${path}\`: its parent \`${parent}\` is not in the tree`);
    }
    for (const child of node(path)["children"] as string[]) {
      if (!known.has(child)) {
        throw new Invalid(`capability \`${path}\`: its child \`${child}\` is not in the tree`);
      }
    }
  }
  for (const path of paths) {
    const parent = node(path)["parent"] as string | null;
    if (parent !== null && !(node(parent)["children"] as string[]).includes(path)) {
      throw new Invalid(`capability \`${path}\`: its parent \`${parent}\` does not list it as a child`);
    }
  }
  for (const path of paths) {
    for (const child of node(path)["children"] as string[]) {
      if (node(child)["parent"] !== path) {
        throw new Invalid(`capability \`${path}\`: its child \`${child}\` names another parent, ${show(node(child)["parent"])}`);
      }
    }
  }
  // Links that agree can still form a loop, which would make every walk up the tree endless.
  const rooted = new Set<string>();
  for (const path of paths) {
    const lineage: string[] = [];
    let current: string | null = path;
    while (current !== null && !rooted.has(current)) {
      if (lineage.includes(current)) {
        throw new Invalid(`capability \`${path}\`: its ancestors form a cycle`);
      }
      lineage.push(current);
      current = node(current)["parent"] as string | null;
    }
    for (const item of lineage) {
      rooted.add(item);
    }
  }
  for (const [alias, target] of Object.entries(aliases)) {
    if (typeof target !== "string" || !known.has(target)) {
      throw new Invalid(`alias \`${alias}\` points to ${show(target)}, which is not in the tree`);
    }
  }
  const tree = new Map<string, CapabilityNode>();
  for (const path of paths) {
    const record = node(path);
    tree.set(path, capabilityNode({
      path,
      parent: record["parent"] as string | null,
      children: Object.freeze([...(record["children"] as string[])]),
      description: record["description"] as string | null,
      aliases: Object.freeze([...(record["aliases"] as string[])]),
      deprecated: record["deprecated"] === null ? null : deepFreeze({ ...(record["deprecated"] as Json) }),
    }));
  }
  return new CapabilityTree(tree, new Map(Object.entries(aliases) as [string, string][]),
    new Map(Object.entries(features) as [string, string][]));
}

function readProviders(document: Json): Map<string, Provider> {
  const records: Json = get(document, "providers", ["dict"]);
  const providers = new Map<string, Provider>();
  for (const [name, value] of Object.entries(records)) {
    const where = `provider \`${name}\``;
    const record = object(value, where);
    providers.set(name, Object.freeze({
      name,
      displayName: get(record, "display_name", ["str"], where, name),
      api: get(record, "api", STR_OR_NULL, where, null),
      apiBase: get(record, "api_base", STR_OR_NULL, where, null),
      apiKeyEnv: get(record, "api_key_env", STR_OR_NULL, where, null),
      data: deepFreeze(record) as ProviderRecord,
    }));
  }
  return providers;
}

function isFlag(value: unknown): boolean {
  // A JSON 1 or 0 in a flag's place means true or false, as it does to the Python runtime.
  return value === true || value === false || value === 1 || value === 0;
}

/** What is wrong with a model record, in words; null when nothing is. */
function modelProblem(record: unknown, providers: ReadonlyMap<string, Provider>): string | null {
  if (!isObject(record)) {
    return `the record must be an object, not ${show(record)}`;
  }
  for (const [key, types] of MODEL_FIELDS) {
    const found = problem(record, key, types, true);
    if (found !== null) {
      return found;
    }
  }
  for (const key of ["display_name", "registered_at"]) {
    const found = problem(record, key, STR_OR_NULL, false);
    if (found !== null) {
      return found;
    }
  }
  if (!providers.has(record["provider"] as string)) {
    return `its provider \`${record["provider"] as string}\` is not in \`providers\``;
  }
  for (const [outer, key, types] of MODEL_NESTED) {
    const found = problem(record[outer] as Json, key, types, false, `${outer}.${key}`);
    if (found !== null) {
      return found;
    }
  }
  for (const [name, value] of Object.entries(record["features"] as Json)) {
    if (!isFlag(value)) {
      return `\`features.${name}\` must be true or false, not ${show(value)}`;
    }
  }
  for (const key of ["capabilities", "pools"]) {
    for (const item of record[key] as unknown[]) {
      if (typeof item !== "string") {
        return `\`${key}\` must hold strings, not ${show(item)}`;
      }
    }
  }
  const modalities = record["modalities"] as Json;
  for (const key of ["input", "output"]) {
    for (const item of (modalities[key] ?? []) as unknown[]) {
      if (typeof item !== "string") {
        return `\`modalities.${key}\` must hold strings, not ${show(item)}`;
      }
    }
  }
  return null;
}

function isIntOrNull(value: unknown): boolean {
  return value === undefined || value === null || Number.isInteger(value);
}

function allStrings(items: unknown): boolean {
  if (items === undefined) {
    return true;
  }
  if (!Array.isArray(items)) {
    return false;
  }
  for (let i = 0; i < items.length; i++) {
    if (typeof items[i] !== "string") {
      return false;
    }
  }
  return true;
}

/**
 * Whether a model record passes every check `modelProblem` makes, tested in one pass without
 * words; `modelProblem` says what is wrong with one that does not. (None of the names read here
 * is a property of Object.prototype, so an absent key reads as undefined.)
 */
function isValidModel(record: unknown, providers: ReadonlyMap<string, Provider>): boolean {
  if (!isObject(record)) {
    return false;
  }
  const { provider, model_id, capabilities, features, limits, modalities, lifecycle, priority, pools, delivery, batch,
          display_name, registered_at } = record;
  if (typeof provider !== "string" || typeof model_id !== "string" || !Array.isArray(capabilities)
      || !isObject(features) || !isObject(limits) || !isObject(modalities) || !isObject(lifecycle)
      || !Number.isInteger(priority) || !Array.isArray(pools) || typeof delivery !== "string"
      || typeof batch !== "boolean" || !(display_name == null || typeof display_name === "string")
      || !(registered_at == null || typeof registered_at === "string") || !providers.has(provider)
      || !isIntOrNull(limits["context_window"]) || !isIntOrNull(limits["max_output_tokens"])
      || !(lifecycle["status"] === undefined || typeof lifecycle["status"] === "string")) {
    return false;
  }
  for (const key in features) {
    const value = features[key];
    if (value !== true && value !== false && value !== 1 && value !== 0) {
      return false;
    }
  }
  return allStrings(capabilities) && allStrings(pools) && allStrings(modalities["input"]) && allStrings(modalities["output"]);
}

interface Indexes {
  version: SnapshotVersion;
  tree: CapabilityTree;
  providers: Map<string, Provider>;
  models: readonly Model[];
  byName: Map<string, Model>;
  byProvider: Map<string, readonly Model[]>;
  byCapability: Map<string, readonly Model[]>;
  pools: Map<string, readonly string[]>;
}

function index(document: Json): Indexes {
  const version = readVersion(document);
  const tree = readTree(document);
  const providers = readProviders(document);
  const records: Json = get(document, "models", ["dict"]);
  const models: Model[] = [];
  const byName = new Map<string, Model>();
  const byProvider = new Map<string, Model[]>([...providers.keys()].map((name) => [name, []]));
  for (const name in records) {
    const record = records[name];
    if (!isValidModel(record, providers)) {
      throw new Invalid(`model \`${name}\`: ${modelProblem(record, providers) ?? "not a valid model record"}`);
    }
    const endpoint = providers.get((record as Json)["provider"] as string) as Provider;
    const model = new Model(name, endpoint, record as Json);
    models.push(model);
    byName.set(name, model);
    (byProvider.get(endpoint.name) as Model[]).push(model);
  }
  const pools: Json = get(document, "pools", ["dict"]);
  const poolPaths = Object.keys(pools);
  const missing = [...tree.nodes.keys()].filter((path) => !Object.hasOwn(pools, path));
  if (missing.length > 0) {
    throw new Invalid(`no pool for ${missing.length === 1 ? "capability" : "capabilities"} ${names(missing)}`);
  }
  const extra = poolPaths.filter((path) => !tree.nodes.has(path));
  if (extra.length > 0) {
    throw new Invalid(`${extra.length === 1 ? "pool" : "pools"} for ${names(extra)}, which `
      + `${extra.length === 1 ? "is" : "are"} not in the capability tree`);
  }
  const byCapability = new Map<string, readonly Model[]>();
  const poolNames = new Map<string, readonly string[]>();
  for (const path of poolPaths) {
    const members = pools[path];
    if (!Array.isArray(members)) {
      throw new Invalid(`pool \`${path}\` must be an array, not ${show(members)}`);
    }
    const pool: Model[] = [];
    for (const member of members) {
      const model = typeof member === "string" ? byName.get(member) : undefined;
      if (model === undefined) {
        throw new Invalid(`pool \`${path}\` names ${show(member)}, which is not in \`models\``);
      }
      pool.push(model);
    }
    byCapability.set(path, Object.freeze(pool));
    poolNames.set(path, Object.freeze(members as string[]));
  }
  for (const [alias, target] of tree.aliases) {
    if (!byCapability.has(alias)) {
      byCapability.set(alias, byCapability.get(target) as readonly Model[]);
    }
  }
  return {
    version, tree, providers, models: Object.freeze(models), byName,
    byProvider: new Map([...byProvider].map(([name, group]) => [name, Object.freeze(group)])),
    byCapability, pools: poolNames,
  };
}

/** Options of `SnapshotRegistry.fromBytes`. */
export interface FromBytesOptions {
  /** The file path or URL the bytes came from, for messages. */
  source?: string;
  /** The body's digest when it was hashed already, as the bytes arrived. */
  bodyDigest?: string;
}

/**
 * An immutable, indexed view of one snapshot. Build it with `loadSnapshot` or `fromBytes`.
 * Nothing in it changes after construction.
 */
export class SnapshotRegistry {
  readonly source: string;
  readonly tree: CapabilityTree;
  readonly version: SnapshotVersion;
  readonly #indexes: Indexes;
  #byModelId: Map<string, readonly Model[]> | undefined;
  readonly #outsideVocabulary = new Map<string, boolean>();

  /**
   * Index a verified snapshot document (see `decode`). Throws SnapshotError (`invalid`) naming
   * the problem when the document breaks the contract.
   */
  constructor(document: Record<string, unknown>, source = "snapshot") {
    try {
      this.#indexes = index(document);
    } catch (error) {
      if (error instanceof Invalid) {
        throw new SnapshotError(source, `not a valid snapshot: ${error.message}`, "invalid", { detail: error.message });
      }
      throw error;
    }
    this.source = source;
    this.tree = this.#indexes.tree;
    this.version = this.#indexes.version;
    Object.freeze(this);
  }

  /** Verify (format marker, digest) and index snapshot bytes; throws SnapshotError. */
  static fromBytes(raw: Uint8Array, options: FromBytesOptions = {}): SnapshotRegistry {
    const source = options.source ?? "snapshot";
    return new SnapshotRegistry(decode(raw, source, options.bodyDigest), source);
  }

  /** The registry itself (a watcher's `current` is the latest good registry). */
  get current(): SnapshotRegistry {
    return this;
  }

  get digest(): string {
    return this.version.digest;
  }

  /** Providers by name. */
  get providers(): ReadonlyMap<string, Provider> {
    return this.#indexes.providers;
  }

  /** How many models the snapshot holds (retired ones included). */
  get size(): number {
    return this.#indexes.models.length;
  }

  /** The model called `name`, or undefined. */
  getModel(name: string): Model | undefined {
    return this.#indexes.byName.get(name);
  }

  has(name: string): boolean {
    return this.#indexes.byName.has(name);
  }

  /** Every model (retired ones included), by name. */
  listModels(): readonly Model[] {
    return this.#indexes.models;
  }

  /**
   * The ordered pool of a capability path or alias: models at the node or any descendant.
   * Throws UnknownCapability (with a did-you-mean suggestion) for a path the tree does not know.
   */
  findByCapability(path: string): readonly Model[] {
    const found = this.#indexes.byCapability.get(path);
    if (found === undefined) {
      this.tree.resolve(path); // throws UnknownCapability with suggestions
    }
    return found as readonly Model[];
  }

  /** The ordered model names of a capability pool (path or alias). */
  pool(path: string): readonly string[] {
    return this.#indexes.pools.get(this.tree.resolve(path)) as readonly string[];
  }

  /** The models of one provider, by name; throws UnknownProvider for a name the snapshot lacks. */
  findByProvider(provider: string): readonly Model[] {
    const found = this.#indexes.byProvider.get(provider);
    if (found === undefined) {
      throw new UnknownProvider(provider, getCloseMatches(provider, this.#indexes.byProvider.keys()));
    }
    return found;
  }

  /** The models whose provider calls them `modelId`, by name; empty when none does. */
  findByModelId(modelId: string): readonly Model[] {
    if (this.#byModelId === undefined) {
      // Built on first use: most services never ask.
      const groups = new Map<string, Model[]>();
      for (const model of this.#indexes.models) {
        const group = groups.get(model.modelId);
        if (group === undefined) {
          groups.set(model.modelId, [model]);
        } else {
          group.push(model);
        }
      }
      this.#byModelId = new Map([...groups].map(([id, group]) => [id, Object.freeze(group)]));
    }
    return this.#byModelId.get(modelId) ?? NONE;
  }

  /** Throws UnknownFeature (with suggestions) for a feature no model has and the vocabulary lacks. */
  checkFeature(name: string): void {
    if (this.tree.features.has(name)) {
      return;
    }
    // A flag outside the vocabulary still filters exactly, when some model has it.
    let known = this.#outsideVocabulary.get(name);
    if (known === undefined) {
      known = this.#indexes.models.some((model) => model.enabledFeatures.has(name));
      this.#outsideVocabulary.set(name, known);
    }
    if (!known) {
      throw new UnknownFeature(name, this.tree.suggestFeature(name));
    }
  }

  [Symbol.iterator](): Iterator<Model> {
    return this.#indexes.models[Symbol.iterator]();
  }

  toString(): string {
    return `<SnapshotRegistry ${this.size} models, version ${this.version.label} (${this.version.digest.slice(0, 19)})>`;
  }
}

const NONE: readonly Model[] = Object.freeze([]);

/** Options of `loadSnapshot`. */
export interface LoadOptions {
  /** A URL's whole fetch, from the first connect to the last byte (default 30 s). */
  timeoutMs?: number;
  /** The largest snapshot accepted (default 128 MiB). */
  maxBytes?: number;
}

/** A snapshot file's bytes; SnapshotError (`too-large`) when it is over `maxBytes`, refused before reading. */
export async function readSnapshotFile(path: string, maxBytes = DEFAULT_MAX_BYTES): Promise<Buffer> {
  const handle = await open(path, "r");
  try {
    const { size } = await handle.stat();
    if (size > maxBytes) {
      throw new SnapshotError(path, `the snapshot is ${thousands(size)} bytes, over the limit of ${thousands(maxBytes)}`,
        "too-large");
    }
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

/**
 * Load a snapshot from a file path or an http(s) URL into an immutable `SnapshotRegistry`.
 *
 * Throws SnapshotError when the file is not a snapshot, has a format major version this runtime
 * does not read, fails its digest check (truncated or modified), is over `maxBytes`, or
 * contradicts itself; for a URL also when the server answers anything but 200 with a whole body
 * within `timeoutMs`. A file that cannot be read at all rejects with Node's own error (ENOENT).
 */
export async function loadSnapshot(source: string | URL, options: LoadOptions = {}): Promise<SnapshotRegistry> {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  const text = source instanceof URL ? (source.protocol === "file:" ? fileURLToPath(source) : source.href) : source;
  if (isUrl(text)) {
    const fetched = await fetchSnapshot(text, { timeoutMs: options.timeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS, maxBytes });
    if (fetched.raw === null) {
      throw new SnapshotError(text, "the server answered 304 Not Modified to a request that was not conditional",
        "http-status");
    }
    return SnapshotRegistry.fromBytes(fetched.raw, { source: text, bodyDigest: fetched.bodyDigest as string });
  }
  return SnapshotRegistry.fromBytes(await readSnapshotFile(text, maxBytes), { source: text });
}

