/**
 * `weir consume TOPIC`: print record values, one per line, from the beginning (or a group's
 * committed offsets) to the current end of every partition; with --follow, keep printing new
 * records until SIGINT/SIGTERM. With `--broker` / `$WEIR_BROKER`, the same on a Kafka cluster
 * (src/cli/kafka/consume.ts).
 *
 * Order: each partition is read in offset order; partitions are interleaved by record timestamp,
 * ties broken by partition number (a k-way merge over the partitions' heads). While following,
 * records are merged the same way among those available at the moment (a record that arrives
 * later is printed later, even if its timestamp is older).
 */
import type { Command } from "commander";
import type { LogRecord } from "../../log/types.js";
import type { PartitionReader } from "../../log/index.js";
import { usageError } from "../../errors.js";
import { BROKER_OPTION_HELP, resolveBroker } from "../broker.js";
import { followPromotion, resolveDataDir, withLog } from "../data-dir.js";
import { unknownTopicError } from "../errors.js";
import { plural, q } from "../format.js";
import { intParser, type GlobalOptions } from "../options.js";
import { OutputBuffer, info } from "../output.js";
import { shutdownSignal } from "../shutdown.js";
import { existsSync } from "node:fs";

export interface ConsumeOptions extends GlobalOptions {
  broker?: string;
  group?: string;
  follow?: boolean;
  max?: number;
  partition?: number;
  fromBeginning?: boolean;
  fromEnd?: boolean;
  keys?: boolean;
  original?: boolean;
}

/** Records per poll of one partition. */
const POLL_RECORDS = 2000;
/** How long one wait for new data lasts before checking again (ms). */
const WAIT_MS = 1000;
/** While following, committed offsets are saved at most this often (ms), and at exit. */
const COMMIT_INTERVAL_MS = 1000;

export function register(program: Command): void {
  program
    .command("consume")
    .description("print record values (one per line) from the beginning to the current end of a topic")
    .argument("<topic>", "topic to read")
    .option("-g, --group <group>", "start at the group's committed offsets and commit what was printed")
    .option("-f, --follow", "after the end, wait for new records and print them until Ctrl-C")
    .option("-n, --max <n>", "stop after printing this many records", intParser(0))
    .option("-p, --partition <p>", "read only this partition", intParser(0))
    .option("--from-beginning", "start at the oldest retained record (the default without --group)")
    .option("--from-end", "start at the current end (only new records; use with --follow)")
    .option("--keys", "print each record as KEY<tab>VALUE (a record without key prints null)")
    .option("--broker <url>", BROKER_OPTION_HELP)
    .option("--original", "read this topic even when `weir promote` sends its readers to a newer version")
    .addHelpText(
      "after",
      "\nRecords are printed exactly as stored (the value's bytes), one per line. Partitions are read in\n" +
        "offset order and interleaved by timestamp (then partition number).\n\n" +
        "Examples:\n" +
        "  weir consume events --max 10\n" +
        "  weir consume events --group reports        # resumes where the last `--group reports` run stopped\n" +
        "  weir consume alerts --follow --from-end    # tail new records until Ctrl-C\n" +
        "  weir consume alerts --broker kafka://127.0.0.1:9092   # read committed records on Kafka\n",
    )
    .action(async (topic: string, _opts: ConsumeOptions, cmd: Command) => {
      const opts = cmd.optsWithGlobals<ConsumeOptions>();
      await consume(opts.original ? topic : followPromotion("topics", topic, opts), opts);
    });
}

/** One partition being read: a reader, the records polled but not printed yet, and a limit. */
interface Source {
  readonly partition: number;
  readonly reader: PartitionReader;
  buf: LogRecord[];
  i: number;
  /** Stop before this offset (the end snapshot when not following). */
  limit: number;
  /** Next offset to commit (the offset after the last record printed); -1 when nothing was printed. */
  printed: number;
}

/** Make sure `s` has a record at its head; false when it has none right now (or reached its limit). */
function refill(s: Source): boolean {
  if (s.i < s.buf.length) return true;
  const position = s.reader.position;
  if (position >= s.limit) return false;
  const want = Number.isFinite(s.limit) ? Math.min(POLL_RECORDS, s.limit - position) : POLL_RECORDS;
  let recs = s.reader.poll(want);
  if (recs.length > 0 && recs[recs.length - 1].offset >= s.limit)
    recs = recs.filter((r) => r.offset < s.limit);
  s.buf = recs;
  s.i = 0;
  return recs.length > 0;
}

/** Heap order: the head with the smaller timestamp first, then the smaller partition. */
function before(a: Source, b: Source): boolean {
  const ra = a.buf[a.i];
  const rb = b.buf[b.i];
  return ra.timestamp < rb.timestamp || (ra.timestamp === rb.timestamp && a.partition < b.partition);
}

function siftDown(heap: Source[], at: number): void {
  const n = heap.length;
  const item = heap[at];
  for (;;) {
    const l = 2 * at + 1;
    if (l >= n) break;
    const r = l + 1;
    const c = r < n && before(heap[r], heap[l]) ? r : l;
    if (!before(heap[c], item)) break;
    heap[at] = heap[c];
    at = c;
  }
  heap[at] = item;
}

export async function consume(topic: string, opts: ConsumeOptions): Promise<void> {
  if (opts.fromBeginning && opts.fromEnd)
    throw usageError("give either --from-beginning or --from-end, not both");
  const broker = resolveBroker(opts);
  if (broker !== undefined) {
    const { consumeFromKafka } = await import("../kafka/consume.js");
    return consumeFromKafka(topic, opts, broker);
  }
  const dataDir = resolveDataDir(opts);
  if (!existsSync(dataDir)) throw unknownTopicError(topic, dataDir);
  const stop = shutdownSignal();
  const out = new OutputBuffer();
  const max = opts.max ?? Infinity;
  const follow = opts.follow === true;
  const group = opts.group;
  const NEWLINE = 10;
  const TAB = 9;
  const NULL_KEY = Buffer.from("null");

  await withLog(dataDir, async (log) => {
    if (!log.hasTopic(topic)) throw unknownTopicError(topic, dataDir);
    const description = log.describeTopic(topic);
    const partitionCount = description.partitions.length;
    if (opts.partition !== undefined && opts.partition >= partitionCount) {
      throw usageError(
        `topic ${q(topic)} has no partition ${opts.partition} (it has ${plural(partitionCount, "partition")}: 0..${partitionCount - 1})`,
      );
    }
    const committed = group !== undefined ? (log.readGroupOffsets(group)[topic] ?? {}) : {};
    const sources: Source[] = [];
    for (const p of description.partitions) {
      if (opts.partition !== undefined && p.partition !== opts.partition) continue;
      let from: number;
      if (opts.fromEnd) from = p.endOffset;
      else if (group !== undefined && committed[p.partition] !== undefined) from = committed[p.partition];
      else from = p.startOffset;
      // A committed offset may have been deleted by retention (or be past a recreated topic's end).
      from = Math.min(Math.max(from, p.startOffset), p.endOffset);
      sources.push({
        partition: p.partition,
        reader: log.reader(topic, p.partition, from),
        buf: [],
        i: 0,
        limit: follow ? Infinity : p.endOffset,
        printed: -1,
      });
    }

    let count = 0;
    let lastCommit = Date.now();
    let committedCount = 0;
    const commit = (): void => {
      if (group === undefined) return;
      const offsets: Record<number, number> = {};
      let any = false;
      for (const s of sources) {
        if (s.printed >= 0) {
          offsets[s.partition] = s.printed;
          any = true;
        }
      }
      if (any && count !== committedCount) log.commitGroupOffsets(group, { [topic]: offsets });
      committedCount = count;
      lastCommit = Date.now();
    };
    const done = (): boolean => count >= max || stop.aborted || out.broken;

    /** Print what is available (up to each source's limit), merged by timestamp then partition. */
    const drain = async (): Promise<void> => {
      const heap = sources.filter(refill);
      for (let k = (heap.length >> 1) - 1; k >= 0; k--) siftDown(heap, k);
      while (heap.length > 0 && !done()) {
        const s = heap[0];
        const rec = s.buf[s.i++];
        if (opts.keys) {
          out.writeBytes(rec.key ?? NULL_KEY);
          out.writeByte(TAB);
        }
        out.writeBytes(rec.value);
        out.writeByte(NEWLINE);
        s.printed = rec.offset + 1;
        count++;
        if (refill(s)) {
          siftDown(heap, 0);
        } else {
          const last = heap.pop()!;
          if (heap.length > 0) {
            heap[0] = last;
            siftDown(heap, 0);
          }
        }
        if (out.full) await out.flush();
      }
    };

    try {
      await drain();
      while (follow && !done()) {
        await out.flush();
        if (group !== undefined && Date.now() - lastCommit >= COMMIT_INTERVAL_MS) commit();
        if (!sources.some((s) => s.i < s.buf.length)) await waitForAny(sources, stop);
        await drain();
      }
      await out.flush();
    } finally {
      commit();
      for (const s of sources) s.reader.close();
    }
    if (stop.aborted && !opts.quiet && group !== undefined)
      info(`stopped; committed offsets of group ${q(group)}`);
  });
}

/** Wait until any partition may have new data, the timeout passes, or `stop` fires. */
async function waitForAny(sources: readonly Source[], stop: AbortSignal): Promise<void> {
  if (stop.aborted || sources.length === 0) return;
  const round = new AbortController();
  const onStop = () => round.abort();
  stop.addEventListener("abort", onStop, { once: true });
  try {
    await Promise.race(sources.map((s) => s.reader.waitForData(WAIT_MS, round.signal).catch(() => false)));
  } finally {
    stop.removeEventListener("abort", onStop);
    round.abort();
  }
}
