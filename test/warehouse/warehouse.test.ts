import { test } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { LakeDataset, readManifest } from "../../src/sinks/lake/index.js";
import type { TableVersion, VersionedTableStore } from "../../src/sinks/types.js";
import { openWarehouse, type Warehouse } from "../../src/warehouse/index.js";
import { writeResult, type OutputFormat } from "../../src/warehouse/format.js";
import { DAY, T0, interaction, tempDataDir } from "../sinks/lake/helpers.js";

async function rows(wh: Warehouse, sql: string): Promise<Record<string, unknown>[]> {
  return (await wh.run(sql)).getRowObjectsJS() as Record<string, unknown>[];
}

async function text(wh: Warehouse, sql: string, format: OutputFormat): Promise<string> {
  let out = "";
  await writeResult(await wh.stream(sql), format, {
    writeString: (s) => (out += s),
    flushIfFull: async () => {},
  });
  return out;
}

/** NoBroker `interactions` over two days, published in two commits (plus unpublished rows). */
async function landInteractions(dataDir: string): Promise<LakeDataset> {
  const ds = LakeDataset.open(dataDir, { name: "interactions", format: "parquet", partitionBy: "date" });
  for (let i = 0; i < 300; i++) ds.append(interaction(i, T0 + i * 60_000), T0 + i * 60_000);
  await ds.publish(1);
  for (let i = 300; i < 400; i++) ds.append(interaction(i, T0 + DAY + i), T0 + DAY + i);
  await ds.publish(2);
  for (let i = 0; i < 50; i++) ds.append(interaction(i, T0), T0); // never published
  return ds;
}

test("a view per dataset reads exactly the manifest's files: no stray, unlisted or unpublished rows", async (t) => {
  const dataDir = tempDataDir(t);
  const ds = await landInteractions(dataDir);
  t.after(() => ds.close());
  const partition = join(ds.dir, "date=2021-11-30");
  const [published] = readdirSync(partition);
  // A stray copy and an unlisted file with Weir's own naming (an interrupted publish) in the folder.
  copyFileSync(join(partition, published), join(partition, "stray.parquet"));
  copyFileSync(join(partition, published), join(partition, "part-00000009-0000.parquet"));

  const wh = await openWarehouse(dataDir);
  t.after(() => wh.close());
  assert.deepEqual(
    wh.datasets.map((d) => [d.name, d.files, d.rows]),
    [["interactions", 2, 400]],
  );
  assert.deepEqual(await rows(wh, "SELECT count(*)::INTEGER AS n FROM interactions"), [{ n: 400 }]);
  assert.deepEqual(await rows(wh, "SELECT count(*)::INTEGER AS n FROM lake.interactions"), [{ n: 400 }]);
  // NoBroker rows have their own `date` (a timestamp): it keeps its value, not the folder's DATE.
  const types = await wh.run("SELECT * FROM interactions LIMIT 0");
  assert.deepEqual(
    types.columnNames().map((n, i) => `${n} ${types.columnType(i).toString()}`),
    ["user_id BIGINT", "property_id BIGINT", "date TIMESTAMP WITH TIME ZONE", "event VARCHAR"],
  );
  assert.deepEqual(
    await rows(
      wh,
      "SELECT date::DATE::VARCHAR AS day, count(*)::INTEGER AS n FROM interactions GROUP BY ALL ORDER BY day",
    ),
    [
      { day: "2021-11-30", n: 300 },
      { day: "2021-12-01", n: 100 },
    ],
  );
});

test("Hive partition folders become a `date` column when the rows have no field of that name", async (t) => {
  const dataDir = tempDataDir(t);
  for (const format of ["parquet", "jsonl", "csv"] as const) {
    const ds = LakeDataset.open(dataDir, { name: `clicks_${format}`, format, partitionBy: "date" });
    for (let i = 0; i < 10; i++) ds.append({ id: i, at: new Date(T0 + i * DAY) }, T0 + i * DAY);
    await ds.publish(1);
    await ds.close();
  }
  const wh = await openWarehouse(dataDir);
  t.after(() => wh.close());
  for (const format of ["parquet", "jsonl", "csv"]) {
    const r = await rows(
      wh,
      `SELECT date::VARCHAR AS date, typeof(date) AS type, count(*)::INTEGER AS n FROM clicks_${format} ` +
        `WHERE date >= DATE '2021-12-08' GROUP BY ALL ORDER BY 1`,
    );
    assert.deepEqual(
      r,
      [
        { date: "2021-12-08", type: "DATE", n: 1 },
        { date: "2021-12-09", type: "DATE", n: 1 },
      ],
      format,
    );
  }
});

test("versioned tables from tables.db: NAME (every version) and NAME_latest, loaded lazily", async (t) => {
  const dataDir = tempDataDir(t);
  const db = new Database(join(dataDir, "tables.db"));
  db.exec(`
    CREATE TABLE weir_tables (name TEXT PRIMARY KEY, versions INTEGER NOT NULL, created_at TEXT NOT NULL);
    CREATE TABLE user_interactions (key TEXT NOT NULL, version INTEGER NOT NULL, event_time INTEGER NOT NULL,
      value TEXT NOT NULL, source_topic TEXT, source_partition INTEGER, source_offset INTEGER, seq INTEGER NOT NULL);
    CREATE VIEW user_interactions_latest AS SELECT * FROM user_interactions u
      WHERE version = (SELECT max(version) FROM user_interactions v WHERE v.key = u.key);
    CREATE TABLE property_interactions (key TEXT NOT NULL, version INTEGER NOT NULL, event_time TEXT NOT NULL,
      value TEXT NOT NULL, source_topic TEXT, source_partition INTEGER, source_offset INTEGER, seq INTEGER NOT NULL);
    INSERT INTO weir_tables VALUES ('user_interactions', 3, '2021-11-30T00:00:00.000Z'),
                                   ('property_interactions', 3, '2021-11-30T00:00:00.000Z');
  `);
  const insert = db.prepare("INSERT INTO user_interactions VALUES (?, ?, ?, ?, 'events', 0, ?, ?)");
  let seq = 0;
  for (const [user, count] of [
    ["7", 1],
    ["7", 2],
    ["9", 1],
    ["7", 3],
  ] as const) {
    seq++;
    insert.run(
      user,
      count,
      T0 + seq * 1000,
      JSON.stringify({ user: Number(user), interactions_count: count }),
      seq * 10,
      seq,
    );
  }
  db.prepare(
    "INSERT INTO property_interactions VALUES ('31', 1, '2021-11-30 00:00:05', '{\"property\":31}', 'events', 0, 1, 1)",
  ).run();
  db.close();

  const wh = await openWarehouse(dataDir, { tables: "lazy" });
  t.after(() => wh.close());
  assert.deepEqual([...wh.tables].sort(), ["property_interactions", "user_interactions"]);
  assert.deepEqual(
    await rows(
      wh,
      "SELECT estimated_size::INTEGER AS n FROM duckdb_tables() WHERE schema_name = 'tables' ORDER BY 1",
    ),
    [{ n: 0 }, { n: 0 }],
    "lazy: created empty, filled when a query names them",
  );
  assert.deepEqual(
    await rows(
      wh,
      "SELECT key, version::INTEGER AS v, value->>'interactions_count' AS n, strftime(event_time, '%H:%M:%S') AS t " +
        "FROM user_interactions_latest ORDER BY key",
    ),
    [
      { key: "7", v: 3, n: "3", t: "00:00:04" },
      { key: "9", v: 1, n: "1", t: "00:00:03" },
    ],
  );
  assert.deepEqual(await rows(wh, "SELECT count(*)::INTEGER AS n FROM user_interactions"), [{ n: 4 }]);
  assert.deepEqual(
    await rows(
      wh,
      "SELECT key, event_time::VARCHAR AS t, value.property::INTEGER AS p FROM property_interactions",
    ),
    [{ key: "31", t: "2021-11-30 00:00:05+00", p: 31 }],
  );
});

test("a table store given as an option; no tables.db means no table views", async (t) => {
  const dataDir = tempDataDir(t);
  const empty = await openWarehouse(dataDir);
  assert.deepEqual(empty.tables, []);
  assert.deepEqual(empty.datasets, []);
  assert.deepEqual(await rows(empty, "SELECT 42 AS x"), [{ x: 42 }]);
  empty.close();

  const versions: TableVersion[] = [
    {
      key: "a",
      version: 2,
      eventTime: T0 + 2,
      value: { n: 2 },
      source: { topic: "t", partition: 0, offset: 5 },
    },
    {
      key: "a",
      version: 1,
      eventTime: T0 + 1,
      value: { n: 1 },
      source: { topic: "t", partition: 0, offset: 4 },
    },
  ];
  const store: VersionedTableStore = {
    location: "memory",
    ensureTable: async () => {},
    writeBatch: async () => {},
    lastSeq: async () => 2,
    rollbackTo: async () => {},
    compact: async () => {},
    read: async (_table, options) => versions.slice(0, options?.versions ?? 1),
    listTables: async () => ["counts"],
    close: async () => {},
  };
  const wh = await openWarehouse(dataDir, { tableStore: store });
  t.after(() => wh.close());
  assert.deepEqual(
    await rows(
      wh,
      "SELECT key, version::INTEGER AS v, value.n::INTEGER AS n, source_offset::INTEGER AS o FROM counts ORDER BY v",
    ),
    [
      { key: "a", v: 1, n: 1, o: 4 },
      { key: "a", v: 2, n: 2, o: 5 },
    ],
  );
  assert.deepEqual(await rows(wh, "SELECT version::INTEGER AS v FROM counts_latest"), [{ v: 2 }]);
});

test("a table named like a dataset stays reachable as tables.NAME", async (t) => {
  const dataDir = tempDataDir(t);
  const ds = LakeDataset.open(dataDir, { name: "things", format: "jsonl", partitionBy: "none" });
  ds.append({ lake: true }, T0);
  await ds.publish(1);
  await ds.close();
  const db = new Database(join(dataDir, "tables.db"));
  db.exec("CREATE TABLE things (key TEXT, version INTEGER, event_time INTEGER, value TEXT, seq INTEGER)");
  db.exec(`INSERT INTO things VALUES ('k', 1, ${T0}, '{"table":true}', 1)`);
  db.close();
  const wh = await openWarehouse(dataDir);
  t.after(() => wh.close());
  assert.match(wh.notes.join("\n"), /table things is only available as tables\.things/);
  assert.deepEqual(await rows(wh, "SELECT lake FROM things"), [{ lake: true }]);
  assert.deepEqual(await rows(wh, "SELECT key FROM tables.things"), [{ key: "k" }]);
});

test("results as an aligned table, CSV and JSON lines", async (t) => {
  const dataDir = tempDataDir(t);
  const wh = await openWarehouse(dataDir);
  t.after(() => wh.close());
  const sql =
    "SELECT 7 AS n, 'a,b \"c\"' AS s, TIMESTAMPTZ '2021-11-30 00:01:00.5+00' AS ts, DATE '2021-11-30' AS d, " +
    "NULL AS nothing, 12345678901234567890::HUGEINT AS big, 1.50::DECIMAL(5,2) AS dec, " +
    "'{\"x\":[1,2]}'::JSON AS j, [1, 2] AS l, {'k': 'v'} AS st, true AS b";
  assert.equal(
    await text(wh, sql, "json"),
    '{"n":7,"s":"a,b \\"c\\"","ts":"2021-11-30T00:01:00.500Z","d":"2021-11-30","nothing":null,' +
      '"big":12345678901234567890,"dec":1.50,"j":{"x":[1,2]},"l":[1,2],"st":{"k":"v"},"b":true}\n',
  );
  assert.equal(
    await text(wh, sql, "csv"),
    "n,s,ts,d,nothing,big,dec,j,l,st,b\n" +
      '7,"a,b ""c""",2021-11-30T00:01:00.500Z,2021-11-30,,12345678901234567890,1.50,"{""x"":[1,2]}","[1,2]","{""k"":""v""}",true\n',
  );
  assert.equal(
    await text(
      wh,
      "SELECT * FROM (VALUES (1, 'one'), (22, NULL), (333, 'three\nlines')) t(num, name)",
      "table",
    ),
    "num  name\n  1  one\n 22  NULL\n333  three\\nlines\n",
  );
  assert.equal(await text(wh, "SELECT 1 AS a WHERE false", "csv"), "a\n");
  // Several statements: the last one's result.
  assert.equal(
    await text(wh, "CREATE TABLE x AS SELECT 5 AS v; SELECT v + 1 AS w FROM x", "json"),
    '{"w":6}\n',
  );
  await assert.rejects(wh.stream("SELEC 1"), /Parser Error/);
});

test("a dataset without committed files has no view; the manifest is what counts", async (t) => {
  const dataDir = tempDataDir(t);
  const ds = LakeDataset.open(dataDir, { name: "pending", format: "parquet", partitionBy: "date" });
  t.after(() => ds.close());
  ds.append({ a: 1 }, T0);
  await ds.publish(1);
  await ds.rollbackTo({ commit: 0 });
  assert.equal(readManifest(ds.dir).files.length, 0);
  writeFileSync(join(ds.dir, "part-00000001-0000.parquet"), "not parquet");
  const wh = await openWarehouse(dataDir);
  t.after(() => wh.close());
  assert.deepEqual(wh.datasets, []);
  await assert.rejects(wh.run("SELECT * FROM pending"), /does not exist/);
});

test("the tables as the SQLite table store writes them (also read through the store)", async (t) => {
  const dataDir = tempDataDir(t);
  const { openTableStore } = await import("../../src/sinks/table/index.js");
  const store = openTableStore(undefined, dataDir);
  await store.ensureTable({ name: "user_interactions", versions: 3 });
  await store.writeBatch(
    "user_interactions",
    [1, 2, 3, 4].map((i) => ({
      key: String(i % 2),
      value: { user: i % 2, interactions_count: i },
      eventTime: T0 + i * 1000,
      topic: "events",
      partition: 0,
      offset: i,
      seq: i,
    })),
  );
  await store.close();
  const latest =
    "SELECT key, version::INTEGER AS v, (value->>'interactions_count')::INTEGER AS n, " +
    "strftime(event_time, '%H:%M:%S') AS t FROM user_interactions_latest ORDER BY key";
  const expected = [
    { key: "0", v: 2, n: 4, t: "00:00:04" },
    { key: "1", v: 2, n: 3, t: "00:00:03" },
  ];
  const wh = await openWarehouse(dataDir, { tables: "lazy" });
  t.after(() => wh.close());
  assert.deepEqual(await rows(wh, latest), expected);
  assert.deepEqual(
    await rows(wh, "SELECT max(seq)::INTEGER AS seq, count(*)::INTEGER AS n FROM user_interactions"),
    [{ seq: 4, n: 4 }],
  );

  const reopened = openTableStore(undefined, dataDir);
  t.after(() => reopened.close());
  const viaStore = await openWarehouse(dataDir, { tableStore: reopened });
  t.after(() => viaStore.close());
  assert.deepEqual(await rows(viaStore, latest), expected);
});

test("stale versions (a kill before compaction) are not in NAME or NAME_latest: each key's N newest only", async (t) => {
  const dataDir = tempDataDir(t);
  const { openTableStore } = await import("../../src/sinks/table/index.js");
  const store = openTableStore(undefined, dataDir);
  await store.ensureTable({ name: "user_interactions", versions: 2 });
  // 5 versions of each of 3 keys, never compacted (the checkpoint's compaction did not run).
  await store.writeBatch(
    "user_interactions",
    Array.from({ length: 15 }, (_, i) => ({
      key: String(i % 3),
      value: { user: i % 3, interactions_count: Math.floor(i / 3) + 1 },
      eventTime: T0 + i * 1000,
      topic: "events",
      partition: 0,
      offset: i,
      seq: i + 1,
    })),
  );
  assert.equal((await store.read("user_interactions", { versions: 100, raw: true })).length, 15);
  const all =
    "SELECT key, version::INTEGER AS v, (value->>'interactions_count')::INTEGER AS n, seq::INTEGER AS seq " +
    "FROM user_interactions ORDER BY key, version";
  const expected = [
    { key: "0", v: 4, n: 4, seq: 10 },
    { key: "0", v: 5, n: 5, seq: 13 },
    { key: "1", v: 4, n: 4, seq: 11 },
    { key: "1", v: 5, n: 5, seq: 14 },
    { key: "2", v: 4, n: 4, seq: 12 },
    { key: "2", v: 5, n: 5, seq: 15 },
  ];
  const latest = "SELECT key, version::INTEGER AS v FROM user_interactions_latest ORDER BY key";
  const wh = await openWarehouse(dataDir);
  t.after(() => wh.close());
  assert.deepEqual(await rows(wh, all), expected);
  assert.deepEqual(await rows(wh, "SELECT count(*)::INTEGER AS n FROM tables.user_interactions"), [{ n: 6 }]);
  assert.deepEqual(await rows(wh, latest), [
    { key: "0", v: 5 },
    { key: "1", v: 5 },
    { key: "2", v: 5 },
  ]);
  const viaStore = await openWarehouse(dataDir, { tableStore: store });
  t.after(async () => {
    viaStore.close();
    await store.close();
  });
  // (Read through the store API, rows have no seq.)
  assert.deepEqual(
    await rows(viaStore, all),
    expected.map((r) => ({ ...r, seq: null })),
  );
});
