/**
 * Torn and corrupt tails: what a crash (or a bad disk) can leave at the end of the last segment.
 * Readers must never serve a damaged record; a writer opening the partition cuts the damage, reports
 * it, and appends after the last intact record.
 */
import assert from "node:assert/strict";
import { appendFileSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import fc from "fast-check";
import { EmbeddedLog, type LogRecord, type PartitionReader } from "../../src/log/index.js";
import { tempDir, withLog } from "./helpers.js";

const T = { timeout: 120_000 };

function readAll(reader: PartitionReader): LogRecord[] {
  const out: LogRecord[] = [];
  for (let i = 0; i < 100_000; i++) {
    const batch = reader.poll(100);
    if (batch.length === 0) return out;
    out.push(...batch);
  }
  throw new Error("reader did not reach the end");
}

function partitionDir(dataDir: string, topic: string): string {
  return join(dataDir, "topics", topic, "0");
}

function lastSegment(dataDir: string, topic: string): string {
  const logs = readdirSync(partitionDir(dataDir, topic))
    .filter((n) => n.endsWith(".log"))
    .sort();
  return join(partitionDir(dataDir, topic), logs[logs.length - 1]);
}

interface Written {
  value: Buffer;
  key: string | null;
  /** Segment file and byte range of the record's frame. */
  file: string;
  start: number;
  end: number;
}

/** Appends each record in its own call and notes which bytes of which segment file it occupies. */
function writeTracked(
  log: EmbeddedLog,
  dataDir: string,
  topic: string,
  records: { key: string | null; value: Buffer }[],
): Written[] {
  const w = log.writer(topic);
  const written: Written[] = [];
  let file = "";
  let size = 0;
  for (const r of records) {
    w.append([{ key: r.key, value: r.value }]);
    const now = lastSegment(dataDir, topic);
    const start = now === file ? size : 0;
    file = now;
    size = statSync(now).size;
    written.push({ ...r, file, start, end: size });
  }
  w.close();
  return written;
}

const recordsArb = fc.array(
  fc.record({
    key: fc.option(fc.string({ maxLength: 8 })),
    value: fc.uint8Array({ maxLength: 120 }).map((a) => Buffer.from(a)),
  }),
  { minLength: 1, maxLength: 40 },
);

function checkRecovery(
  written: Written[],
  survivors: number,
  damagedFrom: number | null,
  dataDir: string,
): void {
  const expected = written.slice(0, survivors);
  const messages: string[] = [];
  const log = EmbeddedLog.open(dataDir, { logger: (m) => messages.push(m) });
  try {
    // Before any writer recovers the partition, readers see exactly the intact prefix.
    const before = readAll(log.reader("t", 0));
    assert.deepEqual(
      before.map((r) => r.value),
      expected.map((r) => r.value),
    );
    const w = log.writer("t");
    assert.equal(w.endOffset(0), survivors);
    if (damagedFrom === null) {
      assert.deepEqual(messages, []);
    } else {
      const last = written[written.length - 1];
      const size = statSync(last.file).size;
      assert.deepEqual(messages, [`recovered t/0: truncated ${damagedFrom} bytes at offset ${survivors}`]);
      assert.ok(
        size ===
          (survivors > 0 && written[survivors - 1].file === last.file ? written[survivors - 1].end : 0),
      );
    }
    assert.deepEqual(w.append([{ value: "after" }]), [{ partition: 0, offset: survivors }]);
    const after = readAll(log.reader("t", 0));
    assert.deepEqual(
      after.map((r) => r.offset),
      [...expected.map((_, i) => i), survivors],
    );
    assert.deepEqual(
      after.map((r) => r.value.toString("hex")),
      [...expected.map((r) => r.value.toString("hex")), Buffer.from("after").toString("hex")],
    );
    assert.deepEqual(
      after.slice(0, survivors).map((r) => r.key?.toString() ?? null),
      expected.map((r) => r.key),
    );
  } finally {
    log.close();
  }
}

test("cutting the last segment at any byte recovers exactly the records wholly before the cut", T, () => {
  fc.assert(
    fc.property(recordsArb, fc.double({ min: 0, max: 1, noNaN: true }), (records, where) => {
      const { dir, cleanup } = tempDir();
      try {
        const log = EmbeddedLog.open(dir);
        log.createTopic("t", { segmentBytes: 1500, indexIntervalBytes: 100 });
        const written = writeTracked(log, dir, "t", records);
        log.close();
        const last = written[written.length - 1].file;
        const size = statSync(last).size;
        const cut = Math.floor(where * size);
        truncateSync(last, cut);
        const survivors = written.filter((r) => r.file !== last || r.end <= cut).length;
        const boundary =
          survivors === 0 || written[survivors - 1].file !== last ? 0 : written[survivors - 1].end;
        checkRecovery(written, survivors, cut === boundary ? null : cut - boundary, dir);
      } finally {
        cleanup();
      }
    }),
    { numRuns: 60 },
  );
});

test("a flipped byte in the last segment recovers exactly the records before the damaged one", T, () => {
  fc.assert(
    fc.property(
      recordsArb,
      fc.double({ min: 0, max: 1, noNaN: true }),
      fc.integer({ min: 1, max: 255 }),
      (records, where, mask) => {
        const { dir, cleanup } = tempDir();
        try {
          const log = EmbeddedLog.open(dir);
          log.createTopic("t", { segmentBytes: 1500, indexIntervalBytes: 100 });
          const written = writeTracked(log, dir, "t", records);
          log.close();
          const last = written[written.length - 1].file;
          const bytes = readFileSync(last);
          const at = Math.min(bytes.length - 1, Math.floor(where * bytes.length));
          bytes[at] ^= mask;
          writeFileSync(last, bytes);
          const damaged = written.findIndex((r) => r.file === last && r.start <= at && at < r.end);
          checkRecovery(written, damaged, bytes.length - written[damaged].start, dir);
        } finally {
          cleanup();
        }
      },
    ),
    { numRuns: 60 },
  );
});

test("a reader treats a half-written record at the tail as 'not yet', then serves it once complete", T, () =>
  withLog((log, dir) => {
    log.createTopic("t");
    const w = log.writer("t");
    for (let i = 0; i < 5; i++) w.append([{ value: `v${i}` }]);
    w.close();
    const file = lastSegment(dir, "t");
    const whole = readFileSync(file);
    const reader = log.reader("t", 0);
    const fourth = readAll(reader);
    assert.equal(fourth.length, 5);
    const frameStart = whole.length - (whole.length - 0) / 5; // all five frames have the same size
    const frame = whole.subarray(frameStart);
    truncateSync(file, frameStart);
    reader.seek(4);
    assert.deepEqual(reader.poll(10), []);
    appendFileSync(file, frame.subarray(0, 9));
    assert.deepEqual(reader.poll(10), [], "torn frame: no record yet");
    assert.equal(reader.endOffset(), 4);
    appendFileSync(file, frame.subarray(9));
    assert.deepEqual(
      reader.poll(10).map((r) => r.value.toString()),
      ["v4"],
    );
  }),
);

test("a zero-filled tail (power loss) is ignored by readers and cut by the writer", T, () =>
  withLog((log, dir, messages) => {
    log.createTopic("t");
    const w = log.writer("t");
    w.append([{ value: "a" }, { value: "b" }]);
    w.close();
    appendFileSync(lastSegment(dir, "t"), Buffer.alloc(4096));
    assert.deepEqual(
      readAll(log.reader("t", 0)).map((r) => r.value.toString()),
      ["a", "b"],
    );
    const again = log.writer("t");
    assert.deepEqual(messages, ["recovered t/0: truncated 4096 bytes at offset 2"]);
    assert.deepEqual(again.append([{ value: "c" }]), [{ partition: 0, offset: 2 }]);
  }),
);

test("damage inside a sealed segment is CORRUPT for a reader reaching it; seeking past it works", T, () =>
  withLog((log, dir) => {
    log.createTopic("t", { segmentBytes: 300, retentionMs: -1 });
    const w = log.writer("t");
    for (let i = 0; i < 30; i++) w.append([{ value: `value-${i}` }]);
    const first = join(
      partitionDir(dir, "t"),
      readdirSync(partitionDir(dir, "t"))
        .filter((n) => n.endsWith(".log"))
        .sort()[0],
    );
    const bytes = readFileSync(first);
    bytes[bytes.indexOf("value-3") + 2] ^= 0x01; // a value byte: only the CRC can tell
    writeFileSync(first, bytes);
    const reader = log.reader("t", 0);
    const good: LogRecord[] = [];
    assert.throws(
      () => {
        for (;;) {
          const batch = reader.poll(1);
          if (batch.length === 0) break;
          good.push(...batch);
        }
      },
      { code: "CORRUPT" },
    );
    assert.deepEqual(
      good.map((r) => r.value.toString()),
      ["value-0", "value-1", "value-2"],
    );
    reader.seek(20);
    assert.deepEqual(
      readAll(reader).map((r) => r.offset),
      Array.from({ length: 10 }, (_, i) => 20 + i),
    );
  }),
);
