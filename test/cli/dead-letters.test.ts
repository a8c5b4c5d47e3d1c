/**
 * A run whose step fails on every record is loud: one warning naming the step and the reason, and
 * `--max-dead-letter-ratio` stops it — checkpointed, exit 1, one line.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { hasStackTrace, lines } from "./helpers.js";
import { countingPipeline, eventLines, userProject } from "./user-project.js";

const WARNING =
  "weir: my-counts: step keyBy-1 fails on every record: its first 100 records all became dead letters (topic my-counts.dlq): key must be a string or a number, got undefined";

test("a step failing on every record is reported once, also with --quiet", async (t) => {
  const p = userProject(t);
  p.write("my-pipeline.ts", countingPipeline("user_idd"));
  const input = p.write("events.jsonl", eventLines(300));
  const r = await p.weir(["run", "./my-pipeline.ts", "--input", input, "--no-typecheck"]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(
    lines(r.stderr).filter((l) => l.includes("fails on every record")),
    [WARNING],
  );
  assert.match(r.stderr, /300 dead letters/);

  const q = await p.weir(
    ["run", "./my-pipeline.ts", "--input", p.write("more.jsonl", eventLines(150)), "-q"],
    {
      env: { WEIR_TYPECHECK: "0" },
    },
  );
  assert.equal(q.code, 0, q.stderr);
  assert.deepEqual(lines(q.stderr), [WARNING]);
});

test("--max-dead-letter-ratio stops the run with exit 1 and one line, after checkpointing", async (t) => {
  const p = userProject(t);
  p.write("my-pipeline.ts", countingPipeline("user_idd"));
  const input = p.write("events.jsonl", eventLines(2500));
  const r = await p.weir([
    "run",
    "./my-pipeline.ts",
    "--input",
    input,
    "--no-typecheck",
    "--max-dead-letter-ratio",
    "0.5",
  ]);
  assert.equal(r.code, 1, r.stderr);
  assert.ok(!hasStackTrace(r.stderr));
  assert.deepEqual(lines(r.stderr), [
    WARNING,
    "weir: my-counts: stopped: 2500 of 2500 records (100%) became dead letters, more than the maximum dead-letter ratio 0.5; " +
      "most at step keyBy-1 (2500): key must be a string or a number, got undefined. What was processed is checkpointed; " +
      "fix the pipeline or its input and run again (the dead letters are on topic my-counts.dlq)",
  ]);
  const checkpoint = JSON.parse(
    readFileSync(join(p.data, "pipelines", "my-counts", "checkpoint.json"), "utf8"),
  );
  assert.equal(checkpoint.files[0].nextOffset, 2500);
  assert.equal(checkpoint.files[0].completed, false);
  const dlq = await p.weir(["consume", "my-counts.dlq"]);
  assert.equal(lines(dlq.stdout).length, 2500);

  // Fewer records than the minimum (1000): the ratio is not evaluated.
  const under = await p.weir([
    "run",
    "./my-pipeline.ts",
    "--input",
    p.write("few.jsonl", eventLines(50)),
    "--no-typecheck",
    "--max-dead-letter-ratio",
    "50%",
  ]);
  assert.equal(under.code, 0, under.stderr);

  const bad = await p.weir(["run", "./my-pipeline.ts", "--max-dead-letter-ratio", "2"]);
  assert.equal(bad.code, 2, bad.stderr);
  assert.match(bad.stderr, /--max-dead-letter-ratio.*expected a share of the records from 0 to 1/);
});
