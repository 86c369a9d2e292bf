// The TypeScript runtime's speed on a 10,000-model snapshot: `cd typescript && npm run bench`
// (it builds the package and its tests first), or `node benchmarks/ts_runtime.mjs [--snapshot FILE]
// [-n MODELS] [--repeat N]` once they are built.
//
// Without --snapshot it generates the conformance suite's seeded snapshot (the seed and tree of
// tests/conformance/fixtures/seeded.json, through the TypeScript port of its generator) with
// -n models. It times, medians over --repeat runs:
// - load: `SnapshotRegistry.fromBytes` of the file's bytes (UTF-8 check, digest, parse, every
//   check and index) against `JSON.parse` of the same bytes decoded (target: at most 1.5x);
// - `findByCapability` (target: microseconds);
// - the first candidate of the largest pool with two feature filters (target: microseconds), and
//   the whole candidate list under the same filters;
// - the import of the package in a fresh Node process.
// It prints one line per figure; nothing here runs in the test suite.

import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const REPO = join(dirname(fileURLToPath(import.meta.url)), "..");
const PACKAGE = join(REPO, "typescript");
const FIXTURES = join(REPO, "tests", "conformance", "fixtures");
const FEATURES = ["tool_calling", "streaming"];

function option(name, fallback) {
  const index = process.argv.indexOf(name);
  return index === -1 ? fallback : process.argv[index + 1];
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Seconds per call of `fn`, the median of `repeat` rounds of `number` calls. */
function perCall(fn, number, repeat = 7) {
  const rounds = [];
  for (let r = 0; r < repeat; r++) {
    const start = performance.now();
    for (let i = 0; i < number; i++) {
      fn();
    }
    rounds.push((performance.now() - start) / number);
  }
  return median(rounds);
}

function once(fn) {
  globalThis.gc?.();
  const start = performance.now();
  const result = fn();
  const elapsed = performance.now() - start;
  return [elapsed, result];
}

const { SnapshotRegistry, Router } = await import(pathToFileURL(join(PACKAGE, "dist", "index.js")).href);
const repeat = Number(option("--repeat", "7"));
let raw;
const snapshot = option("--snapshot", null);
if (snapshot !== null) {
  raw = readFileSync(snapshot);
} else {
  const { seededSnapshot } = await import(pathToFileURL(join(PACKAGE, "build", "test", "seeded.js")).href);
  const seeded = JSON.parse(readFileSync(join(FIXTURES, "seeded.json"), "utf-8"));
  const base = JSON.parse(readFileSync(join(FIXTURES, "catalog.snapshot.json"), "utf-8"));
  raw = seededSnapshot(seeded.seed, Number(option("-n", String(seeded.models))), base).raw;
}

const parses = [];
const loads = [];
let registry;
for (let r = 0; r < repeat; r++) {
  // Alternated, so that a machine busy with something else slows both alike.
  parses.push(once(() => JSON.parse(raw.toString("utf8")))[0]);
  const [elapsed, loaded] = once(() => SnapshotRegistry.fromBytes(raw));
  loads.push(elapsed);
  registry = loaded;
}
const parse = median(parses);
const load = median(loads);
const pools = [...registry.tree.nodes.keys()].map((path) => [path, registry.pool(path).length]);
const [largest, size] = pools.reduce((best, pool) => (pool[1] > best[1] ? pool : best));
const router = new Router(registry);
const lookup = perCall(() => registry.findByCapability(largest), 200_000);
const first = perCall(() => router.candidates(largest, { features: FEATURES, limit: 1 }), 20_000);
const all = perCall(() => router.candidates(largest, { features: FEATURES }), 200);
const imports = [];
for (let r = 0; r < repeat; r++) {
  const script = `const t = performance.now(); await import(${JSON.stringify(pathToFileURL(join(PACKAGE, "dist", "index.js")).href)});`
    + " process.stdout.write(String(performance.now() - t));";
  imports.push(Number(execFileSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf-8" })));
}

const us = (ms) => `${(ms * 1000).toFixed(2)} µs`;
console.log(`snapshot: ${registry.size.toLocaleString("en-US")} models, ${(raw.length / 1e6).toFixed(1)} MB, `
  + `largest pool ${largest} (${size} models); medians of ${repeat} runs; Node ${process.version}`);
console.log(`JSON.parse of the bytes:      ${parse.toFixed(1)} ms`);
console.log(`load (SnapshotRegistry):      ${load.toFixed(1)} ms = ${(load / parse).toFixed(2)}x the parse (target: at most 1.5x)`);
console.log(`findByCapability:             ${us(lookup)}`);
console.log(`first candidate, 2 features:  ${us(first)}`);
console.log(`all candidates, 2 features:   ${us(all)} (${router.candidates(largest, { features: FEATURES }).length} models)`);
console.log(`import @modelreg/runtime:     ${median(imports).toFixed(1)} ms`);
