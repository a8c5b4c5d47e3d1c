/**
 * How `weir query` and the dashboard's SQL API (src/dashboard/sql.ts) open a warehouse: where its
 * tables come from, and which errors mean a lake file went away while it was being opened. Neither
 * loads DuckDB.
 */
import type { WarehouseOptions } from "./index.js";

/**
 * Where the tables come from, from a `--table-store` value: the default SQLite file (undefined) or
 * another SQLite file is read directly (read-only); PostgreSQL through its table store, which
 * `close` closes.
 */
export async function tableOptions(
  location: string | undefined,
  dataDir: string,
): Promise<{ options: WarehouseOptions; close: () => Promise<void> }> {
  if (location === undefined) return { options: {}, close: async () => {} };
  const { parseTableStoreLocation, openTableStore } = await import("../sinks/table/index.js");
  const where = parseTableStoreLocation(location, dataDir);
  if (where.kind === "sqlite") return { options: { sqlitePath: where.path }, close: async () => {} };
  const store = openTableStore(location, dataDir);
  return { options: { tableStore: store }, close: () => store.close() };
}

/**
 * Whether DuckDB failed because a file a view lists is gone (a compaction finished between reading
 * a manifest and reading its files): opening the warehouse again reads the new manifests.
 */
export function isMissingFile(err: unknown): boolean {
  return /No files found|Cannot open file|No such file/i.test(
    err instanceof Error ? err.message : String(err),
  );
}
