/**
 * Bulk output: a generator's lines as fast as they can be made, encoded straight into large
 * buffers (no per-line writes, no giant strings), handed to a sink chunk by chunk. This is how
 * `weir generate --output FILE` makes big bounded inputs for tests and benchmarks.
 */
import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import type { MockGenerator } from "./types.js";

/**
 * Takes a chunk of whole lines. The chunk is not reused after the call, so a stream may keep it;
 * return a promise to apply backpressure.
 */
export type ChunkSink = (chunk: Buffer) => void | Promise<void>;

export interface BulkOptions {
  /** Bytes per chunk (default 1 MiB). */
  chunkBytes?: number;
  /** Stops at the next chunk boundary (whole lines only). */
  signal?: AbortSignal;
  /** After every chunk, with the lines written so far. */
  onProgress?: (lines: number) => void;
  /** Stop early when this returns true (e.g. stdout's reader went away). */
  stopped?: () => boolean;
}

export interface BulkResult {
  lines: number;
  bytes: number;
  interrupted: boolean;
}

/** Write `count` lines of `generator`, each ending with "\n", to `sink`. */
export async function writeLines(
  generator: MockGenerator,
  count: number,
  sink: ChunkSink,
  options: BulkOptions = {},
): Promise<BulkResult> {
  const size = Math.max(4096, options.chunkBytes ?? 1 << 20);
  let buf = Buffer.allocUnsafe(size);
  let pos = 0;
  let lines = 0;
  let bytes = 0;
  const aborted = () => options.signal?.aborted === true || options.stopped?.() === true;

  const flush = async (): Promise<void> => {
    if (pos === 0) return;
    const chunk = buf.subarray(0, pos);
    bytes += pos;
    buf = Buffer.allocUnsafe(size);
    pos = 0;
    await sink(chunk);
    options.onProgress?.(lines);
    await yieldToEventLoop(); // let signals and stream errors in
  };

  while (lines < count) {
    if (aborted()) break;
    const line = generator.next();
    // Worst case 3 bytes per UTF-16 unit, plus the newline.
    if (line.length * 3 + 1 > size - pos) {
      await flush();
      if (line.length * 3 + 1 > size) {
        const big = Buffer.from(line + "\n", "utf8");
        bytes += big.length;
        await sink(big);
        lines++;
        continue;
      }
    }
    pos += buf.write(line, pos, "utf8");
    buf[pos++] = 10;
    lines++;
  }
  await flush();
  return { lines, bytes, interrupted: lines < count };
}
