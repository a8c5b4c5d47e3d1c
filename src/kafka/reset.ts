/**
 * `weir reset <pipeline> --broker URL` and `weir run --from-scratch --broker URL`: forget a
 * pipeline's state on Kafka — its checkpoint topics, repartition topics and storage topic — so that
 * its next run starts from the beginning of its inputs with empty state (what Kafka Streams'
 * application reset tool does for internal topics). Output topics are kept. Refused while any
 * process of the pipeline's consumer group is running.
 */
import type { PipelineGraph } from "../graph/graph.js";
import { WeirError } from "../errors.js";
import { repartitionTopic } from "../operators/exchange.js";
import { checkpointTopic } from "./checkpoint-log.js";
import type { KafkaCluster } from "./connection.js";
import { storageTopic } from "./storage-writer.js";

/** The consumer group whose members run a pipeline (src/kafka/membership.ts). */
export function pipelineGroup(pipeline: string): string {
  return `weir.${pipeline}`;
}

/** Every topic Weir creates on Kafka for the state of `graph`'s pipeline. */
export function internalTopics(graph: PipelineGraph): string[] {
  const name = graph.pipeline;
  const checkpoints = checkpointTopic(name);
  return [
    checkpoints,
    `${checkpoints}.tasks`,
    `${checkpoints}.storage`,
    storageTopic(name),
    ...graph.nodes.filter((n) => n.kind === "keyBy").map((n) => repartitionTopic(name, n.id)),
  ];
}

/** Delete the pipeline's internal topics; returns those that existed. */
export async function resetPipelineOnKafka(cluster: KafkaCluster, graph: PipelineGraph): Promise<string[]> {
  const group = pipelineGroup(graph.pipeline);
  const members = await cluster.groupMembers(group);
  if (members > 0)
    throw new WeirError(
      "PIPELINE_RUNNING",
      `cannot reset pipeline ${graph.pipeline}: ${members} process(es) of consumer group ${group} are running it on ${cluster.address.url}; stop them first`,
    );
  const existing = new Set(await cluster.listTopics());
  const deleted: string[] = [];
  for (const topic of internalTopics(graph)) {
    if (!existing.has(topic)) continue;
    await cluster.deleteTopic(topic);
    deleted.push(topic);
  }
  // Deletion is asynchronous: a run starting right after must not find (and use) a topic going away.
  const deadline = Date.now() + 30_000;
  for (;;) {
    const left = new Set(await cluster.listTopics());
    if (!deleted.some((t) => left.has(t))) return deleted;
    if (Date.now() > deadline)
      throw new WeirError(
        "BROKER",
        `kafka ${cluster.address.url}: topics ${deleted.filter((t) => left.has(t)).join(", ")} still exist 30 s after their deletion`,
      );
    await new Promise((r) => setTimeout(r, 100));
  }
}
