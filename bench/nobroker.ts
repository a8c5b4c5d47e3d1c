/**
 * NoBroker end to end (DESIGN.md §6):
 * - 1M generated events from a file through the pipeline: events/s, and the ratio to bare
 *   JSON.parse over the same lines in the same run (targets >= 1M events/s, ratio <= 2.5);
 * - peak RSS of a run with 1M distinct users (target <= 400 MB), in a child process;
 * - live event -> alert latency at 100k events/min on the embedded log (target p99 <= 20 ms), with
 *   the pipeline in a child process, the producer and the alert reader in this one.
 */
import { spawn } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { nobroker } from "../examples/nobroker/pipeline.js";
import { createNoBrokerGenerator } from "../src/generate/nobroker.js";
import { EmbeddedLog } from "../src/log/index.js";
import { Runner } from "../src/runtime/runner.js";
import type { BenchResult } from "./types.js";

const EVENTS = 1_000_000;
/** The streaming path alone (the three rules to topics): what the DESIGN.md §6 targets measure. */
const RULES_ONLY = { tables: false, lake: false } as const;

function childScript(name: string): { script: string; execArgv: string[] } {
  const ext = import.meta.url.endsWith(".ts") ? ".ts" : ".js";
  return {
    script: fileURLToPath(new URL(`./${name}${ext}`, import.meta.url)),
    execArgv: ext === ".ts" ? ["--import", "tsx"] : [],
  };
}

function runChild(name: string, args: string[]): Promise<string> {
  const { script, execArgv } = childScript(name);
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [...execArgv, script, ...args], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    p.stdout.on("data", (d) => (out += d));
    p.on("exit", (code) => (code === 0 ? resolve(out) : reject(new Error(`${name} exited with ${code}`))));
  });
}

export async function throughput(dir: string): Promise<BenchResult[]> {
  const file = join(dir, "events.jsonl");
  writeFileSync(file, createNoBrokerGenerator({ seed: 1 }).take(EVENTS).join("\n") + "\n");
  const lines = readFileSync(file, "utf8").split("\n");
  lines.pop();
  let bestParse = Infinity;
  let bestRun = Infinity;
  let sink = 0;
  for (let round = 0; round < 3; round++) {
    let t = performance.now();
    for (let i = 0; i < lines.length; i++) {
      try {
        sink += JSON.parse(lines[i]) === null ? 1 : 0;
      } catch {
        sink--;
      }
    }
    bestParse = Math.min(bestParse, performance.now() - t);
    const data = join(dir, `run-${round}`);
    const log = EmbeddedLog.open(data, { logger: () => {} });
    t = performance.now();
    await new Runner(nobroker(RULES_ONLY), { log, inputFile: file, logger: () => {} }).run();
    bestRun = Math.min(bestRun, performance.now() - t);
    log.close();
    rmSync(data, { recursive: true, force: true });
  }
  if (sink === 42) console.log(""); // keep the parse loop observable
  // The default example also keeps two versioned tables (SQLite) and lands every event in the lake (Parquet).
  const data = join(dir, "with-storage");
  const log = EmbeddedLog.open(data, { logger: () => {} });
  const t0 = performance.now();
  await new Runner(nobroker(), { log, inputFile: file, logger: () => {} }).run();
  const withStorage = performance.now() - t0;
  log.close();
  rmSync(data, { recursive: true, force: true });
  return [
    {
      name: "nobroker file -> alert topics (rules only), 1M events",
      value: Math.round(EVENTS / (bestRun / 1000)),
      unit: "events/s",
      target: ">= 1000000",
      note: `best of 3; ${bestRun.toFixed(0)} ms`,
    },
    {
      name: "bare JSON.parse, same lines",
      value: Math.round(EVENTS / (bestParse / 1000)),
      unit: "lines/s",
      note: `best of 3; ${bestParse.toFixed(0)} ms`,
    },
    {
      name: "nobroker time / bare JSON.parse time",
      value: Number((bestRun / bestParse).toFixed(2)),
      unit: "x",
      target: "<= 2.5",
    },
    {
      name: "nobroker with tables + lake (the default), 1M events",
      value: Math.round(EVENTS / (withStorage / 1000)),
      unit: "events/s",
      note: `one run, ${withStorage.toFixed(0)} ms; ~1.7 table updates per event to SQLite, every event to Parquet`,
    },
  ];
}

export async function peakRss(dir: string, users = 1_000_000): Promise<BenchResult[]> {
  // The input is written here, so the child's peak RSS is the pipeline's alone.
  const file = join(dir, "distinct-users.jsonl");
  const t0 = Date.UTC(2021, 10, 30);
  const fd = openSync(file, "w");
  for (let i = 0; i < users; i += 10_000) {
    let chunk = "";
    for (let u = i; u < Math.min(users, i + 10_000); u++) {
      const date = new Date(t0 + u * 60).toISOString().replace("T", " ").slice(0, 19);
      chunk += `{"user_id":${u + 1},"property_id":${(u % 100_000) + 1},"date":"${date}","event":"Interaction"}\n`;
    }
    writeSync(fd, chunk);
  }
  closeSync(fd);
  const out = await runChild("nobroker-rss-child", [join(dir, "rss"), file, String(users)]);
  const { maxRssBytes, ms } = JSON.parse(out) as { maxRssBytes: number; ms: number };
  return [
    {
      name: `peak RSS, ${users.toLocaleString("en")} distinct users`,
      value: Math.round(maxRssBytes / 1024 / 1024),
      unit: "MB",
      target: "<= 400",
      note: `whole process (node + state of all three rules + checkpoint); run took ${ms} ms`,
    },
  ];
}

export async function liveLatency(dir: string, seconds = 15, perMinute = 100_000): Promise<BenchResult[]> {
  const data = join(dir, "live");
  const log = EmbeddedLog.open(data, { logger: () => {} });
  log.ensureTopic("events");
  log.ensureTopic("paid_user");
  const child = childScript("nobroker-live-child");
  const runner = spawn(process.execPath, [...child.execArgv, child.script, data], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  await new Promise<void>((resolve) => runner.stdout.once("data", () => resolve())); // "ready"
  const writer = log.writer("events");
  const alerts = log.reader("paid_user", 0);
  const appendTimes: number[] = [];
  const latencies: number[] = [];
  let done = false;
  const readLoop = (async () => {
    while (!done || latencies.length < appendTimes.length) {
      const got = alerts.poll(1000);
      const now = performance.timeOrigin + performance.now();
      for (let i = 0; i < got.length; i++) {
        const sent = appendTimes[latencies.length];
        latencies.push(now - sent);
      }
      if (got.length === 0 && !(await alerts.waitForData(done ? 2000 : 250)) && done) break;
    }
  })();
  const total = Math.round((perMinute / 60) * seconds);
  const start = Date.now();
  let sent = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((Date.now() - start) / 60_000) * perMinute));
    for (; sent < due; sent++) {
      const now = performance.timeOrigin + performance.now();
      const date = new Date(now).toISOString();
      appendTimes.push(now);
      writer.append([
        {
          key: String(sent % 1000),
          value: `{"user_id":${sent % 1000},"property_id":${sent % 500},"date":"${date}","event":"Interaction"}`,
        },
      ]);
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  done = true;
  await readLoop;
  runner.kill("SIGTERM");
  await new Promise((r) => runner.once("exit", r));
  writer.close();
  alerts.close();
  log.close();
  latencies.sort((a, b) => a - b);
  const pct = (p: number) =>
    latencies[Math.min(latencies.length - 1, Math.ceil((p / 100) * latencies.length) - 1)];
  const note = `${latencies.length} of ${total} alerts measured over ${seconds} s at ${perMinute}/min; every event raises an alert (emit changes, threshold 1); producer and reader in one process, pipeline in another`;
  return [
    {
      name: "live event -> alert latency p50 (embedded log)",
      value: Number(pct(50).toFixed(2)),
      unit: "ms",
      note,
    },
    {
      name: "live event -> alert latency p99 (embedded log)",
      value: Number(pct(99).toFixed(2)),
      unit: "ms",
      target: "<= 20",
    },
  ];
}

/**
 * The same 1M events on a topic of the embedded log, read live to its end: in one partition (one
 * task, read batch by batch) and spread over six (unkeyed, round-robin: six partition tasks, the
 * input chooser taking each record, both keyBys handing 5 of 6 records to another task). Best of 2 each.
 */
export async function partitions(dir: string): Promise<BenchResult[]> {
  const lines = createNoBrokerGenerator({ seed: 1 }).take(EVENTS);
  const best = async (count: number): Promise<number> => {
    let fastest = Infinity;
    for (let round = 0; round < 2; round++) {
      const data = join(dir, `topic-${count}-${round}`);
      const log = EmbeddedLog.open(data, { logger: () => {} });
      log.createTopic("events", { partitions: count });
      const w = log.writer("events");
      for (let i = 0; i < lines.length; i += 10_000)
        w.append(lines.slice(i, i + 10_000).map((value, j) => ({ value, partition: (i + j) % count })));
      w.close();
      const t = performance.now();
      await new Runner(nobroker(RULES_ONLY), { log, untilEnd: true, logger: () => {} }).run();
      fastest = Math.min(fastest, performance.now() - t);
      log.close();
      rmSync(data, { recursive: true, force: true });
    }
    return fastest;
  };
  const one = await best(1);
  const six = await best(6);
  return [
    {
      name: "nobroker embedded topic, 1 partition (rules only), 1M",
      value: Math.round(EVENTS / (one / 1000)),
      unit: "events/s",
      note: `best of 2; ${one.toFixed(0)} ms; Runner untilEnd, read batch by batch`,
    },
    {
      name: "nobroker embedded topic, 6 partitions (rules only), 1M",
      value: Math.round(EVENTS / (six / 1000)),
      unit: "events/s",
      note: `best of 2; ${six.toFixed(0)} ms; unkeyed round-robin, six partition tasks: the input chooser takes each record, keyBys hand records over in the exchange's release order`,
    },
  ];
}

export async function runNoBrokerBench(): Promise<BenchResult[]> {
  const dir = mkdtempSync(join(tmpdir(), "weir-bench-nobroker-"));
  try {
    return [
      ...(await throughput(dir)),
      ...(await partitions(dir)),
      ...(await peakRss(dir)),
      ...(await liveLatency(dir)),
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const r of await runNoBrokerBench())
    console.log(
      `${r.name}: ${r.value} ${r.unit}${r.target ? ` (target ${r.target})` : ""}${r.note ? ` — ${r.note}` : ""}`,
    );
}
