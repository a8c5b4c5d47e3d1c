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

test("encode gives exactly what JSON.stringify gives", () => {
  fc.assert(
    fc.property(
      fc.array(fc.dictionary(fc.string({ unit: "binary" }), value, { maxKeys: 6 }), { maxLength: 5 }),
      (rows) => {
        const tracker = new ColumnTracker();
        for (const row of rows) assert.equal(tracker.encode(row), JSON.stringify(row));
      },
    ),
    { numRuns: 500 },
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
  assert.equal(
    isoJson(new Date(Date.UTC(12000, 0, 1))),
    JSON.stringify(new Date(Date.UTC(12000, 0, 1)).toISOString()),
  );
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
