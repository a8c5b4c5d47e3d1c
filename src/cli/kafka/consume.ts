/**
 * `weir consume TOPIC --broker kafka://...` (loaded by src/cli/commands/consume.ts): print a
 * Kafka topic's record values the way `weir consume` prints the embedded log's: from the beginning
 * (or the group's committed offsets) to the end each partition had when the command started, or
 * following new records with --follow.
 *
 * - Read committed only: Weir's pipelines write their outputs in transactions, so the end is the
 *   last stable offset and records of aborted transactions are skipped (src/kafka/topic-reader.ts).
 * - Order: each partition in offset order; partitions interleaved by record timestamp, ties broken
 *   by partition number, exactly like the embedded log. While following, merged the same way among
 *   the records fetched so far.
 * - Groups: `--group G` starts at G's committed offsets (the beginning where it has none) and
 *   commits the offsets after the records printed (at exit, and about once a second while
 *   following). It does not join G as a member: the offsets are read and committed the way
 *   Kafka's admin tools do (Kafka refuses the commit while G has active members, e.g. a running
 *   Java consumer), and two `weir consume --group G` at once both read every partition, as on the
 *   embedded log.
 */
import { usageError } from "../../errors.js";
import type { BrokerChoice } from "../broker.js";
import { plural, q } from "../format.js";
import { OutputBuffer, info } from "../output.js";
import { shutdownSignal } from "../shutdown.js";
import { brokerAddress, unknownKafkaTopicError } from "./support.js";
import { KafkaCluster } from "../../kafka/connection.js";
import { KafkaTopicReader, type FetchedRecord } from "../../kafka/topic-reader.js";

/** The options of `weir consume` this path reads (src/cli/commands/consume.ts has them all). */
export interface KafkaConsumeOptions {
  group?: string;
  follow?: boolean;
  max?: number;
  partition?: number;
  fromEnd?: boolean;
  keys?: boolean;
  quiet?: boolean;
}

/** How long a broker may hold a fetch while it has no new records (--follow), ms. */
const FOLLOW_WAIT_MS = 500;
/** The same before the end taken at start (data is there: only a truncated partition waits). */
const BOUNDED_WAIT_MS = 100;
/** While following, committed offsets are saved at most this often (ms), and at exit. */
const COMMIT_INTERVAL_MS = 1000;
/**
 * A bounded read gives up on a partition that returns nothing this many times in a row before
 * its end (the end offsets were taken at start, so this only happens when the partition was
 * truncated or recreated meanwhile).
 */
const MAX_EMPTY_FETCHES = 20;

interface Source {
  readonly partition: number;
  /** Next offset to fetch. */
  position: number;
  /** Stop before this offset (the end at start; Infinity while following). */
  limit: number;
  buf: FetchedRecord[];
  i: number;
  /** Next offset to commit (after the last record printed); -1 when nothing was printed. */
  printed: number;
  emptyFetches: number;
}

const NEWLINE = 10;
const TAB = 9;
const NULL_TEXT = Buffer.from("null");

export async function consumeFromKafka(
  topic: string,
  opts: KafkaConsumeOptions,
  choice: BrokerChoice,
): Promise<void> {
  const address = brokerAddress(choice);
  const stop = shutdownSignal();
  const out = new OutputBuffer();
  const max = opts.max ?? Infinity;
  const follow = opts.follow === true;
  const group = opts.group;
  const cluster = new KafkaCluster(address);
  const reader = new KafkaTopicReader(address, topic, { clientId: "weir-consume" });
  let count = 0;
  let sources: Source[] = [];
  let committedCount = 0;
  let lastCommit = Date.now();

  const commit = async (): Promise<void> => {
    if (group === undefined || count === committedCount) return;
    const offsets = new Map<number, number>();
    for (const s of sources) if (s.printed >= 0) offsets.set(s.partition, s.printed);
    await cluster.commitOffsets(group, topic, offsets);
    committedCount = count;
    lastCommit = Date.now();
  };

  try {
    const md = await cluster.topicMetadata(topic);
    if (md === undefined) throw unknownKafkaTopicError(topic, choice);
    const partitionCount = md.partitionsCount;
    if (opts.partition !== undefined && opts.partition >= partitionCount) {
      throw usageError(
        `topic ${q(topic)} has no partition ${opts.partition} (it has ${plural(partitionCount, "partition")}: 0..${partitionCount - 1})`,
      );
    }
    const selected: number[] = [];
    for (let p = 0; p < partitionCount; p++)
      if (opts.partition === undefined || p === opts.partition) selected.push(p);
    const [starts, ends, committed] = await Promise.all([
      cluster.startOffsets(topic),
      cluster.endOffsets(topic),
      group !== undefined ? cluster.committedOffsets(group, topic, selected) : new Map<number, number>(),
    ]);
    sources = selected.map((partition) => {
      const start = starts[partition] ?? 0;
      const end = ends[partition] ?? 0;
      let from = opts.fromEnd ? end : (committed.get(partition) ?? start);
      // A committed offset may have been deleted by retention (or be past a recreated topic's end).
      from = Math.min(Math.max(from, start), end);
      return {
        partition,
        position: from,
        limit: follow ? Infinity : end,
        buf: [],
        i: 0,
        printed: -1,
        emptyFetches: 0,
      };
    });

    const done = (): boolean => count >= max || stop.aborted || out.broken;
    const hasHead = (s: Source): boolean => s.i < s.buf.length;
    const finished = (s: Source): boolean => !hasHead(s) && s.position >= s.limit;

    /** Fetch for every source with nothing buffered and more to read. */
    const refill = async (waitMs: number): Promise<void> => {
      const want = sources.filter((s) => !hasHead(s) && s.position < s.limit);
      if (want.length === 0) return;
      const positions = want.map((s) => ({ partition: s.partition, offset: s.position }));
      const fetched = await abortable(reader.fetch(positions, waitMs), stop);
      if (fetched === undefined) return;
      for (const f of fetched) {
        const s = sources.find((x) => x.partition === f.partition)!;
        if (f.outOfRange) {
          // Deleted by retention meanwhile (continue at the oldest record), or truncated.
          const [starts, ends] = await Promise.all([cluster.startOffsets(topic), cluster.endOffsets(topic)]);
          s.position = Math.min(
            Math.max(s.position, starts[s.partition] ?? 0),
            ends[s.partition] ?? s.position,
          );
          continue;
        }
        const before = s.position;
        s.buf = follow ? f.records : f.records.filter((r) => r.offset < s.limit);
        s.i = 0;
        s.position = Math.max(before, f.next);
        if (s.buf.length === 0 && s.position === before && s.position < s.limit && !follow) {
          if (++s.emptyFetches >= MAX_EMPTY_FETCHES) {
            info(`partition ${s.partition} of ${q(topic)} ended at offset ${s.position}, before ${s.limit}`);
            s.limit = s.position;
          }
        } else s.emptyFetches = 0;
      }
    };

    /** Print the smallest head (timestamp, then partition) of the sources that have one. */
    const printNext = (heads: Source[]): Source => {
      let best = heads[0];
      for (let k = 1; k < heads.length; k++) {
        const a = heads[k].buf[heads[k].i];
        const b = best.buf[best.i];
        if (a.timestamp < b.timestamp || (a.timestamp === b.timestamp && heads[k].partition < best.partition))
          best = heads[k];
      }
      const rec = best.buf[best.i++];
      if (opts.keys) {
        out.writeBytes(rec.key ?? NULL_TEXT);
        out.writeByte(TAB);
      }
      out.writeBytes(rec.value ?? NULL_TEXT);
      out.writeByte(NEWLINE);
      best.printed = rec.offset + 1;
      count++;
      return best;
    };

    if (!follow) {
      // Every unfinished partition needs its head before the next record can be chosen.
      while (!done()) {
        await refill(BOUNDED_WAIT_MS);
        if (sources.every(finished)) break;
        const active = sources.filter((s) => !finished(s));
        if (!active.every(hasHead)) continue;
        for (;;) {
          const s = printNext(active);
          if (out.full) await out.flush();
          if (done() || !hasHead(s)) break;
        }
      }
    } else {
      while (!done()) {
        await refill(FOLLOW_WAIT_MS);
        let heads = sources.filter(hasHead);
        while (heads.length > 0 && !done()) {
          const s = printNext(heads);
          if (!hasHead(s)) heads = heads.filter((x) => x !== s);
          if (out.full) await out.flush();
        }
        await out.flush();
        if (group !== undefined && Date.now() - lastCommit >= COMMIT_INTERVAL_MS) await commit();
      }
    }
    await out.flush();
    await commit();
    if (stop.aborted && !opts.quiet && group !== undefined)
      info(`stopped; committed offsets of group ${q(group)}`);
  } catch (err) {
    // Keep what was printed: commit it, then report the error.
    await out.flush().catch(() => {});
    await commit().catch(() => {});
    throw err;
  } finally {
    await reader.close();
    await cluster.close();
  }
}

/** `promise`, or undefined as soon as `signal` fires (the promise is left to settle). */
function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T | undefined> {
  if (signal.aborted) return Promise.resolve(undefined);
  return new Promise<T | undefined>((resolve, reject) => {
    const onAbort = () => resolve(undefined);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (err: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}
