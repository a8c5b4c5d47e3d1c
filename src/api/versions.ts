/**
 * Versions of a pipeline for reprocessing (the Kappa architecture, seed 004): `weir replay
 * <pipeline> --as v2` runs the pipeline's code — changed, or with new options — from the start of
 * its retained input into outputs of its own, while v1 keeps running; `weir promote` then switches
 * readers to v2 (src/runtime/promotions.ts).
 *
 * Version `v2` of pipeline `nobroker`:
 * - is the pipeline `nobroker_v2` (its own checkpoints, state, dead letters `nobroker_v2.dlq`);
 * - reads the same source topics;
 * - writes topic `<topic>.v2`, versioned table `<table>_v2`, lake dataset `<dataset>_v2`.
 */
import { WeirError } from "../errors.js";
import {
  deadLetterDatasetName,
  writesLateRecords,
  type GraphNode,
  type PipelineGraph,
} from "../graph/graph.js";
import type { PipelineDefinition } from "./pipeline.js";

const VERSION = /^v[0-9]{1,6}$/;

/** A version name: "v" and a number ("v2"). `v1` is the pipeline as it runs without a version. */
export function checkVersion(version: string): string {
  if (!VERSION.test(version))
    throw new WeirError(
      "USAGE",
      `version must look like v2 (a "v" and a number), got ${JSON.stringify(version)}`,
    );
  return version;
}

export const versionedName = {
  pipeline: (pipeline: string, version: string) => (version === "v1" ? pipeline : `${pipeline}_${version}`),
  topic: (topic: string, version: string) => (version === "v1" ? topic : `${topic}.${version}`),
  table: (table: string, version: string) => (version === "v1" ? table : `${table}_${version}`),
  dataset: (dataset: string, version: string) => (version === "v1" ? dataset : `${dataset}_${version}`),
};

/** What a version writes instead of what v1 writes: each output's v1 name and its versioned name. */
export interface VersionOutputs {
  pipeline: string;
  version: string;
  topics: Record<string, string>;
  tables: Record<string, string>;
  datasets: Record<string, string>;
}

/** The outputs `definition` writes, renamed for `version` (v1: unchanged). */
export function versionOutputs(definition: PipelineDefinition, version: string): VersionOutputs {
  const name = definition.name;
  const out: VersionOutputs = { pipeline: name, version, topics: {}, tables: {}, datasets: {} };
  for (const n of definition.graph.nodes) {
    if (n.kind === "sink") out.topics[n.topic] = versionedName.topic(n.topic, version);
    else if (n.kind === "table") out.tables[n.table] = versionedName.table(n.table, version);
    else if (n.kind === "lake") out.datasets[n.dataset] = versionedName.dataset(n.dataset, version);
  }
  const renamed = versionedName.pipeline(name, version);
  out.topics[`${name}.dlq`] = `${renamed}.dlq`;
  if (writesLateRecords(definition.graph)) out.topics[`${name}.late`] = `${renamed}.late`;
  if (definition.graph.deadLettersToLake)
    out.datasets[deadLetterDatasetName(name)] = deadLetterDatasetName(renamed);
  return out;
}

/** `definition` as version `version`: the same steps, with its own name and outputs (v1: itself). */
export function versionedDefinition(definition: PipelineDefinition, version: string): PipelineDefinition {
  checkVersion(version);
  if (version === "v1") return definition;
  const rename = (n: GraphNode): GraphNode => {
    switch (n.kind) {
      case "sink":
        return { ...n, topic: versionedName.topic(n.topic, version) };
      case "table":
        return { ...n, table: versionedName.table(n.table, version) };
      case "lake":
        return { ...n, dataset: versionedName.dataset(n.dataset, version) };
      default:
        return n;
    }
  };
  const graph: PipelineGraph = {
    ...definition.graph,
    pipeline: versionedName.pipeline(definition.name, version),
    nodes: definition.graph.nodes.map(rename),
  };
  return { ...definition, name: graph.pipeline, graph };
}
