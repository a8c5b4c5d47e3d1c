/**
 * Scale-out: two `weir run --broker` processes of one pipeline on a 6-partition topic share the
 * work. Each holds some of the 6 partition tasks (the keyBy steps exchange records through
 * repartition topics); SIGKILL one mid-run: the group gives its tasks to the other, which restores
 * their checkpoints and finishes. Every output — topics, versioned tables, lake — equals the
 * single-process run on the embedded log: nothing lost, nothing twice.
 *
 * With 6 partitions, records of different partitions reach a step in an order that depends on
 * timing, so the out-of-orderness bound is 1 h (nothing is late) and outputs compare as sorted
 * lists; a user's records keep their order (the input is keyed by user), so the user table compares
 * exactly, and the property table by key, version and value (see orderFree). Both
 * processes share one data directory, as on one machine.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { requireService, useKafka } from "../helpers/services.js";
import { runCli, spawnCli, type CliProcess } from "../cli/helpers.js";
import {
  NOTHING_LATE,
  SIX_PARTITIONS_BY_USER,
  produceFile,
  sixPartitionReference,
  sortedOutputs,
  storageOutputs,
  topicOutputs,
  type Outputs,
} from "./kafka-nobroker.js";

const kafka = useKafka({ port: 19440 });

/**
 * A property's records come from every input partition, so which record made its version n (and
 * that record's event time and offset) depends on how the partitions interleave; its versions and
 * values do not.
 */
function orderFree(outputs: Outputs): Outputs {
  const table = "table property_interactions";
  const rows = outputs[table].map((row) => {
    const { key, version, value } = JSON.parse(row) as Record<string, unknown>;
    return JSON.stringify({ key, version, value });
  });
  return { ...outputs, [table]: rows.sort() };
}

/** The tasks a process said it processes last, e.g. [0, 2, 4]. */
function heldTasks(p: CliProcess): number[] {
  const lines = [...p.stderr.matchAll(/active: processing tasks? ([\d, ]+) of 6/g)];
  const last = lines[lines.length - 1]?.[1] ?? "";
  return last
    .split(",")
    .map((x) => x.trim())
    .filter((x) => x.length > 0)
    .map(Number);
}

test(
  "two processes share a 6-partition pipeline; one killed with SIGKILL, the other takes its tasks over; outputs equal a single run",
  { timeout: 600_000 },
  async (t) => {
    if (kafka.url === undefined) return requireService(t, "Kafka", kafka.unavailable);
    const broker = kafka.url;
    const dir = mkdtempSync(join(tmpdir(), "weir-kafka-group-"));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const input = join(dir, "events.jsonl");
    const gen = await runCli(["generate", "nobroker", "-n", "200000", "--seed", "5", "-o", input]);
    assert.equal(gen.code, 0, gen.stderr);
    // The single-process reference: the same 6 partitions on the embedded log.
    const embedded = join(dir, "embedded");
    const expected = orderFree({
      ...(await sixPartitionReference(input, embedded)),
      ...(await storageOutputs(embedded, { sorted: true })),
    });
    assert.ok(expected.paid_user.length > 0 && expected.possible_broker.length > 0);

    await produceFile(broker, "events", input, SIX_PARTITIONS_BY_USER);
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
      "500ms",
      ...NOTHING_LATE,
    ];
    const a = spawnCli(args, { timeoutMs: 400_000 });
    a.end();
    await a.waitForStderr((s) => /active: processing/.test(s), 120_000);
    const b = spawnCli(args, { timeoutMs: 400_000 });
    b.end();
    // Both work: the group splits the 6 tasks between them.
    const sharing = () => {
      const [x, y] = [heldTasks(a), heldTasks(b)];
      return x.length > 0 && y.length > 0 && x.length + y.length === 6 && !x.some((n) => y.includes(n));
    };
    const deadline = Date.now() + 120_000;
    while (!sharing() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.ok(sharing(), `the two processes share the tasks\nA: ${a.stderr}\nB: ${b.stderr}`);
    // Mid-run: both have been processing for a while (the tables make 200k events take seconds).
    await new Promise((r) => setTimeout(r, 2000));
    a.kill("SIGKILL");
    const killed = await a.exited;
    assert.equal(killed.signal, "SIGKILL", `A was still running when killed: ${killed.stderr}`);
    const res = await b.exited;
    assert.equal(res.code, 0, res.stderr);
    assert.deepEqual(heldTasks(b), [0, 1, 2, 3, 4, 5], `B took every task over:\n${res.stderr}`);
    assert.match(res.stderr, /resumed from snapshot/, "B resumed A's tasks from their checkpoints");

    const actual = orderFree({
      ...sortedOutputs(await topicOutputs({ broker })),
      ...(await storageOutputs(data, { sorted: true })),
    });
    for (const name of Object.keys(expected)) {
      assert.equal(actual[name].length, expected[name].length, `${name}: record count`);
      assert.deepEqual(actual[name], expected[name], name);
    }
  },
);

test(
  "a live run over 6 partitions, only 3 of them with records: the quiet tasks go idle and the candles come out",
  { timeout: 300_000 },
  async (t) => {
    if (kafka.url === undefined) return requireService(t, "Kafka", kafka.unavailable);
    const broker = kafka.url;
    const dir = mkdtempSync(join(tmpdir(), "weir-kafka-idle-"));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const input = join(dir, "bpi.jsonl");
    const gen = await runCli(["generate", "bitcoin", "-n", "3000", "--seed", "1", "-o", input]);
    assert.equal(gen.code, 0, gen.stderr);
    // The reference: the bounded run closes every window; a live one closes all but each currency's last.
    const embedded = join(dir, "embedded");
    const ref = await runCli(["run", "bitcoin", "--input", input, "--data-dir", embedded], {
      timeoutMs: 120_000,
    });
    assert.equal(ref.code, 0, ref.stderr);
    const all = (await runCli(["consume", "bpi_ohlc", "--data-dir", embedded])).stdout
      .split("\n")
      .filter((l) => l.length > 0);
    const lastStart = new Map<string, string>();
    for (const l of all) {
      const c = JSON.parse(l) as { currency: string; window_start: string };
      if ((lastStart.get(c.currency) ?? "") < c.window_start) lastStart.set(c.currency, c.window_start);
    }
    const expected = all
      .filter((l) => {
        const c = JSON.parse(l) as { currency: string; window_start: string };
        return c.window_start !== lastStart.get(c.currency);
      })
      .sort();
    assert.equal(lastStart.size, 3);

    // Keyed by currency: 3 currencies fill at most 3 of the 6 partitions.
    const p = await runCli(
      ["produce", "bpi", "--file", input, "--partitions", "6", "--key-field", "currency", "--broker", broker],
      { timeoutMs: 60_000 },
    );
    assert.equal(p.code, 0, p.stderr);
    const run = spawnCli(["run", "bitcoin", "--broker", broker, "--data-dir", join(dir, "kafka")], {
      timeoutMs: 200_000,
    });
    run.end();
    const candles = async () =>
      (await runCli(["consume", "bpi_ohlc", "--broker", broker])).stdout
        .split("\n")
        .filter((l) => l.length > 0);
    let live: string[] = [];
    const deadline = Date.now() + 90_000;
    while (live.length < expected.length && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 1000));
      live = await candles();
    }
    run.kill("SIGTERM");
    const res = await run.exited;
    assert.equal(res.code, 0, res.stderr);
    assert.deepEqual(live.sort(), expected, `live candles\n${res.stderr}`);
  },
);
