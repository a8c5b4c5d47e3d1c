/**
 * Helpers for tests that run the real `weir` command in a child process.
 *
 * The CLI entry is picked by how the tests run: from TypeScript sources (`node --import tsx --test
 * test/cli/x.test.ts`) the child runs src/cli/main.ts through tsx; from the build (`npm test`, which
 * runs dist/test/**) it runs dist/src/cli/main.js.
 *
 *   const dir = tempDataDir(t);                         // removed after the test
 *   const r = await runCli(["topics", "list", "--data-dir", dir]);
 *   assert.equal(r.code, 0, r.stderr);
 *
 *   const p = spawnCli(["consume", "t", "--follow", "--data-dir", dir]);
 *   await p.waitForStdout((out) => out.split("\n").length > 3, 10_000);
 *   p.kill("SIGINT");
 *   const res = await p.exited;
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { TestContext } from "node:test";

const fromSources = import.meta.url.endsWith(".ts");

/** Absolute path of the CLI entry the tests run. */
export const CLI_ENTRY = fileURLToPath(
  new URL(`../../src/cli/main.${fromSources ? "ts" : "js"}`, import.meta.url),
);

/**
 * Node flags for the child: the parent's (minus test-runner and inspector flags); when running
 * sources, tsx is loaded by absolute URL (a bare `--import tsx` resolves from the child's cwd,
 * which a test may set to a temporary directory).
 */
export function childExecArgv(): string[] {
  const src = process.execArgv.filter((a) => !a.startsWith("--test") && !a.startsWith("--inspect"));
  const args: string[] = [];
  for (let i = 0; i < src.length; i++) {
    const a = src[i];
    if ((a === "--import" || a === "--loader" || a === "--experimental-loader") && src[i + 1] === "tsx") i++;
    else if (a !== "--import=tsx" && a !== "--loader=tsx") args.push(a);
  }
  if (fromSources) args.push("--import", import.meta.resolve("tsx"));
  return args;
}

export interface CliResult {
  /** Exit code, or null when the process was killed by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** Bytes to write to stdin (then stdin is closed). Without it stdin is closed immediately. */
  input?: string | Buffer;
  /** Extra environment; WEIR_DATA_DIR and WEIR_DEBUG of the parent are not inherited. */
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Kill the process (SIGKILL) and fail when it runs longer than this. Default 60 s. */
  timeoutMs?: number;
}

function childEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.WEIR_DATA_DIR;
  delete env.WEIR_DEBUG;
  delete env.NODE_TEST_CONTEXT; // the child is a program, not a test file
  env.NO_COLOR = "1";
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

/** A running `weir` process with its output collected as it arrives. */
export class CliProcess {
  readonly child: ChildProcess;
  stdout = "";
  stderr = "";
  /** Resolves when the process exits (never rejects; see `code`/`signal`). */
  readonly exited: Promise<CliResult>;
  private readonly listeners = new Set<() => void>();
  private timer: NodeJS.Timeout | undefined;
  private timedOut = false;

  constructor(args: readonly string[], options: CliOptions = {}) {
    this.child = spawn(process.execPath, [...childExecArgv(), CLI_ENTRY, ...args], {
      cwd: options.cwd,
      env: childEnv(options.env),
      stdio: ["pipe", "pipe", "pipe"],
    });
    this.child.stdout!.setEncoding("utf8");
    this.child.stderr!.setEncoding("utf8");
    this.child.stdout!.on("data", (s: string) => {
      this.stdout += s;
      this.notify();
    });
    this.child.stderr!.on("data", (s: string) => {
      this.stderr += s;
      this.notify();
    });
    this.child.stdin!.on("error", () => {}); // the child may exit before reading its input
    const timeoutMs = options.timeoutMs ?? 60_000;
    this.timer = setTimeout(() => {
      this.timedOut = true;
      this.child.kill("SIGKILL");
    }, timeoutMs);
    this.exited = new Promise<CliResult>((resolveExit) => {
      this.child.on("close", (code, signal) => {
        clearTimeout(this.timer);
        this.notify();
        if (this.timedOut)
          this.stderr += `\n[helpers] killed after ${timeoutMs} ms: weir ${args.join(" ")}\n`;
        resolveExit({ code, signal, stdout: this.stdout, stderr: this.stderr });
      });
    });
  }

  /** Write to the child's stdin. */
  write(data: string | Buffer): void {
    this.child.stdin!.write(data);
  }

  /** Close the child's stdin. */
  end(data?: string | Buffer): void {
    if (data !== undefined) this.child.stdin!.end(data);
    else this.child.stdin!.end();
  }

  kill(signal: NodeJS.Signals = "SIGTERM"): void {
    this.child.kill(signal);
  }

  private notify(): void {
    for (const l of [...this.listeners]) l();
  }

  /**
   * Wait until `predicate(stdout)` holds; rejects after `timeoutMs` or when the process exits first
   * (the error shows stdout and stderr so far).
   */
  waitForStdout(predicate: (stdout: string) => boolean, timeoutMs = 15_000): Promise<void> {
    return this.waitFor(() => predicate(this.stdout), "stdout", timeoutMs);
  }

  /** Like waitForStdout, on stderr. */
  waitForStderr(predicate: (stderr: string) => boolean, timeoutMs = 15_000): Promise<void> {
    return this.waitFor(() => predicate(this.stderr), "stderr", timeoutMs);
  }

  private waitFor(check: () => boolean, what: string, timeoutMs: number): Promise<void> {
    return new Promise<void>((resolveWait, reject) => {
      let exited = false;
      const cleanup = () => {
        clearTimeout(timer);
        this.listeners.delete(listener);
      };
      const fail = (why: string) => {
        cleanup();
        reject(
          new Error(`${why} waiting for ${what}\n--- stdout:\n${this.stdout}\n--- stderr:\n${this.stderr}`),
        );
      };
      const listener = () => {
        if (check()) {
          cleanup();
          resolveWait();
        } else if (exited) {
          fail("process exited");
        }
      };
      const timer = setTimeout(() => fail(`timed out after ${timeoutMs} ms`), timeoutMs);
      this.listeners.add(listener);
      void this.exited.then(() => {
        exited = true;
        listener();
      });
      listener();
    });
  }
}

/** Start `weir ARGS...`; the caller ends stdin (`end()`) when it gives no `input`. */
export function spawnCli(args: readonly string[], options: CliOptions = {}): CliProcess {
  const p = new CliProcess(args, options);
  if (options.input !== undefined) p.end(options.input);
  return p;
}

/** Run `weir ARGS...` to completion (stdin gets `options.input`, or is closed at once). */
export function runCli(args: readonly string[], options: CliOptions = {}): Promise<CliResult> {
  const p = new CliProcess(args, options);
  p.end(options.input);
  return p.exited;
}

/** `weir query SQL --format json --data-dir DIR`, asserted to succeed: its one row, parsed. */
export async function queryRow(dataDir: string, sql: string): Promise<any> {
  const r = await runCli(["query", sql, "--format", "json", "--data-dir", dataDir]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

/** A fresh temporary directory, removed when the test ends. */
export function tempDir(t: TestContext, prefix = "weir-cli-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A fresh data directory path (inside a temp dir; not created, so the CLI creates it). */
export function tempDataDir(t: TestContext): string {
  return join(tempDir(t), "data");
}

/** True when the text looks like it contains a JavaScript stack trace. */
export function hasStackTrace(text: string): boolean {
  return /^\s+at .+(:\d+:\d+\)?|\(native\)|<anonymous>)$/m.test(text) || /\bnode:internal\b/.test(text);
}

/** The lines of a command's output (without the final empty line). */
export function lines(text: string): string[] {
  if (text === "") return [];
  const all = text.split("\n");
  if (all[all.length - 1] === "") all.pop();
  return all;
}

/** `n` JSON lines like `{"i":0,"user":"u0"}` ending with a newline. */
export function jsonLines(
  n: number,
  make: (i: number) => unknown = (i) => ({ i, user: `u${i % 7}` }),
): string {
  let s = "";
  for (let i = 0; i < n; i++) s += JSON.stringify(make(i)) + "\n";
  return s;
}

/** A record of {@link interleavedRecords}: its partition and timestamp are given explicitly. */
export interface PlacedRecord {
  key: string | null;
  value: string;
  partition: number;
  timestamp: number;
}

/**
 * `perPartition` records in each of `partitions` partitions whose timestamps interleave across the
 * partitions, with ties between partitions, and now and then an older timestamp inside a partition
 * (which the merge must not reorder within its partition). Every tenth record has no key. Values
 * are JSON padded with `pad` characters. Timestamps start at `base` (keep it recent: Kafka's
 * retention deletes records with old timestamps).
 */
export function interleavedRecords(
  partitions: number,
  perPartition: number,
  options: { base: number; pad?: number },
): PlacedRecord[] {
  const out: PlacedRecord[] = [];
  const pad = "x".repeat(options.pad ?? 0);
  for (let p = 0; p < partitions; p++) {
    for (let j = 0; j < perPartition; j++) {
      let t = Math.floor((j * partitions + p) / 2) + (j % 7 === p ? 3 : 0);
      if (j % 97 === 13) t -= 40;
      out.push({
        key: j % 10 === 0 ? null : `k${p}-${j % 5}`,
        value: JSON.stringify({ p, j, pad }),
        partition: p,
        timestamp: options.base + t,
      });
    }
  }
  return out;
}

/**
 * What `weir consume` prints for `records` (each partition's in offset order, which is their order
 * here): the partitions' heads merged by timestamp, then partition number.
 */
export function mergedOutput(records: readonly PlacedRecord[], options: { keys?: boolean } = {}): string {
  const byPartition = new Map<number, PlacedRecord[]>();
  for (const r of records) {
    const list = byPartition.get(r.partition) ?? [];
    list.push(r);
    byPartition.set(r.partition, list);
  }
  const queues = [...byPartition].sort((a, b) => a[0] - b[0]).map(([, list]) => ({ list, i: 0 }));
  let text = "";
  for (;;) {
    let best: { list: PlacedRecord[]; i: number } | undefined;
    for (const q of queues) {
      if (q.i >= q.list.length) continue;
      if (best === undefined || q.list[q.i].timestamp < best.list[best.i].timestamp) best = q;
    }
    if (best === undefined) return text;
    const r = best.list[best.i++];
    text += options.keys ? `${r.key ?? "null"}\t${r.value}\n` : `${r.value}\n`;
  }
}
