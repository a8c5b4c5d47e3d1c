/**
 * The partition tasks of one process (src/runtime/partition-tasks.ts): restored from a snapshot
 * taken mid-stream — records held at the exchanges included — they go on exactly as the
 * uninterrupted tasks; a checkpoint of another shape (one task, or another task count) is refused
 * with INCOMPATIBLE_STATE and what to do.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { PartitionTasks } from "../../src/runtime/partition-tasks.js";
import { Task, type TaskState } from "../../src/runtime/task.js";
import type { OutputCollector } from "../../src/operators/types.js";
import { nobroker } from "../../examples/nobroker/pipeline.js";
import { isWeirError } from "../../src/errors.js";
import { makeInput } from "./inputs.js";

const graph = nobroker({ tables: false, lake: false }).graph;

/** An output collector writing "topic value" lines to `into`. */
function collect(into: string[]): OutputCollector {
  return {
    append: (topic, _k, value) => void into.push(`${topic} ${value}`),
    upsert() {},
    land() {},
    deliver() {},
  };
}

function tasksOf(n: number, into: string[]): PartitionTasks {
  return new PartitionTasks(graph, collect(into), new Map([["events", n]]));
}

/** Feed `lines` (line i to partition i mod n) in batches of 50, as the runner does. */
function feed(tasks: PartitionTasks, lines: readonly string[], from: number, to: number, n: number): void {
  for (let i = from; i < to; i++) {
    tasks.processLine("events", i % n, Math.floor(i / n), 0, lines[i]);
    if (i % 50 === 49) tasks.tick();
  }
}

test("partition tasks restored from a mid-stream snapshot, held records included, go on exactly as uninterrupted", () => {
  const n = 3;
  const lines = makeInput(6000, 5);
  const half = 3000;
  const uninterrupted: string[] = [];
  const a = tasksOf(n, uninterrupted);
  feed(a, lines, 0, half, n);
  const state = JSON.parse(JSON.stringify(a.snapshot())) as TaskState;
  const before = uninterrupted.length;
  assert.equal(state.partitionTasks?.length, n);
  const held = state.partitionTasks!.flatMap((t) =>
    Object.values(t.exchanges ?? {}).flatMap((x) => (Array.isArray(x) ? [] : (x.held ?? []).flat())),
  );
  assert.ok(held.length > 0, "records were held at the exchanges when the snapshot was taken");
  feed(a, lines, half, lines.length, n);
  a.endOfInput();

  const resumed: string[] = [];
  const b = tasksOf(n, resumed);
  b.restore(state);
  feed(b, lines, half, lines.length, n);
  b.endOfInput();
  assert.ok(
    resumed.some((l) => l.startsWith("nobroker.late ")),
    "records are late",
  );
  assert.deepEqual(resumed, uninterrupted.slice(before));
});

test("a checkpoint of one task, or of another number of partition tasks, is refused with what to do", () => {
  const refused = (f: () => void, pattern: RegExp) =>
    assert.throws(
      f,
      (err) => isWeirError(err) && err.code === "INCOMPATIBLE_STATE" && pattern.test(err.message),
    );
  const oneTask = new Task(graph, collect([])).snapshot();
  const three = tasksOf(3, []).snapshot();
  refused(() => tasksOf(3, []).restore(oneTask), /one task reading every partition.*--from-scratch/);
  refused(
    () => tasksOf(2, []).restore(three),
    /3 partition tasks.*runs as 2 partition tasks.*--from-scratch/,
  );
  refused(
    () => new Task(graph, collect([])).restore(three),
    /3 partition tasks.*one partition.*--from-scratch/,
  );
});
