import { test } from "node:test";
import assert from "node:assert/strict";
import { pipeline, schema, TestDriver } from "../../src/index.js";

const Sale = schema.object({ item: schema.string(), qty: schema.int(), price: schema.number() });

function run(build: (s: any) => any, input: unknown[]) {
  const d = pipeline("agg", (p) => {
    build(p.source("sales", { schema: Sale }).keyBy((s) => s.item))
      .toStream()
      .map(({ key, value }: { key: string; value: unknown }) => [key, value])
      .to("out");
  });
  return new TestDriver(d).sendAll("sales", input).end().readValues("out");
}

const sales = [
  { item: "a", qty: 2, price: 1.5 },
  { item: "b", qty: 1, price: 10 },
  { item: "a", qty: 5, price: 0.5 },
  { item: "a", qty: 2, price: 2 },
];

test("count, sum, avg, min, max, distinctCount", () => {
  assert.deepEqual(
    run((k) => k.count(), sales),
    [
      ["a", 1],
      ["b", 1],
      ["a", 2],
      ["a", 3],
    ],
  );
  assert.deepEqual(
    run((k) => k.sum((s: any) => s.qty), sales),
    [
      ["a", 2],
      ["b", 1],
      ["a", 7],
      ["a", 9],
    ],
  );
  assert.deepEqual(
    run((k) => k.avg((s: any) => s.qty), sales),
    [
      ["a", 2],
      ["b", 1],
      ["a", 3.5],
      ["a", 3],
    ],
  );
  assert.deepEqual(
    run((k) => k.min((s: any) => s.price), sales),
    [
      ["a", 1.5],
      ["b", 10],
      ["a", 0.5],
      ["a", 0.5],
    ],
  );
  assert.deepEqual(
    run((k) => k.max((s: any) => s.price), sales),
    [
      ["a", 1.5],
      ["b", 10],
      ["a", 1.5],
      ["a", 2],
    ],
  );
  assert.deepEqual(
    run((k) => k.distinctCount((s: any) => s.qty), sales),
    [
      ["a", 1],
      ["b", 1],
      ["a", 2],
      ["a", 2],
    ],
  );
});

test("a general aggregate with init/add/result", () => {
  const out = run(
    (k) =>
      k.aggregate({
        init: () => ({ revenue: 0, units: 0 }),
        add: (acc: any, s: any) => ({ revenue: acc.revenue + s.qty * s.price, units: acc.units + s.qty }),
        result: (acc: any) => Math.round((acc.revenue / acc.units) * 100) / 100,
      }),
    sales,
  );
  assert.deepEqual(out, [
    ["a", 1.5],
    ["b", 10],
    ["a", 0.79],
    ["a", 1.06],
  ]);
});

test("a step that throws turns the record into a dead letter naming the step; other records go on", () => {
  const d = pipeline("boom", (p) => {
    p.source("sales", { schema: Sale })
      .map(
        (s) => {
          if (s.qty === 5) throw new Error("five is not allowed");
          return s;
        },
        { name: "picky" },
      )
      .keyBy((s) => s.item)
      .count()
      .toStream()
      .map(({ value }) => value)
      .to("out");
  });
  const t = new TestDriver(d).sendAll("sales", sales).end();
  assert.deepEqual(t.readValues("out"), [1, 1, 2]);
  const dl = t.deadLetters();
  assert.equal(dl.length, 1);
  assert.equal(dl[0].error, "step picky failed: five is not allowed");
  assert.equal(dl[0].offset, 2);
});
