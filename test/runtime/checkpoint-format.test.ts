/**
 * One checkpoint format for both backends (src/runtime/checkpoint.ts, format 2), and checkpoints of
 * format 1 still restore: a run stopped under a format-1 checkpoint resumes to the outputs of an
 * uninterrupted run.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EmbeddedLog } from "../../src/log/index.js";
import { Runner } from "../../src/runtime/runner.js";
import { CHECKPOINT_VERSION, upgradeCheckpoint } from "../../src/runtime/checkpoint.js";
import { isWeirError } from "../../src/errors.js";
import { nobroker } from "../../examples/nobroker/pipeline.js";
import { makeInput, readTopic } from "./inputs.js";

const OUTPUTS = ["paid_user", "property_status", "possible_broker", "nobroker.dlq", "nobroker.late"];

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), "weir-cpformat-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function runOn(dataDir: string, inputFile: string, stopEarly: boolean) {
  const log = EmbeddedLog.open(dataDir, { logger: () => {} });
  try {
    const runner = new Runner(nobroker({ lake: false }), { log, inputFile, maxBatch: 500, logger: () => {} });
    if (stopEarly) runner.stop(); // after its first batch, with a checkpoint
    await runner.run();
    return Object.fromEntries(OUTPUTS.map((t) => [t, readTopic(log, t)]));
  } finally {
    log.close();
  }
}

test("a file run stopped under a checkpoint of format 1 resumes exactly as an uninterrupted run", async (t) => {
  const dir = tempDir(t);
  const input = join(dir, "in.jsonl");
  // More than one chunk of the file (4 MiB), so that the stopped run has input left.
  writeFileSync(input, makeInput(60_000, 9).join("\n") + "\n");
  const whole = await runOn(join(dir, "whole"), input, false);

  const data = join(dir, "resumed");
  await runOn(data, input, true);
  const file = join(data, "pipelines", "nobroker", "checkpoint.json");
  const v2 = JSON.parse(readFileSync(file, "utf8"));
  assert.equal(v2.version, CHECKPOINT_VERSION);
  assert.equal(v2.files.length, 1);
  assert.equal(v2.files[0].completed, false, "stopped before the end of its input");
  assert.ok(v2.files[0].nextOffset > 0);
  // The same checkpoint as format 1 wrote it (the embedded log's layout before format 2).
  const { topic: _topic, ...fileInput } = v2.files[0];
  const v1 = {
    version: 1,
    pipeline: v2.pipeline,
    steps: v2.steps,
    writtenAt: v2.writtenAt,
    sequence: v2.sequence,
    topicInput: v2.inputs,
    fileInput,
    outputs: v2.outputs,
    tables: v2.tables,
    lake: v2.lake,
    task: v2.task,
  };
  writeFileSync(file, JSON.stringify(v1));
  const resumed = await runOn(data, input, false);
  for (const topic of OUTPUTS) assert.deepEqual(resumed[topic], whole[topic], topic);
  assert.equal(
    JSON.parse(readFileSync(file, "utf8")).version,
    CHECKPOINT_VERSION,
    "written back as format 2",
  );
});

test("format 1 checkpoints of both backends convert to format 2; an unknown version is one clear error", () => {
  const task = { version: 1 as const, steps: {}, sources: {} };
  const head = { pipeline: "p", steps: ["a"], writtenAt: "2026-01-01T00:00:00.000Z", sequence: 3, task };
  assert.deepEqual(
    upgradeCheckpoint(
      {
        version: 1,
        ...head,
        topicInput: {},
        fileInput: null,
        fileInputs: [{ topic: "e", path: "/e", bytePosition: 5, nextOffset: 1, completed: true }],
        outputs: { out: { 0: 4 } },
        sinks: { "sink:hook": 2 },
      },
      "x",
    ),
    {
      version: 2,
      ...head,
      inputs: {},
      files: [{ topic: "e", path: "/e", bytePosition: 5, nextOffset: 1, completed: true }],
      outputs: { out: { 0: 4 } },
      tables: {},
      lake: {},
      sinks: { checkpoint: 3, prepared: { "sink:hook": 2 } },
    },
  );
  assert.throws(
    () => upgradeCheckpoint({ version: 7, ...head }, "/d/checkpoint.json"),
    (err: unknown) =>
      isWeirError(err) &&
      err.code === "CORRUPT" &&
      /checkpoint \/d\/checkpoint.json has unknown version 7 \(this Weir reads versions 1 and 2\)/.test(
        err.message,
      ),
  );
});
