/**
 * The PostgreSQL table store against a real server (Debian's postgresql, provisioned by
 * scripts/postgres.sh on its own port): the shared conformance suite, the schema as psql users
 * see it, and how connection problems are reported. Skips loudly when PostgreSQL cannot be
 * provisioned, fails instead under WEIR_REQUIRE_SERVICES=1 (CI).
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import { isWeirError } from "../../../src/errors.js";
import { PostgresTableStore, openTableStore } from "../../../src/sinks/table/index.js";
import { requireService, usePostgres } from "../../helpers/services.js";
import { tableStoreConformance, updates } from "./conformance.js";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startDashboard } from "../../../src/dashboard/server.js";

describe("PostgreSQL table store", () => {
  // Registered first so that it runs before usePostgres stops the server.
  after(async () => {
    await admin?.end();
  });

  const server = usePostgres({ port: 25433, dir: "/tmp/weir-pg-test-store" });
  const DB = "weir_store_test";
  let admin: pg.Client | undefined;
  let dbUrl: string | undefined;

  before(async () => {
    if (server.url === undefined) return;
    const root = new pg.Client({ connectionString: server.url });
    await root.connect();
    await root.query(`DROP DATABASE IF EXISTS ${DB}`);
    await root.query(`CREATE DATABASE ${DB}`);
    await root.end();
    dbUrl = server.url.replace(/\/postgres$/, `/${DB}`);
    admin = new pg.Client({ connectionString: dbUrl });
    admin.on("error", () => {}); // the server going away is reported by the next query
    await admin.connect();
  });

  /** An empty database for each test: the public schema dropped and created again. */
  async function reset(): Promise<void> {
    await admin!.query("DROP SCHEMA public CASCADE; CREATE SCHEMA public");
  }

  tableStoreConformance("PostgreSQL", async (t) => {
    if (dbUrl === undefined) {
      requireService(t, "PostgreSQL", server.unavailable);
      return undefined;
    }
    await reset();
    return new PostgresTableStore(dbUrl);
  });

  test("PostgreSQL: the documented schema, queryable with SQL", async (t) => {
    if (dbUrl === undefined) return requireService(t, "PostgreSQL", server.unavailable);
    await reset();
    const store = openTableStore(dbUrl, "/unused");
    t.after(() => store.close());
    assert.equal(store.location, `postgres://postgres@127.0.0.1:${server.port}/${DB}`);
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
    const cols = await admin!.query(
      `SELECT column_name, data_type FROM information_schema.columns
       WHERE table_name = 'user_interactions' ORDER BY ordinal_position`,
    );
    assert.deepEqual(
      cols.rows.map((c) => [c.column_name, c.data_type]),
      [
        ["key", "text"],
        ["version", "integer"],
        ["event_time", "timestamp with time zone"],
        ["value", "jsonb"],
        ["source_topic", "text"],
        ["source_partition", "integer"],
        ["source_offset", "bigint"],
        ["seq", "bigint"],
      ],
    );
    const pk = await admin!.query(
      `SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
       WHERE i.indrelid = 'user_interactions'::regclass AND i.indisprimary ORDER BY array_position(i.indkey, a.attnum)`,
    );
    assert.deepEqual(
      pk.rows.map((r) => r.attname),
      ["key", "version"],
    );
    const latest = await admin!.query(
      `SELECT key, version, to_char(event_time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS t,
              value->>'interactions_count' AS n, source_topic, source_partition, source_offset::int AS source_offset, seq::int AS seq
       FROM user_interactions_latest`,
    );
    assert.deepEqual(latest.rows, [
      {
        key: "42",
        version: 2,
        t: "2021-11-30T00:02:03.045Z",
        n: "2",
        source_topic: "events",
        source_partition: 2,
        source_offset: 18,
        seq: 2,
      },
    ]);
    const catalog = await admin!.query("SELECT name, versions, created_at FROM weir_tables");
    assert.equal(catalog.rows.length, 1);
    assert.equal(catalog.rows[0].name, "user_interactions");
    assert.equal(catalog.rows[0].versions, 3);
    assert.ok(catalog.rows[0].created_at instanceof Date);
    const idx = await admin!.query(
      "SELECT indexdef FROM pg_indexes WHERE tablename = 'user_interactions' AND indexname = 'weir_seq_user_interactions'",
    );
    assert.match(idx.rows[0]?.indexdef ?? "", /UNIQUE INDEX .* \(seq\)/);
  });

  test("PostgreSQL: two stores (processes) creating the same tables at once do not collide", async (t) => {
    if (dbUrl === undefined) return requireService(t, "PostgreSQL", server.unavailable);
    await reset();
    const stores = [0, 1, 2, 3].map(() => new PostgresTableStore(dbUrl!));
    t.after(() => Promise.all(stores.map((s) => s.close())));
    await Promise.all(stores.map((s) => s.ensureTable({ name: "shared", versions: 2 })));
    await stores[0].writeBatch("shared", updates(1, 5));
    assert.equal(await stores[3].lastSeq("shared"), 5);
  });

  test("PostgreSQL: U+0000, which text and JSONB cannot hold, is written as U+FFFD, and the store says so once per table (issue 14)", async (t) => {
    if (dbUrl === undefined) return requireService(t, "PostgreSQL", server.unavailable);
    await reset();
    const store = new PostgresTableStore(dbUrl);
    t.after(() => store.close());
    await store.ensureTable({ name: "t", versions: 1 });
    const [u] = updates(1, 1);
    await store.writeBatch("t", [
      { ...u, key: "nul\u0000key", value: { s: "nul\u0000char", ["k\u0000"]: [1, "\u0000"] }, seq: 1 },
      { ...u, key: "plain", value: { s: "a backslash and u0000: \\u0000" }, seq: 2 },
    ]);
    assert.deepEqual(store.takeNotices(), [
      "table t: 1 update(s) held U+0000 (NUL), which PostgreSQL cannot store in text or JSONB: written with U+FFFD in its place",
    ]);
    assert.deepEqual(store.takeNotices(), []);
    assert.deepEqual(
      (await store.read("t")).map((v) => [v.key, v.value]),
      [
        ["nul\ufffdkey", { s: "nul\ufffdchar", ["k\ufffd"]: [1, "\ufffd"] }],
        ["plain", { s: "a backslash and u0000: \\u0000" }],
      ],
    );
  });

  test("PostgreSQL: nothing listening is a retryable IO error, within the connect timeout", async () => {
    // A port nobody listens on (connection refused at once).
    const store = new PostgresTableStore("postgres://postgres@127.0.0.1:1/postgres", {
      connectTimeoutMs: 2000,
    });
    const started = Date.now();
    await assert.rejects(store.ensureTable({ name: "t", versions: 1 }), (err: unknown) => {
      assert.ok(isWeirError(err), String(err));
      assert.equal(err.code, "IO");
      assert.equal(err.retryable, true);
      assert.match(
        err.message,
        /PostgreSQL at postgres:\/\/postgres@127\.0\.0\.1:1\/postgres is unavailable/,
      );
      return true;
    });
    await assert.rejects(store.listTables(), (err: unknown) => isWeirError(err) && err.retryable);
    assert.ok(Date.now() - started < 10_000);
    await store.close();
  });

  test("PostgreSQL: a bad URL, a refused login or a missing database are clear, non-retryable errors", async (t) => {
    for (const bad of ["postgres://", "postgres://host:99999/db", "postgres://h/a/b"]) {
      assert.throws(
        () => openTableStore(bad, "/unused"),
        (err: unknown) =>
          isWeirError(err) && err.code === "USAGE" && /invalid PostgreSQL URL/.test(err.message),
        bad,
      );
    }
    // The password never appears in messages.
    assert.throws(
      () => openTableStore("postgres://u:s3cret@h:99999/db", "/unused"),
      (err: unknown) => isWeirError(err) && !err.message.includes("s3cret"),
    );
    assert.equal(new PostgresTableStore("postgres://u:s3cret@h:5/db").location, "postgres://u@h:5/db");
    if (server.url === undefined) return requireService(t, "PostgreSQL", server.unavailable);

    const root = new pg.Client({ connectionString: server.url });
    await root.connect();
    t.after(() => root.end());
    await root.query("DROP ROLE IF EXISTS weir_no_login; CREATE ROLE weir_no_login NOLOGIN");
    const noLogin = new PostgresTableStore(`postgresql://weir_no_login@127.0.0.1:${server.port}/postgres`);
    await assert.rejects(noLogin.listTables(), (err: unknown) => {
      assert.ok(isWeirError(err), String(err));
      assert.equal(err.code, "USAGE");
      assert.equal(err.retryable, false);
      assert.match(err.message, /refused the login/);
      return true;
    });
    await noLogin.close();
    const noDb = new PostgresTableStore(`postgres://postgres@127.0.0.1:${server.port}/weir_no_such_db`);
    await assert.rejects(
      noDb.listTables(),
      (err: unknown) =>
        isWeirError(err) && err.code === "USAGE" && /weir_no_such_db/.test(err.message) && !err.retryable,
    );
    await noDb.close();
  });

  test("PostgreSQL: the dashboard's tables API and SQL read a PostgreSQL table store", async (t) => {
    if (dbUrl === undefined) return requireService(t, "PostgreSQL", server.unavailable);
    await reset();
    const store = openTableStore(dbUrl, "/unused");
    t.after(() => store.close());
    await store.ensureTable({ name: "user_interactions", versions: 3 });
    // 4 updates of key "1" (3 kept) and 1 of key "2".
    const at = (s: number) => Date.UTC(2021, 10, 30, 0, 0, s);
    await store.writeBatch(
      "user_interactions",
      [1, 2, 3, 4].map((n) => ({
        key: "1",
        value: { user: 1, interactions_count: n },
        eventTime: at(n),
        topic: "events",
        partition: 0,
        offset: n,
        seq: n,
      })),
    );
    await store.writeBatch("user_interactions", [
      {
        key: "2",
        value: { user: 2, interactions_count: 1 },
        eventTime: at(5),
        topic: "events",
        partition: 0,
        offset: 5,
        seq: 5,
      },
    ]);
    await store.compact("user_interactions", 5);
    const dataDir = mkdtempSync(join(tmpdir(), "weir-dashboard-pg-"));
    t.after(() => rmSync(dataDir, { recursive: true, force: true }));
    const dashboard = await startDashboard({ host: "127.0.0.1", port: 0, dataDir, tableStore: dbUrl });
    t.after(() => dashboard.close());
    const get = async (path: string) => {
      const r = await fetch(new URL(path, dashboard.url));
      assert.equal(r.status, 200, `${path}: ${await r.clone().text()}`);
      return r.json() as Promise<any>;
    };
    assert.deepEqual(await get("/api/tables"), [{ name: "user_interactions", versions: 3, keys: 2 }]);
    const key1 = await get("/api/tables/user_interactions?key=1");
    assert.deepEqual(
      key1.rows.map((r: any) => [r.key, r.version, r.value.interactions_count]),
      [
        ["1", 4, 4],
        ["1", 3, 3],
        ["1", 2, 2],
      ],
    );
    const sql = await fetch(new URL("/api/sql", dashboard.url), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        sql: "select key, value->>'interactions_count' as n from user_interactions_latest order by key",
      }),
    });
    assert.equal(sql.status, 200, await sql.clone().text());
    assert.deepEqual(((await sql.json()) as any).rows, [
      ["1", "4"],
      ["2", "1"],
    ]);
  });
});
