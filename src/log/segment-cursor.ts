/**
 * Reads the frames of one segment file through a large chunk buffer: one readSync per ~1 MiB, CRCs
 * verified for a whole run of frames with one call (see crc32c.ts), records sliced out of the chunk
 * without copying.
 *
 * Chunk ownership: records handed out by record() are views into the chunk, so once one has been
 * handed out, the bytes before the current frame are never overwritten; a refill then reads into the
 * free space after the current frame, or into a fresh chunk. Bytes from the current frame onwards are
 * always re-read from the file on a refill: a frame that looked torn may have been completed, or
 * rewritten after a writer's recovery cut it, since we last read it.
 */
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { framesIntact } from "./crc32c.js";
import { errnoCode } from "./fs-util.js";
import {
  FRAME_BAD,
  FRAME_INCOMPLETE,
  MIN_FRAME_BYTES,
  decodeHeaders,
  frameCrcOk,
  frameExtent,
  newFrameFields,
  parseFrame,
} from "./record-codec.js";
import { logPath } from "./segment-files.js";
import type { IndexHint } from "./segment-index.js";
import type { LogRecord } from "./types.js";

/** Largest read chunk of a reader catching up (one readSync per this many bytes). */
export const READ_CHUNK_BYTES = 1 << 20;
/**
 * First chunk size. A reader at the tail reads a few records at a time and keeps this small chunk;
 * a chunk grows (x4, up to the maximum) only when a read fills it, i.e. when the reader is behind.
 */
const FIRST_CHUNK_BYTES = 16 * 1024;
const NO_CHUNK = Buffer.alloc(0);
/** At most this many bytes of frames are CRC-checked per call: bounds the work one poll(1) can trigger. */
const VERIFY_RUN_BYTES = 256 * 1024;

export class SegmentCursor {
  /** Fields of the frame at filePos after a successful check(). Positions are indexes into the chunk. */
  readonly frame = newFrameFields();
  private pos = 0;
  private frameLength = 0;
  private chunk: Buffer;
  /** File position of chunk[0]. */
  private chunkStart = 0;
  /** chunk[0, chunkEnd) holds file bytes. */
  private chunkEnd = 0;
  /**
   * chunk[verifiedStart, verifiedEnd) is a chain of frames whose CRCs matched. Only skip() walks
   * inside it, so a position in it is always a frame boundary.
   */
  private verifiedStart = 0;
  private verifiedEnd = 0;
  /** Whether records viewing this chunk were handed out (then it must not be overwritten before pos). */
  private shared = false;
  /** Size of the next chunk to allocate. */
  private chunkTarget: number;

  private constructor(
    readonly baseOffset: number,
    private readonly fd: number,
    private readonly maxChunkBytes: number,
    chunk: Buffer,
  ) {
    this.chunk = chunk;
    this.chunkTarget = Math.max(chunk.length, Math.min(FIRST_CHUNK_BYTES, maxChunkBytes));
  }

  /**
   * Opens a segment for reading; null when it does not exist (deleted by retention or truncation).
   * The chunk of `previous` is taken over when no record views it (moving to the next segment then
   * costs no allocation). No chunk is allocated before the first read.
   */
  static open(
    dir: string,
    baseOffset: number,
    maxChunkBytes = READ_CHUNK_BYTES,
    previous?: SegmentCursor,
  ): SegmentCursor | null {
    let fd: number;
    try {
      fd = openSync(logPath(dir, baseOffset), "r");
    } catch (err) {
      if (errnoCode(err) === "ENOENT") return null;
      throw err;
    }
    const reuse = previous !== undefined && !previous.shared;
    const cursor = new SegmentCursor(baseOffset, fd, maxChunkBytes, reuse ? previous.chunk : NO_CHUNK);
    if (previous !== undefined) previous.forgetChunk();
    return cursor;
  }

  /** File position of the frame the cursor is at. */
  get filePos(): number {
    return this.pos;
  }

  /** Moves to a file position (which had better be a frame boundary: check() will tell). */
  moveTo(filePos: number): void {
    this.pos = filePos;
    this.verifiedStart = this.verifiedEnd = 0;
  }

  /**
   * Validates the frame at filePos, reading from the file when it is not wholly in the chunk (or looked
   * bad in it). Returns its length (> 0), FRAME_INCOMPLETE or FRAME_BAD.
   */
  check(): number {
    const rel = this.pos - this.chunkStart;
    let needed = 0;
    if (rel >= 0 && rel < this.chunkEnd) {
      const r = this.checkAt(rel);
      if (r > 0) return r;
      if (r === FRAME_INCOMPLETE) needed = this.frame.needed;
    }
    // The first read may learn the frame's length only to find it bigger than what was read: read again
    // unless the file simply has no more bytes yet.
    const atEof = this.refill(needed);
    const r = this.checkAt(this.pos - this.chunkStart);
    if (r !== FRAME_INCOMPLETE || atEof) return r;
    this.refill(this.frame.needed);
    return this.checkAt(this.pos - this.chunkStart);
  }

  /** Moves past the frame check() validated. */
  skip(): void {
    this.pos += this.frameLength;
  }

  /** The record check() validated; its key, value and header values are views into the chunk. */
  record(topic: string, partition: number): LogRecord {
    const c = this.chunk;
    const f = this.frame;
    this.shared = true;
    return {
      topic,
      partition,
      offset: f.offset,
      timestamp: f.timestamp,
      key: f.keyLength < 0 ? null : c.subarray(f.keyStart, f.keyStart + f.keyLength),
      value: c.subarray(f.valueStart, f.valueStart + f.valueLength),
      headers: decodeHeaders(c, f),
    };
  }

  /**
   * Positions the cursor at an index entry if the entry is true (a valid frame with the offset it
   * claims starts there), else at the segment start. Returns the offset of the frame it is now at.
   */
  moveToHint(hint: IndexHint | null): number {
    if (hint !== null) {
      this.moveTo(hint.position);
      if (this.check() > 0 && this.frame.offset === this.baseOffset + hint.relativeOffset)
        return this.frame.offset;
    }
    this.moveTo(0);
    return this.baseOffset;
  }

  /**
   * Walks valid frames with consecutive offsets starting at `expected`, stopping at the first
   * incomplete, bad or out-of-sequence frame, or at offset `stopAt`. Leaves filePos after the last
   * accepted frame and returns the offset after it.
   */
  scan(expected: number, stopAt = Infinity, visit?: (cursor: SegmentCursor) => void): number {
    while (expected < stopAt && this.check() > 0 && this.frame.offset === expected) {
      visit?.(this);
      this.skip();
      expected++;
    }
    return expected;
  }

  stat(): { size: number; deleted: boolean } {
    const st = fstatSync(this.fd);
    return { size: st.size, deleted: st.nlink === 0 };
  }

  close(): void {
    closeSync(this.fd);
  }

  private checkAt(rel: number): number {
    const f = this.frame;
    const total = frameExtent(this.chunk, rel, this.chunkEnd, f);
    if (total <= 0) return total;
    if (rel < this.verifiedStart || rel >= this.verifiedEnd) this.verifyRun(rel);
    if (rel + total > this.verifiedEnd) return FRAME_BAD;
    const r = parseFrame(this.chunk, rel, total, f);
    if (r > 0) this.frameLength = r;
    return r;
  }

  /** CRC-checks the run of complete frames starting at rel with one call; on a mismatch, finds the first bad frame. */
  private verifyRun(rel: number): void {
    const f = this.frame;
    let end = rel;
    while (end - rel < VERIFY_RUN_BYTES) {
      const total = frameExtent(this.chunk, end, this.chunkEnd, f);
      if (total <= 0) break;
      end += total;
    }
    if (!framesIntact(this.chunk, rel, end)) {
      let good = rel;
      while (good < end) {
        const total = frameExtent(this.chunk, good, end, f);
        if (!frameCrcOk(this.chunk, good, total)) break;
        good += total;
      }
      end = good;
    }
    this.verifiedStart = rel;
    this.verifiedEnd = end;
  }

  /** Reads file bytes from pos on into the chunk (at least `needed` if the file has them); true if it hit the end of the file. */
  private refill(needed: number): boolean {
    const want = Math.max(needed, MIN_FRAME_BYTES);
    let at = this.pos - this.chunkStart;
    const room = this.chunk.length - at;
    if (at < 0 || at > this.chunkEnd || room < want || room < this.chunkTarget >>> 2) {
      // Start over at the beginning of a buffer: a fresh one if records view this one (or it is too small).
      if (this.shared || this.chunk.length < Math.max(want, this.chunkTarget)) {
        this.chunk = Buffer.allocUnsafeSlow(Math.max(this.chunkTarget, want));
        this.shared = false;
      }
      at = 0;
    }
    this.chunkStart = this.pos - at;
    this.verifiedStart = this.verifiedEnd = at;
    let end = at;
    let atEof = false;
    while (end < this.chunk.length) {
      const n = readSync(this.fd, this.chunk, end, this.chunk.length - end, this.chunkStart + end);
      if (n === 0) {
        atEof = true;
        break;
      }
      end += n;
      if (end - at >= want) break;
    }
    this.chunkEnd = end;
    if (end === this.chunk.length && this.chunkTarget < this.maxChunkBytes) {
      this.chunkTarget = Math.min(this.chunkTarget * 4, this.maxChunkBytes);
    }
    return atEof;
  }

  /** Its chunk now belongs to another cursor. */
  private forgetChunk(): void {
    this.chunkEnd = 0;
    this.verifiedStart = this.verifiedEnd = 0;
  }
}
