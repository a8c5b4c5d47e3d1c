/** The key a sink step (toTable, sinkTo) gives a record. */
import type { Key, RecordContext } from "../graph/graph.js";
import { isThenable, thenableResult } from "./sync-only.js";
import { StepFailure } from "./types.js";

/**
 * The step's key function's result for `value`, or (without one) the key a keyBy gave the record.
 * A key function that throws, or returns a Promise, is a StepFailure of step `stepId`: the record
 * becomes a dead letter naming it.
 */
export function recordKey(
  stepId: string,
  keyFn: ((value: any) => Key | null | undefined) | undefined,
  value: unknown,
  ctx: RecordContext,
): Key | null | undefined {
  if (keyFn === undefined) return ctx.key;
  let key: Key | null | undefined;
  try {
    key = keyFn(value);
  } catch (err) {
    throw new StepFailure(stepId, err);
  }
  if (isThenable(key)) throw new StepFailure(stepId, thenableResult("the key function", key));
  return key;
}
