import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  ITEM_SALES_GENERATOR_DEFAULTS,
  ItemSalesGenerator,
  createGenerator,
  getScenario,
  scenarioNames,
} from "../../src/generate/index.js";
import { WeirError } from "../../src/errors.js";
import { classifySale } from "../helpers/records.js";

describe("item-sales generator", () => {
  it("is registered as scenario item-sales writing topic item_sales", () => {
    assert.ok(scenarioNames().includes("item-sales"));
    const s = getScenario("item-sales")!;
    assert.equal(s.topic, "item_sales");
    assert.deepEqual(s.extraOptions, ["items"]);
    assert.equal(s.defaultEventsPerMinute, 600);
    assert.deepEqual(
      createGenerator("item-sales", { seed: 3, items: 7 }).take(100),
      new ItemSalesGenerator({ seed: 3, items: 7 }).take(100),
    );
  });

  it("is deterministic for a seed and options, and different for another seed", () => {
    const a = new ItemSalesGenerator({ seed: 5 }).take(20_000);
    assert.deepEqual(new ItemSalesGenerator({ seed: 5 }).take(20_000), a);
    assert.notDeepEqual(new ItemSalesGenerator({ seed: 6 }).take(20_000), a);
    assert.notDeepEqual(new ItemSalesGenerator({ seed: 5, items: 41 }).take(20_000), a);
  });

  it("sells a fixed catalogue: one name and list price per id, plausible quantities and times", () => {
    const items = 100;
    const eventsPerMinute = 600;
    const g = new ItemSalesGenerator({ seed: 9, items, eventsPerMinute });
    const catalogue = new Map(g.catalogue.map((c) => [c.item_id, c]));
    assert.equal(catalogue.size, items);
    assert.equal(new Set(g.catalogue.map((c) => c.item_name)).size, items, "names are unique");
    assert.deepEqual(
      g.catalogue.map((c) => c.item_id),
      Array.from({ length: items }, (_, i) => 1001 + i),
    );
    const n = 40_000;
    let schema = 0;
    let invalid = 0;
    let maxSeen = -Infinity;
    let outOfOrder = 0;
    const sold = new Set<number>();
    for (let i = 0; i < n; i++) {
      const line = g.next();
      const slot = ITEM_SALES_GENERATOR_DEFAULTS.startTime + Math.floor((i * 60_000) / eventsPerMinute);
      assert.equal(g.time, slot);
      const s = classifySale(line);
      if (s === "schema") {
        schema++;
        continue;
      }
      if (s === "invalid") {
        invalid++;
        continue;
      }
      assert.equal(g.key, String(s.item_id));
      const item = catalogue.get(s.item_id);
      assert.ok(item, `known item ${s.item_id}`);
      assert.equal(s.item_name, item.item_name, "names are consistent per id");
      const cents = Math.round(s.price * 100);
      assert.ok(
        [item.priceCents, Math.round(item.priceCents * 0.9), Math.round(item.priceCents * 0.8)].includes(
          cents,
        ),
        `price ${s.price} of ${item.item_name} (list ${item.priceCents / 100})`,
      );
      assert.equal(cents / 100, s.price, "whole cents");
      assert.ok(s.quantity >= 1 && s.quantity <= 50, line);
      assert.ok(s.timestamp_ms <= slot && s.timestamp_ms > slot - 3_002, line);
      assert.ok(s.timestamp_ms >= ITEM_SALES_GENERATOR_DEFAULTS.startTime);
      if (s.timestamp_ms < maxSeen) outOfOrder++;
      maxSeen = Math.max(maxSeen, s.timestamp_ms);
      sold.add(s.item_id);
    }
    const stats = g.stats();
    assert.equal(stats.events, n);
    assert.equal(stats.malformed, schema, "lines failing the schema");
    assert.equal(stats.invalid, invalid, "lines failing the checks");
    assert.equal(stats.sales, n - schema - invalid);
    assert.ok((schema + invalid) / n > 0.003 && (schema + invalid) / n < 0.008, `${schema + invalid} bad`);
    assert.ok(schema > 0 && invalid > 0);
    assert.ok(outOfOrder > n * 0.01 && outOfOrder < n * 0.05, `${outOfOrder} out of order`);
    assert.ok(sold.size > items * 0.9, `${sold.size} of ${items} items sold`);
  });

  it("makes every kind of bad line", () => {
    const lines = new ItemSalesGenerator({ seed: 2, badShare: 1 }).take(600);
    assert.ok(lines.every((l) => typeof classifySale(l) === "string"));
    assert.ok(
      lines.some((l) => /"quantity":-\d/.test(l)),
      "negative quantity",
    );
    assert.ok(
      lines.some((l) => l.includes('"quantity":0')),
      "zero quantity",
    );
    assert.ok(
      lines.some((l) => /"price":-\d/.test(l)),
      "negative price",
    );
    assert.ok(
      lines.some((l) => l.startsWith("{") && !l.includes('"price"')),
      "missing price",
    );
    assert.ok(
      lines.some((l) => l.startsWith("{") && !l.includes('"item_name"')),
      "missing item_name",
    );
    assert.ok(
      lines.some((l) => /"price":"/.test(l)),
      "price as text",
    );
    assert.ok(
      lines.some((l) => /"timestamp_ms":\d{10}}/.test(l)),
      "seconds",
    );
    assert.ok(
      lines.some((l) => !l.endsWith("}")),
      "cut off",
    );
  });

  it("rejects bad options with a WeirError", () => {
    for (const bad of [{ items: 0 }, { items: 2.5 }, { eventsPerMinute: -1 }, { badShare: -0.1 }]) {
      assert.throws(() => new ItemSalesGenerator(bad), WeirError, JSON.stringify(bad));
    }
  });
});
