/**
 * Windows and watermarks against hand-computed cases (DESIGN.md §4).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { pipeline, schema, windows, TestDriver, type EmitMode } from "../../src/index.js";

const Ev = schema.object({ user: schema.int(), at: schema.timestamp(), kind: schema.string().optional() });

function perMinute(emit: EmitMode, options: { allowedLateness?: string; bound?: string } = {}) {
  return pipeline("w", (p) => {
    p.source("in", { schema: Ev, eventTime: (e) => e.at, maxOutOfOrderness: options.bound ?? "5s" })
      .filter((e) => e.kind !== "skip")
      .keyBy((e) => e.user)
      .window(windows.tumbling("1m"), { allowedLateness: options.allowedLateness })
      .count()
      .when(() => true, { emit })
      .map(({ key, window, value }) => ({ key, start: window.start, end: window.end, n: value }))
      .to("out");
  });
}

const ev = (user: number, at: string, kind?: string) => ({
  user,
  at: `2021-11-30 ${at}`,
  ...(kind ? { kind } : {}),
});

test("a window fires (final) exactly when the watermark reaches its end", () => {
  const t = new TestDriver(perMinute("final"));
  t.send("in", ev(1, "00:00:10"));
  t.send("in", ev(1, "00:01:04")); // W = 00:00:59
  assert.deepEqual(t.readValues("out"), []);
  t.send("in", ev(2, "00:01:05")); // W = 00:01:00 = end of [00:00, 00:01)
  assert.deepEqual(t.readValues("out"), [
    { key: 1, start: "2021-11-30T00:00:00.000Z", end: "2021-11-30T00:01:00.000Z", n: 1 },
  ]);
});

test("out of order within the bound still counts; beyond it the event is late and changes nothing", () => {
  const t = new TestDriver(perMinute("final"));
  t.send("in", ev(1, "00:00:10"));
  t.send("in", ev(1, "00:01:03")); // W = 00:00:58
  t.send("in", ev(1, "00:00:50")); // window end 00:01:00 > W: counts
  t.send("in", ev(1, "00:01:06")); // W = 00:01:01: window [00:00,00:01) fires with 2
  t.send("in", ev(1, "00:00:59")); // window end 00:01:00 <= W: late
  t.end();
  assert.deepEqual(
    t.readValues("out").map((r) => [r.start, r.n]),
    [
      ["2021-11-30T00:00:00.000Z", 2],
      ["2021-11-30T00:01:00.000Z", 2],
    ],
  );
  const late = t.lateRecords();
  assert.equal(late.length, 1);
  assert.equal(late[0].raw, JSON.stringify(ev(1, "00:00:59")));
  assert.equal(late[0].topic, "in");
  assert.equal(late[0].partition, 0);
  assert.equal(late[0].offset, 4);
  assert.match(late[0].error, /late/);
});

test("an event exactly on a window edge belongs to the window starting there", () => {
  const t = new TestDriver(perMinute("final"));
  t.send("in", ev(1, "00:01:00"));
  t.send("in", ev(1, "00:00:59.999"));
  t.end();
  assert.deepEqual(
    t.readValues("out").map((r) => [r.start, r.n]),
    [
      ["2021-11-30T00:00:00.000Z", 1],
      ["2021-11-30T00:01:00.000Z", 1],
    ],
  );
});

test("the event is judged against the watermark before it; the watermark never decreases", () => {
  const t = new TestDriver(perMinute("final", { bound: "0s" }));
  t.send("in", ev(1, "00:00:30"));
  // This event moves W to 00:01:00 itself; its own window [00:01,00:02) is not late, and [00:00,00:01) fires.
  t.send("in", ev(1, "00:01:00"));
  assert.deepEqual(
    t.readValues("out").map((r) => r.n),
    [1],
  );
  t.send("in", ev(1, "00:00:40")); // now late: end 00:01:00 <= W 00:01:00
  assert.equal(t.lateRecords().length, 1);
  t.send("in", ev(2, "00:00:00")); // older again: W stays 00:01:00
  assert.equal(t.watermark(), Date.parse("2021-11-30T00:01:00Z"));
});

test("records a later filter drops still advance the watermark", () => {
  const t = new TestDriver(perMinute("final"));
  t.send("in", ev(1, "00:00:10"));
  t.send("in", ev(9, "00:01:30", "skip")); // dropped by the filter, W = 00:01:25
  assert.deepEqual(
    t.readValues("out").map((r) => [r.key, r.n]),
    [[1, 1]],
  );
  t.send("in", ev(1, "00:00:20"));
  assert.equal(t.lateRecords().length, 1);
});

test("allowed lateness keeps a fired window open and re-emits its final value", () => {
  const t = new TestDriver(perMinute("final", { allowedLateness: "30s" }));
  t.send("in", ev(1, "00:00:10"));
  t.send("in", ev(1, "00:01:10")); // W = 00:01:05: fires [00:00,00:01) with 1
  t.send("in", ev(1, "00:00:20")); // end + 30s = 00:01:30 > W: not late, re-emits 2
  t.send("in", ev(1, "00:01:40")); // W = 00:01:35: the old window is gone
  t.send("in", ev(1, "00:00:30")); // late now
  const out = t
    .readValues("out")
    .filter((r) => r.start === "2021-11-30T00:00:00.000Z")
    .map((r) => r.n);
  assert.deepEqual(out, [1, 2]);
  assert.equal(t.lateRecords().length, 1);
});

test("crossing emits once per key and window; changes on every update", () => {
  const mk = (emit: EmitMode) =>
    pipeline("w", (p) => {
      p.source("in", { schema: Ev, eventTime: (e) => e.at })
        .keyBy((e) => e.user)
        .window(windows.tumbling("1m"))
        .count()
        .when((n) => n >= 2, { emit })
        .map(({ key, window, value }) => `${key}@${window.start.toISOString().slice(11, 16)}=${value}`)
        .to("out");
    });
  const input = [
    ev(1, "00:00:01"),
    ev(1, "00:00:02"),
    ev(1, "00:00:03"),
    ev(2, "00:00:04"),
    ev(1, "00:01:01"),
    ev(1, "00:01:02"),
  ];
  const crossing = new TestDriver(mk("crossing")).sendAll("in", input).end();
  assert.deepEqual(crossing.readValues("out"), ["1@00:00=2", "1@00:01=2"]);
  const changes = new TestDriver(mk("changes")).sendAll("in", input).end();
  assert.deepEqual(changes.readValues("out"), ["1@00:00=2", "1@00:00=3", "1@00:01=2"]);
});

test("hopping windows: an event counts in every window that contains it", () => {
  const d = pipeline("h", (p) => {
    p.source("in", { schema: Ev, eventTime: (e) => e.at })
      .keyBy((e) => e.user)
      .window(windows.hopping("1m", "30s"))
      .count()
      .toStream({ emit: "final" })
      .map(
        ({ window, value }) =>
          `${window.start.toISOString().slice(11, 19)}-${window.end.toISOString().slice(11, 19)}:${value}`,
      )
      .to("out");
  });
  const t = new TestDriver(d).sendAll("in", [ev(1, "00:00:10"), ev(1, "00:00:40"), ev(1, "00:01:10")]).end();
  assert.deepEqual(t.readValues("out"), [
    "23:59:30-00:00:30:1",
    "00:00:00-00:01:00:2",
    "00:00:30-00:01:30:2",
    "00:01:00-00:02:00:1",
  ]);
});

test("session windows merge events within the gap and close after it", () => {
  const d = pipeline("s", (p) => {
    p.source("in", { schema: Ev, eventTime: (e) => e.at, maxOutOfOrderness: 0 })
      .keyBy((e) => e.user)
      .window(windows.session("30s"))
      .count()
      .toStream({ emit: "final" })
      .map(
        ({ key, window, value }) =>
          `${key}:${window.start.toISOString().slice(11, 19)}-${window.end.toISOString().slice(11, 19)}:${value}`,
      )
      .to("out");
  });
  const t = new TestDriver(d);
  t.sendAll("in", [ev(1, "00:00:00"), ev(1, "00:00:20"), ev(2, "00:00:25"), ev(1, "00:01:00")]);
  // W = 00:01:00 closes both earlier sessions, in order of their ends.
  assert.deepEqual(t.readValues("out"), ["1:00:00:00-00:00:50:2", "2:00:00:25-00:00:55:1"]);
  t.end();
  assert.deepEqual(t.readValues("out"), ["1:00:01:00-00:01:30:1"]);
});

test("session windows: an event bridging two sessions merges them", () => {
  const d = pipeline("s", (p) => {
    p.source("in", { schema: Ev, eventTime: (e) => e.at, maxOutOfOrderness: "1m" })
      .keyBy((e) => e.user)
      .window(windows.session("10s"))
      .count()
      .toStream({ emit: "final" })
      .map(
        ({ window, value }) =>
          `${window.start.toISOString().slice(11, 19)}-${window.end.toISOString().slice(11, 19)}:${value}`,
      )
      .to("out");
  });
  const t = new TestDriver(d).sendAll("in", [ev(1, "00:00:00"), ev(1, "00:00:15"), ev(1, "00:00:08")]).end();
  assert.deepEqual(t.readValues("out"), ["00:00:00-00:00:25:3"]);
});

test("processing-time windows close by the wall clock", () => {
  const d = pipeline("pt", (p) => {
    p.source("in")
      .keyBy(() => "all")
      .window(windows.tumbling("10s", { time: "processing" }))
      .count()
      .toStream({ emit: "final" })
      .map(({ value }) => value)
      .to("out");
  });
  const t = new TestDriver(d, { wallClock: 1_000 });
  t.send("in", { a: 1 }).send("in", { a: 2 });
  t.advanceWallClock(5_000);
  assert.deepEqual(t.readValues("out"), []);
  t.advanceWallClock(5_000);
  assert.deepEqual(t.readValues("out"), [2]);
});
