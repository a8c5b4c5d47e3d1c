/**
 * What the runtime measures while a pipeline runs: input and output rates, event -> output latency,
 * watermark, state size, dead letters and late records. Cheap to update on the hot path (counters
 * and one histogram bucket per batch); read by `weir demo`, the API and the dashboard.
 */

/** A log-scale latency histogram (about 5% resolution from 10 µs to ~20 min), like HdrHistogram's idea. */
export class LatencyHistogram {
  private static readonly MIN_MS = 0.01;
  private static readonly GROWTH = 1.05;
  private readonly buckets = new Float64Array(400);
  count = 0;
  max = 0;
  /** Sum of every recorded value, ms (Prometheus' `_sum`). */
  sum = 0;

  record(ms: number): void {
    if (!(ms >= 0)) return;
    this.sum += ms;
    const i =
      ms <= LatencyHistogram.MIN_MS
        ? 0
        : Math.min(
            this.buckets.length - 1,
            1 + Math.floor(Math.log(ms / LatencyHistogram.MIN_MS) / Math.log(LatencyHistogram.GROWTH)),
          );
    this.buckets[i]++;
    this.count++;
    if (ms > this.max) this.max = ms;
  }

  /** The upper bound of the bucket holding the p-th percentile (0 < p <= 100), in ms. */
  percentile(p: number): number {
    if (this.count === 0) return 0;
    const rank = Math.ceil((p / 100) * this.count);
    let seen = 0;
    for (let i = 0; i < this.buckets.length; i++) {
      seen += this.buckets[i];
      if (seen >= rank)
        return Math.min(this.max, LatencyHistogram.MIN_MS * Math.pow(LatencyHistogram.GROWTH, i));
    }
    return this.max;
  }

  /**
   * How many recorded values are at most each bound (ms, ascending): the cumulative counts of a
   * Prometheus histogram. A value counts under the first bound at or above its bucket's upper edge,
   * so the counts are exact to the histogram's 5% resolution.
   */
  cumulativeCounts(boundsMs: readonly number[]): number[] {
    const out = new Array<number>(boundsMs.length).fill(0);
    let seen = 0;
    let b = 0;
    for (let i = 0; i < this.buckets.length && b < boundsMs.length; i++) {
      const upper = LatencyHistogram.MIN_MS * Math.pow(LatencyHistogram.GROWTH, i);
      while (b < boundsMs.length && upper > boundsMs[b]) out[b++] = seen;
      seen += this.buckets[i];
    }
    while (b < boundsMs.length) out[b++] = seen;
    return out;
  }

  reset(): void {
    this.buckets.fill(0);
    this.count = 0;
    this.max = 0;
    this.sum = 0;
  }
}

/** Events per second over the last few seconds (one-second slots). */
export class RateMeter {
  private readonly slots = new Float64Array(5);
  private slotSecond = 0;

  mark(n: number, nowMs: number): void {
    this.roll(nowMs);
    this.slots[this.slotSecond % this.slots.length] += n;
  }

  /** Average rate over the completed slots. */
  rate(nowMs: number): number {
    this.roll(nowMs);
    let sum = 0;
    for (let i = 1; i < this.slots.length; i++)
      sum += this.slots[(this.slotSecond - i + this.slots.length * 2) % this.slots.length];
    return sum / (this.slots.length - 1);
  }

  private roll(nowMs: number): void {
    const s = Math.floor(nowMs / 1000);
    if (s === this.slotSecond) return;
    const steps = Math.min(this.slots.length, s - this.slotSecond);
    for (let i = 1; i <= steps; i++) this.slots[(this.slotSecond + i) % this.slots.length] = 0;
    this.slotSecond = s;
  }
}

export interface StepSnapshot {
  id: string;
  kind: string;
  recordsIn: number;
  recordsOut: number;
  deadLetters: number;
  lateRecords: number;
  stateSize?: number;
  /** Joins: left records that found no partner. */
  unmatched?: number;
}

/** Upper bounds (ms) of the exported latency histogram: Prometheus' default buckets, in ms. */
export const LATENCY_BOUNDS_MS: readonly number[] = [
  1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000,
];

/** The latency histogram as Prometheus exports it: cumulative counts per upper bound. */
export interface LatencyBuckets {
  /** Upper bounds, ms (the `+Inf` bucket is `count`). */
  boundsMs: number[];
  /** Values at most each bound. */
  cumulative: number[];
  sumMs: number;
  count: number;
}

export function latencyBuckets(h: LatencyHistogram): LatencyBuckets {
  return {
    boundsMs: [...LATENCY_BOUNDS_MS],
    cumulative: h.cumulativeCounts(LATENCY_BOUNDS_MS),
    sumMs: h.sum,
    count: h.count,
  };
}

/** A point-in-time view of a running pipeline. */
export interface PipelineMetricsSnapshot {
  pipeline: string;
  startedAt: string;
  recordsIn: number;
  inputRatePerSec: number;
  recordsOut: number;
  outputRatePerSec: number;
  deadLetters: number;
  lateRecords: number;
  /** ms since epoch, null before the first event. */
  watermark: number | null;
  /** Wall clock minus watermark, ms. */
  watermarkLagMs: number | null;
  stateSize: number;
  /** Records not read yet: end of the input topics minus the pipeline's position (null: unknown). */
  inputLag: number | null;
  /**
   * Event -> output latency, ms: from the input record's append to the log (or to Kafka) until
   * the outputs it caused are written (committed, on Kafka). One sample per batch that produced
   * output, taken from its oldest record.
   */
  latencyMs: { p50: number; p99: number; max: number; count: number };
  latencyHistogram: LatencyBuckets;
  checkpoints: number;
  lastCheckpointAt: string | null;
  steps: StepSnapshot[];
}
