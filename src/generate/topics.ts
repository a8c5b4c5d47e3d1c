/**
 * Multi-topic scenarios (Scenario.topics): each generated line goes to the topic its generator's
 * `topic` names — one file per topic for a bounded output, one topic writer per topic for a live
 * producer.
 */
import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import type { ChunkSink } from "./bulk.js";
import type { RecordAppender } from "./live.js";
import type { MockGenerator } from "./types.js";

export interface TopicFilesResult {
  lines: number;
  bytes: number;
  /** Lines written per topic. */
  perTopic: Record<string, number>;
  interrupted: boolean;
}

export interface TopicFilesOptions {
  /** Stop after this many lines in all (default: no limit). */
  count?: number;
  /** Stop before the first line whose time (the generator's clock) is at or past this (default: none). */
  endTime?: number;
  signal?: AbortSignal;
  onProgress?: (lines: number) => void;
  /** Bytes buffered per topic before they go to its sink (default 1 MiB). */
  chunkBytes?: number;
}

function topicOf(generator: MockGenerator): string {
  const topic = generator.topic;
  if (topic === undefined)
    throw new Error(`scenario ${generator.scenario} does not say which topic a line goes to`);
  return topic;
}

/** Write a multi-topic generator's lines, each to the sink of its topic, as JSON lines. */
export async function writeTopicFiles(
  generator: MockGenerator,
  sinkFor: (topic: string) => ChunkSink,
  options: TopicFilesOptions = {},
): Promise<TopicFilesResult> {
  const count = options.count ?? Infinity;
  const endTime = options.endTime ?? Infinity;
  const chunkBytes = Math.max(4096, options.chunkBytes ?? 1 << 20);
  if (!Number.isFinite(count) && !Number.isFinite(endTime))
    throw new RangeError("writeTopicFiles needs a count or an end time");
  const pending = new Map<string, { parts: string[]; size: number; sink: ChunkSink }>();
  const perTopic: Record<string, number> = {};
  let lines = 0;
  let bytes = 0;
  const flush = async (topic: string): Promise<void> => {
    const p = pending.get(topic)!;
    if (p.parts.length === 0) return;
    const chunk = Buffer.from(p.parts.join("\n") + "\n", "utf8");
    p.parts = [];
    p.size = 0;
    bytes += chunk.length;
    await p.sink(chunk);
  };
  let interrupted = false;
  while (lines < count) {
    if (options.signal?.aborted) {
      interrupted = true;
      break;
    }
    if (generator.peekTime !== undefined && generator.peekTime() >= endTime) break;
    const line = generator.next();
    if (generator.time >= endTime) break; // a generator that cannot tell beforehand
    const topic = topicOf(generator);
    let p = pending.get(topic);
    if (p === undefined) pending.set(topic, (p = { parts: [], size: 0, sink: sinkFor(topic) }));
    p.parts.push(line);
    p.size += line.length + 1;
    perTopic[topic] = (perTopic[topic] ?? 0) + 1;
    lines++;
    if (p.size >= chunkBytes) {
      await flush(topic);
      options.onProgress?.(lines);
      await yieldToEventLoop(); // let signals in
    }
  }
  for (const topic of pending.keys()) await flush(topic);
  options.onProgress?.(lines);
  return { lines, bytes, perTopic, interrupted };
}

/**
 * For a paced live producer (`producePaced`): a generator and a writer such that every record of a
 * batch is appended to the topic of its line. The wrapper notes each line's topic as the batch is
 * made; the writer routes the batch in that order.
 */
export function routeByTopic(
  generator: MockGenerator,
  writerFor: (topic: string) => RecordAppender,
): { generator: MockGenerator; writer: RecordAppender } {
  const topics: string[] = [];
  const wrapped: MockGenerator = {
    get scenario() {
      return generator.scenario;
    },
    next() {
      const line = generator.next();
      topics.push(topicOf(generator));
      return line;
    },
    get key() {
      return generator.key;
    },
    get topic() {
      return generator.topic;
    },
    get time() {
      return generator.time;
    },
    get produced() {
      return generator.produced;
    },
    take(n: number) {
      const out: string[] = [];
      for (let i = 0; i < n; i++) out.push(this.next());
      return out;
    },
    stats: () => generator.stats(),
    describe: () => generator.describe(),
  };
  const writer: RecordAppender = {
    append(records) {
      const byTopic = new Map<string, { key?: string | null; value: string }[]>();
      for (let i = 0; i < records.length; i++) {
        const topic = topics[i];
        let list = byTopic.get(topic);
        if (list === undefined) byTopic.set(topic, (list = []));
        list.push(records[i]);
      }
      topics.splice(0, records.length);
      for (const [topic, list] of byTopic) writerFor(topic).append(list);
    },
  };
  return { generator: wrapped, writer };
}
