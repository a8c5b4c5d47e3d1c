/**
 * Committed offsets of consumer groups: groups/<group>.json, replaced atomically and durably on every
 * commit. A commit merges into what is stored (members of a group commit their own partitions), under
 * a short-lived lock file so that two processes committing at once do not lose each other's update.
 */
import { readFileSync } from "node:fs";
import { WeirError } from "../errors.js";
import { errnoCode, writeFileAtomic } from "./fs-util.js";
import type { Layout } from "./layout.js";
import { lockWithin, unlock } from "./lock.js";
import { validateGroupName, validateTopicName } from "./topic-meta.js";
import type { GroupOffsets } from "./types.js";

const GROUP_FILE_FORMAT = 1;
const COMMIT_LOCK_TIMEOUT_MS = 5000;

export function readGroupOffsets(layout: Layout, group: string): GroupOffsets {
  validateGroupName(group);
  return readStored(layout, group);
}

export function commitGroupOffsets(layout: Layout, group: string, offsets: GroupOffsets): void {
  validateGroupName(group);
  checkOffsets(offsets);
  const lockPath = layout.groupLockPath(group);
  const attempt = lockWithin(lockPath, COMMIT_LOCK_TIMEOUT_MS);
  if (!attempt.acquired) {
    throw new WeirError(
      "IO",
      `could not commit offsets of group "${group}": another commit (pid ${attempt.holderPid}) held its lock for ${COMMIT_LOCK_TIMEOUT_MS} ms`,
      { retryable: true },
    );
  }
  try {
    const merged = readStored(layout, group);
    for (const [topic, partitions] of Object.entries(offsets)) {
      merged[topic] = { ...merged[topic], ...partitions };
    }
    writeFileAtomic(
      layout.groupPath(group),
      JSON.stringify({ format: GROUP_FILE_FORMAT, group, offsets: merged }) + "\n",
    );
  } finally {
    unlock(lockPath);
  }
}

function readStored(layout: Layout, group: string): GroupOffsets {
  const path = layout.groupPath(group);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    if (errnoCode(err) === "ENOENT") return {};
    throw err;
  }
  try {
    const parsed = JSON.parse(text) as { format?: unknown; offsets?: GroupOffsets };
    if (parsed.format !== GROUP_FILE_FORMAT) throw new Error(`unsupported format ${String(parsed.format)}`);
    checkOffsets(parsed.offsets);
    return parsed.offsets!;
  } catch (err) {
    throw new WeirError("CORRUPT", `${path} is not a valid group offsets file (${(err as Error).message})`, {
      cause: err,
    });
  }
}

function checkOffsets(offsets: unknown): asserts offsets is GroupOffsets {
  if (typeof offsets !== "object" || offsets === null || Array.isArray(offsets)) {
    throw new WeirError("USAGE", "group offsets must be an object { topic: { partition: offset } }");
  }
  for (const [topic, partitions] of Object.entries(offsets)) {
    validateTopicName(topic);
    if (typeof partitions !== "object" || partitions === null || Array.isArray(partitions)) {
      throw new WeirError(
        "USAGE",
        `group offsets of topic "${topic}" must be an object { partition: offset }`,
      );
    }
    for (const [partition, offset] of Object.entries(partitions as Record<string, unknown>)) {
      if (!/^(0|[1-9]\d{0,8})$/.test(partition)) {
        throw new WeirError("USAGE", `invalid partition "${partition}" in group offsets of topic "${topic}"`);
      }
      if (typeof offset !== "number" || !Number.isSafeInteger(offset) || offset < 0) {
        throw new WeirError(
          "USAGE",
          `invalid offset ${String(offset)} for ${topic}/${partition} in group offsets`,
        );
      }
    }
  }
}
