// `weir query "SQL"` over the lake, run as a real process.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { LakeDataset } from "../../src/sinks/lake/index.js";
import { openTableStore } from "../../src/sinks/table/index.js";
import { hasStackTrace, lines, runCli, tempDataDir } from "./helpers.js";

const T0 = Date.parse("2021-11-30T10:00:00.000Z");

/**
 * NoBroker's `interactions` dataset as the pipeline lands it (`date` as a Date): user 1 interacts 12
 * times within one minute (a suspected broker), the others once every 10 minutes.
 */
async function landNoBroker(dataDir: string): Promise<void> {
  const ds = LakeDataset.open(dataDir, { name: "interactions", format: "parquet", partitionBy: "date" });
  for (let i = 0; i < 12; i++) {
    const at = T0 + i * 1000;
    ds.append({ user_id: 1, property_id: 100 + (i % 2), date: new Date(at), event: "Interaction" }, at);
  }
  await ds.publish(1);
  for (let i = 0; i < 24; i++) {
    const at = T0 + i * 600_000;
    ds.append(
      {
        user_id: 2 + (i % 3),
        property_id: 100,
        date: new Date(at),
        event: i % 4 === 0 ? "Visit" : "Interaction",
      },
      at,
    );
  }
  await ds.publish(2);
  await ds.close();
}

const TOP_BROKERS = `
  SELECT user_id, count(*) AS busy_minutes, max(n) AS peak
  FROM (SELECT user_id, date_trunc('minute', date) AS minute, count(*) AS n
        FROM interactions
        WHERE event = 'Interaction' AND date >= TIMESTAMP '2021-11-30' AND date < TIMESTAMP '2021-12-01'
        GROUP BY ALL HAVING count(*) > 10)
  GROUP BY user_id ORDER BY busy_minutes DESC, peak DESC LIMIT 10`;

const PER_PROPERTY_HOUR = `
  SELECT property_id, date_trunc('hour', date) AS hour, count(*) AS interactions
  FROM interactions WHERE event = 'Interaction'
  GROUP BY ALL ORDER BY hour, property_id LIMIT 4`;

test("query prints an aligned table, CSV or JSON lines", async (t) => {
  const dir = tempDataDir(t);
  await landNoBroker(dir);
  const d = ["--data-dir", dir];

  let r = await runCli(["query", TOP_BROKERS, ...d]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(lines(r.stdout), ["user_id  busy_minutes  peak", "      1             1    12"]);

  r = await runCli(["query", PER_PROPERTY_HOUR, "--format", "csv", ...d]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(lines(r.stdout), [
    "property_id,hour,interactions",
    "100,2021-11-30T10:00:00.000Z,10",
    "101,2021-11-30T10:00:00.000Z,6",
    "100,2021-11-30T11:00:00.000Z,5",
    "100,2021-11-30T12:00:00.000Z,4",
  ]);

  r = await runCli([
    "query",
    "SELECT * FROM interactions ORDER BY date, user_id LIMIT 2",
    "--format",
    "json",
    ...d,
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(
    lines(r.stdout).map((l) => JSON.parse(l)),
    [
      { user_id: 1, property_id: 100, date: "2021-11-30T10:00:00.000Z", event: "Interaction" },
      { user_id: 2, property_id: 100, date: "2021-11-30T10:00:00.000Z", event: "Visit" },
    ],
  );

  // SQL from stdin; the data directory from the environment.
  r = await runCli(["query", "-"], {
    input: "SELECT count(*) AS n FROM lake.interactions",
    env: { WEIR_DATA_DIR: dir },
  });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(lines(r.stdout), [" n", "36"]);
});

test("bad SQL exits non-zero with DuckDB's message on one line", async (t) => {
  const dir = tempDataDir(t);
  await landNoBroker(dir);
  const d = ["--data-dir", dir];

  let r = await runCli(["query", "SELEC * FROM interactions", ...d]);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, "");
  assert.deepEqual(lines(r.stderr), ['weir: query failed: Parser Error: syntax error at or near "SELEC"']);

  r = await runCli(["query", "SELECT * FROM no_such_dataset", ...d]);
  assert.equal(r.code, 1);
  assert.equal(lines(r.stderr).length, 1, r.stderr);
  assert.match(
    r.stderr,
    /^weir: query failed: Catalog Error: Table with name no_such_dataset does not exist!/,
  );
  assert.ok(!hasStackTrace(r.stderr), r.stderr);

  r = await runCli(["query", "SELECT 'x'::INTEGER", ...d]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^weir: query failed: Conversion Error: .*\n$/);

  r = await runCli(["query", "SELECT 1", "--format", "xml", ...d]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^weir: .*xml.*\(see `weir query --help`\)\n$/);

  r = await runCli(["query", " ", ...d]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /no SQL given/);
});

test("query works without a data directory, and does not create one", async (t) => {
  const dir = tempDataDir(t);
  const r = await runCli(["query", "SELECT 42 AS answer", "--format", "json", "--data-dir", dir]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '{"answer":42}\n');
  assert.ok(!existsSync(dir));
});

test("query joins the lake with the versioned tables (default store, or --table-store sqlite:FILE)", async (t) => {
  const dir = tempDataDir(t);
  await landNoBroker(dir);
  const elsewhere = join(tempDataDir(t), "other");
  mkdirSync(elsewhere, { recursive: true });
  for (const [location, count] of [
    [undefined, 12],
    [`sqlite:${join(elsewhere, "t.db")}`, 99],
  ] as const) {
    const store = openTableStore(location, dir);
    await store.ensureTable({ name: "user_interactions", versions: 3 });
    await store.writeBatch("user_interactions", [
      {
        key: "1",
        value: { user: 1, interactions_count: count },
        eventTime: T0,
        topic: "events",
        partition: 0,
        offset: 11,
        seq: 1,
      },
    ]);
    await store.close();
  }
  const sql =
    "SELECT u.key, u.value->>'interactions_count' AS stored, count(*) AS landed " +
    "FROM user_interactions_latest u JOIN interactions i ON i.user_id = u.key::INTEGER GROUP BY ALL";
  let r = await runCli(["query", sql, "--format", "json", "--data-dir", dir]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '{"key":"1","stored":"12","landed":12}\n');
  r = await runCli([
    "query",
    sql,
    "--format",
    "json",
    "--data-dir",
    dir,
    "--table-store",
    `sqlite:${join(elsewhere, "t.db")}`,
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '{"key":"1","stored":"99","landed":12}\n');
  r = await runCli(["query", "SELECT 1", "--data-dir", dir, "--table-store", "mysql://x"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^weir: unknown table store "mysql:\/\/x"/);
});
