/**
 * A graceful handover: two `weir run --broker` of one pipeline sharing one data directory (as on
 * one machine), tables and lake on. SIGTERM the active one: it commits a final snapshot and leaves
 * the group; the standby takes over from that snapshot without re-reading a record, and every
 * output — topics, versioned tables, lake — equals the embedded run.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { requireService, useKafka } from "../helpers/services.js";
import { runCli, spawnCli, type CliProcess } from "../cli/helpers.js";
import {
  assertSameOutputs,
  embeddedRun,
  produceFile,
  storageOutputs,
  topicOutputs,
} from "./kafka-nobroker.js";

const kafka = useKafka({ port: 19460 });

test(
  "SIGTERM the active process: the standby continues from its final snapshot; topics, tables and lake equal the embedded run",
  { timeout: 600_000 },
  async (t) => {
    if (kafka.url === undefined) return requireService(t, "Kafka", kafka.unavailable);
    const broker = kafka.url;
    const dir = mkdtempSync(join(tmpdir(), "weir-kafka-handover-"));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const input = join(dir, "events.jsonl");
    const gen = await runCli(["generate", "nobroker", "-n", "300000", "--seed", "3", "-o", input]);
    assert.equal(gen.code, 0, gen.stderr);
    const embedded = join(dir, "embedded");
    const expected = { ...(await embeddedRun(input, embedded)), ...(await storageOutputs(embedded)) };

    await produceFile(broker, "events", input);
    const data = join(dir, "kafka");
    const args = ["run", "nobroker", "--broker", broker, "--until-end", "--data-dir", data];
    const a = spawnCli(args, { timeoutMs: 400_000 });
    a.end();
    await a.waitForStderr((s) => /active: processing/.test(s), 120_000);
    const b = spawnCli(args, { timeoutMs: 400_000 });
    b.end();
    await b.waitForStderr((s) => /standing by/.test(s), 120_000);
    a.kill("SIGTERM");
    const first = await a.exited;
    assert.equal(first.code, 0, first.stderr);
    const second = await b.exited;
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stderr, /resumed from snapshot/);
    assert.doesNotMatch(second.stderr, /re-read/, "a graceful handover leaves nothing to re-read");
    const count = (p: CliProcess) => Number(/(\d+) records in/.exec(p.stderr)?.[1] ?? NaN);
    assert.ok(count(a) > 0, "the first process did part of the work");
    assert.equal(count(a) + count(b), 300_000, "no record was read twice");
    const actual = { ...(await topicOutputs({ broker })), ...(await storageOutputs(data)) };
    assertSameOutputs(actual, expected);
  },
);
