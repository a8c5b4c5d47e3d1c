/**
 * Regression (found by the fuzz harness, issue 14): a restart right after a SIGKILL failed with
 * "partition fuzz_events/0 is locked by process N; stop it or wait until it closes its writer",
 * N a dead process. The run killed had been taking over N's stale lock: it left the takeover guard
 * behind, and for 5 s every restart gave up on that guard and named the stale lock's owner.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tryLock, unlock } from "../../src/log/lock.js";
import { tempDir } from "./helpers.js";

/** The owner record of a process that has exited (its pid, as a lock or guard holds it). */
function deadOwner(): string {
  const child = spawnSync(process.execPath, ["-e", ""]);
  assert.equal(child.status, 0);
  return JSON.stringify({ pid: child.pid, start: null }) + "\n";
}

test("a restart right after a process was killed while taking over a stale lock gets the lock", (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const lock = join(dir, "writer.lock");
  // The state a SIGKILL mid-takeover leaves: the stale lock of an earlier dead writer, and the
  // guard of the dead process that was taking it over.
  writeFileSync(lock, deadOwner());
  writeFileSync(`${lock}.takeover`, deadOwner());
  const attempt = tryLock(lock);
  assert.deepEqual(attempt, { acquired: true });
  unlock(lock);
  assert.deepEqual(readdirSync(dir), [], "no lock, guard or temporary file left");
});

test("a takeover guard of a live process is respected; the holder then reported is nobody's (0), not the dead owner", (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const lock = join(dir, "writer.lock");
  const dead = deadOwner();
  writeFileSync(lock, dead);
  // The guard of a live process (the test runner that started this one) taking the lock over.
  writeFileSync(`${lock}.takeover`, JSON.stringify({ pid: process.ppid, start: null }) + "\n");
  const attempt = tryLock(lock);
  assert.deepEqual(attempt, { acquired: false, holderPid: 0, holderIsThisProcess: false });
  assert.ok(existsSync(`${lock}.takeover`), "a live process's guard is left alone");
});

test("an empty takeover guard (left by an older version) is waited out, then removed", (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const lock = join(dir, "writer.lock");
  writeFileSync(lock, deadOwner());
  writeFileSync(`${lock}.takeover`, "");
  assert.equal(tryLock(lock).acquired, false);
  const old = new Date(Date.now() - 10_000);
  utimesSync(`${lock}.takeover`, old, old);
  assert.deepEqual(tryLock(lock), { acquired: true });
  unlock(lock);
});

test("a lock file left empty (its creator killed between creating and writing it) is waited out, then taken over", (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const lock = join(dir, "run.lock");
  // Found in the source conformance suite: a SIGKILL right as `weir run` took its run lock left the
  // file empty, and a restart at once was refused as "running in process 0" for the next 2 s.
  writeFileSync(lock, "");
  const started = Date.now();
  const attempt = tryLock(lock);
  assert.deepEqual(attempt, { acquired: true });
  assert.ok(
    Date.now() - started >= 1500,
    "an empty lock this young may still be being written: waited for it",
  );
  unlock(lock);
  assert.equal(existsSync(lock), false);
});
