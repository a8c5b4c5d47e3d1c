/**
 * Which partition a record goes to, the way Kafka's default partitioner does it, so that a keyed
 * stream is partitioned identically on the embedded log and on a Kafka cluster.
 */
import { WeirError } from "../errors.js";

/** Kafka's Utils.murmur2: the signed 32-bit murmur2 hash (seed 0x9747b28c) of the bytes. */
export function murmur2(data: Buffer): number {
  return murmur2Range(data, 0, data.length);
}

function murmur2Range(data: Uint8Array, start: number, end: number): number {
  const length = end - start;
  const m = 0x5bd1e995;
  let h = 0x9747b28c ^ length;
  const length4 = length >>> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = start + i * 4;
    let k = data[i4] | (data[i4 + 1] << 8) | (data[i4 + 2] << 16) | (data[i4 + 3] << 24);
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m);
    h ^= k;
  }
  // Java's switch falls through from case 3 to case 1; written out here without fall-through.
  const tail = start + (length & ~3);
  const rest = length & 3;
  if (rest === 3) h ^= data[tail + 2] << 16;
  if (rest >= 2) h ^= data[tail + 1] << 8;
  if (rest >= 1) {
    h ^= data[tail];
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

/** Kafka's partition for a key: toPositive(murmur2(key)) % partitions. */
export function partitionForKeyBytes(
  data: Uint8Array,
  start: number,
  end: number,
  partitions: number,
): number {
  return (murmur2Range(data, start, end) & 0x7fffffff) % partitions;
}

/**
 * Assigns partitions: by key hash when a record has a key, round-robin for records without one.
 * String keys hash as their UTF-8 bytes, encoded into a scratch buffer (no allocation per key).
 */
export class Partitioner {
  private next = 0;
  private scratch = Buffer.allocUnsafe(256);

  constructor(readonly partitions: number) {}

  /** The partition of a key; for a null key, the next one in round-robin order. */
  partitionFor(key: Buffer | string | null | undefined): number {
    if (key === null || key === undefined) return this.nextRoundRobin();
    if (typeof key !== "string") return partitionForKeyBytes(key, 0, key.length, this.partitions);
    if (key.length * 3 > this.scratch.length) this.scratch = Buffer.allocUnsafe(key.length * 3);
    const n = this.scratch.write(key, 0, "utf8");
    return partitionForKeyBytes(this.scratch, 0, n, this.partitions);
  }

  /** The next round-robin partition (also what a batch of key-less records sticks to). */
  nextRoundRobin(): number {
    const p = this.next;
    this.next = (p + 1) % this.partitions;
    return p;
  }

  /** Validates an explicit partition of a record. */
  check(partition: number): number {
    if (!Number.isInteger(partition) || partition < 0 || partition >= this.partitions) {
      throw new WeirError(
        "USAGE",
        `partition ${partition} does not exist: the topic has ${this.partitions} partition(s) (0-${this.partitions - 1})`,
      );
    }
    return partition;
  }
}
