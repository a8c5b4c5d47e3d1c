import { test } from "node:test";
import assert from "node:assert/strict";
import {
  CHUNK_CHARS,
  CheckpointFolder,
  commitEntry,
  snapshotEntries,
  type CheckpointEntry,
} from "../../src/kafka/checkpoint-log.js";
import type { PipelineCheckpoint } from "../../src/runtime/checkpoint.js";
import { parseBrokerUrl } from "../../src/kafka/connection.js";
import { leaderTakesAll } from "../../src/kafka/membership.js";

function snapshot(sequence: number, payload: string): PipelineCheckpoint {
  return {
    version: 2,
    pipeline: "p",
    steps: ["s1"],
    writtenAt: "2026-01-01T00:00:00.000Z",
    sequence,
    inputs: { events: { 0: sequence * 10 } },
    tables: {},
    lake: {},
    task: { version: 1, steps: { s1: payload }, sources: {} },
  };
}

function fold(...batches: CheckpointEntry[][]): CheckpointFolder {
  const f = new CheckpointFolder();
  for (const b of batches) for (const e of b) f.add(e.key, e.value);
  return f;
}

test("a snapshot larger than one chunk is cut into chunks and read back whole", () => {
  const big = "x".repeat(CHUNK_CHARS * 2 + 17);
  const entries = snapshotEntries(snapshot(1, big), { chunks: 0, commits: 0 });
  assert.equal(entries.filter((e) => e.key.startsWith("snapshot/chunk/")).length, 3);
  assert.equal(entries[entries.length - 1].key, "snapshot", "the head comes last");
  const r = fold(entries).result()!;
  assert.equal(r.snapshot.task.steps.s1, big);
  assert.deepEqual(r.commits, []);
});

test("commits after the last snapshot are returned in order; older ones are ignored", () => {
  const s1 = snapshotEntries(snapshot(1, "a"), { chunks: 0, commits: 0 });
  const c1 = [commitEntry({ snapshot: 1, n: 1, segments: [["events", 0, 15]] })];
  const c2 = [commitEntry({ snapshot: 1, n: 2, segments: [["events", 0, 18]] })];
  // Snapshot 2 supersedes both commits (tombstones), then one commit after it.
  const s2 = snapshotEntries(snapshot(2, "b"), { chunks: 1, commits: 2 });
  const c3 = [commitEntry({ snapshot: 2, n: 1, segments: [["events", 0, 25]] })];
  assert.deepEqual(
    fold(s1, c1, c2)
      .result()!
      .commits.map((c) => c.n),
    [1, 2],
  );
  const r = fold(s1, c1, c2, s2, c3).result()!;
  assert.equal(r.snapshot.sequence, 2);
  assert.deepEqual(r.commits, [{ snapshot: 2, n: 1, segments: [["events", 0, 25]] }]);
  assert.ok(
    s2.some((e) => e.key === "commit/2" && e.value === null),
    "snapshot 2 tombstones the commits it supersedes",
  );
});

test("a shrinking snapshot tombstones its now unused chunks", () => {
  const s1 = snapshotEntries(snapshot(1, "y".repeat(CHUNK_CHARS * 2)), { chunks: 0, commits: 0 });
  const s2 = snapshotEntries(snapshot(2, "small"), { chunks: 3, commits: 0 });
  assert.ok(s2.some((e) => e.key === "snapshot/chunk/2" && e.value === null));
  assert.equal(fold(s1, s2).result()!.snapshot.task.steps.s1, "small");
});

test("no snapshot: nothing to recover; a chunk from another snapshot is an error, not a silent mix", () => {
  assert.equal(new CheckpointFolder().result(), undefined);
  const s1 = snapshotEntries(snapshot(1, "a"), { chunks: 0, commits: 0 });
  const s2 = snapshotEntries(snapshot(2, "b"), { chunks: 1, commits: 0 });
  const headOnly = s2.filter((e) => e.key === "snapshot");
  assert.throws(() => fold(s1, headOnly).result(), /chunk 0 of snapshot 2 is from snapshot 1/);
});

test("--broker URLs: one or several host:port; anything else is one usage line", () => {
  assert.deepEqual(parseBrokerUrl("kafka://127.0.0.1:9092").bootstrap, ["127.0.0.1:9092"]);
  assert.deepEqual(parseBrokerUrl("kafka://a:1,b:2/").bootstrap, ["a:1", "b:2"]);
  assert.deepEqual(parseBrokerUrl("localhost:9092").bootstrap, ["localhost:9092"]);
  for (const bad of ["kafka://", "kafka://host", "kafka://h:0", "kafka://h:70000", "http://h:1"])
    assert.throws(() => parseBrokerUrl(bad), /expected kafka:\/\/host:port/, bad);
});

test("the group leader takes every partition; other members stand by with none", () => {
  const members = new Map([
    ["m-b", { memberId: "m-b", version: 0 }],
    ["m-a", { memberId: "m-a", version: 0 }],
  ]);
  const metadata = {
    id: "c",
    brokers: new Map(),
    controllerId: 1,
    lastUpdate: 0,
    topics: new Map([["events", { id: "t", partitions: [], partitionsCount: 6, lastUpdate: 0 }]]),
  };
  const out = leaderTakesAll("m-b", members, new Set(["events"]), metadata);
  const byMember = new Map(out.map((m) => [m.memberId, m.assignments.get("events")?.partitions ?? []]));
  assert.deepEqual(byMember.get("m-b"), [0, 1, 2, 3, 4, 5]);
  assert.deepEqual(byMember.get("m-a"), []);
});

test("a snapshot of format 1 (Kafka's own, before one format for both backends) is read as format 2", () => {
  const v1 = {
    version: 1,
    pipeline: "p",
    steps: ["s1"],
    writtenAt: "2026-01-01T00:00:00.000Z",
    sequence: 4,
    positions: { events: { 0: 40 } },
    tables: { t: 7 },
    lake: {},
    sinks: { checkpoint: 9, prepared: { "sink:hook": ["a"] } },
    task: { version: 1, steps: { s1: "state" }, sources: {} },
  };
  const json = JSON.stringify(v1);
  const entries: CheckpointEntry[] = [
    { key: "snapshot/chunk/0", value: JSON.stringify({ sequence: 4, data: json }) },
    { key: "snapshot", value: JSON.stringify({ sequence: 4, chunks: 1 }) },
  ];
  const r = fold(entries).result()!;
  assert.deepEqual(r.snapshot, {
    version: 2,
    pipeline: "p",
    steps: ["s1"],
    writtenAt: "2026-01-01T00:00:00.000Z",
    sequence: 4,
    inputs: { events: { 0: 40 } },
    tables: { t: 7 },
    lake: {},
    sinks: { checkpoint: 9, prepared: { "sink:hook": ["a"] } },
    task: { version: 1, steps: { s1: "state" }, sources: {} },
  });
});
