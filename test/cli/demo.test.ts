import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { lines, runCli, spawnCli, tempDataDir, tempDir } from "./helpers.js";

const ALERT = /^ALERT (paid_user|property_status|possible_broker) (\{.*\})$/;

describe("weir demo", () => {
  it("runs the NoBroker pipeline on generated events, printing alerts and stats, and exits 0", async (t) => {
    const dataDir = tempDataDir(t);
    const r = await runCli(
      [
        "demo",
        "--duration",
        "4s",
        "--rate",
        "60000/min",
        "--brokers",
        "5",
        "--seed",
        "1",
        "--data-dir",
        dataDir,
      ],
      { timeoutMs: 60_000 },
    );
    assert.equal(r.code, 0, r.stderr);
    const out = lines(r.stdout);
    const alerts = out.filter((l) => ALERT.test(l));
    assert.ok(alerts.length >= 1, r.stdout);
    for (const a of alerts) JSON.parse(ALERT.exec(a)![2]);
    const stats = out.filter((l) => l.startsWith("STATS "));
    assert.ok(stats.length >= 1, r.stdout);
    assert.match(
      stats[stats.length - 1],
      /^STATS final [\d.]+s \| events [\d,]+ \([\d,]+\/s\) \| alerts [\d,]+ \| latency .* \| state [\d,]+ \| dead letters [\d,]+ \| late [\d,]+ \| watermark lag .*$/,
    );
    const events = Number(/events ([\d,]+)/.exec(stats[stats.length - 1])![1].replace(/,/g, ""));
    assert.ok(events >= 3_000 && events <= 4_100, `${events} events in 4 s at 1000/s`);
    assert.match(r.stderr, /demo: stopped after/);

    // The pipeline checkpointed its outputs: the alert topics hold them.
    const paid = await runCli(["consume", "paid_user", "--data-dir", dataDir]);
    const status = await runCli(["consume", "property_status", "--data-dir", dataDir]);
    const broker = await runCli(["consume", "possible_broker", "--data-dir", dataDir]);
    const total = lines(paid.stdout).length + lines(status.stdout).length + lines(broker.stdout).length;
    const printed = Number(/alerts ([\d,]+)/.exec(stats[stats.length - 1])![1].replace(/,/g, ""));
    assert.equal(total, printed);
  });

  it("limits alert lines per second and counts the rest", async (t) => {
    const dataDir = tempDataDir(t);
    const r = await runCli(["demo", "--duration", "3s", "--max-alerts", "2", "--data-dir", dataDir], {
      timeoutMs: 60_000,
    });
    assert.equal(r.code, 0, r.stderr);
    const out = lines(r.stdout);
    const alerts = out.filter((l) => l.startsWith("ALERT "));
    assert.ok(alerts.length >= 1 && alerts.length <= 2 * 5, `${alerts.length} alert lines`);
    assert.ok(
      out.some((l) => /^\(\+[\d,]+ more alerts?\)$/.test(l)),
      r.stdout,
    );
  });

  it("stops on Ctrl-C with a final summary and exit 0", async (t) => {
    const dataDir = tempDataDir(t);
    const p = spawnCli(["demo", "--rate", "30000/min", "--data-dir", dataDir], { timeoutMs: 60_000 });
    p.end();
    await p.waitForStdout((s) => s.includes("ALERT "), 30_000);
    p.kill("SIGINT");
    const res = await p.exited;
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /^STATS final /m);
    // A second run resumes from the checkpoint in the same data directory.
    const again = await runCli(["demo", "--duration", "1s", "--data-dir", dataDir], { timeoutMs: 60_000 });
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /resumed from checkpoint/);
  });

  it("keeps its data in ./.weir-demo, not in ./.weir or $WEIR_DATA_DIR, and says where", async (t) => {
    const cwd = tempDir(t);
    const r = await runCli(["demo", "--duration", "1s", "--rate", "600/s"], {
      cwd,
      env: { WEIR_DATA_DIR: join(cwd, "pipelines-data") },
      timeoutMs: 60_000,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(existsSync(join(cwd, ".weir-demo", "topics")), "the demo's topics are in ./.weir-demo");
    assert.equal(existsSync(join(cwd, ".weir")), false, "./.weir is left to the user's pipelines");
    assert.equal(existsSync(join(cwd, "pipelines-data")), false, "$WEIR_DATA_DIR is left alone");
    assert.match(r.stderr, /in \S*\.weir-demo \(the demo's own data directory\)/);
    assert.match(r.stderr, /`weir consume possible_broker --data-dir \.weir-demo`/);
    // What it says works.
    const alerts = await runCli(["consume", "possible_broker", "--data-dir", ".weir-demo"], { cwd });
    assert.equal(alerts.code, 0, alerts.stderr);
  });

  it("leaves the README's next step alone: a bounded run afterwards starts fresh (item 9 of issue 13)", async (t) => {
    // npm start, then `weir generate nobroker --count N --output events.jsonl` and
    // `weir run nobroker --input events.jsonl` in the same directory, as the README has them.
    const cwd = tempDir(t);
    const demo = await runCli(["demo", "--duration", "2s", "--rate", "3000/s"], { cwd, timeoutMs: 60_000 });
    assert.equal(demo.code, 0, demo.stderr);
    const gen = await runCli(["generate", "nobroker", "--count", "5000", "--output", "events.jsonl"], {
      cwd,
    });
    assert.equal(gen.code, 0, gen.stderr);
    const afterDemo = await runCli(["run", "nobroker", "--input", "events.jsonl"], {
      cwd,
      timeoutMs: 60_000,
    });
    assert.equal(afterDemo.code, 0, afterDemo.stderr);
    const fresh = await runCli(["run", "nobroker", "--input", "events.jsonl", "--data-dir", "fresh"], {
      cwd,
      timeoutMs: 60_000,
    });
    assert.equal(fresh.code, 0, fresh.stderr);
    const summary = (stderr: string) =>
      /nobroker: (\d+ records in, \d+ out \(\d+ dead letters, \d+ late\))/.exec(stderr)?.[1];
    assert.ok(summary(fresh.stderr), fresh.stderr);
    assert.equal(
      summary(afterDemo.stderr),
      summary(fresh.stderr),
      "the same counts as in a fresh data directory",
    );
  });
});
