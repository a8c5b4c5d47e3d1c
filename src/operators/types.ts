/**
 * What every operator implements, and what operators write to. The runtime wires operator
 * instances into a push-based chain: a record flows depth-first through its steps synchronously.
 */
import type { Key, RecordContext } from "../graph/graph.js";
import type { Window } from "../time/windows.js";
import type { SinkRecord } from "../sinks/contract.js";

/** Records in and out of a step: the runtime's per-step metrics. */
export interface StepCounters {
  recordsIn: number;
  recordsOut: number;
}

export interface Operator {
  readonly id: string;
  readonly counters: StepCounters;
  push(value: unknown, ctx: RecordContext): void;
}

/** A step that keeps state: checkpointed by its id. */
export interface Stateful {
  readonly id: string;
  /** JSON-safe state. */
  snapshot(): unknown;
  restore(state: unknown): void;
  /** Entries held (keys, or key-window pairs), for the state-size metric. */
  stateSize(): number;
}

/** A step whose output depends on time passing (windows). */
export interface TimeDriven {
  /** The watermark (event time) or wall clock (processing time) moved: close what is due. */
  onTime(): void;
}

/** Where the operators' records leave the pipeline: output topics, dead letters, late records, tables, lake. */
export interface OutputCollector {
  /** `partition` places the record explicitly (watermarks broadcast to every partition of a repartition topic). */
  append(topic: string, key: string | null, value: string, timestamp: number, partition?: number): void;
  /**
   * The next version of `key` in a versioned table; `seq` numbers the table's updates from 1. `json`
   * is the value as the table stores it (made by the step, which checked that it can be written).
   * May throw UnwritableValue (src/util/records.ts) for a value that cannot be written.
   */
  upsert(table: string, key: string, value: unknown, ctx: RecordContext, seq: number, json?: string): void;
  /** A row for a lake dataset. May throw UnwritableValue for a row that cannot be written. */
  land(dataset: string, row: unknown, eventTime: number): void;
  /**
   * A record for the user's sink of step `step` (`sinkTo`). `origin` is the record's context,
   * copied (the collector may keep it): what its dead letter names if the sink cannot deliver it.
   */
  deliver(step: string, record: SinkRecord, origin: RecordContext): void;
}

/** A consumer of an aggregate's updates (the `when` / `toStream` step). */
export interface UpdateConsumer {
  /** The aggregate for `key` (in `window`, if windowed) changed to `value`. `fired` holds the keys this consumer already fired for (crossing). */
  update(key: Key, value: unknown, window: Window | undefined, ctx: RecordContext, fired: Set<Key>): void;
  /** A window closed with this final value. */
  final(key: Key, value: unknown, window: Window, ctx: RecordContext): void;
}

/** A user function threw: the record becomes a dead letter naming the step. */
export class StepFailure extends Error {
  constructor(
    readonly stepId: string,
    cause: unknown,
  ) {
    super(`step ${stepId} failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = "StepFailure";
  }
}

/** Forwards to several downstream operators, in the order the pipeline declared them. */
export class Fanout implements Operator {
  readonly counters: StepCounters = { recordsIn: 0, recordsOut: 0 };
  constructor(
    readonly id: string,
    private readonly targets: readonly Operator[],
  ) {}
  /**
   * Every branch sees the record even when an earlier branch's step fails. After them, a failure is
   * rethrown: the first one, naming every other failed step too, so that the record's one dead
   * letter says which branches did not get it.
   */
  push(value: unknown, ctx: RecordContext): void {
    const t = this.targets;
    const key = ctx.key;
    let failure: StepFailure | undefined;
    let others: StepFailure[] | undefined;
    for (let i = 0; i < t.length; i++) {
      ctx.key = key;
      try {
        t[i].push(value, ctx);
      } catch (err) {
        if (!(err instanceof StepFailure)) throw err;
        if (failure === undefined) failure = err;
        else (others ??= []).push(err);
      }
    }
    ctx.key = key;
    if (failure === undefined) return;
    if (others !== undefined) failure.message = [failure, ...others].map((f) => f.message).join("; ");
    throw failure;
  }
}

/** A blank record context (each source, and each window step for its firings, owns one and reuses it). */
export function newRecordContext(): RecordContext {
  return { key: undefined, timestamp: 0, topic: "", partition: -1, offset: -1, raw: "", headers: undefined };
}

/** Drops records (a step nobody reads from). */
export const NOWHERE: Operator = {
  id: "nowhere",
  counters: { recordsIn: 0, recordsOut: 0 },
  push() {},
};
