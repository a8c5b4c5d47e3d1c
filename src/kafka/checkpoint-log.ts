/**
 * A pipeline's checkpoints on Kafka: one compacted topic, `weir.<pipeline>.checkpoints`, written
 * only inside the pipeline's transactions, so a checkpoint is committed atomically with the output
 * records it accounts for.
 *
 * Two kinds of entry:
 * - a **snapshot** (every checkpoint interval): the task's state, input positions, table and lake
 *   positions. It can be large, so it is cut into chunks (`snapshot/chunk/<i>`) followed by a head
 *   (`snapshot`) naming its sequence and chunk count.
 * - a **commit** (every transaction, typically every few tens of milliseconds): `commit/<n>`, the
 *   input positions after the transaction and the order in which partitions were read since the
 *   previous commit. Commits are small; they are what keeps output latency low without writing the
 *   whole state every time.
 *
 * Recovery restores the last snapshot and re-reads the input of the commits after it in their
 * recorded order, with topic outputs suppressed (they are committed already): the state ends
 * exactly where the last committed transaction left it. Each snapshot deletes (tombstones) the
 * commits it supersedes, so compaction keeps the topic small.
 */
import { upgradeCheckpoint, type PipelineCheckpoint, type SinkCommit } from "../runtime/checkpoint.js";

/** `[topic, partition, endOffset]`: records of that partition up to endOffset (exclusive) were read next. */
export type ReadSegment = [topic: string, partition: number, endOffset: number];

export interface KafkaCommit {
  /** The snapshot this commit follows. */
  snapshot: number;
  /** 1, 2, ... after each snapshot. */
  n: number;
  /** What was read since the previous commit (or the snapshot), in order. */
  segments: ReadSegment[];
  /** The user's sinks' prepared values as of this commit. */
  sinks?: SinkCommit;
}

/** What recovery needs: the last snapshot and the commits after it, in order. */
export interface RecoveredCheckpoint {
  /** The pipeline's checkpoint format (runtime/checkpoint.ts), the same as the embedded log's file. */
  snapshot: PipelineCheckpoint;
  commits: KafkaCommit[];
}

export const SNAPSHOT_KEY = "snapshot";
const CHUNK_PREFIX = "snapshot/chunk/";
const COMMIT_PREFIX = "commit/";
/** Characters per snapshot chunk: well under Kafka's default 1 MB message limit. */
export const CHUNK_CHARS = 256 * 1024;

export function checkpointTopic(pipeline: string): string {
  return `weir.${pipeline}.checkpoints`;
}

/** Broker settings of the checkpoint topic: compacted, never deleted by age or size. */
export const CHECKPOINT_TOPIC_CONFIG: Record<string, string> = {
  "cleanup.policy": "compact",
  "retention.ms": "-1",
  "retention.bytes": "-1",
  "min.compaction.lag.ms": "0",
};

export interface CheckpointEntry {
  key: string;
  /** null is a tombstone. */
  value: string | null;
}

interface SnapshotHead {
  sequence: number;
  chunks: number;
  /** Commits written after the previous snapshot (to tombstone them). */
}

/** The entries of a snapshot: its chunks, its head, and tombstones for what it supersedes. */
export function snapshotEntries(
  snapshot: PipelineCheckpoint,
  previous: { chunks: number; commits: number },
): CheckpointEntry[] {
  const json = JSON.stringify(snapshot);
  const entries: CheckpointEntry[] = [];
  let chunks = 0;
  for (let at = 0; at < json.length || chunks === 0; at += CHUNK_CHARS) {
    entries.push({
      key: `${CHUNK_PREFIX}${chunks}`,
      value: JSON.stringify({ sequence: snapshot.sequence, data: json.slice(at, at + CHUNK_CHARS) }),
    });
    chunks++;
  }
  for (let i = chunks; i < previous.chunks; i++) entries.push({ key: `${CHUNK_PREFIX}${i}`, value: null });
  for (let n = 1; n <= previous.commits; n++) entries.push({ key: `${COMMIT_PREFIX}${n}`, value: null });
  const head: SnapshotHead = { sequence: snapshot.sequence, chunks };
  entries.push({ key: SNAPSHOT_KEY, value: JSON.stringify(head) });
  return entries;
}

export function commitEntry(commit: KafkaCommit): CheckpointEntry {
  return { key: `${COMMIT_PREFIX}${commit.n}`, value: JSON.stringify(commit) };
}

/**
 * Folds the committed entries of the checkpoint topic (in offset order) into the last complete
 * snapshot and its commits. Undefined when the pipeline never wrote a snapshot.
 */
export class CheckpointFolder {
  private readonly latest = new Map<string, string>();

  add(key: string, value: string | null): void {
    if (value === null) this.latest.delete(key);
    else this.latest.set(key, value);
  }

  result(): RecoveredCheckpoint | undefined {
    const headText = this.latest.get(SNAPSHOT_KEY);
    if (headText === undefined) return undefined;
    const head = JSON.parse(headText) as SnapshotHead;
    let json = "";
    for (let i = 0; i < head.chunks; i++) {
      const chunkText = this.latest.get(`${CHUNK_PREFIX}${i}`);
      const chunk =
        chunkText === undefined ? undefined : (JSON.parse(chunkText) as { sequence: number; data: string });
      if (chunk === undefined || chunk.sequence !== head.sequence) {
        throw new Error(
          `checkpoint topic is inconsistent: chunk ${i} of snapshot ${head.sequence} is ${chunk === undefined ? "missing" : `from snapshot ${chunk.sequence}`}`,
        );
      }
      json += chunk.data;
    }
    const snapshot = upgradeCheckpoint(JSON.parse(json), `snapshot ${head.sequence} of the checkpoint topic`);
    const commits: KafkaCommit[] = [];
    for (const [key, value] of this.latest) {
      if (!key.startsWith(COMMIT_PREFIX)) continue;
      const commit = JSON.parse(value) as KafkaCommit;
      if (commit.snapshot === head.sequence) commits.push(commit);
    }
    commits.sort((a, b) => a.n - b.n);
    for (let i = 0; i < commits.length; i++) {
      if (commits[i].n !== i + 1)
        throw new Error(
          `checkpoint topic is inconsistent: commit ${i + 1} after snapshot ${head.sequence} is missing`,
        );
    }
    return { snapshot, commits };
  }
}
