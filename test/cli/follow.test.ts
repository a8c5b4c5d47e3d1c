// Two processes: `weir consume --follow` tails a topic while `weir produce` writes to it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { jsonLines, lines, runCli, spawnCli, tempDataDir } from "./helpers.js";

test("consume --follow prints records produced by another process, exits 0 on SIGINT", async (t) => {
  const dir = tempDataDir(t);
  assert.equal((await runCli(["topics", "create", "live", "--partitions", "2", "--data-dir", dir])).code, 0);
  const before = jsonLines(3, (i) => ({ phase: "before", i }));
  assert.equal((await runCli(["produce", "live", "--data-dir", dir], { input: before })).code, 0);

  const consumer = spawnCli(["consume", "live", "--follow", "--data-dir", dir], { timeoutMs: 60_000 });
  consumer.end();
  // It prints what is there first...
  await consumer.waitForStdout((s) => lines(s).length >= 3, 15_000);

  // ...then what another process appends while it waits.
  const during = jsonLines(50, (i) => ({ phase: "during", i, user: `u${i % 5}` }));
  const producer = await runCli(["produce", "live", "--key-field", "user", "--data-dir", dir], {
    input: during,
  });
  assert.equal(producer.code, 0, producer.stderr);
  await consumer.waitForStdout((s) => lines(s).length >= 53, 15_000);

  // A second, slower producer: records trickle in one by one.
  const trickle = spawnCli(["produce", "live", "--rate", "20/s", "--data-dir", dir]);
  trickle.end(jsonLines(5, (i) => ({ phase: "trickle", i })));
  await consumer.waitForStdout((s) => lines(s).length >= 58, 15_000);
  assert.equal((await trickle.exited).code, 0);

  consumer.kill("SIGINT");
  const r = await consumer.exited;
  assert.equal(r.code, 0, `consumer exit; stderr: ${r.stderr}`);
  assert.equal(r.stderr, "");
  const got = lines(r.stdout);
  assert.equal(got.length, 58);
  assert.deepEqual(got.slice(0, 3), lines(before));
  assert.deepEqual([...got.slice(3, 53)].sort(), lines(during).sort());
  assert.deepEqual(got.slice(53), lines(jsonLines(5, (i) => ({ phase: "trickle", i }))));
});

test("consume --follow --group commits on SIGTERM; --follow --max stops by itself", async (t) => {
  const dir = tempDataDir(t);
  assert.equal((await runCli(["produce", "t", "--data-dir", dir], { input: jsonLines(4) })).code, 0);
  const consumer = spawnCli(["consume", "t", "--follow", "--group", "g", "--data-dir", dir]);
  consumer.end();
  await consumer.waitForStdout((s) => lines(s).length >= 4);
  assert.equal((await runCli(["produce", "t", "--data-dir", dir], { input: '{"new":1}\n' })).code, 0);
  await consumer.waitForStdout((s) => lines(s).length >= 5);
  consumer.kill("SIGTERM");
  const r = await consumer.exited;
  assert.equal(r.code, 0, r.stderr);

  // The group resumes after the 5 records it printed.
  assert.equal((await runCli(["produce", "t", "--data-dir", dir], { input: '{"after":1}\n' })).code, 0);
  const again = await runCli(["consume", "t", "--group", "g", "--data-dir", dir]);
  assert.deepEqual(lines(again.stdout), ['{"after":1}']);

  // --follow --max N exits once N records were printed, even if they arrive later. (Keep producing
  // until it has: it may still be starting when the first records are appended.)
  const limited = spawnCli(["consume", "t", "--follow", "--from-end", "--max", "2", "--data-dir", dir]);
  limited.end();
  let exited = false;
  void limited.exited.then(() => (exited = true));
  for (let n = 0; n < 40 && !exited; n++) {
    assert.equal((await runCli(["produce", "t", "--data-dir", dir], { input: `{"x":${n}}\n` })).code, 0);
    await new Promise((res) => setTimeout(res, 100));
  }
  const lr = await limited.exited;
  assert.equal(lr.code, 0, lr.stderr);
  const xs = lines(lr.stdout).map((l) => (JSON.parse(l) as { x: number }).x);
  assert.equal(xs.length, 2);
  assert.equal(xs[1], xs[0] + 1);
});
