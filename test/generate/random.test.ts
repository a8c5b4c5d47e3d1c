import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Random, ZipfSampler, normalizeSeed } from "../../src/generate/random.js";

describe("Random", () => {
  it("is deterministic per seed and differs between nearby seeds", () => {
    const a = new Random(1);
    const b = new Random(1);
    const c = new Random(2);
    const xs = Array.from({ length: 100 }, () => a.uint32());
    assert.deepEqual(
      xs,
      Array.from({ length: 100 }, () => b.uint32()),
    );
    const ys = Array.from({ length: 100 }, () => c.uint32());
    assert.ok(xs.filter((x, i) => x === ys[i]).length < 3);
  });

  it("pins the stream (a change here changes every generated file)", () => {
    const r = new Random(12345);
    assert.deepEqual(
      Array.from({ length: 4 }, () => r.uint32()),
      [2142345551, 3083893245, 1997626643, 3123200824],
    );
  });

  it("gives values in range, roughly uniform", () => {
    const r = new Random(99);
    const buckets = new Array<number>(10).fill(0);
    for (let i = 0; i < 100_000; i++) {
      const f = r.float();
      assert.ok(f >= 0 && f < 1);
      buckets[Math.floor(f * 10)]++;
      const k = r.range(3, 7);
      assert.ok(Number.isInteger(k) && k >= 3 && k <= 7);
    }
    for (const b of buckets) assert.ok(Math.abs(b - 10_000) < 600, `bucket ${b}`);
  });

  it("normalises any integer seed to 32 bits, keeping large seeds distinct", () => {
    assert.equal(normalizeSeed(7), 7);
    const negative = normalizeSeed(-1);
    assert.ok(Number.isInteger(negative) && negative >= 0 && negative < 2 ** 32);
    assert.notEqual(negative, normalizeSeed(1));
    assert.notEqual(normalizeSeed(2 ** 32 + 7), normalizeSeed(7));
    assert.equal(normalizeSeed(Number.NaN), 0);
    assert.doesNotThrow(() => new Random(Number.MAX_SAFE_INTEGER).uint32());
  });

  it("shuffles deterministically and keeps every element", () => {
    const a = new Random(5).shuffle([1, 2, 3, 4, 5, 6, 7, 8]);
    assert.deepEqual(a, new Random(5).shuffle([1, 2, 3, 4, 5, 6, 7, 8]));
    assert.deepEqual([...a].sort(), [1, 2, 3, 4, 5, 6, 7, 8]);
  });
});

describe("ZipfSampler", () => {
  it("draws rank 0 most often, in proportion to 1/(rank+1)^s", () => {
    const z = new ZipfSampler(100, 1);
    const r = new Random(3);
    const counts = new Array<number>(100).fill(0);
    const n = 200_000;
    for (let i = 0; i < n; i++) counts[z.sample(r.float())]++;
    assert.ok(counts[0] > counts[1] && counts[1] > counts[9] && counts[9] > counts[99]);
    assert.ok(Math.abs(counts[0] / n - z.probability(0)) < 0.01);
    assert.ok(Math.abs(counts[0] / counts[1] - 2) < 0.15);
    let total = 0;
    for (let i = 0; i < 100; i++) total += z.probability(i);
    assert.ok(Math.abs(total - 1) < 1e-9);
  });

  it("covers the edges", () => {
    const z = new ZipfSampler(5, 0.7);
    assert.equal(z.sample(0), 0);
    assert.equal(z.sample(0.999999999), 4);
    assert.equal(new ZipfSampler(1, 1).sample(0.5), 0);
    assert.throws(() => new ZipfSampler(0, 1), RangeError);
  });
});
