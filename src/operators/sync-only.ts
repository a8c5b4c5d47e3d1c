/**
 * Steps are synchronous: a user function that returns a Promise would otherwise pass it on as a
 * value (`{}` in JSON, truthy in a filter, `"[object Promise]"` as a key). It is refused three ways:
 * by the types (`SyncResult`), when the pipeline is built (an `async function`), and per record (a
 * plain function that returned a thenable: the record becomes a dead letter naming the step).
 */

/** Why an async step is refused, in every message about it. */
export const ASYNC_NOT_SUPPORTED =
  "async steps are not supported yet (async enrichment is planned): return the value itself, not a Promise";

/** The type a step's function may return in place of a Promise, so that the compile error says why. */
export type AsyncCallbacksAreNotSupported =
  "async callbacks are not supported yet: return the value itself, not a Promise";

/**
 * `R`, unless it is (or may be) a Promise or another thenable: then a type no Promise is assignable
 * to, which makes an async callback a compile error that names the reason. A callback whose result
 * is a type parameter of the caller's own generic code cannot be proven not to be a Promise: annotate
 * it `as SyncResult<X>`.
 */
export type SyncResult<R> = R extends PromiseLike<unknown> ? AsyncCallbacksAreNotSupported : R;

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

/** An `async function`, async arrow or async generator function (also from another realm, or bound). */
export function isAsyncFunction(fn: unknown): boolean {
  if (typeof fn !== "function") return false;
  const tag = Object.prototype.toString.call(fn);
  return tag === "[object AsyncFunction]" || tag === "[object AsyncGeneratorFunction]";
}
