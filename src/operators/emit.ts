/**
 * The `when(predicate, { emit })` / `toStream()` step: turns an aggregate's updates into records.
 *
 * - crossing: one record per key (per key and window) on the update that first makes the predicate true;
 * - changes: one record on every update while the predicate is true;
 * - final: one record per key when its window closes, if the predicate holds for the final value.
 */
import type { EmitMode, Key, RecordContext } from "../graph/graph.js";
import type { Window } from "../time/windows.js";
import { isThenable, thenableResult } from "./sync-only.js";
import { StepFailure, type Operator, type StepCounters, type UpdateConsumer } from "./types.js";

/** An update of a running aggregate, as a record. */
export interface Update<K, V> {
  key: K;
  value: V;
}

/** An update of a windowed aggregate, as a record. `window.start`/`end` print as ISO-8601 UTC. */
export interface WindowedUpdate<K, V> {
  key: K;
  window: Window;
  value: V;
}

export class EmitOperator implements UpdateConsumer {
  readonly counters: StepCounters = { recordsIn: 0, recordsOut: 0 };
  next!: Operator;
  constructor(
    readonly id: string,
    readonly mode: EmitMode,
    private readonly predicate: ((value: any, key: any) => boolean) | undefined,
  ) {}

  update(key: Key, value: unknown, window: Window | undefined, ctx: RecordContext, fired: Set<Key>): void {
    this.counters.recordsIn++;
    if (this.mode === "final") return;
    if (this.predicate !== undefined && !this.test(value, key)) return;
    if (this.mode === "crossing") {
      if (fired.has(key)) return;
      fired.add(key);
    }
    this.emit(key, value, window, ctx);
  }

  final(key: Key, value: unknown, window: Window, ctx: RecordContext): void {
    if (this.mode !== "final") return;
    this.counters.recordsIn++;
    if (this.predicate !== undefined && !this.test(value, key)) return;
    this.emit(key, value, window, ctx);
  }

  private test(value: unknown, key: Key): boolean {
    try {
      const pass = this.predicate!(value, key);
      if (isThenable(pass)) throw thenableResult("the when predicate", pass);
      return pass;
    } catch (err) {
      throw new StepFailure(this.id, err);
    }
  }

  private emit(key: Key, value: unknown, window: Window | undefined, ctx: RecordContext): void {
    const record: Update<Key, unknown> | WindowedUpdate<Key, unknown> =
      window === undefined ? { key, value } : { key, window, value };
    this.counters.recordsOut++;
    this.next.push(record, ctx);
  }
}
