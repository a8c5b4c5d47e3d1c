/** How the pages print numbers, durations and times. */

const integer = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
const oneDecimal = new Intl.NumberFormat("en-US", { maximumFractionDigits: 1 });

/** 1234567 -> "1,234,567"; null/undefined -> "–". */
export function count(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return "–";
  return integer.format(n);
}

/** Records per second: "1,234/s", or "0.5/s" for slow streams. */
export function rate(n: number | null | undefined): string {
  const s = perSecond(n);
  return s === "–" ? s : `${s}/s`;
}

/** Records per second without the unit, for a column headed ".../s": "1,234", or "0.5". */
export function perSecond(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return "–";
  return n > 0 && n < 10 ? oneDecimal.format(n) : integer.format(n);
}

/** A latency in ms: "0.4 ms", "12 ms", "1.5 s". */
export function millis(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "–";
  if (ms < 10) return `${ms.toFixed(1)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return duration(ms);
}

/** A duration in ms: "850 ms", "4.2 s", "3 min 5 s", "2 h 10 min". */
export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "–";
  const sign = ms < 0 ? "-" : "";
  const a = Math.abs(ms);
  if (a < 1000) return `${sign}${Math.round(a)} ms`;
  if (a < 60_000) return `${sign}${(a / 1000).toFixed(1)} s`;
  if (a < 3_600_000) return `${sign}${Math.floor(a / 60_000)} min ${Math.floor((a % 60_000) / 1000)} s`;
  if (a < 86_400_000)
    return `${sign}${Math.floor(a / 3_600_000)} h ${Math.floor((a % 3_600_000) / 60_000)} min`;
  return `${sign}${Math.floor(a / 86_400_000)} d ${Math.floor((a % 86_400_000) / 3_600_000)} h`;
}

/** An epoch-ms (or ISO) time as "2025-11-28 10:40:00.123" in UTC, like the CLI prints. */
export function time(t: number | string | null | undefined): string {
  if (t === null || t === undefined || t === "") return "–";
  const d = new Date(typeof t === "number" ? t : Date.parse(t));
  if (Number.isNaN(d.getTime())) return String(t);
  return d.toISOString().replace("T", " ").replace("Z", "");
}

/** How long ago an epoch-ms time was: "3 s ago". */
export function ago(t: number | null | undefined, now: number): string {
  if (t === null || t === undefined) return "–";
  return `${duration(Math.max(0, now - t))} ago`;
}

/** A value as compact JSON text (strings as they are). */
export function compact(v: unknown): string {
  if (v === null || v === undefined) return "null";
  if (typeof v === "string") return v;
  return JSON.stringify(v);
}

/**
 * A value as readable JSON: objects and arrays on one line when they fit in `width` characters,
 * indented otherwise (strings that hold JSON are parsed first; other strings stay as they are).
 */
export function pretty(v: unknown, width = 100): string {
  if (typeof v === "string") {
    const s = v.trim();
    if (!(s.startsWith("{") || s.startsWith("["))) return v;
    try {
      v = JSON.parse(s);
    } catch {
      return v as string;
    }
  }
  return layout(v, "", width);
}

function oneLine(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(oneLine).join(", ")}]`;
  if (v !== null && typeof v === "object") {
    const entries = Object.entries(v);
    if (entries.length === 0) return "{}";
    return `{ ${entries.map(([k, x]) => `${JSON.stringify(k)}: ${oneLine(x)}`).join(", ")} }`;
  }
  return JSON.stringify(v) ?? "null";
}

function layout(v: unknown, indent: string, width: number): string {
  const flat = oneLine(v);
  if (flat.length + indent.length <= width || v === null || typeof v !== "object") return flat;
  const inner = indent + "  ";
  if (Array.isArray(v)) {
    if (v.length === 0) return "[]";
    return `[\n${v.map((x) => inner + layout(x, inner, width)).join(",\n")}\n${indent}]`;
  }
  const entries = Object.entries(v);
  return `{\n${entries
    .map(([k, x]) => `${inner}${JSON.stringify(k)}: ${layout(x, inner, width)}`)
    .join(",\n")}\n${indent}}`;
}

/** A watermark: the time of day (UTC) when it is today, the full date-time otherwise. */
export function watermark(t: number, now: number): string {
  const full = time(t);
  return full.slice(0, 10) === time(now).slice(0, 10) ? full.slice(11, 19) : full.slice(0, 19);
}
