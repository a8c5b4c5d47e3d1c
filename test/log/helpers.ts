/** Shared test helpers for the embedded log: temp data directories and child processes. */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { extname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { EmbeddedLog, type LogOptions } from "../../src/log/index.js";

/** A fresh data directory under the OS temp dir, removed by the returned cleanup. */
export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "weir-log-test-"));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Runs fn with a log in a fresh temp directory; closes the log and removes the directory after. */
export async function withLog<T>(
  fn: (log: EmbeddedLog, dir: string, messages: string[]) => T | Promise<T>,
  options: LogOptions = {},
): Promise<T> {
  const { dir, cleanup } = tempDir();
  const messages: string[] = [];
  const log = EmbeddedLog.open(dir, { logger: (m) => messages.push(m), ...options });
  try {
    return await fn(log, dir, messages);
  } finally {
    try {
      log.close();
    } finally {
      cleanup();
    }
  }
}

/**
 * Spawns test/log/fixtures/child with the same node and loader as this process: ".ts" under tsx,
 * ".js" when the suite runs compiled from dist/.
 */
export function spawnChild(args: readonly string[]): ChildProcess {
  const ext = extname(fileURLToPath(import.meta.url));
  const fixture = fileURLToPath(new URL(`./fixtures/child${ext}`, import.meta.url));
  const execArgv = process.execArgv.filter((a) => !a.startsWith("--test"));
  return spawn(process.execPath, [...execArgv, fixture, ...args], { stdio: ["ignore", "pipe", "pipe"] });
}

/** Lines a child prints, one at a time; with its stderr collected for failure messages. */
export class ChildLines {
  private readonly queue: string[] = [];
  private readonly waiting: ((line: string | null) => void)[] = [];
  private ended = false;
  stderr = "";
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(readonly child: ChildProcess) {
    child.stderr!.on("data", (d: Buffer) => (this.stderr += d.toString()));
    const rl = createInterface({ input: child.stdout! });
    rl.on("line", (line) => {
      const w = this.waiting.shift();
      if (w) w(line);
      else this.queue.push(line);
    });
    rl.on("close", () => {
      this.ended = true;
      for (const w of this.waiting.splice(0)) w(null);
    });
    this.exited = new Promise((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));
  }

  /** The next line, or null at end of output; rejects after timeoutMs. */
  next(timeoutMs = 15_000): Promise<string | null> {
    if (this.queue.length > 0) return Promise.resolve(this.queue.shift()!);
    if (this.ended) return Promise.resolve(null);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.splice(this.waiting.indexOf(done), 1);
        reject(new Error(`no line from child within ${timeoutMs} ms; stderr: ${this.stderr}`));
      }, timeoutMs);
      const done = (line: string | null): void => {
        clearTimeout(timer);
        resolve(line);
      };
      this.waiting.push(done);
    });
  }

  /** Lines already received and not yet taken. */
  drain(): string[] {
    return this.queue.splice(0);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
