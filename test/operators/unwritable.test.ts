/**
 * One bad record must never stop a run (DESIGN.md §4): what a step cannot write, and a record that
 * cannot be read, become dead letters with the reason — and a dead letter itself can always be
 * written (issue 14).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { pipeline, TestDriver, type PipelineDefinition } from "../../src/index.js";
import { Task, deadLetterRecord } from "../../src/runtime/task.js";
import { newRecordContext, type OutputCollector } from "../../src/operators/types.js";
import { MAX_DEAD_LETTER_BYTES, MAX_RECORD_BYTES } from "../../src/util/records.js";

/** A line whose `payload` is nested `depth` levels deep: JSON.parse reads it, JSON.stringify runs out of stack. */
function deep(depth: number): string {
  return `{"user_id":1,"payload":${"[".repeat(depth)}${"]".repeat(depth)}}`;
}

/** The dead letters of sending `lines` through `d`, as [offset, error], and the driver. */
function run(d: PipelineDefinition, lines: unknown[]): { errors: Array<[number, string]>; t: TestDriver } {
  const t = new TestDriver(d).sendAll("events", lines).end();
  return { errors: t.deadLetters().map((x) => [x.offset, x.error]), t };
}

test("a table value that cannot be serialised (a bigint, nesting too deep) is a dead letter of the table step, not a crashed run (issue 14)", () => {
  const d = pipeline("p", (p) => {
    p.source("events")
      .map((e: any) => (e.big ? { user: e.user_id, n: BigInt(1) } : { user: e.user_id, payload: e.payload }))
      .toTable("t", { key: (v) => v.user });
  });
  const { errors, t } = run(d, [{ user_id: 1, payload: 1 }, { user_id: 2, big: true }, deep(100_000)]);
  assert.deepEqual(
    errors.map(([o, e]) => [o, e.replace(/Maximum call stack size exceeded/, "<stack>")]),
    [
      [
        1,
        "step table:t failed: table t: cannot write the value as JSON: Do not know how to serialize a BigInt",
      ],
      [2, "step table:t failed: table t: cannot write the value as JSON: <stack>"],
    ],
  );
  assert.deepEqual([...t.tableValues("t").entries()], [["1", { user: 1, payload: 1 }]]);
});

test("a table key over 2048 bytes is a dead letter: PostgreSQL could not index it (issue 14)", () => {
  const d = pipeline("p", (p) => {
    p.source("events").toTable("t", { key: (e: any) => e.key });
  });
  const { errors, t } = run(d, [{ key: "k".repeat(2048) }, { key: "é".repeat(1025) }]);
  assert.deepEqual(errors, [
    [1, "step table:t failed: table t: a key of 2050 bytes is over the limit of 2048"],
  ]);
  assert.deepEqual([...t.tableValues("t").keys()], ["k".repeat(2048)]);
});

test("an event time before 4714 BC, earlier than PostgreSQL stores, is a dead letter of the table step on every store (issue 14)", () => {
  const d = pipeline("p", (p) => {
    p.source("events", { eventTime: (e: any) => e.at }).toTable("t", { key: (e: any) => e.key });
  });
  const earliest = Date.UTC(-4713, 10, 24);
  const { errors, t } = run(d, [
    { key: "a", at: earliest },
    { key: "b", at: earliest - 1 },
    { key: "c", at: 8.64e15 },
  ]);
  assert.deepEqual(errors, [
    [
      1,
      "step table:t failed: table t: the event time -004713-11-23T23:59:59.999Z is before 4714-11-24 BC, the earliest a table stores",
    ],
  ]);
  assert.deepEqual([...t.tableValues("t").keys()], ["a", "c"]);
});

test("a lake row nested too deep is a dead letter of the lake step, and the rows around it land (issue 14)", () => {
  const d = pipeline("p", (p) => {
    p.source("events").toLake("rows");
  });
  const { errors, t } = run(d, [{ a: 1 }, deep(100_000), { a: 2 }]);
  assert.deepEqual(
    errors.map(([o, e]) => [o, e.replace(/Maximum call stack size exceeded/, "<stack>")]),
    [[1, "step lake:rows failed: cannot write the row as JSON: <stack>"]],
  );
  assert.deepEqual(t.lakeRows("rows"), [{ a: 1 }, { a: 2 }]);
});

test("an output record over the maximum record size is a dead letter of the sink step (issue 14)", () => {
  const d = pipeline("p", (p) => {
    p.source("events")
      .map((e: any) => ({ text: "x".repeat(e.n) }))
      .to("out");
  });
  const over = MAX_RECORD_BYTES - 10; // `{"text":"` and `"}` make it 1 byte over
  const { errors, t } = run(d, [{ n: over - 1 }, { n: over }]);
  assert.deepEqual(errors, [
    [
      1,
      "step to:out failed: a record of 33554433 bytes (key and value as JSON) is over the limit of 33554432 bytes (32 MiB)",
    ],
  ]);
  assert.equal(t.readValues("out").length, 1);
});

test("dead letters are well-formed and bounded: half a surrogate pair in a reason, a huge reason, a huge raw (issue 14)", () => {
  const ctx = { ...newRecordContext(), topic: "events", partition: 0, offset: 7 };
  // V8 cuts the line it quotes in UTF-16 units: half of a pair (what made DuckDB refuse the lake).
  let message = "";
  try {
    JSON.parse("x" + "😀".repeat(12));
  } catch (err) {
    message = (err as Error).message;
  }
  assert.ok(!message.isWellFormed(), "V8's message holds half a surrogate pair");
  const a = deadLetterRecord(`invalid JSON: ${message}`, { ...ctx, raw: "x" + "😀".repeat(12) });
  assert.ok(a.error.isWellFormed() && a.json.isWellFormed());
  assert.match(a.error, /^invalid JSON: Unexpected token 'x', "x😀😀😀😀\ufffd"\.\.\. is not valid JSON$/);
  assert.equal(JSON.parse(a.json).raw, "x" + "😀".repeat(12));

  const b = deadLetterRecord("step s failed: " + "e".repeat(100_000), { ...ctx, raw: "r\ud800" });
  assert.equal(b.error.length, 4096 + 3);
  assert.equal(b.raw, "r\ufffd");

  // 2 MB of quotes escape to 4 MB: raw keeps a prefix, and says so.
  const raw = '"'.repeat(2_000_000);
  const c = deadLetterRecord("invalid JSON: x", { ...ctx, raw });
  const bytes = Buffer.byteLength(c.json);
  assert.ok(bytes <= MAX_DEAD_LETTER_BYTES && bytes > MAX_DEAD_LETTER_BYTES * 0.8, String(bytes));
  assert.ok(raw.startsWith(c.raw));
  assert.equal(c.error, `invalid JSON: x; raw holds the first ${c.raw.length} of its 2000000 bytes`);
  assert.deepEqual(JSON.parse(c.json), {
    error: c.error,
    raw: c.raw,
    topic: "events",
    partition: 0,
    offset: 7,
  });
});

test("a step's error message with half a surrogate pair makes a well-formed dead letter (issue 14)", () => {
  const d = pipeline("p", (p) => {
    p.source("events")
      .map(() => {
        throw new Error("bad \ud83d");
      })
      .to("out");
  });
  const { errors } = run(d, [{ a: 1 }]);
  assert.deepEqual(errors, [[0, "step map-1 failed: bad \ufffd"]]);
});

test("a record's bytes: over the maximum record size, or not UTF-8, is a dead letter naming it; the rest is processed (issue 14)", () => {
  const appended: Array<[string, string]> = [];
  const out: OutputCollector = {
    append: (topic, _key, value) => void appended.push([topic, value]),
    upsert() {},
    land() {},
    deliver() {},
  };
  const d = pipeline("p", (p) => {
    p.source("events").to("out");
  });
  const task = new Task(d.graph, out);
  const good = Buffer.from('{"a":"é😀"}');
  const bad = Buffer.concat([Buffer.from('{"a":"x'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]);
  const replacement = Buffer.from('{"a":"\ufffd"}'); // U+FFFD written as it is: valid UTF-8
  const huge = Buffer.alloc(MAX_RECORD_BYTES + 1, 0x61);
  task.processRecord("events", 0, 0, 0, good);
  task.processRecord("events", 0, 1, 0, bad);
  task.processRecord("events", 0, 2, 0, replacement);
  task.processRecord("events", 0, 3, 0, huge);
  // At the limit: a record like any other.
  const atLimit = Buffer.from(`{"a":"${"b".repeat(MAX_RECORD_BYTES - 8)}"}`);
  assert.equal(atLimit.length, MAX_RECORD_BYTES);
  task.processRecord("events", 0, 4, 0, atLimit);
  const dlq = appended.filter(([topic]) => topic === "p.dlq").map(([, v]) => JSON.parse(v));
  assert.deepEqual(
    appended.filter(([topic]) => topic === "out").map(([, v]) => (v.length > 100 ? v.length : v)),
    ['{"a":"é😀"}', '{"a":"\ufffd"}', MAX_RECORD_BYTES],
  );
  assert.deepEqual(
    dlq.map((x) => [x.offset, x.error, x.raw.length]),
    [
      [1, "invalid UTF-8 at byte 7; raw has U+FFFD in place of the bytes that are not UTF-8", 11],
      [
        3,
        "record too large: 33554433 bytes, over the limit of 33554432 bytes (32 MiB); raw holds its first 65536 bytes",
        65536,
      ],
    ],
  );
  assert.equal(dlq[0].raw, '{"a":"x\ufffd("}');
});
