/**
 * The README's TypeScript example, run as written: a Node process loads a snapshot whose OpenAI
 * provider points at a fake provider on 127.0.0.1, which fails the first candidate; the example
 * prints the candidates, fails over, and prints the second candidate's answer.
 */

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { inspect } from "node:util";

import { SnapshotRegistry, encode } from "@modelreg/runtime";

import { FIXTURES, REPO, serve } from "./helpers.js";

/** The first ```js block under a heading of a Markdown file. */
function example(path: string, heading: string): string {
  const text = `\n${readFileSync(path, "utf-8")}`;
  const start = text.indexOf(`\n${heading}\n`);
  assert.ok(start >= 0, `${heading} is in ${path}`);
  const block = /```js\n([\s\S]*?)```/.exec(text.slice(start));
  assert.ok(block, `a js example under ${heading}`);
  return block[1] as string;
}

test("the README's example runs, fails over and prints the answer", async () => {
  const code = example(`${REPO}README.md`, "## The TypeScript runtime");
  assert.equal(example(`${REPO}typescript/README.md`, "# @modelreg/runtime"), code, "the package's README shows the same example");
  const seen: { model: string; authorization: string | undefined }[] = [];
  const provider = await serve((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const { model } = JSON.parse(Buffer.concat(chunks).toString("utf-8"));
      seen.push({ model, authorization: request.headers.authorization });
      if (seen.length <= 2) { // the first candidate, and its retry: overloaded
        response.writeHead(503, { "content-type": "application/json" }).end('{"error":{"message":"overloaded"}}');
        return;
      }
      response.writeHead(200, { "content-type": "application/json" })
        .end(JSON.stringify({ choices: [{ message: { role: "assistant", content: `hello from ${model}` } }] }));
    });
  });
  try {
    const document = JSON.parse(readFileSync(`${FIXTURES}catalog.snapshot.json`, "utf-8"));
    delete document.$digest;
    document.providers.openai.api_base = `${provider.url}/v1`;
    const work = mkdtempSync(join(tmpdir(), "readme-"));
    mkdirSync(join(work, "build"));
    const sealed = encode(document).raw;
    writeFileSync(join(work, "build", "registry.json"), sealed);
    // Inside the package, so that `@modelreg/runtime` resolves to it as it would once installed.
    const script = join(REPO, "typescript", "build", "readme", "example.mjs");
    mkdirSync(join(REPO, "typescript", "build", "readme"), { recursive: true });
    writeFileSync(script, code);
    const registry = SnapshotRegistry.fromBytes(sealed);
    const keyVariable = registry.providers.get("openai")!.apiKeyEnv!;
    const { stdout } = await promisify(execFile)(process.execPath, [script],
      { cwd: work, env: { ...process.env, [keyVariable]: "test-key" } });
    const candidates = registry.findByCapability("chat")
      .filter((model) => model.provider === "openai" && model.hasFeature("tool_calling"));
    assert.equal(stdout, `${inspect(candidates.slice(0, 3).map((model) => model.name))}\nhello from ${candidates[1]!.modelId}\n`);
    assert.deepEqual(seen.map((request) => request.model), [candidates[0]!.modelId, candidates[0]!.modelId, candidates[1]!.modelId]);
    assert.ok(seen.every((request) => request.authorization === "Bearer test-key"));
  } finally {
    await provider.close();
  }
});
