/**
 * The pipelines monitor: grouping status files per pipeline (the best instance wins, stale ones
 * are unresponsive), its history, and server-sent events that skip a client whose connection is
 * not draining instead of buffering for it.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type ServerResponse } from "node:http";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  histogramPercentile,
  mergeLatencyHistograms,
  mergeMetrics,
} from "../../src/dashboard/merge-metrics.js";
import { groupStatuses, PipelineMonitor } from "../../src/dashboard/pipelines.js";
import { LatencyHistogram, latencyBuckets, type PipelineMetricsSnapshot } from "../../src/runtime/metrics.js";
import { statusDir, type PipelineStatus } from "../../src/runtime/status.js";

function status(
  pipeline: string,
  pid: number,
  state: PipelineStatus["state"],
  updatedAt: number,
  extra = 0,
): PipelineStatus {
  return {
    pipeline,
    state,
    engine: "embedded",
    broker: null,
    dataDir: "/data",
    pid,
    host: "box",
    updatedAt,
    graph: { pipeline, steps: [], outputs: [], tables: [], datasets: [] },
    metrics: {
      pipeline,
      startedAt: new Date(updatedAt).toISOString(),
      recordsIn: pid,
      inputRatePerSec: 5,
      recordsOut: 0,
      outputRatePerSec: 5,
      deadLetters: 0,
      lateRecords: 0,
      watermark: null,
      watermarkLagMs: null,
      stateSize: 0,
      inputLag: null,
      latencyMs: { p50: 0, p99: 0, max: 0, count: 0 },
      latencyHistogram: latencyBuckets(new LatencyHistogram()),
      checkpoints: 0,
      lastCheckpointAt: null,
      steps: Array.from({ length: extra }, (_, i) => ({
        id: `step-${i}-${"x".repeat(200)}`,
        kind: "map",
        recordsIn: i,
        recordsOut: i,
        deadLetters: 0,
        lateRecords: 0,
      })),
    },
  };
}

test("grouping: running instances first, stale ones unresponsive, running pipelines first", () => {
  const now = 1_000_000;
  const entries = groupStatuses(
    [
      status("b", 1, "stopped", now - 60_000),
      status("a", 2, "running", now - 6000), // died without saying so
      status("a", 3, "standby", now - 500),
      status("c", 4, "running", now - 200),
      status("c", 5, "stopped", now - 100_000),
    ],
    now,
  );
  assert.deepEqual(
    entries.map((e) => [
      e.pipeline,
      e.state,
      e.metrics.recordsIn,
      e.instances.map((i) => `${i.pid}:${i.state}`),
    ]),
    [
      ["c", "running", 4, ["4:running", "5:stopped"]],
      ["a", "standby", 3, ["3:standby", "2:unresponsive"]],
      ["b", "stopped", 1, ["1:stopped"]],
    ],
  );
  const [only] = groupStatuses([status("a", 2, "running", now - 6000)], now);
  assert.equal(only.state, "unresponsive");
  assert.equal(groupStatuses([status("a", 2, "running", now - 4000)], now)[0].state, "running");
});

test("history: one sample per tick per pipeline, rates 0 once it stopped", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "weir-monitor-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(statusDir(dir));
  const file = join(statusDir(dir), "p.7.json");
  writeFileSync(file, JSON.stringify(status("p", 7, "running", Date.now())));
  const monitor = new PipelineMonitor(dir, { intervalMs: 20, historySize: 5 });
  monitor.start();
  t.after(() => monitor.close());
  const deadline = Date.now() + 5000;
  while ((monitor.get("p")?.history.length ?? 0) < 5 && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 20));
  writeFileSync(file, JSON.stringify(status("p", 7, "stopped", Date.now())));
  await new Promise((r) => setTimeout(r, 300));
  const h = monitor.get("p")!.history;
  assert.equal(h.length, 5, "the ring keeps historySize samples");
  for (let i = 1; i < h.length; i++) assert.ok(h[i].t >= h[i - 1].t, "oldest first");
  assert.equal(h[h.length - 1].inputRatePerSec, 0);
  assert.equal(monitor.get("nope"), undefined);
});

test("server-sent events skip a client that does not read, and forget it when it goes", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "weir-monitor-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(statusDir(dir));
  // A big status (about 1 MB an event), so that a few events fill the connection's buffers.
  writeFileSync(
    join(statusDir(dir), "big.1.json"),
    JSON.stringify(status("big", 1, "running", Date.now() + 3_600_000, 4000)),
  );
  const monitor = new PipelineMonitor(dir, { intervalMs: 20 });
  let serverRes: ServerResponse | undefined;
  const server = createServer((req, res) => {
    serverRes = res;
    monitor.addClient(req, res);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  t.after(() => {
    monitor.close();
    server.closeAllConnections();
    server.close();
  });
  monitor.start();
  const port = (server.address() as { port: number }).port;
  const socket = connect(port, "127.0.0.1");
  await new Promise<void>((r) => socket.once("connect", r));
  socket.write("GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  socket.pause(); // never read
  await new Promise((r) => setTimeout(r, 1500)); // ~75 ticks of ~1 MB
  assert.equal(monitor.clientCount, 1);
  const eventBytes = JSON.stringify(status("big", 1, "running", 0, 4000)).length;
  // Without skipping, ~75 MB would wait in memory; with it, at most the event that did not fit.
  assert.ok(serverRes!.writableLength <= 2 * eventBytes, `buffered ${serverRes!.writableLength} bytes`);

  socket.destroy();
  const deadline = Date.now() + 5000;
  while (monitor.clientCount > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.equal(monitor.clientCount, 0);
});

/** A status whose metrics are changed by `metrics`, with latencies recorded into its histogram. */
function statusWith(
  pid: number,
  state: PipelineStatus["state"],
  updatedAt: number,
  latencies: number[],
  metrics: Partial<PipelineMetricsSnapshot>,
): PipelineStatus {
  const s = status("shared", pid, state, updatedAt);
  const h = new LatencyHistogram();
  for (const ms of latencies) h.record(ms);
  s.engine = "kafka";
  s.metrics = {
    ...s.metrics,
    latencyMs: { p50: h.percentile(50), p99: h.percentile(99), max: h.max, count: h.count },
    latencyHistogram: latencyBuckets(h),
    ...metrics,
  };
  return s;
}

test("several running instances (a pipeline shared on Kafka): their metrics are combined", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "weir-monitor-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(statusDir(dir));
  const now = Date.now();
  const step = (id: string, n: number, extra: object = {}) => ({
    id,
    kind: "map",
    recordsIn: n,
    recordsOut: n - 1,
    deadLetters: 1,
    lateRecords: 2,
    ...extra,
  });
  const a = statusWith(11, "running", now + 60_000, [3, 3, 3, 3, 3, 3, 3, 3, 3, 3], {
    startedAt: "2025-01-01T00:00:10.000Z",
    recordsIn: 100,
    inputRatePerSec: 10,
    recordsOut: 90,
    outputRatePerSec: 9,
    deadLetters: 1,
    lateRecords: 2,
    watermark: 5000,
    watermarkLagMs: 700,
    stateSize: 30,
    inputLag: 4,
    checkpoints: 3,
    lastCheckpointAt: "2025-01-01T00:01:00.000Z",
    steps: [step("source:in", 100), step("agg", 50, { stateSize: 30 }), step("join", 20, { unmatched: 1 })],
  });
  const b = statusWith(12, "running", now + 59_000, [20, 20, 20, 20, 20, 20, 20, 20, 20, 4000], {
    startedAt: "2025-01-01T00:00:05.000Z",
    recordsIn: 50,
    inputRatePerSec: 5,
    recordsOut: 40,
    outputRatePerSec: 4,
    deadLetters: 10,
    lateRecords: 20,
    watermark: 4000,
    watermarkLagMs: 1700,
    stateSize: 7,
    inputLag: 6,
    checkpoints: 2,
    lastCheckpointAt: "2025-01-01T00:01:30.000Z",
    steps: [step("join", 5, { unmatched: 2 }), step("source:in", 50), step("agg", 8, { stateSize: 7 })],
  });
  const standby = statusWith(13, "standby", now + 61_000, [9000], { recordsIn: 1_000_000 });
  const dead = statusWith(14, "running", now - 60_000, [9000], { recordsIn: 2_000_000 });
  for (const s of [a, b, standby, dead])
    writeFileSync(join(statusDir(dir), `shared.${s.pid}.json`), JSON.stringify(s));

  const monitor = new PipelineMonitor(dir, { intervalMs: 20 });
  const [e] = monitor.list();
  assert.equal(e.state, "running");
  assert.equal(e.engine, "kafka");
  assert.equal(e.updatedAt, a.updatedAt, "the best instance's");
  assert.deepEqual(e.graph, a.graph);
  assert.deepEqual(
    e.instances.map((i) => `${i.pid}:${i.state}`),
    ["11:running", "12:running", "13:standby", "14:unresponsive"],
  );
  const m = e.metrics;
  assert.equal(m.startedAt, "2025-01-01T00:00:05.000Z", "the earliest");
  assert.equal(m.recordsIn, 150);
  assert.equal(m.inputRatePerSec, 15);
  assert.equal(m.recordsOut, 130);
  assert.equal(m.outputRatePerSec, 13);
  assert.equal(m.deadLetters, 11);
  assert.equal(m.lateRecords, 22);
  assert.equal(m.stateSize, 37);
  assert.equal(m.inputLag, 10);
  assert.equal(m.checkpoints, 5);
  assert.equal(m.watermark, 4000, "the lowest");
  assert.equal(m.watermarkLagMs, 1700, "the highest");
  assert.equal(m.lastCheckpointAt, "2025-01-01T00:01:30.000Z", "the latest");
  assert.deepEqual(m.steps, [
    { id: "source:in", kind: "map", recordsIn: 150, recordsOut: 148, deadLetters: 2, lateRecords: 4 },
    { id: "agg", kind: "map", recordsIn: 58, recordsOut: 56, deadLetters: 2, lateRecords: 4, stateSize: 37 },
    { id: "join", kind: "map", recordsIn: 25, recordsOut: 23, deadLetters: 2, lateRecords: 4, unmatched: 3 },
  ]);
  // Latency: 20 samples, 10 at 3 ms, 9 at 20 ms, one at 4 s.
  assert.equal(m.latencyMs.count, 20);
  assert.equal(m.latencyMs.max, 4000);
  assert.deepEqual(m.latencyHistogram.boundsMs, a.metrics.latencyHistogram.boundsMs);
  assert.deepEqual(
    m.latencyHistogram.cumulative,
    a.metrics.latencyHistogram.cumulative.map((c, i) => c + b.metrics.latencyHistogram.cumulative[i]),
  );
  assert.equal(m.latencyHistogram.count, 20);
  assert.equal(m.latencyHistogram.sumMs, 30 + 180 + 4000);
  // p50: the 10th value, 3 ms: instance b's p50 (~20 ms) is the max, but the merged histogram has
  // 10 values at most 5 ms. p99: the 20th value, 4 s: the max of the instances' p99.
  assert.equal(m.latencyMs.p50, 5);
  assert.equal(m.latencyMs.p99, b.metrics.latencyMs.p99);
  assert.ok(m.latencyMs.p99 >= 4000 && m.latencyMs.p99 < 4000 * 1.06);

  // Inputs of unknown lag on one instance: the total is unknown.
  const [unknown] = groupStatuses([a, { ...b, metrics: { ...b.metrics, inputLag: null } }], now);
  assert.equal(unknown.metrics.inputLag, null);
  // Instances without a watermark are left out of it.
  const [noWm] = groupStatuses(
    [a, { ...b, metrics: { ...b.metrics, watermark: null, watermarkLagMs: null } }],
    now,
  );
  assert.equal(noWm.metrics.watermark, 5000);
  assert.equal(noWm.metrics.watermarkLagMs, 700);

  // The history charts the combined rates.
  monitor.start();
  t.after(() => monitor.close());
  const deadline = Date.now() + 5000;
  while ((monitor.get("shared")?.history.length ?? 0) < 1 && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 20));
  const [sample] = monitor.get("shared")!.history;
  assert.equal(sample.inputRatePerSec, 15);
  assert.equal(sample.outputRatePerSec, 13);
  assert.equal(sample.recordsIn, 150);
  assert.equal(sample.p50, 5);
});

test("one running instance (others standby, unresponsive or stopped): its metrics as they are", () => {
  const now = 1_000_000;
  const running = statusWith(21, "running", now - 100, [1, 2, 3], { recordsIn: 7, inputLag: 3 });
  const entries = groupStatuses(
    [
      statusWith(22, "standby", now - 50, [5], { recordsIn: 100 }),
      running,
      statusWith(23, "running", now - 60_000, [5], { recordsIn: 1000 }),
      statusWith(24, "stopped", now - 10, [5], { recordsIn: 10_000 }),
    ],
    now,
  );
  assert.equal(entries[0].metrics, running.metrics, "the very object read");
  assert.equal(JSON.stringify(entries[0].metrics), JSON.stringify(running.metrics));
  assert.equal(mergeMetrics([running.metrics]), running.metrics);
});

test("latency histograms merge per bound; percentiles from the merged one are upper bounds", () => {
  const a = { boundsMs: [1, 10, 100], cumulative: [2, 5, 5], sumMs: 20, count: 6 };
  const b = { boundsMs: [1, 10, 100], cumulative: [0, 1, 3], sumMs: 400, count: 4 };
  const merged = mergeLatencyHistograms([a, b]);
  assert.deepEqual(merged, { boundsMs: [1, 10, 100], cumulative: [2, 6, 8], sumMs: 420, count: 10 });
  assert.deepEqual(a.cumulative, [2, 5, 5], "inputs untouched");
  assert.equal(histogramPercentile(merged, 20), 1); // rank 2
  assert.equal(histogramPercentile(merged, 50), 10); // rank 5
  assert.equal(histogramPercentile(merged, 80), 100); // rank 8
  assert.equal(histogramPercentile(merged, 99), Infinity); // rank 10: above the last bound
  assert.equal(histogramPercentile({ ...merged, cumulative: [0, 0, 0], count: 0 }, 50), 0);
  // Other bounds (another version): each bound counts the values under the other's largest bound
  // not above it.
  const c = { boundsMs: [5, 50], cumulative: [1, 2], sumMs: 60, count: 3 };
  assert.deepEqual(mergeLatencyHistograms([a, c]).cumulative, [2, 6, 7]);

  // The same as one histogram recording every value, bound for bound.
  const one = new LatencyHistogram();
  const h1 = new LatencyHistogram();
  const h2 = new LatencyHistogram();
  [0.5, 2, 7, 40, 300, 2000, 12_000].forEach((ms, i) => {
    one.record(ms);
    (i % 2 === 0 ? h1 : h2).record(ms);
  });
  const m = mergeLatencyHistograms([latencyBuckets(h1), latencyBuckets(h2)]);
  assert.deepEqual(m, latencyBuckets(one));
});
