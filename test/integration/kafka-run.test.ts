/**
 * NoBroker on a real Kafka broker (scripts/kafka.sh): the same outputs as on the embedded log —
 * the seed's 25-line sample, and a generated 200k-event input with tables and lake — and exactly
 * once after `kill -9` at random moments (transactions + checkpoint topic).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { repoRoot, requireService, useKafka } from "../helpers/services.js";
import { hasStackTrace, lines, runCli, spawnCli } from "../cli/helpers.js";
import { assertSameOutputs, embeddedRun, topicOutputs } from "./kafka-nobroker.js";
import { Producer, type MessageToProduce } from "@platformatic/kafka";
import { pipeline, type PipelineDefinition } from "../../src/index.js";
import { KafkaCluster, clientOptions, parseBrokerUrl } from "../../src/kafka/connection.js";
import { KafkaRunner } from "../../src/kafka/runner.js";

const kafka = useKafka({ port: 19410 });

/** Run `definition` on the test broker to the end of its input, in `dataDir`. */
function runToEnd(definition: PipelineDefinition, dataDir: string) {
  return new KafkaRunner(definition, { broker: kafka.url!, dataDir, untilEnd: true, logger: () => {} }).run();
}

/** The values of `topic` on the test broker, as `weir consume` prints them, parsed. */
async function consumeJson(topic: string): Promise<any[]> {
  const r = await runCli(["consume", topic, "--broker", kafka.url!], { timeoutMs: 60_000 });
  assert.equal(r.code, 0, r.stderr);
  return lines(r.stdout).map((l) => JSON.parse(l));
}

/** Create `topic` (one partition) on the test broker and send `messages` to it. */
async function produceTo(broker: string, topic: string, messages: Array<Omit<MessageToProduce, "topic">>) {
  const address = parseBrokerUrl(broker);
  const cluster = new KafkaCluster(address);
  const producer = new Producer(clientOptions(address, `weir-test-${topic}`));
  try {
    await cluster.ensureTopic(topic, { partitions: 1 });
    await producer.send({ messages: messages.map((m) => ({ topic, partition: 0, ...m })) });
  } finally {
    await producer.close();
    await cluster.close();
  }
}

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

test("Kafka input records carry their headers into the pipeline", { timeout: 120_000 }, async (t) => {
  if (kafka.url === undefined) return requireService(t, "Kafka", kafka.unavailable);
  const dir = mkdtempSync(join(tmpdir(), "weir-kafka-headers-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  await produceTo(kafka.url, "headers-in", [
    {
      key: Buffer.from("k1"),
      value: Buffer.from('{"n":1}'),
      headers: new Map([[Buffer.from("trace-id"), Buffer.from("abc-123")]]),
    },
    { key: Buffer.from("k2"), value: Buffer.from('{"n":2}') },
  ]);
  const definition = pipeline("headers", (p) => {
    p.source("headers-in")
      .map((v, ctx) => ({
        n: (v as { n: number }).n,
        headers: (ctx.headers ?? []).map((h) => [h.key, h.value.toString("utf8")]),
      }))
      .to("headers-out");
  });
  const summary = await runToEnd(definition, dir);
  assert.equal(summary.recordsIn, 2);
  assert.deepEqual(await consumeJson("headers-out"), [
    { n: 1, headers: [["trace-id", "abc-123"]] },
    { n: 2, headers: [] },
  ]);
});

test(
  "on Kafka too: a second --until-end run continues the ended state, and weir reset --broker starts it over (refused while running)",
  { timeout: 300_000 },
  async (t) => {
    if (kafka.url === undefined) return requireService(t, "Kafka", kafka.unavailable);
    const broker = kafka.url;
    const dir = mkdtempSync(join(tmpdir(), "weir-kafka-reset-"));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const name = `resetk${process.pid}`;
    const file = join(dir, "resetk.ts");
    const api = new URL("../../src/index.js", import.meta.url).pathname;
    writeFileSync(
      file,
      `import { pipeline, schema, windows } from ${JSON.stringify(api)};
const Ev = schema.object({ user: schema.int(), at: schema.timestamp() });
export default pipeline(${JSON.stringify(name)}, (p) => {
  const ev = p.source("${name}-in", { schema: Ev, eventTime: (e) => e.at });
  ev.keyBy((e) => e.user).count().when((n) => n >= 2).map(({ key, value }) => ({ user: key, n: value })).to("${name}-busy");
  ev.keyBy((e) => e.user).window(windows.tumbling("1m")).count().when(() => true, { emit: "final" })
    .map(({ key, window, value }) => ({ user: key, start: window.start, n: value })).to("${name}-minutes");
});
`,
    );
    const cli = (args: string[]) =>
      runCli([...args, "--broker", broker, "--data-dir", join(dir, "data")], { timeoutMs: 120_000 });
    const day = (d: string) =>
      [1, 2, 3].map((i) => JSON.stringify({ user: 1, at: `2021-12-0${d} 00:00:0${i}` })).join("\n") + "\n";
    const consume = async (topic: string) => lines((await cli(["consume", `${name}-${topic}`])).stdout);

    assert.equal((await runCli(["produce", `${name}-in`, "--broker", broker], { input: day("1") })).code, 0);
    let r = await cli(["run", file, "--until-end"]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await consume("minutes"), ['{"user":1,"start":"2021-12-01T00:00:00.000Z","n":3}']);

    // More input after the ended run: its window opens and fires; the crossing rule does not fire again.
    assert.equal((await runCli(["produce", `${name}-in`, "--broker", broker], { input: day("2") })).code, 0);
    r = await cli(["run", file, "--until-end"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /3 records in, 1 out \(0 dead letters, 0 late\)/);
    assert.deepEqual(await consume("minutes"), [
      '{"user":1,"start":"2021-12-01T00:00:00.000Z","n":3}',
      '{"user":1,"start":"2021-12-02T00:00:00.000Z","n":3}',
    ]);
    assert.deepEqual(await consume("busy"), ['{"user":1,"n":2}']);

    // Refused while a process of the pipeline's group runs it.
    const live = spawnCli(["run", file, "--broker", broker, "--data-dir", join(dir, "live")]);
    live.end();
    try {
      await live.waitForStderr((s) => /active: processing/.test(s), 60_000);
      const refused = await cli(["reset", file]);
      assert.equal(refused.code, 1, refused.stderr);
      assert.equal(lines(refused.stderr).length, 1, refused.stderr);
      assert.ok(!hasStackTrace(refused.stderr));
      assert.match(
        refused.stderr,
        new RegExp(
          `^weir: cannot reset pipeline ${name}: 1 process\\(es\\) of consumer group weir\\.${name} are running it`,
        ),
      );
    } finally {
      live.kill("SIGTERM");
      assert.equal((await live.exited).code, 0);
    }

    r = await cli(["reset", file]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`deleted weir\\.${name}\\.checkpoints`));
    r = await cli(["run", file, "--until-end"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /6 records in/, "from the beginning of the input, with empty state");
    assert.deepEqual(
      await consume("busy"),
      ['{"user":1,"n":2}', '{"user":1,"n":2}'],
      "outputs kept; the rule fired anew",
    );
    assert.equal((await consume("minutes")).length, 4);
  },
);

test(
  "on Kafka, an output record over the broker's record size is a dead letter of its step, not a failed run (issue 14)",
  { timeout: 120_000 },
  async (t) => {
    if (kafka.url === undefined) return requireService(t, "Kafka", kafka.unavailable);
    const dir = mkdtempSync(join(tmpdir(), "weir-kafka-big-"));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    await produceTo(
      kafka.url,
      "big-in",
      [10, 1_500_000, 20].map((size, n) => ({ value: Buffer.from(JSON.stringify({ n, size })) })),
    );
    // Before: the broker refused the 1.5 MB record, the transaction failed, and so did the run —
    // at the same record on every restart.
    const definition = pipeline("big", (p) => {
      p.source("big-in")
        .map((v: any) => ({ n: v.n, pad: "x".repeat(v.size) }))
        .to("big-out");
    });
    const summary = await runToEnd(definition, dir);
    assert.equal(summary.recordsIn, 3);
    assert.equal(summary.deadLetters, 1);
    assert.deepEqual(
      (await consumeJson("big-out")).map((v) => [v.n, v.pad.length]),
      [
        [0, 10],
        [2, 20],
      ],
    );
    const [letter] = await consumeJson("big.dlq");
    assert.equal(letter.offset, 1);
    assert.match(
      letter.error,
      /^step to:big-out failed: a Kafka record of 1500016 bytes is over the limit of 1000000 bytes \(/,
    );
  },
);

test(
  "energy-weather on Kafka (two topics through the input chooser, --until-end), SIGKILLed three times and restarted, ends with the file run's outputs in the same order",
  { timeout: 600_000 },
  async (t) => {
    if (kafka.url === undefined) return requireService(t, "Kafka", kafka.unavailable);
    const broker = kafka.url;
    const dir = mkdtempSync(join(tmpdir(), "weir-kafka-chooser-kill-"));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const input = join(dir, "input");
    // The example's own topics (energy, weather, energy_weather, ...): no other test of this file uses them.
    const gen = await runCli(
      ["generate", "energy-weather", "-o", input, "--households", "60", "--duration", "40d", "--seed", "9"],
      { timeoutMs: 120_000 },
    );
    assert.equal(gen.code, 0, gen.stderr);
    const files = join(dir, "files");
    const byFile = await runCli(["run", "energy-weather", "--input", input, "--data-dir", files], {
      timeoutMs: 300_000,
    });
    assert.equal(byFile.code, 0, byFile.stderr);
    let total = 0;
    for (const topic of ["energy", "weather"]) {
      total += lines(readFileSync(join(input, `${topic}.jsonl`), "utf8")).length;
      const r = await runCli(
        ["produce", topic, "--file", join(input, `${topic}.jsonl`), "--broker", broker],
        {
          timeoutMs: 120_000,
        },
      );
      assert.equal(r.code, 0, r.stderr);
    }
    const args = [
      "run",
      "energy-weather",
      "--broker",
      broker,
      "--until-end",
      "--checkpoint-interval",
      "300ms",
      "--data-dir",
      join(dir, "kafka"),
    ];
    let kills = 0;
    for (let attempt = 0; ; attempt++) {
      assert.ok(attempt < 20, "the run did not complete in 20 attempts");
      const child = spawnCli(args, { timeoutMs: 300_000 });
      child.end();
      if (kills < 3) {
        await child.waitForStderr((s) => /active: processing/.test(s), 120_000).catch(() => undefined);
        await new Promise((r) => setTimeout(r, 300 + Math.floor(Math.random() * 1200)));
        child.kill("SIGKILL");
      }
      const r = await child.exited;
      if (r.code === 0) {
        // The last run resumed what the killed ones had committed: it read only part of the input.
        const read = /energy-weather: (\d+) records in/.exec(r.stderr);
        assert.ok(read !== null, r.stderr);
        assert.ok(Number(read[1]) < total, `the killed runs had got somewhere: ${r.stderr}`);
        break;
      }
      assert.equal(r.signal, "SIGKILL", `attempt ${attempt + 1} failed (exit ${r.code}): ${r.stderr}`);
      kills++;
    }
    assert.ok(kills > 0);
    for (const topic of ["energy_weather", "energy-weather.late", "energy-weather.dlq"]) {
      const fromFiles = await runCli(["consume", topic, "--data-dir", files], { timeoutMs: 120_000 });
      const fromKafka = await runCli(["consume", topic, "--broker", broker], { timeoutMs: 120_000 });
      assert.equal(fromKafka.code, 0, fromKafka.stderr);
      const expected = lines(fromFiles.stdout);
      const actual = lines(fromKafka.stdout);
      assert.equal(actual.length, expected.length, `${topic}: record count`);
      assert.deepEqual(actual, expected, topic);
    }
  },
);
