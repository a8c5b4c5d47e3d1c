/**
 * The fuzz harness (issue 14): arbitrary lines (test/helpers/fuzz/input.ts) through the fuzz
 * pipeline (test/fixtures/fuzz-pipeline.ts), which writes to every kind of sink, with the real
 * `weir` command. For each generated file:
 *
 * 1. `weir run fuzz --input FILE` exits 0, without a stack trace;
 * 2. what it wrote is readable — `weir consume` of every topic, `weir table`, `weir query` of every
 *    lake dataset — and matches the reference computed from the same bytes
 *    (test/helpers/fuzz/reference.ts): every record either reached every sink exactly or is a dead
 *    letter with a reason, `raw` and its offset (the dead-letter topic and the dead-letter dataset
 *    agree); invalid lines (not UTF-8, over the size limit, not JSON, not the schema) are dead
 *    letters; valid ones are processed;
 * 3. a second run of the same file in a fresh data directory (and table database) is killed with
 *    SIGKILL — during start-up, or once its n-th checkpoint is written and a few milliseconds more —
 *    once or twice, then run to its end: every output equals the uninterrupted run's exactly.
 *
 * Seeded and bounded: `fuzz()` prints its seed — a fixed one per test file unless
 * WEIR_FUZZ_SEED=random asks for new files; WEIR_FUZZ_SEED=N replays a run (WEIR_FUZZ_PATH the
 * shrunk counterexample fast-check printed), WEIR_FUZZ_RUNS and WEIR_FUZZ_TIME (seconds) set how many
 * files and how long; a failure is then shrunk for at most WEIR_FUZZ_SHRINK_TIME seconds.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import pg from "pg";
import { parseEventTime } from "../../../src/index.js";
import { EmbeddedLog } from "../../../src/log/index.js";
import { MAX_RECORD_BYTES } from "../../../src/util/records.js";
import { hasStackTrace, runCli, spawnCli, type CliResult } from "../../cli/helpers.js";
import { readTopic } from "../../runtime/inputs.js";
import { describeCase, fileBytes, fuzzCase, type FuzzCase } from "./input.js";
import { canonicalJson, reference, type RefRecord, type Store } from "./reference.js";

/**
 * The longest line `weir run --input` takes (bytes): the maximum record size. Longer lines must be
 * dead letters. Lines are generated well below or well above it (never within 64 KiB), so where
 * exactly it falls does not matter.
 */
export const LINE_LIMIT_BYTES = MAX_RECORD_BYTES;

const FIXTURE = fileURLToPath(
  new URL(`../../fixtures/fuzz-pipeline.${import.meta.url.endsWith(".ts") ? "ts" : "js"}`, import.meta.url),
);
const PIPELINE = "fuzz";
const SOURCE_TOPIC = "lines";
const TOPICS = ["fuzz_events", "fuzz_counts", "fuzz_windows", `${PIPELINE}.dlq`, `${PIPELINE}.late`];
const TABLE = "fuzz_rows";
const TABLE_VERSIONS = 2;
const LAKE = ["fuzz_parquet", "fuzz_jsonl", "fuzz_csv"] as const;
const DEAD_LETTER_LAKE = "fuzz_dead_letters";
const ROW_COLUMNS = ["offset", "id", "name", "amount", "flag", "at", "tags", "payload"];
const ENVELOPE_KEYS = ["error", "raw", "topic", "partition", "offset"];
/** A generous bound for one `weir` process (a file may hold lines of megabytes). */
const PROCESS_TIMEOUT_MS = 120_000;

export interface FuzzOptions {
  store: Store;
  /** PostgreSQL: the server's URL; each run gets a database of its own. */
  postgresUrl?: string;
  /** Temporary directory for inputs and data directories. */
  dir: string;
  /** Progress lines (seed, each case, the summary). */
  log: (message: string) => void;
  /** Defaults: WEIR_FUZZ_* or the values below. */
  seed?: number;
  /** The seed when WEIR_FUZZ_SEED does not give one: the files `npm test` runs. */
  defaultSeed: number;
  runs?: number;
  timeMs?: number;
  shrinkTimeMs?: number;
}

const envNumber = (name: string): number | undefined => {
  const v = process.env[name];
  if (v === undefined || v.trim() === "") return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`${name}=${v}: expected a number`);
  return n;
};

/** What the kill schedule achieved over a property run (printed: kills must hit running pipelines). */
export interface Stats {
  cases: number;
  kills: number;
  killedAfterCheckpoint: number;
  resumed: number;
  records: number;
  deadLetters: number;
  verdicts: Record<string, number>;
}

export function newStats(): Stats {
  return {
    cases: 0,
    kills: 0,
    killedAfterCheckpoint: 0,
    resumed: 0,
    records: 0,
    deadLetters: 0,
    verdicts: {},
  };
}

/**
 * Runs the property: `runs` generated files (default 6), stopping early after `timeMs` (default
 * 60 s); a failure is shrunk for `shrinkTimeMs` more (default 60 s), then reported with the seed
 * and path that replay it.
 */
export async function fuzz(options: FuzzOptions): Promise<void> {
  // `npm test` replays the same files every time (options.defaultSeed): a test run must not pass
  // or fail by chance. WEIR_FUZZ_SEED=random explores new ones; WEIR_FUZZ_SEED=N replays one.
  const seed =
    options.seed ??
    (process.env.WEIR_FUZZ_SEED === "random"
      ? (Date.now() ^ (Math.random() * 0x7fffffff)) | 0
      : (envNumber("WEIR_FUZZ_SEED") ?? options.defaultSeed));
  const runs = options.runs ?? envNumber("WEIR_FUZZ_RUNS") ?? 6;
  const timeMs = options.timeMs ?? (envNumber("WEIR_FUZZ_TIME") ?? 60) * 1000;
  const shrinkTimeMs = options.shrinkTimeMs ?? (envNumber("WEIR_FUZZ_SHRINK_TIME") ?? 60) * 1000;
  const path = process.env.WEIR_FUZZ_PATH || undefined;
  const replay = `WEIR_FUZZ_SEED=${seed}`;
  options.log(
    `fuzz (${options.store}): seed ${seed} (replay with ${replay}), ${runs} files, at most ${timeMs / 1000} s`,
  );
  const stats = newStats();
  let caseNumber = 0;
  const property = fc.asyncProperty(fuzzCase({ limitBytes: LINE_LIMIT_BYTES }), async (c) => {
    await checkFuzzCase(c, ++caseNumber, options, stats);
  });
  const started = Date.now();
  let first: fc.RunDetails<[FuzzCase]> | undefined;
  let details = await fc.check(property, {
    seed,
    path,
    numRuns: runs,
    interruptAfterTimeLimit: timeMs,
    endOnFailure: path === undefined,
  });
  if (details.failed && path === undefined && details.counterexamplePath !== null) {
    options.log(
      `fuzz (${options.store}): case failed after ${((Date.now() - started) / 1000).toFixed(0)} s: ${firstLine(details.errorInstance)}; shrinking for at most ${shrinkTimeMs / 1000} s`,
    );
    first = details;
    details = await fc.check(property, {
      seed,
      path: details.counterexamplePath,
      interruptAfterTimeLimit: shrinkTimeMs,
    });
    if (!details.failed) details = first; // a flaky failure: report the first one
  }
  options.log(
    `fuzz (${options.store}): ${stats.cases} files, ${stats.records} records (${Object.entries(stats.verdicts)
      .map(([k, n]) => `${n} ${k}`)
      .join(
        ", ",
      )}), ${stats.deadLetters} dead letters; ${stats.kills} kills (${stats.killedAfterCheckpoint} after a checkpoint), ${stats.resumed} restarts resumed from a checkpoint; ${((Date.now() - started) / 1000).toFixed(0)} s`,
  );
  if (!details.failed) return;
  const shown =
    details.counterexample === null ? "?" : truncate(fc.stringify(details.counterexample[0]), 4000);
  // Shrinking may end at another failure than the first one found: both are worth reading.
  const before =
    first !== undefined && firstLine(first.errorInstance) !== firstLine(details.errorInstance)
      ? `first failure found (before shrinking): ${firstLine(first.errorInstance)}\n`
      : "";
  throw new Error(
    `fuzz (${options.store}) failed: ${details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance)}\n` +
      before +
      `replay: ${replay} WEIR_FUZZ_PATH=${details.counterexamplePath} node scripts/run-tests.mjs ${options.store === "postgres" ? "integration/fuzz" : "runtime/fuzz"}\n` +
      `counterexample (after ${details.numShrinks} shrinks): ${shown}`,
  );
}

/** The start of an error's message, on one line. */
function firstLine(err: unknown): string {
  const lines = (err instanceof Error ? err.message : String(err)).split("\n").filter((l) => l.trim() !== "");
  return truncate(lines.slice(0, 3).join(" | "), 600);
}

function truncate(s: string, n: number): string {
  return s.length <= n ? s : `${s.slice(0, n)}... (${s.length} characters)`;
}

// ---------------------------------------------------------------------------------------------
// One case

/** Checks one generated case (a file and its kill schedule); `n` numbers it in messages. */
export async function checkFuzzCase(
  c: FuzzCase,
  n: number,
  options: FuzzOptions,
  stats: Stats = newStats(),
): Promise<void> {
  const dir = mkdtempSync(join(options.dir, `case-${n}-`));
  const databases: string[] = [];
  try {
    const bytes = fileBytes(c);
    const input = join(dir, "input.jsonl");
    writeFileSync(input, bytes);
    const ref = reference(bytes, options.store, LINE_LIMIT_BYTES);
    options.log(`fuzz (${options.store}) #${n}: ${describeCase(c, bytes.length)}: ${ref.length} records`);
    stats.cases++;
    stats.records += ref.length;
    for (const r of ref) stats.verdicts[r.verdict] = (stats.verdicts[r.verdict] ?? 0) + 1;

    const storeArgs = async (name: string): Promise<string[]> => {
      if (options.store === "sqlite") return [];
      const db = `fuzz_${process.pid}_${n}_${name}`;
      await postgres(options.postgresUrl!, `DROP DATABASE IF EXISTS ${db}`, `CREATE DATABASE ${db}`);
      databases.push(db);
      return ["--table-store", options.postgresUrl!.replace(/\/[^/]*$/, `/${db}`)];
    };

    // 1-2: the uninterrupted run and its outputs against the reference.
    const clean = join(dir, "clean");
    const cleanStore = await storeArgs("clean");
    const run = await runCli(runArgs(input, clean, cleanStore, []), { timeoutMs: PROCESS_TIMEOUT_MS });
    assertExit(run, "weir run (uninterrupted)");
    const expected = await readOutputs(clean, cleanStore);
    stats.deadLetters += checkAgainstReference(ref, expected, options.store);

    // 3: killed and restarted, the same outputs.
    const crashed = join(dir, "crashed");
    mkdirSync(crashed);
    const crashedStore = await storeArgs("crashed");
    await killAndRestart(
      c,
      runArgs(input, crashed, crashedStore, ["--checkpoint-interval", c.checkpointInterval]),
      crashed,
      stats,
    );
    const actual = await readOutputs(crashed, crashedStore);
    assertSameOutputs(expected, actual);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    if (databases.length > 0)
      await postgres(options.postgresUrl!, ...databases.map((db) => `DROP DATABASE IF EXISTS ${db}`)).catch(
        () => {},
      );
  }
}

function runArgs(input: string, dataDir: string, storeArgs: string[], extra: string[]): string[] {
  return ["run", FIXTURE, "--input", input, "--data-dir", dataDir, "--no-typecheck", ...storeArgs, ...extra];
}

async function postgres(url: string, ...statements: string[]): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    for (const s of statements) await client.query(s);
  } finally {
    await client.end();
  }
}

function assertExit(r: CliResult, what: string): void {
  assert.equal(
    r.code,
    0,
    `${what} exited ${r.code ?? r.signal} (the run must never exit non-zero on bad input): ${tail(r.stderr)}`,
  );
  assert.ok(!hasStackTrace(r.stderr), `${what} printed a stack trace: ${tail(r.stderr)}`);
}

/** The end of a command's stderr for a message; for a stack trace, its message and first frames. */
function tail(text: string, lines = 6): string {
  const all = text.trim().split("\n");
  const frame = all.findIndex((l) => /^\s+at /.test(l));
  const shown = frame >= 0 ? all.slice(Math.max(0, frame - 3), frame + 3) : all.slice(-lines);
  return shown.join("\n").slice(-3000);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The crash run: each kill point spawns the run and SIGKILLs it — `afterMs` into start-up, or once
 * it wrote its n-th checkpoint (polled in the checkpoint file) and `afterMs` more; then the run goes
 * to its end. A run that ends before its kill must exit 0 as well.
 */
async function killAndRestart(c: FuzzCase, args: string[], dataDir: string, stats: Stats): Promise<void> {
  const checkpointFile = join(dataDir, "pipelines", PIPELINE, "checkpoint.json");
  const sequence = (): number => {
    try {
      return (JSON.parse(readFileSync(checkpointFile, "utf8")) as { sequence: number }).sequence;
    } catch {
      return 0; // not written yet (or read while being replaced)
    }
  };
  const note = (r: CliResult) => {
    if (/resumed from checkpoint/.test(r.stderr)) stats.resumed++;
  };
  for (const kill of c.kills) {
    const before = sequence();
    const p = spawnCli(args, { timeoutMs: PROCESS_TIMEOUT_MS });
    p.end();
    let exited = false;
    void p.exited.then(() => (exited = true));
    let afterCheckpoint = false;
    if (kill.at === "start") await sleep(kill.afterMs);
    else {
      const deadline = Date.now() + PROCESS_TIMEOUT_MS;
      while (!exited && sequence() < before + kill.n && Date.now() < deadline) await sleep(2);
      afterCheckpoint = !exited;
      await sleep(kill.afterMs);
    }
    p.kill("SIGKILL");
    const r = await p.exited;
    note(r);
    if (r.signal === "SIGKILL") {
      stats.kills++;
      if (afterCheckpoint) stats.killedAfterCheckpoint++;
    } else assertExit(r, "weir run (before its kill)");
  }
  const last = await runCli(args, { timeoutMs: PROCESS_TIMEOUT_MS });
  note(last);
  assertExit(last, "weir run (restarted after SIGKILL)");
}

// ---------------------------------------------------------------------------------------------
// Reading the outputs back through the CLI

interface Outputs {
  /** `weir consume TOPIC --keys` of every output topic (KEY<tab>VALUE lines). */
  keyed: Record<string, string>;
  /** The values of every output topic, read from the log in this process (a key may hold a line break). */
  values: Record<string, string[]>;
  /** `weir table fuzz_rows --versions <all> --format json`, every stored version, parsed. */
  table: any[];
  /** `weir query "SELECT * FROM <dataset>"` per lake dataset, parsed; null when the dataset has no view. */
  lake: Record<string, any[] | null>;
}

async function readOutputs(dataDir: string, storeArgs: string[]): Promise<Outputs> {
  const d = ["--data-dir", dataDir];
  const jobs: Array<() => Promise<void>> = [];
  const out: Outputs = { keyed: {}, values: {}, table: [], lake: {} };
  const read = async (args: string[]): Promise<CliResult> => {
    const r = await runCli([...args, ...d], { timeoutMs: PROCESS_TIMEOUT_MS });
    return r;
  };
  const readable = (r: CliResult, what: string) =>
    assert.ok(
      r.code === 0 && !hasStackTrace(r.stderr),
      `${what} failed (exit ${r.code ?? r.signal}): ${tail(r.stderr)}`,
    );
  const log = EmbeddedLog.open(dataDir, { logger: () => {} });
  try {
    for (const topic of TOPICS) out.values[topic] = readTopic(log, topic);
  } finally {
    log.close();
  }
  for (const topic of TOPICS) {
    jobs.push(async () => {
      const r = await read(["consume", topic, "--keys"]);
      readable(r, `weir consume ${topic} --keys`);
      out.keyed[topic] = r.stdout;
    });
  }
  jobs.push(async () => {
    const r = await read(["table", TABLE, "--versions", "1000000", "--format", "json", ...storeArgs]);
    readable(r, `weir table ${TABLE}`);
    out.table = jsonLines(r.stdout, `weir table ${TABLE}`);
  });
  for (const ds of [...LAKE, DEAD_LETTER_LAKE]) {
    jobs.push(async () => {
      const r = await read(["query", `SELECT * FROM ${ds}`, "--format", "json"]);
      if (r.code !== 0 && new RegExp(`Table with name ${ds} does not exist`).test(r.stderr)) {
        out.lake[ds] = null; // nothing ever landed in it
        return;
      }
      readable(r, `weir query "SELECT * FROM ${ds}"`);
      out.lake[ds] = jsonLines(r.stdout, `weir query ${ds}`);
    });
  }
  await inParallel(jobs, 2);
  return out;
}

function jsonLines(text: string, what: string): any[] {
  if (text === "") return [];
  return text
    .replace(/\n$/, "")
    .split("\n")
    .map((line, i) => {
      try {
        return JSON.parse(line);
      } catch {
        throw new assert.AssertionError({
          message: `${what}: line ${i + 1} is not JSON: ${truncate(line, 300)}`,
        });
      }
    });
}

/** Runs the jobs, at most `n` at a time (the CI machines have two cores); rejects with the first failure. */
async function inParallel(jobs: Array<() => Promise<void>>, n: number): Promise<void> {
  let next = 0;
  let failure: unknown;
  const worker = async () => {
    while (next < jobs.length && failure === undefined) {
      const job = jobs[next++];
      try {
        await job();
      } catch (err) {
        failure ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: n }, worker));
  if (failure !== undefined) throw failure;
}

// ---------------------------------------------------------------------------------------------
// The outputs against the reference

/** A line for messages: its offset, verdict and start. */
function show(r: RefRecord): string {
  const start =
    r.text !== undefined
      ? JSON.stringify(truncate(r.text, 160))
      : `bytes ${r.bytes.subarray(0, 80).toString("hex")}${r.bytes.length > 80 ? "..." : ""}`;
  return `line at offset ${r.offset} (${r.verdict}: ${r.why}; ${r.bytes.length} bytes): ${start}`;
}

interface DeadLetter {
  error: string;
  raw: string;
  topic: string;
  partition: number;
  offset: number;
}

/** Checks every output against the reference; returns the number of dead letters. */
function checkAgainstReference(ref: RefRecord[], out: Outputs, store: Store): number {
  // Dead letters: the documented envelope, one per rejected line, a reason, the line as raw.
  const dlq = out.values[`${PIPELINE}.dlq`].map((line) => JSON.parse(line) as DeadLetter);
  const byOffset = new Map<number, DeadLetter[]>();
  for (const d of dlq) {
    assert.deepEqual(
      Object.keys(d).sort(),
      [...ENVELOPE_KEYS].sort(),
      `dead letter ${JSON.stringify(d)}: its fields`,
    );
    assert.ok(
      Number.isInteger(d.offset) && d.offset >= 0 && d.offset < ref.length,
      `dead letter at offset ${d.offset}: the file has ${ref.length} records`,
    );
    const r = ref[d.offset];
    assert.ok(
      typeof d.error === "string" && d.error.trim() !== "",
      `dead letter without a reason for ${show(r)}`,
    );
    assert.equal(d.topic, SOURCE_TOPIC, `dead letter topic for ${show(r)}`);
    assert.equal(d.partition, 0, `dead letter partition for ${show(r)}`);
    assert.equal(typeof d.raw, "string", `dead letter raw for ${show(r)}`);
    // `raw` is the line, or — when the whole of it would make the dead letter too large (over
    // 1,000,000 bytes) — a prefix of it that the error announces.
    if (r.text !== undefined && r.bytes.length <= LINE_LIMIT_BYTES && d.raw !== r.text)
      assert.ok(
        r.text.startsWith(d.raw) && /raw holds (its|the) first \d+/.test(d.error),
        `dead letter raw is neither the line nor an announced prefix of it for ${show(r)}: ` +
          `${JSON.stringify(truncate(d.raw, 200))} (${d.error.slice(0, 300)})`,
      );
    byOffset.set(d.offset, [...(byOffset.get(d.offset) ?? []), d]);
  }

  // Which records each step must have got.
  const rejected = (o: number) => (byOffset.get(o) ?? []).some((d) => !/^step \S+ failed: /.test(d.error));
  const failedAt = (o: number, step: string) =>
    (byOffset.get(o) ?? []).some((d) => stepsFailed(d.error).includes(step));
  for (const r of ref) {
    const letters = byOffset.get(r.offset) ?? [];
    if (r.verdict === "invalid") {
      assert.equal(letters.length, 1, `${letters.length} dead letters (1 expected) for ${show(r)}`);
      assert.ok(rejected(r.offset), `a step failure, not a rejection, for ${show(r)}: ${letters[0].error}`);
    } else if (r.verdict === "valid") {
      assert.equal(
        letters.length,
        0,
        `a valid record became a dead letter (${letters.map((d) => d.error).join("; ")}): ${show(r)}`,
      );
    }
  }
  const reaches = (r: RefRecord, step: string) =>
    r.row !== undefined && !rejected(r.offset) && !failedAt(r.offset, step);

  // Topics: the records in input order, the key the name.
  const rowText = (r: RefRecord) => JSON.stringify(r.row);
  checkTopic(
    out,
    "fuzz_events",
    ref.filter((r) => reaches(r, "to:fuzz_events")).map((r) => [r.row!.name, rowText(r)]),
    ref,
  );
  const counts = new Map<string, number>();
  const countRecords: Array<[string, string]> = [];
  for (const r of ref) {
    if (r.row === undefined || rejected(r.offset)) continue;
    const n = (counts.get(r.row.name) ?? 0) + 1;
    counts.set(r.row.name, n);
    if (!failedAt(r.offset, "to:fuzz_counts"))
      countRecords.push([r.row.name, JSON.stringify({ key: r.row.name, value: n })]);
  }
  checkTopic(out, "fuzz_counts", countRecords, ref);

  // Windows: every record reaching the window is counted once, or late.
  const reachedWindow = ref.filter((r) => r.row !== undefined && !rejected(r.offset)).length;
  const windows = out.values.fuzz_windows.map((l) => JSON.parse(l) as { key: string; events: number });
  const late = out.values[`${PIPELINE}.late`].map((l) => JSON.parse(l) as DeadLetter);
  for (const l of late) {
    assert.ok(l.error.startsWith("late: "), `late record reason ${l.error}`);
    assert.ok(
      ref[l.offset]?.row !== undefined && !rejected(l.offset),
      `late record at offset ${l.offset} was never valid`,
    );
  }
  assert.equal(
    windows.reduce((s, w) => s + w.events, 0) + late.length,
    reachedWindow,
    "events counted by the hourly windows + late events = records that reached the window",
  );

  // The table: each key's last TABLE_VERSIONS versions, after the run's final checkpoint.
  const versions = new Map<string, RefRecord[]>();
  for (const r of ref)
    if (reaches(r, `table:${TABLE}`)) versions.set(r.row!.name, [...(versions.get(r.row!.name) ?? []), r]);
  const expectedTable: string[] = [];
  for (const [key, list] of versions)
    list.forEach((r, i) => {
      if (i >= list.length - TABLE_VERSIONS)
        expectedTable.push(
          canonicalJson({ key, version: i + 1, event_time: r.row!.at.toISOString(), value: r.row }),
        );
    });
  const actualTable = out.table.map((row) => canonicalJson(row));
  // A table stores a lone surrogate as U+FFFD, and PostgreSQL a NUL too (docs/tables.md): a version
  // holding one may come back either way.
  const stored = new Set(actualTable);
  const nul = store === "postgres";
  checkSameSet(
    `table ${TABLE}`,
    expectedTable.map((e) => (stored.has(e) ? e : canonicalJson(wellFormed(JSON.parse(e), nul)))),
    actualTable,
  );

  // The lake: every dataset holds each record that reached it, with the same values.
  for (const ds of LAKE) checkLake(ds, ref, out.lake[ds], (r) => reaches(r, `lake:${ds}`));

  // The dead-letter dataset holds exactly the dead letters.
  const landed = (out.lake[DEAD_LETTER_LAKE] ?? []).map((row) =>
    canonicalJson(Object.fromEntries(ENVELOPE_KEYS.map((k) => [k, row[k]]))),
  );
  checkSameSet(
    `lake ${DEAD_LETTER_LAKE}`,
    dlq.map((d) => canonicalJson(d)),
    landed,
  );
  return dlq.length;
}

/**
 * The steps a dead letter says failed: a record that several branches could not take is one dead
 * letter, `step a failed: ...; step b failed: ...` (docs/semantics.md).
 */
function stepsFailed(error: string): string[] {
  return [...error.matchAll(/(?:^|; )step (\S+) failed: /g)].map((m) => m[1]);
}

/** A topic holds these [key, value] records in this order (both read back, with and without keys). */
function checkTopic(out: Outputs, topic: string, expected: Array<[string, string]>, ref: RefRecord[]): void {
  const values = out.values[topic];
  for (let i = 0; i < Math.max(values.length, expected.length); i++) {
    if (values[i] === expected[i]?.[1]) continue;
    const offset = (s: string | undefined) =>
      s === undefined ? undefined : (JSON.parse(s) as { offset?: number }).offset;
    const o = offset(expected[i]?.[1]) ?? offset(values[i]);
    throw new assert.AssertionError({
      message:
        `topic ${topic}, record ${i}: expected ${truncate(expected[i]?.[1] ?? "(none)", 300)}, got ${truncate(values[i] ?? "(none)", 300)}` +
        (o !== undefined && ref[o] ? ` — ${show(ref[o])}` : ""),
    });
  }
  // A key is text, not JSON: a lone surrogate in it is stored as U+FFFD (docs/semantics.md).
  const keyed = expected.map(([k, v]) => `${k.toWellFormed()}\t${v}\n`).join("");
  if (out.keyed[topic] !== keyed) {
    const i = expected.findIndex(([k, v]) => !out.keyed[topic].includes(`${k.toWellFormed()}\t${v}\n`));
    const r = i >= 0 ? ref[(JSON.parse(expected[i][1]) as { offset: number }).offset] : undefined;
    throw new assert.AssertionError({
      message: `topic ${topic}: the keys differ${r ? ` — the key ${JSON.stringify(expected[i][0])} of ${show(r)}` : ""}`,
    });
  }
}

function checkSameSet(what: string, expected: string[], actual: string[]): void {
  const e = [...expected].sort();
  const a = [...actual].sort();
  if (e.length === a.length && e.every((x, i) => x === a[i])) return;
  const missing = e.filter((x) => !a.includes(x));
  const extra = a.filter((x) => !e.includes(x));
  throw new assert.AssertionError({
    message: `${what}: ${a.length} rows, ${e.length} expected; missing ${truncate(missing.slice(0, 3).join(" | "), 600)}; unexpected ${truncate(extra.slice(0, 3).join(" | "), 600)}`,
  });
}

/** A lake dataset's rows: the records that reached it, by offset, with their values. */
function checkLake(
  ds: string,
  ref: RefRecord[],
  rows: any[] | null,
  reached: (r: RefRecord) => boolean,
): void {
  const expected = ref.filter(reached);
  if (rows === null) {
    assert.equal(expected.length, 0, `lake ${ds} has no view, but ${expected.length} records reached it`);
    return;
  }
  const seen = new Set<number>();
  for (const row of rows) {
    const offset = Number(row.offset);
    const r = ref[offset];
    assert.ok(
      r !== undefined && reached(r),
      `lake ${ds} holds a row for offset ${row.offset}, which must not reach it: ${truncate(JSON.stringify(row), 300)}`,
    );
    assert.ok(!seen.has(offset), `lake ${ds} holds offset ${offset} twice`);
    seen.add(offset);
    const exp = r.row!;
    // Parquet and CSV datasets partitioned by date have the folder's `date` too.
    for (const c of Object.keys(row))
      assert.ok(ROW_COLUMNS.includes(c) || c === "date", `lake ${ds}: unexpected column ${c}`);
    const differs = (field: string, ok: boolean) => {
      if (ok) return;
      const want = truncate(canonicalJson((exp as unknown as Record<string, unknown>)[field]), 200);
      const got = truncate(JSON.stringify(row[field]) ?? "(absent)", 200);
      throw new assert.AssertionError({
        message: `lake ${ds}, ${field} of ${show(r)}: expected ${want}, got ${got}`,
      });
    };
    differs("id", Number(row.id) === exp.id);
    differs("name", sameString(row.name, exp.name));
    differs("amount", Number(row.amount) === exp.amount);
    differs("flag", row.flag === exp.flag);
    differs("at", Date.parse(row.at) === exp.at.getTime());
    differs("tags", sameJson(row.tags ?? undefined, exp.tags));
    differs("payload", sameJson(row.payload, exp.payload));
  }
  const missing = expected.filter((r) => !seen.has(r.offset));
  assert.equal(
    missing.length,
    0,
    `lake ${ds} lacks ${missing.length} records, e.g. ${missing[0] ? show(missing[0]) : ""}`,
  );
}

/**
 * A JSON value read back from the lake equals the record's: as is, or — CSV keeps no types, and a
 * column of strings is VARCHAR — as the JSON text of it. SQL NULL stands for JSON null and for absent.
 */
function sameJson(actual: unknown, expected: unknown): boolean {
  if (expected === undefined || expected === null) return actual === null || actual === undefined;
  if (canonicalJson(actual) === canonicalJson(expected)) return true;
  // The lake writes a lone surrogate, in a value or a key, as U+FFFD (docs/lake.md).
  if (canonicalJson(actual) === canonicalJson(wellFormed(expected))) return true;
  if (typeof expected === "string" && sameString(actual, expected)) return true;
  if (typeof actual !== "string") return false;
  try {
    return canonicalJson(JSON.parse(actual)) === canonicalJson(expected);
  } catch {
    return false;
  }
}

/**
 * A JSON value with every lone surrogate in its strings and keys replaced by U+FFFD, and with
 * `nul`, every U+0000 too (what PostgreSQL tables store, docs/tables.md). Iteratively: values may
 * be thousands deep.
 */
function wellFormed(value: unknown, nul = false): unknown {
  const text = (t: string) => (nul ? t.toWellFormed().replaceAll("\u0000", "\ufffd") : t.toWellFormed());
  const fix = (v: unknown): unknown => (typeof v === "string" ? text(v) : v);
  const root: { v: unknown } = { v: undefined };
  const stack: Array<[unknown, (x: unknown) => void]> = [[value, (x) => (root.v = x)]];
  while (stack.length > 0) {
    const [v, put] = stack.pop()!;
    if (v === null || typeof v !== "object" || v instanceof Date) {
      put(fix(v));
    } else if (Array.isArray(v)) {
      const copy: unknown[] = new Array(v.length);
      put(copy);
      v.forEach((x, i) => stack.push([x, (y) => (copy[i] = y)]));
    } else {
      const copy: Record<string, unknown> = {};
      put(copy);
      for (const [k, x] of Object.entries(v)) stack.push([x, (y) => (copy[text(k)] = y)]);
    }
  }
  return root.v;
}

/** ISO-8601 with a zone: what the lake stores as a timestamp (docs/lake.md, Types). */
const ISO_ZONED = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}(?::?\d{2})?)$/;

/**
 * A string read back from the lake equals the record's: exactly, or — a column of ISO-8601 strings
 * with a zone is a timestamp column, as documented — the same instant.
 */
function sameString(actual: unknown, expected: string): boolean {
  if (actual === expected || actual === expected.toWellFormed()) return true;
  if (typeof actual !== "string" || !ISO_ZONED.test(expected)) return false;
  const t = parseEventTime(expected);
  return t !== undefined && parseEventTime(actual) === t;
}

// ---------------------------------------------------------------------------------------------
// The killed run against the uninterrupted one

function assertSameOutputs(expected: Outputs, actual: Outputs): void {
  for (const topic of TOPICS) {
    if (actual.keyed[topic] === expected.keyed[topic]) continue;
    const e = expected.keyed[topic].split("\n");
    const a = actual.keyed[topic].split("\n");
    const i = e.findIndex((line, k) => line !== a[k]);
    throw new assert.AssertionError({
      message: `after SIGKILL and restart, topic ${topic} differs from the uninterrupted run (${a.length - 1} records, ${e.length - 1} expected) at record ${i}: expected ${truncate(e[i] ?? "(none)", 300)}, got ${truncate(a[i] ?? "(none)", 300)}`,
    });
  }
  checkSameSet(
    `after SIGKILL and restart, table ${TABLE} (every stored version)`,
    expected.table.map((r) => canonicalJson(r)),
    actual.table.map((r) => canonicalJson(r)),
  );
  for (const ds of [...LAKE, DEAD_LETTER_LAKE]) {
    checkSameSet(
      `after SIGKILL and restart, lake ${ds}`,
      (expected.lake[ds] ?? []).map((r) => canonicalJson(r)),
      (actual.lake[ds] ?? []).map((r) => canonicalJson(r)),
    );
  }
}
