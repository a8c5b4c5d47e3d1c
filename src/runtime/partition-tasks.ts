/**
 * The partition tasks of a pipeline whose input topics have N > 1 partitions, all run by this
 * process (the embedded log: one active process per pipeline). Task p reads partition p of every
 * input topic and runs the whole graph, and every `keyBy` is an exchange (operators/exchange.ts)
 * handing each record to the task owning its key — the same tasks, exchanges, watermarks and
 * idleness as partition tasks on Kafka (src/kafka/runner.ts), with the repartition topic replaced by
 * a direct hand-over, since sender and receiver live in the same process. The receivers release
 * records in an order that does not depend on timing, so every key's outputs are those of the same
 * pipeline run as N partition tasks on Kafka, record for record.
 *
 * To the runner the tasks look like one Task: records are routed to task p by their partition,
 * counters and metrics are summed, and the checkpoint holds each task's state (TaskState.partitionTasks).
 */
import { WeirError } from "../errors.js";
import type { RecordHeader } from "../log/types.js";
import type { PipelineGraph, RecordContext } from "../graph/graph.js";
import type { OutputCollector } from "../operators/types.js";
import type { TableSequence } from "../operators/table-sink.js";
import type { DeadLetterWatch } from "./dead-letters.js";
import type { StateChanges } from "./step-identity.js";
import { stepIdentities } from "./step-identity.js";
import { Task, type OutputTopic, type StagedRecord, type StepMetrics, type TaskState } from "./task.js";

export class PartitionTasks {
  readonly tasks: readonly Task[];
  readonly pipeline: string;
  readonly deadLetterTopic: string;
  /** Per task, per input topic it reads: has that partition been left out as idle? */
  private readonly idle: Array<Map<string, boolean>>;
  restoreNotes: readonly string[] = [];

  constructor(
    readonly graph: PipelineGraph,
    output: OutputCollector,
    /** Partition count of each input topic; the task count is the largest. */
    inputPartitions: ReadonlyMap<string, number>,
    options: { now?: () => number } = {},
  ) {
    const n = Math.max(...inputPartitions.values());
    const tableSequences = new Map<string, TableSequence>();
    const tasks: Task[] = [];
    for (let p = 0; p < n; p++)
      tasks.push(new Task(graph, output, { ...options, exchange: { task: p, tasks: n }, tableSequences }));
    for (const t of tasks) t.connectExchanges(tasks);
    this.tasks = tasks;
    this.pipeline = graph.pipeline;
    this.deadLetterTopic = tasks[0].deadLetterTopic;
    this.idle = tasks.map((_, p) => {
      const topics = new Map<string, boolean>();
      for (const [topic, partitions] of inputPartitions) if (p < partitions) topics.set(topic, false);
      return topics;
    });
    // A topic with fewer partitions than tasks has nothing for the others: never hold them back.
    for (let p = 0; p < n; p++)
      for (const [topic, partitions] of inputPartitions)
        if (p >= partitions) tasks[p].advanceWatermark(Infinity, topic);
  }

  get deadLetters(): number {
    return this.sum((t) => t.deadLetters);
  }

  get lateRecords(): number {
    return this.sum((t) => t.lateRecords);
  }

  get deadLetterWatches(): readonly DeadLetterWatch[] {
    return (this.watches ??= this.tasks.map((t) => t.deadLetterWatch));
  }

  private watches: DeadLetterWatch[] | undefined;

  inputTopics(): string[] {
    return this.tasks[0].inputTopics();
  }

  outputTopics(): OutputTopic[] {
    return this.tasks[0].outputTopics();
  }

  tables(): ReturnType<Task["tables"]> {
    return this.tasks[0].tables();
  }

  lakeDatasets(): ReturnType<Task["lakeDatasets"]> {
    return this.tasks[0].lakeDatasets();
  }

  tableSeqs(): Record<string, number> {
    return this.tasks[0].tableSeqs();
  }

  continueTableSeq(table: string, seq: number): void {
    this.tasks[0].continueTableSeq(table, seq);
  }

  /** A record a sink could not deliver: a dead letter of the task of its input partition. */
  deadLetter(ctx: RecordContext, reason: string, stepId: string): void {
    this.taskOf(ctx.partition).deadLetter(ctx, reason, stepId);
  }

  processRecord(
    topic: string,
    partition: number,
    offset: number,
    timestamp: number,
    value: Buffer,
    headers?: readonly RecordHeader[],
  ): void {
    this.active(partition, topic).processRecord(topic, partition, offset, timestamp, value, headers);
  }

  processLine(
    topic: string,
    partition: number,
    offset: number,
    timestamp: number,
    line: string,
    headers?: readonly RecordHeader[],
  ): void {
    this.active(partition, topic).processLine(topic, partition, offset, timestamp, line, headers);
  }

  rejectRecord(
    topic: string,
    partition: number,
    offset: number,
    timestamp: number,
    raw: string,
    reason: string,
    headers?: readonly RecordHeader[],
  ): void {
    this.active(partition, topic).rejectRecord(topic, partition, offset, timestamp, raw, reason, headers);
  }

  stage(
    into: StagedRecord,
    topic: string,
    partition: number,
    offset: number,
    timestamp: number,
    value: Buffer | string,
    headers?: readonly RecordHeader[],
    problem?: string,
  ): void {
    this.taskOf(partition).stage(into, topic, partition, offset, timestamp, value, headers, problem);
  }

  processStaged(r: StagedRecord): void {
    this.active(r.partition, r.topic).processStaged(r);
  }

  /** Each task reads one partition of each topic: nothing to set up. */
  readPartitions(_topic: string, _partitions: readonly number[]): void {}

  /**
   * A partition has nothing to read (quiet in a live run, or read to its end with --until-end): once
   * every input partition of its task is, the task tells the others to go on without it.
   */
  partitionIdle(topic: string, partition: number): void {
    const idle = this.idle[partition];
    if (idle === undefined || !idle.has(topic)) return;
    idle.set(topic, true);
    for (const quiet of idle.values()) if (!quiet) return;
    this.tasks[partition].markIdle();
  }

  /** Time passes (after each batch): watermarks go to the other tasks, processing-time windows close. */
  tick(): void {
    for (const t of this.tasks) t.broadcastWatermarks();
    for (const t of this.tasks) t.tick();
  }

  endOfInput(): void {
    for (const t of this.tasks) t.endOfInput();
    for (const t of this.tasks) t.broadcastWatermarks();
  }

  watermark(): number {
    let w = Infinity;
    for (const t of this.tasks) {
      const tw = t.watermark();
      if (tw < w) w = tw;
    }
    return w;
  }

  stateSize(): number {
    return this.sum((t) => t.stateSize());
  }

  metrics(): StepMetrics[] {
    return mergeStepMetrics(this.tasks.map((t) => t.metrics()));
  }

  snapshot(): TaskState {
    return {
      version: 1,
      steps: {},
      identities: stepIdentities(this.graph),
      sources: {},
      tables: this.tableSeqs(),
      partitionTasks: this.tasks.map((t) => t.snapshot()),
    };
  }

  restore(state: TaskState, changes?: StateChanges): void {
    const saved = state.partitionTasks;
    if (saved === undefined || saved.length !== this.tasks.length) {
      const had =
        saved === undefined ? "one task reading every partition" : `${saved.length} partition tasks`;
      throw new WeirError(
        "INCOMPATIBLE_STATE",
        `the checkpoint of pipeline ${this.pipeline} holds the state of ${had}, and its input now runs as ${this.tasks.length} partition tasks (one per input partition); start over with --from-scratch (outputs are kept)`,
      );
    }
    for (let p = 0; p < this.tasks.length; p++) this.tasks[p].restore(saved[p], changes);
    this.restoreNotes = this.tasks[0].restoreNotes;
  }

  private taskOf(partition: number): Task {
    const task = this.tasks[partition];
    if (task === undefined)
      throw new WeirError("USAGE", `pipeline ${this.pipeline} has no task for partition ${partition}`);
    return task;
  }

  /** Task `partition`, which a record of `topic` makes active again. */
  private active(partition: number, topic: string): Task {
    const idle = this.idle[partition];
    if (idle?.get(topic) === true) idle.set(topic, false);
    return this.taskOf(partition);
  }

  private sum(of: (t: Task) => number): number {
    let n = 0;
    for (const t of this.tasks) n += of(t);
    return n;
  }
}

/** The metrics of several tasks of one graph, step by step: counts summed. */
export function mergeStepMetrics(perTask: readonly StepMetrics[][]): StepMetrics[] {
  const steps = new Map<string, StepMetrics>();
  for (const metrics of perTask)
    for (const m of metrics) {
      const sum = steps.get(m.id);
      if (sum === undefined) steps.set(m.id, { ...m });
      else {
        sum.recordsIn += m.recordsIn;
        sum.recordsOut += m.recordsOut;
        sum.deadLetters += m.deadLetters;
        sum.lateRecords += m.lateRecords;
        if (m.stateSize !== undefined) sum.stateSize = (sum.stateSize ?? 0) + m.stateSize;
        if (m.unmatched !== undefined) sum.unmatched = (sum.unmatched ?? 0) + m.unmatched;
      }
    }
  return [...steps.values()];
}
