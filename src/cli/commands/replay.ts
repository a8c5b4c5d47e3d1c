/**
 * `weir replay <pipeline> --as v2 [run options] [pipeline options]`: reprocess (the Kappa
 * architecture, seed 004). Runs the pipeline — its current code and the options given — as version
 * v2: from the start of its retained input, into outputs of its own (`<topic>.v2`, table
 * `<table>_v2`, dataset `<dataset>_v2`), with its own checkpoints, while v1 keeps running.
 * `weir promote <pipeline> --to v2` then switches readers over.
 */
import type { Command } from "commander";
import { checkVersion } from "../../api/versions.js";
import { usageError } from "../../errors.js";
import { examplesHelp } from "../examples-help.js";
import { PIPELINE_ARGUMENT_HELP, runCommand, withRunOptions } from "./run.js";

export function register(program: Command): void {
  withRunOptions(
    program
      .command("replay")
      .description(
        "reprocess a pipeline's retained input as a new version with outputs of its own (then weir promote)",
      )
      .argument("<pipeline>", PIPELINE_ARGUMENT_HELP)
      .requiredOption("--as <version>", "the new version: v2, v3..."),
  )
    .addHelpText(
      "after",
      "\nVersion v2 of nobroker is the pipeline nobroker_v2: it reads the same topics from their start and\n" +
        "writes paid_user.v2, table user_interactions_v2, dataset interactions_v2... v1 is not touched.\n\n" +
        "Examples:\n" +
        "  weir replay nobroker --as v2 --paid-threshold 5             # live: catches up, then follows\n" +
        "  weir replay nobroker --as v2 --paid-threshold 5 --until-end # stop once caught up\n" +
        "  weir promote nobroker --to v2                               # readers switch to v2\n",
    )
    .addHelpText("after", () => examplesHelp(true))
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      const version = cmd.opts<{ as: string }>().as;
      try {
        checkVersion(version);
      } catch (err) {
        throw usageError(`--as: ${(err as Error).message}`);
      }
      if (version === "v1") throw usageError("--as: v1 is the pipeline itself; replay as v2, v3...");
      await runCommand(name, cmd, version);
    });
}
