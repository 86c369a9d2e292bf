/** What the tests share: the conformance fixtures, a fake clock, a server on 127.0.0.1. */

import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";

/** The repository's root (this file runs from typescript/build/test/). */
export const REPO = fileURLToPath(new URL("../../../", import.meta.url));
export const FIXTURES = `${REPO}tests/conformance/fixtures/`;

/** A conformance fixture, parsed. */
export function fixture<T = any>(name: string): T {
  return JSON.parse(readFileSync(`${FIXTURES}${name}`, "utf-8")) as T;
}

/** The cases that hold for this runtime (a case may name the runtimes it is for). */
export function forTypeScript<T extends { runtimes?: string[] }>(cases: T[]): T[] {
  return cases.filter((entry) => (entry.runtimes ?? ["typescript"]).includes("typescript"));
}

/** A monotonic clock in milliseconds that moves only when told to, or when someone sleeps on it. */
export class FakeClock {
  now = 0;
  readonly sleeps: number[] = [];
  readonly read = (): number => this.now;
  readonly sleep = async (ms: number): Promise<void> => {
    this.sleeps.push(ms);
    this.now += ms;
  };
}

/** An HTTP server on a free loopback port; `close()` also ends connections left hanging. */
export async function serve(handler: (request: IncomingMessage, response: ServerResponse) => void):
    Promise<{ url: string; server: Server; close: () => Promise<void> }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/** A port that was free a moment ago: nothing listens there. */
export async function refusedUrl(): Promise<string> {
  const { url, close } = await serve(() => undefined);
  await close();
  return `${url}/registry.json`;
}

/** The fixture filters (Python's names) as the TypeScript router takes them. */
export function filtersOf(filters: Record<string, unknown>): Record<string, unknown> {
  const names: Record<string, string> = {
    features: "features", min_context: "minContext", min_output_tokens: "minOutputTokens",
    input_modalities: "inputModalities", output_modalities: "outputModalities", providers: "providers",
    exclude_providers: "excludeProviders", exclude_models: "excludeModels", include_deprecated: "includeDeprecated",
    include_preview: "includePreview",
  };
  return Object.fromEntries(Object.entries(filters).map(([key, value]) => {
    if (!(key in names)) {
      throw new Error(`a filter the test does not know: ${key}`);
    }
    return [names[key], value];
  }));
}

/** The conformance suite's small snapshot document (without its digest), to change and seal again. */
export function smallDocument(): Record<string, any> {
  const document = JSON.parse(readFileSync(`${FIXTURES}snapshot-files/ok.json`, "utf-8"));
  delete document.$digest;
  return document;
}
