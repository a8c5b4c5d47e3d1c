/**
 * Options of the stream-stream joins (`Stream.intervalJoin`, `Stream.joinNearest`) and how they
 * become a graph node. Semantics: src/operators/interval-join.ts and docs/semantics.md#joins.
 */
import { WeirError } from "../errors.js";
import type { JoinNode, JoinPick, JoinUnmatched, Key } from "../graph/graph.js";
import { parseDuration, type Duration } from "../util/duration.js";
import { refuseAsync, type GraphBuilder, type StepOptions } from "./builder.js";

/** A joined record: the left record and its partner from the right stream. */
export interface Joined<L, R> {
  left: L;
  right: R;
}

export interface JoinKeyOptions<L, R> {
  /**
   * Match only records whose keys are equal (a per-key join, as Flink's keyed interval join):
   * `{ left: (e) => e.household_id, right: (w) => w.household_id }`. Default: any record within
   * the interval matches.
   */
  on?: { left: (value: L) => Key; right: (value: R) => Key };
}

export interface IntervalJoinOptions<L, R> extends StepOptions, JoinKeyOptions<L, R> {
  /** A right record may lie this far before the left record's event time ("30m", ms; default 0). */
  before?: Duration;
  /** A right record may lie this far after the left record's event time ("30m", ms; default 0). */
  after?: Duration;
  /**
   * "all" (default): one output per matching right record (Flink's interval join). "nearest": one
   * output with the right record nearest in event time (a tie goes to the earlier one).
   */
  pick?: JoinPick;
  /**
   * A left record with no right record in its interval: "drop" (default; an inner join, counted in
   * the step's `unmatched` metric) or "keep" (a left outer join: one output with `right: null`).
   */
  unmatched?: JoinUnmatched;
}

export interface NearestJoinOptions<L, R> extends StepOptions, JoinKeyOptions<L, R> {
  /** The largest distance in event time between partners, either way ("30m", ms). */
  within: Duration;
  /** See IntervalJoinOptions.unmatched (default "drop"). */
  unmatched?: JoinUnmatched;
}

function duration(what: string, value: Duration | undefined): number {
  if (value === undefined) return 0;
  try {
    return parseDuration(value);
  } catch (err) {
    throw new WeirError("INVALID_PIPELINE", `join ${what}: ${(err as Error).message}`);
  }
}

/** Add a join node reading `left` and `right`; returns its id. */
export function addJoin(
  b: GraphBuilder,
  left: string,
  right: string,
  options: IntervalJoinOptions<any, any>,
): string {
  const pick = options.pick ?? "all";
  if (pick !== "all" && pick !== "nearest")
    throw new WeirError(
      "INVALID_PIPELINE",
      `join pick must be "all" or "nearest", got ${JSON.stringify(pick)}`,
    );
  const unmatched = options.unmatched ?? "drop";
  if (unmatched !== "drop" && unmatched !== "keep")
    throw new WeirError(
      "INVALID_PIPELINE",
      `join unmatched must be "drop" or "keep", got ${JSON.stringify(unmatched)}`,
    );
  const on = options.on;
  if (on !== undefined && (typeof on.left !== "function" || typeof on.right !== "function"))
    throw new WeirError(
      "INVALID_PIPELINE",
      "join on needs two functions: { left: (l) => key, right: (r) => key }",
    );
  const id = b.idFor("join", options.name);
  refuseAsync(id, "the join's on.left function", on?.left);
  refuseAsync(id, "the join's on.right function", on?.right);
  const node: JoinNode = {
    kind: "join",
    id,
    input: left,
    other: right,
    beforeMs: duration("before", options.before),
    afterMs: duration("after", options.after),
    pick,
    unmatched,
    on,
  };
  b.add(node);
  return id;
}

/** joinNearest's options as interval join options. */
export function nearestOptions(options: NearestJoinOptions<any, any>): IntervalJoinOptions<any, any> {
  if (options === undefined || options.within === undefined)
    throw new WeirError("INVALID_PIPELINE", 'joinNearest needs { within }: the largest time gap, e.g. "30m"');
  const within = duration("within", options.within);
  return {
    name: options.name,
    before: within,
    after: within,
    pick: "nearest",
    unmatched: options.unmatched,
    on: options.on,
  };
}
