/**
 * The user's sinks of one task (`sinkTo`, src/sinks/contract.ts), driven by the runtime's
 * checkpoints the same way on the embedded log (runner.ts) and on Kafka (task-session.ts):
 *
 *   deliver()        the Task hands over each record (buffered, synchronous)
 *   drain()          after a batch: write() every sink's buffered records, in order; what a sink
 *                    could not deliver becomes a dead letter of its step
 *   prepareCommit()  before a checkpoint: each sink's `prepared` value, stored in the checkpoint
 *   commit()         after the checkpoint is durable (and again on recovery, for the restored one)
 *   rollback()       the run failed
 */
import { randomBytes } from "node:crypto";
import { WeirError } from "../errors.js";
import type { ConnectorSinkNode, PipelineGraph, RecordContext } from "../graph/graph.js";
import type { SinkRecord, SinkWriter } from "../sinks/contract.js";
import type { Logger } from "../util/logger.js";

/** Each sink step's `prepared` value (JSON), by step id: what a checkpoint stores. */
export type PreparedSinks = Record<string, unknown>;

interface OpenSink {
  readonly node: ConnectorSinkNode;
  readonly writer: SinkWriter;
  records: SinkRecord[];
  origins: RecordContext[];
}

/** Make a record a dead letter of a step (Task.deadLetter). */
export type DeadLetterSink = (origin: RecordContext, reason: string, step: string) => void;

export class ConnectorSinks {
  private constructor(
    private readonly pipeline: string,
    private readonly sinks: Map<string, OpenSink>,
  ) {}

  /** The sink steps of `graph`, or undefined when it has none. */
  static nodesOf(graph: PipelineGraph): ConnectorSinkNode[] {
    return graph.nodes.filter((n): n is ConnectorSinkNode => n.kind === "connector");
  }

  /** Open a writer per sink step for partition task `task`; undefined when the graph has none. */
  static async open(graph: PipelineGraph, task: number, logger: Logger): Promise<ConnectorSinks | undefined> {
    const nodes = ConnectorSinks.nodesOf(graph);
    if (nodes.length === 0) return undefined;
    const sinks = new Map<string, OpenSink>();
    try {
      for (const node of nodes) {
        const writerId = `${graph.pipeline}.${node.id}.${task}.${randomBytes(6).toString("hex")}`;
        const writer = await attempt(graph.pipeline, node, "open", () =>
          node.sink.open({ pipeline: graph.pipeline, step: node.id, task, writerId, logger }),
        );
        if (writer === null || typeof writer !== "object" || typeof writer.write !== "function")
          throw new WeirError(
            "INVALID_PIPELINE",
            `step ${node.id}: sink ${node.sink.name}'s open() must return a writer with a write(records) method`,
          );
        sinks.set(node.id, { node, writer, records: [], origins: [] });
      }
    } catch (err) {
      await new ConnectorSinks(graph.pipeline, sinks).close().catch(() => undefined);
      throw err;
    }
    return new ConnectorSinks(graph.pipeline, sinks);
  }

  /** Records delivered and not written yet? */
  get buffered(): boolean {
    for (const s of this.sinks.values()) if (s.records.length > 0) return true;
    return false;
  }

  deliver(step: string, record: SinkRecord, origin: RecordContext): void {
    const s = this.sinks.get(step);
    if (s === undefined) throw new Error(`internal: no sink for step ${step}`);
    s.records.push(record);
    s.origins.push(origin);
  }

  /** Forget what was delivered but not written yet (recovery replays it). */
  discardBuffered(): void {
    for (const s of this.sinks.values()) {
      s.records = [];
      s.origins = [];
    }
  }

  /**
   * Write every sink's buffered records; records a sink could not deliver become dead letters.
   * Returns how many records were written.
   */
  async drain(deadLetter: DeadLetterSink): Promise<number> {
    let written = 0;
    for (const s of this.sinks.values()) {
      if (s.records.length === 0) continue;
      const { records, origins } = s;
      written += records.length;
      s.records = [];
      s.origins = [];
      const result = await attempt(this.pipeline, s.node, "write", () => s.writer.write(records));
      const failed = result?.failed;
      if (failed === undefined || failed.length === 0) continue;
      const index = new Map<SinkRecord, number>();
      for (let i = 0; i < records.length; i++) index.set(records[i], i);
      for (const f of failed) {
        const i = index.get(f.record);
        if (i === undefined)
          throw new WeirError(
            "SINK_FAILED",
            `step ${s.node.id}: sink ${s.node.sink.name}'s write() reported a failed record it was not given`,
          );
        deadLetter(
          origins[i],
          `sink ${s.node.sink.name} could not deliver the record: ${String(f.error)}`,
          s.node.id,
        );
      }
    }
    return written;
  }

  async prepareCommit(checkpoint: number): Promise<PreparedSinks> {
    const prepared: PreparedSinks = {};
    for (const [step, s] of this.sinks) {
      const value = await attempt(this.pipeline, s.node, "prepareCommit", () =>
        s.writer.prepareCommit?.(checkpoint),
      );
      prepared[step] = value === undefined ? null : value;
    }
    return prepared;
  }

  /** Commit each sink's prepared value (a sink missing from `prepared`: its first checkpoint, nothing to commit). */
  async commit(prepared: PreparedSinks, checkpoint: number): Promise<void> {
    for (const [step, s] of this.sinks) {
      if (!(step in prepared)) continue;
      await attempt(this.pipeline, s.node, "commit", () => s.writer.commit?.(prepared[step], checkpoint));
    }
  }

  async rollback(): Promise<void> {
    this.discardBuffered();
    for (const s of this.sinks.values())
      await attempt(this.pipeline, s.node, "rollback", () => s.writer.rollback?.());
  }

  async close(): Promise<void> {
    let first: unknown;
    for (const s of this.sinks.values()) {
      try {
        await attempt(this.pipeline, s.node, "close", () => s.writer.close?.());
      } catch (err) {
        first ??= err;
      }
    }
    if (first !== undefined) throw first;
  }
}

/** Run a sink's method; a throw becomes a SINK_FAILED error naming the step and the sink. */
async function attempt<T>(
  pipeline: string,
  node: ConnectorSinkNode,
  what: string,
  fn: () => T | Promise<T>,
): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof WeirError) throw err;
    const message = err instanceof Error ? err.message : String(err);
    throw new WeirError(
      "SINK_FAILED",
      `${pipeline}: step ${node.id}: sink ${node.sink.name}'s ${what}() failed: ${message}`,
      {
        cause: err,
      },
    );
  }
}
