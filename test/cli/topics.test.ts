// `weir topics list|create|describe|delete`, run as real processes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { hasStackTrace, lines, runCli, tempDataDir } from "./helpers.js";

test("topics create, list, describe, delete", async (t) => {
  const dir = tempDataDir(t);
  const d = ["--data-dir", dir];

  let r = await runCli(["topics", "create", "events", "--partitions", "3", "--retention", "3d", ...d]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /created topic events with 3 partitions/);

  r = await runCli([
    "topics",
    "create",
    "alerts",
    "--retention-ms",
    "60000",
    "--retention-bytes",
    "10MB",
    "--segment-bytes",
    "1MB",
    ...d,
  ]);
  assert.equal(r.code, 0, r.stderr);

  r = await runCli(["topics", "list", ...d]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(lines(r.stdout), ["alerts", "events"]);

  r = await runCli(["topics", "list", "--json", ...d]);
  assert.equal(r.code, 0, r.stderr);
  const all = JSON.parse(r.stdout) as {
    name: string;
    partitions: unknown[];
    config: Record<string, number>;
  }[];
  assert.deepEqual(
    all.map((x) => [x.name, x.partitions.length]),
    [
      ["alerts", 1],
      ["events", 3],
    ],
  );
  assert.equal(all[0].config.retentionMs, 60_000);
  assert.equal(all[0].config.retentionBytes, 10 * 1024 * 1024);
  assert.equal(all[0].config.segmentBytes, 1024 * 1024);
  assert.equal(all[1].config.retentionMs, 3 * 86_400_000);

  // Some records, so describe has offsets to show.
  r = await runCli(["produce", "events", ...d], { input: '{"a":1}\n{"a":2}\n' });
  assert.equal(r.code, 0, r.stderr);

  r = await runCli(["topics", "describe", "events", ...d]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^topic: +events$/m);
  assert.match(r.stdout, /^partitions: +3$/m);
  assert.match(r.stdout, /retention: +3d/);
  const table = lines(r.stdout).slice(lines(r.stdout).findIndex((l) => l.startsWith("PARTITION")));
  assert.match(table[0], /^PARTITION +START +END +RECORDS +SIZE +SEGMENTS$/);
  assert.equal(table.length, 1 + 3 + 1); // header, 3 partitions, total
  // Aligned: every row is as wide as the header.
  for (const row of table) assert.equal(row.length, table[0].length, JSON.stringify(table));
  assert.match(table[4], /^ *total +- +- +2 /);

  r = await runCli(["topics", "describe", "events", "--json", ...d]);
  assert.equal(r.code, 0, r.stderr);
  const desc = JSON.parse(r.stdout) as {
    name: string;
    partitions: { partition: number; endOffset: number }[];
  };
  assert.equal(desc.name, "events");
  assert.deepEqual(
    desc.partitions.map((p) => p.partition),
    [0, 1, 2],
  );
  assert.equal(
    desc.partitions.reduce((s, p) => s + p.endOffset, 0),
    2,
  );

  r = await runCli(["topics", "delete", "events", ...d]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /deleted topic events/);
  r = await runCli(["topics", "list", ...d]);
  assert.deepEqual(lines(r.stdout), ["alerts"]);
});

test("topics create of an existing topic fails in one line, --if-not-exists succeeds", async (t) => {
  const dir = tempDataDir(t);
  assert.equal((await runCli(["topics", "create", "t", "--data-dir", dir])).code, 0);
  let r = await runCli(["topics", "create", "t", "--data-dir", dir]);
  assert.equal(r.code, 1);
  assert.equal(lines(r.stderr).length, 1, r.stderr);
  assert.match(r.stderr, /^weir: topic t already exists/);
  r = await runCli(["topics", "create", "t", "--if-not-exists", "--data-dir", dir]);
  assert.equal(r.code, 0, r.stderr);
});

test("topics delete/describe of an unknown topic: one line, exit 1", async (t) => {
  const dir = tempDataDir(t);
  assert.equal((await runCli(["topics", "create", "x", "--data-dir", dir])).code, 0);
  for (const cmd of ["delete", "describe"]) {
    const r = await runCli(["topics", cmd, "nope", "--data-dir", dir]);
    assert.equal(r.code, 1, cmd);
    assert.equal(lines(r.stderr).length, 1, r.stderr);
    assert.match(r.stderr, /^weir: unknown topic nope .*weir topics create nope/);
    assert.ok(!hasStackTrace(r.stderr));
  }
  let r = await runCli(["topics", "delete", "nope", "--if-exists", "--data-dir", dir]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, "weir: topic nope does not exist; nothing to delete\n");
  // Not a valid name either: unknown all the same.
  r = await runCli(["topics", "delete", "no/pe", "--data-dir", dir]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /^weir: unknown topic /);
  assert.equal(lines(r.stderr).length, 1, r.stderr);
});

test("topics delete in a data directory that does not exist: unknown topic, and nothing created", async (t) => {
  const dir = tempDataDir(t);
  let r = await runCli(["topics", "delete", "x", "--data-dir", dir]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /^weir: unknown topic x \(no data directory at .*\); create it with/);
  r = await runCli(["topics", "delete", "x", "--if-exists", "--data-dir", dir]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, "weir: topic x does not exist; nothing to delete\n");
  assert.equal(existsSync(dir), false);
});

test("topics list of a data directory that does not exist prints nothing and creates nothing", async (t) => {
  const dir = tempDataDir(t);
  const r = await runCli(["topics", "list", "--data-dir", dir]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, "");
  assert.equal(existsSync(dir), false);
});

test("WEIR_DATA_DIR selects the data directory; --data-dir wins over it", async (t) => {
  const envDir = tempDataDir(t);
  const flagDir = tempDataDir(t);
  assert.equal((await runCli(["topics", "create", "from-env"], { env: { WEIR_DATA_DIR: envDir } })).code, 0);
  assert.equal(
    (
      await runCli(["topics", "create", "from-flag", "--data-dir", flagDir], {
        env: { WEIR_DATA_DIR: envDir },
      })
    ).code,
    0,
  );
  assert.deepEqual(lines((await runCli(["topics", "list"], { env: { WEIR_DATA_DIR: envDir } })).stdout), [
    "from-env",
  ]);
  assert.deepEqual(lines((await runCli(["topics", "list", "--data-dir", flagDir])).stdout), ["from-flag"]);
});

test("the default data directory is ./.weir", async (t) => {
  const cwd = tempDataDir(t).replace(/data$/, "");
  assert.equal((await runCli(["topics", "create", "here"], { cwd })).code, 0);
  assert.ok(existsSync(`${cwd}/.weir`));
  assert.deepEqual(lines((await runCli(["topics", "list"], { cwd })).stdout), ["here"]);
});
