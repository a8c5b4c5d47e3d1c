/**
 * `weir table NAME [--key K] [--versions N] [--format table|json] [--table-store URL]`: print a
 * versioned table — the latest version of every key (or of one key), or up to N newest versions
 * (never more than the table's `versions`, even before compaction has removed older ones).
 *
 * `--format json` prints one object per key and version, newest version first:
 *   {"key":"42","version":3,"event_time":"2021-11-30T00:01:00.000Z","value":{...}}
 * The default prints the same columns as an aligned table. Keys are in byte order, or in numeric
 * order when every key is an integer. `weir table` without a name lists the tables.
 */
import { existsSync } from "node:fs";
import { InvalidArgumentError, type Command } from "commander";
import { isWeirError } from "../../errors.js";
import type { TableVersion, VersionedTableStore } from "../../sinks/types.js";
import { UserError, usageError } from "../../errors.js";
import { checkDataDir, followPromotion, resolveDataDir } from "../data-dir.js";
import { q, renderTable } from "../format.js";
import { intParser, type GlobalOptions } from "../options.js";
import { OutputBuffer, info } from "../output.js";

type Format = "table" | "json";

interface TableOptions extends GlobalOptions {
  key?: string;
  versions?: number;
  format: Format;
  tableStore?: string;
  original?: boolean;
}

function parseFormat(value: string): Format {
  const v = value.trim().toLowerCase();
  if (v === "json" || v === "table") return v;
  throw new InvalidArgumentError("expected table or json.");
}

export function register(program: Command): void {
  program
    .command("table")
    .description("print a versioned table: the latest version of each key, or its N newest versions")
    .argument("[name]", "the table (as in .toTable(name)); without it, list the tables")
    .option("-k, --key <key>", "only this key")
    .option(
      "-n, --versions <n>",
      "print up to N versions of each key, newest first (default 1: the latest; never more than the table keeps)",
      intParser(1),
    )
    .option(
      "--format <format>",
      "table (aligned columns) or json (one object per line)",
      parseFormat,
      "table",
    )
    .option(
      "--table-store <url>",
      "where the tables live: sqlite (default, <data-dir>/tables.db), sqlite:/path/file.db or postgres://user@host:port/db (also $WEIR_TABLE_STORE)",
    )
    .option("--original", "read this table even when `weir promote` sends its readers to a newer version")
    .addHelpText(
      "after",
      "\nColumns: key, version (1, 2, 3... per key), event_time (ISO-8601 UTC) and value (JSON).\n" +
        'With --format json each line is {"key": K, "version": N, "event_time": ISO, "value": {...}}.\n\n' +
        "Examples:\n" +
        "  weir table user_interactions\n" +
        "  weir table user_interactions --key 42 --versions 3 --format json\n" +
        "  weir table property_interactions --table-store postgres://postgres@127.0.0.1:5432/weir\n",
    )
    .action(async (name: string | undefined, _opts: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals<TableOptions>();
      await printTable(
        name === undefined || opts.original ? name : followPromotion("tables", name, opts),
        opts,
      );
    });
}

export async function printTable(name: string | undefined, opts: TableOptions): Promise<void> {
  const dataDir = resolveDataDir(opts);
  const location = opts.tableStore ?? (process.env.WEIR_TABLE_STORE || undefined);
  const { openTableStore, parseTableStoreLocation } = await import("../../sinks/table/index.js");
  let where;
  try {
    where = parseTableStoreLocation(location, dataDir);
  } catch (err) {
    throw usageError(`--table-store: ${(err as Error).message}`);
  }
  if (where.kind === "sqlite" && !existsSync(where.path)) {
    if (location === undefined) checkDataDir(dataDir);
    const what = name === undefined ? "no tables" : `unknown table ${q(name)}`;
    throw new UserError(
      `${what}: there is no table store at ${where.path} (pipelines create tables with .toTable(); ` +
        "--data-dir or WEIR_DATA_DIR selects the data directory, --table-store another store)",
    );
  }
  const store = await storeCall(async () => openTableStore(location, dataDir));
  try {
    const tables = await storeCall(() => store.listTables());
    if (name === undefined) {
      if (tables.length === 0) info(`there are no tables in ${store.location}`);
      process.stdout.write(tables.map((t) => `${t}\n`).join(""));
      return;
    }
    if (!tables.includes(name)) {
      const list = tables.length === 0 ? "it has no tables" : `tables: ${tables.join(", ")}`;
      throw new UserError(`unknown table ${q(name)} in ${store.location} (${list})`);
    }
    const rows = await storeCall(() => store.read(name, readOptions(opts)));
    if (rows.length === 0) {
      info(opts.key === undefined ? `table ${name} is empty` : `table ${name} has no key ${q(opts.key)}`);
      return;
    }
    await print(sortKeys(rows), opts.format);
  } finally {
    await closeQuietly(store);
  }
}

function readOptions(opts: TableOptions): { key?: string; versions?: number } {
  const o: { key?: string; versions?: number } = {};
  if (opts.key !== undefined) o.key = opts.key;
  if (opts.versions !== undefined) o.versions = opts.versions;
  return o;
}

/** The store's failures (server down, bad login) as one line; not a bug. */
async function storeCall<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (isWeirError(err) && err.code !== "INTERNAL") {
      throw new UserError(err.message, err.code === "USAGE" ? 2 : 1);
    }
    throw err;
  }
}

async function closeQuietly(store: VersionedTableStore): Promise<void> {
  try {
    await store.close();
  } catch {
    // nothing to do: the output is complete
  }
}

const INTEGER = /^(0|-?[1-9]\d{0,30})$/;

/** Keys in numeric order when all are integers (the store gives byte order); versions stay newest first. */
function sortKeys(rows: TableVersion[]): TableVersion[] {
  if (!rows.every((r) => INTEGER.test(r.key))) return rows;
  const n = new Map<string, bigint>();
  for (const r of rows) if (!n.has(r.key)) n.set(r.key, BigInt(r.key));
  return [...rows].sort((a, b) => {
    const x = n.get(a.key)!;
    const y = n.get(b.key)!;
    return x < y ? -1 : x > y ? 1 : 0;
  });
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

async function print(rows: readonly TableVersion[], format: Format): Promise<void> {
  const out = new OutputBuffer();
  if (format === "json") {
    for (const r of rows) {
      out.writeString(
        JSON.stringify({
          key: r.key,
          version: r.version,
          event_time: iso(r.eventTime),
          value: r.value ?? null,
        }) + "\n",
      );
      await out.flushIfFull();
      if (out.broken) return;
    }
  } else {
    const cells = rows.map((r) => [
      r.key,
      String(r.version),
      iso(r.eventTime),
      JSON.stringify(r.value ?? null),
    ]);
    out.writeString(renderTable(["key", "version", "event_time", "value"], cells, undefined));
  }
  await out.flush();
}
