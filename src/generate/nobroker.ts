/**
 * The NoBroker mock producer (shared/seeds/000): property interactions as JSON lines,
 *
 *   {"user_id":17,"property_id":3,"date":"2021-11-30 00:00:00","event":"Interaction"}
 *
 * shaped so that the NoBroker pipeline's rules fire the way they would on real traffic:
 *
 * - users and properties have a skewed, Zipf-like popularity (a few very active users and very
 *   popular listings, a long tail), with ids shuffled so the popular ones are not simply 1, 2, 3;
 * - a few *brokers* (the least active users otherwise) make bursts of 11-25 interactions with many
 *   different properties inside one 1-minute window (so `possible_broker` fires for them); the first
 *   window with room for it always has a compact burst of every broker near its start, so a short
 *   live demo shows broker alerts within seconds; later windows get a burst with probability 0.6;
 * - other users stay at or below 10 Interactions in any 1-minute window (the possible_broker
 *   threshold) when the population is large enough to carry the rate (users x 10 >= 3 x
 *   Interactions per minute, e.g. 30,000 users at 100,000 events/min): then possible_broker fires
 *   for the brokers only. With fewer users (the default 1000 at 100,000/min is 85 Interactions per
 *   user per minute) everyone is busy and the rule flags many users;
 * - most events are "Interaction" (the rules count only those), some "View", "Search", "Contact";
 * - a small share is out of order (event time up to 4 s earlier: inside the pipeline's 5 s bound,
 *   never late), a smaller share is late (70-125 s earlier: beyond a minute plus the bound, its window
 *   has already closed), and a small share is malformed (cut-off JSON, a log line that is not JSON,
 *   a string user_id, an unparseable date), which the pipeline sends to its dead-letter topic.
 *
 * Event i has the virtual time `startTime + floor(i * 60000 / eventsPerMinute)`; broker bursts take
 * the slot of the event they replace, so the line count and the clock do not depend on them. The
 * output is a pure function of the options (no Math.random, no wall clock).
 */
import { WeirError } from "../errors.js";
import { checkOption, checkShare, checkStartAndRate } from "./checks.js";
import { Random, ZipfSampler, shuffledRange } from "./random.js";
import { LineGenerator, type GeneratorOptions } from "./types.js";

export interface NoBrokerGeneratorOptions extends GeneratorOptions {
  /** Distinct users, ids 1..users (default 1000). Brokers are among them. */
  users?: number;
  /** Distinct properties, ids 1..properties (default 500). */
  properties?: number;
  /** Heavy users who behave like brokers (default 5; 0 for none; at most `users`). */
  brokers?: number;
  /** Share of events whose event time is shifted back by up to 4 s (default 0.02). */
  outOfOrderShare?: number;
  /** Share of events shifted back beyond a minute and the 5 s bound, so they are late (default 0.002). */
  lateShare?: number;
  /** Share of lines that are malformed (default 0.002). */
  malformedShare?: number;
  /** Share of "Interaction" among the other users' events (default 0.85; the rest View/Search/Contact). */
  interactionShare?: number;
  /**
   * Most Interactions a normal (non-broker) user makes in one 1-minute window (default 10, the
   * possible_broker threshold), so that only brokers look like brokers. Applied only when the
   * population can carry the rate — users x cap >= 3 x Interactions per minute, and users <=
   * 10,000,000 — since a few users cannot make 100,000 events a minute without being busy; 0: no cap.
   */
  normalUserCap?: number;
}

export const NOBROKER_GENERATOR_DEFAULTS = Object.freeze({
  seed: 1,
  users: 1000,
  properties: 500,
  brokers: 5,
  /** 2021-11-30 00:00:00 UTC, the seed's own dates. */
  startTime: Date.UTC(2021, 10, 30, 0, 0, 0),
  eventsPerMinute: 100_000,
  outOfOrderShare: 0.02,
  lateShare: 0.002,
  malformedShare: 0.002,
  interactionShare: 0.85,
  normalUserCap: 10,
});

const WINDOW_MS = 60_000;
/** Out-of-order shift, at most: well inside the pipeline's default maxOutOfOrderness of 5 s. */
export const OUT_OF_ORDER_MAX_MS = 4_000;
/**
 * Late shift, at least (plus one event spacing): a 1-minute window, the 5 s bound and 5 s of margin
 * (a late event is only made while an in-order event was produced in the last 5 s of event time).
 */
export const LATE_MIN_MS = 70_000;
const LATE_RECENT_MS = 5_000;
const LATE_SPREAD_MS = 55_000;
/** Popularity skew (Zipf exponents): users mildly, listings more. */
const USER_ZIPF = 0.7;
const PROPERTY_ZIPF = 0.9;
/** Broker bursts: size, spread in event time, and the chance of a burst in a given window. */
export const BURST_MIN = 11;
export const BURST_MAX = 25;
const BURST_SPAN_MIN_MS = 2_000;
const BURST_SPAN_MAX_MS = 20_000;
const FIRST_BURST_SPAN_MIN_MS = 1_000;
const FIRST_BURST_SPAN_MAX_MS = 3_000;
const FIRST_BURST_ROOM_MS = 5_000;
const BURST_PROBABILITY = 0.6;
/** Redraws (by popularity, then as many uniformly) for an Interaction of a user at the cap. */
const CAP_REDRAWS = 4;
/** The cap needs this much headroom: users x cap >= CAP_HEADROOM x Interactions per minute. */
const CAP_HEADROOM = 3;
const CAP_MAX_USERS = 10_000_000;
/** Bursts end at least this long before their window does. */
const BURST_END_MARGIN_MS = 1_000;

const OTHER_KINDS = ["View", "Search", "Contact"] as const;
/** How the non-Interaction share divides among OTHER_KINDS (cumulative). */
const OTHER_KIND_CUMULATIVE = [0.5, 0.8, 1];

/** "YYYY-MM-DD HH:MM:SS" in UTC. */
export function formatEventDate(ms: number): string {
  const iso = new Date(ms).toISOString(); // 2021-11-30T00:00:00.000Z
  return iso.slice(0, 10) + " " + iso.slice(11, 19);
}

export class NoBrokerGenerator extends LineGenerator {
  readonly scenario = "nobroker";
  readonly users: number;
  readonly properties: number;
  readonly startTime: number;
  readonly eventsPerMinute: number;
  /** The brokers' user ids, ascending. */
  readonly brokerIds: readonly number[];
  private readonly brokerList: Uint32Array;
  private readonly outOfOrderShare: number;
  private readonly lateShare: number;
  private readonly malformedShare: number;
  private readonly interactionShare: number;

  private readonly rng: Random;
  /** Broker bursts draw from their own stream: they do not move when the other shares change. */
  private readonly burstRng: Random;
  private readonly userZipf: ZipfSampler;
  private readonly propertyZipf: ZipfSampler;
  /** Popularity rank -> id. */
  private readonly userIds: Uint32Array;
  private readonly propertyIds: Uint32Array;
  /** Smallest whole number of ms >= the spacing of two events. */
  private readonly stepCeilMs: number;

  private index = 0;
  private slotTime = NaN;
  /** Slot of the latest valid event with its own slot's time (NaN before the first). */
  private lastInOrder = NaN;
  private lastUser = 0;
  private window = NaN;
  private warmup = true;
  /** This window's broker events, by time: when each is due and which broker. */
  private queueTimes: number[] = [];
  private queueBrokers: number[] = [];
  private queuePos = 0;
  /** Normal users' Interactions per 1-minute window (by user id), this window and the one before. */
  private capCurrent: Uint8Array | null = null;
  private capPrevious: Uint8Array | null = null;
  private readonly capPerWindow: number;
  private cachedSecond = NaN;
  private cachedDate = "";

  private readonly counts = {
    events: 0,
    interactions: 0,
    views: 0,
    searches: 0,
    contacts: 0,
    malformed: 0,
    outOfOrder: 0,
    late: 0,
    brokerEvents: 0,
  };

  constructor(options: NoBrokerGeneratorOptions = {}) {
    super();
    const d = NOBROKER_GENERATOR_DEFAULTS;
    const seed = options.seed ?? d.seed;
    const int = (name: string, value: number, min: number, max?: number) =>
      checkOption("nobroker", name, value, min, max);
    const share = (name: string, value: number) => checkShare("nobroker", name, value);
    this.users = int("users", options.users ?? d.users, 1, 100_000_000);
    this.properties = int("properties", options.properties ?? d.properties, 1, 100_000_000);
    const brokers = int("brokers", options.brokers ?? d.brokers, 0);
    if (brokers > this.users) {
      throw new WeirError(
        "USAGE",
        `nobroker generator: brokers (${brokers}) cannot exceed users (${this.users}); brokers are some of the users`,
      );
    }
    this.startTime = options.startTime ?? d.startTime;
    this.eventsPerMinute = options.eventsPerMinute ?? d.eventsPerMinute;
    checkStartAndRate("nobroker", this.startTime, this.eventsPerMinute);
    this.outOfOrderShare = share("outOfOrderShare", options.outOfOrderShare ?? d.outOfOrderShare);
    this.lateShare = share("lateShare", options.lateShare ?? d.lateShare);
    this.malformedShare = share("malformedShare", options.malformedShare ?? d.malformedShare);
    this.interactionShare = share("interactionShare", options.interactionShare ?? d.interactionShare);
    if (this.outOfOrderShare + this.lateShare + this.malformedShare > 1) {
      throw new WeirError(
        "USAGE",
        "nobroker generator: outOfOrderShare + lateShare + malformedShare must not exceed 1",
      );
    }
    this.stepCeilMs = Math.ceil(60_000 / this.eventsPerMinute);
    const cap = int("normalUserCap", options.normalUserCap ?? d.normalUserCap, 0, 255);
    const interactionsPerMinute = this.eventsPerMinute * this.interactionShare;
    this.capPerWindow =
      cap > 0 && this.users <= CAP_MAX_USERS && this.users * cap >= CAP_HEADROOM * interactionsPerMinute
        ? cap
        : 0;
    if (this.capPerWindow > 0) {
      this.capCurrent = new Uint8Array(this.users + 1);
      this.capPrevious = new Uint8Array(this.users + 1);
    }

    const setup = new Random(seed);
    this.rng = setup.fork();
    this.burstRng = setup.fork();
    this.userZipf = new ZipfSampler(this.users, USER_ZIPF);
    this.propertyZipf = new ZipfSampler(this.properties, PROPERTY_ZIPF);
    this.userIds = shuffledRange(this.users, setup, 1);
    this.propertyIds = shuffledRange(this.properties, setup, 1);
    // Brokers are the users who are otherwise the least active: their bursts stand out.
    this.brokerList = this.userIds.slice(this.users - brokers);
    this.brokerIds = Object.freeze([...this.brokerList].sort((a, b) => a - b));
  }

  get key(): string | null {
    return this.index === 0 ? null : String(this.lastUser);
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
    const pct = (x: number) => `${+(x * 100).toFixed(2)}%`;
    const brokers =
      this.brokerIds.length === 0
        ? "no brokers"
        : `${this.brokerIds.length} broker${this.brokerIds.length === 1 ? "" : "s"} (user_id ${listIds(this.brokerIds)})`;
    return (
      `${this.users} users, ${this.properties} properties, ${brokers}; ` +
      `${pct(this.interactionShare)} Interaction, ${pct(this.outOfOrderShare)} out of order, ` +
      `${pct(this.lateShare)} late, ${pct(this.malformedShare)} malformed` +
      (this.capPerWindow > 0 ? `; other users at most ${this.capPerWindow} Interactions a minute` : "")
    );
  }

  next(): string {
    const i = this.index++;
    const slot = this.startTime + Math.floor((i * 60_000) / this.eventsPerMinute);
    this.slotTime = slot;
    this.counts.events++;
    const w = Math.floor(slot / WINDOW_MS);
    if (w !== this.window) this.scheduleWindow(w, slot);
    if (this.queuePos < this.queueTimes.length && this.queueTimes[this.queuePos] <= slot) {
      return this.brokerEvent(slot);
    }

    const rng = this.rng;
    let user = this.userIds[this.userZipf.sample(rng.float())];
    const property = this.propertyIds[this.propertyZipf.sample(rng.float())];
    const k = rng.float();
    let kind: string;
    if (k < this.interactionShare) {
      kind = "Interaction";
    } else {
      const o = (k - this.interactionShare) / (1 - this.interactionShare);
      kind =
        o < OTHER_KIND_CUMULATIVE[0]
          ? OTHER_KINDS[0]
          : o < OTHER_KIND_CUMULATIVE[1]
            ? OTHER_KINDS[1]
            : OTHER_KINDS[2];
    }

    let u = rng.float();
    if (u < this.malformedShare) {
      this.lastUser = user;
      return this.malformed(user, property, kind, slot);
    }
    u -= this.malformedShare;
    let time = slot;
    let late = false;
    if (u < this.lateShare && slot - this.lastInOrder <= LATE_RECENT_MS) {
      // Earlier than (previous event - 5 s - 1 minute): its whole window is behind the watermark.
      time = slot - LATE_MIN_MS - this.stepCeilMs - rng.int(LATE_SPREAD_MS);
      late = true;
      this.counts.late++;
    } else if (u >= this.lateShare && u < this.lateShare + this.outOfOrderShare) {
      // Earlier than the previous event, but by less than the 5 s bound: never late.
      const min = Math.min(this.stepCeilMs + 1, OUT_OF_ORDER_MAX_MS);
      time = slot - min - rng.int(OUT_OF_ORDER_MAX_MS - min + 1);
      this.counts.outOfOrder++;
    }
    if (this.capCurrent !== null && kind === "Interaction" && !late) {
      const capped = this.withinCap(user, time, w);
      if (capped === 0) kind = "View";
      else user = capped;
    }
    this.lastUser = user;
    this.countKind(kind);
    if (time === slot) this.lastInOrder = slot;
    const date = time === slot ? this.slotDate(slot) : formatEventDate(time);
    return (
      '{"user_id":' + user + ',"property_id":' + property + ',"date":"' + date + '","event":"' + kind + '"}'
    );
  }

  /**
   * The user for an Interaction at `time` that keeps every normal user at or below the per-window
   * cap: `user` if it has room in that window, else another user (redrawn by popularity, then
   * uniformly), or 0 when none of the draws has room (the event is then made a View).
   */
  private withinCap(user: number, time: number, slotWindow: number): number {
    const tw = Math.floor(time / WINDOW_MS);
    const counts = tw === slotWindow ? this.capCurrent! : tw === slotWindow - 1 ? this.capPrevious! : null;
    if (counts === null) return user;
    const cap = this.capPerWindow;
    let candidate = user;
    for (let attempt = 0; counts[candidate] >= cap; attempt++) {
      if (attempt >= 2 * CAP_REDRAWS) return 0;
      candidate =
        attempt < CAP_REDRAWS
          ? this.userIds[this.userZipf.sample(this.rng.float())]
          : 1 + this.rng.int(this.users);
    }
    counts[candidate]++;
    return candidate;
  }

  private slotDate(t: number): string {
    const second = Math.floor(t / 1000);
    if (second !== this.cachedSecond) {
      this.cachedSecond = second;
      this.cachedDate = formatEventDate(second * 1000);
    }
    return this.cachedDate;
  }

  private countKind(kind: string): void {
    if (kind === "Interaction") this.counts.interactions++;
    else if (kind === "View") this.counts.views++;
    else if (kind === "Search") this.counts.searches++;
    else this.counts.contacts++;
  }

  private brokerEvent(slot: number): string {
    const user = this.brokerList[this.queueBrokers[this.queuePos++]];
    // A broker works through many different listings: uniform over all properties.
    const property = 1 + this.burstRng.int(this.properties);
    this.lastUser = user;
    this.lastInOrder = slot;
    this.counts.brokerEvents++;
    this.counts.interactions++;
    return (
      '{"user_id":' +
      user +
      ',"property_id":' +
      property +
      ',"date":"' +
      this.slotDate(slot) +
      '","event":"Interaction"}'
    );
  }

  /** Plan the brokers' bursts for the window that `slot` (its first event) opens. */
  private scheduleWindow(w: number, slot: number): void {
    if (this.capCurrent !== null) {
      const previous = this.capPrevious!;
      if (w === this.window + 1) {
        this.capPrevious = this.capCurrent;
        this.capCurrent = previous;
        this.capCurrent.fill(0);
      } else {
        this.capCurrent.fill(0);
        previous.fill(0);
      }
    }
    this.window = w;
    this.queueTimes = [];
    this.queueBrokers = [];
    this.queuePos = 0;
    const brokers = this.brokerList.length;
    if (brokers === 0) return;
    const from = Math.max(w * WINDOW_MS, slot);
    const room = (w + 1) * WINDOW_MS - BURST_END_MARGIN_MS - from;
    if (room < FIRST_BURST_SPAN_MIN_MS) return;
    const first = this.warmup && room >= FIRST_BURST_ROOM_MS;
    if (first) this.warmup = false;
    const rng = this.burstRng;
    const times: number[] = [];
    const who: number[] = [];
    for (let b = 0; b < brokers; b++) {
      if (!first && !rng.chance(BURST_PROBABILITY)) continue;
      let span = first
        ? rng.range(FIRST_BURST_SPAN_MIN_MS, FIRST_BURST_SPAN_MAX_MS)
        : rng.range(BURST_SPAN_MIN_MS, BURST_SPAN_MAX_MS);
      span = Math.min(span, room);
      const offset = rng.int(Math.min(first ? 1000 : room, room - span) + 1);
      const size = rng.range(BURST_MIN, BURST_MAX);
      for (let k = 0; k < size; k++) {
        times.push(from + offset + rng.int(span));
        who.push(b);
      }
    }
    const order = times.map((_, j) => j).sort((a, b) => times[a] - times[b] || who[a] - who[b] || a - b);
    this.queueTimes = order.map((j) => times[j]);
    this.queueBrokers = order.map((j) => who[j]);
  }

  private malformed(user: number, property: number, kind: string, slot: number): string {
    this.counts.malformed++;
    const rng = this.rng;
    const date = this.slotDate(slot);
    switch (rng.int(4)) {
      case 0: {
        // A write cut off mid-line.
        const full = `{"user_id":${user},"property_id":${property},"date":"${date}","event":"${kind}"}`;
        return full.slice(0, 1 + rng.int(full.length - 1));
      }
      case 1:
        // A producer that sends ids as strings (integers are never coerced).
        return `{"user_id":"${user}","property_id":${property},"date":"${date}","event":"${kind}"}`;
      case 2: {
        // A date the schema cannot read: day-first, or an impossible month.
        const bad = rng.chance(0.5)
          ? `${date.slice(8, 10)}/${date.slice(5, 7)}/${date.slice(0, 4)} ${date.slice(11)}`
          : `${date.slice(0, 4)}-13${date.slice(7)}`;
        return `{"user_id":${user},"property_id":${property},"date":"${bad}","event":"${kind}"}`;
      }
      default:
        // A log line from some other system.
        return `user_id=${user} property_id=${property} date=${date.replace(" ", "T")} event=${kind}`;
    }
  }
}

function listIds(ids: readonly number[]): string {
  return ids.length <= 8 ? ids.join(", ") : `${ids.slice(0, 8).join(", ")}, ... (${ids.length} in all)`;
}

export function createNoBrokerGenerator(options: NoBrokerGeneratorOptions = {}): NoBrokerGenerator {
  return new NoBrokerGenerator(options);
}
