/**
 * The real `openai` and `@anthropic-ai/sdk` clients against a fake provider on 127.0.0.1: the
 * errors they throw are classified as the spec says, without the runtime importing either
 * package, and the router's deadline reaches them through the signal it passes.
 */

import assert from "node:assert/strict";
import { EventEmitter, once } from "node:events";
import type { IncomingMessage, ServerResponse } from "node:http";
import { after, before, describe, test } from "node:test";

import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";

import { DeadlineExceeded, RequestRejected, Router, classifyError, loadSnapshot, type SnapshotRegistry } from "@modelreg/runtime";

import { FIXTURES, refusedUrl, serve } from "./helpers.js";

type Behaviour = { status: number; body: unknown; headers?: Record<string, string> };

const OPENAI_ERRORS: Record<string, Behaviour> = {
  "rate-limited": { status: 429, body: { error: { message: "Rate limit reached", type: "requests" } }, headers: { "retry-after": "2" } },
  "server-error": { status: 500, body: { error: { message: "The server had an error" } } },
  overloaded: { status: 529, body: { error: { message: "Overloaded" } } },
  unauthorized: { status: 401, body: { error: { message: "Incorrect API key provided", code: "invalid_api_key" } } },
  missing: { status: 404, body: { error: { message: "The model `missing` does not exist", code: "model_not_found" } } },
  context: { status: 400, body: { error: { message: "This model's maximum context length is 128000 tokens.", code: "context_length_exceeded" } } },
  policy: { status: 400, body: { error: { message: "Your request was rejected as a result of our safety system.", code: "content_policy_violation" } } },
  invalid: { status: 400, body: { error: { message: "Invalid value for 'temperature'.", type: "invalid_request_error" } } },
};

function anthropicBody(type: string, message: string): unknown {
  return { type: "error", error: { type, message } };
}

const ANTHROPIC_ERRORS: Record<string, Behaviour> = {
  "rate-limited": { status: 429, body: anthropicBody("rate_limit_error", "Rate limited"), headers: { "retry-after": "2" } },
  "server-error": { status: 500, body: anthropicBody("api_error", "Internal server error") },
  overloaded: { status: 529, body: anthropicBody("overloaded_error", "Overloaded") },
  unauthorized: { status: 401, body: anthropicBody("authentication_error", "invalid x-api-key") },
  missing: { status: 404, body: anthropicBody("not_found_error", "model: missing") },
  context: { status: 400, body: anthropicBody("invalid_request_error", "prompt is too long: 210000 tokens > 200000 maximum") },
  policy: { status: 400, body: anthropicBody("invalid_request_error", "Output blocked by content filtering policy") },
  invalid: { status: 400, body: anthropicBody("invalid_request_error", "max_tokens: Field required") },
};

const EXPECTED: Record<string, [string, number | null, boolean]> = {
  "rate-limited": ["retry", 2000, true],
  "server-error": ["retry", null, true],
  overloaded: ["retry", null, true],
  unauthorized: ["failover", null, true],
  missing: ["failover", null, true],
  context: ["failover", null, true],
  policy: ["failover", null, false],
  invalid: ["stop", null, false],
};

describe("the real SDKs against a fake provider", () => {
  let provider: Awaited<ReturnType<typeof serve>>;
  const requests: string[] = [];
  const hangUps = new EventEmitter();
  let registry: SnapshotRegistry;

  before(async () => {
    registry = await loadSnapshot(`${FIXTURES}catalog.snapshot.json`);
    provider = await serve((request: IncomingMessage, response: ServerResponse) => {
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", () => {
        const model = String(JSON.parse(Buffer.concat(chunks).toString("utf-8")).model);
        requests.push(model);
        if (model === "hang") {
          response.on("close", () => hangUps.emit("closed")); // no answer until the client gives up
          return;
        }
        const behaviour = (request.url === "/v1/messages" ? ANTHROPIC_ERRORS : OPENAI_ERRORS)[model];
        if (behaviour === undefined) {
          response.writeHead(200, { "content-type": "application/json" });
          response.end(JSON.stringify({ id: "1", object: "chat.completion", created: 0, model,
            choices: [{ index: 0, finish_reason: "stop", message: { role: "assistant", content: `hello from ${model}` } }] }));
          return;
        }
        response.writeHead(behaviour.status, { "content-type": "application/json", ...behaviour.headers });
        response.end(JSON.stringify(behaviour.body));
      });
    });
  });
  after(async () => {
    await provider.close();
  });

  const openai = (baseURL?: string): OpenAI => new OpenAI({ apiKey: "test", baseURL: baseURL ?? `${provider.url}/v1`, maxRetries: 0 });
  const anthropic = (): Anthropic => new Anthropic({ apiKey: "test", baseURL: provider.url, maxRetries: 0 });
  const messages = [{ role: "user" as const, content: "Hi" }];

  for (const [behaviour, [kind, retryAfterMs, counts]] of Object.entries(EXPECTED)) {
    test(`openai: ${behaviour}`, async () => {
      const error = await openai().chat.completions.create({ model: behaviour, messages })
        .then(() => assert.fail("answered"), (caught: unknown) => caught);
      const failure = classifyError(error);
      assert.deepEqual([failure.kind, failure.retryAfterMs, failure.countsForBreaker], [kind, retryAfterMs, counts],
        failure.reason);
    });

    test(`anthropic: ${behaviour}`, async () => {
      const error = await anthropic().messages.create({ model: behaviour, max_tokens: 16, messages })
        .then(() => assert.fail("answered"), (caught: unknown) => caught);
      const failure = classifyError(error);
      assert.deepEqual([failure.kind, failure.retryAfterMs, failure.countsForBreaker], [kind, retryAfterMs, counts],
        failure.reason);
    });
  }

  test("the SDK's own timeout retries", async () => {
    const error = await openai().chat.completions.create({ model: "hang", messages }, { timeout: 100 })
      .then(() => assert.fail("answered"), (caught: unknown) => caught);
    assert.equal((error as Error).constructor.name, "APIConnectionTimeoutError");
    assert.equal(classifyError(error).kind, "retry");
  });

  test("a refused connection retries", async () => {
    const error = await openai(await refusedUrl()).chat.completions.create({ model: "ok", messages })
      .then(() => assert.fail("answered"), (caught: unknown) => caught);
    assert.equal((error as Error).constructor.name, "APIConnectionError");
    assert.deepEqual([classifyError(error).kind, classifyError(error).countsForBreaker], ["retry", true]);
  });

  test("the router's deadline ends a hanging SDK call, through the signal it passes", async () => {
    const router = new Router(registry);
    const hungUp = once(hangUps, "closed");
    const started = performance.now();
    const error = await router.call("chat", (model, { signal }) =>
      openai().chat.completions.create({ model: "hang", messages }, { signal }), { deadlineMs: 300 })
      .then(() => assert.fail("answered"), (caught: unknown) => caught);
    const elapsed = performance.now() - started;
    assert.ok(error instanceof DeadlineExceeded, String(error));
    assert.deepEqual(error.attempts.map((attempt) => attempt.outcome), ["retry"]);
    assert.match(error.attempts[0]?.reason ?? "", /^timed out \(TimeoutError/);
    assert.ok(elapsed >= 299 && elapsed < 5000, String(elapsed));
    await hungUp; // the SDK's own request was cancelled, not left running
  });

  test("five invalid requests make five calls and leave every breaker closed", async () => {
    const router = new Router(registry);
    const client = openai();
    const before = requests.length;
    for (let i = 0; i < 5; i++) {
      const error = await router.call("chat", () => client.chat.completions.create({ model: "invalid", messages }))
        .then(() => assert.fail("answered"), (caught: unknown) => caught);
      assert.ok(error instanceof RequestRejected, String(error));
    }
    assert.equal(requests.length - before, 5);
    for (const model of router.candidates("chat")) {
      assert.equal(router.breakerState(model.name), "closed");
    }
  });

  test("a 429 waits for its Retry-After, then the next model answers", async () => {
    const waits: number[] = [];
    const router = new Router(registry, { sleep: async (ms) => { waits.push(ms); } });
    const client = openai();
    const reply = await router.call("chat", (model) =>
      client.chat.completions.create({ model: model.name === router.candidates("chat")[0]?.name ? "rate-limited" : model.modelId, messages }));
    assert.deepEqual(waits, [2000]);
    assert.equal(reply.choices[0]?.message.content, `hello from ${router.candidates("chat")[1]?.modelId}`);
  });
});
