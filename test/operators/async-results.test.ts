/**
 * A user function that returns a Promise (or another thenable) without being an `async function` —
 * plain JavaScript, or types bypassed — fails its record: a dead letter naming the step, never a
 * silent `{}`, a truthy filter, an "[object Promise]" key or a vanished record.
 * (src/operators/sync-only.ts; the build-time and type-level refusals: test/api/async-steps.test.ts.)
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { pipeline, schema, TestDriver, windows, type PipelineContext, type Stream } from "../../src/index.js";

const Ev = schema.object({ id: schema.int(), date: schema.timestamp(), name: schema.string() });
type Ev = { id: number; date: Date; name: string };

/** A Promise typed `any`, as from plain JavaScript: no compile error. */
const later = (value: unknown): any => Promise.resolve(value);

const SUFFIX =
  "returned a Promise; async steps are not supported yet (async enrichment is planned): return the value itself, not a Promise";

const lines = [
  { id: 1, date: "2021-11-30 00:00:00", name: "a" },
  { id: 2, date: "2021-11-30 00:00:01", name: "b" },
];

/** Run `steps` over the two lines; the outputs of "out" and the dead letters' reasons. */
function run(steps: (events: Stream<Ev>, p: PipelineContext) => void): { out: unknown[]; errors: string[] } {
  const d = pipeline("p", (p) => steps(p.source("in", { schema: Ev, eventTime: (e) => e.date }), p));
  const t = new TestDriver(d).sendAll("in", lines).end();
  const dl = t.deadLetters();
  // A record's dead letter keeps its input line and position, as any other (a window's firing has offset -1).
  const ofRecords = dl.filter((x) => x.offset >= 0);
  assert.deepEqual(
    ofRecords.map((x) => JSON.parse(x.raw)),
    ofRecords.map((x) => lines[x.offset]),
  );
  return { out: t.readValues("out"), errors: dl.map((x) => x.error) };
}

function assertDeadLetters(result: { out: unknown[]; errors: string[] }, reason: string): void {
  assert.deepEqual(result.out, []);
  assert.deepEqual(result.errors, [reason, reason]);
}

test("a map returning a Promise makes each record a dead letter, not {}", () => {
  assertDeadLetters(
    run((s) => s.map((e) => later({ ...e, x: 1 })).to("out")),
    `step map-1 failed: the map function ${SUFFIX}`,
  );
  // Other thenables too.
  assertDeadLetters(
    run((s) => s.map((e) => ({ then: (ok: (v: unknown) => void) => ok(e) })).to("out")),
    `step map-1 failed: the map function ${SUFFIX}`,
  );
  // Values with a `then` that is not a function are values.
  assert.deepEqual(run((s) => s.map((e) => ({ then: e.name })).to("out")).out, [
    { then: "a" },
    { then: "b" },
  ]);
});

test("a filter returning a Promise is a dead letter, not a pass", () => {
  assertDeadLetters(
    run((s) => s.filter((e) => later(e.id > 5)).to("out")),
    `step filter-1 failed: the filter predicate ${SUFFIX}`,
  );
});

test("a flatMap returning a Promise, an async iterable or no iterable is a dead letter, not nothing", () => {
  assertDeadLetters(
    run((s) => s.flatMap((e) => later([e])).to("out")),
    `step flatMap-1 failed: the flatMap function ${SUFFIX}`,
  );
  const asyncGen = async function* (e: Ev) {
    yield e;
  };
  assertDeadLetters(
    run((s) => s.flatMap((e) => asyncGen(e) as any).to("out")),
    "step flatMap-1 failed: the flatMap function returned an async iterable; async steps are not supported yet " +
      "(async enrichment is planned): return an array or use a generator (function*)",
  );
  assertDeadLetters(
    run((s) => s.flatMap((e) => ({ id: e.id }) as any).to("out")),
    "step flatMap-1 failed: the flatMap function must return an iterable (an array or a generator), got object",
  );
  // An element that is a Promise: the whole record fails before anything went downstream.
  assertDeadLetters(
    run((s) => s.flatMap((e) => [e, later(e)]).to("out")),
    `step flatMap-1 failed: an element of the flatMap function's result ${SUFFIX}`,
  );
  // Iterables still flatten: arrays, generators, sets, strings.
  assert.deepEqual(run((s) => s.flatMap((e) => new Set([e.id, e.id])).to("out")).out, [1, 2]);
  assert.deepEqual(run((s) => s.flatMap((e) => e.name).to("out")).out, ["a", "b"]);
});

test("a key, a when predicate or an aggregate field returning a Promise is a dead letter", () => {
  assertDeadLetters(
    run((s) =>
      s
        .keyBy((e) => later(e.id))
        .count()
        .toStream()
        .to("out"),
    ),
    `step keyBy-1 failed: the keyBy function ${SUFFIX}`,
  );
  assertDeadLetters(
    run((s) => s.to("out", { key: (e) => later(e.id) })),
    `step to:out failed: the key function ${SUFFIX}`,
  );
  assertDeadLetters(
    run((s) => s.toTable("t", { key: (e) => later(e.id) })),
    `step table:t failed: the key function ${SUFFIX}`,
  );
  assertDeadLetters(
    run((s) =>
      s
        .keyBy((e) => e.id)
        .count()
        .when((n) => later(n > 5))
        .to("out"),
    ),
    `step when-1 failed: the when predicate ${SUFFIX}`,
  );
  for (const agg of ["sum", "avg", "min", "max", "distinctCount"] as const) {
    assertDeadLetters(
      run((s) => {
        const keyed = s.keyBy((e) => e.id);
        keyed[agg]((e) => later(e.id))
          .toStream()
          .to("out");
      }),
      `step ${agg}-1 failed: the field function of ${agg} ${SUFFIX}`,
    );
  }
  assertDeadLetters(
    run((s) =>
      s
        .keyBy((e) => e.id)
        .window(windows.tumbling("1m"))
        .sum((e) => later(e.id))
        .toStream()
        .to("out"),
    ),
    `step window-sum-1 failed: the field function of sum ${SUFFIX}`,
  );
});

test("a custom aggregate's init, add or result returning a Promise is a dead letter", () => {
  const keyed = (s: Stream<Ev>) => s.keyBy((e) => e.id);
  assertDeadLetters(
    run((s) =>
      keyed(s)
        .aggregate({ init: () => later(0), add: (a: number) => a + 1 })
        .toStream()
        .to("out"),
    ),
    `step aggregate-1 failed: aggregate's init ${SUFFIX}`,
  );
  assertDeadLetters(
    run((s) =>
      keyed(s)
        .aggregate({ init: () => 0, add: (a) => later(a + 1) })
        .toStream()
        .to("out"),
    ),
    `step aggregate-1 failed: aggregate's add ${SUFFIX}`,
  );
  assertDeadLetters(
    run((s) =>
      keyed(s)
        .aggregate({ init: () => 0, add: (a) => a + 1, result: (a) => later(a) })
        .toStream()
        .to("out"),
    ),
    `step aggregate-1 failed: aggregate's result ${SUFFIX}`,
  );
  // A session window: each record fails, and so does each session when it closes (at the end).
  const sessions = run((s) =>
    keyed(s)
      .window(windows.session("1m"))
      .aggregate({ init: () => 0, add: (a) => a + 1, merge: (a, b) => a + b, result: (a) => later(a) })
      .toStream()
      .to("out"),
  );
  assert.deepEqual(sessions.out, []);
  assert.deepEqual(
    sessions.errors,
    Array(4).fill(`step window-aggregate-1 failed: aggregate's result ${SUFFIX}`),
  );
});

test("a window's result failing when the window fires is a dead letter too, not a crash", () => {
  // The result fails only for the final value: every update passed, the firing fails.
  let firing = false;
  const d = pipeline("p", (p) => {
    p.source("in", { schema: Ev, eventTime: (e) => e.date })
      .keyBy((e) => e.id)
      .window(windows.tumbling("1m"))
      .aggregate({ init: () => 0, add: (a) => a + 1, result: (a) => (firing ? later(a) : a) })
      .toStream({ emit: "final" })
      .to("out");
  });
  const t = new TestDriver(d).sendAll("in", lines);
  assert.deepEqual(t.deadLetters(), []);
  firing = true;
  t.end();
  assert.deepEqual(t.readValues("out"), []);
  assert.deepEqual(
    t.deadLetters().map((x) => [x.error, JSON.parse(x.raw).key]),
    [1, 2].map((key) => [`step window-aggregate-1 failed: aggregate's result ${SUFFIX}`, key]),
  );
});

test("a join key returning a Promise is a dead letter, not an unmatched record", () => {
  assertDeadLetters(
    run((s, p) =>
      s
        .intervalJoin(p.source("other", { schema: Ev }), {
          on: { left: (l) => later(l.id), right: (r) => r.id },
          unmatched: "keep",
        })
        .to("out"),
    ),
    `step join-1 failed: the join's on.left function ${SUFFIX}`,
  );
});

test("an eventTime returning a Promise is a dead letter that says so", () => {
  const d = pipeline("p", (p) => {
    p.source("in", { schema: Ev, eventTime: (e) => later(e.date) }).to("out");
  });
  const t = new TestDriver(d).sendAll("in", lines).end();
  assert.deepEqual(t.readValues("out"), []);
  assert.deepEqual(
    t.deadLetters().map((x) => x.error),
    [1, 2].map(() => `event time: the eventTime function ${SUFFIX}`),
  );
});

test("a rejected Promise from a step does not end the process: its record is a dead letter already", async () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on("unhandledRejection", onUnhandled);
  try {
    const result = run((s) => s.map(() => Promise.reject(new Error("lookup failed")) as any).to("out"));
    assertDeadLetters(result, `step map-1 failed: the map function ${SUFFIX}`);
    // Let the rejections settle: none may go unhandled.
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual(unhandled, []);
  } finally {
    process.off("unhandledRejection", onUnhandled);
  }
});
