/**
 * `POST /api/sql` as an attacker would use it (issue 14, item 5), against the real DuckDB over a
 * data directory written by running pipelines (test/helpers/sandbox.ts): every escape attempt is
 * refused, no answer holds a byte of a file outside the views, and the data directory is
 * byte-identical afterwards. The escape attempts run through HTTP, as a browser or a token holder
 * sends them; the last test compares the fingerprints taken before the first.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, rmSync } from "node:fs";
import { request } from "node:http";
import { relative } from "node:path";
import { startDashboard, type Dashboard } from "../../src/dashboard/server.js";
import { runSql } from "../../src/dashboard/sql.js";
import { ApiError } from "../../src/dashboard/api-error.js";
import { assertNoLeak, buildSandboxWorld, fingerprint, type SandboxWorld } from "../helpers/sandbox.js";

let w: SandboxWorld;
let dash: Dashboard;
let before0: Map<string, string>;
const cwdTmp = `${process.cwd()}/.tmp`;
let cwdTmpExisted: boolean;

before(async () => {
  w = await buildSandboxWorld();
  before0 = fingerprint(w.root);
  cwdTmpExisted = existsSync(cwdTmp);
  dash = await startDashboard({ dataDir: w.dataDir, port: 0, logger: () => {}, sqlTimeoutMs: 2000 });
});

after(async () => {
  await dash?.close();
  if (w !== undefined) rmSync(w.root, { recursive: true, force: true });
});

interface Answer {
  status: number;
  text: string;
}

/** POST `body` to `path` of `url` with raw headers (fetch would not send a Host of our choosing). */
function post(
  url: string,
  path: string,
  body: string,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const { hostname, port } = new URL(url);
  return new Promise<Answer>((resolve, reject) => {
    const req = request(
      {
        host: hostname,
        port,
        path,
        method: "POST",
        headers: {
          "content-type": "application/json",
          "content-length": Buffer.byteLength(body),
          ...headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode!, text: Buffer.concat(chunks).toString("utf8") }),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

function sql(query: string, headers: Record<string, string> = {}, url = dash.url): Promise<Answer> {
  return post(url, "/api/sql", JSON.stringify({ sql: query }), headers);
}

/** Assert that `query` is refused (400) and its answer leaks nothing; returns the error message. */
async function refused(query: string, headers: Record<string, string> = {}, url?: string): Promise<string> {
  const a = await sql(query, headers, url);
  assertNoLeak(a.text, w, query);
  assert.equal(a.status, 400, `${query}: expected a refusal (400), got ${a.status} ${a.text}`);
  const error = (JSON.parse(a.text) as { error: string }).error;
  assert.ok(!error.includes("\n"), `${query}: one line`);
  return error;
}

/** Run `queries` through `refused`, two at a time (the server runs two queries at once). */
async function allRefused(queries: readonly string[], headers: Record<string, string> = {}, url?: string) {
  let next = 0;
  const worker = async () => {
    while (next < queries.length) await refused(queries[next++], headers, url);
  };
  await Promise.all([worker(), worker()]);
}

async function count(view: string): Promise<number> {
  const a = await sql(`SELECT count(*) AS n FROM ${view}`);
  assert.equal(a.status, 200, a.text);
  return (JSON.parse(a.text) as { rows: number[][] }).rows[0][0];
}

const q = (s: string) => `'${s.replace(/'/g, "''")}'`;

// ---------------------------------------------------------------------------------------------
// The failures of issue 14, each by name

test("issue 14: read_csv('/etc/passwd', header=true, delim=':') no longer leaks its fields through 'Candidate bindings'", async () => {
  const error = await refused("select zzz from read_csv('/etc/passwd', header=true, delim=':')");
  assert.doesNotMatch(error, /Candidate bindings/);
  await refused(`select zzz from read_csv(${q(w.secretTxt)}, header=true, delim=':')`);
});

test("issue 14: read_csv with delim='\\t' and skip=N returns no line of any readable file, /etc/shadow included", async () => {
  const queries: string[] = [];
  for (const file of ["/etc/passwd", "/etc/shadow", w.secretTxt, w.notes])
    for (let skip = 0; skip < 6; skip++)
      for (const shape of ["select zzz from", "select * from"])
        queries.push(`${shape} read_csv(${q(file)}, delim='\\t', skip=${skip}, header=true)`);
  await allRefused(queries);
});

test("issue 14: a valid token from a non-loopback address gets the same sandbox", async (t) => {
  const guarded = await startDashboard({
    dataDir: w.dataDir,
    port: 0,
    token: "s3cret-token",
    logger: () => {},
  });
  t.after(() => guarded.close());
  // What a client elsewhere sends: its own idea of the server's name, and the token.
  const remote = { host: `203.0.113.7:${guarded.port}`, authorization: "Bearer s3cret-token" };
  const ok = await sql("SELECT count(*) FROM interactions", remote, guarded.url);
  assert.equal(ok.status, 200, ok.text);
  assert.equal((await sql("SELECT 1", { host: remote.host }, guarded.url)).status, 401);
  await allRefused(
    [
      "select zzz from read_csv('/etc/passwd', header=true, delim=':')",
      "select * from read_csv('/etc/shadow', delim='\\t', skip=1, header=true)",
      `select * from read_text(${q(w.secretTxt)})`,
      `EXPLAIN ANALYZE COPY (SELECT 1) TO ${q(`${w.lake}/evil.csv`)}`,
      "from '/etc/passwd'",
    ],
    remote,
    guarded.url,
  );
  assert.ok(!existsSync(`${w.lake}/evil.csv`));
});

test("issue 14: EXPLAIN ANALYZE COPY (...) TO '<data-dir>/lake/...' is refused and writes nothing", async () => {
  const interactions = await count("interactions");
  const part = w.lakeFiles.interactions;
  await allRefused([
    `EXPLAIN ANALYZE COPY (SELECT 'evil' AS x) TO ${q(`${w.lake}/evil.csv`)}`,
    `EXPLAIN ANALYZE COPY (SELECT * FROM interactions LIMIT 10) TO ${q(part)} (FORMAT parquet)`,
    `EXPLAIN ANALYZE COPY (SELECT * FROM interactions LIMIT 10) TO ${q(part)} (FORMAT parquet, USE_TMP_FILE false)`,
    `EXPLAIN COPY (SELECT 1) TO ${q(`${w.lake}/evil.csv`)}`,
    `COPY (SELECT 'evil' AS x) TO ${q(`${w.lake}/evil.csv`)}`,
    `COPY interactions TO ${q(part)} (FORMAT parquet)`,
  ]);
  assert.ok(!existsSync(`${w.lake}/evil.csv`), "lake/evil.csv was not created");
  assert.equal(await count("interactions"), interactions, "no Parquet part of interactions was overwritten");
  assert.equal(interactions, w.rows.interactions);
});

test("issue 14: Origin: null is refused on /api/sql, as are other origins and cross-site fetches", async () => {
  const self = new URL(dash.url).host;
  const foreign: Array<Record<string, string>> = [
    { origin: "null" },
    { origin: "http://evil.example" },
    { origin: `http://evil.example:${dash.port}` },
    { origin: "http://127.0.0.1:1" },
    { origin: `file://${self}` },
    { origin: "not a url" },
    { origin: `http://${self}`, "sec-fetch-site": "cross-site" },
    { origin: `http://${self}`, "sec-fetch-site": "same-site" },
    { "sec-fetch-site": "cross-site" },
  ];
  for (const headers of foreign) {
    const a = await sql("SELECT count(*) FROM interactions", headers);
    assert.equal(a.status, 403, `${JSON.stringify(headers)}: ${a.text}`);
    assert.match((JSON.parse(a.text) as { error: string }).error, /cross-(origin|site) request refused/);
  }
  // The dashboard's own page, and clients that are not browsers, still run queries.
  const own = await sql("SELECT count(*) FROM interactions", {
    origin: `http://${self}`,
    "sec-fetch-site": "same-origin",
  });
  assert.equal(own.status, 200, own.text);
  assert.equal((await sql("SELECT count(*) FROM interactions")).status, 200);
});

// ---------------------------------------------------------------------------------------------
// Escape attempts

/** Every place a query might try to read: system files, the secrets, relative paths, `..`, links. */
function targets(): string[] {
  return [
    "/etc/passwd",
    "/etc/shadow",
    "/proc/self/environ",
    "/proc/self/cmdline",
    w.secretTxt,
    w.secretParquet,
    w.notes,
    w.stray,
    w.link,
    `${w.outsideDir}/secret.txt`,
    `${w.lake}/interactions/../../notes.txt`,
    `${w.lake}/../../secret.txt`,
    relative(process.cwd(), w.secretTxt),
    "../../../../../../../../etc/passwd",
    "secret.txt",
    `file://${w.secretTxt}`,
    "data:text/plain;base64,cm9vdDp4OjA6MA==",
    "https://127.0.0.1:1/x.csv",
    w.lakeFiles.interactions,
    w.lakeFiles.events_csv,
    w.lakeFiles.events_jsonl,
  ];
}

/** The file-reading table functions with their options, as `F(target)`. */
const READERS: Array<(t: string) => string> = [
  (t) => `read_csv(${q(t)})`,
  (t) => `read_csv(${q(t)}, header=true, delim=':')`,
  (t) => `read_csv(${q(t)}, delim='\\t', skip=2, header=true)`,
  (t) => `read_csv(${q(t)}, sep=',', header=false, all_varchar=true)`,
  (t) =>
    `read_csv(${q(t)}, auto_detect=false, columns={'line': 'VARCHAR'}, delim=chr(1), quote='', escape='')`,
  (t) => `read_csv(${q(t)}, ignore_errors=true, store_rejects=true, null_padding=true)`,
  (t) => `read_csv([${q(t)}, ${q(t)}], union_by_name=true, filename=true)`,
  (t) => `read_csv_auto(${q(t)})`,
  (t) => `read_csv_auto(${q(t)}, header=true, delim=':')`,
  (t) => `read_json(${q(t)})`,
  (t) => `read_json(${q(t)}, format='newline_delimited', ignore_errors=true)`,
  (t) => `read_json(${q(t)}, columns={'secret': 'VARCHAR'})`,
  (t) => `read_json_auto(${q(t)})`,
  (t) => `read_ndjson(${q(t)})`,
  (t) => `read_ndjson_auto(${q(t)})`,
  (t) => `read_json_objects(${q(t)})`,
  (t) => `read_ndjson_objects(${q(t)})`,
  (t) => `read_parquet(${q(t)})`,
  (t) => `read_parquet(${q(t)}, hive_partitioning=true, filename=true)`,
  (t) => `parquet_scan(${q(t)})`,
  (t) => `parquet_metadata(${q(t)})`,
  (t) => `parquet_schema(${q(t)})`,
  (t) => `parquet_file_metadata(${q(t)})`,
  (t) => `parquet_kv_metadata(${q(t)})`,
  (t) => `read_text(${q(t)})`,
  (t) => `read_blob(${q(t)})`,
  (t) => `glob(${q(t)})`,
  (t) => `sniff_csv(${q(t)})`,
  (t) => `read_duckdb(${q(t)})`,
  (t) => `${q(t)}`, // a replacement scan: FROM 'file.csv'
  (t) => `"${t.replace(/"/g, '""')}"`, // the same, as a quoted name
];

test("escape: every file-reading table function, with its options, on every target", async () => {
  const queries: string[] = [];
  for (const target of targets())
    for (const reader of READERS) {
      queries.push(`select * from ${reader(target)}`);
      queries.push(`select zzz from ${reader(target)}`);
    }
  await allRefused(queries);
});

test("escape: directory listings with glob ('**', the data directory, the lake, through links)", async () => {
  await allRefused(
    [
      "**",
      "*",
      "/etc/*",
      `${w.root}/**`,
      `${w.dataDir}/**`,
      `${w.lake}/**`,
      `${w.lake}/**/*.parquet`,
      `${w.outsideDir}/*`,
      "../**",
    ].flatMap((p) => [`select * from glob(${q(p)})`, `select * from read_text(${q(p)})`, `from ${q(p)}`]),
  );
});

/** Ways to wrap a FROM item `f` so that its rows are read from elsewhere in a query. */
const WRAPPERS: Array<(f: string) => string> = [
  (f) => `select * from ${f}`,
  (f) => `select zzz from ${f}`,
  (f) => `from ${f}`,
  (f) => `select * from (select * from ${f})`,
  (f) => `select * from (select * from (select * from ${f}) a) b`,
  (f) => `with x as (select * from ${f}) select * from x`,
  (f) => `with x as materialized (select * from ${f}) select count(*) from x`,
  (f) => `with recursive x as (select * from ${f}) select * from x`,
  (f) => `select (select count(*) from ${f})`,
  (f) => `select exists (select 1 from ${f})`,
  (f) => `select * from interactions where user_id in (select 1 from ${f})`,
  (f) => `select * from interactions, lateral (select * from ${f}) l`,
  (f) => `select * from interactions union all select * from ${f}`,
  (f) => `select * from interactions join ${f} on true`,
  (f) => `select list(x) from (select * from ${f}) x`,
  (f) => `describe select * from ${f}`,
  (f) => `summarize select * from ${f}`,
  (f) => `explain select * from ${f}`,
  (f) => `explain analyze select * from ${f}`,
  (f) => `select 1; select * from ${f}`,
  (f) => `select * from ${f}; select 1`,
  (f) => `/* a comment */ select * from ${f} -- another`,
];

test("escape: CTEs, subqueries, joins, set operations, DESCRIBE, SUMMARIZE, EXPLAIN [ANALYZE] and multiple statements wrapping a file read", async () => {
  const reads = [
    "read_csv('/etc/passwd', header=true, delim=':')",
    `read_text(${q(w.secretTxt)})`,
    `read_parquet(${q(w.secretParquet)})`,
    `read_parquet(${q(w.lakeFiles.interactions)})`,
    "glob('**')",
    "'/etc/passwd'",
    `${q(w.notes)}`,
    "query('select * from read_text(''/etc/passwd'')')",
  ];
  const queries: string[] = [];
  for (const f of reads) for (const wrap of WRAPPERS) queries.push(wrap(f));
  queries.push(
    "describe '/etc/passwd'",
    'describe "/etc/passwd"',
    "show '/etc/passwd'",
    'show "/etc/passwd"',
    "summarize '/etc/passwd'",
    `summarize ${q(w.secretTxt)}`,
  );
  await allRefused(queries);
});

/** Statements that are not queries, each aimed at the lake or the instance. */
function statements(): string[] {
  const evil = `${w.lake}/evil.csv`;
  const part = w.lakeFiles.interactions;
  const csvPart = w.lakeFiles.events_csv;
  return [
    `COPY (SELECT 'evil' AS x) TO ${q(evil)}`,
    `COPY interactions TO ${q(part)} (FORMAT parquet)`,
    `COPY interactions TO ${q(part)} (FORMAT parquet, USE_TMP_FILE false)`,
    `COPY (SELECT 1 AS x) TO ${q(csvPart)} (HEADER, OVERWRITE_OR_IGNORE)`,
    `COPY (SELECT 1 AS x) TO ${q(`${w.lake}/interactions`)} (FORMAT parquet, PARTITION_BY (x), OVERWRITE_OR_IGNORE)`,
    `COPY interactions FROM ${q(w.secretTxt)}`,
    `COPY FROM DATABASE memory TO memory`,
    `EXPORT DATABASE ${q(`${w.lake}/export`)}`,
    `EXPORT DATABASE ${q(`${w.lake}/export`)} (FORMAT parquet)`,
    `IMPORT DATABASE ${q(w.root)}`,
    `ATTACH ${q(`${w.lake}/evil.duckdb`)} AS evil`,
    `ATTACH ${q(w.secretTxt)} AS s (READ_ONLY)`,
    "ATTACH ':memory:' AS m",
    "DETACH memory",
    "DETACH DATABASE IF EXISTS m",
    "INSTALL httpfs",
    "FORCE INSTALL httpfs",
    "LOAD httpfs",
    `LOAD ${q(`${w.root}/x.duckdb_extension`)}`,
    "UPDATE EXTENSIONS",
    "SET enable_external_access = true",
    "SET lock_configuration = false",
    "RESET lock_configuration",
    "RESET ALL",
    "SET GLOBAL lock_configuration = false",
    "SET allowed_directories = ['/']",
    `SET allowed_paths = ['/etc/passwd']`,
    `SET temp_directory = ${q(w.lake)}`,
    `SET log_query_path = ${q(evil)}`,
    `SET profiling_output = ${q(evil)}`,
    "SET memory_limit = '1TB'",
    "SET autoload_known_extensions = true",
    "SET VARIABLE x = 1",
    "SET search_path = 'lake'",
    "PRAGMA enable_profiling = 'json'",
    `PRAGMA profiling_output = ${q(evil)}`,
    "PRAGMA show_tables",
    "PRAGMA version",
    `CALL enable_logging(storage = 'file', storage_path = ${q(evil)})`,
    "CALL checkpoint()",
    "CALL duckdb_settings()",
    "CREATE TABLE evil AS SELECT 1",
    "CREATE TEMP TABLE evil AS SELECT * FROM interactions",
    "CREATE VIEW evil AS SELECT * FROM read_text('/etc/passwd')",
    "CREATE OR REPLACE VIEW interactions AS SELECT 1",
    "CREATE MACRO evil(x) AS x",
    "CREATE MACRO evil(f) AS TABLE SELECT * FROM read_csv(f)",
    "CREATE SECRET s (TYPE s3, KEY_ID 'k', SECRET 's')",
    "CREATE PERSISTENT SECRET s (TYPE s3, KEY_ID 'k', SECRET 's')",
    "CREATE SCHEMA evil",
    "CREATE SEQUENCE evil",
    "CREATE TYPE evil AS ENUM ('a')",
    "CREATE INDEX evil ON tables.user_interactions (key)",
    "INSERT INTO tables.user_interactions (key) VALUES ('evil')",
    "WITH x AS (SELECT 'evil' AS key) INSERT INTO tables.user_interactions (key) SELECT key FROM x",
    "UPDATE tables.user_interactions SET key = 'evil'",
    "DELETE FROM tables.user_interactions",
    "TRUNCATE tables.user_interactions",
    "DROP VIEW interactions",
    "DROP SCHEMA lake CASCADE",
    "ALTER VIEW interactions RENAME TO gone",
    "ALTER TABLE tables.user_interactions ADD COLUMN evil INTEGER",
    "CHECKPOINT",
    "FORCE CHECKPOINT",
    "USE lake",
    "PREPARE p AS SELECT * FROM read_text('/etc/passwd')",
    "EXECUTE p",
    "DEALLOCATE p",
    "VACUUM",
    "ANALYZE",
    "BEGIN TRANSACTION",
    "COMMIT",
    "PIVOT interactions ON event USING count(*)",
    "DESCRIBE TABLE '/etc/passwd'",
  ];
}

test("escape: COPY, EXPORT, IMPORT, ATTACH, DETACH, INSTALL, LOAD, SET, RESET, PRAGMA, CALL, CREATE, INSERT, UPDATE, DELETE, DROP, ALTER, CHECKPOINT, USE, PREPARE..., bare and wrapped", async () => {
  const queries: string[] = [];
  for (const s of statements()) {
    queries.push(
      s,
      `EXPLAIN ${s}`,
      `EXPLAIN ANALYZE ${s}`,
      `/* hidden */ EXPLAIN /* hidden */ ANALYZE ${s}`,
      `-- a comment\n${s}`,
      `SELECT 1; ${s}`,
      `${s}; SELECT 1`,
      `WITH x AS (SELECT 1) ${s}`,
      `SELECT * FROM (${s})`,
      `SELECT (${s})`,
      `SELECT * FROM query(${q(s)})`,
      `SELECT * FROM query_table(${q(s)})`,
    );
  }
  await allRefused(queries);
  assert.ok(!existsSync(`${w.lake}/evil.csv`));
  assert.ok(!existsSync(`${w.lake}/export`));
  assert.equal(await count("interactions"), w.rows.interactions);
  assert.equal(await count("events_csv"), w.rows.events_csv);
});

test("escape: settings, the environment, secrets, logs, profiling, extensions and the catalog's dangerous functions", async () => {
  const evil = `${w.lake}/evil.csv`;
  const queries = [
    "select current_setting('allowed_paths')",
    "select current_setting('secret_directory')",
    "select current_setting('home_directory')",
    "select current_setting('lock_configuration')",
    "select getenv('HOME')",
    "select * from duckdb_settings()",
    "select * from duckdb_settings",
    "select * from pg_settings",
    "select * from pg_catalog.pg_settings",
    "select * from duckdb_secrets()",
    "select * from which_secret('s3://bucket/x', 's3')",
    "select * from duckdb_extensions()",
    "select * from duckdb_logs",
    "select * from duckdb_logs()",
    "select * from duckdb_memory()",
    "select * from duckdb_temporary_files()",
    "select * from duckdb_external_file_cache()",
    "select * from duckdb_prepared_statements()",
    "select * from duckdb_variables()",
    `select * from enable_logging(storage='file', storage_path=${q(evil)}, level='trace')`,
    `select * from enable_logging(storage='file', storage_path=${q(w.lakeFiles.events_csv)})`,
    "select * from enable_logging()",
    "select * from disable_logging()",
    "select * from truncate_duckdb_logs()",
    `select * from enable_profiling(save_location=${q(`${w.lake}/p.json`)}, format='json')`,
    "select * from enable_profiling()",
    "select * from disable_profiling()",
    "select write_log('evil', level := 'error')",
    "select * from enable_peg_parser()",
    "select * from disable_peg_parser()",
    "select * from checkpoint()",
    "select * from force_checkpoint()",
    "select * from query('select 1')",
    "select * from query_table('interactions')",
    "select * from json_execute_serialized_sql(json_serialize_sql('select * from read_text(''/etc/passwd'')'))",
    "select * from histogram('interactions', user_id)",
    "select * from sql_auto_complete('sel')",
    "select * from test_all_types()",
    "select * from pragma_database_size()",
    "select * from pragma_storage_info('interactions')",
    "select * from pragma_platform()",
    "select * from pragma_user_agent()",
    "select * from arrow_scan(0, 0, 0)",
    "select * from seq_scan()",
    "select * from summary((select 1))",
    "select * from interactions where current_setting('threads') is not null",
    "select list(current_setting(name)) from (values ('home_directory')) t(name)",
  ];
  await allRefused(queries);
  // The instance is intact: a query still runs, and nothing was written.
  assert.equal(await count("interactions"), w.rows.interactions);
  assert.ok(!existsSync(evil));
});

test("a long-running query is interrupted with a clear message; one that needs too much memory fails, spilling nothing", async () => {
  const started = Date.now();
  for (const query of [
    "with recursive t(n) as (select 1 union all select n + 1 from t) select count(*) from t",
    "select sleep_ms(60000)",
    "select count(*) from range(1000000000000)",
  ]) {
    const error = await refused(query);
    assert.match(error, /^the query ran longer than 2 s and was stopped: narrow it down/, query);
  }
  assert.ok(Date.now() - started < 30_000, "each was stopped after about 2 s");
  // Beyond the memory limit a query fails: nothing spills to a temporary file.
  await assert.rejects(
    runSql(w.dataDir, "select length(string_agg(repeat('x', 1000000))) from range(2000)", {
      timeoutMs: 60_000,
    }),
    (err: ApiError) => {
      assert.equal(err.status, 400);
      assert.match(err.message, /^Out of Memory Error: .*no temporary directory/);
      assert.ok(!err.message.includes("\n"));
      return true;
    },
  );
  await assert.rejects(runSql(w.dataDir, "select sleep_ms(5000)", { timeoutMs: 300 }), (err: ApiError) => {
    assert.equal(err.status, 400);
    assert.match(err.message, /ran longer than 0.3 s and was stopped/);
    return true;
  });
});

test("queries over the views and tables still work: SELECT, WITH, VALUES, FROM, SHOW, DESCRIBE, SUMMARIZE, the catalog", async () => {
  const ok = async (query: string) => {
    const a = await sql(query);
    assert.equal(a.status, 200, `${query}: ${a.text}`);
    return JSON.parse(a.text) as { columns: Array<{ name: string }>; rows: unknown[][] };
  };
  assert.equal(await count("interactions"), w.rows.interactions);
  assert.equal(await count("lake.interactions"), w.rows.interactions);
  assert.equal(await count("events_csv"), w.rows.events_csv);
  assert.equal(await count("events_jsonl"), w.rows.events_jsonl);
  assert.equal(await count("nobroker_dead_letters"), w.rows.nobroker_dead_letters);
  assert.equal(await count("user_interactions_latest"), 7);
  assert.equal(await count("tables.property_interactions_latest"), 5);
  const names = (await ok("SHOW TABLES")).rows.map((r) => r[0]);
  for (const n of [
    "interactions",
    "events_csv",
    "events_jsonl",
    "user_interactions",
    "user_interactions_latest",
  ])
    assert.ok(names.includes(n), `SHOW TABLES lists ${n}: ${names.join(", ")}`);
  assert.ok(!names.includes("outside"), "the link lake/outside is not a dataset");
  await ok("SHOW ALL TABLES");
  await ok("DESCRIBE interactions");
  await ok("SUMMARIZE interactions");
  await ok("FROM interactions LIMIT 3");
  await ok("VALUES (1, 'a'), (2, 'b')");
  await ok(
    "WITH busy AS (SELECT user_id, count(*) AS n FROM interactions GROUP BY ALL) SELECT * FROM busy ORDER BY n DESC",
  );
  await ok(
    "WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t WHERE n < 10) SELECT sum(n) FROM t",
  );
  await ok("SELECT * FROM range(10) r, unnest([1, 2]) u, generate_series(1, 3) g");
  await ok("SELECT e.key, e.value FROM json_each('{\"a\": 1}') e");
  await ok("SELECT table_name FROM information_schema.tables ORDER BY 1");
  await ok("SELECT view_name FROM duckdb_views() WHERE NOT internal");
  await ok("SELECT * FROM duckdb_columns WHERE table_name = 'interactions'");
  await ok("SELECT * FROM pragma_table_info('interactions')");
  await ok("UNPIVOT (SELECT 1 AS a, 2 AS b) ON a, b");
  await ok("SELECT * FROM (PIVOT interactions ON event IN ('View', 'Interaction') USING count(*))");
  await ok(
    "SELECT user_id, count(*) OVER (PARTITION BY user_id) FROM interactions QUALIFY row_number() OVER (PARTITION BY user_id) = 1",
  );
  const e = await refused("SELECT * FROM interactons");
  assert.match(
    e,
    /^no view or table named "interactons": the dashboard's SQL reads only the warehouse's views and tables/,
  );
});

test("the other endpoints read what they name and nothing else: topics, tables, dead letters", async () => {
  const get = (path: string) =>
    new Promise<Answer>((resolve, reject) => {
      const { hostname, port } = new URL(dash.url);
      request({ host: hostname, port, path }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode!, text: Buffer.concat(chunks).toString("utf8") }),
        );
      })
        .on("error", reject)
        .end();
    });
  for (const path of [
    "/api/topics/..%2f..%2f..%2fetc%2fpasswd/records",
    "/api/topics/..%2fnotes.txt/records",
    "/api/topics/%2e%2e/records",
    "/api/tables/..%2f..%2fetc%2fpasswd",
    "/api/tables/weir_tables",
    "/api/tables/sqlite_master",
    "/api/tables/user_interactions%22%3B%20DROP%20TABLE%20x%3B--",
    "/api/dead-letters?pipeline=..%2f..%2fetc%2fpasswd",
    "/api/pipelines/..%2f..%2fetc%2fpasswd",
    "/..%2f..%2f..%2fetc%2fpasswd",
    "/..%2fnotes.txt",
  ]) {
    const a = await get(path);
    assertNoLeak(a.text, w, path);
    assert.ok(a.status === 404 || a.status === 400, `${path}: ${a.status} ${a.text}`);
  }
  const ok = await get("/api/tables/user_interactions");
  assert.equal(ok.status, 200, ok.text);
});

test("the data directory, the lake and the secrets beside them are byte-identical after every attempt", () => {
  const now = fingerprint(w.root);
  assert.deepEqual([...now.keys()].sort(), [...before0.keys()].sort(), "no file appeared or went away");
  for (const [path, hash] of before0) assert.equal(now.get(path), hash, `${path} is unchanged`);
  assert.equal(existsSync(cwdTmp), cwdTmpExisted, "DuckDB spilled nothing into ./.tmp");
});
