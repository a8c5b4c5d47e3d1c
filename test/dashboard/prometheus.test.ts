/**
 * `/metrics` rendering: Prometheus text format 0.0.4 — HELP/TYPE once per family, label escaping,
 * the latency histogram's cumulative buckets in seconds with +Inf equal to the count.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { LatencyHistogram, latencyBuckets, type PipelineMetricsSnapshot } from "../../src/runtime/metrics.js";
import { escapeLabelValue, formatValue, renderPrometheus } from "../../src/dashboard/prometheus.js";
import type { PipelineEntry } from "../../src/dashboard/pipelines.js";

function entry(pipeline: string, state: PipelineEntry["state"], h: LatencyHistogram): PipelineEntry {
  const metrics: PipelineMetricsSnapshot = {
    pipeline,
    startedAt: "2021-11-30T00:00:00.000Z",
    recordsIn: 100,
    inputRatePerSec: 10,
    recordsOut: 40,
    outputRatePerSec: 4,
    deadLetters: 2,
    lateRecords: 1,
    watermark: 1_000_000,
    watermarkLagMs: 1500,
    stateSize: 7,
    inputLag: 12,
    latencyMs: { p50: 3, p99: 40, max: 40, count: h.count },
    latencyHistogram: latencyBuckets(h),
    checkpoints: 5,
    lastCheckpointAt: null,
    steps: [
      { id: "source:events", kind: "source", recordsIn: 100, recordsOut: 98, deadLetters: 2, lateRecords: 0 },
      {
        id: 'count "a"\\b\nc',
        kind: "aggregate",
        recordsIn: 98,
        recordsOut: 40,
        deadLetters: 0,
        lateRecords: 1,
        stateSize: 7,
      },
    ],
  };
  return {
    pipeline,
    state,
    engine: "embedded",
    updatedAt: 0,
    instances: [],
    metrics,
    graph: { pipeline, steps: [], outputs: [], tables: [], datasets: [] },
  };
}

/** Parse the exposition text: families with their type and samples (name, labels, value). */
function parse(text: string) {
  const families = new Map<string, { type?: string; help?: string }>();
  const samples: Array<{ name: string; labels: Record<string, string>; value: number }> = [];
  assert.ok(text.endsWith("\n"));
  for (const line of text.slice(0, -1).split("\n")) {
    const meta = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
    if (meta) {
      const f = families.get(meta[2]) ?? {};
      const key = meta[1] === "HELP" ? "help" : "type";
      assert.equal(f[key], undefined, `one ${meta[1]} line for ${meta[2]}`);
      f[key] = meta[3];
      families.set(meta[2], f);
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `sample line: ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/gy;
    for (let l; (l = re.exec(m[2] ?? "")) !== null;)
      labels[l[1]] = l[2].replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
    samples.push({ name: m[1], labels, value: m[3] === "+Inf" ? Infinity : Number(m[3]) });
  }
  return { families, samples };
}

test("label values are escaped; values use Prometheus' spelling of special floats", () => {
  assert.equal(escapeLabelValue('a"b\\c\nd'), 'a\\"b\\\\c\\nd');
  assert.equal(formatValue(Infinity), "+Inf");
  assert.equal(formatValue(-Infinity), "-Inf");
  assert.equal(formatValue(NaN), "NaN");
  assert.equal(formatValue(0.25), "0.25");
});

test("every metric of docs/api.md, once per family, with the histogram in seconds", () => {
  const h = new LatencyHistogram();
  const values = [0.5, 0.9, 2, 3, 7, 40, 40, 120, 900, 3000, 20_000];
  for (const v of values) h.record(v);
  const text = renderPrometheus([
    entry("zeta", "stopped", new LatencyHistogram()),
    entry("nobroker", "running", h),
  ]);
  const { families, samples } = parse(text);

  assert.deepEqual(
    [...families].map(([name, f]) => [name, f.type]),
    [
      ["weir_records_in_total", "counter"],
      ["weir_records_out_total", "counter"],
      ["weir_dead_letters_total", "counter"],
      ["weir_late_records_total", "counter"],
      ["weir_state_entries", "gauge"],
      ["weir_watermark_lag_seconds", "gauge"],
      ["weir_input_lag_records", "gauge"],
      ["weir_checkpoints_total", "counter"],
      ["weir_event_output_latency_seconds", "histogram"],
      ["weir_pipeline_up", "gauge"],
    ],
  );
  for (const [name, f] of families) assert.ok(f.help && f.help.length > 0, `HELP of ${name}`);

  // Samples of one family are together, right after its TYPE line (pipelines in name order).
  const lines = text.split("\n");
  let family = "";
  for (const line of lines) {
    if (line.startsWith("# TYPE ")) family = line.split(" ")[2];
    else if (line !== "" && !line.startsWith("#")) assert.ok(line.startsWith(family), `${line} in ${family}`);
  }
  assert.ok(text.indexOf('pipeline="nobroker"') < text.indexOf('pipeline="zeta"'));

  const get = (name: string, labels: Record<string, string>) =>
    samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  assert.equal(get("weir_dead_letters_total", { pipeline: "nobroker", step: "source:events" })[0].value, 2);
  // The odd step id survives escaping.
  const odd = get("weir_late_records_total", { pipeline: "nobroker", step: 'count "a"\\b\nc' });
  assert.equal(odd.length, 1);
  assert.equal(odd[0].value, 1);
  assert.match(text, /step="count \\"a\\"\\\\b\\nc"/);
  // State only for stateful steps; gauges in seconds.
  assert.equal(get("weir_state_entries", { pipeline: "nobroker" }).length, 1);
  assert.equal(get("weir_watermark_lag_seconds", { pipeline: "nobroker" })[0].value, 1.5);
  assert.equal(get("weir_input_lag_records", { pipeline: "nobroker" })[0].value, 12);
  assert.equal(get("weir_checkpoints_total", { pipeline: "nobroker" })[0].value, 5);
  assert.equal(get("weir_pipeline_up", { pipeline: "nobroker" })[0].value, 1);
  assert.equal(get("weir_pipeline_up", { pipeline: "zeta" })[0].value, 0);

  // Histogram: le in seconds, ascending, cumulative, +Inf last and equal to _count.
  const buckets = get("weir_event_output_latency_seconds_bucket", { pipeline: "nobroker" });
  assert.deepEqual(
    buckets.map((b) => b.labels.le),
    [
      "0.001",
      "0.0025",
      "0.005",
      "0.01",
      "0.025",
      "0.05",
      "0.1",
      "0.25",
      "0.5",
      "1",
      "2.5",
      "5",
      "10",
      "+Inf",
    ],
  );
  for (let i = 1; i < buckets.length; i++) assert.ok(buckets[i].value >= buckets[i - 1].value, "cumulative");
  const count = get("weir_event_output_latency_seconds_count", { pipeline: "nobroker" })[0].value;
  assert.equal(count, values.length);
  assert.equal(buckets[buckets.length - 1].value, count);
  // Each finite bucket counts the values at most its bound (to the histogram's 5% resolution;
  // no value here is within 5% of a bound).
  for (const b of buckets.slice(0, -1)) {
    const boundMs = Number(b.labels.le) * 1000;
    assert.equal(b.value, values.filter((v) => v <= boundMs).length, `le=${b.labels.le}`);
  }
  const sum = get("weir_event_output_latency_seconds_sum", { pipeline: "nobroker" })[0].value;
  assert.ok(Math.abs(sum - values.reduce((a, b) => a + b, 0) / 1000) < 1e-9);
  // An empty histogram still has all its buckets, at 0.
  const empty = get("weir_event_output_latency_seconds_bucket", { pipeline: "zeta" });
  assert.equal(empty.length, 14);
  assert.ok(empty.every((b) => b.value === 0));
});

test("no pipelines: the families are still declared, with no samples", () => {
  const text = renderPrometheus([]);
  assert.match(text, /^# TYPE weir_pipeline_up gauge$/m);
  assert.ok(text.split("\n").every((l) => l === "" || l.startsWith("#")));
});
