/**
 * The SQL sandbox: how a warehouse runs SQL written by someone else (the dashboard's `POST
 * /api/sql`) so that it reads the warehouse's views and tables and nothing else, and writes nothing
 * anywhere (docs/security.md). Two layers, both decided by DuckDB itself, never by matching text:
 *
 * 1. **The instance** (`SANDBOX_CONFIG`, `lockDownSql`, `LOCK_SQL`; applied by Warehouse.open with
 *    `sandbox: true`). Before any view exists: extensions are neither installed nor loaded, secrets
 *    are not persisted, nothing spills to a temp directory (a query is bounded by `memory_limit`
 *    instead), and external access is off except for exactly the files the lake views list
 *    (`allowed_paths`; each checked to be a regular file inside the lake once symbolic links are
 *    resolved), and `lock_configuration` freezes every setting. All of it happens before the views
 *    are built and before the user's SQL is parsed.
 * 2. **The statement** (`checkQuery`). DuckDB's parser must see exactly one statement that it can
 *    serialize with `json_serialize_sql` — which serializes SELECT statements only (WITH, VALUES,
 *    FROM-first, SHOW, DESCRIBE and SUMMARIZE are SELECTs to it; COPY, EXPLAIN, SET, PRAGMA, CALL,
 *    ATTACH, CREATE... are not). In its parse tree, every FROM item must be of a known kind, every
 *    table function one that computes rows or describes the catalog (`TABLE_FUNCTIONS`), every table
 *    name a view, a table or a CTE in scope (never a file: no replacement scans), and no function
 *    that reads the settings or writes the log may be called. Only then is the statement prepared (bound), and the prepared statement must be
 *    a SELECT as well.
 *
 * Why the second layer: the first has holes in DuckDB 1.5. `allowed_paths` grants writing as well
 * as reading (so any statement but a SELECT could overwrite a lake file), and the table functions
 * `enable_logging()` and `enable_profiling()` change settings despite `lock_configuration` (they act
 * when the statement is bound; a file log storage makes every later statement fail, and DuckDB can
 * abort the whole process when the instance closes). So nothing but a checked SELECT is ever bound.
 */
import { realpathSync, statSync } from "node:fs";
import { sep } from "node:path";
import type { DuckDBConnection } from "@duckdb/node-api";
import { quoteString } from "../sinks/lake/columns.js";

/** Memory one sandboxed query may use (it fails with an out-of-memory error beyond). */
export const SANDBOX_MEMORY_LIMIT = "1GB";

/** Settings of a sandboxed instance, given when it is created. */
export const SANDBOX_CONFIG: Readonly<Record<string, string>> = {
  autoinstall_known_extensions: "false",
  autoload_known_extensions: "false",
  allow_community_extensions: "false",
  allow_persistent_secrets: "false",
  // No spilling: a sandboxed query writes no file, not even a temporary one.
  temp_directory: "",
  memory_limit: SANDBOX_MEMORY_LIMIT,
};

/** The statements that turn external access off, except for reading `paths`. Run before any view exists. */
export function lockDownSql(paths: readonly string[]): string[] {
  return [
    `SET allowed_paths = [${paths.map(quoteString).join(", ")}]`,
    "SET allowed_directories = []",
    "SET enable_external_access = false",
  ];
}

/** Freezes every setting: run right after lockDownSql, before the views exist and the user's SQL is seen. */
export const LOCK_SQL = "SET lock_configuration = true";

/**
 * Why `path` may not be read by a sandboxed warehouse whose lake is `lakeRoot` (its real path), or
 * undefined when it may: it must be a regular file inside the lake once symbolic links are resolved.
 * Throws ENOENT (a missing file: the caller reads the manifests again).
 */
export function unconfinedReason(path: string, lakeRoot: string): string | undefined {
  const real = realpathSync(path);
  if (!real.startsWith(lakeRoot + sep)) return `${path} leads outside the lake (through a symbolic link)`;
  if (!statSync(real).isFile()) return `${path} is not a regular file`;
  return undefined;
}

/** A query the sandbox does not run; the message is one line saying why and what to do instead. */
export class QueryRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = "QueryRefused";
  }
}

/**
 * Table functions a sandboxed query may call: they compute rows from their arguments or describe
 * the catalog. Everything else is refused: the file readers (read_csv, read_parquet, read_text,
 * glob, parquet_metadata, sniff_csv...), `query()` and `json_execute_serialized_sql()` (SQL in a
 * string, out of the parse tree's sight), the settings, secrets, logs and extensions, and the
 * functions that change the instance (enable_logging, enable_profiling, checkpoint...).
 */
export const TABLE_FUNCTIONS: ReadonlySet<string> = new Set([
  "range",
  "generate_series",
  "unnest",
  "repeat",
  "json_each",
  "json_tree",
  "duckdb_columns",
  "duckdb_constraints",
  "duckdb_databases",
  "duckdb_functions",
  "duckdb_indexes",
  "duckdb_keywords",
  "duckdb_schemas",
  "duckdb_tables",
  "duckdb_types",
  "duckdb_views",
  "pragma_table_info",
  "pragma_version",
]);

/** The catalog's own views a sandboxed query may read besides the warehouse's (and information_schema's). */
export const CATALOG_VIEWS: readonly string[] = [
  "duckdb_columns",
  "duckdb_constraints",
  "duckdb_databases",
  "duckdb_indexes",
  "duckdb_schemas",
  "duckdb_tables",
  "duckdb_types",
  "duckdb_views",
];

/** Scalar functions refused: they read the instance's settings or environment, or write its log. */
export const REFUSED_FUNCTIONS: ReadonlySet<string> = new Set(["current_setting", "getenv", "write_log"]);

const READS_ONLY = "the dashboard's SQL reads only the warehouse's views and tables (SHOW TABLES lists them)";
const DOCS = "(docs/security.md)";
/**
 * The relations a sandboxed query may name (lower case): every view and table in the catalog that
 * is not DuckDB's own, the views of `information_schema`, CATALOG_VIEWS, and `names`.
 */
export async function queryableRelations(
  connection: DuckDBConnection,
  names: Iterable<string> = [],
): Promise<Set<string>> {
  const reader = await connection.runAndReadAll(
    `SELECT lower(view_name) FROM duckdb_views() WHERE NOT internal OR schema_name = 'information_schema'
     UNION SELECT lower(table_name) FROM duckdb_tables() WHERE NOT internal`,
  );
  const out = new Set<string>(CATALOG_VIEWS);
  for (const [name] of reader.getRows()) out.add(String(name));
  for (const name of names) out.add(name.toLowerCase());
  return out;
}

/**
 * Refuse `sql` (QueryRefused) unless DuckDB's parser sees exactly one SELECT that calls only
 * TABLE_FUNCTIONS, names only `relations` and the CTEs in scope, and calls no REFUSED_FUNCTIONS. Nothing
 * is bound or run: this only parses. Syntax errors are refused with the parser's message.
 */
export async function checkQuery(
  connection: DuckDBConnection,
  sql: string,
  relations: ReadonlySet<string>,
): Promise<void> {
  const reader = await connection.runAndReadAll("SELECT json_serialize_sql($1::VARCHAR)", [sql]);
  const tree = JSON.parse(String(reader.getRows()[0][0])) as SerializedSql;
  if (tree.error) {
    if (tree.error_type === "parser")
      throw new QueryRefused(`Parser Error: ${oneLine(tree.error_message ?? "syntax error")}`);
    // Not (only) SELECTs: say how many statements there are, or which one this is.
    const count = await connection.extractStatements(sql).then(
      (s) => s.count,
      () => 1,
    );
    throw new QueryRefused(count > 1 ? manyStatements(count) : notAQuery(firstKeyword(sql)));
  }
  const statements = tree.statements ?? [];
  if (statements.length === 0) throw new QueryRefused('no SQL given: send {"sql": "SELECT ..."}');
  if (statements.length > 1) throw new QueryRefused(manyStatements(statements.length));
  checkTree(statements[0], relations);
}

function manyStatements(count: number): string {
  return `${count} statements given: send one query at a time (DuckDB makes two of a PIVOT without ON ... IN (...))`;
}

interface SerializedSql {
  error: boolean;
  error_type?: string;
  error_message?: string;
  statements?: unknown[];
}

/** The kinds of FROM items a sandboxed query may have (a file scan is a BASE_TABLE, checked by name). */
const TABLE_REFS: ReadonlySet<string> = new Set([
  "BASE_TABLE",
  "SUBQUERY",
  "JOIN",
  "TABLE_FUNCTION",
  "EXPRESSION_LIST",
  "EMPTY",
  "PIVOT",
  "SHOW_REF",
]);

/**
 * Walk the parse tree and refuse what the sandbox does not allow. Iterative (a tree can be deep);
 * each node is visited with the CTE names visible there: those of the query nodes around it.
 */
function checkTree(root: unknown, relations: ReadonlySet<string>): void {
  const stack: Array<[unknown, ReadonlySet<string>]> = [[root, new Set()]];
  while (stack.length > 0) {
    const [node, outer] = stack.pop()!;
    if (typeof node !== "object" || node === null) continue;
    if (Array.isArray(node)) {
      for (const child of node) stack.push([child, outer]);
      continue;
    }
    const o = node as Record<string, unknown>;
    let ctes = outer;
    const cteMap = o.cte_map as { map?: Array<{ key?: unknown }> } | undefined;
    if (cteMap?.map !== undefined && cteMap.map.length > 0) {
      ctes = new Set([...outer, ...cteMap.map.map((e) => String(e.key).toLowerCase())]);
    }
    // A FROM item (a TableRef: a type, an alias and a sample; expressions have a class instead).
    if (typeof o.type === "string" && "alias" in o && "sample" in o && !("class" in o)) {
      if (!TABLE_REFS.has(o.type))
        throw new QueryRefused(`a FROM item of kind ${o.type} is not available here: ${READS_ONLY} ${DOCS}`);
      if (o.type === "TABLE_FUNCTION") {
        const fn = o.function as Record<string, unknown> | null | undefined;
        const name = typeof fn?.function_name === "string" ? fn.function_name.toLowerCase() : "";
        if (!TABLE_FUNCTIONS.has(name))
          throw new QueryRefused(
            `${name}() is not available here: ${READS_ONLY}, never files or settings ${DOCS}; \`weir query\` runs it`,
          );
      } else if (o.type === "BASE_TABLE") {
        const table = String(o.table_name);
        if (!relations.has(table.toLowerCase()) && !ctes.has(table.toLowerCase()))
          throw new QueryRefused(
            `no view or table named ${JSON.stringify(table)}: ${READS_ONLY}, never files ${DOCS}`,
          );
      }
    }
    if (typeof o.class === "string" && typeof o.function_name === "string") {
      const name = o.function_name.toLowerCase();
      if (REFUSED_FUNCTIONS.has(name))
        throw new QueryRefused(
          `${name}() is not available here: ${READS_ONLY}, never settings or logs ${DOCS}; \`weir query\` runs it`,
        );
    }
    for (const value of Object.values(o))
      if (typeof value === "object" && value !== null) stack.push([value, ctes]);
  }
}

/** The refusal of a statement that is not a query (`what`: its first keyword). */
export function notAQuery(what: string): string {
  return (
    `only a query runs here (SELECT, WITH, VALUES, FROM, SHOW, DESCRIBE or SUMMARIZE), not ${what}: ` +
    `the dashboard's SQL changes nothing ${DOCS}; \`weir query\` runs it`
  );
}

/** The statement's first word, upper case, for a message (comments skipped); "this statement" if none. */
function firstKeyword(sql: string): string {
  const m = /^(?:\s+|--[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/)*([A-Za-z]+)/.exec(sql);
  return m ? m[1].toUpperCase() : "this statement";
}

function oneLine(text: string): string {
  return text
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "")
    .join(" ");
}
