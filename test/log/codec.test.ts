/** Pure pieces of the log: CRC, record frame, murmur2 and partition choice, flush policy parsing. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { crc32c as nativeCrc32c } from "@node-rs/crc32";
import fc from "fast-check";
import { FRAME_SEED, crc32c, framesIntact } from "../../src/log/crc32c.js";
import { parseFlushPolicy } from "../../src/log/index.js";
import { murmur2, Partitioner } from "../../src/log/partitioner.js";
import {
  FRAME_BAD,
  FRAME_INCOMPLETE,
  decodeHeaders,
  encodeFrame,
  frameCrcOk,
  frameExtent,
  frameSizeBound,
  newFrameFields,
  parseFrame,
} from "../../src/log/record-codec.js";

test("crc32c: JS table and native agree, for short and long inputs and any seed", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 1000 }), fc.nat({ max: 0xffffffff }), (bytes, seed) => {
      assert.equal(crc32c(bytes, 0, bytes.length, seed), nativeCrc32c(bytes, seed));
    }),
  );
  assert.equal(crc32c(Buffer.from("123456789"), 0, 9, 0), 0xe3069283); // the standard check value
});

test("frame: round trip of offset, timestamp, key, value and headers", () => {
  fc.assert(
    fc.property(
      fc.nat({ max: Number.MAX_SAFE_INTEGER }),
      fc.integer({ min: -(2 ** 50), max: 2 ** 50 }),
      fc.option(fc.uint8Array({ maxLength: 50 })),
      fc.uint8Array({ maxLength: 600 }),
      fc.array(fc.record({ key: fc.string({ maxLength: 10 }), value: fc.uint8Array({ maxLength: 20 }) }), {
        maxLength: 3,
      }),
      (offset, timestamp, key, value, headers) => {
        const hs = headers.map((h) => ({ key: h.key, value: Buffer.from(h.value) }));
        const k = key === null ? null : Buffer.from(key);
        const v = Buffer.from(value);
        const buf = Buffer.alloc(frameSizeBound(k, v, hs) + 10);
        const end = encodeFrame(buf, 3, offset, timestamp, k, v, hs);
        const f = newFrameFields();
        const total = frameExtent(buf, 3, end, f);
        assert.equal(total, end - 3);
        assert.ok(frameCrcOk(buf, 3, total));
        assert.ok(framesIntact(buf, 3, end));
        assert.equal(parseFrame(buf, 3, total, f), total);
        assert.equal(f.offset, offset);
        assert.equal(f.timestamp, timestamp);
        assert.deepEqual(f.keyLength < 0 ? null : buf.subarray(f.keyStart, f.keyStart + f.keyLength), k);
        assert.deepEqual(buf.subarray(f.valueStart, f.valueStart + f.valueLength), v);
        assert.deepEqual(decodeHeaders(buf, f), hs);
      },
    ),
  );
});

test("frame: strings are stored as UTF-8; an empty key is not a null key", () => {
  const buf = Buffer.alloc(200);
  const end = encodeFrame(buf, 0, 7, 1, "", "héllo €", undefined);
  const f = newFrameFields();
  assert.equal(parseFrame(buf, 0, frameExtent(buf, 0, end, f), f), end);
  assert.equal(f.keyLength, 0);
  assert.equal(buf.toString("utf8", f.valueStart, f.valueStart + f.valueLength), "héllo €");
});

test("frame: a cut frame is incomplete, a damaged one fails its CRC, several frames check in one call", () => {
  const buf = Buffer.alloc(1000);
  let end = 0;
  const starts: number[] = [];
  for (let i = 0; i < 5; i++) {
    starts.push(end);
    end = encodeFrame(buf, end, i, 1000 + i, `k${i}`, `value ${i}`, undefined);
  }
  const f = newFrameFields();
  assert.ok(framesIntact(buf, 0, end));
  assert.equal(frameExtent(buf, starts[4], end - 1, f), FRAME_INCOMPLETE);
  assert.equal(f.needed, end - starts[4]);
  assert.equal(frameExtent(buf, 0, 3, f), FRAME_INCOMPLETE);
  buf[starts[2] + 12] ^= 0x10;
  assert.ok(!framesIntact(buf, 0, end));
  assert.ok(frameCrcOk(buf, starts[1], starts[2] - starts[1]));
  assert.ok(!frameCrcOk(buf, starts[2], starts[3] - starts[2]));
  assert.equal(frameExtent(Buffer.alloc(64), 0, 64, f), FRAME_BAD, "zeros are not a frame");
});

test("frame: the CRC seed is the residue that makes frames chain", () => {
  const buf = Buffer.alloc(100);
  const end = encodeFrame(buf, 0, 1, 2, null, "x", undefined);
  assert.equal(nativeCrc32c(buf.subarray(0, end), FRAME_SEED), FRAME_SEED);
});

test("murmur2 equals Kafka's Utils.murmur2 (UtilsTest vectors)", () => {
  const vectors: [string, number][] = [
    ["21", -973932308],
    ["foobar", -790332482],
    ["a-little-bit-long-string", -985981536],
    ["a-little-bit-longer-string", -1486304829],
    ["lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971],
    ["abc", 479470107],
  ];
  for (const [s, expected] of vectors) assert.equal(murmur2(Buffer.from(s)), expected, s);
});

test("partition of a key is (murmur2(key) & 0x7fffffff) % n; strings hash as UTF-8", () => {
  const p = new Partitioner(7);
  for (const key of ["21", "foobar", "abc", "user-42", "ключ"]) {
    const expected = (murmur2(Buffer.from(key, "utf8")) & 0x7fffffff) % 7;
    assert.equal(p.partitionFor(Buffer.from(key)), expected);
    assert.equal(p.partitionFor(key), expected);
  }
  assert.equal(new Partitioner(50).partitionFor("foobar"), 16); // as Kafka's DefaultPartitioner
  const rr = new Partitioner(3);
  assert.deepEqual(
    [0, 1, 2, 3].map(() => rr.partitionFor(null)),
    [0, 1, 2, 0],
  );
  assert.throws(() => rr.check(3), { code: "USAGE" });
});

test("parseFlushPolicy", () => {
  assert.deepEqual(parseFlushPolicy("always"), { kind: "always" });
  assert.deepEqual(parseFlushPolicy("os"), { kind: "os" });
  assert.deepEqual(parseFlushPolicy("interval"), { kind: "interval", ms: 50 });
  assert.deepEqual(parseFlushPolicy("interval:20ms"), { kind: "interval", ms: 20 });
  assert.deepEqual(parseFlushPolicy("50ms"), { kind: "interval", ms: 50 });
  assert.deepEqual(parseFlushPolicy("2s"), { kind: "interval", ms: 2000 });
  for (const bad of ["", "sometimes", "interval:", "0ms", "-5ms", "interval:5m"]) {
    assert.throws(() => parseFlushPolicy(bad), { code: "USAGE" }, bad);
  }
});
