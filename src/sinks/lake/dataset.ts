/**
 * A lake dataset written by a pipeline: Hive-style folders of Parquet, JSON-lines or CSV files that
 * DuckDB, Spark or BigQuery read as they are,
 *
 *   <dataDir>/lake/<dataset>/date=2021-11-30/part-00000007-0000.parquet     (partitionBy "date")
 *   <dataDir>/lake/<dataset>/part-00000007-0000.parquet                     (partitionBy "none")
 *   <dataDir>/lake/<dataset>/_weir_manifest.jsonl                           (committed files, manifest.ts)
 *   <dataDir>/lake/<dataset>/_tmp/                                          (rows not yet published)
 *   <dataDir>/lake/<dataset>/_lock                                          (the writing process)
 *
 * Exactly-once with the engine's checkpoints:
 * - `append` (the hot path) serialises the row to a JSON line and adds it to its partition's spill
 *   file under `_tmp/` (buffered, written in 1 MiB pieces): memory stays small whatever the batch.
 * - `publish(commit)` (each checkpoint, before the checkpoint is written) turns the spill files into
 *   final files — Parquet and CSV through DuckDB, JSON lines as they are — written under temporary
 *   names, fsynced and renamed into place, then appends them to the manifest with one fsynced write.
 *   Files become visible to manifest readers only then; glob readers see only complete files.
 * - `rollbackTo(position)` (on restart, with the position stored in the last checkpoint) removes the
 *   files and manifest entries of later commits and every unpublished row; the deterministic replay
 *   writes the same rows again.
 *
 * The runner must publish in order: `publish(n)`, then save the checkpoint holding `position()`,
 * then `publish(n + 1)`... A publish therefore tells the dataset that the previous commit was
 * checkpointed, which is what lets `weir lake compact` merge files safely while no pipeline runs.
 *
 * Files roll at `maxRowsPerFile` rows or `maxBytesPerFile` bytes of JSON, and at every publish.
 */
import {
  appendFileSync,
  fsyncSync,
  mkdirSync,
  openSync,
  closeSync,
  renameSync,
  rmSync,
  statSync,
} from "node:fs";
import { join } from "node:path";
import type { DuckDBConnection } from "@duckdb/node-api";
import { WeirError } from "../../errors.js";
import { tryLock, unlock } from "../../log/lock.js";
import { errnoCode, fsyncDir, unlinkIfExists } from "../../log/fs-util.js";
import type { LakeDatasetSpec, LakeFormat, LakePosition } from "../types.js";
import { MAX_RECORD_BYTES, UnwritableValue } from "../../util/records.js";
import { describeBytes } from "../../util/text.js";
import { ColumnTracker, NULL_COLUMN, quoteString, type ColumnPlan } from "./columns.js";
import { acquireConnection, duckMessage, releaseConnection } from "./duck.js";
import {
  DATASET_NAME,
  LOCK_FILE,
  TMP_DIR,
  appendCheckpoint,
  appendCommit,
  datasetDir,
  readManifest,
  removeUnlisted,
  rewriteManifest,
  type Manifest,
  type ManifestFile,
} from "./manifest.js";

export const DEFAULT_MAX_ROWS_PER_FILE = 1_000_000;
export const DEFAULT_MAX_BYTES_PER_FILE = 256 * 1024 * 1024;

const DAY_MS = 86_400_000;
/** A partition's lines are collected in a buffer of this size, written to its spill file when full. */
const PARTITION_BUFFER = 1 << 20;
/** Beyond this much buffer memory (many partitions at once: a backfill), buffers are written and freed. */
const TOTAL_BUFFER = 32 << 20;
/** Hive's folder for rows without a partition value (an event time that is not a number). */
const NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__";
/** CSV timestamps: ISO-8601 UTC with milliseconds, like every timestamp Weir prints. */
const CSV_TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%gZ";

interface SpillChunk {
  readonly path: string;
  rows: number;
  /** Characters of JSON (about its bytes), for rolling by size. */
  chars: number;
}

interface PartitionSpill {
  /** `date=2021-11-30`, or "" when the dataset is not partitioned. */
  readonly name: string;
  /** Chunks already rolled (complete files under _tmp). */
  readonly sealed: SpillChunk[];
  current: SpillChunk | null;
  /** Lines not yet written to `current` (UTF-8, `pos` bytes). */
  buf: Buffer | null;
  pos: number;
}

export const FILE_EXTENSIONS: Record<LakeFormat, string> = { parquet: "parquet", jsonl: "jsonl", csv: "csv" };

export class LakeDataset {
  readonly name: string;
  readonly dir: string;
  readonly format: LakeFormat;
  readonly partitionBy: "date" | "none";
  readonly maxRowsPerFile: number;
  readonly maxBytesPerFile: number;

  private commit: number;
  private readonly lockPath: string;
  private readonly tmpDir: string;
  private readonly columns = new ColumnTracker();
  private readonly partitions = new Map<number | string, PartitionSpill>();
  private lastKey: number | string | undefined;
  private lastPartition: PartitionSpill | undefined;
  /** Bytes of the partitions' buffers. */
  private buffered = 0;
  private spillSeq = 0;
  private unpublished = 0;
  private conn: DuckDBConnection | undefined;
  private failure: Error | undefined;
  private closed = false;
  /** The last commit that wrote files, and the last commit recorded as checkpointed. */
  private lastFilesCommit = 0;
  private recordedCheckpoint = 0;

  private constructor(dir: string, spec: Required<LakeDatasetSpec>, commit: number) {
    this.name = spec.name;
    this.dir = dir;
    this.format = spec.format;
    this.partitionBy = spec.partitionBy;
    this.maxRowsPerFile = spec.maxRowsPerFile;
    this.maxBytesPerFile = spec.maxBytesPerFile;
    this.commit = commit;
    this.lockPath = join(dir, LOCK_FILE);
    this.tmpDir = join(dir, TMP_DIR);
  }

  /**
   * Open (creating it if needed) the dataset `spec.name` under `<dataDir>/lake/` and take its lock.
   * Unpublished rows and files of an interrupted publish left by an earlier process are removed;
   * published commits stay until `rollbackTo` says which of them the checkpoint knows.
   */
  static open(dataDir: string, spec: LakeDatasetSpec): LakeDataset {
    const full = checkSpec(spec);
    const dir = datasetDir(dataDir, spec.name);
    mkdirSync(dir, { recursive: true });
    const lockPath = join(dir, LOCK_FILE);
    const attempt = tryLock(lockPath);
    if (!attempt.acquired) {
      throw new WeirError(
        "PARTITION_LOCKED",
        attempt.holderIsThisProcess
          ? `lake dataset ${spec.name} is already open in this process (close it first)`
          : `lake dataset ${spec.name} in ${dir} is in use by process ${attempt.holderPid} (a running pipeline or \`weir lake compact\`); stop it first`,
      );
    }
    try {
      rmSync(join(dir, TMP_DIR), { recursive: true, force: true });
      mkdirSync(join(dir, TMP_DIR));
      const m = readManifest(dir);
      if (!m.clean) rewriteManifest(dir, m);
      removeUnlisted(dir, m);
      const ds = new LakeDataset(dir, full, lastCommit(m));
      ds.recordedCheckpoint = m.checkpointed;
      return ds;
    } catch (err) {
      unlock(lockPath);
      throw err;
    }
  }

  /** Rows appended since the last publish. */
  get pendingRows(): number {
    return this.unpublished;
  }

  /**
   * Add a row (a plain object; other values land as `{"value": ...}`) with its event time in ms.
   * Synchronous and cheap: the row is serialised and buffered, and written to a spill file per MiB.
   * A row that cannot be serialised, or is over the maximum record size, throws UnwritableValue
   * (and is not added).
   */
  append(row: Record<string, unknown>, eventTime: number): void {
    if (this.failure !== undefined || this.closed) this.unusable();
    let value: Record<string, unknown> = row;
    if (typeof row !== "object" || row === null || Array.isArray(row) || row instanceof Date) {
      value = { value: row };
    }
    let line: string;
    try {
      line = this.columns.encode(value);
    } catch (err) {
      throw new UnwritableValue(`cannot write the row as JSON: ${(err as Error).message}`, { cause: err });
    }
    if (line.length * 3 > MAX_RECORD_BYTES) {
      const bytes = Buffer.byteLength(line);
      if (bytes > MAX_RECORD_BYTES)
        throw new UnwritableValue(
          `a row of ${bytes} bytes (as JSON) is over the limit of ${describeBytes(MAX_RECORD_BYTES)}`,
        );
    }
    const p = this.partitionFor(eventTime);
    let chunk = p.current;
    if (chunk === null || chunk.rows >= this.maxRowsPerFile || chunk.chars >= this.maxBytesPerFile) {
      chunk = this.roll(p);
    }
    let buf = p.buf;
    const worst = line.length * 3 + 1;
    if (buf === null || buf.length - p.pos < worst) buf = this.makeRoom(p, worst);
    p.pos += buf.write(line, p.pos);
    buf[p.pos++] = 10;
    chunk.rows++;
    chunk.chars += line.length + 1;
    this.unpublished++;
  }

  /**
   * Publish every row appended since the last publish as the files of commit `commit` (the
   * checkpoint's sequence number; greater than the last one). Resolves once files and manifest
   * are durable. Without rows there is nothing to write; the position still moves to `commit`.
   */
  async publish(commit: number): Promise<void> {
    if (this.failure !== undefined || this.closed) this.unusable();
    if (!Number.isSafeInteger(commit) || commit <= this.commit) {
      throw new WeirError(
        "INTERNAL",
        commit <= this.commit && Number.isSafeInteger(commit)
          ? `lake dataset ${this.name} already holds commit ${this.commit}; cannot publish commit ${commit} ` +
              `(a run without a checkpoint must continue numbering after the lake's position, or roll it back first)`
          : `lake dataset ${this.name}: invalid commit ${commit}`,
      );
    }
    const checkpointed = this.commit;
    this.flushAll();
    const parts = [...this.partitions.values()]
      .map((p) => ({ name: p.name, chunks: [...p.sealed, ...(p.current ? [p.current] : [])] }))
      .filter((p) => p.chunks.some((c) => c.rows > 0))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    if (parts.length === 0) {
      this.commit = commit;
      return;
    }
    try {
      const plan = this.format === "jsonl" ? undefined : this.columns.plan();
      const added: ManifestFile[] = [];
      let newFolders = false;
      const ext = FILE_EXTENSIONS[this.format];
      const spills: string[] = [];
      for (const part of parts) {
        const folder = part.name === "" ? this.dir : join(this.dir, part.name);
        try {
          mkdirSync(folder);
          newFolders = true;
        } catch (err) {
          if (errnoCode(err) !== "EEXIST") throw err;
        }
        let n = 0;
        for (const chunk of part.chunks) {
          if (chunk.rows === 0) continue;
          const file = `part-${pad(commit, 8)}-${pad(n++, 4)}.${ext}`;
          const final = join(folder, file);
          if (this.format === "jsonl") {
            fsyncFile(chunk.path);
            renameSync(chunk.path, final);
          } else {
            const temp = join(folder, `.${file}.tmp`);
            await this.convert(chunk, temp, plan!);
            fsyncFile(temp);
            renameSync(temp, final);
            spills.push(chunk.path);
          }
          const rel = part.name === "" ? file : `${part.name}/${file}`;
          added.push({
            commit,
            path: rel,
            partition: part.name,
            rows: chunk.rows,
            bytes: statSync(final).size,
          });
        }
        fsyncDir(folder);
      }
      if (newFolders) fsyncDir(this.dir);
      const columns: Record<string, string> = {};
      // JSON lines keep the values as they are: record the type they are read as. A column of
      // only nulls is NULL: readers give it the type of the column's other commits.
      for (const c of plan ?? this.columns.plan())
        columns[c.name] = c.nullOnly ? NULL_COLUMN : plan ? c.type : c.readAs;
      appendCommit(this.dir, added, { commit, checkpointed, at: new Date().toISOString(), columns });
      for (const path of spills) unlinkIfExists(path);
    } catch (err) {
      // Files renamed into place without a manifest entry are removed by rollbackTo / the next open.
      this.failure = err instanceof Error ? err : new Error(String(err));
      throw err instanceof WeirError
        ? err
        : new WeirError(
            "IO",
            `lake dataset ${this.name}: publishing commit ${commit} failed: ${duckMessage(err)}`,
            {
              cause: err,
            },
          );
    }
    this.resetPartitions();
    this.commit = commit;
    this.lastFilesCommit = commit;
  }

  /**
   * Optional, for the runner: the checkpoint holding `{ commit }` is durable. Lets `weir lake compact`
   * merge that commit's files too (otherwise it leaves the newest commit alone, as it cannot know
   * whether a checkpoint recorded it). Costs one small unsynced manifest line per commit with files.
   */
  checkpointed(commit: number): void {
    if (this.closed || this.failure !== undefined) return;
    if (commit < this.lastFilesCommit || this.lastFilesCommit <= this.recordedCheckpoint) return;
    appendCheckpoint(this.dir, commit);
    this.recordedCheckpoint = commit;
  }

  /** The last published commit (what a checkpoint stores). */
  position(): LakePosition {
    return { commit: this.commit };
  }

  /**
   * Return to a checkpoint: remove the files (and manifest entries) of commits after `pos.commit`,
   * files of an interrupted publish, and every row appended but not published.
   */
  async rollbackTo(pos: LakePosition): Promise<void> {
    if (this.closed) this.unusable();
    const target = pos.commit;
    if (!Number.isSafeInteger(target) || target < 0) {
      throw new WeirError(
        "INTERNAL",
        `lake dataset ${this.name}: invalid rollback position ${JSON.stringify(pos)}`,
      );
    }
    this.discardUnpublished();
    const m = readManifest(this.dir);
    const straddling = m.files.find((f) => f.commit > target && (f.fromCommit ?? f.commit) <= target);
    if (straddling !== undefined) {
      throw new WeirError(
        "CORRUPT",
        `lake dataset ${this.name}: cannot roll back to commit ${target}: ${straddling.path} merges commits ` +
          `${straddling.fromCommit}..${straddling.commit} (compacted after that checkpoint)`,
      );
    }
    const keep = m.files.filter((f) => f.commit <= target);
    const commits = m.commits.filter((c) => c.commit <= target);
    if (
      !m.clean ||
      keep.length !== m.files.length ||
      commits.length !== m.commits.length ||
      m.checkpointed > target
    ) {
      rewriteManifest(this.dir, { files: keep, commits, checkpointed: Math.min(m.checkpointed, target) });
    }
    this.lastFilesCommit = 0;
    this.recordedCheckpoint = Math.min(m.checkpointed, target);
    removeUnlisted(this.dir, { files: keep });
    this.commit = target;
    this.failure = undefined;
  }

  /** Discard unpublished rows, release DuckDB and the lock. Publish first to keep rows. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      this.discardUnpublished();
    } finally {
      const conn = this.conn;
      this.conn = undefined;
      try {
        if (conn !== undefined) await releaseConnection(conn);
      } finally {
        unlock(this.lockPath);
      }
    }
  }

  // -------------------------------------------------------------------------------------------

  private partitionFor(eventTime: number): PartitionSpill {
    let key: number | string;
    if (this.partitionBy === "none") key = "";
    else key = Number.isFinite(eventTime) ? Math.floor(eventTime / DAY_MS) : NULL_PARTITION;
    if (key === this.lastKey && this.lastPartition !== undefined) return this.lastPartition;
    let p = this.partitions.get(key);
    if (p === undefined) {
      const name =
        key === ""
          ? ""
          : `date=${typeof key === "number" ? new Date(key * DAY_MS).toISOString().slice(0, 10) : key}`;
      p = { name, sealed: [], current: null, buf: null, pos: 0 };
      this.partitions.set(key, p);
    }
    this.lastKey = key;
    this.lastPartition = p;
    return p;
  }

  /** Close the partition's current spill chunk and start a new one. */
  private roll(p: PartitionSpill): SpillChunk {
    this.flushPartition(p);
    if (p.current !== null && p.current.rows > 0) p.sealed.push(p.current);
    const base = p.name === "" ? "all" : p.name.replace(/[^A-Za-z0-9_.-]/g, "_");
    p.current = { path: join(this.tmpDir, `${base}-${this.spillSeq++}.rows`), rows: 0, chars: 0 };
    return p.current;
  }

  /** Write out the partition's buffer and make sure it can take `bytes` more. */
  private makeRoom(p: PartitionSpill, bytes: number): Buffer {
    this.flushPartition(p);
    if (p.buf !== null && p.buf.length >= bytes) return p.buf;
    if (p.buf !== null) this.buffered -= p.buf.length;
    if (this.buffered + PARTITION_BUFFER > TOTAL_BUFFER) {
      // Too many partitions hold buffers: write them all out and free them.
      for (const other of this.partitions.values()) {
        this.flushPartition(other);
        other.buf = null;
      }
      this.buffered = 0;
    }
    const buf = Buffer.allocUnsafe(Math.max(PARTITION_BUFFER, bytes));
    this.buffered += buf.length;
    p.buf = buf;
    return buf;
  }

  private flushPartition(p: PartitionSpill): void {
    if (p.pos === 0 || p.current === null || p.buf === null) return;
    const bytes = p.buf.subarray(0, p.pos);
    p.pos = 0;
    try {
      appendFileSync(p.current.path, bytes);
    } catch (err) {
      this.failure = err instanceof Error ? err : new Error(String(err));
      throw new WeirError(
        "IO",
        `lake dataset ${this.name}: cannot write ${p.current.path}: ${this.failure.message}`,
        {
          cause: err,
        },
      );
    }
  }

  private flushAll(): void {
    for (const p of this.partitions.values()) this.flushPartition(p);
  }

  private resetPartitions(): void {
    this.partitions.clear();
    this.lastKey = undefined;
    this.lastPartition = undefined;
    this.buffered = 0;
    this.unpublished = 0;
  }

  private discardUnpublished(): void {
    this.resetPartitions();
    rmSync(this.tmpDir, { recursive: true, force: true });
    mkdirSync(this.tmpDir, { recursive: true });
  }

  /** Write one spill chunk as a Parquet or CSV file at `temp` with DuckDB. */
  private async convert(chunk: SpillChunk, temp: string, plan: ColumnPlan[]): Promise<void> {
    this.conn ??= await acquireConnection();
    const run = async (columns: ColumnPlan[]): Promise<number> => {
      const struct = columns.map((c) => `${quoteString(c.name)}: ${quoteString(c.readAs)}`).join(", ");
      const select = columns.length === 0 ? "*" : columns.map((c) => c.expr).join(", ");
      const source =
        `read_json(${quoteString(chunk.path)}, format = 'newline_delimited', records = true, ` +
        `hive_partitioning = false, maximum_object_size = 268435456` +
        (columns.length === 0 ? ")" : `, columns = {${struct}})`);
      const options =
        this.format === "parquet"
          ? "FORMAT parquet"
          : `FORMAT csv, HEADER true, timestampformat ${quoteString(CSV_TIMESTAMP_FORMAT)}`;
      const result = await this.conn!.run(
        `COPY (SELECT ${select} FROM ${source}) TO ${quoteString(temp)} (${options})`,
      );
      return Number(result.rowsChanged);
    };
    let rows: number;
    try {
      rows = await run(plan);
    } catch (err) {
      // A string that looked like a timestamp but does not parse: write such columns as text.
      if (!/timestamp|date|conver/i.test(duckMessage(err))) throw err;
      unlinkIfExists(temp);
      this.columns.demoteTimestamps();
      const demoted = this.columns.plan();
      plan.splice(0, plan.length, ...demoted);
      rows = await run(plan);
    }
    if (rows !== chunk.rows) {
      throw new WeirError(
        "INTERNAL",
        `lake dataset ${this.name}: wrote ${rows} rows to ${temp} but ${chunk.rows} were appended`,
      );
    }
  }

  private unusable(): never {
    if (this.closed) throw new WeirError("CLOSED", `lake dataset ${this.name} is closed`);
    throw new WeirError(
      "IO",
      `lake dataset ${this.name} failed (${this.failure!.message}); roll it back to the last checkpoint (restart the pipeline)`,
      { cause: this.failure },
    );
  }
}

function checkSpec(spec: LakeDatasetSpec): Required<LakeDatasetSpec> {
  if (!DATASET_NAME.test(spec.name)) {
    throw new WeirError(
      "USAGE",
      `lake dataset name ${JSON.stringify(spec.name)} must be a SQL name: a letter or '_' then letters, digits or '_' (at most 63)`,
    );
  }
  if (!(spec.format in FILE_EXTENSIONS)) {
    throw new WeirError("USAGE", `lake dataset ${spec.name}: format must be parquet, jsonl or csv`);
  }
  if (spec.partitionBy !== "date" && spec.partitionBy !== "none") {
    throw new WeirError("USAGE", `lake dataset ${spec.name}: partitionBy must be "date" or "none"`);
  }
  const maxRows = spec.maxRowsPerFile ?? DEFAULT_MAX_ROWS_PER_FILE;
  const maxBytes = spec.maxBytesPerFile ?? DEFAULT_MAX_BYTES_PER_FILE;
  if (!Number.isSafeInteger(maxRows) || maxRows < 1 || !Number.isSafeInteger(maxBytes) || maxBytes < 1) {
    throw new WeirError(
      "USAGE",
      `lake dataset ${spec.name}: maxRowsPerFile and maxBytesPerFile must be integers >= 1`,
    );
  }
  return {
    name: spec.name,
    format: spec.format,
    partitionBy: spec.partitionBy,
    maxRowsPerFile: maxRows,
    maxBytesPerFile: maxBytes,
  };
}

function lastCommit(m: Manifest): number {
  let last = 0;
  for (const c of m.commits) if (c.commit > last) last = c.commit;
  return last;
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, "0");
}

function fsyncFile(path: string): void {
  const fd = openSync(path, "r+");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
