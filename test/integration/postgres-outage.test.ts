/**
 * A pipeline writing its versioned tables to a real PostgreSQL keeps going through an outage:
 * PostgreSQL is stopped mid-run and started again; the run waits and retries (no crash, no lost
 * update) and its tables end up exactly as those of the same run on SQLite.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { nobroker } from "../../examples/nobroker/pipeline.js";
import { EmbeddedLog } from "../../src/log/index.js";
import { Runner } from "../../src/runtime/runner.js";
import { openTableStore } from "../../src/sinks/table/index.js";
import { requireService, usePostgres } from "../helpers/services.js";
import { makeInput } from "../runtime/inputs.js";

const TABLES = ["user_interactions", "property_interactions"];

async function tableContents(
  location: string | undefined,
  dataDir: string,
): Promise<Record<string, string[]>> {
  const store = openTableStore(location, dataDir);
  try {
    const out: Record<string, string[]> = {};
    for (const table of TABLES) {
      const rows = await store.read(table, { versions: 3 });
      out[table] = rows.map((r) => JSON.stringify([r.key, r.version, r.eventTime, r.value, r.source])).sort();
    }
    return out;
  } finally {
    await store.close();
  }
}

/** A live run over a pre-filled topic in small batches, so the outage lands mid-run. */
async function run(
  dataDir: string,
  lines: string[],
  tableStore: string | undefined,
  duringRun?: (runner: Runner) => Promise<void>,
) {
  const log = EmbeddedLog.open(dataDir, { logger: () => {} });
  log.createTopic("events");
  const w = log.writer("events");
  w.append(lines.map((value) => ({ value })));
  w.close();
  const messages: string[] = [];
  const runner = new Runner(nobroker({ lake: false }), {
    log,
    untilEnd: true,
    maxBatch: 100,
    checkpointIntervalMs: 200,
    tableStore,
    logger: (m) => messages.push(m),
  });
  const done = runner.run();
  if (duringRun) await duringRun(runner);
  const summary = await done;
  log.close();
  return { summary, messages };
}

describe("PostgreSQL outage under a running pipeline", () => {
  const server = usePostgres({ port: 25437, dir: "/tmp/weir-pg-test-pipeline" });

  test(
    "stop PostgreSQL mid-run, start it again: the run waits, catches up, and loses nothing",
    { timeout: 180_000 },
    async (t) => {
      if (server.url === undefined) return requireService(t, "PostgreSQL", server.unavailable);
      const dir = mkdtempSync(join(tmpdir(), "weir-pg-outage-"));
      t.after(() => rmSync(dir, { recursive: true, force: true }));
      const lines = makeInput(40_000, 21);

      await run(join(dir, "sqlite"), lines, undefined);
      const expected = await tableContents(undefined, join(dir, "sqlite"));
      assert.ok(expected.user_interactions.length > 100);

      const { summary, messages } = await run(join(dir, "pg"), lines, server.url, async (runner) => {
        for (let i = 0; i < 2000 && runner.metrics().recordsIn < 5_000; i++)
          await new Promise((r) => setTimeout(r, 5));
        assert.ok(runner.metrics().recordsIn < lines.length, "the outage starts mid-run");
        await server.stop();
        await new Promise((r) => setTimeout(r, 1500));
        await server.start();
      });
      assert.equal(summary.recordsIn, lines.length);
      assert.ok(
        messages.some((m) => /unavailable/.test(m)),
        `the run reported the outage: ${messages.join(" | ")}`,
      );
      assert.ok(
        messages.some((m) => /is back/.test(m)),
        "and the recovery",
      );
      assert.deepEqual(await tableContents(server.url, join(dir, "pg")), expected);
    },
  );
});
