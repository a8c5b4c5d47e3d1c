/**
 * The input chooser and per-partition watermarks (src/runtime/input-chooser.ts, docs/semantics.md
 * "Several inputs"): the next record is the one with the smallest event time over every input's
 * next record; a source reading several partitions lives by the lowest of their watermarks. On the
 * embedded log, an input of several partitions runs as partition tasks (runtime/partition-tasks.ts):
 * every key's outputs do not depend on batch sizes and are those of partition tasks exchanging
 * frames as on Kafka, and partitions each in event-time order give what one partition holding them
 * all gives.
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
import { Partitioner } from "../../src/log/partitioner.js";
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

/** The field naming each output record's key (the topic's records are compared key by key). */
const KEY_FIELD: Record<string, string> = {
  paid_user: "user",
  property_status: "property",
  possible_broker: "user_id",
};

/**
 * Outputs key by key: per topic and key, the records in the order written; topics without a key
 * (dead letters, late records) as sorted multisets.
 */
function byKey(outputs: Record<string, string[]>): Record<string, string[]> {
  const groups: Record<string, string[]> = {};
  for (const [topic, values] of Object.entries(outputs)) {
    const field = KEY_FIELD[topic];
    if (field === undefined) {
      groups[topic] = [...values].sort();
      continue;
    }
    for (const v of values)
      (groups[`${topic} ${(JSON.parse(v) as Record<string, unknown>)[field]}`] ??= []).push(v);
  }
  return groups;
}

/**
 * The reference for N partition tasks: N plain Tasks with exchanges whose frames travel through
 * queues, as on Kafka's repartition topics (not the direct hand-over the embedded runtime uses), on
 * the simplest schedule: task 0 reads its whole partition, then task 1, ...; then every frame is
 * delivered, then the end of input. The receivers' release order makes any schedule give these
 * outputs, key by key.
 */
function asPartitionTasks(partitions: string[][]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  const n = partitions.length;
  const queues = new Map<number, string[]>();
  const tasks: Task[] = [];
  for (let p = 0; p < n; p++)
    tasks.push(
      new Task(
        nobroker({ tables: false, lake: false }).graph,
        {
          append: (topic, key, v, _ts, partition) => {
            if (topic.endsWith(".repartition")) {
              const to = partition ?? new Partitioner(n).partitionFor(key);
              (queues.get(to) ?? queues.set(to, []).get(to)!).push(`${topic}\u0000${v}`);
            } else (out[topic] ??= []).push(v);
          },
          upsert() {},
          land() {},
          deliver() {},
        },
        { exchange: { task: p, tasks: n } },
      ),
    );
  const deliver = () => {
    for (const t of tasks) t.broadcastWatermarks();
    for (let moved = true; moved;) {
      moved = false;
      for (const [to, frames] of queues)
        for (const frame of frames.splice(0)) {
          moved = true;
          const at = frame.indexOf("\u0000");
          tasks[to].processLine(frame.slice(0, at), to, 0, 0, frame.slice(at + 1));
        }
    }
  };
  partitions.forEach((lines, p) =>
    lines.forEach((line, offset) => tasks[p].processLine("events", p, offset, 0, line)),
  );
  deliver();
  for (const t of tasks) t.endOfInput();
  deliver();
  return Object.fromEntries(OUTPUTS.map((t) => [t, out[t] ?? []]));
}

test("three partitions on the embedded log run as three partition tasks: every key's outputs are the same whatever the batch size", async (t) => {
  const dir = tempDir(t);
  // Unkeyed input spread over three partitions, each keeping its lines in order: out-of-order,
  // late and malformed lines included (makeInput), and the partitions' clocks drift apart. Both
  // keyBys (user, property) take records from every partition.
  const lines = makeInput(6000, 11);
  const partitions: string[][] = [[], [], []];
  lines.forEach((line, i) => partitions[i % 3].push(line));
  partitions[2] = partitions[2].slice(0, 1200); // partition 2 ends early: its task goes idle at its end
  const expected = byKey(asPartitionTasks(partitions));
  assert.ok(expected["nobroker.late"].length > 0, "the input has late records");
  assert.ok(expected["nobroker.dlq"].length > 0, "the input has dead letters");
  assert.ok(
    Object.keys(expected).some((g) => g.startsWith("possible_broker ")),
    "windows fire",
  );
  for (const maxBatch of [1, 7, 1000]) {
    const log = logWith(join(dir, `b${maxBatch}`), partitions);
    try {
      const got = byKey(await liveRun(log, maxBatch));
      assert.deepEqual(Object.keys(got).sort(), Object.keys(expected).sort(), `keys with batch ${maxBatch}`);
      for (const group of Object.keys(expected))
        assert.deepEqual(got[group], expected[group], `${group} with batch ${maxBatch}`);
    } finally {
      log.close();
    }
  }
});

test("partitions each in event-time order give, key by key, what one partition holding every record gives", async (t) => {
  const dir = tempDir(t);
  // In event-time order, no two records at the same instant: nothing is late, neither in one task
  // reading one partition nor in three partition tasks (a record after a keyBy is judged by its own
  // partition's watermark), so every key gets the same outputs; only how keys interleave differs.
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
    assert.deepEqual(byKey(split), byKey(single));
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
