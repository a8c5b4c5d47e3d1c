/**
 * The page's side of docs/api.md: the response shapes, `api()` for JSON requests, the shared
 * server-sent events stream and whether the server is reachable (the banner listens to that).
 */
import type { PipelineMetricsSnapshot, StepSnapshot } from "../src/runtime/metrics.js";

export type { PipelineMetricsSnapshot, StepSnapshot };

export interface Overview {
  dataDir: string;
  engine: "embedded" | "kafka";
  broker: string | null;
  version: string;
  now: number;
}

export type PipelineState = "running" | "standby" | "stopped" | "unresponsive";

export interface GraphStep {
  id: string;
  kind: string;
  input: string | null;
  detail: string;
}

/** GraphDescription (src/graph/graph.ts). */
export interface GraphInfo {
  pipeline: string;
  steps: GraphStep[];
  outputs: string[];
  tables: string[];
  datasets: string[];
}

export interface PipelineInstance {
  pid: number;
  host: string;
  state: string;
  updatedAt: number;
}

export interface PipelineEntry {
  pipeline: string;
  state: PipelineState;
  engine: "embedded" | "kafka";
  updatedAt: number;
  instances: PipelineInstance[];
  metrics: PipelineMetricsSnapshot | null;
  graph: GraphInfo | null;
}

export interface HistorySample {
  t: number;
  recordsIn: number;
  recordsOut: number;
  inputRatePerSec: number;
  outputRatePerSec: number;
  p50: number | null;
  p99: number | null;
  watermarkLagMs: number | null;
  stateSize: number;
  inputLag: number | null;
  deadLetters: number;
  lateRecords: number;
}

export interface PipelineDetail extends PipelineEntry {
  history: HistorySample[];
}

export interface TopicInfo {
  name: string;
  partitions: number;
  records: number;
  bytes: number | null;
  ratePerSec: number;
}

export interface TopicRecord {
  partition: number;
  offset: number;
  timestamp: number;
  key: string | null;
  value: unknown;
}

export interface TableInfo {
  name: string;
  versions: number;
  keys: number;
}

export interface TableRows {
  table: string;
  rows: Array<Record<string, unknown>>;
}

export interface SqlResult {
  columns: Array<{ name: string; type: string }>;
  rows: unknown[][];
  truncated: boolean;
  elapsedMs: number;
}

export interface DeadLetter {
  pipeline: string;
  partition: number;
  offset: number;
  timestamp: number;
  error: string;
  raw: string;
  source: { topic: string; partition: number; offset: number } | null;
}

/** A failed request: `status` 0 when the server could not be reached. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

type ConnectionListener = (up: boolean) => void;
const listeners = new Set<ConnectionListener>();
let serverUp = true;

/** Tell `fn` whenever the server becomes reachable or unreachable. */
export function onConnection(fn: ConnectionListener): void {
  listeners.add(fn);
}

function setServerUp(up: boolean): void {
  if (up === serverUp) return;
  serverUp = up;
  for (const fn of listeners) fn(up);
}

/** GET (or POST with `body` as JSON) an API path and parse its JSON answer. */
export async function api<T>(path: string, body?: unknown): Promise<T> {
  let res: Response;
  try {
    res = await fetch(
      path,
      body === undefined
        ? { headers: { accept: "application/json" } }
        : {
            method: "POST",
            headers: { accept: "application/json", "content-type": "application/json" },
            body: JSON.stringify(body),
          },
    );
  } catch {
    setServerUp(false);
    throw new ApiError(0, "server unreachable");
  }
  // A proxy in front of a stopped server answers 502-504: as unreachable as no answer.
  if (res.status >= 502 && res.status <= 504) {
    setServerUp(false);
    throw new ApiError(0, "server unreachable");
  }
  setServerUp(true);
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text === "" ? null : JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (!res.ok) {
    const message =
      parsed !== null &&
      typeof parsed === "object" &&
      typeof (parsed as { error?: unknown }).error === "string"
        ? (parsed as { error: string }).error
        : `${res.status} ${res.statusText}`;
    throw new ApiError(res.status, message);
  }
  if (parsed === undefined) throw new ApiError(res.status, `not JSON: ${text.slice(0, 80)}`);
  return parsed as T;
}

/** `/api/x/${seg}`: one path segment, escaped. */
export function seg(s: string): string {
  return encodeURIComponent(s);
}

type PipelinesListener = (entries: PipelineEntry[]) => void;
const sseListeners = new Set<PipelinesListener>();
let source: EventSource | undefined;
let reopenTimer: number | undefined;

function openEvents(): void {
  const es = new EventSource("/api/events");
  source = es;
  es.addEventListener("open", () => setServerUp(true));
  es.addEventListener("pipelines", (ev) => {
    setServerUp(true);
    let entries: PipelineEntry[];
    try {
      entries = JSON.parse((ev as MessageEvent<string>).data) as PipelineEntry[];
    } catch {
      return;
    }
    for (const fn of sseListeners) fn(entries);
  });
  es.addEventListener("error", () => {
    setServerUp(false);
    // EventSource retries by itself while CONNECTING; an HTTP error closes it for good: retry here.
    if (es.readyState === EventSource.CLOSED && source === es) {
      source = undefined;
      reopenTimer = window.setTimeout(() => {
        reopenTimer = undefined;
        if (sseListeners.size > 0 && source === undefined) openEvents();
      }, 3000);
    }
  });
}

/**
 * Receive the `pipelines` server-sent event (every second) until the returned function is called.
 * One EventSource is shared by every subscriber and closed when the last one leaves.
 */
export function subscribePipelines(fn: PipelinesListener): () => void {
  sseListeners.add(fn);
  if (source === undefined && reopenTimer === undefined) openEvents();
  return () => {
    sseListeners.delete(fn);
    if (sseListeners.size > 0) return;
    source?.close();
    source = undefined;
    if (reopenTimer !== undefined) window.clearTimeout(reopenTimer);
    reopenTimer = undefined;
  };
}

/**
 * Run `fn` now and again `everyMs` after each run ends (never two at once) until the returned
 * function is called. Errors are `fn`'s to show; polling goes on.
 */
export function poll(fn: () => Promise<void>, everyMs: number): () => void {
  let stopped = false;
  let timer: number | undefined;
  const tick = async () => {
    try {
      await fn();
    } catch {
      // shown by fn (or by the banner); the next tick retries
    }
    if (!stopped) timer = window.setTimeout(tick, everyMs);
  };
  void tick();
  return () => {
    stopped = true;
    if (timer !== undefined) window.clearTimeout(timer);
  };
}

/** A one-line message for a failed request. */
export function errorText(err: unknown): string {
  if (err instanceof ApiError) return err.status === 0 ? "server unreachable, retrying" : err.message;
  return err instanceof Error ? err.message : String(err);
}
