/**
 * The seed scenarios' records as their pipelines' schemas and checks accept them, written out by
 * hand, for the generator tests (test/generate) and the example pipeline tests (test/examples).
 */
import { TIKTOK_CATEGORIES } from "../../src/generate/index.js";

/** A line parsed as JSON when it is a JSON object; null for anything else (a dead letter). */
export function jsonObject(line: string): Record<string, unknown> | null {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return null;
  }
  if (v === null || typeof v !== "object" || Array.isArray(v)) return null;
  return v as Record<string, unknown>;
}

/** The records `parse` accepts, in order, and how many lines it rejects (the dead letters). */
export function parseLines<T>(
  lines: readonly string[],
  parse: (line: string) => T | null,
): { valid: T[]; dead: number } {
  const valid: T[] = [];
  let dead = 0;
  for (const line of lines) {
    const r = parse(line);
    if (r === null) dead++;
    else valid.push(r);
  }
  return { valid, dead };
}

/** A TikTok view (topic tiktok_category). */
export interface View {
  ts: string;
  user_id: number;
  category: string;
  watch_time_s: number;
  liked: number;
}

/** The tiktok pipeline's schema: the view, or null for a dead letter. */
export function parseView(line: string): View | null {
  const o = jsonObject(line);
  if (o === null) return null;
  if (typeof o.ts !== "string" || Number.isNaN(Date.parse(o.ts))) return null;
  if (!Number.isInteger(o.user_id) || !Number.isInteger(o.watch_time_s)) return null;
  if (!(TIKTOK_CATEGORIES as readonly unknown[]).includes(o.category)) return null;
  if (o.liked !== 0 && o.liked !== 1) return null;
  const { ts, user_id, category, watch_time_s, liked } = o as unknown as View;
  return { ts, user_id, category, watch_time_s, liked };
}

/** An item sale (topic item_sales). */
export interface Sale {
  item_id: number;
  item_name: string;
  quantity: number;
  price: number;
  timestamp_ms: number;
}

/** "schema" (fails the item-sales schema), "invalid" (fails its checks), or the sale. */
export function classifySale(line: string): Sale | "schema" | "invalid" {
  const o = jsonObject(line);
  if (o === null) return "schema";
  if (!Number.isInteger(o.item_id) || !Number.isInteger(o.quantity) || !Number.isInteger(o.timestamp_ms))
    return "schema";
  if (typeof o.item_name !== "string" || typeof o.price !== "number") return "schema";
  const { item_id, item_name, quantity, price, timestamp_ms } = o as unknown as Sale;
  if (item_id < 1 || item_name.trim() === "" || quantity < 1 || price < 0) return "invalid";
  if (timestamp_ms < Date.UTC(2000, 0, 1) || timestamp_ms >= Date.UTC(2100, 0, 1)) return "invalid";
  return { item_id, item_name, quantity, price, timestamp_ms };
}

/** The item-sales pipeline's schema and checks: the sale, or null for a dead letter. */
export function parseSale(line: string): Sale | null {
  const s = classifySale(line);
  return typeof s === "string" ? null : s;
}

/** A bitcoin price tick (topic bpi), its time as epoch ms. */
export interface Tick {
  time: number;
  currency: string;
  rate: number;
}
