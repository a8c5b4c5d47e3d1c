/** The embedded log through its public API: topics, append/read, segments, seeking, retention, truncation, groups. */
import assert from "node:assert/strict";
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { EmbeddedLog, murmur2, type LogRecord, type PartitionReader } from "../../src/log/index.js";
import { sleep, tempDir, withLog } from "./helpers.js";

const T = { timeout: 30_000 };
const DAY = 24 * 3600 * 1000;

function readAll(reader: PartitionReader): LogRecord[] {
  const out: LogRecord[] = [];
  for (let i = 0; i < 1_000_000; i++) {
    const batch = reader.poll(100);
    if (batch.length === 0) return out;
    out.push(...batch);
  }
  throw new Error("reader did not reach the end");
}

function values(records: readonly LogRecord[]): string[] {
  return records.map((r) => r.value.toString());
}

function segmentFiles(dir: string, topic: string, partition: number): string[] {
  return readdirSync(join(dir, "topics", topic, String(partition))).filter((n) => n.endsWith(".log"));
}

test("append and read back: keys, null keys, headers, timestamps; offsets contiguous from 0", T, () =>
  withLog((log) => {
    log.createTopic("events");
    const w = log.writer("events");
    const t0 = Date.now() - 5000;
    const positions = w.append([
      { key: "user-1", value: "a", timestamp: t0 },
      {
        key: Buffer.from([0, 1, 2]),
        value: Buffer.from([255]),
        timestamp: t0 + 1,
        headers: [{ key: "h", value: Buffer.from("x") }],
      },
      { key: null, value: "" },
    ]);
    assert.deepEqual(
      positions,
      [0, 1, 2].map((offset) => ({ partition: 0, offset })),
    );
    assert.deepEqual(w.append([{ value: "d" }]), [{ partition: 0, offset: 3 }]);
    assert.equal(w.endOffset(0), 4);
    const before = Date.now();
    const records = readAll(log.reader("events", 0));
    assert.deepEqual(
      records.map((r) => r.offset),
      [0, 1, 2, 3],
    );
    assert.deepEqual(records[0].key, Buffer.from("user-1"));
    assert.equal(records[0].timestamp, t0);
    assert.deepEqual(records[1].key, Buffer.from([0, 1, 2]));
    assert.deepEqual(records[1].value, Buffer.from([255]));
    assert.deepEqual(records[1].headers, [{ key: "h", value: Buffer.from("x") }]);
    assert.equal(records[2].key, null);
    assert.equal(records[2].value.length, 0);
    assert.ok(
      records[3].timestamp <= before && records[3].timestamp > before - 60_000,
      "append time by default",
    );
    assert.ok(records.every((r) => r.topic === "events" && r.partition === 0));
    w.close();
  }),
);

test("records stay intact after later polls reuse the reader's buffers", T, () =>
  withLog((log) => {
    log.createTopic("t");
    const w = log.writer("t");
    const big = Buffer.alloc(300 * 1024, 1);
    for (let i = 0; i < 20; i++) w.append([{ value: Buffer.concat([Buffer.from(`r${i}:`), big]) }]);
    const reader = log.reader("t", 0);
    const kept = reader.poll(1);
    const rest = readAll(reader);
    assert.equal(rest.length, 19);
    assert.ok(kept[0].value.subarray(0, 3).equals(Buffer.from("r0:")));
    assert.ok(kept[0].value.subarray(3).equals(big));
    rest.forEach((r, i) =>
      assert.ok(
        r.value
          .subarray(0, 4)
          .toString()
          .startsWith(`r${i + 1}:`),
      ),
    );
  }),
);

test("a record larger than the read chunk round-trips", T, () =>
  withLog((log) => {
    log.createTopic("big");
    const w = log.writer("big");
    const value = Buffer.alloc(3 * 1024 * 1024 + 17, 7);
    w.append([{ value: "small" }, { value }, { value: "after" }]);
    assert.deepEqual(
      readAll(log.reader("big", 0)).map((r) => r.value.length),
      [5, value.length, 5],
    );
    // Landing straight on the big record (nothing of it read yet) must not look like the end of the log.
    assert.deepEqual(
      log
        .reader("big", 0, 1)
        .poll(1)
        .map((r) => r.value.length),
      [value.length],
    );
  }),
);

test(
  "partitions: keyed records follow murmur2, explicit partitions are honoured, key-less batches rotate",
  T,
  () =>
    withLog((log) => {
      log.createTopic("p", { partitions: 3 });
      const w = log.writer("p");
      assert.equal(w.partitionCount, 3);
      const keys = ["a", "b", "c", "d", "e", "f", "g", "h"];
      const positions = w.append(keys.map((key) => ({ key, value: key })));
      keys.forEach((key, i) =>
        assert.equal(positions[i].partition, (murmur2(Buffer.from(key)) & 0x7fffffff) % 3),
      );
      assert.equal(w.partitionFor("a"), positions[0].partition);
      assert.deepEqual(w.append([{ value: "x", partition: 2 }]), [
        { partition: 2, offset: w.endOffset(2) - 1 },
      ]);
      const first = w.append([{ value: "n1" }, { value: "n2" }]);
      const second = w.append([{ value: "n3" }]);
      assert.equal(first[0].partition, first[1].partition, "a key-less batch sticks to one partition");
      assert.notEqual(second[0].partition, first[0].partition, "the next batch moves on");
      assert.throws(() => w.append([{ value: "y", partition: 3 }]), { code: "USAGE" });
      for (let p = 0; p < 3; p++) {
        const records = readAll(log.reader("p", p));
        assert.deepEqual(
          records.map((r) => r.offset),
          records.map((_, i) => i),
        );
        assert.equal(records.length, w.endOffset(p));
      }
      const total = [0, 1, 2].reduce((n, p) => n + w.endOffset(p), 0);
      assert.equal(total, keys.length + 4);
    }),
);

test("a failed append (bad record mid-batch) leaves every partition as it was", T, () =>
  withLog((log) => {
    log.createTopic("atomic", { partitions: 2 });
    const w = log.writer("atomic");
    w.append([
      { value: "ok", partition: 0 },
      { value: "ok", partition: 1 },
    ]);
    assert.throws(
      () =>
        w.append([
          { value: "a", partition: 0 },
          { value: "b", partition: 1 },
          { value: 42 as unknown as string, partition: 1 },
        ]),
      { code: "USAGE" },
    );
    assert.equal(w.endOffset(0), 1);
    assert.equal(w.endOffset(1), 1);
    w.append([{ value: "next", partition: 1 }]);
    assert.deepEqual(values(readAll(log.reader("atomic", 1))), ["ok", "next"]);
    assert.deepEqual(values(readAll(log.reader("atomic", 0))), ["ok"]);
  }),
);

test("segments roll by size; reading crosses them", T, () =>
  withLog((log, dir) => {
    log.createTopic("s", { segmentBytes: 1000, indexIntervalBytes: 100 });
    const w = log.writer("s");
    for (let i = 0; i < 100; i++) w.append([{ value: `value-${i}-${"x".repeat(i % 30)}` }]);
    const d = log.describeTopic("s").partitions[0];
    assert.ok(d.segments > 5, `${d.segments} segments`);
    assert.equal(segmentFiles(dir, "s", 0).length, d.segments);
    assert.deepEqual(
      values(readAll(log.reader("s", 0))),
      Array.from({ length: 100 }, (_, i) => `value-${i}-${"x".repeat(i % 30)}`),
    );
    assert.deepEqual([d.startOffset, d.endOffset], [0, 100]);
  }),
);

test("segments roll by age of their first record", T, () =>
  withLog((log) => {
    log.createTopic("aged", { segmentMs: 1000, retentionMs: -1 });
    const w = log.writer("aged");
    for (let i = 0; i < 10; i++) w.append([{ value: `${i}`, timestamp: 1_000_000 + i * 400 }]);
    // 400 ms apart, rolling once a record is > 1000 ms younger than its segment's first: 3 per segment
    assert.equal(log.describeTopic("aged").partitions[0].segments, 4);
  }),
);

test("seek by offset across segments; clamps below the start; OFFSET_OUT_OF_RANGE past the end", T, () =>
  withLog((log) => {
    log.createTopic("seek", { segmentBytes: 600, indexIntervalBytes: 64 });
    const w = log.writer("seek");
    for (let i = 0; i < 60; i++) w.append([{ value: `v${i}` }]);
    const reader = log.reader("seek", 0, 25);
    assert.equal(reader.position, 25);
    for (const offset of [0, 1, 17, 33, 59, 42, 5]) {
      reader.seek(offset);
      const [r] = reader.poll(1);
      assert.equal(r.offset, offset);
      assert.equal(r.value.toString(), `v${offset}`);
      assert.equal(reader.position, offset + 1);
    }
    reader.position = 10;
    assert.equal(reader.poll(1)[0].offset, 10);
    reader.seek(-5);
    assert.equal(reader.position, 0);
    reader.seek(60);
    assert.deepEqual(reader.poll(10), []);
    assert.throws(() => reader.seek(61), { code: "OFFSET_OUT_OF_RANGE" });
    assert.throws(() => log.reader("seek", 0, 1000), { code: "OFFSET_OUT_OF_RANGE" });
    assert.deepEqual([reader.startOffset(), reader.endOffset()], [0, 60]);
  }),
);

test("seek by time finds the first record (in offset order) with timestamp >= ts, across segments", T, () =>
  withLog((log) => {
    log.createTopic("time", { segmentBytes: 500, indexIntervalBytes: 50, retentionMs: -1 });
    const w = log.writer("time");
    // Mostly increasing, with some records out of order.
    const stamps = Array.from({ length: 80 }, (_, i) => 10_000 + i * 100 + (i % 7 === 3 ? -650 : 0));
    stamps.forEach((timestamp, i) => w.append([{ value: `v${i}`, timestamp }]));
    const reader = log.reader("time", 0);
    for (const ts of [0, 10_000, 10_050, 12_345, 13_000, 15_000, 17_901, 17_900, 99_999]) {
      reader.seekToTimestamp(ts);
      const expected = stamps.findIndex((s) => s >= ts);
      const got = reader.poll(1);
      if (expected < 0) {
        assert.deepEqual(got, [], `ts ${ts}`);
        assert.equal(reader.position, 80);
      } else {
        assert.equal(got[0].offset, expected, `ts ${ts}`);
      }
    }
  }),
);

test("damaged or missing index files are only hints: seeks stay correct", T, () =>
  withLog((log, dir) => {
    log.createTopic("idx", { segmentBytes: 2000, indexIntervalBytes: 40, retentionMs: -1 });
    const w = log.writer("idx");
    for (let i = 0; i < 100; i++) w.append([{ value: `v${i}`, timestamp: i }]);
    w.close();
    const pdir = join(dir, "topics", "idx", "0");
    for (const name of readdirSync(pdir)) {
      if (name.endsWith(".index"))
        writeFileSync(join(pdir, name), Buffer.from(Array.from({ length: 64 }, (_, i) => (i * 37) & 255)));
      if (name.endsWith(".timeindex")) writeFileSync(join(pdir, name), Buffer.alloc(0));
    }
    const reader = log.reader("idx", 0);
    for (const offset of [0, 3, 50, 77, 99]) {
      reader.seek(offset);
      assert.equal(reader.poll(1)[0].value.toString(), `v${offset}`);
      reader.seekToTimestamp(offset);
      assert.equal(reader.poll(1)[0].offset, offset);
    }
    assert.equal(reader.endOffset(), 100);
  }),
);

test("retention by size deletes whole old segments, never the active one", T, () =>
  withLog((log) => {
    log.createTopic("rs", { segmentBytes: 1000, retentionBytes: 3000, retentionMs: -1 });
    const w = log.writer("rs");
    for (let i = 0; i < 200; i++) w.append([{ value: `value-${i}` }]);
    const d = log.describeTopic("rs").partitions[0];
    assert.ok(d.startOffset > 0, "old segments deleted");
    // Retention runs when a segment rolls: the active segment may then grow by up to segmentBytes.
    assert.ok(d.sizeBytes <= 3000 + 1000, `${d.sizeBytes} bytes kept`);
    assert.ok(d.segments <= 5);
    assert.equal(d.endOffset, 200);
    const records = readAll(log.reader("rs", 0));
    assert.equal(records[0].offset, d.startOffset);
    assert.deepEqual(
      values(records),
      Array.from({ length: 200 - d.startOffset }, (_, i) => `value-${d.startOffset + i}`),
    );
    // A reader positioned before the start is moved to it.
    assert.equal(log.reader("rs", 0, 0).position, d.startOffset);
  }),
);

test("retention by age deletes segments whose newest record is too old, when a segment rolls", T, () =>
  withLog((log) => {
    log.createTopic("ra", { segmentBytes: 400, segmentMs: DAY, retentionMs: DAY });
    const w = log.writer("ra");
    const old = Date.now() - 3 * DAY;
    for (let i = 0; i < 30; i++) w.append([{ value: `old-${i}`, timestamp: old + i }]);
    // The first recent record rolls the segment by age (it is 3 days younger than the segment's first
    // record); that roll deletes every sealed segment, all of them 3 days old.
    for (let i = 0; i < 30; i++) w.append([{ value: `new-${i}` }]);
    const d = log.describeTopic("ra").partitions[0];
    assert.equal(d.startOffset, 30);
    assert.deepEqual(
      values(readAll(log.reader("ra", 0))),
      Array.from({ length: 30 }, (_, i) => `new-${i}`),
    );
  }),
);

test("retention by age also runs when a writer opens", T, () =>
  withLog(async (log) => {
    log.createTopic("ro", { segmentBytes: 300, retentionMs: 1000 });
    const w = log.writer("ro");
    for (let i = 0; i < 20; i++) w.append([{ value: `v${i}` }]);
    w.close();
    const before = log.describeTopic("ro").partitions[0];
    assert.ok(before.segments > 2 && before.startOffset === 0);
    await sleep(1100);
    log.writer("ro").close();
    const after = log.describeTopic("ro").partitions[0];
    assert.equal(after.segments, 1, "only the active segment is left");
    assert.ok(after.startOffset > 0 && after.endOffset === 20);
  }),
);

test("the active segment survives retention even when everything is expired", T, () =>
  withLog((log) => {
    log.createTopic("keep", { retentionMs: 1000 });
    const w = log.writer("keep");
    w.append([{ value: "ancient", timestamp: 5 }]);
    w.close();
    log.writer("keep").close();
    assert.deepEqual(values(readAll(log.reader("keep", 0))), ["ancient"]);
  }),
);

test(
  "truncate drops records at and after an offset, across segments, durably; appends continue there",
  T,
  () =>
    withLog((log, dir) => {
      log.createTopic("tr", { segmentBytes: 500 });
      let w = log.writer("tr");
      for (let i = 0; i < 100; i++) w.append([{ value: `v${i}` }]);
      const segmentsBefore = segmentFiles(dir, "tr", 0).length;
      w.truncate(0, 37);
      assert.equal(w.endOffset(0), 37);
      assert.ok(segmentFiles(dir, "tr", 0).length < segmentsBefore);
      assert.deepEqual(w.append([{ value: "again" }]), [{ partition: 0, offset: 37 }]);
      w.close();
      w = log.writer("tr");
      assert.equal(w.endOffset(0), 38);
      const records = readAll(log.reader("tr", 0));
      assert.deepEqual(values(records), [...Array.from({ length: 37 }, (_, i) => `v${i}`), "again"]);
      w.truncate(0, 38); // no-op at the end
      assert.throws(() => w.truncate(0, 39), { code: "OFFSET_OUT_OF_RANGE" });
      assert.throws(() => w.truncate(0, -1), { code: "OFFSET_OUT_OF_RANGE" });
      w.truncate(0, 0);
      assert.equal(w.endOffset(0), 0);
      assert.deepEqual(w.append([{ value: "first" }]), [{ partition: 0, offset: 0 }]);
      assert.deepEqual(values(readAll(log.reader("tr", 0))), ["first"]);
    }),
);

test(
  "a reader past a truncation point waits for the log to grow back, then continues at its position",
  T,
  () =>
    withLog((log) => {
      log.createTopic("rt");
      const w = log.writer("rt");
      for (let i = 0; i < 10; i++) w.append([{ value: `a${i}` }]);
      const reader = log.reader("rt", 0);
      assert.equal(readAll(reader).length, 10);
      w.truncate(0, 6);
      assert.deepEqual(reader.poll(10), []);
      assert.equal(reader.position, 10);
      for (let i = 6; i < 12; i++) w.append([{ value: `b${i}` }]);
      assert.deepEqual(values(reader.poll(10)), ["b10", "b11"]);
    }),
);

test("group offsets: {} when none; commits merge, persist and replace atomically", T, async () => {
  const { dir, cleanup } = tempDir();
  try {
    const log = EmbeddedLog.open(dir);
    assert.deepEqual(log.readGroupOffsets("g"), {});
    log.commitGroupOffsets("g", { t: { 0: 5 } });
    log.commitGroupOffsets("g", { t: { 1: 7 }, u: { 0: 1 } });
    log.commitGroupOffsets("g", { t: { 0: 6 } });
    assert.deepEqual(log.readGroupOffsets("g"), { t: { 0: 6, 1: 7 }, u: { 0: 1 } });
    assert.deepEqual(log.readGroupOffsets("other"), {});
    assert.throws(() => log.commitGroupOffsets("bad/name", {}), { code: "USAGE" });
    assert.throws(() => log.commitGroupOffsets("g", { t: { 0: -1 } }), { code: "USAGE" });
    assert.throws(() => log.commitGroupOffsets("g", { t: { 0: 1.5 } }), { code: "USAGE" });
    assert.throws(() => log.commitGroupOffsets("g", { "bad topic": { 0: 1 } }), { code: "USAGE" });
    log.close();
    const again = EmbeddedLog.open(dir);
    assert.deepEqual(again.readGroupOffsets("g"), { t: { 0: 6, 1: 7 }, u: { 0: 1 } });
    assert.deepEqual(readdirSync(join(dir, "groups")), ["g.json"], "no temporary or lock files left");
    writeFileSync(join(dir, "groups", "broken.json"), "{not json");
    assert.throws(() => again.readGroupOffsets("broken"), { code: "CORRUPT" });
    again.close();
  } finally {
    cleanup();
  }
});

test("topics: create, describe, list (sorted), ensure, delete", T, () =>
  withLog((log, dir) => {
    const d = log.createTopic("zeta", { partitions: 2, segmentBytes: 4096 });
    assert.equal(d.name, "zeta");
    assert.equal(d.config.partitions, 2);
    assert.equal(d.config.segmentBytes, 4096);
    assert.deepEqual(
      d.partitions.map((p) => [p.partition, p.startOffset, p.endOffset]),
      [
        [0, 0, 0],
        [1, 0, 0],
      ],
    );
    log.createTopic("alpha");
    log.createTopic("mid.dle_-1");
    assert.deepEqual(log.listTopics(), ["alpha", "mid.dle_-1", "zeta"]);
    assert.ok(log.hasTopic("alpha") && !log.hasTopic("nope") && !log.hasTopic("../x"));
    assert.throws(() => log.createTopic("alpha"), { code: "TOPIC_EXISTS" });
    assert.equal(
      log.ensureTopic("alpha", { partitions: 5 }).config.partitions,
      1,
      "ensure keeps an existing topic",
    );
    assert.equal(log.ensureTopic("fresh", { partitions: 3 }).config.partitions, 3);
    const config = JSON.parse(readFileSync(join(dir, "topics", "zeta", "topic.json"), "utf8"));
    assert.equal(config.config.partitions, 2);
    log.deleteTopic("zeta");
    assert.deepEqual(log.listTopics(), ["alpha", "fresh", "mid.dle_-1"]);
    assert.throws(() => log.deleteTopic("zeta"), { code: "UNKNOWN_TOPIC" });
    log.createTopic("zeta", { partitions: 1 });
    assert.equal(log.describeTopic("zeta").config.partitions, 1, "a deleted name can be reused");
  }),
);

test("createTopicIfMissing: true only for the creator, also when another process wins the race", T, () =>
  withLog((log, dir) => {
    assert.equal(log.createTopicIfMissing("events", { partitions: 2 }), true);
    assert.equal(log.createTopicIfMissing("events", { partitions: 5 }), false);
    // A second process that looked before the first one's create landed: its rename loses.
    const late = EmbeddedLog.open(dir);
    try {
      late.hasTopic = () => false;
      assert.equal(late.createTopicIfMissing("events", { partitions: 3 }), false);
      assert.equal(late.describeTopic("events").config.partitions, 2, "the winner's topic stays");
      assert.deepEqual(readdirSync(join(dir, "log-tmp")), [], "the loser's staging directory is removed");
    } finally {
      late.close();
    }
  }),
);

test("bad topic names and settings are USAGE errors", T, () =>
  withLog((log) => {
    for (const name of ["", "a/b", "..", ".", "with space", "x".repeat(250), "ü"]) {
      assert.throws(() => log.createTopic(name), { code: "USAGE" }, JSON.stringify(name));
    }
    log.createTopic("x".repeat(249));
    for (const config of [
      { partitions: 0 },
      { partitions: 1.5 },
      { segmentBytes: 0 },
      { retentionMs: -2 },
      { nope: 1 },
    ]) {
      assert.throws(() => log.createTopic("t", config as object), { code: "USAGE" }, JSON.stringify(config));
    }
    assert.ok(!log.hasTopic("t"), "nothing created by a failed create");
  }),
);

test("unknown topics: UNKNOWN_TOPIC naming the topic and how to create it", T, () =>
  withLog((log) => {
    for (const call of [
      () => log.describeTopic("ghost"),
      () => log.writer("ghost"),
      () => log.reader("ghost", 0),
      () => log.deleteTopic("ghost"),
    ]) {
      assert.throws(call, (err: Error & { code?: string }) => {
        assert.equal(err.code, "UNKNOWN_TOPIC");
        assert.match(err.message, /ghost/);
        assert.match(err.message, /weir topics create ghost/);
        return true;
      });
    }
    log.createTopic("real");
    assert.throws(() => log.reader("real", 1), { code: "USAGE" });
  }),
);

test("BAD_DATA_DIR when the data directory is a regular file; a missing one is created", T, () => {
  const { dir, cleanup } = tempDir();
  try {
    const file = join(dir, "file");
    writeFileSync(file, "x");
    assert.throws(
      () => EmbeddedLog.open(file),
      (err: Error & { code?: string }) => {
        assert.equal(err.code, "BAD_DATA_DIR");
        assert.match(err.message, /is a file, not a directory/);
        return true;
      },
    );
    assert.throws(() => EmbeddedLog.open(join(file, "below")), { code: "BAD_DATA_DIR" });
    const nested = EmbeddedLog.open(join(dir, "a", "b"));
    assert.deepEqual(nested.listTopics(), []);
    nested.close();
  } finally {
    cleanup();
  }
});

test("file-system failures surface as IO errors saying what failed", T, () =>
  withLog((log, dir) => {
    rmSync(join(dir, "topics"), { recursive: true });
    writeFileSync(join(dir, "topics"), "not a directory");
    assert.throws(
      () => log.createTopic("t"),
      (err: Error & { code?: string }) => {
        assert.equal(err.code, "IO");
        assert.match(err.message, /creating topic t: .*ENOTDIR/);
        return true;
      },
    );
  }),
);

test("one writer per topic: a second writer or a delete while it is open is PARTITION_LOCKED", T, () =>
  withLog((log) => {
    log.createTopic("locked", { partitions: 2 });
    const w = log.writer("locked");
    assert.throws(() => log.writer("locked"), { code: "PARTITION_LOCKED" });
    assert.throws(
      () => log.deleteTopic("locked"),
      (err: Error & { code?: string }) => {
        assert.equal(err.code, "PARTITION_LOCKED");
        assert.match(err.message, /locked\/0/);
        return true;
      },
    );
    w.close();
    assert.throws(() => w.append([{ value: "x" }]), { code: "CLOSED" });
    log.writer("locked").close();
    log.deleteTopic("locked");
  }),
);

test("stale locks (dead pid, or our pid from an earlier process start) are taken over", T, () =>
  withLog((log, dir) => {
    log.createTopic("stale", { partitions: 2 });
    const lockOf = (p: number): string => join(dir, "topics", "stale", String(p), "writer.lock");
    writeFileSync(lockOf(0), JSON.stringify({ pid: 2 ** 22 + 12345, start: "1" })); // beyond pid_max: never alive
    writeFileSync(lockOf(1), JSON.stringify({ pid: process.pid, start: "1" })); // pid reused, as in a restarted container
    const w = log.writer("stale");
    assert.equal(JSON.parse(readFileSync(lockOf(0), "utf8")).pid, process.pid);
    w.close();
    assert.deepEqual(
      readdirSync(join(dir, "topics", "stale", "0")).filter((n) => n.includes("lock")),
      [],
      "released on close",
    );
    writeFileSync(join(dir, "groups", "g.lock"), JSON.stringify({ pid: 2 ** 22 + 12345, start: null }));
    log.commitGroupOffsets("g", { stale: { 0: 3 } });
    assert.deepEqual(log.readGroupOffsets("g"), { stale: { 0: 3 } });
  }),
);

test("waitForData: false on timeout and on abort, true as soon as a record arrives", T, () =>
  withLog(async (log) => {
    log.createTopic("wait");
    const w = log.writer("wait");
    const reader = log.reader("wait", 0);
    assert.equal(await reader.waitForData(30), false);
    const abort = new AbortController();
    const aborted = reader.waitForData(10_000, abort.signal);
    abort.abort();
    assert.equal(await aborted, false);
    setTimeout(() => w.append([{ value: "hello" }]), 20);
    assert.equal(await reader.waitForData(10_000), true);
    assert.deepEqual(values(reader.poll(10)), ["hello"]);
    assert.equal(await reader.waitForData(20), false);
    w.append([{ value: "ready" }]);
    assert.equal(await reader.waitForData(0), true, "data already there resolves at once");
    reader.poll(10);
    const pending = reader.waitForData(10_000);
    await sleep(5);
    reader.close();
    assert.equal(await pending, false, "closing the reader ends its waits");
  }),
);

test("a closed log refuses work", T, () => {
  const { dir, cleanup } = tempDir();
  try {
    const log = EmbeddedLog.open(dir);
    log.createTopic("c");
    const w = log.writer("c");
    log.close();
    assert.throws(() => w.append([{ value: "x" }]), { code: "CLOSED" });
    assert.throws(() => log.listTopics(), { code: "CLOSED" });
    const again = EmbeddedLog.open(dir);
    again.writer("c").close(); // the lock was released by close
    again.close();
  } finally {
    cleanup();
  }
});

test("flush policies: always and os both append and read back", T, async () => {
  for (const flush of [
    { kind: "always" } as const,
    { kind: "os" } as const,
    { kind: "interval", ms: 1 } as const,
  ]) {
    await withLog(
      async (log) => {
        log.createTopic("f");
        const w = log.writer("f");
        w.append([{ value: "1" }, { value: "2" }]);
        await sleep(5);
        w.flush();
        w.close();
        assert.deepEqual(values(readAll(log.reader("f", 0))), ["1", "2"]);
      },
      { flush },
    );
  }
});
