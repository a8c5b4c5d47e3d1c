/**
 * Exclusive lock files across processes: one writer per partition, one committer per group file.
 *
 * A lock is a file created with O_EXCL holding the owner's pid and process start time. A lock whose
 * owner is dead (kill(pid, 0) fails with ESRCH, or the pid now belongs to a process started at another
 * time) is stale and is taken over, so a SIGKILLed writer never blocks its restart. Locks are removed
 * on release and when the process exits normally; after a crash they are simply stale.
 *
 * Taking over is serialised by a guard file next to the lock, which holds its owner too: a process
 * killed while taking a lock over leaves a guard whose owner is dead, and the next one removes it
 * at once rather than failing ("locked by process N", naming a dead process) until it is 5 s old.
 */
import {
  closeSync,
  linkSync,
  openSync,
  readFileSync,
  statSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { errnoCode, sleepSync, unlinkIfExists } from "./fs-util.js";

interface LockOwner {
  readonly pid: number;
  /** Start time of the process (Linux clock ticks since boot), or null where /proc is unavailable. */
  readonly start: string | null;
}

export type LockAttempt =
  | { readonly acquired: true }
  | { readonly acquired: false; readonly holderPid: number; readonly holderIsThisProcess: boolean };

/**
 * A lock file younger than this with no content yet is being written by its creator, not stale:
 * tryLock waits for it (its creator may have been killed between creating and writing it).
 */
const UNWRITTEN_GRACE_MS = 2000;
/** A takeover guard older than this belongs to a process that died mid-takeover (whatever it holds). */
const TAKEOVER_GUARD_STALE_MS = 5000;
const ATTEMPTS = 5;

/** Locks this process holds: path -> the content it wrote (to never remove somebody else's lock). */
const held = new Map<string, string>();
let exitHookInstalled = false;

const self: LockOwner = { pid: process.pid, start: processStartTime(process.pid) };

export function tryLock(path: string): LockAttempt {
  if (held.has(path)) return { acquired: false, holderPid: process.pid, holderIsThisProcess: true };
  const content = JSON.stringify(self) + "\n";
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, "wx");
    } catch (err) {
      if (errnoCode(err) !== "EEXIST") throw err;
      const existing = readIfExists(path);
      if (existing === null) continue; // released meanwhile: try again
      const owner = parseOwner(existing);
      if (owner === null && ageMs(path) < UNWRITTEN_GRACE_MS) {
        // Its creator is writing it (a matter of microseconds), or was killed before it could: wait
        // until it is written, released, or old enough to be stale (the wait ends: the file ages).
        sleepSync(20);
        attempt--;
        continue;
      }
      if (owner !== null && isAlive(owner)) {
        return { acquired: false, holderPid: owner.pid, holderIsThisProcess: false };
      }
      takeOver(path, existing);
      continue;
    }
    try {
      writeSync(fd, content);
    } finally {
      closeSync(fd);
    }
    held.set(path, content);
    installExitHook();
    return { acquired: true };
  }
  // Still not ours after a few attempts: somebody else is taking a stale lock over (holder 0), or
  // holds it.
  const owner = parseOwner(readIfExists(path) ?? "");
  const holderPid = owner !== null && isAlive(owner) ? owner.pid : 0;
  return { acquired: false, holderPid, holderIsThisProcess: false };
}

/** Waits (blocking, bounded) for a lock that is normally held only briefly. */
export function lockWithin(path: string, timeoutMs: number): LockAttempt {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const attempt = tryLock(path);
    if (attempt.acquired || attempt.holderIsThisProcess || Date.now() >= deadline) return attempt;
    sleepSync(2);
  }
}

export function unlock(path: string): void {
  const content = held.get(path);
  if (content === undefined) return;
  held.delete(path);
  if (readIfExists(path) === content) unlinkIfExists(path);
}

/**
 * Removes a stale lock. A guard file serialises takeovers: without it, two processes could both see
 * the stale lock, one remove it and create its own, and the other then remove that fresh lock.
 */
function takeOver(path: string, staleContent: string): void {
  const guard = path + ".takeover";
  if (!createGuard(guard)) {
    const content = readIfExists(guard);
    if (content === null) return; // released meanwhile: try again
    const owner = parseOwner(content);
    const stale = ageMs(guard) > TAKEOVER_GUARD_STALE_MS || (owner !== null && !isAlive(owner));
    if (stale) {
      if (readIfExists(guard) === content) unlinkIfExists(guard);
    } else sleepSync(1);
    return;
  }
  try {
    if (readIfExists(path) === staleContent) unlinkSync(path);
  } finally {
    unlinkIfExists(guard);
  }
}

/**
 * Creates the takeover guard holding this process as its owner, atomically (written under a
 * temporary name, then linked): a guard is never seen empty. False when it exists.
 */
function createGuard(guard: string): boolean {
  const content = JSON.stringify(self) + "\n";
  const temp = `${guard}.${process.pid}.tmp`;
  try {
    writeFileSync(temp, content);
    linkSync(temp, guard);
    return true;
  } catch (err) {
    const code = errnoCode(err);
    if (code === "EEXIST") return false;
    if (code !== "EPERM" && code !== "ENOTSUP" && code !== "EOPNOTSUPP") throw err;
  } finally {
    unlinkIfExists(temp);
  }
  // A file system without hard links: create, then write (a guard seen empty waits out its age).
  let fd: number;
  try {
    fd = openSync(guard, "wx");
  } catch (err) {
    if (errnoCode(err) === "EEXIST") return false;
    throw err;
  }
  try {
    writeSync(fd, content);
  } finally {
    closeSync(fd);
  }
  return true;
}

function isAlive(owner: LockOwner): boolean {
  if (owner.pid === self.pid && owner.start === self.start) return false; // ours, yet not in `held`: left behind
  try {
    process.kill(owner.pid, 0);
  } catch (err) {
    if (errnoCode(err) === "ESRCH") return false;
    // EPERM: alive, owned by another user
  }
  const stat = processStat(owner.pid);
  // A killed process its parent has not reaped yet (a zombie) holds nothing any more.
  if (stat !== null && stat[0] === "Z") return false;
  if (owner.start !== null && stat !== null) {
    const start = stat[19] ?? null;
    if (start !== null && start !== owner.start) return false; // the pid was recycled
  }
  return true;
}

/** The fields of /proc/<pid>/stat after the command name (state first); null when unavailable. */
function processStat(pid: number): string[] | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return null;
  }
  // The command name (field 2) is in parentheses and may contain spaces; count fields after it.
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
}

/** Field 22 of /proc/<pid>/stat (start time in clock ticks after boot); null when unavailable. */
function processStartTime(pid: number): string | null {
  return processStat(pid)?.[19] ?? null;
}

function parseOwner(content: string): LockOwner | null {
  try {
    const v = JSON.parse(content) as Partial<LockOwner>;
    if (typeof v.pid === "number" && Number.isInteger(v.pid) && v.pid > 0) {
      return { pid: v.pid, start: typeof v.start === "string" ? v.start : null };
    }
  } catch {
    // empty or half-written
  }
  return null;
}

function readIfExists(path: string): string | null {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    if (errnoCode(err) === "ENOENT") return null;
    throw err;
  }
}

function ageMs(path: string): number {
  try {
    return Date.now() - statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const path of [...held.keys()]) {
      try {
        unlock(path);
      } catch {
        // best effort at exit; a lock left behind is stale and will be taken over
      }
    }
  });
}
