/**
 * The engine against a reference model: a plain loop that applies DESIGN.md §4 literally, on
 * randomized NoBroker inputs (out of order, late, malformed), for every emit mode.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { TestDriver, type EmitMode } from "../../src/index.js";
import { nobroker } from "../../examples/nobroker/pipeline.js";

const T0 = Date.UTC(2021, 10, 30, 0, 0, 0);
const MINUTE = 60_000;
const BOUND = 5_000;
const thresholds = { paidThreshold: 3, propertyThreshold: 2, brokerThreshold: 2 };

interface Ev {
  user: number;
  property: number;
  t: number;
  kind: string;
  malformed: boolean;
}

function line(e: Ev): string {
  if (e.malformed)
    return `{"user_id":"${e.user}","property_id":${e.property},"date":"x","event":"${e.kind}"}`;
  const d = new Date(e.t).toISOString().replace("T", " ").slice(0, 19);
  return JSON.stringify({ user_id: e.user, property_id: e.property, date: d, event: e.kind });
}

/** The obviously-correct model: one loop, no cleverness. */
function model(events: Ev[], emit: EmitMode) {
  const out = {
    paid_user: [] as unknown[],
    property_status: [] as unknown[],
    possible_broker: [] as unknown[],
    dlq: 0,
    late: [] as number[],
  };
  const userCount = new Map<number, number>();
  const propCount = new Map<number, number>();
  const win = new Map<string, { user: number; start: number; n: number; fired: boolean }>(); // insertion order = first seen
  const paidFired = new Set<number>();
  const propFired = new Set<number>();
  let W = -Infinity;
  let maxT = -Infinity;
  const fire = () => {
    // Windows with end <= W close in order of end, keys in first-seen order.
    const due = [...win.entries()]
      .filter(([, w]) => w.start + MINUTE <= W)
      .sort((a, b) => a[1].start - b[1].start);
    for (const [k, w] of due) {
      if (emit === "final" && w.n > thresholds.brokerThreshold)
        out.possible_broker.push(broker(w.user, w.start, w.n));
      win.delete(k);
    }
  };
  const broker = (user: number, start: number, n: number) => ({
    window_start: new Date(start).toISOString(),
    window_end: new Date(start + MINUTE).toISOString(),
    user_id: user,
    threat_user_interactions: n,
  });
  const running = emit === "changes" ? "changes" : "crossing";
  events.forEach((e, offset) => {
    if (e.malformed) {
      out.dlq++;
      return;
    }
    if (e.kind === "Interaction") {
      const u = (userCount.get(e.user) ?? 0) + 1;
      userCount.set(e.user, u);
      if (u >= thresholds.paidThreshold && (running === "changes" || !paidFired.has(e.user))) {
        paidFired.add(e.user);
        out.paid_user.push({ user: e.user, interactions_count: u });
      }
      const p = (propCount.get(e.property) ?? 0) + 1;
      propCount.set(e.property, p);
      if (p > thresholds.propertyThreshold && (running === "changes" || !propFired.has(e.property))) {
        propFired.add(e.property);
        out.property_status.push({ property: e.property, property_interactions_count: p });
      }
      const start = Math.floor(e.t / MINUTE) * MINUTE;
      if (start + MINUTE <= W) {
        out.late.push(offset);
      } else {
        const k = `${start}/${e.user}`;
        const w = win.get(k) ?? { user: e.user, start, n: 0, fired: false };
        win.set(k, w);
        w.n++;
        if (w.n > thresholds.brokerThreshold) {
          if (emit === "changes" || (emit === "crossing" && !w.fired))
            out.possible_broker.push(broker(e.user, start, w.n));
          w.fired = true;
        }
      }
    }
    maxT = Math.max(maxT, e.t);
    W = Math.max(W, maxT - BOUND);
    fire();
  });
  W = Infinity;
  fire();
  return out;
}

const arbEvent = (i: number): fc.Arbitrary<Ev> =>
  fc.record({
    user: fc.integer({ min: 1, max: 4 }),
    property: fc.integer({ min: 1, max: 3 }),
    // Mostly moving forward ~1 s per event, sometimes back within or beyond the bound.
    t: fc.oneof(
      { weight: 8, arbitrary: fc.integer({ min: 0, max: 2_000 }).map((j) => T0 + i * 1_000 + j) },
      { weight: 2, arbitrary: fc.integer({ min: 0, max: 8_000 }).map((j) => T0 + i * 1_000 - j) },
      { weight: 1, arbitrary: fc.integer({ min: 30_000, max: 120_000 }).map((j) => T0 + i * 1_000 - j) },
    ),
    kind: fc.constantFrom("Interaction", "Interaction", "Interaction", "View"),
    malformed: fc.constant(false), // malformed lines are chosen below
  });

const arbEvents = fc
  .integer({ min: 1, max: 200 })
  .chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => arbEvent(i))))
  .chain((evs) =>
    fc
      .array(fc.nat(evs.length), { maxLength: 5 })
      .map((bad) => evs.map((e, i) => (bad.includes(i) ? { ...e, malformed: true } : e))),
  );

for (const emit of ["crossing", "changes", "final"] as const) {
  test(`engine equals the reference model on random inputs (emit ${emit})`, () => {
    fc.assert(
      fc.property(arbEvents, (events) => {
        const expected = model(events, emit);
        const t = new TestDriver(nobroker({ ...thresholds, emit }));
        t.sendAll("events", events.map(line)).end();
        assert.deepEqual(t.readValues("paid_user"), expected.paid_user);
        assert.deepEqual(t.readValues("property_status"), expected.property_status);
        assert.deepEqual(t.readValues("possible_broker"), expected.possible_broker);
        assert.equal(t.deadLetters().length, expected.dlq);
        assert.deepEqual(
          t.lateRecords().map((r) => r.offset),
          expected.late,
        );
      }),
      { numRuns: 150 },
    );
  });
}

test("restoring a snapshot mid-stream continues exactly as an uninterrupted run", () => {
  fc.assert(
    fc.property(arbEvents, fc.nat(), (events, cut) => {
      const lines = events.map(line);
      const at = cut % (lines.length + 1);
      const whole = new TestDriver(nobroker(thresholds)).sendAll("events", lines).end();
      const split = new TestDriver(nobroker(thresholds)).sendAll("events", lines.slice(0, at));
      split.restart(split.snapshot()).sendAll("events", lines.slice(at)).end();
      for (const topic of [
        "paid_user",
        "property_status",
        "possible_broker",
        "nobroker.late",
        "nobroker.dlq",
      ]) {
        assert.deepEqual(split.allValues(topic), whole.allValues(topic), topic);
      }
    }),
    { numRuns: 100 },
  );
});
