/**
 * Graceful shutdown of a command on SIGINT/SIGTERM, sleeping that a signal cuts short, and pacing
 * to a rate (`--rate`).
 */
import { sleep } from "../util/sleep.js";

/** Sleep `ms` milliseconds, or less if `signal` aborts (never rejects). */
export { sleep };

let shutdownController: AbortController | undefined;

/**
 * An AbortSignal that fires on the first SIGINT or SIGTERM, for commands that stop gracefully
 * (finish the batch, commit, close). A second signal exits immediately (130).
 */
export function shutdownSignal(): AbortSignal {
  if (shutdownController === undefined) {
    const ctl = new AbortController();
    shutdownController = ctl;
    const onSignal = (sig: NodeJS.Signals) => {
      if (ctl.signal.aborted) {
        process.stderr.write(`weir: ${sig} again; exiting without cleanup\n`);
        process.exit(130);
      }
      ctl.abort(sig);
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  }
  return shutdownController.signal;
}

/**
 * Paces work to a rate (records per second) without busy waiting: `await take(max)` returns how
 * many records may be sent now (1..max), sleeping in ticks of at least `minTickMs` until some are
 * due. After a stall (slow input) it catches up by at most `maxBurstMs` worth of records, so the
 * output never bursts far above the rate. Returns 0 only when `signal` aborts.
 */
export class RatePacer {
  readonly perSecond: number;
  private readonly minTickMs: number;
  private readonly maxBurst: number;
  private start = performance.now();
  private sent = 0;

  constructor(perSecond: number, options: { minTickMs?: number; maxBurstMs?: number } = {}) {
    if (!(perSecond > 0)) throw new RangeError("rate must be > 0");
    this.perSecond = perSecond;
    this.minTickMs = options.minTickMs ?? 5;
    this.maxBurst = Math.max(1, Math.floor((perSecond * (options.maxBurstMs ?? 100)) / 1000));
  }

  /** Records the rate allows by now, minus those already taken. */
  private due(): number {
    const elapsed = performance.now() - this.start;
    let due = Math.floor((elapsed * this.perSecond) / 1000) + 1 - this.sent;
    if (due > this.maxBurst) {
      // Behind schedule (the input stalled): forget the debt beyond one burst.
      this.start += ((due - this.maxBurst) * 1000) / this.perSecond;
      due = this.maxBurst;
    }
    return due;
  }

  async take(max: number, signal?: AbortSignal): Promise<number> {
    for (;;) {
      if (signal?.aborted) return 0;
      const due = this.due();
      if (due > 0) {
        const n = Math.min(due, Math.max(1, max));
        this.sent += n;
        return n;
      }
      const nextAt = this.start + (this.sent * 1000) / this.perSecond;
      await sleep(Math.max(this.minTickMs, Math.ceil(nextAt - performance.now())), signal);
    }
  }
}
