/**
 * `weir topics|produce|consume --broker kafka://...` against a real Kafka broker (scripts/kafka.sh):
 * the same output formats and one-line errors as on the embedded log, keys on the partition the
 * Java client would choose, read-committed consumption, consumer groups that resume.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test, type TestContext } from "node:test";
import { Producer } from "@platformatic/kafka";
import { openTopicLog, type TopicLog } from "../../src/embed/topic-log.js";
import { Partitioner } from "../../src/log/partitioner.js";
import {
  hasStackTrace,
  interleavedRecords,
  jsonLines,
  lines,
  mergedOutput,
  runCli,
  spawnCli,
  tempDataDir,
  tempDir,
  type PlacedRecord,
} from "../cli/helpers.js";
import { requireService, useKafka } from "../helpers/services.js";

/** Port of this file's broker (19300+ are this file's range; see test/helpers/services.ts). */
const PORT = 19310;

let topicCounter = 0;
/** A topic name of its own for each test (they share one broker). */
function topicName(prefix: string): string {
  return `${prefix}-${process.pid}-${++topicCounter}`;
}

describe("weir CLI on Kafka (--broker)", () => {
  const kafka = useKafka({ port: PORT });

  /** `weir ARGS --broker URL`; an empty data directory makes sure nothing touches the embedded log. */
  const weir = (t: TestContext, args: string[], input?: string) =>
    runCli([...args, "--broker", kafka.url!, "--data-dir", tempDataDir(t)], { input, timeoutMs: 90_000 });

  test("topics create, list, describe, delete", async (t) => {
    if (kafka.url === undefined) return requireService(t, "Kafka", kafka.unavailable);
    const name = topicName("topics");
    let r = await weir(t, ["topics", "create", name, "--partitions", "3", "--retention", "3d"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(`created topic ${name} on kafka://\\S+ with 3 partitions .*retention 3d`),
    );

    r = await weir(t, ["topics", "list"]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(lines(r.stdout).includes(name), r.stdout);
    assert.deepEqual(lines(r.stdout), [...lines(r.stdout)].sort(), "sorted");

    r = await weir(t, ["topics", "create", name]);
    assert.equal(r.code, 1);
    assert.equal(lines(r.stderr).length, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`^weir: topic ${name} already exists on kafka://`));
    r = await weir(t, ["topics", "create", name, "--if-not-exists"]);
    assert.equal(r.code, 0, r.stderr);

    await weir(t, ["produce", name], jsonLines(30));
    r = await weir(t, ["topics", "describe", name]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^topic: +${name}\n`));
    assert.match(r.stdout, /^partitions: 3 \(replication factor 1\)$/m);
    assert.match(r.stdout, /^retention: +3d \(time\), unlimited per partition \(size\)$/m);
    assert.match(r.stdout, /^PARTITION +START +END +RECORDS +LEADER +REPLICAS +IN-SYNC$/m);
    assert.match(r.stdout, /^ +total +- +- +30$/m);

    r = await weir(t, ["topics", "describe", name, "--json"]);
    const d = JSON.parse(r.stdout) as {
      name: string;
      config: { partitions: number; retentionMs: number };
      partitions: Array<{ partition: number; startOffset: number; endOffset: number }>;
    };
    assert.equal(d.name, name);
    assert.equal(d.config.partitions, 3);
    assert.equal(d.config.retentionMs, 3 * 86_400_000);
    assert.equal(
      d.partitions.reduce((n, p) => n + p.endOffset - p.startOffset, 0),
      30,
    );

    r = await weir(t, ["topics", "list", "--json"]);
    const all = JSON.parse(r.stdout) as Array<{ name: string }>;
    assert.ok(all.some((x) => x.name === name));

    r = await weir(t, ["topics", "delete", name]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`deleted topic ${name}`));
    r = await weir(t, ["topics", "describe", name]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`^weir: unknown topic ${name} on kafka://\\S+; create it with`));
    assert.equal(lines(r.stderr).length, 1, r.stderr);
    r = await weir(t, ["topics", "delete", name]);
    assert.equal(r.code, 1);
    r = await weir(t, ["topics", "delete", name, "--if-exists"]);
    assert.equal(r.code, 0, r.stderr);
  });

  test("produce a file with --key-field to 3 partitions: consume prints every value, each key on Java's partition", async (t) => {
    if (kafka.url === undefined) return requireService(t, "Kafka", kafka.unavailable);
    const name = topicName("keyed");
    const users = Array.from({ length: 37 }, (_, i) => `user-${i}`);
    const text = jsonLines(3000, (i) => ({ i, user_id: i % 5 === 0 ? i % 37 : users[i % 37], n: "ünï ✓" }));
    const file = join(tempDir(t), "events.jsonl");
    writeFileSync(file, text);

    let r = await weir(t, ["produce", name, "--file", file, "--key-field", "user_id", "--partitions", "3"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(`created topic ${name} on kafka://\\S+ with 3 partitions \\(it did not exist\\)`),
    );
    assert.match(r.stderr, new RegExp(`^weir: produced 3000 records to ${name}$`, "m"));

    r = await weir(t, ["consume", name]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual([...lines(r.stdout)].sort(), [...lines(text)].sort());

    const java = new Partitioner(3);
    const byPartition: string[][] = [];
    for (let p = 0; p < 3; p++) {
      r = await weir(t, ["consume", name, "--partition", String(p), "--keys"]);
      assert.equal(r.code, 0, r.stderr);
      byPartition.push(lines(r.stdout));
      for (const line of lines(r.stdout)) {
        const [key, value] = line.split("\t");
        assert.equal(key, String((JSON.parse(value) as { user_id: unknown }).user_id));
        assert.equal(java.partitionFor(key), p, `key ${key} is on partition ${p}`);
      }
      // Each partition in offset order: the order of the file.
      const order = lines(r.stdout).map((l) => (JSON.parse(l.split("\t")[1]) as { i: number }).i);
      assert.deepEqual(
        order,
        [...order].sort((a, b) => a - b),
      );
    }
    assert.ok(
      byPartition.every((p) => p.length > 0),
      "every partition got keys",
    );
    assert.equal(byPartition.flat().length, 3000);
  });

  test("consume --max N stops after N records; unknown topic and partition are one-line errors", async (t) => {
    if (kafka.url === undefined) return requireService(t, "Kafka", kafka.unavailable);
    const name = topicName("max");
    const text = jsonLines(100);
    let r = await weir(t, ["produce", name], text);
    assert.equal(r.code, 0, r.stderr);
    r = await weir(t, ["consume", name, "--max", "7"]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(lines(r.stdout), lines(text).slice(0, 7));

    r = await weir(t, ["consume", name, "--partition", "3"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^weir: topic \S+ has no partition 3 \(it has 1 partition: 0..0\)\n$/);

    r = await weir(t, ["consume", topicName("missing")]);
    assert.equal(r.code, 1);
    assert.equal(lines(r.stderr).length, 1, r.stderr);
    assert.match(r.stderr, /^weir: unknown topic \S+ on kafka:\/\/\S+; create it with `weir topics create/);
    assert.ok(!hasStackTrace(r.stderr), r.stderr);
  });

  test("consume prints the same bytes on Kafka and on the embedded log: 3 partitions, interleaved timestamps", async (t) => {
    if (kafka.url === undefined) return requireService(t, "Kafka", kafka.unavailable);
    const name = topicName("same");
    // Over 4 MiB per partition: more than one Kafka fetch (and many embedded ones) per partition.
    const records = interleavedRecords(3, 3000, { base: Date.now() - 60_000, pad: 1500 });
    const write = async (log: TopicLog, recs: readonly PlacedRecord[]) => {
      try {
        await log.createTopic(name, { partitions: 3 });
        const writer = await log.openWriter(name);
        for (let i = 0; i < recs.length; i += 500) await writer.append(recs.slice(i, i + 500));
        await writer.close();
      } finally {
        await log.close();
      }
    };
    const dataDir = tempDataDir(t);
    await write(await openTopicLog({ broker: kafka.url }), records);
    await write(await openTopicLog({ dataDir }), records);
    const expected = mergedOutput(records, { keys: true });
    const onKafka = await weir(t, ["consume", name, "--keys"]);
    assert.equal(onKafka.code, 0, onKafka.stderr);
    const embedded = await runCli(["consume", name, "--keys", "--data-dir", dataDir]);
    assert.equal(embedded.code, 0, embedded.stderr);
    assert.ok(onKafka.stdout === expected, "Kafka: merged by timestamp, then partition");
    assert.ok(embedded.stdout === onKafka.stdout, "the same bytes on both");

    // A group's resumed runs print the same records in the same order on both.
    const runs = async (args: string[]) => {
      const out: string[] = [];
      for (const max of ["2500", "4000"]) {
        const r = await runCli(["consume", name, "--group", "g", "--max", max, ...args], {
          timeoutMs: 90_000,
        });
        assert.equal(r.code, 0, r.stderr);
        out.push(r.stdout);
      }
      const rest = await runCli(["consume", name, "--group", "g", ...args], { timeoutMs: 90_000 });
      assert.equal(rest.code, 0, rest.stderr);
      return [...out, rest.stdout];
    };
    const kafkaRuns = await runs(["--broker", kafka.url, "--data-dir", tempDataDir(t)]);
    const embeddedRuns = await runs(["--data-dir", dataDir]);
    assert.deepEqual(
      kafkaRuns.map((x) => lines(x).length),
      [2500, 4000, 2500],
    );
    assert.ok(kafkaRuns.join("") === mergedOutput(records), "resumed runs: the whole topic in order");
    assert.ok(embeddedRuns.join("") === kafkaRuns.join(""), "the same on both");
  });

  test("produce --flush on Kafka says it does not apply; --partitions of an existing topic is ignored with a note", async (t) => {
    if (kafka.url === undefined) return requireService(t, "Kafka", kafka.unavailable);
    const name = topicName("notes");
    let r = await weir(t, ["produce", name, "--partitions", "2", "--flush", "always"], '{"a":1}\n');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^weir: --flush applies to the embedded log; kafka:\/\/\S+ acknowledges/m);
    assert.match(
      r.stderr,
      new RegExp(`created topic ${name} on kafka://\\S+ with 2 partitions \\(it did not exist\\)`),
    );
    r = await weir(t, ["produce", name, "--partitions", "5"], '{"a":2}\n');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`topic ${name} already has 2 partitions; --partitions 5 ignored`));
    assert.doesNotMatch(r.stderr, /created topic/);
    r = await weir(t, ["consume", name]);
    assert.deepEqual([...lines(r.stdout)].sort(), ['{"a":1}', '{"a":2}']);
  });

  test("consume --group commits what it printed and the next run resumes after it", async (t) => {
    if (kafka.url === undefined) return requireService(t, "Kafka", kafka.unavailable);
    const name = topicName("group");
    const text = jsonLines(50, (i) => ({ i, user: `u${i % 4}` }));
    let r = await weir(t, ["produce", name, "--partitions", "2", "--key-field", "user"], text);
    assert.equal(r.code, 0, r.stderr);

    const first = await weir(t, ["consume", name, "--group", "g1", "--max", "20"]);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(lines(first.stdout).length, 20);
    const second = await weir(t, ["consume", name, "--group", "g1"]);
    assert.equal(second.code, 0, second.stderr);
    assert.equal(lines(second.stdout).length, 30);
    assert.deepEqual([...lines(first.stdout), ...lines(second.stdout)].sort(), [...lines(text)].sort());
    const third = await weir(t, ["consume", name, "--group", "g1"]);
    assert.equal(third.code, 0, third.stderr);
    assert.equal(third.stdout, "");

    // More records: only they come out for g1; another group starts at the beginning.
    r = await weir(t, ["produce", name, "--key-field", "user"], '{"i":50,"user":"u1"}\n');
    assert.equal(r.code, 0, r.stderr);
    r = await weir(t, ["consume", name, "--group", "g1"]);
    assert.equal(r.stdout, '{"i":50,"user":"u1"}\n');
    r = await weir(t, ["consume", name, "--group", "g2"]);
    assert.equal(lines(r.stdout).length, 51);
  });

  test("produce --json rejects a bad line with its line number, like on the embedded log", async (t) => {
    if (kafka.url === undefined) return requireService(t, "Kafka", kafka.unavailable);
    const name = topicName("json");
    const input = '{"ok":1}\nthis is not json\n{"ok":2}\n{broken\n[1,2]\n';
    const onKafka = await weir(t, ["produce", name, "--json"], input);
    const embedded = await runCli(["produce", name, "--json", "--data-dir", tempDataDir(t)], { input });
    assert.equal(onKafka.code, 0, onKafka.stderr);
    const messages = (stderr: string) => lines(stderr).filter((l) => !l.includes("created topic"));
    assert.deepEqual(messages(onKafka.stderr), messages(embedded.stderr));
    assert.match(onKafka.stderr, /^weir: line 2: not valid JSON: /m);
    assert.match(onKafka.stderr, /^weir: line 4: not valid JSON: /m);
    assert.match(
      onKafka.stderr,
      new RegExp(`^weir: produced 3 records to ${name} \\(2 lines rejected\\)$`, "m"),
    );
    const r = await weir(t, ["consume", name]);
    assert.equal(r.stdout, '{"ok":1}\n{"ok":2}\n[1,2]\n');

    const bad = await weir(t, ["produce", name, "--json"], "a\nb\n");
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /no line of stdin was valid JSON/);
  });

  test("consume reads committed records only: aborted transactions are skipped, open ones not waited for", async (t) => {
    if (kafka.url === undefined) return requireService(t, "Kafka", kafka.unavailable);
    const name = topicName("txn");
    let r = await weir(t, ["topics", "create", name, "--partitions", "2"]);
    assert.equal(r.code, 0, r.stderr);
    const producer = new Producer({
      clientId: "weir-test",
      bootstrapBrokers: kafka.url.replace("kafka://", "").split(","),
      idempotent: true,
      transactionalId: `weir-test-${name}`,
      timeout: 60_000,
    });
    t.after(() => producer.close(true, () => {}));
    const batch = (tag: string, n: number) =>
      Array.from({ length: n }, (_, i) => ({
        topic: name,
        partition: i % 2,
        value: Buffer.from(JSON.stringify({ tag, i })),
      }));
    let tx = await producer.beginTransaction();
    await tx.send({ messages: batch("committed-1", 4) });
    await tx.commit();
    // Larger than one fetch response of a partition: its abort marker comes in a later response.
    tx = await producer.beginTransaction();
    // (in requests of 200 records: a broker takes batches of at most 1 MiB)
    for (let k = 0; k < 30; k++) await tx.send({ messages: batch("aborted".padEnd(2000, "!"), 200) });
    await tx.abort();
    tx = await producer.beginTransaction();
    await tx.send({ messages: batch("committed-2", 4) });
    await tx.commit();
    tx = await producer.beginTransaction();
    await tx.send({ messages: batch("open", 2) });

    r = await weir(t, ["consume", name]);
    assert.equal(r.code, 0, r.stderr);
    const tags = lines(r.stdout).map((l) => (JSON.parse(l) as { tag: string }).tag);
    assert.deepEqual(tags.filter((x) => x.startsWith("committed-1")).length, 4);
    assert.deepEqual(tags.filter((x) => x.startsWith("committed-2")).length, 4);
    assert.equal(tags.length, 8, `only committed records: ${[...new Set(tags)].join(", ")}`);

    await tx.commit();
    r = await weir(t, ["consume", name]);
    assert.equal(lines(r.stdout).length, 10);
  });

  test("consume --follow prints new records as they come and exits 0 on SIGINT", async (t) => {
    if (kafka.url === undefined) return requireService(t, "Kafka", kafka.unavailable);
    const name = topicName("follow");
    let r = await weir(t, ["produce", name], '{"n":1}\n');
    assert.equal(r.code, 0, r.stderr);
    const p = spawnCli(["consume", name, "--follow", "--group", "gf", "--broker", kafka.url], {
      timeoutMs: 90_000,
    });
    p.end();
    await p.waitForStdout((out) => out === '{"n":1}\n', 30_000);
    r = await weir(t, ["produce", name], '{"n":2}\n{"n":3}\n');
    assert.equal(r.code, 0, r.stderr);
    await p.waitForStdout((out) => lines(out).length === 3, 30_000);
    p.kill("SIGINT");
    const res = await p.exited;
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stderr, /stopped; committed offsets of group gf/);
    r = await weir(t, ["consume", name, "--group", "gf"]);
    assert.equal(r.stdout, "");
  });

  test("$WEIR_BROKER selects the cluster when --broker is absent", async (t) => {
    if (kafka.url === undefined) return requireService(t, "Kafka", kafka.unavailable);
    const name = topicName("env");
    const env = { WEIR_BROKER: kafka.url };
    const dataDir = tempDataDir(t);
    let r = await runCli(["produce", name, "--data-dir", dataDir], { input: '{"e":1}\n', env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /created topic \S+ on kafka:\/\//);
    r = await runCli(["consume", name, "--data-dir", dataDir], { env });
    assert.equal(r.stdout, '{"e":1}\n');
    r = await runCli(["topics", "list", "--data-dir", dataDir], { env });
    assert.ok(lines(r.stdout).includes(name));
    // Nothing went to the embedded log.
    r = await runCli(["topics", "list", "--data-dir", dataDir]);
    assert.equal(r.stdout, "");
  });
});

describe("weir CLI with a bad or unreachable --broker", () => {
  test("an unreachable broker is one line naming the cluster, exit 1, within 15 s", async (t) => {
    const dataDir = tempDataDir(t);
    const url = "kafka://127.0.0.1:1";
    const cases: Array<{ args: string[]; input?: string; action: RegExp }> = [
      { args: ["topics", "list"], action: /listing topics failed/ },
      { args: ["topics", "create", "x"], action: /listing topics failed/ },
      { args: ["topics", "describe", "x"], action: /listing topics failed/ },
      { args: ["produce", "x"], input: '{"a":1}\n', action: /listing topics failed/ },
      { args: ["consume", "x"], action: /listing topics failed/ },
    ];
    for (const { args, input, action } of cases) {
      const began = Date.now();
      const r = await runCli([...args, "--broker", url, "--data-dir", dataDir], { input });
      const seconds = (Date.now() - began) / 1000;
      const what = `weir ${args.join(" ")}`;
      assert.equal(r.code, 1, `${what}: ${r.stderr}`);
      assert.equal(lines(r.stderr).length, 1, `${what}: ${r.stderr}`);
      assert.match(r.stderr, /^weir: kafka kafka:\/\/127\.0\.0\.1:1: /, what);
      assert.match(r.stderr, action, what);
      assert.match(r.stderr, /ECONNREFUSED/, what);
      assert.ok(!hasStackTrace(r.stderr), `${what}: ${r.stderr}`);
      assert.ok(seconds < 15, `${what} took ${seconds} s`);
    }
  });

  test("a bad URL is a usage error (exit 2), from --broker or $WEIR_BROKER", async (t) => {
    const dataDir = tempDataDir(t);
    for (const args of [
      ["topics", "list"],
      ["consume", "x"],
      ["produce", "x"],
      ["topics", "create", "x"],
    ]) {
      const r = await runCli([...args, "--broker", "http://127.0.0.1:9092", "--data-dir", dataDir]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(
        r.stderr,
        /^weir: --broker http:\/\/127\.0\.0\.1:9092: expected kafka:\/\/host:port \(several brokers separated by commas\), e\.g\. kafka:\/\/127\.0\.0\.1:9092\n$/,
      );
    }
    let r = await runCli(["topics", "list", "--data-dir", dataDir], { env: { WEIR_BROKER: "localhost" } });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /^weir: WEIR_BROKER=localhost: expected kafka:\/\/host:port .*unset WEIR_BROKER/);
    assert.equal(lines(r.stderr).length, 1);
    r = await runCli(["consume", "x", "--broker", "", "--data-dir", dataDir]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /^weir: --broker needs a URL like kafka:\/\//);
    r = await runCli(["topics", "create", "x", "--replication-factor", "3", "--data-dir", dataDir]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /--replication-factor applies to topics on a Kafka cluster/);
  });
});
