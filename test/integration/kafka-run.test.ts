/**
 * NoBroker on a real Kafka broker (scripts/kafka.sh): the same outputs as on the embedded log —
 * the seed's 25-line sample, and a generated 200k-event input with tables and lake — and exactly
 * once after `kill -9` at random moments (transactions + checkpoint topic).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { repoRoot, requireService, useKafka } from "../helpers/services.js";
import { runCli } from "../cli/helpers.js";
import { assertSameOutputs, embeddedRun, topicOutputs } from "./kafka-nobroker.js";

const kafka = useKafka({ port: 19410 });

test(
  "the seed's 25-line sample through Kafka gives the same three topics as the embedded run",
  { timeout: 300_000 },
  async (t) => {
    if (kafka.url === undefined) return requireService(t, "Kafka", kafka.unavailable);
    const broker = kafka.url;
    const dir = mkdtempSync(join(tmpdir(), "weir-kafka-sample-"));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const sample = join(repoRoot(), "examples", "nobroker", "sample.jsonl");
    const expected = await embeddedRun(sample, join(dir, "embedded"), ["--tables", "off", "--lake", "off"]);
    assert.deepEqual(expected.paid_user, ['{"user":1,"interactions_count":9}']);

    // `--input` with `--broker`: the file goes through Kafka (loaded into the empty source topic).
    const args = ["run", "nobroker", "--input", sample, "--broker", broker, "--data-dir", join(dir, "kafka")];
    const flags = ["--tables", "off", "--lake", "off"];
    const r = await runCli([...args, ...flags], { timeoutMs: 120_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /produced 25 records to/);
    assert.match(r.stderr, /25 records in, 3 out/);
    assertSameOutputs(await topicOutputs({ broker }), expected);

    // The same command again: the topic holds the file already, and the checkpoint says it was
    // read: nothing is loaded, read or written twice.
    const again = await runCli([...args, ...flags], { timeoutMs: 120_000 });
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /already holds 25 record\(s\): not loading/);
    assert.match(again.stderr, /resumed from snapshot/);
    assert.match(again.stderr, /0 records in, 0 out/);
    assertSameOutputs(await topicOutputs({ broker }), expected);
  },
);
