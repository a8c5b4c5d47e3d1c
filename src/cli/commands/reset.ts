/**
 * `weir reset <pipeline> [--broker URL]`: forget a pipeline's state and input positions, so that its
 * next run starts from the beginning of its input with empty state — as if it had never run. What it
 * already wrote (topics, tables, lake datasets) is kept, as Kafka Streams' reset tool keeps output
 * topics; `weir topics delete` removes topics. Refused while the pipeline runs.
 *
 * On the embedded log the state is the checkpoint in `<data dir>/pipelines/<name>/`; on Kafka, the
 * pipeline's internal topics (src/kafka/reset.ts). `weir run --from-scratch` does the same before
 * running.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import { describeGraph, type PipelineGraph } from "../../graph/graph.js";
import { UserError } from "../../errors.js";
import { BROKER_OPTION_HELP, resolveBroker } from "../broker.js";
import { checkDataDir, resolveDataDir } from "../data-dir.js";
import type { GlobalOptions } from "../options.js";
import { info } from "../output.js";
import { parseExtraOptions, resolvePipeline } from "../pipelines.js";

interface ResetOptions extends GlobalOptions {
  broker?: string;
}

export function register(program: Command): void {
  program
    .command("reset")
    .description(
      "forget a pipeline's state and input positions: its next run starts from the beginning of its input (outputs are kept)",
    )
    .argument(
      "<pipeline>",
      "a built-in example, a pipeline module (./my-pipeline.ts), or the name of a pipeline that ran in the data directory",
    )
    .option("--broker <url>", BROKER_OPTION_HELP)
    .allowUnknownOption(true)
    .allowExcessArguments(true)
    .action(async (arg: string, _opts: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals<ResetOptions>();
      const dataDir = resolveDataDir(opts);
      const broker = resolveBroker(opts);
      const graph = await pipelineGraph(arg, dataDir, cmd, broker === undefined);
      if (broker !== undefined) {
        if (graph === undefined)
          throw new UserError(
            `no built-in example or pipeline file ${JSON.stringify(arg)}: resetting on Kafka needs the pipeline (its repartition topics)`,
          );
        const { KafkaCluster } = await import("../../kafka/connection.js");
        const { resetPipelineOnKafka } = await import("../../kafka/reset.js");
        const cluster = KafkaCluster.connect(broker.url);
        try {
          const deleted = await resetPipelineOnKafka(cluster, graph);
          info(
            deleted.length === 0
              ? `${graph.pipeline}: no state on ${broker.url}: nothing to reset`
              : `${graph.pipeline}: deleted ${deleted.join(", ")} on ${broker.url}; the next run starts from the beginning of its input with empty state. ${outputsKept(graph)}`,
          );
        } finally {
          await cluster.close();
        }
        return;
      }
      const name = graph?.pipeline ?? arg;
      const { CheckpointStore } = await import("../../runtime/checkpoint.js");
      const store = new CheckpointStore(dataDir, name);
      let removed = false;
      if (existsSync(store.dir)) {
        store.lock(`reset ${name}`); // refused while a run holds the pipeline
        try {
          removed = store.remove();
        } finally {
          store.unlock();
        }
      }
      if (!removed) {
        info(`${name}: no checkpoint in ${dataDir}: nothing to reset`);
        return;
      }
      info(
        `${name}: checkpoint deleted; the next run starts from the beginning of its input with empty state.` +
          (graph === undefined ? " Its outputs are kept." : ` ${outputsKept(graph)}`),
      );
    });
}

/**
 * The graph of the pipeline `arg` names: a built-in example or a module. A plain name of a pipeline
 * that ran in the data directory gives undefined (the embedded reset needs only the name).
 */
async function pipelineGraph(
  arg: string,
  dataDir: string,
  cmd: Command,
  nameWillDo: boolean,
): Promise<PipelineGraph | undefined> {
  try {
    return (await resolvePipeline(arg, parseExtraOptions(cmd.args.slice(1)))).definition.graph;
  } catch (err) {
    if (!(err instanceof UserError) || !nameWillDo) throw err;
    checkDataDir(dataDir);
    if (existsSync(join(dataDir, "pipelines", arg))) return undefined;
    throw new UserError(
      `no pipeline ${JSON.stringify(arg)}: not a built-in example, not a file, and no pipeline of that name ran in ${dataDir}`,
    );
  }
}

function outputsKept(graph: PipelineGraph): string {
  const d = describeGraph(graph);
  const kept = [
    `topics ${d.outputs.join(", ")}`,
    ...(d.tables.length > 0 ? [`tables ${d.tables.join(", ")}`] : []),
    ...(d.datasets.length > 0 ? [`lake datasets ${d.datasets.join(", ")}`] : []),
  ];
  return `Its outputs are kept (${kept.join("; ")}); \`weir topics delete NAME\` removes a topic.`;
}
