/**
 * The source conformance suite (test/helpers/source-conformance.ts) on the embedded log, and what
 * the embeddable API adds: a live run ingests alongside the pipeline and stops on its signal; a
 * source failing in a live run fails the run; `describe` names the source.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { spawnCli } from "../cli/helpers.js";
import { describeGraph, readTopic, run, silentLogger } from "../../src/index.js";
import { sourceConformance } from "../helpers/source-conformance.js";
import { countingSource, sourcePipeline } from "../fixtures/counting-source.js";

sourceConformance({ name: "embedded log" });

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), "weir-source-live-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function count(topic: string, dataDir: string): Promise<number> {
  let n = 0;
  try {
    for await (const _ of readTopic(topic, { dataDir })) n++;
  } catch {
    return 0; // not created yet
  }
  return n;
}

test("a live run ingests its source alongside the pipeline, and stops on its signal", async (t) => {
  const dataDir = tempDir(t);
  const stop = new AbortController();
  const definition = sourcePipeline(countingSource({ splits: 2, perSplit: 400, delayMs: 5 }), "_live");
  assert.deepEqual(describeGraph(definition.graph).sources, ["counting -> srcconf_live_in"]);
  const handle = run(definition, { dataDir, signal: stop.signal, logger: silentLogger });
  const deadline = Date.now() + 60_000;
  while ((await count("srcconf_live_out", dataDir)) < 800 && Date.now() < deadline) await sleep(50);
  assert.equal(await count("srcconf_live_out", dataDir), 800, "every record went through while live");
  stop.abort();
  const summary = await handle.done;
  assert.equal(summary.recordsIn, 800);
  assert.deepEqual(summary.inputTopics, ["srcconf_live_in"]);
});

test("a source failing during a live run (a read, or opening a split) fails the run with SOURCE_FAILED", async (t) => {
  const dataDir = tempDir(t);
  const definition = sourcePipeline(countingSource({ splits: 2, perSplit: 10, failing: "s0" }), "_fails");
  const handle = run(definition, { dataDir, logger: silentLogger });
  await assert.rejects(handle.done, (err: Error & { code?: string }) => {
    assert.equal(err.code, "SOURCE_FAILED");
    assert.match(
      err.message,
      /source counting \(srcconf_fails_in\): reading split s0 failed: the device went away/,
    );
    return true;
  });
  assert.equal(handle.status().state, "failed");
  // Opening a split that throws fails the run the same way.
  const opening = run(
    sourcePipeline(countingSource({ splits: 2, perSplit: 10, failingOpen: "s1" }), "_opens"),
    { dataDir, logger: silentLogger },
  );
  await assert.rejects(opening.done, (err: Error & { code?: string }) => {
    assert.equal(err.code, "SOURCE_FAILED");
    assert.match(err.message, /source counting \(srcconf_opens_in\): opening split s1 failed: no such meter/);
    return true;
  });
});

test("a second process running a pipeline with its own source is refused (PIPELINE_RUNNING or WRITER_LOCKED), and its handle settles", async (t) => {
  const dataDir = tempDir(t);
  const fixture = fileURLToPath(new URL("../fixtures/source-pipeline.js", import.meta.url));
  const env = {
    WEIR_TEST_SOURCE_RUN: "_held",
    WEIR_TEST_SOURCE_PER_SPLIT: "100000",
    WEIR_TEST_SOURCE_DELAY_MS: "50",
  };
  const other = spawnCli(["run", fixture, "--data-dir", dataDir], { env, timeoutMs: 120_000 });
  other.end();
  t.after(() => other.kill("SIGKILL"));
  await other.waitForStderr((s) => /srcconf_held/.test(s) || s.length > 0, 60_000).catch(() => undefined);
  const deadline = Date.now() + 60_000;
  while ((await count("srcconf_held_in", dataDir)) === 0 && Date.now() < deadline) await sleep(50);
  const definition = sourcePipeline(countingSource({ splits: 3, perSplit: 100_000, delayMs: 50 }), "_held");
  const handle = run(definition, { dataDir, logger: silentLogger });
  await assert.rejects(handle.done, (err: Error & { code?: string }) => {
    assert.ok(err.code === "PIPELINE_RUNNING" || err.code === "WRITER_LOCKED", `${err.code}: ${err.message}`);
    return true;
  });
  assert.equal(handle.status().state, "failed");
});
