// `weir consume`: order, --max, --group, --partition, interleaving, EPIPE.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { openTopicLog } from "../../src/embed/topic-log.js";
import {
  CLI_ENTRY,
  childExecArgv,
  hasStackTrace,
  interleavedRecords,
  jsonLines,
  lines,
  mergedOutput,
  runCli,
  spawnCli,
  tempDataDir,
} from "./helpers.js";

async function produce(dir: string, topic: string, input: string, ...args: string[]): Promise<void> {
  const r = await runCli(["produce", topic, "--data-dir", dir, ...args], { input });
  assert.equal(r.code, 0, r.stderr);
}

test("consume prints what was produced, in order, and exits at the end", async (t) => {
  const dir = tempDataDir(t);
  const text = jsonLines(1000);
  const half = text.indexOf("\n", text.length / 2) + 1;
  await produce(dir, "t", text.slice(0, half));
  await produce(dir, "t", text.slice(half));
  const c = await runCli(["consume", "t", "--data-dir", dir]);
  assert.equal(c.code, 0, c.stderr);
  assert.equal(c.stdout, text);
  assert.equal(c.stderr, "");
});

test("consume of an empty topic prints nothing and exits 0", async (t) => {
  const dir = tempDataDir(t);
  assert.equal((await runCli(["topics", "create", "empty", "--partitions", "3", "--data-dir", dir])).code, 0);
  const c = await runCli(["consume", "empty", "--data-dir", dir]);
  assert.equal(c.code, 0, c.stderr);
  assert.equal(c.stdout, "");
});

test("--max stops after N records", async (t) => {
  const dir = tempDataDir(t);
  await produce(dir, "t", jsonLines(50));
  const c = await runCli(["consume", "t", "--max", "7", "--data-dir", dir]);
  assert.equal(c.code, 0, c.stderr);
  assert.deepEqual(lines(c.stdout), lines(jsonLines(7)));
});

test("--group commits what it printed; the next run resumes after it", async (t) => {
  const dir = tempDataDir(t);
  const all = lines(jsonLines(20));
  await produce(dir, "t", jsonLines(20));
  const g = ["--group", "g1", "--data-dir", dir];
  let c = await runCli(["consume", "t", "--max", "5", ...g]);
  assert.equal(c.code, 0, c.stderr);
  assert.deepEqual(lines(c.stdout), all.slice(0, 5));
  c = await runCli(["consume", "t", "--max", "5", ...g]);
  assert.deepEqual(lines(c.stdout), all.slice(5, 10));
  c = await runCli(["consume", "t", ...g]);
  assert.deepEqual(lines(c.stdout), all.slice(10));
  c = await runCli(["consume", "t", ...g]);
  assert.equal(c.stdout, "", "nothing new for the group");
  // Another group, and no group, start from the beginning.
  c = await runCli(["consume", "t", "--max", "2", "--group", "g2", "--data-dir", dir]);
  assert.deepEqual(lines(c.stdout), all.slice(0, 2));
  c = await runCli(["consume", "t", "--data-dir", dir]);
  assert.deepEqual(lines(c.stdout), all);
  // New records arrive: the group gets only those.
  await produce(dir, "t", '{"late":1}\n');
  c = await runCli(["consume", "t", ...g]);
  assert.deepEqual(lines(c.stdout), ['{"late":1}']);
});

test("--group over several partitions resumes every partition", async (t) => {
  const dir = tempDataDir(t);
  const text = jsonLines(300, (i) => ({ i, k: `key${i % 13}` }));
  await produce(dir, "t", text, "--partitions", "3", "--key-field", "k");
  const g = ["--group", "g", "--data-dir", dir];
  const first = await runCli(["consume", "t", "--max", "100", ...g]);
  const second = await runCli(["consume", "t", "--max", "120", ...g]);
  const rest = await runCli(["consume", "t", ...g]);
  const got = [...lines(first.stdout), ...lines(second.stdout), ...lines(rest.stdout)];
  assert.equal(lines(first.stdout).length, 100);
  assert.equal(lines(second.stdout).length, 120);
  assert.deepEqual([...got].sort(), lines(text).sort());
});

test("partitions are interleaved by timestamp; each partition stays in offset order", async (t) => {
  const dir = tempDataDir(t);
  // Three produce runs, some time apart: every record of a run is older than the next run's.
  const runs = [0, 1, 2].map((r) => jsonLines(60, (i) => ({ run: r, i, k: `k${i % 11}` })));
  for (const text of runs) {
    await produce(dir, "t", text, "--partitions", "4", "--key-field", "k");
    await new Promise((res) => setTimeout(res, 30));
  }
  const c = await runCli(["consume", "t", "--data-dir", dir]);
  assert.equal(c.code, 0, c.stderr);
  const out = lines(c.stdout).map((l) => JSON.parse(l) as { run: number; i: number; k: string });
  assert.equal(out.length, 180);
  const runOrder = out.map((r) => r.run);
  assert.deepEqual(
    runOrder,
    [...runOrder].sort((a, b) => a - b),
    "older runs first",
  );
  // Per key (one partition each), records keep the order they were produced in.
  const lastByKey = new Map<string, number>();
  for (const r of out) {
    const pos = r.run * 1000 + r.i;
    assert.ok((lastByKey.get(r.k) ?? -1) < pos);
    lastByKey.set(r.k, pos);
  }
});

test("the merge is by timestamp, then partition number, also across fetches and with out-of-order timestamps", async (t) => {
  const dir = tempDataDir(t);
  // More records per partition than one fetch returns, so partitions run out of fetched records
  // at different moments.
  const records = interleavedRecords(3, 4500, { base: Date.now() - 60_000 });
  const log = await openTopicLog({ dataDir: dir });
  try {
    await log.createTopic("t", { partitions: 3 });
    const writer = await log.openWriter("t");
    for (let i = 0; i < records.length; i += 1000) await writer.append(records.slice(i, i + 1000));
    await writer.close();
  } finally {
    await log.close();
  }
  let c = await runCli(["consume", "t", "--keys", "--data-dir", dir]);
  assert.equal(c.code, 0, c.stderr);
  assert.equal(c.stdout, mergedOutput(records, { keys: true }));
  c = await runCli(["consume", "t", "--max", "5001", "--data-dir", dir]);
  assert.equal(c.code, 0, c.stderr);
  assert.deepEqual(lines(c.stdout), lines(mergedOutput(records)).slice(0, 5001));
  c = await runCli(["consume", "t", "--partition", "1", "--data-dir", dir]);
  assert.equal(c.code, 0, c.stderr);
  assert.equal(c.stdout, mergedOutput(records.filter((r) => r.partition === 1)));
});

test("--from-end prints nothing without --follow", async (t) => {
  const dir = tempDataDir(t);
  await produce(dir, "t", jsonLines(5));
  const c = await runCli(["consume", "t", "--from-end", "--data-dir", dir]);
  assert.equal(c.code, 0, c.stderr);
  assert.equal(c.stdout, "");
});

test("a reader that goes away (EPIPE) ends consume quietly", async (t) => {
  const dir = tempDataDir(t);
  await produce(
    dir,
    "t",
    jsonLines(100_000, (i) => ({ i, pad: "p".repeat(30) })),
  );
  // The real pipeline: `weir consume t | head -1`, with pipefail so consume's exit status counts.
  const cmd = [process.execPath, ...childExecArgv(), CLI_ENTRY, "consume", "t", "--data-dir", dir]
    .map((a) => `'${a.replace(/'/g, "'\\''")}'`)
    .join(" ");
  const sh = spawn("bash", ["-c", `set -o pipefail; ${cmd} | head -1`], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  sh.stdout.on("data", (b: Buffer) => (stdout += b.toString()));
  sh.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
  const code = await new Promise<number | null>((res) => sh.on("close", (c) => res(c)));
  assert.equal(stderr, "", "no error message");
  assert.equal(code, 0);
  assert.deepEqual(lines(stdout), ['{"i":0,"pad":"' + "p".repeat(30) + '"}']);

  // The same through the helper: close our end of the pipe after the first chunk.
  const p = spawnCli(["consume", "t", "--data-dir", dir]);
  p.end();
  await p.waitForStdout((s) => s.length > 0);
  p.child.stdout!.destroy();
  const r = await p.exited;
  assert.equal(r.code, 0, r.stderr);
  assert.ok(!hasStackTrace(r.stderr), r.stderr);
  assert.equal(r.stderr, "");
});
