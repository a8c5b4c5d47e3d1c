/**
 * The dashboard's HTTP API against a real pipeline: NoBroker running live on the embedded log in
 * this process, records produced to `events`, and the server reading the same data directory.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EmbeddedLog } from "../../src/log/index.js";
import { Runner } from "../../src/runtime/runner.js";
import { nobroker } from "../../examples/nobroker/pipeline.js";
import { startDashboard } from "../../src/dashboard/server.js";
import type { PipelineEntry } from "../../src/dashboard/pipelines.js";

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), "weir-dashboard-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Poll `check` until it returns a value other than undefined/false, or fail after `ms`. */
async function until<T>(what: string, check: () => Promise<T | undefined | false>, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ""}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A response's JSON body, untyped (the tests check its shape). */
const j = (r: Response): Promise<any> => r.json();

const DAY = "2021-11-30";

/** `n` valid interactions: users 1..3 in turn, properties 1..2, one second apart from `from`. */
function interactions(n: number, from: number): Array<{ key: string; value: string }> {
  const out = [];
  for (let i = 0; i < n; i++) {
    const user = 1 + ((from + i) % 3);
    const s = String((from + i) % 60).padStart(2, "0");
    const m = String(Math.floor((from + i) / 60)).padStart(2, "0");
    out.push({
      key: String(user),
      value: JSON.stringify({
        user_id: user,
        property_id: 1 + ((from + i) % 2),
        date: `${DAY} 00:${m}:${s}`,
        event: "Interaction",
      }),
    });
  }
  return out;
}

const BAD_LINES = [
  "not json at all",
  `{"user_id":"seven","property_id":1,"date":"${DAY} 00:00:01","event":"Interaction"}`,
  `{"user_id":1}`,
];

test("the API serves a live pipeline: pipelines, metrics, topics, tables, SQL, dead letters, events", async (t) => {
  const dir = tempDir(t);
  const log = EmbeddedLog.open(dir, { logger: () => {} });
  log.createTopic("events", { partitions: 2 });
  const writer = log.writer("events");
  writer.append([...interactions(30, 0), ...BAD_LINES.map((value) => ({ key: null, value }))]);
  writer.flush();

  const runner = new Runner(nobroker(), { log, checkpointIntervalMs: 200, logger: () => {} });
  const running = runner.run();
  let stopped = false;
  const stopRunner = async () => {
    if (stopped) return;
    stopped = true;
    runner.stop();
    await running;
  };
  t.after(async () => {
    await stopRunner();
    writer.close();
    log.close();
  });

  const dash = await startDashboard({ dataDir: dir, port: 0, logger: () => {} });
  t.after(() => dash.close());
  assert.match(dash.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  assert.notEqual(dash.port, 0);
  const api = (path: string, init?: RequestInit) => fetch(new URL(path, dash.url), init);
  const json = async (path: string) => {
    const r = await api(path);
    assert.equal(r.status, 200, `${path}: ${await r.clone().text()}`);
    return r.json() as Promise<any>;
  };
  const step = (p: PipelineEntry, id: string) => p.metrics.steps.find((s) => s.id === id)!;
  const nobrokerEntry = async () =>
    ((await json("/api/pipelines")) as PipelineEntry[]).find((p) => p.pipeline === "nobroker");

  // --- pipelines: running, caught up with what was produced
  let p = await until("nobroker to have read 33 records", async () => {
    const e = await nobrokerEntry();
    return e !== undefined && step(e, "source:events")?.recordsIn === 33 ? e : undefined;
  });
  assert.equal(p.state, "running");
  assert.equal(p.engine, "embedded");
  assert.equal(p.instances.length, 1);
  assert.equal(p.instances[0].pid, process.pid);
  assert.equal(p.metrics.deadLetters, 3);
  assert.equal(step(p, "source:events").deadLetters, 3);
  assert.equal(step(p, "source:events").recordsOut, 30);
  assert.ok(p.graph.steps.some((s) => s.id === "source:events" && s.kind === "source"));
  assert.ok(p.graph.tables.includes("user_interactions"));

  // --- more records: the counters follow
  writer.append(interactions(12, 30));
  writer.flush();
  p = await until("recordsIn to rise to 45", async () => {
    const e = await nobrokerEntry();
    return e !== undefined && step(e, "source:events").recordsIn === 45 ? e : undefined;
  });
  assert.equal(p.metrics.recordsIn, 45);
  assert.equal(step(p, "interactions").recordsIn, 42);
  assert.equal(step(p, "user-interactions").stateSize, 3);

  // --- one pipeline with its history
  const detail = await until("a history of 2 samples", async () => {
    const d = await json("/api/pipelines/nobroker");
    return d.history.length >= 2 ? d : undefined;
  });
  assert.equal(detail.pipeline, "nobroker");
  const last = detail.history[detail.history.length - 1];
  for (const k of [
    "t",
    "recordsIn",
    "recordsOut",
    "inputRatePerSec",
    "outputRatePerSec",
    "p50",
    "p99",
    "deadLetters",
  ])
    assert.ok(k in last, `history sample has ${k}`);
  assert.ok(detail.history[0].t <= last.t);
  assert.equal((await api("/api/pipelines/nope")).status, 404);

  // --- overview
  const overview = await json("/api/overview");
  assert.equal(overview.dataDir, dir);
  assert.equal(overview.engine, "embedded");
  assert.equal(overview.broker, null);
  assert.equal(overview.version, "0.1.0");
  assert.ok(Math.abs(overview.now - Date.now()) < 5000);

  // --- Prometheus
  const metrics = await until("/metrics to show 45 records in", async () => {
    const r = await api("/metrics");
    const text = await r.text();
    return text.includes('weir_records_in_total{pipeline="nobroker",step="source:events"} 45')
      ? { r, text }
      : undefined;
  });
  assert.equal(metrics.r.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  assert.match(metrics.text, /^weir_dead_letters_total\{pipeline="nobroker",step="source:events"\} 3$/m);
  assert.match(metrics.text, /^weir_pipeline_up\{pipeline="nobroker"\} 1$/m);
  assert.match(metrics.text, /^# TYPE weir_event_output_latency_seconds histogram$/m);
  const count = /^weir_event_output_latency_seconds_count\{pipeline="nobroker"\} (\d+)$/m.exec(metrics.text);
  const inf = /^weir_event_output_latency_seconds_bucket\{pipeline="nobroker",le="\+Inf"\} (\d+)$/m.exec(
    metrics.text,
  );
  assert.ok(
    count && inf && count[1] === inf[1] && Number(count[1]) > 0,
    "histogram +Inf bucket equals _count",
  );

  // --- topics
  const topics = await json("/api/topics");
  const events = topics.find((x: any) => x.name === "events");
  assert.deepEqual(
    { ...events, bytes: typeof events.bytes, ratePerSec: typeof events.ratePerSec },
    {
      name: "events",
      partitions: 2,
      records: 45,
      bytes: "number",
      ratePerSec: "number",
    },
  );
  assert.ok(events.bytes > 0);
  assert.ok(topics.some((x: any) => x.name === "nobroker.dlq" && x.records === 3));

  const latest = await json("/api/topics/events/records?limit=5");
  assert.equal(latest.length, 5);
  for (let i = 1; i < latest.length; i++)
    assert.ok(latest[i - 1].timestamp >= latest[i].timestamp, "newest first");
  assert.equal(typeof latest[0].value, "object"); // parsed JSON
  const user2 = await json("/api/topics/events/records?key=2&limit=500");
  assert.equal(user2.length, 14); // users 1..3 in turn over 42 valid records
  assert.ok(user2.every((r: any) => r.key === "2" && r.value.user_id === 2));
  const bad = (await json("/api/topics/events/records?limit=500")).filter(
    (r: any) => typeof r.value === "string",
  );
  assert.deepEqual(
    bad.map((r: any) => r.value),
    ["not json at all"],
  );
  const onlyP1 = await json("/api/topics/events/records?partition=1&limit=500");
  assert.ok(onlyP1.length > 0 && onlyP1.every((r: any) => r.partition === 1));
  const missing = await api("/api/topics/no-such-topic/records");
  assert.equal(missing.status, 404);
  assert.match((await j(missing)).error, /unknown topic "no-such-topic"/);
  assert.equal((await api("/api/topics/events/records?limit=zero")).status, 400);
  assert.equal((await api("/api/topics/events/records?partition=7")).status, 400);

  // --- tables (written at every batch; user 1 has 14 interactions, 3 versions kept)
  const tables = await until("the tables", async () => {
    const list = await json("/api/tables");
    const ui = list.find((x: any) => x.name === "user_interactions");
    return ui?.keys === 3 ? list : undefined;
  });
  assert.deepEqual(
    tables.find((x: any) => x.name === "user_interactions"),
    { name: "user_interactions", versions: 3, keys: 3 },
  );
  const key1 = await until("3 versions of key 1", async () => {
    const r = await json("/api/tables/user_interactions?key=1");
    return r.rows.length === 3 && r.rows[0].value.interactions_count === 14 ? r : undefined;
  });
  assert.equal(key1.table, "user_interactions");
  assert.deepEqual(
    key1.rows.map((r: any) => [r.key, r.version, r.value.interactions_count]),
    [
      ["1", 14, 14],
      ["1", 13, 13],
      ["1", 12, 12],
    ],
  );
  assert.equal(typeof key1.rows[0].updatedAt, "number");
  const latestKeys = await json("/api/tables/user_interactions");
  assert.deepEqual(latestKeys.rows.map((r: any) => r.key).sort(), ["1", "2", "3"]);
  assert.equal((await api("/api/tables/nope")).status, 404);

  // --- SQL over the lake (published at checkpoints) and the tables
  const sql = (body: unknown) =>
    api("/api/sql", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  const counted = await until("the lake to hold 42 interactions", async () => {
    const r = await sql({ sql: "select count(*) as n, max(user_id) as top from interactions" });
    const body = await j(r);
    return r.status === 200 && body.rows[0][0] === 42 ? body : undefined;
  });
  assert.deepEqual(counted.columns, [
    { name: "n", type: "BIGINT" },
    { name: "top", type: "BIGINT" },
  ]);
  assert.deepEqual(counted.rows, [[42, 3]]);
  assert.equal(counted.truncated, false);
  assert.equal(typeof counted.elapsedMs, "number");
  const fromTable = await j(
    await sql({ sql: "select key, version, event_time from user_interactions_latest order by key" }),
  );
  assert.deepEqual(
    fromTable.rows.map((r: any[]) => r.slice(0, 2)),
    [
      ["1", 14],
      ["2", 14],
      ["3", 14],
    ],
  );
  assert.match(fromTable.rows[0][2], /^2021-11-30T00:00:\d\d\.000Z$/);
  const many = await j(await sql({ sql: "select * from range(5000)" }));
  assert.equal(many.rows.length, 1000);
  assert.equal(many.truncated, true);
  const badSql = await sql({ sql: "selec nothing" });
  assert.equal(badSql.status, 400);
  const badBody = await j(badSql);
  assert.match(badBody.error, /syntax error/i);
  assert.ok(!badBody.error.includes("\n"));
  assert.equal((await sql({ sql: "select * from no_such_view" })).status, 400);
  assert.equal((await sql({ sql: "copy (select 1) to '/tmp/x.csv'" })).status, 400);
  assert.equal((await sql({ sql: "select * from read_text('/etc/hostname')" })).status, 400);
  assert.equal((await sql({ nope: 1 })).status, 400);
  const tooBig = await sql({ sql: `select '${"x".repeat(70_000)}'` });
  assert.equal(tooBig.status, 413);
  const plain = await api("/api/sql", { method: "POST", body: JSON.stringify({ sql: "select 1" }) });
  assert.equal(plain.status, 400, "not JSON content: refused");
  assert.equal((await api("/api/sql")).status, 405);

  // --- dead letters, with their reasons
  const dlq = await json("/api/dead-letters?pipeline=nobroker");
  assert.equal(dlq.length, 3);
  assert.deepEqual(dlq.map((d: any) => d.raw).sort(), [...BAD_LINES].sort());
  for (const d of dlq) {
    assert.equal(d.pipeline, "nobroker");
    assert.equal(typeof d.error, "string");
    assert.ok(d.error.length > 0);
    assert.equal(d.source.topic, "events");
    assert.equal(typeof d.source.offset, "number");
  }
  assert.ok(
    dlq.some((d: any) => /JSON/i.test(d.error)),
    JSON.stringify(dlq),
  );
  assert.equal((await json("/api/dead-letters?limit=2")).length, 2);
  assert.equal((await api("/api/dead-letters?pipeline=ghost")).status, 404);

  // --- server-sent events: the pipelines once a second
  const ac = new AbortController();
  const sse = await api("/api/events", { signal: ac.signal });
  assert.equal(sse.status, 200);
  assert.match(sse.headers.get("content-type")!, /^text\/event-stream/);
  const reader = sse.body!.getReader();
  const decoder = new TextDecoder();
  let text = "";
  const got: PipelineEntry[][] = [];
  const sseDeadline = Date.now() + 5000;
  while (got.length < 2 && Date.now() < sseDeadline) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
    let end;
    while ((end = text.indexOf("\n\n")) >= 0) {
      const block = text.slice(0, end);
      text = text.slice(end + 2);
      if (block.startsWith("event: pipelines\n"))
        got.push(JSON.parse(block.slice(block.indexOf("data: ") + 6)));
    }
  }
  ac.abort();
  assert.equal(got.length, 2);
  assert.equal(got[1].find((x) => x.pipeline === "nobroker")?.state, "running");

  // --- unknown endpoint, and a stopped pipeline
  assert.equal((await api("/api/nothing")).status, 404);
  await stopRunner();
  const stoppedEntry = await nobrokerEntry();
  assert.equal(stoppedEntry?.state, "stopped");
  assert.match(await (await api("/metrics")).text(), /^weir_pipeline_up\{pipeline="nobroker"\} 0$/m);
});

test("with a token, requests need it: Bearer header, or ?token= once (then a cookie)", async (t) => {
  const dir = tempDir(t);
  const dash = await startDashboard({ dataDir: dir, port: 0, token: "s3cret", logger: () => {} });
  t.after(() => dash.close());
  const url = (p: string) => new URL(p, dash.url);

  const none = await fetch(url("/api/pipelines"));
  assert.equal(none.status, 401);
  assert.match((await j(none)).error, /token/);
  assert.equal((await fetch(url("/metrics"))).status, 401);
  assert.equal(
    (await fetch(url("/api/pipelines"), { headers: { authorization: "Bearer wrong" } })).status,
    401,
  );
  const ok = await fetch(url("/api/pipelines"), { headers: { authorization: "Bearer s3cret" } });
  assert.equal(ok.status, 200);
  assert.deepEqual(await j(ok), []);
  assert.equal((await fetch(url("/metrics"), { headers: { authorization: "Bearer s3cret" } })).status, 200);

  const viaQuery = await fetch(url("/api/topics?token=s3cret"));
  assert.equal(viaQuery.status, 200);
  const cookie = viaQuery.headers.get("set-cookie")!;
  assert.match(cookie, /^weir_token=s3cret; HttpOnly; SameSite=Strict; Path=\//);
  const page = await fetch(url("/?token=s3cret"), { redirect: "manual" });
  assert.equal(page.status, 303);
  assert.equal(page.headers.get("location"), "/");
  const withCookie = await fetch(url("/api/overview"), { headers: { cookie: cookie.split(";")[0] } });
  assert.equal(withCookie.status, 200);
  assert.equal((await fetch(url("/healthz"))).status, 200);
});

test("binding a public address without a token is refused; the front end's files are served", async (t) => {
  const dir = tempDir(t);
  await assert.rejects(startDashboard({ dataDir: dir, host: "0.0.0.0", port: 0 }), (err: Error) => {
    assert.equal(
      err.message,
      "binding 0.0.0.0 requires --token (or $WEIR_TOKEN): anyone who can reach the port could read your data",
    );
    return true;
  });

  const web = join(dir, "web");
  const unbuilt = await startDashboard({ dataDir: dir, port: 0, webDir: web, logger: () => {} });
  try {
    const r = await fetch(unbuilt.url);
    assert.equal(r.status, 503);
    assert.match(await r.text(), /front end is not built.*npm run build/);
    assert.equal((await fetch(new URL("/healthz", unbuilt.url))).status, 200);
  } finally {
    await unbuilt.close();
  }

  mkdirSync(join(web, "assets"), { recursive: true });
  writeFileSync(join(web, "index.html"), "<!doctype html><title>weir</title>");
  writeFileSync(join(web, "assets", "app.js"), "console.log(1)");
  writeFileSync(join(dir, "secret.txt"), "no");
  const dash = await startDashboard({ dataDir: dir, port: 0, webDir: web, logger: () => {} });
  t.after(() => dash.close());
  const get = (p: string) => fetch(new URL(p, dash.url));
  const index = await get("/");
  assert.equal(index.status, 200);
  assert.equal(index.headers.get("content-type"), "text/html; charset=utf-8");
  assert.match(await index.text(), /<title>weir<\/title>/);
  const js = await get("/assets/app.js");
  assert.equal(js.headers.get("content-type"), "text/javascript; charset=utf-8");
  assert.equal(await js.text(), "console.log(1)");
  assert.equal((await get("/pipelines/nobroker")).status, 200, "the front end's routes get index.html");
  assert.equal((await get("/missing.css")).status, 404);
  // Raw requests: fetch would normalise these paths and headers.
  const { request } = await import("node:http");
  const raw = (path: string, headers: Record<string, string> = {}) =>
    new Promise<number>((resolve, reject) => {
      const req = request({ host: "127.0.0.1", port: dash.port, path, headers }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      });
      req.on("error", reject);
      req.end();
    });
  assert.equal(await raw("/..%2fsecret.txt"), 404);
  assert.equal(await raw("/assets/..%2f..%2fsecret.txt"), 404);
  assert.equal(await raw("/assets/app.js"), 200);
  // A page of another site whose name resolves to 127.0.0.1 (DNS rebinding) is refused.
  assert.equal(await raw("/api/overview", { host: "evil.example:80" }), 403);
  assert.equal(await raw("/api/overview", { host: `localhost:${dash.port}` }), 200);
});
