/**
 * PostgreSQL going away under the table store: with a real server (its own cluster and port), stop
 * it between batches and in the middle of one, and check that the store fails fast with a
 * retryable WeirError (no crash, no hang), that retrying after the restart succeeds, and that the
 * table ends exactly as if there had been no outage.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { isWeirError } from "../../../src/errors.js";
import { PostgresTableStore } from "../../../src/sinks/table/index.js";
import type { TableUpdate, VersionedTableStore } from "../../../src/sinks/types.js";
import { requireService, usePostgres } from "../../helpers/services.js";
import { everything, updates } from "./conformance.js";

/** Expect `p` to reject with a retryable IO WeirError within `withinMs`. */
async function rejectsRetryable(p: Promise<unknown>, withinMs: number): Promise<void> {
  const started = Date.now();
  await assert.rejects(p, (err: unknown) => {
    assert.ok(isWeirError(err), `expected a WeirError, got ${String(err)}`);
    assert.equal(err.code, "IO", err.message);
    assert.equal(err.retryable, true, err.message);
    assert.match(err.message, /unavailable/);
    return true;
  });
  const took = Date.now() - started;
  assert.ok(took < withinMs, `took ${took} ms`);
}

/** What the runner does: retry with backoff while the error is retryable (bounded here). */
async function retrying<T>(
  op: () => Promise<T>,
  timeoutMs = 60_000,
): Promise<{ result: T; failures: number }> {
  const deadline = Date.now() + timeoutMs;
  let failures = 0;
  let delay = 50;
  for (;;) {
    try {
      return { result: await op(), failures };
    } catch (err) {
      if (!isWeirError(err) || !err.retryable || Date.now() > deadline) throw err;
      failures++;
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(1000, delay * 2);
    }
  }
}

describe("PostgreSQL outage", () => {
  const server = usePostgres({ port: 25434, dir: "/tmp/weir-pg-test-outage" });

  test("stop between batches and during one: retryable errors, then exactly the uninterrupted content", async (t) => {
    if (server.url === undefined) return requireService(t, "PostgreSQL", server.unavailable);
    const url = server.url;
    const opts = { connectTimeoutMs: 2000 };
    const store: VersionedTableStore = new PostgresTableStore(url, opts);
    t.after(() => store.close());
    const all: TableUpdate[] = updates(1, 30_500, 997);
    const batch = (from: number, to: number) => all.slice(from - 1, to);

    await store.ensureTable({ name: "outage", versions: 3 });
    await store.writeBatch("outage", batch(1, 500));

    // 1. The server stops between batches: every call fails fast and retryably.
    await server.stop();
    await rejectsRetryable(store.writeBatch("outage", batch(501, 1000)), 10_000);
    await rejectsRetryable(store.lastSeq("outage"), 10_000);
    await rejectsRetryable(store.read("outage"), 10_000);
    await rejectsRetryable(store.compact("outage", 500), 10_000);
    await rejectsRetryable(store.rollbackTo("outage", 500), 10_000);
    // A store opened while the server is down fails retryably too, and recovers.
    const late = new PostgresTableStore(url, opts);
    t.after(() => late.close());
    await rejectsRetryable(late.ensureTable({ name: "late", versions: 1 }), 10_000);

    await server.start();
    const { failures } = await retrying(() => store.writeBatch("outage", batch(501, 1000)));
    assert.ok(failures <= 1, `${failures} failures after the restart`);
    await late.ensureTable({ name: "late", versions: 1 });
    assert.equal(await store.lastSeq("outage"), 1000);

    // 2. The server stops while a large batch is being written: it either committed or not;
    //    retrying the same batch after the restart gives the same table either way.
    const big = batch(1001, 30_000);
    const writing = store.writeBatch("outage", big).then(
      () => "committed",
      (err: unknown) => {
        assert.ok(isWeirError(err) && err.retryable, `not retryable: ${String(err)}`);
        return "failed";
      },
    );
    await new Promise((r) => setTimeout(r, 20));
    await server.stop();
    const outcome = await writing;
    t.diagnostic(`the batch in flight when the server stopped: ${outcome}`);
    await server.start();
    await retrying(() => store.writeBatch("outage", big));
    await retrying(() => store.writeBatch("outage", big)); // and once more: a no-op
    await store.writeBatch("outage", batch(30_001, 30_500));
    await store.compact("outage", 30_500);

    // The same updates without an outage, in another table of the same server.
    await store.ensureTable({ name: "reference", versions: 3 });
    for (let s = 1; s <= all.length; s += 5000)
      await store.writeBatch("reference", all.slice(s - 1, s + 4999));
    await store.compact("reference", 30_500);

    assert.equal(await store.lastSeq("outage"), 30_500);
    const got = await everything(store, "outage");
    assert.equal(got.length, 997 * 3);
    assert.deepEqual(got, await everything(store, "reference"));
  });
});
