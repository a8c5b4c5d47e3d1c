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
 *   file there gives the lines that follow.
 *
 * Speed: newlines are found in the raw bytes and each batch of complete lines is decoded to one
 * string, then cut into lines (string slices), so multi-byte UTF-8 characters split across chunks
 * are never mangled and the per-line cost is an `indexOf` and a `slice`. Byte positions are worked
 * out only when asked for (the k-th line break in the text is the k-th 0x0A byte: no UTF-8 sequence,
 * valid or not, contains one).
 */
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { WeirError } from "../errors.js";

export interface LineSplitterOptions {
  /** Byte position of the first byte pushed (a resumed file): a byte-order mark counts only at 0. Default 0. */
  from?: number;
}

/**
 * Splits pushed chunks into lines (pull them with `next()`). Push a chunk only once `next()` has
 * returned null, and leave its bytes unchanged until `next()` returns null again.
 */
export class LineSplitter {
  /** Physical line number (1-based, blank lines included) of the last line `next()` returned. */
  lineNumber = 0;
  /** Bytes of an incomplete line carried over from earlier chunks (copies). */
  private carry: Buffer[] = [];
  private carryBytes = 0;
  /** The decoded complete lines of `region`, and the index of the next unread character. */
  private text = "";
  private i = 0;
  private region: Buffer = Buffer.alloc(0);
  /** Absolute byte position of region[0]. */
  private regionStart: number;
  /** Line breaks of `text` consumed (lines handed out or skipped). */
  private breaksTaken = 0;
  /** Position cache: `scanBreaks` line breaks of `region` end before byte `scanByte`. */
  private scanBreaks = 0;
  private scanByte = 0;
  private ended = false;

  constructor(options: LineSplitterOptions = {}) {
    this.regionStart = options.from ?? 0;
  }

  /** Add input. Lines in it become available from `next()`. */
  push(chunk: Buffer): void {
    this.checkDrained("push");
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
    if (this.carryBytes > 0) throw new Error("LineSplitter: pushLines after push of an incomplete line");
    this.setRegion(region);
  }

  /** The next non-blank line (without its line break), or null when the input so far has no more complete lines. */
  next(): string | null {
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
        return text.slice(from, stop);
      }
    }
    this.i = i;
    return null;
  }

  /**
   * Byte position after the last line `next()` returned (and the blank lines it skipped); once
   * `next()` returned null, after every complete line pushed.
   */
  get position(): number {
    if (this.i >= this.text.length) return this.regionStart + this.region.length;
    while (this.scanBreaks < this.breaksTaken) {
      this.scanByte = this.region.indexOf(10, this.scanByte) + 1;
      this.scanBreaks++;
    }
    return this.regionStart + this.scanByte;
  }

  /** True once `next()` returned null: every line pushed so far was handed out. */
  get drained(): boolean {
    return this.i >= this.text.length;
  }

  private checkDrained(what: string): void {
    if (this.ended) throw new Error(`LineSplitter: ${what} after end`);
    if (!this.drained) throw new Error(`LineSplitter: ${what} before next() returned null`);
  }

  private setRegion(region: Buffer): void {
    this.regionStart += this.region.length;
    this.region = region;
    const bom =
      this.regionStart === 0 &&
      region.length >= 3 &&
      region[0] === 0xef &&
      region[1] === 0xbb &&
      region[2] === 0xbf;
    this.text = region.toString("utf8", bom ? 3 : 0);
    this.i = 0;
    this.breaksTaken = 0;
    this.scanBreaks = 0;
    this.scanByte = 0;
  }

  private keep(bytes: Buffer): void {
    if (bytes.length === 0) return;
    // Copy: the caller may reuse the chunk's memory (and a small slice must not pin a large chunk).
    // An incomplete line is held until its line break arrives, however long (LineFile has a limit).
    this.carry.push(Buffer.from(bytes));
    this.carryBytes += bytes.length;
  }
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
   * Longest line (with its line break): a longer one is an error naming where it starts. Default
   * `chunkBytes`; when larger, the buffer grows up to it for a long line.
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
  private readonly maxLineBytes: number;
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
    const chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
    this.maxLineBytes = Math.max(options.maxLineBytes ?? chunkBytes, 1);
    this.buf = Buffer.allocUnsafe(Math.min(chunkBytes, this.maxLineBytes));
    this.bufAt = from;
    this.lines = new LineSplitter({ from });
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
        if (this.buf.length >= this.maxLineBytes)
          throw new WeirError(
            "USAGE",
            `${this.path}: a line longer than ${this.maxLineBytes} bytes at byte ${this.bufAt}`,
          );
        const bigger = Buffer.allocUnsafe(Math.min(this.maxLineBytes, this.buf.length * 2));
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

  /** Byte position after the last line handed out: where a resumed run starts. */
  get position(): number {
    return this.lines.position;
  }

  close(): void {
    closeSync(this.fd);
  }
}
