// Unit tests of the CLI's shared helpers (no child processes).
import { test } from "node:test";
import assert from "node:assert/strict";
import { resolve } from "node:path";
import { PassThrough } from "node:stream";
import { InvalidArgumentError } from "commander";
import { resolveDataDir } from "../../src/cli/data-dir.js";
import { formatBytes, formatDuration, renderTable } from "../../src/cli/format.js";
import {
  intParser,
  parseBytes,
  parseBytesOrUnlimited,
  parseDurationMs,
  parseRate,
  parseRetention,
} from "../../src/cli/options.js";
import { OutputBuffer } from "../../src/cli/output.js";
import { RatePacer } from "../../src/cli/shutdown.js";
import { keyFromValue } from "../../src/cli/commands/produce.js";

test("resolveDataDir: flag, then WEIR_DATA_DIR, then ./.weir", () => {
  assert.equal(resolveDataDir({ dataDir: "x/y" }, { WEIR_DATA_DIR: "/env" }), resolve("x/y"));
  assert.equal(resolveDataDir({}, { WEIR_DATA_DIR: "/env/dir" }), "/env/dir");
  assert.equal(resolveDataDir({}, { WEIR_DATA_DIR: "" }), resolve(".weir"));
  assert.equal(resolveDataDir({}, {}), resolve(".weir"));
});

test("parseRate accepts N/s, N/min, N/h, k suffix and plain numbers", () => {
  assert.equal(parseRate("500/s"), 500);
  assert.equal(parseRate("500"), 500);
  assert.equal(parseRate("30000/min"), 500);
  assert.equal(parseRate("100000/min"), 100000 / 60);
  assert.equal(parseRate("3600/h"), 1);
  assert.equal(parseRate("6k/min"), 100);
  assert.equal(parseRate("0.5/s"), 0.5);
  for (const bad of ["abc", "", "0", "0/s", "5/fortnight", "-3/s", "5/"]) {
    assert.throws(() => parseRate(bad), InvalidArgumentError, bad);
  }
});

test("durations, retention and sizes", () => {
  assert.equal(parseDurationMs("500ms"), 500);
  assert.equal(parseDurationMs("30s"), 30_000);
  assert.equal(parseDurationMs("5m"), 300_000);
  assert.equal(parseDurationMs("12h"), 43_200_000);
  assert.equal(parseDurationMs("7d"), 604_800_000);
  assert.equal(parseDurationMs("250"), 250);
  assert.equal(parseRetention("forever"), -1);
  assert.equal(parseRetention("-1"), -1);
  assert.throws(() => parseRetention("7 parsecs"), InvalidArgumentError);
  assert.equal(parseBytes("1048576"), 1048576);
  assert.equal(parseBytes("64MB"), 64 * 1024 * 1024);
  assert.equal(parseBytes("1GiB"), 1024 ** 3);
  assert.equal(parseBytesOrUnlimited("unlimited"), -1);
  assert.throws(() => parseBytes("lots"), InvalidArgumentError);
  assert.throws(() => parseBytes("0"), InvalidArgumentError);
  assert.equal(formatDuration(604_800_000), "1w");
  assert.equal(formatDuration(3 * 86_400_000), "3d");
  assert.equal(formatDuration(-1), "forever");
  assert.equal(formatBytes(512), "512 B");
  assert.equal(formatBytes(64 * 1024 * 1024), "64 MiB");
  assert.equal(formatBytes(-1), "unlimited");
});

test("intParser bounds", () => {
  const p = intParser(1, 10);
  assert.equal(p("3"), 3);
  for (const bad of ["0", "11", "2.5", "x", ""]) assert.throws(() => p(bad), InvalidArgumentError, bad);
});

test("renderTable aligns columns", () => {
  const t = renderTable(
    ["NAME", "N"],
    [
      ["a", "1"],
      ["long", "100"],
    ],
  );
  assert.equal(t, "NAME    N\na       1\nlong  100\n");
});

test("keyFromValue: string form of the field, null when absent", () => {
  assert.equal(keyFromValue({ user_id: 1 }, "user_id", null), "1");
  assert.equal(keyFromValue({ user_id: "u1" }, "user_id", null), "u1");
  assert.equal(keyFromValue({ user_id: true }, "user_id", null), "true");
  assert.equal(keyFromValue({ user_id: { a: 1 } }, "user_id", null), '{"a":1}');
  assert.equal(keyFromValue({ other: 1 }, "user_id", null), null);
  assert.equal(keyFromValue({ user_id: null }, "user_id", null), null);
  assert.equal(keyFromValue([1, 2], "user_id", null), null);
  assert.equal(keyFromValue(42, "user_id", null), null);
  assert.equal(keyFromValue({ a: { b: 7 } }, "a.b", ["a", "b"]), "7");
  assert.equal(keyFromValue({ "a.b": "x", a: { b: 7 } }, "a.b", ["a", "b"]), "x");
});

test("RatePacer paces without bursting", async () => {
  const pacer = new RatePacer(200); // 5 ms per record
  const start = performance.now();
  let sent = 0;
  while (sent < 40) sent += await pacer.take(40 - sent);
  const elapsed = performance.now() - start;
  // 40 records at 200/s: the first is due at once, the 40th after 195 ms.
  assert.ok(elapsed >= 180, `took ${elapsed} ms`);
  assert.ok(elapsed < 2000, `took ${elapsed} ms`);
});

test("RatePacer returns 0 when aborted", async () => {
  const pacer = new RatePacer(1);
  assert.equal(await pacer.take(1), 1);
  const ctl = new AbortController();
  setTimeout(() => ctl.abort(), 20);
  const t0 = performance.now();
  assert.equal(await pacer.take(1, ctl.signal), 0);
  assert.ok(performance.now() - t0 < 900);
});

test("OutputBuffer writes everything in order, in large chunks", async () => {
  const sink = new PassThrough({ highWaterMark: 1024 });
  const received: Buffer[] = [];
  sink.on("data", (b: Buffer) => received.push(b));
  const out = new OutputBuffer(sink, 4096, () => false);
  let expected = "";
  for (let i = 0; i < 5000; i++) {
    const line = `{"i":${i},"s":"${"é".repeat(i % 5)}"}`;
    expected += line + "\n";
    if (i % 2 === 0) out.writeString(line);
    else out.writeBytes(Buffer.from(line));
    out.writeByte(10);
    await out.flushIfFull();
  }
  out.writeBytes(Buffer.alloc(10_000, 0x61)); // larger than the buffer
  expected += "a".repeat(10_000);
  await out.flush();
  await new Promise((r) => setImmediate(r));
  assert.equal(Buffer.concat(received).toString("utf8"), expected);
});
