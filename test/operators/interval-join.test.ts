/**
 * The event-time interval join (src/operators/interval-join.ts, docs/semantics.md#joins): pairing,
 * ties, bounds, unmatched records, watermarks of two inputs, late records, state cleanup,
 * checkpoints, and independence from how the two inputs interleave.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  describeGraph,
  formatGraph,
  pipeline,
  schema,
  TestDriver,
  windows,
  type PipelineDefinition,
} from "../../src/index.js";
import { decodeJsonValue as decodeValue, encodeJsonValue as encodeValue } from "../../src/util/json-value.js";

const L = schema.object({ t: schema.timestamp(), id: schema.int() });
const R = schema.object({ t: schema.timestamp(), v: schema.int() });

const T0 = Date.UTC(2023, 2, 6, 0, 0, 0);
const MIN = 60_000;
const at = (minutes: number) => new Date(T0 + minutes * MIN).toISOString();
const min = (iso: string) => (Date.parse(iso) - T0) / MIN;

interface JoinOpts {
  within?: string;
  before?: string;
  after?: string;
  pick?: "nearest" | "all";
  unmatched?: "drop" | "keep";
  ooo?: string;
  keyed?: boolean;
}

/** left (topic "l") joined with right (topic "r"); output {l, id, r, v} in minutes from T0. */
function joinPipeline(o: JoinOpts = {}): PipelineDefinition {
  return pipeline("j", (p) => {
    const ooo = o.ooo ?? "0s";
    const left = p.source("l", { schema: L, eventTime: (e) => e.t, maxOutOfOrderness: ooo });
    const right = p.source("r", { schema: R, eventTime: (e) => e.t, maxOutOfOrderness: ooo });
    const on = o.keyed
      ? { left: (e: { id: number }) => e.id, right: (w: { v: number }) => w.v % 10 }
      : undefined;
    const joined =
      o.within !== undefined
        ? left.joinNearest(right, { within: o.within, unmatched: o.unmatched ?? "drop", on, name: "join" })
        : left.intervalJoin(right, {
            before: o.before,
            after: o.after,
            pick: o.pick,
            unmatched: o.unmatched ?? "drop",
            on,
            name: "join",
          });
    joined
      .map(({ left: l, right: r }, ctx) => ({
        // getTime() fails on anything but a Date: a checkpoint must give Dates back.
        l: (l.t.getTime() - T0) / MIN,
        id: l.id,
        r: r === null ? null : (r.t.getTime() - T0) / MIN,
        v: r === null ? null : r.v,
        at: (ctx.timestamp - T0) / MIN,
      }))
      .to("out");
  });
}

const lrec = (m: number, id = 1) => ({ t: at(m), id });
const rrec = (m: number, v = 0) => ({ t: at(m), v });
const pairs = (t: TestDriver) => t.readValues("out").map((o) => [o.l, o.r]);
const joinMetrics = (t: TestDriver) => t.metrics().find((m) => m.id === "join")!;

test("each left record pairs with the nearest right record; the output has the left record's event time", () => {
  const t = new TestDriver(joinPipeline({ within: "30m" }));
  t.send("r", rrec(10, 1)).send("r", rrec(40, 2)).send("r", rrec(70, 3));
  t.send("l", lrec(0)).send("l", lrec(22)).send("l", lrec(31)).send("l", lrec(68));
  t.end();
  assert.deepEqual(t.readValues("out"), [
    { l: 0, id: 1, r: 10, v: 1, at: 0 },
    { l: 22, id: 1, r: 10, v: 1, at: 22 },
    { l: 31, id: 1, r: 40, v: 2, at: 31 },
    { l: 68, id: 1, r: 70, v: 3, at: 68 },
  ]);
  assert.deepEqual(t.deadLetters(), []);
  assert.deepEqual(t.lateRecords(), []);
});

test("ties: equally near before and after -> the earlier; two at the same time -> the first to arrive", () => {
  const t = new TestDriver(joinPipeline({ within: "30m" }));
  t.send("r", rrec(40, 9)).send("r", rrec(10, 1)).send("r", rrec(10, 2));
  t.send("l", lrec(25)); // 15 min from 10 and from 40
  t.send("l", lrec(10)); // exactly at 10: v 1 arrived first
  t.end();
  assert.deepEqual(
    t.readValues("out").map((o) => [o.l, o.r, o.v]),
    [
      [10, 10, 1],
      [25, 10, 1],
    ],
  );
});

test("bounds are inclusive at both ends, exclusive one millisecond beyond", () => {
  const t = new TestDriver(joinPipeline({ within: "30m" }));
  const ms = (m: number, extra: number) => new Date(T0 + m * MIN + extra).toISOString();
  t.send("r", { t: ms(100, 0), v: 1 });
  t.send("l", { t: ms(70, 0), id: 1 }); // r exactly 30 min after
  t.send("l", { t: ms(70, -1), id: 2 }); // 30 min + 1 ms before r
  t.send("l", { t: ms(130, 0), id: 3 }); // r exactly 30 min before
  t.send("l", { t: ms(130, 1), id: 4 }); // 30 min + 1 ms after r
  t.end();
  assert.deepEqual(
    t.readValues("out").map((o) => [o.id, o.v]),
    [
      [1, 1],
      [3, 1],
    ],
  );
  assert.equal(joinMetrics(t).unmatched, 2);
});

test("pick all (Flink's interval join): every right record in [t - before, t + after], in time order", () => {
  const t = new TestDriver(joinPipeline({ before: "10m", after: "5m", pick: "all" }));
  for (const m of [49, 50, 52, 55, 60, 65, 66]) t.send("r", rrec(m, m));
  t.send("l", lrec(60));
  t.end();
  assert.deepEqual(pairs(t), [
    [60, 50],
    [60, 52],
    [60, 55],
    [60, 60],
    [60, 65],
  ]);
});

test("unmatched left records: dropped and counted, or kept with right = null", () => {
  const drop = new TestDriver(joinPipeline({ within: "30m" }));
  drop.send("r", rrec(0)).send("l", lrec(100)).send("l", lrec(20)).end();
  assert.deepEqual(pairs(drop), [[20, 0]]);
  assert.equal(joinMetrics(drop).unmatched, 1);

  const keep = new TestDriver(joinPipeline({ within: "30m", unmatched: "keep" }));
  keep.send("r", rrec(0)).send("l", lrec(100)).send("l", lrec(20)).end();
  assert.deepEqual(pairs(keep), [
    [20, 0],
    [100, null],
  ]);
  assert.equal(joinMetrics(keep).unmatched, 1);
});

test("a left record is emitted once min(left watermark, right watermark) passes its time + after", () => {
  const t = new TestDriver(joinPipeline({ within: "30m" }));
  t.send("l", lrec(0));
  t.send("r", rrec(5));
  t.send("l", lrec(100)); // left watermark 100, right 5: join watermark 5
  assert.deepEqual(pairs(t), []);
  t.send("r", rrec(30)); // join watermark 30 = 0 + 30: not yet past
  assert.deepEqual(pairs(t), []);
  t.advanceWatermark(new Date(T0 + 30 * MIN + 1), "r"); // 30 min + 1 ms: past
  assert.deepEqual(pairs(t), [[0, 5]]);
  t.end(); // left 100 has no right record within 30 min: dropped and counted
  assert.deepEqual(pairs(t), []);
  assert.equal(joinMetrics(t).unmatched, 1);
});

test("late records go to <pipeline>.late with a reason and change nothing", () => {
  const t = new TestDriver(joinPipeline({ within: "30m" }));
  t.send("l", lrec(100)).send("r", rrec(100)); // join watermark 100
  t.send("l", lrec(70)); // 70 + 30 = 100: not late (behind by exactly the bound)
  t.send("l", lrec(69)); // 69 + 30 < 100: late
  t.send("r", rrec(100)); // at the watermark: not late
  t.send("r", rrec(99)); // behind the join watermark: late
  t.end();
  const late = t.lateRecords();
  assert.equal(late.length, 2);
  assert.equal(late[0].topic, "l");
  assert.match(
    late[0].error,
    /^late: event time 2023-03-06T01:09:00\.000Z is more than 30m behind the watermark 2023-03-06T01:40:00\.000Z of join join/,
  );
  assert.equal(JSON.parse(late[0].raw).t, at(69));
  assert.equal(late[1].topic, "r");
  assert.match(
    late[1].error,
    /^late: event time 2023-03-06T01:39:00\.000Z is behind the watermark 2023-03-06T01:40:00\.000Z of join join/,
  );
  assert.deepEqual(pairs(t), [
    [70, 100],
    [100, 100],
  ]);
  assert.equal(joinMetrics(t).lateRecords, 2);
  // describe lists the late topic
  assert.ok(describeGraph(t.definition.graph).outputs.includes("j.late"));
});

test("state is dropped by the watermark: left records once emitted, right records once no left record can reach them", () => {
  const t = new TestDriver(joinPipeline({ before: "10m", after: "20m", pick: "all" }));
  t.send("r", rrec(0)).send("l", lrec(0));
  assert.equal(joinMetrics(t).stateSize, 2);
  t.send("r", rrec(20)).send("l", lrec(20)); // W = 20: left 0 not due (needs W > 20)
  assert.equal(joinMetrics(t).stateSize, 4);
  t.send("r", rrec(21)).send("l", lrec(21)); // W = 21: left 0 emitted
  assert.deepEqual(pairs(t), [
    [0, 0],
    [0, 20],
  ]);
  assert.equal(joinMetrics(t).stateSize, 5); // left 20, 21; right 0, 20, 21
  t.send("r", rrec(30)).send("l", lrec(30)); // right 0 stays while W <= 0 + 10 + 20
  assert.equal(joinMetrics(t).stateSize, 7);
  t.send("r", rrec(31)).send("l", lrec(31)); // W = 31 > 0 + 10 + 20: right 0 dropped
  assert.equal(joinMetrics(t).stateSize, 8); // left 20, 21, 30, 31; right 20, 21, 30, 31
  t.end();
  assert.equal(joinMetrics(t).stateSize, 0);
});

test("snapshot and restore at any point give the same output as an uninterrupted run", () => {
  const def = joinPipeline({ within: "30m", ooo: "5m" });
  const input: Array<[string, object]> = [];
  for (let m = 0; m < 300; m += 7) input.push(["l", lrec(m, m % 5)]);
  for (let m = 3; m < 300; m += 30) input.push(["r", rrec(m, m)]);
  // a fixed interleaving: by time, the right input 20 minutes ahead
  const key = ([topic, v]: [string, object]) => min((v as { t: string }).t) - (topic === "r" ? 20 : 0);
  input.sort((a, b) => key(a) - key(b));
  const whole = new TestDriver(def);
  for (const [topic, v] of input) whole.send(topic, v);
  whole.end();
  const expected = whole.allValues("out");
  assert.ok(expected.length > 30);
  for (const cut of [1, 5, 17, 30, 41, input.length - 1]) {
    const t = new TestDriver(def);
    input.slice(0, cut).forEach(([topic, v]) => t.send(topic, v));
    const state = t.snapshot();
    t.restart(state);
    input.slice(cut).forEach(([topic, v]) => t.send(topic, v));
    t.end();
    assert.deepEqual(t.allValues("out"), expected, `restored after ${cut} records`);
    assert.deepEqual(t.deadLetters(), []);
  }
});

test("checkpoint values keep Dates, bigints, non-finite numbers and tag-like keys", () => {
  const v = { a: new Date(5), b: [1, new Date(7), null], c: 10n, d: NaN, e: { $date: 3 }, f: "x" };
  const back = decodeValue(JSON.parse(JSON.stringify(encodeValue(v)))) as typeof v;
  assert.deepEqual(back, v);
  assert.ok(back.a instanceof Date);
});

test("a keyed join (on) pairs only records with equal keys", () => {
  const t = new TestDriver(joinPipeline({ within: "30m", keyed: true }));
  t.send("r", rrec(10, 1)).send("r", rrec(12, 2)).send("r", rrec(0, 12));
  t.send("l", lrec(11, 1)).send("l", lrec(11, 2)).send("l", lrec(11, 3));
  t.end();
  // key 1: v 1 at 10; key 2: v 2 at 12 (1 min away) rather than v 12 at 0; key 3: none
  assert.deepEqual(
    t.readValues("out").map((o) => [o.id, o.r, o.v]),
    [
      [1, 10, 1],
      [2, 12, 2],
    ],
  );
  assert.equal(joinMetrics(t).unmatched, 1);
});

test("a step after the join that throws makes a dead letter naming the left line; the run goes on", () => {
  const def = pipeline("j", (p) => {
    const left = p.source("l", { schema: L, eventTime: (e) => e.t, maxOutOfOrderness: 0 });
    const right = p.source("r", { schema: R, eventTime: (e) => e.t, maxOutOfOrderness: 0 });
    left
      .joinNearest(right, { within: "30m" })
      .map(({ left: l }) => {
        if (l.id === 2) throw new Error("no twos");
        return { id: l.id };
      })
      .to("out");
  });
  const t = new TestDriver(def);
  t.send("r", rrec(0)).send("l", lrec(1, 1)).send("l", lrec(2, 2)).send("l", lrec(3, 3)).end();
  assert.deepEqual(t.readValues("out"), [{ id: 1 }, { id: 3 }]);
  const dl = t.deadLetters();
  assert.equal(dl.length, 1);
  assert.match(dl[0].error, /no twos/);
  assert.equal(dl[0].topic, "l");
  assert.equal(JSON.parse(dl[0].raw).id, 2);
});

test("a window after the join follows the join's watermark: nothing the join emits is late there", () => {
  const def = pipeline("jw", (p) => {
    const left = p.source("l", { schema: L, eventTime: (e) => e.t, maxOutOfOrderness: 0 });
    const right = p.source("r", { schema: R, eventTime: (e) => e.t, maxOutOfOrderness: 0 });
    left
      .joinNearest(right, { within: "30m" })
      .keyBy(() => "all")
      .window(windows.tumbling("1h"))
      .count()
      .toStream({ emit: "final" })
      .map(({ window, value }) => ({ start: window.start, n: value }))
      .to("hourly");
  });
  const t = new TestDriver(def);
  for (let m = 0; m < 240; m += 5) t.send("l", lrec(m)).send("r", rrec(m));
  assert.ok(t.readValues("hourly").length >= 2); // windows fire while the input flows
  t.end();
  assert.deepEqual(t.lateRecords(), []);
  assert.deepEqual(
    t.allValues("hourly").map((r) => r.n),
    [12, 12, 12, 12],
  );
});

test("describe shows both inputs of a join", () => {
  const text = formatGraph(describeGraph(joinPipeline({ within: "30m" }).graph));
  assert.match(
    text,
    /join +interval join: the nearest source:r record within 30m of event time; unmatched dropped <- source:l, source:r/,
  );
  const steps = describeGraph(joinPipeline({ within: "30m" }).graph).steps;
  assert.deepEqual(
    steps.filter((s) => s.kind === "join").map((s) => [s.input, s.other]),
    [["source:l", "source:r"]],
  );
});

test("a join's options are checked when the pipeline is built", () => {
  assert.throws(
    () =>
      pipeline("x", (p) => {
        const a = p.source("a");
        a.joinNearest(a, { within: "-5m" });
      }),
    /join within: invalid duration/,
  );
  assert.throws(
    () =>
      pipeline("x", (p) => {
        const a = p.source("a");
        a.intervalJoin(a, { pick: "first" as any });
      }),
    /pick must be "all" or "nearest"/,
  );
  let foreign: any;
  pipeline("y", (q) => {
    foreign = q.source("b");
  });
  assert.throws(
    () =>
      pipeline("x", (p) => {
        p.source("a").joinNearest(foreign, { within: "1m" });
      }),
    /same pipeline/,
  );
});

// ---------------------------------------------------------------------------------------------
// Interleaving independence (property): the same two streams, merged in any order that keeps each
// stream's own order, give the same output when nothing is late. Each stream keeps within its own
// out-of-orderness bound, so no record is ever behind its own source's watermark.

const OOO_MIN = 5;

/** Event times (minutes) of a stream that never goes more than OOO_MIN behind its maximum. */
const streamArb = (maxLen: number) =>
  fc.array(fc.integer({ min: -OOO_MIN, max: 40 }), { maxLength: maxLen }).map((deltas) => {
    const out: number[] = [];
    let max = 0;
    for (const d of deltas) {
      const t = Math.max(0, max + d);
      out.push(t);
      max = Math.max(max, t);
    }
    return out;
  });

/** The straightforward reference: for each left record, scan every right record. */
function reference(lefts: number[], rights: number[], within: number): Array<[number, number | null]> {
  const order = lefts.map((t, i) => [t, i]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const out: Array<[number, number | null]> = [];
  for (const [t] of order) {
    let best = -1;
    for (let j = 0; j < rights.length; j++) {
      const d = Math.abs(rights[j] - t);
      if (d > within) continue;
      if (best === -1) best = j;
      else {
        const bd = Math.abs(rights[best] - t);
        if (d < bd || (d === bd && rights[j] < rights[best])) best = j;
      }
    }
    out.push([t, best === -1 ? null : rights[best]]);
  }
  return out;
}

test("property: any interleaving of the two inputs gives the same output, equal to a reference join", () => {
  const def = joinPipeline({ within: "15m", ooo: `${OOO_MIN}m`, unmatched: "keep" });
  fc.assert(
    fc.property(
      streamArb(40),
      streamArb(25),
      fc.array(fc.boolean(), { minLength: 70, maxLength: 70 }),
      fc.array(fc.boolean(), { minLength: 70, maxLength: 70 }),
      (lefts, rights, mergeA, mergeB) => {
        const run = (choice: boolean[]) => {
          const t = new TestDriver(def);
          let i = 0;
          let j = 0;
          let k = 0;
          while (i < lefts.length || j < rights.length) {
            const takeLeft = j >= rights.length || (i < lefts.length && choice[k++ % choice.length]);
            if (takeLeft) t.send("l", { t: at(lefts[i]), id: i++ });
            else t.send("r", { t: at(rights[j]), v: j++ });
          }
          t.end();
          assert.deepEqual(t.lateRecords(), []);
          return t.allValues("out").map((o) => [o.l, o.r]);
        };
        const a = run(mergeA);
        assert.deepEqual(run(mergeB), a);
        assert.deepEqual(a, reference(lefts, rights, 15));
      },
    ),
    { numRuns: 300 },
  );
});
