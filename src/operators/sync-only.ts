/**
 * Steps are synchronous: a user function that returns a Promise would otherwise pass it on as a
 * value (`{}` in JSON, truthy in a filter, `"[object Promise]"` as a key). Per record, a function
 * that returned a thenable fails the record: it becomes a dead letter naming the step.
 */

/** Why an async step is refused, in every message about it. */
export const ASYNC_NOT_SUPPORTED =
  "async steps are not supported yet (async enrichment is planned): return the value itself, not a Promise";

/** Is `x` a Promise or another thenable. Cheap enough for every record: one typeof for non-objects. */
export function isThenable(x: unknown): boolean {
  return typeof x === "object" && x !== null && typeof (x as { then?: unknown }).then === "function";
}

/**
 * The error for a step whose function (`what`, e.g. "the map function") returned a thenable. A
 * rejection of that promise is ignored: the record is a dead letter already, and an unhandled
 * rejection would end the process.
 */
export function thenableResult(what: string, result: unknown): Error {
  if (result instanceof Promise) result.catch(ignore);
  return new Error(`${what} returned a Promise; ${ASYNC_NOT_SUPPORTED}`);
}

function ignore(): void {}
