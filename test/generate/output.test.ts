import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createNoBrokerGenerator, producePaced, writeLines } from "../../src/generate/index.js";

describe("writeLines (bulk output)", () => {
  it("writes exactly the generator's lines, in chunks of whole lines", async () => {
    const expected = createNoBrokerGenerator({ seed: 8 }).take(30_000).join("\n") + "\n";
    const chunks: Buffer[] = [];
    const r = await writeLines(createNoBrokerGenerator({ seed: 8 }), 30_000, (c) => void chunks.push(c), {
      chunkBytes: 8192,
    });
    assert.equal(r.lines, 30_000);
    assert.equal(r.interrupted, false);
    assert.ok(chunks.length > 100);
    for (const c of chunks) {
      assert.ok(c.length <= 8192);
      assert.equal(c[c.length - 1], 10, "a chunk ends with a whole line");
    }
    const all = Buffer.concat(chunks);
    assert.equal(r.bytes, all.length);
    assert.equal(all.toString("utf8"), expected);
  });

  it("waits for a slow sink and stops at a chunk boundary when aborted", async () => {
    const ctl = new AbortController();
    let lines = 0;
    const r = await writeLines(
      createNoBrokerGenerator(),
      1_000_000,
      async (c) => {
        lines += c.toString().split("\n").length - 1;
        await new Promise((res) => setTimeout(res, 1));
        if (lines > 5_000) ctl.abort();
      },
      { chunkBytes: 16_384, signal: ctl.signal },
    );
    assert.equal(r.interrupted, true);
    assert.equal(r.lines, lines);
    assert.ok(r.lines < 20_000);
  });
});

describe("producePaced (live output)", () => {
  function collector() {
    const batches: { key?: string | null; value: string }[][] = [];
    return {
      batches,
      writer: { append: (records: { key?: string | null; value: string }[]) => void batches.push(records) },
    };
  }

  it("writes --count records at the rate, keyed by user, the generator's stream in order", async () => {
    const { batches, writer } = collector();
    const started = performance.now();
    const r = await producePaced({
      generator: createNoBrokerGenerator({ seed: 3 }),
      writer,
      perSecond: 10_000,
      count: 1_000,
    });
    const elapsed = performance.now() - started;
    assert.equal(r.written, 1_000);
    assert.equal(r.interrupted, false);
    assert.ok(elapsed >= 80, `1000 records at 10000/s took ${elapsed} ms`);
    const records = batches.flat();
    assert.deepEqual(
      records.map((x) => x.value),
      createNoBrokerGenerator({ seed: 3 }).take(1_000),
    );
    for (const rec of records) {
      const m = /user_id"?[=:]"?(\d+)/.exec(rec.value);
      if (m) assert.equal(rec.key, m[1]);
    }
    // Smooth: many small batches, not one burst.
    assert.ok(batches.length >= 5, `${batches.length} batches`);
    assert.ok(Math.max(...batches.map((b) => b.length)) <= 1_000);
  });

  it("stops after the duration with rate x duration records", async () => {
    const { batches, writer } = collector();
    const r = await producePaced({
      generator: createNoBrokerGenerator(),
      writer,
      perSecond: 5_000,
      durationMs: 200,
    });
    assert.equal(r.written, 1_000);
    assert.equal(batches.flat().length, 1_000);
    assert.ok(r.elapsedMs >= 150 && r.elapsedMs < 2_000, `${r.elapsedMs} ms`);
  });

  it("stops at once when the signal aborts", async () => {
    const { writer } = collector();
    const ctl = new AbortController();
    setTimeout(() => ctl.abort(), 100);
    const r = await producePaced({
      generator: createNoBrokerGenerator(),
      writer,
      perSecond: 1_000,
      signal: ctl.signal,
    });
    assert.equal(r.interrupted, true);
    assert.ok(r.written > 10 && r.written < 1_000, `${r.written}`);
    assert.ok(r.elapsedMs < 1_000);
  });

  it("leaves the event loop free between batches", async () => {
    const { writer } = collector();
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    await producePaced({ generator: createNoBrokerGenerator(), writer, perSecond: 20_000, durationMs: 200 });
    clearInterval(timer);
    assert.ok(ticks >= 10, `${ticks} timer ticks ran during 200 ms of production`);
  });
});
