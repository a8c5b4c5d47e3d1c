/**
 * Live production: append a generator's lines to a topic at a steady rate, in small batches per
 * ~10 ms tick (timers, no busy loop), so that event time — which the generator advances by
 * 1/rate per event from a start near the wall clock — keeps up with the wall clock.
 *
 * Used by `weir generate` (to a topic) and `weir demo` (next to a running pipeline in the same
 * process: between ticks the event loop is free for the pipeline).
 */
import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import type { MockGenerator } from "./types.js";
import { sleep } from "../util/sleep.js";

/** The writer side this needs (the embedded log's TopicWriter has it). */
export interface RecordAppender {
  append(records: { key?: string | null; value: string }[]): unknown;
}

export interface PacedProduceOptions {
  generator: MockGenerator;
  writer: RecordAppender;
  /** Records per second. */
  perSecond: number;
  /** Stop after this many records (default: no limit). */
  count?: number;
  /** Stop after this much wall time, ms (default: no limit); the records due by then are written. */
  durationMs?: number;
  /** Stops the run at the next tick (the records written so far stay written). */
  signal?: AbortSignal;
  /** Shortest sleep between batches, ms (default 10). */
  tickMs?: number;
  /**
   * Most records per batch (default: 100 ms worth, at least 100). After a stall the producer catches
   * up in batches of this size — it never forgives the debt, so event time stays on the wall clock.
   */
  maxBatch?: number;
  /** Called after every batch with the total written so far. */
  onProgress?: (written: number) => void;
}

export interface PacedProduceResult {
  written: number;
  elapsedMs: number;
  /** True when `signal` ended the run before its count or duration. */
  interrupted: boolean;
}

export async function producePaced(options: PacedProduceOptions): Promise<PacedProduceResult> {
  const { generator, writer, perSecond, signal } = options;
  if (!(perSecond > 0) || !Number.isFinite(perSecond))
    throw new RangeError(`rate must be > 0 (got ${perSecond})`);
  const perMs = perSecond / 1000;
  const tickMs = options.tickMs ?? 10;
  const maxBatch = options.maxBatch ?? Math.max(100, Math.ceil(perSecond / 10));
  let limit = options.count ?? Infinity;
  if (options.durationMs !== undefined) limit = Math.min(limit, Math.floor(options.durationMs * perMs));

  const started = performance.now();
  let written = 0;
  while (written < limit && signal?.aborted !== true) {
    const elapsed = performance.now() - started;
    // Record k (0-based) is due at k / rate: the first goes at once.
    const due = Math.min(limit, Math.floor(elapsed * perMs) + 1);
    const n = Math.min(due - written, maxBatch);
    if (n > 0) {
      const batch = new Array<{ key: string | null; value: string }>(n);
      for (let i = 0; i < n; i++) {
        const value = generator.next();
        batch[i] = { key: generator.key, value };
      }
      writer.append(batch);
      written += n;
      options.onProgress?.(written);
    }
    if (written >= limit) break;
    if (written < due) {
      // Behind after a full batch (a stall): catch up, but let the event loop run in between.
      await yieldToEventLoop();
      continue;
    }
    const nextDueAt = started + written / perMs;
    await sleep(Math.max(tickMs, Math.ceil(nextDueAt - performance.now())), signal);
  }
  return {
    written,
    elapsedMs: performance.now() - started,
    interrupted: signal?.aborted === true && written < limit,
  };
}
