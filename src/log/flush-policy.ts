/** Parsing the flush policy from the command line (`--flush always|os|interval:50ms|50ms`). */
import { WeirError } from "../errors.js";
import { DEFAULT_FLUSH_POLICY, type FlushPolicy } from "./types.js";

const INTERVAL = /^(?:interval:)?(\d+)(ms|s)?$/;

/**
 * "always" | "os" | "interval" (the default 50 ms) | "interval:<n>ms" | "interval:<n>s" | "<n>ms" | "<n>s" | "<n>" (ms).
 */
export function parseFlushPolicy(text: string): FlushPolicy {
  const s = text.trim().toLowerCase();
  if (s === "always") return { kind: "always" };
  if (s === "os") return { kind: "os" };
  if (s === "interval") return DEFAULT_FLUSH_POLICY;
  const m = INTERVAL.exec(s);
  if (m !== null) {
    const ms = Number(m[1]) * (m[2] === "s" ? 1000 : 1);
    if (ms >= 1 && ms <= 3_600_000) return { kind: "interval", ms };
  }
  throw new WeirError(
    "USAGE",
    `invalid flush policy "${text}": use "always", "os", or an interval such as "interval:50ms" or "50ms" (1 ms to 1 h)`,
  );
}
