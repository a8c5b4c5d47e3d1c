import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { TestDriver } from "../../src/index.js";
import { ItemSalesGenerator } from "../../src/generate/item-sales.js";
import { itemSales } from "../../examples/item-sales/pipeline.js";
import {
  hasStackTrace,
  lines as outputLines,
  queryRow,
  runCli,
  tempDataDir,
  tempDir,
} from "../cli/helpers.js";
import { parseLines, parseSale, type Sale } from "../helpers/records.js";

const TOPIC = "item_sales";

interface Totals {
  item_id: number;
  item_name: string;
  total_quantity: number;
  total_revenue: number;
  sales: number;
  first_sold_at: string;
  last_sold_at: string;
}

/** The reference: running totals per item with plain loops over the valid sales. */
function reference(lines: readonly string[]) {
  const acc = new Map<
    string,
    {
      item_id: number;
      item_name: string;
      q: number;
      revenue: number;
      cents: number;
      n: number;
      first: number;
      last: number;
    }
  >();
  const { valid, dead } = parseLines(lines, parseSale);
  for (const s of valid) {
    const key = String(s.item_id);
    let a = acc.get(key);
    if (a === undefined) {
      a = {
        item_id: s.item_id,
        item_name: s.item_name,
        q: 0,
        revenue: 0,
        cents: 0,
        n: 0,
        first: Infinity,
        last: -Infinity,
      };
      acc.set(key, a);
    }
    if (s.timestamp_ms >= a.last) a.item_name = s.item_name; // the latest sale's; a tie: the last to arrive
    a.q += s.quantity;
    a.revenue += s.quantity * s.price;
    a.cents += s.quantity * Math.round(s.price * 100);
    a.n += 1;
    a.first = Math.min(a.first, s.timestamp_ms);
    a.last = Math.max(a.last, s.timestamp_ms);
  }
  return { acc, valid, dead };
}

const byKey = <V>(entries: Iterable<[string, V]>): Array<[string, V]> =>
  [...entries].sort((a, b) => Number(a[0]) - Number(b[0]));

/**
 * Compare the table's rows with the reference. Everything is exact except total_revenue against the
 * plain floating-point sum of quantity x price: the pipeline sums whole cents (exact), a float sum
 * drifts by rounding, so that one comparison has a tolerance; against the reference's own sum in
 * cents it is exact.
 */
function assertTotals(actual: Array<[string, Totals]>, ref: ReturnType<typeof reference>["acc"]): void {
  assert.deepEqual(
    actual.map(([k]) => k),
    byKey(ref).map(([k]) => k),
  );
  for (const [key, row] of actual) {
    const r = ref.get(key)!;
    assert.deepEqual(
      row,
      {
        item_id: r.item_id,
        item_name: r.item_name,
        total_quantity: r.q,
        total_revenue: r.cents / 100,
        sales: r.n,
        first_sold_at: new Date(r.first).toISOString(),
        last_sold_at: new Date(r.last).toISOString(),
      },
      `item ${key}`,
    );
    assert.ok(Math.abs(row.total_revenue - r.revenue) < 1e-6 * Math.max(1, r.revenue), `revenue of ${key}`);
  }
}

test("a sale: validated, timestamp_ms parsed to timestamp_dt (both kept), running totals upserted", () => {
  const t = new TestDriver(itemSales());
  const at = Date.UTC(2023, 2, 1, 9, 0, 0);
  t.send(TOPIC, { item_id: 1007, item_name: "Ceramic mug", quantity: 2, price: 9.99, timestamp_ms: at });
  t.send(TOPIC, {
    item_id: 1007,
    item_name: "Ceramic mug",
    quantity: 1,
    price: 7.99,
    timestamp_ms: at + 5000,
  });
  // Out of order: an earlier sale arriving last moves first_sold_at, not last_sold_at.
  t.send(TOPIC, {
    item_id: 1007,
    item_name: "Ceramic mug",
    quantity: 3,
    price: 9.99,
    timestamp_ms: at - 2000,
  });
  t.end();
  assert.deepEqual(
    [...t.tableValues("item_sales")],
    [
      [
        "1007",
        {
          item_id: 1007,
          item_name: "Ceramic mug",
          total_quantity: 6,
          total_revenue: 57.94,
          sales: 3,
          first_sold_at: "2023-03-01T08:59:58.000Z",
          last_sold_at: "2023-03-01T09:00:05.000Z",
        },
      ],
    ],
  );
  assert.deepEqual(
    t.tableVersions("item_sales", 1007).map((v) => [v.version, (v.value as Totals).total_quantity]),
    [
      [3, 6],
      [2, 3],
      [1, 2],
    ],
  );
  assert.deepEqual(t.lakeRows("item_sales_parsed")[0], {
    item_id: 1007,
    item_name: "Ceramic mug",
    quantity: 2,
    price: 9.99,
    timestamp_ms: at,
    timestamp_dt: "2023-03-01T09:00:00.000Z",
  });
});

test("item_name is the latest sale's by event time: an older sale arriving after a newer one keeps the newer name", () => {
  const t = new TestDriver(itemSales({ lake: false }));
  const at = Date.UTC(2023, 2, 1, 9, 0, 0);
  const sale = (name: string, dt: number) => ({
    item_id: 1007,
    item_name: name,
    quantity: 1,
    price: 9.99,
    timestamp_ms: at + dt,
  });
  const name = () => (t.tableValues("item_sales").get("1007") as Totals).item_name;
  t.send(TOPIC, sale("Ceramic mug", 0));
  t.send(TOPIC, sale("Ceramic mug (blue)", 5000)); // renamed
  assert.equal(name(), "Ceramic mug (blue)");
  t.send(TOPIC, sale("Ceramic mug", 2000)); // an older sale, from a producer running behind
  assert.equal(name(), "Ceramic mug (blue)");
  t.send(TOPIC, sale("Blue mug", 5000)); // the same time as the latest: the last to arrive wins
  assert.equal(name(), "Blue mug");
  t.end();
  const row = t.tableValues("item_sales").get("1007") as Totals;
  assert.deepEqual(
    [row.item_name, row.sales, row.first_sold_at, row.last_sold_at],
    ["Blue mug", 4, "2023-03-01T09:00:00.000Z", "2023-03-01T09:00:05.000Z"],
  );
});
test("invalid sales become dead letters with the reason; valid ones still count", () => {
  const t = new TestDriver(itemSales());
  const ts = Date.UTC(2023, 2, 1, 9, 0, 0);
  const ok = { item_id: 1001, item_name: "Yoga mat", quantity: 1, price: 27.49, timestamp_ms: ts };
  const bad: unknown[] = [
    { ...ok, quantity: -2 },
    { ...ok, quantity: 0 },
    { ...ok, price: -27.49 },
    { ...ok, timestamp_ms: Math.floor(ts / 1000) },
    { ...ok, item_name: "  " },
    { ...ok, item_id: 0 },
    { item_id: 1001, item_name: "Yoga mat", quantity: 1, timestamp_ms: ts },
    { ...ok, price: "27.49" },
    { ...ok, quantity: 1.5 },
    { ...ok, timestamp_ms: "2023-03-01 09:00:00" },
    '{"item_id":1001,"item_name":"Yoga',
  ];
  t.sendAll(TOPIC, bad);
  t.send(TOPIC, ok).end();
  const reasons = t.deadLetters().map((d) => d.error.replace(/^invalid JSON: .*/, "invalid JSON"));
  assert.deepEqual(reasons, [
    "step validate-sale failed: quantity must be at least 1, got -2",
    "step validate-sale failed: quantity must be at least 1, got 0",
    "step validate-sale failed: price must not be negative, got -27.49",
    "step validate-sale failed: timestamp_ms must be epoch milliseconds between 2000-01-01 and 2100-01-01, got 1677661200",
    "step validate-sale failed: item_name must not be empty",
    "step validate-sale failed: item_id must be at least 1, got 0",
    'missing field "price"',
    'field "price": expected number, got string "27.49"',
    'field "quantity": expected integer, got number 1.5',
    'field "timestamp_ms": expected integer, got string "2023-03-01 09:00:00"',
    "invalid JSON",
  ]);
  assert.deepEqual(
    t.deadLetters().map((d) => d.offset),
    bad.map((_, i) => i),
  );
  assert.equal(t.deadLetters()[0].raw, JSON.stringify(bad[0]));
  assert.deepEqual(
    [...t.tableValues("item_sales")].map(([k, v]) => [k, (v as Totals).sales]),
    [["1001", 1]],
  );
  assert.equal(t.lakeRows("item_sales_parsed").length, 1);
});

test("5,000 generated sales: the table equals per-item totals computed with plain loops", () => {
  const lines = new ItemSalesGenerator({ seed: 21, items: 60 }).take(5_000);
  const ref = reference(lines);
  assert.ok(ref.dead > 5, `the sample has bad lines (${ref.dead})`);
  const t = new TestDriver(itemSales());
  t.sendAll(TOPIC, lines).end();
  assertTotals(byKey(t.tableValues<Totals>("item_sales")), ref.acc);
  // One version per sale of the item.
  for (const [key, r] of ref.acc) assert.equal(t.tableVersions("item_sales", key)[0].version, r.n);
  // The parsed sales, both time columns.
  const rows = t.lakeRows<Sale & { timestamp_dt: string }>("item_sales_parsed");
  assert.deepEqual(
    rows,
    ref.valid.map((s) => ({ ...s, timestamp_dt: new Date(s.timestamp_ms).toISOString() })),
  );
  const dead = t.deadLetters();
  assert.equal(dead.length, ref.dead);
  for (const d of dead) assert.equal(parseSale(d.raw), null, d.raw);
  assert.ok(dead.some((d) => d.error.startsWith("step validate-sale failed: ")));
  assert.ok(dead.some((d) => d.error.startsWith("missing field ")));
});

test("weir generate item-sales + weir run item-sales --input: the table and lake end to end", async (t) => {
  const dir = tempDir(t);
  const dataDir = tempDataDir(t);
  const file = join(dir, "sales.jsonl");
  const gen = await runCli([
    "generate",
    "item-sales",
    "-o",
    file,
    "-n",
    "4000",
    "--seed",
    "8",
    "--items",
    "25",
  ]);
  assert.equal(gen.code, 0, gen.stderr);
  const lines = readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l !== "");
  assert.deepEqual(lines, new ItemSalesGenerator({ seed: 8, items: 25 }).take(4000));
  const ref = reference(lines);

  const run = await runCli(["run", "item-sales", "--input", file, "--data-dir", dataDir]);
  assert.equal(run.code, 0, run.stderr);
  assert.ok(!hasStackTrace(run.stderr), run.stderr);
  assert.match(run.stderr, new RegExp(`${ref.dead} dead letters`));

  const table = await runCli(["table", "item_sales", "--format", "json", "--data-dir", dataDir]);
  assert.equal(table.code, 0, table.stderr);
  const rows = outputLines(table.stdout).map((l) => JSON.parse(l) as { key: string; value: Totals });
  assertTotals(byKey(rows.map((r) => [r.key, r.value])), ref.acc);

  const q = await queryRow(
    dataDir,
    "SELECT count(*) AS n, sum(quantity) AS quantity, min(timestamp_ms) AS first_ms, " +
      "bool_and(epoch_ms(timestamp_dt) = timestamp_ms) AS same_instant FROM item_sales_parsed",
  );
  assert.deepEqual(q, {
    n: ref.valid.length,
    quantity: ref.valid.reduce((s, x) => s + x.quantity, 0),
    first_ms: Math.min(...ref.valid.map((s) => s.timestamp_ms)),
    same_instant: true,
  });
});
