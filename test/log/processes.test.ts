/**
 * Real processes: a writer SIGKILLed mid-append loses no acknowledged record; the partition lock
 * excludes a second writer and does not outlive a killed holder; a reader in one process wakes up
 * for records another process appends.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { EmbeddedLog, type LogRecord } from "../../src/log/index.js";
import { ChildLines, sleep, spawnChild, withLog } from "./helpers.js";

const T = { timeout: 60_000 };

function readAll(log: EmbeddedLog, topic: string): LogRecord[] {
  const reader = log.reader(topic, 0);
  const out: LogRecord[] = [];
  try {
    for (let i = 0; i < 100_000; i++) {
      const batch = reader.poll(500);
      if (batch.length === 0) return out;
      out.push(...batch);
    }
  } finally {
    reader.close();
  }
  throw new Error("reader did not reach the end");
}

test(
  "crash: every acknowledged record survives SIGKILL, in order, exactly once; the log stays appendable",
  T,
  () =>
    withLog(async (log, dir) => {
      log.createTopic("crash", { segmentBytes: 16 * 1024 });
      let lastAcked = -1;
      for (let round = 0; round < 4; round++) {
        const child = new ChildLines(spawnChild(["append-acked", dir, "crash"]));
        const acked: string[] = [];
        try {
          const first = await child.next();
          assert.match(first ?? "", /^acked \d+$/, child.stderr);
          acked.push(first!);
          await sleep(50 + Math.floor(Math.random() * 300));
          child.child.kill("SIGKILL");
          assert.equal((await child.exited).signal, "SIGKILL", child.stderr);
        } finally {
          child.child.kill("SIGKILL");
        }
        for (let line = await child.next(); line !== null; line = await child.next()) acked.push(line);
        for (const line of acked) {
          const m = /^acked (\d+)$/.exec(line);
          if (m) lastAcked = Math.max(lastAcked, Number(m[1]));
        }
        const records = readAll(log, "crash");
        assert.ok(
          records.length > lastAcked,
          `round ${round}: ${records.length} records, acknowledged up to ${lastAcked}`,
        );
        records.forEach((r, i) => {
          assert.equal(r.offset, i);
          assert.ok(
            r.value.toString().startsWith(`v-${i}-`),
            `offset ${i} holds ${r.value.toString().slice(0, 20)}`,
          );
          assert.equal(r.key?.toString(), `k${i}`);
        });
      }
      // The parent takes over the stale lock of the killed writer and appends after the last record.
      const w = log.writer("crash");
      const end = w.endOffset(0);
      assert.deepEqual(w.append([{ value: "parent" }]), [{ partition: 0, offset: end }]);
      w.close();
      assert.equal(readAll(log, "crash").at(-1)?.value.toString(), "parent");
    }),
);

test(
  "lock: a second process gets PARTITION_LOCKED naming the holder; a SIGKILLed holder's lock is taken over",
  T,
  () =>
    withLog(async (log, dir) => {
      log.createTopic("locked", { partitions: 2 });
      const holder = new ChildLines(spawnChild(["hold-lock", dir, "locked"]));
      try {
        assert.equal(await holder.next(), "locked", holder.stderr);
        assert.throws(
          () => log.writer("locked"),
          (err: Error & { code?: string }) => {
            assert.equal(err.code, "PARTITION_LOCKED");
            assert.match(err.message, /locked\/0/);
            assert.match(err.message, new RegExp(`process ${holder.child.pid}\\b`));
            return true;
          },
        );
        assert.throws(() => log.deleteTopic("locked"), { code: "PARTITION_LOCKED" });
        holder.child.kill("SIGKILL");
        await holder.exited;
      } finally {
        holder.child.kill("SIGKILL");
      }
      const w = log.writer("locked");
      w.append([{ value: "mine" }]);
      // And now the parent holds it: another process is refused.
      const other = new ChildLines(spawnChild(["try-writer", dir, "locked"]));
      assert.equal(await other.next(), "PARTITION_LOCKED", other.stderr);
      await other.exited;
      w.close();
      const again = new ChildLines(spawnChild(["try-writer", dir, "locked"]));
      assert.equal(await again.next(), "ok", again.stderr);
      await again.exited;
    }),
);

test("lock: of several processes racing to take over one stale lock, exactly one wins", T, () =>
  withLog(async (log, dir) => {
    log.createTopic("race");
    const lock = join(dir, "topics", "race", "0", "writer.lock");
    for (let round = 0; round < 2; round++) {
      writeFileSync(lock, JSON.stringify({ pid: 2 ** 22 + 4321, start: null })); // a dead owner
      const startAt = String(Date.now() + 2000);
      const racers = Array.from(
        { length: 4 },
        () => new ChildLines(spawnChild(["hold-lock", dir, "race", startAt])),
      );
      try {
        const outcomes = (await Promise.all(racers.map((r) => r.next()))).sort();
        assert.deepEqual(outcomes, ["PARTITION_LOCKED", "PARTITION_LOCKED", "PARTITION_LOCKED", "locked"]);
      } finally {
        for (const r of racers) r.child.kill("SIGKILL");
        await Promise.all(racers.map((r) => r.exited));
      }
    }
  }),
);

test("cross-process: a reader's waitForData wakes for records another process appends", T, () =>
  withLog(async (log, dir) => {
    log.createTopic("live");
    const reader = log.reader("live", 0);
    assert.equal(await reader.waitForData(10), false);
    const count = 25;
    const producer = new ChildLines(spawnChild(["produce", dir, "live", String(count), "15"]));
    try {
      const received: string[] = [];
      const deadline = Date.now() + 30_000;
      while (received.length < count && Date.now() < deadline) {
        if (await reader.waitForData(5000)) received.push(...reader.poll(100).map((r) => r.value.toString()));
      }
      assert.deepEqual(
        received,
        Array.from({ length: count }, (_, i) => `msg-${i}`),
      );
      assert.equal(await producer.next(), "done", producer.stderr);
      assert.equal((await producer.exited).code, 0);
    } finally {
      producer.child.kill("SIGKILL");
      reader.close();
    }
  }),
);
