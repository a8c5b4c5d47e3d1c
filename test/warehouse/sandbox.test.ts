/**
 * The sandboxed warehouse (src/warehouse/sandbox.ts), layer by layer, over a data directory written
 * by running pipelines (test/helpers/sandbox.ts): the locked DuckDB instance on its own, the check
 * of the statement, and lake files that are symbolic links pointing out of the lake.
 * test/dashboard/sql.test.ts runs the escape attempts through the HTTP API.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { cpSync, renameSync, rmSync, symlinkSync } from "node:fs";
import { dirname, join } from "node:path";
import { openWarehouse, QueryRefused, type Warehouse } from "../../src/warehouse/index.js";
import { assertNoLeak, buildSandboxWorld, fingerprint, type SandboxWorld } from "../helpers/sandbox.js";

let w: SandboxWorld;

before(async () => {
  w = await buildSandboxWorld(200);
});

after(() => {
  if (w !== undefined) rmSync(w.root, { recursive: true, force: true });
});

async function sandboxed(t: { after: (fn: () => void) => void }, world = w): Promise<Warehouse> {
  const wh = await openWarehouse(world.dataDir, { tables: "lazy", sandbox: true });
  t.after(() => wh.close());
  return wh;
}

/** The error DuckDB (or the sandbox) answers `sql` with, run straight on the connection or through query(). */
async function failure(run: () => Promise<unknown>): Promise<Error> {
  try {
    await run();
  } catch (err) {
    return err as Error;
  }
  assert.fail("expected an error");
}

async function rows(wh: Warehouse, sql: string): Promise<unknown[][]> {
  const result = await wh.query(sql);
  const out: unknown[][] = [];
  for await (const chunk of result.yieldRows()) out.push(...chunk);
  return out;
}

test("layer 1 on its own: the locked instance reads no file but the views' own, and no setting changes", async (t) => {
  const wh = await sandboxed(t);
  const c = wh.connection; // straight to DuckDB, past the statement check
  for (const file of [
    "/etc/passwd",
    w.secretTxt,
    w.secretParquet,
    w.notes,
    w.stray,
    w.link,
    `${w.outsideDir}/secret.txt`,
  ]) {
    for (const sql of [
      `SELECT * FROM read_csv('${file}', header=true, delim=':')`,
      `SELECT * FROM read_text('${file}')`,
      `SELECT * FROM read_blob('${file}')`,
      `SELECT * FROM parquet_schema('${file}')`,
      `SELECT * FROM '${file}'`,
    ]) {
      const err = await failure(() => c.runAndReadAll(sql));
      assert.match(err.message, /Permission Error: Cannot access file|does not exist/, sql);
      assertNoLeak(err.message, w, sql);
    }
  }
  for (const sql of [
    `SELECT * FROM glob('${w.lake}/**')`,
    "SELECT * FROM glob('**')",
    "SELECT * FROM glob('/etc/*')",
  ]) {
    const err = await failure(() => c.runAndReadAll(sql));
    assert.match(err.message, /Permission Error/, sql);
  }
  for (const sql of [
    "SET enable_external_access = true",
    "SET lock_configuration = false",
    "RESET lock_configuration",
    "SET allowed_directories = ['/']",
    "SET allowed_paths = ['/etc/passwd']",
    `SET temp_directory = '${w.lake}'`,
    "SET autoload_known_extensions = true",
    "SET memory_limit = '100GB'",
  ]) {
    const err = await failure(() => c.run(sql));
    assert.match(err.message, /lock|locked|disabled|Cannot change|Cannot upgrade/i, `${sql}: ${err.message}`);
  }
  for (const sql of [
    "INSTALL httpfs",
    "LOAD httpfs",
    `COPY (SELECT 1) TO '${w.root}/evil.csv'`,
    `ATTACH '${w.root}/evil.db'`,
  ]) {
    const err = await failure(() => c.run(sql));
    assert.match(err.message, /Permission Error|disabled|Cannot access/i, `${sql}: ${err.message}`);
  }
  const settings = await c.runAndReadAll(
    "SELECT current_setting('enable_external_access'), current_setting('lock_configuration'), current_setting('temp_directory'), current_setting('autoload_known_extensions'), current_setting('autoinstall_known_extensions'), current_setting('allowed_directories')",
  );
  assert.deepEqual(settings.getRowsJS(), [[false, true, "", false, false, []]]);
});

test("layer 2: one SELECT over the views and tables, or a one-line refusal saying why", async (t) => {
  const wh = await sandboxed(t);
  const refusal = async (sql: string) => {
    const err = await failure(() => wh.query(sql));
    assert.ok(err instanceof QueryRefused, `${sql}: ${err.message}`);
    assert.ok(!err.message.includes("\n"), sql);
    return err.message;
  };
  assert.match(
    await refusal("select * from read_csv('/etc/passwd')"),
    /^read_csv\(\) is not available here: the dashboard's SQL reads only the warehouse's views and tables/,
  );
  assert.match(
    await refusal("select * from system.main.read_text('/etc/passwd')"),
    /^read_text\(\) is not available here/,
  );
  assert.match(await refusal("select * from '/etc/passwd'"), /^no view or table named "\/etc\/passwd"/);
  assert.match(
    await refusal("select current_setting('threads')"),
    /^current_setting\(\) is not available here/,
  );
  assert.match(
    await refusal("COPY interactions TO '/tmp/x.csv'"),
    /^only a query runs here \(SELECT, WITH, VALUES, FROM, SHOW, DESCRIBE or SUMMARIZE\), not COPY/,
  );
  assert.match(await refusal("/* c */ explain analyze select 1"), /not EXPLAIN/);
  assert.match(await refusal("select 1; select 2"), /^2 statements given: send one query at a time/);
  assert.match(await refusal("  ;  "), /^no SQL given/);
  assert.match(await refusal("selec 1"), /syntax error/i);
  // Names of CTEs are the query's own where they are in scope; views, tables and the catalog's
  // descriptions are readable.
  assert.deepEqual(
    await rows(wh, "WITH a AS (SELECT 1 AS x), b AS (SELECT x + 1 AS y FROM a) SELECT y FROM b"),
    [[2]],
  );
  assert.deepEqual(
    await rows(wh, "WITH a AS (SELECT 1 AS x) SELECT * FROM (SELECT * FROM (SELECT x FROM a))"),
    [[1]],
  );
  const lakeFile = JSON.stringify(w.lakeFiles.interactions);
  assert.match(
    await refusal(`SELECT * FROM (WITH ${lakeFile} AS (SELECT 1) SELECT 1) a, ${lakeFile} b`),
    /^no view or table named ".*part-.*\.parquet"/,
  );
  assert.deepEqual(await rows(wh, "SELECT count(*)::INTEGER FROM interactions"), [[w.rows.interactions]]);
  assert.deepEqual(await rows(wh, "SELECT count(*)::INTEGER FROM user_interactions_latest"), [[7]]);
  assert.ok(
    (await rows(wh, "SELECT * FROM information_schema.columns WHERE table_name = 'interactions'")).length > 0,
  );
  // A sandboxed warehouse runs nothing through its other doors.
  await assert.rejects(
    wh.stream("SELECT 1"),
    /runs any statement: a sandboxed warehouse runs SQL with query\(\)/,
  );
  await assert.rejects(wh.run("SELECT 1"), /runs any statement/);
});

test("checkFirst refuses a query before any view is built", async () => {
  await assert.rejects(
    openWarehouse(w.dataDir, {
      tables: "lazy",
      sandbox: true,
      checkFirst: "select * from read_text('/etc/passwd')",
    }),
    (err: Error) => err instanceof QueryRefused && /^read_text\(\) is not available/.test(err.message),
  );
  await assert.rejects(
    openWarehouse(w.dataDir, { tables: "lazy", sandbox: true, checkFirst: "ATTACH 'x.db'" }),
    (err: Error) => err instanceof QueryRefused && /not ATTACH/.test(err.message),
  );
  const wh = await openWarehouse(w.dataDir, {
    tables: "lazy",
    sandbox: true,
    checkFirst: "SELECT count(*) FROM user_interactions_latest",
  });
  try {
    assert.deepEqual(await rows(wh, "SELECT count(*)::INTEGER FROM user_interactions_latest"), [[7]]);
  } finally {
    wh.close();
  }
});

test("a lake file or folder that is a symbolic link pointing out of the lake is never read: its view says why", async (t) => {
  const world = await buildSandboxWorld(100);
  t.after(() => rmSync(world.root, { recursive: true, force: true }));
  // events_csv: a listed file replaced by a link to the secret; events_jsonl: a partition folder
  // replaced by a link to a copy of it outside the lake, holding the secret under the listed name.
  const csv = world.lakeFiles.events_csv;
  rmSync(csv);
  symlinkSync(world.secretTxt, csv);
  const jsonlDir = dirname(world.lakeFiles.events_jsonl);
  const copy = join(world.root, "jsonl-copy");
  cpSync(jsonlDir, copy, { recursive: true });
  cpSync(world.secretTxt, join(copy, world.lakeFiles.events_jsonl.slice(jsonlDir.length + 1)));
  rmSync(jsonlDir, { recursive: true });
  symlinkSync(copy, jsonlDir);
  const before0 = fingerprint(world.root);

  const wh = await sandboxed(t, world);
  for (const view of ["events_csv", "lake.events_csv", "events_jsonl"]) {
    for (const sql of [`SELECT * FROM ${view}`, `SELECT count(*) FROM ${view}`, `SELECT zzz FROM ${view}`]) {
      const err = await failure(() => rows(wh, sql));
      assertNoLeak(err.message, world, sql);
      assert.match(
        err.message,
        /lake dataset events_(csv|jsonl) is not read here: \S+ leads outside the lake \(through a symbolic link\)|Referenced column "zzz" not found/,
        `${sql}: ${err.message}`,
      );
    }
  }
  // The other datasets read as before; nothing was written.
  assert.deepEqual(await rows(wh, "SELECT count(*)::INTEGER FROM interactions"), [[world.rows.interactions]]);
  assert.deepEqual(fingerprint(world.root), before0);
  renameSync(copy, `${copy}-gone`); // a dangling link: a missing file, which the caller retries
  await assert.rejects(openWarehouse(world.dataDir, { sandbox: true }), /no such file/i);
});
