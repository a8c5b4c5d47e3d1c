/**
 * The in-process DuckDB the lake uses to write Parquet and CSV and to compact files: one in-memory
 * instance per process, loaded on first use (`import("@duckdb/node-api")`), so pipelines without a
 * Parquet or CSV dataset never load DuckDB. Each user gets its own connection; the instance is closed
 * when the last connection is released.
 */
import type { DuckDBConnection, DuckDBInstance } from "@duckdb/node-api";

let instance: Promise<DuckDBInstance> | undefined;
let users = 0;

/** A connection with the session time zone set to UTC (timestamps are written and printed as UTC). */
export async function acquireConnection(): Promise<DuckDBConnection> {
  users++;
  try {
    if (instance === undefined) {
      instance = import("@duckdb/node-api").then(({ DuckDBInstance }) => DuckDBInstance.create(":memory:"));
    }
    const conn = await (await instance).connect();
    await conn.run("SET TimeZone = 'UTC'");
    return conn;
  } catch (err) {
    users--;
    if (users === 0) instance = undefined;
    throw err;
  }
}

export async function releaseConnection(conn: DuckDBConnection): Promise<void> {
  conn.closeSync();
  users--;
  if (users === 0 && instance !== undefined) {
    const closing = instance;
    instance = undefined;
    (await closing).closeSync();
  }
}

/** DuckDB's error message, first paragraph only (without the `LINE 1: ...` excerpt), on one line. */
export function duckMessage(err: unknown): string {
  const text = (err instanceof Error ? err.message : String(err)).replace(
    /^(?:Failed to (?:extract statements|prepare statement|execute prepared statement)|Failed to run query):\s*/i,
    "",
  );
  return text
    .split(/\n\s*\n/)[0]
    .split("\n")
    .map((s) => s.trim())
    .filter((s) => s !== "")
    .join(" ");
}
