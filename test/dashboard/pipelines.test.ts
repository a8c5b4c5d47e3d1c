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
import { groupStatuses, PipelineMonitor } from "../../src/dashboard/pipelines.js";
import { LatencyHistogram, latencyBuckets } from "../../src/runtime/metrics.js";
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
