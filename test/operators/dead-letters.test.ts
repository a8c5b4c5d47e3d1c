import { test } from "node:test";
import assert from "node:assert/strict";
import { pipeline, schema, TestDriver } from "../../src/index.js";

const Interaction = schema.object({
  user_id: schema.int(),
  date: schema.timestamp(),
  event: schema.string(),
});

const d = pipeline("p", (p) => {
  p.source("events", { schema: Interaction, eventTime: (e) => e.date })
    .keyBy((e) => e.user_id)
    .count()
    .toStream()
    .to("out");
});

test("bad lines become dead letters with the reason, raw line and position; the run goes on", () => {
  const lines = [
    `{"user_id":1,"date":"2021-11-30 00:00:00","event":"Interaction"}`,
    `not json at all`,
    `[1,2,3]`,
    `{"date":"2021-11-30 00:00:00","event":"Interaction"}`,
    `{"user_id":"12","date":"2021-11-30 00:00:00","event":"Interaction"}`,
    `{"user_id":1,"date":"2021-13-45 00:00:00","event":"Interaction"}`,
    `{"user_id":1,"date":"2021-11-30 00:00:01","event":"Interaction"}`,
  ];
  const t = new TestDriver(d).sendAll("events", lines).end();
  assert.equal(t.readValues("out").length, 2);
  const dl = t.deadLetters();
  assert.deepEqual(
    dl.map((x) => [x.offset, x.raw]),
    [1, 2, 3, 4, 5].map((i) => [i, lines[i]]),
  );
  assert.match(dl[0].error, /^invalid JSON/);
  assert.equal(dl[1].error, "expected a JSON object, got array");
  assert.equal(dl[2].error, `missing field "user_id"`);
  assert.equal(dl[3].error, `field "user_id": expected integer, got string "12"`);
  assert.equal(dl[4].error, `field "date": unparseable timestamp "2021-13-45 00:00:00"`);
  for (const x of dl) {
    assert.equal(x.topic, "events");
    assert.equal(x.partition, 0);
    assert.deepEqual(Object.keys(x), ["error", "raw", "topic", "partition", "offset"]);
  }
});

test("a pipeline's zone applies to zone-less event times", () => {
  const Ev = schema.object({ user_id: schema.int(), date: schema.timestamp({ as: "ms" }) });
  const d = pipeline(
    "z",
    (p) => {
      p.source("in", { schema: Ev, eventTime: (e) => e.date })
        .map((e) => new Date(e.date))
        .to("out");
    },
    { zone: "Asia/Kolkata" },
  );
  const t = new TestDriver(d).send("in", { user_id: 1, date: "2021-11-30 05:30:00" });
  assert.deepEqual(t.readValues("out"), ["2021-11-30T00:00:00.000Z"]);
});
