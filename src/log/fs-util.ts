/** Small synchronous file-system helpers with the durability details in one place. */
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { WeirError } from "../errors.js";

export function errnoCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code;
}

/**
 * The error to give a caller of the log: WeirErrors as they are; file-system failures (ENOSPC, EIO,
 * EACCES...) as IO errors saying what the log was doing; anything else as INTERNAL (a bug).
 */
export function asWeirError(err: unknown, doing: string): WeirError {
  if (err instanceof WeirError) return err;
  const code = errnoCode(err);
  const message = err instanceof Error ? err.message : String(err);
  return new WeirError(typeof code === "string" ? "IO" : "INTERNAL", `${doing}: ${message}`, { cause: err });
}

/** writeSync until every byte is written (a regular-file write may be short, e.g. near ENOSPC). */
export function writeFully(
  fd: number,
  buf: Uint8Array,
  offset: number,
  length: number,
  position: number,
): void {
  while (length > 0) {
    const n = writeSync(fd, buf, offset, length, position);
    offset += n;
    position += n;
    length -= n;
  }
}

/** Makes a directory's entries (files created, renamed, deleted in it) durable. */
export function fsyncDir(dir: string): void {
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Replaces a file atomically and durably: readers see the old or the new content, never a mix, and
 * after a crash the file holds one of the two. (tmp file, fsync, rename, fsync directory)
 */
export function writeFileAtomic(path: string, data: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, "w");
  try {
    const bytes = Buffer.from(data, "utf8");
    writeFully(fd, bytes, 0, bytes.length, 0);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    renameSync(tmp, path);
  } catch (err) {
    unlinkIfExists(tmp);
    throw err;
  }
  fsyncDir(dirname(path));
}

export function unlinkIfExists(path: string): void {
  try {
    unlinkSync(path);
  } catch (err) {
    if (errnoCode(err) !== "ENOENT") throw err;
  }
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** Blocks the thread for ms (for short, bounded waits in synchronous code, e.g. retrying a file lock). */
export function sleepSync(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}
