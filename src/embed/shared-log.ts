/**
 * One opened embedded log per data directory in this process, shared by every run (and reader)
 * that uses it, and closed when the last one lets go.
 *
 * Two EmbeddedLog objects on one directory would work too (locks are per path and per process,
 * src/log/lock.ts), but sharing one means the directory is checked and its stale temporary files are
 * swept once, and the log is closed only after the last run has closed its own writers and readers —
 * never under a run still using it. Two pipelines writing the same topic are still refused
 * (PARTITION_LOCKED): one writer per partition, whoever asks.
 */
import { resolve } from "node:path";
import type { EmbeddedLog } from "../log/index.js";

interface Entry {
  log: EmbeddedLog;
  refs: number;
}

const open = new Map<string, Entry>();

export interface LogLease {
  readonly log: EmbeddedLog;
  /** Let go of the log; the last lease of a directory closes it. Idempotent. */
  release(): void;
}

/**
 * The log of `dataDir`, opened (creating the directory when missing) on first use. `logger` is the
 * log's own (a torn write repaired at open): the first lease's is kept while the log stays open.
 */
export async function leaseLog(dataDir: string, logger?: (message: string) => void): Promise<LogLease> {
  const key = resolve(dataDir);
  let entry = open.get(key);
  if (entry === undefined) {
    const { EmbeddedLog } = await import("../log/index.js");
    // Another lease may have opened it while the module loaded.
    entry = open.get(key);
    if (entry === undefined) {
      entry = { log: EmbeddedLog.open(key, logger === undefined ? {} : { logger }), refs: 0 };
      open.set(key, entry);
    }
  }
  entry.refs++;
  const held = entry;
  let released = false;
  return {
    log: held.log,
    release() {
      if (released) return;
      released = true;
      if (--held.refs > 0) return;
      if (open.get(key) === held) open.delete(key);
      held.log.close();
    },
  };
}

/** Data directories whose log is open in this process, with their number of leases (tests). */
export function openLogs(): Map<string, number> {
  return new Map([...open].map(([dir, e]) => [dir, e.refs]));
}
