// User mistakes print one line `weir: ...` on stderr, exit non-zero, and never a stack trace.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { hasStackTrace, lines, runCli, tempDataDir, tempDir, type CliResult } from "./helpers.js";

function assertOneLineError(r: CliResult, code: number, pattern: RegExp): void {
  assert.equal(r.code, code, `exit code; stderr: ${r.stderr}`);
  assert.equal(lines(r.stderr).length, 1, `one line expected:\n${r.stderr}`);
  assert.match(r.stderr, /^weir: /);
  assert.match(r.stderr, pattern);
  assert.ok(!hasStackTrace(r.stderr), r.stderr);
  assert.equal(r.stdout, "");
}

test("consume of an unknown topic names it and says how to create it", async (t) => {
  const dir = tempDataDir(t);
  assert.equal((await runCli(["topics", "create", "other", "--data-dir", dir])).code, 0);
  const r = await runCli(["consume", "missing-topic", "--data-dir", dir]);
  assertOneLineError(r, 1, /unknown topic missing-topic.*weir topics create missing-topic/);
  // Also when the data directory does not exist at all.
  const r2 = await runCli(["consume", "missing-topic", "--data-dir", join(dir, "nowhere")]);
  assertOneLineError(r2, 1, /unknown topic missing-topic \(no data directory at .*nowhere\)/);
  assert.ok(!existsSync(join(dir, "nowhere")), "consume does not create a data directory");
});

test("a bad flag value is a usage error (exit 2)", async (t) => {
  const dir = tempDataDir(t);
  assertOneLineError(
    await runCli(["produce", "t", "--rate", "abc", "--data-dir", dir]),
    2,
    /--rate.*'abc' is invalid.*500\/s/,
  );
  assertOneLineError(
    await runCli(["topics", "create", "t", "--partitions", "zero", "--data-dir", dir]),
    2,
    /--partitions/,
  );
  assertOneLineError(await runCli(["consume", "t", "--max", "-1", "--data-dir", dir]), 2, /--max/);
  assertOneLineError(
    await runCli(["produce", "t", "--flush", "sometimes", "--data-dir", dir]),
    2,
    /--flush sometimes/,
  );
  assertOneLineError(
    await runCli(["topics", "create", "t", "--retention", "1d", "--retention-ms", "5", "--data-dir", dir]),
    2,
    /either --retention or --retention-ms/,
  );
});

test("unknown options, unknown commands and missing arguments are usage errors (exit 2)", async (t) => {
  const dir = tempDataDir(t);
  assertOneLineError(
    await runCli(["consume", "t", "--bogus", "--data-dir", dir]),
    2,
    /unknown option '--bogus'.*weir consume --help/,
  );
  assertOneLineError(await runCli(["topcs", "list"]), 2, /unknown command 'topcs'.*Did you mean topics\?/);
  assertOneLineError(await runCli(["consume"]), 2, /missing required argument 'topic'/);
  assertOneLineError(
    await runCli(["topics", "create"]),
    2,
    /missing required argument 'name'.*weir topics create --help/,
  );
});

test("a data directory that is a regular file: one line naming it", async (t) => {
  const file = join(tempDir(t), "not-a-dir");
  writeFileSync(file, "hello");
  for (const args of [
    ["topics", "list"],
    ["topics", "create", "t"],
    ["consume", "t"],
    ["produce", "t"],
  ]) {
    const r = await runCli([...args, "--data-dir", file], { input: '{"a":1}\n' });
    assertOneLineError(r, 1, /data directory .*not-a-dir is a file, not a directory/);
  }
});

test("produce --file of a missing file: one line, exit 1", async (t) => {
  const dir = tempDataDir(t);
  const r = await runCli(["produce", "t", "--file", join(dir, "nope.jsonl"), "--data-dir", dir]);
  assertOneLineError(r, 1, /cannot read .*nope\.jsonl: no such file/);
});

test("consume --partition out of range: usage error", async (t) => {
  const dir = tempDataDir(t);
  assert.equal((await runCli(["topics", "create", "t", "--partitions", "2", "--data-dir", dir])).code, 0);
  assertOneLineError(
    await runCli(["consume", "t", "--partition", "5", "--data-dir", dir]),
    2,
    /no partition 5.*0\.\.1/,
  );
});

test("--help and --version exit 0 and list the commands", async () => {
  const r = await runCli(["--help"]);
  assert.equal(r.code, 0, r.stderr);
  for (const cmd of ["topics", "produce", "consume"]) assert.match(r.stdout, new RegExp(`^  ${cmd}\\b`, "m"));
  assert.match(r.stdout, /--data-dir/);
  assert.match(r.stdout, /WEIR_DATA_DIR/);
  const v = await runCli(["--version"]);
  assert.equal(v.code, 0);
  assert.match(v.stdout, /^\d+\.\d+\.\d+/);
  const h = await runCli(["consume", "--help"]);
  assert.equal(h.code, 0);
  assert.match(h.stdout, /--follow/);
  assert.match(h.stdout, /--data-dir/); // the global options are shown too
});
