/** Topic names, configuration validation and the topic.json file. */
import { readFileSync } from "node:fs";
import { WeirError } from "../errors.js";
import { errnoCode } from "./fs-util.js";
import type { Layout } from "./layout.js";
import { DEFAULT_TOPIC_CONFIG, type TopicConfig } from "./types.js";

/** Kafka's rule for topic names; the same for group names, since both become file names. */
const NAME = /^[A-Za-z0-9._-]{1,249}$/;
const TOPIC_FILE_FORMAT = 1;
const MAX_PARTITIONS = 10_000;
const MAX_SEGMENT_BYTES = 1024 * 1024 * 1024;

export function validateTopicName(name: string): void {
  validateName(name, "topic");
}

export function validateGroupName(name: string): void {
  validateName(name, "group");
}

function validateName(name: string, what: string): void {
  if (typeof name !== "string" || !NAME.test(name) || name === "." || name === "..") {
    throw new WeirError(
      "USAGE",
      `invalid ${what} name ${JSON.stringify(name)}: use 1 to 249 characters from A-Z a-z 0-9 . _ - (not "." or "..")`,
    );
  }
}

export function unknownTopic(topic: string): WeirError {
  return new WeirError(
    "UNKNOWN_TOPIC",
    `unknown topic "${topic}": create it with \`weir topics create ${topic}\``,
  );
}

/** The defaults overlaid with `partial`, every value checked; unknown keys are rejected (typos). */
export function resolveTopicConfig(partial: Partial<TopicConfig> = {}): TopicConfig {
  for (const key of Object.keys(partial)) {
    if (!(key in DEFAULT_TOPIC_CONFIG)) {
      throw new WeirError(
        "USAGE",
        `unknown topic setting "${key}"; known settings: ${Object.keys(DEFAULT_TOPIC_CONFIG).join(", ")}`,
      );
    }
  }
  const c: TopicConfig = { ...DEFAULT_TOPIC_CONFIG, ...stripUndefined(partial) };
  checkInt("partitions", c.partitions, 1, MAX_PARTITIONS);
  checkInt("segmentBytes", c.segmentBytes, 1, MAX_SEGMENT_BYTES);
  checkInt("indexIntervalBytes", c.indexIntervalBytes, 1, MAX_SEGMENT_BYTES);
  checkUnlimitedOr("segmentMs", c.segmentMs, 1);
  checkUnlimitedOr("retentionMs", c.retentionMs, 0);
  checkUnlimitedOr("retentionBytes", c.retentionBytes, 0);
  return Object.freeze(c);
}

function stripUndefined(partial: Partial<TopicConfig>): Partial<TopicConfig> {
  return Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined));
}

function checkInt(key: string, v: unknown, min: number, max: number): void {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    throw new WeirError(
      "USAGE",
      `topic setting ${key} must be an integer from ${min} to ${max}, got ${String(v)}`,
    );
  }
}

function checkUnlimitedOr(key: string, v: unknown, min: number): void {
  if (v === -1) return;
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < min) {
    throw new WeirError(
      "USAGE",
      `topic setting ${key} must be -1 (unlimited) or an integer >= ${min}, got ${String(v)}`,
    );
  }
}

export function topicFileContent(name: string, config: TopicConfig): string {
  return (
    JSON.stringify(
      { format: TOPIC_FILE_FORMAT, name, createdAt: new Date().toISOString(), config },
      null,
      2,
    ) + "\n"
  );
}

/** The configuration of a topic, or null if it does not exist. */
export function readTopicConfig(layout: Layout, topic: string): TopicConfig | null {
  const path = layout.topicConfigPath(topic);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    if (errnoCode(err) === "ENOENT" || errnoCode(err) === "ENOTDIR") return null;
    throw err;
  }
  try {
    const parsed = JSON.parse(text) as { format?: unknown; config?: Partial<TopicConfig> };
    if (parsed.format !== TOPIC_FILE_FORMAT) throw new Error(`unsupported format ${String(parsed.format)}`);
    return resolveTopicConfig(parsed.config);
  } catch (err) {
    throw new WeirError("CORRUPT", `${path} is not a valid topic file (${(err as Error).message})`, {
      cause: err,
    });
  }
}
