/**
 * Embedded log benchmarks: append throughput (flush interval, and always for reference), sequential
 * read throughput, and produce -> consume latency across processes (a child process appends one
 * record at a time at a steady rate; this process waits with waitForData and polls).
 *
 * Standalone: `node --import tsx bench/log.ts` (or `node dist/bench/log.js`) prints the results.
 * The same file is the child producer when run with --child-produce.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { EmbeddedLog, type ProducerRecord } from "../src/log/index.js";
import type { BenchResult } from "./types.js";

const VALUE_BYTES = 100;
const BATCH = 1000;
const APPEND_RECORDS = 2_000_000;
const WARMUP_RECORDS = 200_000;
const ALWAYS_SECONDS = 2;
const LATENCY_RATE = 2000;
const LATENCY_MS = 3000;

export async function runLogBench(): Promise<BenchResult[]> {
  const dataDir = mkdtempSync(join(tmpdir(), "weir-bench-log-"));
  try {
    const log = EmbeddedLog.open(dataDir, { logger: () => {} });
    try {
      const results: BenchResult[] = [];
      results.push(benchAppend(log, "interval"));
      results.push(benchRead(log));
      results.push(benchAppendAlways(log));
      results.push(...(await benchLatency(log, dataDir)));
      return results;
    } finally {
      log.close();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function valueBatch(): ProducerRecord[] {
  const value = Buffer.alloc(VALUE_BYTES, "v");
  return Array.from({ length: BATCH }, (_, i) => ({
    key: null,
    value: value.subarray(0, VALUE_BYTES - (i & 1)),
  }));
}

function benchAppend(log: EmbeddedLog, topic: string): BenchResult {
  log.createTopic(topic);
  const writer = log.writer(topic);
  const batch = valueBatch();
  for (let i = 0; i < WARMUP_RECORDS; i += BATCH) writer.append(batch);
  const start = process.hrtime.bigint();
  for (let i = 0; i < APPEND_RECORDS; i += BATCH) writer.append(batch);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  writer.close();
  return {
    name: "log append, flush interval:50ms",
    value: Math.round(APPEND_RECORDS / seconds),
    unit: "records/s",
    target: ">= 1000000",
    note: `${VALUE_BYTES}-byte values, batches of ${BATCH}, 1 partition, ${APPEND_RECORDS} records`,
  };
}

function benchRead(log: EmbeddedLog): BenchResult {
  const total = WARMUP_RECORDS + APPEND_RECORDS;
  const warm = log.reader("interval", 0);
  for (let n = 0; n < WARMUP_RECORDS;) n += warm.poll(BATCH).length;
  warm.close();
  const reader = log.reader("interval", 0);
  let n = 0;
  let bytes = 0;
  const start = process.hrtime.bigint();
  for (;;) {
    const records = reader.poll(BATCH);
    if (records.length === 0) break;
    n += records.length;
    bytes += records[0].value.length;
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  reader.close();
  if (n !== total || bytes === 0) throw new Error(`read ${n} records, expected ${total}`);
  return {
    name: "log sequential read (poll 1000)",
    value: Math.round(n / seconds),
    unit: "records/s",
    target: ">= 2000000",
    note: `${n} records from the page cache, CRC of every record verified`,
  };
}

function benchAppendAlways(log: EmbeddedLog): BenchResult {
  const flushing = EmbeddedLog.open(log.dataDir, { flush: { kind: "always" }, logger: () => {} });
  try {
    flushing.createTopic("always");
    const writer = flushing.writer("always");
    const batch = valueBatch();
    let n = 0;
    const start = process.hrtime.bigint();
    const deadline = start + BigInt(ALWAYS_SECONDS * 1e9);
    while (process.hrtime.bigint() < deadline) {
      writer.append(batch);
      n += BATCH;
    }
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    writer.close();
    return {
      name: "log append, flush always (reference)",
      value: Math.round(n / seconds),
      unit: "records/s",
      note: `fdatasync before each append of ${BATCH} returns (${Math.round(n / BATCH / seconds)} syncs/s)`,
    };
  } finally {
    flushing.close();
  }
}

/** A wall-clock time in ms with sub-ms resolution, comparable across processes on one machine. */
function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

async function benchLatency(log: EmbeddedLog, dataDir: string): Promise<BenchResult[]> {
  log.createTopic("latency");
  const reader = log.reader("latency", 0);
  const self = fileURLToPath(import.meta.url);
  const execArgv = process.execArgv.filter((a) => !a.startsWith("--test") && !a.startsWith("--cpu-prof"));
  const child = spawn(
    process.execPath,
    [...execArgv, self, "--child-produce", dataDir, "latency", String(LATENCY_RATE), String(LATENCY_MS)],
    { stdio: ["ignore", "inherit", "inherit"] },
  );
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  let childDone = false;
  void exited.then(() => (childDone = true));
  const latencies: number[] = [];
  const deadline = Date.now() + LATENCY_MS + 15_000;
  try {
    while (Date.now() < deadline) {
      if (!(await reader.waitForData(childDone ? 0 : 200))) {
        if (childDone) break;
        continue;
      }
      const received = nowMs();
      for (const r of reader.poll(BATCH)) latencies.push(received - r.value.readDoubleLE(0));
    }
  } finally {
    reader.close();
    if (!childDone) child.kill("SIGKILL");
  }
  const code = await exited;
  const expected = Math.round((LATENCY_RATE * LATENCY_MS) / 1000);
  if (code !== 0 || latencies.length !== expected) {
    throw new Error(`latency producer exited ${code} after ${latencies.length} of ${expected} records`);
  }
  latencies.sort((a, b) => a - b);
  const at = (q: number): number =>
    Math.round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] * 1000) / 1000;
  const note = `another process appends 1 record per call at ${LATENCY_RATE}/s for ${LATENCY_MS / 1000} s; reader uses waitForData (inotify)`;
  return [
    { name: "log produce->consume latency p50 (cross-process)", value: at(0.5), unit: "ms", note },
    {
      name: "log produce->consume latency p99 (cross-process)",
      value: at(0.99),
      unit: "ms",
      target: "a few ms",
    },
    { name: "log produce->consume latency max (cross-process)", value: at(1), unit: "ms" },
  ];
}

/** The child side of benchLatency: appends `rate` records per second, one per append call, each carrying its send time. */
async function childProduce(dataDir: string, topic: string, rate: number, durationMs: number): Promise<void> {
  const log = EmbeddedLog.open(dataDir, { logger: () => {} });
  const writer = log.writer(topic);
  const total = Math.round((rate * durationMs) / 1000);
  const value = Buffer.alloc(VALUE_BYTES, "v");
  const start = nowMs();
  for (let i = 0; i < total;) {
    // Send every record whose time has come, then sleep until the next one is due.
    while (i < total && nowMs() >= start + (i * 1000) / rate) {
      value.writeDoubleLE(nowMs(), 0);
      writer.append([{ value }]);
      i++;
    }
    if (i < total)
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, start + (i * 1000) / rate - nowMs())));
  }
  writer.close();
  log.close();
}

function printResults(results: readonly BenchResult[]): void {
  for (const r of results) {
    const target = r.target === undefined ? "" : `  (target ${r.target})`;
    console.log(
      `${r.name}: ${r.value.toLocaleString("en-US")} ${r.unit}${target}${r.note === undefined ? "" : `\n    ${r.note}`}`,
    );
  }
}

const invokedDirectly =
  process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (invokedDirectly) {
  const args = process.argv.slice(2);
  if (args[0] === "--child-produce") {
    await childProduce(args[1], args[2], Number(args[3]), Number(args[4]));
  } else {
    printResults(await runLogBench());
  }
}
