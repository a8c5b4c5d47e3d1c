/**
 * Delivery (DESIGN.md §4): kill -9 `weir run` at random moments, restart it each time, and every
 * output topic must end up exactly as in an uninterrupted run — no duplicate, no gap.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EmbeddedLog } from "../../src/log/index.js";
import { runCli, spawnCli } from "../cli/helpers.js";
import { makeInput, readTopic } from "./inputs.js";

const OUTPUTS = ["paid_user", "property_status", "possible_broker", "nobroker.dlq", "nobroker.late"];

function outputsOf(dataDir: string): Record<string, string[]> {
  const log = EmbeddedLog.open(dataDir, { logger: () => {} });
  try {
    return Object.fromEntries(OUTPUTS.map((t) => [t, readTopic(log, t)]));
  } finally {
    log.close();
  }
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
    const expected = outputsOf(clean);
    assert.ok(
      expected.paid_user.length > 0 &&
        expected.possible_broker.length > 0 &&
        expected["nobroker.late"].length > 0,
    );

    const crashed = join(dir, "crashed");
    let kills = 0;
    let seed = 12345;
    const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    for (let attempt = 0; attempt < 30; attempt++) {
      const p = spawnCli([
        "run",
        "nobroker",
        "--input",
        input,
        "--data-dir",
        crashed,
        "--checkpoint-interval",
        "100ms",
      ]);
      p.end();
      if (kills < 5) {
        // Sometimes during start-up and recovery, mostly while processing.
        await new Promise((res) => setTimeout(res, 150 + Math.floor(rnd() * 1200)));
        p.kill("SIGKILL");
        const res = await p.exited;
        if (res.signal === "SIGKILL") {
          kills++;
          continue;
        }
        assert.equal(res.code, 0, res.stderr); // it finished before the kill
        break;
      }
      const res = await p.exited;
      assert.equal(res.code, 0, res.stderr);
      break;
    }
    assert.ok(kills >= 2, `the run was killed only ${kills} times`);
    const actual = outputsOf(crashed);
    for (const topic of OUTPUTS) {
      assert.equal(actual[topic].length, expected[topic].length, `${topic}: record count`);
      assert.deepEqual(actual[topic], expected[topic], topic);
    }
  },
);
