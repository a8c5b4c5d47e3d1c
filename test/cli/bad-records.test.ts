/**
 * Issue 14: records that stopped a run, or were silently changed, on their way through `weir run`
 * and `weir produce` — a line of emoji, random bytes, a line over the maximum record size, bytes
 * that are not UTF-8. Each must end as a dead letter with its reason (or, in produce, be stored as
 * written or rejected by line number), the good lines around it processed, and the run exit 0 —
 * also when it restarts.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { EmbeddedLog } from "../../src/log/index.js";
import { lines, runCli, spawnCli, tempDataDir } from "./helpers.js";

const fromSources = import.meta.url.endsWith(".ts");
const sample = fileURLToPath(
  new URL(
    fromSources ? "../../examples/nobroker/sample.jsonl" : "../../../examples/nobroker/sample.jsonl",
    import.meta.url,
  ),
);
const SAMPLE = lines(readFileSync(sample, "utf8"));

const LOSSY = "raw has U+FFFD in place of the bytes that are not UTF-8";

interface DeadLetter {
  error: string;
  raw: string;
  topic: string;
  partition: number;
  offset: number;
}

async function consume(dir: string, topic: string): Promise<string[]> {
  const r = await runCli(["consume", topic, "--data-dir", dir]);
  assert.equal(r.code, 0, r.stderr);
  return lines(r.stdout);
}

async function deadLetters(dir: string, topic = "nobroker.dlq"): Promise<DeadLetter[]> {
  return (await consume(dir, topic)).map((l) => JSON.parse(l) as DeadLetter);
}

async function query(dir: string, sql: string): Promise<Array<Record<string, unknown>>> {
  const r = await runCli(["query", sql, "--format", "json", "--data-dir", dir]);
  assert.equal(r.code, 0, r.stderr);
  return lines(r.stdout).map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** A file next to the data directory. */
function file(dir: string, name: string, content: string | Buffer): string {
  const path = join(dirname(dir), name);
  writeFileSync(path, content);
  return path;
}

/** An event of the NoBroker schema (`event` as JSON text: it may hold escapes). */
function event(user: number, second: number, eventJson = '"Interaction"'): string {
  return `{"user_id":${user},"property_id":7,"date":"2021-11-30 00:00:${String(second).padStart(2, "0")}","event":${eventJson}}`;
}

/** Deterministic bytes (xorshift): what `head -c N /dev/urandom` gives, reproducibly. */
function randomBytes(n: number, seed = 0x9e3779b9): Buffer {
  const out = Buffer.allocUnsafe(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = s & 0xff;
  }
  return out;
}

test("poison pill: a line of emoji among good lines does not stop the run (issue 14)", async (t) => {
  const dir = tempDataDir(t);
  const emoji = "x" + "😀".repeat(12);
  const input = file(
    dir,
    "in.jsonl",
    [
      ...SAMPLE.slice(0, 10),
      emoji,
      event(90, 1, '"lone \\ud83d"'), // valid: a lone surrogate in a value, landed in the lake
      event(91, 2, '"nul \\u0000"'),
      ...SAMPLE.slice(10),
    ].join("\n") + "\n",
  );
  const r = await runCli(["run", "nobroker", "--input", input, "--data-dir", dir]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /28 records in, .*\(1 dead letters, \d+ late\)/);
  const [dl] = await deadLetters(dir);
  assert.equal(dl.raw, emoji);
  assert.equal(dl.offset, 10);
  assert.equal(dl.error, `invalid JSON: Unexpected token 'x', "x😀😀😀😀\ufffd"... is not valid JSON`);
  // The lake took the dead letter and the odd values (DuckDB refused them before).
  assert.deepEqual(await query(dir, 'SELECT error, raw, "offset" FROM nobroker_dead_letters'), [
    { error: dl.error, raw: emoji, offset: 10 },
  ]);
  assert.deepEqual(
    await query(dir, "SELECT user_id, event FROM interactions WHERE user_id >= 90 ORDER BY user_id"),
    [
      { user_id: 90, event: "lone \ufffd" },
      { user_id: 91, event: "nul \u0000" },
    ],
  );
  // The alerts are those of the sample alone.
  assert.deepEqual(await consume(dir, "paid_user"), ['{"user":1,"interactions_count":9}']);

  // A restart with more input (the same poison again) goes on.
  const more = file(dir, "more.jsonl", `${emoji}\n${event(92, 3)}\n`);
  const again = await runCli(["run", "nobroker", "--input", more, "--data-dir", dir]);
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual(
    (await query(dir, 'SELECT raw, "offset" FROM nobroker_dead_letters ORDER BY "offset"')).map((x) => [
      x.raw,
      x.offset,
    ]),
    [
      [emoji, 0],
      [emoji, 10],
    ],
  );
});

test("poison pill: 1 MiB of random bytes among good lines, kill -9 and restart: every line processed or a dead letter, outputs as in an uninterrupted run (issue 14)", async (t) => {
  const clean = tempDataDir(t);
  const killed = tempDataDir(t);
  const good: string[] = [];
  for (let i = 0; i < 60_000; i++)
    good.push(event(1 + (i % 400), i % 60, i % 10 === 0 ? '"View"' : undefined));
  const junk = randomBytes(1 << 20);
  const input = file(
    clean,
    "in.jsonl",
    Buffer.concat([
      Buffer.from(good.slice(0, 30_000).join("\n") + "\n"),
      junk,
      Buffer.from("\n" + good.slice(30_000).join("\n") + "\n"),
    ]),
  );
  const records = lines(readFileSync(input, "latin1")).filter((l) => !/^[ \t\r]*$/.test(l)).length;

  const r = await runCli(["run", "nobroker", "--input", input, "--data-dir", clean], { timeoutMs: 120_000 });
  assert.equal(r.code, 0, r.stderr);
  const expected = await deadLetters(clean);
  assert.ok(expected.length > 1000, `${expected.length} dead letters`);
  assert.ok(expected.every((d) => d.error.length > 0 && d.raw.isWellFormed()));
  assert.ok(expected.some((d) => /^invalid UTF-8 at byte \d+; raw has U\+FFFD/.test(d.error)));
  assert.match(r.stderr, new RegExp(`${records} records in`));
  const lake = await query(clean, "SELECT count(*)::INTEGER AS n FROM nobroker_dead_letters");
  assert.deepEqual(lake, [{ n: expected.length }]);

  // The same input, killed twice once checkpoints were written, then run to its end.
  const checkpoint = join(killed, "pipelines", "nobroker", "checkpoint.json");
  const sequence = (): number => {
    try {
      return (JSON.parse(readFileSync(checkpoint, "utf8")) as { sequence: number }).sequence;
    } catch {
      return 0;
    }
  };
  const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));
  let kills = 0;
  for (let attempt = 0; attempt < 6; attempt++) {
    const before = sequence();
    const p = spawnCli(
      ["run", "nobroker", "--input", input, "--data-dir", killed, "--checkpoint-interval", "20ms"],
      { timeoutMs: 120_000 },
    );
    p.end();
    let exited = false;
    void p.exited.then(() => (exited = true));
    if (kills < 2) {
      for (let i = 0; i < 6000 && !exited && sequence() < before + 2; i++) await sleep(5);
      p.kill("SIGKILL");
    }
    const res = await p.exited;
    if (res.signal === "SIGKILL") {
      kills++;
      continue;
    }
    assert.equal(res.code, 0, res.stderr);
    break;
  }
  assert.equal(kills, 2);
  assert.deepEqual(await deadLetters(killed), expected);
  for (const topic of ["paid_user", "property_status", "possible_broker"])
    assert.deepEqual(await consume(killed, topic), await consume(clean, topic), topic);
  assert.deepEqual(await query(killed, "SELECT count(*)::INTEGER AS n FROM nobroker_dead_letters"), lake);
});

test("a line over the maximum record size is a dead letter of a bounded run, and the good lines around it are processed (issue 14)", async (t) => {
  const dir = tempDataDir(t);
  const size = 33 * 1024 * 1024; // over 32 MiB
  const long = event(5, 5, `"${"y".repeat(size - event(5, 5, '""').length)}"`);
  assert.equal(long.length, size);
  const big = event(6, 6, `"${"z".repeat(10_000_000)}"`); // over the old 4 MiB: a record like any other
  const input = file(dir, "in.jsonl", [...SAMPLE.slice(0, 12), long, big, ...SAMPLE.slice(12)].join("\n"));
  const r = await runCli(["run", "nobroker", "--input", input, "--data-dir", dir], { timeoutMs: 120_000 });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /27 records in, .*\(1 dead letters, \d+ late\)/);
  const [dl] = await deadLetters(dir);
  assert.equal(
    dl.error,
    `record too large: ${size} bytes, over the limit of 33554432 bytes (32 MiB); raw holds its first 65536 bytes`,
  );
  assert.equal(dl.offset, 12);
  assert.equal(dl.raw, long.slice(0, 65536));
  assert.deepEqual(await consume(dir, "paid_user"), ['{"user":1,"interactions_count":9}']);
  assert.deepEqual(await query(dir, "SELECT length(event) AS n FROM interactions WHERE user_id = 6"), [
    { n: 10_000_000 },
  ]);

  // `weir produce` refuses the same line by its number and stores the others.
  const produced = await runCli(["produce", "events", "--file", input, "--data-dir", dir]);
  assert.equal(produced.code, 0, produced.stderr);
  assert.deepEqual(lines(produced.stderr).slice(-2), [
    `weir: line 13: ${size} bytes, over the maximum record size of 33554432 bytes (32 MiB); not produced`,
    "weir: produced 26 records to events (1 line over the maximum record size, not produced)",
  ]);
});

test("a line over the maximum record size in one of several input files is a dead letter, and the files go on (issue 14)", async (t) => {
  const dir = tempDataDir(t);
  const inputs = join(dirname(dir), "inputs");
  mkdirSync(inputs);
  const g = await runCli(["generate", "energy-weather", "--count", "200", "-o", inputs]);
  assert.equal(g.code, 0, g.stderr);
  const energy = lines(readFileSync(join(inputs, "energy.jsonl"), "utf8"));
  const long = `{"pad":"${"p".repeat(32 * 1024 * 1024)}"}`;
  writeFileSync(
    join(inputs, "energy.jsonl"),
    [...energy.slice(0, 50), long, ...energy.slice(50)].join("\n") + "\n",
  );
  const r = await runCli(["run", "energy-weather", "--input", inputs, "--data-dir", dir], {
    timeoutMs: 120_000,
  });
  assert.equal(r.code, 0, r.stderr);
  const dls = await deadLetters(dir, "energy-weather.dlq");
  const tooLarge = dls.filter((d) => d.error.startsWith("record too large"));
  assert.deepEqual(
    tooLarge.map((d) => [d.topic, d.offset, d.error]),
    [
      [
        "energy",
        50,
        `record too large: ${long.length} bytes, over the limit of 33554432 bytes (32 MiB); raw holds its first 65536 bytes`,
      ],
    ],
  );
});

test("bytes that are not UTF-8: produce stores them exactly as written, and a run makes a dead letter naming the byte, from a topic and from a file alike (issue 14)", async (t) => {
  const dir = tempDataDir(t);
  const fileRun = tempDataDir(t);
  // The event field holds a byte that is not UTF-8 inside it, and a sequence cut short.
  const badHead = event(3, 3, '"Inter').slice(0, -1);
  const badLine = Buffer.concat([Buffer.from(badHead), Buffer.from([0xff]), Buffer.from('action"}')]);
  const cutHead = event(4, 4, '"Int').slice(0, -1);
  const cut = Buffer.concat([Buffer.from(cutHead), Buffer.from([0xe2, 0x82]), Buffer.from('"}')]);
  const content = Buffer.concat([
    Buffer.from(SAMPLE.slice(0, 5).join("\n") + "\n"),
    badLine,
    Buffer.from("\r\n"),
    cut,
    Buffer.from("\n" + SAMPLE.slice(5).join("\n") + "\n"),
  ]);
  const input = file(dir, "in.jsonl", content);

  const produced = await runCli(["produce", "events", "--file", input, "--data-dir", dir]);
  assert.equal(produced.code, 0, produced.stderr);
  assert.match(produced.stderr, /produced 27 records to events \(2 not valid UTF-8, stored as written\)/);
  const log = EmbeddedLog.open(dir, { logger: () => {} });
  try {
    const reader = log.reader("events", 0, 0);
    const stored = reader.poll(100).map((rec) => Buffer.from(rec.value));
    reader.close();
    assert.deepEqual(stored[5], badLine);
    assert.deepEqual(stored[6], cut);
    assert.equal(stored.length, 27);
  } finally {
    log.close();
  }
  const strict = await runCli(["produce", "strict", "--json", "--file", input, "--data-dir", dir]);
  assert.equal(strict.code, 0, strict.stderr);
  assert.ok(
    strict.stderr.includes(`weir: line 6: not valid UTF-8 at byte ${badHead.length} (JSON text is UTF-8)`) &&
      strict.stderr.includes(`weir: line 7: not valid UTF-8 at byte ${cutHead.length} (JSON text is UTF-8)`),
    strict.stderr,
  );

  const live = await runCli(["run", "nobroker", "--until-end", "--data-dir", dir]);
  assert.equal(live.code, 0, live.stderr);
  const fromTopic = await deadLetters(dir);
  assert.deepEqual(
    fromTopic.map((d) => [d.offset, d.error, d.raw]),
    [
      [5, `invalid UTF-8 at byte ${badHead.length}; ${LOSSY}`, badLine.toString()],
      [6, `invalid UTF-8 at byte ${cutHead.length}; ${LOSSY}`, cut.toString()],
    ],
  );
  assert.ok(fromTopic[0].raw.includes("Inter\ufffdaction"));
  // Nothing with U+FFFD reached the lake.
  assert.deepEqual(
    await query(dir, "SELECT count(*)::INTEGER AS n FROM interactions WHERE event LIKE '%\ufffd%'"),
    [{ n: 0 }],
  );

  const r = await runCli(["run", "nobroker", "--input", input, "--data-dir", fileRun]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(await deadLetters(fileRun), fromTopic);
});
