// parseDuration (src/util/duration.ts): the duration strings of Weir's options and flags.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { formatDuration, parseDuration } from "../../src/util/duration.js";

test("single units", () => {
  assert.equal(parseDuration("500ms"), 500);
  assert.equal(parseDuration("30s"), 30_000);
  assert.equal(parseDuration("1m"), 60_000);
  assert.equal(parseDuration("2h"), 7_200_000);
  assert.equal(parseDuration("1d"), 86_400_000);
  assert.equal(parseDuration("0s"), 0);
  assert.equal(parseDuration("0"), 0);
  assert.equal(parseDuration("1.5s"), 1500);
  assert.equal(parseDuration("0.5m"), 30_000);
  assert.equal(parseDuration(" 5s "), 5000);
});

test("compound durations", () => {
  assert.equal(parseDuration("1h30m"), 5_400_000);
  assert.equal(parseDuration("1d2h3m4s5ms"), 86_400_000 + 7_200_000 + 180_000 + 4000 + 5);
  assert.equal(parseDuration("1m30s"), 90_000);
  assert.equal(parseDuration("2m500ms"), 120_500);
});

test("numbers are milliseconds", () => {
  assert.equal(parseDuration(0), 0);
  assert.equal(parseDuration(1500), 1500);
  assert.throws(() => parseDuration(-1), { code: "USAGE" });
  assert.throws(() => parseDuration(1.5), { code: "USAGE" });
  assert.throws(() => parseDuration(NaN), { code: "USAGE" });
});

test("bad input is a USAGE error that names the input and shows the accepted form", () => {
  const bad = [
    "",
    "  ",
    "1",
    "10",
    "m",
    "1x",
    "1 m",
    "1M",
    "1H",
    "1.m",
    ".5s",
    "-1s",
    "1h-30m",
    "1us",
    "5 seconds",
    "1h 30m",
    "s1",
    "1e3ms",
    "0.1ms",
    "1hh",
  ];
  for (const input of bad) {
    assert.throws(
      () => parseDuration(input),
      (err: any) => {
        assert.equal(err.name, "WeirError", input);
        assert.equal(err.code, "USAGE", input);
        assert.ok(err.message.startsWith(`invalid duration ${JSON.stringify(input)}: `), err.message);
        assert.ok(!err.message.includes("\n"));
        return true;
      },
    );
  }
  assert.throws(() => parseDuration("10"), {
    message: 'invalid duration "10": a unit is missing (ms, s, m, h, d or w), e.g. "10s" or "10ms"',
  });
  assert.throws(() => parseDuration("-1s"), { message: /cannot be negative/ });
  assert.throws(() => parseDuration("1x"), { message: /"500ms", "30s", "1m", "2h", "1d" or "1h30m"/ });
  assert.throws(() => parseDuration(null as never), { code: "USAGE" });
  assert.throws(() => parseDuration("99999999999999999d"), { code: "USAGE", message: /too large/ });
});

test("formatDuration and parseDuration round-trip (property)", () => {
  assert.equal(formatDuration(5_400_000), "1h30m");
  assert.equal(formatDuration(500), "500ms");
  assert.equal(formatDuration(0), "0ms");
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 1e12 }), (ms) => {
      assert.equal(parseDuration(formatDuration(ms)), ms);
    }),
  );
});
