/** The package is ready to publish, and depends on nothing but Node itself. */

import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { test } from "node:test";

import * as runtime from "@modelreg/runtime";

import { REPO } from "./helpers.js";

const PACKAGE = JSON.parse(readFileSync(`${REPO}typescript/package.json`, "utf-8"));

test("the metadata a registry needs", () => {
  assert.equal(PACKAGE.name, "@modelreg/runtime");
  assert.match(PACKAGE.version, /^\d+\.\d+\.\d+$/);
  assert.equal(PACKAGE.type, "module");
  assert.deepEqual(PACKAGE.exports["."], { types: "./dist/index.d.ts", import: "./dist/index.js" });
  assert.equal(PACKAGE.types, "./dist/index.d.ts");
  assert.equal(PACKAGE.engines.node, ">=20");
  assert.deepEqual(PACKAGE.files, ["dist", "src", "README.md"]);
  // The same license as the Python distributions.
  const pyproject = readFileSync(`${REPO}pyproject.toml`, "utf-8");
  assert.equal(PACKAGE.license, /^license = \{ text = "([^"]+)" \}$/m.exec(pyproject)?.[1]);
});

test("no runtime dependency: the built files import only Node's modules and each other", () => {
  assert.equal(PACKAGE.dependencies, undefined);
  assert.equal(PACKAGE.peerDependencies, undefined);
  const dist = `${REPO}typescript/dist/`;
  for (const file of readdirSync(dist).filter((name) => name.endsWith(".js"))) {
    const text = readFileSync(`${dist}${file}`, "utf-8");
    for (const [, specifier] of text.matchAll(/^(?:import|export)\s[^;]*?from\s+"([^"]+)"/gm)) {
      assert.ok(specifier!.startsWith("node:") || specifier!.startsWith("./"), `${file} imports ${specifier}`);
    }
  }
});

test("the entry point exports the contract's names", () => {
  for (const name of ["loadSnapshot", "SnapshotRegistry", "SnapshotWatcher", "Router", "Model", "SnapshotError",
    "UnknownCapability", "NoCandidates", "AllCandidatesFailed", "DeadlineExceeded", "RequestRejected",
    "StreamInterrupted", "ProviderError", "classifyError", "CircuitBreaker"]) {
    assert.equal(typeof (runtime as Record<string, unknown>)[name], "function", name);
  }
});
