/** The snapshot's TypeScript types are generated from its JSON Schema, and stay so. */

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import type { SnapshotDocument } from "@modelreg/runtime";

import { FIXTURES, REPO } from "./helpers.js";

test("src/snapshotTypes.ts is what the generator writes from schemas/snapshot.schema.json", async () => {
  const script: { generate(schema: unknown): string; SCHEMA: string; OUTPUT: string } =
    await import(`${REPO}typescript/scripts/generate-types.mjs`);
  assert.equal(script.SCHEMA, `${REPO}schemas/snapshot.schema.json`);
  const fresh = script.generate(JSON.parse(readFileSync(script.SCHEMA, "utf-8")));
  assert.equal(readFileSync(script.OUTPUT, "utf-8"), fresh, "run `npm run types` in typescript/");
});

test("the generator refuses what it cannot express", async () => {
  const { generate }: { generate(schema: unknown): string } = await import(`${REPO}typescript/scripts/generate-types.mjs`);
  assert.throws(() => generate({ type: "object", properties: { a: { $ref: "other.json#/x" } } }), /only local \$refs/);
  assert.throws(() => generate({ type: "object", properties: { a: { type: "tuple" } } }), /unsupported type tuple/);
});

test("the conformance snapshot is a SnapshotDocument", () => {
  const document: SnapshotDocument = JSON.parse(readFileSync(`${FIXTURES}catalog.snapshot.json`, "utf-8"));
  // The schema's required keys, as the types declare them, are all in a compiled snapshot.
  const required: (keyof SnapshotDocument)[] = ["$digest", "format", "version", "capabilities", "aliases", "features",
    "providers", "models", "pools"];
  assert.deepEqual(Object.keys(document).sort(), [...required].sort());
  const model = Object.values(document.models)[0]!;
  assert.equal(typeof model.lifecycle.status, "string");
});
