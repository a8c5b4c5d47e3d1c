/**
 * Bounded runs over files: which file feeds which source topic (`--input`). The files are read
 * with src/util/lines.ts (LineFile), the line reader `weir produce` uses too.
 *
 * `--input` names, for a pipeline reading one topic, a file; for a pipeline reading several topics:
 * - a directory holding `<topic>.jsonl` for every source topic (what `weir generate` writes for a
 *   multi-topic scenario), or
 * - `topic=FILE,topic=FILE` pairs, one per source topic.
 */
import { existsSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { WeirError } from "../errors.js";

export interface TopicFile {
  topic: string;
  /** Absolute path. */
  path: string;
}

/** The file of every source topic, in the order of `topics`. */
export function resolveInputFiles(
  input: string | Record<string, string>,
  topics: readonly string[],
): TopicFile[] {
  const usage =
    topics.length > 1
      ? `give --input DIR (holding ${topics.map((t) => `${t}.jsonl`).join(", ")}) or --input ${topics.map((t) => `${t}=FILE`).join(",")}`
      : "give --input FILE";
  let byTopic: Record<string, string>;
  if (typeof input !== "string") byTopic = input;
  else if (looksLikePairs(input, topics)) {
    byTopic = {};
    for (const part of input.split(",")) {
      const eq = part.indexOf("=");
      const topic = part.slice(0, eq).trim();
      const path = part.slice(eq + 1).trim();
      if (eq <= 0 || path === "")
        throw new WeirError("USAGE", `--input ${JSON.stringify(part)}: expected topic=FILE; ${usage}`);
      if (topic in byTopic) throw new WeirError("USAGE", `--input names topic ${topic} twice`);
      byTopic[topic] = path;
    }
  } else if (existsSync(input) && statSync(input).isDirectory()) {
    byTopic = {};
    for (const topic of topics) {
      const path = join(input, `${topic}.jsonl`);
      if (!existsSync(path))
        throw new WeirError(
          "USAGE",
          `--input ${input}: no file ${topic}.jsonl for source topic ${topic}; ${usage}`,
        );
      byTopic[topic] = path;
    }
  } else if (topics.length === 1) {
    byTopic = { [topics[0]]: input };
  } else {
    throw new WeirError("USAGE", `pipeline reads topics ${topics.join(", ")}: ${usage}`);
  }
  for (const topic of Object.keys(byTopic)) {
    if (!topics.includes(topic))
      throw new WeirError(
        "USAGE",
        `--input names topic ${topic}, which the pipeline does not read (it reads ${topics.join(", ")})`,
      );
  }
  const missing = topics.filter((t) => !(t in byTopic));
  if (missing.length > 0)
    throw new WeirError(
      "USAGE",
      `--input gives no file for source topic${missing.length > 1 ? "s" : ""} ${missing.join(", ")}; ${usage}`,
    );
  return topics.map((topic) => ({ topic, path: resolve(byTopic[topic]) }));
}

function looksLikePairs(input: string, topics: readonly string[]): boolean {
  const eq = input.indexOf("=");
  return eq > 0 && topics.includes(input.slice(0, eq).trim()) && !existsSync(input);
}
