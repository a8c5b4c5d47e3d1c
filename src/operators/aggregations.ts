/**
 * Aggregate functions: how a keyed (and possibly windowed) aggregation folds records into an
 * accumulator. `add` returns the new accumulator, so immutable numbers and mutable objects both work.
 */
import { isThenable, thenableResult, type SyncResult } from "./sync-only.js";
import { StepFailure } from "./types.js";
import type { AggregateFunction } from "../graph/graph.js";

/** What users pass to `.aggregate(...)`. Every function is synchronous (an accumulator is not a Promise). */
export interface AggregateSpec<T, A, R = A> {
  init: () => SyncResult<A>;
  add: (acc: A, value: T) => A;
  merge?: (a: A, b: A) => A;
  result?: (acc: A) => SyncResult<R>;
  save?: (acc: A) => unknown;
  load?: (saved: unknown) => A;
}

const identity = <X>(x: X): X => x;

/** `x`, unless the user function `what` returned a thenable: then the record fails (see sync-only.ts). */
function sync<X>(x: X, what: string): X {
  if (isThenable(x)) throw thenableResult(what, x);
  return x;
}

export function fromSpec<T, A, R>(
  spec: AggregateSpec<T, A, R>,
  name = "aggregate",
): AggregateFunction<T, A, R> {
  const { merge, result } = spec;
  return {
    name,
    init: () => sync(spec.init() as A, `${name}'s init`),
    add: (acc, value) => sync(spec.add(acc, value), `${name}'s add`),
    merge: merge && ((a, b) => sync(merge.call(spec, a, b), `${name}'s merge`)),
    result: result
      ? (acc) => sync(result.call(spec, acc) as R, `${name}'s result`)
      : (identity as (acc: A) => R),
    save: spec.save,
    load: spec.load,
  };
}

/** A field function whose thenable result fails the record (`sum` would add "[object Promise]"). */
function field<T, F>(fn: (v: T) => F, aggregate: string): (v: T) => F {
  const what = `the field function of ${aggregate}`;
  return (v) => sync(fn(v), what);
}

export function countOf<T>(): AggregateFunction<T, number, number> {
  return {
    name: "count",
    init: () => 0,
    add: (acc) => acc + 1,
    merge: (a, b) => a + b,
    result: identity,
  };
}

export function sumOf<T>(fieldFn: (v: T) => number): AggregateFunction<T, number, number> {
  const get = field(fieldFn, "sum");
  return {
    name: "sum",
    field: fieldFn,
    init: () => 0,
    add: (acc, v) => acc + get(v),
    merge: (a, b) => a + b,
    result: identity,
  };
}

interface AvgAcc {
  sum: number;
  count: number;
}

export function avgOf<T>(fieldFn: (v: T) => number): AggregateFunction<T, AvgAcc, number> {
  const get = field(fieldFn, "avg");
  return {
    name: "avg",
    field: fieldFn,
    init: () => ({ sum: 0, count: 0 }),
    add: (acc, v) => {
      acc.sum += get(v);
      acc.count += 1;
      return acc;
    },
    merge: (a, b) => ({ sum: a.sum + b.sum, count: a.count + b.count }),
    result: (acc) => (acc.count === 0 ? NaN : acc.sum / acc.count),
  };
}

export function minOf<T>(fieldFn: (v: T) => number): AggregateFunction<T, number, number> {
  const get = field(fieldFn, "min");
  return {
    name: "min",
    field: fieldFn,
    init: () => Infinity,
    add: (acc, v) => Math.min(acc, get(v)),
    merge: (a, b) => Math.min(a, b),
    result: identity,
    save: (acc) => (acc === Infinity ? null : acc),
    load: (s) => (s === null ? Infinity : (s as number)),
  };
}

export function maxOf<T>(fieldFn: (v: T) => number): AggregateFunction<T, number, number> {
  const get = field(fieldFn, "max");
  return {
    name: "max",
    field: fieldFn,
    init: () => -Infinity,
    add: (acc, v) => Math.max(acc, get(v)),
    merge: (a, b) => Math.max(a, b),
    result: identity,
    save: (acc) => (acc === -Infinity ? null : acc),
    load: (s) => (s === null ? -Infinity : (s as number)),
  };
}

export function distinctCountOf<T>(
  fieldFn: (v: T) => string | number,
): AggregateFunction<T, Set<string | number>, number> {
  const get = field(fieldFn, "distinctCount");
  return {
    name: "distinctCount",
    field: fieldFn,
    init: () => new Set(),
    add: (acc, v) => acc.add(get(v)),
    merge: (a, b) => new Set([...a, ...b]),
    result: (acc) => acc.size,
    save: (acc) => Array.from(acc),
    load: (s) => new Set(s as Array<string | number>),
  };
}

/**
 * Fold `value` into the accumulator of `key` in `accs` and return the aggregate's new result.
 * A throwing user function fails the record as a step failure of `stepId`.
 */
export function foldInto(
  fn: AggregateFunction<any, any, any>,
  accs: Map<string | number, unknown>,
  key: string | number,
  value: unknown,
  stepId: string,
): unknown {
  try {
    let acc = accs.get(key);
    if (acc === undefined) acc = fn.init();
    acc = fn.add(acc, value);
    accs.set(key, acc);
    return fn.result(acc);
  } catch (err) {
    throw new StepFailure(stepId, err);
  }
}
