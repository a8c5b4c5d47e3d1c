import { test } from "node:test";
import assert from "node:assert/strict";
import { pipeline, schema, TestDriver, windows } from "../../src/index.js";

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

test("a step failing on a window's result fired by the watermark makes a dead letter, not a crash", () => {
  const Ev = schema.object({ user_id: schema.int(), date: schema.timestamp() });
  const d = pipeline("w", (p) => {
    p.source("in", { schema: Ev, eventTime: (e) => e.date, maxOutOfOrderness: 0 })
      .keyBy((e) => e.user_id)
      .window(windows.tumbling("1m"))
      .count()
      .when(() => true, { emit: "final" })
      .map(({ key, value }) => {
        if (key === 2) throw new Error("user 2 is not allowed");
        return { user: key, n: value };
      })
      .to("out");
  });
  const t = new TestDriver(d)
    .send("in", { user_id: 1, date: "2021-11-30 00:00:01" })
    .send("in", { user_id: 2, date: "2021-11-30 00:00:02" })
    .send("in", { user_id: 1, date: "2021-11-30 00:00:03" })
    .send("in", { user_id: 1, date: "2021-11-30 00:01:30" }) // the watermark passes the first window's end
    .end();
  assert.deepEqual(t.readValues("out"), [
    { user: 1, n: 2 },
    { user: 1, n: 1 },
  ]);
  const [dl, ...rest] = t.deadLetters();
  assert.equal(rest.length, 0);
  assert.match(dl.error, /^step map-\d+ failed: user 2 is not allowed$/);
  assert.deepEqual(JSON.parse(dl.raw), {
    key: 2,
    window: { start: "2021-11-30T00:00:00.000Z", end: "2021-11-30T00:01:00.000Z" },
    value: 1,
  });
});
