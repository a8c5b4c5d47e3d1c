/**
 * Runs a pipeline on a Kafka cluster with exactly-once results.
 *
 * The same Task as on the embedded log processes the records; a TaskSession (task-session.ts) makes
 * its progress durable with Kafka transactions. How the work is cut depends on the input topics:
 *
 * - **One partition:** one task runs the whole graph, as on the embedded log. Every process of the
 *   pipeline joins consumer group `weir.<pipeline>`; its leader takes the partition, the others
 *   stand by and take over when it stops.
 * - **N partitions:** N partition tasks; task p reads partition p of every input topic. Every keyBy
 *   is an exchange through a repartition topic with N partitions (operators/exchange.ts), so the
 *   keyed state of task p is that of the keys in repartition partition p, wherever their records
 *   came from. The consumer group spreads the tasks over the processes (tasksAcrossMembers); on a
 *   rebalance each process commits a snapshot of the tasks it held and starts the ones it now
 *   holds, each restoring its checkpoint (and fencing any previous holder) before processing.
 *   Tables and lake have one writer: the tasks send their updates through the storage topic to the
 *   storage writer, in the process holding task 0 (storage-writer.ts).
 */
import { pipelineGroup, resetPipelineOnKafka } from "./reset.js";
import type { StateChanges } from "../runtime/step-identity.js";
import type { PipelineDefinition } from "../api/pipeline.js";
import { WeirError, isWeirError } from "../errors.js";
import type { OutputListener } from "../runtime/log-outputs.js";
import { StatusPublisher } from "../runtime/status.js";
import {
  LatencyHistogram,
  RateMeter,
  latencyBuckets,
  type PipelineMetricsSnapshot,
} from "../runtime/metrics.js";
import type { RunSummary } from "../runtime/runner.js";
import { LakeOutputs, TableOutputs } from "../runtime/storage-outputs.js";
import { Task } from "../runtime/task.js";
import { mergeStepMetrics } from "../runtime/partition-tasks.js";
import { ConnectorSinks } from "../runtime/connector-sinks.js";
import type { Logger } from "../util/logger.js";
import {
  deadLetterRatioExceeded,
  failingStepMessage,
  ratioExceededError,
  type DeadLetterLimit,
  type DeadLetterWatch,
} from "../runtime/dead-letters.js";
import type { OutputCollector } from "../operators/types.js";
import { CHECKPOINT_TOPIC_CONFIG, checkpointTopic } from "./checkpoint-log.js";
import { KafkaCluster, brokerError, parseBrokerUrl, type BrokerAddress } from "./connection.js";
import { PipelineMembership, tasksAcrossMembers } from "./membership.js";
import { StorageWriterTask, storageTopic, taskEndRecord } from "./storage-writer.js";
import {
  TaskSession,
  closeQuietly,
  readCheckpoints,
  type SessionEnvironment,
  type SessionMeters,
} from "./task-session.js";

export interface KafkaRunnerOptions {
  /** `kafka://host:port[,host:port]`. */
  broker: string;
  /** Where tables (SQLite) and lake files live. */
  dataDir: string;
  /** Stop (and close every window) once the input topics are read to their end at start. */
  untilEnd?: boolean;
  /** How often the state is snapshotted; default 5000 ms. */
  checkpointIntervalMs?: number;
  /** How often outputs are committed (made visible) while records flow; default 20 ms. */
  commitIntervalMs?: number;
  /** Records taken from one partition per step; default 2000. */
  maxBatch?: number;
  onOutput?: OutputListener;
  logger?: (message: string) => void;
  tableStore?: string;
  /** Give up when the cluster stays unreachable this long; default: never (keep retrying). */
  maxOutageMs?: number;
  /**
   * Partition tasks of a live run: a task whose input partitions bring no record for this long tells
   * the others to leave it out of their watermark until it sends again; default 5000 ms, 0: never.
   */
  idleTimeoutMs?: number;
  /** Called with every Task the runner creates (one per task, again after each recovery). */
  onTask?: (task: Task) => void;
  /** What to do with checkpointed state of steps that changed (`--drop-state`, `--rename-state`). */
  stateChanges?: StateChanges;
  /**
   * Delete the pipeline's checkpoint and internal topics first (`weir run --from-scratch`): its state
   * and input positions start over; outputs are kept. Refused while the pipeline runs elsewhere.
   */
  fromScratch?: boolean;
  /** Warnings: a step failing on every record (runtime/dead-letters.ts), once per step. Default: `logger`. */
  warn?: (message: string) => void;
  /**
   * Commit a snapshot of every task and stop with a DEAD_LETTER_RATIO error once more than this
   * share of the records the process's tasks read became dead letters (after `minRecords`).
   */
  deadLetterLimit?: DeadLetterLimit;
  /** What the user's sinks (`sinkTo`) log through; default: `logger` and `warn`. */
  sinkLogger?: Logger;
}

/** Where the plan's outputs go: nowhere (it only names topics, tables and datasets). */
const DISCARD: OutputCollector = { append() {}, upsert() {}, land() {}, deliver() {} };

/** A rebalance, a stop, or the end of every task: what ended a set of running sessions. */
type SessionsEnd = "complete" | "stopped" | "reassigned";

export class KafkaRunner {
  private readonly address: BrokerAddress;
  private readonly logger: (message: string) => void;
  /** The graph as one task: names the topics (and answers metrics before the first session). */
  private readonly plan: Task;
  private cluster: KafkaCluster | undefined;
  private membership: PipelineMembership | undefined;
  private sessions: TaskSession[] = [];
  /** `fromScratch` was done (once: not again when a session starts over after an outage). */
  private resetDone = false;
  /** Sessions of earlier assignments: their counters still count. */
  private retired = { recordsIn: 0, recordsOut: 0, checkpoints: 0, deadLetters: 0, lateRecords: 0 };
  /** The cluster answered at least once (later failures are outages to wait out). */
  private connectedOnce = false;
  private tables: TableOutputs | undefined;
  private lake: LakeOutputs | undefined;
  private storageOpen = false;
  /** When the current session started processing (0 when it has not). */
  private activeSince = 0;
  private partitionCounts = new Map<string, number>();
  private stopping = false;
  /** No task of the pipeline is held by this process. */
  private standingBy = false;
  private wake: (() => void) | undefined;
  private readonly startedAt = new Date();
  /** Steps already reported failing on every record (by any task of this process). */
  private readonly failingSteps = new Set<string>();
  private readonly meters: SessionMeters = {
    inputRate: new RateMeter(),
    outputRate: new RateMeter(),
    latency: new LatencyHistogram(),
  };

  constructor(
    readonly definition: PipelineDefinition,
    private readonly options: KafkaRunnerOptions,
  ) {
    this.address = parseBrokerUrl(options.broker);
    this.logger = options.logger ?? ((m) => process.stderr.write(`weir: ${m}\n`));
    this.plan = new Task(definition.graph, DISCARD);
  }

  /** The pipeline's task (the first running one; the plan before any runs). */
  get currentTask(): Task {
    return (this.sessions.find((s) => s.task instanceof Task)?.task as Task | undefined) ?? this.plan;
  }

  /** Finish the current batches, commit snapshots and return (SIGINT/SIGTERM). */
  stop(): void {
    this.stopping = true;
    for (const s of this.sessions) s.stop();
    this.wake?.();
  }

  async run(): Promise<RunSummary> {
    let outageSince = 0;
    let delay = 250;
    const status = new StatusPublisher(
      this.definition.graph,
      { dataDir: this.options.dataDir, engine: "kafka", broker: this.options.broker },
      () => ({ state: this.standingBy ? "standby" : "running", metrics: this.metrics() }),
    );
    status.start();
    try {
      for (;;) {
        try {
          const done = await this.session().catch((err: unknown) => {
            throw isKafkaClientError(err) ? brokerError(this.address, "a request", err) : err;
          });
          if (done || this.stopping) break;
          // The group took the task away: start over (standing by, or with the new assignment).
          await this.closeClients();
        } catch (err) {
          // A cluster never reached (a wrong address, nothing listening) is the user's to fix: one line.
          if (!isRecoverable(err) || this.stopping || !this.connectedOnce) throw err;
          const now = Date.now();
          if (outageSince === 0) outageSince = now;
          if (this.options.maxOutageMs !== undefined && now - outageSince > this.options.maxOutageMs)
            throw err;
          this.logger(
            `${this.definition.name}: ${(err as Error).message}; recovering from the last committed checkpoint in ${delay} ms`,
          );
          await this.closeClients();
          // Back off while failures follow each other; start over after a long healthy stretch.
          if (this.activeSince > 0 && now - this.activeSince > 60_000) delay = 250;
          this.activeSince = 0;
          await sleep(delay, () => this.stopping);
          delay = Math.min(delay * 2, 5000);
          continue;
        }
      }
      const totals = this.totals();
      return {
        recordsIn: totals.recordsIn,
        recordsOut: totals.recordsOut,
        deadLetters: totals.deadLetters,
        lateRecords: totals.lateRecords,
        checkpoints: totals.checkpoints,
        alreadyComplete: false,
      };
    } finally {
      status.stop();
      await this.closeClients();
      await this.tables?.close();
      await this.lake?.close();
    }
  }

  /**
   * Open tables and lake. The process that wrote them before (the previous storage writer, handing
   * over) may still hold the lake's locks for a moment: wait for it, up to a minute.
   */
  private async openStorage(): Promise<void> {
    if (this.storageOpen) return;
    const { dataDir } = this.options;
    for (let waited = 0; ; waited += 250) {
      try {
        if (this.plan.lakeDatasets().length > 0 && this.lake === undefined)
          this.lake = await LakeOutputs.open(dataDir, this.plan.lakeDatasets());
        break;
      } catch (err) {
        if (!isWeirError(err) || err.code !== "PARTITION_LOCKED" || waited >= 60_000 || this.stopping)
          throw err;
        if (waited === 0) this.logger(`${this.definition.name}: ${err.message}; waiting for it to hand over`);
        await sleep(250, () => this.stopping);
      }
    }
    if (this.plan.tables().length > 0 && this.tables === undefined) {
      this.tables = await TableOutputs.open(
        this.options.tableStore ?? this.definition.tableStore,
        dataDir,
        this.plan.tables(),
        this.logger,
        () => this.stopping,
      );
    }
    this.storageOpen = true;
  }

  /** Release tables and lake (another process's storage writer takes them over). */
  private async closeStorage(): Promise<void> {
    const { tables, lake } = this;
    this.tables = undefined;
    this.lake = undefined;
    this.storageOpen = false;
    await tables?.close();
    await lake?.close();
  }

  private created(task: Task): Task {
    this.options.onTask?.(task);
    return task;
  }

  /** The runner's message functions as a Logger (for the user's sinks). */
  private sinkLogger(): Logger {
    if (this.options.sinkLogger !== undefined) return this.options.sinkLogger;
    const info = this.logger;
    const warn = this.options.warn ?? this.logger;
    return { debug: () => {}, info, warn, error: warn };
  }

  private environment(): SessionEnvironment {
    return {
      address: this.address,
      cluster: this.cluster!,
      partitionCounts: this.partitionCounts,
      logger: this.logger,
      meters: this.meters,
      checkpointIntervalMs: this.options.checkpointIntervalMs ?? 5000,
      commitIntervalMs: this.options.commitIntervalMs ?? 20,
      idleTimeoutMs: this.options.idleTimeoutMs ?? 5000,
      maxBatch: this.options.maxBatch ?? 2000,
      onOutput: this.options.onOutput,
      stateChanges: this.options.stateChanges,
    };
  }

  /** One connection to the cluster: recover, then process until done, stopped or failed. */
  private async session(): Promise<boolean> {
    const cluster = (this.cluster = new KafkaCluster(this.address));
    if (this.options.fromScratch === true && !this.resetDone) {
      const deleted = await resetPipelineOnKafka(cluster, this.definition.graph);
      this.resetDone = true;
      this.logger(
        `${this.definition.name}: starting from scratch (${deleted.length > 0 ? `deleted ${deleted.join(", ")}` : "no checkpoint yet"}; outputs kept)`,
      );
    }
    // Topics: inputs (created empty when missing), outputs, and the internal ones.
    for (const topic of this.plan.inputTopics())
      this.partitionCounts.set(topic, await cluster.ensureTopic(topic, { partitions: 1 }));
    this.connectedOnce = true;
    for (const { topic, partitions } of this.plan.outputTopics())
      this.partitionCounts.set(topic, await cluster.ensureTopic(topic, { partitions }));
    const tasks = Math.max(...this.plan.inputTopics().map((t) => this.partitionCounts.get(t)!));
    return tasks === 1 ? this.singleTask() : this.partitionTasks(tasks);
  }

  /** Inputs of one partition: one task, run by the group's leader; the others stand by. */
  private async singleTask(): Promise<boolean> {
    const name = this.definition.name;
    const inputs: Record<string, number> = {};
    for (const topic of this.plan.inputTopics()) inputs[topic] = 1;
    const checkpoints = checkpointTopic(name);
    await this.cluster!.ensureTopic(checkpoints, { partitions: 1, config: CHECKPOINT_TOPIC_CONFIG });
    const membership = (this.membership = new PipelineMembership(this.address, pipelineGroup(name)));
    await membership.join(Object.keys(inputs));
    const active = await membership.waitUntilActive(
      inputs,
      () => this.stopping,
      () => {
        this.standingBy = true;
        this.logger(
          `${name}: standing by: another process is running this pipeline (consumer group weir.${name}); taking over if it stops`,
        );
      },
    );
    this.standingBy = false;
    if (!active) return true;
    // Tables and lake are opened by the active process only (a standby on the same machine would
    // find the lake datasets locked by the active one).
    await this.openStorage();
    const session = new TaskSession(this.environment(), {
      label: name,
      pipeline: name,
      steps: this.definition.graph.nodes.map((n) => n.id),
      transactionalId: `weir.${name}`,
      checkpointTopic: checkpoints,
      checkpointPartition: 0,
      inputs: Object.fromEntries(this.plan.inputTopics().map((t) => [t, [0]])),
      boundedInputs: this.plan.inputTopics(),
      newTask: (output) => this.created(new Task(this.definition.graph, output)),
      openSinks: () => ConnectorSinks.open(this.definition.graph, 0, this.sinkLogger()),
      tables: this.tables,
      lake: this.lake,
      untilEnd: this.options.untilEnd === true,
      holds: () => membership.holdsAll(inputs),
    });
    this.sessions = [session];
    await session.start();
    this.logger(`${name}: active: processing ${this.plan.inputTopics().join(", ")} (1 partition)`);
    this.activeSince = Date.now();
    const end = await this.runSessions(() => false);
    return end !== "reassigned";
  }

  /** Inputs of N partitions: N tasks spread over the processes of the group. */
  private async partitionTasks(tasks: number): Promise<boolean> {
    const name = this.definition.name;
    const cluster = this.cluster!;
    const exchanges = new Task(this.definition.graph, DISCARD, {
      exchange: { task: 0, tasks },
    }).exchangeTopics();
    for (const topic of exchanges)
      this.partitionCounts.set(topic, await cluster.ensureTopic(topic, { partitions: tasks }));
    const storage =
      this.plan.tables().length > 0 || this.plan.lakeDatasets().length > 0 ? storageTopic(name) : undefined;
    if (storage !== undefined)
      this.partitionCounts.set(storage, await cluster.ensureTopic(storage, { partitions: 1 }));
    const taskCheckpoints = `${checkpointTopic(name)}.tasks`;
    const storageCheckpoints = `${checkpointTopic(name)}.storage`;
    await cluster.ensureTopic(taskCheckpoints, { partitions: tasks, config: CHECKPOINT_TOPIC_CONFIG });
    if (storage !== undefined)
      await cluster.ensureTopic(storageCheckpoints, { partitions: 1, config: CHECKPOINT_TOPIC_CONFIG });

    const membership = (this.membership = new PipelineMembership(this.address, pipelineGroup(name), {
      assigner: tasksAcrossMembers,
    }));
    const inputTopics = this.plan.inputTopics();
    await membership.join(inputTopics);
    const steps = this.definition.graph.nodes.map((n) => n.id);
    let told = "";
    while (!this.stopping) {
      const held = membership.heldTasks();
      if (held.length === 0) {
        if (!this.standingBy) {
          this.standingBy = true;
          this.logger(
            `${name}: standing by: the other processes of consumer group weir.${name} hold all ${tasks} tasks; taking some over when the group changes`,
          );
        }
        await this.waitFor(() => membership.heldTasks().length > 0, 500);
        continue;
      }
      this.standingBy = false;
      const generation = membership.generation;
      const sessions: TaskSession[] = [];
      for (const p of held) {
        const bounded = inputTopics.filter((t) => this.partitionCounts.get(t)! > p);
        const inputs: Record<string, number[]> = {};
        for (const t of [...bounded, ...exchanges]) inputs[t] = [p];
        sessions.push(
          new TaskSession(this.environment(), {
            label: `${name} task ${p}`,
            pipeline: name,
            steps,
            transactionalId: `weir.${name}.task.${p}`,
            checkpointTopic: taskCheckpoints,
            checkpointPartition: p,
            inputs,
            boundedInputs: bounded,
            newTask: (output) => {
              const task = this.created(
                new Task(this.definition.graph, output, { exchange: { task: p, tasks } }),
              );
              // A topic with fewer partitions than tasks has nothing for this task: never hold others back.
              for (const t of inputTopics) if (!bounded.includes(t)) task.advanceWatermark(Infinity, t);
              return task;
            },
            storageTopic: storage,
            internalTopics: storage === undefined ? exchanges : [...exchanges, storage],
            untilEnd: this.options.untilEnd === true,
            complete: (task) => (task as Task).exchangesComplete(),
            finish: (output) => {
              if (storage !== undefined) output.append(storage, null, taskEndRecord(p), 0, 0);
            },
            holds: () => membership.holdsTask(p),
            openSinks: () => ConnectorSinks.open(this.definition.graph, p, this.sinkLogger()),
          }),
        );
      }
      if (storage !== undefined && held.includes(0)) {
        await this.openStorage();
        sessions.push(
          new TaskSession(this.environment(), {
            label: `${name} storage`,
            pipeline: name,
            steps: ["storage-writer"],
            transactionalId: `weir.${name}.storage`,
            checkpointTopic: storageCheckpoints,
            checkpointPartition: 0,
            inputs: { [storage]: [0] },
            boundedInputs: [],
            newTask: (output) =>
              new StorageWriterTask(
                this.plan.tables().map((t) => t.name),
                tasks,
                output,
              ),
            tables: this.tables,
            lake: this.lake,
            untilEnd: this.options.untilEnd === true,
            complete: (task) => (task as StorageWriterTask).complete(),
            holds: () => membership.holdsTask(0),
          }),
        );
      }
      this.sessions = sessions;
      if (!(await this.startSessions(sessions))) continue;
      const what = `${name}: active: processing task${held.length === 1 ? "" : "s"} ${held.join(", ")} of ${tasks} (${inputTopics.join(", ")} partition${held.length === 1 ? "" : "s"} ${held.join(", ")})${sessions.length > held.length ? " and the storage writer" : ""}`;
      if (what !== told) this.logger(what);
      told = what;
      this.activeSince = Date.now();
      const end = await this.runSessions(
        () => membership.generation !== generation && membership.heldTasks().join() !== held.join(),
      );
      if (end !== "reassigned") return true;
      if (this.storageOpen && !membership.holdsTask(0)) await this.closeStorage();
      this.logger(
        `${name}: the group changed: handing over tasks ${held.join(", ")} and taking up the new assignment`,
      );
    }
    return true;
  }

  /**
   * Start each session (fence, restore, re-read). False when the group took a task away meanwhile
   * (the sessions are closed and the caller takes up the new assignment).
   */
  private async startSessions(sessions: TaskSession[]): Promise<boolean> {
    for (const s of sessions) {
      try {
        await s.start();
      } catch (err) {
        if (s.binding.holds()) throw err;
        this.retire(sessions);
        return false;
      }
    }
    return true;
  }

  /**
   * Run `this.sessions` until they are all complete, the process is stopping, or `reassigned()`
   * says the group gave out the tasks anew (then each commits a snapshot and stops). A failing
   * session stops the others and its error is rethrown.
   */
  private async runSessions(reassigned: () => boolean): Promise<SessionsEnd> {
    const sessions = this.sessions;
    let failure: unknown;
    let settled = 0;
    let complete = 0;
    const runs = sessions.map((s) =>
      s.run().then(
        (done) => {
          settled++;
          if (done) complete++;
        },
        (err: unknown) => {
          settled++;
          failure ??= err;
        },
      ),
    );
    let end: SessionsEnd = "complete";
    while (settled < sessions.length) {
      failure ??= this.watchDeadLetters(sessions);
      if (failure !== undefined || this.stopping || reassigned()) {
        end = this.stopping ? "stopped" : failure !== undefined ? "stopped" : "reassigned";
        for (const s of sessions) s.stop();
        break;
      }
      if (settled > 0 && complete < settled) {
        // A session stopped because the group took its task away.
        end = "reassigned";
        for (const s of sessions) s.stop();
        break;
      }
      await this.waitFor(() => settled === sessions.length || failure !== undefined, 100);
    }
    await Promise.all(runs);
    // Sessions that completed (--until-end) before the loop looked: their final counts.
    failure ??= this.watchDeadLetters(sessions);
    this.retire(sessions);
    if (failure !== undefined) throw failure;
    if (end === "complete" && complete < sessions.length) end = this.stopping ? "stopped" : "reassigned";
    return end;
  }

  /**
   * Warn about steps failing on every record (once per step for the process); past the dead-letter
   * limit, the error the run stops with (the caller stops the sessions: each commits a snapshot).
   */
  private watchDeadLetters(sessions: readonly TaskSession[]): WeirError | undefined {
    const watches: DeadLetterWatch[] = [];
    for (const s of sessions) if (s.task instanceof Task) watches.push(s.task.deadLetterWatch);
    const warn = this.options.warn ?? this.logger;
    const dlq = this.plan.deadLetterTopic;
    for (const w of watches)
      for (const f of w.takeWarnings()) {
        if (this.failingSteps.has(f.step)) continue;
        this.failingSteps.add(f.step);
        warn(failingStepMessage(this.definition.name, dlq, f));
      }
    const limit = this.options.deadLetterLimit;
    const exceeded = limit === undefined ? undefined : deadLetterRatioExceeded(limit, watches);
    return exceeded === undefined ? undefined : ratioExceededError(this.definition.name, dlq, exceeded);
  }

  /** Close the sessions and keep their counts. */
  private retire(sessions: TaskSession[]): void {
    for (const s of sessions) {
      this.retired.recordsIn += s.inputRecordsIn;
      this.retired.recordsOut += s.recordsOut;
      this.retired.checkpoints += s.checkpointsWritten;
      this.retired.deadLetters += s.task.deadLetters;
      this.retired.lateRecords += s.task.lateRecords;
      void s.close();
    }
    if (this.sessions === sessions) this.sessions = [];
  }

  private totals(): typeof this.retired {
    const t = { ...this.retired };
    for (const s of this.sessions) {
      t.recordsIn += s.inputRecordsIn;
      t.recordsOut += s.recordsOut;
      t.checkpoints += s.checkpointsWritten;
      t.deadLetters += s.task.deadLetters;
      t.lateRecords += s.task.lateRecords;
    }
    return t;
  }

  private waitFor(ready: () => boolean, ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (ready()) return resolve();
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }

  metrics(): PipelineMetricsSnapshot {
    const now = Date.now();
    const totals = this.totals();
    const tasks = this.sessions.filter((s) => s.task instanceof Task);
    let w = Infinity;
    let stateSize = 0;
    let lag: number | null = tasks.length > 0 ? 0 : null;
    let lastCheckpoint = 0;
    for (const s of tasks) {
      const tw = s.task.watermark();
      if (tw < w) w = tw;
      stateSize += s.task.stateSize();
      const l = s.inputLag();
      lag = lag === null || l === null ? null : lag + l;
      lastCheckpoint = Math.max(lastCheckpoint, s.lastCheckpointAt);
    }
    if (tasks.length === 0) w = -Infinity;
    const latency = this.meters.latency;
    return {
      pipeline: this.definition.name,
      startedAt: this.startedAt.toISOString(),
      recordsIn: totals.recordsIn,
      inputRatePerSec: this.meters.inputRate.rate(now),
      recordsOut: totals.recordsOut,
      outputRatePerSec: this.meters.outputRate.rate(now),
      deadLetters: totals.deadLetters,
      lateRecords: totals.lateRecords,
      watermark: Number.isFinite(w) ? w : null,
      watermarkLagMs: Number.isFinite(w) ? now - w : null,
      stateSize,
      inputLag: lag,
      latencyMs: {
        p50: latency.percentile(50),
        p99: latency.percentile(99),
        max: latency.max,
        count: latency.count,
      },
      latencyHistogram: latencyBuckets(latency),
      checkpoints: totals.checkpoints,
      lastCheckpointAt: lastCheckpoint > 0 ? new Date(lastCheckpoint).toISOString() : null,
      steps: tasks.length > 0 ? mergeStepMetrics(tasks.map((s) => s.task.metrics())) : this.plan.metrics(),
    };
  }

  private async closeClients(): Promise<void> {
    const sessions = this.sessions;
    const cluster = this.cluster;
    const membership = this.membership;
    this.membership = undefined;
    this.cluster = undefined;
    if (sessions.length > 0) {
      this.retire(sessions);
      await Promise.allSettled(sessions.map((s) => s.close()));
    }
    await cluster?.close();
    await membership?.close();
  }
}

export { closeQuietly, readCheckpoints };

/** Errors of the Kafka client library carry codes like PLT_KFK_NETWORK. */
function isKafkaClientError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" && code.startsWith("PLT_KFK_");
}

/**
 * Cluster errors are retried from the last committed checkpoint, including being fenced: another
 * process took the pipeline over, and this one goes back to standing by.
 */
function isRecoverable(err: unknown): boolean {
  if (!(err instanceof WeirError) || err.code !== "BROKER") return false;
  return !/AUTHORIZATION|AUTHENTICATION/i.test(describe(err));
}

function describe(err: unknown): string {
  let text = "";
  let e: unknown = err;
  for (let i = 0; i < 5 && e; i++) {
    const x = e as { message?: string; errors?: unknown[]; cause?: unknown };
    text += ` ${x.message ?? ""}`;
    if (Array.isArray(x.errors)) text += x.errors.map((y) => ` ${(y as Error)?.message ?? ""}`).join("");
    e = x.cause;
  }
  return text;
}

function sleep(ms: number, stopped: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const end = Date.now() + ms;
    const tick = () => (stopped() || Date.now() >= end ? resolve() : setTimeout(tick, 50));
    tick();
  });
}
