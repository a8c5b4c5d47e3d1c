import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { ColumnTracker, isTimeName, isoJson } from "../../../src/sinks/lake/columns.js";

const scalar = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.string({ unit: "binary" }),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
  fc.date({ noInvalidDate: false }),
);
const value = fc.oneof(
  scalar,
  fc.array(scalar, { maxLength: 3 }),
  fc.dictionary(fc.string(), scalar, { maxKeys: 3 }),
);

/** A row with its keys as the tracker writes them (the same keys, but for those DuckDB could not take). */
function renamed(tracker: ColumnTracker, row: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(row).map(([k, v]) => [tracker.columnOf(k) ?? k, asWritten(v)]));
}

/** A column's Date as the lake writes it: its ISO string, a year past 9999 without the `+`. */
function asWritten(v: unknown): unknown {
  return v instanceof Date && Number.isFinite(v.getTime()) ? v.toISOString().replace(/^\+/, "") : v;
}

test("encode gives exactly what JSON.stringify gives (keys DuckDB could not take renamed, Dates as DuckDB reads them)", () => {
  fc.assert(
    fc.property(
      fc.array(fc.dictionary(fc.string({ unit: "binary" }), value, { maxKeys: 6 }), { maxLength: 5 }),
      (rows) => {
        const tracker = new ColumnTracker();
        for (const row of rows) {
          const line = tracker.encode(row);
          assert.equal(line, JSON.stringify(renamed(tracker, row)));
        }
      },
    ),
    { numRuns: 500 },
  );
  // Keys DuckDB takes are written as they are.
  fc.assert(
    fc.property(
      fc.array(fc.dictionary(fc.stringMatching(/^[a-z_][a-z0-9_]{0,8}$/), value, { maxKeys: 6 }), {
        maxLength: 5,
      }),
      (rows) => {
        const tracker = new ColumnTracker();
        for (const row of rows) assert.equal(tracker.encode(row), JSON.stringify(renamed(tracker, row)));
      },
    ),
    { numRuns: 300 },
  );
  const tracker = new ColumnTracker();
  // Rows of one shape, then another (the positional cache must not mix them up).
  assert.equal(tracker.encode({ a: 1, b: "x" }), '{"a":1,"b":"x"}');
  assert.equal(tracker.encode({ b: "y", a: 2 }), '{"b":"y","a":2}');
  assert.equal(tracker.encode({ skip: undefined, a: 3 }), '{"a":3}');
  assert.equal(tracker.encode({ n: 12n, nested: { m: 3n } }), '{"n":"12","nested":{"m":"3"}}');
  assert.equal(
    tracker.encode({ toJSON: () => ({ via: "toJSON" }) } as unknown as Record<string, unknown>),
    '{"via":"toJSON"}',
  );
});

test("isoJson formats every millisecond like toISOString", () => {
  fc.assert(
    fc.property(fc.integer({ min: -62_135_596_800_000, max: 253_402_300_799_999 }), (ms) => {
      const d = new Date(ms);
      assert.equal(isoJson(d), JSON.stringify(d.toISOString()));
    }),
    { numRuns: 5000 },
  );
  assert.equal(isoJson(new Date(Number.NaN)), "null");
});

test("isoJson writes years outside 0000..9999 as DuckDB reads them: without the + of ISO's expanded form (issue 14)", () => {
  assert.equal(isoJson(new Date(8.64e15)), '"275760-09-13T00:00:00.000Z"');
  assert.equal(isoJson(new Date(Date.UTC(12000, 0, 1))), '"012000-01-01T00:00:00.000Z"');
  assert.equal(isoJson(new Date(-8.64e15)), '"-271821-04-20T00:00:00.000Z"');
  assert.equal(isoJson(new Date(Date.UTC(-44, 2, 15))), '"-000044-03-15T00:00:00.000Z"');
});

test("column types follow the values and the column names", () => {
  const t = new ColumnTracker();
  const at = Date.parse("2021-11-30T00:01:00Z");
  t.encode({
    id: 1,
    ratio: 0.5,
    name: "x",
    ok: true,
    date: at,
    count_ms: at,
    seen: new Date(at),
    iso: "2021-11-30T00:01:00.000Z",
    local_time: "2021-11-30 00:01:00",
    local: "2021-11-30 00:01:00",
    tags: ["a"],
    big: 1n,
    none: null,
  });
  t.encode({ id: 2, ratio: 1, window_end: at, created_at: 5 });
  const types = Object.fromEntries(t.plan().map((c) => [c.name, c.type]));
  assert.deepEqual(types, {
    id: "BIGINT",
    ratio: "DOUBLE",
    name: "VARCHAR",
    ok: "BOOLEAN",
    date: "TIMESTAMPTZ",
    count_ms: "BIGINT",
    seen: "TIMESTAMPTZ",
    iso: "TIMESTAMPTZ",
    local_time: "TIMESTAMPTZ",
    local: "VARCHAR",
    tags: "JSON",
    big: "DECIMAL(38,0)",
    none: "VARCHAR",
    window_end: "TIMESTAMPTZ",
    created_at: "BIGINT", // 5 is not in the range of epoch milliseconds
  });
  t.demoteTimestamps();
  assert.equal(t.plan().find((c) => c.name === "iso")!.type, "VARCHAR");
  assert.equal(t.plan().find((c) => c.name === "date")!.type, "TIMESTAMPTZ", "epoch ms always convert");
  assert.equal(t.plan().find((c) => c.name === "seen")!.type, "TIMESTAMPTZ", "and Dates");
  for (const name of ["date", "ts", "event_time", "created_at", "window_start", "Timestamp"])
    assert.ok(isTimeName(name), name);
  for (const name of ["update", "format", "user_id", "data", "dated_by"]) assert.ok(!isTimeName(name), name);
});

test("what DuckDB refuses never reaches it: lone surrogates, names alike but for case, empty or with NUL, integers beyond BIGINT (issue 14)", () => {
  const t = new ColumnTracker();
  assert.equal(t.encode({ a: "x\ud83d", b: "😀" }), '{"a":"x\ufffd","b":"😀"}');
  assert.equal(t.encode({ a: "y".repeat(70) + "\udc00" }), `{"a":"${"y".repeat(70)}\ufffd"}`);
  assert.equal(
    t.encode({ nested: { ["k\ud800"]: ["\udfff", "ok"], n: 1n } }),
    '{"nested":{"k\ufffd":["\ufffd","ok"],"n":"1"}}',
  );
  // A backslash before "ud" in a string is no surrogate: the slow path keeps it as it is.
  assert.equal(t.encode({ nested: { s: "\\ud83d" } }), JSON.stringify({ nested: { s: "\\ud83d" } }));
  assert.equal(
    t.encode({ A: 1, "": 2, "n\u0000": 3, ["s\ud800"]: 4 }),
    '{"A_2":1,"_":2,"n\ufffd":3,"s\ufffd":4}',
  );
  assert.equal(t.encode({ a_2: 5, "\ud801": 6 }), '{"a_2_2":5,"\ufffd":6}');
  const names = t.plan().map((c) => c.name);
  assert.deepEqual(names, ["a", "b", "nested", "A_2", "_", "n\ufffd", "s\ufffd", "a_2_2", "\ufffd"]);
  assert.equal(new Set(names.map((n) => n.toLowerCase())).size, names.length);
  // 2^63 and beyond are no BIGINT: DOUBLE; a bigint of more than 38 digits no DECIMAL(38,0).
  const n = new ColumnTracker();
  n.encode({
    small: 2 ** 62,
    big: 2 ** 63,
    neg: -(2 ** 63),
    negBig: -1e19,
    dec: 10n ** 38n - 1n,
    huge: 10n ** 38n,
  });
  assert.deepEqual(Object.fromEntries(n.plan().map((c) => [c.name, c.type])), {
    small: "BIGINT",
    big: "DOUBLE",
    neg: "BIGINT",
    negBig: "DOUBLE",
    dec: "DECIMAL(38,0)",
    huge: "VARCHAR", // DECIMAL(38,0) has 38 digits
  });
});
