/**
 * The metrics of a pipeline whose running instances share its work: on Kafka, a pipeline whose
 * inputs have several partitions runs as partition tasks spread over the processes of its consumer
 * group, so several processes are running at once, each counting only the records of its tasks.
 * The dashboard shows their combination (docs/api.md, `GET /api/pipelines`).
 */
import type { LatencyBuckets, PipelineMetricsSnapshot, StepSnapshot } from "../runtime/metrics.js";

const num = (v: unknown): number => (typeof v === "number" && Number.isFinite(v) ? v : 0);

function isBuckets(h: unknown): h is LatencyBuckets {
  const b = h as LatencyBuckets | null | undefined;
  return (
    typeof b === "object" &&
    b !== null &&
    Array.isArray(b.boundsMs) &&
    Array.isArray(b.cumulative) &&
    typeof b.count === "number"
  );
}

/**
 * Add latency histograms: per bound (those of the first), the values at most that bound in each
 * one; `sumMs` and `count` summed. Histograms with the same bounds (every runner exports
 * LATENCY_BOUNDS_MS) add exactly; one with other bounds counts under each bound its values under
 * its own largest bound not above it (still values at most that bound).
 */
export function mergeLatencyHistograms(histograms: readonly LatencyBuckets[]): LatencyBuckets {
  const boundsMs = [...histograms[0].boundsMs];
  const cumulative = boundsMs.map((bound) => {
    let total = 0;
    for (const h of histograms) {
      let atMost = 0;
      for (let i = 0; i < h.boundsMs.length && h.boundsMs[i] <= bound; i++) atMost = num(h.cumulative[i]);
      total += atMost;
    }
    return total;
  });
  let sumMs = 0;
  let count = 0;
  for (const h of histograms) {
    sumMs += num(h.sumMs);
    count += num(h.count);
  }
  return { boundsMs, cumulative, sumMs, count };
}

/**
 * The p-th percentile (0 < p <= 100) of a histogram as the smallest bound it is known to be at or
 * below, ms: 0 for an empty histogram, Infinity when it is above the last bound (the `+Inf` bucket).
 * An upper bound, like LatencyHistogram.percentile's (the upper edge of the value's bucket).
 */
export function histogramPercentile(h: LatencyBuckets, p: number): number {
  if (!(h.count > 0)) return 0;
  const rank = Math.ceil((p / 100) * h.count);
  for (let i = 0; i < h.boundsMs.length; i++) if (num(h.cumulative[i]) >= rank) return h.boundsMs[i];
  return Infinity;
}

/**
 * Combine the metrics of a pipeline's running instances, the best one first (its metrics are
 * returned as they are when it is the only one):
 * - summed: recordsIn, inputRatePerSec, recordsOut, outputRatePerSec, deadLetters, lateRecords,
 *   stateSize, checkpoints, and inputLag (null when an instance does not know its own);
 * - watermark: the lowest; watermarkLagMs: the highest (instances without one are left out);
 * - startedAt: the earliest; lastCheckpointAt: the latest;
 * - latencyHistogram: added per bound; latencyMs: count summed, max the highest, p50 and p99 below;
 * - steps: summed per step id, in the order of the first instance's steps (then any step only
 *   others have).
 * Other fields (`pipeline`, and any this version does not know) are the first instance's.
 */
export function mergeMetrics(instances: readonly PipelineMetricsSnapshot[]): PipelineMetricsSnapshot {
  const best = instances[0];
  if (instances.length === 1) return best;

  let recordsIn = 0;
  let inputRatePerSec = 0;
  let recordsOut = 0;
  let outputRatePerSec = 0;
  let deadLetters = 0;
  let lateRecords = 0;
  let stateSize = 0;
  let checkpoints = 0;
  let inputLag: number | null = 0;
  let watermark: number | null = null;
  let watermarkLagMs: number | null = null;
  let startedAt = best.startedAt;
  let lastCheckpointAt: string | null = null;
  let latencyCount = 0;
  let latencyMax = 0;
  let p50 = 0;
  let p99 = 0;
  const steps = new Map<string, StepSnapshot>();
  for (const m of instances) {
    recordsIn += num(m.recordsIn);
    inputRatePerSec += num(m.inputRatePerSec);
    recordsOut += num(m.recordsOut);
    outputRatePerSec += num(m.outputRatePerSec);
    deadLetters += num(m.deadLetters);
    lateRecords += num(m.lateRecords);
    stateSize += num(m.stateSize);
    checkpoints += num(m.checkpoints);
    inputLag = inputLag === null || typeof m.inputLag !== "number" ? null : inputLag + m.inputLag;
    if (typeof m.watermark === "number" && (watermark === null || m.watermark < watermark))
      watermark = m.watermark;
    if (
      typeof m.watermarkLagMs === "number" &&
      (watermarkLagMs === null || m.watermarkLagMs > watermarkLagMs)
    )
      watermarkLagMs = m.watermarkLagMs;
    if (Date.parse(m.startedAt) < Date.parse(startedAt)) startedAt = m.startedAt;
    if (
      typeof m.lastCheckpointAt === "string" &&
      (lastCheckpointAt === null || Date.parse(m.lastCheckpointAt) > Date.parse(lastCheckpointAt))
    )
      lastCheckpointAt = m.lastCheckpointAt;
    latencyCount += num(m.latencyMs?.count);
    latencyMax = Math.max(latencyMax, num(m.latencyMs?.max));
    p50 = Math.max(p50, num(m.latencyMs?.p50));
    p99 = Math.max(p99, num(m.latencyMs?.p99));
    for (const s of m.steps ?? []) {
      const sum = steps.get(s.id);
      if (sum === undefined) {
        steps.set(s.id, { ...s });
        continue;
      }
      sum.recordsIn += num(s.recordsIn);
      sum.recordsOut += num(s.recordsOut);
      sum.deadLetters += num(s.deadLetters);
      sum.lateRecords += num(s.lateRecords);
      if (s.stateSize !== undefined) sum.stateSize = num(sum.stateSize) + num(s.stateSize);
      if (s.unmatched !== undefined) sum.unmatched = num(sum.unmatched) + num(s.unmatched);
    }
  }

  const histograms = instances.map((m) => m.latencyHistogram).filter(isBuckets);
  const latencyHistogram = histograms.length > 0 ? mergeLatencyHistograms(histograms) : best.latencyHistogram;
  // p50/p99: a percentile of the merged distribution is at most the highest of the instances'
  // (each instance's values are at most its own percentile in at least p% of cases), and at most
  // the merged histogram's bound found by histogramPercentile. The exported histogram has only
  // Prometheus' 13 coarse bounds (1, 2.5, 5, ... 10 000 ms) while the instances' p50/p99 come from
  // their own ~5%-resolution histograms, so the merged histogram alone would be far coarser: we
  // take the smaller of the two upper bounds — the max of the instances' p50/p99 unless the merged
  // histogram proves the percentile lower (an instance far slower than the others). The histogram
  // is used only when it holds every instance's samples (its count matches each latencyMs.count);
  // otherwise the max of the instances' p50/p99 alone.
  const complete = instances.every(
    (m) =>
      num(m.latencyMs?.count) === 0 ||
      (isBuckets(m.latencyHistogram) && m.latencyHistogram.count === m.latencyMs.count),
  );
  if (complete && isBuckets(latencyHistogram) && latencyCount > 0) {
    p50 = Math.min(p50, histogramPercentile(latencyHistogram, 50));
    p99 = Math.min(p99, histogramPercentile(latencyHistogram, 99));
  }

  return {
    ...best,
    startedAt,
    recordsIn,
    inputRatePerSec,
    recordsOut,
    outputRatePerSec,
    deadLetters,
    lateRecords,
    watermark,
    watermarkLagMs,
    stateSize,
    inputLag,
    latencyMs: { p50, p99, max: latencyMax, count: latencyCount },
    latencyHistogram,
    checkpoints,
    lastCheckpointAt,
    steps: [...steps.values()],
  };
}
