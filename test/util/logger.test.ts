/** The loggers (src/util/logger.ts): levels, the human and the JSON-lines format, fields. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { humanLogger, jsonLogger, silentLogger, withFields, type Logger } from "../../src/util/logger.js";

function capture(): { lines: string[]; stream: { write(s: string): boolean } } {
  const lines: string[] = [];
  return { lines, stream: { write: (s: string) => lines.push(s) > 0 } };
}

function everyLevel(logger: Logger): void {
  logger.debug("d");
  logger.info("i", { n: 1 });
  logger.warn("w");
  logger.error("e");
}

test("humanLogger writes `weir: <message>` lines from its level up, without fields", () => {
  const out = capture();
  everyLevel(humanLogger({ stream: out.stream }));
  assert.deepEqual(out.lines, ["weir: i\n", "weir: w\n", "weir: e\n"]);
  const debug = capture();
  everyLevel(humanLogger({ stream: debug.stream, level: "debug", prefix: "" }));
  assert.deepEqual(debug.lines, ["d\n", "i\n", "w\n", "e\n"]);
  const errors = capture();
  everyLevel(humanLogger({ stream: errors.stream, level: "error" }));
  assert.deepEqual(errors.lines, ["weir: e\n"]);
  assert.throws(() => humanLogger({ level: "loud" as never }), /unknown log level "loud"/);
});

test("jsonLogger writes one JSON object per line: time, level, msg, then fields", () => {
  const out = capture();
  const logger = jsonLogger({ stream: out.stream, level: "warn", fields: { app: "x" } });
  everyLevel(logger);
  logger.warn("odd values", {
    big: 12n,
    err: Object.assign(new Error("boom"), { code: "IO" }),
    text: 'a"b\n',
  });
  assert.equal(out.lines.length, 3);
  const parsed = out.lines.map((l) => {
    assert.ok(l.endsWith("\n") && !l.slice(0, -1).includes("\n"), "one line each");
    return JSON.parse(l) as Record<string, unknown>;
  });
  assert.deepEqual(Object.keys(parsed[0]), ["time", "level", "msg", "app"]);
  assert.deepEqual(
    parsed.map((p) => [p.level, p.msg]),
    [
      ["warn", "w"],
      ["error", "e"],
      ["warn", "odd values"],
    ],
  );
  assert.match(parsed[0].time as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.deepEqual(
    { big: parsed[2].big, err: parsed[2].err, text: parsed[2].text },
    { big: "12", err: { name: "Error", message: "boom", code: "IO" }, text: 'a"b\n' },
  );
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  logger.error("cycle", { cyclic, ok: 1 });
  assert.deepEqual(JSON.parse(out.lines[3]).ok, 1, "a field that cannot be written does not lose the line");
});

test("withFields adds fields to every message; silentLogger drops everything", () => {
  const out = capture();
  const logger = withFields(jsonLogger({ stream: out.stream }), { pipeline: "p" });
  logger.info("hello", { step: "s" });
  logger.info("override", { pipeline: "q" });
  assert.deepEqual(
    out.lines.map((l) => {
      const { pipeline, step, msg } = JSON.parse(l) as Record<string, unknown>;
      return { pipeline, step, msg };
    }),
    [
      { pipeline: "p", step: "s", msg: "hello" },
      { pipeline: "q", step: undefined, msg: "override" },
    ],
  );
  everyLevel(silentLogger);
});
