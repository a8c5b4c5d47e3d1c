/**
 * An HTTP webhook sink, written against Weir's public sink contract only (`Sink`, `SinkWriter`
 * from "weir"): what a user writes to send a pipeline's records to a system Weir does not own.
 *
 *   stream.sinkTo(webhookSink({ url: "https://hooks.example.com/alerts" }))
 *
 * Each record is POSTed as JSON, with an `Idempotency-Key` header holding the record's id — the
 * same on every replay — so a receiver that remembers the keys it has seen processes each record
 * once, though it may be sent more than once (after a crash, records since the last checkpoint are
 * sent again). Delivery:
 * - Records of one key are sent one after the other, in order; different keys go concurrently
 *   (`concurrency` requests at most).
 * - A network error, a timeout, 408, 429 or 5xx is retried with exponential backoff and full
 *   jitter (`backoffMs` doubling up to `maxBackoffMs`; a `Retry-After` in seconds is honoured up
 *   to that cap), at most `maxAttempts` attempts in all.
 * - Any other answer (a 4xx: the receiver refuses the record), or the last failed attempt, makes
 *   the record a dead letter of the sink's step, with the reason (`<pipeline>.dlq`). The run goes
 *   on; a pipeline's dead-letter limit (`--max-dead-letter-ratio`) stops it when the endpoint is
 *   down for good.
 *
 * write() returns once every record of the batch is delivered or given up, so the pipeline
 * slows down to the endpoint's pace instead of piling records up, and a checkpoint never passes a
 * record still in flight.
 */
import type { Sink, SinkContext, SinkRecord, SinkWriteResult, SinkWriter } from "../../src/index.js";

export interface WebhookSinkOptions<T> {
  /** Where records are POSTed (http or https). */
  url: string;
  /** The sink's name (the step is `sink:<name>` unless named); default "webhook". */
  name?: string;
  /** Attempts per record before it becomes a dead letter (default 5). */
  maxAttempts?: number;
  /** Delay before the first retry, doubling after each (default 200 ms). */
  backoffMs?: number;
  /** The longest delay between two attempts (default 10 s). */
  maxBackoffMs?: number;
  /** Give up on one attempt after this long (default 10 s). */
  timeoutMs?: number;
  /** Requests in flight at once, over different keys (default 8). */
  concurrency?: number;
  /** Extra request headers (an Authorization header, say). */
  headers?: Record<string, string>;
  /** The request body for a record; default: the record's value as JSON. */
  body?: (record: SinkRecord<T>) => string;
  /** Waits between attempts (tests shorten or record them); default: a timer. */
  sleep?: (ms: number) => Promise<void>;
}

/** Why one attempt failed, and whether another may succeed. */
interface AttemptFailure {
  reason: string;
  retryable: boolean;
  /** Seconds of a Retry-After header, when the receiver sent one. */
  retryAfterS?: number;
}

export function webhookSink<T>(options: WebhookSinkOptions<T>): Sink<T> {
  const url = new URL(options.url); // a malformed URL fails when the pipeline is built
  if (url.protocol !== "http:" && url.protocol !== "https:")
    throw new Error(`webhookSink: the url must be http or https, got ${options.url}`);
  const maxAttempts = Math.max(1, options.maxAttempts ?? 5);
  const backoffMs = options.backoffMs ?? 200;
  const maxBackoffMs = options.maxBackoffMs ?? 10_000;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const concurrency = Math.max(1, options.concurrency ?? 8);
  const body = options.body ?? ((r: SinkRecord<T>) => JSON.stringify(r.value));
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));

  async function attempt(record: SinkRecord<T>): Promise<AttemptFailure | undefined> {
    let response: Response;
    try {
      response = await fetch(url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          ...options.headers,
          "idempotency-key": record.id,
        },
        body: body(record),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      return { reason: networkReason(err, timeoutMs), retryable: true };
    }
    // The body is not used: read it so the connection can be reused.
    await response.arrayBuffer().catch(() => undefined);
    if (response.ok) return undefined;
    const status = response.status;
    const retryAfter = Number(response.headers.get("retry-after"));
    return {
      reason: `HTTP ${status}${response.statusText ? ` ${response.statusText}` : ""}`,
      retryable: status === 408 || status === 429 || status >= 500,
      ...(Number.isFinite(retryAfter) && retryAfter >= 0 ? { retryAfterS: retryAfter } : {}),
    };
  }

  /** Deliver one record, retrying; the reason it was given up, or undefined once delivered. */
  async function deliver(record: SinkRecord<T>): Promise<string | undefined> {
    for (let n = 1; ; n++) {
      const failure = await attempt(record);
      if (failure === undefined) return undefined;
      if (!failure.retryable) return `POST ${url.href}: ${failure.reason} (not retried)`;
      if (n >= maxAttempts) return `POST ${url.href}: ${failure.reason} after ${n} attempts`;
      const ceiling = Math.min(maxBackoffMs, backoffMs * 2 ** (n - 1));
      const delay =
        failure.retryAfterS !== undefined
          ? Math.min(maxBackoffMs, failure.retryAfterS * 1000)
          : Math.random() * ceiling;
      await sleep(delay);
    }
  }

  return {
    name: options.name ?? "webhook",
    open(context: SinkContext): SinkWriter<T> {
      context.logger.info(
        `${context.step}: sending records to ${url.origin}${url.pathname} (task ${context.task})`,
      );
      return {
        async write(records: readonly SinkRecord<T>[]): Promise<SinkWriteResult<T>> {
          // One lane per key (by a hash of the key): a key's records in order, lanes concurrently.
          const lanes: SinkRecord<T>[][] = Array.from(
            { length: Math.min(concurrency, records.length) },
            () => [],
          );
          let next = 0;
          for (const r of records) {
            const lane = r.key === null ? next++ % lanes.length : hash(r.key) % lanes.length;
            lanes[lane].push(r);
          }
          const failed: Array<{ record: SinkRecord<T>; error: string }> = [];
          await Promise.all(
            lanes.map(async (lane) => {
              for (const r of lane) {
                const error = await deliver(r);
                if (error !== undefined) failed.push({ record: r, error });
              }
            }),
          );
          return { failed };
        },
      };
    },
  };
}

/** A small string hash (FNV-1a) for choosing a key's lane. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** The reason a request got no answer: a timeout, or the system's error (ECONNREFUSED...). */
function networkReason(err: unknown, timeoutMs: number): string {
  const e = err as Error & { cause?: { code?: string; message?: string; errors?: Array<{ code?: string }> } };
  if (e.name === "TimeoutError") return `no answer within ${timeoutMs} ms`;
  const cause = e.cause;
  return cause?.code ?? cause?.errors?.find((x) => x.code !== undefined)?.code ?? cause?.message ?? e.message;
}
