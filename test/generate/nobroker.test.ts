import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  NOBROKER_GENERATOR_DEFAULTS,
  createGenerator,
  createNoBrokerGenerator,
  formatEventDate,
  getScenario,
  scenarioNames,
} from "../../src/generate/index.js";
import { BURST_MIN, OUT_OF_ORDER_MAX_MS } from "../../src/generate/nobroker.js";
import { parseEventTime } from "../../src/schema/index.js";
import { WeirError } from "../../src/errors.js";
import { jsonObject } from "../helpers/records.js";

const WINDOW_MS = 60_000;
const BOUND_MS = 5_000; // the NoBroker pipeline's maxOutOfOrderness

interface Event {
  user_id: number;
  property_id: number;
  date: string;
  event: string;
  time: number;
}

/** What the NoBroker pipeline's schema would accept, or null for a dead letter. */
function parse(line: string): Event | null {
  const o = jsonObject(line);
  if (o === null) return null;
  if (!Number.isInteger(o.user_id) || !Number.isInteger(o.property_id)) return null;
  if (typeof o.event !== "string" || typeof o.date !== "string") return null;
  const time = parseEventTime(o.date);
  if (time === undefined) return null;
  return { ...(o as unknown as Event), time };
}

/**
 * Classify lines the way the pipeline would judge them: dead letters, late (window closed under the
 * watermark as it stood before the event), visibly out of order but on time, in order.
 */
function classify(lines: readonly string[]) {
  let malformed = 0;
  let late = 0;
  let outOfOrder = 0;
  let maxSeen = -Infinity;
  const valid: Event[] = [];
  for (const line of lines) {
    const e = parse(line);
    if (e === null) {
      malformed++;
      continue;
    }
    const watermark = maxSeen - BOUND_MS;
    const windowEnd = Math.floor(e.time / WINDOW_MS) * WINDOW_MS + WINDOW_MS;
    if (windowEnd <= watermark) late++;
    else if (e.time < maxSeen) {
      outOfOrder++;
      assert.ok(maxSeen - e.time < BOUND_MS, `out-of-order event ${line} is ${maxSeen - e.time} ms behind`);
    } else valid.push(e);
    if (e.time > maxSeen) maxSeen = e.time;
  }
  return { malformed, late, outOfOrder, inOrder: valid };
}

/** Interactions per (user, 1-minute window) among the lines that are neither dead nor late. */
function perUserWindow(lines: readonly string[]): Map<number, Map<number, number>> {
  const out = new Map<number, Map<number, number>>();
  let maxSeen = -Infinity;
  for (const line of lines) {
    const e = parse(line);
    if (e === null) continue;
    const windowStart = Math.floor(e.time / WINDOW_MS) * WINDOW_MS;
    const late = windowStart + WINDOW_MS <= maxSeen - BOUND_MS;
    if (e.time > maxSeen) maxSeen = e.time;
    if (late || e.event !== "Interaction") continue;
    let m = out.get(e.user_id);
    if (m === undefined) out.set(e.user_id, (m = new Map()));
    m.set(windowStart, (m.get(windowStart) ?? 0) + 1);
  }
  return out;
}

function maxPerWindow(m: Map<number, number> | undefined): number {
  return m === undefined ? 0 : Math.max(...m.values());
}

describe("nobroker generator", () => {
  it("is registered as a scenario", () => {
    assert.ok(scenarioNames().includes("nobroker"));
    const s = getScenario("nobroker")!;
    assert.equal(s.topic, "events");
    assert.equal(s.fileStartTime, Date.UTC(2021, 10, 30));
    assert.equal(
      createGenerator("nobroker", { seed: 3 }).next(),
      createNoBrokerGenerator({ seed: 3 }).next(),
    );
    assert.throws(
      () => createGenerator("nope"),
      (err: unknown) => {
        assert.ok(err instanceof WeirError);
        assert.match(err.message, /unknown scenario "nope"; known scenario.*nobroker/);
        return true;
      },
    );
  });

  it("is deterministic for a seed, and different for another seed", () => {
    const a = createNoBrokerGenerator({ seed: 42 }).take(20_000);
    const b = createNoBrokerGenerator({ seed: 42 }).take(20_000);
    const c = createNoBrokerGenerator({ seed: 43 }).take(20_000);
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
    // Taking in pieces gives the same stream as taking at once.
    const g = createNoBrokerGenerator({ seed: 42 });
    const pieces = [...g.take(7), ...g.take(9_993), ...Array.from({ length: 10_000 }, () => g.next())];
    assert.deepEqual(pieces, a);
  });

  it("writes the seed's line format, dates as YYYY-MM-DD HH:MM:SS UTC from the start time", () => {
    const g = createNoBrokerGenerator({ seed: 1, malformedShare: 0, lateShare: 0, outOfOrderShare: 0 });
    const first = g.next();
    assert.match(
      first,
      /^\{"user_id":\d+,"property_id":\d+,"date":"2021-11-30 00:00:00","event":"[A-Za-z]+"\}$/,
    );
    assert.equal(g.time, NOBROKER_GENERATOR_DEFAULTS.startTime);
    const lines = [first, ...g.take(9_999)];
    for (const line of lines) {
      const e = JSON.parse(line) as Event;
      assert.match(e.date, /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
      assert.deepEqual(Object.keys(e), ["user_id", "property_id", "date", "event"]);
    }
    // 100,000 events per minute: event 9,999 is at 9,999 * 0.6 ms.
    assert.equal(g.time, NOBROKER_GENERATOR_DEFAULTS.startTime + Math.floor((9_999 * 60_000) / 100_000));
    assert.equal(formatEventDate(Date.UTC(2024, 1, 29, 23, 59, 59, 999)), "2024-02-29 23:59:59");

    const start = Date.UTC(2030, 0, 2, 3, 4, 5, 678);
    const h = createNoBrokerGenerator({
      startTime: start,
      eventsPerMinute: 60,
      malformedShare: 0,
      lateShare: 0,
      outOfOrderShare: 0,
    });
    const dates = h.take(3).map((l) => (JSON.parse(l) as Event).date);
    assert.deepEqual(dates, ["2030-01-02 03:04:05", "2030-01-02 03:04:06", "2030-01-02 03:04:07"]);
  });

  it("keys each line by its user_id", () => {
    const g = createNoBrokerGenerator({ seed: 5 });
    assert.equal(g.key, null);
    for (let i = 0; i < 5_000; i++) {
      const line = g.next();
      const m = /"?user_id"?[=:]"?(\d+)/.exec(line);
      if (m !== null) assert.equal(g.key, m[1], line);
    }
  });

  it("produces malformed, late and out-of-order lines in about the configured shares", () => {
    const n = 200_000;
    const g = createNoBrokerGenerator({ seed: 7 });
    const lines = g.take(n);
    const stats = g.stats();
    const seen = classify(lines);
    // Every malformed line is a dead letter for the pipeline, every late one is late, the rest are not.
    assert.equal(seen.malformed, stats.malformed);
    assert.equal(seen.late, stats.late);
    assert.ok(seen.outOfOrder <= stats.outOfOrder);
    assert.ok(
      seen.outOfOrder >= 0.5 * stats.outOfOrder,
      `${seen.outOfOrder} of ${stats.outOfOrder} visibly out of order`,
    );
    const near = (actual: number, share: number, what: string) =>
      assert.ok(
        Math.abs(actual / n - share) <= share * 0.25,
        `${what}: ${actual} of ${n}, expected about ${share * n}`,
      );
    near(stats.malformed, 0.002, "malformed");
    near(stats.late, 0.002, "late");
    near(stats.outOfOrder, 0.02, "out of order");
    assert.equal(stats.events, n);
    // Every kind of malformed line shows up.
    const bad = lines.filter((l) => parse(l) === null);
    assert.ok(
      bad.some((l) => l.startsWith("user_id=")),
      "a non-JSON log line",
    );
    assert.ok(
      bad.some((l) => l.includes('"user_id":"')),
      "a string user_id",
    );
    assert.ok(
      bad.some((l) => /"date":"(\d\d\/|\d{4}-13-)/.test(l)),
      "a bad date",
    );
    assert.ok(
      bad.some((l) => l.startsWith("{") && !l.endsWith("}")),
      "a cut-off line",
    );
  });

  it("honours other shares, including none", () => {
    const g = createNoBrokerGenerator({ seed: 2, malformedShare: 0.05, lateShare: 0, outOfOrderShare: 0.1 });
    const lines = g.take(50_000);
    const seen = classify(lines);
    assert.equal(seen.late, 0);
    assert.ok(Math.abs(seen.malformed / 50_000 - 0.05) < 0.01);
    assert.ok(Math.abs(g.stats().outOfOrder / 50_000 - 0.1) < 0.01);
    const clean = createNoBrokerGenerator({
      seed: 2,
      malformedShare: 0,
      lateShare: 0,
      outOfOrderShare: 0,
    }).take(50_000);
    const c = classify(clean);
    assert.deepEqual([c.malformed, c.late, c.outOfOrder], [0, 0, 0]);
  });

  it("is mostly Interaction, with some View, Search and Contact", () => {
    const g = createNoBrokerGenerator({ seed: 9 });
    g.take(50_000);
    const s = g.stats();
    const valid = s.events - s.malformed;
    assert.ok(s.interactions / valid > 0.8 && s.interactions / valid < 0.9, `${s.interactions} of ${valid}`);
    assert.ok(s.views > s.searches && s.searches > s.contacts && s.contacts > 0);
    assert.equal(s.interactions + s.views + s.searches + s.contacts, valid);
  });

  it("has skewed popularity: a few users and properties take a large share", () => {
    const lines = createNoBrokerGenerator({ seed: 4, brokers: 0 }).take(100_000);
    const users = new Map<number, number>();
    const props = new Map<number, number>();
    for (const l of lines) {
      const e = parse(l);
      if (e === null) continue;
      users.set(e.user_id, (users.get(e.user_id) ?? 0) + 1);
      props.set(e.property_id, (props.get(e.property_id) ?? 0) + 1);
    }
    const topShare = (m: Map<number, number>, k: number) => {
      const v = [...m.values()].sort((a, b) => b - a);
      return v.slice(0, k).reduce((a, b) => a + b, 0) / v.reduce((a, b) => a + b, 0);
    };
    // Uniform would give 1% (10 of 1000 users) and 2% (10 of 500 properties).
    assert.ok(topShare(users, 10) > 0.05, `top 10 users: ${topShare(users, 10)}`);
    assert.ok(topShare(props, 10) > 0.15, `top 10 properties: ${topShare(props, 10)}`);
    assert.ok(users.size > 900 && users.size <= 1000);
    assert.ok([...users.keys()].every((u) => u >= 1 && u <= 1000));
    assert.ok([...props.keys()].every((p) => p >= 1 && p <= 500));
    // The most popular ids are shuffled, not simply 1, 2, 3.
    const top = [...users.entries()].sort((a, b) => b[1] - a[1])[0][0];
    assert.notEqual(top, 1);
  });

  it("has brokers who make more than 10 interactions within one minute", () => {
    // 5 minutes of events at 20,000/min.
    const g = createNoBrokerGenerator({ seed: 11, brokers: 4, eventsPerMinute: 20_000 });
    assert.equal(g.brokerIds.length, 4);
    const counts = perUserWindow(g.take(100_000));
    for (const b of g.brokerIds) {
      const windows = [...(counts.get(b)?.values() ?? [])].filter((c) => c > 10);
      assert.ok(windows.length >= 2, `broker ${b}: ${windows.length} windows with > 10 interactions`);
    }
    assert.ok(g.stats().brokerEvents >= 4 * 2 * BURST_MIN);
  });

  it("bursts every broker early in the first window, so a short live run sees them", () => {
    // Started mid-minute, as a live producer does.
    const start = Date.UTC(2026, 0, 1, 12, 0, 20, 345);
    const g = createNoBrokerGenerator({ seed: 12, brokers: 5, eventsPerMinute: 60_000, startTime: start });
    const lines = g.take(4_000); // 4 s
    const counts = perUserWindow(lines);
    for (const b of g.brokerIds) assert.ok(maxPerWindow(counts.get(b)) > 10, `broker ${b} within 4 s`);
  });

  it("keeps other users at or below 10 interactions a minute when there are enough users", () => {
    const g = createNoBrokerGenerator({ seed: 13, users: 100_000, brokers: 5 });
    assert.match(g.describe(), /other users at most 10 Interactions a minute/);
    const counts = perUserWindow(g.take(300_000)); // 3 minutes at 100,000/min
    const brokers = new Set(g.brokerIds);
    let over = 0;
    for (const [user, m] of counts) if (!brokers.has(user) && maxPerWindow(m) > 10) over++;
    assert.equal(over, 0);
    for (const b of brokers) assert.ok(maxPerWindow(counts.get(b)) > 10);
    const s = g.stats();
    assert.ok(s.interactions / (s.events - s.malformed) > 0.8, "the cap does not change the mix");
  });

  it("with few users at a high rate, many users are busy (no cap possible)", () => {
    const g = createNoBrokerGenerator({ seed: 13 });
    assert.doesNotMatch(g.describe(), /at most/);
  });

  it("shifts out-of-order events by at most 4 s", () => {
    const g = createNoBrokerGenerator({ seed: 14, outOfOrderShare: 0.5, lateShare: 0, malformedShare: 0 });
    for (let i = 0; i < 20_000; i++) {
      const e = parse(g.next())!;
      assert.ok(e.time <= g.time && g.time - e.time <= OUT_OF_ORDER_MAX_MS + 1000);
    }
  });

  it("rejects impossible options with one clear message", () => {
    const bad = (opts: Parameters<typeof createNoBrokerGenerator>[0], pattern: RegExp) =>
      assert.throws(
        () => createNoBrokerGenerator(opts),
        (err: unknown) => {
          assert.ok(err instanceof WeirError && err.code === "USAGE");
          assert.match(err.message, pattern);
          return true;
        },
      );
    bad({ users: 3, brokers: 5 }, /brokers \(5\) cannot exceed users \(3\)/);
    bad({ users: 0 }, /users must be an integer/);
    bad({ eventsPerMinute: 0 }, /eventsPerMinute must be greater than 0/);
    bad({ lateShare: 2 }, /lateShare must be a share/);
    bad({ malformedShare: 0.6, outOfOrderShare: 0.6 }, /must not exceed 1/);
  });

  it("generates quickly", () => {
    const g = createNoBrokerGenerator({ seed: 1 });
    const started = performance.now();
    let chars = 0;
    for (let i = 0; i < 200_000; i++) chars += g.next().length;
    const perSecond = 200_000 / ((performance.now() - started) / 1000);
    assert.ok(chars > 0);
    // A loose floor (shared CI machines); the CLI measures > 1M lines/s to a file.
    assert.ok(perSecond > 100_000, `${Math.round(perSecond)} lines/s`);
  });
});
