/** Hot reload from a file (mtime, size, inode) and from a URL (ETag, Last-Modified). */

import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";

import { SnapshotError, SnapshotRegistry, SnapshotWatcher, encode } from "@modelreg/runtime";

import { FIXTURES, serve, smallDocument } from "./helpers.js";

const CATALOG = readFileSync(`${FIXTURES}catalog.snapshot.json`);
const SMALL = readFileSync(`${FIXTURES}snapshot-files/ok.json`);

function relabelled(label: string): Buffer {
  const document = smallDocument();
  document.version.label = label;
  return encode(document).raw;
}

/** Writes `data` to `path` as the compiler does: a temporary file, then a rename. */
function replace(path: string, data: Buffer): void {
  writeFileSync(`${path}.tmp`, data);
  renameSync(`${path}.tmp`, path);
}

describe("a watched file", () => {
  test("a new snapshot is swapped in; the same file again is not", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "watch-")), "registry.json");
    writeFileSync(path, SMALL);
    const reloads: [SnapshotRegistry, SnapshotRegistry][] = [];
    const watcher = await SnapshotWatcher.open(path, { onReload: (old, current) => reloads.push([old, current]) });
    const first = watcher.current;
    assert.equal(await watcher.check(), false);
    replace(path, CATALOG);
    assert.equal(await watcher.check(), true);
    assert.equal(reloads.length, 1);
    assert.equal(reloads[0]![0], first);
    assert.equal(reloads[0]![1], watcher.current);
    assert.equal(watcher.current.size, SnapshotRegistry.fromBytes(CATALOG).size);
    assert.equal(watcher.findByCapability("chat"), watcher.current.findByCapability("chat"));
    replace(path, CATALOG); // a new inode, the same snapshot: nothing to swap
    assert.equal(await watcher.check(), false);
    assert.equal(reloads.length, 1);
  });

  test("a bad snapshot is reported once, and the last good one keeps serving", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "watch-")), "registry.json");
    writeFileSync(path, SMALL);
    const errors: unknown[] = [];
    const watcher = await SnapshotWatcher.open(path, { onError: (error) => errors.push(error) });
    const good = watcher.current;
    replace(path, CATALOG.subarray(0, CATALOG.length / 2));
    assert.equal(await watcher.check(), false);
    assert.equal(await watcher.check(), false);
    assert.equal(errors.length, 1);
    assert.ok(errors[0] instanceof SnapshotError && errors[0].kind === "not-json");
    assert.equal(watcher.lastError, errors[0]);
    assert.equal(watcher.current, good);
    rmSync(path);
    assert.equal(await watcher.check(), false);
    assert.equal((watcher.lastError as NodeJS.ErrnoException).code, "ENOENT");
    assert.equal(watcher.current, good);
    writeFileSync(path, relabelled("2"));
    assert.equal(await watcher.check(), true);
    assert.equal(watcher.lastError, null);
    assert.equal(watcher.version.label, "2");
  });

  test("the first load must succeed", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "watch-")), "registry.json");
    writeFileSync(path, "{}");
    await assert.rejects(SnapshotWatcher.open(path), (error: unknown) => error instanceof SnapshotError);
  });

  test("start() polls until stop()", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "watch-")), "registry.json");
    copyFileSync(`${FIXTURES}snapshot-files/ok.json`, path);
    let reloaded: (label: string) => void = () => undefined;
    const seen = new Promise<string>((resolve) => { reloaded = resolve; });
    const watcher = await SnapshotWatcher.open(path, { intervalMs: 5, onReload: (_, current) => reloaded(current.version.label) });
    watcher.start();
    // The watcher's timer does not hold the process open (a service exits when it is done); this
    // test's wait must.
    const open = setInterval(() => undefined, 1000);
    replace(path, relabelled("polled"));
    try {
      assert.equal(await seen, "polled");
    } finally {
      clearInterval(open);
      await watcher.stop();
    }
  });
});

describe("a watched URL", () => {
  let body = relabelled("1");
  let etag = '"1"';
  const seen: (string | undefined)[] = [];
  let server: Awaited<ReturnType<typeof serve>>;
  before(async () => {
    server = await serve((request, response) => {
      seen.push(request.headers["if-none-match"]);
      if (request.headers["if-none-match"] === etag) {
        response.writeHead(304, { ETag: etag }).end();
        return;
      }
      response.writeHead(200, { ETag: etag, "Content-Length": String(body.length) }).end(body);
    });
  });
  after(async () => {
    await server.close();
  });

  test("asks with the last ETag, and swaps only when the server has a new snapshot", async () => {
    const watcher = await SnapshotWatcher.open(`${server.url}/registry.json`);
    assert.equal(watcher.version.label, "1");
    assert.equal(await watcher.check(), false);
    body = relabelled("2");
    etag = '"2"';
    assert.equal(await watcher.check(), true);
    assert.equal(watcher.version.label, "2");
    body = Buffer.from("not a snapshot");
    etag = '"3"';
    assert.equal(await watcher.check(), false);
    assert.ok(watcher.lastError instanceof SnapshotError && watcher.lastError.kind === "not-json");
    assert.equal(await watcher.check(), false); // the bad body's ETag was kept: not fetched again
    assert.equal(watcher.version.label, "2");
    assert.deepEqual(seen, [undefined, '"1"', '"1"', '"2"', '"3"']);
  });
});
