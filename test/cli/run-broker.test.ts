import { test } from "node:test";
import assert from "node:assert/strict";
import { hasStackTrace, runCli, tempDataDir } from "./helpers.js";

test("weir run --broker with nothing listening: one line naming the cluster, exit non-zero", async (t) => {
  const r = await runCli(
    ["run", "nobroker", "--broker", "kafka://127.0.0.1:1", "--data-dir", tempDataDir(t)],
    {
      timeoutMs: 30_000,
    },
  );
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /weir: kafka kafka:\/\/127\.0\.0\.1:1: .*ECONNREFUSED/);
  assert.ok(!hasStackTrace(r.stderr), r.stderr);
});

test("weir run --broker with a malformed URL: one usage line", async (t) => {
  const bad = await runCli(["run", "nobroker", "--broker", "kafka://nohost", "--data-dir", tempDataDir(t)]);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /expected kafka:\/\/host:port/);
  assert.ok(!hasStackTrace(bad.stderr));
});
