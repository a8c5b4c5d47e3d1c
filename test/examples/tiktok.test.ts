import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { TestDriver } from "../../src/index.js";
import { TikTokGenerator } from "../../src/generate/tiktok.js";
import { tiktok } from "../../examples/tiktok/pipeline.js";
import {
  hasStackTrace,
  lines as outputLines,
  queryRow,
  runCli,
  tempDataDir,
  tempDir,
} from "../cli/helpers.js";
import { parseLines, parseView } from "../helpers/records.js";

const TOPIC = "tiktok_category";

/**
 * The reference: group the valid views by (user, category) with plain loops. Watch times are whole
 * seconds, so the sums are exact integers and the averages (one division) compare exactly.
 */
function reference(lines: readonly string[]) {
  const groups = new Map<
    string,
    { user_id: number; category: string; sum: number; n: number; likes: number }
  >();
  const { valid, dead } = parseLines(lines, parseView);
  for (const v of valid) {
    const key = `${v.user_id}|${v.category}`;
    let g = groups.get(key);
    if (g === undefined)
      groups.set(key, (g = { user_id: v.user_id, category: v.category, sum: 0, n: 0, likes: 0 }));
    g.sum += v.watch_time_s;
    g.n += 1;
    g.likes += v.liked;
  }
  const table = new Map<string, unknown>();
  for (const [key, g] of groups) {
    table.set(key, {
      user_id: g.user_id,
      category: g.category,
      avgWatchTime: g.sum / g.n,
      totalViewed: g.n,
      likes: g.likes,
    });
  }
  return { table, valid, dead, versions: new Map([...groups].map(([k, g]) => [k, g.n])) };
}

const sorted = <V>(m: Map<string, V>): Array<[string, V]> =>
  [...m.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));

test("the seed's console sample: avgWatchTime, totalViewed and likes per user and category", () => {
  const t = new TestDriver(tiktok());
  const at = (s: number) => new Date(Date.UTC(2022, 11, 11, 1, 33, s)).toISOString();
  t.sendAll(TOPIC, [
    { ts: at(0), user_id: 5000004, category: "Fitness/sports", watch_time_s: 27, liked: 0 },
    { ts: at(3), user_id: 5000004, category: "Home reno/DIY", watch_time_s: 12, liked: 1 },
    { ts: at(6), user_id: 5000004, category: "Home reno/DIY", watch_time_s: 21, liked: 0 },
    { ts: at(9), user_id: 5000001, category: "Cooking/recipes", watch_time_s: 6, liked: 0 },
    { ts: at(12), user_id: 5000001, category: "Cooking/recipes", watch_time_s: 7, liked: 0 },
  ]).end();
  assert.deepEqual(sorted(t.tableValues("tiktok_user_category")), [
    [
      "5000001|Cooking/recipes",
      { user_id: 5000001, category: "Cooking/recipes", avgWatchTime: 6.5, totalViewed: 2, likes: 0 },
    ],
    [
      "5000004|Fitness/sports",
      { user_id: 5000004, category: "Fitness/sports", avgWatchTime: 27, totalViewed: 1, likes: 0 },
    ],
    [
      "5000004|Home reno/DIY",
      { user_id: 5000004, category: "Home reno/DIY", avgWatchTime: 16.5, totalViewed: 2, likes: 1 },
    ],
  ]);
  // "complete" mode: every update is a new version; the newest is the current value.
  const versions = t.tableVersions("tiktok_user_category", "5000004|Home reno/DIY");
  assert.deepEqual(
    versions.map((v) => [v.version, v.eventTime, (v.value as { avgWatchTime: number }).avgWatchTime]),
    [
      [2, Date.parse(at(6)), 16.5],
      [1, Date.parse(at(3)), 12],
    ],
  );
  const updates = t.lakeRows("tiktok_user_category_updates");
  assert.equal(updates.length, 5);
  assert.deepEqual(updates[2], {
    user_id: 5000004,
    category: "Home reno/DIY",
    avgWatchTime: 16.5,
    totalViewed: 2,
    likes: 1,
    updated_at: at(6),
  });
  assert.deepEqual(t.lakeRows("tiktok_events")[0], {
    ts: at(0),
    user_id: 5000004,
    category: "Fitness/sports",
    watch_time_s: 27,
    liked: 0,
  });
});

test("5,000 generated views: the table equals a plain group-by over the valid lines", () => {
  const lines = new TikTokGenerator({ seed: 11, users: 150 }).take(5_000);
  const ref = reference(lines);
  assert.ok(ref.dead > 0, "the sample has malformed lines");
  const t = new TestDriver(tiktok());
  t.sendAll(TOPIC, lines).end();

  assert.deepEqual(sorted(t.tableValues("tiktok_user_category")), sorted(ref.table));
  for (const [key, n] of [...ref.versions].slice(0, 50)) {
    const v = t.tableVersions("tiktok_user_category", key);
    assert.equal(v[0].version, n, `one version per view of ${key}`);
  }
  // The lake: every valid view as JSON lines, every update as CSV rows (the last per key = the table).
  assert.deepEqual(t.lakeRows("tiktok_events"), ref.valid);
  const updates = t.lakeRows<Record<string, unknown>>("tiktok_user_category_updates");
  assert.equal(updates.length, ref.valid.length);
  const last = new Map<string, unknown>();
  for (const { updated_at: _at, ...row } of updates) last.set(`${row.user_id}|${row.category}`, row);
  assert.deepEqual(sorted(last), sorted(ref.table));

  // Dead letters: one per malformed line, with its reason and the raw line; nothing else lost.
  const dead = t.deadLetters();
  assert.equal(dead.length, ref.dead);
  for (const d of dead) {
    assert.equal(parseView(d.raw), null);
    assert.equal(d.raw, lines[d.offset]);
    assert.ok(d.error.length > 0);
  }
  assert.equal(t.lakeRows("tiktok_dead_letters").length, ref.dead);
  assert.deepEqual(t.lateRecords(), []);
});

test("a restart from a checkpoint mid-stream ends with the same table", () => {
  const lines = new TikTokGenerator({ seed: 12, users: 40 }).take(3_000);
  const t = new TestDriver(tiktok());
  t.sendAll(TOPIC, lines.slice(0, 1_234));
  t.restart(t.snapshot());
  t.sendAll(TOPIC, lines.slice(1_234)).end();
  assert.deepEqual(sorted(t.tableValues("tiktok_user_category")), sorted(reference(lines).table));
});

test("malformed lines become dead letters with their reason, and the run goes on", () => {
  const t = new TestDriver(tiktok());
  const ts = "2022-12-11T00:00:00.000Z";
  const bad = [
    "1670722392.939,Entertainment,3,0",
    `{"ts":"${ts}","user_id":"5000001","category":"Dance","watch_time_s":3,"liked":0}`,
    `{"ts":"${ts}","user_id":5000001,"category":"Fitness/exc","watch_time_s":3,"liked":0}`,
    `{"ts":"${ts}","user_id":5000001,"category":"Dance","watch_time_s":3,"liked":true}`,
    `{"ts":"${ts}","user_id":5000001,"category":"Dance","liked":0}`,
    `{"ts":"yesterday","user_id":5000001,"category":"Dance","watch_time_s":3,"liked":0}`,
    `{"ts":"${ts}","user_id":5000001,"cat`,
  ];
  t.sendAll(TOPIC, bad);
  t.send(TOPIC, { ts, user_id: 5000001, category: "Dance", watch_time_s: 9, liked: 1 }).end();
  // JSON.parse's own messages differ between Node versions: only their prefix is Weir's.
  const reasons = t
    .deadLetters()
    .map((d) => [d.offset, d.error.replace(/^invalid JSON: .*/, "invalid JSON")]);
  assert.deepEqual(reasons, [
    [0, "invalid JSON"],
    [1, 'field "user_id": expected integer, got string "5000001"'],
    [
      2,
      'field "category": expected one of ["Dance", "Fitness/sports", "Cooking/recipes", "Beauty/skin care", ' +
        '"Home reno/DIY", "Fashion", "Entertainment"], got string "Fitness/exc"',
    ],
    [3, 'field "liked": expected one of [0, 1], got boolean true'],
    [4, 'missing field "watch_time_s"'],
    [5, 'field "ts": unparseable timestamp "yesterday"'],
    [6, "invalid JSON"],
  ]);
  const first = t.deadLetters()[0];
  assert.deepEqual(
    { ...first, error: "" },
    { error: "", raw: bad[0], topic: TOPIC, partition: 0, offset: 0 },
  );
  assert.deepEqual(
    [...t.tableValues("tiktok_user_category")],
    [["5000001|Dance", { user_id: 5000001, category: "Dance", avgWatchTime: 9, totalViewed: 1, likes: 1 }]],
  );
});

test("lake off keeps only the table", () => {
  const t = new TestDriver(tiktok({ lake: false }));
  t.sendAll(TOPIC, new TikTokGenerator({ seed: 1, users: 10 }).take(200)).end();
  assert.ok(t.tableValues("tiktok_user_category").size > 0);
  assert.equal(t.lakeRows("tiktok_events").length, 0);
  assert.equal(t.lakeRows("tiktok_user_category_updates").length, 0);
  assert.equal(t.lakeRows("tiktok_dead_letters").length, 0);
});

test("weir generate tiktok + weir run tiktok --input: table, lake datasets and dead letters end to end", async (t) => {
  const dir = tempDir(t);
  const dataDir = tempDataDir(t);
  const file = join(dir, "tiktok.jsonl");
  const gen = await runCli(["generate", "tiktok", "-o", file, "-n", "3000", "--seed", "5", "--users", "80"]);
  assert.equal(gen.code, 0, gen.stderr);
  assert.match(gen.stderr, /wrote 3,000 tiktok lines/);
  const lines = readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l !== "");
  assert.deepEqual(
    lines,
    new TikTokGenerator({ seed: 5, users: 80 }).take(3000),
    "the file is the generator's",
  );
  const ref = reference(lines);

  const run = await runCli(["run", "tiktok", "--input", file, "--data-dir", dataDir]);
  assert.equal(run.code, 0, run.stderr);
  assert.ok(!hasStackTrace(run.stderr), run.stderr);

  const table = await runCli(["table", "tiktok_user_category", "--format", "json", "--data-dir", dataDir]);
  assert.equal(table.code, 0, table.stderr);
  const rows = outputLines(table.stdout).map(
    (l) => JSON.parse(l) as { key: string; version: number; value: unknown },
  );
  assert.deepEqual(sorted(new Map(rows.map((r) => [r.key, r.value]))), sorted(ref.table));
  assert.deepEqual(
    sorted(new Map(rows.map((r) => [r.key, r.version]))),
    sorted(ref.versions),
    "the version number counts the updates",
  );

  const counts = await queryRow(
    dataDir,
    "SELECT (SELECT count(*) FROM tiktok_events) AS events, " +
      "(SELECT count(*) FROM tiktok_user_category_updates) AS updates, " +
      "(SELECT count(*) FROM tiktok_dead_letters) AS dead, " +
      "(SELECT count(*) FROM (SELECT arg_max(totalViewed, updated_at) FROM tiktok_user_category_updates " +
      "GROUP BY user_id, category)) AS keys",
  );
  assert.deepEqual(counts, {
    events: ref.valid.length,
    updates: ref.valid.length,
    dead: ref.dead,
    keys: ref.table.size,
  });
  // The two datasets are JSON lines and CSV files.
  const files = (dataset: string) =>
    readdirSync(join(dataDir, "lake", dataset), { recursive: true, encoding: "utf8" }).filter((f) =>
      /part-.*\.(jsonl|csv|parquet)$/.test(f),
    );
  assert.ok(files("tiktok_events").length > 0);
  assert.ok(files("tiktok_events").every((f) => f.endsWith(".jsonl")));
  assert.ok(files("tiktok_user_category_updates").every((f) => f.endsWith(".csv")));
  const csv = readFileSync(
    join(dataDir, "lake", "tiktok_user_category_updates", files("tiktok_user_category_updates")[0]),
    "utf8",
  );
  assert.match(csv.split("\n")[0], /^user_id,category,avgWatchTime,totalViewed,likes,updated_at/);

  const dlq = await runCli(["consume", "tiktok.dlq", "--data-dir", dataDir]);
  assert.equal(dlq.code, 0, dlq.stderr);
  const dead = outputLines(dlq.stdout).map(
    (l) => JSON.parse(l) as { error: string; raw: string; offset: number },
  );
  assert.equal(dead.length, ref.dead);
  for (const d of dead) assert.equal(d.raw, lines[d.offset]);
});
