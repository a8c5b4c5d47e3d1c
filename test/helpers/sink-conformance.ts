/**
 * The conformance suite of the sink contract (src/sinks/contract.ts), and the crash harness of both
 * runtimes: every sink runs the same tests through the real `weir run` (test/fixtures/
 * sink-pipeline.ts: a running count per key, each update handed to the sink and written to an
 * output topic) and is compared with the reference the TestDriver computes from the same input:
 *
 * 1. a bounded run;
 * 2. killed (SIGKILL) at the test-only crash points right after a sink write and right before a
 *    sink commit, then restarted;
 * 3. SIGKILLed at five random moments, then let finish.
 *
 * After each, the sink holds the reference: an exactly-once sink exactly, an at-least-once one
 * every record of it (a record held twice being the same record: same id, same value), each key's
 * records in order; and the output topic holds exactly the reference's records, in order — the
 * runtime's own exactly-once, compared with an uninterrupted run's.
 *
 * `backend` runs it on the embedded log (default) or on a Kafka broker: one engine, one contract,
 * one crash harness.
 */
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { TestDriver, readTopic } from "../../src/index.js";
import { spawnCli, runCli, tempDir } from "../cli/helpers.js";
import { sinkPipeline, type CountUpdate } from "../fixtures/sink-pipeline-def.js";
import type { Sink } from "../../src/index.js";

const FIXTURE = fileURLToPath(
  new URL(`../fixtures/sink-pipeline.${import.meta.url.endsWith(".ts") ? "ts" : "js"}`, import.meta.url),
);
const STEP = "sink-under-test";

/** What a sink under test received, in the order it holds it. */
export interface Delivered {
  id: string;
  value: CountUpdate;
}

export interface SinkUnderTest {
  /** WEIR_TEST_SINK of the fixture. */
  kind: "files" | "webhook";
  guarantee: "exactly-once" | "at-least-once";
  /** Where the sink writes for this test (a directory or a URL), and how to read back what it holds. */
  prepare(t: TestContext): Promise<{ target: string; delivered(): Promise<Delivered[]> }>;
}

export interface Backend {
  name: string;
  /** `--broker URL` arguments (and how to feed the input topic), or nothing for the embedded log. */
  broker?: () => string | undefined;
  require?: (t: TestContext) => void;
}

/** Events over `keys` keys, event time increasing. */
function input(events: number, keys: number): string[] {
  const t0 = Date.UTC(2026, 0, 1);
  return Array.from({ length: events }, (_, i) =>
    JSON.stringify({ id: i, key: `k${(i * 7919) % keys}`, at: new Date(t0 + i * 1000).toISOString() }),
  );
}

/**
 * The reference, computed by the TestDriver from the same lines: what the sink step is handed,
 * and what the pipeline writes to its output topic.
 */
function reference(lines: readonly string[], run: string): { sink: Delivered[]; topic: CountUpdate[] } {
  const noSink: Sink<CountUpdate> = {
    name: "reference",
    open: () => ({ write: () => {} }),
  };
  const driver = new TestDriver(sinkPipeline(noSink, run));
  for (const line of lines) driver.send(`sinkconf${run}_in`, line);
  driver.end();
  return {
    sink: driver.sinkRecords<CountUpdate>(STEP).map((r) => ({ id: r.id, value: r.value })),
    topic: driver.readValues<CountUpdate>(`sinkconf${run}_out`),
  };
}

/** The output topic holds exactly the reference's records, in order (exactly-once on either backend). */
async function checkTopic(expected: CountUpdate[], run: string, where: { dataDir: string; broker?: string }) {
  const got: CountUpdate[] = [];
  for await (const r of readTopic(`sinkconf${run}_out`, where)) got.push(JSON.parse(r.value) as CountUpdate);
  assert.equal(
    got.length,
    expected.length,
    `the output topic holds ${got.length} records, the reference ${expected.length}`,
  );
  assert.deepEqual(got, expected);
}

function check(guarantee: SinkUnderTest["guarantee"], expected: Delivered[], got: Delivered[]): void {
  const want = new Map(expected.map((d) => [d.id, JSON.stringify(d.value)]));
  const seen = new Map<string, string>();
  for (const d of got) {
    const value = JSON.stringify(d.value);
    assert.equal(
      want.get(d.id),
      value,
      `record ${d.id}: the sink holds ${value}, the reference ${want.get(d.id)}`,
    );
    const before = seen.get(d.id);
    if (before !== undefined) {
      assert.equal(guarantee, "at-least-once", `an exactly-once sink holds record ${d.id} twice`);
      assert.equal(before, value);
    }
    seen.set(d.id, value);
  }
  assert.equal(seen.size, want.size, `the sink holds ${seen.size} of the ${want.size} records`);
  if (guarantee === "exactly-once") assert.equal(got.length, expected.length);
  // Each key's records in order (first deliveries): its counts 1, 2, 3, ...
  const counts = new Map<string, number>();
  const first = new Set<string>();
  for (const d of got) {
    if (first.has(d.id)) continue;
    first.add(d.id);
    const n = (counts.get(d.value.key) ?? 0) + 1;
    assert.equal(
      d.value.count,
      n,
      `key ${d.value.key}: record ${d.id} arrives as count ${d.value.count}, not ${n}`,
    );
    counts.set(d.value.key, n);
  }
}

/** The sink and the output topic against the reference for `lines`. */
async function verify(
  guarantee: SinkUnderTest["guarantee"],
  lines: readonly string[],
  run: string,
  target: { delivered(): Promise<Delivered[]> },
  where: { dataDir: string; broker?: string },
): Promise<void> {
  const ref = reference(lines, run);
  check(guarantee, ref.sink, await target.delivered());
  await checkTopic(ref.topic, run, where);
}

export function sinkConformance(
  name: string,
  sink: () => SinkUnderTest,
  backend: Backend = { name: "embedded log" },
): void {
  /** `weir run` arguments and environment for one run over `file`. */
  async function setup(t: TestContext, lines: string[]) {
    const dir = tempDir(t, "weir-sink-conformance-");
    const dataDir = join(dir, "data");
    const file = join(dir, "in.jsonl");
    writeFileSync(file, lines.join("\n") + "\n");
    const s = sink();
    const target = await s.prepare(t);
    // A run of its own: on a shared broker, the pipeline's checkpoints and input are this test's.
    const run = `_${randomBytes(3).toString("hex")}`;
    const input = `sinkconf${run}_in`;
    const env = { WEIR_TEST_SINK: s.kind, WEIR_TEST_SINK_TARGET: target.target, WEIR_TEST_SINK_RUN: run };
    const broker = backend.broker?.();
    let args: string[];
    if (broker === undefined) args = ["run", FIXTURE, "--input", file, "--data-dir", dataDir];
    else {
      const topic = await runCli(["topics", "create", input, "--broker", broker]);
      assert.equal(topic.code, 0, topic.stderr);
      const produced = await runCli(["produce", input, "--file", file, "--broker", broker], {
        timeoutMs: 120_000,
      });
      assert.equal(produced.code, 0, produced.stderr);
      args = ["run", FIXTURE, "--broker", broker, "--until-end", "--data-dir", dataDir];
    }
    return { s, target, env, args, run, where: { dataDir, ...(broker === undefined ? {} : { broker }) } };
  }

  test(
    `sink conformance: ${name} on the ${backend.name}: a bounded run hands the sink every record of the reference, each key in order`,
    { timeout: 300_000 },
    async (t) => {
      if (backend.broker !== undefined && backend.broker() === undefined) return backend.require?.(t);
      const lines = input(600, 13);
      const { s, target, env, args, run, where } = await setup(t, lines);
      const result = await runCli(args, { env, timeoutMs: 240_000 });
      assert.equal(result.code, 0, result.stderr);
      await verify(s.guarantee, lines, run, target, where);
    },
  );

  test(
    `sink conformance: ${name} on the ${backend.name}: killed right after a sink write and right before a sink commit, restarted, the sink ends with the reference (${sink().guarantee})`,
    { timeout: 300_000 },
    async (t) => {
      if (backend.broker !== undefined && backend.broker() === undefined) return backend.require?.(t);
      const lines = input(3000, 11);
      const { s, target, env, args, run, where } = await setup(t, lines);
      // The test-only crash points (src/runtime/crash-points.ts): records written and not yet
      // checkpointed (replayed after the restart), then a checkpoint whose sink commit is pending
      // (committed again after the restart).
      for (const point of ["after-sink-write", "before-sink-commit"]) {
        const killed = await runCli(args, { env: { ...env, WEIR_TEST_CRASH_AT: point }, timeoutMs: 240_000 });
        assert.equal(killed.signal, "SIGKILL", `the run was to kill itself at ${point}: ${killed.stderr}`);
      }
      const result = await runCli(args, { env, timeoutMs: 240_000 });
      assert.equal(result.code, 0, result.stderr);
      await verify(s.guarantee, lines, run, target, where);
    },
  );

  test(
    `sink conformance: ${name} on the ${backend.name}: SIGKILLed at random moments and restarted, the sink and the output topic end as the reference (${sink().guarantee})`,
    { timeout: 600_000 },
    async (t) => {
      if (backend.broker !== undefined && backend.broker() === undefined) return backend.require?.(t);
      // Long enough that the kills land while it runs (the webhook's requests make it slower).
      const lines = input(sink().kind === "files" ? 300_000 : 6000, 29);
      const { s, target, env, args, run, where } = await setup(t, lines);
      const runArgs = [...args, "--checkpoint-interval", "100ms"];
      // Embedded log: the checkpoint file says how far a run got.
      const checkpointFile = join(where.dataDir, "pipelines", `sinkconf${run}`, "checkpoint.json");
      const sequence = (): number => {
        try {
          return (JSON.parse(readFileSync(checkpointFile, "utf8")) as { sequence: number }).sequence;
        } catch {
          return 0;
        }
      };
      let kills = 0;
      for (let attempt = 0; ; attempt++) {
        assert.ok(attempt < 60, "the run did not complete in 60 attempts");
        const child = spawnCli(runArgs, { env, timeoutMs: 240_000 });
        let exited = false;
        void child.exited.then(() => (exited = true));
        // Five kills, then the run gets to finish. On the embedded log each kill lands 0-300 ms
        // after the run's next checkpoint (so never before it started, nor after it ended); on
        // Kafka, whose checkpoints live in the cluster, 1.5-4 s after the start (a start there
        // joins the group, fences and recovers first).
        if (kills < 5) {
          if (backend.broker === undefined) {
            const before = sequence();
            const deadline = Date.now() + 30_000;
            while (!exited && sequence() <= before && Date.now() < deadline) await sleep(5);
            await sleep(Math.floor(Math.random() * 300));
          } else await sleep(1500 + Math.floor(Math.random() * 2500));
          child.kill("SIGKILL");
        }
        const r = await child.exited;
        if (r.code === 0) break;
        assert.equal(r.signal, "SIGKILL", `attempt ${attempt + 1} failed (exit ${r.code}): ${r.stderr}`);
        kills++;
      }
      assert.ok(kills > 0);
      await verify(s.guarantee, lines, run, target, where);
    },
  );
}
