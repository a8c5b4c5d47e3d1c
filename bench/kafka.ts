/**
 * Weir on Kafka (DESIGN.md §6), on the broker at $WEIR_BENCH_BROKER, or else on a throwaway one
 * that scripts/kafka.sh starts on port 19600 in a temporary directory (removed at the end):
 * - 1M generated NoBroker events produced to topic `events` (1 partition) by the idempotent
 *   producer in large batches: records/s;
 * - the raw client's consume rate: a plain @platformatic/kafka consumer (read committed) reading
 *   the topic to its end, each value decoded to a string and nothing else, in a child process —
 *   through its consume() stream, and through its lower-level fetch() (what Weir's input feed uses);
 * - NoBroker (rules only) through KafkaRunner with `untilEnd` over the same 1M records, in a child
 *   process, from a fresh state (its checkpoint and output topics deleted before each run): events/s,
 *   and pipeline time / raw consume time (target <= 1.5), against both raw figures;
 * - live event -> alert latency at 100k events/min (target p99 <= 50 ms): the pipeline in a child
 *   process, the producer and a read-committed reader of paid_user in this one.
 * - scale-out: the same 1M events in a 6-partition topic (keyed by user), NoBroker (rules only) as 6
 *   partition tasks in one process, then in two processes sharing them (each in a child process,
 *   started together), against the raw fetch() loop over the 6 partitions.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { Consumer } from "@platformatic/kafka";
import { nobroker } from "../examples/nobroker/pipeline.js";
import { createNoBrokerGenerator } from "../src/generate/nobroker.js";
import { checkpointTopic } from "../src/kafka/checkpoint-log.js";
import {
  KafkaCluster,
  READ_COMMITTED,
  clientOptions,
  idempotentProducer,
  parseBrokerUrl,
  type BrokerAddress,
} from "../src/kafka/connection.js";
import { KafkaRunner, closeQuietly } from "../src/kafka/runner.js";
import { KafkaTopicSender } from "../src/kafka/topic-sender.js";
import type { BenchResult } from "./types.js";

const EVENTS = 1_000_000;
const PORT = 19600;
const INPUT = "events";
/** Records per produce request; at ~100 bytes each a batch stays under the broker's 1 MiB limit. */
const PRODUCE_BATCH = 8000;
/** The streaming path alone (the three rules to topics), as in bench/nobroker.ts. */
const RULES_ONLY = { tables: false, lake: false } as const;

function childScript(name: string): { script: string; execArgv: string[] } {
  const ext = import.meta.url.endsWith(".ts") ? ".ts" : ".js";
  return {
    script: fileURLToPath(new URL(`./${name}${ext}`, import.meta.url)),
    execArgv: ext === ".ts" ? ["--import", "tsx"] : [],
  };
}

/** Child processes still running (killed when the bench is interrupted). */
const children = new Set<ChildProcess>();

function spawnChild(name: string, args: string[]): ChildProcess & { stdout: Readable } {
  const { script, execArgv } = childScript(name);
  const p = spawn(process.execPath, [...execArgv, script, ...args], { stdio: ["ignore", "pipe", "inherit"] });
  children.add(p);
  p.once("exit", () => children.delete(p));
  return p;
}

function runChild(name: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawnChild(name, args);
    let out = "";
    p.stdout.on("data", (d) => (out += d));
    p.on("exit", (code) => (code === 0 ? resolve(out) : reject(new Error(`${name} exited with ${code}`))));
  });
}

const KAFKA_SH = join(
  fileURLToPath(new URL(import.meta.url.endsWith(".ts") ? "../" : "../../", import.meta.url)),
  "scripts",
  "kafka.sh",
);

/** scripts/kafka.sh COMMAND with `env`; resolves with its standard output (its messages go to stderr). */
function kafkaScript(command: "start" | "url" | "clean", env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn("bash", [KAFKA_SH, command], {
      env,
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    p.stdout.on("data", (d) => (out += d));
    p.on("error", reject);
    p.on("exit", (code) =>
      code === 0 ? resolve(out.trim()) : reject(new Error(`scripts/kafka.sh ${command} exited with ${code}`)),
    );
  });
}

/** Run `fn` on $WEIR_BENCH_BROKER, or on a broker of our own that is removed afterwards (always). */
async function withBroker<T>(fn: (url: string) => Promise<T>): Promise<T> {
  const given = process.env.WEIR_BENCH_BROKER;
  if (given !== undefined && given !== "") return fn(given);
  const dir = mkdtempSync(join(tmpdir(), "weir-bench-kafka-"));
  const env = { ...process.env, WEIR_KAFKA_PORT: String(PORT), WEIR_KAFKA_DIR: join(dir, "kafka") };
  // Ctrl-C would skip `finally`, and the broker runs in a session of its own: stop it here too,
  // synchronously (nothing else runs meanwhile), then die of the signal.
  const interrupted = (signal: NodeJS.Signals) => {
    for (const child of children) child.kill("SIGKILL");
    spawnSync("bash", [KAFKA_SH, "clean"], { env, stdio: ["ignore", "ignore", "inherit"] });
    rmSync(dir, { recursive: true, force: true });
    process.off("SIGINT", interrupted);
    process.off("SIGTERM", interrupted);
    process.kill(process.pid, signal);
  };
  process.once("SIGINT", interrupted);
  process.once("SIGTERM", interrupted);
  try {
    await kafkaScript("start", env);
    return await fn(await kafkaScript("url", env));
  } finally {
    process.off("SIGINT", interrupted);
    process.off("SIGTERM", interrupted);
    await kafkaScript("clean", env).catch((err: unknown) => console.error(`bench kafka: ${String(err)}`));
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The topics of NoBroker's state and outputs on Kafka: its checkpoint topic and every output topic. */
function pipelineTopics(): { topics: string[]; partitions: Map<string, number> } {
  const definition = nobroker(RULES_ONLY);
  // Constructing a runner only builds the task; it does not connect.
  const task = new KafkaRunner(definition, { broker: "kafka://127.0.0.1:1", dataDir: tmpdir() }).currentTask;
  const partitions = new Map(task.outputTopics().map((o) => [o.topic, o.partitions]));
  return { topics: [checkpointTopic(definition.name), ...partitions.keys()], partitions };
}

/** Delete the topics that exist and wait until the cluster no longer lists them. */
async function deleteTopics(cluster: KafkaCluster, topics: string[]): Promise<void> {
  const existing = new Set(await cluster.listTopics());
  for (const topic of topics) if (existing.has(topic)) await cluster.deleteTopic(topic);
  const deadline = Date.now() + 60_000;
  for (;;) {
    const left = (await cluster.listTopics()).filter((t) => topics.includes(t));
    if (left.length === 0) return;
    if (Date.now() > deadline) throw new Error(`topics ${left.join(", ")} still exist 60 s after deletion`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function produceEvents(
  address: BrokerAddress,
  cluster: KafkaCluster,
  partitions = 1,
): Promise<BenchResult[]> {
  await cluster.createTopic(INPUT, { partitions });
  const generator = createNoBrokerGenerator({ seed: 1 });
  const producer = idempotentProducer(address, "weir-bench-produce");
  const sender = new KafkaTopicSender(producer, address, INPUT, partitions, {
    batchSize: PRODUCE_BATCH,
    batchBytes: 960 * 1024,
  });
  let bytes = 0;
  let ms: number;
  try {
    const t0 = performance.now();
    for (let i = 0; i < EVENTS; i += PRODUCE_BATCH) {
      const records = [];
      for (let j = i; j < Math.min(EVENTS, i + PRODUCE_BATCH); j++) {
        const value = generator.next();
        bytes += value.length;
        records.push({ key: generator.key, value });
      }
      await sender.append(records);
    }
    await sender.flush();
    ms = performance.now() - t0;
  } finally {
    await closeQuietly(producer);
  }
  const end = (await cluster.endOffsets(INPUT)).reduce((a, b) => a + b, 0);
  if (end !== EVENTS) throw new Error(`topic ${INPUT} ends at ${end}, expected ${EVENTS}`);
  return [
    {
      name: "produce 1M NoBroker events, idempotent, acks=all",
      value: Math.round(EVENTS / (ms / 1000)),
      unit: "records/s",
      note: `${ms.toFixed(0)} ms incl. generating the lines; batches of ${PRODUCE_BATCH} (one request in flight: one partition), ${Math.round(bytes / EVENTS)}-byte values, keyed by user, no compression`,
    },
  ];
}

type RawResult = { ms: number; records: number };
const SCALE_PARTITIONS = 6;
type RunResult = {
  /** Milliseconds from the start of run(): first record handed to the task, end of input seen, run() resolved. */
  firstRecord: number;
  endOfInput: number;
  done: number;
  recordsIn: number;
  recordsOut: number;
  /** Tasks the runner created (1 unless it recovered, or one per partition task and assignment). */
  tasks: number;
  /** Epoch ms (fractional) of the first record and of run() resolving. */
  firstRecordAt: number;
  doneAt: number;
};

async function throughput(url: string, cluster: KafkaCluster): Promise<BenchResult[]> {
  const { topics } = pipelineTopics();
  const bestRaw: Record<"stream" | "fetch", RawResult | undefined> = { stream: undefined, fetch: undefined };
  let bestRun: RunResult | undefined;
  const runMs = (r: RunResult) => r.done - r.firstRecord;
  for (let round = 0; round < 2; round++) {
    for (const mode of ["stream", "fetch"] as const) {
      const raw = JSON.parse(
        await runChild("kafka-raw-child", [mode, url, INPUT, String(EVENTS)]),
      ) as RawResult;
      if (raw.records !== EVENTS)
        throw new Error(`raw ${mode} read ${raw.records} records, expected ${EVENTS}`);
      const best = bestRaw[mode];
      if (best === undefined || raw.ms < best.ms) bestRaw[mode] = raw;
    }

    await deleteTopics(cluster, topics); // a fresh pipeline state for every run
    const dataDir = mkdtempSync(join(tmpdir(), "weir-bench-kafka-run-"));
    try {
      const run = JSON.parse(await runChild("kafka-run-child", [url, dataDir])) as RunResult;
      if (run.recordsIn !== EVENTS)
        throw new Error(`pipeline read ${run.recordsIn} records, expected ${EVENTS}`);
      if (run.tasks !== 1) throw new Error("the runner recovered during the run: timings do not hold");
      if (bestRun === undefined || runMs(run) < runMs(bestRun)) bestRun = run;
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }
  const stream = bestRaw.stream!;
  const fetch = bestRaw.fetch!;
  const run = bestRun!;
  const ms = runMs(run);
  return [
    {
      name: "raw client consume() stream, read committed, toString",
      value: Math.round(EVENTS / (stream.ms / 1000)),
      unit: "records/s",
      note: `best of 2, each in a fresh child process; ${stream.ms.toFixed(0)} ms from consume() to the last record (connecting and the first fetch included)`,
    },
    {
      name: "raw client fetch() loop, read committed, toString",
      value: Math.round(EVENTS / (fetch.ms / 1000)),
      unit: "records/s",
      note: `best of 2; ${fetch.ms.toFixed(0)} ms; the client's lower-level Fetch API that Weir's input feed uses, one request at a time, 4 MiB per response`,
    },
    {
      name: "nobroker on Kafka (rules only), KafkaRunner untilEnd, 1M",
      value: Math.round(EVENTS / (ms / 1000)),
      unit: "events/s",
      note:
        `best of 2, fresh state each; ${ms.toFixed(0)} ms from the first record handed to the task to run() resolving ` +
        `(the last ${(run.done - run.endOfInput).toFixed(0)} ms: final snapshot commit + closing the clients); ` +
        `the whole run() took ${run.done.toFixed(0)} ms incl. ${run.firstRecord.toFixed(0)} ms of start-up ` +
        `(topics, group join, fencing, checkpoint read, first fetch); ${run.recordsOut} outputs, default commit interval 20 ms`,
    },
    {
      name: "nobroker on Kafka time / raw consume() stream time",
      value: Number((ms / stream.ms).toFixed(2)),
      unit: "x",
      target: "<= 1.5",
    },
    {
      name: "nobroker on Kafka time / raw fetch() loop time",
      value: Number((ms / fetch.ms).toFixed(2)),
      unit: "x",
      target: "<= 1.5",
    },
  ];
}

/** Every topic of NoBroker on Kafka as partition tasks: outputs, repartition and checkpoint topics. */
async function scaleTopics(cluster: KafkaCluster): Promise<string[]> {
  return (await cluster.listTopics()).filter(
    (t) => t.startsWith("weir.nobroker.") || pipelineTopics().topics.includes(t),
  );
}

/** 1M events in 6 partitions: NoBroker with one process, then two, against the raw consume() and fetch() rates. */
async function scaleOut(url: string, address: BrokerAddress, cluster: KafkaCluster): Promise<BenchResult[]> {
  await deleteTopics(cluster, [INPUT, ...(await scaleTopics(cluster))]);
  await produceEvents(address, cluster, SCALE_PARTITIONS);
  const rawBest = async (mode: "fetch" | "stream"): Promise<RawResult> => {
    let raw: RawResult | undefined;
    for (let round = 0; round < 2; round++) {
      const r = JSON.parse(
        await runChild("kafka-raw-child", [mode, url, INPUT, String(EVENTS), String(SCALE_PARTITIONS)]),
      ) as RawResult;
      if (r.records !== EVENTS) throw new Error(`raw ${mode} read ${r.records} records, expected ${EVENTS}`);
      if (raw === undefined || r.ms < raw.ms) raw = r;
    }
    return raw!;
  };
  const fetchMs = (await rawBest("fetch")).ms;
  const consumeMs = (await rawBest("stream")).ms;
  /** Wall time from the first record any process took to the last run() resolving. */
  const runWith = async (processes: number): Promise<{ ms: number; runs: RunResult[] }> => {
    await deleteTopics(cluster, await scaleTopics(cluster)); // a fresh pipeline state
    const dirs = Array.from({ length: processes }, () =>
      mkdtempSync(join(tmpdir(), "weir-bench-kafka-scale-")),
    );
    try {
      const runs = (await Promise.all(dirs.map((d) => runChild("kafka-run-child", [url, d])))).map(
        (out) => JSON.parse(out) as RunResult,
      );
      const read = runs.reduce((n, r) => n + r.recordsIn, 0);
      if (read < EVENTS) throw new Error(`${processes} process(es) read ${read} records, expected ${EVENTS}`);
      const first = Math.min(...runs.filter((r) => r.firstRecord > 0).map((r) => r.firstRecordAt));
      const last = Math.max(...runs.map((r) => r.doneAt));
      return { ms: last - first, runs };
    } finally {
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    }
  };
  const best = async (processes: number) => {
    let b: { ms: number; runs: RunResult[] } | undefined;
    for (let round = 0; round < 2; round++) {
      const r = await runWith(processes);
      if (b === undefined || r.ms < b.ms) b = r;
    }
    return b!;
  };
  const one = await best(1);
  const two = await best(2);
  const reRead = (r: { runs: RunResult[] }) => r.runs.reduce((n, x) => n + x.recordsIn, 0) - EVENTS;
  return [
    {
      name: `raw client fetch() loop over ${SCALE_PARTITIONS} partitions, read committed, toString`,
      value: Math.round(EVENTS / (fetchMs / 1000)),
      unit: "records/s",
      note: `best of 2; ${fetchMs.toFixed(0)} ms; one Fetch request for all partitions at a time`,
    },
    {
      name: `raw client consume() stream over ${SCALE_PARTITIONS} partitions, read committed, toString`,
      value: Math.round(EVENTS / (consumeMs / 1000)),
      unit: "records/s",
      note: `best of 2; ${consumeMs.toFixed(0)} ms; one message object per record`,
    },
    {
      name: `nobroker on Kafka (rules only), ${SCALE_PARTITIONS} partition tasks, 1 process, 1M`,
      value: Math.round(EVENTS / (one.ms / 1000)),
      unit: "events/s",
      note: `best of 2, fresh state each; ${one.ms.toFixed(0)} ms from the first record to run() resolving; a record crosses a keyBy's repartition topic when its new key belongs to another task (NoBroker: the property counts; the input is keyed by user, so the user counts stay in the task)`,
    },
    {
      name: `nobroker on Kafka (rules only), ${SCALE_PARTITIONS} partition tasks, 2 processes, 1M`,
      value: Math.round(EVENTS / (two.ms / 1000)),
      unit: "events/s",
      note: `best of 2; ${two.ms.toFixed(0)} ms from the first record either process took to the later one's run() resolving (both started together: the first to join starts every task, then hands half over); records read: ${two.runs.map((r) => r.recordsIn).join(" + ")} (${reRead(two)} read again after the handover)`,
    },
    ...(
      [
        ["consume()", consumeMs],
        ["fetch()", fetchMs],
      ] as const
    ).flatMap(([raw, rawMs]) =>
      (
        [
          ["1 process", one.ms],
          ["2 processes", two.ms],
        ] as const
      ).map(([who, ms]) => ({
        name: `nobroker on Kafka, ${SCALE_PARTITIONS} partitions: ${who} time / raw ${raw} time`,
        value: Number((ms / rawMs).toFixed(2)),
        unit: "x",
        target: "<= 1.5",
      })),
    ),
  ];
}

export async function liveLatency(
  url: string,
  address: BrokerAddress,
  cluster: KafkaCluster,
  seconds = 15,
  perMinute = 100_000,
): Promise<BenchResult[]> {
  const { topics, partitions } = pipelineTopics();
  // A fresh pipeline state and an empty input: a fresh state reads its input from offset 0.
  await deleteTopics(cluster, [INPUT, ...topics]);
  await cluster.createTopic(INPUT, { partitions: 1 });
  // Alerts are matched to events in order: that needs one partition.
  if (partitions.get("paid_user") !== 1) throw new Error("paid_user must have one partition");
  await cluster.createTopic("paid_user", { partitions: 1 });

  const dataDir = mkdtempSync(join(tmpdir(), "weir-bench-kafka-live-"));
  const reader = new Consumer({
    ...clientOptions(address, "weir-bench-alerts"),
    groupId: `weir-bench-alerts-${Date.now()}`,
    isolationLevel: READ_COMMITTED,
    autocommit: false,
    maxWaitTime: 500,
  });
  const producer = idempotentProducer(address, "weir-bench-live");
  const runner = spawnChild("kafka-live-child", [url, dataDir]);
  let childOut = "";
  const ready = new Promise<void>((resolve) => runner.stdout.once("data", () => resolve())); // "ready"
  runner.stdout.on("data", (d) => (childOut += d));
  const exited = new Promise<number | null>((resolve) => runner.once("exit", resolve));
  try {
    const alerts = await reader.consume({
      topics: ["paid_user"],
      mode: "manual",
      offsets: [{ topic: "paid_user", partition: 0, offset: 0n }],
      isolationLevel: READ_COMMITTED,
      autocommit: false,
    });
    const sendTimes: number[] = [];
    const latencies: number[] = [];
    alerts.on("data", () => {
      const now = performance.now();
      latencies.push(now - sendTimes[latencies.length]);
    });
    /** Wait until `n` alerts are in; false after `ms` or when the pipeline exited. */
    const received = async (n: number, ms: number): Promise<boolean> => {
      const deadline = Date.now() + ms;
      while (latencies.length < n) {
        if (Date.now() > deadline || runner.exitCode !== null) return false;
        await new Promise((r) => setTimeout(r, 10));
      }
      return true;
    };
    const sender = new KafkaTopicSender(producer, address, INPUT, 1);
    let sent = 0;
    const send = (user: number, property: number) => {
      const now = performance.now();
      const date = new Date(performance.timeOrigin + now).toISOString();
      sendTimes.push(now);
      sent++;
      return sender.append([
        {
          key: String(user),
          value: `{"user_id":${user},"property_id":${property},"date":"${date}","event":"Interaction"}`,
        },
      ]);
    };

    // Warm-up: one event at a time until the pipeline answers (it joins its group, fences, starts
    // reading), then 20 more; only the events after the warm-up are measured.
    const WARM_UP = 20;
    await ready;
    await send(1000, 500);
    if (!(await received(1, 120_000))) throw new Error("the pipeline raised no alert within 120 s");
    for (let i = 0; i < WARM_UP; i++) {
      await send(1001 + i, 501 + i);
      if (!(await received(sent, 10_000))) throw new Error("warm-up alert missing");
    }
    const warm = sent;

    const total = Math.round((perMinute / 60) * seconds);
    const start = Date.now();
    let n = 0;
    while (n < total) {
      const due = Math.min(total, Math.floor(((Date.now() - start) / 60_000) * perMinute));
      for (; n < due; n++) await send(n % 1000, n % 500);
      await new Promise((r) => setTimeout(r, 1));
    }
    await sender.flush();
    await received(sent, 10_000);
    await alerts.close();

    runner.kill("SIGTERM");
    const code = await exited;
    if (code !== 0) throw new Error(`kafka-live-child exited with ${code}`);
    const stats = JSON.parse(childOut.split("\n").find((l) => l.startsWith("{")) ?? "{}") as {
      latencyMs?: { p50: number; p99: number };
      checkpoints?: number;
    };

    const measured = latencies.slice(warm).sort((a, b) => a - b);
    if (measured.length === 0) throw new Error("no alert measured");
    const pct = (p: number) =>
      measured[Math.min(measured.length - 1, Math.ceil((p / 100) * measured.length) - 1)];
    const runnerView =
      stats.latencyMs !== undefined
        ? `; the runner's own latency (oldest uncommitted record -> commit) p50 ${stats.latencyMs.p50.toFixed(1)} / p99 ${stats.latencyMs.p99.toFixed(1)} ms`
        : "";
    const note =
      `${measured.length} of ${total} alerts measured over ${seconds} s at ${perMinute}/min (after ${warm} warm-up events); ` +
      `every event raises an alert (emit changes, threshold 1); send -> read-committed receive of paid_user, ` +
      `producer (idempotent, one request in flight) and reader in one process, pipeline in another; ` +
      `commit interval 20 ms (the default; the runner also commits whenever its input queue runs empty), ` +
      `snapshots every 5 s${runnerView}; max ${measured[measured.length - 1].toFixed(1)} ms`;
    return [
      {
        name: "live event -> alert latency p50 (Kafka)",
        value: Number(pct(50).toFixed(2)),
        unit: "ms",
        note,
      },
      {
        name: "live event -> alert latency p99 (Kafka)",
        value: Number(pct(99).toFixed(2)),
        unit: "ms",
        target: "<= 50",
      },
    ];
  } finally {
    if (runner.exitCode === null && runner.signalCode === null) {
      runner.kill("SIGKILL");
      await exited;
    }
    await closeQuietly(producer);
    await closeQuietly(reader);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export async function runKafkaBench(): Promise<BenchResult[]> {
  return withBroker(async (url) => {
    const address = parseBrokerUrl(url);
    const cluster = new KafkaCluster(address);
    try {
      // Start from nothing: on a shared broker, an earlier run's input and pipeline state.
      await deleteTopics(cluster, [INPUT, ...pipelineTopics().topics]);
      const produced = await produceEvents(address, cluster);
      const rates = await throughput(url, cluster);
      const live = await liveLatency(url, address, cluster);
      const scale = process.env.WEIR_BENCH_KAFKA_SCALE === "0" ? [] : await scaleOut(url, address, cluster);
      await deleteTopics(cluster, [INPUT, ...(await scaleTopics(cluster))]);
      return [...produced, ...rates, ...live, ...scale];
    } finally {
      await cluster.close();
    }
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const r of await runKafkaBench())
    console.log(
      `${r.name}: ${r.value} ${r.unit}${r.target ? ` (target ${r.target})` : ""}${r.note ? ` — ${r.note}` : ""}`,
    );
}
