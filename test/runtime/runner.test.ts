/**
 * The runner on the real embedded log: bounded on a file, live on a topic, restarts, and the
 * determinism rule (outputs do not depend on batch sizes).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EmbeddedLog } from "../../src/log/index.js";
import { Runner } from "../../src/runtime/runner.js";
import { nobroker } from "../../examples/nobroker/pipeline.js";
import { makeInput, readTopic } from "./inputs.js";

const OUTPUTS = ["paid_user", "property_status", "possible_broker", "nobroker.dlq", "nobroker.late"];

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), "weir-runner-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function runFile(dir: string, file: string): Promise<Record<string, string[]>> {
  const log = EmbeddedLog.open(dir, { logger: () => {} });
  try {
    await new Runner(nobroker(), { log, inputFile: file, logger: () => {} }).run();
    return Object.fromEntries(OUTPUTS.map((t) => [t, readTopic(log, t)]));
  } finally {
    log.close();
  }
}

test("a bounded run on the seed's sample writes the three alert topics and exits", async (t) => {
  const dir = tempDir(t);
  const file = join(dir, "sample.jsonl");
  const at = "2021-11-30 00:00:00";
  const lines = [...Array(10).fill(1), 2, ...Array(13).fill(1), 2].map((u) =>
    JSON.stringify({ user_id: u, property_id: 1, date: at, event: "Interaction" }),
  );
  writeFileSync(file, lines.join("\n")); // no final newline: the last line still counts
  const out = await runFile(join(dir, "data"), file);
  assert.deepEqual(out.paid_user, ['{"user":1,"interactions_count":9}']);
  assert.deepEqual(out.property_status, ['{"property":1,"property_interactions_count":6}']);
  assert.deepEqual(out.possible_broker, [
    '{"window_start":"2021-11-30T00:00:00.000Z","window_end":"2021-11-30T00:01:00.000Z","user_id":1,"threat_user_interactions":11}',
  ]);
  assert.deepEqual(out["nobroker.dlq"], []);
});

test("the runner keeps metrics: records in and out per step, dead letters, late records, state size", async (t) => {
  const dir = tempDir(t);
  const file = join(dir, "in.jsonl");
  const lines = makeInput(3000, 5);
  writeFileSync(file, lines.join("\n") + "\n");
  const log = EmbeddedLog.open(join(dir, "data"), { logger: () => {} });
  const runner = new Runner(nobroker(), { log, inputFile: file, logger: () => {} });
  const summary = await runner.run();
  const m = runner.metrics();
  log.close();
  assert.equal(m.recordsIn, 3000);
  assert.equal(summary.recordsIn, 3000);
  assert.ok(m.deadLetters > 0 && m.lateRecords > 0);
  const step = (id: string) => m.steps.find((s) => s.id === id)!;
  assert.equal(step("source:events").recordsIn, 3000);
  assert.equal(step("source:events").recordsOut, 3000 - m.deadLetters);
  assert.equal(step("interactions").recordsIn, 3000 - m.deadLetters);
  assert.equal(step("user-interactions").recordsIn, step("interactions").recordsOut);
  assert.equal(
    step("user-interactions").stateSize,
    new Set(
      lines
        .filter((l) => l.includes('"Interaction"') && !l.includes("oops"))
        .map((l) => JSON.parse(l).user_id),
    ).size,
  );
  assert.equal(
    step("to:paid_user").recordsOut,
    summary.recordsOut -
      m.deadLetters -
      m.lateRecords -
      step("to:property_status").recordsOut -
      step("to:possible_broker").recordsOut,
  );
  assert.equal(m.watermark, null, "the watermark is +infinity after the end of a bounded input");
  assert.ok(m.checkpoints >= 2);
});

test("a completed bounded run is not repeated by running it again", async (t) => {
  const dir = tempDir(t);
  const file = join(dir, "in.jsonl");
  writeFileSync(file, makeInput(2000).join("\n") + "\n");
  const first = await runFile(join(dir, "data"), file);
  const second = await runFile(join(dir, "data"), file);
  assert.deepEqual(second, first);
  assert.ok(first.paid_user.length > 0);
});

test("outputs do not depend on batch sizes: a live run with any batch size equals the file run", async (t) => {
  const dir = tempDir(t);
  const lines = makeInput(5000, 7);
  const file = join(dir, "in.jsonl");
  writeFileSync(file, lines.join("\r\n") + "\r\n\n"); // CRLF and a blank line change nothing
  const expected = await runFile(join(dir, "file"), file);
  assert.ok(
    expected["nobroker.late"].length > 0 && expected["nobroker.dlq"].length > 0,
    "the input exercises late and dead letters",
  );
  for (const maxBatch of [1, 7, 1000]) {
    const data = join(dir, `live-${maxBatch}`);
    const log = EmbeddedLog.open(data, { logger: () => {} });
    log.createTopic("events", { partitions: 1 });
    const w = log.writer("events");
    for (let i = 0; i < lines.length; i += 333) w.append(lines.slice(i, i + 333).map((value) => ({ value })));
    w.close();
    await new Runner(nobroker(), { log, untilEnd: true, maxBatch, logger: () => {} }).run();
    for (const topic of OUTPUTS)
      assert.deepEqual(readTopic(log, topic), expected[topic], `${topic} with batch ${maxBatch}`);
    log.close();
  }
});

test("a live run stopped and restarted continues where it was, without duplicates", async (t) => {
  const dir = tempDir(t);
  const lines = makeInput(3000, 3);
  const file = join(dir, "in.jsonl");
  writeFileSync(file, lines.join("\n") + "\n");
  const expected = await runFile(join(dir, "file"), file);

  const data = join(dir, "live");
  const log = EmbeddedLog.open(data, { logger: () => {} });
  log.createTopic("events");
  const w = log.writer("events");
  w.append(lines.slice(0, 1200).map((value) => ({ value })));
  const first = new Runner(nobroker(), { log, logger: () => {} });
  const running = first.run();
  // Stop once the first part has been processed.
  for (let i = 0; i < 200 && first.metrics().recordsIn < 1200; i++)
    await new Promise((r) => setTimeout(r, 10));
  first.stop();
  await running;
  w.append(lines.slice(1200).map((value) => ({ value })));
  w.close();
  await new Runner(nobroker(), { log, untilEnd: true, logger: () => {} }).run();
  for (const topic of OUTPUTS) assert.deepEqual(readTopic(log, topic), expected[topic], topic);
  log.close();
});
