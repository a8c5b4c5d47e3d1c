// `weir produce`, checked by reading back with `weir consume`.
import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { jsonLines, lines, runCli, tempDataDir, tempDir } from "./helpers.js";

test("produce from a file, consume prints exactly the same lines", async (t) => {
  const dir = tempDataDir(t);
  const file = join(tempDir(t), "in.jsonl");
  const text = jsonLines(500, (i) => ({ i, name: `n${i}`, s: "ünïcödé ✓ 🚀" }));
  writeFileSync(file, text);
  const p = await runCli(["produce", "events", "--file", file, "--data-dir", dir]);
  assert.equal(p.code, 0, p.stderr);
  assert.match(p.stderr, /created topic events with 1 partition \(it did not exist\)/);
  assert.match(p.stderr, /^weir: produced 500 records to events$/m);
  assert.equal(p.stdout, "");
  const c = await runCli(["consume", "events", "--data-dir", dir]);
  assert.equal(c.code, 0, c.stderr);
  assert.equal(c.stdout, text);
});

test("produce from stdin: CRLF, blank lines skipped, final line without newline", async (t) => {
  const dir = tempDataDir(t);
  const input = '{"a":1}\r\n\r\n{"a":2}\n   \n\n{"a":"é"}\r\n{"a":4}';
  const p = await runCli(["produce", "t", "--data-dir", dir], { input });
  assert.equal(p.code, 0, p.stderr);
  assert.match(p.stderr, /produced 4 records to t$/m);
  const c = await runCli(["consume", "t", "--data-dir", dir]);
  assert.equal(c.stdout, '{"a":1}\n{"a":2}\n{"a":"é"}\n{"a":4}\n');
});

test("produce with --file - reads stdin; an empty input produces nothing and exits 0", async (t) => {
  const dir = tempDataDir(t);
  let p = await runCli(["produce", "t", "--file", "-", "--data-dir", dir], { input: '{"x":1}\n' });
  assert.equal(p.code, 0, p.stderr);
  assert.match(p.stderr, /produced 1 record to t/);
  p = await runCli(["produce", "t", "--data-dir", dir], { input: "" });
  assert.equal(p.code, 0, p.stderr);
  assert.match(p.stderr, /produced 0 records to t/);
});

test("--key-field: equal keys land in the same partition; keys are the field's string form", async (t) => {
  const dir = tempDataDir(t);
  const users = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"];
  const text = jsonLines(400, (i) => ({ i, user_id: users[i % users.length] }));
  let p = await runCli(
    ["produce", "events", "--partitions", "4", "--key-field", "user_id", "--data-dir", dir],
    { input: text },
  );
  assert.equal(p.code, 0, p.stderr);
  assert.match(p.stderr, /created topic events with 4 partitions/);

  const partitionOf = new Map<string, number>();
  let total = 0;
  const used = new Set<number>();
  for (let part = 0; part < 4; part++) {
    const c = await runCli(["consume", "events", "--partition", String(part), "--keys", "--data-dir", dir]);
    assert.equal(c.code, 0, c.stderr);
    for (const line of lines(c.stdout)) {
      const [key, value] = line.split("\t");
      assert.equal((JSON.parse(value) as { user_id: string }).user_id, key);
      const seen = partitionOf.get(key);
      assert.ok(seen === undefined || seen === part, `key ${key} in partitions ${seen} and ${part}`);
      partitionOf.set(key, part);
      used.add(part);
      total++;
    }
  }
  assert.equal(total, 400);
  assert.equal(partitionOf.size, users.length);
  assert.ok(used.size > 1, "8 keys should spread over more than one of 4 partitions");

  // Numbers become their decimal string; lines without the field or not JSON have no key.
  p = await runCli(["produce", "k", "--key-field", "id", "--data-dir", dir], {
    input: '{"id":1}\n{"id":"x"}\n{"other":2}\nnot json\n',
  });
  assert.equal(p.code, 0, p.stderr);
  const c = await runCli(["consume", "k", "--keys", "--data-dir", dir]);
  assert.deepEqual(lines(c.stdout), ['1\t{"id":1}', 'x\t{"id":"x"}', 'null\t{"other":2}', "null\tnot json"]);
});

test("non-JSON lines are stored as they are and counted", async (t) => {
  const dir = tempDataDir(t);
  const input = '{"ok":1}\nthis is not json\n{"ok":2}\n{broken\n[1,2]\n';
  const p = await runCli(["produce", "t", "--data-dir", dir], { input });
  assert.equal(p.code, 0, p.stderr);
  assert.match(p.stderr, /^weir: produced 5 records to t \(2 not valid JSON\)$/m);
  const c = await runCli(["consume", "t", "--data-dir", dir]);
  assert.equal(c.stdout, input);
});

test("--json rejects lines that are not JSON, with their line numbers", async (t) => {
  const dir = tempDataDir(t);
  const input = '{"ok":1}\n\nnope\n{"ok":2}\n{"unterminated":\n';
  const p = await runCli(["produce", "t", "--json", "--data-dir", dir], { input });
  assert.equal(p.code, 0, p.stderr);
  assert.match(p.stderr, /^weir: line 3: not valid JSON: .+$/m);
  assert.match(p.stderr, /^weir: line 5: not valid JSON: .+$/m);
  assert.match(p.stderr, /^weir: produced 2 records to t \(2 lines rejected\)$/m);
  const c = await runCli(["consume", "t", "--data-dir", dir]);
  assert.equal(c.stdout, '{"ok":1}\n{"ok":2}\n');

  // When nothing at all is valid, the exit code says so.
  const bad = await runCli(["produce", "t", "--json", "--data-dir", dir], { input: "a\nb\n" });
  assert.equal(bad.code, 1, bad.stderr);
  assert.match(bad.stderr, /line 1: not valid JSON/);
});

test("--rate paces the appends", async (t) => {
  const dir = tempDataDir(t);
  const start = Date.now();
  const p = await runCli(["produce", "t", "--rate", "40/s", "--data-dir", dir], { input: jsonLines(20) });
  const elapsed = Date.now() - start;
  assert.equal(p.code, 0, p.stderr);
  assert.match(p.stderr, /produced 20 records/);
  // 20 records at 40/s: the last is due 475 ms after the first.
  assert.ok(elapsed >= 450, `took only ${elapsed} ms`);
  const c = await runCli(["consume", "t", "--data-dir", dir]);
  assert.equal(c.stdout, jsonLines(20));
});

test("--partitions of an existing topic is ignored with a note", async (t) => {
  const dir = tempDataDir(t);
  assert.equal((await runCli(["topics", "create", "t", "--partitions", "2", "--data-dir", dir])).code, 0);
  const p = await runCli(["produce", "t", "--partitions", "5", "--data-dir", dir], { input: "{}\n" });
  assert.equal(p.code, 0, p.stderr);
  assert.match(p.stderr, /already has 2 partitions; --partitions 5 ignored/);
});

test("a large file goes through in batches", async (t) => {
  const dir = tempDataDir(t);
  const file = join(tempDir(t), "big.jsonl");
  const n = 200_000;
  writeFileSync(
    file,
    jsonLines(n, (i) => ({ i, user_id: i % 1000, event: "Interaction", pad: "x".repeat(40) })),
  );
  const p = await runCli([
    "produce",
    "big",
    "--file",
    file,
    "--partitions",
    "3",
    "--key-field",
    "user_id",
    "--data-dir",
    dir,
  ]);
  assert.equal(p.code, 0, p.stderr);
  assert.match(p.stderr, new RegExp(`produced ${n} records`));
  const c = await runCli(["consume", "big", "--data-dir", dir]);
  assert.equal(c.code, 0, c.stderr);
  const out = lines(c.stdout);
  assert.equal(out.length, n);
  // Every record exactly once.
  const seen = new Uint8Array(n);
  for (const l of out) seen[(JSON.parse(l) as { i: number }).i]++;
  assert.ok(seen.every((x) => x === 1));
});
