/**
 * Two `weir run --broker` processes of one pipeline on a 6-partition topic: one is active (the
 * leader of consumer group weir.<pipeline> holds every partition), the other stands by. SIGKILL the
 * active one mid-run: the standby takes over from the last committed checkpoint, and the final
 * outputs equal a single-process run — nothing lost, nothing twice.
 *
 * The watermark with 6 partitions depends on how their records interleave, so the bound is 1 h
 * (nothing is late) and outputs are compared as sorted lists. Both processes share one data
 * directory, as on one machine: the versioned tables are rolled back and continued by the standby.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { requireService, useKafka } from "../helpers/services.js";
import { runCli, spawnCli, type CliProcess } from "../cli/helpers.js";
import { topicOutputs, type Outputs } from "./kafka-nobroker.js";

const kafka = useKafka({ port: 19440 });
const PIPELINE_FLAGS = ["--max-out-of-orderness", "1h", "--lake", "off"];

function sorted(outputs: Outputs): Outputs {
  const out: Outputs = {};
  for (const [k, v] of Object.entries(outputs)) out[k] = [...v].sort();
  return out;
}

test(
  "two processes in one group, the active one killed with SIGKILL: the standby takes over, outputs equal a single run",
  { timeout: 600_000 },
  async (t) => {
    if (kafka.url === undefined) return requireService(t, "Kafka", kafka.unavailable);
    const broker = kafka.url;
    const dir = mkdtempSync(join(tmpdir(), "weir-kafka-group-"));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const input = join(dir, "events.jsonl");
    const gen = await runCli(["generate", "nobroker", "-n", "200000", "--seed", "5", "-o", input]);
    assert.equal(gen.code, 0, gen.stderr);
    const produce = ["produce", "events", "--file", input, "--partitions", "6", "--key-field", "user_id"];

    // The single-process reference: the same 6 partitions on the embedded log.
    const embedded = join(dir, "embedded");
    assert.equal((await runCli([...produce, "--data-dir", embedded], { timeoutMs: 120_000 })).code, 0);
    const ref = await runCli(["run", "nobroker", "--until-end", "--data-dir", embedded, ...PIPELINE_FLAGS], {
      timeoutMs: 180_000,
    });
    assert.equal(ref.code, 0, ref.stderr);
    const expected = sorted(await topicOutputs({ dataDir: embedded }));
    assert.ok(expected.paid_user.length > 0 && expected.possible_broker.length > 0);

    const p = await runCli([...produce, "--broker", broker], { timeoutMs: 180_000 });
    assert.equal(p.code, 0, p.stderr);
    const data = join(dir, "kafka");
    const args = [
      "run",
      "nobroker",
      "--broker",
      broker,
      "--until-end",
      "--data-dir",
      data,
      "--checkpoint-interval",
      "200ms",
      ...PIPELINE_FLAGS,
    ];
    const a = spawnCli(args, { timeoutMs: 400_000 });
    a.end();
    const b = spawnCli(args, { timeoutMs: 400_000 });
    b.end();
    const standing = (x: CliProcess) => /standing by/.test(x.stderr);
    const deadline = Date.now() + 120_000;
    while (!standing(a) && !standing(b) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.ok(standing(a) || standing(b), `one process stands by\nA: ${a.stderr}\nB: ${b.stderr}`);
    const [active, standby] = standing(a) ? [b, a] : [a, b];
    // Mid-run: the active process is processing (its versioned tables make 200k events take seconds).
    await active.waitForStderr((s) => /active: processing/.test(s), 60_000);
    await new Promise((r) => setTimeout(r, 1500));
    active.kill("SIGKILL");
    const killed = await active.exited;
    assert.equal(
      killed.signal,
      "SIGKILL",
      `the active process was still running when killed: ${killed.stderr}`,
    );
    const res = await standby.exited;
    assert.equal(res.code, 0, res.stderr);
    assert.match(
      res.stderr,
      /resumed from snapshot/,
      "the standby resumed from the killed process's checkpoint",
    );
    const actual = sorted(await topicOutputs({ broker }));
    for (const topic of Object.keys(expected)) {
      assert.equal(actual[topic].length, expected[topic].length, `${topic}: record count`);
      assert.deepEqual(actual[topic], expected[topic], topic);
    }
  },
);
