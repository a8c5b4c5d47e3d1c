/**
 * `weir query "SQL" [--format table|csv|json]`: SQL over the lake datasets and the versioned tables
 * with DuckDB (src/warehouse). Every dataset and table is a view by its name. DuckDB is loaded only
 * when this command runs.
 */
import { Option, type Command } from "commander";
import { usageError, UserError } from "../../errors.js";
import { checkDataDir, resolveDataDir } from "../data-dir.js";
import type { GlobalOptions } from "../options.js";
import { OutputBuffer, info } from "../output.js";
import type { WarehouseOptions } from "../../warehouse/index.js";
import { isMissingFile, tableOptions } from "../../warehouse/options.js";

type Format = "table" | "csv" | "json";

interface QueryOptions extends GlobalOptions {
  format: Format;
  tableStore?: string;
}

const EXAMPLES = `
Every lake dataset is a view by its name (lake.NAME), every versioned table too (tables.NAME, with
NAME_latest holding the newest version per key). Timestamps are UTC.

Examples:
  weir query "SELECT date::DATE AS day, count(*) FROM interactions GROUP BY ALL ORDER BY day"
  weir query "SELECT user_id, count(*) AS n FROM interactions
              WHERE date >= TIMESTAMP '2021-11-30' AND date < TIMESTAMP '2021-12-01'
              GROUP BY user_id ORDER BY n DESC LIMIT 10"
  weir query "SELECT property_id, date_trunc('hour', date) AS hour, count(*) AS interactions
              FROM interactions GROUP BY ALL ORDER BY hour, interactions DESC" --format csv
  weir query "SELECT * FROM user_interactions_latest WHERE key = '42'" --format json
  echo "SHOW ALL TABLES" | weir query -`;

export function register(program: Command): void {
  program
    .command("query")
    .description("run SQL over the lake datasets and versioned tables (DuckDB)")
    .argument(
      "<sql>",
      'the SQL to run; "-" reads it from stdin (several statements: the last one is printed)',
    )
    .addOption(
      new Option("--format <format>", "output: an aligned table, CSV with a header, or JSON lines")
        .choices(["table", "csv", "json"])
        .default("table"),
    )
    .option(
      "--table-store <url>",
      "where the versioned tables live: sqlite (default, in the data directory), sqlite:/path/file.db or postgres://user@host:port/db (also $WEIR_TABLE_STORE)",
    )
    .addHelpText("after", EXAMPLES)
    .action(async (sqlArg: string, _opts: QueryOptions, cmd: Command) => {
      const opts = cmd.optsWithGlobals<QueryOptions>();
      const dataDir = resolveDataDir(opts);
      checkDataDir(dataDir);
      const sql = sqlArg === "-" ? await readStdin() : sqlArg;
      if (sql.trim() === "")
        throw usageError('no SQL given; pass it as one argument: weir query "SELECT ..."');

      const tables = await tableOptions(
        opts.tableStore ?? (process.env.WEIR_TABLE_STORE || undefined),
        dataDir,
      );
      try {
        await runQuery(dataDir, sql, opts.format, tables.options);
      } finally {
        await tables.close();
      }
    });
}

async function runQuery(
  dataDir: string,
  sql: string,
  format: Format,
  options: WarehouseOptions,
): Promise<void> {
  const [{ openWarehouse }, { writeResult }, { duckMessage }] = await Promise.all([
    import("../../warehouse/index.js"),
    import("../../warehouse/format.js"),
    import("../../sinks/lake/duck.js"),
  ]);
  // A compaction that finishes between reading a manifest and reading its files deletes files the
  // views list: read the manifests again, once.
  for (let attempt = 1; ; attempt++) {
    let warehouse;
    try {
      warehouse = await openWarehouse(dataDir, { tables: "lazy", ...options });
    } catch (err) {
      if (attempt === 1 && isMissingFile(err)) continue;
      throw new UserError(`cannot open the lake and tables in ${dataDir}: ${duckMessage(err)}`);
    }
    try {
      if (attempt === 1) for (const note of warehouse.notes) info(note);
      let result;
      try {
        result = await warehouse.stream(sql); // binding the views opens their files: nothing printed yet
      } catch (err) {
        if (attempt === 1 && isMissingFile(err)) continue;
        throw new UserError(`query failed: ${duckMessage(err)}`);
      }
      const out = new OutputBuffer();
      try {
        await writeResult(result, format, out);
      } catch (err) {
        throw new UserError(`query failed: ${duckMessage(err)}`);
      }
      await out.flush();
      return;
    } finally {
      warehouse.close();
    }
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}
