/**
 * The embeddable API, run(pipeline, options), on the real embedded log: bounded and live runs,
 * stopping on an AbortSignal and with stop(), status and metrics, several pipelines in one process
 * on one data directory, the same pipeline twice refused (in this process and across processes),
 * failures as WeirErrors with a code, and the logger.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import {
  WeirError,
  jsonLogger,
  pipeline,
  readTopic,
  run,
  schema,
  silentLogger,
  type RunHandle,
} from "../../src/index.js";
import { EmbeddedLog } from "../../src/log/index.js";
import { openLogs } from "../../src/embed/shared-log.js";
import { versionedDefinition } from "../../src/api/versions.js";
import { nobroker } from "../../examples/nobroker/pipeline.js";
import { makeInput } from "../runtime/inputs.js";
import { repoRoot } from "../helpers/services.js";
import { spawnCli } from "../cli/helpers.js";

const SAMPLE = join(repoRoot(), "examples", "nobroker", "sample.jsonl");

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), "weir-embed-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function values(topic: string, dataDir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const r of readTopic(topic, { dataDir })) out.push(r.value);
  return out;
}

/** Append `lines` to the embedded topic `topic` (created when missing). */
function produce(dataDir: string, topic: string, lines: readonly string[]): void {
  const log = EmbeddedLog.open(dataDir, { logger: () => {} });
  try {
    log.ensureTopic(topic);
    const w = log.writer(topic);
    w.append(lines.map((value) => ({ value })));
    w.close();
  } finally {
    log.close();
  }
}

async function until(what: string, condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A pipeline of its own (different source, steps and outputs from NoBroker's). */
const Click = schema.object({ user: schema.int(), at: schema.timestamp() });
const clicks = pipeline("clicks", (p) => {
  p.source("clicks", { schema: Click, eventTime: (e) => e.at })
    .keyBy((e) => e.user)
    .count()
    .when((n) => n >= 2)
    .map(({ key, value }) => ({ user: key, clicks: value }))
    .to("frequent_clickers");
});

test("a bounded run: done resolves with the summary, outputs are readable, status and metrics follow", async (t) => {
  const dataDir = join(tempDir(t), "data");
  const handle = run(nobroker(), { dataDir, input: SAMPLE, logger: silentLogger });
  assert.equal(handle.pipeline, "nobroker");
  assert.equal(handle.status().state, "starting");
  assert.equal(handle.metrics().recordsIn, 0);
  const summary = await handle.done;
  assert.deepEqual(
    { in: summary.recordsIn, out: summary.recordsOut, dead: summary.deadLetters, late: summary.lateRecords },
    { in: 25, out: 3, dead: 0, late: 0 },
  );
  assert.equal(summary.alreadyComplete, false);
  assert.deepEqual(summary.inputTopics, ["events"]);
  assert.ok(summary.outputTopics.includes("paid_user"));
  assert.deepEqual(handle.status(), { state: "stopped" });
  assert.equal(handle.metrics().recordsIn, 25);
  assert.deepEqual(await values("paid_user", dataDir), ['{"user":1,"interactions_count":9}']);
  assert.equal(openLogs().has(dataDir), false, "the shared log is closed after the run");

  // Again: the checkpoint says the file was read to its end.
  const again = await run(nobroker(), { dataDir, input: SAMPLE, logger: silentLogger }).done;
  assert.equal(again.alreadyComplete, true);
});

test("a live run stops gracefully when its AbortSignal aborts: batch finished, checkpoint written, lock released", async (t) => {
  const dataDir = join(tempDir(t), "data");
  const lines = makeInput(2000, 3);
  produce(dataDir, "events", lines);
  const stop = new AbortController();
  const started: string[][] = [];
  const handle = run(nobroker(), {
    dataDir,
    signal: stop.signal,
    logger: silentLogger,
    checkpointInterval: "1h",
    onStarted: (s) => started.push([...s.inputTopics]),
  });
  await until("all records read", () => handle.metrics().recordsIn === lines.length);
  assert.equal(handle.status().state, "running");
  assert.deepEqual(started, [["events"]]);
  stop.abort();
  assert.equal(handle.status().state, "stopping");
  const summary = await handle.done;
  assert.equal(summary.recordsIn, lines.length);
  assert.equal(handle.status().state, "stopped");
  assert.ok(summary.checkpoints >= 2, "a checkpoint at the start and one at the stop");
  const firstOutputs = await values("paid_user", dataDir);
  assert.ok(firstOutputs.length > 0);

  // The lock is free and the checkpoint holds the positions: a new run reads nothing again.
  produce(dataDir, "events", makeInput(10, 4));
  const resumed = await run(nobroker(), { dataDir, untilEnd: true, logger: silentLogger }).done;
  assert.equal(resumed.recordsIn, 10);
});

test("stop() stops a live run and resolves with its summary; a signal aborted before the start runs nothing", async (t) => {
  const dataDir = join(tempDir(t), "data");
  produce(dataDir, "events", makeInput(100, 5));
  const handle = run(nobroker(), { dataDir, logger: silentLogger });
  await until("running", () => handle.status().state === "running" && handle.metrics().recordsIn === 100);
  const summary = await handle.stop();
  assert.equal(summary.recordsIn, 100);
  assert.equal(await handle.stop(), summary, "stop() again: the same summary");

  produce(dataDir, "events", makeInput(50, 6));
  const early = await run(nobroker(), { dataDir, signal: AbortSignal.abort(), logger: silentLogger }).done;
  assert.equal(early.recordsIn, 0, "stopped before reading");
});

test("two different pipelines run at once in one process on one data directory, sharing one log", async (t) => {
  const dataDir = join(tempDir(t), "data");
  const lines = makeInput(3000, 7);
  produce(dataDir, "events", lines);
  produce(dataDir, "clicks", [
    '{"user":1,"at":"2021-11-30 00:00:00"}',
    '{"user":2,"at":"2021-11-30 00:00:01"}',
    '{"user":1,"at":"2021-11-30 00:00:02"}',
    "not json",
    '{"user":2,"at":"2021-11-30 00:00:03"}',
    '{"user":1,"at":"2021-11-30 00:00:04"}',
  ]);
  // The expected NoBroker outputs: a live run of its own, in another directory.
  const solo = join(tempDir(t), "solo");
  produce(solo, "events", lines);
  const alone = run(nobroker({ tables: false, lake: false }), { dataDir: solo, logger: silentLogger });
  await until("the solo run read its input", () => alone.metrics().recordsIn === 3000);
  await alone.stop();

  const a = run(nobroker(), { dataDir, logger: silentLogger });
  const b = run(clicks, { dataDir, logger: silentLogger });
  // A third: NoBroker v2 reads the same topic, writes its own outputs (weir replay --as v2).
  const c = run(versionedDefinition(nobroker(), "v2"), { dataDir, logger: silentLogger });
  const handles: RunHandle[] = [a, b, c];
  await until("all three running", () => handles.every((h) => h.status().state === "running"));
  assert.equal(openLogs().get(dataDir), 3, "one log, three leases");
  await until("all input read", () => a.metrics().recordsIn === 3000 && b.metrics().recordsIn === 6);
  await until("v2 read it too", () => c.metrics().recordsIn === 3000);
  const [sa, sb, sc] = await Promise.all(handles.map((h) => h.stop()));
  assert.equal(openLogs().has(dataDir), false);
  assert.equal(sa.recordsIn, 3000);
  assert.deepEqual({ in: sb.recordsIn, dead: sb.deadLetters }, { in: 6, dead: 1 });
  assert.equal(sc.recordsIn, 3000);

  for (const topic of ["paid_user", "property_status", "possible_broker"]) {
    const expected = await values(topic, solo);
    assert.ok(expected.length > 0, topic);
    assert.deepEqual(await values(topic, dataDir), expected, topic);
    assert.deepEqual(await values(`${topic}.v2`, dataDir), expected, `${topic}.v2`);
  }
  assert.deepEqual(await values("frequent_clickers", dataDir), [
    '{"user":1,"clicks":2}',
    '{"user":2,"clicks":2}',
  ]);
  assert.equal((await values("clicks.dlq", dataDir)).length, 1);
});

test("the same pipeline twice is refused with PIPELINE_RUNNING; the first keeps running", async (t) => {
  const dataDir = join(tempDir(t), "data");
  produce(dataDir, "events", makeInput(100, 8));
  const first = run(nobroker(), { dataDir, logger: silentLogger });
  // At once (before the first has taken its run lock) and once it runs.
  const twin = run(nobroker(), { dataDir, logger: silentLogger });
  await assert.rejects(twin.done, (err: unknown) => {
    assert.ok(err instanceof WeirError);
    assert.equal(err.code, "PIPELINE_RUNNING");
    assert.match(err.message, /nobroker.*already running in this process/);
    return true;
  });
  assert.equal(twin.status().state, "failed");
  assert.equal(twin.status().error?.code, "PIPELINE_RUNNING");
  await until("running", () => first.status().state === "running");
  const later = run(nobroker(), { dataDir, logger: silentLogger });
  await assert.rejects(later.done, { code: "PIPELINE_RUNNING" });
  assert.equal(first.status().state, "running");
  assert.equal((await first.stop()).recordsIn, 100);
});

test("a pipeline running in another process is refused by its run.lock, naming that process", async (t) => {
  const dataDir = join(tempDir(t), "data");
  produce(dataDir, "events", makeInput(10, 9));
  const cli = spawnCli(["run", "nobroker", "--data-dir", dataDir]);
  t.after(() => cli.kill("SIGKILL"));
  await cli.waitForStderr((e) => /running on events/.test(e), 60_000);
  const handle = run(nobroker(), { dataDir, logger: silentLogger });
  await assert.rejects(handle.done, (err: unknown) => {
    assert.ok(err instanceof WeirError);
    assert.equal(err.code, "PIPELINE_RUNNING");
    assert.match(err.message, new RegExp(`running in process ${cli.child.pid}\\b.*run\\.lock`));
    return true;
  });
  cli.kill("SIGTERM");
  assert.equal((await cli.exited).code, 0);
});

test("mistakes and failures reject done with a WeirError and its code", async (t) => {
  const dataDir = join(tempDir(t), "data");
  await assert.rejects(run(nobroker(), { dataDir, broker: "kafka://127.0.0.1:9092", input: SAMPLE }).done, {
    name: "WeirError",
    code: "USAGE",
    message: /input is a bounded run on the embedded log/,
  });
  await assert.rejects(run(nobroker(), { dataDir, checkpointInterval: "soon" }).done, {
    code: "USAGE",
    message: /invalid duration "soon"/,
  });
  await assert.rejects(run(nobroker(), { dataDir, fromScratch: true, dropState: ["x"] }).done, {
    code: "USAGE",
  });
  await assert.rejects(
    run(nobroker(), { dataDir, input: join(dataDir, "missing.jsonl"), logger: silentLogger }).done,
    (err: unknown) => err instanceof WeirError,
  );
  const file = join(tempDir(t), "in.jsonl");
  writeFileSync(file, Array.from({ length: 1500 }, (_, i) => `bad ${i}`).join("\n"));
  const handle = run(nobroker(), {
    dataDir,
    input: file,
    deadLetterLimit: { maxRatio: 0.5, minRecords: 100 },
    logger: silentLogger,
  });
  await assert.rejects(handle.done, { name: "WeirError", code: "DEAD_LETTER_RATIO" });
  assert.equal(handle.status().state, "failed");
  assert.equal(handle.status().error?.code, "DEAD_LETTER_RATIO");
  assert.ok(existsSync(join(dataDir, "pipelines", "nobroker", "checkpoint.json")));
});

test("the run's messages go to its logger, as JSON lines with jsonLogger", async (t) => {
  const dataDir = join(tempDir(t), "data");
  const lines: string[] = [];
  const logger = jsonLogger({ stream: { write: (s: string) => lines.push(s) } });
  await run(nobroker(), { dataDir, input: SAMPLE, logger }).done;
  await run(nobroker(), { dataDir, input: SAMPLE, logger }).done; // "already processed"
  assert.ok(lines.length > 0);
  for (const line of lines) {
    assert.ok(line.endsWith("\n"));
    const entry = JSON.parse(line) as Record<string, unknown>;
    assert.deepEqual(Object.keys(entry).slice(0, 4), ["time", "level", "msg", "pipeline"]);
    assert.equal(entry.pipeline, "nobroker");
    assert.equal(entry.level, "info");
    assert.ok(!Number.isNaN(Date.parse(entry.time as string)));
  }
  assert.ok(lines.some((l) => /already processed to its end/.test(l)));
});

test("two pipelines writing one topic: the second is refused (PARTITION_LOCKED) and lets go of its other outputs", async (t) => {
  const dataDir = join(tempDir(t), "data");
  produce(dataDir, "clicks", ['{"user":1,"at":"2021-11-30 00:00:00"}']);
  const first = run(clicks, { dataDir, logger: silentLogger });
  await until("running", () => first.status().state === "running");
  const rival = pipeline("rival", (p) => {
    const s = p.source("clicks", { schema: Click });
    s.to("rival_topic");
    s.to("frequent_clickers");
  });
  await assert.rejects(run(rival, { dataDir, logger: silentLogger }).done, {
    name: "WeirError",
    code: "PARTITION_LOCKED",
    message: /frequent_clickers/,
  });
  // rival_topic's writer was released although the log stays open for `first`.
  assert.equal(openLogs().get(dataDir), 1);
  const log = EmbeddedLog.open(dataDir, { logger: () => {} });
  try {
    log.writer("rival_topic").close();
  } finally {
    log.close();
  }
  assert.equal((await first.stop()).recordsIn, 1);
});
