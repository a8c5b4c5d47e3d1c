/**
 * Replay and promote (the Kappa architecture, seed 004): v1 runs; v2 — the same pipeline with a
 * changed threshold — reprocesses the retained input into outputs of its own; its outputs equal a
 * fresh run with the new threshold; `weir promote` switches readers to v2 and back.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { readStatuses } from "../../src/runtime/status.js";
import { lines, runCli, spawnCli, tempDir } from "./helpers.js";

async function waitFor(check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function ok(args: string[]): Promise<{ stdout: string; stderr: string }> {
  const r = await runCli(args, { timeoutMs: 120_000 });
  assert.equal(r.code, 0, `weir ${args.join(" ")}: ${r.stderr}`);
  return r;
}

const TOPICS = ["paid_user", "property_status", "possible_broker"];

test("weir replay --as v2 with a new threshold equals a fresh run with it; promote switches readers", async (t) => {
  const root = tempDir(t, "weir-replay-");
  const input = join(root, "events.jsonl");
  await ok(["generate", "nobroker", "-n", "20000", "--seed", "5", "-o", input]);
  const dir = join(root, "data");
  const fresh = join(root, "fresh");
  for (const d of [dir, fresh]) await ok(["produce", "events", "--file", input, "--data-dir", d]);

  // v1 runs live (default threshold) while v2 (--paid-threshold 5) reprocesses the same retained
  // input; both write to the same data directory (log, tables.db, lake).
  const v1run = spawnCli(["run", "nobroker", "--data-dir", dir]);
  t.after(async () => {
    v1run.kill("SIGKILL");
    await v1run.exited;
  });
  await v1run.waitForStderr((e) => /running on events/.test(e), 60_000);
  const replay = await ok([
    "replay",
    "nobroker",
    "--as",
    "v2",
    "--paid-threshold",
    "5",
    "--until-end",
    "--data-dir",
    dir,
  ]);
  assert.match(replay.stderr, /nobroker_v2: 20000 records in/);
  // v1 catches up too, then stops (SIGTERM: final checkpoint).
  await waitFor(async () => {
    const s = readStatuses(dir).find((x) => x.pipeline === "nobroker" && x.state === "running");
    return s !== undefined && s.metrics.recordsIn === 20000 && s.metrics.inputLag === 0;
  });
  v1run.kill("SIGTERM");
  assert.equal((await v1run.exited).code, 0);
  const v1 = await Promise.all(
    TOPICS.map(async (tp) => lines((await ok(["consume", tp, "--data-dir", dir])).stdout)),
  );
  // The references: fresh runs with each threshold.
  const freshV1 = join(root, "fresh-v1");
  await ok(["produce", "events", "--file", input, "--data-dir", freshV1]);
  await ok(["run", "nobroker", "--until-end", "--data-dir", freshV1]);
  for (const [i, topic] of TOPICS.entries())
    assert.deepEqual(v1[i], lines((await ok(["consume", topic, "--data-dir", freshV1])).stdout), topic);
  await ok(["run", "nobroker", "--paid-threshold", "5", "--until-end", "--data-dir", fresh]);

  for (const [i, topic] of TOPICS.entries()) {
    const expected = lines((await ok(["consume", topic, "--data-dir", fresh])).stdout);
    assert.ok(expected.length > 0, `${topic} has alerts`);
    const v2 = lines((await ok(["consume", `${topic}.v2`, "--data-dir", dir])).stdout);
    assert.deepEqual(v2, expected, `${topic}.v2 equals the fresh run`);
    // v1's own output is untouched.
    assert.deepEqual(lines((await ok(["consume", topic, "--data-dir", dir])).stdout), v1[i]);
  }
  assert.notDeepEqual(v1[0], lines((await ok(["consume", "paid_user", "--data-dir", fresh])).stdout));
  const table = async (d: string, name: string) =>
    (await ok(["table", name, "--versions", "3", "--format", "json", "--data-dir", d])).stdout;
  assert.equal(await table(dir, "user_interactions_v2"), await table(fresh, "user_interactions"));
  const count = async (d: string, sql: string) =>
    (await ok(["query", sql, "--format", "csv", "--data-dir", d])).stdout;
  assert.equal(
    await count(dir, "select count(*) from interactions_v2"),
    await count(fresh, "select count(*) from interactions"),
  );

  // Promote: readers of v1 names now read v2; --original still reads v1; --to v1 switches back.
  const promoted = await ok(["promote", "nobroker", "--to", "v2", "--data-dir", dir]);
  assert.match(promoted.stderr, /paid_user -> paid_user\.v2/);
  const paid = await ok(["consume", "paid_user", "--data-dir", dir]);
  assert.match(paid.stderr, /paid_user is promoted to paid_user\.v2/);
  assert.deepEqual(
    lines(paid.stdout),
    lines((await ok(["consume", "paid_user", "--data-dir", fresh])).stdout),
  );
  assert.deepEqual(
    lines((await ok(["consume", "paid_user", "--original", "--data-dir", dir])).stdout),
    v1[0],
  );
  assert.equal(await table(dir, "user_interactions"), await table(fresh, "user_interactions"));
  const sql =
    "select count(*) as n, max(interactions_count) as m from (select value->>'interactions_count' as interactions_count from user_interactions_latest)";
  assert.equal(await count(dir, sql), await count(fresh, sql));
  await ok(["promote", "nobroker", "--to", "v1", "--data-dir", dir]);
  assert.deepEqual(lines((await ok(["consume", "paid_user", "--data-dir", dir])).stdout), v1[0]);
});

test("weir promote refuses a version that has not caught up, or never ran; --force overrides", async (t) => {
  const root = tempDir(t, "weir-promote-");
  const input = join(root, "events.jsonl");
  await ok(["generate", "nobroker", "-n", "2000", "--seed", "6", "-o", input]);
  const dir = join(root, "data");
  await ok(["produce", "events", "--file", input, "--data-dir", dir]);

  const never = await runCli(["promote", "nobroker", "--to", "v2", "--data-dir", dir]);
  assert.equal(never.code, 1);
  assert.match(never.stderr, /nobroker_v2 has never run/);

  await ok(["replay", "nobroker", "--as", "v2", "--until-end", "--data-dir", dir]);
  await ok(["produce", "events", "--file", input, "--data-dir", dir]); // 2000 more records v2 has not read
  const behind = await runCli(["promote", "nobroker", "--to", "v2", "--data-dir", dir]);
  assert.equal(behind.code, 1);
  assert.match(behind.stderr, /nobroker_v2 is 2000 records behind its input/);
  assert.equal(behind.stderr.trim().split("\n").length, 1, "one line");

  await ok(["promote", "nobroker", "--to", "v2", "--force", "--data-dir", dir]);
  const bad = await runCli(["promote", "nobroker", "--to", "2", "--data-dir", dir]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--to: version must look like v2/);
});
