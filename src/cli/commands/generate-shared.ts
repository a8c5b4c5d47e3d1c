/**
 * What `weir generate` to one topic or file (generate.ts) and to several (generate-topics.ts)
 * share: how rates, counts and a generator's counters are written, writing a file, and how long a
 * run to topics goes.
 */
import { writeSync } from "node:fs";
import { UserError, usageError } from "../../errors.js";
import { q } from "../format.js";

export const DEFAULT_TOPIC_DURATION_MS = 60_000;

const fmt = (n: number): string => Math.round(n).toLocaleString("en-US");

export function formatRate(perSecond: number): string {
  const perMinute = perSecond * 60;
  return Number.isInteger(Math.round(perMinute * 1000) / 1000) && perMinute >= 1
    ? `${fmt(perMinute)}/min`
    : `${+perSecond.toFixed(3)}/s`;
}

/** `1,234 events` / `1 event`, with thousands separators. */
export function count(n: number, word: string): string {
  return `${fmt(n)} ${word}${n === 1 ? "" : "s"}`;
}

/** "interactions 1,700, malformed 4, out of order 41, ..." from a generator's counters. */
export function formatStats(stats: Readonly<Record<string, number>>): string {
  const words = (key: string) => key.replace(/[A-Z]/g, (c) => ` ${c.toLowerCase()}`);
  return Object.entries(stats)
    .filter(([k]) => k !== "events")
    .map(([k, v]) => `${words(k)} ${fmt(v)}`)
    .join(", ");
}

/** Writes each chunk to `fd` in full; a UserError naming `path` when that fails. */
export function fileSink(fd: number, path: string): (chunk: Buffer) => void {
  return (chunk) => {
    let off = 0;
    try {
      while (off < chunk.length) off += writeSync(fd, chunk, off, chunk.length - off);
    } catch (err) {
      throw new UserError(`cannot write ${q(path)}: ${(err as Error).message}`);
    }
  };
}

/**
 * How long a run to topics goes: --duration (default 60 s unless --count is given), and how many
 * events it expects (--count, or fewer when the duration at the rate holds fewer).
 */
export function topicRunLength(
  opts: { count?: number; duration?: number },
  perSecond: number,
): { durationMs: number | undefined; expected: number } {
  const durationMs = opts.duration ?? (opts.count === undefined ? DEFAULT_TOPIC_DURATION_MS : undefined);
  const expected = Math.min(
    opts.count ?? Infinity,
    durationMs === undefined ? Infinity : Math.floor((perSecond * durationMs) / 1000),
  );
  if (expected < 1) {
    throw usageError(
      `--duration at --rate ${formatRate(perSecond)} spans less than one event; give a longer duration`,
    );
  }
  return { durationMs, expected };
}
