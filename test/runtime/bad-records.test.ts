/**
 * Issue 14 on the real sinks, in-process: records of every odd kind through a pipeline writing a
 * topic, a SQLite table and lake datasets in all three formats (and its dead letters to the lake).
 * The run ends, every record is processed or a dead letter with a reason, and what was written can
 * be read back with DuckDB — before, each of these stopped the run at the same record on every
 * restart.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "../../src/index.js";
import { EmbeddedLog } from "../../src/log/index.js";
import { Runner } from "../../src/runtime/runner.js";
import { openWarehouse } from "../../src/warehouse/index.js";
import { readTopic } from "./inputs.js";

const odd = pipeline(
  "odd",
  (p) => {
    const events = p.source("events", { eventTime: (e: any) => e.ts });
    events.toLake("rows_parquet");
    events.toLake("rows_csv", { format: "csv" });
    events.toLake("rows_jsonl", { format: "jsonl" });
    events.toTable("by_id", { key: (e: any) => e.id });
    events
      .map((e: any) => (e.big === true ? { id: e.id, n: BigInt(7) } : e))
      .toTable("mapped", { key: (e: any) => e.id });
    events.to("copy");
  },
  { deadLettersToLake: true },
);

function nest(depth: number): string {
  return "[".repeat(depth) + "]".repeat(depth);
}

test("odd records through topic, table and lake in every format: the run ends, what it wrote reads back, a restart goes on (issue 14)", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "weir-bad-records-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const ts = Date.UTC(2021, 10, 30);
  const line = (id: number, rest: string) => `{"id":${id},"ts":${ts + id}${rest}}`;
  const input = join(dir, "in.jsonl");
  const badHead = `{"id":11,"ts":${ts + 11},"text":"bad `; // then bytes that are not UTF-8
  writeFileSync(
    input,
    Buffer.concat([
      Buffer.from(
        [
          line(1, ',"text":"plain"'),
          "x" + "😀".repeat(12), // invalid JSON, V8's message cuts a pair
          line(3, ',"text":"lone \\ud83d","k\\udc00":1'), // lone surrogates in a value and a name
          line(4, ',"text":"nul \\u0000","":"empty name","n\\u0000":2'),
          line(5, ',"Text":"case","TEXT":"case again"'),
          line(6, ',"huge":1e20,"neg":-1e19'),
          line(7, `,"deep":${nest(100_000)}`), // too deep to write: a dead letter of the table and lake steps
          line(8, ',"big":true'), // a bigint in a table value
          `{"id":9,"ts":1e20}`, // an event time no Date holds
          line(10, ',"quote":"a \\"q\\", a comma, a newline \\n"'),
        ].join("\n") + "\n",
      ),
      Buffer.from(badHead),
      Buffer.from([0xff, 0xfe]),
      Buffer.from('"}\n'),
    ]),
  );

  const run = async (file: string) => {
    const log = EmbeddedLog.open(join(dir, "data"), { logger: () => {} });
    try {
      return await new Runner(odd, { log, inputFile: file, logger: () => {} }).run();
    } finally {
      log.close();
    }
  };
  const summary = await run(input);
  assert.equal(summary.recordsIn, 11);

  const log = EmbeddedLog.open(join(dir, "data"), { logger: () => {} });
  const dlq = readTopic(log, "odd.dlq").map((l) => JSON.parse(l) as { error: string; offset: number });
  const copied = readTopic(log, "copy").map((l) => (JSON.parse(l) as { id: number }).id);
  log.close();
  assert.deepEqual(
    dlq.map((d) => [d.offset, d.error.replaceAll("Maximum call stack size exceeded", "<stack>")]),
    [
      [1, `invalid JSON: Unexpected token 'x', "x😀😀😀😀\ufffd"... is not valid JSON`],
      // Every step that cannot write it, in one dead letter.
      [
        6,
        "step lake:rows_parquet failed: cannot write the row as JSON: <stack>; " +
          "step lake:rows_csv failed: cannot write the row as JSON: <stack>; " +
          "step lake:rows_jsonl failed: cannot write the row as JSON: <stack>; " +
          "step table:by_id failed: table by_id: cannot write the value as JSON: <stack>; " +
          "step table:mapped failed: table mapped: cannot write the value as JSON: <stack>; " +
          "step to:copy failed: <stack>",
      ],
      [
        7,
        "step table:mapped failed: table mapped: cannot write the value as JSON: Do not know how to serialize a BigInt",
      ],
      [
        8,
        "event time: 100000000000000000000 epoch milliseconds is out of range (at most 8640000000000000 either side of 1970)",
      ],
      [
        10,
        `invalid UTF-8 at byte ${badHead.length}; raw has U+FFFD in place of the bytes that are not UTF-8`,
      ],
    ],
  );
  // Every branch saw each record; a record failing at one step (the first is its dead letter) is
  // missing only where it could not be written.
  assert.deepEqual(copied, [1, 3, 4, 5, 6, 8, 10]);

  const wh = await openWarehouse(join(dir, "data"));
  try {
    const rows = async (sql: string) => (await wh.run(sql)).getRowObjectsJson();
    for (const dataset of ["rows_parquet", "rows_csv", "rows_jsonl"]) {
      assert.deepEqual(
        await rows(`SELECT id::INTEGER AS id, text FROM ${dataset} ORDER BY id`),
        [
          { id: 1, text: "plain" },
          { id: 3, text: "lone \ufffd" },
          { id: 4, text: "nul \u0000" },
          { id: 5, text: null },
          { id: 6, text: null },
          { id: 8, text: null },
          { id: 10, text: null },
        ],
        dataset,
      );
    }
    assert.deepEqual(await rows(`SELECT count(*)::INTEGER AS n FROM odd_dead_letters`), [{ n: 5 }]);
    assert.deepEqual(
      (await rows(`SELECT key FROM by_id_latest ORDER BY key`)).map((r) => r.key),
      ["1", "10", "3", "4", "5", "6", "8"],
    );
  } finally {
    wh.close();
  }

  // A restart with more input, the same poison again, goes on.
  const more = join(dir, "more.jsonl");
  writeFileSync(more, ["x" + "😀".repeat(12), line(12, ',"text":"after"')].join("\n") + "\n");
  const again = await run(more);
  assert.equal(again.recordsIn, 2);
});
