/** filter, map, flatMap, keyBy, to(): one behaviour each, through the TestDriver. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { pipeline, schema, TestDriver } from "../../src/index.js";

const Order = schema.object({
  id: schema.int(),
  customer: schema.string(),
  items: schema.array(schema.string()),
});
const orders = [
  { id: 1, customer: "ann", items: ["tea", "cake"] },
  { id: 2, customer: "bob", items: [] },
  { id: 3, customer: "ann", items: ["jam"] },
];

test("filter keeps what the predicate accepts; map transforms; flatMap emits zero or more", () => {
  const d = pipeline("ops", (p) => {
    const o = p.source("orders", { schema: Order });
    o.filter((x) => x.items.length > 0)
      .map((x) => x.id)
      .to("non_empty");
    o.flatMap((x) => x.items.map((item) => ({ order: x.id, item }))).to("lines");
  });
  const t = new TestDriver(d).sendAll("orders", orders);
  assert.deepEqual(t.readValues("non_empty"), [1, 3]);
  assert.deepEqual(t.readValues("lines"), [
    { order: 1, item: "tea" },
    { order: 1, item: "cake" },
    { order: 3, item: "jam" },
  ]);
});

test("keyBy sets the output key; a sibling branch does not see it", () => {
  const d = pipeline("keys", (p) => {
    const o = p.source("orders", { schema: Order });
    o.keyBy((x) => x.customer).to("by_customer");
    o.to("unkeyed");
    o.to("explicit", { key: (x) => `order-${x.id}` });
  });
  const t = new TestDriver(d).sendAll("orders", orders);
  assert.deepEqual(
    t.readRecords("by_customer").map((r) => r.key),
    ["ann", "bob", "ann"],
  );
  assert.deepEqual(
    t.readRecords("unkeyed").map((r) => r.key),
    [null, null, null],
  );
  assert.deepEqual(
    t.readRecords("explicit").map((r) => r.key),
    ["order-1", "order-2", "order-3"],
  );
});

test("a failing branch does not keep the record from the other branches; one dead letter", () => {
  const d = pipeline("branches", (p) => {
    const o = p.source("orders", { schema: Order });
    o.map((x) => x.items[0].toUpperCase(), { name: "first-item" }).to("first");
    o.map((x) => x.id).to("ids");
  });
  const t = new TestDriver(d).sendAll("orders", orders);
  assert.deepEqual(t.readValues("first"), ["TEA", "JAM"]);
  assert.deepEqual(t.readValues("ids"), [1, 2, 3]);
  const dl = t.deadLetters();
  assert.equal(dl.length, 1);
  assert.equal(dl[0].offset, 1);
  assert.match(dl[0].error, /^step first-item failed: /);
});

test("when several branches fail for one record, its one dead letter names every failed step", () => {
  const d = pipeline("branches", (p) => {
    const o = p.source("orders", { schema: Order });
    o.map((x) => x.items[0].toUpperCase(), { name: "first-item" }).to("first");
    o.map((x) => x.id).to("ids");
    o.map((x) => x.items[1].length, { name: "second-item" }).to("second");
  });
  const t = new TestDriver(d).sendAll("orders", orders);
  assert.deepEqual(t.readValues("ids"), [1, 2, 3]);
  assert.deepEqual(t.readValues("second"), [4]);
  const dl = t.deadLetters();
  assert.deepEqual(
    dl.map((l) => [l.offset, l.error.replace(/: [^;]*/g, ": …")]),
    [
      [1, "step first-item failed: …; step second-item failed: …"],
      [2, "step second-item failed: …"],
    ],
  );
});

test("keyBy rejects keys that are not strings or numbers as dead letters", () => {
  const d = pipeline("badkey", (p) => {
    p.source("orders", { schema: Order })
      .keyBy((x) => (x.id === 2 ? (null as unknown as string) : x.customer), { name: "by-customer" })
      .count()
      .toStream()
      .to("counts");
  });
  const t = new TestDriver(d).sendAll("orders", orders);
  assert.equal(t.readValues("counts").length, 2);
  assert.equal(
    t.deadLetters()[0].error,
    "step by-customer failed: key must be a string or a number, got null",
  );
});

test("building an invalid pipeline fails with a clear message", () => {
  assert.throws(() => pipeline("bad name!", () => {}), /pipeline name "bad name!"/);
  assert.throws(() => pipeline("nosource", () => {}), /has no source/);
  assert.throws(
    () =>
      pipeline("final", (p) => {
        p.source("in")
          .keyBy(() => 1)
          .count()
          .when(() => true, { emit: "final" as "changes" });
      }),
    /emit "final" needs a window/,
  );
  assert.throws(
    () =>
      pipeline("dup", (p) => {
        const s = p.source("in");
        s.map((x) => x, { name: "same" });
        s.map((x) => x, { name: "same" });
      }),
    /two steps are named "same"/,
  );
  assert.throws(
    () =>
      pipeline("reserved", (p) => {
        p.source("in").to("reserved.dlq");
      }),
    /written by Weir itself/,
  );
});
