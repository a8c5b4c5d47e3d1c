/**
 * The dashboard's topic browser (src/dashboard/topics.ts) on the embedded log: what it reads
 * before the data directory has topics (and that it creates nothing), the newest records across
 * partitions, the key search window, the partition filter, errors, and close(). The same code reads
 * Kafka: test/integration/dashboard-kafka.test.ts.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EmbeddedLog } from "../../src/log/index.js";
import { ApiError } from "../../src/dashboard/api-error.js";
import { KEY_SEARCH_WINDOW, TopicBrowser } from "../../src/dashboard/topics.js";

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), "weir-dashboard-topics-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const status = (code: number) => (err: unknown) => err instanceof ApiError && err.status === code;

test("before the data directory has topics: nothing listed, 404, and nothing created", async (t) => {
  const dir = join(tempDir(t), "data");
  const topics = await TopicBrowser.open(dir, undefined);
  t.after(() => topics.close());
  assert.equal(topics.engine, "embedded");
  assert.deepEqual(await topics.list(), []);
  assert.deepEqual(await topics.names(), []);
  await assert.rejects(topics.latest("events", { limit: 5 }), (err: Error) => {
    assert.ok(status(404)(err));
    assert.equal(err.message, `unknown topic "events" in ${dir}`);
    return true;
  });
  assert.equal(existsSync(dir), false);

  // Topics written later (by another process, here another log) are seen by the next request.
  const log = EmbeddedLog.open(dir);
  t.after(() => log.close());
  log.createTopic("events", { partitions: 2 });
  const w = log.writer("events");
  w.append([{ key: "a", value: '{"n":1}', timestamp: 1000 }]);
  w.close();
  const [events] = await topics.list();
  assert.equal(events.name, "events");
  assert.equal(events.partitions, 2);
  assert.equal(events.records, 1);
  assert.ok(events.bytes !== null && events.bytes > 0);
  assert.deepEqual(await topics.names(), ["events"]);
});

test("the newest records across partitions, the key window, the partition filter, errors", async (t) => {
  const dir = tempDir(t);
  const log = EmbeddedLog.open(dir);
  t.after(() => log.close());
  log.createTopic("events", { partitions: 2 });
  const w = log.writer("events");
  // Partition 0: 12,000 records, key "old" only before the last 10,000; partition 1: a few.
  const p0 = [];
  for (let i = 0; i < 12_000; i++)
    p0.push({ partition: 0, key: i < 100 ? "old" : `k${i % 7}`, value: JSON.stringify({ i }), timestamp: i });
  w.append(p0);
  w.append([
    { partition: 1, key: "k1", value: "not json", timestamp: 11_999 },
    { partition: 1, key: null, value: '{"late":true}', timestamp: 20_000 },
  ]);
  w.close();

  const topics = await TopicBrowser.open(dir, undefined);
  t.after(() => topics.close());

  const newest = await topics.latest("events", { limit: 3 });
  assert.deepEqual(
    newest.map((r) => [r.partition, r.offset, r.timestamp, r.key, r.value]),
    [
      [1, 1, 20_000, null, { late: true }],
      [0, 11_999, 11_999, "k1", { i: 11_999 }], // same timestamp: partition 0 first
      [1, 0, 11_999, "k1", "not json"],
    ],
  );

  const k1 = await topics.latest("events", { limit: 500, key: "k1" });
  assert.ok(k1.every((r) => r.key === "k1"));
  assert.equal(k1.length, 500);
  assert.equal(k1[0].partition, 0);
  assert.deepEqual(k1[0].value, { i: 11_999 });
  assert.deepEqual(k1[1].value, "not json");
  // Only the last 10,000 records of each partition are searched.
  assert.equal(KEY_SEARCH_WINDOW, 10_000);
  assert.deepEqual(await topics.latest("events", { limit: 50, key: "old" }), []);

  const onlyP1 = await topics.latest("events", { limit: 50, partition: 1 });
  assert.deepEqual(
    onlyP1.map((r) => r.offset),
    [1, 0],
  );
  await assert.rejects(topics.latest("events", { limit: 5, partition: 2 }), (err: Error) => {
    assert.ok(status(400)(err));
    assert.match(err.message, /^topic events has no partition 2 \(it has 2: 0\.\.1\)/);
    return true;
  });
  await assert.rejects(topics.latest("nope", { limit: 5 }), status(404));

  log.deleteTopic("events");
  await assert.rejects(topics.latest("events", { limit: 5 }), status(404));
  assert.deepEqual(await topics.list(), []);

  await topics.close();
  await assert.rejects(topics.list(), /closed/);
});
