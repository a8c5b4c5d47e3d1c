/**
 * `weir consume TOPIC`: print record values, one per line, from the beginning (or a group's
 * committed offsets) to the end every partition had when the command started; with --follow, keep
 * printing new records until SIGINT/SIGTERM. One implementation for the embedded log and for a
 * Kafka cluster (`--broker` / `$WEIR_BROKER`): a reader of the one log interface
 * (src/log/contract.ts).
 *
 * - Order: each partition is read in offset order; partitions are interleaved by record timestamp,
 *   ties broken by partition number (a k-way merge over the partitions' heads). Up to the end taken
 *   at start, a record is printed only once every partition not finished yet has its next record
 *   fetched, so the output is the same on both backends, however their fetches are cut. While
 *   following, records are merged the same way among those fetched so far (a record that arrives
 *   later is printed later, even if its timestamp is older).
 * - On Kafka only committed records are read (read-committed): records of aborted transactions are
 *   skipped, and "the end" is each partition's last stable offset, so an open transaction is not
 *   waited for.
 * - Groups: `--group G` starts at G's committed offsets (the beginning where it has none) and
 *   commits the offsets after the records printed (at exit, and about once a second while
 *   following). On Kafka it does not join G as a member: the offsets are read and committed the
 *   way Kafka's admin tools do (Kafka refuses the commit while G has active members, e.g. a running
 *   Java consumer), and two `weir consume --group G` at once both read every partition, as on the
 *   embedded log.
 */
import type { Command } from "commander";
import type { LogEntry, LogTopicReader } from "../../log/contract.js";
import { usageError } from "../../errors.js";
import { BROKER_OPTION_HELP } from "../broker.js";
import { followPromotion } from "../data-dir.js";
import { plural, q } from "../format.js";
import { intParser, type GlobalOptions } from "../options.js";
import { OutputBuffer, info } from "../output.js";
import { shutdownSignal } from "../shutdown.js";
import { openCommandLog } from "../topic-log.js";

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

/** How long a fetch may wait for new records while following with nothing left to print (ms). */
const FOLLOW_WAIT_MS = 500;
/** The same before the end taken at start (the records are there: only a truncated partition waits). */
const BOUNDED_WAIT_MS = 100;
/** While following, committed offsets are saved at most this often (ms), and at exit. */
const COMMIT_INTERVAL_MS = 1000;
/**
 * A read up to the end taken at start gives up on a partition that returns nothing this many
 * times in a row before that end (it was truncated or recreated meanwhile).
 */
const MAX_EMPTY_FETCHES = 20;

const NEWLINE = 10;
const TAB = 9;
const NULL_TEXT = Buffer.from("null");

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

/** One partition being read: where it is, the records fetched but not printed yet, and a limit. */
interface Source {
  readonly partition: number;
  /** Next offset to fetch. */
  position: number;
  /** Stop before this offset (the end at start; Infinity while following). */
  limit: number;
  /** Fetched records; buf[i] is the head, the next to print. */
  buf: readonly LogEntry[];
  i: number;
  /** Next offset to commit (the offset after the last record printed); -1 when nothing was printed. */
  printed: number;
  /** Fetches in a row that returned nothing before the limit. */
  emptyFetches: number;
}

const hasHead = (s: Source): boolean => s.i < s.buf.length;
/** Nothing buffered, and more to read: the next fetch is for this source. */
const needsRecords = (s: Source): boolean => s.i >= s.buf.length && s.position < s.limit;

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

function siftUp(heap: Source[], at: number): void {
  const item = heap[at];
  while (at > 0) {
    const parent = (at - 1) >> 1;
    if (!before(item, heap[parent])) break;
    heap[at] = heap[parent];
    at = parent;
  }
  heap[at] = item;
}

function removeTop(heap: Source[]): void {
  const last = heap.pop()!;
  if (heap.length > 0) {
    heap[0] = last;
    siftDown(heap, 0);
  }
}

export async function consume(topic: string, opts: ConsumeOptions): Promise<void> {
  if (opts.fromBeginning && opts.fromEnd)
    throw usageError("give either --from-beginning or --from-end, not both");
  const { log, unknownTopic } = await openCommandLog(opts, { reads: topic });
  const stop = shutdownSignal();
  const out = new OutputBuffer();
  const max = opts.max ?? Infinity;
  const follow = opts.follow === true;
  const keys = opts.keys === true;
  const group = opts.group;
  let reader: LogTopicReader | undefined;
  const sources: Source[] = [];
  let count = 0;
  let committedCount = 0;
  let lastCommit = Date.now();

  const commit = async (): Promise<void> => {
    if (group === undefined || count === committedCount) return;
    const offsets = new Map<number, number>();
    for (const s of sources) if (s.printed >= 0) offsets.set(s.partition, s.printed);
    await log.commitGroupOffsets(group, topic, offsets);
    committedCount = count;
    lastCommit = Date.now();
  };
  const done = (): boolean => count >= max || stop.aborted || out.broken;

  try {
    const description = await log.describeTopic(topic);
    if (description === undefined) throw unknownTopic(topic);
    const partitionCount = description.partitions.length;
    if (opts.partition !== undefined && opts.partition >= partitionCount) {
      throw usageError(
        `topic ${q(topic)} has no partition ${opts.partition} (it has ${plural(partitionCount, "partition")}: 0..${partitionCount - 1})`,
      );
    }
    const committed = group !== undefined ? await log.groupOffsets(group, topic) : new Map<number, number>();
    for (const p of description.partitions) {
      if (opts.partition !== undefined && p.partition !== opts.partition) continue;
      let from = opts.fromEnd ? p.endOffset : (committed.get(p.partition) ?? p.startOffset);
      // A committed offset may have been deleted by retention (or be past a recreated topic's end).
      from = Math.min(Math.max(from, p.startOffset), p.endOffset);
      sources.push({
        partition: p.partition,
        position: from,
        limit: follow ? Infinity : p.endOffset,
        buf: [],
        i: 0,
        printed: -1,
        emptyFetches: 0,
      });
    }
    const byPartition = new Map(sources.map((s) => [s.partition, s]));
    const open = await log.openReader(topic);
    reader = open;

    /** Fetch for `want`; returns the sources that got records. */
    const refill = async (want: Source[], maxWaitMs: number): Promise<Source[]> => {
      const positions = want.map((s) => ({ partition: s.partition, offset: s.position }));
      const fetched = await open.fetch(positions, { maxWaitMs, signal: stop });
      const got: Source[] = [];
      // A partition missing from the answer (a Kafka leader moving) is asked for again next time.
      for (const f of fetched) {
        const s = byPartition.get(f.partition);
        if (s === undefined || hasHead(s)) continue;
        if (f.outOfRange) {
          // Deleted by retention meanwhile (continue at the oldest record), or truncated.
          const now = (await log.describeTopic(topic))?.partitions.find((p) => p.partition === s.partition);
          if (now === undefined) throw unknownTopic(topic);
          s.position = Math.min(Math.max(s.position, now.startOffset), now.endOffset);
          continue;
        }
        const at = s.position;
        let records = f.records;
        if (records.length > 0 && records[records.length - 1].offset >= s.limit)
          records = records.filter((r) => r.offset < s.limit);
        s.buf = records;
        s.i = 0;
        s.position = Math.max(at, f.next);
        if (records.length > 0) got.push(s);
        if (records.length === 0 && s.position === at && !follow) {
          if (++s.emptyFetches >= MAX_EMPTY_FETCHES) {
            info(`partition ${s.partition} of ${q(topic)} ended at offset ${s.position}, before ${s.limit}`);
            s.limit = s.position;
          }
        } else s.emptyFetches = 0;
      }
      return got;
    };

    const print = (s: Source): void => {
      const rec = s.buf[s.i++];
      if (keys) {
        out.writeBytes(rec.key ?? NULL_TEXT);
        out.writeByte(TAB);
      }
      out.writeBytes(rec.value ?? NULL_TEXT);
      out.writeByte(NEWLINE);
      s.printed = rec.offset + 1;
      count++;
    };

    /** The sources with a head, smallest head first. */
    const heap: Source[] = [];
    try {
      while (!done()) {
        const want = sources.filter(needsRecords);
        if (want.length > 0) {
          let waitMs = BOUNDED_WAIT_MS;
          if (follow) {
            // What was printed goes out before a wait, and is committed about once a second.
            const commitDue = group !== undefined && Date.now() - lastCommit >= COMMIT_INTERVAL_MS;
            if (heap.length === 0 || commitDue) await out.flush();
            if (commitDue) {
              await commit();
              lastCommit = Date.now();
            }
            // Wait only when there is nothing to print meanwhile.
            waitMs = heap.length === 0 ? FOLLOW_WAIT_MS : 0;
          }
          for (const s of await refill(want, waitMs)) {
            heap.push(s);
            siftUp(heap, heap.length - 1);
          }
          // Up to the end taken at start, the next record is chosen only among every unfinished
          // partition's head.
          if (!follow && sources.some(needsRecords)) continue;
        }
        if (heap.length === 0) {
          if (follow) continue;
          break; // every partition is at its end
        }
        // Print the smallest head until a partition needs more records.
        while (!done()) {
          const s = heap[0];
          print(s);
          if (hasHead(s)) siftDown(heap, 0);
          else {
            removeTop(heap);
            if (s.position < s.limit || heap.length === 0) break;
          }
          if (out.full) await out.flush();
        }
        if (out.full) await out.flush();
      }
    } catch (err) {
      // Keep what was printed: commit it, then report the error.
      await out.flush().catch(() => {});
      await commit().catch(() => {});
      throw err;
    }
    await out.flush();
    await commit();
  } finally {
    await reader?.close().catch(() => {});
    await log.close();
  }
  if (stop.aborted && !opts.quiet && group !== undefined)
    info(`stopped; committed offsets of group ${q(group)}`);
}
