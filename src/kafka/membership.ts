/**
 * Which process runs a pipeline. Every `weir run --broker` of pipeline P joins consumer group
 * `weir.P` on P's input topics; the group's leader assigns every partition to itself, so exactly one
 * member is active and the others are hot standbys. When the active process dies, its session times
 * out, a standby becomes leader, takes every partition and resumes from the last committed
 * checkpoint (its transactional producer fences whatever the dead process left open).
 *
 * The group only elects; records are read by a separate consumer (see InputFeed) that starts from
 * the checkpoint's positions.
 */
import { Consumer, type GroupPartitionsAssigner } from "@platformatic/kafka";
import { brokerError, clientOptions, type BrokerAddress } from "./connection.js";

/** Every partition of every subscribed topic to the leader (the member computing the assignment). */
export const leaderTakesAll: GroupPartitionsAssigner = (current, members, topics, metadata) =>
  [...members.keys()].map((memberId) => {
    const assignments = new Map<string, { topic: string; partitions: number[] }>();
    if (memberId === current) {
      for (const topic of topics) {
        const count = metadata.topics.get(topic)?.partitionsCount ?? 0;
        assignments.set(topic, { topic, partitions: Array.from({ length: count }, (_, i) => i) });
      }
    }
    return { memberId, assignments };
  });

/**
 * Partition tasks across the members: task p (partition p of every input topic) goes to the
 * (p mod members)-th member in member-id order, so each member gets the same partition numbers of
 * every topic and the tasks spread evenly.
 */
export const tasksAcrossMembers: GroupPartitionsAssigner = (_current, members, topics, metadata) => {
  const ids = [...members.keys()].sort();
  const out = ids.map((memberId) => ({
    memberId,
    assignments: new Map<string, { topic: string; partitions: number[] }>(),
  }));
  for (const topic of topics) {
    const count = metadata.topics.get(topic)?.partitionsCount ?? 0;
    for (let p = 0; p < count; p++) {
      const a = out[p % ids.length].assignments;
      const entry = a.get(topic) ?? { topic, partitions: [] };
      entry.partitions.push(p);
      a.set(topic, entry);
    }
  }
  return out;
};

export interface MembershipOptions {
  sessionTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  /** How partitions are given out: every one to the leader (default), or tasks across members. */
  assigner?: GroupPartitionsAssigner;
}

export class PipelineMembership {
  private readonly consumer: Consumer;
  private joined = false;
  private readonly assigner: GroupPartitionsAssigner;
  /** Counts the group's rebalances seen by this member. */
  generation = 0;

  constructor(
    private readonly address: BrokerAddress,
    readonly groupId: string,
    options: MembershipOptions = {},
  ) {
    this.assigner = options.assigner ?? leaderTakesAll;
    this.consumer = new Consumer({
      ...clientOptions(address, `weir-${groupId}-member`),
      groupId,
      autocommit: false,
      sessionTimeout: options.sessionTimeoutMs ?? 10_000,
      heartbeatInterval: options.heartbeatIntervalMs ?? 1_000,
      rebalanceTimeout: options.sessionTimeoutMs ?? 10_000,
      partitionAssigner: this.assigner,
    });
    this.consumer.on("consumer:group:join", () => this.generation++);
  }

  /** Join the group on `topics` (the pipeline's inputs). */
  async join(topics: string[]): Promise<void> {
    this.consumer.topics.trackAll(...topics);
    try {
      await this.consumer.joinGroup({ partitionAssigner: this.assigner });
      this.joined = true;
    } catch (err) {
      throw brokerError(this.address, `joining consumer group ${this.groupId}`, err);
    }
  }

  /** True when this process holds every partition of `partitions` (topic -> count). */
  holdsAll(partitions: Record<string, number>): boolean {
    const held = this.consumer.assignments ?? [];
    for (const [topic, count] of Object.entries(partitions)) {
      const a = held.find((x) => x.topic === topic);
      if (a === undefined || a.partitions.length < count) return false;
    }
    return true;
  }

  /** The partitions this process holds, per subscribed topic (ascending; none while standing by). */
  assignment(): Record<string, number[]> {
    const out: Record<string, number[]> = {};
    for (const a of this.consumer.assignments ?? [])
      if (a.partitions.length > 0) out[a.topic] = [...a.partitions].sort((x, y) => x - y);
    return out;
  }

  /** The partition numbers (tasks) this process holds, of any subscribed topic, ascending. */
  heldTasks(): number[] {
    const held = new Set<number>();
    for (const a of this.consumer.assignments ?? []) for (const p of a.partitions) held.add(p);
    return [...held].sort((a, b) => a - b);
  }

  holdsTask(task: number): boolean {
    for (const a of this.consumer.assignments ?? []) if (a.partitions.includes(task)) return true;
    return false;
  }

  /** Resolves after the next rebalance, or after `ms`. */
  async nextChange(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.consumer.off("consumer:group:join", done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.consumer.on("consumer:group:join", done);
    });
  }

  /** Resolves when this process holds every partition, or `stopped()` turns true (then false). */
  async waitUntilActive(
    partitions: Record<string, number>,
    stopped: () => boolean,
    onStandby: () => void,
  ): Promise<boolean> {
    let told = false;
    while (!stopped()) {
      if (this.holdsAll(partitions)) return true;
      if (!told) {
        told = true;
        onStandby();
      }
      await this.nextChange(500);
    }
    return false;
  }

  async close(): Promise<void> {
    try {
      if (this.joined) await this.consumer.leaveGroup();
    } catch {
      // the broker is gone; the session times out on its own
    }
    try {
      await this.consumer.close(true);
    } catch {
      // already broken
    }
  }
}
