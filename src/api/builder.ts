/**
 * Collects graph nodes while a pipeline's build function runs, and gives each a stable id.
 */
import { WeirError } from "../errors.js";
import type { GraphNode, PipelineGraph } from "../graph/graph.js";
import { ASYNC_NOT_SUPPORTED, isAsyncFunction } from "../operators/sync-only.js";

export interface StepOptions {
  /** A stable name for the step (its state, checkpoint, metric and dashboard id). */
  name?: string;
}

const STEP_NAME = /^[A-Za-z0-9_.:\-/()]{1,100}$/;

export class GraphBuilder {
  readonly pipeline: string;
  private readonly nodes: GraphNode[] = [];
  private readonly ids = new Set<string>();
  private readonly perKind = new Map<string, number>();

  constructor(pipeline: string) {
    this.pipeline = pipeline;
  }

  /** A default id like `filter-2`, or the user's name (checked for uniqueness). */
  idFor(kind: string, name: string | undefined): string {
    if (name !== undefined) {
      if (!STEP_NAME.test(name)) {
        throw new WeirError(
          "INVALID_PIPELINE",
          `step name ${JSON.stringify(name)} must be 1-100 characters of letters, digits and _ . : - / ( )`,
        );
      }
      if (this.ids.has(name))
        throw new WeirError(
          "INVALID_PIPELINE",
          `two steps are named ${JSON.stringify(name)}; step names must be unique`,
        );
      return name;
    }
    // Sources and sinks are named after their topic (`source:events`, `to:paid_user`) while that is unique.
    if (kind.includes(":") && !this.ids.has(kind)) return kind;
    let n = this.perKind.get(kind) ?? 0;
    let id: string;
    do {
      n += 1;
      id = `${kind}-${n}`;
    } while (this.ids.has(id));
    this.perKind.set(kind, n);
    return id;
  }

  add<N extends GraphNode>(node: N): N {
    if (this.ids.has(node.id))
      throw new WeirError(
        "INVALID_PIPELINE",
        `two steps are named ${JSON.stringify(node.id)}; step names must be unique`,
      );
    this.ids.add(node.id);
    this.nodes.push(Object.freeze(node) as unknown as GraphNode);
    return node;
  }

  build(zone?: string, deadLettersToLake = false): PipelineGraph {
    if (!this.nodes.some((n) => n.kind === "source")) {
      throw new WeirError(
        "INVALID_PIPELINE",
        `pipeline ${this.pipeline} has no source; add one with p.source("topic", { schema })`,
      );
    }
    for (const n of this.nodes) {
      if (n.kind === "sink" && (n.topic === `${this.pipeline}.dlq` || n.topic === `${this.pipeline}.late`)) {
        throw new WeirError(
          "INVALID_PIPELINE",
          `topic ${n.topic} is written by Weir itself (dead letters and late records); pick another output name`,
        );
      }
    }
    return Object.freeze({
      pipeline: this.pipeline,
      zone,
      deadLettersToLake,
      nodes: Object.freeze([...this.nodes]),
    });
  }
}

/**
 * Refuse an `async` user function (`what`, e.g. "the map function") of step `stepId` when the
 * pipeline is built: steps are synchronous (src/operators/sync-only.ts).
 */
export function refuseAsync(stepId: string, what: string, fn: unknown): void {
  if (isAsyncFunction(fn)) {
    throw new WeirError(
      "INVALID_PIPELINE",
      `step ${stepId}: ${what} is an async function; ${ASYNC_NOT_SUPPORTED}`,
    );
  }
}
