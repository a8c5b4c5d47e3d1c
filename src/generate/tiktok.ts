/**
 * The TikTok mock producer (shared/seeds/001, `tiktokStreamingData_producer.py`): one watch event
 * per line, keyed by the user id,
 *
 *   {"ts":"2022-12-11T00:00:00.000Z","user_id":5000004,"category":"Dance","watch_time_s":11,"liked":0}
 *
 * The seed's producer sends `ts,category,watch_time,liked` as CSV text keyed by the user id (ids
 * like 5000001); here the same fields are a JSON object with the user id inside, so the pipeline
 * can validate it with a schema.
 *
 * - users (ids 5000000, 5000001, ...) have a skewed activity (a few heavy viewers, a long tail) and
 *   their own taste: per-user category weights around the global popularity, with one favourite
 *   category watched three times as often;
 * - watch times are whole seconds, log-normal around each category's typical length (longer for
 *   tutorials than for dance clips), longer in a user's favourite categories, with ~15% quick
 *   swipes (1-3 s), capped at 600 s;
 * - `liked` is 0 or 1: each user has a like rate (3%-25%), higher the longer the video was watched;
 * - event times are in order (no window depends on them); ~0.2% of lines are malformed: cut off
 *   mid-line, the seed's own CSV line, a string user id, `liked` as a JSON boolean, or the
 *   category misspelt as in the seed's console output ("Fitness/exc").
 *
 * Event i has the event time `startTime + floor(i * 60000 / eventsPerMinute)`. The output is a pure
 * function of the options (no Math.random, no wall clock).
 */
import { Random, ZipfSampler, shuffledRange } from "./random.js";
import { checkOption, checkStartAndRate, normal } from "./checks.js";
import { LineGenerator, type GeneratorOptions } from "./types.js";

/** The seed's categories, in a stable order. */
export const TIKTOK_CATEGORIES = [
  "Dance",
  "Fitness/sports",
  "Cooking/recipes",
  "Beauty/skin care",
  "Home reno/DIY",
  "Fashion",
  "Entertainment",
] as const;
export type TikTokCategory = (typeof TIKTOK_CATEGORIES)[number];

/** The seed's topic name. */
export const TIKTOK_TOPIC = "tiktok_category";

/** Share of views per category over all users (same order as TIKTOK_CATEGORIES). */
const POPULARITY = [0.18, 0.12, 0.12, 0.12, 0.1, 0.12, 0.24];
/** Typical (median) watch time per category, seconds. */
const MEDIAN_WATCH_S = [12, 20, 28, 18, 30, 14, 16];
/** How strongly a user's taste departs from the global popularity (log-normal sigma). */
const TASTE_SIGMA = 0.8;
/** A user's favourite category is this many times as likely as its taste alone says. */
const FAVOURITE_BOOST = 3;
/** Spread of one view's watch time around its median (log-normal sigma). */
const WATCH_SIGMA = 0.6;
const SWIPE_SHARE = 0.15;
const MAX_WATCH_S = 600;
/** Activity skew over users (Zipf exponent). */
const USER_ZIPF = 0.6;

export const TIKTOK_GENERATOR_DEFAULTS = Object.freeze({
  seed: 1,
  users: 300,
  /** The first user id; the seed's ids look like 5000001. */
  firstUserId: 5_000_000,
  /** 2022-12-11 00:00:00 UTC: the day of the seed's producer run (ts 1670722392). */
  startTime: Date.UTC(2022, 11, 11, 0, 0, 0),
  /** 300 users each starting a video every 15 s on average. */
  eventsPerMinute: 1_200,
  malformedShare: 0.002,
});

export interface TikTokGeneratorOptions extends GeneratorOptions {
  /** Distinct users (default 300). */
  users?: number;
  /** Share of malformed lines (default 0.002). */
  malformedShare?: number;
}

export class TikTokGenerator extends LineGenerator {
  readonly scenario = "tiktok";
  readonly users: number;
  readonly startTime: number;
  readonly eventsPerMinute: number;
  private readonly malformedShare: number;
  private readonly rng: Random;
  private readonly userZipf: ZipfSampler;
  /** Activity rank -> user index. */
  private readonly byRank: Uint32Array;
  /** Per user, the cumulative category weights (users x categories). */
  private readonly taste: Float64Array;
  /** Per user and category, the multiplier of the watch-time median. */
  private readonly watchFactor: Float64Array;
  private readonly likeRate: Float64Array;
  private index = 0;
  private slotTime = NaN;
  private lastUser = -1;
  private readonly counts = { events: 0, views: 0, likes: 0, malformed: 0 };

  constructor(options: TikTokGeneratorOptions = {}) {
    super();
    const d = TIKTOK_GENERATOR_DEFAULTS;
    this.users = checkOption("tiktok", "users", options.users ?? d.users, 1, 10_000_000);
    this.startTime = options.startTime ?? d.startTime;
    this.eventsPerMinute = options.eventsPerMinute ?? d.eventsPerMinute;
    checkStartAndRate("tiktok", this.startTime, this.eventsPerMinute);
    this.malformedShare = checkOption(
      "tiktok",
      "malformedShare",
      options.malformedShare ?? d.malformedShare,
      0,
      1,
      false,
    );

    const setup = new Random(options.seed ?? d.seed);
    this.rng = setup.fork();
    this.userZipf = new ZipfSampler(this.users, USER_ZIPF);
    this.byRank = shuffledRange(this.users, setup);
    const n = TIKTOK_CATEGORIES.length;
    this.taste = new Float64Array(this.users * n);
    this.watchFactor = new Float64Array(this.users * n);
    this.likeRate = new Float64Array(this.users);
    const w = new Float64Array(n);
    for (let u = 0; u < this.users; u++) {
      const favourite = setup.int(n);
      const attention = Math.exp(0.3 * normal(setup));
      let sum = 0;
      for (let c = 0; c < n; c++) {
        w[c] =
          POPULARITY[c] * Math.exp(TASTE_SIGMA * normal(setup)) * (c === favourite ? FAVOURITE_BOOST : 1);
        sum += w[c];
      }
      let cum = 0;
      for (let c = 0; c < n; c++) {
        const share = w[c] / sum;
        cum += share;
        this.taste[u * n + c] = cum;
        // People watch what they like for longer: +/- with the category's share of their views.
        this.watchFactor[u * n + c] = attention * Math.pow(share / POPULARITY[c], 0.3);
      }
      this.taste[u * n + n - 1] = 1;
      const r = setup.float();
      this.likeRate[u] = 0.03 + 0.22 * r * r;
    }
  }

  get key(): string | null {
    return this.lastUser < 0 ? null : String(TIKTOK_GENERATOR_DEFAULTS.firstUserId + this.lastUser);
  }

  get time(): number {
    return this.slotTime;
  }

  get produced(): number {
    return this.index;
  }

  stats(): Readonly<Record<string, number>> {
    return { ...this.counts };
  }

  describe(): string {
    const first = TIKTOK_GENERATOR_DEFAULTS.firstUserId;
    return (
      `${this.users} users (user_id ${first} to ${first + this.users - 1}), ` +
      `${TIKTOK_CATEGORIES.length} categories, ${+(this.malformedShare * 100).toFixed(2)}% malformed`
    );
  }

  next(): string {
    const i = this.index++;
    const t = this.startTime + Math.floor((i * 60_000) / this.eventsPerMinute);
    this.slotTime = t;
    this.counts.events++;
    const rng = this.rng;
    const u = this.byRank[this.userZipf.sample(rng.float())];
    this.lastUser = u;
    const n = TIKTOK_CATEGORIES.length;
    const pick = rng.float();
    let c = 0;
    while (c < n - 1 && this.taste[u * n + c] <= pick) c++;
    let watch: number;
    if (rng.chance(SWIPE_SHARE)) watch = rng.range(1, 3);
    else {
      const median = MEDIAN_WATCH_S[c] * this.watchFactor[u * n + c];
      watch = Math.min(MAX_WATCH_S, Math.max(1, Math.round(median * Math.exp(WATCH_SIGMA * normal(rng)))));
    }
    const engagement = Math.min(2, watch / MEDIAN_WATCH_S[c]);
    const liked = rng.chance(Math.min(0.9, this.likeRate[u] * engagement)) ? 1 : 0;
    const userId = TIKTOK_GENERATOR_DEFAULTS.firstUserId + u;
    const ts = new Date(t).toISOString();
    const category = TIKTOK_CATEGORIES[c];
    if (rng.chance(this.malformedShare)) return this.malformed(ts, t, userId, category, watch, liked);
    this.counts.views++;
    this.counts.likes += liked;
    return (
      `{"ts":"${ts}","user_id":${userId},"category":"${category}",` +
      `"watch_time_s":${watch},"liked":${liked}}`
    );
  }

  private malformed(
    ts: string,
    t: number,
    userId: number,
    category: string,
    watch: number,
    liked: number,
  ): string {
    this.counts.malformed++;
    const rng = this.rng;
    const line = (fields: Record<string, unknown>) => JSON.stringify(fields);
    switch (rng.int(5)) {
      case 0: {
        // A write cut off mid-line.
        const full = line({ ts, user_id: userId, category, watch_time_s: watch, liked });
        return full.slice(0, 1 + rng.int(full.length - 1));
      }
      case 1:
        // The seed producer's own CSV value: ts (epoch seconds), category, watch time, liked.
        return `${(t / 1000).toFixed(3)},${category},${watch},${liked}`;
      case 2:
        // A client that sends the id as text (integers are never coerced).
        return line({ ts, user_id: String(userId), category, watch_time_s: watch, liked });
      case 3:
        // A client that sends liked as a JSON boolean.
        return line({ ts, user_id: userId, category, watch_time_s: watch, liked: liked === 1 });
      default:
        // A category name no one declared (as truncated in the seed's console output).
        return line({ ts, user_id: userId, category: "Fitness/exc", watch_time_s: watch, liked });
    }
  }
}
