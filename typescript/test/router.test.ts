/** What the router promises beyond the shared scenarios: a deadline through AbortSignal, the
 * caller's own cancellation, streams, spreading, limits and events. */

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import {
  DeadlineExceeded,
  NoCandidates,
  ProviderError,
  Router,
  SnapshotRegistry,
  StreamInterrupted,
  encode,
  loadSnapshot,
  type Model,
} from "@modelreg/runtime";

import { FIXTURES, FakeClock, smallDocument } from "./helpers.js";

const registry = await loadSnapshot(`${FIXTURES}catalog.snapshot.json`);
const TWO = { providers: "deepseek" }; // deepseek-chat, then deepseek-reasoner

async function collect<T>(chunks: AsyncIterable<T>): Promise<T[]> {
  const got: T[] = [];
  for await (const chunk of chunks) {
    got.push(chunk);
  }
  return got;
}

function failing(message = "down"): ProviderError {
  return new ProviderError(message, "failover");
}

describe("the deadline", () => {
  test("reaches the attempt as an AbortSignal and ends the call", async () => {
    const router = new Router(registry);
    let seen: AbortSignal | undefined;
    let remaining = -1;
    const started = performance.now();
    const error = await router.call("chat", (model, { signal, remainingMs }) => {
      seen = signal;
      remaining = remainingMs;
      return new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason)));
    }, { ...TWO, deadlineMs: 150 }).then(() => assert.fail("answered"), (caught: unknown) => caught);
    assert.ok(error instanceof DeadlineExceeded, String(error));
    assert.ok(seen?.aborted);
    assert.equal((seen?.reason as DOMException).name, "TimeoutError");
    assert.ok(remaining > 0 && remaining <= 150);
    assert.deepEqual(error.attempts.map((a) => [a.model, a.number, a.outcome]), [["deepseek/deepseek-chat", 1, "retry"]]);
    assert.ok(performance.now() - started >= 149);
  });

  test("an attempt that ignores its signal is abandoned at the deadline", async () => {
    const router = new Router(registry);
    const error = await router.call("chat", () => new Promise(() => undefined), { ...TWO, deadlineMs: 100 })
      .then(() => assert.fail("answered"), (caught: unknown) => caught);
    assert.ok(error instanceof DeadlineExceeded);
    assert.match(error.message, /^chat: deadline of 0\.1s expired after 1 attempt\(s\)\n  #1 deepseek\/deepseek-chat: retry: timed out/);
  });
});

test("the deadline's timer ends the call even when the clock still reads before the deadline", async () => {
  // A clock at half speed reads half the deadline when the timer fires: no attempt may follow.
  const router = new Router(registry, { clock: () => performance.now() / 2 });
  let attempts = 0;
  const error = await router.call("chat", () => {
    attempts += 1;
    return new Promise(() => undefined);
  }, { ...TWO, deadlineMs: 80 }).then(() => assert.fail("answered"), (caught: unknown) => caught);
  assert.ok(error instanceof DeadlineExceeded, String(error));
  assert.equal(attempts, 1);
});

describe("the caller's own signal", () => {
  test("aborting it ends the call with its reason, and the model is not blamed", async () => {
    const router = new Router(registry);
    const controller = new AbortController();
    const reason = new Error("the user left");
    const pending = router.call("chat", (model, { signal }) => {
      queueMicrotask(() => controller.abort(reason));
      return new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason)));
    }, { ...TWO, signal: controller.signal });
    await assert.rejects(pending, (error) => error === reason);
    assert.equal(router.breakerState("deepseek/deepseek-chat"), "closed");
    assert.deepEqual((router.store as any).breaker("deepseek/deepseek-chat").counts(), [0, 0, 0]);
  });

  test("an aborted signal stops the call before any attempt", async () => {
    const router = new Router(registry);
    let calls = 0;
    await assert.rejects(router.call("chat", () => { calls += 1; }, { signal: AbortSignal.abort(new Error("no")) }),
      /no/);
    assert.equal(calls, 0);
  });

  test("aborting it during a backoff ends the wait", async () => {
    const router = new Router(registry);
    const controller = new AbortController();
    const reason = new Error("stop waiting");
    const pending = router.call("chat", () => {
      setImmediate(() => controller.abort(reason));
      throw new ProviderError("busy", "retry", { retryAfterMs: 20_000 });
    }, { ...TWO, signal: controller.signal });
    await assert.rejects(pending, (error) => error === reason);
  });
});

describe("streams", () => {
  async function* chunks(items: string[], failAfter?: number): AsyncGenerator<string> {
    for (const [index, item] of items.entries()) {
      if (index === failAfter) {
        throw new Error("connection reset");
      }
      yield item;
    }
  }

  test("a failure before the first chunk fails over", async () => {
    const router = new Router(registry);
    const opened: string[] = [];
    const stream = await router.stream("chat", (model) => {
      opened.push(model.name);
      return model.name === "deepseek/deepseek-chat" ? chunks(["never"], 0) : chunks(["a", "b", "c"]);
    }, TWO);
    assert.equal(stream.model.name, "deepseek/deepseek-reasoner");
    const got: string[] = [];
    for await (const chunk of stream) {
      got.push(chunk);
    }
    assert.deepEqual(got, ["a", "b", "c"]);
    assert.deepEqual(opened, ["deepseek/deepseek-chat", "deepseek/deepseek-reasoner"]);
  });

  test("a failure after the first chunk is StreamInterrupted, with no failover", async () => {
    const router = new Router(registry);
    const opened: string[] = [];
    const stream = await router.stream("chat", (model) => {
      opened.push(model.name);
      return chunks(["a", "b", "c"], 2);
    }, TWO);
    const got: string[] = [];
    await assert.rejects((async () => {
      for await (const chunk of stream) {
        got.push(chunk);
      }
    })(), (error: unknown) => error instanceof StreamInterrupted && error.model === "deepseek/deepseek-chat"
      && error.kind === "stop" && error.message.endsWith("stream interrupted after the first chunk: connection reset"));
    assert.deepEqual(got, ["a", "b"]);
    assert.deepEqual(opened, ["deepseek/deepseek-chat"]);
  });

  test("leaving early closes the provider's stream; sync iterables and empty streams work too", async () => {
    const router = new Router(registry);
    let closed = false;
    async function* endless(): AsyncGenerator<number> {
      try {
        for (let i = 0; ; i++) {
          yield i;
        }
      } finally {
        closed = true;
      }
    }
    for await (const chunk of await router.stream("chat", () => endless(), TWO)) {
      if (chunk === 2) {
        break;
      }
    }
    assert.equal(closed, true);
    const sync = await router.stream("chat", () => ["x", "y"], TWO);
    assert.deepEqual(await collect(sync), ["x", "y"]);
    const empty = await router.stream("chat", () => [], TWO);
    assert.deepEqual(await collect(empty), []);
  });
});

function twins(): SnapshotRegistry {
  // The small snapshot with its two OpenAI models at one priority.
  const document = smallDocument();
  for (const name of Object.keys(document.models)) {
    document.models[name].priority = 5;
  }
  for (const [path, members] of Object.entries<string[]>(document.pools)) {
    document.pools[path] = [...members].sort();
  }
  return SnapshotRegistry.fromBytes(encode(document).raw);
}

describe("spreading, limits and events", () => {
  test("spread takes models of equal priority in turn", async () => {
    const small = twins();
    const pool = small.pool("generation.text-generation");
    assert.ok(pool.length >= 2 && pool.every((name) => !small.getModel(name)!.deprecated));
    const router = new Router(small, { spread: true });
    const first: string[] = [];
    for (let i = 0; i < 4; i++) {
      first.push(await router.call("generation.text-generation", (model: Model) => model.name));
    }
    assert.deepEqual(first, [0, 1, 2, 3].map((i) => pool[i % pool.length]));
    const plain = new Router(small);
    assert.equal(await plain.call("generation.text-generation", (model: Model) => model.name), pool[0]);
    assert.equal(await plain.call("generation.text-generation", (model: Model) => model.name), pool[0]);
  });

  test("a model at its rpm is skipped until the minute turns, and explain says so", async () => {
    const clock = new FakeClock();
    const router = new Router(registry, { clock: clock.read, limits: { "deepseek/deepseek-chat": { rpm: 1, tpm: null } } });
    assert.equal(await router.call("chat", (model) => model.name, TWO), "deepseek/deepseek-chat");
    assert.equal(await router.call("chat", (model) => model.name, TWO), "deepseek/deepseek-reasoner");
    assert.deepEqual(router.explain("chat", TWO).unavailable.map(([m, why]) => [m.name, why]),
      [["deepseek/deepseek-chat", "at its limit of 1 requests a minute"]]);
    clock.now += 60_000;
    assert.equal(await router.call("chat", (model) => model.name, TWO), "deepseek/deepseek-chat");
  });

  test("a model's tpm counts the tokens its answers used", async () => {
    const router = new Router(registry, { limits: { "deepseek/deepseek-chat": { rpm: null, tpm: 100 } } });
    const answer = (model: Model): unknown => ({ model: model.name, usage: { prompt_tokens: 60, completion_tokens: 40 } });
    assert.equal(((await router.call("chat", answer, TWO)) as any).model, "deepseek/deepseek-chat");
    assert.equal(((await router.call("chat", answer, TWO)) as any).model, "deepseek/deepseek-reasoner");
  });

  test("every attempt is an event, and a broken listener changes nothing", async () => {
    const kinds: string[] = [];
    const router = new Router(registry, {
      sleep: async () => undefined,
      onEvent: (event) => {
        kinds.push(`${event.kind}:${event.model ?? "-"}`);
        throw new Error("a broken metrics hook");
      },
    });
    assert.equal(await router.call("chat", (model) => {
      if (model.name === "deepseek/deepseek-chat") {
        throw failing();
      }
      return model.name;
    }, TWO), "deepseek/deepseek-reasoner");
    assert.deepEqual(kinds, ["attempt:deepseek/deepseek-chat", "failure:deepseek/deepseek-chat",
      "failover:deepseek/deepseek-chat", "attempt:deepseek/deepseek-reasoner", "success:deepseek/deepseek-reasoner"]);
  });

  test("no candidates: every pool member and why it is out", async () => {
    const router = new Router(registry);
    const error = await router.call("chat", () => "never", { providers: "deepseek", minContext: 10_000_000 })
      .then(() => assert.fail("answered"), (caught: unknown) => caught);
    assert.ok(error instanceof NoCandidates);
    assert.equal(error.excluded.length, registry.findByCapability("chat").length);
    assert.deepEqual(error.excluded.filter(([name]) => name.startsWith("deepseek/")).map(([, why]) => why),
      ["context window 131,072 < 10,000,000", "context window 131,072 < 10,000,000"]);
    // The first reason a model fails is the one told: its context window before its provider.
    assert.match(error.message, /^chat: no model can serve this request \(anthropic\/claude-opus-4-6: context window 1,000,000 < 10,000,000; /);
    assert.ok(error.message.endsWith(`; and ${registry.findByCapability("chat").length - 10} more)`));
  });

  test("a classify function of the caller's decides what a failure means", async () => {
    const router = new Router(registry, {
      classify: (error) => ({ kind: "stop", reason: String(error), retryAfterMs: null, countsForBreaker: false }),
    });
    await assert.rejects(router.call("chat", () => { throw new Error("nope"); }, TWO),
      (error: unknown) => error instanceof Error && error.constructor.name === "RequestRejected");
  });
});
