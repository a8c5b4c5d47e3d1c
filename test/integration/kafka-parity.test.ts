/**
 * One runtime, two logs: NoBroker over the same 6-partition input on the embedded log and on Kafka
 * runs as 6 partition tasks on both, and gives the same outputs key by key, record for record —
 * compared exactly, not sorted, per key: each alert topic per key, each versioned table's versions
 * per key with the record that made them (event time, source partition and offset), and the dead
 * letters, late records and lake rows (which carry no key) as multisets.
 *
 * With the default 5 s bound records are late, and the input is keyed by property, so the user
 * keyBy (paid_user, and the windows of possible_broker) takes records from every partition: which
 * records are late after it, and what each window holds when it closes, depend on the exchange's
 * release order (docs/semantics.md), not on timing.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openWarehouse } from "../../src/warehouse/index.js";
import { requireService, useKafka } from "../helpers/services.js";
import { runCli } from "../cli/helpers.js";
import { produceFile, topicOutputs, type Outputs } from "./kafka-nobroker.js";

const kafka = useKafka({ port: 19320 });

/** `weir produce` flags: 6 partitions, keyed by property (the user keyBy crosses partitions). */
const SIX_PARTITIONS_BY_PROPERTY = ["--partitions", "6", "--key-field", "property_id"];

/** The field holding each alert topic's key. */
const KEY_FIELD: Record<string, string> = {
  paid_user: "user",
  property_status: "property",
  possible_broker: "user_id",
};

/** Every output of a run, grouped by key (see the file comment). */
async function byKey(topics: Outputs, dataDir: string): Promise<Outputs> {
  const out: Outputs = {};
  for (const [topic, records] of Object.entries(topics)) {
    const field = KEY_FIELD[topic];
    if (field === undefined) out[topic] = [...records].sort();
    else
      for (const r of records)
        (out[`${topic} ${String((JSON.parse(r) as Record<string, unknown>)[field])}`] ??= []).push(r);
  }
  const wh = await openWarehouse(dataDir);
  try {
    for (const table of ["user_interactions", "property_interactions"]) {
      const r = await wh.run(
        `SELECT key, version, event_time, value, source_topic, source_partition, source_offset FROM ${table} ORDER BY key, version`,
      );
      for (const row of r.getRowObjectsJson())
        (out[`table ${table} ${String(row.key)}`] ??= []).push(JSON.stringify(row));
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
  "a 6-partition NoBroker input gives the same outputs on the embedded log and on Kafka, key by key, record for record",
  { timeout: 600_000 },
  async (t) => {
    if (kafka.url === undefined) return requireService(t, "Kafka", kafka.unavailable);
    const broker = kafka.url;
    const dir = mkdtempSync(join(tmpdir(), "weir-kafka-parity-"));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const input = join(dir, "events.jsonl");
    const gen = await runCli(["generate", "nobroker", "-n", "100000", "--seed", "11", "-o", input]);
    assert.equal(gen.code, 0, gen.stderr);

    const embedded = join(dir, "embedded");
    const produced = await runCli(
      ["produce", "events", "--file", input, ...SIX_PARTITIONS_BY_PROPERTY, "--data-dir", embedded],
      { timeoutMs: 120_000 },
    );
    assert.equal(produced.code, 0, produced.stderr);
    const onEmbedded = await runCli(["run", "nobroker", "--until-end", "--data-dir", embedded], {
      timeoutMs: 180_000,
    });
    assert.equal(onEmbedded.code, 0, onEmbedded.stderr);
    const expected = await byKey(await topicOutputs({ dataDir: embedded }), embedded);

    await produceFile(broker, "events", input, SIX_PARTITIONS_BY_PROPERTY);
    const data = join(dir, "kafka");
    const onKafka = await runCli(["run", "nobroker", "--broker", broker, "--until-end", "--data-dir", data], {
      timeoutMs: 300_000,
    });
    assert.equal(onKafka.code, 0, onKafka.stderr);
    assert.match(onKafka.stderr, /processing tasks 0, 1, 2, 3, 4, 5 of 6/);
    const actual = await byKey(await topicOutputs({ broker }), data);

    // Not vacuous: records were late, windows fired, rules fired for many keys.
    assert.ok(expected["nobroker.late"].length > 0, "some records are late");
    assert.ok(expected["nobroker.dlq"].length > 0, "some records are dead letters");
    const keys = (topic: string) => Object.keys(expected).filter((g) => g.startsWith(`${topic} `)).length;
    assert.ok(keys("possible_broker") > 0 && keys("paid_user") > 100 && keys("property_status") > 100);
    assert.ok(keys("table user_interactions") > 100);

    assert.deepEqual(Object.keys(actual).sort(), Object.keys(expected).sort(), "the same keys");
    for (const group of Object.keys(expected)) assert.deepEqual(actual[group], expected[group], group);
  },
);
