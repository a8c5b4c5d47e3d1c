/**
 * Exactly once on Kafka: a generated 200k-event NoBroker input, run through a real broker and
 * killed with SIGKILL at random moments, restarted each time. Every output topic (read committed),
 * versioned table and lake dataset must equal the embedded run of the same input.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { requireService, useKafka } from "../helpers/services.js";
import { runCli, spawnCli } from "../cli/helpers.js";
import {
  assertSameOutputs,
  embeddedRun,
  produceFile,
  storageOutputs,
  topicOutputs,
} from "./kafka-nobroker.js";

const kafka = useKafka({ port: 19420 });

test(
  "200k events through Kafka with 3 kill -9 restarts equal the embedded run (topics, tables, lake)",
  { timeout: 600_000 },
  async (t) => {
    if (kafka.url === undefined) return requireService(t, "Kafka", kafka.unavailable);
    const broker = kafka.url;
    const dir = mkdtempSync(join(tmpdir(), "weir-kafka-delivery-"));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const input = join(dir, "events.jsonl");
    const gen = await runCli(["generate", "nobroker", "-n", "200000", "--seed", "7", "-o", input]);
    assert.equal(gen.code, 0, gen.stderr);

    const embedded = join(dir, "embedded");
    const expected = { ...(await embeddedRun(input, embedded)), ...(await storageOutputs(embedded)) };
    assert.ok(expected.possible_broker.length > 0 && expected["nobroker.late"].length > 0);
    assert.ok(expected["nobroker.dlq"].length > 0 && expected["table user_interactions"].length > 0);

    await produceFile(broker, "events", input);
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
      "300ms",
    ];
    let seed = 4242;
    const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    let kills = 0;
    let stderr = "";
    for (let attempt = 0; attempt < 8; attempt++) {
      const p = spawnCli(args, { timeoutMs: 240_000 });
      p.end();
      if (kills < 3) {
        // Wait until it is processing (past start-up and recovery), then kill at a random moment.
        await p.waitForStderr((s) => /active: processing/.test(s), 120_000);
        await new Promise((res) => setTimeout(res, 200 + rnd() * 800));
        p.kill("SIGKILL");
      }
      const res = await p.exited;
      stderr += res.stderr;
      if (res.signal === "SIGKILL") {
        kills++;
        continue;
      }
      assert.equal(res.code, 0, res.stderr);
      break;
    }
    assert.equal(kills, 3, `the run was killed ${kills} times`);
    assert.match(
      stderr,
      /resumed from snapshot ([2-9]|\d\d)/,
      "restarts resumed from snapshots written by killed runs",
    );
    const actual = { ...(await topicOutputs({ broker })), ...(await storageOutputs(data)) };
    assertSameOutputs(actual, expected);
  },
);
