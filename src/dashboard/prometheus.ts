/**
 * `GET /metrics`: the pipelines' metrics in Prometheus' text exposition format, version 0.0.4
 * (https://prometheus.io/docs/instrumenting/exposition_formats/). Every metric family is written
 * once, with its HELP and TYPE lines, its samples together; see docs/api.md for the list.
 *
 * Every pipeline with a status file is exported (the counters of its best instance: the running
 * one, else the last one that ran); `weir_pipeline_up` says whether it is running now. Counters
 * start at 0 when a pipeline's process starts (Prometheus treats that as a counter reset).
 */
import type { PipelineEntry } from "./pipelines.js";

export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** A label value escaped as the format requires: backslash, double quote and line feed. */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/** HELP text escaped: backslash and line feed. */
function escapeHelp(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

/** A sample value: Go's float formatting for the special values, JavaScript's shortest form otherwise. */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

/** A bucket bound in seconds from ms, without binary noise (2.5 ms -> "0.0025"). */
function secondsBound(ms: number): string {
  return formatValue(Number((ms / 1000).toPrecision(12)));
}

function labels(pairs: ReadonlyArray<readonly [string, string]>): string {
  if (pairs.length === 0) return "";
  return `{${pairs.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(",")}}`;
}

class Family {
  readonly lines: string[] = [];
  constructor(
    readonly name: string,
    readonly type: "counter" | "gauge" | "histogram",
    readonly help: string,
  ) {}

  add(pairs: ReadonlyArray<readonly [string, string]>, value: number, suffix = ""): void {
    this.lines.push(`${this.name}${suffix}${labels(pairs)} ${formatValue(value)}`);
  }
}

const num = (v: unknown): number | undefined => (typeof v === "number" && Number.isFinite(v) ? v : undefined);

/** The text of `GET /metrics` for these pipelines. */
export function renderPrometheus(entries: readonly PipelineEntry[]): string {
  const recordsIn = new Family("weir_records_in_total", "counter", "Records that entered a step.");
  const recordsOut = new Family("weir_records_out_total", "counter", "Records a step passed on or wrote.");
  const deadLetters = new Family(
    "weir_dead_letters_total",
    "counter",
    "Records a step sent to the dead-letter topic <pipeline>.dlq.",
  );
  const late = new Family(
    "weir_late_records_total",
    "counter",
    "Records a step found late (sent to <pipeline>.late).",
  );
  const state = new Family("weir_state_entries", "gauge", "Entries in a stateful step's state.");
  const watermarkLag = new Family(
    "weir_watermark_lag_seconds",
    "gauge",
    "Wall clock minus the pipeline's event-time watermark.",
  );
  const inputLag = new Family(
    "weir_input_lag_records",
    "gauge",
    "Records of the input topics the pipeline has not read yet.",
  );
  const checkpoints = new Family("weir_checkpoints_total", "counter", "Checkpoints written.");
  const latency = new Family(
    "weir_event_output_latency_seconds",
    "histogram",
    "Time from an input record's append to the log until the outputs it caused are written.",
  );
  const up = new Family("weir_pipeline_up", "gauge", "1 when the pipeline is running, 0 otherwise.");

  const sorted = [...entries].sort((a, b) =>
    a.pipeline < b.pipeline ? -1 : a.pipeline > b.pipeline ? 1 : 0,
  );
  for (const e of sorted) {
    const p = ["pipeline", e.pipeline] as const;
    const m = e.metrics;
    for (const s of m.steps ?? []) {
      const l = [p, ["step", s.id] as const];
      recordsIn.add(l, s.recordsIn);
      recordsOut.add(l, s.recordsOut);
      deadLetters.add(l, s.deadLetters);
      late.add(l, s.lateRecords);
      if (num(s.stateSize) !== undefined) state.add(l, s.stateSize!);
    }
    const lagMs = num(m.watermarkLagMs);
    if (lagMs !== undefined) watermarkLag.add([p], lagMs / 1000);
    const lag = num(m.inputLag);
    if (lag !== undefined) inputLag.add([p], lag);
    checkpoints.add([p], m.checkpoints);
    const h = m.latencyHistogram;
    if (h !== undefined && Array.isArray(h.boundsMs) && Array.isArray(h.cumulative)) {
      h.boundsMs.forEach((b, i) =>
        latency.add([p, ["le", secondsBound(b)]], h.cumulative[i] ?? 0, "_bucket"),
      );
      latency.add([p, ["le", "+Inf"]], h.count, "_bucket");
      latency.add([p], h.sumMs / 1000, "_sum");
      latency.add([p], h.count, "_count");
    }
    up.add([p], e.state === "running" ? 1 : 0);
  }

  let out = "";
  for (const f of [
    recordsIn,
    recordsOut,
    deadLetters,
    late,
    state,
    watermarkLag,
    inputLag,
    checkpoints,
    latency,
    up,
  ]) {
    out += `# HELP ${f.name} ${escapeHelp(f.help)}\n# TYPE ${f.name} ${f.type}\n`;
    for (const line of f.lines) out += `${line}\n`;
  }
  return out;
}
