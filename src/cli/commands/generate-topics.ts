/**
 * `weir generate <scenario>` for a scenario writing several topics (Scenario.topics, e.g.
 * energy-weather: `energy` and `weather`):
 *
 * - `--output DIR`: one file per topic, DIR/<topic>.jsonl (the directory is created), as fast as
 *   possible: --count lines in all, or --duration of event time, or the scenario's default span.
 *   `weir run <pipeline> --input DIR` reads them back, one file per source topic.
 * - to topics (default): each line is appended to its own topic, paced at --rate for --duration
 *   (default 60 s) or --count lines.
 */
import { closeSync, mkdirSync, openSync, statSync } from "node:fs";
import { join } from "node:path";
import {
  formatEventDate,
  producePaced,
  routeByTopic,
  writeTopicFiles,
  type MockGenerator,
  type Scenario,
  type ScenarioOptions,
} from "../../generate/index.js";
import type { TopicWriter } from "../../log/index.js";
import { usageError, UserError } from "../../errors.js";
import { resolveDataDir, withLog } from "../data-dir.js";
import { plural, q } from "../format.js";
import { info } from "../output.js";
import { shutdownSignal } from "../shutdown.js";
import { count, fileSink, formatRate, formatStats, topicRunLength } from "./generate-shared.js";

export interface MultiTopicGenerateOptions {
  count?: number;
  duration?: number;
  output?: string;
  topic?: string;
  partitions?: number;
  dataDir?: string;
  quiet?: boolean;
}

const fmt = (n: number): string => Math.round(n).toLocaleString("en-US");

export async function generateMultiTopic(
  scenario: Scenario,
  opts: MultiTopicGenerateOptions,
  perSecond: number,
  start: number | undefined,
  optionsAt: (startTime: number) => ScenarioOptions,
): Promise<void> {
  const topics = scenario.topics!;
  if (opts.topic !== undefined)
    throw usageError(
      `scenario ${scenario.name} writes topics ${topics.join(", ")}; --topic does not apply to it`,
    );
  if (opts.output !== undefined) await toFiles(scenario, opts, start, opts.output, optionsAt);
  else await toTopics(scenario, opts, perSecond, start, optionsAt);
}

async function toFiles(
  scenario: Scenario,
  opts: MultiTopicGenerateOptions,
  start: number | undefined,
  dir: string,
  optionsAt: (startTime: number) => ScenarioOptions,
): Promise<void> {
  const topics = scenario.topics!;
  if (dir === "-")
    throw usageError(
      `scenario ${scenario.name} writes one file per topic (${topics.map((t) => `${t}.jsonl`).join(", ")}): give --output DIR`,
    );
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw new UserError(
      `cannot create directory ${q(dir)}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message} (check --output)`,
    );
  }
  if (!statSync(dir).isDirectory()) throw new UserError(`${q(dir)} is not a directory (check --output)`);
  const startTime = start ?? scenario.fileStartTime;
  const spanMs =
    opts.duration ?? (opts.count === undefined ? (scenario.fileSpanMs ?? 86_400_000) : undefined);
  const endTime = spanMs === undefined ? undefined : startTime + spanMs;
  const generator = scenario.create(optionsAt(startTime));
  const fds = new Map<string, number>();
  const files = new Map<string, string>();
  const started = performance.now();
  let result;
  try {
    for (const topic of topics) {
      const path = join(dir, `${topic}.jsonl`);
      try {
        fds.set(topic, openSync(path, "w"));
      } catch (err) {
        throw new UserError(
          `cannot write ${q(path)}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
        );
      }
      files.set(topic, path);
    }
    result = await writeTopicFiles(
      generator,
      (topic) => {
        const fd = fds.get(topic);
        if (fd === undefined) throw new Error(`scenario ${scenario.name} wrote to undeclared topic ${topic}`);
        return fileSink(fd, files.get(topic)!);
      },
      { count: opts.count, endTime, signal: shutdownSignal() },
    );
  } finally {
    for (const fd of fds.values()) closeSync(fd);
  }
  const seconds = (performance.now() - started) / 1000;
  const perFile = topics.map((t) => `${files.get(t)} ${fmt(result.perTopic[t] ?? 0)}`).join(", ");
  const last = result.lines > 0 ? formatEventDate(generator.time) : formatEventDate(startTime);
  info(
    `${result.interrupted ? "stopped early; " : ""}wrote ${count(result.lines, `${scenario.name} line`)} in ${seconds.toFixed(2)} s ` +
      `(${perFile}); ${formatStats(generator.stats())}; event time ${formatEventDate(startTime)} to ${last} UTC`,
  );
}

async function toTopics(
  scenario: Scenario,
  opts: MultiTopicGenerateOptions,
  perSecond: number,
  start: number | undefined,
  optionsAt: (startTime: number) => ScenarioOptions,
): Promise<void> {
  const topics = scenario.topics!;
  const { durationMs, expected } = topicRunLength(opts, perSecond);
  optionsAt(0); // validate the flags before touching the data directory
  const dataDir = resolveDataDir(opts);
  const signal = shutdownSignal();
  let generator: MockGenerator | undefined;
  let startTime = 0;
  const written: Record<string, number> = {};
  const result = await withLog(dataDir, async (log) => {
    const writers = new Map<string, TopicWriter>();
    try {
      for (const topic of topics) {
        if (log.createTopicIfMissing(topic, { partitions: opts.partitions ?? 1 })) {
          info(
            `created topic ${q(topic)} with ${plural(opts.partitions ?? 1, "partition")} (it did not exist)`,
          );
        }
        writers.set(topic, log.writer(topic));
      }
      startTime = start ?? Date.now();
      generator = scenario.create(optionsAt(startTime));
      info(
        `generating ${scenario.name} events to topics ${topics.join(", ")} in ${dataDir} at ${formatRate(perSecond)}` +
          `${durationMs === undefined ? ` for ${count(expected, "event")}` : ` for ${(durationMs / 1000).toFixed(1)} s`}; ` +
          `${generator.describe()}; Ctrl-C to stop`,
      );
      const routed = routeByTopic(generator, (topic) => {
        const w = writers.get(topic);
        if (w === undefined) throw new Error(`scenario ${scenario.name} wrote to undeclared topic ${topic}`);
        return {
          append: (records) => {
            written[topic] = (written[topic] ?? 0) + records.length;
            return w.append(records);
          },
        };
      });
      return await producePaced({ ...routed, perSecond, count: opts.count, durationMs, signal });
    } finally {
      for (const w of writers.values()) w.close();
    }
  });
  const g = generator!;
  const seconds = result.elapsedMs / 1000;
  const perTopic = topics.map((t) => `${t} ${fmt(written[t] ?? 0)}`).join(", ");
  const last = result.written > 0 ? formatEventDate(g.time) : formatEventDate(startTime);
  info(
    `${result.interrupted ? "stopped by signal; " : ""}appended ${count(result.written, `${scenario.name} event`)} ` +
      `(${perTopic}) in ${seconds.toFixed(1)} s (${fmt(result.written / Math.max(seconds, 1e-3))}/s); ` +
      `${formatStats(g.stats())}; event time ${formatEventDate(startTime)} to ${last} UTC`,
  );
}
