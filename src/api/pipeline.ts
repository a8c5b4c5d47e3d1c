/**
 * `pipeline(name, build)`: the entry point of the user API. The build function declares sources and
 * the steps after them; the result is a definition holding the graph, run by `weir run` or the test driver.
 */
import { WeirError } from "../errors.js";
import type { PipelineGraph } from "../graph/graph.js";
import { normalizeZone, type Infer, type Schema } from "../schema/index.js";
import { parseDuration } from "../util/duration.js";
import { isAsyncFunction, isThenable, type SyncResult } from "../operators/sync-only.js";
import { GraphBuilder, refuseAsync, type StepOptions } from "./builder.js";
import { Stream } from "./stream.js";
import type { Source } from "../sources/contract.js";

export const DEFAULT_MAX_OUT_OF_ORDERNESS_MS = 5000;

export interface SourceOptions<T> extends StepOptions {
  /** Parse and validate each record; failures become dead letters. Without it, any JSON value passes. */
  schema?: Schema<T>;
  /** The record's event time. Without it, the record's log timestamp is used. */
  eventTime?: (value: T) => Date | number;
  /** How far behind the newest event time the watermark trails (default "5s"). */
  maxOutOfOrderness?: string | number;
  /**
   * Read the topic's records from your own source (src/sources/contract.ts): the run ingests them
   * into the topic — committed with the source's positions, exactly once for a source that can
   * resume from a position — and the pipeline reads the topic as any other (docs/connectors.md).
   */
  from?: Source;
}

export interface PipelineContext {
  /** Read a topic. Each record is a line of JSON text. */
  source<S extends Schema<any>>(
    topic: string,
    options: SourceOptions<Infer<S>> & { schema: S },
  ): Stream<Infer<S>>;
  source(topic: string, options?: SourceOptions<unknown>): Stream<unknown>;
}

export interface PipelineDefinition {
  readonly name: string;
  readonly graph: PipelineGraph;
  /** The pipeline's own choice of table store (see PipelineOptions.tableStore). */
  readonly tableStore?: string;
}

const PIPELINE_NAME = /^[A-Za-z0-9_-]{1,100}$/;

export interface PipelineOptions {
  /**
   * Zone of event times written without one ("2021-11-30 00:00:00"), as an IANA name
   * ("Asia/Kolkata") or an offset ("+05:30"). Default UTC. A timestamp field may set its own.
   */
  zone?: string;
  /**
   * Also land every dead letter as a row of lake dataset `<pipeline>_dead_letters` (kept for audit
   * next to the raw data), besides topic `<pipeline>.dlq`. Default false.
   */
  deadLettersToLake?: boolean;
  /**
   * Where this pipeline's versioned tables live when the command line does not say
   * (`--table-store` / `$WEIR_TABLE_STORE` win): "sqlite", "sqlite:/path.db" or "postgres://...".
   */
  tableStore?: string;
}

/**
 * A pipeline named `name`: `build` declares its sources and steps, synchronously (a step added
 * after an `await` would be missing from the graph, so an async build is refused).
 */
export function pipeline<B = void>(
  name: string,
  build: (p: PipelineContext) => SyncResult<B>,
  options: PipelineOptions = {},
): PipelineDefinition {
  if (!PIPELINE_NAME.test(name)) {
    throw new WeirError(
      "INVALID_PIPELINE",
      `pipeline name ${JSON.stringify(name)} must be 1-100 letters, digits, '_' or '-'`,
    );
  }
  const b = new GraphBuilder(name);
  /** Topics read from the pipeline's own sources. */
  const ingested = new Map<string, Source>();
  const p: PipelineContext = {
    source(topic: string, options: SourceOptions<any> = {}): Stream<any> {
      if (!/^[A-Za-z0-9._-]{1,249}$/.test(topic)) {
        throw new WeirError(
          "INVALID_PIPELINE",
          `source topic name ${JSON.stringify(topic)} must be 1-249 characters of letters, digits, '.', '_' and '-'`,
        );
      }
      const bound = options.maxOutOfOrderness;
      const maxOutOfOrdernessMs =
        bound === undefined
          ? DEFAULT_MAX_OUT_OF_ORDERNESS_MS
          : typeof bound === "number"
            ? bound
            : parseDuration(bound);
      if (!(maxOutOfOrdernessMs >= 0))
        throw new WeirError("INVALID_PIPELINE", `maxOutOfOrderness must be >= 0, got ${bound}`);
      const id = b.idFor(`source:${topic}`, options.name);
      refuseAsync(id, "the eventTime function", options.eventTime);
      const from = options.from;
      if (from !== undefined) {
        if (
          from === null ||
          typeof from !== "object" ||
          typeof from.open !== "function" ||
          typeof from.name !== "string"
        )
          throw new WeirError(
            "INVALID_PIPELINE",
            `source ${id}: from must be a source (an object with a name and open(split, from, context))`,
          );
        const other = ingested.get(topic);
        if (other !== undefined && other !== from)
          throw new WeirError(
            "INVALID_PIPELINE",
            `topic ${topic} is ingested from two sources (${other.name} and ${from.name}): one topic, one source`,
          );
        ingested.set(topic, from);
      }
      b.add({
        kind: "source",
        id,
        input: null,
        topic,
        schema: options.schema,
        eventTime: options.eventTime,
        maxOutOfOrdernessMs,
        ...(from !== undefined ? { from } : {}),
      });
      return new Stream(b, id);
    },
  };
  if (options.zone !== undefined) normalizeZone(options.zone); // an unknown zone fails here, with its name
  if (isAsyncFunction(build)) throw asyncBuild(name, undefined);
  const built: unknown = build(p);
  if (isThenable(built)) throw asyncBuild(name, built);
  return Object.freeze({
    name,
    graph: b.build(options.zone, options.deadLettersToLake ?? false),
    tableStore: options.tableStore,
  });
}

function asyncBuild(name: string, promise: unknown): WeirError {
  if (promise instanceof Promise) promise.catch(() => {}); // refused already: its outcome does not matter
  return new WeirError(
    "INVALID_PIPELINE",
    `pipeline ${name}: the build function is async (or returned a Promise); declare the sources and steps ` +
      "synchronously: a step added after an await would be missing from the pipeline",
  );
}

export function isPipelineDefinition(x: unknown): x is PipelineDefinition {
  return (
    typeof x === "object" &&
    x !== null &&
    typeof (x as PipelineDefinition).name === "string" &&
    typeof (x as PipelineDefinition).graph === "object"
  );
}
