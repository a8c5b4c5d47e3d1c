/**
 * Guards against @platformatic/kafka failure modes that would otherwise crash the process from inside
 * a socket callback (src/kafka/connection.ts, src/kafka/topic-reader.ts).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ConnectionPool } from "@platformatic/kafka";
import "../../src/kafka/connection.js";

test("a connection to a broker missing from the metadata is a retriable network error, not a TypeError", async () => {
  const pool = new ConnectionPool("weir-test");
  try {
    const viaCallback = await new Promise<Error | null>((resolve) =>
      (pool.get as unknown as (b: unknown, cb: (e: Error | null) => void) => void)(undefined, resolve),
    );
    assert.ok(viaCallback !== null);
    assert.equal((viaCallback as { code?: string }).code, "PLT_KFK_NETWORK");
    assert.equal((viaCallback as { canRetry?: boolean }).canRetry, true);
    assert.match(viaCallback.message, /not in the cluster metadata/);
    await assert.rejects(
      (pool.get as unknown as (b: unknown) => Promise<unknown>)(undefined),
      /not in the cluster metadata/,
    );
  } finally {
    await pool.close();
  }
});
