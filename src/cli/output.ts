/**
 * What the CLI writes. Messages go to stderr (`info`, suppressed by --quiet; `warn`, always);
 * data goes to stdout, through OutputBuffer for anything large (large chunks, waiting for 'drain'),
 * with an EPIPE guard so that `weir consume t | head -1` stops quietly.
 */
import { EXIT_FAILURE } from "./errors.js";

let quiet = false;

/** Called by main once options are parsed. */
export function setQuiet(value: boolean): void {
  quiet = value;
}

/** An informational line on stderr (`weir: ...`); suppressed by --quiet. */
export function info(message: string): void {
  if (!quiet) process.stderr.write(`weir: ${message}\n`);
}

/** A warning line on stderr (`weir: ...`); always shown. */
export function warn(message: string): void {
  process.stderr.write(`weir: ${message}\n`);
}

// ---------------------------------------------------------------------------------------------
// Buffered stdout

let stdoutBroken = false;
const brokenListeners = new Set<() => void>();
let stdoutGuardInstalled = false;

/**
 * Install the EPIPE guard on stdout: when the reader goes away (`weir consume t | head -1`) writes
 * stop quietly instead of crashing. main.ts installs it at start-up.
 */
export function installStdoutGuard(stream: NodeJS.WriteStream = process.stdout): void {
  if (stdoutGuardInstalled) return;
  stdoutGuardInstalled = true;
  stream.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code === "EPIPE" || err.code === "ERR_STREAM_DESTROYED" || err.code === "ECONNRESET") {
      stdoutBroken = true;
      for (const l of brokenListeners) l();
      return;
    }
    // Anything else (ENOSPC on a redirected file, ...) is reported like any error.
    process.stderr.write(`weir: cannot write to stdout: ${err.message}\n`);
    process.exitCode = EXIT_FAILURE;
    stdoutBroken = true;
    for (const l of brokenListeners) l();
  });
}

/** True once stdout's reader has gone away (EPIPE). */
export function isStdoutBroken(): boolean {
  return stdoutBroken;
}

/**
 * Collects output into large chunks and writes them to a stream, waiting for 'drain' when the
 * stream asks for it. `write*` are synchronous; call `await flushIfFull()` in loops and `await flush()` at the end.
 */
export class OutputBuffer {
  private buf: Buffer;
  private pos = 0;
  private readonly size: number;
  private readonly stream: NodeJS.WritableStream;
  private readonly isBroken: () => boolean;

  constructor(
    stream: NodeJS.WritableStream = process.stdout,
    size = 64 * 1024,
    isBroken: () => boolean = isStdoutBroken,
  ) {
    this.stream = stream;
    this.size = size;
    this.buf = Buffer.allocUnsafe(size);
    this.isBroken = isBroken;
  }

  get broken(): boolean {
    return this.isBroken();
  }

  /** Bytes waiting in the buffer. */
  get pending(): number {
    return this.pos;
  }

  get full(): boolean {
    return this.pos >= this.size - 1024;
  }

  writeBytes(bytes: Uint8Array): void {
    if (bytes.length > this.size - this.pos) {
      this.push();
      if (bytes.length > this.size) {
        this.stream.write(Buffer.from(bytes));
        return;
      }
    }
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  writeString(text: string): void {
    // Worst case 3 bytes per UTF-16 unit.
    if (text.length * 3 > this.size - this.pos) {
      this.writeBytes(Buffer.from(text, "utf8"));
      return;
    }
    this.pos += this.buf.write(text, this.pos, "utf8");
  }

  writeByte(byte: number): void {
    if (this.pos >= this.size) this.push();
    this.buf[this.pos++] = byte;
  }

  /** Hand the buffered bytes to the stream (without waiting). Returns the stream's write() result. */
  private push(): boolean {
    if (this.pos === 0) return true;
    const chunk = this.buf.subarray(0, this.pos);
    this.buf = Buffer.allocUnsafe(this.size); // the stream may keep `chunk` until written
    this.pos = 0;
    if (this.broken) return true;
    return this.stream.write(chunk);
  }

  /** Write the buffered bytes and wait until the stream can take more. */
  async flush(): Promise<void> {
    const ok = this.push();
    if (!ok && !this.broken) await waitForDrain(this.stream, this.isBroken);
    else await new Promise<void>((r) => setImmediate(r)); // let signals and stream errors through
  }

  /** flush() when the buffer is (nearly) full; cheap otherwise. */
  async flushIfFull(): Promise<void> {
    if (this.full) await this.flush();
  }
}

function waitForDrain(stream: NodeJS.WritableStream, isBroken: () => boolean): Promise<void> {
  return new Promise<void>((resolveDrain) => {
    const done = () => {
      stream.off("drain", done);
      stream.off("close", done);
      brokenListeners.delete(done);
      resolveDrain();
    };
    stream.on("drain", done);
    stream.on("close", done);
    brokenListeners.add(done);
    if (isBroken()) done();
  });
}

/** Wait until everything written to stdout so far has been handed to the OS (or stdout broke). */
export function drainStdout(): Promise<void> {
  const out = process.stdout;
  if (stdoutBroken || out.destroyed || out.writableLength === 0) return Promise.resolve();
  return new Promise<void>((r) => {
    out.write("", () => r());
  });
}
