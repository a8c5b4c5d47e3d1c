/**
 * The webhook sink example (examples/webhook/sink.ts) against a real HTTP server
 * (test/helpers/webhook-receiver.ts), run by run() on the embedded log: retries with backoff, one
 * idempotency key per record across retries and runs, dead letters for records refused or failing
 * every attempt. The sink contract's crash behaviour is test/runtime/sink-conformance.test.ts's.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { TestDriver, WeirError, pipeline, readTopic, run, schema, silentLogger } from "../../src/index.js";
import { paidUserWebhook } from "../../examples/webhook/pipeline.js";
import { webhookSink } from "../../examples/webhook/sink.js";
import { startReceiver } from "../helpers/webhook-receiver.js";
import { describeGraph, formatGraph } from "../../src/graph/graph.js";
import { nobroker } from "../../examples/nobroker/pipeline.js";
import { tempDir } from "../cli/helpers.js";

/** `n` interactions of user 1 and 2, a minute apart (paid_user fires for each at 9). */
function interactions(n: number): string {
  const lines: string[] = [];
  for (let i = 0; i < n; i++)
    for (const user of [1, 2])
      lines.push(
        JSON.stringify({
          user_id: user,
          property_id: 100 + i,
          date: `2021-11-30 00:${String(i).padStart(2, "0")}:00`,
          event: "contact",
        }),
      );
  return lines.join("\n") + "\n";
}

async function runOn(dir: string, definition: ReturnType<typeof paidUserWebhook>, lines: string) {
  const input = join(dir, "in.jsonl");
  writeFileSync(input, lines);
  return run(definition, { input, dataDir: join(dir, "data"), logger: silentLogger }).done;
}

async function topicValues(dir: string, topic: string): Promise<any[]> {
  const out: any[] = [];
  for await (const r of readTopic(topic, { dataDir: join(dir, "data") })) out.push(JSON.parse(r.value));
  return out;
}

test("webhook: each alert is POSTed as JSON with a stable Idempotency-Key; 503s are retried with growing backoff", async (t) => {
  const receiver = await startReceiver(t, { answer: (_k, _b, attempt) => (attempt <= 2 ? 503 : 200) });
  const delays: number[] = [];
  const definition = paidUserWebhook({
    url: receiver.url,
    backoffMs: 40,
    sleep: async (ms) => void delays.push(ms),
  });
  const dir = tempDir(t, "weir-webhook-");
  const summary = await runOn(dir, definition, interactions(10));
  assert.equal(summary.deadLetters, 0);
  const accepted = receiver.accepted();
  assert.deepEqual(
    [...accepted.values()].map((bodies) => bodies.map((b) => JSON.parse(b))),
    [[{ user: 1, interactions_count: 9 }], [{ user: 2, interactions_count: 9 }]],
  );
  // Three requests per record, all with its key: two 503s, then the accepted one.
  for (const key of accepted.keys()) {
    assert.deepEqual(
      receiver.requests.filter((r) => r.key === key).map((r) => r.status),
      [503, 503, 200],
    );
    assert.match(key, /^paid_user_webhook\/sink:webhook\/events\/0\/\d+\/0$/);
  }
  // Full jitter under a ceiling that doubles: 40 ms, then 80 ms.
  assert.equal(delays.length, 4);
  for (let i = 0; i < delays.length; i += 2) {
    assert.ok(delays[i] >= 0 && delays[i] <= 40, `first retry waits at most 40 ms, got ${delays[i]}`);
    assert.ok(
      delays[i + 1] >= 0 && delays[i + 1] <= 80,
      `second retry waits at most 80 ms, got ${delays[i + 1]}`,
    );
  }
  // The topic sink of the same stream is unaffected.
  assert.equal((await topicValues(dir, "paid_user")).length, 2);
});

test("webhook: a record refused (400) or failing every attempt becomes a dead letter with the reason; the run goes on", async (t) => {
  const receiver = await startReceiver(t, {
    answer: (_key, body) => {
      const alert = JSON.parse(body) as { user: number };
      return alert.user === 1 ? 400 : alert.user === 2 ? 503 : 200;
    },
  });
  const definition = paidUserWebhook({ url: receiver.url, maxAttempts: 3, sleep: async () => {} });
  const dir = tempDir(t, "weir-webhook-");
  const summary = await runOn(dir, definition, interactions(10));
  assert.equal(summary.deadLetters, 2);
  const dlq = await topicValues(dir, "paid_user_webhook.dlq");
  const reasons = dlq.map((d) => d.error as string).sort();
  assert.equal(reasons.length, 2);
  assert.match(
    reasons[0],
    /^sink webhook could not deliver the record: POST http:\/\/127\.0\.0\.1:\d+\/hook: HTTP 400 Bad Request \(not retried\)$/,
  );
  assert.match(
    reasons[1],
    /^sink webhook could not deliver the record: POST http:\/\/127\.0\.0\.1:\d+\/hook: HTTP 503 Service Unavailable after 3 attempts$/,
  );
  // The refused record was tried once, the failing one three times.
  const tries = new Map<number, number>();
  for (const r of receiver.requests) {
    const user = (JSON.parse(r.body) as { user: number }).user;
    tries.set(user, (tries.get(user) ?? 0) + 1);
  }
  assert.deepEqual(Object.fromEntries(tries), { 1: 1, 2: 3 });
  // A dead letter names the input record the alert came from.
  for (const d of dlq) assert.equal(d.topic, "events");
});

test("webhook: an unreachable endpoint is retried, then its records are dead letters naming the connection error", async (t) => {
  // A port nothing listens on: taken, then let go.
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const port = (probe.address() as AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  const closed = `http://127.0.0.1:${port}/hook`;
  const definition = paidUserWebhook({ url: closed, maxAttempts: 2, sleep: async () => {} });
  const dir = tempDir(t, "weir-webhook-");
  const summary = await runOn(dir, definition, interactions(10));
  assert.equal(summary.deadLetters, 2);
  for (const d of await topicValues(dir, "paid_user_webhook.dlq"))
    assert.equal(
      d.error,
      `sink webhook could not deliver the record: POST ${closed}: ECONNREFUSED after 2 attempts`,
    );
});

test("webhook: a second run over the same records sends the same idempotency keys", async (t) => {
  const receiver = await startReceiver(t);
  const lines = interactions(12);
  const keys: string[][] = [];
  for (let i = 0; i < 2; i++) {
    const dir = tempDir(t, "weir-webhook-");
    await runOn(dir, paidUserWebhook({ url: receiver.url }), lines);
    keys.push(
      receiver.requests
        .splice(0)
        .map((r) => r.key)
        .sort(),
    );
  }
  assert.equal(keys[0].length, 2);
  assert.deepEqual(keys[0], keys[1]);
});

test("sinkTo: the TestDriver shows what the sink is handed (value, key, event time, stable id); the sink is not opened", () => {
  const Sale = schema.object({ customer: schema.string(), amount: schema.number(), at: schema.timestamp() });
  let opened = 0;
  const def = pipeline("sales", (p) => {
    p.source("sales", { schema: Sale, eventTime: (s) => s.at })
      .filter((s) => s.amount > 10)
      .sinkTo(
        {
          name: "crm",
          open: () => {
            opened++;
            return { write: () => {} };
          },
        },
        { key: (s) => s.customer },
      );
  });
  const d = new TestDriver(def);
  d.send("sales", { customer: "a", amount: 5, at: "2026-01-01T00:00:00Z" });
  d.send("sales", { customer: "b", amount: 50, at: "2026-01-01T00:00:01Z" });
  d.end();
  assert.equal(opened, 0);
  assert.deepEqual(d.sinkRecords("sink:crm"), [
    {
      value: { customer: "b", amount: 50, at: new Date("2026-01-01T00:00:01Z") },
      key: "b",
      eventTime: Date.parse("2026-01-01T00:00:01Z"),
      id: "sales/sink:crm/sales/0/1/0",
    },
  ]);
});

test("sinkTo: what is not a sink is refused when the pipeline is built; a sink whose open() throws stops the run with the step named", async (t) => {
  assert.throws(
    () => pipeline("bad", (p) => p.source("x").sinkTo({ name: "nope" } as never)),
    (err: unknown) =>
      err instanceof WeirError &&
      err.code === "INVALID_PIPELINE" &&
      /sinkTo\(\) takes a sink/.test(err.message),
  );
  const broken = pipeline("broken", (p) =>
    p.source("x").sinkTo({
      name: "db",
      open: () => {
        throw new Error("connection refused");
      },
    }),
  );
  const dir = tempDir(t, "weir-sink-");
  writeFileSync(join(dir, "in.jsonl"), "{}\n");
  await assert.rejects(
    run(broken, { input: join(dir, "in.jsonl"), dataDir: join(dir, "data"), logger: silentLogger }).done,
    (err: unknown) =>
      err instanceof WeirError &&
      err.code === "SINK_FAILED" &&
      err.message === "broken: step sink:db: sink db's open() failed: connection refused",
  );
});

test("webhookSink: a url that is not http(s) is refused when the sink is made", () => {
  assert.throws(() => webhookSink({ url: "ftp://example.com/x" }), /the url must be http or https/);
  assert.throws(() => webhookSink({ url: "not a url" }), TypeError);
});

test("weir describe names a pipeline's sinks; a pipeline without sinkTo is described as before", () => {
  const d = describeGraph(paidUserWebhook({ url: "http://127.0.0.1:9/hook" }).graph);
  assert.deepEqual(d.sinks, ["webhook (sink:webhook)"]);
  assert.match(
    formatGraph(d),
    /\n {2}sink:webhook +to sink webhook <- map-1\n[^]*\nsinks: webhook \(sink:webhook\)$/,
  );
  assert.equal("sinks" in describeGraph(nobroker().graph), false);
});

test("sinkTo: open() is told the pipeline, step, task and a writer id of its own for every run", async (t) => {
  const contexts: Array<{ pipeline: string; step: string; task: number; writerId: string }> = [];
  const def = pipeline("ctx", (p) =>
    p.source("x").sinkTo({
      name: "probe",
      open: ({ pipeline, step, task, writerId }) => {
        contexts.push({ pipeline, step, task, writerId });
        return { write: () => {} };
      },
    }),
  );
  const dir = tempDir(t, "weir-sink-");
  writeFileSync(join(dir, "in.jsonl"), "{}\n");
  for (let i = 0; i < 2; i++)
    await run(def, {
      input: join(dir, "in.jsonl"),
      dataDir: join(dir, "data"),
      fromScratch: true,
      logger: silentLogger,
    }).done;
  assert.equal(contexts.length, 2);
  for (const c of contexts) {
    assert.deepEqual({ ...c, writerId: "" }, { pipeline: "ctx", step: "sink:probe", task: 0, writerId: "" });
    assert.match(c.writerId, /^ctx\.sink:probe\.0\.[0-9a-f]{12}$/);
  }
  assert.notEqual(contexts[0].writerId, contexts[1].writerId);
});
