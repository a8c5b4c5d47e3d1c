/**
 * TikTok category analytics (shared/seeds/001): per user and category, the average watch time, the
 * number of videos viewed and the likes, kept up to date on every event — the seed's Spark query in
 * `complete` output mode, whose result table always holds the current value of every key.
 *
 *   {"ts":"2022-12-11T00:00:00.000Z","user_id":5000004,"category":"Dance","watch_time_s":11,"liked":0}
 *
 * - versioned table `tiktok_user_category`, key `<user_id>|<category>` (e.g. `5000004|Dance`):
 *   {"user_id", "category", "avgWatchTime", "totalViewed", "likes"}, the newest version per key is
 *   the current value, the `versions` before it its history;
 * - lake dataset `tiktok_events` (JSON lines): every valid watch event, as the seed writes its
 *   stream to S3 as JSON;
 * - lake dataset `tiktok_user_category_updates` (CSV): every update of the table as a row, with
 *   `updated_at` (the event time of the view that made it), the seed's CSV output;
 * - dead letters (malformed lines: bad JSON, a missing field, a string id, an unknown category,
 *   `liked` other than 0 or 1) on topic `tiktok.dlq` and, with the lake on, dataset
 *   `tiktok_dead_letters`.
 *
 * `lake: false` keeps only the table; `versions` sets how many versions per key it keeps.
 */
import { pipeline, schema, type PipelineDefinition } from "../../src/index.js";
import { TIKTOK_CATEGORIES, TIKTOK_TOPIC, type TikTokCategory } from "../../src/generate/tiktok.js";

export { TIKTOK_CATEGORIES, TIKTOK_TOPIC };

export const WatchEvent = schema.object({
  ts: schema.timestamp(),
  user_id: schema.int(),
  category: schema.oneOf(TIKTOK_CATEGORIES),
  watch_time_s: schema.int(),
  liked: schema.oneOf([0, 1]),
});

/** A row of `tiktok_user_category`: the seed's columns. */
export interface UserCategoryStats {
  user_id: number;
  category: TikTokCategory;
  /** Mean watch time in seconds (total seconds / totalViewed). */
  avgWatchTime: number;
  totalViewed: number;
  likes: number;
}

export interface TikTokOptions {
  /** Land the events (JSON lines) and the table's updates (CSV) in the lake. */
  lake: boolean;
  /** Versions kept per key in table tiktok_user_category. */
  versions: number;
}

export const TIKTOK_DEFAULTS: TikTokOptions = Object.freeze({ lake: true, versions: 3 });

interface Acc {
  user_id: number;
  category: TikTokCategory;
  watchSeconds: number;
  viewed: number;
  likes: number;
}

export function tiktok(options: Partial<TikTokOptions> = {}): PipelineDefinition {
  const o = { ...TIKTOK_DEFAULTS, ...options };
  return pipeline(
    "tiktok",
    (p) => {
      const views = p.source(TIKTOK_TOPIC, { schema: WatchEvent, eventTime: (e) => e.ts });
      if (o.lake) views.toLake("tiktok_events", { format: "jsonl" });

      const stats = views
        .keyBy((e) => `${e.user_id}|${e.category}`, { name: "by-user-category" })
        .aggregate<Acc, UserCategoryStats>(
          {
            init: () => ({ user_id: 0, category: "Dance", watchSeconds: 0, viewed: 0, likes: 0 }),
            add: (acc, e) => {
              acc.user_id = e.user_id;
              acc.category = e.category;
              acc.watchSeconds += e.watch_time_s;
              acc.viewed += 1;
              acc.likes += e.liked;
              return acc;
            },
            result: (acc) => ({
              user_id: acc.user_id,
              category: acc.category,
              avgWatchTime: acc.watchSeconds / acc.viewed,
              totalViewed: acc.viewed,
              likes: acc.likes,
            }),
          },
          { name: "user-category-stats" },
        );

      const updates = stats
        .toStream({ name: "stats-updates" })
        .map(({ value }) => value, { name: "stats-row" });
      updates.toTable("tiktok_user_category", { versions: o.versions });
      if (o.lake) {
        updates
          .map((s, ctx) => ({ ...s, updated_at: new Date(ctx.timestamp) }), { name: "with-updated-at" })
          .toLake("tiktok_user_category_updates", { format: "csv" });
      }
    },
    { deadLettersToLake: o.lake },
  );
}

export default tiktok();
