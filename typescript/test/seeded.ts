/**
 * The port of tests/conformance/seeded.py: a 10,000-model snapshot drawn from a seed, the same bytes
 * as the Python generator writes (the fixture's recorded digest holds the two together). The rules
 * are in that module's docstring; pools follow the compiler's rule (active and preview before
 * deprecated, then priority, then name; retired and discovered models in no pool).
 */

import { encode } from "@modelreg/runtime";

const PROVIDERS = 20;
const CONTEXT = [8192, 32768, 128000, 200000, 1000000];
const OUTPUT = [4096, 8192, 16384, 65536];
const STATUS = ["retired", "deprecated", "preview", "preview"];
const EPOCH = Date.UTC(2024, 0, 1);
const OUT_OF_POOLS = new Set(["retired", "discovered"]);

/** xorshift32 (shifts 13, 17, 5). */
export class XorShift32 {
  private state: number;

  constructor(seed: number) {
    if (!(seed > 0 && seed <= 0xffffffff)) {
      throw new RangeError("the seed must be a non-zero 32-bit integer");
    }
    this.state = seed >>> 0;
  }

  next(): number {
    let x = this.state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.state = x >>> 0;
    return this.state;
  }

  below(n: number): number {
    return this.next() % n;
  }
}

type Json = Record<string, any>;

function pad(n: number, width: number): string {
  return String(n).padStart(width, "0");
}

function model(i: number, rng: XorShift32, models: number, nodes: string[], features: string[]): Json {
  const provider = `p${pad(rng.below(PROVIDERS), 2)}`;
  const modelId = `m${pad(rng.below(Math.max(1, Math.floor(models / 4))), 5)}`;
  const capabilities: string[] = [];
  const count = 1 + rng.below(2);
  for (let k = 0; k < count; k++) {
    const node = nodes[rng.below(nodes.length)] as string;
    if (!capabilities.includes(node)) {
      capabilities.push(node);
    }
  }
  const flags: Record<string, boolean> = {};
  for (const name of features) {
    const draw = rng.below(4);
    if (draw) {
      flags[name] = draw > 1;
    }
  }
  const limits: Record<string, number> = {};
  const context = rng.below(CONTEXT.length + 1);
  if (context < CONTEXT.length) {
    limits["context_window"] = CONTEXT[context] as number;
  }
  limits["max_output_tokens"] = OUTPUT[rng.below(OUTPUT.length)] as number;
  const inputs = ["text"];
  if (rng.below(2)) {
    inputs.push("image");
  }
  if (rng.below(4) === 0) {
    inputs.push("audio");
  }
  const outputs = rng.below(8) === 0 ? ["image"] : ["text"];
  const draw = rng.below(20);
  const status = draw < STATUS.length ? STATUS[draw] as string : "active";
  const priority = rng.below(101);
  const cost = { input_per_mtok: rng.below(100), output_per_mtok: rng.below(400) };
  const delivery = rng.below(10) === 0 ? "async" : "sync";
  const batch = rng.below(5) === 0;
  const registered = new Date(EPOCH + rng.below(366 * 24 * 3600) * 1000).toISOString().slice(0, 19) + "+00:00";
  const name = `${provider}/m${pad(i, 5)}`;
  return {
    name, provider, model_id: modelId, display_name: `Model ${i}`, capabilities: capabilities.sort(), delivery, batch,
    features: flags, constraints: {}, limits, modalities: { input: inputs.sort(), output: outputs }, cost,
    lifecycle: { status }, priority, pools: [], registered_at: registered, source: `${name}.yaml`,
  };
}

function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The sealed snapshot of `models` models drawn from `seed`, on the tree of `base` (a snapshot document). */
export function seededSnapshot(seed: number, models: number, base: Json): { raw: Buffer; digest: string } {
  const rng = new XorShift32(seed);
  const nodes = Object.keys(base["capabilities"]).sort(byName);
  const features = Object.keys(base["features"]).sort(byName);
  const records = Array.from({ length: models }, (_, i) => model(i, rng, models, nodes, features));
  const parent = (path: string): string | null => base["capabilities"][path]["parent"];
  const pools: Record<string, Json[]> = Object.fromEntries(nodes.map((path) => [path, []]));
  const serving = records.filter((record) => !OUT_OF_POOLS.has(record["lifecycle"]["status"]));
  const rank = (record: Json): number => (record["lifecycle"]["status"] === "deprecated" ? 1 : 0);
  serving.sort((a, b) => rank(a) - rank(b) || a["priority"] - b["priority"] || byName(a["name"], b["name"]));
  for (const record of serving) {
    const lineage = new Set<string>();
    for (const capability of record["capabilities"] as string[]) {
      for (let path: string | null = capability; path !== null; path = parent(path)) {
        lineage.add(path);
      }
    }
    record["pools"] = [...lineage].sort(byName);
    for (const path of record["pools"]) {
      (pools[path] as Json[]).push(record);
    }
  }
  const providers = Object.fromEntries(Array.from({ length: PROVIDERS }, (_, n) => {
    const name = `p${pad(n, 2)}`;
    return [name, { name, display_name: `Provider ${n}`, api: "openai", api_base: `https://api.${name}.example/v1`,
                    api_key_env: `P${pad(n, 2)}_API_KEY` }];
  }));
  return encode({
    format: { name: "modelreg-registry", major: 1, minor: 0 },
    version: { commit: null, dirty: null, number: null, label: `seeded-${seed}`, history: "none" },
    capabilities: base["capabilities"], aliases: base["aliases"], features: base["features"], providers,
    models: Object.fromEntries(records.map((record) => [record["name"], record])),
    pools: Object.fromEntries(Object.entries(pools).map(([path, members]) => [path, members.map((m) => m["name"])])),
  });
}
