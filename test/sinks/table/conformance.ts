/**
 * The contract of a VersionedTableStore (src/sinks/types.ts), as one suite that every store runs:
 *
 *   tableStoreConformance("SQLite", async (t) => new SqliteTableStore(join(tempDir(t), "t.db")));
 *
 * The factory returns a fresh, empty store for each test (or undefined after skipping the test).
 * The suite closes the store.
 */
import assert from "node:assert/strict";
import { describe, test, type TestContext } from "node:test";
import { isWeirError } from "../../../src/errors.js";
import type { TableUpdate, TableVersion, VersionedTableStore } from "../../../src/sinks/types.js";

export type StoreFactory = (t: TestContext) => Promise<VersionedTableStore | undefined>;

const T0 = Date.UTC(2021, 10, 30, 0, 0, 0);

/** The update with sequence number `seq` of a deterministic stream over `keys` keys. */
export function update(seq: number, keys = 3, value?: unknown): TableUpdate {
  const k = (seq * 7919) % keys;
  return {
    key: `k${k}`,
    value: value ?? { user: k, count: seq, tags: [`t${seq % 5}`], nested: { seq } },
    eventTime: T0 + seq * 1000 + (seq % 1000),
    topic: "events",
    partition: seq % 4,
    offset: 1000 + seq,
    seq,
  };
}

export function updates(from: number, to: number, keys = 3): TableUpdate[] {
  const out: TableUpdate[] = [];
  for (let s = from; s <= to; s++) out.push(update(s, keys));
  return out;
}

/** Every stored version of every key (versions beyond the table's limit not compacted yet included). */
export function everything(store: VersionedTableStore, table: string): Promise<TableVersion[]> {
  return store.read(table, { versions: Number.MAX_SAFE_INTEGER, raw: true });
}

/** Versions per key of `rows`. */
function perKey(rows: readonly TableVersion[]): Record<string, number> {
  const m: Record<string, number> = {};
  for (const v of rows) m[v.key] = (m[v.key] ?? 0) + 1;
  return m;
}

async function open(t: TestContext, factory: StoreFactory): Promise<VersionedTableStore | undefined> {
  const store = await factory(t);
  if (store !== undefined) t.after(() => store.close());
  return store;
}

async function rejectsWith(p: Promise<unknown>, code: string, pattern?: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(isWeirError(err), `expected a WeirError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (pattern) assert.match(err.message, pattern);
    return true;
  });
}

export function tableStoreConformance(name: string, factory: StoreFactory): void {
  describe(`${name}: VersionedTableStore conformance`, () => {
    test("versions are numbered from 1 per key, in update order, within and across batches", async (t) => {
      const store = await open(t, factory);
      if (!store) return;
      await store.ensureTable({ name: "users", versions: 10 });
      assert.equal(await store.lastSeq("users"), 0);
      assert.deepEqual(await store.read("users"), []);
      const mk = (seq: number, key: string): TableUpdate => ({
        key,
        value: { seq },
        eventTime: T0 + seq,
        topic: "in",
        partition: 0,
        offset: seq - 1,
        seq,
      });
      await store.writeBatch("users", [mk(1, "a"), mk(2, "b"), mk(3, "a"), mk(4, "a")]);
      await store.writeBatch("users", [mk(5, "b"), mk(6, "c"), mk(7, "a")]);
      await store.writeBatch("users", []);
      assert.equal(await store.lastSeq("users"), 7);
      const all = await everything(store, "users");
      assert.deepEqual(
        all.map((v) => [v.key, v.version, (v.value as { seq: number }).seq]),
        [
          ["a", 4, 7],
          ["a", 3, 4],
          ["a", 2, 3],
          ["a", 1, 1],
          ["b", 2, 5],
          ["b", 1, 2],
          ["c", 1, 6],
        ],
      );
      assert.deepEqual(all[0], {
        key: "a",
        version: 4,
        eventTime: T0 + 7,
        value: { seq: 7 },
        source: { topic: "in", partition: 0, offset: 6 },
      });
    });

    test("read: latest per key by default, one key, N newest versions, newest first", async (t) => {
      const store = await open(t, factory);
      if (!store) return;
      await store.ensureTable({ name: "t", versions: 5 });
      await store.writeBatch("t", updates(1, 30, 3)); // 10 updates per key
      const latest = await store.read("t");
      assert.deepEqual(
        latest.map((v) => [v.key, v.version]),
        [
          ["k0", 10],
          ["k1", 10],
          ["k2", 10],
        ],
      );
      for (const v of latest) {
        const u = updates(1, 30, 3)
          .filter((x) => x.key === v.key)
          .at(-1)!;
        assert.deepEqual(v.value, u.value);
        assert.equal(v.eventTime, u.eventTime);
        assert.deepEqual(v.source, { topic: u.topic, partition: u.partition, offset: u.offset });
      }
      assert.deepEqual(
        (await store.read("t", { key: "k1" })).map((v) => v.version),
        [10],
      );
      assert.deepEqual(
        (await store.read("t", { key: "k1", versions: 3 })).map((v) => v.version),
        [10, 9, 8],
      );
      assert.deepEqual(
        (await store.read("t", { versions: 2 })).map((v) => `${v.key}@${v.version}`),
        ["k0@10", "k0@9", "k1@10", "k1@9", "k2@10", "k2@9"],
      );
      assert.deepEqual(await store.read("t", { key: "nope" }), []);
      assert.deepEqual(await store.read("t", { key: "nope", versions: 4 }), []);
      await rejectsWith(store.read("t", { versions: 0 }), "USAGE");
    });

    test("keys sort by their bytes; keys and values keep any characters", async (t) => {
      const store = await open(t, factory);
      if (!store) return;
      await store.ensureTable({ name: "t", versions: 1 });
      const keys = ["b", "a", "B", "10", "9", "é", "z z", "", "quote'\"", "日本"];
      await store.writeBatch(
        "t",
        keys.map((key, i) => ({
          key,
          value: key,
          eventTime: T0,
          topic: "x",
          partition: 0,
          offset: i,
          seq: i + 1,
        })),
      );
      const expected = [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
      assert.deepEqual(
        (await store.read("t")).map((v) => v.key),
        expected,
      );
      assert.deepEqual(
        (await store.read("t", { key: "quote'\"" })).map((v) => v.value),
        ["quote'\""],
      );
    });

    test("JSON values round-trip", async (t) => {
      const store = await open(t, factory);
      if (!store) return;
      await store.ensureTable({ name: "json", versions: 1 });
      const values: unknown[] = [
        { user: 42, interactions_count: 9 },
        { nested: { deep: [1, [2, { x: null }]], empty: {}, list: [] } },
        { text: "quotes \" ' backslash \\ newline \n tab \t unicode é 日本 😀 <>&" },
        { int: 9007199254740991, neg: -17, float: 3.25, tiny: 1e-7, big: 1.5e300, zero: 0 },
        { yes: true, no: false, nothing: null },
        "a plain string",
        12345,
        -0.5,
        true,
        null,
        [1, "two", { three: 3 }],
      ];
      await store.writeBatch(
        "json",
        values.map((value, i) => ({
          key: `k${String(i).padStart(2, "0")}`,
          value,
          eventTime: T0,
          topic: "x",
          partition: 0,
          offset: i,
          seq: i + 1,
        })),
      );
      await store.writeBatch("json", [
        { key: "undef", value: undefined, eventTime: T0, topic: "x", partition: 0, offset: 99, seq: 100 },
      ]);
      const read = await store.read("json");
      assert.deepEqual(
        read.filter((v) => v.key !== "undef").map((v) => v.value),
        values,
      );
      assert.equal(read.find((v) => v.key === "undef")?.value, null);
    });

    test("lone surrogates in values, which no UTF-8 store holds, are stored as U+FFFD; the JSON a step made is stored as it is (issue 14)", async (t) => {
      const store = await open(t, factory);
      if (!store) return;
      await store.ensureTable({ name: "odd", versions: 1 });
      const at = (seq: number, value: unknown, json?: string): TableUpdate => ({
        key: `k${seq}`,
        value,
        eventTime: T0,
        topic: "x",
        partition: 0,
        offset: seq,
        seq,
        ...(json === undefined ? {} : { json }),
      });
      await store.writeBatch("odd", [
        at(1, { s: "x\ud83d", ["k\udc00"]: ["\ud800y"], pair: "😀" }),
        at(2, { ignored: true }, '{"made":"by the step"}'),
        at(3, { text: "a backslash and ud: \\ud83d" }),
      ]);
      assert.deepEqual(
        (await store.read("odd")).map((v) => v.value),
        [
          { s: "x\ufffd", ["k\ufffd"]: ["\ufffdy"], pair: "😀" },
          { made: "by the step" },
          { text: "a backslash and ud: \\ud83d" },
        ],
      );
    });

    test("event times keep milliseconds, before and after 1970, from 4714 BC to the last instant of a Date (issue 14)", async (t) => {
      const store = await open(t, factory);
      if (!store) return;
      await store.ensureTable({ name: "times", versions: 1 });
      const times = [
        0,
        1,
        -1,
        T0 + 123,
        Date.UTC(1969, 6, 20, 20, 17, 40, 999),
        Date.UTC(2999, 11, 31, 23, 59, 59, 1),
        // Years past 9999 and before 1 AD, which ISO-8601 writes as +275760 and -000044, and the
        // earliest time a table stores (MIN_TABLE_TIME_MS): a PostgreSQL batch holding one failed.
        8.64e15,
        Date.UTC(12000, 0, 1, 0, 0, 0, 7),
        Date.UTC(-44, 2, 15, 12, 0, 0, 1),
        new Date(0).setUTCFullYear(0, 0, 1), // 1 BC (Date.UTC reads years 0..99 as 1900..1999)
        Date.UTC(-4713, 10, 24),
      ];
      await store.writeBatch(
        "times",
        times.map((eventTime, i) => ({
          key: `k${i}`,
          value: i,
          eventTime,
          topic: "x",
          partition: 0,
          offset: i,
          seq: i + 1,
        })),
      );
      assert.deepEqual(
        Object.fromEntries((await store.read("times")).map((v) => [v.key, v.eventTime])),
        Object.fromEntries(times.map((ms, i) => [`k${i}`, ms])),
      );
    });

    test("a retried writeBatch is a no-op (idempotent by seq)", async (t) => {
      const store = await open(t, factory);
      if (!store) return;
      await store.ensureTable({ name: "t", versions: 100 });
      const batch1 = updates(1, 50);
      const batch2 = updates(51, 120);
      await store.writeBatch("t", batch1);
      await store.writeBatch("t", batch2);
      const once = await everything(store, "t");
      // The runner retries a batch whose outcome it does not know (connection dropped at COMMIT).
      await store.writeBatch("t", batch2);
      await store.writeBatch("t", batch1);
      assert.deepEqual(await everything(store, "t"), once);
      assert.equal(await store.lastSeq("t"), 120);
      // A batch that straddles lastSeq writes only its new part.
      await store.writeBatch("t", updates(100, 130));
      const straddled = await everything(store, "t");
      assert.equal(straddled.length, 130);
      assert.equal(await store.lastSeq("t"), 130);
    });

    test("seqs must increase within a batch: nothing of a bad batch is written", async (t) => {
      const store = await open(t, factory);
      if (!store) return;
      await store.ensureTable({ name: "t", versions: 3 });
      await store.writeBatch("t", updates(1, 5));
      const bad = [update(6), update(8), update(7)];
      await rejectsWith(store.writeBatch("t", bad), "INTERNAL", /seq/);
      const badTime = [update(6), { ...update(7), eventTime: Number.NaN }];
      await rejectsWith(store.writeBatch("t", badTime), "INTERNAL", /event time/);
      assert.equal(await store.lastSeq("t"), 5);
    });

    test("rollbackTo removes later updates; replaying them gives identical content", async (t) => {
      const store = await open(t, factory);
      if (!store) return;
      await store.ensureTable({ name: "t", versions: 1000 });
      for (let s = 1; s <= 60; s += 20) await store.writeBatch("t", updates(s, s + 19, 7));
      const at60 = await everything(store, "t");
      for (let s = 61; s <= 100; s += 10) await store.writeBatch("t", updates(s, s + 9, 7));
      const full = await everything(store, "t");
      assert.equal(full.length, 100);

      await store.rollbackTo("t", 60);
      assert.equal(await store.lastSeq("t"), 60);
      assert.deepEqual(await everything(store, "t"), at60);
      // Replayed in different batches: same versions, same content.
      await store.writeBatch("t", updates(61, 77, 7));
      await store.writeBatch("t", updates(78, 100, 7));
      assert.deepEqual(await everything(store, "t"), full);

      await store.rollbackTo("t", 100); // nothing after 100
      assert.deepEqual(await everything(store, "t"), full);
      await store.rollbackTo("t", 0);
      assert.deepEqual(await everything(store, "t"), []);
      assert.equal(await store.lastSeq("t"), 0);
      await store.writeBatch("t", updates(1, 100, 7));
      assert.deepEqual(await everything(store, "t"), full);
    });

    test("compact keeps the newest N versions among seq <= S and never touches seq > S", async (t) => {
      const store = await open(t, factory);
      if (!store) return;
      await store.ensureTable({ name: "t", versions: 2 });
      const one = (seq: number): TableUpdate => ({
        key: "a",
        value: seq,
        eventTime: T0 + seq,
        topic: "x",
        partition: 0,
        offset: seq,
        seq,
      });
      for (let s = 1; s <= 10; s++) await store.writeBatch("t", [one(s)]);
      const before = await everything(store, "t");
      await store.compact("t", 6);
      assert.deepEqual(
        (await everything(store, "t")).map((v) => v.version),
        [10, 9, 8, 7, 6, 5],
      );
      // A crash right after that checkpoint: roll back to it, replay.
      await store.rollbackTo("t", 6);
      assert.deepEqual(
        (await everything(store, "t")).map((v) => v.version),
        [6, 5],
      );
      assert.deepEqual((await store.read("t"))[0].value, 6);
      for (let s = 7; s <= 10; s++) await store.writeBatch("t", [one(s)]);
      assert.deepEqual(await everything(store, "t"), before.slice(0, 6));
      await store.compact("t", 10);
      assert.deepEqual(await everything(store, "t"), before.slice(0, 2));
      await store.compact("t", 10); // again: nothing to do
      await store.compact("t", 3); // an older seq: nothing to do
      assert.deepEqual(await everything(store, "t"), before.slice(0, 2));
      // Compacting beyond the last seq, then writing more, still compacts the new rows later.
      await store.compact("t", 1000);
      for (let s = 11; s <= 15; s++) await store.writeBatch("t", [one(s)]);
      await store.compact("t", 15);
      assert.deepEqual(
        (await everything(store, "t")).map((v) => v.version),
        [15, 14],
      );
    });

    test("compact: only keys updated since the last compaction change; a smaller `versions` applies to all keys", async (t) => {
      const store = await open(t, factory);
      if (!store) return;
      await store.ensureTable({ name: "t", versions: 3 });
      await store.writeBatch("t", updates(1, 50, 5)); // 10 versions per key
      await store.compact("t", 50);
      const counts = async () => {
        const m = new Map<string, number>();
        for (const v of await everything(store, "t")) m.set(v.key, (m.get(v.key) ?? 0) + 1);
        return Object.fromEntries(m);
      };
      assert.deepEqual(await counts(), { k0: 3, k1: 3, k2: 3, k3: 3, k4: 3 });
      await store.writeBatch("t", updates(51, 55, 5)); // one more version per key
      await store.compact("t", 55);
      assert.deepEqual(await counts(), { k0: 3, k1: 3, k2: 3, k3: 3, k4: 3 });
      assert.deepEqual(
        (await store.read("t", { key: "k0", versions: 10 })).map((v) => v.version),
        [11, 10, 9],
      );
      // Fewer versions from now on: the next compaction revisits every key.
      await store.ensureTable({ name: "t", versions: 1 });
      await store.compact("t", 55);
      assert.deepEqual(await counts(), { k0: 1, k1: 1, k2: 1, k3: 1, k4: 1 });
      assert.deepEqual(
        (await store.read("t")).map((v) => v.version),
        [11, 11, 11, 11, 11],
      );
    });

    test("stale versions are never read: before compaction, read() returns at most the table's versions", async (t) => {
      const store = await open(t, factory);
      if (!store) return;
      await store.ensureTable({ name: "t", versions: 3 });
      await store.writeBatch("t", updates(1, 40, 4)); // 10 versions per key, none compacted
      assert.deepEqual(perKey(await everything(store, "t")), { k0: 10, k1: 10, k2: 10, k3: 10 });
      const ten = await store.read("t", { versions: 10 });
      assert.deepEqual(
        ten.map((v) => `${v.key}@${v.version}`),
        ["k0@10", "k0@9", "k0@8", "k1@10", "k1@9", "k1@8", "k2@10", "k2@9", "k2@8", "k3@10", "k3@9", "k3@8"],
      );
      assert.deepEqual(await store.read("t", { versions: Number.MAX_SAFE_INTEGER }), ten);
      assert.deepEqual(
        (await store.read("t", { key: "k2", versions: 10 })).map((v) => v.version),
        [10, 9, 8],
      );
      assert.deepEqual(
        (await store.read("t", { key: "k2", versions: 2 })).map((v) => v.version),
        [10, 9],
      );
      assert.deepEqual(
        (await store.read("t")).map((v) => `${v.key}@${v.version}`),
        ["k0@10", "k1@10", "k2@10", "k3@10"],
      );
      // The values are those of the newest updates.
      const newest = updates(37, 40, 4).sort((a, b) => a.key.localeCompare(b.key));
      assert.deepEqual(
        (await store.read("t")).map((v) => v.value),
        newest.map((u) => u.value),
      );
      // raw: every stored row (diagnostics), up to `versions`.
      assert.deepEqual(
        (await store.read("t", { key: "k2", versions: 5, raw: true })).map((v) => v.version),
        [10, 9, 8, 7, 6],
      );
      // A larger `versions` shows more of what is still stored; a smaller one less.
      await store.ensureTable({ name: "t", versions: 5 });
      assert.deepEqual(perKey(await store.read("t", { versions: 10 })), { k0: 5, k1: 5, k2: 5, k3: 5 });
      await store.ensureTable({ name: "t", versions: 1 });
      assert.deepEqual(perKey(await store.read("t", { versions: 10 })), { k0: 1, k1: 1, k2: 1, k3: 1 });
    });

    test("a kill between a checkpoint and its compaction: the restart's rollback and compaction leave each key its N newest", async (t) => {
      const store = await open(t, factory);
      if (!store) return;
      const all = updates(1, 300, 7);
      // Uninterrupted: checkpoints (with compaction) at 100, 200 and 300.
      await store.ensureTable({ name: "clean", versions: 3 });
      for (let s = 0; s < 300; s += 50) {
        await store.writeBatch("clean", all.slice(s, s + 50));
        if ((s + 50) % 100 === 0) await store.compact("clean", s + 50);
      }
      // Killed: checkpoint at 100 compacted; checkpoint at 250 written but the process died before
      // compacting, after writing 20 more updates.
      await store.ensureTable({ name: "killed", versions: 3 });
      await store.writeBatch("killed", all.slice(0, 100));
      await store.compact("killed", 100);
      await store.writeBatch("killed", all.slice(100, 250));
      await store.writeBatch("killed", all.slice(250, 270));
      assert.ok((await everything(store, "killed")).length > 7 * 3 + 150, "stale versions are stored");
      assert.deepEqual(
        perKey(await store.read("killed", { versions: 100 })),
        perKey(await everything(store, "clean")),
      );
      // The restart: roll back to the checkpoint at 250, compact at it, then the replay and the rest.
      await store.rollbackTo("killed", 250);
      await store.compact("killed", 250);
      const compacted = await everything(store, "killed");
      assert.deepEqual(Object.values(perKey(compacted)), [3, 3, 3, 3, 3, 3, 3]);
      assert.deepEqual(
        compacted.map((v) => v.value),
        (await store.read("killed", { versions: 3 })).map((v) => v.value),
      );
      await store.writeBatch("killed", all.slice(250, 300));
      await store.compact("killed", 300);
      assert.deepEqual(await everything(store, "killed"), await everything(store, "clean"));
      // A kill after the final checkpoint (300) and before its compaction: the restart has nothing
      // to replay and compacts at 300.
      await store.ensureTable({ name: "final", versions: 3 });
      await store.writeBatch("final", all.slice(0, 150));
      await store.compact("final", 150);
      await store.writeBatch("final", all.slice(150, 300));
      await store.rollbackTo("final", 300);
      await store.compact("final", 300);
      assert.deepEqual(await everything(store, "final"), await everything(store, "clean"));
    });

    test("exactly once: checkpoints, a crash and a replay end with the table of an uninterrupted run", async (t) => {
      const store = await open(t, factory);
      if (!store) return;
      const all = updates(1, 400, 13);
      // Uninterrupted: batches of 25, a checkpoint (compact) every 100 updates and at the end.
      await store.ensureTable({ name: "clean", versions: 3 });
      for (let s = 0; s < all.length; s += 25) {
        await store.writeBatch("clean", all.slice(s, s + 25));
        if ((s + 25) % 100 === 0) await store.compact("clean", await store.lastSeq("clean"));
      }
      // Crashing run: other batch sizes; checkpoints at 90 and 210; a crash at 290 (rolled back
      // to 210) and the replay from there; a retried batch; a final checkpoint.
      await store.ensureTable({ name: "crashy", versions: 3 });
      const w = (from: number, to: number) => store.writeBatch("crashy", all.slice(from - 1, to));
      await w(1, 45);
      await w(46, 90);
      await store.compact("crashy", 90);
      await w(91, 170);
      await w(171, 210);
      await store.compact("crashy", 210);
      await w(211, 290);
      await store.rollbackTo("crashy", 210); // restart from the checkpoint at 210
      await w(211, 300);
      await w(211, 300); // retried after an ambiguous failure
      await w(301, 400);
      await store.compact("crashy", 400);
      const clean = await everything(store, "clean");
      assert.equal(clean.length, 13 * 3);
      assert.deepEqual(await everything(store, "crashy"), clean);
      assert.equal(await store.lastSeq("crashy"), 400);
    });

    test("many keys: 20,000 updates over 5,000 keys in batches of 1,000", async (t) => {
      const store = await open(t, factory);
      if (!store) return;
      await store.ensureTable({ name: "big", versions: 2 });
      const n = 20_000;
      const keys = 5_000;
      const mk = (seq: number): TableUpdate => ({
        key: `user-${(seq - 1) % keys}`,
        value: { user: (seq - 1) % keys, count: Math.ceil(seq / keys) },
        eventTime: T0 + seq,
        topic: "events",
        partition: seq % 3,
        offset: seq,
        seq,
      });
      for (let s = 1; s <= n; s += 1000) {
        const batch: TableUpdate[] = [];
        for (let i = s; i < s + 1000; i++) batch.push(mk(i));
        await store.writeBatch("big", batch);
      }
      await store.compact("big", n);
      const latest = await store.read("big");
      assert.equal(latest.length, keys);
      assert.ok(latest.every((v) => v.version === 4 && (v.value as { count: number }).count === 4));
      assert.equal((await everything(store, "big")).length, keys * 2);
      assert.deepEqual(
        (await store.read("big", { key: "user-4321", versions: 9 })).map((v) => [v.version, v.eventTime]),
        [
          [4, T0 + 15_000 + 4322],
          [3, T0 + 10_000 + 4322],
        ],
      );
    });

    test("tables: ensureTable is idempotent, tables are independent, listTables lists them", async (t) => {
      const store = await open(t, factory);
      if (!store) return;
      assert.deepEqual(await store.listTables(), []);
      await store.ensureTable({ name: "user_interactions", versions: 3 });
      await store.ensureTable({ name: "property_interactions", versions: 3 });
      await store.ensureTable({ name: "user_interactions", versions: 3 });
      assert.deepEqual(await store.listTables(), ["property_interactions", "user_interactions"]);
      await store.writeBatch("user_interactions", updates(1, 10));
      await store.writeBatch("property_interactions", updates(1, 4));
      await store.rollbackTo("property_interactions", 2);
      assert.equal(await store.lastSeq("user_interactions"), 10);
      assert.equal(await store.lastSeq("property_interactions"), 2);
      assert.equal(typeof store.location, "string");
    });

    test("errors: unknown tables and bad names are USAGE errors naming the tables", async (t) => {
      const store = await open(t, factory);
      if (!store) return;
      await store.ensureTable({ name: "known", versions: 1 });
      await rejectsWith(store.read("unknown"), "USAGE", /unknown table unknown .*known/);
      await rejectsWith(store.writeBatch("unknown", updates(1, 2)), "USAGE", /unknown table/);
      await rejectsWith(store.lastSeq("unknown"), "USAGE", /unknown table/);
      for (const bad of [
        "",
        "1abc",
        "a-b",
        "a b",
        "weir_tables",
        "x_latest",
        "drop table x;--",
        "a".repeat(49),
      ]) {
        await rejectsWith(store.ensureTable({ name: bad, versions: 1 }), "USAGE", /table name/);
      }
      await rejectsWith(store.ensureTable({ name: "ok", versions: 0 }), "USAGE", /versions/);
      await rejectsWith(store.ensureTable({ name: "KNOWN", versions: 1 }), "USAGE", /known/);
      assert.deepEqual(await store.listTables(), ["known"]);
    });
  });
}
