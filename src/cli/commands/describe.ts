/** `weir describe <pipeline>`: print a pipeline's graph (steps with their stable ids, outputs). */
import type { Command } from "commander";
import { describeGraph, formatGraph } from "../../graph/graph.js";
import { parseExtraOptions, resolvePipeline } from "../pipelines.js";
import { examplesHelp } from "../examples-help.js";
import { PIPELINE_ARGUMENT_HELP } from "./run.js";
import { NO_TYPECHECK_HELP, typeCheckEnabled } from "../typecheck.js";

export function register(program: Command): void {
  program
    .command("describe")
    .description("print a pipeline's steps (stable ids used for state, checkpoints and metrics) and outputs")
    .argument("<pipeline>", PIPELINE_ARGUMENT_HELP)
    .option("--json", "print the graph as JSON")
    .addHelpText("after", () => examplesHelp(false))
    .option("--no-typecheck", NO_TYPECHECK_HELP)
    .allowUnknownOption(true)
    .allowExcessArguments(true)
    .action(async (name: string, opts: { json?: boolean; typecheck?: boolean }, cmd: Command) => {
      const { definition } = await resolvePipeline(name, parseExtraOptions(cmd.args.slice(1)), {
        typecheck: typeCheckEnabled(opts.typecheck),
      });
      const d = describeGraph(definition.graph);
      process.stdout.write(opts.json ? JSON.stringify(d, null, 2) + "\n" : formatGraph(d) + "\n");
    });
}
