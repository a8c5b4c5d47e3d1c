/**
 * A lake dataset's manifest, `<dataset>/_weir_manifest.jsonl`: the list of committed files, like
 * Spark's `_spark_metadata`. Readers that go through it (`weir query`, the warehouse) see exactly the
 * committed files: never a half-written file, never a file of a batch that was not committed, never a
 * file twice.
 *
 * One JSON object per line, appended (and fsynced) once per publish:
 *
 *   {"op":"add","commit":3,"path":"date=2021-11-30/part-00000003-0000.parquet","partition":"date=2021-11-30","rows":1000,"bytes":23456}
 *   {"op":"add","commit":3,"path":"date=2021-12-01/part-00000003-0000.parquet","partition":"date=2021-12-01","rows":12,"bytes":1800}
 *   {"op":"commit","commit":3,"checkpointed":2,"at":"2021-12-01T10:00:00.000Z","columns":{"user_id":"BIGINT",...}}
 *
 * An `add` counts only once the `commit` line of its commit is there: a crash in the middle of an
 * append leaves lines without their commit line (or a torn last line), which readers ignore and the
 * next writer removes. `checkpointed` is the commit the engine had durably checkpointed when this one
 * was published (the previous publish), and `{"op":"checkpoint","commit":N}` lines say the same when
 * the runner confirms a checkpoint; compaction merges only files up to it, so a rollback to the last
 * checkpoint never has to split a merged file. Compaction and rollback rewrite the whole file
 * atomically (temporary file, fsync, rename); a merged file carries `fromCommit`, the oldest commit
 * whose rows it holds.
 */
import {
  appendFileSync,
  closeSync,
  fsyncSync,
  openSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  statSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { errnoCode, fsyncDir, unlinkIfExists, writeFileAtomic } from "../../log/fs-util.js";

export const LAKE_DIR = "lake";
export const MANIFEST_FILE = "_weir_manifest.jsonl";
export const LOCK_FILE = "_lock";
export const TMP_DIR = "_tmp";

/** Final data files: `part-<commit>-<n>.<ext>` (published) or `part-<commit>-c<token>.<ext>` (compacted). */
export const DATA_FILE = /^part-(\d+)-([0-9a-z]+)\.(parquet|jsonl|csv)$/;
/** Files being written, renamed into place when complete. */
export const TEMP_FILE = /^\.part-.*\.tmp$/;
/** Dataset names: SQL names, as `toLake()` requires. */
export const DATASET_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** A committed data file. */
export interface ManifestFile {
  commit: number;
  /** For a compacted file: the oldest commit whose rows it holds (absent: `commit`). */
  fromCommit?: number;
  /** Relative to the dataset folder, with `/`. */
  path: string;
  /** The Hive partition folder, e.g. `date=2021-11-30`; "" when the dataset is not partitioned. */
  partition: string;
  rows: number;
  bytes: number;
}

/** The commit line of a publish. */
export interface ManifestCommit {
  commit: number;
  /** The commit the engine had checkpointed when this one was published. */
  checkpointed: number;
  /** ISO time of the publish. */
  at: string;
  /** Column name -> DuckDB type of the rows of this commit (Parquet, CSV); absent for older lines. */
  columns?: Record<string, string>;
}

export interface Manifest {
  /** Committed files, in manifest order. */
  files: ManifestFile[];
  /** Commit lines, in manifest order (increasing commits). */
  commits: ManifestCommit[];
  /**
   * The highest commit known to be in a durable engine checkpoint: the `checkpointed` of the commit
   * lines, and `{"op":"checkpoint","commit":N}` lines written when the runner confirms a checkpoint.
   */
  checkpointed: number;
  /** False when the file has a torn last line or adds without a commit line (a writer crashed). */
  clean: boolean;
}

export function lakeDir(dataDir: string): string {
  return join(dataDir, LAKE_DIR);
}

export function datasetDir(dataDir: string, name: string): string {
  return join(dataDir, LAKE_DIR, name);
}

/** The names of the datasets under `<dataDir>/lake` (folders with a manifest), sorted. */
export function listDatasets(dataDir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(lakeDir(dataDir));
  } catch (err) {
    if (errnoCode(err) === "ENOENT" || errnoCode(err) === "ENOTDIR") return [];
    throw err;
  }
  return names.filter((n) => DATASET_NAME.test(n) && isFile(join(lakeDir(dataDir), n, MANIFEST_FILE))).sort();
}

/** Read a dataset's manifest (an empty one when the file does not exist). */
export function readManifest(dir: string): Manifest {
  let text: string;
  try {
    text = readFileSync(join(dir, MANIFEST_FILE), "utf8");
  } catch (err) {
    if (errnoCode(err) === "ENOENT") return { files: [], commits: [], checkpointed: 0, clean: true };
    throw err;
  }
  return parseManifest(text);
}

export function parseManifest(text: string): Manifest {
  let clean = true;
  const lines = text.split("\n");
  // Everything after the last newline is a line whose append did not finish.
  if (lines.pop() !== "") clean = false;
  const adds: ManifestFile[] = [];
  const commits: ManifestCommit[] = [];
  const committed = new Set<number>();
  let checkpointed = 0;
  for (const line of lines) {
    if (line === "") continue;
    let v: Record<string, unknown>;
    try {
      v = JSON.parse(line) as Record<string, unknown>;
    } catch {
      clean = false;
      continue;
    }
    if (v.op === "add" && isCount(v.commit) && typeof v.path === "string") {
      const file: ManifestFile = {
        commit: v.commit,
        path: v.path,
        partition: typeof v.partition === "string" ? v.partition : partitionOf(v.path),
        rows: isCount(v.rows) ? v.rows : 0,
        bytes: isCount(v.bytes) ? v.bytes : 0,
      };
      if (isCount(v.fromCommit) && v.fromCommit !== v.commit) file.fromCommit = v.fromCommit;
      adds.push(file);
    } else if (v.op === "commit" && isCount(v.commit) && !committed.has(v.commit)) {
      committed.add(v.commit);
      const c: ManifestCommit = {
        commit: v.commit,
        checkpointed: isCount(v.checkpointed) ? v.checkpointed : 0,
        at: typeof v.at === "string" ? v.at : "",
      };
      if (v.columns !== null && typeof v.columns === "object")
        c.columns = v.columns as Record<string, string>;
      commits.push(c);
      checkpointed = Math.max(checkpointed, c.checkpointed);
    } else if (v.op === "checkpoint" && isCount(v.commit)) {
      checkpointed = Math.max(checkpointed, v.commit);
    } else {
      clean = false; // unknown line: rewritten away by the next writer
    }
  }
  const files = adds.filter((f) => committed.has(f.commit));
  if (files.length !== adds.length) clean = false;
  return { files, commits, checkpointed, clean };
}

/**
 * The manifest's text: for every commit in order, its files then its commit line; then a checkpoint
 * line when `checkpointed` says more than the commit lines do.
 */
export function formatManifest(m: Pick<Manifest, "files" | "commits" | "checkpointed">): string {
  const byCommit = new Map<number, ManifestFile[]>();
  for (const f of m.files) {
    const list = byCommit.get(f.commit);
    if (list) list.push(f);
    else byCommit.set(f.commit, [f]);
  }
  let out = "";
  for (const c of [...m.commits].sort((a, b) => a.commit - b.commit)) {
    for (const f of byCommit.get(c.commit) ?? []) out += addLine(f);
    out += commitLine(c);
  }
  if (m.checkpointed > Math.max(0, ...m.commits.map((c) => c.checkpointed))) {
    out += checkpointLine(m.checkpointed);
  }
  return out;
}

/** Replace the manifest atomically and durably. */
export function rewriteManifest(dir: string, m: Pick<Manifest, "files" | "commits" | "checkpointed">): void {
  writeFileAtomic(join(dir, MANIFEST_FILE), formatManifest(m));
}

/** Append one commit (its files, then its commit line) in one write, and fsync. */
export function appendCommit(dir: string, files: readonly ManifestFile[], commit: ManifestCommit): void {
  const path = join(dir, MANIFEST_FILE);
  let existed = true;
  try {
    statSync(path);
  } catch {
    existed = false;
  }
  const text = files.map(addLine).join("") + commitLine(commit);
  const bytes = Buffer.from(text, "utf8");
  const fd = openSync(path, "a");
  try {
    // Opened for appending: each write goes to the end (a short write continues where it stopped).
    for (let off = 0; off < bytes.length;) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  if (!existed) fsyncDir(dir);
}

/**
 * Record that the engine checkpointed `commit` (an advisory line, not fsynced: losing it after a
 * crash only makes compaction more careful).
 */
export function appendCheckpoint(dir: string, commit: number): void {
  appendFileSync(join(dir, MANIFEST_FILE), checkpointLine(commit));
}

function checkpointLine(commit: number): string {
  return JSON.stringify({ op: "checkpoint", commit }) + "\n";
}

function addLine(f: ManifestFile): string {
  const v: Record<string, unknown> = { op: "add", commit: f.commit };
  if (f.fromCommit !== undefined && f.fromCommit !== f.commit) v.fromCommit = f.fromCommit;
  v.path = f.path;
  v.partition = f.partition;
  v.rows = f.rows;
  v.bytes = f.bytes;
  return JSON.stringify(v) + "\n";
}

function commitLine(c: ManifestCommit): string {
  const v: Record<string, unknown> = {
    op: "commit",
    commit: c.commit,
    checkpointed: c.checkpointed,
    at: c.at,
  };
  if (c.columns !== undefined) v.columns = c.columns;
  return JSON.stringify(v) + "\n";
}

/** The partition folder of a relative file path ("" for a file at the top of the dataset). */
export function partitionOf(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash < 0 ? "" : path.slice(0, slash);
}

/**
 * Delete what no committed state refers to: data files (by their name pattern) that the manifest
 * does not list — left by a publish or compaction that crashed before its manifest update, or
 * rolled back — and half-written temporary files; then empty partition folders. Files with other
 * names are left alone. Returns the removed paths (relative). The caller holds the dataset's lock.
 */
export function removeUnlisted(dir: string, m: Pick<Manifest, "files">): string[] {
  const listed = new Set(m.files.map((f) => f.path));
  const removed: string[] = [];
  const walk = (abs: string, rel: string, depth: number): void => {
    let entries;
    try {
      entries = readdirSync(abs, { withFileTypes: true });
    } catch (err) {
      if (errnoCode(err) === "ENOENT") return;
      throw err;
    }
    let touched = false;
    for (const e of entries) {
      const relPath = rel === "" ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory()) {
        if (depth < 8 && /^[A-Za-z_][A-Za-z0-9_]*=/.test(e.name)) walk(join(abs, e.name), relPath, depth + 1);
      } else if ((DATA_FILE.test(e.name) && !listed.has(relPath)) || TEMP_FILE.test(e.name)) {
        unlinkIfExists(join(abs, e.name));
        removed.push(relPath);
        touched = true;
      }
    }
    if (touched) fsyncDir(abs);
    if (depth > 0) {
      try {
        if (readdirSync(abs).length === 0) rmdirSync(abs);
      } catch {
        // not empty after all, or gone: fine
      }
    }
  };
  walk(dir, "", 0);
  return removed;
}

function isCount(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
