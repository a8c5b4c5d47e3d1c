/**
 * `weir run` / `weir describe` type-check a user's TypeScript pipeline before loading it: a typo is
 * `file:line:col: error TSnnnn: message` and exit 2, not a run whose every record is a dead letter.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { hasStackTrace, lines } from "./helpers.js";
import {
  countingPipeline,
  escapeRegExp,
  eventLines,
  typescriptVersion,
  userProject,
} from "./user-project.js";

test("a typo in a user's pipeline fails the type check: file:line:col and TypeScript's message, exit 2", async (t) => {
  const p = userProject(t);
  const file = p.write("my-pipeline.ts", countingPipeline("user_idd"));
  const input = p.write("events.jsonl", eventLines(20));
  const r = await p.weir(["run", "./my-pipeline.ts", "--input", input]);
  assert.equal(r.code, 2, r.stderr);
  const err = lines(r.stderr);
  assert.equal(err.length, 2, r.stderr);
  assert.match(
    err[0],
    new RegExp(
      `^${escapeRegExp(file)}:7:21: error TS2551: Property 'user_idd' does not exist on type .*Did you mean 'user_id'\\?$`,
    ),
  );
  assert.equal(
    err[1],
    `weir: ${file} does not type-check (1 error, TypeScript ${typescriptVersion()}); fix it, or run with --no-typecheck (or WEIR_TYPECHECK=0) to skip the check`,
  );
  assert.ok(!hasStackTrace(r.stderr));
  assert.equal(existsSync(join(p.data, "pipelines")), false, "nothing ran");

  const d = await p.weir(["describe", "./my-pipeline.ts"]);
  assert.equal(d.code, 2, d.stderr);
  assert.match(d.stderr, /my-pipeline\.ts:7:21: error TS2551/);
});

test("--no-typecheck and WEIR_TYPECHECK=0 run it anyway", async (t) => {
  const p = userProject(t);
  p.write("my-pipeline.ts", countingPipeline("user_idd"));
  const r = await p.weir([
    "run",
    "./my-pipeline.ts",
    "--input",
    p.write("events.jsonl", eventLines(30)),
    "--no-typecheck",
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /30 records in, \d+ out \(30 dead letters/);
  const e = await p.weir(["describe", "./my-pipeline.ts"], { env: { WEIR_TYPECHECK: "0" } });
  assert.equal(e.code, 0, e.stderr);
  assert.match(e.stdout, /pipeline my-counts/);
});

test("a pipeline that type-checks runs; the pass is cached, and an edit is checked again", async (t) => {
  const p = userProject(t);
  const file = p.write("my-pipeline.ts", countingPipeline("user_id"));
  const r = await p.weir(["run", "./my-pipeline.ts", "--input", p.write("events.jsonl", eventLines(20))]);
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /type-check/);
  const cacheDirs = readdirSync(p.tmp).filter((n) => n.startsWith("weir-typecheck-"));
  assert.equal(cacheDirs.length, 1);
  assert.equal(readdirSync(join(p.tmp, cacheDirs[0])).length, 1, "one cached pass");

  const d = await p.weir(["describe", "./my-pipeline.ts"]);
  assert.equal(d.code, 0, d.stderr);
  assert.match(d.stdout, /pipeline my-counts/);

  writeFileSync(file, countingPipeline("user_idd"));
  const e = await p.weir(["describe", "./my-pipeline.ts"]);
  assert.equal(e.code, 2, e.stderr);
  assert.match(e.stderr, /my-pipeline\.ts:7:21: error TS2551/);
});
