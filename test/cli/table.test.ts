/**
 * `weir table`: output formats, options and errors. Tables are made with SqliteTableStore directly
 * in a temporary data directory.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { test, type TestContext } from "node:test";
import { SqliteTableStore } from "../../src/sinks/table/index.js";
import type { TableUpdate } from "../../src/sinks/types.js";
import { hasStackTrace, lines, runCli, tempDataDir, tempDir } from "./helpers.js";

const T0 = Date.UTC(2021, 10, 30, 0, 1, 0);

/** user_interactions: users 7, 10, 9 with 3, 2, 1 updates; property_interactions: one row. */
async function makeTables(store: SqliteTableStore): Promise<void> {
  await store.ensureTable({ name: "user_interactions", versions: 3 });
  await store.ensureTable({ name: "property_interactions", versions: 3 });
  const u = (seq: number, user: number, count: number): TableUpdate => ({
    key: String(user),
    value: { user, interactions_count: count },
    eventTime: T0 + seq * 1000,
    topic: "events",
    partition: 0,
    offset: seq - 1,
    seq,
  });
  await store.writeBatch("user_interactions", [
    u(1, 7, 1),
    u(2, 10, 1),
    u(3, 7, 2),
    u(4, 9, 1),
    u(5, 10, 2),
    u(6, 7, 3),
  ]);
  await store.writeBatch("property_interactions", [
    {
      key: "p1",
      value: { property: "p1", property_interactions_count: 1 },
      eventTime: T0,
      topic: "events",
      partition: 1,
      offset: 0,
      seq: 1,
    },
  ]);
}

async function dataDirWithTables(t: TestContext): Promise<string> {
  const dataDir = tempDataDir(t);
  const store = SqliteTableStore.inDataDir(dataDir);
  await makeTables(store);
  await store.close();
  return dataDir;
}

const iso = (seq: number) => new Date(T0 + seq * 1000).toISOString();

test("--format json: one object per key, the latest version, keys in numeric order", async (t) => {
  const dir = await dataDirWithTables(t);
  const r = await runCli(["table", "user_interactions", "--format", "json", "--data-dir", dir]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(
    lines(r.stdout).map((l) => JSON.parse(l)),
    [
      { key: "7", version: 3, event_time: iso(6), value: { user: 7, interactions_count: 3 } },
      { key: "9", version: 1, event_time: iso(4), value: { user: 9, interactions_count: 1 } },
      { key: "10", version: 2, event_time: iso(5), value: { user: 10, interactions_count: 2 } },
    ],
  );
  assert.equal(
    lines(r.stdout)[0],
    `{"key":"7","version":3,"event_time":"${iso(6)}","value":{"user":7,"interactions_count":3}}`,
  );
  assert.match(iso(6), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
});

test("--versions N: up to N versions of each key, newest first; --key K: one key", async (t) => {
  const dir = await dataDirWithTables(t);
  const r = await runCli([
    "table",
    "user_interactions",
    "--versions",
    "2",
    "--format",
    "json",
    "--data-dir",
    dir,
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(
    lines(r.stdout).map((l) => {
      const o = JSON.parse(l);
      return `${o.key}@${o.version}=${o.value.interactions_count}`;
    }),
    ["7@3=3", "7@2=2", "9@1=1", "10@2=2", "10@1=1"],
  );
  const one = await runCli([
    "table",
    "user_interactions",
    "-k",
    "7",
    "-n",
    "10",
    "--format=json",
    "--data-dir",
    dir,
  ]);
  assert.equal(one.code, 0, one.stderr);
  assert.deepEqual(
    lines(one.stdout).map((l) => JSON.parse(l).version),
    [3, 2, 1],
  );
  const latest = await runCli([
    "table",
    "user_interactions",
    "--key",
    "10",
    "--format",
    "json",
    "--data-dir",
    dir,
  ]);
  assert.deepEqual(
    lines(latest.stdout).map((l) => JSON.parse(l)),
    [{ key: "10", version: 2, event_time: iso(5), value: { user: 10, interactions_count: 2 } }],
  );
});

test("the default format is an aligned table", async (t) => {
  const dir = await dataDirWithTables(t);
  const r = await runCli(["table", "user_interactions", "--data-dir", dir]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    r.stdout,
    [
      "key  version  event_time                value",
      `  7        3  ${iso(6)}  {"user":7,"interactions_count":3}`,
      `  9        1  ${iso(4)}  {"user":9,"interactions_count":1}`,
      ` 10        2  ${iso(5)}  {"user":10,"interactions_count":2}`,
      "",
    ].join("\n"),
  );
  const p = await runCli(["table", "property_interactions", "--format", "table", "--data-dir", dir]);
  assert.equal(p.code, 0, p.stderr);
  assert.deepEqual(lines(p.stdout), [
    "key  version  event_time                value",
    `p1         1  ${new Date(T0).toISOString()}  {"property":"p1","property_interactions_count":1}`,
  ]);
});

test("an unknown table is one error line listing the tables", async (t) => {
  const dir = await dataDirWithTables(t);
  const r = await runCli(["table", "users", "--data-dir", dir]);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, "");
  assert.equal(lines(r.stderr).length, 1, r.stderr);
  assert.match(
    r.stderr,
    /^weir: unknown table users in sqlite:.*tables\.db \(tables: property_interactions, user_interactions\)$/m,
  );
  assert.ok(!hasStackTrace(r.stderr));

  const empty = await runCli(["table", "users", "--data-dir", tempDataDir(t)]);
  assert.equal(empty.code, 1);
  assert.equal(lines(empty.stderr).length, 1, empty.stderr);
  assert.match(empty.stderr, /^weir: unknown table users: there is no table store at .*tables\.db/);
});

test("an unknown key prints nothing; without a name, the tables are listed", async (t) => {
  const dir = await dataDirWithTables(t);
  const r = await runCli(["table", "user_interactions", "--key", "404", "--data-dir", dir]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, "");
  assert.match(r.stderr, /has no key 404/);
  const list = await runCli(["table", "--data-dir", dir]);
  assert.equal(list.code, 0, list.stderr);
  assert.equal(list.stdout, "property_interactions\nuser_interactions\n");
});

test("--table-store and WEIR_TABLE_STORE select another store", async (t) => {
  const file = join(tempDir(t), "elsewhere.db");
  const store = new SqliteTableStore(file);
  await makeTables(store);
  await store.close();
  const dir = tempDataDir(t);
  const a = await runCli([
    "table",
    "user_interactions",
    "--table-store",
    `sqlite:${file}`,
    "--format",
    "json",
    "--data-dir",
    dir,
  ]);
  assert.equal(a.code, 0, a.stderr);
  assert.equal(lines(a.stdout).length, 3);
  const b = await runCli(["table", "property_interactions", "--format", "json", "--data-dir", dir], {
    env: { WEIR_TABLE_STORE: `sqlite:${file}` },
  });
  assert.equal(b.code, 0, b.stderr);
  assert.equal(JSON.parse(lines(b.stdout)[0]).key, "p1");
});

test("bad options are usage errors (exit 2), one line each", async (t) => {
  const dir = await dataDirWithTables(t);
  const cases: [string[], RegExp][] = [
    [["--format", "xml"], /--format.*expected table or json/],
    [["--versions", "0"], /--versions.*integer >= 1/],
    [["--table-store", "mysql://h/db"], /unknown table store .*sqlite.*postgres:\/\//],
    [["--table-store", "postgres://h:99999/db"], /invalid PostgreSQL URL/],
  ];
  for (const [args, pattern] of cases) {
    const r = await runCli(["table", "user_interactions", ...args, "--data-dir", dir]);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.equal(lines(r.stderr).length, 1, r.stderr);
    assert.match(r.stderr, pattern);
    assert.ok(!hasStackTrace(r.stderr));
  }
});

test("a PostgreSQL store that is down is one error line, not a stack trace", async (t) => {
  const r = await runCli([
    "table",
    "t",
    "--table-store",
    "postgres://postgres@127.0.0.1:1/weir",
    "--data-dir",
    tempDataDir(t),
  ]);
  assert.equal(r.code, 1);
  assert.equal(lines(r.stderr).length, 1, r.stderr);
  assert.match(r.stderr, /^weir: PostgreSQL at postgres:\/\/postgres@127\.0\.0\.1:1\/weir is unavailable/);
  assert.ok(!hasStackTrace(r.stderr));
});
