/**
 * The broker goes away mid-run and comes back: the pipeline waits, reconnects, recovers from its
 * last committed checkpoint and finishes with exactly the outputs of an uninterrupted run.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { requireService, useKafka } from "../helpers/services.js";
import { runCli, spawnCli } from "../cli/helpers.js";
import {
  NOTHING_LATE,
  SIX_PARTITIONS_BY_USER,
  assertSameOutputs,
  embeddedRun,
  produceFile,
  sixPartitionReference,
  sortedOutputs,
  storageOutputs,
  topicOutputs,
} from "./kafka-nobroker.js";

const kafka = useKafka({ port: 19430 });

test(
  "broker restart mid-run: the pipeline waits, reconnects, continues and loses nothing",
  { timeout: 600_000 },
  async (t) => {
    if (kafka.url === undefined) return requireService(t, "Kafka", kafka.unavailable);
    const broker = kafka.url;
    const dir = mkdtempSync(join(tmpdir(), "weir-kafka-restart-"));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const input = join(dir, "events.jsonl");
    const gen = await runCli(["generate", "nobroker", "-n", "400000", "--seed", "9", "-o", input]);
    assert.equal(gen.code, 0, gen.stderr);
    const embedded = join(dir, "embedded");
    const expected = { ...(await embeddedRun(input, embedded)), ...(await storageOutputs(embedded)) };

    await produceFile(broker, "events", input);
    const data = join(dir, "kafka");
    const p = spawnCli(
      [
        "run",
        "nobroker",
        "--broker",
        broker,
        "--until-end",
        "--data-dir",
        data,
        "--checkpoint-interval",
        "500ms",
      ],
      { timeoutMs: 400_000 },
    );
    p.end();
    // Mid-run: processing (its versioned tables make 400k events take several seconds).
    await p.waitForStderr((s) => /active: processing/.test(s), 60_000);
    await new Promise((res) => setTimeout(res, 300));
    let exitedAt = 0;
    void p.exited.then(() => (exitedAt = Date.now()));
    await kafka.stopNode(1);
    assert.equal(exitedAt, 0, `the run was still running when the broker stopped:\n${p.stderr}`);
    await new Promise((res) => setTimeout(res, 4000));
    await kafka.startNode(1);
    const restartedAt = Date.now();
    const res = await p.exited;
    assert.equal(res.code, 0, res.stderr);
    assert.ok(exitedAt >= restartedAt, "the run waited for the broker to come back");
    // Either the client's own retries bridged the outage, or the run recovered from its checkpoint.
    t.diagnostic(res.stderr.trim());
    const actual = { ...(await topicOutputs({ broker })), ...(await storageOutputs(data)) };
    assertSameOutputs(actual, expected);
  },
);

test(
  "broker restart under a 6-partition pipeline (partition tasks, repartition topics): it waits, recovers and loses nothing",
  { timeout: 600_000 },
  async (t) => {
    if (kafka.url === undefined) return requireService(t, "Kafka", kafka.unavailable);
    const broker = kafka.url;
    // The first test's topics go first: this one reads `events` with 6 partitions.
    const listed = await runCli(["topics", "list", "--broker", broker]);
    assert.equal(listed.code, 0, listed.stderr);
    for (const topic of listed.stdout.split("\n").filter((l) => l.length > 0)) {
      const r = await runCli(["topics", "delete", topic, "--broker", broker]);
      assert.equal(r.code, 0, r.stderr);
    }
    const dir = mkdtempSync(join(tmpdir(), "weir-kafka-restart-tasks-"));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const input = join(dir, "events.jsonl");
    const gen = await runCli(["generate", "nobroker", "-n", "300000", "--seed", "11", "-o", input]);
    assert.equal(gen.code, 0, gen.stderr);
    const expected = await sixPartitionReference(input, join(dir, "embedded"));
    await produceFile(broker, "events", input, SIX_PARTITIONS_BY_USER);
    const data = join(dir, "kafka");
    const p = spawnCli(
      [
        "run",
        "nobroker",
        "--broker",
        broker,
        "--until-end",
        "--data-dir",
        data,
        "--checkpoint-interval",
        "500ms",
        ...NOTHING_LATE,
      ],
      { timeoutMs: 400_000 },
    );
    p.end();
    await p.waitForStderr((s) => /active: processing tasks 0, 1, 2, 3, 4, 5 of 6/.test(s), 60_000);
    await new Promise((res) => setTimeout(res, 500));
    let exitedAt = 0;
    void p.exited.then(() => (exitedAt = Date.now()));
    await kafka.stopNode(1);
    assert.equal(exitedAt, 0, `the run was still running when the broker stopped:\n${p.stderr}`);
    await new Promise((res) => setTimeout(res, 4000));
    await kafka.startNode(1);
    const res = await p.exited;
    assert.equal(res.code, 0, res.stderr);
    t.diagnostic(res.stderr.trim());
    const actual = sortedOutputs(await topicOutputs({ broker }));
    assertSameOutputs(actual, expected);
  },
);
