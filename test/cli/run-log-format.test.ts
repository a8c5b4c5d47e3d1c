/**
 * `weir run`'s messages: by default the `weir: ...` lines it always wrote (pinned byte for byte
 * here, now that the command is a layer over run()), and JSON lines with `--log-format json`.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { repoRoot } from "../helpers/services.js";
import { hasStackTrace, runCli, spawnCli, tempDataDir } from "./helpers.js";

const sample = join(repoRoot(), "examples", "nobroker", "sample.jsonl");
const END_LINE =
  "nobroker: 25 records in, 3 out (0 dead letters, 0 late); outputs: paid_user, property_status, " +
  "possible_broker, nobroker.dlq, nobroker.late — read them with `weir consume paid_user`";

test("weir run prints the same lines as before it became a layer over run()", async (t) => {
  const dir = tempDataDir(t);
  const first = await runCli(["run", "nobroker", "--input", sample, "--data-dir", dir]);
  assert.equal(first.code, 0, first.stderr);
  assert.equal(first.stdout, "");
  assert.equal(first.stderr, `weir: ${END_LINE}\n`);
  const again = await runCli(["run", "nobroker", "--input", sample, "--data-dir", dir]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, /^weir: nobroker: resumed from checkpoint 2 \(\d{4}-[\d-]+T[\d:.]+Z\)\n/);
  assert.ok(
    again.stderr.endsWith(
      `Z)\nweir: nobroker: ${sample} was already processed to its end (checkpoint in ${join(dir, "pipelines", "nobroker")}); nothing to do\n`,
    ),
    again.stderr,
  );
  assert.equal(
    (await runCli(["--quiet", "run", "nobroker", "--input", sample, "--data-dir", dir])).stderr,
    "",
  );

  const fresh = tempDataDir(t);
  const live = spawnCli(["run", "nobroker", "--data-dir", fresh]);
  t.after(() => live.kill("SIGKILL"));
  await live.waitForStderr((e) => e.includes("Ctrl-C"), 60_000);
  live.kill("SIGTERM");
  const ended = await live.exited;
  assert.equal(ended.code, 0, ended.stderr);
  assert.equal(
    ended.stderr,
    `weir: nobroker: running on events in ${fresh} (Ctrl-C to stop)\n` +
      "weir: nobroker: 0 records in, 0 out (0 dead letters, 0 late); outputs: paid_user, property_status, " +
      "possible_broker, nobroker.dlq, nobroker.late — read them with `weir consume paid_user`\n",
  );
});

test("weir run --log-format json writes each message as one JSON object", async (t) => {
  const dir = tempDataDir(t);
  const r = await runCli(["run", "nobroker", "--input", sample, "--data-dir", dir, "--log-format", "json"]);
  assert.equal(r.code, 0, r.stderr);
  const entries = r.stderr
    .trimEnd()
    .split("\n")
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(
    entries.map(({ level, msg, pipeline }) => ({ level, msg, pipeline })),
    [{ level: "info", msg: END_LINE, pipeline: "nobroker" }],
  );
  assert.match(entries[0].time as string, /^\d{4}-\d\d-\d\dT/);

  const quiet = await runCli([
    "--quiet",
    "run",
    "nobroker",
    "--input",
    sample,
    "--data-dir",
    dir,
    "--log-format",
    "json",
  ]);
  assert.equal(quiet.code, 0, quiet.stderr);
  assert.equal(quiet.stderr, "", "--quiet keeps warnings and errors only");

  const bad = await runCli(["run", "nobroker", "--input", sample, "--data-dir", dir, "--log-format", "xml"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^weir: .*--log-format.*xml.*human, json/);
  assert.ok(!hasStackTrace(bad.stderr));
});
