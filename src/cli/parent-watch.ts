/**
 * Stopping cleanly when npm goes away. `npx weir ...`, `npm exec weir` and `npm start` run weir
 * under a shell (`sh -c`), and a SIGTERM sent to npm's process ends npm and that shell but never
 * reaches weir: a `weir run` would keep running, reparented, holding its locks. So when npm started
 * weir (it sets `npm_lifecycle_event`), weir watches its parent process; when the parent is gone,
 * weir sends itself SIGTERM and stops exactly as if it had been sent one (finish the batch,
 * checkpoint, release the locks, exit 0).
 *
 * Only under npm: a weir started from a shell and left running on purpose (`nohup weir run ... &`,
 * a service manager) must outlive its parent.
 */

/** True when npm (npx, npm exec, npm run/start/test) started this process or one of its ancestors. */
export function launchedByNpm(env: NodeJS.ProcessEnv = process.env): boolean {
  return (env.npm_lifecycle_event ?? "") !== "";
}

export interface ParentWatchOptions {
  /** How often to look at the parent (ms); default 500. */
  intervalMs?: number;
  /** The parent's pid now (default process.ppid). */
  parentPid?: number;
  /** The current parent's pid (default: process.ppid, which changes when the parent exits). */
  currentParent?: () => number;
  /** Called once when the parent is gone. Default: a line on stderr, then SIGTERM to this process. */
  onGone?: (parentPid: number) => void;
}

/**
 * Call `onGone` once the parent process has exited (this process was reparented). Returns a
 * function that stops watching. The timer does not keep the process alive. A process whose parent
 * is already init (pid 1) or unknown is not watched.
 */
export function watchParent(options: ParentWatchOptions = {}): () => void {
  const currentParent = options.currentParent ?? (() => process.ppid);
  const parentPid = options.parentPid ?? currentParent();
  if (!(parentPid > 1)) return () => {};
  const onGone = options.onGone ?? stopAsOnSigterm;
  const timer = setInterval(() => {
    if (currentParent() === parentPid) return;
    clearInterval(timer);
    onGone(parentPid);
  }, options.intervalMs ?? 500);
  timer.unref();
  return () => clearInterval(timer);
}

function stopAsOnSigterm(parentPid: number): void {
  // The terminal or pipe npm handed over may be gone too: a failed write must not end the process
  // before it has stopped cleanly.
  process.stderr.on("error", () => {});
  process.stderr.write(
    `weir: the process that started weir (pid ${parentPid}, under npm) has exited; stopping as on SIGTERM\n`,
  );
  process.kill(process.pid, "SIGTERM");
}

/** Watch the parent when npm started this process (see the module comment). */
export function stopWhenNpmGoesAway(env: NodeJS.ProcessEnv = process.env): void {
  if (launchedByNpm(env)) watchParent();
}
