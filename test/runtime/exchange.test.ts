/**
 * The exchange at a keyBy (operators/exchange.ts): N partition tasks, each running the whole graph,
 * with an in-memory router in place of Kafka's repartition topics. The outputs over the N tasks must
 * be those of one plain task fed every record; Dates, headers and record coordinates cross; the
 * receivers' watermark is the lowest over the senders; a restored task carries on as if never stopped.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { pipeline, schema, windows, type PipelineDefinition, type RecordContext } from "../../src/index.js";
import { Task, type TaskState } from "../../src/runtime/task.js";
import type { OutputCollector } from "../../src/operators/types.js";
import type { RecordHeader } from "../../src/log/types.js";
import { Partitioner } from "../../src/log/partitioner.js";
import { repartitionTopic } from "../../src/operators/exchange.js";
import { decodeJsonValue, valueToJson } from "../../src/util/json-value.js";

// ---------------------------------------------------------------------------------------------
// Harness

/** One input record, with the partition and offset it has in the input topic. */
interface InputRecord {
  partition: number;
  offset: number;
  timestamp: number;
  line: string;
  headers?: RecordHeader[];
}

/** A seeded PRNG (mulberry32): the same schedule and input on every run. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

type Router = (
  topic: string,
  key: string | null,
  value: string,
  timestamp: number,
  partition?: number,
) => boolean;

/** What one task wrote: per topic [key, value] pairs, table upserts, lake rows, and everything in order. */
class Outputs implements OutputCollector {
  readonly topics = new Map<string, Array<[string | null, string]>>();
  readonly tables = new Map<string, Array<[string, string]>>();
  readonly lake = new Map<string, string[]>();
  /** Every output of the task in the order written (what a restored task must reproduce exactly). */
  readonly log: string[] = [];

  constructor(private readonly route: Router = () => false) {}

  append(topic: string, key: string | null, value: string, timestamp: number, partition?: number): void {
    if (this.route(topic, key, value, timestamp, partition)) return;
    assert.equal(partition, undefined, `only repartition topics are written with a partition (${topic})`);
    push(this.topics, topic, [key, value]);
    this.log.push(JSON.stringify(["append", topic, key, value]));
  }

  upsert(table: string, key: string, value: unknown, _ctx: RecordContext, seq: number): void {
    push(this.tables, table, [key, JSON.stringify(value)]);
    this.log.push(JSON.stringify(["upsert", table, key, value, seq]));
  }

  land(dataset: string, row: unknown): void {
    push(this.lake, dataset, JSON.stringify(row));
    this.log.push(JSON.stringify(["land", dataset, row]));
  }
  deliver(step: string, record: { id: string }): void {
    this.log.push(JSON.stringify(["deliver", step, record.id]));
  }
}

function push<T>(m: Map<string, T[]>, k: string, v: T): void {
  let list = m.get(k);
  if (list === undefined) m.set(k, (list = []));
  list.push(v);
}

/**
 * N partition tasks and the repartition topics between them: per topic, one FIFO queue per
 * partition, records placed as Kafka's default partitioner would (or where the sender says), and
 * partition q read by task q.
 */
class Cluster {
  readonly tasks: Task[] = [];
  readonly outputs: Outputs[] = [];
  readonly queues = new Map<string, Array<Array<{ line: string; timestamp: number }>>>();
  private readonly exchangeOffsets = new Map<string, number[]>();
  private readonly partitioner: Partitioner;

  constructor(
    readonly definition: PipelineDefinition,
    readonly n: number,
    /** Deliver each partition's queued frames as one record, joined by newlines (as Kafka packs them). */
    readonly packed = false,
  ) {
    this.partitioner = new Partitioner(n);
    for (let q = 0; q < n; q++) {
      const out = new Outputs((topic, key, value, timestamp, partition) =>
        this.route(topic, key, value, timestamp, partition),
      );
      this.outputs.push(out);
      this.tasks.push(new Task(definition.graph, out, { exchange: { task: q, tasks: n } }));
    }
    for (const topic of this.tasks[0].exchangeTopics()) {
      this.queues.set(
        topic,
        Array.from({ length: n }, () => []),
      );
      this.exchangeOffsets.set(topic, new Array<number>(n).fill(0));
    }
  }

  private route(topic: string, key: string | null, value: string, timestamp: number, partition?: number) {
    const queues = this.queues.get(topic);
    if (queues === undefined) return false;
    if (partition === undefined)
      assert.notEqual(key, null, "a keyed record of a repartition topic has a key");
    const p = partition ?? this.partitioner.partitionFor(key);
    assert.ok(Number.isInteger(p) && p >= 0 && p < this.n, `partition ${p} of ${topic}`);
    queues[p].push({ line: value, timestamp });
    return true;
  }

  /** Feed task q records of its own input partition (q), in order. */
  feed(q: number, topic: string, records: readonly InputRecord[]): void {
    for (const r of records) {
      assert.equal(r.partition, q);
      this.tasks[q].processLine(topic, r.partition, r.offset, r.timestamp, r.line, r.headers);
    }
  }

  broadcast(): boolean {
    let sent = false;
    for (const t of this.tasks) if (t.broadcastWatermarks()) sent = true;
    return sent;
  }

  pending(): number {
    let n = 0;
    for (const parts of this.queues.values()) for (const q of parts) n += q.length;
    return n;
  }

  /** Deliver queued repartition records (partition q to task q) until every queue is empty. */
  deliver(): number {
    let delivered = 0;
    while (this.pending() > 0) {
      for (const [topic, parts] of this.queues) {
        const offsets = this.exchangeOffsets.get(topic)!;
        for (let p = 0; p < parts.length; p++) {
          const queue = parts[p];
          if (this.packed && queue.length > 0) {
            const pack = queue.splice(0).map((r) => r.line);
            this.tasks[p].processLine(topic, p, offsets[p]++, 0, pack.join("\n"));
            delivered += pack.length;
          }
          while (queue.length > 0) {
            const { line, timestamp } = queue.shift()!;
            this.tasks[p].processLine(topic, p, offsets[p]++, timestamp, line);
            delivered++;
          }
        }
      }
    }
    return delivered;
  }

  /** Broadcast and deliver until nothing moves. */
  settle(): void {
    for (;;) {
      const sent = this.broadcast();
      const delivered = this.deliver();
      if (!sent && delivered === 0) return;
    }
  }

  /** End of every input: broadcast +infinity, deliver until quiet; every exchange must be complete. */
  end(): void {
    for (const t of this.tasks) t.endOfInput();
    this.settle();
    for (let q = 0; q < this.n; q++)
      assert.ok(this.tasks[q].exchangesComplete(), `task ${q}: exchanges complete`);
  }

  /** Simulate a restart of task q from `state` (outputs kept, queues as they stand). */
  restart(q: number, state: TaskState): void {
    const task = new Task(this.definition.graph, this.outputs[q], { exchange: { task: q, tasks: this.n } });
    task.restore(state);
    this.tasks[q] = task;
  }
}

/** Split records by input partition, keeping their order. */
function byPartition(records: readonly InputRecord[], n: number): InputRecord[][] {
  const parts: InputRecord[][] = Array.from({ length: n }, () => []);
  for (const r of records) parts[r.partition].push(r);
  return parts;
}

/**
 * Interleave the N tasks: each round feeds every task a small batch of its partition (sizes from the
 * seeded schedule) and broadcasts its watermarks, then delivers the repartition queues until they
 * are empty. `between(round)` runs after the round's feeding, before its delivery.
 */
function runCluster(
  definition: PipelineDefinition,
  n: number,
  topic: string,
  records: readonly InputRecord[],
  options: { seed?: number; packed?: boolean; between?: (round: number, c: Cluster) => void } = {},
): Cluster {
  const c = new Cluster(definition, n, options.packed);
  feedCluster(c, topic, records, options);
  c.end();
  return c;
}

/** The rounds of runCluster, on a cluster that may already have run (no end of input). */
function feedCluster(
  c: Cluster,
  topic: string,
  records: readonly InputRecord[],
  options: { seed?: number; between?: (round: number, c: Cluster) => void } = {},
): void {
  const n = c.n;
  const parts = byPartition(records, n);
  const next = new Array<number>(n).fill(0);
  const random = rng(options.seed ?? 7);
  for (let round = 0; next.some((i, q) => i < parts[q].length); round++) {
    for (let q = 0; q < n; q++) {
      const size = 1 + Math.floor(random() * 25);
      c.feed(q, topic, parts[q].slice(next[q], next[q] + size));
      next[q] += size;
      c.tasks[q].broadcastWatermarks();
    }
    options.between?.(round, c);
    c.deliver();
  }
}

/** One plain task (no exchange) fed every record in order, each with its partition and offset. */
function runPlain(definition: PipelineDefinition, topic: string, records: readonly InputRecord[]): Outputs {
  const out = new Outputs();
  const task = new Task(definition.graph, out);
  for (const r of records) task.processLine(topic, r.partition, r.offset, r.timestamp, r.line, r.headers);
  task.endOfInput();
  assert.deepEqual(task.exchangeTopics(), []);
  return out;
}

/** Every output topic, table and lake dataset over the tasks, as sorted multisets. */
function multisets(outs: readonly Outputs[]): Record<string, string[]> {
  const all: Record<string, string[]> = {};
  const add = (name: string, item: string) => (all[name] ??= []).push(item);
  for (const o of outs) {
    for (const [topic, rows] of o.topics) for (const kv of rows) add(`topic ${topic}`, JSON.stringify(kv));
    for (const [table, rows] of o.tables) for (const kv of rows) add(`table ${table}`, JSON.stringify(kv));
    for (const [dataset, rows] of o.lake) for (const row of rows) add(`lake ${dataset}`, row);
  }
  for (const k of Object.keys(all)) all[k].sort();
  return all;
}

// ---------------------------------------------------------------------------------------------
// Input

const Ev = schema.object({
  user: schema.int(),
  property: schema.int(),
  at: schema.timestamp(),
  kind: schema.string(),
});

const T0 = Date.UTC(2021, 10, 30);

/**
 * `count` events two seconds apart (about 100 minutes of event time), up to `jitterMs` out of order;
 * with `veryLate`, that share of events is 10 minutes behind. Input partition: user modulo n (like a
 * Kafka topic keyed by user); a few malformed lines go to partition index modulo n.
 */
function makeEvents(
  count: number,
  n: number,
  options: { seed: number; jitterMs?: number; veryLate?: number; startMs?: number; firstOffset?: number },
): InputRecord[] {
  const random = rng(options.seed);
  const jitter = options.jitterMs ?? 60_000;
  const offsets = new Array<number>(n).fill(options.firstOffset ?? 0);
  const out: InputRecord[] = [];
  for (let i = 0; i < count; i++) {
    let t = (options.startMs ?? T0) + i * 2000 - Math.floor(random() * jitter);
    if (options.veryLate !== undefined && random() < options.veryLate) t -= 600_000;
    const user = 1 + Math.floor(random() * 40);
    const r = random();
    let line: string;
    let partition = user % n;
    if (r < 0.004) {
      line = `not json ${i}`;
      partition = i % n;
    } else {
      const kind = r < 0.01 ? "boom" : r < 0.3 ? "view" : "click";
      const at = new Date(t).toISOString().replace("T", " ").slice(0, 23);
      line = JSON.stringify({ user, property: 1 + Math.floor(random() * 25), at, kind });
    }
    const headers = i % 7 === 0 ? [{ key: "trace", value: Buffer.from(`t-${i}`) }] : undefined;
    out.push({ partition, offset: offsets[partition]++, timestamp: t, line, headers });
  }
  return out;
}

/**
 * Two keyBy branches (a running count per user with a crossing rule, a count per property, the
 * latter also to a table), a tumbling window per user with final emission (also to the lake), a
 * keyed map that fails for some records, and an unkeyed branch.
 */
function bigPipeline(maxOutOfOrderness: string) {
  return pipeline("xbig", (p) => {
    const ev = p.source("events", { schema: Ev, eventTime: (e) => e.at, maxOutOfOrderness });
    ev.filter((e) => e.kind === "view")
      .map((e) => ({ user: e.user, at: e.at }))
      .to("views");
    ev.keyBy((e) => e.user)
      .count()
      .when((n) => n >= 40)
      .map(({ key, value }) => ({ user: key, n: value }))
      .to("active_users");
    const perProperty = ev
      .keyBy((e) => e.property)
      .count()
      .toStream();
    perProperty.to("property_counts");
    perProperty.toTable("property_table");
    const perMinute = ev
      .keyBy((e) => e.user)
      .window(windows.tumbling("1m"))
      .count()
      .when(() => true, { emit: "final" })
      .map(({ key, window, value }) => ({ user: key, start: window.start, n: value }));
    perMinute.to("per_minute");
    perMinute.toLake("per_minute_lake", { format: "jsonl" });
    // A second exchange after the first: buckets of each user's running count, in 5-minute windows.
    ev.keyBy((e) => e.user)
      .count({ name: "user-count-2" })
      .toStream()
      .keyBy((u) => u.value % 4, { name: "bucket" })
      .window(windows.tumbling("5m"))
      .count()
      .when(() => true, { emit: "final" })
      .map(({ key, window, value }) => ({ bucket: key, start: window.start, n: value }))
      .to("buckets");
    ev.keyBy((e) => `u${e.user}`)
      .map((e, ctx) => {
        if (e.kind === "boom") throw new Error("boom");
        return {
          key: ctx.key,
          at: e.at.getTime(),
          from: [ctx.topic, ctx.partition, ctx.offset],
          trace: ctx.headers?.find((h) => h.key === "trace")?.value.toString() ?? null,
        };
      })
      .to("keyed_map");
  });
}

// ---------------------------------------------------------------------------------------------
// Tests

test("N partition tasks write the same outputs as one plain task (N = 3 and N = 1, frames packed or not)", () => {
  const def = bigPipeline("5m");
  for (const [n, packed] of [
    [3, false],
    [1, false],
    [3, true],
  ] as const) {
    const records = makeEvents(3000, n, { seed: 42 + n });
    const plain = multisets([runPlain(def, "events", records)]);
    let firedBeforeEnd = 0;
    const c = runCluster(def, n, "events", records, {
      packed,
      seed: 3 + n,
      between: (_round, cl) => {
        firedBeforeEnd = cl.outputs.reduce((s, o) => s + (o.topics.get("per_minute")?.length ?? 0), 0);
      },
    });
    const exchanged = multisets(c.outputs);

    assert.deepEqual(
      Object.keys(exchanged).sort(),
      Object.keys(plain).sort(),
      `N = ${n}: the same topics, tables and datasets`,
    );
    for (const name of Object.keys(plain))
      assert.deepEqual(exchanged[name], plain[name], `N = ${n}: ${name}`);

    // The comparison is not vacuous: every branch wrote, windows fired mid-stream, nothing was late.
    for (const name of [
      "topic views",
      "topic active_users",
      "topic property_counts",
      "topic per_minute",
      "topic buckets",
      "topic keyed_map",
      "topic xbig.dlq",
      "table property_table",
      "lake per_minute_lake",
    ])
      assert.ok((plain[name]?.length ?? 0) > 0, `${name} has outputs`);
    assert.equal(plain["topic xbig.late"], undefined, "nothing late");
    assert.ok(firedBeforeEnd > 0, `N = ${n}: windows fired before the end of input`);
    assert.ok(
      plain["topic xbig.dlq"].some((r) => r.includes("step ") && r.includes("boom")),
      "a keyed step's failure is a dead letter",
    );

    // Each key's state lives in exactly one task.
    if (n > 1) {
      const owners = new Map<string, Set<number>>();
      c.outputs.forEach((o, q) => {
        for (const [key] of o.topics.get("property_counts") ?? []) {
          if (!owners.has(key!)) owners.set(key!, new Set());
          owners.get(key!)!.add(q);
        }
      });
      for (const [key, qs] of owners) assert.equal(qs.size, 1, `property ${key} counted in one task`);
      assert.ok(new Set([...owners.values()].map((s) => [...s][0])).size > 1, "keys spread over tasks");
    }
    assert.deepEqual(
      c.tasks[0].exchangeTopics().sort(),
      def.graph.nodes
        .filter((x) => x.kind === "keyBy")
        .map((x) => repartitionTopic("xbig", x.id))
        .sort(),
    );
  }
});

test("a Date (schema timestamp field, or made by a map) crosses the exchange as a Date", () => {
  const Ts = schema.object({ user: schema.int(), at: schema.timestamp() });
  const def = pipeline("xdate", (p) => {
    p.source("in", { schema: Ts, eventTime: (e) => e.at, maxOutOfOrderness: "1h" })
      .map((e) => ({ ...e, later: new Date(e.at.getTime() + 1000), nested: { list: [e.at, 1, "x"] } }))
      .keyBy((e) => e.user)
      .map((e) => {
        assert.ok(e.at instanceof Date, "field at is a Date after the exchange");
        assert.ok(e.later instanceof Date, "field later is a Date after the exchange");
        assert.ok(e.nested.list[0] instanceof Date, "a Date in a nested array is a Date");
        return {
          user: e.user,
          at: e.at.getTime(),
          later: e.later.getTime() - e.at.getTime(),
          nested: e.nested.list[0].toISOString(),
          rest: e.nested.list.slice(1),
        };
      })
      .to("out");
  });
  const offsets = [0, 0];
  const records: InputRecord[] = Array.from({ length: 40 }, (_, i) => {
    const user = i % 5;
    const partition = user % 2;
    const t = T0 + i * 1500;
    const line = JSON.stringify({ user, at: new Date(t).toISOString() });
    return { partition, offset: offsets[partition]++, timestamp: t, line };
  });
  const plain = runPlain(def, "in", records);
  const c = runCluster(def, 2, "in", records);
  assert.equal(plain.topics.get("out")?.length, 40);
  assert.deepEqual(multisets(c.outputs), multisets([plain]));
  assert.equal(plain.topics.get("xdate.dlq"), undefined);
  assert.deepEqual(JSON.parse(plain.topics.get("out")![0][1]), {
    user: 0,
    at: T0,
    later: 1000,
    nested: new Date(T0).toISOString(),
    rest: [1, "x"],
  });
});

test("input lines cross verbatim (newlines, quotes, non-ASCII), and values are rebuilt from them", () => {
  // No schema: the source's value is the parsed line, and nothing before the keyBy changes it.
  const def = pipeline("xraw", (p) => {
    p.source("in", { maxOutOfOrderness: "1h" })
      .filter((e: any) => e.keep !== false)
      .keyBy((e: any) => e.user)
      .map((e: any) => {
        if (e.fail) throw new Error(`fails: ${e.note}`);
        return { user: e.user, note: e.note, nested: e.nested };
      })
      .to("out");
  });
  const notes = ['a "quoted" line', "naïve ☃ 𝄞 emoji 🎉", "tab\there", "back\\slash", "\u2028 separator"];
  const offsets = [0, 0];
  const records: InputRecord[] = Array.from({ length: 60 }, (_, i) => {
    const user = `u${i % 6}`;
    const partition = i % 2; // not by user: most records cross
    const value = { user, note: notes[i % notes.length], nested: { i, list: [i, "x"] }, fail: i % 11 === 5 };
    // Some lines pretty-printed (newlines inside the line), some compact.
    const line = i % 3 === 0 ? JSON.stringify(value, null, 2) : JSON.stringify(value);
    return { partition, offset: offsets[partition]++, timestamp: T0 + i * 1000, line };
  });
  const plain = runPlain(def, "in", records);
  const frames: string[] = [];
  const c = runCluster(def, 2, "in", records, {
    packed: true,
    between: (_round, cl) => {
      for (const parts of cl.queues.values()) for (const q of parts) frames.push(...q.map((r) => r.line));
    },
  });
  const data = frames.filter((f) => f.includes("\n"));
  assert.ok(data.length > 10, `records crossed: ${data.length}`);
  for (const f of data) {
    const head = JSON.parse(f.slice(0, f.indexOf("\n")));
    assert.equal(head[8], 1, "the value is left out: the receiver rebuilds it from the line");
    const line = f.slice(f.indexOf("\n") + 1);
    assert.equal(line.length, head[7]);
    assert.ok(records.some((r) => r.line === line));
  }
  assert.equal(plain.topics.get("out")?.length, 55);
  assert.deepEqual(multisets(c.outputs), multisets([plain]));
  const dlq = c.outputs.flatMap((o) => (o.topics.get("xraw.dlq") ?? []).map(([, v]) => JSON.parse(v)));
  assert.equal(dlq.length, 5);
  for (const d of dlq) {
    const r = records.find((x) => x.partition === d.partition && x.offset === d.offset)!;
    assert.equal(d.raw, r.line, "the dead letter holds the input line exactly");
    assert.match(d.error, /fails: /);
  }
  assert.ok(
    dlq.some((d) => d.raw.includes("\n")),
    "a line with newlines crossed inside a pack",
  );
});

test("packs in the JSON-lines format of earlier versions are still read", () => {
  const def = windowedCounts("xlegacy");
  const c = new Cluster(def, 2);
  const owner = new Partitioner(2).partitionFor("a");
  const topic = c.tasks[0].exchangeTopics()[0];
  const at = Date.parse("2021-11-30T00:00:10Z");
  const raw = JSON.stringify({ user: "a", at: "2021-11-30 00:00:10" });
  const pack = [
    JSON.stringify({
      s: 1 - owner,
      w: null,
      t: at,
      k: "a",
      o: ["in", 1 - owner, 0],
      r: raw,
      d: 1,
      v: { user: "a", at: { $date: at } },
    }),
    JSON.stringify({ s: 1 - owner, e: 1 }),
    JSON.stringify({ s: owner, e: 1 }),
  ].join("\n");
  c.tasks[owner].processLine(topic, owner, 0, 0, pack);
  assert.deepEqual(
    c.outputs[owner].topics.get("out")?.map(([, v]) => JSON.parse(v)),
    ["a@00:00=1"],
  );
  assert.equal(c.tasks[owner].exchangesComplete(), true);
});

/** Per user, 1-minute counts emitted when the window closes, as "user@HH:MM=n" on topic `out`. */
function windowedCounts(name: string): PipelineDefinition {
  const Tw = schema.object({ user: schema.string(), at: schema.timestamp() });
  return pipeline(name, (p) => {
    p.source("in", { schema: Tw, eventTime: (e) => e.at, maxOutOfOrderness: 0 })
      .keyBy((e) => e.user)
      .window(windows.tumbling("1m"))
      .count()
      .when(() => true, { emit: "final" })
      .map(({ key, window, value }) => `${key}@${window.start.toISOString().slice(11, 16)}=${value}`)
      .to("out");
  });
}

test("a receiver's watermark is the lowest over its senders; late records go to <pipeline>.late", () => {
  const def = windowedCounts("xwm");
  const c = new Cluster(def, 2);
  const at = (hms: string) => Date.parse(`2021-11-30T${hms}Z`);
  const offsets = [0, 0];
  const rec = (partition: number, user: string, hms: string): InputRecord => ({
    partition,
    offset: offsets[partition]++,
    timestamp: at(hms),
    line: JSON.stringify({ user, at: `2021-11-30 ${hms}` }),
  });
  const owner = new Partitioner(2).partitionFor("a");
  const out = () => c.outputs.flatMap((o) => (o.topics.get("out") ?? []).map(([, v]) => JSON.parse(v)));

  // Task 0 reads user a's events; task 1 has read nothing: no window may close anywhere.
  c.feed(0, "in", [rec(0, "a", "00:00:10"), rec(0, "a", "00:01:30"), rec(0, "a", "00:05:00")]);
  c.settle();
  assert.deepEqual(out(), []);
  assert.equal(c.tasks[owner].watermark() < at("00:00:00"), true);
  assert.equal(c.tasks[owner].exchangesComplete(), false);

  // Task 1's watermark moves (no records): nothing fires until its broadcast is delivered.
  c.tasks[1].advanceWatermark(at("00:03:00"));
  assert.equal(c.tasks[1].broadcastWatermarks(), true);
  assert.equal(c.tasks[1].broadcastWatermarks(), false, "a watermark is broadcast once");
  assert.equal(
    c.queues.get(c.tasks[0].exchangeTopics()[0])!.every((q) => q.length === 1),
    true,
  );
  assert.deepEqual(out(), []);
  c.deliver();
  assert.deepEqual(out(), ["a@00:00=1", "a@00:01=1"]);
  assert.equal(c.tasks[owner].watermark(), at("00:03:00"));

  // A record of user a read by task 1, in a window that closed at a's receiving task: late there.
  c.feed(1, "in", [rec(1, "a", "00:02:30")]);
  c.settle();
  const late = c.outputs[owner].topics.get("xwm.late") ?? [];
  assert.equal(late.length, 1);
  const envelope = JSON.parse(late[0][1]);
  assert.equal(envelope.raw, JSON.stringify({ user: "a", at: "2021-11-30 00:02:30" }));
  assert.equal(envelope.topic, "in");
  assert.equal(envelope.partition, 1);
  assert.equal(envelope.offset, 0);
  assert.match(envelope.error, /late/);
  assert.equal(c.outputs[1 - owner].topics.get("xwm.late"), undefined);

  c.end();
  assert.deepEqual(out(), ["a@00:00=1", "a@00:01=1", "a@00:05=1"]);
});

test("a data record carries its sender's watermark from before the event (no broadcast needed)", () => {
  const def = windowedCounts("xwm2");
  const c = new Cluster(def, 2);
  const partitioner = new Partitioner(2);
  const owner = partitioner.partitionFor("a");
  // A second user whose records go to the same task as a's.
  const other = ["b", "c", "d", "e", "f", "g", "h"].find((u) => partitioner.partitionFor(u) === owner)!;
  const rec = (partition: number, offset: number, user: string, hms: string): InputRecord => ({
    partition,
    offset,
    timestamp: Date.parse(`2021-11-30T${hms}Z`),
    line: JSON.stringify({ user, at: `2021-11-30 ${hms}` }),
  });
  c.feed(0, "in", [rec(0, 0, "a", "00:00:30"), rec(0, 1, "a", "00:01:10"), rec(0, 2, "a", "00:02:00")]);
  c.feed(1, "in", [rec(1, 0, other, "00:00:40"), rec(1, 1, other, "00:01:20"), rec(1, 2, other, "00:03:00")]);
  c.deliver(); // no broadcasts: the receiver knows 00:01:10 and 00:01:20 from the records' watermarks
  const out = c.outputs[owner].topics.get("out")?.map(([, v]) => JSON.parse(v));
  assert.deepEqual(out, ["a@00:00=1", `${other}@00:00=1`]);
  assert.equal(c.tasks[owner].watermark(), Date.parse("2021-11-30T00:01:10Z"));
});

test("an idle sender is left out of the watermark until it sends again; finished senders do not speak for it", () => {
  const def = windowedCounts("xidle");
  const at = (hms: string) => Date.parse(`2021-11-30T${hms}Z`);
  const rec = (partition: number, offset: number, user: string, hms: string): InputRecord => ({
    partition,
    offset,
    timestamp: at(hms),
    line: JSON.stringify({ user, at: `2021-11-30 ${hms}` }),
  });
  const out = (c: Cluster) =>
    c.outputs.flatMap((o) => (o.topics.get("out") ?? []).map(([, v]) => JSON.parse(v)));

  // Task 1's partition is quiet: task 0's windows wait for it, until it says it is idle.
  const c = new Cluster(def, 3);
  c.feed(0, "in", [rec(0, 0, "a", "00:00:10"), rec(0, 1, "a", "00:02:00")]);
  c.tasks[2].endOfInput(); // a finished sender (+infinity)
  c.settle();
  assert.deepEqual(out(c), [], "an input partition without records holds the windows back");
  assert.equal(c.tasks[1].markIdle(), true);
  assert.equal(c.tasks[1].markIdle(), false, "idleness is broadcast once");
  c.settle();
  assert.deepEqual(out(c), ["a@00:00=1"], "without the idle sender, the watermark is task 0's");

  // The idle sender comes back: its watermark counts again (its record for 00:00:30 is late).
  c.feed(1, "in", [rec(1, 0, "a", "00:00:30"), rec(1, 1, "a", "00:02:30")]);
  c.settle();
  const owner = new Partitioner(3).partitionFor("a");
  assert.equal((c.outputs[owner].topics.get("xidle.late") ?? []).length, 1);
  c.feed(0, "in", [rec(0, 2, "a", "00:05:00")]);
  c.settle();
  assert.deepEqual(out(c), ["a@00:00=1"], "a@00:02 waits for task 1, active again at 00:02:30");
  assert.equal(
    c.tasks[owner].watermark(),
    at("00:02:30"),
    "the returning sender holds it at its own watermark",
  );

  // Only idle and finished senders left: nothing fires (the finished one does not speak for the rest).
  const d = new Cluster(def, 2);
  d.feed(0, "in", [rec(0, 0, "a", "00:00:10")]);
  d.settle();
  d.tasks[0].endOfInput();
  d.tasks[1].markIdle();
  d.settle();
  assert.deepEqual(out(d), []);

  // Every sender quiet (the others' partitions never had a record): the furthest one's watermark.
  const e = new Cluster(def, 3);
  e.feed(0, "in", [rec(0, 0, "a", "00:00:10"), rec(0, 1, "a", "00:02:00")]);
  e.settle();
  for (const task of e.tasks) task.markIdle();
  e.settle();
  assert.deepEqual(out(e), ["a@00:00=1"], "[00:01, 00:02) is empty; [00:02, 00:03) waits for 00:03");
});

test("a task restored from a snapshot mid-stream carries on exactly as the uninterrupted run", () => {
  // A tight bound and some very late events: which records are late depends on the receivers' watermarks.
  const def = bigPipeline("30s");
  const n = 3;
  const records = makeEvents(2000, n, { seed: 9, jitterMs: 20_000, veryLate: 0.02 });
  const uninterrupted = runCluster(def, n, "events", records, { seed: 5 });
  const late = uninterrupted.outputs.reduce((s, o) => s + (o.topics.get("xbig.late")?.length ?? 0), 0);
  assert.ok(late > 0, "some records are late");

  for (const q of [0, 2]) {
    const snap: { state?: TaskState } = {};
    const restarted = runCluster(def, n, "events", records, {
      seed: 5,
      between: (round, c) => {
        if (round !== 12) return;
        // Snapshot with repartition records for this task still queued (they are past its checkpoint).
        assert.ok([...c.queues.values()].some((parts) => parts[q].length > 0));
        const saved = JSON.parse(JSON.stringify(c.tasks[q].snapshot())) as TaskState;
        c.restart(q, saved);
        assert.deepEqual(JSON.parse(JSON.stringify(c.tasks[q].snapshot())), saved);
        snap.state = saved;
      },
    });
    const saved = snap.state;
    assert.ok(saved !== undefined);
    const keyBys = def.graph.nodes.filter((x) => x.kind === "keyBy").map((x) => x.id);
    assert.deepEqual(Object.keys(saved.exchanges ?? {}).sort(), keyBys.sort());
    for (const id of keyBys) {
      const state = saved.exchanges![id];
      assert.ok(!Array.isArray(state));
      const ws: Array<number | null> = state.senders;
      assert.equal(ws.length, n);
      assert.ok(
        ws.every((w) => typeof w === "number" && w > T0),
        `${id}: every sender's watermark is known (${ws.join()})`,
      );
    }
    for (let t = 0; t < n; t++)
      assert.deepEqual(restarted.outputs[t].log, uninterrupted.outputs[t].log, `restart of ${q}: task ${t}`);
  }
});

/**
 * A task's outputs by key: per topic and key, and per table and key, the values in the order
 * written; records without a key (dead letters, late records) and lake rows as sorted multisets.
 */
function byKey(out: Outputs): Record<string, string[]> {
  const groups: Record<string, string[]> = {};
  const add = (group: string, item: string) => (groups[group] ??= []).push(item);
  for (const line of out.log) {
    const entry = JSON.parse(line) as unknown[];
    if (entry[0] === "append")
      add(
        entry[2] === null ? `topic ${entry[1]} (unkeyed)` : `topic ${entry[1]} key ${entry[2]}`,
        String(entry[3]),
      );
    // A table's update numbers count the task's updates of every key: only their order per key is fixed.
    else if (entry[0] === "upsert") add(`table ${entry[1]} key ${entry[2]}`, JSON.stringify(entry[3]));
    else if (entry[0] === "land") add(`lake ${entry[1]} (unkeyed)`, JSON.stringify(entry[2]));
  }
  for (const [group, items] of Object.entries(groups)) if (group.endsWith("(unkeyed)")) items.sort();
  return groups;
}

test("whatever the timing, every task writes the same outputs key by key (the receivers' deterministic release)", () => {
  // A tight bound and very late events: which records are late, and what each window holds when it
  // closes, depend on the receivers' watermarks.
  const def = bigPipeline("30s");
  const n = 3;
  const records = makeEvents(3000, n, { seed: 21, jitterMs: 20_000, veryLate: 0.02 });
  // Batches of other sizes, packed frames, and broadcasts seldom: other arrival orders at the receivers.
  const reference = runCluster(def, n, "events", records, { seed: 5 });
  const timings = [
    runCluster(def, n, "events", records, { seed: 77 }),
    runCluster(def, n, "events", records, { seed: 3, packed: true }),
    runCluster(def, n, "events", records, {
      seed: 13,
      between: (round, c) => {
        if (round % 5 !== 0) c.deliver(); // frames of a few rounds arrive together
      },
    }),
  ];
  const late = reference.outputs.reduce((s, o) => s + (o.topics.get("xbig.late")?.length ?? 0), 0);
  assert.ok(late > 0, "some records are late");
  for (const run of timings)
    for (let t = 0; t < n; t++)
      assert.deepEqual(byKey(run.outputs[t]), byKey(reference.outputs[t]), `task ${t}`);
});

test("values cross as JSON, tagged only when they hold Dates, non-finite numbers, bigints or $-keys", () => {
  const value = {
    at: new Date(T0),
    n: 1,
    s: "x",
    none: null,
    list: [new Date(T0 + 1), 2, [new Date(T0 + 2)], { deep: { at: new Date(T0 + 3) } }],
    obj: { a: [1, 2], b: { c: "d" } },
  };
  const copy = structuredClone(value);
  const { json, tagged } = valueToJson(value);
  assert.equal(tagged, true);
  assert.deepEqual(value, copy, "the value itself is not changed");
  const back = decodeJsonValue(JSON.parse(json)) as typeof value;
  assert.deepEqual(back, value);
  assert.ok(back.at instanceof Date && (back.list[2] as Date[])[0] instanceof Date);
  assert.equal(JSON.stringify(back), JSON.stringify(value));

  // A top-level Date, an array of them, NaN and Infinity, an invalid Date, a bigint, and a
  // user object shaped like a tag.
  const odd = [
    new Date(T0),
    [new Date(T0), new Date(T0 + 5)],
    { x: NaN, y: -Infinity },
    { big: 12345678901234567890n },
    { user: { $date: 5 }, at: new Date(0) },
  ];
  for (const v of odd) {
    const e = valueToJson(v);
    assert.equal(e.tagged, true);
    assert.deepEqual(decodeJsonValue(JSON.parse(e.json)), v);
  }
  const invalid = decodeJsonValue(JSON.parse(valueToJson({ d: new Date(NaN) }).json)) as { d: Date };
  assert.ok(invalid.d instanceof Date && Number.isNaN(invalid.d.getTime()), "an invalid Date stays one");

  // Nothing to tag: plain JSON, and decoding gives the same value.
  const plain = { a: 1, b: [1, { c: "x", d: null }], e: { f: [true, false] }, g: "$date" };
  const e = valueToJson(plain);
  assert.equal(e.tagged, false);
  assert.equal(e.json, JSON.stringify(plain));
  assert.deepEqual(JSON.parse(e.json), plain);
  for (const scalar of [1, "x", null, true])
    assert.deepEqual(valueToJson(scalar), { json: JSON.stringify(scalar), tagged: false });
  assert.deepEqual(valueToJson(undefined), { json: "null", tagged: false });
});

test("more input after the end of input: N partition tasks go on exactly as one plain task", () => {
  const def = bigPipeline("5m");
  const n = 3;
  const first = makeEvents(1500, n, { seed: 11 });
  // The second input begins 10 minutes after the first ended, with its first minutes out of order.
  const second = makeEvents(1500, n, { seed: 12, startMs: T0 + 60 * 60_000, firstOffset: 10_000 });

  const plainOut = new Outputs();
  const plain = new Task(def.graph, plainOut);
  for (const [records, i] of [
    [first, 0],
    [second, 1],
  ] as const) {
    for (const r of records)
      plain.processLine("events", r.partition, r.offset, r.timestamp, r.line, r.headers);
    plain.endOfInput();
    if (i === 0) assert.equal(plain.snapshot().ended, true);
  }

  const c = new Cluster(def, n);
  feedCluster(c, "events", first, { seed: 1 });
  c.end();
  // One task restarts from its snapshot of the ended state before the second input.
  c.restart(1, JSON.parse(JSON.stringify(c.tasks[1].snapshot())) as TaskState);
  let firedBeforeEnd = 0;
  feedCluster(c, "events", second, {
    seed: 2,
    between: (_round, cl) => {
      firedBeforeEnd = cl.outputs.reduce((s, o) => s + (o.topics.get("per_minute")?.length ?? 0), 0);
    },
  });
  c.end();

  const expected = multisets([plainOut]);
  const got = multisets(c.outputs);
  assert.deepEqual(Object.keys(got).sort(), Object.keys(expected).sort());
  for (const name of Object.keys(expected)) assert.deepEqual(got[name], expected[name], name);
  // Not vacuous: the second input's windows fired (some before its end), and none of it was late.
  const secondStart = new Date(T0 + 59 * 60_000).toISOString();
  const perMinute = expected["topic per_minute"].map(
    (kv) => JSON.parse(JSON.parse(kv)[1]) as { start: string },
  );
  assert.ok(
    perMinute.some((r) => r.start > secondStart),
    "windows of the second input fired",
  );
  assert.ok(firedBeforeEnd > perMinute.filter((r) => r.start <= secondStart).length, "fired by watermark");
  assert.equal(expected["topic xbig.late"], undefined, "nothing late");
});
