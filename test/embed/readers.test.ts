/**
 * The readers the package exports: readTopic (embedded log; Kafka in
 * test/integration/embed-kafka.test.ts), openTables (SQLite here; PostgreSQL is the same store
 * interface, test/sinks/table) and openWarehouse, over what a run of the NoBroker sample wrote.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  openTables,
  openWarehouse,
  readTopic,
  run,
  silentLogger,
  type TopicRecord,
} from "../../src/index.js";
import { EmbeddedLog } from "../../src/log/index.js";
import { nobroker } from "../../examples/nobroker/pipeline.js";
import { repoRoot } from "../helpers/services.js";

const SAMPLE = join(repoRoot(), "examples", "nobroker", "sample.jsonl");

describe("the exported readers", () => {
  const root = mkdtempSync(join(tmpdir(), "weir-readers-"));
  const dataDir = join(root, "data");
  after(() => rmSync(root, { recursive: true, force: true }));

  before(async () => {
    await run(nobroker(), { dataDir, input: SAMPLE, logger: silentLogger }).done;
    // A topic of three partitions, two records in each of partitions 0 and 2.
    const log = EmbeddedLog.open(dataDir, { logger: () => {} });
    log.createTopic("spread", { partitions: 3 });
    const w = log.writer("spread");
    w.append(
      [0, 2, 0, 2].map((p) => ({ key: `k${p}`, value: `{"p":${p}}`, timestamp: 1000 + p, partition: p })),
    );
    w.close();
    log.close();
  });

  async function all(
    topic: string,
    options: { partition?: number; dataDir?: string } = {},
  ): Promise<TopicRecord[]> {
    const out: TopicRecord[] = [];
    for await (const r of readTopic(topic, { dataDir, ...options })) out.push(r);
    return out;
  }

  it("readTopic reads a topic from its start to its end, partition by partition", async () => {
    const paid = await all("paid_user");
    assert.deepEqual(
      paid.map((r) => [r.topic, r.partition, r.offset, r.value]),
      [["paid_user", 0, 0, '{"user":1,"interactions_count":9}']],
    );
    const spread = await all("spread");
    assert.deepEqual(
      spread.map((r) => [r.partition, r.offset, r.key, r.value, r.timestamp]),
      [
        [0, 0, "k0", '{"p":0}', 1000],
        [0, 1, "k0", '{"p":0}', 1000],
        [2, 0, "k2", '{"p":2}', 1002],
        [2, 1, "k2", '{"p":2}', 1002],
      ],
    );
    assert.deepEqual(
      (await all("spread", { partition: 2 })).map((r) => r.partition),
      [2, 2],
    );
  });

  it("readTopic stops early when the loop breaks, and fails with UNKNOWN_TOPIC / USAGE", async () => {
    for await (const r of readTopic("spread", { dataDir })) {
      assert.equal(r.offset, 0);
      break;
    }
    await assert.rejects(all("nope"), { name: "WeirError", code: "UNKNOWN_TOPIC" });
    await assert.rejects(all("spread", { partition: 3 }), { code: "USAGE", message: /has no partition 3/ });
    await assert.rejects(all("paid_user", { dataDir: join(root, "missing") }), {
      code: "UNKNOWN_TOPIC",
      message: /no data directory/,
    });
  });

  it("openTables lists the versioned tables and reads keys and versions", async () => {
    const tables = await openTables({ dataDir });
    try {
      assert.match(tables.location, /^sqlite:.*tables\.db$/);
      assert.deepEqual((await tables.list()).sort(), ["property_interactions", "user_interactions"]);
      const latest = await tables.read("user_interactions", { key: "1" });
      assert.deepEqual(
        latest.map((v) => [v.key, v.version, v.value]),
        [["1", 23, { user: 1, interactions_count: 23 }]],
      );
      const three = await tables.read("user_interactions", { key: "1", versions: 5 });
      assert.deepEqual(
        three.map((v) => v.version),
        [23, 22, 21],
        "at most the 3 versions the table keeps",
      );
      await assert.rejects(tables.read("nope"), { code: "USAGE", message: /unknown table nope/ });
    } finally {
      await tables.close();
    }
  });

  it("openWarehouse runs SQL over the lake and the tables", async () => {
    const wh = await openWarehouse({ dataDir });
    try {
      assert.ok(wh.datasets.includes("interactions"));
      assert.ok(wh.tables.includes("user_interactions"));
      const [row] = await wh.query("SELECT count(*) AS n FROM interactions");
      assert.equal(Number(row.n), 25);
      const users = await wh.query(
        "SELECT key, value->>'interactions_count' AS n FROM user_interactions_latest ORDER BY key",
      );
      assert.deepEqual(
        users.map((u) => [u.key, u.n]),
        [
          ["1", "23"],
          ["2", "2"],
        ],
      );
    } finally {
      await wh.close();
    }
    await assert.rejects(openWarehouse({ dataDir: join(root, "missing") }), { code: "BAD_DATA_DIR" });
  });
});
