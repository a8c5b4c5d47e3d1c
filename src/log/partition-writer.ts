/**
 * The write side of one partition: appends (encoding into a reused buffer, one write per segment
 * touched), rolls segments by size and age, applies retention, truncates, and recovers on open.
 * The caller holds the partition's lock.
 */
import {
  closeSync,
  copyFileSync,
  fdatasyncSync,
  ftruncateSync,
  openSync,
  renameSync,
  statSync,
  unlinkSync,
} from "node:fs";
import { WeirError } from "../errors.js";
import { ActiveSegment } from "./active-segment.js";
import { fsyncDir, unlinkIfExists } from "./fs-util.js";
import { encodeFrame, frameSizeBound } from "./record-codec.js";
import { SegmentCursor } from "./segment-cursor.js";
import {
  listLeftoverFiles,
  listSegmentBases,
  logPath,
  offsetIndexPath,
  segmentFor,
  timeIndexPath,
} from "./segment-files.js";
import { TIME_ENTRY_BYTES, readLastEntry, timeHintOf } from "./segment-index.js";
import type { ProducerRecord, RecordPosition, TopicConfig } from "./types.js";

export interface PartitionWriterOptions {
  readonly topic: string;
  readonly partition: number;
  readonly dir: string;
  readonly config: TopicConfig;
  readonly logger: (message: string) => void;
}

/** A segment before the active one: immutable, fsynced when it was sealed. */
interface SealedSegment {
  readonly baseOffset: number;
  readonly size: number;
  /** Newest record timestamp; loaded when retention by age first needs it. */
  maxTimestamp: number | undefined;
}

const INITIAL_BUFFER_BYTES = 256 * 1024;

export class PartitionWriter {
  readonly topic: string;
  readonly partition: number;
  /** Appended since the last sync. */
  dirty = false;
  /** A failed append could not be rolled back: the state on disk is unknown until the partition is reopened. */
  broken = false;
  private readonly dir: string;
  private readonly config: TopicConfig;
  private readonly logger: (message: string) => void;
  private sealed: SealedSegment[] = [];
  private active!: ActiveSegment;
  private nextOffset = 0;
  /** Encoding buffer, reused across appends; grows to the largest batch seen. */
  private buf: Buffer = Buffer.allocUnsafeSlow(INITIAL_BUFFER_BYTES);

  private constructor(options: PartitionWriterOptions) {
    this.topic = options.topic;
    this.partition = options.partition;
    this.dir = options.dir;
    this.config = options.config;
    this.logger = options.logger;
  }

  /** Opens the partition for writing: recovers the last segment, then applies retention. */
  static open(options: PartitionWriterOptions): PartitionWriter {
    const writer = new PartitionWriter(options);
    writer.load();
    writer.applyRetention(Date.now());
    return writer;
  }

  get startOffset(): number {
    return this.sealed.length > 0 ? this.sealed[0].baseOffset : this.active.baseOffset;
  }

  get endOffset(): number {
    return this.nextOffset;
  }

  /**
   * Appends records[order[i]] for i in [from, to) (records[i] when order is null), filling positions
   * at the same indexes. All or nothing: if anything fails, the partition is rolled back to where it
   * was and the error rethrown.
   */
  append(
    records: readonly ProducerRecord[],
    order: Int32Array | null,
    from: number,
    to: number,
    now: number,
    positions: RecordPosition[],
  ): void {
    const endBefore = this.nextOffset;
    try {
      this.appendUnsafe(records, order, from, to, now, positions);
    } catch (err) {
      this.rollback(endBefore, err);
      throw err;
    }
  }

  private appendUnsafe(
    records: readonly ProducerRecord[],
    order: Int32Array | null,
    from: number,
    to: number,
    now: number,
    positions: RecordPosition[],
  ): void {
    const { segmentBytes, segmentMs, indexIntervalBytes } = this.config;
    const partition = this.partition;
    let segment = this.active;
    let buf = this.buf;
    let pos = 0; // end of the frames encoded so far
    let pending = 0; // buf[pending, pos) is not yet written to the active segment
    let offset = this.nextOffset;
    for (let i = from; i < to; i++) {
      const index = order === null ? i : order[i];
      const r = records[index];
      const timestamp = r.timestamp === undefined ? now : checkTimestamp(r.timestamp);
      const bound = pos + frameSizeBound(r.key, r.value, r.headers);
      if (bound > buf.length) buf = this.growBuffer(bound, pos);
      const start = pos;
      pos = encodeFrame(buf, pos, offset, timestamp, r.key, r.value, r.headers);
      let filePos = segment.size + (start - pending);
      if (
        filePos > 0 &&
        (filePos + (pos - start) > segmentBytes ||
          (segmentMs >= 0 && timestamp - segment.firstTimestamp > segmentMs))
      ) {
        segment.append(buf, pending, start);
        pending = start;
        segment = this.roll(offset);
        filePos = 0;
      }
      segment.noteFrame(offset - segment.baseOffset, filePos, timestamp, indexIntervalBytes);
      positions[index] = { partition, offset };
      offset++;
    }
    segment.append(buf, pending, pos);
    this.nextOffset = offset;
    this.dirty = true;
  }

  /** Drops every record with offset >= endOffset, durably. */
  truncate(endOffset: number): void {
    if (!Number.isSafeInteger(endOffset) || endOffset < this.startOffset || endOffset > this.nextOffset) {
      throw new WeirError(
        "OFFSET_OUT_OF_RANGE",
        `cannot truncate ${this.topic}/${this.partition} to ${endOffset}: offsets run from ${this.startOffset} to ${this.nextOffset}`,
      );
    }
    if (endOffset === this.nextOffset) return;
    this.active.close();
    const bases = [...this.sealed.map((s) => s.baseOffset), this.active.baseOffset];
    const target = segmentFor(bases, endOffset);
    // Newest first, so that a crash part-way leaves a log that is still a prefix of the old one.
    for (let i = bases.length - 1; bases[i] > target; i--) this.deleteSegment(bases[i]);
    this.sealed = this.sealed.filter((s) => s.baseOffset < target);
    this.cutSegment(target, endOffset);
    fsyncDir(this.dir);
    this.openActive(target);
  }

  /**
   * Cuts a segment before offset endOffset. The kept prefix is copied to a new file that replaces the
   * segment by rename, rather than cut in place: a reader holding the old file keeps reading the old,
   * consistent bytes, and then sees it was unlinked (nlink 0) and finds its offset again in the new
   * files. Cut in place, new records would land under such a reader's file position at different byte
   * boundaries. Truncation is rare (rolling back to a checkpoint), so the copy is affordable.
   */
  private cutSegment(baseOffset: number, endOffset: number): void {
    const cursor = SegmentCursor.open(this.dir, baseOffset);
    if (cursor === null) return;
    let cut: number;
    let size: number;
    try {
      size = cursor.stat().size;
      cursor.scan(baseOffset, endOffset);
      cut = cursor.filePos;
    } finally {
      cursor.close();
    }
    if (cut === size) return;
    const path = logPath(this.dir, baseOffset);
    const tmp = `${path}.truncating`;
    copyFileSync(path, tmp);
    const fd = openSync(tmp, "r+");
    try {
      ftruncateSync(fd, cut);
      fdatasyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  }

  /** fsyncs what was appended since the last sync. */
  flush(): void {
    if (!this.dirty) return;
    this.active.sync();
    this.dirty = false;
  }

  close(sync: boolean): void {
    try {
      if (sync) this.flush();
    } finally {
      this.active.close();
    }
  }

  private load(): void {
    const bases = listSegmentBases(this.dir);
    for (const leftover of listLeftoverFiles(this.dir, bases)) unlinkIfExists(leftover);
    if (bases.length === 0) {
      this.sealed = [];
      this.active = ActiveSegment.create(this.dir, 0);
      this.nextOffset = 0;
      fsyncDir(this.dir);
      return;
    }
    const last = bases[bases.length - 1];
    this.sealed = bases.slice(0, -1).map((baseOffset) => ({
      baseOffset,
      size: statSync(logPath(this.dir, baseOffset)).size,
      maxTimestamp: undefined,
    }));
    this.openActive(last);
  }

  /** Makes `baseOffset` the active segment, recovering it (a torn or corrupt tail is cut and reported). */
  private openActive(baseOffset: number): void {
    const r = ActiveSegment.recover(this.dir, baseOffset, this.config.indexIntervalBytes);
    this.active = r.segment;
    this.nextOffset = r.nextOffset;
    this.dirty = false;
    if (r.truncatedBytes > 0) {
      this.logger(
        `recovered ${this.topic}/${this.partition}: truncated ${r.truncatedBytes} bytes at offset ${r.nextOffset}`,
      );
    }
  }

  /** Seals the active segment and starts a new one at nextBase; then applies retention. */
  private roll(nextBase: number): ActiveSegment {
    const old = this.active;
    old.seal(nextBase);
    this.sealed.push({ baseOffset: old.baseOffset, size: old.size, maxTimestamp: old.maxTimestamp });
    this.active = ActiveSegment.create(this.dir, nextBase);
    fsyncDir(this.dir);
    this.applyRetention(Date.now());
    return this.active;
  }

  /** Deletes the oldest sealed segments that are past retention (by age, then by size); never the active one. */
  private applyRetention(now: number): void {
    const { retentionMs, retentionBytes } = this.config;
    let deleted = 0;
    if (retentionMs >= 0) {
      while (this.sealed.length > 0 && this.sealedMaxTimestamp(this.sealed[0]) < now - retentionMs) {
        this.deleteSegment(this.sealed.shift()!.baseOffset);
        deleted++;
      }
    }
    if (retentionBytes >= 0) {
      let total = this.active.size;
      for (const s of this.sealed) total += s.size;
      while (this.sealed.length > 0 && total > retentionBytes) {
        const s = this.sealed.shift()!;
        this.deleteSegment(s.baseOffset);
        total -= s.size;
        deleted++;
      }
    }
    if (deleted > 0) {
      fsyncDir(this.dir);
      this.logger(
        `retention ${this.topic}/${this.partition}: deleted ${deleted} segment(s); start offset now ${this.startOffset}`,
      );
    }
  }

  /** Newest timestamp of a sealed segment: from its final time-index entry, else by scanning. */
  private sealedMaxTimestamp(s: SealedSegment): number {
    if (s.maxTimestamp !== undefined) return s.maxTimestamp;
    const entry = readLastEntry(timeIndexPath(this.dir, s.baseOffset), TIME_ENTRY_BYTES);
    const hint = entry === null ? null : timeHintOf(entry);
    if (hint !== null && hint.position === s.size) return (s.maxTimestamp = hint.maxTimestamp);
    const cursor = SegmentCursor.open(this.dir, s.baseOffset);
    if (cursor === null) return (s.maxTimestamp = -Infinity);
    try {
      const first = cursor.moveToHint(hint);
      let max =
        hint !== null && cursor.filePos === hint.position && hint.position > 0
          ? hint.maxTimestamp
          : -Infinity;
      cursor.scan(first, Infinity, (c) => {
        if (c.frame.timestamp > max) max = c.frame.timestamp;
      });
      return (s.maxTimestamp = max);
    } finally {
      cursor.close();
    }
  }

  /** The .log goes first: readers and recovery only see segments through their .log file. */
  private deleteSegment(baseOffset: number): void {
    unlinkSync(logPath(this.dir, baseOffset));
    unlinkIfExists(offsetIndexPath(this.dir, baseOffset));
    unlinkIfExists(timeIndexPath(this.dir, baseOffset));
  }

  /**
   * Undoes a failed append. Nothing in memory is trusted: the partition is reloaded from disk (as on
   * open) and cut back to endOffset. If even that fails, the error says the writer must be reopened.
   */
  private rollback(endOffset: number, cause: unknown): void {
    try {
      try {
        this.active.close();
      } catch {
        // already closed by a failed roll; the reload below reopens everything
      }
      this.load();
      if (this.nextOffset > endOffset) this.truncate(endOffset);
    } catch (err) {
      this.broken = true;
      throw new WeirError(
        "IO",
        `append to ${this.topic}/${this.partition} failed (${String(cause)}) and could not be rolled back (${String(err)}); close and reopen the writer to recover`,
        { cause: err },
      );
    }
  }

  private growBuffer(needed: number, keep: number): Buffer {
    const bigger = Buffer.allocUnsafeSlow(Math.max(needed, this.buf.length * 2));
    this.buf.copy(bigger, 0, 0, keep);
    return (this.buf = bigger);
  }
}

function checkTimestamp(ts: number): number {
  if (!Number.isSafeInteger(ts))
    throw new WeirError("USAGE", `record timestamp must be an integer (ms since the epoch), got ${ts}`);
  return ts;
}
