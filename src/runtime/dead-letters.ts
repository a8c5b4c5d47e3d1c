/**
 * Makes a pipeline that fails on its records loud. Dead letters are data (DESIGN.md §4): a bad line
 * never crashes a run. But a step that fails on *every* record — a typo in a field name, a key
 * function returning undefined — would otherwise run to exit 0 with all its input in the dead
 * letters. A Task reports each dead letter here (`record`: a few integer operations and one map
 * lookup; records that do not fail cost nothing), and the runners ask after each batch:
 *
 * - `takeWarnings()`: steps whose last `warnAfter` (100) records all became dead letters, each step
 *   once — the runners print one warning line per step, naming it and the reason.
 * - `deadLetterRatioExceeded(limit, ...)`: more than `limit.maxRatio` of the records read so far
 *   became dead letters (evaluated once `limit.minRecords` were read): the runner checkpoints and
 *   stops with a DEAD_LETTER_RATIO error naming the ratio, the step and its most common reason.
 */
import { WeirError } from "../errors.js";
import type { StepCounters } from "../operators/types.js";

/** Records in a row at one step that must all fail before the step is reported. */
export const WARN_AFTER_RECORDS = 100;

/** Records read before a dead-letter ratio is evaluated, by default. */
export const DEFAULT_MIN_RECORDS = 1000;

/** Distinct reasons counted per step (beyond that, only those already seen are counted). */
const MAX_REASONS = 20;

/** A step that failed on every one of its last `records` records. */
export interface FailingStep {
  step: string;
  /** The records at the step, all dead letters (at least WARN_AFTER_RECORDS). */
  records: number;
  /** They were the step's first records (it never passed one). */
  first: boolean;
  /** The most common reason among them (without the `step X failed: ` prefix). */
  reason: string;
}

/** Stop the run once more than `maxRatio` of the records read became dead letters. */
export interface DeadLetterLimit {
  /** From 0 to 1: 0.5 stops once more than half of the records are dead letters. */
  maxRatio: number;
  /** Evaluated only once this many records were read; default DEFAULT_MIN_RECORDS. */
  minRecords?: number;
}

interface StepWatch {
  counters: StepCounters | undefined;
  deadLetters: number;
  /** Where the current stretch of records started: the step's records in and dead letters then. */
  inAtMark: number;
  deadAtMark: number;
  warned: boolean;
  reasons: Map<string, number>;
}

export class DeadLetterWatch {
  /** Dead letters reported. */
  deadLetters = 0;
  private readonly steps = new Map<string, StepWatch>();
  private readonly warnings: FailingStep[] = [];
  private taken = 0;

  /**
   * `countersOf(step)`: the records in/out of a step (undefined for one without counters: never
   * warned about); `records()`: the records read so far (the denominator of the ratio).
   */
  constructor(
    private readonly countersOf: (stepId: string) => StepCounters | undefined,
    readonly records: () => number,
    readonly warnAfter = WARN_AFTER_RECORDS,
  ) {}

  /** A record became a dead letter at `stepId` for `reason`. */
  record(stepId: string, reason: string): void {
    this.deadLetters++;
    let s = this.steps.get(stepId);
    if (s === undefined) {
      s = {
        counters: this.countersOf(stepId),
        deadLetters: 0,
        inAtMark: 0,
        deadAtMark: 0,
        warned: false,
        reasons: new Map(),
      };
      this.steps.set(stepId, s);
    }
    s.deadLetters++;
    const seen = s.reasons.get(reason);
    if (seen !== undefined) s.reasons.set(reason, seen + 1);
    else if (s.reasons.size < MAX_REASONS) s.reasons.set(reason, 1);
    if (s.warned || s.counters === undefined || s.deadLetters - s.deadAtMark < this.warnAfter) return;
    // A stretch of warnAfter dead letters: did every record of the stretch fail?
    const recordsIn = s.counters.recordsIn;
    const failed = s.deadLetters - s.deadAtMark;
    if (recordsIn - s.inAtMark <= failed) {
      s.warned = true;
      this.warnings.push({
        step: stepId,
        records: failed,
        first: s.inAtMark === 0,
        reason: stripStep(stepId, mostCommon(s.reasons)),
      });
    } else {
      s.inAtMark = recordsIn;
      s.deadAtMark = s.deadLetters;
    }
  }

  /** Steps found failing on every record since the last call (each step once in a task's life). */
  takeWarnings(): FailingStep[] {
    if (this.taken === this.warnings.length) return NONE;
    const out = this.warnings.slice(this.taken);
    this.taken = this.warnings.length;
    return out;
  }

  /** Every step found failing on every record so far. */
  allWarnings(): readonly FailingStep[] {
    return this.warnings;
  }

  /** Dead letters and reason counts per step (for the ratio's message). */
  stepCounts(): ReadonlyMap<string, { deadLetters: number; reasons: ReadonlyMap<string, number> }> {
    return this.steps;
  }
}

const NONE: FailingStep[] = [];

function mostCommon(reasons: ReadonlyMap<string, number>): string {
  let best = "";
  let n = -1;
  for (const [reason, count] of reasons)
    if (count > n) {
      best = reason;
      n = count;
    }
  return best;
}

/** `step keyBy-1 failed: key must be ...` -> `key must be ...` (the step is named separately). */
function stripStep(stepId: string, reason: string): string {
  const prefix = `step ${stepId} failed: `;
  return reason.startsWith(prefix) ? reason.slice(prefix.length) : reason;
}

/** What a run that went past its dead-letter ratio reports. */
export interface RatioExceeded {
  deadLetters: number;
  records: number;
  ratio: number;
  maxRatio: number;
  /** The step with the most dead letters, their number and most common reason. */
  step: string;
  stepDeadLetters: number;
  reason: string;
}

/**
 * Whether the tasks (`watches`: one per task of the process; their records and dead letters add
 * up) went past `limit`. Undefined while fewer than `limit.minRecords` records were read.
 */
export function deadLetterRatioExceeded(
  limit: DeadLetterLimit,
  watches: readonly DeadLetterWatch[],
): RatioExceeded | undefined {
  let records = 0;
  let deadLetters = 0;
  for (const w of watches) {
    records += w.records();
    deadLetters += w.deadLetters;
  }
  if (records === 0 || records < (limit.minRecords ?? DEFAULT_MIN_RECORDS)) return undefined;
  const ratio = deadLetters / records;
  if (!(ratio > limit.maxRatio)) return undefined;
  const byStep = new Map<string, { deadLetters: number; reasons: Map<string, number> }>();
  for (const w of watches)
    for (const [step, s] of w.stepCounts()) {
      let sum = byStep.get(step);
      if (sum === undefined) byStep.set(step, (sum = { deadLetters: 0, reasons: new Map() }));
      sum.deadLetters += s.deadLetters;
      for (const [reason, n] of s.reasons) sum.reasons.set(reason, (sum.reasons.get(reason) ?? 0) + n);
    }
  let step = "";
  let top = { deadLetters: 0, reasons: new Map<string, number>() };
  for (const [id, s] of byStep)
    if (s.deadLetters > top.deadLetters) {
      step = id;
      top = s;
    }
  return {
    deadLetters,
    records,
    ratio,
    maxRatio: limit.maxRatio,
    step,
    stepDeadLetters: top.deadLetters,
    reason: stripStep(step, mostCommon(top.reasons)),
  };
}

function percent(ratio: number): string {
  const p = ratio * 100;
  return `${p >= 10 || p === 0 ? Math.round(p) : p.toFixed(1)}%`;
}

/** The warning line for a step failing on every record (without the `weir: ` prefix). */
export function failingStepMessage(pipeline: string, deadLetterTopic: string, f: FailingStep): string {
  return (
    `${pipeline}: step ${f.step} fails on every record: its ${f.first ? "first" : "last"} ${f.records} ` +
    `records all became dead letters (topic ${deadLetterTopic}): ${f.reason}`
  );
}

/** The error a run stops with past its dead-letter ratio (checkpointed before it is thrown). */
export function ratioExceededError(pipeline: string, deadLetterTopic: string, r: RatioExceeded): WeirError {
  return new WeirError(
    "DEAD_LETTER_RATIO",
    `${pipeline}: stopped: ${r.deadLetters} of ${r.records} records (${percent(r.ratio)}) became dead letters, ` +
      `more than the maximum dead-letter ratio ${r.maxRatio}; most at step ${r.step} (${r.stepDeadLetters}): ${r.reason}. ` +
      `What was processed is checkpointed; fix the pipeline or its input and run again ` +
      `(the dead letters are on topic ${deadLetterTopic})`,
  );
}
