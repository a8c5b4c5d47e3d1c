/**
 * Property: any sequence of appends (random batches, keys, values, headers, partitions), writer
 * close/reopen, truncations and reads (from this log instance or from a second one on the same
 * directory, as another process would) agrees with a plain in-memory model of the partitions.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { EmbeddedLog, murmur2, type ProducerRecord, type TopicWriter } from "../../src/log/index.js";
import { tempDir } from "./helpers.js";

interface ModelRecord {
  key: string | null;
  value: string;
  headers: { key: string; value: string }[];
  /** Exact timestamp, or the [min, max] append time window when the producer gave none. */
  timestamp: number | [number, number];
}

type Command =
  | {
      kind: "append";
      records: {
        key: string | null;
        value: string;
        timestamp: number | null;
        partition: number | null;
        header: string | null;
      }[];
    }
  | { kind: "reopen" }
  | { kind: "truncate"; partition: number; where: number }
  | { kind: "read"; partition: number; where: number; otherInstance: boolean; batch: number };

const commandArb = (partitions: number): fc.Arbitrary<Command> =>
  fc.oneof(
    {
      weight: 5,
      arbitrary: fc.record({
        kind: fc.constant("append" as const),
        records: fc.array(
          fc.record({
            key: fc.option(fc.string({ maxLength: 6 })),
            value: fc.string({ maxLength: 80 }),
            timestamp: fc.option(fc.integer({ min: Date.now() - 1e9, max: Date.now() + 1e9 })),
            partition: fc.option(fc.nat({ max: partitions - 1 }), { freq: 4 }),
            header: fc.option(fc.string({ maxLength: 5 }), { freq: 3 }),
          }),
          { minLength: 1, maxLength: 60, size: "medium" },
        ),
      }),
    },
    { weight: 1, arbitrary: fc.constant({ kind: "reopen" as const }) },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant("truncate" as const),
        partition: fc.nat({ max: partitions - 1 }),
        where: fc.double({ min: 0, max: 1, noNaN: true }),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant("read" as const),
        partition: fc.nat({ max: partitions - 1 }),
        where: fc.double({ min: 0, max: 1, noNaN: true }),
        otherInstance: fc.boolean(),
        batch: fc.integer({ min: 1, max: 50 }),
      }),
    },
  );

const scenarioArb = fc
  .record({
    partitions: fc.integer({ min: 1, max: 3 }),
    segmentBytes: fc.integer({ min: 150, max: 3000 }),
    indexIntervalBytes: fc.integer({ min: 1, max: 400 }),
  })
  .chain((config) =>
    fc.record({
      config: fc.constant(config),
      commands: fc.array(commandArb(config.partitions), { minLength: 5, maxLength: 40, size: "large" }),
    }),
  );

function checkPartition(
  log: EmbeddedLog,
  model: ModelRecord[],
  partition: number,
  from: number,
  batch: number,
): void {
  const reader = log.reader("m", partition, from);
  try {
    assert.equal(reader.endOffset(), model.length);
    let offset = from;
    for (let guard = 0; guard < 10_000; guard++) {
      const records = reader.poll(batch);
      if (records.length === 0) break;
      for (const r of records) {
        const m = model[offset];
        assert.equal(r.offset, offset);
        assert.equal(r.partition, partition);
        assert.equal(r.key === null ? null : r.key.toString(), m.key);
        assert.equal(r.value.toString(), m.value);
        assert.deepEqual(
          r.headers.map((h) => ({ key: h.key, value: h.value.toString() })),
          m.headers,
        );
        if (typeof m.timestamp === "number") assert.equal(r.timestamp, m.timestamp);
        else assert.ok(r.timestamp >= m.timestamp[0] && r.timestamp <= m.timestamp[1]);
        offset++;
      }
    }
    assert.equal(offset, model.length, "read to the end");
  } finally {
    reader.close();
  }
}

test(
  "random appends, reopens, truncations and reads agree with an in-memory model",
  { timeout: 240_000 },
  () => {
    fc.assert(
      fc.property(scenarioArb, ({ config, commands }) => {
        const { dir, cleanup } = tempDir();
        const quiet = { logger: () => {} };
        let log = EmbeddedLog.open(dir, quiet);
        const other = EmbeddedLog.open(dir, quiet);
        try {
          log.createTopic("m", { ...config, retentionMs: -1, segmentMs: -1 });
          const model: ModelRecord[][] = Array.from({ length: config.partitions }, () => []);
          let writer: TopicWriter = log.writer("m");
          for (const c of commands) {
            if (c.kind === "append") {
              const batch: ProducerRecord[] = c.records.map((r) => ({
                key: r.key,
                value: r.value,
                ...(r.timestamp === null ? {} : { timestamp: r.timestamp }),
                ...(r.partition === null ? {} : { partition: r.partition }),
                ...(r.header === null
                  ? {}
                  : { headers: [{ key: r.header, value: Buffer.from(r.header + "!") }] }),
              }));
              const before = Date.now();
              const positions = writer.append(batch);
              const after = Date.now();
              c.records.forEach((r, i) => {
                const { partition, offset } = positions[i];
                if (r.partition !== null) assert.equal(partition, r.partition);
                else if (r.key !== null)
                  assert.equal(partition, (murmur2(Buffer.from(r.key)) & 0x7fffffff) % config.partitions);
                assert.equal(offset, model[partition].length);
                model[partition].push({
                  key: r.key,
                  value: r.value,
                  headers: r.header === null ? [] : [{ key: r.header, value: r.header + "!" }],
                  timestamp: r.timestamp ?? [before, after],
                });
              });
            } else if (c.kind === "reopen") {
              writer.close();
              log.close();
              log = EmbeddedLog.open(dir, quiet);
              writer = log.writer("m");
            } else if (c.kind === "truncate") {
              const to = Math.floor(c.where * model[c.partition].length);
              writer.truncate(c.partition, to);
              model[c.partition].length = to;
            } else {
              const from = Math.floor(c.where * model[c.partition].length);
              checkPartition(c.otherInstance ? other : log, model[c.partition], c.partition, from, c.batch);
            }
            for (let p = 0; p < config.partitions; p++) assert.equal(writer.endOffset(p), model[p].length);
          }
          writer.close();
          for (let p = 0; p < config.partitions; p++) checkPartition(other, model[p], p, 0, 17);
        } finally {
          log.close();
          other.close();
          cleanup();
        }
      }),
      { numRuns: 30 },
    );
  },
);
