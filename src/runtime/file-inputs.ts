/**
 * Bounded runs over files: which file feeds which source topic (`--input`), and a cursor reading a
 * JSON-lines file line by line with exact byte positions (for checkpoints).
 *
 * `--input` names, for a pipeline reading one topic, a file; for a pipeline reading several topics:
 * - a directory holding `<topic>.jsonl` for every source topic (what `weir generate` writes for a
 *   multi-topic scenario), or
 * - `topic=FILE,topic=FILE` pairs, one per source topic.
 */
import { closeSync, existsSync, fstatSync, openSync, readSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { WeirError } from "../errors.js";

export interface TopicFile {
  topic: string;
  /** Absolute path. */
  path: string;
}

/** The file of every source topic, in the order of `topics`. */
export function resolveInputFiles(
  input: string | Record<string, string>,
  topics: readonly string[],
): TopicFile[] {
  const usage =
    topics.length > 1
      ? `give --input DIR (holding ${topics.map((t) => `${t}.jsonl`).join(", ")}) or --input ${topics.map((t) => `${t}=FILE`).join(",")}`
      : "give --input FILE";
  let byTopic: Record<string, string>;
  if (typeof input !== "string") byTopic = input;
  else if (looksLikePairs(input, topics)) {
    byTopic = {};
    for (const part of input.split(",")) {
      const eq = part.indexOf("=");
      const topic = part.slice(0, eq).trim();
      const path = part.slice(eq + 1).trim();
      if (eq <= 0 || path === "")
        throw new WeirError("USAGE", `--input ${JSON.stringify(part)}: expected topic=FILE; ${usage}`);
      if (topic in byTopic) throw new WeirError("USAGE", `--input names topic ${topic} twice`);
      byTopic[topic] = path;
    }
  } else if (existsSync(input) && statSync(input).isDirectory()) {
    byTopic = {};
    for (const topic of topics) {
      const path = join(input, `${topic}.jsonl`);
      if (!existsSync(path))
        throw new WeirError(
          "USAGE",
          `--input ${input}: no file ${topic}.jsonl for source topic ${topic}; ${usage}`,
        );
      byTopic[topic] = path;
    }
  } else if (topics.length === 1) {
    byTopic = { [topics[0]]: input };
  } else {
    throw new WeirError("USAGE", `pipeline reads topics ${topics.join(", ")}: ${usage}`);
  }
  for (const topic of Object.keys(byTopic)) {
    if (!topics.includes(topic))
      throw new WeirError(
        "USAGE",
        `--input names topic ${topic}, which the pipeline does not read (it reads ${topics.join(", ")})`,
      );
  }
  const missing = topics.filter((t) => !(t in byTopic));
  if (missing.length > 0)
    throw new WeirError(
      "USAGE",
      `--input gives no file for source topic${missing.length > 1 ? "s" : ""} ${missing.join(", ")}; ${usage}`,
    );
  return topics.map((topic) => ({ topic, path: resolve(byTopic[topic]) }));
}

function looksLikePairs(input: string, topics: readonly string[]): boolean {
  const eq = input.indexOf("=");
  return eq > 0 && topics.includes(input.slice(0, eq).trim()) && !existsSync(input);
}

/** Reads complete lines of a file from a byte position; blank lines are skipped. */
export class LineCursor {
  private readonly fd: number;
  readonly size: number;
  private buf: Buffer;
  /** Unconsumed bytes are buf[start, end); they begin at file position `position`. */
  private start = 0;
  private end = 0;
  private eof = false;
  /** Byte position of the next unread line. */
  position: number;

  constructor(
    readonly path: string,
    from: number,
    private readonly maxLineBytes: number,
  ) {
    try {
      this.fd = openSync(path, "r");
    } catch (err) {
      throw new WeirError(
        "USAGE",
        `cannot read input file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      );
    }
    this.size = fstatSync(this.fd).size;
    this.position = from;
    this.buf = Buffer.allocUnsafe(Math.min(maxLineBytes, 1 << 20));
  }

  /** The next non-blank line (without its line break), or null at the end of the file. */
  next(): string | null {
    for (;;) {
      const nl = this.buf.indexOf(10, this.start);
      const lineEnd = nl !== -1 && nl < this.end ? nl : this.eof && this.end > this.start ? this.end : -1;
      if (lineEnd === -1) {
        if (this.eof) return null;
        this.fill();
        continue;
      }
      const from = this.start;
      const consumed = (nl !== -1 && nl < this.end ? nl + 1 : this.end) - from;
      this.start += consumed;
      this.position += consumed;
      let stop = lineEnd;
      if (stop > from && this.buf[stop - 1] === 13) stop--;
      const line = this.buf.toString("utf8", from, stop);
      if (/[^ \t\r]/.test(line)) return line; // blank lines are skipped, as in a one-file run
    }
  }

  private fill(): void {
    // Move the partial line to the front, grow the buffer if a line does not fit, read more.
    if (this.start > 0) {
      this.buf.copy(this.buf, 0, this.start, this.end);
      this.end -= this.start;
      this.start = 0;
    }
    if (this.end === this.buf.length) {
      if (this.buf.length >= this.maxLineBytes)
        throw new WeirError(
          "USAGE",
          `${this.path}: a line longer than ${this.maxLineBytes} bytes at byte ${this.position}`,
        );
      const bigger = Buffer.allocUnsafe(Math.min(this.maxLineBytes, this.buf.length * 2));
      this.buf.copy(bigger, 0, 0, this.end);
      this.buf = bigger;
    }
    const n = readSync(this.fd, this.buf, this.end, this.buf.length - this.end, this.position + this.end);
    if (n === 0) this.eof = true;
    this.end += n;
  }

  close(): void {
    closeSync(this.fd);
  }
}
