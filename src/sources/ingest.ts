/**
 * The ingest loop of a pipeline's own source (`p.source(topic, { from })`, contract.ts): reads the
 * source's splits and appends their records to the source topic through one committed writer of the
 * log contract, committing the records with the splits' positions every `commitIntervalMs`. Opening
 * the writer again recovers the last commit — the positions to resume from — and drops what was
 * appended after it, so a replayable source lands in the topic exactly once on the embedded log and
 * on Kafka alike.
 */
import { inspect } from "node:util";
import { WeirError } from "../errors.js";
import type { CommittedWriter, TopicLog } from "../log/contract.js";
import type { ProducerRecord } from "../log/types.js";
import type { Logger } from "../util/logger.js";
import { cutText, wellFormed } from "../util/text.js";
import { DEAD_LETTER_HEADER } from "../util/records.js";
import type { Source, SourceContext, SourceRecord, SplitReader } from "./contract.js";

export interface IngestOptions {
  log: TopicLog;
  pipeline: string;
  topic: string;
  source: Source;
  /**
   * Stop once every split is finished or has nothing ready (what the source holds now: a run with
   * `untilEnd`); otherwise run until `signal` aborts or every split is finished.
   */
  drain?: boolean;
  signal: AbortSignal;
  logger: Logger;
  /** Default 100 ms. */
  commitIntervalMs?: number;
  /** Records asked of a split per read; default 1000. */
  maxBatch?: number;
}

export interface IngestSummary {
  /** Records appended to the topic by this run of the loop. */
  records: number;
  /** Records whose value could not be written: in the topic marked as dead letters, with the reason. */
  deadLetters: number;
  commits: number;
}

/** What a commit of the ingest writer holds. */
interface IngestState {
  version: 1;
  /** Each split's position after the records committed so far. */
  positions: Record<string, unknown>;
}

/** The committed writer of a pipeline's source topic (one per topic). */
export function ingestWriterId(pipeline: string, topic: string): string {
  return `weir.${pipeline}.ingest.${topic}`;
}

export async function ingest(o: IngestOptions): Promise<IngestSummary> {
  const { log, topic, source, signal } = o;
  const context: SourceContext = { pipeline: o.pipeline, topic };
  const label = `source ${source.name} (${topic})`;
  await log.ensureTopic(topic);
  const writer = await log.openCommittedWriter(ingestWriterId(o.pipeline, topic), [topic]);
  const summary: IngestSummary = { records: 0, deadLetters: 0, commits: 0 };
  const readers: SplitReader[] = [];
  try {
    const saved = recoveredPositions(writer, label);
    const names = await splitNames(source, context, label);
    for (const name of names)
      readers.push(
        await sourceCall(label, `opening split ${name}`, () => source.open(name, saved[name], context)),
      );
    if (writer.recovered !== undefined)
      o.logger.info(`${o.pipeline}: ${label}: resuming after commit ${writer.recovered.sequence}`);
    const positions: Record<string, unknown> = { ...saved };
    const open = new Set(names.map((_, i) => i));
    const interval = o.commitIntervalMs ?? 100;
    const max = o.maxBatch ?? 1000;
    let pending = 0;
    let lastCommit = Date.now();
    const commit = async () => {
      let state: string;
      try {
        state = JSON.stringify({ version: 1, positions } satisfies IngestState);
      } catch (err) {
        throw new WeirError(
          "SOURCE_FAILED",
          `${label}: a split's position cannot be written as JSON (${(err as Error).message})`,
        );
      }
      await writer.commit({ positions: {}, state });
      summary.commits++;
      pending = 0;
      lastCommit = Date.now();
    };
    while (open.size > 0 && !signal.aborted) {
      const round = [...open];
      const batches = await Promise.all(
        round.map((i) => sourceCall(label, `reading split ${names[i]}`, () => readers[i].read(max, signal))),
      );
      let got = 0;
      for (let k = 0; k < round.length; k++) {
        const i = round[k];
        const batch = batches[k];
        if (batch === null || batch === undefined) {
          open.delete(i);
          pending++; // a finished split is worth a commit of where it ended
          continue;
        }
        const records: ProducerRecord[] = [];
        for (const r of batch.records) {
          const record = toProducerRecord(r);
          if (typeof record === "string") {
            // The topic gets what can be shown of it, marked: the pipeline's source makes it a
            // dead letter with the reason (DEAD_LETTER_HEADER).
            summary.deadLetters++;
            records.push(markedDeadLetter(`${label}, split ${names[i]}: ${record}`, r));
          } else records.push(record);
        }
        if (records.length > 0) writer.send(topic, records);
        positions[names[i]] = batch.position;
        got += batch.records.length;
        summary.records += records.length;
      }
      pending += got;
      if (pending > 0 && (Date.now() - lastCommit >= interval || open.size === 0)) await commit();
      if (o.drain === true && got === 0) break;
    }
    if (pending > 0) await commit();
    return summary;
  } finally {
    for (const r of readers) await Promise.resolve(r.close?.()).catch(() => undefined);
    await writer.close();
  }
}

/** A call into the user's source; what it throws stops the run as SOURCE_FAILED naming the source. */
async function sourceCall<T>(label: string, doing: string, call: () => T | Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw new WeirError(
      "SOURCE_FAILED",
      `${label}: ${doing} failed: ${(err as Error)?.message ?? String(err)}`,
      { cause: err },
    );
  }
}

function recoveredPositions(writer: CommittedWriter, label: string): Record<string, unknown> {
  if (writer.recovered === undefined) return {};
  try {
    const state = JSON.parse(writer.recovered.state) as IngestState;
    return state.positions ?? {};
  } catch (err) {
    throw new WeirError(
      "CORRUPT",
      `${label}: the last commit of writer ${writer.id} cannot be read (${(err as Error).message})`,
    );
  }
}

async function splitNames(source: Source, context: SourceContext, label: string): Promise<string[]> {
  const names = [
    ...((await sourceCall(label, "listing its splits", () => source.splits?.(context))) ?? ["0"]),
  ];
  const seen = new Set<string>();
  for (const n of names) {
    if (typeof n !== "string" || n === "" || seen.has(n))
      throw new WeirError(
        "SOURCE_FAILED",
        `${label}: splits() must give distinct, non-empty names; got ${JSON.stringify(names)}`,
      );
    seen.add(n);
  }
  if (names.length === 0) throw new WeirError("SOURCE_FAILED", `${label}: splits() gave no split`);
  return names;
}

/** The record for the topic, or why its value cannot be written. */
function toProducerRecord(r: SourceRecord): ProducerRecord | string {
  const v = r.value;
  let value: string | Buffer;
  if (typeof v === "string") value = v;
  else if (v instanceof Uint8Array) value = Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  else {
    let json: string | undefined;
    try {
      json = JSON.stringify(v);
    } catch (err) {
      return `the value cannot be written as JSON: ${(err as Error).message}`;
    }
    if (json === undefined)
      return `the value cannot be written as JSON: ${v === undefined ? "undefined" : typeof v}`;
    value = json;
  }
  const timestamp = r.timestamp;
  return {
    value,
    ...(typeof r.key === "string" ? { key: r.key } : {}),
    ...(typeof timestamp === "number" && Number.isFinite(timestamp) ? { timestamp } : {}),
  };
}

/** A record of the topic that the pipeline's source reads as a dead letter with `reason`. */
function markedDeadLetter(reason: string, r: SourceRecord): ProducerRecord {
  // What can be shown of a value with no JSON: as Node prints it ({ n: 99n }).
  const raw = inspect(r.value, { depth: 6, breakLength: Infinity, maxStringLength: 65_536 });
  return {
    value: wellFormed(cutText(raw, 65_536)),
    headers: [{ key: DEAD_LETTER_HEADER, value: Buffer.from(wellFormed(reason)) }],
    ...(typeof r.key === "string" ? { key: r.key } : {}),
  };
}
