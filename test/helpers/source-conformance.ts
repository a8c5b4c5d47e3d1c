/**
 * The conformance suite of the source contract (src/sources/contract.ts), through the real
 * `weir run` (test/fixtures/source-pipeline.ts: a replayable counting source with three splits,
 * ingested into its topic, each record copied to an output topic), on the embedded log or on a
 * Kafka broker:
 *
 * 1. a bounded run (`--until-end`) lands every record of every split in the topic once, each split
 *    in order, and the pipeline processes them all; values that cannot be written are dead letters
 *    with the reason;
 * 2. SIGKILLed at random moments while ingesting and restarted: still every record exactly once,
 *    each split in order (records and positions commit together);
 * 3. a source whose read throws stops the run with SOURCE_FAILED naming the source and the split,
 *    in one line.
 */
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { readTopic } from "../../src/index.js";
import { runCli, spawnCli, tempDir } from "../cli/helpers.js";
import type { Backend } from "./sink-conformance.js";

const FIXTURE = fileURLToPath(
  new URL(`../fixtures/source-pipeline.${import.meta.url.endsWith(".ts") ? "ts" : "js"}`, import.meta.url),
);

async function values(topic: string, where: { dataDir: string; broker?: string }): Promise<any[]> {
  return (await raw(topic, where)).map((v) => JSON.parse(v));
}

async function raw(topic: string, where: { dataDir: string; broker?: string }): Promise<string[]> {
  const out: string[] = [];
  for await (const r of readTopic(
    topic,
    where.broker === undefined ? { dataDir: where.dataDir } : { broker: where.broker },
  ))
    out.push(r.value);
  return out;
}

/** Each split's numbers, in the order the records hold them. */
function bySplit(records: Array<{ split: string; n: number }>): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const r of records) (out[r.split] ??= []).push(r.n);
  return out;
}

function counting(splits: number, perSplit: number, skip: (n: number) => boolean = () => false) {
  const out: Record<string, number[]> = {};
  for (let s = 0; s < splits; s++)
    out[`s${s}`] = Array.from({ length: perSplit }, (_, n) => n).filter((n) => !skip(n));
  return out;
}

export function sourceConformance(backend: Backend): void {
  function setup(t: TestContext, env: Record<string, string>) {
    const dir = tempDir(t, "weir-source-conformance-");
    const dataDir = join(dir, "data");
    const run = `_${randomBytes(3).toString("hex")}`; // on a shared broker, this test's own topics
    const broker = backend.broker?.();
    const args = [
      "run",
      FIXTURE,
      "--until-end",
      "--data-dir",
      dataDir,
      ...(broker === undefined ? [] : ["--broker", broker]),
    ];
    return {
      run,
      args,
      env: { ...env, WEIR_TEST_SOURCE_RUN: run },
      where: { dataDir, ...(broker === undefined ? {} : { broker }) },
    };
  }

  test(
    `source conformance on the ${backend.name}: a bounded run ingests every record of every split once, in order, and processes them; a value with no JSON is a dead letter`,
    { timeout: 300_000 },
    async (t) => {
      if (backend.broker !== undefined && backend.broker() === undefined) return backend.require?.(t);
      const { run, args, env, where } = setup(t, {
        WEIR_TEST_SOURCE_SPLITS: "3",
        WEIR_TEST_SOURCE_PER_SPLIT: "700",
        WEIR_TEST_SOURCE_BAD: "1",
      });
      const result = await runCli(args, { env, timeoutMs: 240_000 });
      assert.equal(result.code, 0, result.stderr);
      const expected = counting(3, 700, (n) => n % 100 === 99);
      const ingested = await raw(`srcconf${run}_in`, where);
      assert.equal(ingested.length, 3 * 700, "every record is in the topic, those with no JSON too");
      assert.deepEqual(
        bySplit(ingested.filter((v) => v.startsWith('{"')).map((v) => JSON.parse(v))),
        expected,
        "the topic",
      );
      assert.deepEqual(bySplit(await values(`srcconf${run}_out`, where)), expected, "the pipeline's output");
      const dlq = await values(`srcconf${run}.dlq`, where);
      assert.equal(dlq.length, 3 * 7);
      for (const d of dlq) {
        assert.match(
          d.error,
          /^source counting \(srcconf_\w+_in\), split s\d: the value cannot be written as JSON: /,
        );
        assert.equal(d.topic, `srcconf${run}_in`);
        assert.match(d.raw, /^\{ split: 's\d', n: \d+n \}$/, "the value as Node prints it");
        assert.equal(typeof d.offset, "number", "the dead letter names its place in the topic");
      }
      // A second run finds the source finished (its positions committed): nothing comes in again.
      const again = await runCli(args, { env, timeoutMs: 240_000 });
      assert.equal(again.code, 0, again.stderr);
      assert.equal((await raw(`srcconf${run}_in`, where)).length, 3 * 700);
    },
  );

  test(
    `source conformance on the ${backend.name}: SIGKILLed at random moments while ingesting and restarted, every record lands exactly once, each split in order`,
    { timeout: 600_000 },
    async (t) => {
      if (backend.broker !== undefined && backend.broker() === undefined) return backend.require?.(t);
      // 3 splits x 1500 records, 50 per read, 20 ms a read: about 0.6 s of ingesting per run at least.
      const { run, args, env, where } = setup(t, {
        WEIR_TEST_SOURCE_SPLITS: "3",
        WEIR_TEST_SOURCE_PER_SPLIT: "1500",
        WEIR_TEST_SOURCE_DELAY_MS: "20",
      });
      const topic = `srcconf${run}_in`;
      const landed = async (): Promise<number> => {
        try {
          return (await values(topic, where)).length;
        } catch {
          return 0; // not created yet
        }
      };
      let kills = 0;
      let midway = 0;
      for (let attempt = 0; ; attempt++) {
        assert.ok(attempt < 30, "the run did not complete in 30 attempts");
        const before = await landed();
        const child = spawnCli(args, { env, timeoutMs: 240_000 });
        let exited = false;
        void child.exited.then(() => (exited = true));
        if (kills < 4) {
          // Each kill lands 0-200 ms after this run's first commit reached the topic.
          const deadline = Date.now() + 60_000;
          while (!exited && (await landed()) <= before && Date.now() < deadline) await sleep(20);
          await sleep(Math.floor(Math.random() * 200));
          child.kill("SIGKILL");
        }
        const r = await child.exited;
        if (r.code === 0) break;
        assert.equal(r.signal, "SIGKILL", `attempt ${attempt + 1} failed (exit ${r.code}): ${r.stderr}`);
        kills++;
        if ((await landed()) < 3 * 1500) midway++;
      }
      assert.ok(midway > 0, "at least one kill landed while the source was being ingested");
      const ingested = await values(`srcconf${run}_in`, where);
      assert.deepEqual(bySplit(ingested), counting(3, 1500), "every record once, in order");
      assert.deepEqual(bySplit(await values(`srcconf${run}_out`, where)), counting(3, 1500));
    },
  );

  test(
    `source conformance on the ${backend.name}: a source whose read throws stops the run with SOURCE_FAILED naming it, in one line`,
    { timeout: 300_000 },
    async (t) => {
      if (backend.broker !== undefined && backend.broker() === undefined) return backend.require?.(t);
      const { args, env } = setup(t, { WEIR_TEST_SOURCE_FAILING: "s1" });
      const result = await runCli(args, { env, timeoutMs: 240_000 });
      assert.equal(result.code, 1, result.stderr);
      assert.match(
        result.stderr,
        /source counting \(srcconf_\w+_in\): reading split s1 failed: the device went away/,
      );
      assert.doesNotMatch(result.stderr, /\n\s+at /, "no stack trace");
    },
  );
}
