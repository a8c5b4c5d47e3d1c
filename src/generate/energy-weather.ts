/**
 * The energy and weather mock producers (shared/seeds/001): two topics with their own clocks.
 *
 *   energy   {"ts":"2023-03-06 00:03:41","household_id":7,"kwh":0.412}   every 15 min per household
 *   weather  {"ts":"2023-03-06 00:10:12","temperature_c":3.4}            every 30 min (at :10 and :40)
 *
 * Each household reads its meter at its own offset within the quarter hour (plus a few seconds of
 * jitter), the weather station at about ten past and twenty to the hour: the two never line up, so
 * pairing them needs a join on the nearest time. The data carries something to find:
 *
 * - temperature: a daily cycle (coldest about 03:00, warmest about 15:00), day-to-day weather
 *   (an AR(1) walk of the daily mean) and a slow warming across the weeks (March by default);
 * - energy per quarter hour: the household's base load shaped by the hour of the day (night low,
 *   morning and evening peaks) and the day of the week (more at home at weekends), plus heating
 *   below 16 °C (less at night: thermostats set back) and cooling above 22 °C in proportion to the
 *   true temperature, plus noise;
 * - the weather station sometimes drops out for 2-4 hours (a reading missing): meter readings in
 *   the middle of a gap have no weather reading within 30 minutes;
 * - some readings arrive out of order (up to 2 minutes late), a few come hours late (a meter
 *   uploading a backlog: late for the pipeline's join), and a few lines are malformed (cut-off
 *   JSON, a string where a number belongs, a missing field, an impossible date, a negative reading).
 *
 * Lines come in order of arrival (event time plus delay). Event times follow the readings'
 * schedule from `startTime`, not `eventsPerMinute` (which only paces a live producer). The output
 * is a pure function of the options (no Math.random, no wall clock).
 */
import { WeirError } from "../errors.js";
import { checkOption, checkShare, normal } from "./checks.js";
import { formatEventDate } from "./nobroker.js";
import { Random } from "./random.js";
import { LineGenerator, type GeneratorOptions } from "./types.js";

export const ENERGY_TOPIC = "energy";
export const WEATHER_TOPIC = "weather";

export interface EnergyWeatherGeneratorOptions extends GeneratorOptions {
  /** Households with a meter, ids 1..households (default 20). */
  households?: number;
  /** Share of energy lines that are malformed (default 0.002). */
  malformedShare?: number;
  /** Share of energy readings that arrive up to 2 minutes late (default 0.03). */
  outOfOrderShare?: number;
  /** Share of energy readings that arrive 2-6 hours late (default 0.001). */
  lateShare?: number;
  /** Chance that a weather reading starts a 2-4 hour outage of the station (default 0.005). */
  outageChance?: number;
}

export const ENERGY_WEATHER_GENERATOR_DEFAULTS = Object.freeze({
  seed: 1,
  households: 20,
  /** 2023-03-06 00:00:00 UTC, a Monday. */
  startTime: Date.UTC(2023, 2, 6, 0, 0, 0),
  /** What a file holds when neither --count nor --duration is given: four weeks. */
  fileSpanMs: 28 * 86_400_000,
  malformedShare: 0.002,
  outOfOrderShare: 0.03,
  lateShare: 0.001,
  outageChance: 0.005,
});

const QUARTER_MS = 15 * 60_000;
const HALF_HOUR_MS = 30 * 60_000;
const WEATHER_OFFSET_MS = 10 * 60_000;
const WEATHER_JITTER_MS = 90_000;
const READING_JITTER_MS = 20_000;
const OUT_OF_ORDER_MAX_MS = 120_000;
const LATE_MIN_MS = 2 * 3_600_000;
const LATE_MAX_MS = 6 * 3_600_000;
const DAY_MS = 86_400_000;

/** Relative load by hour of day (UTC is local time here), weekdays and weekends. */
const WEEKDAY_PROFILE = [
  0.55, 0.5, 0.48, 0.48, 0.5, 0.6, 0.9, 1.3, 1.25, 0.85, 0.75, 0.75, 0.8, 0.75, 0.72, 0.75, 0.9, 1.2, 1.55,
  1.65, 1.5, 1.25, 0.95, 0.7,
];
const WEEKEND_PROFILE = [
  0.6, 0.52, 0.48, 0.48, 0.48, 0.5, 0.6, 0.8, 1.05, 1.2, 1.25, 1.25, 1.3, 1.25, 1.15, 1.1, 1.15, 1.3, 1.55,
  1.65, 1.55, 1.35, 1.05, 0.8,
];

interface Household {
  id: number;
  /** Offset of its readings within the quarter hour, ms. */
  offsetMs: number;
  /** kWh per quarter hour at profile 1. */
  base: number;
  /** kWh per quarter hour per °C below 16. */
  heating: number;
  /** kWh per quarter hour per °C above 22. */
  cooling: number;
}

/** What a queued line counts as in stats(), counted when it is handed out. */
type Kind = "energyReadings" | "weatherReadings" | "malformed" | "weatherMissing";

interface Pending {
  arrival: number;
  seq: number;
  topic: string;
  key: string | null;
  /** null: a marker for a missing weather reading (no line). */
  line: string | null;
  kind: Kind;
  delay: "outOfOrder" | "late" | null;
}

export class EnergyWeatherGenerator extends LineGenerator {
  readonly scenario = "energy-weather";
  readonly households: readonly Household[];
  readonly startTime: number;
  private readonly malformedShare: number;
  private readonly outOfOrderShare: number;
  private readonly lateShare: number;
  private readonly outageChance: number;
  /** Independent streams: changing one share does not move the others' draws. */
  private readonly tempRng: Random;
  private readonly loadRng: Random;
  private readonly delayRng: Random;
  private readonly badRng: Random;
  private readonly weatherRng: Random;
  /** Daily mean temperature by day index from the start (generated as time goes on). */
  private readonly dailyMean: number[] = [];
  /** Start of the next quarter hour to generate. */
  private nextBlock: number;
  /** No weather reading before this time (a station outage). */
  private outageUntil = -Infinity;
  /** Min-heap of generated lines by (arrival, seq). */
  private heap: Pending[] = [];
  private seq = 0;
  private lastTime = NaN;
  private lastKey: string | null = null;
  private lastTopic = ENERGY_TOPIC;
  private count = 0;
  private readonly counts = {
    events: 0,
    energyReadings: 0,
    weatherReadings: 0,
    weatherMissing: 0,
    malformed: 0,
    outOfOrder: 0,
    late: 0,
  };

  constructor(options: EnergyWeatherGeneratorOptions = {}) {
    super();
    const d = ENERGY_WEATHER_GENERATOR_DEFAULTS;
    const seed = options.seed ?? d.seed;
    const n = checkOption("energy-weather", "households", options.households ?? d.households, 1, 100_000);
    this.startTime = options.startTime ?? d.startTime;
    if (!Number.isFinite(this.startTime))
      throw new WeirError(
        "USAGE",
        `energy-weather generator: startTime must be epoch milliseconds (got ${this.startTime})`,
      );
    const share = (name: string, value: number) => checkShare("energy-weather", name, value);
    this.malformedShare = share("malformedShare", options.malformedShare ?? d.malformedShare);
    this.outOfOrderShare = share("outOfOrderShare", options.outOfOrderShare ?? d.outOfOrderShare);
    this.lateShare = share("lateShare", options.lateShare ?? d.lateShare);
    this.outageChance = share("outageChance", options.outageChance ?? d.outageChance);
    const root = new Random(seed);
    const householdRng = root.fork();
    this.tempRng = root.fork();
    this.loadRng = root.fork();
    this.delayRng = root.fork();
    this.badRng = root.fork();
    this.weatherRng = root.fork();
    const households: Household[] = [];
    for (let id = 1; id <= n; id++) {
      households.push({
        id,
        offsetMs: householdRng.int(QUARTER_MS - READING_JITTER_MS),
        base: 0.12 + householdRng.float() * 0.18,
        heating: 0.015 + householdRng.float() * 0.02,
        cooling: 0.01 + householdRng.float() * 0.02,
      });
    }
    this.households = households;
    this.nextBlock = Math.floor(this.startTime / QUARTER_MS) * QUARTER_MS;
  }

  get key(): string | null {
    return this.lastKey;
  }

  /** The topic of the line `next()` returned last: "energy" or "weather". */
  get topic(): string {
    return this.lastTopic;
  }

  get time(): number {
    return this.lastTime;
  }

  get produced(): number {
    return this.count;
  }

  stats(): Readonly<Record<string, number>> {
    return { ...this.counts };
  }

  describe(): string {
    return (
      `${this.households.length} household meters every 15 min to topic ${ENERGY_TOPIC}, a weather station every 30 min ` +
      `to topic ${WEATHER_TOPIC}; energy follows temperature (heating below 16 °C), hour of day and weekday; ` +
      `station outages, ~${pct(this.outOfOrderShare)} out of order, ~${pct(this.lateShare)} hours late, ~${pct(this.malformedShare)} malformed`
    );
  }

  /** The time (arrival) of the line `next()` returns next. */
  peekTime(): number {
    for (;;) {
      // Lines of later quarter hours arrive at or after their start: the top is next once nothing earlier can come.
      while (this.heap.length === 0 || this.heap[0].arrival >= this.nextBlock) this.generateBlock();
      if (this.heap[0].line !== null) return this.heap[0].arrival;
      this.counts[heapPop(this.heap).kind]++; // a missing weather reading
    }
  }

  next(): string {
    this.peekTime();
    const p = heapPop(this.heap);
    this.lastTime = p.arrival;
    this.lastKey = p.key;
    this.lastTopic = p.topic;
    this.count++;
    this.counts.events++;
    this.counts[p.kind]++;
    if (p.delay !== null) this.counts[p.delay]++;
    return p.line!;
  }

  /** The true temperature at `t` (°C): daily mean (interpolated day to day) plus the daily cycle. */
  temperatureAt(t: number): number {
    const days = (t - this.startTime) / DAY_MS;
    const d = Math.max(0, Math.floor(days));
    const frac = Math.max(0, days - d);
    const mean = this.meanOfDay(d) * (1 - frac) + this.meanOfDay(d + 1) * frac;
    const hour = (((t % DAY_MS) + DAY_MS) % DAY_MS) / 3_600_000;
    return mean + 3.5 * Math.sin((2 * Math.PI * (hour - 9)) / 24);
  }

  private meanOfDay(d: number): number {
    while (this.dailyMean.length <= d) {
      const k = this.dailyMean.length;
      const climate = 5 + 0.2 * k; // early spring, warming through the month
      const prev = k === 0 ? 0 : this.dailyMean[k - 1] - (5 + 0.2 * (k - 1));
      this.dailyMean.push(climate + 0.7 * prev + 3 * normal(this.tempRng));
    }
    return this.dailyMean[d];
  }

  private generateBlock(): void {
    const block = this.nextBlock;
    this.nextBlock += QUARTER_MS;
    // The weather reading of this quarter hour, if the station reads in it (at :10 and :40).
    const weatherSlot = Math.floor(block / HALF_HOUR_MS) * HALF_HOUR_MS + WEATHER_OFFSET_MS;
    if (weatherSlot >= block && weatherSlot < block + QUARTER_MS && weatherSlot >= this.startTime) {
      this.weatherReading(weatherSlot);
    }
    for (const h of this.households) {
      const t = block + h.offsetMs + this.loadRng.int(READING_JITTER_MS);
      if (t < this.startTime) continue;
      this.energyReading(h, t);
    }
  }

  private weatherReading(slot: number): void {
    const rng = this.weatherRng;
    const t = slot + rng.range(-WEATHER_JITTER_MS, WEATHER_JITTER_MS);
    if (t < this.outageUntil) return this.enqueue(t, WEATHER_TOPIC, null, null, "weatherMissing", null);
    if (rng.chance(this.outageChance)) {
      this.outageUntil = t + rng.range(2 * 3_600_000, 4 * 3_600_000);
      return this.enqueue(t, WEATHER_TOPIC, null, null, "weatherMissing", null);
    }
    const temp = Math.round((this.temperatureAt(t) + 0.3 * normal(rng)) * 10) / 10;
    const ts = formatEventDate(t);
    let line = `{"ts":"${ts}","temperature_c":${temp}}`;
    let kind: Kind = "weatherReadings";
    if (this.badRng.chance(this.malformedShare * 2)) {
      kind = "malformed";
      line = this.badRng.chance(0.5)
        ? `{"ts":"${ts}","temperature_c":"n/a"}`
        : line.slice(0, line.length - 6);
    }
    const delayed = rng.chance(0.02);
    this.enqueue(
      t + (delayed ? 1_000 + rng.int(59_000) : 0),
      WEATHER_TOPIC,
      null,
      line,
      kind,
      delayed ? "outOfOrder" : null,
    );
  }

  private energyReading(h: Household, t: number): void {
    const rng = this.loadRng;
    const date = new Date(t);
    const weekend = date.getUTCDay() === 0 || date.getUTCDay() === 6;
    const profile = (weekend ? WEEKEND_PROFILE : WEEKDAY_PROFILE)[date.getUTCHours()];
    const temp = this.temperatureAt(t);
    // Heating follows who is at home: thermostats set back at night (23:00-06:00), the house
    // empty on weekday working hours (09:00-16:00), everyone at home on weekend days (08:00-22:00).
    const hour = date.getUTCHours();
    const occupancy =
      hour >= 23 || hour < 6
        ? 0.75
        : weekend
          ? hour >= 8 && hour < 22
            ? 1.2
            : 1
          : hour >= 9 && hour < 16
            ? 0.8
            : 1;
    const climate = occupancy * h.heating * Math.max(0, 16 - temp) + h.cooling * Math.max(0, temp - 22);
    const mean = h.base * profile + climate;
    const kwh = Math.max(0.005, mean * (1 + 0.12 * normal(rng)) + 0.015 * normal(rng));
    const ts = formatEventDate(t);
    let line = `{"ts":"${ts}","household_id":${h.id},"kwh":${Math.round(kwh * 1000) / 1000}}`;
    let kind: Kind = "energyReadings";
    const bad = this.badRng;
    if (bad.chance(this.malformedShare)) {
      kind = "malformed";
      switch (bad.int(5)) {
        case 0:
          line = line.slice(0, Math.max(1, line.length - 1 - bad.int(12)));
          break;
        case 1:
          line = `{"ts":"${ts}","household_id":${h.id},"kwh":"${Math.round(kwh * 1000) / 1000}"}`;
          break;
        case 2:
          line = `{"ts":"${ts}","kwh":${Math.round(kwh * 1000) / 1000}}`;
          break;
        case 3:
          line = `{"ts":"${ts.slice(0, 11)}25:61:00","household_id":${h.id},"kwh":${Math.round(kwh * 1000) / 1000}}`;
          break;
        default:
          line = `{"ts":"${ts}","household_id":${h.id},"kwh":-${Math.round(kwh * 1000) / 1000}}`;
      }
    }
    const d = this.delayRng;
    if (d.chance(this.lateShare)) {
      this.enqueue(t + d.range(LATE_MIN_MS, LATE_MAX_MS), ENERGY_TOPIC, String(h.id), line, kind, "late");
    } else if (d.chance(this.outOfOrderShare)) {
      const delay = 1_000 + d.int(OUT_OF_ORDER_MAX_MS - 1_000);
      this.enqueue(t + delay, ENERGY_TOPIC, String(h.id), line, kind, "outOfOrder");
    } else this.enqueue(t, ENERGY_TOPIC, String(h.id), line, kind, null);
  }

  private enqueue(
    arrival: number,
    topic: string,
    key: string | null,
    line: string | null,
    kind: Kind,
    delay: Pending["delay"],
  ): void {
    heapPush(this.heap, { arrival, seq: this.seq++, topic, key, line, kind, delay });
  }
}

function pct(share: number): string {
  return `${+(share * 100).toFixed(2)}%`;
}

function before(a: Pending, b: Pending): boolean {
  return a.arrival < b.arrival || (a.arrival === b.arrival && a.seq < b.seq);
}

function heapPush(heap: Pending[], p: Pending): void {
  heap.push(p);
  let i = heap.length - 1;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (!before(heap[i], heap[parent])) break;
    [heap[i], heap[parent]] = [heap[parent], heap[i]];
    i = parent;
  }
}

function heapPop(heap: Pending[]): Pending {
  const top = heap[0];
  const last = heap.pop()!;
  if (heap.length > 0) {
    heap[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && before(heap[l], heap[m])) m = l;
      if (r < heap.length && before(heap[r], heap[m])) m = r;
      if (m === i) break;
      [heap[i], heap[m]] = [heap[m], heap[i]];
      i = m;
    }
  }
  return top;
}
