/**
 * A running aggregate per key (no window): never late, never closes. Each update goes to the
 * step's consumers (`when` / `toStream`).
 */
import type { AggregateFunction, Key, RecordContext } from "../graph/graph.js";
import { foldInto } from "./aggregations.js";
import {
  StepFailure,
  type Operator,
  type Stateful,
  type StepCounters,
  type UpdateConsumer,
} from "./types.js";

interface AggregateSnapshot {
  entries: Array<[Key, unknown]>;
  /** Per consumer (in declaration order), the keys it already fired for (crossing). */
  fired: Key[][];
}

export class AggregateOperator implements Operator, Stateful {
  readonly counters: StepCounters = { recordsIn: 0, recordsOut: 0 };
  private accs = new Map<Key, unknown>();
  private readonly consumers: UpdateConsumer[] = [];
  private fired: Set<Key>[] = [];

  constructor(
    readonly id: string,
    private readonly fn: AggregateFunction<any, any, any>,
  ) {}

  addConsumer(c: UpdateConsumer): void {
    this.consumers.push(c);
    this.fired.push(new Set());
  }

  push(value: unknown, ctx: RecordContext): void {
    this.counters.recordsIn++;
    const key = ctx.key;
    if (key === undefined)
      throw new StepFailure(this.id, new Error("aggregate needs a keyed stream (keyBy before it)"));
    const result = foldInto(this.fn, this.accs, key, value, this.id);
    this.counters.recordsOut++;
    const consumers = this.consumers;
    for (let i = 0; i < consumers.length; i++)
      consumers[i].update(key, result, undefined, ctx, this.fired[i]);
  }

  /** The current value for a key (the serving view of the table). */
  get(key: Key): unknown {
    const acc = this.accs.get(key);
    return acc === undefined ? undefined : this.fn.result(acc);
  }

  stateSize(): number {
    return this.accs.size;
  }

  snapshot(): AggregateSnapshot {
    const save = this.fn.save;
    const entries: Array<[Key, unknown]> = [];
    for (const [k, acc] of this.accs) entries.push([k, save ? save(acc) : acc]);
    return { entries, fired: this.fired.map((s) => [...s]) };
  }

  restore(state: unknown): void {
    const s = state as AggregateSnapshot;
    const load = this.fn.load;
    this.accs = new Map(s.entries.map(([k, saved]) => [k, load ? load(saved) : saved]));
    this.fired = this.consumers.map((_, i) => new Set(s.fired[i] ?? []));
  }
}
