/**
 * What a running pipeline tells the world about itself: every second each runner (embedded or
 * Kafka) writes `<data dir>/status/<pipeline>.<pid>.json` — its graph, its state and a metrics
 * snapshot. (One file per process: on Kafka a standby process of the same pipeline can share the
 * data directory.)
 * `weir dashboard`, the HTTP API and `/metrics` read these files, so a dashboard started on its own
 * sees every pipeline running on the machine, and a slow reader can never slow a pipeline down:
 * the runner only ever writes one small file, whatever reads it.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { describeGraph, type GraphDescription, type PipelineGraph } from "../graph/graph.js";
import type { PipelineMetricsSnapshot } from "./metrics.js";

/**
 * - running: processing (or waiting for input);
 * - standby: on Kafka, another process of the same consumer group is running the pipeline;
 * - stopped: the run ended (its last metrics are kept).
 */
export type PipelineState = "running" | "standby" | "stopped";

export interface PipelineStatus {
  pipeline: string;
  state: PipelineState;
  /** "embedded": the embedded log in `dataDir`; "kafka": the cluster at `broker`. */
  engine: "embedded" | "kafka";
  broker: string | null;
  dataDir: string;
  pid: number;
  host: string;
  /** When this status was written, ms since the epoch. A running status older than a few seconds means the process is gone. */
  updatedAt: number;
  graph: GraphDescription;
  metrics: PipelineMetricsSnapshot;
}

/** How often runners write their status, ms. */
export const STATUS_INTERVAL_MS = 1000;

/** The directory holding the status files of the pipelines using `dataDir`. */
export function statusDir(dataDir: string): string {
  return join(dataDir, "status");
}

/**
 * Every status file in `dataDir`, one per process that ran a pipeline (unreadable ones are
 * skipped). Several for one pipeline: on Kafka, the active process and its standbys; or an old
 * process that died without writing "stopped" (its `updatedAt` stops moving).
 */
export function readStatuses(dataDir: string): PipelineStatus[] {
  let names: string[];
  try {
    names = readdirSync(statusDir(dataDir)).filter((n) => n.endsWith(".json"));
  } catch {
    return [];
  }
  const out: PipelineStatus[] = [];
  for (const name of names.sort()) {
    try {
      out.push(JSON.parse(readFileSync(join(statusDir(dataDir), name), "utf8")) as PipelineStatus);
    } catch {
      // A file being replaced, or not ours: the next read sees it.
    }
  }
  return out;
}

/** Writes a runner's status file every second while it runs, and a last one when it stops. */
export class StatusPublisher {
  private timer: NodeJS.Timeout | undefined;
  private readonly graph: GraphDescription;
  private readonly file: string;
  private failed = false;

  constructor(
    graph: PipelineGraph,
    private readonly where: { dataDir: string; engine: "embedded" | "kafka"; broker?: string },
    private readonly snapshot: () => { state: PipelineState; metrics: PipelineMetricsSnapshot },
  ) {
    this.graph = describeGraph(graph);
    this.file = join(statusDir(where.dataDir), `${graph.pipeline}.${process.pid}.json`);
  }

  start(): void {
    if (this.timer !== undefined) return;
    this.removeLeftovers();
    this.publish();
    this.timer = setInterval(() => this.publish(), STATUS_INTERVAL_MS);
    this.timer.unref();
  }

  /** Write the final status (state "stopped") and stop publishing. */
  stop(): void {
    if (this.timer === undefined) return;
    clearInterval(this.timer);
    this.timer = undefined;
    this.publish("stopped");
  }

  /** Status files of earlier processes of this pipeline that stopped, or died (stale for 10 s). */
  private removeLeftovers(): void {
    const dir = statusDir(this.where.dataDir);
    for (const s of readStatuses(this.where.dataDir)) {
      if (s.pipeline !== this.graph.pipeline || s.pid === process.pid) continue;
      if (s.state === "stopped" || Date.now() - s.updatedAt > 10 * STATUS_INTERVAL_MS)
        rmSync(join(dir, `${s.pipeline}.${s.pid}.json`), { force: true });
    }
  }

  /** Write the status now (atomically: a reader never sees half a file). */
  publish(state?: PipelineState): void {
    if (this.failed) return;
    let now: ReturnType<typeof this.snapshot>;
    try {
      now = this.snapshot();
    } catch {
      return; // the runner is between states (closing its readers): the next second has it
    }
    const status: PipelineStatus = {
      pipeline: this.graph.pipeline,
      state: state ?? now.state,
      engine: this.where.engine,
      broker: this.where.broker ?? null,
      dataDir: this.where.dataDir,
      pid: process.pid,
      host: hostname(),
      updatedAt: Date.now(),
      graph: this.graph,
      metrics: now.metrics,
    };
    try {
      mkdirSync(statusDir(this.where.dataDir), { recursive: true });
      const tmp = `${this.file}.${process.pid}.tmp`;
      writeFileSync(tmp, JSON.stringify(status));
      renameSync(tmp, this.file);
    } catch {
      // Status is for watching only: a full or read-only disk must not stop the pipeline.
      this.failed = true;
    }
  }
}
