/**
 * Versioned table sink benchmarks: upserts/s (each update becomes the next version of its key) in
 * batches of 1000, 100,000 updates over 10,000 keys, as the runner writes them (one writeBatch per
 * batch, one transaction each). Then reads of what was written (`weir table --versions 3`, and the
 * warehouse's copy of the whole table that `weir query` and the dashboard read), both of the
 * compacted table and of one whose compaction never ran (a kill between a checkpoint and its
 * compaction leaves 10 versions per key where the table keeps 3).
 *
 * - SQLite, synchronous=FULL (the default) and NORMAL, in a temporary directory.
 * - PostgreSQL, on a throwaway server started with scripts/postgres.sh (port 25436) when the
 *   machine has Debian's postgresql package; otherwise the figure is reported as unavailable.
 *
 * Standalone: `node --import tsx bench/table.ts` (or `node dist/bench/table.js`).
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { PostgresTableStore } from "../src/sinks/table/postgres.js";
import { SqliteTableStore } from "../src/sinks/table/sqlite.js";
import type { TableUpdate, VersionedTableStore } from "../src/sinks/types.js";
import { sqliteTables, storeTables, type TableSource } from "../src/warehouse/tables.js";
import type { BenchResult } from "./types.js";

const UPDATES = 100_000;
const KEYS = 10_000;
const BATCH = 1000;
const PG_PORT = 25436;
const PG_DIR = join(tmpdir(), "weir-pg-bench");

function batches(): TableUpdate[][] {
  const t0 = Date.UTC(2021, 10, 30);
  const out: TableUpdate[][] = [];
  for (let s = 1; s <= UPDATES; s += BATCH) {
    const b: TableUpdate[] = [];
    for (let seq = s; seq < s + BATCH; seq++) {
      // Keys in a scattered order, like users in an event stream.
      const user = (seq * 7919) % KEYS;
      b.push({
        key: String(user),
        value: { user, interactions_count: Math.ceil(seq / KEYS) },
        eventTime: t0 + seq * 10,
        topic: "events",
        partition: seq % 4,
        offset: seq,
        seq,
      });
    }
    out.push(b);
  }
  return out;
}

/** Upserts/s writing every batch; a checkpoint-style compaction every 10 batches is included. */
async function measure(store: VersionedTableStore, table: string): Promise<number> {
  const all = batches();
  await store.ensureTable({ name: table, versions: 3 });
  const start = process.hrtime.bigint();
  for (let i = 0; i < all.length; i++) {
    await store.writeBatch(table, all[i]);
    if ((i + 1) % 10 === 0) await store.compact(table, all[i][all[i].length - 1].seq);
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if ((await store.lastSeq(table)) !== UPDATES) throw new Error(`${table}: not every update was written`);
  return Math.round(UPDATES / seconds);
}

/** The same updates without any compaction (a kill between checkpoint and compaction), versions 3. */
async function writeUncompacted(store: VersionedTableStore, table: string): Promise<void> {
  await store.ensureTable({ name: table, versions: 3 });
  for (const batch of batches()) await store.writeBatch(table, batch);
}

/** Median milliseconds of 5 runs of `read`, which returns the number of rows it read. */
async function timed(read: () => Promise<number>): Promise<{ ms: number; rows: number }> {
  const times: number[] = [];
  let rows = 0;
  for (let i = 0; i < 5; i++) {
    const start = process.hrtime.bigint();
    rows = await read();
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  times.sort((a, b) => a - b);
  return { ms: Math.round(times[2] * 10) / 10, rows };
}

async function countRows(source: TableSource): Promise<number> {
  let n = 0;
  for (const _row of await source.rows()) n++;
  return n;
}

/**
 * Reads of a compacted table (`compacted`) and of an uncompacted one (`stale`): `weir table
 * --versions 3` and `--versions 10` (store.read), and the warehouse's copy of the whole table
 * (`sources` reads the rows as `weir query` loads them; DuckDB's appends are not included).
 */
async function measureReads(
  store: VersionedTableStore,
  label: string,
  compacted: string,
  stale: string,
  sources: () => Promise<{ tables: TableSource[]; close: () => void }>,
): Promise<BenchResult[]> {
  const out: BenchResult[] = [];
  const row = (name: string, r: { ms: number; rows: number }, note: string): BenchResult => ({
    name: `table read, ${label}: ${name}`,
    value: r.ms,
    unit: "ms",
    note: `${r.rows} rows; ${note}`,
  });
  for (const [table, what] of [
    [compacted, "compacted"],
    [stale, "not compacted"],
  ] as const) {
    const versions = what === "compacted" ? 3 : 10;
    out.push(
      row(
        `read --versions ${versions}, ${what}`,
        await timed(async () => (await store.read(table, { versions })).length),
        `10,000 keys, versions 3${what === "compacted" ? "" : ", 10 stored per key"}`,
      ),
    );
    out.push(
      row(
        `warehouse copy, ${what}`,
        await timed(async () => {
          const s = await sources();
          try {
            return await countRows(s.tables.find((t) => t.name === table)!);
          } finally {
            s.close();
          }
        }),
        "the rows weir query and the dashboard load",
      ),
    );
  }
  return out;
}

async function sqlite(synchronous: "full" | "normal"): Promise<BenchResult[]> {
  const dir = mkdtempSync(join(tmpdir(), "weir-bench-table-"));
  const path = join(dir, "tables.db");
  const store = new SqliteTableStore(path, { synchronous });
  try {
    const value = await measure(store, "bench");
    const results: BenchResult[] = [
      {
        name: `table upserts to SQLite (synchronous=${synchronous.toUpperCase()}), batches of ${BATCH}`,
        value,
        unit: "upserts/s",
        note:
          synchronous === "full"
            ? "bound by CPU in one thread (SQLite B-tree inserts + index on seq + JSON.stringify) plus one WAL fsync per batch"
            : "reference: no fsync per batch (durable against kill -9, not power loss); the rest is the same CPU work",
      },
    ];
    if (synchronous === "full") {
      await writeUncompacted(store, "stale");
      results.push(...(await measureReads(store, "SQLite", "bench", "stale", () => sqliteTables(path))));
    }
    return results;
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function script(command: string): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "scripts", "postgres.sh"))) {
    const up = dirname(dir);
    if (up === dir) throw new Error("scripts/postgres.sh not found");
    dir = up;
  }
  return execFileSync("bash", [join(dir, "scripts", "postgres.sh"), command], {
    env: { ...process.env, WEIR_PG_DIR: PG_DIR, WEIR_PG_PORT: String(PG_PORT) },
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    timeout: 120_000,
  }).trim();
}

async function postgres(): Promise<BenchResult[]> {
  const name = `table upserts to PostgreSQL (127.0.0.1, fsync on), batches of ${BATCH}`;
  let url: string;
  try {
    script("start");
    url = script("url");
  } catch (err) {
    const why = String((err as { stderr?: unknown }).stderr ?? err)
      .trim()
      .split("\n")
      .pop();
    return [{ name, value: 0, unit: "upserts/s", note: `not measured: PostgreSQL not available (${why})` }];
  }
  const store = new PostgresTableStore(url);
  try {
    const table = `bench_${process.pid}`;
    const results: BenchResult[] = [
      {
        name,
        value: await measure(store, table),
        unit: "upserts/s",
        note:
          "one statement (INSERT ... SELECT FROM unnest) per batch: bound by the server's CPU (JSONB parsing, " +
          "two B-tree indexes) and one WAL flush per commit; the client's encoding is a small part",
      },
    ];
    await writeUncompacted(store, `${table}_stale`);
    const sources = async () => ({ tables: await storeTables(store), close: () => {} });
    results.push(...(await measureReads(store, "PostgreSQL", table, `${table}_stale`, sources)));
    return results;
  } finally {
    await store.close();
    try {
      script("clean");
    } catch {
      // leave it; the next run reuses it
    }
  }
}

export async function runTableBench(): Promise<BenchResult[]> {
  return [...(await sqlite("full")), ...(await sqlite("normal")), ...(await postgres())];
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  for (const r of await runTableBench()) {
    console.log(`${r.name.padEnd(70)} ${String(r.value).padStart(10)} ${r.unit}`);
    if (r.note) console.log(`  ${r.note}`);
  }
}
