/**
 * Splitting a byte stream into text lines, fast: newlines are found in the raw chunks (memchr via
 * Buffer.indexOf) and only complete lines are decoded, so multi-byte UTF-8 characters split across
 * chunks are never mangled. Handles LF and CRLF, a final line without newline and a UTF-8 BOM.
 */

export type LineHandler = (line: string, lineNumber: number) => void;

export class LineSplitter {
  /** Bytes of an incomplete line carried over from earlier chunks. */
  private carry: Buffer[] = [];
  private carryBytes = 0;
  private started = false;
  /** Physical lines seen so far (including empty ones): the number of the last line handed out. */
  lineNumber = 0;

  /** Feed a chunk; `onLine` is called for every complete line in it (empty lines included). */
  push(chunk: Buffer, onLine: LineHandler): void {
    let start = 0;
    if (!this.started) {
      if (chunk.length === 0) return;
      this.started = true;
      if (chunk.length >= 3 && chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) start = 3;
    }
    let nl = chunk.indexOf(10, start);
    if (nl === -1) {
      this.keep(chunk.subarray(start));
      return;
    }
    if (this.carryBytes > 0) {
      this.keep(chunk.subarray(start, nl));
      const line = Buffer.concat(this.carry, this.carryBytes);
      this.carry = [];
      this.carryBytes = 0;
      this.emit(line, 0, line.length, onLine);
      start = nl + 1;
      nl = chunk.indexOf(10, start);
    }
    while (nl !== -1) {
      this.emit(chunk, start, nl, onLine);
      start = nl + 1;
      nl = chunk.indexOf(10, start);
    }
    if (start < chunk.length) this.keep(chunk.subarray(start));
  }

  /** The input ended: hand out the last line if it had no newline. */
  end(onLine: LineHandler): void {
    if (this.carryBytes === 0) return;
    const line = Buffer.concat(this.carry, this.carryBytes);
    this.carry = [];
    this.carryBytes = 0;
    this.emit(line, 0, line.length, onLine);
  }

  private keep(bytes: Buffer): void {
    if (bytes.length === 0) return;
    // Copy: the caller may reuse the chunk's memory (and a small slice must not pin a large chunk).
    this.carry.push(Buffer.from(bytes));
    this.carryBytes += bytes.length;
  }

  private emit(buf: Buffer, start: number, end: number, onLine: LineHandler): void {
    if (end > start && buf[end - 1] === 13) end--;
    this.lineNumber++;
    onLine(start === end ? "" : buf.toString("utf8", start, end), this.lineNumber);
  }
}

/** True for a line with nothing but whitespace. */
export function isBlank(line: string): boolean {
  if (line.length === 0) return true;
  const c = line.charCodeAt(0);
  // Fast path: a line starting with a non-space character is not blank.
  if (c !== 32 && c !== 9 && c !== 13 && c !== 0x0b && c !== 0x0c && c !== 0xa0 && c !== 0xfeff) return false;
  return line.trim() === "";
}
