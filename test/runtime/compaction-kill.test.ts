/**
 * Issue 14, failure 4: "versioned tables keep thousands of stale versions after a kill". A real
 * SIGKILL between the final checkpoint and the compaction that follows it (the test-only crash
 * point WEIR_TEST_CRASH_AT=after-checkpoint, src/runtime/crash-points.ts) left every key of
 * NoBroker's tables (versions: 3) with all its versions; the restart found the input processed
 * ("nothing to do") and never compacted, and `weir table --versions 10` and `weir query` showed the
 * stale rows.
 *
 * Each scenario runs NoBroker uninterrupted in one data directory and with the kill in another,
 * then checks the readers right after the kill (before any restart) and the stored rows after the
 * restart against the uninterrupted run: each key holds exactly its 3 newest versions, with the
 * same values, versions, event times, sources and update numbers. SQLite (the default) and
 * PostgreSQL (its own server on port 25441). The Kafka runner's recovery: kafka-delivery.test.ts.
 */
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { before, describe, test, type TestContext } from "node:test";
import pg from "pg";
import { CRASH_AT_VARIABLE } from "../../src/runtime/crash-points.js";
import { runCli, spawnCli, tempDir } from "../cli/helpers.js";
import { requireService, usePostgres } from "../helpers/services.js";
import {
  assertSameReads,
  storeArgs,
  storedRows,
  tableReaders,
  versionsPerKey,
  type TableRun,
} from "../helpers/stored-tables.js";
import { makeInput } from "./inputs.js";

const TABLES = ["user_interactions", "property_interactions"];
const VERSIONS = 3;

async function weir(args: string[], env: Record<string, string> = {}) {
  return runCli(args, { timeoutMs: 180_000, env });
}

async function assertStoredAsClean(
  crashed: TableRun,
  expected: Record<string, string[]>,
  what: string,
): Promise<void> {
  for (const table of TABLES)
    assert.deepEqual(await storedRows(crashed, table), expected[table], `${table} ${what}`);
}

/**
 * An uninterrupted run in `clean`; in `crashed`, the same run killed right after its final
 * checkpoint, before compaction; readers checked; restarted; stored rows checked. `live`: the input
 * is produced to the embedded log and read with `--until-end` instead of `--input`, and the first
 * restart is a live run killed as soon as it has recovered (before it checkpoints anything).
 */
async function killBetweenCheckpointAndCompaction(
  t: TestContext,
  clean: TableRun,
  crashed: TableRun,
  live: boolean,
): Promise<void> {
  const input = join(tempDir(t, "weir-compaction-kill-"), "events.jsonl");
  writeFileSync(input, makeInput(30_000, 14).join("\n") + "\n");
  // Only the first checkpoint and the final one: the kill comes after the final one.
  const common = (run: TableRun) => ["run", "nobroker", "--checkpoint-interval", "1h", ...storeArgs(run)];
  const runArgs = (run: TableRun) => [...common(run), ...(live ? ["--until-end"] : ["--input", input])];
  if (live) {
    for (const run of [clean, crashed]) {
      const p = await weir(["produce", "events", "--file", input, "--data-dir", run.dataDir]);
      assert.equal(p.code, 0, p.stderr);
    }
  }

  const ok = await weir(runArgs(clean));
  assert.equal(ok.code, 0, ok.stderr);
  const expected: Record<string, string[]> = {};
  for (const table of TABLES) {
    expected[table] = await storedRows(clean, table);
    const perKey = versionsPerKey(expected[table]);
    assert.ok(perKey.size >= 40, `${table}: ${perKey.size} keys`);
    assert.equal(Math.max(...perKey.values()), VERSIONS, `${table}: the uninterrupted run keeps ${VERSIONS}`);
  }
  const expectedReads = await tableReaders(clean, TABLES);

  const killed = await weir(runArgs(crashed), { [CRASH_AT_VARIABLE]: "after-checkpoint" });
  assert.equal(killed.signal, "SIGKILL", `killed at the crash point: ${killed.stderr}`);
  if (!live) {
    const cp = JSON.parse(
      readFileSync(join(crashed.dataDir, "pipelines", "nobroker", "checkpoint.json"), "utf8"),
    ) as { files: Array<{ completed: boolean }> };
    assert.equal(cp.files[0].completed, true, "the final checkpoint was written before the kill");
  }
  for (const table of TABLES) {
    const stored = (await storedRows(crashed, table)).length;
    assert.ok(
      stored > 3 * expected[table].length,
      `${table}: the kill left the stale versions (${stored} rows stored, ${expected[table].length} kept)`,
    );
  }
  // Right after the kill, before any restart: no reader shows a stale version.
  assertSameReads(
    await tableReaders(crashed, TABLES),
    expectedReads,
    "readers after the kill, before a restart",
  );

  if (live) {
    // A live restart compacts as it recovers: killed as soon as it runs, before any checkpoint.
    const p = spawnCli(common(crashed), { timeoutMs: 180_000 });
    p.end();
    await p.waitForStderr((s) => /nobroker: running on events/.test(s), 120_000);
    p.kill("SIGKILL");
    assert.equal((await p.exited).signal, "SIGKILL");
    await assertStoredAsClean(crashed, expected, "after a live restart's recovery");
  }
  const restart = await weir(runArgs(crashed));
  assert.equal(restart.code, 0, restart.stderr);
  if (!live) assert.match(restart.stderr, /already processed to its end .*nothing to do/);
  await assertStoredAsClean(crashed, expected, "after the restart");
  assertSameReads(await tableReaders(crashed, TABLES), expectedReads, "readers after the restart");
}

function sqliteRun(t: TestContext, name: string): TableRun {
  return { dataDir: join(tempDir(t, `weir-ck-${name}-`), "data") };
}

test(
  "versioned tables keep stale versions after a kill between the final checkpoint and compaction: the restart with nothing to do compacts them (SQLite, --input)",
  { timeout: 300_000 },
  async (t) => {
    await killBetweenCheckpointAndCompaction(t, sqliteRun(t, "clean"), sqliteRun(t, "crashed"), false);
  },
);

test(
  "versioned tables keep stale versions after a kill between the final checkpoint and compaction: a live restart compacts them as it recovers (SQLite, --until-end)",
  { timeout: 300_000 },
  async (t) => {
    await killBetweenCheckpointAndCompaction(t, sqliteRun(t, "clean"), sqliteRun(t, "crashed"), true);
  },
);

describe("PostgreSQL", () => {
  const server = usePostgres({ port: 25441, dir: "/tmp/weir-pg-test-compaction-kill" });
  const databases: Record<"clean" | "crashed", string | undefined> = { clean: undefined, crashed: undefined };

  before(async () => {
    if (server.url === undefined) return;
    const root = new pg.Client({ connectionString: server.url });
    await root.connect();
    try {
      for (const name of ["clean", "crashed"] as const) {
        await root.query(`DROP DATABASE IF EXISTS weir_ck_${name}`);
        await root.query(`CREATE DATABASE weir_ck_${name}`);
        databases[name] = server.url.replace(/\/postgres$/, `/weir_ck_${name}`);
      }
    } finally {
      await root.end();
    }
  });

  test(
    "versioned tables keep stale versions after a kill between the final checkpoint and compaction: the restart with nothing to do compacts them (PostgreSQL, --input)",
    { timeout: 300_000 },
    async (t) => {
      if (databases.clean === undefined || databases.crashed === undefined)
        return requireService(t, "PostgreSQL", server.unavailable);
      const run = (name: "clean" | "crashed"): TableRun => ({
        dataDir: join(tempDir(t, `weir-ck-pg-${name}-`), "data"),
        postgres: databases[name],
      });
      await killBetweenCheckpointAndCompaction(t, run("clean"), run("crashed"), false);
    },
  );
});
