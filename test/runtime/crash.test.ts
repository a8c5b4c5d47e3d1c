/**
 * Delivery (DESIGN.md §4): kill -9 `weir run` at random moments, restart it each time, and every
 * output topic, versioned table and lake dataset must end up exactly as in an uninterrupted run —
 * no duplicate, no gap.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EmbeddedLog } from "../../src/log/index.js";
import { openWarehouse } from "../../src/warehouse/index.js";
import { runCli, spawnCli } from "../cli/helpers.js";
import { makeInput, readTopic } from "./inputs.js";

const OUTPUTS = ["paid_user", "property_status", "possible_broker", "nobroker.dlq", "nobroker.late"];

/** Every output of a NoBroker run: its topics, its two versioned tables and its lake dataset. */
async function outputsOf(dataDir: string): Promise<Record<string, string[]>> {
  const log = EmbeddedLog.open(dataDir, { logger: () => {} });
  const out: Record<string, string[]> = {};
  try {
    for (const t of OUTPUTS) out[t] = readTopic(log, t);
  } finally {
    log.close();
  }
  const wh = await openWarehouse(dataDir);
  try {
    for (const table of ["user_interactions", "property_interactions"]) {
      const r = await wh.run(
        `SELECT key, version, event_time, value, source_offset, seq FROM ${table} ORDER BY seq`,
      );
      out[`table ${table}`] = r.getRowObjectsJson().map((row) => JSON.stringify(row));
    }
    const lake = await wh.run("SELECT user_id, property_id, date, event FROM interactions");
    out["lake interactions"] = lake
      .getRowObjectsJson()
      .map((row) => JSON.stringify(row))
      .sort();
  } finally {
    wh.close();
  }
  return out;
}

test(
  "kill -9 at random moments, restart each time: outputs equal an uninterrupted run",
  { timeout: 180_000 },
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), "weir-crash-"));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const input = join(dir, "events.jsonl");
    writeFileSync(input, makeInput(400_000, 11).join("\n") + "\n");

    const clean = join(dir, "clean");
    const r = await runCli(["run", "nobroker", "--input", input, "--data-dir", clean], {
      timeoutMs: 120_000,
    });
    assert.equal(r.code, 0, r.stderr);
    const expected = await outputsOf(clean);
    assert.ok(
      expected.paid_user.length > 0 &&
        expected.possible_broker.length > 0 &&
        expected["nobroker.late"].length > 0,
    );

    const crashed = join(dir, "crashed");
    const checkpointFile = join(crashed, "pipelines", "nobroker", "checkpoint.json");
    const sequence = (): number => {
      try {
        return (JSON.parse(readFileSync(checkpointFile, "utf8")) as { sequence: number }).sequence;
      } catch {
        return 0; // not written yet (or being replaced: the rename is atomic, the read may race it)
      }
    };
    const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));
    let kills = 0;
    let stderr = "";
    /** Per mid-run kill: the checkpoint written (at least) when it came; 0 for the start-up kill. */
    const killedAfter: number[] = [];
    /** Per restart: the checkpoint it resumed from (0: none). */
    const resumedFrom: number[] = [];
    let seed = 12345;
    const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    for (let attempt = 0; attempt < 10; attempt++) {
      const before = sequence();
      const p = spawnCli(
        ["run", "nobroker", "--input", input, "--data-dir", crashed, "--checkpoint-interval", "50ms"],
        { timeoutMs: 180_000 },
      );
      p.end();
      let exited = false;
      void p.exited.then(() => (exited = true));
      let seen = 0;
      if (kills < 4) {
        if (kills === 0) {
          await sleep(rnd() * 150); // during start-up: any moment will do
        } else {
          // Mid-run, on evidence: once this run has written one or two more checkpoints (never
          // after a guessed time), at a random moment before the next.
          const target = before + 1 + Math.floor(rnd() * 2);
          const deadline = Date.now() + 120_000;
          while (!exited && (seen = sequence()) < target) {
            assert.ok(Date.now() < deadline, `no checkpoint ${target} within 120 s:\n${p.stderr}`);
            await sleep(5);
          }
          await sleep(rnd() * 40);
        }
        p.kill("SIGKILL");
      }
      const res = await p.exited;
      stderr += res.stderr;
      if (attempt > 0) resumedFrom.push(Number(/resumed from checkpoint (\d+)/.exec(res.stderr)?.[1] ?? 0));
      if (res.signal === "SIGKILL") {
        killedAfter.push(seen);
        kills++;
        continue;
      }
      assert.equal(res.code, 0, res.stderr);
      break;
    }
    assert.equal(kills, 4, `the run was killed ${kills} times`);
    assert.ok(
      killedAfter.every((seq, i) => resumedFrom[i] >= seq) && killedAfter.slice(1).every((seq) => seq >= 1),
      `restarts resumed from checkpoints written by killed runs: killed after ${killedAfter.join(", ")}, ` +
        `resumed from ${resumedFrom.join(", ")}\n${stderr}`,
    );
    t.diagnostic(
      `killed after checkpoints ${killedAfter.join(", ")}; restarts resumed from ${resumedFrom.join(", ")}`,
    );
    const actual = await outputsOf(crashed);
    assert.ok(
      expected["table user_interactions"].length > 0 && expected["lake interactions"].length > 390_000,
    );
    for (const topic of Object.keys(expected)) {
      assert.equal(actual[topic].length, expected[topic].length, `${topic}: record count`);
      assert.deepEqual(actual[topic], expected[topic], topic);
    }
  },
);
