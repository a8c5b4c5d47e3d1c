/**
 * One DuckDB view per lake dataset, over exactly the files its manifest lists (never a glob: files of
 * an unfinished publish, rolled-back or stray files are never read).
 */
import { join } from "node:path";
import { datasetDir, listDatasets, readManifest, type Manifest } from "../sinks/lake/manifest.js";
import { NULL_COLUMN, quoteIdent, quoteString } from "../sinks/lake/columns.js";

export interface LakeView {
  /** Dataset (and view) name. */
  name: string;
  files: number;
  rows: number;
  /** File formats in the dataset (normally one). */
  formats: string[];
  /** The Hive partition columns read from folder names (none when a row field has the same name). */
  partitionColumns: string[];
  /** The SELECT the view runs; undefined when the dataset has no committed file yet. */
  select: string | undefined;
  /** The files the view reads (absolute paths, in manifest order). */
  paths: string[];
}

/** The views of every dataset under `<dataDir>/lake`. */
export function lakeViews(dataDir: string): LakeView[] {
  return listDatasets(dataDir).map((name) =>
    lakeView(name, datasetDir(dataDir, name), readManifest(datasetDir(dataDir, name))),
  );
}

export function lakeView(name: string, dir: string, m: Manifest): LakeView {
  const rowColumns = new Set<string>();
  for (const c of m.commits)
    for (const col of Object.keys(c.columns ?? {})) rowColumns.add(col.toLowerCase());
  // Group files by format and by whether they sit in partition folders: each group is one reader.
  const groups = new Map<
    string,
    { ext: string; partitioned: boolean; paths: string[]; commits: number[]; maxBytes: number }
  >();
  const partitionKeys = new Set<string>();
  const paths: string[] = [];
  let rows = 0;
  for (const f of m.files) {
    rows += f.rows;
    const ext = f.path.slice(f.path.lastIndexOf(".") + 1);
    const partitioned = f.partition !== "";
    for (const seg of f.partition.split("/")) {
      const eq = seg.indexOf("=");
      if (eq > 0) partitionKeys.add(seg.slice(0, eq));
    }
    const key = `${ext}:${partitioned}`;
    let g = groups.get(key);
    if (g === undefined) {
      g = { ext, partitioned, paths: [], commits: [], maxBytes: 0 };
      groups.set(key, g);
    }
    const path = join(dir, ...f.path.split("/"));
    g.paths.push(path);
    g.commits.push(f.commit);
    g.maxBytes = Math.max(g.maxBytes, f.bytes);
    paths.push(path);
  }
  // A row field named like the partition column (NoBroker's `date`, a timestamp) keeps its value: Hive
  // partitioning would replace it by the folder's DATE.
  const clash = [...partitionKeys].some((k) => rowColumns.has(k.toLowerCase()));
  const columns = datasetColumns(m);
  const selects = [...groups.values()].map((g) => {
    const hive = g.partitioned && !clash;
    const common = `hive_partitioning = ${hive}, union_by_name = true`;
    switch (g.ext) {
      case "parquet":
        return groupedSelect(g.paths, g.commits, m, columns, (files) => ({
          reader: `read_parquet(${fileList(files)}, ${common})`,
          replace: "",
        }));
      case "jsonl": {
        // A JSON line holds each value with its JSON type whatever its commit's column type: one
        // reader with the dataset's types reads every commit alike.
        const read = columns === undefined ? undefined : typedRead(readTypes(columns));
        const source = `read_json(${fileList(g.paths)}, format = 'newline_delimited', ${common}, maximum_object_size = ${lineLimit(g.maxBytes, JSON_MAX_OBJECT)}${read === undefined ? "" : `, columns = {${read.types}}`})`;
        return `SELECT *${read?.replace ?? ""} FROM ${source}`;
      }
      default: {
        // The lake's CSV files write an empty string as "" and NULL as nothing: a quoted empty
        // value is an empty string (DuckDB's reader would make it NULL). CSV text does not say a
        // value's type: files are read with their own commit's types, then converted.
        const csv = (files: string[], types: Map<string, string> | undefined) => {
          const read = types === undefined ? undefined : typedRead(types);
          return {
            reader: `read_csv(${fileList(files)}, header = true, ${common}, allow_quoted_nulls = false, max_line_size = ${lineLimit(g.maxBytes, CSV_MAX_LINE)}${read === undefined ? "" : `, types = {${read.types}}`})`,
            replace: read?.replace ?? "",
          };
        };
        return groupedSelect(g.paths, g.commits, m, columns, csv);
      }
    }
  });
  return {
    name,
    files: m.files.length,
    rows,
    formats: [...new Set([...groups.values()].map((g) => g.ext))].sort(),
    partitionColumns: clash ? [] : [...partitionKeys],
    select: selects.length === 0 ? undefined : selects.join("\nUNION ALL BY NAME\n"),
    paths,
  };
}

/**
 * The type of each column of a dataset, from its manifest's commit lines (what the writer decided
 * from the values, docs/lake.md); a column whose commits disagree gets a type that holds each of
 * them. Undefined for a manifest with commit lines that do not say (written by an older version).
 */
function datasetColumns(m: Manifest): Map<string, Set<string>> | undefined {
  if (m.commits.length === 0 || m.commits.some((c) => c.columns === undefined)) return undefined;
  const out = new Map<string, Set<string>>();
  for (const c of m.commits)
    for (const [name, type] of Object.entries(c.columns!)) {
      let set = out.get(name);
      if (set === undefined) out.set(name, (set = new Set()));
      // A commit in which the column held only nulls says nothing about its type.
      if (type !== NULL_COLUMN) set.add(type.toUpperCase());
    }
  // Only nulls in every commit: the files have VARCHAR.
  for (const set of out.values()) if (set.size === 0) set.add("VARCHAR");
  return out;
}

const NUMBER_TYPES = new Set(["BIGINT", "DOUBLE", "DECIMAL(38,0)"]);
const TEXT_TYPES = new Set(["VARCHAR", "TIMESTAMPTZ"]);

/**
 * The type a column is read as, from the types its commits gave it — the writer's own rule
 * (src/sinks/lake/columns.ts) applied to all of them, so that rows read back the same whichever
 * commit (which depends on when checkpoints came) they fell in: one type as it is; numbers DOUBLE,
 * or DECIMAL(38,0) for integers beyond BIGINT; text and timestamps VARCHAR; JSON for any other
 * mix (a commit with JSON, or numbers or booleans in one commit and text in another: a JSON column
 * holds strings and numbers as JSON values, so 12 and "12" stay apart).
 */
function readType(set: Set<string>): string {
  const all = [...set];
  if (all.length === 1) return all[0];
  if (set.has("JSON")) return "JSON";
  if (all.every((t) => NUMBER_TYPES.has(t))) return set.has("DOUBLE") ? "DOUBLE" : "DECIMAL(38,0)";
  if (all.every((t) => TEXT_TYPES.has(t))) return "VARCHAR";
  // Numbers or booleans in one commit, text in another: JSON keeps each value's kind.
  return "JSON";
}

function readTypes(columns: Map<string, Set<string>>): Map<string, string> {
  return new Map([...columns].map(([name, set]) => [name, readType(set)]));
}

/**
 * How to read JSON lines or CSV files with the manifest's types, rather than letting DuckDB guess
 * them from the values — which changed values: in JSON lines, objects of a column became STRUCTs
 * with every key seen in the column (`{"x":1}` came back as `{"x":1,"y":null}`); in both, strings
 * that look like numbers, dates or times came back as such ("007" as 7, "12:30:00" as a TIME).
 * `types`: the reader's column types; `replace`: ` REPLACE (...)` for the columns converted after
 * reading (timestamps, which JSON lines keep as ISO strings or epoch milliseconds, and 128-bit
 * integers, kept as strings).
 */
function typedRead(columns: Map<string, string>): { types: string; replace: string } {
  const types: string[] = [];
  const replace: string[] = [];
  for (const [name, type] of columns) {
    const id = quoteIdent(name);
    let readAs = type;
    if (type === "TIMESTAMPTZ") {
      readAs = "VARCHAR";
      // Epoch milliseconds (JSON lines), or ISO-8601 text: a year past 9999 is written "+275760-...".
      replace.push(
        `CASE WHEN regexp_full_match(${id}, '-?[0-9]+') THEN make_timestamptz(${id}::BIGINT * 1000) ` +
          `ELSE TRY_CAST(ltrim(${id}, '+') AS TIMESTAMPTZ) END AS ${id}`,
      );
    } else if (type === "DECIMAL(38,0)") {
      readAs = "VARCHAR";
      replace.push(`CAST(${id} AS DECIMAL(38,0)) AS ${id}`);
    } else if (!["BIGINT", "DOUBLE", "BOOLEAN", "VARCHAR", "JSON"].includes(type)) readAs = "VARCHAR";
    types.push(`${quoteString(name)}: ${quoteString(readAs)}`);
  }
  return { types: types.join(", "), replace: replace.length === 0 ? "" : ` REPLACE (${replace.join(", ")})` };
}

/**
 * Parquet and CSV files of a column whose commits disagree on its type (strings in one, objects in
 * the next; only nulls in one) hold it as their own commit's type: one reader over all of them
 * failed ("failed to cast column ... from type VARCHAR to JSON", which made the dataset
 * unreadable) or read values differently by commit. Files are read in groups of one type per such
 * column, each converted to the column's read type (readType), and unioned.
 *
 * `read(files, types)`: the reader of files whose columns have these types (undefined: a manifest
 * of an older version that does not record them), and the REPLACE that gives them those types.
 */
function groupedSelect(
  paths: string[],
  commits: number[],
  m: Manifest,
  columns: Map<string, Set<string>> | undefined,
  read: (files: string[], types: Map<string, string> | undefined) => { reader: string; replace: string },
): string {
  const select = (files: string[], types: Map<string, string> | undefined, convert: string[]) => {
    const r = read(files, types);
    const typed = `SELECT *${r.replace} FROM ${r.reader}`;
    return convert.length === 0 ? typed : `SELECT * REPLACE (${convert.join(", ")}) FROM (${typed})`;
  };
  if (columns === undefined) return select(paths, undefined, []);
  const target = readTypes(columns);
  const typesOf = new Map(m.commits.map((c) => [c.commit, c.columns ?? {}]));
  // Columns some of whose commits' files do not have the read type.
  const mixed = [...columns.keys()].filter((name) =>
    m.commits.some(
      (c) => c.columns?.[name] !== undefined && c.columns[name].toUpperCase() !== target.get(name),
    ),
  );
  if (mixed.length === 0) return select(paths, target, []);
  const groups = new Map<
    string,
    { own: Record<string, string>; types: Map<string, string>; present: Set<string>; files: string[] }
  >();
  paths.forEach((path, i) => {
    const own = typesOf.get(commits[i]) ?? {};
    const key = JSON.stringify(mixed.map((name) => own[name]?.toUpperCase() ?? ""));
    let g = groups.get(key);
    if (g === undefined) {
      const types = new Map(target);
      for (const name of mixed) {
        const t = own[name]?.toUpperCase();
        // Only nulls: the files have VARCHAR.
        if (t !== undefined) types.set(name, t === NULL_COLUMN ? "VARCHAR" : t);
      }
      groups.set(key, (g = { own, types, present: new Set(), files: [] }));
    }
    // A reader may only be told the types of columns its files have (CSV refuses others).
    for (const name of Object.keys(own)) g.present.add(name);
    g.files.push(path);
  });
  return [...groups.values()]
    .map(({ own, types: all, present, files }) => {
      const types = new Map([...all].filter(([name]) => present.has(name)));
      const convert: string[] = [];
      for (const name of mixed) {
        const from = own[name]?.toUpperCase();
        const to = target.get(name)!;
        if (from === undefined || from === to) continue;
        const id = quoteIdent(name);
        if (from === NULL_COLUMN) convert.push(`CAST(NULL AS ${to}) AS ${id}`);
        else if (to === "JSON" && from === "TIMESTAMPTZ")
          convert.push(`to_json(strftime(timezone('UTC', ${id}), '%Y-%m-%dT%H:%M:%S.%gZ')) AS ${id}`);
        else if (to === "JSON") convert.push(`to_json(${id}) AS ${id}`);
        // As the writer writes a Date among strings: ISO-8601 with milliseconds, in UTC.
        else if (from === "TIMESTAMPTZ" && to === "VARCHAR")
          convert.push(`strftime(timezone('UTC', ${id}), '%Y-%m-%dT%H:%M:%S.%gZ') AS ${id}`);
        else convert.push(`CAST(${id} AS ${to}) AS ${id}`);
      }
      return select(files, types, convert);
    })
    .join("\nUNION ALL BY NAME\n");
}

function fileList(paths: string[]): string {
  return `[${paths.map(quoteString).join(", ")}]`;
}

/** DuckDB's defaults: the longest JSON line and CSV line its readers take. */
const JSON_MAX_OBJECT = 16 * 1024 * 1024;
const CSV_MAX_LINE = 2_000_000;

/**
 * The longest line a reader of these files must take: no line is longer than the largest file. A
 * row of a few megabytes (a long string) is a line longer than DuckDB's default, which made the whole
 * dataset unreadable; the default stays where the files are smaller (a larger limit reads slower).
 */
function lineLimit(maxFileBytes: number, duckDbDefault: number): number {
  return Math.max(duckDbDefault, maxFileBytes + 1);
}

/** `CREATE VIEW` statements for a lake view in `schema`. */
export function createLakeViewSql(schema: string, view: LakeView): string | undefined {
  if (view.select === undefined) return undefined;
  return `CREATE OR REPLACE VIEW ${quoteIdent(schema)}.${quoteIdent(view.name)} AS ${view.select}`;
}
