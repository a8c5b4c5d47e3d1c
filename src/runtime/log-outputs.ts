/**
 * The task's outputs, buffered per batch and appended to the embedded log's topics in one write
 * per topic. The pipeline is the only writer of its output topics (it holds their partition locks),
 * which is what lets a restart roll them back to the last checkpoint.
 */
import type { EmbeddedLog, TopicWriter } from "../log/index.js";
import type { ProducerRecord } from "../log/types.js";
import type { TopicPositions } from "./checkpoint.js";
import type { OutputTopic } from "./task.js";

export type OutputListener = (topic: string, key: string | null, value: string) => void;

export class LogOutputs {
  private readonly writers = new Map<string, TopicWriter>();
  private readonly pending = new Map<string, ProducerRecord[]>();
  /** Records appended to the log so far (not counting what a restart rolled back). */
  written = 0;
  private buffered = 0;
  listener: OutputListener | undefined;

  constructor(log: EmbeddedLog, topics: readonly OutputTopic[]) {
    try {
      for (const { topic, partitions } of topics) {
        log.ensureTopic(topic, { partitions });
        this.writers.set(topic, log.writer(topic));
        this.pending.set(topic, []);
      }
    } catch (err) {
      // A topic locked by another writer: let go of the ones taken (the log may be shared and
      // stay open, src/embed/shared-log.ts).
      for (const w of this.writers.values()) w.close();
      throw err;
    }
  }

  append(topic: string, key: string | null, value: string, timestamp: number): void {
    const list = this.pending.get(topic);
    if (list === undefined) throw new Error(`internal: no writer for output topic ${topic}`);
    list.push({ key, value, timestamp: Number.isFinite(timestamp) ? timestamp : undefined });
    this.buffered++;
    if (this.listener) this.listener(topic, key, value);
  }

  get pendingCount(): number {
    return this.buffered;
  }

  /** Append what the last batch produced. */
  flush(): void {
    if (this.buffered === 0) return;
    for (const [topic, list] of this.pending) {
      if (list.length === 0) continue;
      this.writers.get(topic)!.append(list);
      this.written += list.length;
      list.length = 0;
    }
    this.buffered = 0;
  }

  /** fsync every output (checkpoint step 1). */
  sync(): void {
    for (const w of this.writers.values()) w.flush();
  }

  /** End offset of every output partition (checkpoint step 2). */
  positions(): TopicPositions {
    const out: TopicPositions = {};
    for (const [topic, w] of this.writers) {
      const parts: Record<string, number> = {};
      for (let p = 0; p < w.partitionCount; p++) parts[p] = w.endOffset(p);
      out[topic] = parts;
    }
    return out;
  }

  /** Roll outputs back to a checkpoint's positions: what was written after it is discarded. */
  rollBackTo(positions: TopicPositions, report: (message: string) => void): void {
    for (const [topic, parts] of Object.entries(positions)) {
      const w = this.writers.get(topic);
      if (w === undefined) continue;
      for (const [p, offset] of Object.entries(parts)) {
        const partition = Number(p);
        if (partition >= w.partitionCount) continue;
        const end = w.endOffset(partition);
        if (end > offset) {
          w.truncate(partition, offset);
          report(
            `rolled back ${end - offset} record(s) of ${topic}/${partition} written after the last checkpoint`,
          );
        }
      }
    }
  }

  close(): void {
    for (const w of this.writers.values()) w.close();
  }
}
