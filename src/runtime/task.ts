/**
 * A Task is one running instance of a pipeline graph: operators wired together, their state, and
 * the watermarks. It knows nothing about where lines come from or where outputs go — the runner
 * (log or file), the Kafka adapter and the test driver all feed it the same way, which is what keeps
 * outputs independent of batching, polling and timing.
 */
import { WeirError } from "../errors.js";
import {
  deadLetterDatasetName,
  inputsOf,
  type GraphNode,
  type PipelineGraph,
  type RecordContext,
} from "../graph/graph.js";
import type { RecordHeader } from "../log/types.js";
import type { TableSequence } from "../operators/table-sink.js";
import type { LakeDatasetSpec, TableSpec } from "../sinks/types.js";
import { DecodedRecord, type SourceOperator } from "../operators/source.js";
import type { Clock } from "../operators/window-aggregate.js";
import { IntervalJoinOperator, type WatermarkOrigin } from "../operators/interval-join.js";
import type { ExchangeReceiver, ExchangeSender, ExchangeState } from "../operators/exchange.js";
import { buildStep, type BuildContext } from "./operator-registry.js";
import { DeadLetterWatch } from "./dead-letters.js";
import {
  deadLetterReason,
  MAX_DEAD_LETTER_BYTES,
  MAX_RECORD_BYTES,
  oversizeRaw,
  tooLargeReason,
  utf8Problem,
} from "../util/records.js";
import { cutText, wellFormed } from "../util/text.js";
import {
  matchCheckpointedSteps,
  stepIdentities,
  type StateChanges,
  type StepIdentity,
} from "./step-identity.js";
import {
  Fanout,
  NOWHERE,
  type Operator,
  type OutputCollector,
  type Stateful,
  type StepCounters,
  type TimeDriven,
} from "../operators/types.js";

export interface TaskOptions {
  /** The wall clock for processing-time windows (tests pass a fake one). */
  now?: () => number;
  /**
   * Run as partition task `task` of `tasks` (a pipeline shared by processes on Kafka): every keyBy
   * becomes an exchange through a repartition topic (see operators/exchange.ts).
   */
  exchange?: { task: number; tasks: number };
  /**
   * Update numbers of the versioned tables, shared by the partition tasks of one process (one
   * sequence per table, as one table store numbers them); default: the task's own.
   */
  tableSequences?: Map<string, TableSequence>;
}

/** Checkpointed state of a task: every stateful step by id, and each source's watermark. */
export interface TaskState {
  version: 1;
  steps: Record<string, unknown>;
  sources: Record<
    string,
    {
      watermark: number | null;
      maxEventTime: number | null;
      /** A source reading several partitions: each one's highest event time (Task.readPartitions). */
      partitions?: Record<string, number | null>;
    }
  >;
  /**
   * Partition tasks: each exchange's watermark per sender task (1e308 for +infinity) and the records
   * it holds for their turn; a bare array of watermarks in checkpoints of earlier versions.
   */
  exchanges?: Record<string, ExchangeState | Array<number | null>>;
  /** Last update number per versioned table. */
  tables?: Record<string, number>;
  /** What each stateful step's state means (src/runtime/step-identity.ts); absent in older checkpoints. */
  identities?: Record<string, StepIdentity>;
  /**
   * The input had ended (end of a bounded input, or `--until-end`): every window fired. More input
   * reopens the task (see Task.endOfInput).
   */
  ended?: true;
  /**
   * The pipeline ran as N partition tasks in one process (runtime/partition-tasks.ts): task p's
   * state is `partitionTasks[p]`, and the fields above hold nothing of the steps.
   */
  partitionTasks?: TaskState[];
}

export interface StepMetrics {
  id: string;
  kind: GraphNode["kind"];
  recordsIn: number;
  recordsOut: number;
  /** Records that became dead letters at this step (schema at a source, or this step's function threw). */
  deadLetters: number;
  /** Records too late for this step's windows (or join). */
  lateRecords: number;
  stateSize?: number;
  /** Joins: left records that found no partner (dropped, or emitted with `right: null`). */
  unmatched?: number;
}

export interface OutputTopic {
  topic: string;
  partitions: number;
}

type Wireable = Operator & { next?: Operator };

export class Task {
  readonly pipeline: string;
  readonly deadLetterTopic: string;
  readonly lateTopic: string;
  deadLetters = 0;
  lateRecords = 0;
  private readonly sourcesByTopic = new Map<string, SourceOperator[]>();
  private readonly sources: SourceOperator[] = [];
  private readonly stateful: Stateful[] = [];
  private readonly processingTimeSteps: TimeDriven[] = [];
  private readonly steps: Array<{ node: GraphNode; counters: StepCounters; state?: Stateful }> = [];
  private readonly outputs: OutputTopic[] = [];
  private readonly tableSpecs: TableSpec[] = [];
  private readonly tableSeq: Map<string, TableSequence>;
  private readonly lakeSpecs: LakeDatasetSpec[] = [];
  private readonly deadLettersByStep = new Map<string, number>();
  private readonly lateByStep = new Map<string, number>();
  private readonly receiversByTopic = new Map<string, ExchangeReceiver>();
  private readonly receivers: ExchangeReceiver[] = [];
  private readonly senders: ExchangeSender[] = [];
  /** endOfInput() ran and no input came since: the sources stand at +infinity. */
  private ended = false;
  /** Makes a record a dead letter of a step (set by the constructor). */
  private readonly deadLetterOf: (ctx: RecordContext, reason: string, stepId: string) => void;
  /** Steps failing on every record, and the dead-letter ratio (runtime/dead-letters.ts). */
  readonly deadLetterWatch = new DeadLetterWatch(
    (id) => this.steps.find((s) => s.node.id === id)?.counters,
    () => this.recordsRead(),
  );

  constructor(
    readonly graph: PipelineGraph,
    private readonly output: OutputCollector,
    options: TaskOptions = {},
  ) {
    this.pipeline = graph.pipeline;
    this.tableSeq = options.tableSequences ?? new Map();
    this.deadLetterTopic = `${graph.pipeline}.dlq`;
    this.lateTopic = `${graph.pipeline}.late`;
    const now = options.now ?? Date.now;
    const wallClock: Clock = { now };

    const byId = new Map<string, { node: GraphNode; op: any }>();
    const children = new Map<string, any[]>();
    const exchange = options.exchange;
    const receiverOf = new Map<string, ExchangeReceiver>();
    const senderOf = new Map<string, ExchangeSender>();
    /**
     * The watermark an event-time step after `id` lives by: that of the nearest source or join
     * upstream (a join's watermark holds back by its interval, so what it emits is never late after it).
     */
    const originOf = (id: string): WatermarkOrigin => {
      let n: GraphNode = byId.get(id)!.node;
      while (n.kind !== "source" && n.kind !== "join" && !(exchange && n.kind === "keyBy"))
        n = byId.get(n.input!)!.node;
      return receiverOf.get(n.id) ?? (byId.get(n.id)!.op as WatermarkOrigin);
    };
    /**
     * The source whose decoding of the input line is the value reaching `keyBy` (only filters and
     * keyBys in between: they pass values on unchanged), if any.
     */
    const valuePreservingSource = (keyBy: GraphNode): SourceOperator | undefined => {
      let n: GraphNode = byId.get(keyBy.input!)!.node;
      while (n.kind === "filter" || n.kind === "keyBy") n = byId.get(n.input!)!.node;
      return n.kind === "source" ? (byId.get(n.id)!.op as SourceOperator) : undefined;
    };
    /** An interval join keeps input lines in its state. */
    const keepsLines = graph.nodes.some((n) => n.kind === "join");
    const deadLetterDataset = graph.deadLettersToLake ? deadLetterDatasetName(graph.pipeline) : undefined;
    if (deadLetterDataset !== undefined)
      this.lakeSpecs.push({ name: deadLetterDataset, format: "parquet", partitionBy: "date" });
    const deadLetter = (ctx: RecordContext, reason: string, stepId: string) => {
      this.deadLetters++;
      this.deadLettersByStep.set(stepId, (this.deadLettersByStep.get(stepId) ?? 0) + 1);
      const letter = deadLetterRecord(reason, ctx);
      this.deadLetterWatch.record(stepId, letter.error);
      this.output.append(this.deadLetterTopic, null, letter.json, ctx.timestamp);
      if (deadLetterDataset !== undefined) {
        const { topic, partition, offset } = ctx;
        this.output.land(
          deadLetterDataset,
          { error: letter.error, raw: letter.raw, topic, partition, offset },
          ctx.timestamp,
        );
      }
    };
    this.deadLetterOf = deadLetter;
    const lateAt = (stepId: string) => (ctx: RecordContext, reason: string) => {
      this.lateRecords++;
      this.lateByStep.set(stepId, (this.lateByStep.get(stepId) ?? 0) + 1);
      this.output.append(this.lateTopic, null, envelope(reason, ctx), ctx.timestamp);
    };

    const build: BuildContext = {
      graph,
      output: this.output,
      exchange,
      wallClock,
      keepsLines,
      built: (id) => byId.get(id),
      originOf,
      valuePreservingSource,
      deadLetter,
      lateAt,
      addSource: (op) => {
        this.sources.push(op);
        this.sourcesByTopic.set(op.topic, [...(this.sourcesByTopic.get(op.topic) ?? []), op]);
      },
      addStateful: (op) => {
        this.stateful.push(op);
      },
      addProcessingTimeStep: (op) => {
        this.processingTimeSteps.push(op);
      },
      addExchange: (keyById, topic, receiver, sender) => {
        receiverOf.set(keyById, receiver);
        this.receivers.push(receiver);
        this.receiversByTopic.set(topic, receiver);
        senderOf.set(keyById, sender);
        this.senders.push(sender);
      },
      tableSequence: (table, versions) => {
        if (!this.tableSeq.has(table)) this.tableSeq.set(table, { seq: 0 });
        if (!this.tableSpecs.some((t) => t.name === table)) this.tableSpecs.push({ name: table, versions });
        return this.tableSeq.get(table)!;
      },
      addLakeDataset: (spec) => {
        if (!this.lakeSpecs.some((d) => d.name === spec.name)) this.lakeSpecs.push(spec);
      },
      addOutputTopic: (topic, partitions) => {
        if (!this.outputs.some((o) => o.topic === topic)) this.outputs.push({ topic, partitions });
      },
    };

    /** Steps that pass records on through `next` (not sinks and aggregates). */
    const forwarding = new Set<string>();
    for (const node of graph.nodes) {
      // The operator of the node's kind (src/runtime/operator-registry.ts).
      const step = buildStep(node, build);
      const op = step.op;
      if (step.forwards !== false) forwarding.add(node.id);
      byId.set(node.id, { node, op });
      const addChild = (parent: string, child: Operator) => {
        const list = children.get(parent) ?? [];
        list.push(child);
        children.set(parent, list);
      };
      const inputs = inputsOf(node);
      const into = step.inputs ?? inputs.map(() => op);
      for (let k = 0; k < into.length; k++) addChild(inputs[k], into[k]);
      this.steps.push({ node, counters: op.counters, state: this.stateful.includes(op) ? op : undefined });
    }

    // Wire each step to its children.
    for (const { node, op } of byId.values()) {
      if (!forwarding.has(node.id)) continue;
      const kids = children.get(node.id) ?? [];
      const next =
        kids.length === 0 ? NOWHERE : kids.length === 1 ? kids[0] : new Fanout(`${node.id}/fanout`, kids);
      const receiver = receiverOf.get(node.id);
      if (receiver === undefined) (op as Wireable).next = next;
      else {
        // The keyed steps get the records through the repartition topic.
        (op as Wireable).next = senderOf.get(node.id)!;
        receiver.next = next;
      }
    }
  }

  /** The dead-letter watch, as a list (what the runner asks of a Task and of PartitionTasks alike). */
  get deadLetterWatches(): readonly DeadLetterWatch[] {
    return (this.watches ??= [this.deadLetterWatch]);
  }

  private watches: DeadLetterWatch[] | undefined;

  /** Make `ctx`'s record a dead letter of step `stepId` (a sink could not deliver it). */
  deadLetter(ctx: RecordContext, reason: string, stepId: string): void {
    this.deadLetterOf(ctx, reason, stepId);
  }

  /** Topics this task reads. */
  inputTopics(): string[] {
    return [...this.sourcesByTopic.keys()];
  }

  /** Repartition topics (partition tasks only): read and written by the tasks. */
  exchangeTopics(): string[] {
    return [...this.receiversByTopic.keys()];
  }

  /**
   * Every partition task runs in this process (`tasks[p]` is task p, this one among them): the
   * exchanges hand records and watermarks to the owning task's receiver directly.
   */
  connectExchanges(tasks: readonly Task[]): void {
    for (const sender of this.senders)
      sender.connect(tasks.map((t) => t.receiversByTopic.get(sender.topic)!));
  }

  /** Tell every partition of the repartition topics the watermarks that moved; true if any did. */
  broadcastWatermarks(): boolean {
    let sent = false;
    for (const s of this.senders) if (s.broadcast()) sent = true;
    return sent;
  }

  /** The task's input has been quiet (a live run): tell the other tasks to go on without it. */
  markIdle(): boolean {
    let sent = false;
    for (const s of this.senders) if (s.broadcastIdle()) sent = true;
    return sent;
  }

  /** Broadcasts written while recovering were dropped (already committed, or never): resend. */
  forgetBroadcasts(): void {
    for (const s of this.senders) s.forgetBroadcasts();
  }

  /** Every repartition topic's senders have said their input is complete. */
  exchangesComplete(): boolean {
    for (const r of this.receivers) if (!r.complete) return false;
    return true;
  }

  /** Topics this task writes (its sinks, then dead letters and late records). */
  outputTopics(): OutputTopic[] {
    return [
      ...this.outputs,
      { topic: this.deadLetterTopic, partitions: 1 },
      { topic: this.lateTopic, partitions: 1 },
    ];
  }

  /** Versioned tables this task writes. */
  tables(): readonly TableSpec[] {
    return this.tableSpecs;
  }

  /** Lake datasets this task writes. */
  lakeDatasets(): readonly LakeDatasetSpec[] {
    return this.lakeSpecs;
  }

  /** The last update number of each table (checkpointed with the task's state). */
  tableSeqs(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [table, { seq }] of this.tableSeq) out[table] = seq;
    return out;
  }

  /**
   * Continue a table's update numbers after `seq` (a fresh pipeline state writing to a table that
   * already holds updates).
   */
  continueTableSeq(table: string, seq: number): void {
    const counter = this.tableSeq.get(table);
    if (counter !== undefined && counter.seq < seq) counter.seq = seq;
  }

  /** Feed one input record (a line of JSON text) read from `topic`. */
  processLine(
    topic: string,
    partition: number,
    offset: number,
    timestamp: number,
    line: string,
    headers?: readonly RecordHeader[],
  ): void {
    const sources = this.sourcesByTopic.get(topic);
    if (sources === undefined) {
      // Records of other tasks: those still arriving after this task's end of input belong to it.
      const receiver = this.receiversByTopic.get(topic);
      if (receiver !== undefined) return receiver.receive(line);
      throw new WeirError("USAGE", `pipeline ${this.pipeline} does not read topic ${topic}`);
    }
    if (headers !== undefined && headers.length > 0) {
      const reason = deadLetterReason(headers);
      if (reason !== undefined)
        return this.rejectRecord(topic, partition, offset, timestamp, line, reason, headers);
    }
    if (this.ended) this.reopen();
    for (let i = 0; i < sources.length; i++)
      sources[i].processLine(line, partition, offset, timestamp, headers);
  }

  /**
   * Feed one input record given as its bytes (a record of a topic: the embedded log's or Kafka's).
   * A record over the maximum record size, or whose bytes are not UTF-8, becomes a dead letter
   * saying so (src/util/records.ts); the rest is `processLine` of its text. Records of repartition
   * topics, which Weir wrote, go straight on.
   */
  processRecord(
    topic: string,
    partition: number,
    offset: number,
    timestamp: number,
    value: Buffer,
    headers?: readonly RecordHeader[],
  ): void {
    if (!this.sourcesByTopic.has(topic))
      return this.processLine(topic, partition, offset, timestamp, value.toString("utf8"), headers);
    if (value.length > MAX_RECORD_BYTES) {
      const raw = oversizeRaw(value);
      const reason = tooLargeReason(value.length, MAX_RECORD_BYTES, Buffer.byteLength(raw));
      return this.rejectRecord(topic, partition, offset, timestamp, raw, reason, headers);
    }
    const text = value.toString("utf8");
    const problem = utf8Problem(value, text);
    if (problem === undefined) this.processLine(topic, partition, offset, timestamp, text, headers);
    else this.rejectRecord(topic, partition, offset, timestamp, text, problem, headers);
  }

  /**
   * An input record of `topic` that cannot be read (over the maximum record size, bytes that are not
   * UTF-8): a dead letter with `reason` at each source reading the topic, `raw` being what can be
   * shown of the record.
   */
  rejectRecord(
    topic: string,
    partition: number,
    offset: number,
    timestamp: number,
    raw: string,
    reason: string,
    headers?: readonly RecordHeader[],
  ): void {
    const sources = this.sourcesByTopic.get(topic);
    if (sources === undefined)
      throw new WeirError("USAGE", `pipeline ${this.pipeline} does not read topic ${topic}`);
    if (this.ended) this.reopen();
    for (let i = 0; i < sources.length; i++)
      sources[i].rejectRecord(raw, partition, offset, timestamp, headers, reason);
  }

  /**
   * This task reads `partitions` of `topic` (the embedded runtime reads every partition of its inputs
   * in one task): the sources of the topic keep a watermark per partition and live by the lowest
   * (SourceOperator.readsPartitions). Not needed for one partition.
   */
  readPartitions(topic: string, partitions: readonly number[]): void {
    for (const s of this.sourcesByTopic.get(topic) ?? []) s.readsPartitions(partitions);
  }

  /** A partition of `topic` has nothing to read: leave it out of the watermark until its next record. */
  partitionIdle(topic: string, partition: number): void {
    for (const s of this.sourcesByTopic.get(topic) ?? []) s.partitionIdle(partition);
  }

  /**
   * Decode the next record of an input partition ahead of processing it, into `into`: the input
   * chooser (input-chooser.ts) orders records by the event time this gives (the lowest over the
   * topic's sources; -Infinity for a record that is a dead letter at every source). Decoding changes
   * no state: `processStaged` processes it later, exactly as `processRecord` would have.
   */
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
    const sources = this.sourcesByTopic.get(topic);
    if (sources === undefined)
      throw new WeirError("USAGE", `pipeline ${this.pipeline} does not read topic ${topic}`);
    into.topic = topic;
    into.partition = partition;
    into.offset = offset;
    into.timestamp = timestamp;
    into.headers = headers;
    into.problem = problem;
    let line: string;
    if (typeof value === "string") line = value;
    else if (value.length > MAX_RECORD_BYTES) {
      line = oversizeRaw(value);
      into.problem = tooLargeReason(value.length, MAX_RECORD_BYTES, Buffer.byteLength(line));
    } else {
      line = value.toString("utf8");
      into.problem = utf8Problem(value, line);
    }
    into.line = line;
    if (into.problem === undefined && headers !== undefined && headers.length > 0)
      into.problem = deadLetterReason(headers);
    if (into.problem !== undefined) {
      into.eventTime = -Infinity;
      return;
    }
    const decoded = into.decoded;
    while (decoded.length < sources.length) decoded.push(new DecodedRecord());
    let t = Infinity;
    for (let i = 0; i < sources.length; i++) {
      const d = decoded[i];
      sources[i].decode(line, timestamp, d);
      const et = d.error === undefined ? d.eventTime : -Infinity;
      if (et < t) t = et;
    }
    into.eventTime = t;
  }

  /** Process a record `stage` decoded. */
  processStaged(r: StagedRecord): void {
    if (r.problem !== undefined)
      return this.rejectRecord(r.topic, r.partition, r.offset, r.timestamp, r.line, r.problem, r.headers);
    const sources = this.sourcesByTopic.get(r.topic)!;
    if (this.ended) this.reopen();
    for (let i = 0; i < sources.length; i++)
      sources[i].emit(r.decoded[i], r.line, r.partition, r.offset, r.timestamp, r.headers);
  }

  /** Force the watermark of the sources reading `topic` (all sources when omitted) forward. */
  advanceWatermark(watermark: number, topic?: string): void {
    if (this.ended && watermark !== Infinity) this.reopen();
    for (const s of topic === undefined ? this.sources : (this.sourcesByTopic.get(topic) ?? []))
      s.advanceWatermark(watermark);
  }

  /**
   * The input is complete: the watermark becomes +infinity and every window fires.
   *
   * An ended task is not finished for good: a later input (the next file of `weir run --input`, a
   * live run after `--until-end`, `TestDriver.send` after `end()`) reopens it. Its state goes on as
   * if the new input followed the old one — running aggregates keep counting, rules that fired stay
   * fired — except that the windows the end closed stay closed (an event for one of them is late)
   * and the watermark restarts from the event times seen (max event time - bound), not +infinity.
   */
  endOfInput(): void {
    this.advanceWatermark(Infinity);
    for (const s of this.processingTimeSteps) s.onTime();
    this.ended = true;
  }

  /** True between endOfInput() and the next input. */
  get inputEnded(): boolean {
    return this.ended;
  }

  /**
   * More input after the end: the sources' watermarks come back from +infinity, and the exchanges
   * broadcast them again (receivers and joins follow their inputs back: see ExchangeReceiver.senderAt
   * and IntervalJoinOperator.onTime).
   */
  private reopen(): void {
    this.ended = false;
    for (const s of this.sources) s.reopen();
    for (const s of this.senders) s.forgetBroadcasts();
  }

  /** Let processing-time windows close what the wall clock says is due. */
  tick(): void {
    for (const s of this.processingTimeSteps) s.onTime();
  }

  /** The lowest watermark over the sources and exchanges (what the dashboard shows). */
  watermark(): number {
    let w = Infinity;
    for (const s of this.sources) if (s.watermark < w) w = s.watermark;
    for (const r of this.receivers) if (r.watermark < w) w = r.watermark;
    return this.sources.length === 0 ? -Infinity : w;
  }

  /** Input records read: those of the first source of each input topic. */
  recordsRead(): number {
    let n = 0;
    for (const sources of this.sourcesByTopic.values()) n += sources[0].counters.recordsIn;
    return n;
  }

  stateSize(): number {
    let n = 0;
    for (const s of this.stateful) n += s.stateSize();
    return n;
  }

  metrics(): StepMetrics[] {
    return this.steps.map(({ node, counters, state }) => ({
      id: node.id,
      kind: node.kind,
      recordsIn: counters.recordsIn,
      recordsOut: counters.recordsOut,
      deadLetters: this.deadLettersByStep.get(node.id) ?? 0,
      lateRecords: this.lateByStep.get(node.id) ?? 0,
      ...(state ? { stateSize: state.stateSize() } : {}),
      ...(state instanceof IntervalJoinOperator ? { unmatched: state.unmatched } : {}),
    }));
  }

  snapshot(): TaskState {
    const steps: Record<string, unknown> = {};
    for (const s of this.stateful) steps[s.id] = s.snapshot();
    const sources: TaskState["sources"] = {};
    for (const s of this.sources) {
      const partitions = s.partitionSnapshot();
      sources[s.id] = {
        // +infinity (an input that ended, or a partition task without a partition of this topic) as 1e308.
        watermark: s.watermark === Infinity ? 1e308 : finiteOrNull(s.watermark),
        maxEventTime: finiteOrNull(s.maxEventTime),
        ...(partitions !== undefined ? { partitions } : {}),
      };
    }
    const state: TaskState = {
      version: 1,
      steps,
      identities: stepIdentities(this.graph),
      sources,
      tables: this.tableSeqs(),
    };
    if (this.ended) state.ended = true;
    if (this.receivers.length > 0) {
      state.exchanges = {};
      for (const r of this.receivers) state.exchanges[r.id] = r.snapshot();
    }
    return state;
  }

  /**
   * Restore a snapshot. Every checkpointed step state must belong to a step of the same identity
   * (step-identity.ts): a changed or removed stateful step is refused (WeirError INCOMPATIBLE_STATE)
   * unless `changes` says to drop or rename its state. What in `changes` had nothing to do is left
   * in `restoreNotes` for the runner to tell the user.
   */
  restore(state: TaskState, changes?: StateChanges): void {
    if (state.partitionTasks !== undefined)
      throw new WeirError(
        "INCOMPATIBLE_STATE",
        `the checkpoint of pipeline ${this.pipeline} holds the state of ${state.partitionTasks.length} partition tasks, and its input now has one partition; start over with --from-scratch (outputs are kept)`,
      );
    const { states, notes } = matchCheckpointedSteps(
      this.pipeline,
      state.steps,
      state.identities,
      stepIdentities(this.graph),
      changes,
    );
    for (const [table, seq] of Object.entries(state.tables ?? {})) {
      const counter = this.tableSeq.get(table);
      if (counter !== undefined) counter.seq = seq;
    }
    for (const s of this.stateful) if (states.has(s.id)) s.restore(states.get(s.id));
    for (const s of this.sources) {
      const saved = state.sources[s.id];
      if (saved === undefined) continue;
      s.watermark =
        saved.watermark === null ? -Infinity : saved.watermark >= 1e308 ? Infinity : saved.watermark;
      s.maxEventTime = saved.maxEventTime ?? -Infinity;
      s.restorePartitions(saved.partitions);
    }
    for (const r of this.receivers) {
      const saved = state.exchanges?.[r.id];
      if (saved !== undefined) r.restore(saved);
    }
    // Checkpoints written before `ended` existed saved an ended input as every source at +infinity.
    const saved = Object.values(state.sources);
    this.ended =
      state.ended === true ||
      (state.ended === undefined &&
        saved.length > 0 &&
        saved.every((s) => s.watermark !== null && s.watermark >= 1e308));
    this.restoreNotes = notes;
  }

  /** Flags of the last restore() that had nothing to do (e.g. --drop-state of a step without state). */
  restoreNotes: readonly string[] = [];
}

/**
 * The next record of an input partition, decoded ahead of processing (Task.stage): what the input
 * chooser compares, reused record after record.
 */
export class StagedRecord {
  topic = "";
  partition = 0;
  offset = 0;
  /** The record's timestamp in the log. */
  timestamp = 0;
  line = "";
  headers: readonly RecordHeader[] | undefined = undefined;
  /** Why the record cannot be read at all (over the maximum size, not UTF-8): a dead letter. */
  problem: string | undefined = undefined;
  /** What each source of the topic made of it. */
  readonly decoded: DecodedRecord[] = [];
  /** What the chooser orders by: the lowest event time over the topic's sources (-Infinity: a dead letter). */
  eventTime = 0;
}

function finiteOrNull(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}

/** Longest reason in a dead letter, in UTF-16 units (a step's error message can be anything). */
const MAX_REASON_CHARS = 4096;

/** A dead letter (or late record) as written: its envelope, and the error and raw it holds. */
export interface DeadLetterRecord {
  error: string;
  raw: string;
  /** `{"error", "raw", "topic", "partition", "offset"}` as JSON. */
  json: string;
}

/**
 * The dead-letter / late-record envelope (DESIGN.md §4), such that every sink can hold it: a dead
 * letter that could not be written would stop the pipeline at the same record on every restart.
 * So error and raw are well-formed text (no half of a surrogate pair: U+FFFD in its place), the
 * error is cut at MAX_REASON_CHARS, and an envelope over MAX_DEAD_LETTER_BYTES holds the first
 * bytes of raw only, the error saying how many.
 */
export function deadLetterRecord(reason: string, ctx: RecordContext): DeadLetterRecord {
  let error = wellFormed(cutText(reason, MAX_REASON_CHARS));
  let raw = wellFormed(ctx.raw);
  const { topic, partition, offset } = ctx;
  let json = JSON.stringify({ error, raw, topic, partition, offset });
  if (json.length * 3 <= MAX_DEAD_LETTER_BYTES) return { error, raw, json };
  let bytes = Buffer.byteLength(json);
  if (bytes <= MAX_DEAD_LETTER_BYTES) return { error, raw, json };
  // Keep a prefix of raw that fits, with room for the note; shrink until it does (escapes vary).
  const whole = raw;
  const wholeBytes = Buffer.byteLength(whole);
  const reasonText = error;
  let keep = whole.length;
  while (bytes > MAX_DEAD_LETTER_BYTES) {
    keep = Math.floor((keep * 0.95 * (MAX_DEAD_LETTER_BYTES - 200)) / bytes);
    raw = cutText(whole, keep, "");
    error = `${reasonText}; raw holds the first ${Buffer.byteLength(raw)} of its ${wholeBytes} bytes`;
    json = JSON.stringify({ error, raw, topic, partition, offset });
    bytes = Buffer.byteLength(json);
  }
  return { error, raw, json };
}

/** The dead-letter / late-record envelope as JSON (see deadLetterRecord). */
export function envelope(reason: string, ctx: RecordContext): string {
  return deadLetterRecord(reason, ctx).json;
}
