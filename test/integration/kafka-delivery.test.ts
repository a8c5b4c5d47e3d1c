/**
 * Exactly once on Kafka: a generated 200k-event NoBroker input, run through a real broker and
 * killed with SIGKILL at random moments, restarted each time. Every output topic (read committed),
 * versioned table and lake dataset must equal the embedded run of the same input.
 *
 * Kills come on evidence, not after a guessed time: each one waits until the run has committed a
 * snapshot of its own to the checkpoint topic (read here, committed records only), then comes at a
 * random moment up to 300 ms later. (Killed after a fixed delay, a run on a loaded machine could die
 * three times before its first snapshot, and no restart resumed from a killed run's snapshot.)
 *
 * Also: the Kafka runner's recovery compacts the versioned tables that a kill between the final
 * snapshot and its compaction left with stale versions (issue 14, failure 4).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkpointTopic } from "../../src/kafka/checkpoint-log.js";
import { KafkaCluster, parseBrokerUrl, type BrokerAddress } from "../../src/kafka/connection.js";
import { KafkaTopicReader } from "../../src/kafka/topic-reader.js";
import { CRASH_AT_VARIABLE } from "../../src/runtime/crash-points.js";
import { requireService, useKafka } from "../helpers/services.js";
import { runCli, spawnCli } from "../cli/helpers.js";
import {
  assertSameReads,
  storeArgs,
  storedRows,
  tableReaders,
  versionsPerKey,
} from "../helpers/stored-tables.js";
import {
  assertSameOutputs,
  embeddedRun,
  produceFile,
  storageOutputs,
  topicOutputs,
} from "./kafka-nobroker.js";

const kafka = useKafka({ port: 19420 });

const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));

/**
 * The sequence of the last snapshot committed to a pipeline's checkpoint topic (0: none yet),
 * read incrementally: each poll reads only the records committed since the previous one.
 */
class SnapshotWatch {
  private reader: KafkaTopicReader | undefined;
  private next = 0;
  sequence = 0;

  constructor(
    private readonly address: BrokerAddress,
    private readonly topic: string,
  ) {}

  async poll(): Promise<number> {
    if (this.reader === undefined) {
      const cluster = new KafkaCluster(this.address);
      try {
        if ((await cluster.describeTopic(this.topic)) === undefined) return this.sequence;
      } finally {
        await cluster.close();
      }
      this.reader = new KafkaTopicReader(this.address, this.topic, { clientId: "weir-test-snapshots" });
    }
    for (;;) {
      let moved = false;
      for (const f of await this.reader.fetch([{ partition: 0, offset: this.next }], 50)) {
        for (const r of f.records) {
          if (r.key?.toString("utf8") !== "snapshot" || r.value === null) continue;
          const head = JSON.parse(r.value.toString("utf8")) as { sequence: number };
          this.sequence = Math.max(this.sequence, head.sequence);
        }
        if (f.next > this.next) {
          this.next = f.next;
          moved = true;
        }
      }
      if (!moved) return this.sequence;
    }
  }

  async close(): Promise<void> {
    await this.reader?.close();
  }
}

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
    const snapshots = new SnapshotWatch(parseBrokerUrl(broker), checkpointTopic("nobroker"));
    t.after(() => snapshots.close());
    let seed = 4242;
    const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    /** Per killed run: the last snapshot committed when it was killed (at least). */
    const killedAfter: number[] = [];
    /** Per restart: the snapshot it said it resumed from. */
    const resumedFrom: number[] = [];
    let stderr = "";
    for (let attempt = 0; attempt < 8; attempt++) {
      const before = await snapshots.poll();
      const p = spawnCli(args, { timeoutMs: 240_000 });
      p.end();
      let exited = false;
      void p.exited.then(() => (exited = true));
      let seen = before;
      if (killedAfter.length < 3) {
        await p.waitForStderr((s) => /active: processing/.test(s), 120_000);
        // Evidence: a snapshot this run committed (after the one it resumed from; on the first
        // run, after the one a fresh start commits before reading anything).
        const deadline = Date.now() + 180_000;
        while (!exited && seen <= Math.max(before, 1)) {
          assert.ok(Date.now() < deadline, `no snapshot after ${before} within 180 s:\n${p.stderr}`);
          await sleep(20);
          seen = await snapshots.poll();
        }
        await sleep(rnd() * 300);
        p.kill("SIGKILL");
      }
      const res = await p.exited;
      stderr += res.stderr;
      const resumed = /resumed from snapshot (\d+)/.exec(res.stderr);
      if (attempt > 0) resumedFrom.push(resumed === null ? 0 : Number(resumed[1]));
      if (res.signal === "SIGKILL") {
        killedAfter.push(seen);
        continue;
      }
      assert.equal(res.code, 0, res.stderr);
      break;
    }
    assert.equal(killedAfter.length, 3, `the run was killed ${killedAfter.length} times:\n${stderr}`);
    assert.ok(
      killedAfter.every((seq, i) => resumedFrom[i] >= seq && seq >= 2),
      `restarts resumed from snapshots written by killed runs: killed after ${killedAfter.join(", ")}, ` +
        `resumed from ${resumedFrom.join(", ")}\n${stderr}`,
    );
    t.diagnostic(
      `killed after snapshots ${killedAfter.join(", ")}; restarts resumed from ${resumedFrom.join(", ")}`,
    );
    const actual = { ...(await topicOutputs({ broker })), ...(await storageOutputs(data)) };
    assertSameOutputs(actual, expected);
  },
);

test(
  "versioned tables keep stale versions after a kill between the final snapshot and compaction: the Kafka runner's recovery compacts them",
  { timeout: 400_000 },
  async (t) => {
    if (kafka.url === undefined) return requireService(t, "Kafka", kafka.unavailable);
    const broker = kafka.url;
    const dir = mkdtempSync(join(tmpdir(), "weir-kafka-compaction-kill-"));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    // item-sales: one table (item_sales, versions 3) on its own topic, so nothing is shared with
    // the NoBroker test above.
    const input = join(dir, "sales.jsonl");
    const gen = await runCli(["generate", "item-sales", "-n", "20000", "--seed", "3", "-o", input]);
    assert.equal(gen.code, 0, gen.stderr);
    const clean = { dataDir: join(dir, "embedded") };
    const ref = await runCli(["run", "item-sales", "--input", input, ...storeArgs(clean)], {
      timeoutMs: 120_000,
    });
    assert.equal(ref.code, 0, ref.stderr);
    const expected = await storedRows(clean, "item_sales");
    assert.ok(versionsPerKey(expected).size >= 20);
    assert.equal(Math.max(...versionsPerKey(expected).values()), 3);
    const expectedReads = await tableReaders(clean, ["item_sales"]);

    await produceFile(broker, "item_sales", input);
    const crashed = { dataDir: join(dir, "kafka") };
    // Snapshots only at the start and the end: the kill comes after the final one.
    const args = [
      "run",
      "item-sales",
      "--broker",
      broker,
      "--checkpoint-interval",
      "1h",
      ...storeArgs(crashed),
    ];
    const killed = await runCli([...args, "--until-end"], {
      timeoutMs: 240_000,
      env: { [CRASH_AT_VARIABLE]: "after-checkpoint" },
    });
    assert.equal(killed.signal, "SIGKILL", `killed at the crash point:\n${killed.stderr}`);
    const stale = (await storedRows(crashed, "item_sales")).length;
    assert.ok(stale > 10 * expected.length, `the kill left stale versions (${stale} rows stored)`);
    assertSameReads(
      await tableReaders(crashed, ["item_sales"]),
      expectedReads,
      "readers after the kill, before a restart",
    );

    // A live restart compacts as it recovers: killed as soon as it is active, before any snapshot.
    const live = spawnCli(args, { timeoutMs: 240_000 });
    live.end();
    await live.waitForStderr((s) => /active: processing/.test(s), 180_000);
    live.kill("SIGKILL");
    const res = await live.exited;
    assert.equal(res.signal, "SIGKILL");
    assert.match(res.stderr, /item-sales: resumed from snapshot 2 /);
    assert.deepEqual(await storedRows(crashed, "item_sales"), expected, "after the live restart's recovery");

    const last = await runCli([...args, "--until-end"], { timeoutMs: 240_000 });
    assert.equal(last.code, 0, last.stderr);
    assert.deepEqual(await storedRows(crashed, "item_sales"), expected, "after the last run");
    assertSameReads(await tableReaders(crashed, ["item_sales"]), expectedReads, "readers after the restarts");
  },
);
