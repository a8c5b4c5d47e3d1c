/**
 * The SQLite table store: the shared conformance suite, plus what is particular to SQLite (the
 * file, WAL mode, the schema as other tools see it, reopening).
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test, type TestContext } from "node:test";
import Database from "better-sqlite3";
import { isWeirError } from "../../../src/errors.js";
import { SqliteTableStore, openTableStore } from "../../../src/sinks/table/index.js";
import { tableStoreConformance, updates } from "./conformance.js";

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), "weir-table-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

tableStoreConformance("SQLite", async (t) => new SqliteTableStore(join(tempDir(t), "tables.db")));

test("SQLite: <dataDir>/tables.db in WAL mode, with the documented schema", async (t) => {
  const dataDir = join(tempDir(t), "data");
  const store = openTableStore(undefined, dataDir);
  t.after(() => store.close());
  assert.equal(store.location, `sqlite:${join(dataDir, "tables.db")}`);
  await store.ensureTable({ name: "user_interactions", versions: 3 });
  await store.writeBatch("user_interactions", [
    {
      key: "42",
      value: { user: 42, interactions_count: 1 },
      eventTime: Date.UTC(2021, 10, 30, 0, 1),
      topic: "events",
      partition: 2,
      offset: 17,
      seq: 1,
    },
    {
      key: "42",
      value: { user: 42, interactions_count: 2 },
      eventTime: Date.UTC(2021, 10, 30, 0, 2, 3, 45),
      topic: "events",
      partition: 2,
      offset: 18,
      seq: 2,
    },
  ]);
  assert.ok(existsSync(join(dataDir, "tables.db")));

  const db = new Database(join(dataDir, "tables.db"), { readonly: true });
  t.after(() => db.close());
  assert.equal(db.pragma("journal_mode", { simple: true }), "wal");
  const cols = db.prepare("PRAGMA table_info(user_interactions)").all() as {
    name: string;
    type: string;
    pk: number;
  }[];
  assert.deepEqual(
    cols.map((c) => [c.name, c.type, c.pk]),
    [
      ["key", "TEXT", 1],
      ["version", "INTEGER", 2],
      ["event_time", "TEXT", 0],
      ["value", "TEXT", 0],
      ["source_topic", "TEXT", 0],
      ["source_partition", "INTEGER", 0],
      ["source_offset", "BIGINT", 0],
      ["seq", "BIGINT", 0],
    ],
  );
  assert.deepEqual(db.prepare("SELECT * FROM user_interactions_latest").all(), [
    {
      key: "42",
      version: 2,
      event_time: "2021-11-30T00:02:03.045Z",
      value: '{"user":42,"interactions_count":2}',
      source_topic: "events",
      source_partition: 2,
      source_offset: 18,
      seq: 2,
    },
  ]);
  assert.deepEqual(
    db
      .prepare(
        "SELECT json_extract(value, '$.interactions_count') AS n FROM user_interactions ORDER BY version",
      )
      .pluck()
      .all(),
    [1, 2],
  );
  const catalog = db.prepare("SELECT name, versions, created_at FROM weir_tables").all() as Record<
    string,
    unknown
  >[];
  assert.equal(catalog.length, 1);
  assert.equal(catalog[0].name, "user_interactions");
  assert.equal(catalog[0].versions, 3);
  assert.match(String(catalog[0].created_at), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  const indexes = db.prepare("PRAGMA index_list(user_interactions)").all() as {
    name: string;
    unique: number;
  }[];
  assert.ok(indexes.some((i) => i.name === "weir_seq_user_interactions" && i.unique === 1));
});

test("SQLite: content survives closing and reopening; readers see committed batches", async (t) => {
  const file = join(tempDir(t), "sub", "dir", "my.db");
  const store = openTableStore(`sqlite:${file}`, "/nonexistent");
  await store.ensureTable({ name: "t", versions: 5 });
  await store.writeBatch("t", updates(1, 10));
  const reader = new SqliteTableStore(file);
  assert.deepEqual(await reader.read("t"), await store.read("t"));
  await reader.close();
  const before = await store.read("t", { versions: 100 });
  await store.close();
  await assert.rejects(store.read("t"), (err: unknown) => isWeirError(err) && err.code === "CLOSED");

  const again = new SqliteTableStore(file);
  t.after(() => again.close());
  assert.deepEqual(await again.listTables(), ["t"]);
  assert.equal(await again.lastSeq("t"), 10);
  assert.deepEqual(await again.read("t", { versions: 100 }), before);
});

test("SQLite: a file that is not a database is a clear error", async (t) => {
  const file = join(tempDir(t), "garbage.db");
  writeFileSync(
    file,
    "this is not a database, just some text that is long enough to look like a header".repeat(20),
  );
  assert.throws(
    () => new SqliteTableStore(file),
    (err: unknown) => isWeirError(err) && /garbage\.db/.test(err.message) && !err.retryable,
  );
});

test("SQLite: a second writer waiting on the lock gets a retryable error, not a hang", async (t) => {
  const file = join(tempDir(t), "tables.db");
  const store = new SqliteTableStore(file, { busyTimeoutMs: 50 });
  t.after(() => store.close());
  await store.ensureTable({ name: "t", versions: 1 });
  const other = new Database(file);
  t.after(() => other.close());
  other.exec("BEGIN IMMEDIATE");
  await assert.rejects(
    store.writeBatch("t", updates(1, 3)),
    (err: unknown) => isWeirError(err) && err.code === "IO" && err.retryable,
  );
  other.exec("COMMIT");
  await store.writeBatch("t", updates(1, 3));
  assert.equal(await store.lastSeq("t"), 3);
});
