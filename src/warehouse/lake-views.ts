/**
 * One DuckDB view per lake dataset, over exactly the files its manifest lists (never a glob: files of
 * an unfinished publish, rolled-back or stray files are never read).
 */
import { join } from "node:path";
import { datasetDir, listDatasets, readManifest, type Manifest } from "../sinks/lake/manifest.js";
import { quoteIdent, quoteString } from "../sinks/lake/columns.js";

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
  const groups = new Map<string, { ext: string; partitioned: boolean; paths: string[]; maxBytes: number }>();
  const partitionKeys = new Set<string>();
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
      g = { ext, partitioned, paths: [], maxBytes: 0 };
      groups.set(key, g);
    }
    g.paths.push(join(dir, ...f.path.split("/")));
    g.maxBytes = Math.max(g.maxBytes, f.bytes);
  }
  // A row field named like the partition column (NoBroker's `date`, a timestamp) keeps its value: Hive
  // partitioning would replace it by the folder's DATE.
  const clash = [...partitionKeys].some((k) => rowColumns.has(k.toLowerCase()));
  const selects = [...groups.values()].map((g) => {
    const hive = g.partitioned && !clash;
    const files = `[${g.paths.map(quoteString).join(", ")}]`;
    const common = `hive_partitioning = ${hive}, union_by_name = true`;
    switch (g.ext) {
      case "parquet":
        return `SELECT * FROM read_parquet(${files}, ${common})`;
      case "jsonl":
        return `SELECT * FROM read_json(${files}, format = 'newline_delimited', ${common}, maximum_object_size = ${lineLimit(g.maxBytes, JSON_MAX_OBJECT)})`;
      default:
        // The lake's CSV files write an empty string as "" and NULL as nothing: a quoted empty
        // value is an empty string (DuckDB's reader would make it NULL).
        return `SELECT * FROM read_csv(${files}, header = true, ${common}, allow_quoted_nulls = false, max_line_size = ${lineLimit(g.maxBytes, CSV_MAX_LINE)})`;
    }
  });
  return {
    name,
    files: m.files.length,
    rows,
    formats: [...new Set([...groups.values()].map((g) => g.ext))].sort(),
    partitionColumns: clash ? [] : [...partitionKeys],
    select: selects.length === 0 ? undefined : selects.join("\nUNION ALL BY NAME\n"),
  };
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
