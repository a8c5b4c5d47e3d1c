import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { appendFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { LakeDataset, readManifest } from "../../../src/sinks/lake/index.js";
import type { LakeFormat } from "../../../src/sinks/types.js";
import { childExecArgv } from "../../cli/helpers.js";
import { DAY, T0, duck, fileList, filesUnder, interaction, tempDataDir } from "./helpers.js";

const fromSources = import.meta.url.endsWith(".ts");
const LAKE_MODULE = new URL(`../../../src/sinks/lake/index.${fromSources ? "ts" : "js"}`, import.meta.url)
  .href;

function dataFiles(dir: string): string[] {
  return filesUnder(dir).filter((f) => /(^|\/)part-[^/]*\.(parquet|jsonl|csv)$/.test(f));
}

/** The absolute paths of the files the manifest lists. */
function listed(ds: LakeDataset): string[] {
  return readManifest(ds.dir).files.map((f) => join(ds.dir, f.path));
}

async function countListed(ds: LakeDataset): Promise<number> {
  const files = listed(ds);
  if (files.length === 0) return 0;
  const d = await duck();
  try {
    const reader =
      ds.format === "parquet"
        ? `read_parquet(${fileList(files)}, hive_partitioning = false)`
        : ds.format === "jsonl"
          ? `read_json(${fileList(files)}, format = 'newline_delimited', hive_partitioning = false)`
          : `read_csv(${fileList(files)}, header = true, hive_partitioning = false)`;
    const [{ n }] = await d.rows(`SELECT count(*)::INTEGER AS n FROM ${reader}`);
    return n as number;
  } finally {
    d.close();
  }
}

test("rows become files only at publish; rollbackTo removes later commits and unpublished rows", async (t) => {
  const dataDir = tempDataDir(t);
  const ds = LakeDataset.open(dataDir, { name: "interactions", format: "parquet", partitionBy: "date" });
  t.after(() => ds.close());
  for (let i = 0; i < 5; i++) ds.append(interaction(i, T0 + i * 1000), T0 + i * 1000);
  assert.deepEqual(dataFiles(ds.dir), [], "nothing is visible before publish");
  assert.equal(readManifest(ds.dir).files.length, 0);
  assert.equal(ds.pendingRows, 5);

  await ds.publish(1);
  assert.deepEqual(ds.position(), { commit: 1 });
  assert.deepEqual(dataFiles(ds.dir), ["date=2021-11-30/part-00000001-0000.parquet"]);
  assert.equal(await countListed(ds), 5);

  for (let i = 5; i < 8; i++) ds.append(interaction(i, T0 + DAY + i), T0 + DAY + i);
  await ds.publish(2);
  assert.equal(await countListed(ds), 8);
  assert.equal(readManifest(ds.dir).files.length, 2);

  // Rows appended after the last publish (what a crash would lose) spill to _tmp.
  for (let i = 0; i < 30_000; i++) ds.append(interaction(i, T0), T0);
  assert.ok(readdirSync(join(ds.dir, "_tmp")).length > 0, "unpublished rows are spilled to _tmp");

  await ds.rollbackTo({ commit: 1 });
  assert.deepEqual(ds.position(), { commit: 1 });
  assert.deepEqual(dataFiles(ds.dir), ["date=2021-11-30/part-00000001-0000.parquet"]);
  assert.deepEqual(
    readManifest(ds.dir).files.map((f) => f.commit),
    [1],
  );
  assert.equal(await countListed(ds), 5, "only commit 1's rows are visible");
  assert.deepEqual(readdirSync(join(ds.dir, "_tmp")), [], "temporary data removed");
  assert.equal(ds.pendingRows, 0);
  assert.ok(!existsSync(join(ds.dir, "date=2021-12-01")), "the emptied partition folder is removed");

  // The replay publishes commit 2 again.
  ds.append(interaction(99, T0 + DAY), T0 + DAY);
  await ds.publish(2);
  assert.equal(await countListed(ds), 6);
  await assert.rejects(ds.publish(2), /already holds commit 2/);
});

test("a crashed writer (kill -9): the next open removes unpublished data, rollbackTo the checkpoint's commits", async (t) => {
  const dataDir = tempDataDir(t);
  const child = join(dataDir, "child.mjs");
  writeFileSync(
    child,
    `const { LakeDataset } = await import(process.argv[2]);
const ds = LakeDataset.open(process.argv[3], { name: "interactions", format: "parquet", partitionBy: "date" });
const T0 = ${T0};
for (let i = 0; i < 100; i++) ds.append({ id: i, date: T0 + i }, T0 + i);
await ds.publish(1);
for (let i = 100; i < 200; i++) ds.append({ id: i, date: T0 + i }, T0 + i);
await ds.publish(2);
for (let i = 200; i < 40200; i++) ds.append({ id: i, date: T0 + i }, T0 + i);
process.kill(process.pid, "SIGKILL");
`,
  );
  const proc = spawn(process.execPath, [...childExecArgv(), child, LAKE_MODULE, dataDir], {
    stdio: "inherit",
  });
  const signal = await new Promise<NodeJS.Signals | null>((r) => proc.on("exit", (_c, s) => r(s)));
  assert.equal(signal, "SIGKILL");
  const dir = join(dataDir, "lake", "interactions");
  assert.ok(readdirSync(join(dir, "_tmp")).length > 0, "the crash left unpublished rows");
  assert.ok(existsSync(join(dir, "_lock")), "and its lock");

  const ds = LakeDataset.open(dataDir, { name: "interactions", format: "parquet", partitionBy: "date" });
  t.after(() => ds.close());
  assert.deepEqual(readdirSync(join(dir, "_tmp")), [], "open removes unpublished rows");
  assert.deepEqual(ds.position(), { commit: 2 });
  assert.equal(await countListed(ds), 200);
  // The engine's last checkpoint recorded commit 1: commit 2 was published after it.
  await ds.rollbackTo({ commit: 1 });
  assert.equal(await countListed(ds), 100);
  const d = await duck(t);
  const ids = await d.rows(
    `SELECT min(id)::INTEGER AS lo, max(id)::INTEGER AS hi FROM read_parquet(${fileList(listed(ds))})`,
  );
  assert.deepEqual(ids, [{ lo: 0, hi: 99 }]);
});

test("open repairs what an interrupted publish leaves: torn manifest line, adds without commit line, unlisted files", async (t) => {
  const dataDir = tempDataDir(t);
  const spec = { name: "events", format: "jsonl", partitionBy: "date" } as const;
  let ds = LakeDataset.open(dataDir, spec);
  ds.append({ id: 1 }, T0);
  await ds.publish(1);
  await ds.close();
  const dir = ds.dir;
  const manifest = join(dir, "_weir_manifest.jsonl");
  // Publish of commit 2 renamed its file into place, wrote its add line, and died before the commit line.
  writeFileSync(join(dir, "date=2021-11-30", "part-00000002-0000.jsonl"), '{"id":2}\n');
  appendFileSync(
    manifest,
    JSON.stringify({
      op: "add",
      commit: 2,
      path: "date=2021-11-30/part-00000002-0000.jsonl",
      rows: 1,
      bytes: 9,
    }) + '\n{"op":"commit","comm',
  );
  writeFileSync(join(dir, "date=2021-11-30", ".part-00000003-0000.jsonl.tmp"), "half");
  writeFileSync(join(dir, "date=2021-11-30", "notes.txt"), "not ours");
  assert.deepEqual(
    readManifest(dir).files.map((f) => f.path),
    ["date=2021-11-30/part-00000001-0000.jsonl"],
    "readers ignore adds without their commit line",
  );

  ds = LakeDataset.open(dataDir, spec);
  t.after(() => ds.close());
  assert.deepEqual(ds.position(), { commit: 1 });
  assert.deepEqual(
    filesUnder(dir).filter((f) => !f.startsWith("_")),
    ["date=2021-11-30/notes.txt", "date=2021-11-30/part-00000001-0000.jsonl"],
  );
  const text = readFileSync(manifest, "utf8");
  assert.ok(text.endsWith("\n") && !text.includes('"commit":2'), text);
  assert.equal(readManifest(dir).clean, true);
});

test("Parquet, JSON lines and CSV are readable by DuckDB with the right rows and types", async (t) => {
  const dataDir = tempDataDir(t);
  const d = await duck(t);
  for (const format of ["parquet", "jsonl", "csv"] as LakeFormat[]) {
    const ds = LakeDataset.open(dataDir, { name: `typed_${format}`, format, partitionBy: "date" });
    for (let i = 0; i < 1000; i++) {
      const at = T0 + i * 60_000;
      ds.append(
        {
          user_id: i,
          score: i + 0.5,
          event: i % 2 === 0 ? "Interaction" : 'say "hi", ok',
          paid: i % 3 === 0,
          date: at, // epoch ms in a time-named column
          seen_at: new Date(at), // a Date
          iso: new Date(at).toISOString(), // an ISO string
          tags: { n: i, list: [1, 2] },
          missing: null,
        },
        at,
      );
    }
    await ds.publish(1);
    const files = listed(ds);
    const reader =
      format === "parquet"
        ? `read_parquet(${fileList(files)}, hive_partitioning = false)`
        : format === "jsonl"
          ? `read_json(${fileList(files)}, format = 'newline_delimited', hive_partitioning = false)`
          : `read_csv(${fileList(files)}, header = true, hive_partitioning = false)`;
    const [{ n, users, scores }] = await d.rows(
      `SELECT count(*)::INTEGER AS n, sum(user_id)::BIGINT AS users, sum(score)::DOUBLE AS scores FROM ${reader}`,
    );
    assert.equal(n, 1000, format);
    assert.equal(users, 499500n, format);
    assert.equal(scores, 500000, format);
    const types = await d.types(`SELECT * FROM ${reader}`);
    if (format === "jsonl") {
      assert.equal(types.date, "BIGINT", "JSON lines keep epoch ms as written");
      assert.match(types.seen_at, /^TIMESTAMP/);
    } else {
      assert.equal(types.user_id, "BIGINT", format);
      assert.equal(types.score, "DOUBLE", format);
      assert.equal(types.paid, "BOOLEAN", format);
      assert.equal(types.date, "TIMESTAMP WITH TIME ZONE", format);
      assert.equal(types.seen_at, "TIMESTAMP WITH TIME ZONE", format);
      assert.equal(types.iso, "TIMESTAMP WITH TIME ZONE", format);
    }
    if (format === "parquet") assert.equal(types.tags, "JSON");
    const [first] = await d.rows(
      `SELECT event, strftime(seen_at, '%Y-%m-%dT%H:%M:%S.%gZ') AS seen FROM ${reader} WHERE user_id = 1`,
    );
    assert.deepEqual(first, { event: 'say "hi", ok', seen: "2021-11-30T00:01:00.000Z" }, format);
    if (format === "csv") {
      const text = readFileSync(files[0], "utf8").split("\n");
      assert.equal(text[0], "user_id,score,event,paid,date,seen_at,iso,tags,missing");
      assert.match(text[1], /^0,0\.5,Interaction,true,2021-11-30T00:00:00\.000Z,2021-11-30T00:00:00\.000Z,/);
    }
    await ds.close();
  }
});

test("poison rows: odd values publish in every format and DuckDB reads them back; unwritable rows are refused before anything is written (issue 14)", async (t) => {
  const dataDir = tempDataDir(t);
  const d = await duck(t);
  const odd: Array<Record<string, unknown>> = [
    { id: 1, text: "x\ud83d", note: "lone high surrogate" },
    { id: 2, text: "\udc00y", nested: { ["k\ud800"]: ["\udfff"] } },
    { id: 3, text: "nul \u0000 and \u0001", ["n\u0000"]: 1, "": "empty name" },
    { id: 4, Text: "case", TEXT: "again" },
    { id: 5, big: 1e20, neg: -1e19, huge: 10n ** 40n, text: 'quote " comma , newline \n cr \r' },
    { id: 6, text: "😀".repeat(100), deep: JSON.parse("[".repeat(500) + "]".repeat(500)) },
  ];
  const nest = (depth: number): unknown => {
    let v: unknown = 1;
    for (let i = 0; i < depth; i++) v = { v };
    return v;
  };
  for (const format of ["parquet", "jsonl", "csv"] as LakeFormat[]) {
    const ds = LakeDataset.open(dataDir, { name: `odd_${format}`, format, partitionBy: "date" });
    for (const row of odd) ds.append(row, T0);
    // Too deep to serialise, and over the maximum record size: refused, nothing written.
    assert.throws(() => ds.append({ id: 7, deep: nest(100_000) }, T0), {
      name: "UnwritableValue",
      message: /^cannot write the row as JSON: Maximum call stack size exceeded/,
    });
    assert.throws(() => ds.append({ id: 8, text: "z".repeat(33 * 1024 * 1024) }, T0), {
      name: "UnwritableValue",
      message: /^a row of 34603026 bytes \(as JSON\) is over the limit of 33554432 bytes \(32 MiB\)$/,
    });
    assert.equal(ds.pendingRows, odd.length);
    await ds.publish(1);
    const files = listed(ds);
    const reader =
      format === "parquet"
        ? `read_parquet(${fileList(files)}, hive_partitioning = false)`
        : format === "jsonl"
          ? `read_json(${fileList(files)}, format = 'newline_delimited', hive_partitioning = false)`
          : `read_csv(${fileList(files)}, header = true, hive_partitioning = false)`;
    const rows = await d.rows(`SELECT id, text FROM ${reader} ORDER BY id`);
    assert.deepEqual(
      rows.map((r) => [Number(r.id), r.text]),
      [
        [1, "x\ufffd"],
        [2, "\ufffdy"],
        [3, "nul \u0000 and \u0001"],
        [4, null],
        [5, 'quote " comma , newline \n cr \r'],
        [6, "😀".repeat(100)],
      ],
      format,
    );
    await ds.close();
  }
});

test("partitions by the event time's UTC date; none writes at the top; NaN goes to Hive's default partition", async (t) => {
  const dataDir = tempDataDir(t);
  const ds = LakeDataset.open(dataDir, { name: "by_day", format: "jsonl", partitionBy: "date" });
  t.after(() => ds.close());
  const times = [T0 - 1, T0, T0 + DAY - 1, T0 + DAY, T0 + 40 * DAY];
  // The row's own fields do not matter: the event time given with it does.
  times.forEach((at, i) => ds.append({ i, date: 0 }, at));
  ds.append({ i: 99 }, Number.NaN);
  await ds.publish(7);
  const byPartition = new Map(readManifest(ds.dir).files.map((f) => [f.partition, f.rows]));
  assert.deepEqual([...byPartition].sort(), [
    ["date=2021-11-29", 1],
    ["date=2021-11-30", 2],
    ["date=2021-12-01", 1],
    ["date=2022-01-09", 1],
    ["date=__HIVE_DEFAULT_PARTITION__", 1],
  ]);
  const lines = readFileSync(join(ds.dir, "date=2021-11-30", "part-00000007-0000.jsonl"), "utf8");
  assert.equal(lines, '{"i":1,"date":0}\n{"i":2,"date":0}\n');

  const flat = LakeDataset.open(dataDir, { name: "flat", format: "csv", partitionBy: "none" });
  t.after(() => flat.close());
  flat.append({ i: 1 }, T0);
  flat.append({ i: 2 }, T0 + 10 * DAY);
  await flat.publish(1);
  assert.deepEqual(dataFiles(flat.dir), ["part-00000001-0000.csv"]);
  assert.equal(readFileSync(join(flat.dir, "part-00000001-0000.csv"), "utf8"), "i\n1\n2\n");
});

test("a publish writes at most maxRowsPerFile rows (and maxBytesPerFile bytes) per file", async (t) => {
  const dataDir = tempDataDir(t);
  const ds = LakeDataset.open(dataDir, {
    name: "rolled",
    format: "parquet",
    partitionBy: "date",
    maxRowsPerFile: 3,
  });
  t.after(() => ds.close());
  for (let i = 0; i < 10; i++) ds.append({ i }, T0 + i);
  ds.append({ i: 10 }, T0 + DAY);
  await ds.publish(1);
  const files = readManifest(ds.dir).files;
  assert.deepEqual(
    files.map((f) => [f.path, f.rows]),
    [
      ["date=2021-11-30/part-00000001-0000.parquet", 3],
      ["date=2021-11-30/part-00000001-0001.parquet", 3],
      ["date=2021-11-30/part-00000001-0002.parquet", 3],
      ["date=2021-11-30/part-00000001-0003.parquet", 1],
      ["date=2021-12-01/part-00000001-0000.parquet", 1],
    ],
  );
  for (const f of files) assert.equal(f.bytes, readFileSync(join(ds.dir, f.path)).length);
  // Rows keep their order within and across the rolled files.
  const d = await duck(t);
  const rows = await d.rows(`SELECT i::INTEGER AS i FROM read_parquet(${fileList(listed(ds).slice(0, 4))})`);
  assert.deepEqual(
    rows.map((r) => r.i),
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  );

  const bySize = LakeDataset.open(dataDir, {
    name: "by_size",
    format: "jsonl",
    partitionBy: "none",
    maxBytesPerFile: 100,
  });
  t.after(() => bySize.close());
  for (let i = 0; i < 10; i++) bySize.append({ text: "x".repeat(40) }, T0); // 53 bytes a line
  await bySize.publish(1);
  assert.deepEqual(
    readManifest(bySize.dir).files.map((f) => f.rows),
    [2, 2, 2, 2, 2],
  );
});

test("positions, empty publishes, wrong commits, locks and odd rows", async (t) => {
  const dataDir = tempDataDir(t);
  const spec = { name: "misc", format: "parquet", partitionBy: "none" } as const;
  const ds = LakeDataset.open(dataDir, spec);
  assert.throws(() => LakeDataset.open(dataDir, spec), /already open in this process/);
  assert.deepEqual(ds.position(), { commit: 0 });
  await ds.publish(3); // nothing appended: no file, no manifest line, position moves
  assert.deepEqual(ds.position(), { commit: 3 });
  assert.equal(readManifest(ds.dir).commits.length, 0);
  await assert.rejects(ds.publish(3), /already holds commit 3/);
  await assert.rejects(ds.publish(2), /already holds commit 3/);

  ds.append(42 as unknown as Record<string, unknown>, T0); // not an object: lands as {"value": 42}
  ds.append({ at: "2021-13-45T00:00:00Z", n: 1n << 70n }, T0); // looks like a timestamp, is not; a bigint
  await ds.publish(4);
  const d = await duck(t);
  const rows = await d.rows(`SELECT value, "at", n::VARCHAR AS n FROM read_parquet(${fileList(listed(ds))})`);
  assert.deepEqual(rows, [
    { value: 42n, at: null, n: null },
    { value: null, at: "2021-13-45T00:00:00Z", n: "1180591620717411303424" },
  ]);
  await ds.close();
  await ds.close(); // idempotent
  assert.throws(() => ds.append({}, T0), /closed/);

  const again = LakeDataset.open(dataDir, spec);
  t.after(() => again.close());
  assert.deepEqual(again.position(), { commit: 4 }, "the position after open is the manifest's last commit");
  assert.throws(
    () => LakeDataset.open(dataDir, { name: "bad-name", format: "parquet", partitionBy: "date" }),
    /must be a SQL name/,
  );
});

test("checkpointed() records that the newest commit is in a checkpoint", async (t) => {
  const dataDir = tempDataDir(t);
  const ds = LakeDataset.open(dataDir, { name: "ck", format: "jsonl", partitionBy: "none" });
  t.after(() => ds.close());
  ds.append({ i: 1 }, T0);
  await ds.publish(1);
  assert.equal(readManifest(ds.dir).checkpointed, 0);
  ds.checkpointed(1);
  assert.equal(readManifest(ds.dir).checkpointed, 1);
  ds.checkpointed(1); // once per commit with files
  await ds.publish(2); // empty
  ds.checkpointed(2);
  const text = readFileSync(join(ds.dir, "_weir_manifest.jsonl"), "utf8");
  assert.equal(text.match(/"op":"checkpoint"/g)?.length, 1);
  await ds.rollbackTo({ commit: 0 });
  assert.equal(readManifest(ds.dir).checkpointed, 0);
  assert.deepEqual(dataFiles(ds.dir), []);
});

test("the hot path stays cheap: 200k appends without publishing keep memory bounded by spilling", async (t) => {
  const dataDir = tempDataDir(t);
  const ds = LakeDataset.open(dataDir, { name: "spill", format: "jsonl", partitionBy: "date" });
  t.after(() => ds.close());
  for (let i = 0; i < 200_000; i++) ds.append(interaction(i, T0 + i * 10), T0 + i * 10);
  const spilled = readdirSync(join(ds.dir, "_tmp"));
  assert.ok(spilled.length > 0);
  await ds.publish(1);
  assert.equal(
    readManifest(ds.dir).files.reduce((s, f) => s + f.rows, 0),
    200_000,
  );
  assert.equal(await countListed(ds), 200_000);
});
