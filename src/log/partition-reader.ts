/**
 * The consumer side of one partition. Takes no lock: any number of readers, in any number of
 * processes, read while a writer appends. A reader trusts only frames whose CRC it verified itself;
 * an incomplete or bad frame at the end of the log is "no more data yet" (the writer may be half-way
 * through a write, or crashed and will cut it on restart), never an error and never a record.
 */
import { watch, type FSWatcher } from "node:fs";
import { WeirError } from "../errors.js";
import { asWeirError } from "./fs-util.js";
import { PartitionTail } from "./partition-tail.js";
import { READ_CHUNK_BYTES, SegmentCursor } from "./segment-cursor.js";
import { listSegmentBases, offsetIndexPath, segmentFor, timeIndexPath } from "./segment-files.js";
import { lookupOffset, lookupTime, readIndexFile } from "./segment-index.js";
import type { LogRecord } from "./types.js";

export interface PartitionReader {
  readonly topic: string;
  readonly partition: number;
  /** The next offset poll() returns. Assigning it seeks. */
  position: number;
  /** Below startOffset: clamps to startOffset. Above endOffset: OFFSET_OUT_OF_RANGE. */
  seek(offset: number): void;
  /** Moves to the first record with timestamp >= ts (the end, if there is none). */
  seekToTimestamp(ts: number): void;
  startOffset(): number;
  /** Re-reads the files: includes what other processes appended. */
  endOffset(): number;
  /** Up to maxRecords records from position on; [] at the end. Synchronous. Record bytes view a shared chunk: copy what you keep for long. */
  poll(maxRecords: number): LogRecord[];
  /** Resolves true as soon as a record at or after position exists; false on timeout or abort. */
  waitForData(timeoutMs: number, signal?: AbortSignal): Promise<boolean>;
  close(): void;
}

/** Re-check period when no file event arrives (inotify missing or an event lost); not a busy poll. */
const FALLBACK_CHECK_MS = 300;
/** Bound on segment changes one poll() follows (each is a finite step; this only guards a pathological loop). */
const MAX_STALLS_PER_POLL = 10_000;
const MAX_TIMER_MS = 2 ** 31 - 1;

interface Waiter {
  check(): void;
  cancel(): void;
}

export class LogPartitionReader implements PartitionReader {
  private cursor: SegmentCursor | null = null;
  private next = 0;
  private readonly tail: PartitionTail;
  private watcher: FSWatcher | null = null;
  private readonly waiters = new Set<Waiter>();
  private closed = false;

  constructor(
    readonly topic: string,
    readonly partition: number,
    private readonly dir: string,
    fromOffset: number | undefined,
    private readonly onClose: () => void,
  ) {
    this.tail = new PartitionTail(dir);
    try {
      if (fromOffset === undefined) this.locate(this.startOffset(), listSegmentBases(dir));
      else this.seek(fromOffset);
    } catch (err) {
      this.release();
      throw err;
    }
  }

  get position(): number {
    return this.next;
  }

  set position(offset: number) {
    this.seek(offset);
  }

  seek(offset: number): void {
    return this.guard(`seeking in ${this.topic}/${this.partition}`, () => {
      this.checkOpen();
      if (!Number.isSafeInteger(offset))
        throw new WeirError("USAGE", `offset must be an integer, got ${offset}`);
      const bases = listSegmentBases(this.dir);
      const end = this.tail.endOffset(bases);
      if (offset > end) {
        throw new WeirError(
          "OFFSET_OUT_OF_RANGE",
          `offset ${offset} is beyond the end of ${this.topic}/${this.partition} (end offset ${end})`,
        );
      }
      this.locate(Math.max(offset, bases[0] ?? 0), bases);
    });
  }

  seekToTimestamp(ts: number): void {
    return this.guard(`seeking in ${this.topic}/${this.partition}`, () => {
      this.checkOpen();
      if (!Number.isFinite(ts))
        throw new WeirError("USAGE", `timestamp must be a number of ms since the epoch, got ${ts}`);
      const bases = listSegmentBases(this.dir);
      for (const base of bases) {
        if (!this.openSegment(base)) continue;
        const cursor = this.cursor!;
        // Every record before the hint is older than ts; scan from there.
        let expected = cursor.moveToHint(lookupTime(readIndexFile(timeIndexPath(this.dir, base)), ts));
        while (cursor.check() > 0 && cursor.frame.offset === expected) {
          if (cursor.frame.timestamp >= ts) {
            this.next = expected;
            return;
          }
          cursor.skip();
          expected++;
        }
      }
      const end = this.tail.endOffset();
      this.locate(end, listSegmentBases(this.dir));
    });
  }

  startOffset(): number {
    return this.guard(`reading ${this.topic}/${this.partition}`, () => {
      this.checkOpen();
      return listSegmentBases(this.dir)[0] ?? 0;
    });
  }

  endOffset(): number {
    return this.guard(`reading ${this.topic}/${this.partition}`, () => {
      this.checkOpen();
      return this.tail.endOffset();
    });
  }

  poll(maxRecords: number): LogRecord[] {
    return this.guard(`reading ${this.topic}/${this.partition}`, () => {
      this.checkOpen();
      const out: LogRecord[] = [];
      if (this.cursor === null && !this.relocate()) return out;
      const { topic, partition } = this;
      let stalls = 0;
      while (out.length < maxRecords) {
        const cursor = this.cursor!;
        if (cursor.check() > 0) {
          const offset = cursor.frame.offset;
          // Below position only after a truncation rewrote offsets we had passed: skip until we are back.
          if (offset >= this.next) {
            out.push(cursor.record(topic, partition));
            this.next = offset + 1;
          }
          cursor.skip();
          continue;
        }
        if (++stalls > MAX_STALLS_PER_POLL || !this.onStall()) break;
      }
      return out;
    });
  }

  waitForData(timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    this.checkOpen();
    if (this.guard(`waiting for data in ${this.topic}/${this.partition}`, () => this.hasData())) {
      return Promise.resolve(true);
    }
    if (!(timeoutMs > 0) || signal?.aborted === true) return Promise.resolve(false);
    return new Promise<boolean>((resolve, reject) => {
      const settle = (result: boolean | Error): void => {
        this.waiters.delete(waiter);
        clearTimeout(timeout);
        clearInterval(fallback);
        signal?.removeEventListener("abort", cancel);
        if (result instanceof Error) reject(result);
        else resolve(result);
      };
      const check = (): void => {
        try {
          if (this.hasData()) settle(true);
        } catch (err) {
          settle(asWeirError(err, `waiting for data in ${this.topic}/${this.partition}`));
        }
      };
      const cancel = (): void => settle(false);
      const waiter: Waiter = { check, cancel };
      const timeout = setTimeout(cancel, Math.min(timeoutMs, MAX_TIMER_MS));
      const fallback = setInterval(check, FALLBACK_CHECK_MS);
      signal?.addEventListener("abort", cancel, { once: true });
      this.waiters.add(waiter);
      this.ensureWatcher();
      check(); // data that arrived before the watcher was in place
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const w of [...this.waiters]) w.cancel();
    this.release();
    this.onClose();
  }

  /** Runs fn, giving its failures to the caller as WeirErrors (see asWeirError). */
  private guard<T>(doing: string, fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      throw asWeirError(err, doing);
    }
  }

  /** Whether poll() would return something now. */
  private hasData(): boolean {
    if (this.cursor !== null && this.cursor.check() > 0 && this.cursor.frame.offset >= this.next) return true;
    return this.tail.endOffset() > this.next;
  }

  /**
   * The cursor cannot read a frame. Decide why: its segment was deleted (relocate by offset), it is
   * sealed and a later one exists (move on), or this is the end of the log for now (false).
   */
  private onStall(): boolean {
    const cursor = this.cursor!;
    const { size, deleted } = cursor.stat();
    if (deleted) return this.relocate();
    const bases = listSegmentBases(this.dir);
    const later = bases.find((b) => b > cursor.baseOffset);
    if (later === undefined) return false;
    // A later segment exists, so this one was complete before it was created. What we could not read
    // may have been written just before the roll: look once more before judging.
    if (cursor.check() > 0) return true;
    if (cursor.filePos < size) {
      throw new WeirError(
        "CORRUPT",
        `${this.topic}/${this.partition}: unreadable record at byte ${cursor.filePos} of sealed segment ${cursor.baseOffset} (expected offset ${this.next}); seek past it to skip the damaged records`,
      );
    }
    if (!this.openSegment(later)) return this.relocate();
    // Offsets continue from the segment's base; a jump means records were deleted (retention).
    if (later > this.next) this.next = later;
    return true;
  }

  /** Finds position again in the current files (after truncation or deletion under the cursor). */
  private relocate(): boolean {
    const bases = listSegmentBases(this.dir);
    if (bases.length === 0) {
      this.closeCursor();
      return false;
    }
    this.locate(Math.max(this.next, bases[0]), bases);
    return true;
  }

  /**
   * Puts the cursor on the frame of `offset` (or at the end of the last segment when offset is beyond
   * it: poll then skips what lies below). Uses the offset index as a validated hint.
   */
  private locate(offset: number, bases: readonly number[]): void {
    this.next = offset;
    for (let attempt = 0; attempt < 5 && bases.length > 0; attempt++) {
      const base = segmentFor(bases, offset);
      if (this.openSegment(base)) {
        const cursor = this.cursor!;
        const hint = lookupOffset(readIndexFile(offsetIndexPath(this.dir, base)), offset - base);
        cursor.scan(cursor.moveToHint(hint), offset);
        return;
      }
      bases = listSegmentBases(this.dir);
    }
    this.closeCursor();
  }

  private openSegment(baseOffset: number): boolean {
    const previous = this.cursor;
    const cursor = SegmentCursor.open(this.dir, baseOffset, READ_CHUNK_BYTES, previous ?? undefined);
    if (cursor === null) return false;
    previous?.close();
    this.cursor = cursor;
    return true;
  }

  private ensureWatcher(): void {
    if (this.watcher !== null) return;
    try {
      // One inotify watch on the partition directory for the reader's life: a write to any segment
      // wakes the waiters. Not persistent: it must not keep the process alive on its own.
      this.watcher = watch(this.dir, { persistent: false }, () => {
        for (const w of [...this.waiters]) w.check();
      });
      this.watcher.on("error", () => {
        this.watcher?.close();
        this.watcher = null;
      });
    } catch {
      // No watch possible (directory gone, inotify limits): the periodic check still finds data.
      this.watcher = null;
    }
  }

  private closeCursor(): void {
    this.cursor?.close();
    this.cursor = null;
  }

  private release(): void {
    this.closeCursor();
    this.tail.close();
    this.watcher?.close();
    this.watcher = null;
  }

  private checkOpen(): void {
    if (this.closed) throw new WeirError("CLOSED", `the reader of ${this.topic}/${this.partition} is closed`);
  }
}
