import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { TestDriver } from "../../src/index.js";
import { nobroker } from "../../examples/nobroker/pipeline.js";

const sampleUrl = new URL("../../../examples/nobroker/sample.jsonl", import.meta.url);
// Under tsx the test runs from test/examples/, compiled from dist/test/examples/: find the file either way.
function sampleLines(): string[] {
  let text: string;
  try {
    text = readFileSync(sampleUrl, "utf8");
  } catch {
    text = readFileSync(new URL("../../examples/nobroker/sample.jsonl", import.meta.url), "utf8");
  }
  return text.split("\n").filter((l) => l.trim() !== "");
}

test("the seed's 25-line sample: paid_user user 1, property_status property 1, possible_broker user 1 in window 00:00", () => {
  const t = new TestDriver(nobroker());
  t.sendAll("events", sampleLines());
  t.end();
  assert.deepEqual(t.readValues("paid_user"), [{ user: 1, interactions_count: 9 }]);
  assert.deepEqual(t.readValues("property_status"), [{ property: 1, property_interactions_count: 6 }]);
  assert.deepEqual(t.readValues("possible_broker"), [
    {
      window_start: "2021-11-30T00:00:00.000Z",
      window_end: "2021-11-30T00:01:00.000Z",
      user_id: 1,
      threat_user_interactions: 11,
    },
  ]);
  assert.deepEqual(t.deadLetters(), []);
  assert.deepEqual(t.lateRecords(), []);
});

test("output records are keyed by the rule's key", () => {
  const t = new TestDriver(nobroker());
  t.sendAll("events", sampleLines()).end();
  assert.deepEqual(
    t.readRecords("paid_user").map((r) => r.key),
    ["1"],
  );
});

test("emit changes reproduces the seed's own behaviour: a record on every update past the threshold", () => {
  const t = new TestDriver(nobroker({ emit: "changes" }));
  t.sendAll("events", sampleLines()).end();
  const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);
  assert.deepEqual(
    t.readValues("paid_user").map((r) => r.interactions_count),
    range(9, 23),
  );
  assert.deepEqual(
    t.readValues("property_status").map((r) => r.property_interactions_count),
    range(6, 25),
  );
  assert.deepEqual(
    t.readValues("possible_broker").map((r) => r.threat_user_interactions),
    range(11, 23),
  );
});

test("emit final reports each window's count once, when it closes", () => {
  const t = new TestDriver(nobroker({ emit: "final" }));
  t.sendAll("events", sampleLines());
  assert.deepEqual(t.readValues("possible_broker"), [], "nothing before the window closes");
  t.end();
  assert.deepEqual(t.readValues("possible_broker"), [
    {
      window_start: "2021-11-30T00:00:00.000Z",
      window_end: "2021-11-30T00:01:00.000Z",
      user_id: 1,
      threat_user_interactions: 23,
    },
  ]);
  // The running rules have no window: they stay "crossing".
  assert.deepEqual(t.readValues("paid_user"), [{ user: 1, interactions_count: 9 }]);
});

test("only Interaction events count", () => {
  const t = new TestDriver(nobroker({ paidThreshold: 2 }));
  const at = "2021-11-30 00:00:00";
  t.send("events", { user_id: 5, property_id: 1, date: at, event: "View" });
  t.send("events", { user_id: 5, property_id: 1, date: at, event: "Interaction" });
  t.send("events", { user_id: 5, property_id: 1, date: at, event: "Click" });
  assert.deepEqual(t.readValues("paid_user"), []);
  t.send("events", { user_id: 5, property_id: 1, date: at, event: "Interaction" });
  assert.deepEqual(t.readValues("paid_user"), [{ user: 5, interactions_count: 2 }]);
});

test("storage: running counts as versioned tables (3 versions per key) and valid events landed in the lake", () => {
  const t = new TestDriver(nobroker());
  const lines = sampleLines();
  t.sendAll("events", [
    ...lines,
    "not json",
    `{"user_id":3,"property_id":2,"date":"2021-11-30 00:00:01","event":"View"}`,
  ]).end();
  assert.deepEqual(
    [...t.tableValues("user_interactions")],
    [
      ["1", { user: 1, interactions_count: 23 }],
      ["2", { user: 2, interactions_count: 2 }],
    ],
  );
  assert.deepEqual(
    [...t.tableValues("property_interactions")],
    [["1", { property: 1, property_interactions_count: 25 }]],
  );
  const v = t.tableVersions("user_interactions", 1);
  assert.deepEqual(
    v.slice(0, 3).map((x) => [x.version, x.value]),
    [
      [23, { user: 1, interactions_count: 23 }],
      [22, { user: 1, interactions_count: 22 }],
      [21, { user: 1, interactions_count: 21 }],
    ],
  );
  assert.equal(v[0].eventTime, Date.parse("2021-11-30T00:00:00Z"));
  const rows = t.lakeRows("interactions");
  assert.equal(rows.length, 26, "every valid event (also non-Interaction ones), no dead letter");
  assert.deepEqual(rows[25], {
    user_id: 3,
    property_id: 2,
    date: Date.parse("2021-11-30T00:00:01Z"),
    event: "View",
  });
  assert.deepEqual(t.lakeRows("nobroker_dead_letters"), [
    { error: t.deadLetters()[0].error, raw: "not json", topic: "events", partition: 0, offset: 25 },
  ]);
});

test("storage can be turned off", () => {
  const t = new TestDriver(nobroker({ tables: false, lake: false }));
  t.sendAll("events", sampleLines()).end();
  assert.equal(t.tableValues("user_interactions").size, 0);
  assert.equal(t.lakeRows("interactions").length, 0);
  assert.equal(t.lakeRows("nobroker_dead_letters").length, 0);
  assert.deepEqual(t.readValues("paid_user"), [{ user: 1, interactions_count: 9 }]);
});
