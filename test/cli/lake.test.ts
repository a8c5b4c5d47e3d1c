// `weir lake list|compact`, run as real processes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { LakeDataset, readManifest } from "../../src/sinks/lake/index.js";
import { hasStackTrace, lines, runCli, tempDataDir } from "./helpers.js";

const T0 = Date.parse("2021-11-30T10:00:00.000Z");
const DAY = 86_400_000;

/** `commits` commits of 10 rows over two days (ids 0..), published as a pipeline would. */
async function land(dataDir: string, name: string, commits: number, options: { keepOpen?: boolean } = {}) {
  const ds = LakeDataset.open(dataDir, { name, format: "parquet", partitionBy: "date" });
  let id = 0;
  for (let c = 1; c <= commits; c++) {
    for (let i = 0; i < 10; i++, id++) {
      const at = T0 + (id % 2) * DAY + id;
      ds.append({ id, at: new Date(at) }, at);
    }
    await ds.publish(c);
  }
  ds.checkpointed(commits);
  if (!options.keepOpen) await ds.close();
  return ds;
}

test("lake list and lake compact; queries see every row exactly once before and after", async (t) => {
  const dir = tempDataDir(t);
  const d = ["--data-dir", dir];
  let r = await runCli(["lake", "list", ...d]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, "");
  assert.match(r.stderr, /no lake datasets/);

  const ds = await land(dir, "clicks", 8);
  r = await runCli(["lake", "list", ...d]);
  assert.equal(r.code, 0, r.stderr);
  const [header, row] = lines(r.stdout);
  assert.match(header, /^DATASET\s+FORMAT\s+PARTITIONS\s+FILES\s+ROWS\s+SIZE\s+COMMIT$/);
  assert.match(row, /^clicks\s+parquet\s+2\s+16\s+80\s+\S+ \S+\s+8$/);

  const sums = [
    "query",
    "SELECT count(*) AS n, count(DISTINCT id) AS ids, sum(id) AS total FROM clicks",
    "--format",
    "csv",
    ...d,
  ];
  r = await runCli(sums);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, "n,ids,total\n80,80,3160\n");

  r = await runCli(["lake", "compact", "clicks", "--target-rows", "25", ...d]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /clicks: 16 -> 4 files \(4 merged files in 2 partitions; 80 rows\)/);
  assert.deepEqual(
    readManifest(ds.dir).files.map((f) => [f.partition, f.rows]),
    [
      ["date=2021-11-30", 25],
      ["date=2021-12-01", 25],
      ["date=2021-11-30", 15],
      ["date=2021-12-01", 15],
    ],
  );
  r = await runCli(sums);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, "n,ids,total\n80,80,3160\n");

  r = await runCli(["lake", "list", "--json", ...d]);
  assert.equal(r.code, 0, r.stderr);
  const [info] = JSON.parse(r.stdout) as { name: string; files: number; rows: number }[];
  assert.deepEqual([info.name, info.files, info.rows], ["clicks", 4, 80]);

  r = await runCli(["lake", "compact", "clicks", "--target-rows", "25", ...d]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /nothing to compact/);
});

test("lake compact refuses while a pipeline holds the dataset, and names unknown datasets", async (t) => {
  const dir = tempDataDir(t);
  const d = ["--data-dir", dir];
  const ds = await land(dir, "busy", 3, { keepOpen: true });
  t.after(() => ds.close());
  let r = await runCli(["lake", "compact", "busy", ...d]);
  assert.equal(r.code, 1);
  assert.deepEqual(lines(r.stderr), [
    `weir: lake dataset busy is in use by process ${process.pid} (a running pipeline writes it); stop the pipeline before compacting, or compact later`,
  ]);
  assert.equal(readManifest(ds.dir).files.length, 6, "nothing changed");

  r = await runCli(["lake", "compact", "nope", ...d]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^weir: no lake dataset nope in .* \(datasets: busy\)\n$/);
  assert.ok(!hasStackTrace(r.stderr));

  r = await runCli(["lake", "compact", "busy", "--target-rows", "0", ...d]);
  assert.equal(r.code, 2);
});
