/**
 * The segment a partition's writer appends to: its open files and what the writer must know about it
 * (size, timestamps, where the last index entries were put).
 */
import { closeSync, fdatasyncSync, ftruncateSync, openSync, statSync } from "node:fs";
import { WeirError } from "../errors.js";
import { errnoCode, writeFully } from "./fs-util.js";
import { SegmentCursor } from "./segment-cursor.js";
import { logPath, offsetIndexPath, timeIndexPath } from "./segment-files.js";
import { IndexAppender } from "./segment-index.js";

/** What recovery found in the last segment. */
export interface RecoveredSegment {
  readonly segment: ActiveSegment;
  /** Offset the next record appended gets. */
  readonly nextOffset: number;
  /** Bytes cut off the end of the file (a torn or corrupt tail). */
  readonly truncatedBytes: number;
}

export class ActiveSegment {
  /** Bytes in the log file. */
  size = 0;
  /** Timestamp of the first record (NaN while empty): what rolling by segmentMs measures from. */
  firstTimestamp = NaN;
  maxTimestamp = -Infinity;
  private lastIndexedPos = 0;
  private lastTimeIndexed = -Infinity;

  private constructor(
    readonly dir: string,
    readonly baseOffset: number,
    private readonly logFd: number,
    private readonly offsetIndex: IndexAppender,
    private readonly timeIndex: IndexAppender,
  ) {}

  /** Creates the files of a new, empty segment (the caller makes the directory entry durable). */
  static create(dir: string, baseOffset: number): ActiveSegment {
    const path = logPath(dir, baseOffset);
    let logFd: number;
    try {
      logFd = openSync(path, "wx+");
    } catch (err) {
      if (errnoCode(err) !== "EEXIST") throw err;
      // Only an empty leftover is harmless; records already there would collide with the ones to come.
      if (statSync(path).size > 0) {
        throw new WeirError(
          "CORRUPT",
          `segment ${path} already exists and is not empty; refusing to overwrite it`,
        );
      }
      logFd = openSync(path, "r+");
    }
    return new ActiveSegment(
      dir,
      baseOffset,
      logFd,
      new IndexAppender(openSync(offsetIndexPath(dir, baseOffset), "w+"), 0),
      new IndexAppender(openSync(timeIndexPath(dir, baseOffset), "w+"), 0),
    );
  }

  /**
   * Opens an existing segment as the active one: walks its frames verifying each CRC and that offsets
   * run on from the base, cuts the file after the last good frame, makes the cut durable and rebuilds
   * both indexes from what remains. Nothing from the old indexes is trusted.
   *
   * Cutting in place is safe for concurrent readers: none can be past the first bad frame.
   */
  static recover(dir: string, baseOffset: number, indexIntervalBytes: number): RecoveredSegment {
    const cursor = SegmentCursor.open(dir, baseOffset);
    if (cursor === null)
      throw new WeirError(
        "CORRUPT",
        `segment ${logPath(dir, baseOffset)} vanished while the partition was locked`,
      );
    const segment = new ActiveSegment(
      dir,
      baseOffset,
      openSync(logPath(dir, baseOffset), "r+"),
      new IndexAppender(openSync(offsetIndexPath(dir, baseOffset), "w+"), 0),
      new IndexAppender(openSync(timeIndexPath(dir, baseOffset), "w+"), 0),
    );
    let nextOffset: number;
    let fileSize: number;
    try {
      fileSize = cursor.stat().size;
      nextOffset = cursor.scan(baseOffset, Infinity, (c) =>
        segment.noteFrame(c.frame.offset - baseOffset, c.filePos, c.frame.timestamp, indexIntervalBytes),
      );
      segment.size = cursor.filePos;
    } finally {
      cursor.close();
    }
    if (segment.size < fileSize) {
      ftruncateSync(segment.logFd, segment.size);
      fdatasyncSync(segment.logFd);
    }
    segment.offsetIndex.write();
    segment.timeIndex.write();
    return { segment, nextOffset, truncatedBytes: fileSize - segment.size };
  }

  /**
   * Accounts for a frame about to be written at filePos: adds index entries when indexIntervalBytes of
   * log have passed since the last one, and tracks timestamps. Called in order for every frame.
   */
  noteFrame(relativeOffset: number, filePos: number, timestamp: number, indexIntervalBytes: number): void {
    if (filePos - this.lastIndexedPos >= indexIntervalBytes) {
      this.offsetIndex.addOffsetEntry(relativeOffset, filePos);
      this.lastIndexedPos = filePos;
      if (this.maxTimestamp > this.lastTimeIndexed) {
        this.timeIndex.addTimeEntry(this.maxTimestamp, relativeOffset, filePos);
        this.lastTimeIndexed = this.maxTimestamp;
      }
    }
    if (filePos === 0) this.firstTimestamp = timestamp;
    if (timestamp > this.maxTimestamp) this.maxTimestamp = timestamp;
  }

  /** Writes buf[start, end) (whole frames) at the end of the log, then the index entries describing them. */
  append(buf: Buffer, start: number, end: number): void {
    if (end === start) return;
    writeFully(this.logFd, buf, start, end - start, this.size);
    this.size += end - start;
    this.offsetIndex.write();
    this.timeIndex.write();
  }

  sync(): void {
    fdatasyncSync(this.logFd);
  }

  /**
   * Seals the segment before a roll: a final time-index entry (so its newest timestamp is known without
   * a scan), everything on stable storage, files closed.
   */
  seal(nextOffset: number): void {
    if (this.size > 0)
      this.timeIndex.addTimeEntry(this.maxTimestamp, nextOffset - this.baseOffset, this.size);
    this.timeIndex.write();
    fdatasyncSync(this.logFd);
    fdatasyncSync(this.offsetIndex.fd);
    fdatasyncSync(this.timeIndex.fd);
    this.close();
  }

  close(): void {
    closeSync(this.logFd);
    closeSync(this.offsetIndex.fd);
    closeSync(this.timeIndex.fd);
  }
}
