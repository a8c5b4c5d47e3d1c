/**
 * `npx weir run ...` killed with SIGTERM (issue 13, item 9): npm runs weir under `sh -c` and does
 * not pass the signal on, so weir was left running and holding its locks. Under npm, weir now stops
 * as on SIGTERM when its parent goes away; outside npm it outlives its parent as before.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { launchedByNpm, watchParent } from "../../src/cli/parent-watch.js";
import { CLI_ENTRY, childExecArgv, runCli, tempDataDir } from "./helpers.js";

describe("watchParent", () => {
  it("calls back once when the parent pid changes, and not before", async () => {
    let parent = 4242;
    const gone: number[] = [];
    const stop = watchParent({ intervalMs: 5, currentParent: () => parent, onGone: (p) => gone.push(p) });
    await new Promise((r) => setTimeout(r, 40));
    assert.deepEqual(gone, []);
    parent = 1; // reparented to init
    await new Promise((r) => setTimeout(r, 40));
    parent = 77;
    await new Promise((r) => setTimeout(r, 40));
    assert.deepEqual(gone, [4242]);
    stop();
  });

  it("does not watch a process whose parent is already init", async () => {
    const gone: number[] = [];
    let parent = 1;
    watchParent({ intervalMs: 5, currentParent: () => parent, onGone: (p) => gone.push(p) });
    parent = 99;
    await new Promise((r) => setTimeout(r, 30));
    assert.deepEqual(gone, []);
  });

  it("knows npm started the process from npm_lifecycle_event", () => {
    assert.equal(launchedByNpm({ npm_lifecycle_event: "npx" }), true);
    assert.equal(launchedByNpm({ npm_lifecycle_event: "start" }), true);
    assert.equal(launchedByNpm({}), false);
    assert.equal(launchedByNpm({ npm_lifecycle_event: "" }), false);
  });
});

/**
 * `weir run nobroker` live under `sh -c` as npm runs it (the trailing `exit $?` keeps the shell from
 * exec'ing weir), with or without npm's environment. Returns the shell, weir's output and the
 * promise of the moment weir's end of the pipes closes (weir exited).
 */
function runUnderShell(dataDir: string, npm: boolean) {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: "1" };
  delete env.WEIR_DATA_DIR;
  delete env.NODE_TEST_CONTEXT;
  delete env.npm_lifecycle_event;
  if (npm) env.npm_lifecycle_event = "npx";
  const shell = spawn(
    "sh",
    [
      "-c",
      '"$@"; exit $?',
      "sh",
      process.execPath,
      ...childExecArgv(),
      CLI_ENTRY,
      "run",
      "nobroker",
      "--data-dir",
      dataDir,
    ],
    { env, stdio: ["ignore", "pipe", "pipe"] },
  );
  let stderr = "";
  shell.stderr.setEncoding("utf8").on("data", (s: string) => (stderr += s));
  shell.stdout.resume();
  // The pipes stay open while weir (which inherited them) runs, after the shell is gone.
  const closed = new Promise<void>((r) => shell.on("close", () => r()));
  return { shell, closed, stderr: () => stderr };
}

async function waitFor(check: () => boolean, what: string, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The pid of the runner of `pipeline`, from its status file (`status/<pipeline>.<pid>.json`). */
function runnerPid(dataDir: string, pipeline: string): number | undefined {
  let names: string[];
  try {
    names = readdirSync(join(dataDir, "status"));
  } catch {
    return undefined;
  }
  const m = names.map((n) => new RegExp(`^${pipeline}\\.(\\d+)\\.json$`).exec(n)).find((x) => x !== null);
  return m ? Number(m[1]) : undefined;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("weir under npm, when npm goes away without passing SIGTERM on", () => {
  it("stops as on SIGTERM: checkpoints, releases its locks and exits", async (t) => {
    const dataDir = tempDataDir(t);
    const run = runUnderShell(dataDir, true);
    t.after(() => {
      const pid = runnerPid(dataDir, "nobroker");
      if (pid !== undefined && alive(pid)) process.kill(pid, "SIGKILL");
    });
    await waitFor(() => /running on events/.test(run.stderr()), "weir to start", 30_000);
    run.shell.kill("SIGKILL"); // the shell dies as npm's does, without a word to weir
    await Promise.race([
      run.closed,
      new Promise((_, reject) =>
        setTimeout(() => reject(new Error(`weir still running 20 s later:\n${run.stderr()}`)), 20_000),
      ),
    ]);
    assert.match(run.stderr(), /has exited; stopping as on SIGTERM/);
    assert.match(run.stderr(), /nobroker: \d+ records in/, "the run ended the way SIGTERM ends it");
    // Its locks are free: the next run starts and reads to the end.
    const again = await runCli(["run", "nobroker", "--until-end", "--data-dir", dataDir], {
      timeoutMs: 60_000,
    });
    assert.equal(again.code, 0, again.stderr);
  });

  it("outlives its parent when npm did not start it (nohup, a service manager)", async (t) => {
    const dataDir = tempDataDir(t);
    const run = runUnderShell(dataDir, false);
    t.after(() => {
      const pid = runnerPid(dataDir, "nobroker");
      if (pid !== undefined && alive(pid)) process.kill(pid, "SIGKILL");
    });
    await waitFor(() => /running on events/.test(run.stderr()), "weir to start", 30_000);
    await waitFor(() => runnerPid(dataDir, "nobroker") !== undefined, "its status file", 10_000);
    const pid = runnerPid(dataDir, "nobroker")!;
    run.shell.kill("SIGKILL");
    await new Promise((r) => setTimeout(r, 2000)); // four times the watch's period
    assert.equal(alive(pid), true, "weir keeps running");
    process.kill(pid, "SIGTERM");
    await run.closed;
    assert.doesNotMatch(run.stderr(), /stopping as on SIGTERM/);
  });
});
