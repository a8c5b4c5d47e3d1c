import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  TIKTOK_CATEGORIES,
  TIKTOK_GENERATOR_DEFAULTS,
  TikTokGenerator,
  createGenerator,
  getScenario,
  scenarioNames,
} from "../../src/generate/index.js";
import { WeirError } from "../../src/errors.js";
import { parseView, type View } from "../helpers/records.js";

describe("tiktok generator", () => {
  it("is registered as scenario tiktok writing topic tiktok_category", () => {
    assert.ok(scenarioNames().includes("tiktok"));
    const s = getScenario("tiktok")!;
    assert.equal(s.topic, "tiktok_category");
    assert.deepEqual(s.extraOptions, ["users"]);
    assert.equal(s.defaultEventsPerMinute, 1200);
    assert.equal(s.fileStartTime, Date.UTC(2022, 11, 11));
    assert.deepEqual(
      createGenerator("tiktok", { seed: 3, users: 50 }).take(100),
      new TikTokGenerator({ seed: 3, users: 50 }).take(100),
    );
  });

  it("is deterministic for a seed and options, and different for another seed", () => {
    const a = new TikTokGenerator({ seed: 42 }).take(20_000);
    assert.deepEqual(new TikTokGenerator({ seed: 42 }).take(20_000), a);
    assert.notDeepEqual(new TikTokGenerator({ seed: 43 }).take(20_000), a);
    assert.notDeepEqual(new TikTokGenerator({ seed: 42, users: 301 }).take(20_000), a);
    const g = new TikTokGenerator({ seed: 42 });
    const pieces = [...g.take(7), ...g.take(19_993)];
    assert.deepEqual(pieces, a, "taking in pieces gives the same stream");
  });

  it("produces plausible watch events: ids, categories, times, watch times and likes in range", () => {
    const users = 200;
    const eventsPerMinute = 1200;
    const g = new TikTokGenerator({ seed: 7, users, eventsPerMinute });
    const n = 50_000;
    const views: View[] = [];
    let malformed = 0;
    let previous = -Infinity;
    const seenUsers = new Set<number>();
    for (let i = 0; i < n; i++) {
      const line = g.next();
      const v = parseView(line);
      const slot = TIKTOK_GENERATOR_DEFAULTS.startTime + Math.floor((i * 60_000) / eventsPerMinute);
      assert.equal(g.time, slot);
      if (v === null) {
        malformed++;
        continue;
      }
      assert.equal(g.key, String(v.user_id), "keyed by the user id");
      const t = Date.parse(v.ts);
      assert.equal(t, slot, "event i at its slot: in order");
      assert.ok(t >= previous);
      previous = t;
      assert.ok(v.user_id >= 5_000_000 && v.user_id < 5_000_000 + users, line);
      assert.ok(v.watch_time_s >= 1 && v.watch_time_s <= 600, line);
      seenUsers.add(v.user_id);
      views.push(v);
    }
    const stats = g.stats();
    assert.equal(stats.events, n);
    assert.equal(stats.malformed, malformed, "every malformed line fails the schema, and only those");
    assert.equal(stats.views, views.length);
    assert.equal(
      stats.likes,
      views.reduce((s, v) => s + v.liked, 0),
    );
    assert.ok(malformed / n > 0.001 && malformed / n < 0.0035, `malformed share ${malformed / n}`);
    assert.ok(seenUsers.size > users * 0.9, `${seenUsers.size} of ${users} users active`);

    // Every category is watched, Entertainment (the most popular) more than Home reno/DIY.
    const perCategory = new Map<string, number>();
    for (const v of views) perCategory.set(v.category, (perCategory.get(v.category) ?? 0) + 1);
    assert.equal(perCategory.size, TIKTOK_CATEGORIES.length);
    assert.ok(perCategory.get("Entertainment")! > perCategory.get("Home reno/DIY")!);

    // Watch times are right-skewed (mean above median) and the like rate is plausible.
    const watch = views.map((v) => v.watch_time_s).sort((a, b) => a - b);
    const mean = watch.reduce((s, x) => s + x, 0) / watch.length;
    assert.ok(mean > watch[watch.length >> 1], `mean ${mean} vs median ${watch[watch.length >> 1]}`);
    const likeRate = stats.likes / views.length;
    assert.ok(likeRate > 0.03 && likeRate < 0.3, `like rate ${likeRate}`);

    // Users have their own tastes: the heaviest users' favourite categories are not all the same.
    const byUser = new Map<number, Map<string, number>>();
    for (const v of views) {
      let m = byUser.get(v.user_id);
      if (m === undefined) byUser.set(v.user_id, (m = new Map()));
      m.set(v.category, (m.get(v.category) ?? 0) + 1);
    }
    const heavy = [...byUser.entries()]
      .sort((a, b) => [...b[1].values()].reduce((s, x) => s + x) - [...a[1].values()].reduce((s, x) => s + x))
      .slice(0, 20);
    const favourites = new Set(heavy.map(([, m]) => [...m.entries()].sort((a, b) => b[1] - a[1])[0][0]));
    assert.ok(favourites.size >= 3, `favourite categories of heavy users: ${[...favourites].join(", ")}`);
  });

  it("makes every kind of malformed line", () => {
    const lines = new TikTokGenerator({ seed: 1, malformedShare: 1 }).take(400);
    assert.ok(lines.every((l) => parseView(l) === null));
    assert.ok(
      lines.some((l) => /^\d+\.\d{3},/.test(l)),
      "the seed's CSV value",
    );
    assert.ok(
      lines.some((l) => l.includes('"user_id":"')),
      "a string user id",
    );
    assert.ok(
      lines.some((l) => /"liked":(true|false)/.test(l)),
      "liked as a boolean",
    );
    assert.ok(
      lines.some((l) => l.includes("Fitness/exc")),
      "an unknown category",
    );
    assert.ok(
      lines.some((l) => l.startsWith("{") && !l.endsWith("}")),
      "a line cut off",
    );
  });

  it("rejects bad options with a WeirError", () => {
    for (const bad of [{ users: 0 }, { users: 1.5 }, { eventsPerMinute: 0 }, { malformedShare: 2 }]) {
      assert.throws(() => new TikTokGenerator(bad), WeirError, JSON.stringify(bad));
    }
  });
});
