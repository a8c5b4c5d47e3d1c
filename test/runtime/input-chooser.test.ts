/**
 * The input chooser and per-partition watermarks (src/runtime/input-chooser.ts, docs/semantics.md
 * "Several inputs"): the next record is the one with the smallest event time over every input's
 * next record; a source reading several partitions lives by the lowest of their watermarks. On the
 * embedded log: the order does not depend on batch sizes, and partitions each in event-time order
 * give what one partition holding them all gives.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EmbeddedLog } from "../../src/log/index.js";
import { Runner } from "../../src/runtime/runner.js";
import { StagedRecord, Task } from "../../src/runtime/task.js";
import { nextInput, type ChooserInput } from "../../src/runtime/input-chooser.js";
import { pipeline, schema, windows } from "../../src/index.js";
import { nobroker } from "../../examples/nobroker/pipeline.js";
import { makeInput, readTopic } from "./inputs.js";

const OUTPUTS = ["paid_user", "property_status", "possible_broker", "nobroker.dlq", "nobroker.late"];

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), "weir-chooser-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function headAt(eventTime: number): StagedRecord {
  const r = new StagedRecord();
  r.eventTime = eventTime;
  return r;
}

test("the chooser takes the smallest event time; ties go to the input listed first; a waiting input blocks", () => {
  const input = (head: StagedRecord | null, waiting = false): ChooserInput => ({ head, waiting });
  assert.equal(nextInput([input(headAt(30)), input(headAt(10)), input(headAt(20))]), 1);
  assert.equal(nextInput([input(headAt(10)), input(headAt(10))]), 0, "a tie goes to the first");
  assert.equal(nextInput([input(headAt(10)), input(headAt(-Infinity))]), 1, "a dead letter goes first");
  assert.equal(nextInput([input(null), input(headAt(5))]), 1, "an input at its end is passed over");
  assert.equal(nextInput([input(null, true), input(headAt(5))]), -1, "an input still to fetch is waited for");
  assert.equal(nextInput([input(null), input(null)]), -1);
});

/** A source with a 5 s bound and a 10 s tumbling count, to watch the watermark and the windows. */
function windowed() {
  return pipeline("w", (p) => {
    p.source("in", {
      schema: schema.object({ k: schema.string(), t: schema.int() }),
      eventTime: (e) => e.t,
      maxOutOfOrderness: "5s",
    })
      .keyBy((e) => e.k)
      .window(windows.tumbling("10s"))
      .count()
      .when(() => true, { emit: "final" })
      .map(({ window, value }) => ({ end: window.end, count: value }))
      .to("counts");
  });
}

function taskOf(outputs: Record<string, string[]>) {
  return new Task(windowed().graph, {
    append: (topic, _k, v) => void (outputs[topic] ??= []).push(v),
    upsert() {},
    land() {},
    deliver() {},
  });
}

test("a source reading several partitions lives by the lowest partition watermark; idle partitions are left out", () => {
  const out: Record<string, string[]> = {};
  const task = taskOf(out);
  task.readPartitions("in", [0, 1, 2]);
  const send = (partition: number, t: number) =>
    task.processLine("in", partition, 0, 0, JSON.stringify({ k: "a", t }));
  send(0, 20_000);
  send(1, 30_000);
  assert.equal(task.watermark(), -Infinity, "partition 2 has brought nothing yet");
  send(2, 12_000);
  assert.equal(task.watermark(), 7_000, "lowest: partition 2 at 12 s - 5 s");
  send(2, 40_000);
  assert.equal(task.watermark(), 15_000, "now partition 0 is lowest");
  task.partitionIdle("in", 0);
  assert.equal(task.watermark(), 25_000, "partition 0 idle: partition 1 is lowest");
  assert.deepEqual(
    (out.counts ?? []).map((v) => JSON.parse(v)),
    [{ end: "1970-01-01T00:00:20.000Z", count: 1 }],
    "the window [10 s, 20 s) fired at 25 s, not before",
  );
  send(0, 21_000);
  assert.equal(
    task.watermark(),
    25_000,
    "an idle partition back with a record never moves the watermark back",
  );
  task.partitionIdle("in", 0);
  task.partitionIdle("in", 1);
  task.partitionIdle("in", 2);
  assert.equal(task.watermark(), 35_000, "every partition idle: the highest of theirs");

  // The per-partition maxima are checkpointed: a restored task goes on from them.
  const restored = taskOf({});
  restored.readPartitions("in", [0, 1, 2]);
  restored.restore(task.snapshot());
  assert.equal(restored.watermark(), 35_000);
  restored.processLine("in", 1, 1, 0, JSON.stringify({ k: "a", t: 31_000 }));
  assert.equal(restored.watermark(), 35_000, "never back: partition 1 active again holds it where it is");
  restored.processLine("in", 0, 1, 0, JSON.stringify({ k: "a", t: 60_000 }));
  restored.processLine("in", 2, 1, 0, JSON.stringify({ k: "a", t: 60_000 }));
  restored.processLine("in", 1, 2, 0, JSON.stringify({ k: "a", t: 50_000 }));
  assert.equal(restored.watermark(), 45_000, "restored maxima: 60, 50, 60 s");
});

/** Write `partitions` (lines per partition) to topic `events` of a fresh log in `dataDir`. */
function logWith(dataDir: string, partitions: string[][]): EmbeddedLog {
  return logWithTopic(dataDir, "events", partitions);
}

/** NoBroker live on the embedded log to the end of its input; its output topics. */
async function liveRun(log: EmbeddedLog, maxBatch: number): Promise<Record<string, string[]>> {
  await new Runner(nobroker({ tables: false, lake: false }), {
    log,
    untilEnd: true,
    maxBatch,
    logger: () => {},
  }).run();
  return Object.fromEntries(OUTPUTS.map((t) => [t, readTopic(log, t)]));
}

/**
 * The reference: the lines taken by the rule itself — over the three partitions' next lines, the
 * smallest event time (a line that is a dead letter at once), ties to the lowest partition — fed to a
 * plain Task whose source keeps a watermark per partition, a partition leaving it right after its
 * last line (read to its end).
 */
function byTheRule(partitions: string[][]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  const task = new Task(nobroker({ tables: false, lake: false }).graph, {
    append: (topic, _k, v) => void (out[topic] ??= []).push(v),
    upsert() {},
    land() {},
    deliver() {},
  });
  task.readPartitions(
    "events",
    partitions.map((_, p) => p),
  );
  const eventTime = (line: string): number => {
    try {
      const v = JSON.parse(line) as { user_id?: unknown; date?: string };
      if (!Number.isInteger(v.user_id)) return -Infinity;
      return Date.parse(`${v.date!.replace(" ", "T")}Z`);
    } catch {
      return -Infinity;
    }
  };
  const next = partitions.map(() => 0);
  for (;;) {
    let pick = -1;
    for (let p = 0; p < partitions.length; p++) {
      if (next[p] >= partitions[p].length) continue;
      if (pick < 0 || eventTime(partitions[p][next[p]]) < eventTime(partitions[pick][next[pick]])) pick = p;
    }
    if (pick < 0) break;
    const offset = next[pick]++;
    task.processLine("events", pick, offset, 0, partitions[pick][offset]);
    if (next[pick] === partitions[pick].length) task.partitionIdle("events", pick);
  }
  task.endOfInput();
  return Object.fromEntries(OUTPUTS.map((t) => [t, out[t] ?? []]));
}

test("three partitions on the embedded log: records go smallest event time first, whatever the batch size", async (t) => {
  const dir = tempDir(t);
  // Unkeyed input spread over three partitions, each keeping its lines in order: out-of-order,
  // late and malformed lines included (makeInput), and the partitions' clocks drift apart.
  const lines = makeInput(6000, 11);
  const partitions: string[][] = [[], [], []];
  lines.forEach((line, i) => partitions[i % 3].push(line));
  partitions[2] = partitions[2].slice(0, 1200); // partition 2 ends early: it leaves the watermark at its end
  const expected = byTheRule(partitions);
  assert.ok(expected["nobroker.late"].length > 0, "the input has late records");
  assert.ok(expected["nobroker.dlq"].length > 0, "the input has dead letters");
  assert.ok(expected.possible_broker.length > 0, "windows fire");
  for (const maxBatch of [1, 7, 1000]) {
    const log = logWith(join(dir, `b${maxBatch}`), partitions);
    try {
      const got = await liveRun(log, maxBatch);
      for (const topic of OUTPUTS)
        assert.deepEqual(got[topic], expected[topic], `${topic} with batch ${maxBatch}`);
    } finally {
      log.close();
    }
  }
});

test("partitions each in event-time order give, topic by topic, what one partition holding every record gives", async (t) => {
  const dir = tempDir(t);
  // In event-time order, no two records at the same instant: one partition of all of them is the
  // order the chooser takes them in; windows fire later with three partitions (the lowest
  // partition watermark), but nothing is late in either run and every output is the same.
  const t0 = Date.UTC(2021, 10, 30);
  const events: string[] = [];
  let s = 7;
  const rnd = () => (s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0) / 2 ** 32;
  for (let i = 0; i < 5000; i++) {
    const date = new Date(t0 + i * 997).toISOString().replace("T", " ").slice(0, 19);
    const user = rnd() < 0.4 ? 1 + Math.floor(rnd() * 4) : 1 + Math.floor(rnd() * 300);
    events.push(
      JSON.stringify({ user_id: user, property_id: 1 + Math.floor(rnd() * 40), date, event: "Interaction" }),
    );
  }
  const byUser: string[][] = [[], [], []];
  for (const e of events) byUser[(JSON.parse(e) as { user_id: number }).user_id % 3].push(e);
  const one = logWith(join(dir, "one"), [events]);
  const three = logWith(join(dir, "three"), byUser);
  try {
    const single = await liveRun(one, 1000);
    const split = await liveRun(three, 1000);
    assert.equal(single["nobroker.late"].length, 0);
    assert.ok(single.possible_broker.length > 0 && single.paid_user.length > 0);
    for (const topic of OUTPUTS) assert.deepEqual(split[topic], single[topic], topic);
  } finally {
    one.close();
    three.close();
  }
});

test("a live run: a partition quiet for the idle timeout leaves the watermark, and the windows the others close fire", async (t) => {
  const dir = tempDir(t);
  // Two partitions; only partition 0 brings records. Partition 1 holds the watermark at -infinity
  // until it has been quiet for idleTimeoutMs; then partition 0's watermark alone closes windows.
  const lines = Array.from({ length: 30 }, (_, i) => JSON.stringify({ k: "a", t: i * 1000 }));
  const firedWithin = async (data: string, idleTimeoutMs: number, waitMs: number): Promise<string[]> => {
    const log = logWithTopic(data, "in", [lines, []]);
    try {
      const runner = new Runner(windowed(), { log, idleTimeoutMs, logger: () => {} });
      const running = runner.run();
      const deadline = Date.now() + waitMs;
      while (readTopic(log, "counts").length === 0 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 50));
      runner.stop();
      await running;
      return readTopic(log, "counts");
    } finally {
      log.close();
    }
  };
  assert.deepEqual(
    await firedWithin(join(dir, "never"), 0, 1500),
    [],
    "no idleness: partition 1 holds every window",
  );
  const fired = (await firedWithin(join(dir, "idle"), 300, 20_000)).map((v) => JSON.parse(v));
  // W = 29 s - 5 s = 24 s: the windows ending at 10 s and 20 s fire.
  assert.deepEqual(fired, [
    { end: "1970-01-01T00:00:10.000Z", count: 10 },
    { end: "1970-01-01T00:00:20.000Z", count: 10 },
  ]);
});

function logWithTopic(dataDir: string, topic: string, partitions: string[][]): EmbeddedLog {
  const log = EmbeddedLog.open(dataDir, { logger: () => {} });
  log.createTopic(topic, { partitions: partitions.length });
  const w = log.writer(topic);
  partitions.forEach((lines, partition) => {
    if (lines.length > 0) w.append(lines.map((value) => ({ value, partition })));
  });
  w.close();
  return log;
}
