/**
 * The shape every mock producer shares, so `weir generate`, `weir demo`, tests and benchmarks can
 * drive any scenario the same way.
 *
 * A generator is a deterministic function of its options: event i of a run has the virtual event
 * time `startTime + floor(i * 60000 / eventsPerMinute)` (give or take the deliberate disorder a
 * scenario adds), so a file of N events is the same for the same seed, and a live producer that
 * passes `startTime = Date.now()` and writes at `eventsPerMinute` keeps event time on the wall clock.
 */

/** Options every scenario understands (each scenario documents its defaults and extras). */
export interface GeneratorOptions {
  /** Seed of the pseudo-random stream (any integer; default 1). */
  seed?: number;
  /** Event time of the first event, epoch ms (scenario default, e.g. 2021-11-30 00:00:00 UTC). */
  startTime?: number;
  /** Spacing of event times: this many events per minute of event time (default 100000). */
  eventsPerMinute?: number;
}

/** A mock producer: an endless, deterministic stream of JSON lines. */
export interface MockGenerator {
  /** The scenario's name (`nobroker`). */
  readonly scenario: string;
  /** The next line: one JSON document (or a deliberately malformed line), without a newline. */
  next(): string;
  /** The record key of the line `next()` returned last (NoBroker: the user id as text), or null. */
  readonly key: string | null;
  /**
   * Multi-topic scenarios (Scenario.topics): the topic of the line `next()` returned last. Absent
   * for a scenario with one topic.
   */
  readonly topic?: string;
  /**
   * Scenarios whose times follow their own schedule (Scenario.fileSpanMs): the time the next
   * line will have, so a bounded writer can stop before it without producing it.
   */
  peekTime?(): number;
  /** The virtual clock: event time (epoch ms) of the slot of the line `next()` returned last. */
  readonly time: number;
  /** Lines produced so far. */
  readonly produced: number;
  /** The next `n` lines. */
  take(n: number): string[];
  /** Counters of what was produced so far (events, malformed, late, ...), in a stable order. */
  stats(): Readonly<Record<string, number>>;
  /** One line describing the population and mix, for the CLI's start message. */
  describe(): string;
}

/** Shared plumbing: subclasses implement `next()`, `key`, `time` and `stats()`. */
export abstract class LineGenerator implements MockGenerator {
  abstract readonly scenario: string;
  abstract next(): string;
  abstract get key(): string | null;
  abstract get time(): number;
  abstract get produced(): number;
  abstract stats(): Readonly<Record<string, number>>;
  abstract describe(): string;

  take(n: number): string[] {
    const out = new Array<string>(n);
    for (let i = 0; i < n; i++) out[i] = this.next();
    return out;
  }
}

/** GeneratorOptions plus a scenario's own numeric options (NoBroker: users, properties, brokers). */
export type ScenarioOptions = GeneratorOptions & { [option: string]: number | undefined };

/** A scenario of `weir generate <scenario>`: its defaults and how to build its generator. */
export interface Scenario {
  readonly name: string;
  /** One line for `weir generate --help`. */
  readonly description: string;
  /** Topic written to when `--topic` is not given (a multi-topic scenario: its first topic). */
  readonly topic: string;
  /**
   * A scenario writing several topics (energy-weather: `energy`, `weather`): every line goes to
   * the topic its generator's `topic` names. `weir generate` then writes one file per topic
   * (`--output DIR` -> DIR/<topic>.jsonl) or appends each line to its own topic.
   */
  readonly topics?: readonly string[];
  /**
   * A scenario whose event times follow its own schedule rather than --rate: the event-time span
   * of a file when neither --count nor --duration is given.
   */
  readonly fileSpanMs?: number;
  /**
   * Events per minute when `--rate` is not given (default 100,000): bitcoin's 180 a minute is one
   * price tick a second.
   */
  readonly defaultEventsPerMinute?: number;
  /** First event time when writing to a file without `--start` (topics start at the wall clock). */
  readonly fileStartTime: number;
  /** Scenario-specific numeric options it accepts beyond GeneratorOptions (CLI: --users, ...). */
  readonly extraOptions: readonly string[];
  create(options: ScenarioOptions): MockGenerator;
}
