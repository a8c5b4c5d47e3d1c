/**
 * `weir demo`: the flagship, in one process on the embedded log. The NoBroker pipeline runs live
 * on topic `events` while the NoBroker generator writes to it at --rate (event time = wall clock);
 * every alert (paid_user, property_status, possible_broker) is printed as it fires — at most
 * --max-alerts per second, the rest counted in a "(+N more alerts)" line — and a STATS line every
 * 5 s shows events in, rate, event -> alert latency, state size, dead letters, late records and
 * watermark lag. Ctrl-C (or --duration) stops the generator, then the pipeline (which
 * checkpoints), prints a final STATS line and exits 0.
 *
 * The demo keeps its data in a directory of its own, `./.weir-demo` (or `--data-dir`; never
 * `$WEIR_DATA_DIR`): its watermark is the wall clock, and a `weir run nobroker --input FILE` in the
 * same directory afterwards would resume its state and judge the file's older events late.
 *
 * Output goes through a DemoView; the console view is the only one today, and another front end
 * (a web view) plugs in through `runDemo(options, view)` without touching the orchestration.
 */
import { isAbsolute, relative, resolve } from "node:path";
import type { Command } from "commander";
import type { PipelineMetricsSnapshot } from "../../runtime/metrics.js";
import { withLog } from "../data-dir.js";
import { q } from "../format.js";
import { intParser, parseRate, type GlobalOptions } from "../options.js";
import { info, isStdoutBroken } from "../output.js";
import { shutdownSignal } from "../shutdown.js";
import { DEFAULT_RATE_PER_SECOND, DEFAULT_SEED, parsePositiveDuration, parseSeed } from "./generate.js";
import { formatRate } from "./generate-shared.js";

/**
 * The demo's data directory when --data-dir is not given: apart from `./.weir`, so that following
 * the README (`npm start`, then `weir run nobroker --input events.jsonl`) does not mix the two.
 */
export const DEMO_DATA_DIR = ".weir-demo";

/** `--data-dir`, else ./.weir-demo (absolute). $WEIR_DATA_DIR is for your pipelines, not the demo. */
export function demoDataDir(opts: { dataDir?: string }): string {
  return resolve(opts.dataDir !== undefined && opts.dataDir !== "" ? opts.dataDir : DEMO_DATA_DIR);
}

/** How to name `dir` on a command line run from the current directory. */
function shownDir(dir: string): string {
  const rel = relative(process.cwd(), dir);
  return rel !== "" && !rel.startsWith("..") && !isAbsolute(rel) ? rel : dir;
}

/** The pipeline's alert topics, in the order the summary lists them. */
export const ALERT_TOPICS = ["paid_user", "property_status", "possible_broker"] as const;
const SOURCE_TOPIC = "events";
/**
 * Users in the demo (the generator's own default is 1000): enough that ordinary users stay below
 * the possible_broker threshold at 100,000 events/min, so the brokers are the ones it flags.
 */
export const DEMO_DEFAULT_USERS = 100_000;

export interface DemoOptions {
  dataDir: string;
  /** Events per second. */
  perSecond: number;
  /** Stop after this long (ms); default: until Ctrl-C. */
  durationMs?: number;
  seed: number;
  users?: number;
  properties?: number;
  brokers?: number;
  /** STATS line period, ms (default 5000). */
  statsIntervalMs?: number;
  /** Ends the demo like Ctrl-C does (which always ends it). */
  signal?: AbortSignal;
}

/** Where the demo shows what happens. */
export interface DemoView {
  /** The pipeline and the generator are running. */
  started(info: { dataDir: string; perSecond: number; generator: string; durationMs?: number }): void;
  /** An alert record was produced (value: its JSON text). */
  alert(topic: string, key: string | null, value: string): void;
  /** Periodic metrics. */
  stats(metrics: PipelineMetricsSnapshot, alerts: Readonly<Record<string, number>>, elapsedMs: number): void;
  /** Everything stopped; the last metrics. */
  finished(
    metrics: PipelineMetricsSnapshot,
    alerts: Readonly<Record<string, number>>,
    elapsedMs: number,
    generated: number,
  ): void;
  /** Release timers. */
  close(): void;
}

interface CliDemoOptions extends GlobalOptions {
  rate?: number;
  duration?: number;
  users?: number;
  properties?: number;
  brokers?: number;
  seed?: number;
  maxAlerts: number;
}

export function register(program: Command): void {
  program
    .command("demo")
    .description(
      "the NoBroker pipeline live on generated events, printing alerts and metrics (Ctrl-C to stop)",
    )
    .option("-r, --rate <rate>", "events per time: 100000/min, 500/s (default: 100000/min)", parseRate)
    .option(
      "-d, --duration <duration>",
      "stop after this long: 30s, 5m (default: until Ctrl-C)",
      parsePositiveDuration,
    )
    .option("--users <n>", "distinct users (default 100000)", intParser(1, 100_000_000))
    .option("--properties <n>", "distinct properties (default 500)", intParser(1, 100_000_000))
    .option("--brokers <n>", "heavy users who behave like brokers (default 5)", intParser(0))
    .option("--seed <n>", `seed of the generator (default ${DEFAULT_SEED})`, parseSeed)
    .option(
      "--max-alerts <n>",
      "alert lines printed per second at most; the rest are counted",
      intParser(1),
      20,
    )
    .addHelpText(
      "after",
      "\nWhat it shows:\n" +
        "  ALERT <topic> <record>   each alert as it fires (paid_user, property_status, possible_broker)\n" +
        "  STATS ...                every 5 s: events in and rate, event -> alert latency p50/p99,\n" +
        "                           state size, dead letters, late records, watermark lag\n" +
        `\nIts data (topics, checkpoint, tables, lake) go to ./${DEMO_DATA_DIR}, apart from your pipelines' ./.weir\n` +
        "($WEIR_DATA_DIR is not used); --data-dir picks another directory. They are kept between runs.\n" +
        "\nExamples:\n  weir demo\n  weir demo --rate 500/s --duration 1m --brokers 10\n  npm start",
    )
    .action(async (_opts: CliDemoOptions, cmd: Command) => {
      const opts = cmd.optsWithGlobals<CliDemoOptions>();
      // When stdout's reader goes away (`weir demo | head`), stop as on Ctrl-C.
      const outputGone = new AbortController();
      const view = new ConsoleDemoView((line) => {
        if (isStdoutBroken()) outputGone.abort();
        else process.stdout.write(line + "\n");
      }, opts.maxAlerts);
      await runDemo(
        {
          dataDir: demoDataDir(opts),
          perSecond: opts.rate ?? DEFAULT_RATE_PER_SECOND,
          durationMs: opts.duration,
          seed: opts.seed ?? DEFAULT_SEED,
          users: opts.users ?? DEMO_DEFAULT_USERS,
          properties: opts.properties,
          brokers: opts.brokers,
          signal: outputGone.signal,
        },
        view,
      );
    });
}

/** Run the demo until Ctrl-C or the duration; resolves when the pipeline has checkpointed and stopped. */
export async function runDemo(options: DemoOptions, view: DemoView): Promise<void> {
  const [{ nobroker }, { Runner }, { createNoBrokerGenerator, producePaced }] = await Promise.all([
    import("../../../examples/nobroker/pipeline.js"),
    import("../../runtime/runner.js"),
    import("../../generate/index.js"),
  ]);
  // Check the generator's options before opening anything.
  createNoBrokerGenerator({ users: options.users, properties: options.properties, brokers: options.brokers });
  const shutdown = shutdownSignal();
  const alerts: Record<string, number> = Object.fromEntries(ALERT_TOPICS.map((t) => [t, 0]));
  const alertTopics = new Set<string>(ALERT_TOPICS);

  try {
    await withLog(options.dataDir, async (log) => {
      log.ensureTopic(SOURCE_TOPIC, { partitions: 1 });
      const runner = new Runner(nobroker(), {
        log,
        logger: (m) => info(m),
        onOutput: (topic, key, value) => {
          if (!alertTopics.has(topic)) return;
          alerts[topic]++;
          view.alert(topic, key, value);
        },
      });
      const writer = log.writer(SOURCE_TOPIC);
      const stopProducing = new AbortController();
      const onShutdown = () => stopProducing.abort();
      shutdown.addEventListener("abort", onShutdown, { once: true });
      options.signal?.addEventListener("abort", onShutdown, { once: true });
      if (options.signal?.aborted) onShutdown();
      const startedAt = performance.now();
      const elapsed = () => performance.now() - startedAt;

      const running = runner.run();
      // A pipeline that fails (another process holds its topics, a bad checkpoint) ends the demo.
      running.catch(() => stopProducing.abort());

      const generator = createNoBrokerGenerator({
        seed: options.seed,
        users: options.users,
        properties: options.properties,
        brokers: options.brokers,
        eventsPerMinute: options.perSecond * 60,
        startTime: Date.now(),
      });
      view.started({
        dataDir: options.dataDir,
        perSecond: options.perSecond,
        generator: generator.describe(),
        durationMs: options.durationMs,
      });
      const statsTimer = setInterval(
        () => view.stats(runner.metrics(), alerts, elapsed()),
        options.statsIntervalMs ?? 5000,
      );
      let generated: number;
      const readBefore = runner.metrics().recordsIn;
      try {
        try {
          const produced = await producePaced({
            generator,
            writer,
            perSecond: options.perSecond,
            durationMs: options.durationMs,
            signal: stopProducing.signal,
          });
          generated = produced.written;
        } finally {
          writer.close();
          shutdown.removeEventListener("abort", onShutdown);
          options.signal?.removeEventListener("abort", onShutdown);
        }
        // Let the pipeline take in what was just written (it is normally a few ms behind).
        await settle(() => runner.metrics().recordsIn, readBefore + generated, 3000);
      } finally {
        // Stop the pipeline whatever happened to the generator; it checkpoints before returning.
        runner.stop();
        try {
          await running;
        } finally {
          clearInterval(statsTimer);
        }
      }
      view.finished(runner.metrics(), alerts, elapsed(), generated);
    });
  } finally {
    view.close();
  }
}

/**
 * Wait until `progress()` reaches `target`, or stops changing for longer than the log reader's
 * fallback re-check (a missed file event), at most `maxMs`.
 */
async function settle(progress: () => number, target: number, maxMs: number): Promise<void> {
  const until = performance.now() + maxMs;
  let last = progress();
  let quietSince = performance.now();
  while (last < target && performance.now() < until && performance.now() - quietSince < 400) {
    await new Promise((r) => setTimeout(r, 10));
    const now = progress();
    if (now !== last) quietSince = performance.now();
    last = now;
  }
}

const fmt = (n: number): string => Math.round(n).toLocaleString("en-US");

function ms(value: number): string {
  return value < 10 ? `${value.toFixed(1)} ms` : `${fmt(value)} ms`;
}

function seconds(valueMs: number): string {
  return `${(valueMs / 1000).toFixed(1)}s`;
}

/** One STATS line's body. */
export function formatMetrics(m: PipelineMetricsSnapshot, alerts: Readonly<Record<string, number>>): string {
  const totalAlerts = Object.values(alerts).reduce((a, b) => a + b, 0);
  const latency = m.latencyMs.count > 0 ? `p50 ${ms(m.latencyMs.p50)} p99 ${ms(m.latencyMs.p99)}` : "-";
  const lag = m.watermarkLagMs === null ? "-" : `${(m.watermarkLagMs / 1000).toFixed(1)} s`;
  return (
    `events ${fmt(m.recordsIn)} (${fmt(m.inputRatePerSec)}/s) | alerts ${fmt(totalAlerts)} | ` +
    `latency ${latency} | state ${fmt(m.stateSize)} | dead letters ${fmt(m.deadLetters)} | ` +
    `late ${fmt(m.lateRecords)} | watermark lag ${lag}`
  );
}

/**
 * The terminal view: ALERT lines on stdout, rate-limited to `maxPerSecond` (the rest become one
 * "(+N more alerts)" line per second), STATS lines, and start/stop messages on stderr.
 */
export class ConsoleDemoView implements DemoView {
  private second = 0;
  private printed = 0;
  private suppressed = 0;
  private readonly timer: NodeJS.Timeout;
  private dataDir: string | undefined;

  constructor(
    private readonly write: (line: string) => void,
    private readonly maxPerSecond = 20,
  ) {
    this.timer = setInterval(() => this.roll(Math.floor(Date.now() / 1000)), 1000);
    this.timer.unref();
  }

  started(s: { dataDir: string; perSecond: number; generator: string; durationMs?: number }): void {
    const until = s.durationMs === undefined ? "until Ctrl-C" : `for ${seconds(s.durationMs)}`;
    this.dataDir = s.dataDir;
    info(
      `demo: NoBroker pipeline live on topic ${SOURCE_TOPIC} in ${s.dataDir} (the demo's own data directory), ` +
        `generating ${formatRate(s.perSecond)} ${until} (${s.generator})`,
    );
    info(`demo: alerts from ${ALERT_TOPICS.join(", ")} below; STATS every 5 s; Ctrl-C to stop`);
  }

  alert(topic: string, _key: string | null, value: string): void {
    this.roll(Math.floor(Date.now() / 1000));
    if (this.printed < this.maxPerSecond) {
      this.printed++;
      this.write(`ALERT ${topic} ${value}`);
    } else {
      this.suppressed++;
    }
  }

  stats(m: PipelineMetricsSnapshot, alerts: Readonly<Record<string, number>>, elapsedMs: number): void {
    this.flushSuppressed();
    this.write(`STATS ${seconds(elapsedMs)} | ${formatMetrics(m, alerts)}`);
  }

  finished(
    m: PipelineMetricsSnapshot,
    alerts: Readonly<Record<string, number>>,
    elapsedMs: number,
    generated: number,
  ): void {
    this.flushSuppressed();
    this.write(`STATS final ${seconds(elapsedMs)} | ${formatMetrics(m, alerts)}`);
    const byTopic = ALERT_TOPICS.map((t) => `${t} ${fmt(alerts[t] ?? 0)}`).join(", ");
    info(
      `demo: stopped after ${seconds(elapsedMs)}; generated ${fmt(generated)} events; alerts: ${byTopic}; ` +
        `the pipeline checkpointed (read an alert topic with \`weir consume ${q("possible_broker")}` +
        `${this.dataDir === undefined ? "" : ` --data-dir ${q(shownDir(this.dataDir))}`}\`)`,
    );
  }

  close(): void {
    clearInterval(this.timer);
    this.flushSuppressed();
  }

  private roll(second: number): void {
    if (second === this.second) return;
    this.flushSuppressed();
    this.second = second;
    this.printed = 0;
  }

  private flushSuppressed(): void {
    if (this.suppressed === 0) return;
    this.write(`(+${fmt(this.suppressed)} more alert${this.suppressed === 1 ? "" : "s"})`);
    this.suppressed = 0;
  }
}
