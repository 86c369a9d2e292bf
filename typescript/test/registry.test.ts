/** The registry's own promises beyond the conformance answers: immutability, dates, sources. */

import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, test } from "node:test";

import { FrozenSet, SnapshotError, SnapshotRegistry, encode, loadSnapshot } from "@modelreg/runtime";

import { FIXTURES, smallDocument } from "./helpers.js";

const CATALOG = `${FIXTURES}catalog.snapshot.json`;

describe("the registry", () => {
  test("models, lists and sets cannot be changed", async () => {
    const registry = await loadSnapshot(CATALOG);
    const model = registry.listModels()[0]!;
    assert.throws(() => { (model as any).priority = 0; }, TypeError);
    assert.throws(() => { (registry.listModels() as any[]).push(model); }, TypeError);
    assert.throws(() => { (registry.findByCapability("chat") as any[]).pop(); }, TypeError);
    assert.throws(() => { (model.capabilities as string[]).push("x"); }, TypeError);
    assert.throws(() => { (model.enabledFeatures as Set<string>).add("x"); }, TypeError);
    assert.throws(() => { (model.inputModalities as Set<string>).clear(); }, TypeError);
    assert.throws(() => { (model.record as any).priority = 0; }, TypeError);
    assert.throws(() => { (model.limits as any).context_window = 1; }, TypeError);
    assert.throws(() => { (registry as any).version = null; }, TypeError);
    assert.throws(() => new FrozenSet(["a"]).delete("a"), TypeError);
  });

  test("registeredAt is a Date, a fresh one each time", async () => {
    const registry = await loadSnapshot(CATALOG);
    const model = registry.getModel("openai/gpt-4o")!;
    const when = model.registeredAt!;
    assert.ok(when instanceof Date);
    assert.equal(when.getTime(), Date.parse(model.record.registered_at as string));
    when.setTime(0);
    assert.notEqual(model.registeredAt!.getTime(), 0);
  });

  test("a model's views of its record", async () => {
    const document = smallDocument();
    const name = Object.keys(document.models)[0] as string;
    document.models[name]["x-team"] = "search";
    document.models[name].description = "A model.";
    document.models[name].cost = ["not", "an", "object"];
    const registry = SnapshotRegistry.fromBytes(encode(document).raw);
    const model = registry.getModel(name)!;
    assert.deepEqual(model.extensions, { "x-team": "search" });
    assert.equal(model.description, "A model.");
    assert.deepEqual(model.cost, {});
    assert.equal(model.endpoint, registry.providers.get(model.provider));
    assert.equal(model.endpoint.apiBase, document.providers[model.provider].api_base ?? null);
    assert.equal(model.hasFeature([...model.enabledFeatures][0]!), true);
    assert.equal(model.hasFeature("no-such-feature"), false);
    assert.equal(String(model), `<Model ${name} (${model.status}, priority ${model.priority})>`);
  });

  test("fromBytes names its source in errors, `snapshot` by default", () => {
    const raw = encode(smallDocument()).raw;
    const tampered = Buffer.from(raw.toString("utf-8").replace('"display_name":"', '"display_name":"X'));
    assert.throws(() => SnapshotRegistry.fromBytes(tampered),
      (error: unknown) => error instanceof SnapshotError && error.kind === "digest-mismatch"
        && error.message.startsWith("snapshot: digest mismatch (the file says sha256:"));
    assert.throws(() => SnapshotRegistry.fromBytes(tampered, { source: "cache.json" }),
      (error: unknown) => error instanceof SnapshotError && error.source === "cache.json");
  });

  test("a file URL loads as its path", async () => {
    const registry = await loadSnapshot(pathToFileURL(CATALOG));
    assert.equal(registry.source, CATALOG);
  });

  test("a file that cannot be read rejects with Node's own error", async () => {
    const missing = join(mkdtempSync(join(tmpdir(), "missing-")), "registry.json");
    await assert.rejects(loadSnapshot(missing), (error: NodeJS.ErrnoException) => error.code === "ENOENT");
  });

  test("encode writes what the compiler writes", async () => {
    const document = JSON.parse((await import("node:fs")).readFileSync(CATALOG, "utf-8"));
    const digest = document.$digest;
    delete document.$digest;
    const sealed = encode(document);
    assert.equal(sealed.digest, digest);
    assert.deepEqual(sealed.raw, (await import("node:fs")).readFileSync(CATALOG));
  });

  test("an empty pool and a model in no pool", () => {
    const document = smallDocument();
    const name = Object.keys(document.models)[0] as string;
    document.models[name].lifecycle.status = "retired";
    document.models[name].pools = [];
    for (const path of Object.keys(document.pools)) {
      document.pools[path] = document.pools[path].filter((member: string) => member !== name);
    }
    const path = join(mkdtempSync(join(tmpdir(), "retired-")), "registry.json");
    writeFileSync(path, encode(document).raw);
    return loadSnapshot(path).then((registry) => {
      assert.equal(registry.getModel(name)!.status, "retired");
      assert.ok(!registry.listModels().filter((m) => m.name !== name).some((m) => m.pools.length === 0));
      for (const p of Object.keys(document.pools)) {
        assert.ok(!registry.pool(p).includes(name));
      }
    });
  });
});
