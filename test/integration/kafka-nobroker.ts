/**
 * Shared by the Kafka pipeline tests: run NoBroker on the embedded log as the reference, and read
 * every output of a run — Kafka topics through `weir consume --broker`, tables and lake from the
 * data directory — in a form that compares record for record.
 */
import assert from "node:assert/strict";
import { openWarehouse } from "../../src/warehouse/index.js";
import { runCli } from "../cli/helpers.js";

export const NOBROKER_TOPICS = [
  "paid_user",
  "property_status",
  "possible_broker",
  "nobroker.dlq",
  "nobroker.late",
];

export type Outputs = Record<string, string[]>;

/**
 * Tables and lake of a NoBroker run in `dataDir`. Table rows come in update order (`seq`); with
 * `sorted`, without `seq` and sorted: several partition tasks interleave their keys' updates in
 * another order than one task, while each key's versions stay the same.
 */
export async function storageOutputs(dataDir: string, opts: { sorted?: boolean } = {}): Promise<Outputs> {
  const out: Outputs = {};
  const wh = await openWarehouse(dataDir);
  try {
    for (const table of ["user_interactions", "property_interactions"]) {
      const r = await wh.run(
        opts.sorted === true
          ? `SELECT key, version, event_time, value, source_topic, source_partition, source_offset FROM ${table}`
          : `SELECT key, version, event_time, value, source_offset, seq FROM ${table} ORDER BY seq`,
      );
      const rows = r.getRowObjectsJson().map((row) => JSON.stringify(row));
      out[`table ${table}`] = opts.sorted === true ? rows.sort() : rows;
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

/** The output topics of a run: from the embedded log in `dataDir`, or from Kafka at `broker`. */
export async function topicOutputs(where: { dataDir: string } | { broker: string }): Promise<Outputs> {
  const out: Outputs = {};
  for (const topic of NOBROKER_TOPICS) {
    const args = "broker" in where ? ["--broker", where.broker] : ["--data-dir", where.dataDir];
    const r = await runCli(["consume", topic, ...args], { timeoutMs: 120_000 });
    assert.equal(r.code, 0, `weir consume ${topic}: ${r.stderr}`);
    out[topic] = r.stdout.split("\n").filter((l) => l.length > 0);
  }
  return out;
}

/** The reference: NoBroker on the embedded log, bounded on `input`. */
export async function embeddedRun(input: string, dataDir: string, extra: string[] = []): Promise<Outputs> {
  const r = await runCli(["run", "nobroker", "--input", input, "--data-dir", dataDir, ...extra], {
    timeoutMs: 180_000,
  });
  assert.equal(r.code, 0, r.stderr);
  return topicOutputs({ dataDir });
}

/** `weir produce` flags of the several-partition tests: 6 partitions, keyed by user. */
export const SIX_PARTITIONS_BY_USER = ["--partitions", "6", "--key-field", "user_id"];
/** With several partitions lateness depends on interleaving: a bound under which nothing is late. */
export const NOTHING_LATE = ["--max-out-of-orderness", "1h"];

export function sortedOutputs(outputs: Outputs): Outputs {
  const out: Outputs = {};
  for (const [k, v] of Object.entries(outputs)) out[k] = [...v].sort();
  return out;
}

/**
 * The single-process reference of the several-partition tests: `input` in 6 partitions of the
 * embedded log (keyed by user), NoBroker run to its end with NOTHING_LATE; its topics, sorted.
 */
export async function sixPartitionReference(input: string, dataDir: string): Promise<Outputs> {
  const produce = ["produce", "events", "--file", input, ...SIX_PARTITIONS_BY_USER, "--data-dir", dataDir];
  const p = await runCli(produce, { timeoutMs: 120_000 });
  assert.equal(p.code, 0, p.stderr);
  const r = await runCli(["run", "nobroker", "--until-end", "--data-dir", dataDir, ...NOTHING_LATE], {
    timeoutMs: 180_000,
  });
  assert.equal(r.code, 0, r.stderr);
  return sortedOutputs(await topicOutputs({ dataDir }));
}

/** Load a JSON-lines file into a Kafka topic with `weir produce`. */
export async function produceFile(
  broker: string,
  topic: string,
  file: string,
  extra: string[] = [],
): Promise<void> {
  const r = await runCli(["produce", topic, "--file", file, "--broker", broker, ...extra], {
    timeoutMs: 180_000,
  });
  assert.equal(r.code, 0, `weir produce: ${r.stderr}`);
}

export function assertSameOutputs(actual: Outputs, expected: Outputs): void {
  for (const name of Object.keys(expected)) {
    assert.ok(actual[name] !== undefined, `${name}: missing`);
    assert.equal(actual[name].length, expected[name].length, `${name}: record count`);
    assert.deepEqual(actual[name], expected[name], name);
  }
}
