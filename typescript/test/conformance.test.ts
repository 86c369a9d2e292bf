/**
 * The TypeScript runtime against the conformance fixtures in tests/conformance/fixtures/, which
 * the Python runtime's tests (tests/conformance/test_python_runtime.py) read too: the two runtimes
 * give the same answers or one of them fails.
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";

import {
  CircuitBreaker,
  DEFAULT_BREAKER_POLICY,
  DEFAULT_RETRY_POLICY,
  ProviderError,
  Router,
  RoutingError,
  SnapshotError,
  SnapshotRegistry,
  UnknownName,
  breakerPolicy,
  classifyError,
  loadSnapshot,
  type Model,
  type RouterEvent,
} from "@modelreg/runtime";

import { FIXTURES, FakeClock, filtersOf, fixture, forTypeScript, refusedUrl, serve } from "./helpers.js";
import { seededSnapshot } from "./seeded.js";

const ANSWERS = fixture("catalog.answers.json");
const SEEDED = fixture("seeded.json");
const FILES = fixture<any[]>("snapshot-files.json");
const CLASSIFICATION = fixture("classification.json");
const FAILOVER = fixture("failover.json");
const HTTP = fixture("http.json");
const CASES = new Map<string, any>(CLASSIFICATION.cases.map((entry: any) => [entry.name, entry]));

function names(models: readonly Model[]): string[] {
  return models.map((model) => model.name);
}

function summary(model: Model): Record<string, unknown> {
  return {
    provider: model.provider, model_id: model.modelId, capabilities: [...model.capabilities], pools: [...model.pools],
    features: [...model.enabledFeatures].sort(), context_window: model.contextWindow,
    max_output_tokens: model.maxOutputTokens, input_modalities: [...model.inputModalities].sort(),
    output_modalities: [...model.outputModalities].sort(), status: model.status, priority: model.priority,
    delivery: model.delivery, batch: model.batch, display_name: model.displayName,
    registered_at: model.registeredAt === null ? null : model.registeredAt.getTime(),
  };
}

function expectedSummary(expected: Record<string, any>): Record<string, unknown> {
  return { ...expected, registered_at: expected["registered_at"] === null ? null : Date.parse(expected["registered_at"]) };
}

function errorRecord(error: unknown): Record<string, unknown> {
  assert.ok(error instanceof UnknownName, String(error));
  return { error: error.constructor.name, name: error.requested, suggestions: [...error.suggestions], message: error.message };
}

function thrown(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  assert.fail("expected an error");
}

function hashed(list: string[]): Record<string, unknown> {
  return { count: list.length, first: list.slice(0, 3), sha256: createHash("sha256").update(list.join("\n")).digest("hex") };
}

describe("the catalog snapshot", () => {
  let registry: SnapshotRegistry;
  before(async () => {
    registry = await loadSnapshot(`${FIXTURES}${ANSWERS.snapshot}`);
  });

  test("version and digest", () => {
    const { version } = registry;
    assert.equal(registry.digest, ANSWERS.digest);
    assert.deepEqual({ commit: version.commit, dirty: version.dirty, number: version.number, label: version.label,
                       history: version.history, format_minor: version.formatMinor }, ANSWERS.version);
  });

  test("every model", () => {
    assert.deepEqual(names(registry.listModels()), ANSWERS.list_models);
    for (const [name, expected] of Object.entries<any>(ANSWERS.models)) {
      const model = registry.getModel(name);
      assert.ok(model !== undefined, name);
      assert.deepEqual(summary(model), expectedSummary(expected), name);
    }
    for (const name of ANSWERS.missing_models) {
      assert.equal(registry.getModel(name), undefined);
    }
  });

  test("every node and alias", () => {
    for (const [path, expected] of Object.entries<any>(ANSWERS.capabilities)) {
      assert.equal(registry.tree.resolve(path), expected.path, path);
      assert.deepEqual(names(registry.findByCapability(path)), expected.pool, path);
      assert.deepEqual([...registry.pool(path)], expected.pool, path);
    }
  });

  test("unknown capabilities, with the same suggestions", () => {
    for (const [typo, expected] of Object.entries<any>(ANSWERS.unknown_capabilities)) {
      assert.deepEqual(errorRecord(thrown(() => registry.findByCapability(typo))), expected, typo);
      assert.deepEqual(errorRecord(thrown(() => registry.pool(typo))), expected, typo);
    }
  });

  test("every provider, and unknown ones", () => {
    const got = Object.fromEntries([...registry.providers.keys()].map((p) => [p, names(registry.findByProvider(p))]));
    assert.deepEqual(got, ANSWERS.providers);
    for (const [typo, expected] of Object.entries<any>(ANSWERS.unknown_providers)) {
      assert.deepEqual(errorRecord(thrown(() => registry.findByProvider(typo))), expected, typo);
    }
  });

  test("every model ID", () => {
    for (const [id, expected] of Object.entries<any>(ANSWERS.model_ids)) {
      assert.deepEqual(names(registry.findByModelId(id)), expected, id);
    }
  });

  test("candidates under every filter", () => {
    const router = new Router(registry);
    for (const entry of ANSWERS.candidates) {
      const options = { ...filtersOf(entry.filters), limit: entry.limit };
      const label = `${entry.capability} ${JSON.stringify(entry.filters)} limit ${entry.limit}`;
      if (entry.error) {
        assert.deepEqual(errorRecord(thrown(() => router.candidates(entry.capability, options))), entry.error, label);
      } else {
        assert.deepEqual(names(router.candidates(entry.capability, options)), entry.candidates, label);
      }
    }
  });

  test("explanations", () => {
    const router = new Router(registry);
    for (const entry of ANSWERS.explain) {
      const label = `${entry.capability} ${JSON.stringify(entry.filters)}`;
      if (entry.error) {
        assert.deepEqual(errorRecord(thrown(() => router.explain(entry.capability, filtersOf(entry.filters)))),
          entry.error, label);
        continue;
      }
      const route = router.explain(entry.capability, filtersOf(entry.filters));
      assert.equal(route.capability, entry.path, label);
      assert.deepEqual(names(route.candidates), entry.candidates, label);
      assert.deepEqual(route.excluded.map(([model, why]) => [model.name, why]), entry.excluded, label);
      assert.equal(route.poolSize, entry.pool_size, label);
      assert.deepEqual(route.unavailable, [], label);
    }
  });
});

describe("snapshot files the loader must refuse or accept", () => {
  for (const entry of forTypeScript(FILES)) {
    test(`${entry.file}: ${entry.kind ?? "loads"}`, async () => {
      const path = `${FIXTURES}${entry.file}`;
      const options = entry.max_bytes === undefined ? {} : { maxBytes: entry.max_bytes };
      if (entry.kind === null) {
        assert.ok((await loadSnapshot(path, options)).size > 0);
        return;
      }
      const error = await loadSnapshot(path, options).then(() => assert.fail("loaded"), (caught: unknown) => caught);
      assert.ok(error instanceof SnapshotError, String(error));
      assert.equal(error.kind, entry.kind, error.message);
      assert.ok(error.message.startsWith(`${path}: `), error.message);
      if (entry.detail !== undefined) {
        assert.equal(error.message, `${path}: not a valid snapshot: ${entry.detail}`);
        assert.equal(error.detail, entry.detail);
      }
    });
  }
});

describe("the seeded 10,000-model snapshot", () => {
  let registry: SnapshotRegistry;
  before(async () => {
    const base = JSON.parse(readFileSync(`${FIXTURES}${ANSWERS.snapshot}`, "utf-8"));
    const { raw, digest } = seededSnapshot(SEEDED.seed, SEEDED.models, base);
    assert.equal(digest, SEEDED.digest, "the TypeScript generator must write the Python generator's bytes");
    assert.equal(raw.length, SEEDED.bytes);
    const path = join(mkdtempSync(join(tmpdir(), "seeded-")), "registry.json");
    writeFileSync(path, raw);
    registry = await loadSnapshot(path);
  });

  test("digest and models", () => {
    assert.equal(registry.digest, SEEDED.digest);
    assert.equal(registry.size, SEEDED.models);
    assert.deepEqual(hashed(names(registry.listModels())), SEEDED.list_models);
  });

  test("lookups", () => {
    for (const [path, expected] of Object.entries(SEEDED.pools)) {
      assert.deepEqual(hashed(names(registry.findByCapability(path))), expected, path);
    }
    for (const [provider, expected] of Object.entries(SEEDED.providers)) {
      assert.deepEqual(hashed(names(registry.findByProvider(provider))), expected, provider);
    }
    for (const [id, expected] of Object.entries(SEEDED.model_ids)) {
      assert.deepEqual(names(registry.findByModelId(id)), expected, id);
    }
    for (const [name, expected] of Object.entries<any>(SEEDED.models_sample)) {
      assert.deepEqual(summary(registry.getModel(name) as Model), expectedSummary(expected), name);
    }
  });

  test("candidates", () => {
    const router = new Router(registry);
    for (const entry of SEEDED.candidates) {
      const got = names(router.candidates(entry.capability, { ...filtersOf(entry.filters), limit: entry.limit }));
      assert.deepEqual({ ...entry, ...hashed(got) }, entry, JSON.stringify(entry.filters));
    }
  });
});

/** An error shaped as the npm clients throw the described one. */
function buildError(description: any): unknown {
  if (description.name === "ProviderError") {
    return new ProviderError(description.message ?? "provider error", description.kind, {
      status: description.status ?? null,
      retryAfterMs: description.retry_after === undefined ? null : description.retry_after * 1000,
      countsForBreaker: description.counts_for_breaker ?? true,
    });
  }
  const named = (name: string, base: new (message?: string) => Error): new (message?: string) => Error =>
    ({ [name]: class extends base {} })[name] as new (message?: string) => Error;
  let base: new (message?: string) => Error = Error;
  for (const name of [...(description.bases ?? [])].reverse()) {
    base = named(name, base);
  }
  const error: any = new (named(description.name, base))(description.message ?? "");
  error.name = description.name;
  const response: Record<string, unknown> = {};
  if (description.status !== undefined) {
    const at: string = description.status_at ?? "status";
    (at.startsWith("response.") ? response : error)[at.replace(/^response\./, "")] = description.status;
  }
  if (description.headers !== undefined) {
    const record = Object.fromEntries(Object.entries<any>(description.headers).map(([name, value]) =>
      [name, typeof value === "object" ? new Date(Date.now() + value.http_date_in * 1000).toUTCString() : value]));
    const headers = description.headers_as === "Headers" ? new Headers(record) : record;
    (description.headers_at === "response" ? response : error).headers = headers;
  }
  if (Object.keys(response).length > 0) {
    error.response = response;
  }
  if (description.body !== undefined) {
    error.error = description.body;
  }
  if (description.code !== undefined) {
    error.code = description.code;
  }
  if (description.cause !== undefined) {
    error.cause = buildError(description.cause);
  }
  return error;
}

describe("classification", () => {
  test("the default policies", () => {
    const retry = CLASSIFICATION.defaults.retry;
    assert.deepEqual(DEFAULT_RETRY_POLICY, {
      attemptsPerModel: retry.attempts_per_model, maxAttempts: retry.max_attempts, deadlineMs: retry.deadline * 1000,
      backoffBaseMs: retry.backoff_base * 1000, backoffMaxMs: retry.backoff_max * 1000, jitter: retry.jitter,
      maxRetryAfterMs: retry.max_retry_after * 1000,
    });
    const breaker = CLASSIFICATION.defaults.breaker;
    assert.deepEqual(DEFAULT_BREAKER_POLICY, {
      failureRate: breaker.failure_rate, minVolume: breaker.min_volume, windowMs: breaker.window * 1000,
      consecutiveFailures: breaker.consecutive_failures, openForMs: breaker.open_for * 1000,
    });
  });

  for (const entry of forTypeScript(CLASSIFICATION.cases as any[])) {
    test(entry.name, () => {
      const failure = classifyError(buildError(entry.error), { deadlineExpired: entry.error.by_deadline === true });
      const expect = entry.expect;
      assert.deepEqual([failure.kind, failure.countsForBreaker], [expect.kind, expect.counts_for_breaker], failure.reason);
      if (expect.retry_after_near !== undefined) {
        assert.ok(failure.retryAfterMs !== null && Math.abs(failure.retryAfterMs / 1000 - expect.retry_after_near) <= 2,
          String(failure.retryAfterMs));
      } else if (expect.retry_after === null) {
        assert.equal(failure.retryAfterMs, null);
      } else {
        assert.ok(failure.retryAfterMs !== null && Math.abs(failure.retryAfterMs - expect.retry_after * 1000) < 1e-6,
          String(failure.retryAfterMs));
      }
    });
  }
});

function breakerOf(policy: Record<string, number> = {}): ReturnType<typeof breakerPolicy> {
  const names: Record<string, [string, number]> = {
    failure_rate: ["failureRate", 1], min_volume: ["minVolume", 1], window: ["windowMs", 1000],
    consecutive_failures: ["consecutiveFailures", 1], open_for: ["openForMs", 1000],
  };
  return breakerPolicy(Object.fromEntries(Object.entries(policy).map(([key, value]) => {
    const [name, scale] = names[key] as [string, number];
    return [name, value * scale];
  })));
}

function retryOf(policy: Record<string, number> = {}): Record<string, number> {
  const names: Record<string, [string, number]> = {
    attempts_per_model: ["attemptsPerModel", 1], max_attempts: ["maxAttempts", 1], deadline: ["deadlineMs", 1000],
    backoff_base: ["backoffBaseMs", 1000], backoff_max: ["backoffMaxMs", 1000], jitter: ["jitter", 1],
    max_retry_after: ["maxRetryAfterMs", 1000],
  };
  return Object.fromEntries(Object.entries(policy).map(([key, value]) => {
    const [name, scale] = names[key] as [string, number];
    return [name, value * scale];
  }));
}

describe("the circuit breaker", () => {
  for (const scenario of FAILOVER.breaker) {
    test(scenario.name, () => {
      const clock = new FakeClock();
      const breaker = new CircuitBreaker(breakerOf(scenario.policy), clock.read);
      scenario.steps.forEach((step: any, number: number) => {
        clock.now = step.t * 1000;
        let transition: readonly string[] | null = null;
        if (step.record !== undefined) {
          transition = breaker.record(step.record);
        } else if (step.acquire !== undefined) {
          const [allowed, moved] = breaker.acquire();
          assert.equal(allowed, step.allowed, `step ${number}`);
          transition = moved;
        } else if (step.release !== undefined) {
          breaker.release();
        } else {
          for (let i = 0; i < step.count; i++) {
            clock.now = (step.t + i * step.every) * 1000;
            breaker.record(i % step.fail_each !== 0);
          }
        }
        if (step.state !== undefined) {
          assert.equal(breaker.state, step.state, `step ${number}`);
        }
        if (step.transition !== undefined) {
          assert.deepEqual(transition === null ? null : [...transition], step.transition, `step ${number}`);
        }
      });
    });
  }
});

function eventOf(event: RouterEvent): unknown[] {
  const detail = event.breakerFrom !== null && event.breakerTo !== null ? `${event.breakerFrom}->${event.breakerTo}`
    : event.failure;
  return [event.kind, event.model, detail];
}

describe("routed calls", () => {
  let registry: SnapshotRegistry;
  before(async () => {
    registry = await loadSnapshot(`${FIXTURES}${ANSWERS.snapshot}`);
  });

  for (const scenario of FAILOVER.routing) {
    test(scenario.name, async () => {
      const clock = new FakeClock();
      const events: RouterEvent[] = [];
      const router = new Router(registry, {
        policy: retryOf(scenario.retry), breaker: breakerOf(scenario.breaker), clock: clock.read, sleep: clock.sleep,
        random: () => scenario.random ?? 0, onEvent: (event) => events.push(event),
      });
      const filters = filtersOf(scenario.filters ?? FAILOVER.filters);
      for (const [number, call] of (scenario.calls as any[]).entries()) {
        clock.now += (call.advance ?? 0) * 1000;
        clock.sleeps.length = 0;
        events.length = 0;
        const outcomes = new Map<string, any[]>(Object.entries<any[]>(call.outcomes).map(([name, items]) => [name, [...items]]));
        const invoke = async (model: Model): Promise<string> => {
          let outcome = (outcomes.get(model.name) as any[]).shift();
          if (outcome === "ok") {
            return model.name;
          }
          if (typeof outcome === "string") {
            outcome = { error: outcome };
          }
          clock.now += (outcome.takes ?? 0) * 1000;
          throw buildError(CASES.get(outcome.error).error);
        };
        const expect = call.expect;
        if (expect.candidates !== undefined) {
          assert.deepEqual(names(router.candidates(FAILOVER.capability, filters)), expect.candidates);
        }
        if (expect.result !== undefined) {
          assert.equal(await router.call(FAILOVER.capability, invoke, filters), expect.result, `call ${number}`);
        } else {
          const error = await router.call(FAILOVER.capability, invoke, filters)
            .then(() => assert.fail("succeeded"), (caught: unknown) => caught);
          assert.ok(error instanceof RoutingError, String(error));
          assert.equal(error.constructor.name, expect.error, `call ${number}`);
          assert.deepEqual(error.attempts.map((a) => [a.model, a.number, a.outcome]), expect.attempts, `call ${number}`);
        }
        assert.deepEqual(clock.sleeps.map((ms) => ms / 1000), expect.sleeps, `call ${number}`);
        assert.deepEqual(events.map(eventOf), expect.events, `call ${number}`);
      }
    });
  }
});

describe("loading from a URL", () => {
  let server: Awaited<ReturnType<typeof serve>>;
  before(async () => {
    server = await serve((request, response) => {
      const [, caseNumber, hops] = (request.url as string).split("/");
      const entry = HTTP.cases[Number(caseNumber)].serve;
      if (Number(hops) > 0) {
        response.writeHead(302, { Location: `/${caseNumber}/${Number(hops) - 1}`, "Content-Length": "0" }).end();
        return;
      }
      if (entry.hang) {
        return; // no answer at all; the connection is ended when the server closes
      }
      if (entry.status !== undefined) {
        response.writeHead(entry.status, { "Content-Length": "0" }).end();
        return;
      }
      const body = readFileSync(`${FIXTURES}${entry.body}`);
      response.writeHead(200, entry.no_length ? { Connection: "close" } : { "Content-Length": String(body.length) });
      if (entry.cut_at !== undefined) {
        response.write(body.subarray(0, entry.cut_at), () => response.socket?.destroy());
        return;
      }
      if (entry.drip !== undefined) {
        let index = 0;
        const timer = setInterval(() => {
          if (index >= body.length || response.destroyed) {
            clearInterval(timer);
            return;
          }
          response.write(body.subarray(index, index + 1));
          index += 1;
        }, entry.drip * 1000);
        response.on("close", () => clearInterval(timer));
        return;
      }
      response.end(body);
    });
  });
  after(async () => {
    await server.close();
  });

  (HTTP.cases as any[]).forEach((entry, number) => {
    test(entry.name, async () => {
      const url = entry.serve.refuse ? await refusedUrl() : `${server.url}/${number}/${entry.serve.redirects ?? 0}`;
      const options = { timeoutMs: (entry.timeout ?? 10) * 1000, ...(entry.max_bytes === undefined ? {} : { maxBytes: entry.max_bytes }) };
      if (entry.kind === null) {
        const served = JSON.parse(readFileSync(`${FIXTURES}${entry.serve.body}`, "utf-8"));
        assert.equal((await loadSnapshot(url, options)).digest, served.$digest);
        return;
      }
      const started = performance.now();
      const error = await loadSnapshot(url, options).then(() => assert.fail("loaded"), (caught: unknown) => caught);
      assert.ok(error instanceof SnapshotError, String(error));
      assert.equal(error.kind, entry.kind, error.message);
      assert.ok(error.message.startsWith(url), error.message);
      assert.ok(performance.now() - started < options.timeoutMs + 5000);
    });
  });
});
