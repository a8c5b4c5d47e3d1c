/**
 * More input after the end of input (issue 13, item 2): a second bounded file, a live run after
 * `--until-end`, or `TestDriver.send` after `end()` continue the pipeline's state — the watermark
 * restarts from the event times seen instead of staying at +infinity, and the windows the end closed
 * stay closed (docs/semantics.md#bounded-input).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { pipeline, schema, TestDriver, windows, type PipelineDefinition } from "../../src/index.js";
import type { TaskState } from "../../src/runtime/task.js";

const Ev = schema.object({ user: schema.int(), at: schema.timestamp() });
const ev = (user: number, hms: string) => ({ user, at: `2021-11-30 ${hms}` });

/** Per user: a running count with a crossing rule (>= 3), tumbling 1-minute counts (final) and sessions (10 s gap). */
function counts(): PipelineDefinition {
  return pipeline("reopen", (p) => {
    const events = p.source("in", { schema: Ev, eventTime: (e) => e.at });
    events
      .keyBy((e) => e.user)
      .count()
      .when((n) => n >= 3)
      .map(({ key, value }) => ({ user: key, n: value }))
      .to("busy");
    events
      .keyBy((e) => e.user)
      .window(windows.tumbling("1m"))
      .count()
      .when(() => true, { emit: "final" })
      .map(({ key, window, value }) => ({ user: key, start: window.start, n: value }))
      .to("per_minute");
    events
      .keyBy((e) => e.user)
      .window(windows.session("10s"))
      .count()
      .when(() => true, { emit: "final" })
      .map(({ key, window, value }) => ({ user: key, start: window.start, end: window.end, n: value }))
      .to("sessions");
  });
}

test("after end(), more input is processed: new windows open and fire, running counts go on", () => {
  const t = new TestDriver(counts());
  t.send("in", ev(1, "00:00:10")).send("in", ev(1, "00:00:20")).end();
  assert.deepEqual(t.readValues("per_minute"), [{ user: 1, start: "2021-11-30T00:00:00.000Z", n: 2 }]);
  assert.deepEqual(t.readValues("busy"), []);
  assert.equal(t.readValues("sessions").length, 1);

  // The second input starts a minute later: nothing in it is late.
  t.send("in", ev(1, "00:01:10"));
  assert.equal(t.watermark(), Date.UTC(2021, 10, 30, 0, 1, 5), "W = max event time - 5 s, not +infinity");
  assert.deepEqual(t.readValues("busy"), [{ user: 1, n: 3 }], "the running count went on from 2");
  t.send("in", ev(1, "00:01:30")).send("in", ev(1, "00:02:30"));
  assert.deepEqual(
    t.readValues("per_minute"),
    [{ user: 1, start: "2021-11-30T00:01:00.000Z", n: 2 }],
    "the window of the second input fires by watermark",
  );
  t.end();
  assert.deepEqual(t.readValues("per_minute"), [{ user: 1, start: "2021-11-30T00:02:00.000Z", n: 1 }]);
  assert.deepEqual(t.readValues("busy"), [], "a crossing rule fires once per key, across inputs");
  assert.deepEqual(t.lateRecords(), []);
  assert.deepEqual(t.deadLetters(), []);
});

test("after end(), an event for a window the end closed is late, with the reason", () => {
  const t = new TestDriver(counts());
  t.send("in", ev(1, "00:00:10")).end();
  t.readValues("per_minute");
  t.readValues("sessions");
  // 00:00:12 is within the 5 s bound of the data (W = 00:00:05) but its window fired at the end.
  t.send("in", ev(1, "00:00:12"));
  const late = t.lateRecords();
  assert.equal(late.length, 2, "late for the tumbling window and for the session");
  for (const r of late) {
    assert.equal(r.raw, JSON.stringify(ev(1, "00:00:12")));
    assert.equal(r.offset, 1);
  }
  assert.equal(
    late[0].error,
    "late: event time 2021-11-30T00:00:12.000Z falls in window [2021-11-30T00:00:00.000Z, 2021-11-30T00:01:00.000Z) which was closed when an earlier input ended",
  );
  assert.equal(
    late[1].error,
    "late: event time 2021-11-30T00:00:12.000Z is before 2021-11-30T00:00:20.000Z, where the end of an earlier input closed every session",
  );
  t.end();
  assert.deepEqual(t.readValues("per_minute"), [], "the closed window did not fire again");
  assert.deepEqual(t.readValues("sessions"), []);
  assert.deepEqual(
    t.readValues("busy"),
    [],
    "the late event still counts in the running (unwindowed) count: 2 < 3",
  );
});

test("advanceWatermark after end() reopens too", () => {
  const t = new TestDriver(counts());
  t.send("in", ev(1, "00:00:10")).end();
  t.advanceWatermark("2021-11-30T00:05:00Z");
  assert.equal(t.watermark(), Date.parse("2021-11-30T00:05:00Z"));
  t.send("in", ev(2, "00:05:30")).end();
  assert.deepEqual(t.readValues("per_minute").at(-1), { user: 2, start: "2021-11-30T00:05:00.000Z", n: 1 });
});

test("a snapshot taken after end() restores the ended state: the restart continues as the run would have", () => {
  const first = [ev(1, "00:00:10"), ev(2, "00:00:40"), ev(1, "00:00:50")];
  const second = [ev(1, "00:00:58"), ev(1, "00:01:20"), ev(2, "00:01:21"), ev(2, "00:03:00")];

  const straight = new TestDriver(counts());
  straight.sendAll("in", first).end().sendAll("in", second).end();

  const restarted = new TestDriver(counts());
  restarted.sendAll("in", first).end();
  const state = restarted.snapshot();
  assert.equal(state.ended, true);
  restarted.restart(state).sendAll("in", second).end();

  for (const topic of ["busy", "per_minute", "sessions"])
    assert.deepEqual(restarted.allValues(topic), straight.allValues(topic), topic);
  assert.deepEqual(restarted.lateRecords(), straight.lateRecords());
  assert.equal(straight.lateRecords().length, 2, "00:00:58 is late for the minute and for its session");
  assert.ok(straight.allValues("per_minute").length >= 4);
});

test("a checkpoint written before `ended` existed (sources at +infinity) is restored as ended", () => {
  const t = new TestDriver(counts());
  t.send("in", ev(1, "00:00:10")).end();
  const legacy: TaskState = t.snapshot();
  delete legacy.ended;
  assert.ok(Object.values(legacy.sources).every((s) => s.watermark === 1e308));
  t.restart(legacy).send("in", ev(1, "00:02:00"));
  assert.equal(t.watermark(), Date.UTC(2021, 10, 30, 0, 1, 55));
  assert.deepEqual(t.lateRecords(), []);
});

test("an interval join goes on after end(): new pairs join, and what the end emitted is not emitted again", () => {
  const L = schema.object({ t: schema.timestamp(), id: schema.int() });
  const R = schema.object({ t: schema.timestamp(), v: schema.int() });
  const def = pipeline("j", (p) => {
    const left = p.source("l", { schema: L, eventTime: (e) => e.t, maxOutOfOrderness: "0s" });
    const right = p.source("r", { schema: R, eventTime: (e) => e.t, maxOutOfOrderness: "0s" });
    left
      .joinNearest(right, { within: "1m", unmatched: "keep" })
      .map(({ left, right }) => ({ id: left.id, v: right?.v ?? null }))
      .to("out");
  });
  const t = new TestDriver(def);
  t.send("l", { t: "2023-03-06T00:00:00Z", id: 1 }).send("r", { t: "2023-03-06T00:00:10Z", v: 10 }).end();
  assert.deepEqual(t.readValues("out"), [{ id: 1, v: 10 }]);
  t.send("r", { t: "2023-03-06T01:00:05Z", v: 20 });
  t.send("l", { t: "2023-03-06T01:00:00Z", id: 2 });
  t.send("r", { t: "2023-03-06T02:00:00Z", v: 30 });
  t.send("l", { t: "2023-03-06T02:00:00Z", id: 3 });
  assert.deepEqual(t.readValues("out"), [{ id: 2, v: 20 }], "joined once both watermarks passed it");
  t.end();
  assert.deepEqual(t.readValues("out"), [{ id: 3, v: 30 }]);
  assert.deepEqual(t.lateRecords(), []);
});
