/**
 * `weir promote <pipeline> --to v2`: switch readers to version v2 of a pipeline (the Kappa
 * architecture's last step, after `weir replay <pipeline> --as v2` has caught up). Readers are
 * `weir consume`, `weir table`, `weir query` and the dashboard (src/runtime/promotions.ts).
 * `--to v1` switches back. The pipelines keep running: stop v1 yourself once v2 is trusted.
 */
import type { Command } from "commander";
import { checkVersion, versionOutputs, versionedName } from "../../api/versions.js";
import { CheckpointStore } from "../../runtime/checkpoint.js";
import { writePromotion } from "../../runtime/promotions.js";
import { readStatuses, STATUS_INTERVAL_MS } from "../../runtime/status.js";
import { UserError, usageError } from "../../errors.js";
import { checkDataDir, resolveDataDir, withLog } from "../data-dir.js";
import { plural } from "../format.js";
import type { GlobalOptions } from "../options.js";
import { info } from "../output.js";
import { parseExtraOptions, resolvePipeline } from "../pipelines.js";
import { examplesHelp } from "../examples-help.js";
import { PIPELINE_ARGUMENT_HELP } from "./run.js";

interface PromoteOptions extends GlobalOptions {
  to?: string;
  force?: boolean;
}

export function register(program: Command): void {
  program
    .command("promote")
    .description("switch readers of a pipeline's outputs to a replayed version (weir replay ... --as v2)")
    .argument("<pipeline>", PIPELINE_ARGUMENT_HELP)
    .requiredOption("--to <version>", "the version readers see from now on: v2, v3... or v1 to switch back")
    .option("--force", "promote even if the version has not caught up with its input")
    .allowUnknownOption(true)
    .allowExcessArguments(true)
    .addHelpText(
      "after",
      "\nExamples:\n" +
        "  weir replay nobroker --as v2 --paid-threshold 5 --until-end   # reprocess the retained input\n" +
        "  weir promote nobroker --to v2      # weir consume paid_user now reads paid_user.v2\n" +
        "  weir promote nobroker --to v1      # and back\n",
    )
    .addHelpText("after", () => examplesHelp(false))
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals<PromoteOptions>();
      const version = checkVersionOption(opts.to!);
      const { definition } = await resolvePipeline(name, parseExtraOptions(cmd.args.slice(1)));
      const dataDir = resolveDataDir(opts);
      checkDataDir(dataDir);
      if (version !== "v1" && !opts.force) await checkCaughtUp(definition.name, version, dataDir);
      const outputs = versionOutputs(definition, version);
      writePromotion(dataDir, outputs);
      if (version === "v1") {
        info(`readers of ${definition.name} see v1 again (its own outputs)`);
        return;
      }
      const pairs = [
        ...Object.entries(outputs.topics),
        ...Object.entries(outputs.tables),
        ...Object.entries(outputs.datasets),
      ];
      info(
        `readers of ${definition.name} now see ${version}: ${pairs.map(([a, b]) => `${a} -> ${b}`).join(", ")}`,
      );
      info(
        `both versions keep running until you stop them; \`weir promote ${definition.name} --to v1\` switches back`,
      );
    });
}

function checkVersionOption(v: string): string {
  try {
    return checkVersion(v);
  } catch (err) {
    throw usageError(`--to: ${(err as Error).message}`);
  }
}

/**
 * Refuse to promote a version still behind its input: from its live status (fresh, running) or
 * else from its last checkpoint on the embedded log.
 */
async function checkCaughtUp(pipeline: string, version: string, dataDir: string): Promise<void> {
  const name = versionedName.pipeline(pipeline, version);
  const replayHint = `\`weir replay ${pipeline} --as ${version}\``;
  const live = readStatuses(dataDir).find(
    (s) => s.pipeline === name && s.state === "running" && Date.now() - s.updatedAt < 5 * STATUS_INTERVAL_MS,
  );
  if (live !== undefined && live.metrics.inputLag !== null) {
    if (live.metrics.inputLag > 0)
      throw new UserError(
        `${name} is ${plural(live.metrics.inputLag, "record")} behind its input: wait until it catches up, or pass --force`,
      );
    return;
  }
  if (live?.engine === "kafka")
    throw new UserError(`cannot tell yet whether ${name} has caught up on Kafka; try again, or pass --force`);
  const cp = new CheckpointStore(dataDir, name).load();
  if (cp === undefined)
    throw new UserError(`${name} has never run in ${dataDir}: run ${replayHint} first (or pass --force)`);
  if (cp.files !== undefined && cp.files.length > 0) {
    if (!cp.files.every((f) => f.completed))
      throw new UserError(
        `${name} has not finished its input file${cp.files.length === 1 ? "" : "s"}: run ${replayHint} again, or pass --force`,
      );
    return;
  }
  const behind = await withLog(dataDir, async (log) => {
    let n = 0;
    for (const [topic, positions] of Object.entries(cp.inputs)) {
      if (!log.hasTopic(topic)) continue;
      for (const { partition, endOffset } of log.describeTopic(topic).partitions)
        n += Math.max(0, endOffset - (positions[partition] ?? 0));
    }
    return n;
  });
  if (behind > 0)
    throw new UserError(
      `${name} is ${plural(behind, "record")} behind its input (at its last checkpoint): run ${replayHint} until it catches up, or pass --force`,
    );
}
