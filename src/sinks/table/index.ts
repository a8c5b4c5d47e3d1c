/**
 * The versioned table stores (HBase-style VERSIONS on SQL): SQLite in the data directory by
 * default, PostgreSQL when given a postgres:// URL. Both keep the same schema (docs/tables.md).
 *
 *   const store = openTableStore(process.env.WEIR_TABLE_STORE, dataDir);
 *   await store.ensureTable({ name: "user_interactions", versions: 3 });
 *   await store.writeBatch("user_interactions", updates);
 */
import { resolve } from "node:path";
import { WeirError } from "../../errors.js";
import type { VersionedTableStore } from "../types.js";
import { PostgresTableStore, type PostgresTableStoreOptions } from "./postgres.js";
import { SqliteTableStore, TABLES_DB_FILE, type SqliteTableStoreOptions } from "./sqlite.js";

export { PostgresTableStore, describePostgresUrl, pgError } from "./postgres.js";
export type { PostgresTableStoreOptions } from "./postgres.js";
export { SqliteTableStore, TABLES_DB_FILE } from "./sqlite.js";
export type { SqliteTableStoreOptions } from "./sqlite.js";
export { checkTableName, MAX_NAME_LENGTH } from "./common.js";

/** What `--table-store` / WEIR_TABLE_STORE accept, for messages. */
export const TABLE_STORE_FORMS =
  "sqlite (the default: <data-dir>/tables.db), sqlite:/path/file.db, or postgres://user[:password]@host[:port]/database";

export type TableStoreKind = "sqlite" | "postgres";

/** Which store a location names, and where: without opening anything. Throws WeirError USAGE. */
export function parseTableStoreLocation(
  location: string | undefined,
  dataDir: string,
): { kind: "sqlite"; path: string } | { kind: "postgres"; url: string } {
  const loc = location?.trim();
  if (loc === undefined || loc === "" || loc === "sqlite" || loc === "sqlite:") {
    return { kind: "sqlite", path: resolve(dataDir, TABLES_DB_FILE) };
  }
  if (loc.startsWith("sqlite:")) {
    // sqlite:/abs/file.db, sqlite:rel/file.db (from the working directory), sqlite:///abs/file.db
    const path = loc.slice("sqlite:".length).replace(/^\/\/(?=\/)/, "");
    return { kind: "sqlite", path: resolve(path) };
  }
  if (/^postgres(ql)?:\/\//i.test(loc)) return { kind: "postgres", url: loc };
  throw new WeirError("USAGE", `unknown table store ${JSON.stringify(loc)}: use ${TABLE_STORE_FORMS}`);
}

/**
 * Open the table store at `location` (a `--table-store` value; undefined means the default SQLite
 * file in `dataDir`). PostgreSQL connects on first use, so this never waits or fails on the network.
 */
export function openTableStore(
  location: string | undefined,
  dataDir: string,
  options: { sqlite?: SqliteTableStoreOptions; postgres?: PostgresTableStoreOptions } = {},
): VersionedTableStore {
  const where = parseTableStoreLocation(location, dataDir);
  if (where.kind === "sqlite") return new SqliteTableStore(where.path, options.sqlite);
  return new PostgresTableStore(where.url, options.postgres);
}
