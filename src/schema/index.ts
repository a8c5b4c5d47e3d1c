/**
 * Record schemas, compiled decoding and event time.
 *
 *   import { schema, compile, type Infer } from "weir";
 *   const Interaction = schema.object({
 *     user_id: schema.int(), property_id: schema.int(),
 *     date: schema.timestamp(), event: schema.string(),
 *   });
 *   type Interaction = Infer<typeof Interaction>;
 *   const decoder = compile(Interaction);
 *   const rec = decoder.decodeLine(line);   // Interaction | undefined (then decoder.error is the reason)
 */
import {
  any,
  array,
  boolean,
  fromJSON,
  int,
  literal,
  number,
  object,
  oneOf,
  string,
  timestamp,
} from "./schema.js";

/** The schema builders: `schema.object({ id: schema.int(), at: schema.timestamp() })`. */
export const schema = Object.freeze({
  string,
  int,
  number,
  boolean,
  timestamp,
  literal,
  oneOf,
  array,
  object,
  any,
  /** Rebuilds a schema from its JSON form (`JSON.parse(JSON.stringify(s))`). */
  fromJSON,
});

export {
  Schema,
  describeSchema,
  type AnySchema,
  type Infer,
  type InferObject,
  type LiteralValue,
  type ObjectSchema,
  type SchemaJSON,
  type SchemaKind,
  type TimestampOptions,
} from "./schema.js";
export { compile, type CompileOptions, type CompiledSchema } from "./compile.js";
export { formatTimestamp, parseEventTime } from "./time.js";
export { normalizeZone } from "./zone.js";
