import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { hasStackTrace, lines, runCli, spawnCli, tempDataDir, tempDir } from "./helpers.js";

describe("weir generate", () => {
  it("writes --count lines to a file; the same seed gives the same file", async (t) => {
    const dir = tempDir(t);
    const a = join(dir, "a.jsonl");
    const b = join(dir, "b.jsonl");
    const c = join(dir, "c.jsonl");
    const r = await runCli(["generate", "nobroker", "--count", "2000", "--output", a]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /wrote 2,000 nobroker lines to .*a\.jsonl/);
    const text = readFileSync(a, "utf8");
    const all = lines(text);
    assert.equal(all.length, 2000);
    assert.ok(text.endsWith("\n"));
    assert.match(all[0], /^\{"user_id":\d+,"property_id":\d+,"date":"2021-11-30 00:00:00","event":"\w+"\}$/);

    assert.equal((await runCli(["generate", "nobroker", "--count", "2000", "--output", b])).code, 0);
    assert.equal(readFileSync(b, "utf8"), text, "the default seed is fixed");
    assert.equal(
      (await runCli(["generate", "nobroker", "--count", "2000", "--seed", "99", "--output", c])).code,
      0,
    );
    assert.notEqual(readFileSync(c, "utf8"), text);
    const again = join(dir, "c2.jsonl");
    assert.equal((await runCli(["generate", "nobroker", "-n", "2000", "--seed", "99", "-o", again])).code, 0);
    assert.equal(readFileSync(again, "utf8"), readFileSync(c, "utf8"));
  });

  it("writes to stdout with --output -", async () => {
    const r = await runCli(["generate", "nobroker", "--count", "25", "--output", "-", "--quiet"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, "");
    const out = lines(r.stdout);
    assert.equal(out.length, 25);
  });

  it("spaces event times by --rate and starts at --start; --duration bounds a file", async () => {
    const r = await runCli([
      "generate",
      "nobroker",
      "--rate",
      "60/min",
      "--duration",
      "10s",
      "--start",
      "2024-01-01 12:00:00",
      "--output",
      "-",
      "--quiet",
    ]);
    assert.equal(r.code, 0, r.stderr);
    const out = lines(r.stdout);
    assert.equal(out.length, 10);
    const first = JSON.parse(out.find((l) => l.startsWith("{") && l.endsWith("}"))!) as { date: string };
    assert.match(first.date, /^2024-01-01 12:00:0\d$/);
    assert.match(out[9], /2024-01-01 12:00:09/);
  });

  it("rejects an unknown scenario with one line naming the known ones", async () => {
    const r = await runCli(["generate", "snapchat"]);
    assert.notEqual(r.code, 0);
    assert.equal(lines(r.stderr).length, 1, r.stderr);
    assert.match(r.stderr, /^weir: unknown scenario "snapchat"; known scenario.*: nobroker\b.*\btiktok\b/);
    assert.ok(!hasStackTrace(r.stderr));
  });

  it("reports bad flags in one line", async (t) => {
    const dir = tempDir(t);
    const cases: string[][] = [
      ["generate", "nobroker", "--rate", "fast", "--output", "-"],
      ["generate", "nobroker", "--count", "0", "--output", "-"],
      ["generate", "nobroker", "--duration", "soon", "--output", "-"],
      ["generate", "nobroker", "--output", join(dir, "x"), "--topic", "t"],
      ["generate", "nobroker", "--users", "3", "--brokers", "5", "--output", "-"],
      ["generate", "nobroker", "--start", "yesterday", "--output", "-"],
      ["generate", "nobroker", "--count", "5", "--output", join(dir, "no", "such", "dir", "f.jsonl")],
    ];
    for (const args of cases) {
      const r = await runCli(args);
      assert.notEqual(r.code, 0, args.join(" "));
      assert.equal(lines(r.stderr).length, 1, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, /^weir: /);
      assert.ok(!hasStackTrace(r.stderr), r.stderr);
      assert.equal(r.stdout, "");
    }
  });

  it("appends --count events to topic events, paced, keyed by user", async (t) => {
    const dataDir = tempDataDir(t);
    const started = Date.now();
    const r = await runCli([
      "generate",
      "nobroker",
      "--count",
      "500",
      "--rate",
      "100000/min",
      "--data-dir",
      dataDir,
    ]);
    assert.equal(r.code, 0, r.stderr);
    // 500 events at 100000/min take about 0.3 s.
    assert.match(r.stderr, /appended 500 nobroker events to topic events/);
    const c = await runCli(["consume", "events", "--data-dir", dataDir]);
    assert.equal(c.code, 0, c.stderr);
    const out = lines(c.stdout);
    assert.equal(out.length, 500);
    // Event time starts at the wall clock.
    const first = out.map((l) => /"date":"([^"]+)"/.exec(l)?.[1]).find((d) => d !== undefined)!;
    const t0 = Date.parse(first.replace(" ", "T") + "Z");
    assert.ok(Math.abs(t0 - started) < 60_000, `first event at ${first}`);
  });

  it("appends to another topic with --topic and --partitions", async (t) => {
    const dataDir = tempDataDir(t);
    const r = await runCli([
      "generate",
      "nobroker",
      "--count",
      "300",
      "--rate",
      "60000/min",
      "--topic",
      "raw",
      "--partitions",
      "3",
      "--data-dir",
      dataDir,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const d = await runCli(["topics", "describe", "raw", "--json", "--data-dir", dataDir]);
    assert.equal(d.code, 0, d.stderr);
    const desc = JSON.parse(d.stdout) as { partitions: { endOffset: number }[] };
    assert.equal(desc.partitions.length, 3);
    assert.equal(
      desc.partitions.reduce((a, p) => a + p.endOffset, 0),
      300,
    );
  });

  it("stops cleanly on SIGINT, keeping what it wrote", async (t) => {
    const dataDir = tempDataDir(t);
    const p = spawnCli([
      "generate",
      "nobroker",
      "--rate",
      "1000/s",
      "--duration",
      "60s",
      "--data-dir",
      dataDir,
    ]);
    p.end();
    await p.waitForStderr((s) => s.includes("Ctrl-C to stop"), 15_000);
    await new Promise((r) => setTimeout(r, 500));
    p.kill("SIGINT");
    const res = await p.exited;
    assert.equal(res.code, 0, res.stderr);
    const m = /appended ([\d,]+) nobroker events/.exec(res.stderr);
    assert.ok(m, res.stderr);
    const n = Number(m[1].replace(/,/g, ""));
    assert.ok(n > 0 && n < 60_000, `${n} events`);
    const c = await runCli(["consume", "events", "--data-dir", dataDir]);
    assert.equal(lines(c.stdout).length, n);
  });
});
