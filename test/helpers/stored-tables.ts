/**
 * The versioned tables of a run, two ways, for the tests of a kill between a checkpoint and its
 * compaction (test/runtime/compaction-kill.test.ts, test/integration/kafka-delivery.test.ts):
 *
 * - storedRows: every row the store holds, straight from SQLite or PostgreSQL — what compaction
 *   left, including stale versions no reader shows;
 * - tableReaders: what users see — `weir table --versions 10` and `weir query` over the table and
 *   its `_latest` view.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import Database from "better-sqlite3";
import pg from "pg";
import { lines, runCli } from "../cli/helpers.js";

const COLUMNS = "key, version, event_time, value, source_topic, source_partition, source_offset, seq";

/** Where a run's tables live: `<dataDir>/tables.db`, or the PostgreSQL database at `url`. */
export interface TableRun {
  dataDir: string;
  postgres?: string;
}

/** `--data-dir` (and `--table-store`) of a run, for `weir` commands. */
export function storeArgs(run: TableRun): string[] {
  const args = ["--data-dir", run.dataDir];
  if (run.postgres !== undefined) args.push("--table-store", run.postgres);
  return args;
}

/** Every stored row of `table`, in update order, each as a JSON array of its columns. */
export async function storedRows(run: TableRun, table: string): Promise<string[]> {
  if (run.postgres === undefined) {
    const db = new Database(join(run.dataDir, "tables.db"), { readonly: true, fileMustExist: true });
    try {
      return db
        .prepare(`SELECT ${COLUMNS} FROM "${table}" ORDER BY seq`)
        .raw(true)
        .all()
        .map((r) => JSON.stringify(r));
    } finally {
      db.close();
    }
  }
  const client = new pg.Client({ connectionString: run.postgres });
  await client.connect();
  try {
    const r = await client.query({
      text:
        "SELECT key, version, event_time::text, value::text, source_topic, source_partition, " +
        `source_offset::text, seq::text FROM "${table}" ORDER BY seq`,
      rowMode: "array",
    });
    return r.rows.map((row) => JSON.stringify(row));
  } finally {
    await client.end();
  }
}

/** Versions per key of rows as storedRows gives them. */
export function versionsPerKey(rows: readonly string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of rows) {
    const key = (JSON.parse(r) as unknown[])[0] as string;
    m.set(key, (m.get(key) ?? 0) + 1);
  }
  return m;
}

/** What `weir table T --versions 10` and `weir query` show of each table. */
export async function tableReaders(
  run: TableRun,
  tables: readonly string[],
): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const table of tables) {
    const t = await runCli(["table", table, "--versions", "10", "--format", "json", ...storeArgs(run)], {
      timeoutMs: 120_000,
    });
    assert.equal(t.code, 0, t.stderr);
    out[`weir table ${table} --versions 10`] = lines(t.stdout);
    for (const sql of [
      `SELECT count(*) AS n FROM ${table}`,
      `SELECT count(*) AS n FROM ${table}_latest`,
      `SELECT key, version, event_time, value, seq FROM ${table} ORDER BY key, version`,
    ]) {
      const q = await runCli(["query", sql, "--format", "json", ...storeArgs(run)], { timeoutMs: 120_000 });
      assert.equal(q.code, 0, q.stderr);
      out[`weir query ${sql}`] = lines(q.stdout);
    }
  }
  return out;
}

/** Readers' outputs equal: row counts first (a short message), then every row. */
export function assertSameReads(
  actual: Record<string, string[]>,
  expected: Record<string, string[]>,
  what: string,
): void {
  const counts = (r: Record<string, string[]>) =>
    Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v.length === 1 ? v[0] : `${v.length} rows`]));
  assert.deepEqual(counts(actual), counts(expected), `${what}: row counts`);
  assert.deepEqual(actual, expected, what);
}
