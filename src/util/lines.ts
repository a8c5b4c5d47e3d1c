/**
 * The one reader of JSON-lines input, shared by every command that reads lines: `weir run --input`
 * (one file or several), `weir produce` (a file or stdin) and, through produce, `run --input
 * --broker`. One set of rules, so a file run and the same file produced to a topic see the same
 * records at the same offsets:
 *
 * - lines end with LF or CRLF (the CR is dropped); a last line without a line break counts;
 * - a UTF-8 byte-order mark is dropped at the start of the input only (byte 0 of a file), nowhere
 *   else: a mark inside the file stays part of its line;
 * - blank lines (nothing but spaces, tabs and CRs) are skipped: they are counted in `lineNumber`
 *   (for messages) but are not records and get no offset;
 * - `position` is the byte position after the last line handed out, for checkpoints: resuming a
 *   file there gives the lines that follow;
 * - a line longer than the maximum record size (MAX_RECORD_BYTES, src/util/records.ts; not counting
 *   its line break) is handed out as the text of its first bytes with `oversize` set to its length —
 *   for a dead letter, or produce's rejection — and the rest of it is never held in memory;
 * - a line whose bytes are not UTF-8 is handed out decoded (U+FFFD for what is not UTF-8) with
 *   `invalidUtf8At` set to the offset of its first such byte, and `lineBytes()` gives its bytes as
 *   they are in the input.
 *
 * Speed: newlines are found in the raw bytes and each batch of complete lines is decoded to one
 * string, then cut into lines (string slices), so multi-byte UTF-8 characters split across chunks
 * are never mangled and the per-line cost is an `indexOf` and a `slice`. Each batch is checked to be
 * UTF-8 at once (buffer.isUtf8, native); only a batch that is not looks at its lines one by one.
 * Byte positions are worked out only when asked for (the k-th line break in the text is the k-th
 * 0x0A byte: no UTF-8 sequence, valid or not, contains one, and the decoder never makes a byte that
 * is not UTF-8 swallow the line break after it).
 */
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { WeirError } from "../errors.js";
import { MAX_RECORD_BYTES, OVERSIZE_RAW_BYTES } from "./records.js";
import { decodePrefix, firstInvalidUtf8, isUtf8 } from "./text.js";

export interface LineSplitterOptions {
  /** Byte position of the first byte pushed (a resumed file): a byte-order mark counts only at 0. Default 0. */
  from?: number;
  /**
   * Longest line in bytes, not counting its line break (default MAX_RECORD_BYTES). A longer one is
   * handed out as the text of its first OVERSIZE_RAW_BYTES bytes, with `oversize` set to its length.
   */
  maxLineBytes?: number;
}

const EMPTY = Buffer.alloc(0);
/** Bytes of an over-long line kept for its text: what raw shows, and a byte-order mark before it. */
const LONG_PREFIX_BYTES = OVERSIZE_RAW_BYTES + 3;

/** An over-long line waiting to be handed out. */
interface LongLine {
  text: string;
  /** Its length in bytes (without line break). */
  bytes: number;
  blank: boolean;
  /** Byte position where it starts. */
  start: number;
}

/** An over-long line being read past (push mode). */
interface Skipping {
  prefix: Buffer;
  /** Bytes so far. */
  bytes: number;
  /** Nothing but spaces, tabs and CRs so far. */
  blank: boolean;
  /** Its last byte so far. */
  last: number;
}

/**
 * Splits pushed chunks into lines (pull them with `next()`). Push a chunk only once `next()` has
 * returned null, and leave its bytes unchanged until `next()` returns null again.
 */
export class LineSplitter {
  /** Physical line number (1-based, blank lines included) of the last line `next()` returned. */
  lineNumber = 0;
  /**
   * Set by `next()`: -1, or — the line's bytes are not UTF-8 — the offset in the line of its first
   * byte that is not (the line returned has U+FFFD in place of such bytes).
   */
  invalidUtf8At = -1;
  /**
   * Set by `next()`: -1, or — the line is longer than maxLineBytes — its length in bytes (the line
   * returned is then the text of its first OVERSIZE_RAW_BYTES bytes).
   */
  oversize = -1;
  private readonly maxLineBytes: number;
  /** Lines of at most this many UTF-16 units are within maxLineBytes whatever their characters. */
  private readonly maxLineUnits: number;
  /** Bytes of an incomplete line carried over from earlier chunks (copies). */
  private carry: Buffer[] = [];
  private carryBytes = 0;
  private skipping: Skipping | null = null;
  /** An over-long line to hand out before the lines of `region`. */
  private long: LongLine | null = null;
  /** The decoded complete lines of `region`, and the index of the next unread character. */
  private text = "";
  private i = 0;
  private region: Buffer = EMPTY;
  /** Absolute byte position of region[0]. */
  private regionStart: number;
  /** Absolute byte position after every byte given to a region or an over-long line so far. */
  private endAt: number;
  /** `region` starts with a byte-order mark at byte 0 of the input (not part of its first line). */
  private bom = false;
  /** `region` is UTF-8 throughout (the common case: no line needs a look of its own). */
  private regionValid = true;
  /** Line breaks of `text` consumed (lines handed out or skipped). */
  private breaksTaken = 0;
  /** Position cache: `scanBreaks` line breaks of `region` end before byte `scanByte`. */
  private scanBreaks = 0;
  private scanByte = 0;
  /** region[lineStart, lineEnd) holds the last line handed out, when worked out (lineStart -1 if not). */
  private lineStart = -1;
  private lineEnd = -1;
  private ended = false;

  constructor(options: LineSplitterOptions = {}) {
    this.regionStart = this.endAt = options.from ?? 0;
    this.maxLineBytes = Math.max(options.maxLineBytes ?? MAX_RECORD_BYTES, 1);
    this.maxLineUnits = Math.floor(this.maxLineBytes / 3);
  }

  /** Add input. Lines in it become available from `next()`. */
  push(chunk: Buffer): void {
    this.checkDrained("push");
    if (this.skipping !== null) {
      const br = chunk.indexOf(10);
      if (br === -1) {
        this.skip(chunk, 0, chunk.length);
        return;
      }
      this.skip(chunk, 0, br);
      this.finishLong(true);
      chunk = chunk.subarray(br + 1);
    }
    const lastBreak = chunk.lastIndexOf(10);
    if (lastBreak === -1) {
      this.keep(chunk);
      return;
    }
    const head = chunk.subarray(0, lastBreak + 1);
    if (this.carryBytes > 0) {
      this.carry.push(head);
      const region = Buffer.concat(this.carry, this.carryBytes + head.length);
      this.carry = [];
      this.carryBytes = 0;
      this.setRegion(region);
    } else {
      this.setRegion(head);
    }
    this.keep(chunk.subarray(lastBreak + 1));
  }

  /** The input ended: a last line without a line break becomes available from `next()`. */
  end(): void {
    if (this.ended) return;
    this.checkDrained("end");
    this.ended = true;
    if (this.skipping !== null) {
      this.finishLong(false);
      return;
    }
    if (this.carryBytes === 0) return;
    const region = Buffer.concat(this.carry, this.carryBytes);
    this.carry = [];
    this.carryBytes = 0;
    this.setRegion(region);
  }

  /**
   * Add whole lines, for a reader that keeps an incomplete line itself (LineFile, without copying
   * it): `region` ends with a line break, or holds the last line of the input. Not mixed with `push`.
   */
  pushLines(region: Buffer): void {
    this.checkDrained("pushLines");
    if (this.carryBytes > 0 || this.skipping !== null)
      throw new Error("LineSplitter: pushLines after push of an incomplete line");
    this.setRegion(region);
  }

  /**
   * Add a line longer than maxLineBytes that a reader keeping its own buffer (LineFile) read past:
   * its first bytes (at least LONG_PREFIX_BYTES when it has them), its length in bytes without its
   * line break, its last byte, whether it is blank, and whether a line break ends it (else the input ends).
   */
  pushLongLine(prefix: Buffer, bytes: number, last: number, blank: boolean, lineBreak: boolean): void {
    this.checkDrained("pushLongLine");
    this.skipping = { prefix, bytes, blank, last };
    this.finishLong(lineBreak);
  }

  /** The next non-blank line (without its line break), or null when the input so far has no more complete lines. */
  next(): string | null {
    this.invalidUtf8At = -1;
    this.oversize = -1;
    this.lineStart = -1;
    const long = this.long;
    if (long !== null) {
      this.long = null;
      this.lineNumber++;
      if (!long.blank) {
        this.oversize = long.bytes;
        return long.text;
      }
    }
    const text = this.text;
    const len = text.length;
    let i = this.i;
    while (i < len) {
      let br = text.indexOf("\n", i);
      if (br === -1) br = len; // the last line of the input, without a line break
      let stop = br;
      if (stop > i && text.charCodeAt(stop - 1) === 13) stop--;
      const from = i;
      i = br + 1;
      this.breaksTaken++;
      this.lineNumber++;
      if (!isBlankRange(text, from, stop)) {
        this.i = i;
        if (this.regionValid && stop - from <= this.maxLineUnits) return text.slice(from, stop);
        return this.checkedLine(from, stop);
      }
    }
    this.i = i;
    return null;
  }

  /**
   * The bytes of the line `next()` returned last, as they are in the input (without its line
   * break): a view, valid until the next push. Not for an over-long line.
   */
  lineBytes(): Buffer {
    if (this.oversize >= 0) throw new Error("LineSplitter: lineBytes of an over-long line");
    if (this.lineStart === -1) this.findLine();
    return this.region.subarray(this.lineStart, this.lineEnd);
  }

  /**
   * Byte position after the last line `next()` returned (and the blank lines it skipped); once
   * `next()` returned null, after every complete line pushed.
   */
  get position(): number {
    if (this.long !== null) return this.long.start;
    if (this.i >= this.text.length) return this.endAt;
    this.scanTo(this.breaksTaken);
    return this.regionStart + this.scanByte;
  }

  /** True once `next()` returned null: every line pushed so far was handed out. */
  get drained(): boolean {
    return this.long === null && this.i >= this.text.length;
  }

  private checkDrained(what: string): void {
    if (this.ended) throw new Error(`LineSplitter: ${what} after end`);
    if (!this.drained) throw new Error(`LineSplitter: ${what} before next() returned null`);
  }

  private setRegion(region: Buffer): void {
    this.regionStart = this.endAt;
    this.endAt += region.length;
    this.region = region;
    this.bom =
      this.regionStart === 0 &&
      region.length >= 3 &&
      region[0] === 0xef &&
      region[1] === 0xbb &&
      region[2] === 0xbf;
    this.text = region.toString("utf8", this.bom ? 3 : 0);
    this.regionValid = isUtf8(region);
    this.i = 0;
    this.breaksTaken = 0;
    this.scanBreaks = 0;
    this.scanByte = 0;
  }

  /** Move the position cache forward to after `breaks` line breaks of the region. */
  private scanTo(breaks: number): void {
    while (this.scanBreaks < breaks) {
      this.scanByte = this.region.indexOf(10, this.scanByte) + 1;
      this.scanBreaks++;
    }
  }

  /** Work out where in `region` the last line handed out lies (lineStart, lineEnd). */
  private findLine(): void {
    this.scanTo(this.breaksTaken - 1);
    let start = this.scanByte;
    if (start === 0 && this.bom) start = 3;
    let end = this.region.indexOf(10, start);
    if (end === -1) end = this.region.length;
    if (end > start && this.region[end - 1] === 13) end--;
    this.lineStart = start;
    this.lineEnd = end;
  }

  /** The line text[from, stop) of a region that is not all UTF-8, or that may be over-long: checked. */
  private checkedLine(from: number, stop: number): string {
    this.findLine();
    const start = this.lineStart;
    const end = this.lineEnd;
    if (end - start > this.maxLineBytes) {
      this.oversize = end - start;
      return prefixText(this.region, start, end);
    }
    if (!this.regionValid && !isUtf8(this.region.subarray(start, end)))
      this.invalidUtf8At = firstInvalidUtf8(this.region, start, end) - start;
    return this.text.slice(from, stop);
  }

  private keep(bytes: Buffer): void {
    if (bytes.length === 0) return;
    if (this.skipping !== null) {
      this.skip(bytes, 0, bytes.length);
      return;
    }
    // Copy: the caller may reuse the chunk's memory (and a small slice must not pin a large chunk).
    this.carry.push(Buffer.from(bytes));
    this.carryBytes += bytes.length;
    // Over the limit even if a CR ends it: read past the rest of the line, keeping its first bytes.
    if (this.carryBytes > this.maxLineBytes + 1) {
      const all = Buffer.concat(this.carry, this.carryBytes);
      const bom = this.endAt === 0 && all[0] === 0xef && all[1] === 0xbb && all[2] === 0xbf ? 3 : 0;
      if (all.length - bom <= this.maxLineBytes + 1) {
        this.carry = [all];
        return;
      }
      this.carry = [];
      this.carryBytes = 0;
      this.skipping = { prefix: all.subarray(0, bom), bytes: bom, blank: true, last: 0 };
      this.skip(all, bom, all.length);
    }
  }

  /** Count bytes[from, to) into the over-long line being read past. */
  private skip(bytes: Buffer, from: number, to: number): void {
    const s = this.skipping!;
    if (to <= from) return;
    s.prefix = growPrefix(s.prefix, bytes, from, to);
    s.bytes += to - from;
    s.last = bytes[to - 1];
    if (s.blank) s.blank = isBlankBytes(bytes, from, to);
  }

  /** The over-long line read past is complete (a line break follows it, or the input ends). */
  private finishLong(lineBreak: boolean): void {
    const s = this.skipping!;
    this.skipping = null;
    const start = this.endAt;
    let from = 0;
    let bytes = s.bytes;
    if (start === 0 && s.prefix[0] === 0xef && s.prefix[1] === 0xbb && s.prefix[2] === 0xbf) {
      from = 3;
      bytes -= 3;
    }
    if (s.last === 13 && bytes > 0) bytes--; // a CR right before the line break (or the end) goes
    this.long = {
      text: prefixText(s.prefix, from, from + bytes),
      bytes,
      blank: s.blank,
      start,
    };
    this.endAt += s.bytes + (lineBreak ? 1 : 0);
  }
}

/**
 * What an over-long line buf[from, to) shows: its text when it has at most OVERSIZE_RAW_BYTES bytes,
 * else the text of its first OVERSIZE_RAW_BYTES bytes (cut between characters). `buf` may end
 * before `to` (the first bytes of a line read past), but not before that many.
 */
function prefixText(buf: Buffer, from: number, to: number): string {
  if (to - from <= OVERSIZE_RAW_BYTES) return buf.toString("utf8", from, to);
  return decodePrefix(buf, from, from + OVERSIZE_RAW_BYTES);
}

/** `prefix` with buf[from, to) added, up to LONG_PREFIX_BYTES in all (a copy when it grows). */
function growPrefix(prefix: Buffer, buf: Buffer, from: number, to: number): Buffer {
  const room = LONG_PREFIX_BYTES - prefix.length;
  if (room <= 0) return prefix;
  return Buffer.concat([prefix, buf.subarray(from, Math.min(to, from + room))]);
}

/** True when buf[from, to) holds nothing but spaces, tabs and CRs. */
function isBlankBytes(buf: Buffer, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = buf[i];
    if (c !== 32 && c !== 9 && c !== 13) return false;
  }
  return true;
}

/** True when text[from, to) holds nothing but spaces, tabs and CRs (a blank line: skipped). */
export function isBlankRange(text: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c !== 32 && c !== 9 && c !== 13) return false;
  }
  return true;
}

/** True for a blank line (see isBlankRange). */
export function isBlankLine(line: string): boolean {
  return isBlankRange(line, 0, line.length);
}

export interface LineFileOptions {
  /** Bytes read at a time; default 4 MiB. */
  chunkBytes?: number;
  /**
   * Longest line in bytes, not counting its line break (default MAX_RECORD_BYTES): the buffer
   * grows up to it for a long line. A longer line is read past and handed out as the splitter
   * hands out one (its first bytes, with `oversize` set).
   */
  maxLineBytes?: number;
}

export const DEFAULT_CHUNK_BYTES = 4 * 1024 * 1024;

/**
 * A JSON-lines file read with LineSplitter from a byte position (0, or a checkpointed `position`),
 * a chunk at a time with positional reads. Either batch by batch — `read()` then `next()` until
 * null, a natural batch per chunk — or line by line with `nextLine()`. The incomplete line at the
 * end of a chunk stays in the buffer and the next read goes after it: nothing else is copied.
 */
export class LineFile {
  readonly size: number;
  private readonly fd: number;
  /** The buffer's largest size: the longest line with a byte-order mark, a CR and a LF. */
  private readonly maxBuffer: number;
  private buf: Buffer;
  private readonly lines: LineSplitter;
  /** File position of buf[0]. */
  private bufAt: number;
  /** buf[0, filled) holds bytes read; buf[0, taken) went to the splitter. */
  private filled = 0;
  private taken = 0;
  private atEnd = false;

  constructor(
    readonly path: string,
    from = 0,
    options: LineFileOptions = {},
  ) {
    try {
      this.fd = openSync(path, "r");
    } catch (err) {
      throw new WeirError(
        "USAGE",
        `cannot read input file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      );
    }
    try {
      this.size = fstatSync(this.fd).size;
    } catch (err) {
      closeSync(this.fd);
      throw err;
    }
    const chunkBytes = Math.max(options.chunkBytes ?? DEFAULT_CHUNK_BYTES, 1);
    const maxLineBytes = Math.max(options.maxLineBytes ?? MAX_RECORD_BYTES, 1);
    this.maxBuffer = maxLineBytes + 5;
    this.buf = Buffer.allocUnsafe(Math.min(chunkBytes, this.maxBuffer));
    this.bufAt = from;
    this.lines = new LineSplitter({ from, maxLineBytes });
  }

  /**
   * Read the next chunk (call it once `next()` returned null). False when the file was read to its
   * end and its last line handed out: nothing more will come.
   */
  read(): boolean {
    if (this.atEnd) return false;
    if (!this.lines.drained) throw new Error("LineFile: read before next() returned null");
    // The incomplete line after the lines handed to the splitter moves to the front.
    if (this.taken > 0) {
      this.buf.copy(this.buf, 0, this.taken, this.filled);
      this.bufAt += this.taken;
      this.filled -= this.taken;
      this.taken = 0;
    }
    for (;;) {
      if (this.filled === this.buf.length) {
        if (this.buf.length >= this.maxBuffer) {
          // No line break in the longest line with a mark, CR and LF: over the limit.
          this.readPastLongLine();
          return true;
        }
        const bigger = Buffer.allocUnsafe(Math.min(this.maxBuffer, this.buf.length * 2));
        this.buf.copy(bigger, 0, 0, this.filled);
        this.buf = bigger;
      }
      const n = readSync(
        this.fd,
        this.buf,
        this.filled,
        this.buf.length - this.filled,
        this.bufAt + this.filled,
      );
      if (n === 0) {
        this.atEnd = true;
        if (this.filled > 0) this.lines.pushLines(this.buf.subarray(0, this.filled));
        this.taken = this.filled;
        return true;
      }
      const lastBreak = this.buf.lastIndexOf(10, this.filled + n - 1);
      this.filled += n;
      if (lastBreak === -1) continue; // the line goes on: read more
      this.taken = lastBreak + 1;
      this.lines.pushLines(this.buf.subarray(0, this.taken));
      return true;
    }
  }

  /**
   * buf[0, filled) is the start of a line longer than the limit: read past the rest of it (into the
   * same buffer), keep its first bytes for the splitter, and keep what follows it for the next read.
   */
  private readPastLongLine(): void {
    const buf = this.buf;
    let prefix: Buffer = Buffer.from(buf.subarray(0, Math.min(this.filled, LONG_PREFIX_BYTES)));
    const bom = this.bufAt === 0 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf ? 3 : 0;
    let bytes = this.filled;
    let last = buf[this.filled - 1];
    let blank = isBlankBytes(buf, bom, this.filled);
    for (;;) {
      const n = readSync(this.fd, buf, 0, buf.length, this.bufAt + bytes);
      if (n === 0) {
        // The file ends inside the line.
        this.lines.pushLongLine(prefix, bytes, last, blank, false);
        this.bufAt += bytes;
        this.filled = this.taken = 0;
        this.atEnd = true;
        return;
      }
      let br = buf.indexOf(10);
      if (br >= n) br = -1;
      const upTo = br === -1 ? n : br;
      if (upTo > 0) {
        prefix = growPrefix(prefix, buf, 0, upTo);
        last = buf[upTo - 1];
        if (blank) blank = isBlankBytes(buf, 0, upTo);
      }
      bytes += upTo;
      if (br === -1) continue;
      this.lines.pushLongLine(prefix, bytes, last, blank, true);
      buf.copy(buf, 0, br + 1, n);
      this.bufAt += bytes + 1;
      this.filled = n - br - 1;
      this.taken = 0;
      return;
    }
  }

  /** The next non-blank line of what was read, or null: `read()` for more. */
  next(): string | null {
    return this.lines.next();
  }

  /** The next non-blank line, reading as needed; null at the end of the file. */
  nextLine(): string | null {
    for (;;) {
      const line = this.lines.next();
      if (line !== null || !this.read()) return line;
    }
  }

  /** After a line: -1, or the offset in it of its first byte that is not UTF-8 (LineSplitter.invalidUtf8At). */
  get invalidUtf8At(): number {
    return this.lines.invalidUtf8At;
  }

  /** After a line: -1, or its length in bytes when it is over the limit (LineSplitter.oversize). */
  get oversize(): number {
    return this.lines.oversize;
  }

  /** Byte position after the last line handed out: where a resumed run starts. */
  get position(): number {
    return this.lines.position;
  }

  close(): void {
    closeSync(this.fd);
  }
}
