/**
 * Failover on a real 3-node Kafka cluster: NoBroker runs with every topic replicated on the three
 * nodes, and the node leading the pipeline's checkpoint topic is killed (SIGKILL, no controlled
 * shutdown) mid-run and stays down. The run carries on against the two remaining nodes (internal
 * topics keep min.isr 2) and finishes with exactly the outputs of the embedded run.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { requireService, useKafka } from "../helpers/services.js";
import { runCli, spawnCli } from "../cli/helpers.js";
import {
  NOBROKER_TOPICS,
  assertSameOutputs,
  embeddedRun,
  produceFile,
  storageOutputs,
  topicOutputs,
} from "./kafka-nobroker.js";

const kafka = useKafka({ port: 19450, brokers: 3 });

const CHECKPOINTS = "weir.nobroker.checkpoints";

interface PartitionInfo {
  partition: number;
  leader: number;
  replicas: number[];
  isr: number[];
}

/** `weir topics describe TOPIC --broker URL --json`: the partitions, or undefined while missing. */
async function describeTopic(broker: string, topic: string): Promise<PartitionInfo[] | undefined> {
  const r = await runCli(["topics", "describe", topic, "--broker", broker, "--json"], { timeoutMs: 60_000 });
  if (r.code !== 0) {
    if (/unknown topic/i.test(r.stderr)) return undefined;
    assert.fail(`weir topics describe ${topic}: ${r.stderr}`);
  }
  return (JSON.parse(r.stdout) as { partitions: PartitionInfo[] }).partitions;
}

/** Every partition of `topic` has 3 replicas. */
async function assertReplicatedOnThree(broker: string, topic: string): Promise<PartitionInfo[]> {
  const partitions = await describeTopic(broker, topic);
  assert.ok(partitions !== undefined && partitions.length > 0, `${topic}: missing`);
  for (const p of partitions)
    assert.equal(p.replicas.length, 3, `${topic}[${p.partition}]: replicas ${p.replicas.join(",")}`);
  return partitions;
}

/** Poll until partition 0 of `topic` exists and has a leader; returns its node id. */
async function leaderOf(broker: string, topic: string, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const leader = (await describeTopic(broker, topic))?.[0]?.leader ?? -1;
    if (leader > 0) return leader;
    assert.ok(Date.now() < deadline, `${topic}: no leader after ${timeoutMs} ms`);
    await new Promise((res) => setTimeout(res, 200));
  }
}

test(
  "3-node cluster: the leader of the pipeline's partitions is killed mid-run; the run finishes on the other two with every output equal to the embedded run",
  { timeout: 600_000 },
  async (t) => {
    if (kafka.url === undefined) return requireService(t, "Kafka", kafka.unavailable);
    const broker = kafka.url;
    assert.equal(broker.split(",").length, 3, `three addresses: ${broker}`);
    const dir = mkdtempSync(join(tmpdir(), "weir-kafka-failover-"));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const input = join(dir, "events.jsonl");
    const gen = await runCli(["generate", "nobroker", "-n", "300000", "--seed", "13", "-o", input]);
    assert.equal(gen.code, 0, gen.stderr);
    const embedded = join(dir, "embedded");
    const expected = { ...(await embeddedRun(input, embedded)), ...(await storageOutputs(embedded)) };

    // Topics the CLI and the run create get the cluster's default.replication.factor: 3.
    await produceFile(broker, "events", input);
    await assertReplicatedOnThree(broker, "events");

    const data = join(dir, "kafka");
    const startedAt = Date.now();
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
      { timeoutMs: 480_000 },
    );
    p.end();
    let exitedAt = 0;
    void p.exited.then(() => (exitedAt = Date.now()));
    t.after(() => {
      if (exitedAt === 0) p.kill("SIGKILL");
    });
    // Find the node leading the checkpoint topic (every transaction writes to it) while the run
    // starts, so that the kill comes soon after processing begins.
    const [leader] = await Promise.all([
      leaderOf(broker, CHECKPOINTS, 120_000),
      p.waitForStderr((s) => /active: processing/.test(s), 120_000),
    ]);
    const activeAt = Date.now();
    const paidUserLeader = (await describeTopic(broker, "paid_user"))?.[0]?.leader;
    await new Promise((res) => setTimeout(res, 300));
    // A hard kill: no controlled shutdown moving leaders away first. The cluster notices when the
    // node's session expires (broker.session.timeout.ms, 9 s) and elects new leaders.
    const pid = Number(readFileSync(join(kafka.dir, `node-${leader}`, "kafka.pid"), "utf8").trim());
    assert.ok(pid > 0, `node ${leader}: pid ${pid}`);
    process.kill(pid, "SIGKILL");
    const killedAt = Date.now();
    assert.equal(exitedAt, 0, `the run was still running when node ${leader} died:\n${p.stderr}`);

    const res = await p.exited;
    t.diagnostic(
      `killed node ${leader} (leader of ${CHECKPOINTS}[0]; paid_user[0] led by ${paidUserLeader}) ` +
        `${killedAt - activeAt} ms after processing began; the run started ${activeAt - startedAt} ms ` +
        `before that and exited ${exitedAt - killedAt} ms after the kill`,
    );
    t.diagnostic(res.stderr.trim());
    assert.equal(res.code, 0, res.stderr);

    // Still down: the surviving replicas lead, and every topic keeps its 3 assigned replicas.
    for (const topic of ["events", ...NOBROKER_TOPICS, CHECKPOINTS]) {
      for (const part of await assertReplicatedOnThree(broker, topic))
        assert.notEqual(part.leader, leader, `${topic}[${part.partition}] is led by the dead node`);
    }

    await kafka.startNode(leader);
    const actual = { ...(await topicOutputs({ broker })), ...(await storageOutputs(data)) };
    assertSameOutputs(actual, expected);
  },
);
