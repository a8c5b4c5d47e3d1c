/**
 * Helpers for the lake and warehouse tests: temporary data directories, reading files with DuckDB
 * directly (independently of the warehouse), and NoBroker-like rows.
 */
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import type { TestContext } from "node:test";
import { DuckDBInstance } from "@duckdb/node-api";

export function tempDataDir(t: TestContext, prefix = "weir-lake-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Every file under `dir` (relative paths with `/`), sorted. */
export function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else out.push(relative(dir, join(d, e.name)).split("\\").join("/"));
    }
  };
  walk(dir);
  return out.sort();
}

export interface Duck {
  rows(sql: string): Promise<Record<string, unknown>[]>;
  /** Column name -> DuckDB type of a query's result. */
  types(sql: string): Promise<Record<string, string>>;
  close(): void;
}

/** A fresh in-memory DuckDB (UTC) for reading lake files in tests. */
export async function duck(t?: TestContext): Promise<Duck> {
  const instance = await DuckDBInstance.create(":memory:");
  const conn = await instance.connect();
  await conn.run("SET TimeZone = 'UTC'");
  const d: Duck = {
    async rows(sql) {
      const r = await conn.runAndReadAll(sql);
      return r.getRowObjectsJS() as Record<string, unknown>[];
    },
    async types(sql) {
      const r = await conn.runAndReadAll(sql);
      const out: Record<string, string> = {};
      r.columnNames().forEach((n, i) => (out[n] = r.columnType(i).alias ?? r.columnType(i).toString()));
      return out;
    },
    close() {
      conn.closeSync();
      instance.closeSync();
    },
  };
  t?.after(() => d.close());
  return d;
}

/** A DuckDB list literal of absolute file paths. */
export function fileList(paths: readonly string[]): string {
  return `[${paths.map((p) => `'${p.replace(/'/g, "''")}'`).join(", ")}]`;
}

export const DAY = 86_400_000;
export const T0 = Date.parse("2021-11-30T00:00:00.000Z");

/** A NoBroker interaction (`date` as epoch ms, like the example pipeline decodes it). */
export function interaction(
  i: number,
  at: number,
): { user_id: number; property_id: number; date: number; event: string } {
  return { user_id: i % 97, property_id: i % 31, date: at, event: i % 5 === 0 ? "Visit" : "Interaction" };
}
