/**
 * Fault injection FOR TESTS ONLY. With `WEIR_TEST_CRASH_AT=<point>` in its environment, a run kills
 * itself with SIGKILL when it reaches that point, so that a test can crash it at an exact moment
 * (between two steps that a kill at a random time would hit only by luck) and check what a restart
 * makes of it. It is not a user feature: `weir --help` and docs/cli.md do not list it (src/cli/
 * environment.ts names it as test-only), and without the variable nothing happens.
 *
 * Points:
 * - `after-checkpoint`: a checkpoint (embedded log) or snapshot (Kafka) that records table updates
 *   made by this process is durable, and the tables have not been compacted yet (nor has the lake
 *   been told that the checkpoint is durable). The first such checkpoint of the process: with a long
 *   `--checkpoint-interval`, the final one of a bounded run.
 * - `after-sink-write`: a user's sink (`sinkTo`) has written records that no checkpoint accounts
 *   for yet (the restart replays them).
 * - `before-sink-commit`: a checkpoint holding the sinks' prepared values is durable, and the
 *   sinks have not committed them yet (the restart commits them again).
 */

/** The variable naming the crash point. */
export const CRASH_AT_VARIABLE = "WEIR_TEST_CRASH_AT";

export type CrashPoint = "after-checkpoint" | "after-sink-write" | "before-sink-commit";

/** Kill this process with SIGKILL if the test-only variable names `point`. */
export function crashPoint(point: CrashPoint): void {
  if (process.env[CRASH_AT_VARIABLE] !== point) return;
  process.kill(process.pid, "SIGKILL");
}
