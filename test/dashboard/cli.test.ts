/**
 * `weir dashboard` and `weir run --ui` as a user runs them: the URL printed, a clean stop on
 * SIGTERM, and one-line errors for a public address without a token and for a port in use.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { hasStackTrace, lines, runCli, spawnCli, tempDataDir } from "../cli/helpers.js";

const fromSources = import.meta.url.endsWith(".ts");
const sample = fileURLToPath(
  new URL(
    fromSources ? "../../examples/nobroker/sample.jsonl" : "../../../examples/nobroker/sample.jsonl",
    import.meta.url,
  ),
);
const NO_TOKEN = { WEIR_TOKEN: undefined };

test("weir dashboard --host 0.0.0.0 without a token: one line, no stack trace", async (t) => {
  const dir = tempDataDir(t);
  const r = await runCli(["dashboard", "--host", "0.0.0.0", "--port", "0", "--data-dir", dir], {
    env: NO_TOKEN,
  });
  assert.equal(r.code, 2, r.stderr);
  assert.equal(lines(r.stderr).length, 1, r.stderr);
  assert.equal(
    r.stderr,
    "weir: binding 0.0.0.0 requires --token (or $WEIR_TOKEN): anyone who can reach the port could read your data\n",
  );
  assert.ok(!hasStackTrace(r.stderr));
  assert.equal(r.stdout, "");
});

test("weir dashboard on a port in use: one line naming the port and --port", async (t) => {
  const dir = tempDataDir(t);
  const busy = createServer();
  await new Promise<void>((r) => busy.listen(0, "127.0.0.1", r));
  t.after(() => busy.close());
  const port = (busy.address() as { port: number }).port;
  const r = await runCli(["dashboard", "--port", String(port), "--data-dir", dir], { env: NO_TOKEN });
  assert.equal(r.code, 1, r.stderr);
  assert.equal(lines(r.stderr).length, 1, r.stderr);
  assert.match(r.stderr, new RegExp(`^weir: port ${port} on 127\\.0\\.0\\.1 is already in use.*--port`));
  assert.ok(!hasStackTrace(r.stderr));
});

test("weir dashboard prints its URL, serves the API and stops on SIGTERM with exit 0", async (t) => {
  const dir = tempDataDir(t);
  const p = spawnCli(["dashboard", "--port", "0", "--data-dir", dir], { env: NO_TOKEN });
  p.end();
  t.after(() => p.kill("SIGKILL"));
  await p.waitForStdout((out) => /^http:\/\/127\.0\.0\.1:\d+\/\n/.test(out), 20_000);
  const url = p.stdout.trim();
  await p.waitForStderr((err) => err.includes(`weir: dashboard at ${url} for `));
  const health = await fetch(new URL("/healthz", url));
  assert.equal(await health.text(), "ok\n");
  const pipelines = await fetch(new URL("/api/pipelines", url));
  assert.deepEqual(await pipelines.json(), []);
  const topics = await fetch(new URL("/api/topics", url));
  assert.deepEqual(await topics.json(), []);
  p.kill("SIGTERM");
  const r = await p.exited;
  assert.equal(r.code, 0, r.stderr);
});

test("weir run --ui (live) serves the running pipeline; SIGTERM stops both, exit 0", async (t) => {
  const dir = tempDataDir(t);
  assert.equal((await runCli(["produce", "events", "--file", sample, "--data-dir", dir])).code, 0);
  const p = spawnCli(["run", "nobroker", "--ui", "--port", "0", "--data-dir", dir], { env: NO_TOKEN });
  p.end();
  t.after(() => p.kill("SIGKILL"));
  await p.waitForStderr((err) => /weir: dashboard at http:\/\/127\.0\.0\.1:\d+\/\n/.test(err), 20_000);
  const url = /weir: dashboard at (\S+)\n/.exec(p.stderr)![1];
  const deadline = Date.now() + 15_000;
  let entry: any;
  while (Date.now() < deadline) {
    const list = (await (await fetch(new URL("/api/pipelines", url))).json()) as any[];
    entry = list.find((e) => e.pipeline === "nobroker");
    if (entry?.metrics.recordsIn === 25) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(entry?.state, "running");
  assert.equal(entry?.metrics.recordsIn, 25);
  assert.equal(entry?.instances[0].pid, p.child.pid);
  const metrics = await (await fetch(new URL("/metrics", url))).text();
  assert.match(metrics, /^weir_records_in_total\{pipeline="nobroker",step="source:events"\} 25$/m);
  p.kill("SIGTERM");
  const r = await p.exited;
  assert.equal(r.code, 0, r.stderr);
  await assert.rejects(fetch(new URL("/healthz", url)), "the server is closed with the run");
});

test("weir run --ui --input: the dashboard is closed at the end of the bounded run", async (t) => {
  const dir = tempDataDir(t);
  const r = await runCli(["run", "nobroker", "--input", sample, "--ui", "--port", "0", "--data-dir", dir], {
    env: NO_TOKEN,
  });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /^weir: dashboard at http:\/\/127\.0\.0\.1:\d+\/$/m);
  assert.match(r.stderr, /25 records in/);

  const bad = await runCli(["run", "nobroker", "--input", sample, "--port", "4041", "--data-dir", dir]);
  assert.equal(bad.code, 2, bad.stderr);
  assert.equal(bad.stderr, "weir: --port is the dashboard's port: give it with --ui\n");
});
