/**
 * The pipelines the dashboard shows: read from the status files runners write once a second
 * (src/runtime/status.ts), grouped per pipeline, with a history of samples the server takes itself
 * (one a second, ten minutes) and pushed to browsers as server-sent events.
 *
 * A pipeline never waits for any of this: the runner only writes its small status file. A browser
 * that does not read its event stream fast enough is skipped until its connection drains.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { GraphDescription } from "../graph/graph.js";
import type { PipelineMetricsSnapshot } from "../runtime/metrics.js";
import { readStatuses, type PipelineStatus } from "../runtime/status.js";
import { Ring } from "../util/ring.js";
import { mergeMetrics } from "./merge-metrics.js";

/** `unresponsive`: the status says running (or standby) but was not updated for `staleMs`. */
export type DashboardState = "running" | "standby" | "stopped" | "unresponsive";

export interface PipelineInstance {
  pid: number;
  host: string;
  state: DashboardState;
  updatedAt: number;
}

/** One entry of `GET /api/pipelines` (docs/api.md). */
export interface PipelineEntry {
  pipeline: string;
  state: DashboardState;
  engine: "embedded" | "kafka";
  updatedAt: number;
  instances: PipelineInstance[];
  /**
   * The metrics of the instance the state comes from (the running one, if any); when several
   * instances are running (a pipeline shared on Kafka), those of all of them combined (mergeMetrics).
   */
  metrics: PipelineMetricsSnapshot;
  graph: GraphDescription;
}

/** One sample of a pipeline's history (`GET /api/pipelines/:name`). */
export interface HistorySample {
  t: number;
  recordsIn: number;
  recordsOut: number;
  inputRatePerSec: number;
  outputRatePerSec: number;
  p50: number;
  p99: number;
  watermarkLagMs: number | null;
  stateSize: number;
  inputLag: number | null;
  deadLetters: number;
  lateRecords: number;
}

export interface PipelineMonitorOptions {
  /** Sampling (and event) period, ms. Default 1000. */
  intervalMs?: number;
  /** Samples kept per pipeline. Default 600 (10 minutes at one a second). */
  historySize?: number;
  /** A running/standby status older than this is "unresponsive", ms. Default 5000. */
  staleMs?: number;
  /** A client whose connection has not drained for this long is disconnected, ms. Default 60 000. */
  blockedClientTimeoutMs?: number;
}

const STATE_RANK: Record<DashboardState, number> = { running: 0, standby: 1, unresponsive: 2, stopped: 3 };

/** The state of one status file at `now`. */
export function instanceState(s: PipelineStatus, now: number, staleMs: number): DashboardState {
  if (s.state === "stopped") return "stopped";
  return now - s.updatedAt > staleMs ? "unresponsive" : s.state;
}

/**
 * Group status files per pipeline: the pipeline's state, metrics and graph are those of its best
 * instance (running first, then standby, unresponsive, stopped; the newest among equals), except
 * that the metrics of several running instances (processes sharing a pipeline's partition tasks on
 * Kafka) are combined. Running pipelines come first, then by name.
 */
export function groupStatuses(
  statuses: readonly PipelineStatus[],
  now: number,
  staleMs = 5000,
): PipelineEntry[] {
  const byName = new Map<string, Array<{ s: PipelineStatus; state: DashboardState }>>();
  for (const s of statuses) {
    if (typeof s?.pipeline !== "string" || typeof s.metrics !== "object" || s.metrics === null) continue;
    let list = byName.get(s.pipeline);
    if (list === undefined) byName.set(s.pipeline, (list = []));
    list.push({ s, state: instanceState(s, now, staleMs) });
  }
  const entries: PipelineEntry[] = [];
  for (const [pipeline, list] of byName) {
    list.sort((a, b) => STATE_RANK[a.state] - STATE_RANK[b.state] || b.s.updatedAt - a.s.updatedAt);
    const best = list[0];
    const running = list.filter((i) => i.state === "running");
    entries.push({
      pipeline,
      state: best.state,
      engine: best.s.engine,
      updatedAt: best.s.updatedAt,
      instances: list.map(({ s, state }) => ({ pid: s.pid, host: s.host, state, updatedAt: s.updatedAt })),
      metrics: running.length > 1 ? mergeMetrics(running.map((i) => i.s.metrics)) : best.s.metrics,
      graph: best.s.graph,
    });
  }
  entries.sort(
    (a, b) =>
      STATE_RANK[a.state] - STATE_RANK[b.state] ||
      (a.pipeline < b.pipeline ? -1 : a.pipeline > b.pipeline ? 1 : 0),
  );
  return entries;
}

/**
 * A history sample of an entry (of its combined metrics when several instances run); a pipeline
 * that is not running has rates of 0.
 */
export function sampleOf(e: PipelineEntry, t: number): HistorySample {
  const m = e.metrics;
  const live = e.state === "running";
  return {
    t,
    recordsIn: m.recordsIn,
    recordsOut: m.recordsOut,
    inputRatePerSec: live ? m.inputRatePerSec : 0,
    outputRatePerSec: live ? m.outputRatePerSec : 0,
    p50: m.latencyMs?.p50 ?? 0,
    p99: m.latencyMs?.p99 ?? 0,
    watermarkLagMs: m.watermarkLagMs,
    stateSize: m.stateSize,
    inputLag: m.inputLag,
    deadLetters: m.deadLetters,
    lateRecords: m.lateRecords,
  };
}

interface SseClient {
  res: ServerResponse;
  /** Since when the connection has not drained (0: it takes writes). */
  blockedSince: number;
}

export class PipelineMonitor {
  private readonly intervalMs: number;
  private readonly historySize: number;
  private readonly staleMs: number;
  private readonly blockedTimeoutMs: number;
  private readonly history = new Map<string, Ring<HistorySample>>();
  private readonly clients = new Set<SseClient>();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    readonly dataDir: string,
    options: PipelineMonitorOptions = {},
  ) {
    this.intervalMs = options.intervalMs ?? 1000;
    this.historySize = options.historySize ?? 600;
    this.staleMs = options.staleMs ?? 5000;
    this.blockedTimeoutMs = options.blockedClientTimeoutMs ?? 60_000;
  }

  /** Take a first sample and then one every interval (the timer does not keep the process alive). */
  start(): void {
    if (this.timer !== undefined || this.closed) return;
    this.tick();
    this.timer = setInterval(() => this.tick(), this.intervalMs);
    this.timer.unref();
  }

  /** The pipelines as the status files say now. */
  list(now = Date.now()): PipelineEntry[] {
    return groupStatuses(readStatuses(this.dataDir), now, this.staleMs);
  }

  /** One pipeline with its history, or undefined when it has no status file. */
  get(name: string): (PipelineEntry & { history: HistorySample[] }) | undefined {
    const entry = this.list().find((e) => e.pipeline === name);
    if (entry === undefined) return undefined;
    return { ...entry, history: this.history.get(name)?.toArray() ?? [] };
  }

  /** Names of the pipelines with a status file. */
  names(): string[] {
    return this.list().map((e) => e.pipeline);
  }

  /** Serve `GET /api/events`: `event: pipelines` now and after every sample, until the client goes. */
  addClient(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, {
      "Content-Type": "text/event-stream; charset=utf-8",
      "Cache-Control": "no-cache, no-transform",
      Connection: "keep-alive",
      "X-Accel-Buffering": "no",
    });
    req.socket.setNoDelay(true);
    if (this.closed) {
      res.end();
      return;
    }
    const client: SseClient = { res, blockedSince: 0 };
    this.clients.add(client);
    const remove = () => this.clients.delete(client);
    res.on("close", remove);
    res.on("error", remove);
    this.send(client, `retry: 2000\n\n${this.event(this.list())}`, Date.now());
  }

  /** Clients connected to the event stream. */
  get clientCount(): number {
    return this.clients.size;
  }

  /** Stop sampling and end every event stream. */
  close(): void {
    this.closed = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    for (const c of this.clients) c.res.end();
    this.clients.clear();
  }

  private tick(): void {
    const now = Date.now();
    let entries: PipelineEntry[];
    try {
      entries = this.list(now);
    } catch {
      return; // the status directory is being changed: the next tick sees it
    }
    const seen = new Set<string>();
    for (const e of entries) {
      seen.add(e.pipeline);
      let ring = this.history.get(e.pipeline);
      if (ring === undefined) this.history.set(e.pipeline, (ring = new Ring(this.historySize)));
      ring.push(sampleOf(e, now));
    }
    for (const name of [...this.history.keys()]) if (!seen.has(name)) this.history.delete(name);
    if (this.clients.size === 0) return;
    const text = this.event(entries);
    for (const c of this.clients) this.send(c, text, now);
  }

  private event(entries: PipelineEntry[]): string {
    return `event: pipelines\ndata: ${JSON.stringify(entries)}\n\n`;
  }

  /** Write to a client unless its connection is still full from an earlier write (then skip it). */
  private send(c: SseClient, text: string, now: number): void {
    const res = c.res;
    if (res.destroyed || res.writableEnded) {
      this.clients.delete(c);
      return;
    }
    if (c.blockedSince > 0) {
      if (now - c.blockedSince > this.blockedTimeoutMs) {
        this.clients.delete(c);
        res.destroy();
      }
      return;
    }
    if (!res.write(text)) {
      c.blockedSince = now;
      res.once("drain", () => {
        c.blockedSince = 0;
      });
    }
  }
}
