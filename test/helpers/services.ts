/**
 * Tests that need a real service (PostgreSQL, Kafka, Chromium) and what to do when it is missing.
 *
 *   test("writes to PostgreSQL", async (t) => {
 *     if (pg.url === undefined) return requireService(t, "PostgreSQL", pg.unavailable);
 *     ...
 *   });
 *
 * On a developer's machine a missing service SKIPS the test with a loud, named reason. In CI
 * (WEIR_REQUIRE_SERVICES=1, set by .ci/run) it FAILS: a service that CI should have provisioned
 * must never turn into a silently skipped test.
 *
 * `usePostgres()` provisions a throwaway PostgreSQL cluster through scripts/postgres.sh for the
 * tests of one file (its own directory and port, so test files running in parallel do not stop
 * each other's server), and stops it afterwards only if it started it.
 *
 * `useKafka()` does the same for a Kafka broker (or a 3-node cluster) through scripts/kafka.sh:
 *
 *   describe("on Kafka", () => {
 *     const kafka = useKafka({ port: 19310 });     // each test file its own port
 *     test("...", async (t) => {
 *       if (kafka.url === undefined) return requireService(t, "Kafka", kafka.unavailable);
 *       ... `weir ... --broker ${kafka.url}` ...
 *     });
 *   });
 *
 * `useChromium()` launches Debian's chromium (playwright-core) for the browser tests of a file:
 *
 *   describe("in a browser", () => {
 *     const chromium = useChromium();
 *     test("...", async (t) => {
 *       if (chromium.browser === undefined) return requireService(t, "Chromium", chromium.unavailable);
 *       const page = await chromium.browser.newPage();
 *     });
 *   });
 */
import { execFile } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, type TestContext } from "node:test";
import type { Browser } from "playwright-core";

/** True when missing services must fail tests instead of skipping them (CI). */
export function servicesRequired(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.WEIR_REQUIRE_SERVICES === "1" || env.WEIR_REQUIRE_SERVICES === "true";
}

/**
 * Skip the test (or fail it, when WEIR_REQUIRE_SERVICES=1) because `name` is not available.
 * Call it and return: `return requireService(t, "PostgreSQL", why)`.
 */
export function requireService(t: TestContext, name: string, reason: string | undefined): void {
  const message = `${name} not available: ${reason ?? "unknown reason"}`;
  if (servicesRequired()) {
    throw new Error(`${message} (WEIR_REQUIRE_SERVICES=1: this test needs ${name} and must not skip)`);
  }
  process.stderr.write(`\n!!! SKIPPED ${t.name}: ${message}\n`);
  t.skip(message);
}

/** The repository root (the directory with package.json), from sources or from dist/. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    if (existsSync(join(dir, "package.json")) && existsSync(join(dir, "scripts"))) return dir;
    dir = dirname(dir);
  }
  throw new Error(`cannot find the repository root above ${fileURLToPath(import.meta.url)}`);
}

export interface ScriptResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run scripts/postgres.sh COMMAND with the cluster's directory and port. Never rejects. */
export function postgresScript(
  command: "start" | "stop" | "status" | "url" | "clean",
  cluster: { dir: string; port: number },
  timeoutMs = 120_000,
): Promise<ScriptResult> {
  const script = join(repoRoot(), "scripts", "postgres.sh");
  return new Promise((resolveRun) => {
    execFile(
      "bash",
      [script, command],
      {
        env: { ...process.env, WEIR_PG_DIR: cluster.dir, WEIR_PG_PORT: String(cluster.port) },
        timeout: timeoutMs,
        killSignal: "SIGKILL",
      },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === "number" ? err.code : 1;
        const why = err !== null && err.killed ? `\n(killed after ${timeoutMs} ms)` : "";
        resolveRun({ code, stdout: String(stdout), stderr: String(stderr) + why });
      },
    );
  });
}

/**
 * Added to every service port (and named in its directory): WEIR_TEST_PORT_OFFSET=200 lets the
 * suite of a second checkout run beside this one's. The files' ports are 19310..19472 for Kafka
 * (controllers +1000) and 25433..25460 for PostgreSQL, so offsets of 200, 400... do not collide.
 */
export const TEST_PORT_OFFSET = Number(process.env.WEIR_TEST_PORT_OFFSET ?? 0) || 0;

export interface PostgresService {
  readonly dir: string;
  readonly port: number;
  /** The server's URL once started (undefined when it could not be provisioned). */
  url: string | undefined;
  /** Why PostgreSQL is not available (set when url is undefined). */
  unavailable: string | undefined;
  /** Stop the server (for outage tests); throws when the script fails. */
  stop(): Promise<void>;
  /** Start it again; throws when the script fails. */
  start(): Promise<void>;
}

/**
 * Provision PostgreSQL for the tests of a file: call inside the file's top `describe()` (it
 * registers that suite's `before` and `after` hooks; root-level hooks of node 20 do not run before
 * suites). Each file passes its own port and directory. `after` hooks run in the order they are
 * registered: register the ones that close your clients before calling this.
 */
export function usePostgres(options: { port: number; dir: string }): PostgresService {
  const cluster =
    TEST_PORT_OFFSET === 0
      ? { dir: options.dir, port: options.port }
      : { dir: `${options.dir}-o${TEST_PORT_OFFSET}`, port: options.port + TEST_PORT_OFFSET };
  let startedByUs = false;
  let createdByUs = false;
  const run = async (command: "start" | "stop") => {
    const r = await postgresScript(command, cluster);
    if (r.code !== 0)
      throw new Error(`scripts/postgres.sh ${command} failed (exit ${r.code}): ${r.stderr.trim()}`);
  };
  const service: PostgresService = {
    dir: cluster.dir,
    port: cluster.port,
    url: undefined,
    unavailable: undefined,
    stop: () => run("stop"),
    start: () => run("start"),
  };
  before(async () => {
    createdByUs = !existsSync(cluster.dir);
    const status = await postgresScript("status", cluster);
    const running = status.code === 0;
    const r = await postgresScript("start", cluster);
    if (r.code !== 0) {
      const lines = r.stderr.trim().split("\n");
      service.unavailable = `scripts/postgres.sh start failed (exit ${r.code}): ${lines.slice(-3).join(" | ")}`;
      return;
    }
    startedByUs = !running;
    service.url = (await postgresScript("url", cluster)).stdout.trim();
  });
  after(async () => {
    if (createdByUs) await postgresScript("clean", cluster);
    else if (startedByUs) await postgresScript("stop", cluster);
  });
  return service;
}

/** Run scripts/kafka.sh with the given command and environment. Never rejects. */
export function kafkaScript(
  args: readonly string[],
  env: Record<string, string>,
  timeoutMs = 120_000,
): Promise<ScriptResult> {
  const script = join(repoRoot(), "scripts", "kafka.sh");
  return new Promise((resolveRun) => {
    execFile(
      "bash",
      [script, ...args],
      { env: { ...process.env, ...env }, timeout: timeoutMs, killSignal: "SIGKILL", maxBuffer: 16 << 20 },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === "number" ? err.code : 1;
        const why = err !== null && err.killed ? `\n(killed after ${timeoutMs} ms)` : "";
        resolveRun({ code, stdout: String(stdout), stderr: String(stderr) + why });
      },
    );
  });
}

/** True when `java` is on PATH (or JAVA_HOME has one): scripts/kafka.sh runs the broker with it. */
function hasJava(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.JAVA_HOME && existsSync(join(env.JAVA_HOME, "bin", "java"))) return true;
  return (env.PATH ?? "").split(delimiter).some((dir) => dir !== "" && existsSync(join(dir, "java")));
}

export interface KafkaService {
  readonly port: number;
  readonly brokers: 1 | 3;
  /** The cluster's data directory (removed after the file's tests). */
  readonly dir: string;
  /** `kafka://127.0.0.1:PORT[,...]` once started (undefined when Kafka could not be provisioned). */
  url: string | undefined;
  /** Why Kafka is not available (set when url is undefined). */
  unavailable: string | undefined;
  /** Stop node N (1..brokers) for failover tests; throws when the script fails. */
  stopNode(n: number): Promise<void>;
  /** Start node N again; throws when the script fails. */
  startNode(n: number): Promise<void>;
}

/**
 * Provision Kafka for the tests of a file: call inside the file's top `describe()` (it registers
 * that suite's `before` and `after` hooks). `before` starts `brokers` nodes (default 1) listening
 * on `port`, `port + 1`... (controllers on `port + 1000`...) with their data in a directory of the
 * system's temporary directory named after the port; `after` stops them and removes it. The first
 * start on a machine fetches Kafka's jars with Maven (allowed up to 5 minutes).
 */
export function useKafka(options: { port: number; brokers?: 1 | 3 }): KafkaService {
  const port = options.port + TEST_PORT_OFFSET;
  const brokers = options.brokers ?? 1;
  const dir = join(tmpdir(), `weir-kafka-${port}`);
  const env = {
    WEIR_KAFKA_PORT: String(port),
    WEIR_KAFKA_DIR: dir,
    WEIR_KAFKA_BROKERS: String(brokers),
  };
  const run = async (args: string[], timeoutMs?: number) => {
    const r = await kafkaScript(args, env, timeoutMs);
    if (r.code !== 0) {
      throw new Error(`scripts/kafka.sh ${args.join(" ")} failed (exit ${r.code}): ${tail(r.stderr, 5)}`);
    }
  };
  const service: KafkaService = {
    port,
    brokers,
    dir,
    url: undefined,
    unavailable: undefined,
    stopNode: (n) => run(["stop-node", String(n)]),
    startNode: (n) => run(["start-node", String(n)], 180_000),
  };
  before(async () => {
    if (!hasJava()) {
      service.unavailable = "no `java` on PATH (scripts/kafka.sh runs Kafka on Java 17+)";
      return;
    }
    // A run that crashed may have left its cluster (and processes) behind: the script's own
    // layout file says what to stop, whatever this file asks for now.
    if (existsSync(dir)) {
      await kafkaScript(["clean"], { WEIR_KAFKA_DIR: dir, WEIR_KAFKA_PORT: "", WEIR_KAFKA_BROKERS: "" });
    }
    const r = await kafkaScript(["start"], env, 300_000);
    if (r.code !== 0) {
      service.unavailable = `scripts/kafka.sh start failed (exit ${r.code}): ${tail(r.stderr, 3)}`;
      return;
    }
    service.url = (await kafkaScript(["url"], env)).stdout.trim();
  });
  after(async () => {
    if (existsSync(dir)) await kafkaScript(["stop"], env);
    rmSync(dir, { recursive: true, force: true });
    rmSync(`${dir}.lock`, { force: true });
  });
  return service;
}

/** The last `n` non-empty lines of a text, joined with " | ". */
function tail(text: string, n: number): string {
  return text
    .trim()
    .split("\n")
    .filter((l) => l.trim() !== "")
    .slice(-n)
    .join(" | ");
}

/** Where the browser tests find Chromium: $WEIR_CHROMIUM, else Debian's package. */
export function chromiumPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.WEIR_CHROMIUM || "/usr/bin/chromium";
}

export interface ChromiumService {
  /** The path tried (chromiumPath()). */
  readonly executablePath: string;
  /** The running browser once launched (undefined when Chromium is not available). */
  browser: Browser | undefined;
  /** Why Chromium is not available (set when browser is undefined). */
  unavailable: string | undefined;
}

/**
 * Launch headless Chromium for the tests of a file: call inside the file's top `describe()` (it
 * registers that suite's `before` and `after` hooks; `after` closes the browser). A missing
 * executable or a failed launch leaves `browser` undefined and says why in `unavailable`.
 */
export function useChromium(options: { executablePath?: string } = {}): ChromiumService {
  const service: ChromiumService = {
    executablePath: options.executablePath ?? chromiumPath(),
    browser: undefined,
    unavailable: undefined,
  };
  before(async () => {
    if (!existsSync(service.executablePath)) {
      service.unavailable = `no Chromium at ${service.executablePath} (apt-get install chromium, or set WEIR_CHROMIUM)`;
      return;
    }
    try {
      const { chromium } = await import("playwright-core");
      service.browser = await chromium.launch({
        executablePath: service.executablePath,
        headless: true,
        args: ["--no-sandbox"],
        timeout: 60_000,
      });
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      service.unavailable = `launching ${service.executablePath} failed: ${tail(message, 3)}`;
    }
  });
  after(async () => {
    await service.browser?.close();
    service.browser = undefined;
  });
  return service;
}
