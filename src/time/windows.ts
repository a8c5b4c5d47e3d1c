/**
 * Window assigners. Tumbling and hopping windows are [start, end), aligned to the epoch; session
 * windows grow per key while events arrive within `gap` of each other.
 *
 * A window spec is plain data (serializable, printable); the operators interpret it.
 */
import { parseDuration } from "../util/duration.js";
import { WeirError } from "../errors.js";

export type TimeDomain = "event" | "processing";

export interface TumblingWindowSpec {
  readonly type: "tumbling";
  readonly sizeMs: number;
  readonly time: TimeDomain;
}
export interface HoppingWindowSpec {
  readonly type: "hopping";
  readonly sizeMs: number;
  readonly slideMs: number;
  readonly time: TimeDomain;
}
export interface SessionWindowSpec {
  readonly type: "session";
  readonly gapMs: number;
  readonly time: TimeDomain;
}
export type WindowSpec = TumblingWindowSpec | HoppingWindowSpec | SessionWindowSpec;

/** A window as user code sees it. `start` and `end` serialize to ISO-8601 UTC with milliseconds. */
export interface Window {
  readonly start: Date;
  readonly end: Date;
}

type Duration = string | number;

function toMs(d: Duration, what: string): number {
  const ms = typeof d === "number" ? d : parseDuration(d);
  if (!Number.isFinite(ms) || ms <= 0 || !Number.isInteger(ms)) {
    throw new WeirError(
      "USAGE",
      `${what} must be a positive whole number of milliseconds or a duration like "1m", got ${JSON.stringify(d)}`,
    );
  }
  return ms;
}

export interface WindowOptions {
  /** `event` (default): windows over the records' event time, closed by the watermark. `processing`: over the wall clock. */
  readonly time?: TimeDomain;
}

export const windows = {
  /** Fixed-size, non-overlapping windows: [k*size, (k+1)*size). */
  tumbling(size: Duration, options: WindowOptions = {}): TumblingWindowSpec {
    return Object.freeze({
      type: "tumbling",
      sizeMs: toMs(size, "window size"),
      time: options.time ?? "event",
    });
  },
  /** Fixed-size windows starting every `slide`: an event belongs to size/slide windows. */
  hopping(size: Duration, slide: Duration, options: WindowOptions = {}): HoppingWindowSpec {
    const sizeMs = toMs(size, "window size");
    const slideMs = toMs(slide, "window slide");
    if (slideMs > sizeMs)
      throw new WeirError(
        "USAGE",
        `hopping window slide (${slideMs} ms) must not exceed its size (${sizeMs} ms)`,
      );
    return Object.freeze({ type: "hopping", sizeMs, slideMs, time: options.time ?? "event" });
  },
  /** Per-key windows that stay open while events keep arriving within `gap`: [first, last + gap). */
  session(gap: Duration, options: WindowOptions = {}): SessionWindowSpec {
    return Object.freeze({ type: "session", gapMs: toMs(gap, "session gap"), time: options.time ?? "event" });
  },
};

/** Start of the epoch-aligned window of `sizeMs` (stepping by `slideMs`) that starts at or before t. */
export function alignedStart(t: number, slideMs: number): number {
  const r = t % slideMs;
  return r >= 0 ? t - r : t - r - slideMs;
}

export function describeWindow(spec: WindowSpec): string {
  const time = spec.time === "processing" ? ", processing time" : "";
  switch (spec.type) {
    case "tumbling":
      return `tumbling(${spec.sizeMs}ms${time})`;
    case "hopping":
      return `hopping(${spec.sizeMs}ms every ${spec.slideMs}ms${time})`;
    case "session":
      return `session(gap ${spec.gapMs}ms${time})`;
  }
}
