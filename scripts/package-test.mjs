#!/usr/bin/env node
// Uses Weir the way a user does (issue 13; a stage of .ci/run, also `npm run test:package`):
// `npm pack`, install the tarball into a new ES-module project outside the repository (its own
// node_modules, dependencies from the npm registry), then follow the README's "Use it in your
// project" section word for word — its my-pipeline.ts, tsconfig.json, my-pipeline.test.ts and
// commands are read from README.md — and check what a user would:
//
//   - `npx tsc` type-checks the pipeline under --strict; a typo in a field is a compile error (and
//     `npx weir run` refuses it); an async `.map(async ...)` is a compile error (`@ts-expect-error`);
//   - `npx weir run ./my-pipeline.ts --input FILE` runs it, `npx weir consume TOPIC` reads exactly
//     the records expected from a hand-made input, and the README's generated input runs too;
//   - `node --import tsx --test my-pipeline.test.ts` passes (TestDriver);
//   - the built-in examples work from the installed package: `npx weir describe nobroker`,
//     `npx weir run nobroker --input`, `npx weir demo` (in its own ./.weir-demo);
//   - `npx weir run` stops cleanly when npx is sent SIGTERM (npm does not pass it on).
//
//   node scripts/package-test.mjs [--keep]      --keep: leave the temporary project for a look
//
// Exit 0 when every check passed, 1 when one failed (the step and its output are printed), 3 when
// it cannot run here (the npm registry cannot be reached), saying why. Installing takes a minute or
// two: better-sqlite3 compiles from source when its prebuilt binary cannot be downloaded.
import { spawn } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const keep = process.argv.includes("--keep");
const repoPackage = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const started = performance.now();

// ---------------------------------------------------------------------------------------------
// Running commands

/** The environment of every command: npm's variables of an enclosing `npm run` removed, so that the
 * nested npm works on the temporary project (npm_config_local_prefix would point it back here). */
function cleanEnv() {
  const keepNpm = new Set([
    "npm_config_cache",
    "npm_config_registry",
    "npm_config_userconfig",
    "npm_config_globalconfig",
    "npm_config_cafile",
    "npm_config_proxy",
    "npm_config_https_proxy",
    "npm_config_noproxy",
    "npm_config_strict_ssl",
  ]);
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.toLowerCase().startsWith("npm_") && !keepNpm.has(k.toLowerCase())) continue;
    if (["INIT_CWD", "NODE_TEST_CONTEXT", "WEIR_DATA_DIR", "WEIR_BROKER", "WEIR_DEBUG"].includes(k)) continue;
    env[k] = v;
  }
  env.NO_COLOR = "1";
  return env;
}

class CheckFailed extends Error {}
class CannotRun extends Error {}

/** Run a command to its end; resolves with its code and output (never rejects). */
function exec(command, args, { cwd, timeoutMs = 300_000, input } = {}) {
  return new Promise((resolveRun) => {
    const child = spawn(command, args, { cwd, env: cleanEnv(), stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (s) => (stdout += s));
    child.stderr.setEncoding("utf8").on("data", (s) => (stderr += s));
    child.stdin.on("error", () => {});
    child.stdin.end(input);
    const timer = setTimeout(() => {
      stderr += `\n[package-test] killed after ${timeoutMs} ms`;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.on("error", (err) => {
      stderr += `\n[package-test] ${err.message}`;
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolveRun({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
  });
}

function tail(text, lines = 25) {
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}

/** Run a command that must succeed; returns its result. */
async function must(command, args, options = {}) {
  const r = await exec(command, args, options);
  if (r.code !== 0) {
    throw new CheckFailed(
      `\`${[command, ...args].join(" ")}\` exited ${r.code}\n--- stdout:\n${tail(r.stdout)}\n--- stderr:\n${tail(r.stderr)}`,
    );
  }
  return r;
}

function check(condition, message) {
  if (!condition) throw new CheckFailed(message);
}

function equalJson(actual, expected, what) {
  const a = JSON.stringify(actual, null, 1);
  const e = JSON.stringify(expected, null, 1);
  check(a === e, `${what}:\n--- expected:\n${e}\n--- actual:\n${a}`);
}

const steps = [];
/**
 * Run one check. A failed check is reported and the next ones still run (all failures show at
 * once), unless it is `fatal`: the later checks need what it makes (the tarball, the install).
 */
async function step(name, fn, { fatal = false } = {}) {
  const t0 = performance.now();
  process.stdout.write(`package-test: ${name} ...\n`);
  let note;
  try {
    note = await fn();
  } catch (err) {
    const seconds = ((performance.now() - t0) / 1000).toFixed(1);
    if (err instanceof CannotRun || fatal) throw err;
    steps.push({ name, seconds, failed: true });
    process.stdout.write(`package-test: FAIL ${name} (${seconds} s)\n`);
    process.stderr.write(
      `package-test: FAIL ${name}: ${err instanceof CheckFailed ? err.message : err.stack}\n`,
    );
    return;
  }
  const seconds = ((performance.now() - t0) / 1000).toFixed(1);
  steps.push({ name, seconds, failed: false });
  process.stdout.write(`package-test: ok   ${name} (${seconds} s)${note ? `: ${note}` : ""}\n`);
}

// ---------------------------------------------------------------------------------------------
// The README's user section

const readme = readFileSync(join(root, "README.md"), "utf8");

/** The code block that follows "Save this as `NAME`:" in the README. */
function readmeFile(name) {
  const m = new RegExp(
    `Save this as\\s+\`${name.replace(/[.]/g, "\\.")}\`:\\s*\`\`\`\\w*\\n([\\s\\S]*?)\\n\`\`\``,
  ).exec(readme);
  if (m === null)
    throw new CheckFailed(`README.md has no "Save this as \`${name}\`:" followed by a code block`);
  return `${m[1]}\n`;
}

/** The tsconfig.json the README gives inline: "With a `tsconfig.json` of `{...}`". */
function readmeTsconfig() {
  const m = /`tsconfig\.json` of\s+`(\{[^`]*\})`/.exec(readme);
  if (m === null)
    throw new CheckFailed('README.md gives no tsconfig.json ("With a `tsconfig.json` of `{...}`")');
  return JSON.parse(m[1].replace(/\s+/g, " "));
}

/** Fail unless the README shows `command` on a line of its own (a shell block), so script and README agree. */
function inReadme(command) {
  const lines = readme.split("\n").map((l) => l.replace(/\s+#.*$/, "").trim());
  check(
    lines.includes(command),
    `README.md no longer shows \`${command}\`: update scripts/package-test.mjs with it`,
  );
  return command.split(/\s+/);
}

// ---------------------------------------------------------------------------------------------

const work = mkdtempSync(join(tmpdir(), "weir-package-test-"));
const project = join(work, "project");

try {
  let tarball;
  await step(
    "npm pack",
    async () => {
      const r = await must("npm", ["pack", "--json", "--pack-destination", work], {
        cwd: root,
        timeoutMs: 600_000,
      });
      const [packed] = JSON.parse(r.stdout.slice(r.stdout.indexOf("[")));
      tarball = join(work, packed.filename);
      check(existsSync(tarball), `npm pack wrote no ${tarball}`);
      return `${packed.filename}, ${packed.entryCount} files, ${(packed.size / 1024).toFixed(0)} KiB`;
    },
    { fatal: true },
  );

  await step(
    "install the tarball into a new project",
    async () => {
      mkdirSync(project);
      writeFileSync(
        join(project, "package.json"),
        `${JSON.stringify({ name: "weir-user", version: "1.0.0", private: true, type: "module" }, null, 2)}\n`,
      );
      inReadme("npm install weir");
      const dev = inReadme("npm install --save-dev typescript tsx").slice(3);
      // The tools at the versions this repository is checked with (the README names none).
      const pinned = {
        typescript: repoPackage.devDependencies.typescript,
        tsx: repoPackage.dependencies.tsx,
      };
      const npmArgs = ["--no-audit", "--no-fund", "--prefer-offline"];
      for (const args of [
        ["install", ...npmArgs, tarball],
        ["install", ...npmArgs, "--save-dev", ...dev.map((name) => `${name}@${pinned[name]}`)],
      ]) {
        const r = await exec("npm", args, { cwd: project, timeoutMs: 900_000 });
        if (r.code !== 0) {
          const offline =
            /ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ETIMEDOUT|ECONNRESET|ENETUNREACH|EHOSTUNREACH/.exec(r.stderr);
          if (offline)
            throw new CannotRun(
              `npm install cannot reach the registry (${offline[0]}): ${tail(r.stderr, 3)}`,
            );
          throw new CheckFailed(`npm ${args.join(" ")} exited ${r.code}\n${tail(r.stderr)}`);
        }
      }
      const installed = join(project, "node_modules", "weir");
      check(existsSync(join(project, "node_modules", ".bin", "weir")), "node_modules/.bin/weir is missing");
      check(existsSync(join(installed, "LICENSE")), "the installed package has no LICENSE");
      const maps = [];
      const walk = (dir) => {
        for (const e of readdirSync(dir, { withFileTypes: true })) {
          if (e.isDirectory()) walk(join(dir, e.name));
          else if (e.name.endsWith(".map")) maps.push(join(dir, e.name));
        }
      };
      walk(installed);
      check(maps.length === 0, `the installed package has source maps: ${maps.slice(0, 3).join(", ")}`);
      const packages = readdirSync(join(project, "node_modules")).filter((n) => !n.startsWith("."));
      return `weir and its dependencies: ${packages.length} entries in node_modules`;
    },
    { fatal: true },
  );

  await step(
    "write the README's my-pipeline.ts, tsconfig.json and my-pipeline.test.ts",
    async () => {
      writeFileSync(join(project, "my-pipeline.ts"), readmeFile("my-pipeline.ts"));
      writeFileSync(join(project, "my-pipeline.test.ts"), readmeFile("my-pipeline.test.ts"));
      const tsconfig = readmeTsconfig();
      check(tsconfig.compilerOptions?.strict === true, "the README's tsconfig.json is not strict");
      writeFileSync(join(project, "tsconfig.json"), `${JSON.stringify(tsconfig, null, 2)}\n`);
    },
    { fatal: true },
  );

  await step(
    "npx tsc (--strict): the pipeline and its test type-check, without @types/node of their own",
    async () => {
      const own = JSON.parse(readFileSync(join(project, "package.json"), "utf8"));
      check(
        own.dependencies?.["@types/node"] === undefined && own.devDependencies?.["@types/node"] === undefined,
        "the project must not install @types/node itself: Weir's types must bring what they need",
      );
      await must("npx", ["tsc", "-p", "tsconfig.json", "--strict"], { cwd: project });
    },
  );

  // Type checks that must fail, each in a folder of its own (the project's tsconfig.json includes
  // every .ts file below it, so these are written after `npx tsc` has run).
  const expectTypeError = async (name, source, pattern) => {
    const dir = join(project, "type-checks", name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "pipeline.ts"), source);
    writeFileSync(
      join(dir, "tsconfig.json"),
      `${JSON.stringify({ extends: "../../tsconfig.json", include: ["pipeline.ts"] }, null, 2)}\n`,
    );
    return exec("npx", ["tsc", "-p", join(dir, "tsconfig.json"), "--strict"], { cwd: project }).then((r) => {
      if (pattern === undefined) {
        check(r.code === 0, `type-checks/${name}/pipeline.ts:\n${tail(r.stdout + r.stderr)}`);
      } else {
        check(
          r.code !== 0 && pattern.test(r.stdout),
          `expected a type error ${pattern} in:\n${source}\ngot:\n${tail(r.stdout + r.stderr)}`,
        );
      }
    });
  };

  await step("a typo in a field (e.user_idd) is a compile error", async () => {
    const source = readmeFile("my-pipeline.ts").replace(
      ".keyBy((e) => e.user_id)",
      ".keyBy((e) => e.user_idd)",
    );
    check(
      source.includes("e.user_idd"),
      "the README's pipeline has no `.keyBy((e) => e.user_id)` to misspell",
    );
    await expectTypeError("typo", source, /error TS2551: Property 'user_idd' does not exist/);
    // The README: `npx weir run` type-checks the module (with the project's TypeScript) before it runs.
    writeFileSync(join(project, "typo-input.jsonl"), "");
    const run = await exec(
      "npx",
      [
        "weir",
        "run",
        "./type-checks/typo/pipeline.ts",
        "--input",
        "typo-input.jsonl",
        "--data-dir",
        "typo-data",
      ],
      { cwd: project },
    );
    check(
      run.code === 2 && /does not type-check/.test(run.stderr) && /user_idd/.test(run.stderr),
      `npx weir run of the misspelt pipeline: exit ${run.code}, expected 2 with the type error\n${tail(run.stderr)}`,
    );
  });

  await step("an async map callback is a compile error (@ts-expect-error)", async () => {
    // One line after the directive, so the error lands on it wherever the checker reports it.
    const source = [
      'import { pipeline, schema } from "weir";',
      "const Event = schema.object({ id: schema.int() });",
      'export default pipeline("async-map", (p) => {',
      "  // @ts-expect-error a Promise-returning map callback would write {} instead of its result (issue 13, item 3)",
      '  p.source("in", { schema: Event }).map(async (e) => ({ ...e, x: await Promise.resolve(1) })).to("out");',
      "});",
      "",
    ].join("\n");
    await expectTypeError("async-map", source, undefined);
  });

  await step(
    "npx weir run ./my-pipeline.ts --input FILE, then npx weir consume: exactly the expected records",
    async () => {
      const at = (s) => `2021-11-30 00:00:${String(s).padStart(2, "0")}`;
      const lines = [];
      for (let s = 10; s <= 20; s++)
        lines.push(JSON.stringify({ user_id: 7, property_id: s, date: at(s), event: "Interaction" }));
      lines.push(JSON.stringify({ user_id: 8, property_id: 1, date: at(21), event: "View" }));
      lines.push("not json");
      lines.push(JSON.stringify({ user_id: "9", property_id: 1, date: at(22), event: "Interaction" }));
      writeFileSync(join(project, "exact.jsonl"), `${lines.join("\n")}\n`);
      const dataDir = ["--data-dir", "exact-data"];
      const run = await must(
        "npx",
        ["weir", "run", "./my-pipeline.ts", "--input", "exact.jsonl", ...dataDir],
        {
          cwd: project,
        },
      );
      check(/14 records in/.test(run.stderr), `expected 14 records in:\n${run.stderr}`);
      const consume = async (topic) =>
        (await must("npx", ["weir", "consume", topic, ...dataDir], { cwd: project })).stdout
          .split("\n")
          .filter((l) => l !== "")
          .map((l) => JSON.parse(l));
      equalJson(await consume("frequent_users"), [{ user: 7, interactions_count: 9 }], "frequent_users");
      equalJson(
        await consume("busy_users"),
        [
          {
            window_start: "2021-11-30T00:00:00.000Z",
            window_end: "2021-11-30T00:01:00.000Z",
            user_id: 7,
            interactions: 11,
          },
        ],
        "busy_users",
      );
      const dlq = await consume("my-pipeline.dlq");
      equalJson(
        dlq.map((d) => d.raw),
        [lines[12], lines[13]],
        "my-pipeline.dlq (the raw lines)",
      );
      check(
        dlq.every((d) => typeof d.error === "string" && d.error !== ""),
        `every dead letter has a reason: ${JSON.stringify(dlq)}`,
      );
    },
  );

  await step("the README's commands: generate, run, consume, describe", async () => {
    for (const command of [
      "npx weir generate nobroker --count 100000 --output events.jsonl",
      "npx weir run ./my-pipeline.ts --input events.jsonl",
    ]) {
      const [cmd, ...args] = inReadme(command);
      await must(cmd, args, { cwd: project });
    }
    const [c1, ...a1] = inReadme("npx weir consume busy_users --max 5");
    const busy = (await must(c1, a1, { cwd: project })).stdout.trim().split("\n");
    check(busy.length === 5, `5 busy_users records, got:\n${busy.join("\n")}`);
    for (const line of busy) {
      const r = JSON.parse(line);
      check(r.interactions > 10 && typeof r.window_start === "string", `a busy_users record: ${line}`);
    }
    const [c2, ...a2] = inReadme("npx weir consume my-pipeline.dlq --max 3");
    const dlq = (await must(c2, a2, { cwd: project })).stdout.trim().split("\n");
    check(
      dlq.length === 3 && dlq.every((l) => "error" in JSON.parse(l)),
      `3 dead letters, got:\n${dlq.join("\n")}`,
    );
    const [c3, ...a3] = inReadme("npx weir describe ./my-pipeline.ts");
    const described = (await must(c3, a3, { cwd: project })).stdout;
    check(/busy_users/.test(described) && /frequent_users/.test(described), `describe:\n${described}`);
  });

  await step("node --import tsx --test my-pipeline.test.ts (TestDriver)", async () => {
    const [cmd, ...args] = inReadme("node --import tsx --test my-pipeline.test.ts");
    const r = await must(cmd, args, { cwd: project });
    check(/# pass 1\b/.test(r.stdout) && /# fail 0\b/.test(r.stdout), `node --test:\n${tail(r.stdout)}`);
  });

  await step("built-in examples from the installed package: describe, run --input, demo", async () => {
    const described = await must("npx", ["weir", "describe", "nobroker"], { cwd: project });
    check(/possible_broker/.test(described.stdout), `npx weir describe nobroker:\n${described.stdout}`);
    const dataDir = ["--data-dir", "builtin-data"];
    await must("npx", ["weir", "run", "nobroker", "--input", "events.jsonl", ...dataDir], { cwd: project });
    const alerts = await must("npx", ["weir", "consume", "possible_broker", "--max", "2", ...dataDir], {
      cwd: project,
    });
    check(alerts.stdout.trim().split("\n").length === 2, `possible_broker:\n${alerts.stdout}`);
    const demo = await must("npx", ["weir", "demo", "--duration", "2s", "--rate", "500/s"], { cwd: project });
    check(/STATS final/.test(demo.stdout), `npx weir demo:\n${tail(demo.stdout)}`);
    check(existsSync(join(project, ".weir-demo")), "the demo wrote no ./.weir-demo");
  });

  await step("SIGTERM to npx stops a live npx weir run cleanly", async () => {
    const dataDir = join(project, "live-data");
    const npx = spawn("npx", ["weir", "run", "nobroker", "--data-dir", dataDir], {
      cwd: project,
      env: cleanEnv(),
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    npx.stderr.setEncoding("utf8").on("data", (s) => (stderr += s));
    const closed = new Promise((r) => npx.stderr.on("close", r));
    const waitUntil = async (what, cond, ms) => {
      const until = Date.now() + ms;
      while (!cond()) {
        if (Date.now() > until)
          throw new CheckFailed(`timed out waiting for ${what}\n--- stderr:\n${tail(stderr)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    const runnerPid = () => {
      const names = existsSync(join(dataDir, "status")) ? readdirSync(join(dataDir, "status")) : [];
      const m = names.map((n) => /^nobroker\.(\d+)\.json$/.exec(n)).find((x) => x !== null);
      return m ? Number(m[1]) : undefined;
    };
    const alive = (pid) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    try {
      await waitUntil("weir to start", () => /running on events/.test(stderr), 60_000);
      await waitUntil("its status file", () => runnerPid() !== undefined, 10_000);
      const pid = runnerPid();
      npx.kill("SIGTERM");
      await waitUntil(`weir (pid ${pid}) to exit after SIGTERM to npx`, () => !alive(pid), 20_000);
      await closed;
      check(/nobroker: \d+ records in/.test(stderr), `the run did not end as on SIGTERM:\n${tail(stderr)}`);
    } finally {
      const pid = runnerPid();
      if (pid !== undefined && alive(pid)) process.kill(pid, "SIGKILL");
    }
    // Its locks are free.
    await must("npx", ["weir", "run", "nobroker", "--until-end", "--data-dir", dataDir], { cwd: project });
  });

  await step("npx weir starts at once in the project (no install into npx's cache)", async () => {
    const t0 = performance.now();
    const r = await must("npx", ["weir", "--version"], { cwd: project });
    const ms = performance.now() - t0;
    check(r.stdout.trim() === repoPackage.version, `npx weir --version: ${r.stdout}`);
    return `${(ms / 1000).toFixed(1)} s`;
  });
} catch (err) {
  if (err instanceof CannotRun) {
    process.stderr.write(`package-test: cannot run here: ${err.message}\n`);
    rmSync(work, { recursive: true, force: true });
    process.exit(3);
  }
  steps.push({ name: "(stopped)", failed: true });
  process.stderr.write(
    `package-test: FAIL, stopping: ${err instanceof CheckFailed ? err.message : err.stack}\n`,
  );
}

const total = ((performance.now() - started) / 1000).toFixed(0);
const failures = steps.filter((s) => s.failed);
if (failures.length > 0) {
  process.stderr.write(
    `package-test: ${failures.length} of ${steps.length} checks FAILED in ${total} s: ${failures.map((s) => s.name).join("; ")}\n` +
      `package-test: the project is kept in ${project}\n`,
  );
  process.exit(1);
}
if (!keep) rmSync(work, { recursive: true, force: true });
process.stdout.write(
  `package-test: all ${steps.length} checks passed in ${total} s${keep ? ` (project kept in ${project})` : ""}\n`,
);
