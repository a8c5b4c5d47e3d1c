/**
 * The dashboard's table view (src/dashboard/tables.ts) after a kill between a checkpoint and its
 * compaction (issue 14, failure 4): a key's versions never number more than the table keeps, in
 * SQLite and in PostgreSQL (its own server on port 25443).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import pg from "pg";
import { PostgresTableBrowser, SqliteTableBrowser, type TableBrowser } from "../../src/dashboard/tables.js";
import { openTableStore } from "../../src/sinks/table/index.js";
import { tempDir } from "../cli/helpers.js";
import { requireService, usePostgres } from "../helpers/services.js";

/** Table t (versions 3): 10 updates of key "a", 2 of "b", never compacted. */
async function staleTable(location: string | undefined, dataDir: string): Promise<void> {
  const store = openTableStore(location, dataDir);
  try {
    await store.ensureTable({ name: "t", versions: 3 });
    await store.writeBatch(
      "t",
      Array.from({ length: 12 }, (_, i) => ({
        key: i < 10 ? "a" : "b",
        value: { n: i + 1 },
        eventTime: Date.UTC(2021, 10, 30) + i * 1000,
        topic: "events",
        partition: 0,
        offset: i,
        seq: i + 1,
      })),
    );
    assert.equal((await store.read("t", { key: "a", versions: 100, raw: true })).length, 10);
  } finally {
    await store.close();
  }
}

async function checkBrowser(browser: TableBrowser): Promise<void> {
  assert.deepEqual(await browser.list(), [{ name: "t", versions: 3, keys: 2 }]);
  const a = await browser.rows("t", { key: "a", limit: 50 });
  assert.deepEqual(
    a.map((r) => [r.version, r.seq, (r.value as { n: number }).n]),
    [
      [10, 10, 10],
      [9, 9, 9],
      [8, 8, 8],
    ],
  );
  assert.deepEqual(
    (await browser.rows("t", { key: "a", limit: 2 })).map((r) => r.version),
    [10, 9],
  );
  assert.deepEqual(
    (await browser.rows("t", { limit: 50 })).map((r) => [r.key, r.version]),
    [
      ["b", 2],
      ["a", 10],
    ],
  );
}

test("the dashboard's table view shows no stale versions of a key (SQLite, not compacted)", async (t) => {
  const dataDir = tempDir(t, "weir-dashboard-tables-");
  await staleTable(undefined, dataDir);
  await checkBrowser(new SqliteTableBrowser(join(dataDir, "tables.db")));
});

describe("PostgreSQL", () => {
  const server = usePostgres({ port: 25443, dir: "/tmp/weir-pg-test-dashboard-tables" });
  let url: string | undefined;

  before(async () => {
    if (server.url === undefined) return;
    const root = new pg.Client({ connectionString: server.url });
    await root.connect();
    try {
      await root.query("DROP DATABASE IF EXISTS weir_dashboard_tables");
      await root.query("CREATE DATABASE weir_dashboard_tables");
    } finally {
      await root.end();
    }
    url = server.url.replace(/\/postgres$/, "/weir_dashboard_tables");
  });

  test("the dashboard's table view shows no stale versions of a key (PostgreSQL, not compacted)", async (t) => {
    if (url === undefined) return requireService(t, "PostgreSQL", server.unavailable);
    await staleTable(url, tempDir(t, "weir-dashboard-tables-pg-"));
    const browser = new PostgresTableBrowser(url, "postgres://test");
    t.after(() => browser.close());
    await checkBrowser(browser);
  });
});
