/**
 * Item sales to a table (shared/seeds/003): sales as JSON with a `timestamp_ms`, validated against a
 * declared schema, the time parsed into a datetime column (both kept), and running totals per item
 * upserted into a table — the seed's Kafka -> Spark -> Cassandra `item_sales` flow.
 *
 *   {"item_id":1007,"item_name":"Ceramic mug","quantity":2,"price":9.99,"timestamp_ms":1677661200000}
 *
 * - checks beyond the schema (step `validate-sale`): item_id >= 1, a non-empty item_name,
 *   quantity >= 1, price >= 0, timestamp_ms between 2000-01-01 and 2100-01-01 (catches seconds sent
 *   as milliseconds). A line failing the schema or a check is a dead letter on topic
 *   `item-sales.dlq` with the reason (`missing field "price"`, `step validate-sale failed:
 *   quantity must be at least 1, got -2`);
 * - versioned table `item_sales`, key `item_id`: {"item_id", "item_name", "total_quantity",
 *   "total_revenue", "sales", "first_sold_at", "last_sold_at"} — revenue is summed in whole cents
 *   (each sale's price rounded to the cent), so totals are exact; first/last are the earliest and
 *   latest `timestamp_dt` seen, whatever the arrival order; item_name is the latest sale's by
 *   event time (among sales at that same time, the last to arrive's), whatever the arrival order;
 * - lake dataset `item_sales_parsed` (JSON lines, so `timestamp_ms` stays a number): every valid
 *   sale with both `timestamp_ms` and `timestamp_dt` (ISO-8601 UTC), the seed's wide table.
 */
import { pipeline, schema, type PipelineDefinition } from "../../src/index.js";
import { ITEM_SALES_TOPIC, MAX_SALE_TIME, MIN_SALE_TIME } from "../../src/generate/item-sales.js";

export { ITEM_SALES_TOPIC };

export const ItemSale = schema.object({
  item_id: schema.int(),
  item_name: schema.string(),
  quantity: schema.int(),
  price: schema.number(),
  timestamp_ms: schema.int(),
});

export interface ItemSaleRecord {
  item_id: number;
  item_name: string;
  quantity: number;
  price: number;
  timestamp_ms: number;
}

/** A row of table `item_sales`. */
export interface ItemTotals {
  item_id: number;
  item_name: string;
  total_quantity: number;
  /** Sum of quantity x price, exact to the cent. */
  total_revenue: number;
  sales: number;
  first_sold_at: Date;
  last_sold_at: Date;
}

export interface ItemSalesOptions {
  /** Land the parsed sales in the lake as dataset item_sales_parsed. */
  lake: boolean;
  /** Versions kept per item in table item_sales. */
  versions: number;
}

export const ITEM_SALES_DEFAULTS: ItemSalesOptions = Object.freeze({ lake: true, versions: 3 });

/** The checks the schema cannot express; throws with the reason the dead letter carries. */
export function validateSale<T extends ItemSaleRecord>(s: T): T {
  if (s.item_id < 1) throw new Error(`item_id must be at least 1, got ${s.item_id}`);
  if (s.item_name.trim() === "") throw new Error("item_name must not be empty");
  if (s.quantity < 1) throw new Error(`quantity must be at least 1, got ${s.quantity}`);
  if (s.price < 0) throw new Error(`price must not be negative, got ${s.price}`);
  if (s.timestamp_ms < MIN_SALE_TIME || s.timestamp_ms >= MAX_SALE_TIME)
    throw new Error(
      `timestamp_ms must be epoch milliseconds between 2000-01-01 and 2100-01-01, got ${s.timestamp_ms}`,
    );
  return s;
}

interface Acc {
  item_id: number;
  item_name: string;
  quantity: number;
  cents: number;
  sales: number;
  first: number;
  last: number;
}

export function itemSales(options: Partial<ItemSalesOptions> = {}): PipelineDefinition {
  const o = { ...ITEM_SALES_DEFAULTS, ...options };
  return pipeline("item-sales", (p) => {
    const sales = p
      .source(ITEM_SALES_TOPIC, { schema: ItemSale, eventTime: (s) => s.timestamp_ms })
      .map(validateSale, { name: "validate-sale" })
      .map((s) => ({ ...s, timestamp_dt: new Date(s.timestamp_ms) }), { name: "parse-timestamp" });
    if (o.lake) sales.toLake("item_sales_parsed", { format: "jsonl" });

    sales
      .keyBy((s) => s.item_id, { name: "by-item" })
      .aggregate<Acc, ItemTotals>(
        {
          init: () => ({ item_id: 0, item_name: "", quantity: 0, cents: 0, sales: 0, first: 0, last: 0 }),
          add: (acc, s) => {
            const t = s.timestamp_ms;
            if (acc.sales === 0 || t < acc.first) acc.first = t;
            // The name of the latest sale by event time (a tie: the last to arrive), so a sale
            // that arrives late cannot bring back an old name.
            if (acc.sales === 0 || t >= acc.last) {
              acc.last = t;
              acc.item_name = s.item_name;
            }
            acc.item_id = s.item_id;
            acc.quantity += s.quantity;
            acc.cents += s.quantity * Math.round(s.price * 100);
            acc.sales += 1;
            return acc;
          },
          result: (acc) => ({
            item_id: acc.item_id,
            item_name: acc.item_name,
            total_quantity: acc.quantity,
            total_revenue: acc.cents / 100,
            sales: acc.sales,
            first_sold_at: new Date(acc.first),
            last_sold_at: new Date(acc.last),
          }),
        },
        { name: "item-totals" },
      )
      .toStream({ name: "totals-updates" })
      .map(({ value }) => value, { name: "totals-row" })
      .toTable("item_sales", { versions: o.versions });
  });
}

export default itemSales();
