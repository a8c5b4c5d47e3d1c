/**
 * `weir run` and `weir describe` as a user runs them: built-in example, a user's TypeScript module,
 * and one-line errors for mistakes.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { hasStackTrace, lines, runCli, spawnCli, tempDataDir } from "./helpers.js";

const fromSources = import.meta.url.endsWith(".ts");
const sample = fileURLToPath(
  new URL(
    fromSources ? "../../examples/nobroker/sample.jsonl" : "../../../examples/nobroker/sample.jsonl",
    import.meta.url,
  ),
);

test("weir run nobroker --input FILE runs bounded, exits 0, and the alert topics hold the seed's answers", async (t) => {
  const dir = tempDataDir(t);
  const r = await runCli(["run", "nobroker", "--input", sample, "--data-dir", dir]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /25 records in/);
  const consume = async (topic: string) =>
    lines((await runCli(["consume", topic, "--data-dir", dir])).stdout);
  assert.deepEqual(await consume("paid_user"), ['{"user":1,"interactions_count":9}']);
  assert.deepEqual(await consume("property_status"), ['{"property":1,"property_interactions_count":6}']);
  assert.deepEqual(await consume("possible_broker"), [
    '{"window_start":"2021-11-30T00:00:00.000Z","window_end":"2021-11-30T00:01:00.000Z","user_id":1,"threat_user_interactions":11}',
  ]);
  assert.deepEqual(await consume("nobroker.dlq"), []);
});

test("example options: --emit changes gives the seed's own output", async (t) => {
  const dir = tempDataDir(t);
  const r = await runCli(["run", "nobroker", "--input", sample, "--emit", "changes", "--data-dir", dir]);
  assert.equal(r.code, 0, r.stderr);
  const paid = lines((await runCli(["consume", "paid_user", "--data-dir", dir])).stdout);
  assert.equal(paid.length, 15);
  assert.equal(paid[14], '{"user":1,"interactions_count":23}');
});

test("weir run on a live topic with --until-end reads what was produced, then stops", async (t) => {
  const dir = tempDataDir(t);
  assert.equal((await runCli(["produce", "events", "--file", sample, "--data-dir", dir])).code, 0);
  const r = await runCli(["run", "nobroker", "--until-end", "--data-dir", dir]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(lines((await runCli(["consume", "paid_user", "--data-dir", dir])).stdout), [
    '{"user":1,"interactions_count":9}',
  ]);
});

test("a user's TypeScript pipeline module runs, with dead letters for bad lines", async (t) => {
  const dir = tempDataDir(t);
  const work = dirname(dir);
  const api = fileURLToPath(
    new URL(fromSources ? "../../src/index.ts" : "../../src/index.js", import.meta.url),
  );
  const file = join(work, "big-spenders.ts");
  writeFileSync(
    file,
    `import { pipeline, schema } from ${JSON.stringify(api)};
const Sale = schema.object({ customer: schema.string(), amount: schema.number() });
export default pipeline("spenders", (p) => {
  p.source("sales", { schema: Sale })
    .keyBy((s) => s.customer)
    .sum((s) => s.amount)
    .when((total: number) => total >= 100)
    .map(({ key, value }) => ({ customer: key, total: value }))
    .to("big_spenders");
});
`,
  );
  const input = join(work, "sales.jsonl");
  writeFileSync(
    input,
    [
      '{"customer":"ann","amount":60}',
      '{"customer":"bob","amount":10}',
      "oops",
      '{"customer":"ann","amount":50}',
    ].join("\n") + "\n",
  );
  const r = await runCli(["run", file, "--input", input, "--data-dir", dir]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(lines((await runCli(["consume", "big_spenders", "--data-dir", dir])).stdout), [
    '{"customer":"ann","total":110}',
  ]);
  const dlq = lines((await runCli(["consume", "spenders.dlq", "--data-dir", dir])).stdout).map((l) =>
    JSON.parse(l),
  );
  assert.equal(dlq.length, 1);
  assert.equal(dlq[0].raw, "oops");
  assert.equal(dlq[0].offset, 2);
  assert.match(dlq[0].error, /^invalid JSON/);

  const d = await runCli(["describe", file]);
  assert.equal(d.code, 0, d.stderr);
  assert.match(d.stdout, /pipeline spenders/);
  assert.match(d.stdout, /to:big_spenders/);
});

test("weir describe nobroker prints every step with its stable id", async () => {
  const r = await runCli(["describe", "nobroker"]);
  assert.equal(r.code, 0, r.stderr);
  for (const id of [
    "source:events",
    "interactions",
    "by-user",
    "user-interactions",
    "paid-user-rule",
    "possible-broker-rule",
    "to:possible_broker",
  ]) {
    assert.match(r.stdout, new RegExp(`\\b${id.replace(/[:-]/g, "\\$&")}\\b`));
  }
  const json = JSON.parse((await runCli(["describe", "nobroker", "--json"])).stdout);
  assert.deepEqual(json.outputs, [
    "paid_user",
    "property_status",
    "possible_broker",
    "nobroker.dlq",
    "nobroker.late",
  ]);
});

test("mistakes get one clear line and a non-zero exit, never a stack trace", async (t) => {
  const dir = tempDataDir(t);
  const cases: Array<[string[], RegExp]> = [
    [["run", "no-such-pipeline"], /no pipeline file .* and no built-in example named "no-such-pipeline"/],
    [
      ["run", "nobroker", "--emit", "sometimes", "--input", sample],
      /--emit must be crossing, changes or final/,
    ],
    [["run", "nobroker", "--bogus", "1"], /unknown option --bogus for nobroker/],
    [["run", "nobroker", "--input", "/no/such/file.jsonl"], /cannot read input file/],
  ];
  for (const [args, message] of cases) {
    const r = await runCli([...args, "--data-dir", dir]);
    assert.notEqual(r.code, 0, args.join(" "));
    assert.match(r.stderr, message);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.ok(!hasStackTrace(r.stderr), r.stderr);
  }
});

test("a live run picks up produced events, and SIGTERM checkpoints and exits 0", async (t) => {
  const dir = tempDataDir(t);
  const p = spawnCli(["run", "nobroker", "--data-dir", dir]);
  p.end();
  await p.waitForStderr((s) => /running on events/.test(s), 20_000);
  const produced = await runCli(["produce", "events", "--file", sample, "--data-dir", dir]);
  assert.equal(produced.code, 0, produced.stderr);
  let paid: string[] = [];
  for (let i = 0; i < 200 && paid.length === 0; i++) {
    await new Promise((r) => setTimeout(r, 50));
    paid = lines((await runCli(["consume", "paid_user", "--data-dir", dir])).stdout);
  }
  assert.deepEqual(paid, ['{"user":1,"interactions_count":9}']);
  p.kill("SIGTERM");
  const res = await p.exited;
  assert.equal(res.code, 0, res.stderr);
  const cp = JSON.parse(readFileSync(join(dir, "pipelines", "nobroker", "checkpoint.json"), "utf8"));
  assert.deepEqual(cp.inputs, { events: { "0": 25 } });
  // A restart resumes there: nothing is processed twice.
  const again = await runCli(["run", "nobroker", "--until-end", "--data-dir", dir]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, /0 records in/);
  assert.deepEqual(lines((await runCli(["consume", "paid_user", "--data-dir", dir])).stdout), paid);
});

/** The sample with every date moved a day later: the same events, after the first file's. */
function nextDay(file: string): string {
  const out = join(dirname(file), "next-day.jsonl");
  writeFileSync(out, readFileSync(sample, "utf8").replaceAll("2021-11-30", "2021-12-01"));
  return out;
}

test("a second bounded file continues the pipeline's state: new windows fire, counts go on (issue 13)", async (t) => {
  const dir = tempDataDir(t);
  assert.equal((await runCli(["run", "nobroker", "--input", sample, "--data-dir", dir])).code, 0);
  const r = await runCli(["run", "nobroker", "--input", nextDay(dir), "--data-dir", dir]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /25 records in, \d+ out \(0 dead letters, 0 late\)/);
  const consume = async (topic: string) =>
    lines((await runCli(["consume", topic, "--data-dir", dir])).stdout);
  assert.deepEqual(await consume("possible_broker"), [
    '{"window_start":"2021-11-30T00:00:00.000Z","window_end":"2021-11-30T00:01:00.000Z","user_id":1,"threat_user_interactions":11}',
    '{"window_start":"2021-12-01T00:00:00.000Z","window_end":"2021-12-01T00:01:00.000Z","user_id":1,"threat_user_interactions":11}',
  ]);
  // The running count went on from the first file's 23: the rule that fired once does not fire again.
  assert.deepEqual(await consume("paid_user"), ['{"user":1,"interactions_count":9}']);
  // The first file again, after the second: every window it falls in was closed by the second's end.
  const old = await runCli(["run", "nobroker", "--input", sample, "--data-dir", dir]);
  assert.equal(old.code, 0, old.stderr);
  const late = (await consume("nobroker.late")).map((l) => JSON.parse(l) as { error: string });
  assert.ok(late.length > 0);
  for (const l of late) assert.match(l.error, /^late: event time 2021-11-30T/);
});

test("a live run after an --until-end run goes on with the new events (issue 13)", async (t) => {
  const dir = tempDataDir(t);
  assert.equal((await runCli(["produce", "events", "--file", sample, "--data-dir", dir])).code, 0);
  assert.equal((await runCli(["run", "nobroker", "--until-end", "--data-dir", dir])).code, 0);
  assert.equal((await runCli(["produce", "events", "--file", nextDay(dir), "--data-dir", dir])).code, 0);
  const r = await runCli(["run", "nobroker", "--until-end", "--data-dir", dir]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /25 records in, \d+ out \(0 dead letters, 0 late\)/);
  const windows = lines((await runCli(["consume", "possible_broker", "--data-dir", dir])).stdout);
  assert.equal(windows.length, 2);
  assert.match(windows[1], /"window_start":"2021-12-01T00:00:00.000Z"/);
});

test("--input reads a file as `weir produce` does: byte-order mark, CRLF, blank and white-space lines", async (t) => {
  const a = tempDataDir(t);
  const b = tempDataDir(t);
  const view = (user: number, s: number) =>
    JSON.stringify({
      ts: `2022-12-11T01:33:${String(s).padStart(2, "0")}.000Z`,
      user_id: user,
      category: "Dance",
      watch_time_s: 10 + s,
      liked: s % 2,
    });
  const input = join(dirname(a), "views.jsonl");
  writeFileSync(
    input,
    Buffer.concat([
      Buffer.from([0xef, 0xbb, 0xbf]), // a byte-order mark, as Windows editors write
      Buffer.from(
        [
          view(5000000, 1),
          "",
          " \t",
          view(5000001, 2),
          "\u00a0", // not blank: white space JSON does not allow, a dead letter
          `\ufeff${view(5000002, 3)}`, // a mark inside the file is not one: a dead letter
          view(5000000, 4),
        ].join("\r\n") + `\n${view(5000003, 5)}`,
      ),
    ]),
  );
  const run = await runCli(["run", "tiktok", "--lake", "off", "--input", input, "--data-dir", a]);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stderr, /6 records in, .*\(2 dead letters, 0 late\)/);
  const produced = await runCli(["produce", "tiktok_category", "--file", input, "--data-dir", b]);
  assert.equal(produced.code, 0, produced.stderr);
  assert.match(produced.stderr, /produced 6 records/);
  const live = await runCli(["run", "tiktok", "--lake", "off", "--until-end", "--data-dir", b]);
  assert.equal(live.code, 0, live.stderr);
  const read = async (dir: string, args: string[]) =>
    lines((await runCli([...args, "--data-dir", dir])).stdout);
  const deadLetters = await read(a, ["consume", "tiktok.dlq"]);
  assert.deepEqual(
    deadLetters.map((l) => {
      const { raw, offset } = JSON.parse(l) as { raw: string; offset: number };
      return [raw, offset];
    }),
    [
      ["\u00a0", 2],
      [`\ufeff${view(5000002, 3)}`, 3],
    ],
  );
  // The same records at the same offsets, whether the file is the input or produced to the topic.
  assert.deepEqual(await read(b, ["consume", "tiktok.dlq"]), deadLetters);
  const table = ["table", "tiktok_user_category", "--format", "json"];
  assert.deepEqual(await read(b, table), await read(a, table));
  assert.equal((await read(a, table)).length, 3);
});
