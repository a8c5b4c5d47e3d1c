/**
 * The conformance suite of the one log interface (src/log/contract.ts): every backend runs these
 * same tests (test/log/conformance.test.ts on the embedded log, test/integration/log-conformance.test.ts
 * on a real Kafka broker). Where the contract lets backends differ, the test asserts each
 * backend's documented behaviour.
 *
 *   logConformance("embedded log", () => ({ options: { dataDir } }));
 *
 * Each test uses topics and writer ids of its own, so one log (one broker) serves them all.
 */
import { describe, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { openTopicLog, type OpenTopicLogOptions } from "../../src/embed/topic-log.js";
import type { FetchedPartition, GroupMember, LogEntry, TopicLog } from "../../src/log/contract.js";
import { Partitioner } from "../../src/log/partitioner.js";
import { isWeirError } from "../../src/errors.js";

export interface LogUnderTest {
  /** Where the log is; undefined with `unavailable` set when the backend could not be provided. */
  options: OpenTopicLogOptions | undefined;
  unavailable?: string;
  /** Skip (or fail in CI) when the backend is missing: requireService from test/helpers/services.ts. */
  require?: (t: TestContext, reason: string | undefined) => void;
}

/** A name no earlier test (or run against the same broker) used. */
function unique(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString("hex")}`;
}

/** Every record of `partitions` of a topic from `from` to the end the topic has now, per partition. */
export async function readAll(
  log: TopicLog,
  topic: string,
  from: Record<number, number> = {},
): Promise<Map<number, LogEntry[]>> {
  const described = await log.describeTopic(topic);
  assert.ok(described, `topic ${topic} exists`);
  const reader = await log.openReader(topic);
  const out = new Map<number, LogEntry[]>();
  try {
    for (const p of described.partitions) {
      const records: LogEntry[] = [];
      let next = from[p.partition] ?? p.startOffset;
      let idle = 0;
      while (next < p.endOffset) {
        const [f] = await reader.fetch([{ partition: p.partition, offset: next }], { maxWaitMs: 100 });
        if (f === undefined || (f.records.length === 0 && f.next === next)) {
          assert.ok(
            ++idle < 100,
            `partition ${p.partition} of ${topic} stalls at ${next} before ${p.endOffset}`,
          );
          continue;
        }
        idle = 0;
        assert.equal(f.outOfRange, false);
        for (const r of f.records) if (r.offset < p.endOffset) records.push(copy(r));
        next = f.next;
      }
      out.set(p.partition, records);
    }
  } finally {
    await reader.close();
  }
  return out;
}

/** A record that outlives the reader's buffer. */
function copy(r: LogEntry): LogEntry {
  return {
    partition: r.partition,
    offset: r.offset,
    timestamp: r.timestamp,
    key: r.key === null ? null : Buffer.from(r.key),
    value: r.value === null ? null : Buffer.from(r.value),
    headers: r.headers?.map((h) => ({ key: h.key, value: Buffer.from(h.value) })),
  };
}

/**
 * The values of a topic once `expected` of them can be read (bounded wait): on Kafka a commit's
 * records become readable when the broker has written its transaction markers, just after
 * commit() resolves.
 */
async function committedValues(log: TopicLog, topic: string, expected: number): Promise<string[]> {
  let seen: string[] = [];
  for (let i = 0; i < 100; i++) {
    seen = values(await readAll(log, topic));
    if (seen.length >= expected) return seen;
    await new Promise((r) => setTimeout(r, 100));
  }
  return seen;
}

function values(records: Map<number, LogEntry[]>): string[] {
  return [...records.values()].flat().map((r) => r.value?.toString("utf8") ?? "null");
}

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(isWeirError(err), `a WeirError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return true;
  });
}

/** Deleting is asynchronous on Kafka: wait (bounded) until the topic is gone. */
async function waitUntilGone(log: TopicLog, topic: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if ((await log.describeTopic(topic)) === undefined && !(await log.listTopics()).includes(topic)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`topic ${topic} still exists 30 s after it was deleted`);
}

/** Wait (bounded, 60 s) until `ok` holds for the members' assignments; returns them. */
async function settle(
  members: readonly GroupMember[],
  ok: (assignments: Array<Record<string, number[]>>) => boolean,
  what: string,
): Promise<Array<Record<string, number[]>>> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const now = members.map((m) => m.assignment());
    if (ok(now)) return now;
    if (Date.now() > deadline) assert.fail(`${what}: still ${JSON.stringify(now)} after 60 s`);
    await Promise.race(members.map((m) => m.nextChange(250)));
  }
}

const holdsNothing = (a: Record<string, number[]>): boolean => Object.values(a).every((p) => p.length === 0);

/** The child that holds a committed writer and is killed (test/helpers/log-conformance-child.ts). */
const CHILD = fileURLToPath(new URL("./log-conformance-child.js", import.meta.url));

/** Run the child; resolves once it printed `ready` and was SIGKILLed. */
function killedHolder(
  options: OpenTopicLogOptions,
  id: string,
  topic: string,
  uncommitted: number,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, JSON.stringify({ options, id, topic, uncommitted })], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (b: Buffer) => {
      out += b.toString();
      if (out.includes("ready\n")) child.kill("SIGKILL");
    });
    child.stderr.on("data", (b: Buffer) => (err += b.toString()));
    child.on("exit", (code, signal) => {
      if (signal === "SIGKILL" && out.includes("ready\n")) resolve();
      else reject(new Error(`the holder exited with ${code ?? signal} before it was killed: ${err}`));
    });
  });
}

export function logConformance(name: string, under: () => LogUnderTest): void {
  describe(`log conformance: ${name}`, () => {
    /** What a test opened on the log, closed before the log (last opened first). */
    const closers: Array<() => Promise<unknown>> = [];
    const closeLater = (fn: () => Promise<unknown>): void => {
      closers.push(fn);
    };
    /** Open the log under test, or skip/fail the test when the backend is missing. */
    async function open(t: TestContext): Promise<TopicLog | undefined> {
      const u = under();
      if (u.options === undefined) {
        // A missing backend skips loudly (or fails in CI) through requireService; never silently.
        if (u.require === undefined)
          throw new Error(`log conformance ${name}: no log to test: ${u.unavailable}`);
        u.require(t, u.unavailable);
        return undefined;
      }
      const log = await openTopicLog(u.options);
      // Closed after everything the test opened on it (after hooks run in the order they were added).
      t.after(async () => {
        while (closers.length > 0) await closers.pop()!();
        await log.close();
      });
      return log;
    }

    test(
      "topics: create, describe, list, ensure and delete; mistakes are named errors",
      { timeout: 120_000 },
      async (t) => {
        const log = await open(t);
        if (!log) return;
        const topic = unique("conf-topics");
        await log.createTopic(topic, { partitions: 3 });
        const d = await log.describeTopic(topic);
        assert.deepEqual(d, {
          name: topic,
          partitions: [0, 1, 2].map((partition) => ({ partition, startOffset: 0, endOffset: 0 })),
        });
        assert.ok((await log.listTopics()).includes(topic));
        await rejectsWith(log.createTopic(topic, { partitions: 3 }), "TOPIC_EXISTS");
        assert.equal(
          await log.ensureTopic(topic, { partitions: 5 }),
          3,
          "an existing topic keeps its partitions",
        );
        const other = unique("conf-ensure");
        assert.equal(await log.ensureTopic(other, { partitions: 2 }), 2);
        assert.equal((await log.describeTopic(other))?.partitions.length, 2);
        await log.deleteTopic(topic);
        await waitUntilGone(log, topic);
        const missing = unique("conf-missing");
        assert.equal(await log.describeTopic(missing), undefined);
        await rejectsWith(log.deleteTopic(missing), "UNKNOWN_TOPIC");
        await rejectsWith(log.openReader(missing), "UNKNOWN_TOPIC");
        await rejectsWith(log.openWriter(missing), "UNKNOWN_TOPIC");
        await rejectsWith(log.openCommittedWriter(unique("conf-w"), [missing]), "UNKNOWN_TOPIC");
      },
    );

    test(
      "writes: murmur2 of the key, explicit partitions, one round-robin partition per key-less append; offsets dense; timestamps, keys and headers kept",
      { timeout: 120_000 },
      async (t) => {
        const log = await open(t);
        if (!log) return;
        const topic = unique("conf-writes");
        await log.createTopic(topic, { partitions: 3 });
        const writer = await log.openWriter(topic);
        assert.equal(writer.partitions, 3);
        const keyed = Array.from({ length: 300 }, (_, i) => ({
          key: `user-${i % 17}`,
          value: JSON.stringify({ i }),
          timestamp: 1_600_000_000_000 + i,
          headers: i % 50 === 0 ? [{ key: "trace", value: Buffer.from(`t${i}`) }] : undefined,
        }));
        await writer.append(keyed);
        await writer.append(
          [0, 1, 2, 3, 4].map((i) => ({ value: JSON.stringify({ explicit: i }), partition: 2 })),
        );
        await writer.append(
          Array.from({ length: 10 }, (_, i) => ({ value: JSON.stringify({ keyless: i }) })),
        );
        await writer.flush();
        await writer.close();

        const read = await readAll(log, topic);
        const all = [...read.values()].flat();
        assert.equal(all.length, 315);
        const expected = new Partitioner(3);
        for (const [partition, records] of read) {
          records.forEach((r, i) =>
            assert.equal(r.offset, i, `offsets of partition ${partition} are dense from 0`),
          );
          for (const r of records) {
            assert.equal(r.partition, partition);
            const v = JSON.parse(r.value!.toString()) as { i?: number; explicit?: number; keyless?: number };
            if (v.i !== undefined) {
              assert.equal(r.key?.toString(), `user-${v.i % 17}`);
              assert.equal(partition, expected.partitionFor(`user-${v.i % 17}`), "murmur2 of the key");
              assert.equal(r.timestamp, 1_600_000_000_000 + v.i);
              if (v.i % 50 === 0)
                assert.deepEqual(r.headers, [{ key: "trace", value: Buffer.from(`t${v.i}`) }]);
              else assert.equal(r.headers?.length ?? 0, 0);
            }
            if (v.explicit !== undefined) assert.equal(partition, 2);
          }
          // Each partition keeps the order records were appended in.
          const order = records
            .map((r) => (JSON.parse(r.value!.toString()) as { i?: number }).i)
            .filter((i): i is number => i !== undefined);
          assert.deepEqual(
            order,
            [...order].sort((a, b) => a - b),
          );
        }
        const keyless = all.filter((r) => r.value!.toString().includes("keyless"));
        assert.equal(
          new Set(keyless.map((r) => r.partition)).size,
          1,
          "one append's key-less records share a partition",
        );
        const d = await log.describeTopic(topic);
        assert.deepEqual(
          d?.partitions.map((p) => p.endOffset),
          [0, 1, 2].map((p) => read.get(p)!.length),
        );
      },
    );

    test(
      "reads: from any offset, bounded batches, out of range below the start or past the end",
      { timeout: 120_000 },
      async (t) => {
        const log = await open(t);
        if (!log) return;
        const topic = unique("conf-reads");
        await log.createTopic(topic, { partitions: 1 });
        const writer = await log.openWriter(topic);
        await writer.append(Array.from({ length: 50 }, (_, i) => ({ value: String(i) })));
        await writer.close();
        const reader = await log.openReader(topic);
        closeLater(() => reader.close());
        let got: FetchedPartition[] = [];
        for (let i = 0; i < 50 && (got[0]?.records.length ?? 0) === 0; i++)
          got = await reader.fetch([{ partition: 0, offset: 20 }], { maxWaitMs: 100, maxRecords: 7 });
        const [f] = got;
        assert.equal(f.partition, 0);
        assert.ok(f.records.length > 0 && f.records.length <= 7, `1 to 7 records, got ${f.records.length}`);
        assert.deepEqual(
          f.records.map((r) => [r.offset, r.value?.toString()]),
          f.records.map((_, i) => [20 + i, String(20 + i)]),
        );
        assert.equal(f.next, 20 + f.records.length);
        assert.equal(f.endOffset, 50);
        const [past] = await reader.fetch([{ partition: 0, offset: 60 }], { maxWaitMs: 0 });
        assert.deepEqual(
          { outOfRange: past.outOfRange, records: past.records.length, next: past.next },
          {
            outOfRange: true,
            records: 0,
            next: 60,
          },
        );
        const [below] = await reader.fetch([{ partition: 0, offset: -1 }], { maxWaitMs: 0 });
        assert.equal(below.outOfRange, true);
      },
    );

    test(
      "reads: a fetch at the end waits for the next record, and its signal ends the wait",
      { timeout: 120_000 },
      async (t) => {
        const log = await open(t);
        if (!log) return;
        const topic = unique("conf-wait");
        await log.createTopic(topic, { partitions: 2 });
        const reader = await log.openReader(topic);
        closeLater(() => reader.close());
        const at = [
          { partition: 0, offset: 0 },
          { partition: 1, offset: 0 },
        ];
        const empty = await reader.fetch(at, { maxWaitMs: 200 });
        for (const f of empty)
          assert.deepEqual({ records: f.records.length, next: f.next }, { records: 0, next: 0 });

        // A long wait answered early by a record appended meanwhile.
        const writer = await log.openWriter(topic);
        closeLater(() => writer.close());
        const started = Date.now();
        const waiting = (async () => {
          for (;;) {
            const got = await reader.fetch(at, { maxWaitMs: 20_000 });
            const records = got.flatMap((f) => f.records);
            if (records.length > 0) return records;
            assert.ok(Date.now() - started < 60_000, "no record within a minute");
          }
        })();
        await new Promise((r) => setTimeout(r, 300));
        await writer.append([{ value: "late", partition: 1 }]);
        await writer.flush();
        const records = await waiting;
        assert.deepEqual(
          records.map((r) => [r.partition, r.offset, r.value?.toString()]),
          [[1, 0, "late"]],
        );
        assert.ok(
          Date.now() - started < 20_000,
          "the fetch returned when the record came, not at its maxWaitMs",
        );

        // Aborting ends a wait that would otherwise last 20 s.
        const abort = new AbortController();
        const aborted = Date.now();
        setTimeout(() => abort.abort(), 200);
        const none = await reader.fetch(
          [
            { partition: 0, offset: 0 },
            { partition: 1, offset: 1 },
          ],
          { maxWaitMs: 20_000, signal: abort.signal },
        );
        assert.equal(none.flatMap((f) => f.records).length, 0);
        assert.ok(Date.now() - aborted < 20_000, "the signal ended the wait");
      },
    );

    test(
      "group offsets: none for a new group; commits are stored and merge per partition",
      { timeout: 120_000 },
      async (t) => {
        const log = await open(t);
        if (!log) return;
        const topic = unique("conf-groups");
        await log.createTopic(topic, { partitions: 2 });
        const writer = await log.openWriter(topic);
        await writer.append(Array.from({ length: 20 }, (_, i) => ({ value: String(i), partition: i % 2 })));
        await writer.close();
        const group = unique("conf-group");
        assert.deepEqual(await log.groupOffsets(group, topic), new Map());
        await log.commitGroupOffsets(
          group,
          topic,
          new Map([
            [0, 5],
            [1, 3],
          ]),
        );
        assert.deepEqual(
          await log.groupOffsets(group, topic),
          new Map([
            [0, 5],
            [1, 3],
          ]),
        );
        await log.commitGroupOffsets(group, topic, new Map([[1, 7]]));
        assert.deepEqual(
          await log.groupOffsets(group, topic),
          new Map([
            [0, 5],
            [1, 7],
          ]),
        );
      },
    );

    test(
      "committed writer: commits make records visible with positions and state; abort drops; reopening recovers the last commit",
      { timeout: 120_000 },
      async (t) => {
        const log = await open(t);
        if (!log) return;
        const topic = unique("conf-commit");
        await log.createTopic(topic, { partitions: 2 });
        const id = unique("conf-writer");
        const w = await log.openCommittedWriter(id, [topic]);
        assert.equal(w.recovered, undefined, "a new writer has no commit");
        w.send(
          topic,
          Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: `one-${i}` })),
        );
        const first = await w.commit({ positions: { in: { 0: 10 } }, state: "state-1" });
        assert.deepEqual(first, { sequence: 1, positions: { in: { 0: 10 } }, state: "state-1" });
        assert.equal((await committedValues(log, topic, 10)).length, 10);

        w.send(topic, [
          { key: "x", value: "aborted-1" },
          { key: "y", value: "aborted-2" },
        ]);
        await w.abort();
        w.send(topic, [{ key: "z", value: "two-0", partition: 1 }]);
        const second = await w.commit({ positions: { in: { 0: 12 } }, state: "state-2" });
        assert.equal(second.sequence, 2);
        let seen = await committedValues(log, topic, 11);
        assert.equal(seen.filter((v) => v.startsWith("aborted")).length, 0, "aborted records are never read");
        assert.deepEqual(
          seen.filter((v) => v.startsWith("one") || v.startsWith("two")).sort(),
          [...Array.from({ length: 10 }, (_, i) => `one-${i}`), "two-0"].sort(),
        );

        w.send(topic, [{ value: "closed-uncommitted" }]);
        await w.close();
        await rejectsWith(w.commit({ positions: {}, state: "" }), "USAGE");
        const again = await log.openCommittedWriter(id, [topic]);
        closeLater(() => again.close());
        assert.deepEqual(again.recovered, { sequence: 2, positions: { in: { 0: 12 } }, state: "state-2" });
        seen = values(await readAll(log, topic));
        assert.equal(seen.length, 11, `only committed records remain: ${seen.join(",")}`);
        await rejectsWith(
          Promise.resolve().then(() => again.send(unique("other"), [{ value: "x" }])),
          "USAGE",
        );
        await rejectsWith(
          Promise.resolve().then(() => again.send(topic, [{ value: "x", partition: 9 }])),
          "USAGE",
        );
      },
    );

    test("committed writer: a state of 3 MB commits and recovers whole", { timeout: 120_000 }, async (t) => {
      const log = await open(t);
      if (!log) return;
      const topic = unique("conf-bigstate");
      await log.createTopic(topic, { partitions: 1 });
      const id = unique("conf-writer");
      const state = JSON.stringify({ counts: Array.from({ length: 300_000 }, (_, i) => `k${i}:${i * 7}`) });
      assert.ok(state.length > 3_000_000);
      const w = await log.openCommittedWriter(id, [topic]);
      w.send(topic, [{ value: "v" }]);
      await w.commit({ positions: { src: { 0: 1 } }, state });
      await w.close();
      const again = await log.openCommittedWriter(id, [topic]);
      closeLater(() => again.close());
      assert.equal(again.recovered?.state.length, state.length);
      assert.equal(again.recovered?.state, state);
    });

    test(
      "committed writer: a holder killed (SIGKILL) with uncommitted records leaves only its commits; the next holder recovers and goes on",
      { timeout: 180_000 },
      async (t) => {
        const log = await open(t);
        if (!log) return;
        const topic = unique("conf-crash");
        await log.createTopic(topic, { partitions: 2 });
        const id = unique("conf-writer");
        // The child commits 10 records ("committed-i", state "child-1"), sends 3000 records of 2 KiB
        // without committing them (they reach the log: appended, or sent in an open transaction),
        // prints `ready` and is killed.
        await killedHolder(under().options!, id, topic, 3000);
        const next = await log.openCommittedWriter(id, [topic]);
        closeLater(() => next.close());
        assert.deepEqual(next.recovered, { sequence: 1, positions: { in: { 0: 10 } }, state: "child-1" });
        let seen = values(await readAll(log, topic));
        assert.deepEqual(seen.sort(), Array.from({ length: 10 }, (_, i) => `committed-${i}`).sort());
        next.send(topic, [{ value: "after-crash" }]);
        await next.commit({ positions: { in: { 0: 11 } }, state: "parent-2" });
        seen = await committedValues(log, topic, 11);
        assert.equal(seen.length, 11);
        assert.ok(seen.includes("after-crash"));
      },
    );

    test("committed writer: two holders of one id never both commit", { timeout: 120_000 }, async (t) => {
      const log = await open(t);
      if (!log) return;
      const topic = unique("conf-fence");
      await log.createTopic(topic, { partitions: 1 });
      const id = unique("conf-writer");
      const first = await log.openCommittedWriter(id, [topic]);
      closeLater(() => first.close().catch(() => {}));
      if (log.kind === "embedded") {
        // The live holder keeps the id: a second open is refused.
        await rejectsWith(log.openCommittedWriter(id, [topic]), "WRITER_LOCKED");
        first.send(topic, [{ value: "first" }]);
        await first.commit({ positions: {}, state: "first" });
      } else {
        // Kafka: the newer holder fences the older one, whose next commit fails.
        const second = await log.openCommittedWriter(id, [topic]);
        closeLater(() => second.close());
        first.send(topic, [{ value: "zombie" }]);
        await assert.rejects(first.commit({ positions: {}, state: "zombie" }));
        second.send(topic, [{ value: "second" }]);
        await second.commit({ positions: {}, state: "second" });
      }
      const seen = await committedValues(log, topic, 1);
      assert.deepEqual(seen, [log.kind === "embedded" ? "first" : "second"]);
    });

    test(
      "groups: a lone member holds every partition; with leader-takes-all one member holds all, the other stands by and takes over when it leaves",
      { timeout: 240_000 },
      async (t) => {
        const log = await open(t);
        if (!log) return;
        const a = unique("conf-group-a");
        const b = unique("conf-group-b");
        await log.createTopic(a, { partitions: 3 });
        await log.createTopic(b, { partitions: 2 });
        const all = { [a]: [0, 1, 2], [b]: [0, 1] };
        const group = unique("conf-members");
        const first = await log.joinGroup(group, [a, b]);
        closeLater(() => first.leave());
        await settle([first], ([x]) => JSON.stringify(x) === JSON.stringify(all), "a lone member holds all");
        const second = await log.joinGroup(group, [a, b]);
        closeLater(() => second.leave());
        const held = await settle(
          [first, second],
          (x) =>
            x.filter((m) => JSON.stringify(m) === JSON.stringify(all)).length === 1 && x.some(holdsNothing),
          "one member holds all, the other none",
        );
        const [holder, standby] =
          JSON.stringify(held[0]) === JSON.stringify(all) ? [first, second] : [second, first];
        await holder.leave();
        assert.deepEqual(holder.assignment(), {}, "a member that left holds nothing");
        await settle([standby], ([x]) => JSON.stringify(x) === JSON.stringify(all), "the standby takes over");
      },
    );

    test(
      "groups: tasks-across-members spreads partition numbers over the members on Kafka; the embedded log keeps one active member",
      { timeout: 240_000 },
      async (t) => {
        const log = await open(t);
        if (!log) return;
        const a = unique("conf-tasks-a");
        const b = unique("conf-tasks-b");
        await log.createTopic(a, { partitions: 4 });
        await log.createTopic(b, { partitions: 4 });
        const group = unique("conf-tasks");
        const options = { assignment: "tasks-across-members" as const };
        const first = await log.joinGroup(group, [a, b], options);
        closeLater(() => first.leave());
        const second = await log.joinGroup(group, [a, b], options);
        closeLater(() => second.leave());
        const everything = [0, 1, 2, 3];
        if (log.kind === "embedded") {
          const held = await settle(
            [first, second],
            (x) => x.some(holdsNothing) && x.some((m) => !holdsNothing(m)),
            "one active member",
          );
          assert.deepEqual(
            held.find((m) => !holdsNothing(m)),
            { [a]: everything, [b]: everything },
          );
        } else {
          const held = await settle(
            [first, second],
            (x) =>
              x.every((m) => !holdsNothing(m)) &&
              [a, b].every(
                (topic) =>
                  x
                    .flatMap((m) => m[topic] ?? [])
                    .sort()
                    .join() === everything.join(),
              ),
            "tasks spread over both members",
          );
          for (const m of held)
            assert.deepEqual(m[a], m[b], "a member holds the same partition numbers (tasks) of every topic");
        }
      },
    );
  });
}
