/**
 * The item-sales mock producer (shared/seeds/003): one sale per line, keyed by the item id,
 *
 *   {"item_id":1007,"item_name":"Ceramic mug","quantity":2,"price":9.99,"timestamp_ms":1677661200000}
 *
 * - a catalogue of `items` products (ids 1001, 1002, ...), each with a fixed name and list price;
 *   popularity is skewed (a few best sellers, a long tail);
 * - quantity is mostly 1, sometimes a few, rarely a bulk order of 20-50; ~10% of sales are at a
 *   10% or 20% discount (price rounded to the cent);
 * - ~3% of sales arrive out of order (timestamp up to 3 s earlier than the one before);
 * - ~0.5% of lines are bad, half of them failing the schema (a missing price or item_name, the
 *   price as a string, a line cut off mid-write) and half valid JSON that the pipeline's checks
 *   reject (a negative or zero quantity, a negative price, a timestamp in seconds instead of
 *   milliseconds).
 *
 * Event i has the time `startTime + floor(i * 60000 / eventsPerMinute)` (minus the deliberate
 * disorder). The output is a pure function of the options (no Math.random, no wall clock).
 */
import { checkOption, checkStartAndRate, normal } from "./checks.js";
import { Random, ZipfSampler, shuffledRange } from "./random.js";
import { LineGenerator, type GeneratorOptions } from "./types.js";

/** The seed's topic name. */
export const ITEM_SALES_TOPIC = "item_sales";
/** The first item id. */
export const FIRST_ITEM_ID = 1001;

/** Products and their list prices; with more items than these, variants ("Ceramic mug (blue)"). */
const PRODUCTS: ReadonlyArray<readonly [string, number]> = [
  ["Espresso beans 1kg", 18.99],
  ["Ceramic mug", 9.99],
  ["French press", 34.99],
  ["Milk frother", 24.99],
  ["Tea sampler", 12.49],
  ["Wireless mouse", 21.99],
  ["USB-C cable 2m", 11.99],
  ["Mechanical keyboard", 89.0],
  ["Laptop stand", 39.49],
  ["HD webcam", 58.99],
  ["Notebook A5", 6.49],
  ["Gel pens (10)", 8.99],
  ["Desk lamp", 29.99],
  ["Water bottle", 14.99],
  ["Yoga mat", 27.49],
  ["Running socks", 11.99],
  ["Backpack 20L", 49.99],
  ["Sunglasses", 34.99],
  ["Umbrella", 19.99],
  ["Phone case", 14.49],
  ["Scented candle", 16.49],
  ["Throw blanket", 43.99],
  ["Plant pot", 13.49],
  ["Cutting board", 20.99],
  ["Chef's knife", 63.99],
  ["Olive oil 1L", 15.99],
  ["Dark chocolate", 3.99],
  ["Granola 500g", 6.99],
  ["Hot sauce", 7.49],
  ["Sourdough kit", 25.99],
];
const VARIANTS = ["black", "white", "blue", "red", "green", "large", "small", "deluxe"];

const ITEM_ZIPF = 0.8;
const DISCOUNT_SHARE = 0.1;
const BULK_SHARE = 0.01;
const OUT_OF_ORDER_SHARE = 0.03;
const OUT_OF_ORDER_MAX_MS = 3_000;
/** 2000-01-01 and 2100-01-01 UTC: the pipeline's plausible range of timestamp_ms. */
export const MIN_SALE_TIME = Date.UTC(2000, 0, 1);
export const MAX_SALE_TIME = Date.UTC(2100, 0, 1);

export const ITEM_SALES_GENERATOR_DEFAULTS = Object.freeze({
  seed: 1,
  items: 40,
  /** 2023-03-01 09:00:00 UTC, a shop's opening time. */
  startTime: Date.UTC(2023, 2, 1, 9, 0, 0),
  /** Ten sales a second: a busy online shop. */
  eventsPerMinute: 600,
  badShare: 0.005,
});

export interface ItemSalesGeneratorOptions extends GeneratorOptions {
  /** Distinct items in the catalogue, ids 1001, 1002, ... (default 40). */
  items?: number;
  /** Share of bad lines (default 0.005): half fail the schema, half the pipeline's checks. */
  badShare?: number;
}

export interface CatalogueItem {
  item_id: number;
  item_name: string;
  /** List price in cents. */
  priceCents: number;
}

export class ItemSalesGenerator extends LineGenerator {
  readonly scenario = "item-sales";
  readonly startTime: number;
  readonly eventsPerMinute: number;
  /** The catalogue, by id - FIRST_ITEM_ID. */
  readonly catalogue: readonly CatalogueItem[];
  private readonly badShare: number;
  private readonly rng: Random;
  private readonly zipf: ZipfSampler;
  /** Popularity rank -> catalogue index. */
  private readonly byRank: Uint32Array;
  private index = 0;
  private slotTime = NaN;
  private lastItem = -1;
  private readonly counts = { events: 0, sales: 0, outOfOrder: 0, malformed: 0, invalid: 0 };

  constructor(options: ItemSalesGeneratorOptions = {}) {
    super();
    const d = ITEM_SALES_GENERATOR_DEFAULTS;
    const items = checkOption("item-sales", "items", options.items ?? d.items, 1, 1_000_000);
    this.startTime = options.startTime ?? d.startTime;
    this.eventsPerMinute = options.eventsPerMinute ?? d.eventsPerMinute;
    checkStartAndRate("item-sales", this.startTime, this.eventsPerMinute);
    this.badShare = checkOption("item-sales", "badShare", options.badShare ?? d.badShare, 0, 1, false);
    const setup = new Random(options.seed ?? d.seed);
    this.rng = setup.fork();
    const products = setup.shuffle([...PRODUCTS]);
    const catalogue: CatalogueItem[] = [];
    const p = products.length;
    for (let i = 0; i < items; i++) {
      const [product, list] = products[i % p];
      const round = Math.floor(i / p);
      let name = product;
      let cents = Math.round(list * 100);
      if (round > 0) {
        name = `${product} (${VARIANTS[(round - 1) % VARIANTS.length]})`;
        if (round > VARIANTS.length) name += ` #${Math.floor((round - 1) / VARIANTS.length) + 1}`;
        // A variant costs about the same: within ~15%, ending in .49 or .99.
        const halves = (list * Math.exp(0.15 * normal(setup))) / 0.5;
        cents = Math.max(49, Math.round(halves) * 50 - 1);
      }
      catalogue.push({ item_id: FIRST_ITEM_ID + i, item_name: name, priceCents: cents });
    }
    this.catalogue = Object.freeze(catalogue);
    this.zipf = new ZipfSampler(items, ITEM_ZIPF);
    this.byRank = shuffledRange(items, setup);
  }

  get key(): string | null {
    return this.lastItem < 0 ? null : String(FIRST_ITEM_ID + this.lastItem);
  }

  get time(): number {
    return this.slotTime;
  }

  get produced(): number {
    return this.index;
  }

  stats(): Readonly<Record<string, number>> {
    return { ...this.counts };
  }

  describe(): string {
    const n = this.catalogue.length;
    return (
      `${n} item${n === 1 ? "" : "s"} (item_id ${FIRST_ITEM_ID} to ${FIRST_ITEM_ID + n - 1}), ` +
      `${+(this.badShare * 100).toFixed(2)}% bad lines (malformed or invalid)`
    );
  }

  next(): string {
    const i = this.index++;
    const slot = this.startTime + Math.floor((i * 60_000) / this.eventsPerMinute);
    this.slotTime = slot;
    this.counts.events++;
    const rng = this.rng;
    const k = this.byRank[this.zipf.sample(rng.float())];
    this.lastItem = k;
    const item = this.catalogue[k];
    let quantity: number;
    if (rng.chance(BULK_SHARE)) quantity = rng.range(20, 50);
    else if (rng.chance(0.6)) quantity = 1;
    else {
      quantity = 2;
      while (quantity < 12 && rng.chance(0.45)) quantity++;
    }
    let cents = item.priceCents;
    if (rng.chance(DISCOUNT_SHARE)) cents = Math.round(cents * (rng.chance(0.5) ? 0.9 : 0.8));
    let t = slot;
    if (rng.chance(OUT_OF_ORDER_SHARE)) {
      // Never before the first sale (the shop opens at startTime).
      t = Math.max(this.startTime, slot - 1 - rng.int(OUT_OF_ORDER_MAX_MS));
      if (t < slot) this.counts.outOfOrder++;
    }
    const price = cents / 100;
    if (rng.chance(this.badShare)) return this.bad(item, quantity, price, t);
    this.counts.sales++;
    return (
      `{"item_id":${item.item_id},"item_name":${JSON.stringify(item.item_name)},` +
      `"quantity":${quantity},"price":${price},"timestamp_ms":${t}}`
    );
  }

  private bad(item: CatalogueItem, quantity: number, price: number, t: number): string {
    const rng = this.rng;
    const { item_id, item_name } = item;
    const kind = rng.int(6);
    if (kind < 3) this.counts.invalid++;
    else this.counts.malformed++;
    const line = (fields: Record<string, unknown>) => JSON.stringify(fields);
    switch (kind) {
      case 0:
        // A refund booked as a sale with a negative quantity (or a till that sent zero).
        return line({
          item_id,
          item_name,
          quantity: rng.chance(0.5) ? -quantity : 0,
          price,
          timestamp_ms: t,
        });
      case 1:
        // A till that sends epoch seconds.
        return line({ item_id, item_name, quantity, price, timestamp_ms: Math.floor(t / 1000) });
      case 2:
        // A negative price.
        return line({ item_id, item_name, quantity, price: -price, timestamp_ms: t });
      case 3:
        // A missing field.
        return rng.chance(0.5)
          ? line({ item_id, item_name, quantity, timestamp_ms: t })
          : line({ item_id, quantity, price, timestamp_ms: t });
      case 4:
        // The price as text.
        return line({ item_id, item_name, quantity, price: price.toFixed(2), timestamp_ms: t });
      default: {
        // A write cut off mid-line.
        const full = line({ item_id, item_name, quantity, price, timestamp_ms: t });
        return full.slice(0, 1 + rng.int(full.length - 1));
      }
    }
  }
}
