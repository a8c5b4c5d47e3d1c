/**
 * Status files (src/runtime/status.ts) and the exported latency histogram: what the dashboard and
 * /metrics read from a running pipeline.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { nobroker } from "../../examples/nobroker/pipeline.js";
import { EmbeddedLog } from "../../src/log/index.js";
import { LatencyHistogram, LATENCY_BOUNDS_MS, latencyBuckets } from "../../src/runtime/metrics.js";
import { Runner } from "../../src/runtime/runner.js";
import { readStatuses, statusDir } from "../../src/runtime/status.js";

test("the latency histogram exports cumulative counts per bound, ending at the total count", () => {
  const h = new LatencyHistogram();
  for (const ms of [0.5, 0.9, 3, 3, 40, 700, 20_000]) h.record(ms);
  const b = latencyBuckets(h);
  assert.deepEqual(b.boundsMs, [...LATENCY_BOUNDS_MS]);
  const at = (bound: number) => b.cumulative[b.boundsMs.indexOf(bound)];
  assert.equal(at(1), 2);
  assert.equal(at(2.5), 2);
  assert.equal(at(5), 4);
  assert.equal(at(50), 5);
  assert.equal(at(1000), 6);
  assert.equal(at(10000), 6); // 20 s is only under +Inf
  assert.equal(b.count, 7);
  assert.ok(Math.abs(b.sumMs - (0.5 + 0.9 + 3 + 3 + 40 + 700 + 20_000)) < 1e-9);
  for (let i = 1; i < b.cumulative.length; i++) assert.ok(b.cumulative[i] >= b.cumulative[i - 1]);
});

test("a run writes its status file with per-step counts, and marks it stopped at the end", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "weir-status-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const input = join(dir, "events.jsonl");
  const good = (u: number, ms: number) =>
    JSON.stringify({ user_id: u, property_id: 7, date: ms, event: "Interaction" });
  writeFileSync(input, [good(1, 1_000), "not json", good(2, 2_000), '{"user_id":"x"}', ""].join("\n"));
  const log = await EmbeddedLog.open(join(dir, "data"));
  try {
    const runner = new Runner(nobroker({ tables: false, lake: false }), {
      log,
      inputFile: input,
      logger: () => {},
    });
    await runner.run();
  } finally {
    await log.close();
  }
  const statuses = readStatuses(join(dir, "data"));
  assert.equal(statuses.length, 1);
  const [s] = statuses;
  assert.equal(s.pipeline, "nobroker");
  assert.equal(s.state, "stopped");
  assert.equal(s.engine, "embedded");
  assert.equal(s.pid, process.pid);
  assert.equal(s.metrics.recordsIn, 4);
  assert.equal(s.metrics.deadLetters, 2);
  const source = s.metrics.steps.find((step) => step.kind === "source")!;
  assert.equal(source.recordsIn, 4);
  assert.equal(source.deadLetters, 2);
  assert.equal(
    s.metrics.steps.reduce((n, step) => n + step.deadLetters, 0),
    2,
  );
  assert.deepEqual(s.graph.outputs.slice(0, 3), ["paid_user", "property_status", "possible_broker"]);
  assert.deepEqual(readdirSync(statusDir(join(dir, "data"))), [`nobroker.${process.pid}.json`]);
});
