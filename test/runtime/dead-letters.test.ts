/**
 * A step that fails on every record is loud: the task reports it once (TestDriver.failingSteps, the
 * runners' warning), and a run can stop, checkpointed, past a dead-letter ratio.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline, schema, TestDriver, WeirError, type PipelineDefinition } from "../../src/index.js";
import { EmbeddedLog } from "../../src/log/index.js";
import { Runner } from "../../src/runtime/runner.js";
import { deadLetterRatioExceeded, DeadLetterWatch } from "../../src/runtime/dead-letters.js";
import { readTopic } from "./inputs.js";

const Event = schema.object({ user_id: schema.int(), kind: schema.string() });

/** Counts per user; the key function reads `field` (a typo in it makes every record fail). */
function counts(field: string): PipelineDefinition {
  return pipeline("counts", (p) => {
    p.source("events", { schema: Event })
      .keyBy((e) => (e as Record<string, unknown>)[field] as number)
      .count()
      .toStream()
      .to("user_counts");
  });
}

const events = (n: number, from = 0) =>
  Array.from({ length: n }, (_, i) => ({ user_id: (from + i) % 7, kind: "click" }));

test("a key function failing on every record is reported once, after its first 100 records", () => {
  const t = new TestDriver(counts("user_idd"));
  t.sendAll("events", events(99));
  assert.deepEqual(t.failingSteps(), []);
  t.send("events", events(1)[0]);
  assert.deepEqual(t.failingSteps(), [
    {
      step: "keyBy-1",
      records: 100,
      first: true,
      reason: "key must be a string or a number, got undefined",
    },
  ]);
  t.sendAll("events", events(1000));
  assert.equal(t.failingSteps().length, 1, "once per step");
  assert.equal(t.deadLetters().length, 1100);
});

test("a step that starts failing on every record later is reported with 'last'", () => {
  // Fails from the 50th record on.
  let seen = 0;
  const def = pipeline("late-failure", (p) => {
    p.source("events", { schema: Event })
      .map((e) => {
        if (++seen > 50) throw new Error("lookup table missing");
        return e;
      })
      .to("out");
  });
  const t = new TestDriver(def);
  t.sendAll("events", events(149));
  assert.deepEqual(t.failingSteps(), [], "the first stretch had records that passed");
  t.sendAll("events", events(200));
  const [f] = t.failingSteps();
  assert.equal(f.step, "map-1");
  assert.equal(f.first, false);
  assert.equal(f.reason, "lookup table missing");
  assert.ok(f.records >= 100);
});

test("a step failing on some records only, and a pipeline with no failure, are not reported", () => {
  const def = pipeline("half", (p) => {
    p.source("events", { schema: Event })
      .map((e) => {
        if (e.user_id % 2 === 0) throw new Error("even");
        return e;
      })
      .to("out");
  });
  const half = new TestDriver(def).sendAll("events", events(5000));
  assert.deepEqual(half.failingSteps(), []);
  assert.ok(half.deadLetters().length > 2000);
  const fine = new TestDriver(counts("user_id")).sendAll("events", events(500));
  assert.deepEqual(fine.failingSteps(), []);
});

test("lines failing the schema at the source are reported at the source step", () => {
  const t = new TestDriver(counts("user_id"));
  for (let i = 0; i < 100; i++) t.send("events", `{"user_id":"u${i}","kind":"click"}`);
  const [f] = t.failingSteps();
  assert.equal(f.step, "source:events");
  assert.match(f.reason, /user_id/);
});

test("the ratio is evaluated after the minimum number of records, and names the worst step and reason", () => {
  let records = 0;
  const watch = new DeadLetterWatch(
    () => undefined,
    () => records,
  );
  for (let i = 0; i < 600; i++) {
    records++;
    watch.record("keyBy-1", "step keyBy-1 failed: key must be a string or a number, got undefined");
  }
  for (let i = 0; i < 10; i++) watch.record("map-1", "step map-1 failed: boom");
  assert.equal(deadLetterRatioExceeded({ maxRatio: 0.5, minRecords: 1000 }, [watch]), undefined);
  records = 1000;
  const r = deadLetterRatioExceeded({ maxRatio: 0.5, minRecords: 1000 }, [watch]);
  assert.ok(r !== undefined);
  assert.equal(r.deadLetters, 610);
  assert.equal(r.records, 1000);
  assert.equal(r.step, "keyBy-1");
  assert.equal(r.stepDeadLetters, 600);
  assert.equal(r.reason, "key must be a string or a number, got undefined");
  assert.equal(deadLetterRatioExceeded({ maxRatio: 0.7, minRecords: 1000 }, [watch]), undefined);
});

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), "weir-dead-letters-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test("the embedded runner warns once per failing step, and stops checkpointed past the ratio", async (t) => {
  const dir = tempDir(t);
  const file = join(dir, "events.jsonl");
  writeFileSync(
    file,
    events(3000)
      .map((e) => JSON.stringify(e) + "\n")
      .join(""),
  );
  const data = join(dir, "data");
  const warnings: string[] = [];
  const log = EmbeddedLog.open(data, { logger: () => {} });
  try {
    const runner = new Runner(counts("user_idd"), {
      log,
      inputFile: file,
      logger: () => {},
      warn: (m) => warnings.push(m),
      deadLetterLimit: { maxRatio: 0.5, minRecords: 1000 },
    });
    await assert.rejects(runner.run(), (err: unknown) => {
      assert.ok(err instanceof WeirError);
      assert.equal(err.code, "DEAD_LETTER_RATIO");
      assert.ok(err.isUserError);
      assert.match(
        err.message,
        /^counts: stopped: 3000 of 3000 records \(100%\) became dead letters, more than the maximum dead-letter ratio 0\.5; most at step keyBy-1 \(3000\): key must be a string or a number, got undefined\./,
      );
      return true;
    });
    assert.deepEqual(warnings, [
      "counts: step keyBy-1 fails on every record: its first 100 records all became dead letters (topic counts.dlq): key must be a string or a number, got undefined",
    ]);
    assert.equal(readTopic(log, "counts.dlq").length, 3000, "the dead letters are written");
  } finally {
    log.close();
  }
  const checkpoint = join(data, "pipelines", "counts", "checkpoint.json");
  assert.ok(existsSync(checkpoint));
  const cp = JSON.parse(readFileSync(checkpoint, "utf8"));
  assert.equal(cp.files[0].nextOffset, 3000, "the checkpoint accounts for every record read");
  assert.equal(cp.files[0].completed, false, "the input is not marked complete");

  // Without the limit the same input runs to its end (and warns; the rerun resumes at the end).
  const again = EmbeddedLog.open(data, { logger: () => {} });
  try {
    const summary = await new Runner(counts("user_idd"), {
      log: again,
      inputFile: file,
      logger: () => {},
      warn: (m) => warnings.push(m),
    }).run();
    assert.equal(summary.alreadyComplete, false);
    assert.equal(readTopic(again, "counts.dlq").length, 3000, "nothing was read twice");
  } finally {
    again.close();
  }
});

test("below the minimum number of records the ratio does not stop a run", async (t) => {
  const dir = tempDir(t);
  const file = join(dir, "events.jsonl");
  writeFileSync(
    file,
    events(500)
      .map((e) => JSON.stringify(e) + "\n")
      .join(""),
  );
  const log = EmbeddedLog.open(join(dir, "data"), { logger: () => {} });
  try {
    const warnings: string[] = [];
    const summary = await new Runner(counts("user_idd"), {
      log,
      inputFile: file,
      logger: () => {},
      warn: (m) => warnings.push(m),
      deadLetterLimit: { maxRatio: 0.5, minRecords: 1000 },
    }).run();
    assert.equal(summary.deadLetters, 500);
    assert.equal(warnings.length, 1);
  } finally {
    log.close();
  }
});
