/**
 * Small-file compaction (`weir lake compact`): in each partition, runs of small files are merged into
 * files of up to `targetRows` rows. Atomic for manifest readers:
 *
 *   1. write each merged file under a temporary name, fsync, rename into place (not yet listed);
 *   2. one atomic manifest rewrite swaps the old files for the new ones;
 *   3. delete the old files.
 *
 * A crash before 2 leaves unlisted files that the next writer or compaction deletes; after 2, old
 * files that the next one deletes. A manifest reader sees the old files or the new ones, so every
 * row exactly once. Only files of commits that an engine checkpoint is known to hold are merged (see
 * manifest.ts), so a pipeline restarting from its last checkpoint never needs to split a merged file.
 *
 * It takes the dataset's lock, so it refuses to run while a pipeline writes the dataset.
 */
import {
  closeSync,
  fsyncSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  statSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { WeirError } from "../../errors.js";
import { fsyncDir, unlinkIfExists } from "../../log/fs-util.js";
import { tryLock, unlock } from "../../log/lock.js";
import { quoteString } from "./columns.js";
import { acquireConnection, duckMessage, releaseConnection } from "./duck.js";
import { DEFAULT_MAX_ROWS_PER_FILE } from "./dataset.js";
import {
  DATASET_NAME,
  LOCK_FILE,
  MANIFEST_FILE,
  datasetDir,
  readManifest,
  removeUnlisted,
  rewriteManifest,
  type ManifestFile,
} from "./manifest.js";
import type { DuckDBConnection } from "@duckdb/node-api";

export interface CompactOptions {
  /** Merge small files into files of up to this many rows (default 1,000,000). */
  targetRows?: number;
}

export interface CompactResult {
  dataset: string;
  /** Partitions in which files were merged. */
  partitions: number;
  filesBefore: number;
  filesAfter: number;
  /** Files written by merging. */
  written: number;
  /** Rows in the dataset (unchanged by compaction). */
  rows: number;
  /** Files left alone because their commit may not be in a checkpoint yet. */
  recentFiles: number;
  /** Unlisted files of an interrupted publish or compaction that were deleted. */
  removedStray: number;
}

export async function compactDataset(
  dataDir: string,
  name: string,
  options: CompactOptions = {},
): Promise<CompactResult> {
  const targetRows = options.targetRows ?? DEFAULT_MAX_ROWS_PER_FILE;
  if (!Number.isSafeInteger(targetRows) || targetRows < 1) {
    throw new WeirError("USAGE", "the target number of rows per file must be an integer >= 1");
  }
  const dir = datasetDir(dataDir, name);
  if (!DATASET_NAME.test(name) || !existsFile(join(dir, MANIFEST_FILE))) {
    throw new WeirError("USAGE", `no lake dataset ${JSON.stringify(name)} in ${join(dataDir, "lake")}`);
  }
  const lockPath = join(dir, LOCK_FILE);
  const attempt = tryLock(lockPath);
  if (!attempt.acquired) {
    throw new WeirError(
      "PARTITION_LOCKED",
      `lake dataset ${name} is in use by ${attempt.holderIsThisProcess ? "this process" : `process ${attempt.holderPid}`} ` +
        `(a running pipeline writes it); stop the pipeline before compacting, or compact later`,
    );
  }
  let conn: DuckDBConnection | undefined;
  try {
    const m = readManifest(dir);
    if (!m.clean) rewriteManifest(dir, m);
    const removedStray = removeUnlisted(dir, m).length;
    const stable = m.checkpointed;

    // Bins of consecutive small files, per partition and file type.
    const byPartition = new Map<string, ManifestFile[]>();
    for (const f of m.files) {
      const list = byPartition.get(f.partition);
      if (list) list.push(f);
      else byPartition.set(f.partition, [f]);
    }
    const bins: ManifestFile[][] = [];
    let recentFiles = 0;
    for (const files of byPartition.values()) {
      let bin: ManifestFile[] = [];
      let binRows = 0;
      let binKey = "";
      const close = () => {
        if (bin.length >= 2) bins.push(bin);
        bin = [];
        binRows = 0;
      };
      for (const f of files) {
        if (f.commit > stable) {
          recentFiles++;
          close();
          continue;
        }
        if (f.rows >= targetRows) {
          close();
          continue;
        }
        const key =
          extensionOf(f.path) === "csv" ? `csv:${csvHeader(join(dir, f.path))}` : extensionOf(f.path);
        if (bin.length > 0 && (key !== binKey || binRows + f.rows > targetRows)) close();
        bin.push(f);
        binRows += f.rows;
        binKey = key;
      }
      close();
    }

    // 1. Write the merged files.
    const replaced = new Map<string, ManifestFile | null>(); // old path -> new file (on the bin's last file) or null
    const token = Date.now().toString(36);
    let n = 0;
    for (const bin of bins) {
      const last = bin[bin.length - 1];
      const ext = extensionOf(last.path);
      const folder = last.partition === "" ? dir : join(dir, last.partition);
      const file = `part-${String(last.commit).padStart(8, "0")}-c${token}${(n++).toString(36).padStart(3, "0")}.${ext}`;
      const temp = join(folder, `.${file}.tmp`);
      const rows = bin.reduce((s, f) => s + f.rows, 0);
      const sources = bin.map((f) => join(dir, f.path));
      if (ext === "parquet") {
        conn ??= await acquireConnection();
        const list = sources.map(quoteString).join(", ");
        let written: number;
        try {
          const r = await conn.run(
            `COPY (SELECT * FROM read_parquet([${list}], hive_partitioning = false, union_by_name = true)) ` +
              `TO ${quoteString(temp)} (FORMAT parquet)`,
          );
          written = Number(r.rowsChanged);
        } catch (err) {
          unlinkIfExists(temp);
          throw new WeirError("IO", `compacting ${name}/${last.partition}: ${duckMessage(err)}`, {
            cause: err,
          });
        }
        if (written !== rows) {
          unlinkIfExists(temp);
          throw new WeirError(
            "CORRUPT",
            `compacting ${name}: merged ${written} rows, the manifest lists ${rows}`,
          );
        }
      } else {
        concatenate(sources, temp, ext === "csv");
      }
      fsyncPath(temp);
      renameSync(temp, join(folder, file));
      fsyncDir(folder);
      const merged: ManifestFile = {
        commit: last.commit,
        path: last.partition === "" ? file : `${last.partition}/${file}`,
        partition: last.partition,
        rows,
        bytes: statSync(join(folder, file)).size,
      };
      const from = Math.min(...bin.map((f) => f.fromCommit ?? f.commit));
      if (from !== last.commit) merged.fromCommit = from;
      for (const f of bin) replaced.set(f.path, null);
      replaced.set(last.path, merged);
    }

    // 2. One manifest update swaps old for new.
    if (bins.length > 0) {
      const files: ManifestFile[] = [];
      for (const f of m.files) {
        if (!replaced.has(f.path)) files.push(f);
        else if (replaced.get(f.path)) files.push(replaced.get(f.path)!);
      }
      rewriteManifest(dir, { files, commits: m.commits, checkpointed: m.checkpointed });
      // 3. Delete the old files.
      const folders = new Set<string>();
      for (const bin of bins) {
        for (const f of bin) {
          unlinkIfExists(join(dir, f.path));
          folders.add(f.partition === "" ? dir : join(dir, f.partition));
        }
      }
      for (const folder of folders) fsyncDir(folder);
    }
    const merged = bins.reduce((s, b) => s + b.length, 0);
    return {
      dataset: name,
      partitions: new Set(bins.map((b) => b[0].partition)).size,
      filesBefore: m.files.length,
      filesAfter: m.files.length - merged + bins.length,
      written: bins.length,
      rows: m.files.reduce((s, f) => s + f.rows, 0),
      recentFiles,
      removedStray,
    };
  } finally {
    try {
      if (conn !== undefined) await releaseConnection(conn);
    } finally {
      unlock(lockPath);
    }
  }
}

/** JSON lines and CSV merge by concatenation (CSV: the header once; bins hold files with one header). */
function concatenate(sources: readonly string[], target: string, csv: boolean): void {
  const fd = openSync(target, "w");
  try {
    sources.forEach((src, i) => {
      let bytes = readFileSync(src);
      if (csv && i > 0) bytes = bytes.subarray(bytes.indexOf(10) + 1);
      if (bytes.length > 0 && bytes[bytes.length - 1] !== 10)
        bytes = Buffer.concat([bytes, Buffer.from("\n")]);
      for (let off = 0; off < bytes.length;) off += writeSync(fd, bytes, off, bytes.length - off);
    });
  } catch (err) {
    closeSync(fd);
    unlinkIfExists(target);
    throw err;
  }
  closeSync(fd);
}

/** A CSV file's header line (its first 64 KiB at most: enough to tell column lists apart). */
function csvHeader(path: string): string {
  const fd = openSync(path, "r");
  try {
    const buf = Buffer.alloc(64 * 1024);
    let n = 0;
    for (;;) {
      const got = readSync(fd, buf, n, buf.length - n, n);
      n += got;
      if (got === 0 || n === buf.length || buf.subarray(n - got, n).includes(10)) break;
    }
    const nl = buf.subarray(0, n).indexOf(10);
    return buf.subarray(0, nl < 0 ? n : nl).toString("utf8");
  } finally {
    closeSync(fd);
  }
}

function extensionOf(path: string): string {
  return path.slice(path.lastIndexOf(".") + 1);
}

function fsyncPath(path: string): void {
  const fd = openSync(path, "r+");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function existsFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
