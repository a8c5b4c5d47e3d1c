/**
 * The embeddable API on a real Kafka broker (scripts/kafka.sh): run({ broker }) reads the source
 * topic to its end and gives the embedded run's answers, readTopic({ broker }) reads them back, and
 * a live run stops on its AbortSignal with its snapshot committed (a second run reads nothing again).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readTopic, run, silentLogger } from "../../src/index.js";
import { nobroker } from "../../examples/nobroker/pipeline.js";
import { repoRoot, requireService, useKafka } from "../helpers/services.js";
import { runCli } from "../cli/helpers.js";

const kafka = useKafka({ port: 19480 });

test(
  "run({ broker }) and readTopic({ broker }): the seed's sample through Kafka",
  { timeout: 300_000 },
  async (t) => {
    if (kafka.url === undefined) return requireService(t, "Kafka", kafka.unavailable);
    const broker = kafka.url;
    const dir = mkdtempSync(join(tmpdir(), "weir-embed-kafka-"));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const sample = join(repoRoot(), "examples", "nobroker", "sample.jsonl");
    const produced = await runCli(["produce", "events", "--file", sample, "--broker", broker], {
      timeoutMs: 120_000,
    });
    assert.equal(produced.code, 0, produced.stderr);

    const definition = nobroker({ tables: false, lake: false });
    const started: string[] = [];
    const handle = run(definition, {
      broker,
      dataDir: join(dir, "data"),
      untilEnd: true,
      logger: silentLogger,
      onStarted: (s) => started.push(s.engine),
    });
    const summary = await handle.done;
    assert.deepEqual(started, ["kafka"]);
    assert.deepEqual(
      { in: summary.recordsIn, out: summary.recordsOut, dead: summary.deadLetters },
      { in: 25, out: 3, dead: 0 },
    );
    assert.equal(handle.status().state, "stopped");

    const read = async (topic: string) => {
      const out: string[] = [];
      for await (const r of readTopic(topic, { broker })) out.push(r.value);
      return out;
    };
    assert.deepEqual(await read("paid_user"), ['{"user":1,"interactions_count":9}']);
    assert.deepEqual(await read("property_status"), ['{"property":1,"property_interactions_count":6}']);
    assert.deepEqual(await read("possible_broker"), [
      '{"window_start":"2021-11-30T00:00:00.000Z","window_end":"2021-11-30T00:01:00.000Z","user_id":1,"threat_user_interactions":11}',
    ]);
    await assert.rejects(read("no-such-topic"), { name: "WeirError", code: "UNKNOWN_TOPIC" });

    // Live: nothing new to read; an abort stops it gracefully, and it had committed where it was.
    const stop = new AbortController();
    const live = run(definition, {
      broker,
      dataDir: join(dir, "data"),
      signal: stop.signal,
      logger: silentLogger,
    });
    const deadline = Date.now() + 60_000;
    while (live.status().state !== "running" && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    assert.equal(live.status().state, "running");
    await new Promise((r) => setTimeout(r, 1000));
    stop.abort();
    const again = await live.done;
    assert.equal(again.recordsIn, 0, "the first run's snapshot holds its positions");
    assert.deepEqual(await read("paid_user"), ['{"user":1,"interactions_count":9}']);
  },
);
