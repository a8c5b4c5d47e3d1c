/**
 * The two sparse indexes of a segment. Both are *hints*: they may lag behind the log (written after
 * it, not fsynced with it) or, after a crash, point at bytes that are gone. Callers validate an entry by
 * parsing the frame it points at before trusting it, and fall back to the segment start.
 *
 * Offset index (.index), 8-byte entries:  u32 relativeOffset | u32 position
 *   "the record base+relativeOffset starts at byte `position`"; one entry per indexIntervalBytes of log.
 * Time index (.timeindex), 16-byte entries: i64 maxTimestamp | u32 relativeOffset | u32 position
 *   "every record before byte `position` has timestamp <= maxTimestamp"; added at index points when the
 *   maximum grew, and once more when the segment is sealed (position = segment size), so the last
 *   entry of a sealed segment gives its newest timestamp (what retention by age needs).
 */
import { closeSync, fstatSync, openSync, readFileSync, readSync } from "node:fs";
import { readInt64, writeInt64 } from "./record-codec.js";
import { writeFully } from "./fs-util.js";

export const OFFSET_ENTRY_BYTES = 8;
export const TIME_ENTRY_BYTES = 16;

/** An index entry, as a starting point for a scan. */
export interface IndexHint {
  readonly relativeOffset: number;
  readonly position: number;
}

/** A time index entry. */
export interface TimeHint extends IndexHint {
  readonly maxTimestamp: number;
}

/** Reads a whole index file; an empty buffer if it is missing. Trailing partial entries are ignored. */
export function readIndexFile(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return Buffer.alloc(0);
    throw err;
  }
}

/** The last offset-index entry with relativeOffset <= rel, or null. */
export function lookupOffset(index: Buffer, rel: number): IndexHint | null {
  let lo = 0;
  let hi = Math.floor(index.length / OFFSET_ENTRY_BYTES) - 1;
  let hit: IndexHint | null = null;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const r = index.readUInt32LE(mid * OFFSET_ENTRY_BYTES);
    if (r <= rel) {
      hit = { relativeOffset: r, position: index.readUInt32LE(mid * OFFSET_ENTRY_BYTES + 4) };
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return hit;
}

/** The last time-index entry with maxTimestamp < ts (every record before it is older than ts), or null. */
export function lookupTime(index: Buffer, ts: number): TimeHint | null {
  let lo = 0;
  let hi = Math.floor(index.length / TIME_ENTRY_BYTES) - 1;
  let hit: TimeHint | null = null;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const p = mid * TIME_ENTRY_BYTES;
    const maxTimestamp = readInt64(index, p);
    if (maxTimestamp < ts) {
      hit = { maxTimestamp, relativeOffset: index.readUInt32LE(p + 8), position: index.readUInt32LE(p + 12) };
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return hit;
}

/** The last complete entry of an index file, read without loading the file, or null. */
export function readLastEntry(path: string, entryBytes: number): Buffer | null {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
  try {
    const entries = Math.floor(fstatSync(fd).size / entryBytes);
    if (entries === 0) return null;
    const buf = Buffer.alloc(entryBytes);
    return readSync(fd, buf, 0, entryBytes, (entries - 1) * entryBytes) === entryBytes ? buf : null;
  } finally {
    closeSync(fd);
  }
}

export function offsetHintOf(entry: Buffer): IndexHint {
  return { relativeOffset: entry.readUInt32LE(0), position: entry.readUInt32LE(4) };
}

export function timeHintOf(entry: Buffer): TimeHint {
  return {
    maxTimestamp: readInt64(entry, 0),
    relativeOffset: entry.readUInt32LE(8),
    position: entry.readUInt32LE(12),
  };
}

/**
 * The writer's side of one index file: entries accumulate in memory during an append and are
 * written with one syscall after the log bytes they describe.
 */
export class IndexAppender {
  private pending: Buffer;
  private pendingBytes = 0;

  constructor(
    readonly fd: number,
    /** Bytes in the file. */
    private size: number,
  ) {
    this.pending = Buffer.allocUnsafe(1024);
  }

  addOffsetEntry(relativeOffset: number, position: number): void {
    const p = this.reserve(OFFSET_ENTRY_BYTES);
    this.pending.writeUInt32LE(relativeOffset, p);
    this.pending.writeUInt32LE(position, p + 4);
  }

  addTimeEntry(maxTimestamp: number, relativeOffset: number, position: number): void {
    const p = this.reserve(TIME_ENTRY_BYTES);
    writeInt64(this.pending, p, maxTimestamp);
    this.pending.writeUInt32LE(relativeOffset, p + 8);
    this.pending.writeUInt32LE(position, p + 12);
  }

  /** Writes the pending entries to the file. */
  write(): void {
    if (this.pendingBytes === 0) return;
    writeFully(this.fd, this.pending, 0, this.pendingBytes, this.size);
    this.size += this.pendingBytes;
    this.pendingBytes = 0;
  }

  /** Forgets entries not yet written (their append failed). */
  discard(): void {
    this.pendingBytes = 0;
  }

  private reserve(n: number): number {
    if (this.pendingBytes + n > this.pending.length) {
      const bigger = Buffer.allocUnsafe(this.pending.length * 2);
      this.pending.copy(bigger, 0, 0, this.pendingBytes);
      this.pending = bigger;
    }
    const p = this.pendingBytes;
    this.pendingBytes += n;
    return p;
  }
}
