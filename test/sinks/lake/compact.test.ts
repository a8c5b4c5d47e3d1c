import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { LakeDataset, compactDataset, readManifest } from "../../../src/sinks/lake/index.js";
import type { LakeFormat } from "../../../src/sinks/types.js";
import { DAY, T0, duck, fileList, tempDataDir } from "./helpers.js";

/** Every id in the files the manifest lists, sorted (duplicates kept). */
async function idsListed(dir: string, format: LakeFormat): Promise<number[]> {
  const files = readManifest(dir).files.map((f) => join(dir, f.path));
  if (files.length === 0) return [];
  const d = await duck();
  try {
    const reader =
      format === "parquet"
        ? `read_parquet(${fileList(files)}, hive_partitioning = false, union_by_name = true)`
        : format === "jsonl"
          ? `read_json(${fileList(files)}, format = 'newline_delimited', hive_partitioning = false, union_by_name = true)`
          : `read_csv(${fileList(files)}, header = true, hive_partitioning = false, union_by_name = true)`;
    const rows = await d.rows(`SELECT id::INTEGER AS id FROM ${reader} ORDER BY id`);
    return rows.map((r) => r.id as number);
  } finally {
    d.close();
  }
}

/** Six commits of 10 rows in two day partitions each: ids 0..59. */
async function smallCommits(dataDir: string, format: LakeFormat): Promise<LakeDataset> {
  const ds = LakeDataset.open(dataDir, { name: `small_${format}`, format, partitionBy: "date" });
  let id = 0;
  for (let commit = 1; commit <= 6; commit++) {
    for (let i = 0; i < 10; i++, id++) {
      const at = T0 + (id % 2) * DAY + id * 1000;
      ds.append({ id, user: `u${id % 7}`, at: new Date(at) }, at);
    }
    await ds.publish(commit);
  }
  return ds;
}

for (const format of ["parquet", "jsonl", "csv"] as LakeFormat[]) {
  test(`compaction merges small ${format} files and keeps every row exactly once`, async (t) => {
    const dataDir = tempDataDir(t);
    const ds = await smallCommits(dataDir, format);
    const dir = ds.dir;
    const all = Array.from({ length: 60 }, (_, i) => i);
    assert.equal(readManifest(dir).files.length, 12);

    await assert.rejects(
      compactDataset(dataDir, ds.name),
      /in use by this process/,
      "refuses while the writer holds it",
    );
    await ds.close();

    const before = readManifest(dir).files;
    const r = await compactDataset(dataDir, ds.name, { targetRows: 1000 });
    // Commit 6 may not be in a checkpoint (publish 6 says only that 5 is): left alone.
    assert.equal(r.recentFiles, 2);
    assert.deepEqual(
      {
        written: r.written,
        partitions: r.partitions,
        filesBefore: r.filesBefore,
        filesAfter: r.filesAfter,
        rows: r.rows,
      },
      { written: 2, partitions: 2, filesBefore: 12, filesAfter: 4, rows: 60 },
    );
    const after = readManifest(dir);
    assert.equal(after.clean, true);
    assert.deepEqual(
      after.files.map((f) => [f.partition, f.commit, f.fromCommit, f.rows]),
      [
        ["date=2021-11-30", 5, 1, 25],
        ["date=2021-12-01", 5, 1, 25],
        ["date=2021-11-30", 6, undefined, 5],
        ["date=2021-12-01", 6, undefined, 5],
      ],
    );
    assert.match(after.files[0].path, /^date=2021-11-30\/part-00000005-c[0-9a-z]+\.\w+$/);
    for (const f of before.filter((f) => f.commit <= 5))
      assert.ok(!existsSync(join(dir, f.path)), `${f.path} deleted`);
    for (const f of after.files) assert.equal(readFileSync(join(dir, f.path)).length, f.bytes);
    assert.deepEqual(await idsListed(dir, format), all);

    // The writer comes back, rolls back to its last checkpoint (5) and carries on.
    const again = LakeDataset.open(dataDir, { name: ds.name, format, partitionBy: "date" });
    t.after(() => again.close());
    await again.rollbackTo({ commit: 5 });
    assert.deepEqual(await idsListed(dir, format), all.slice(0, 50));
    again.append({ id: 50, user: "u1", at: new Date(T0) }, T0);
    await again.publish(6);
    assert.deepEqual(await idsListed(dir, format), all.slice(0, 51));
    // Rolling back into a merged range would need to split a file: refused, nothing removed.
    await assert.rejects(again.rollbackTo({ commit: 3 }), /merges commits 1..5/);
    assert.deepEqual(await idsListed(dir, format), all.slice(0, 51));
  });
}

test("compaction respects the target, leaves big files, and merges the newest commit once it is checkpointed", async (t) => {
  const dataDir = tempDataDir(t);
  const ds = LakeDataset.open(dataDir, { name: "sized", format: "parquet", partitionBy: "none" });
  const rowsPerCommit = [4, 4, 20, 4, 4, 4];
  let id = 0;
  for (const [i, n] of rowsPerCommit.entries()) {
    for (let k = 0; k < n; k++) ds.append({ id: id++ }, T0);
    await ds.publish(i + 1);
  }
  ds.checkpointed(6);
  await ds.close();
  const r = await compactDataset(dataDir, "sized", { targetRows: 10 });
  assert.equal(r.recentFiles, 0);
  assert.deepEqual(
    readManifest(ds.dir).files.map((f) => [f.fromCommit ?? f.commit, f.commit, f.rows]),
    [
      [1, 2, 8], // 4 + 4 (a third would pass 10)
      [3, 3, 20], // big: untouched
      [4, 5, 8],
      [6, 6, 4], // alone: nothing to merge with
    ],
  );
  assert.deepEqual(
    await idsListed(ds.dir, "parquet"),
    Array.from({ length: 40 }, (_, i) => i),
  );
  // Nothing left to do.
  const again = await compactDataset(dataDir, "sized", { targetRows: 10 });
  assert.equal(again.written, 0);
});

test("compaction removes files of an interrupted compaction and refuses unknown datasets", async (t) => {
  const dataDir = tempDataDir(t);
  const ds = await smallCommits(dataDir, "jsonl");
  await ds.close();
  // A compaction that died after renaming its merged file into place, before the manifest swap.
  const stray = join(ds.dir, "date=2021-11-30", "part-00000005-cdeadbeef.jsonl");
  writeFileSync(stray, '{"id":0}\n');
  const r = await compactDataset(dataDir, ds.name);
  assert.equal(r.removedStray, 1);
  assert.ok(!existsSync(stray));
  assert.deepEqual(
    await idsListed(ds.dir, "jsonl"),
    Array.from({ length: 60 }, (_, i) => i),
  );
  await assert.rejects(compactDataset(dataDir, "nope"), /no lake dataset "nope"/);
});
