/**
 * The dashboard's API on a real Kafka broker (scripts/kafka.sh): topics and their record counts,
 * the newest records (committed only: transaction markers and aborted records never show), the
 * key filter, and dead letters read from the pipeline's `<pipeline>.dlq` topic on the cluster.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { repoRoot, requireService, useKafka } from "../helpers/services.js";
import { runCli } from "../cli/helpers.js";
import { startDashboard } from "../../src/dashboard/server.js";

const kafka = useKafka({ port: 19470 });

test("topics, records and dead letters of a Kafka cluster", { timeout: 180_000 }, async (t) => {
  if (kafka.url === undefined) return requireService(t, "Kafka", kafka.unavailable);
  const broker = kafka.url;
  const dir = mkdtempSync(join(tmpdir(), "weir-dashboard-kafka-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const sample = readFileSync(join(repoRoot(), "examples", "nobroker", "sample.jsonl"), "utf8");
  const input = join(dir, "input.jsonl");
  writeFileSync(input, `${sample.trimEnd()}\nnot json\n{"user_id":"x"}\n`);

  // The pipeline writes its outputs (and dead letters) in transactions.
  const run = await runCli(
    [
      "run",
      "nobroker",
      "--input",
      input,
      "--broker",
      broker,
      "--data-dir",
      dir,
      "--tables",
      "off",
      "--lake",
      "off",
    ],
    { timeoutMs: 120_000 },
  );
  assert.equal(run.code, 0, run.stderr);
  const keyed = await runCli(
    ["produce", "keyed", "--file", input, "--key-field", "user_id", "--broker", broker],
    {
      timeoutMs: 60_000,
    },
  );
  assert.equal(keyed.code, 0, keyed.stderr);

  const dash = await startDashboard({ dataDir: dir, port: 0, broker, logger: () => {} });
  t.after(() => dash.close());
  const get = async (path: string): Promise<any> => {
    const r = await fetch(new URL(path, dash.url));
    assert.equal(r.status, 200, `${path}: ${await r.clone().text()}`);
    return r.json();
  };

  const overview = await get("/api/overview");
  assert.equal(overview.engine, "kafka");
  assert.equal(overview.broker, broker);

  const topics = await get("/api/topics");
  const byName = new Map(topics.map((x: any) => [x.name, x]));
  assert.deepEqual(byName.get("events"), {
    name: "events",
    partitions: 1,
    records: 27,
    bytes: null,
    ratePerSec: 0,
  });
  assert.ok(byName.has("paid_user") && byName.has("nobroker.dlq"));

  // Committed records only: one alert, whatever markers the transactions left in the log.
  const paid = await get("/api/topics/paid_user/records");
  assert.deepEqual(
    paid.map((r: any) => r.value),
    [{ user: 1, interactions_count: 9 }],
  );
  const events = await get("/api/topics/events/records?limit=3");
  assert.deepEqual(
    events.map((r: any) => r.offset),
    [26, 25, 24],
  );
  assert.deepEqual(events[0].value, { user_id: "x" });
  assert.deepEqual(events[1].value, "not json");

  const key1 = await get("/api/topics/keyed/records?key=1&limit=500");
  const key2 = await get("/api/topics/keyed/records?key=2&limit=500");
  assert.ok(key1.length > 0 && key2.length > 0);
  assert.ok(key1.every((r: any) => r.key === "1" && r.value.user_id === 1));
  assert.ok(key2.every((r: any) => r.key === "2" && r.value.user_id === 2));

  const dlq = await get("/api/dead-letters?pipeline=nobroker");
  assert.deepEqual(dlq.map((d: any) => d.raw).sort(), ['{"user_id":"x"}', "not json"].sort());
  assert.ok(
    dlq.every(
      (d: any) => d.pipeline === "nobroker" && typeof d.error === "string" && d.source.topic === "events",
    ),
  );

  assert.equal((await fetch(new URL("/api/topics/nope/records", dash.url))).status, 404);
});
