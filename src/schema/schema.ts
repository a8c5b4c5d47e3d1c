/**
 * Record schemas: plain, immutable, serializable data describing the shape of a JSON record, with the
 * TypeScript type of the decoded value flowing from the declaration (`Infer<typeof S>`).
 *
 * A schema does not validate anything by itself: `compile()` (./compile.ts) turns it into generated
 * code that decodes records on the hot path.
 */
import { WeirError } from "../errors.js";
import { normalizeZone } from "./zone.js";

/** The kinds of schema node. `literal` covers both `literal(v)` and `oneOf([...])`. */
export type SchemaKind =
  "string" | "int" | "number" | "boolean" | "timestamp" | "literal" | "array" | "object" | "any";

const KINDS: ReadonlySet<string> = new Set<SchemaKind>([
  "string",
  "int",
  "number",
  "boolean",
  "timestamp",
  "literal",
  "array",
  "object",
  "any",
]);

/** A value a `literal()` / `oneOf()` schema matches (compared with `===`). */
export type LiteralValue = string | number | boolean | null;

/** The JSON form of a schema (`s.toJSON()`, `schema.fromJSON()`). Absent flags mean false. */
export interface SchemaJSON {
  type: SchemaKind;
  optional?: true;
  nullable?: true;
  /** timestamp: the IANA zone of zone-less date-times (absent: the pipeline's zone, else UTC). */
  zone?: string;
  /** timestamp: "ms" decodes to epoch milliseconds (absent: a Date). */
  as?: "ms";
  /** literal: the accepted values. */
  values?: LiteralValue[];
  /** array: the item schema. */
  items?: SchemaJSON;
  /** object: the fields, in declaration order. */
  fields?: { [name: string]: SchemaJSON };
}

interface SchemaDef {
  readonly kind: SchemaKind;
  readonly isOptional: boolean;
  readonly isNullable: boolean;
  readonly zone: string | undefined;
  readonly as: "ms" | undefined;
  readonly values: readonly LiteralValue[] | undefined;
  readonly items: AnySchema | undefined;
  readonly fields: Readonly<Record<string, AnySchema>> | undefined;
}

/**
 * A schema node. `T` is the decoded TypeScript type; `Opt` records `.optional()` so that object types
 * mark the field optional (`name?: T`). Instances are frozen; modifiers return new schemas.
 */
export class Schema<T = unknown, Opt extends boolean = false> implements SchemaDef {
  /** Type-level only (never set at run time): the decoded type. */
  declare readonly __type: T;
  /** Type-level only (never set at run time): whether the field may be absent. */
  declare readonly __optional: Opt;

  readonly kind: SchemaKind;
  /** The field may be absent; see `optional()`. */
  readonly isOptional: boolean;
  /** `null` is accepted; see `nullable()`. */
  readonly isNullable: boolean;
  /** timestamp only: zone of zone-less date-times, canonical IANA name (undefined: pipeline zone / UTC). */
  readonly zone: string | undefined;
  /** timestamp only: "ms" when it decodes to epoch milliseconds rather than a Date. */
  readonly as: "ms" | undefined;
  /** literal only: the accepted values. */
  readonly values: readonly LiteralValue[] | undefined;
  /** array only: the item schema. */
  readonly items: AnySchema | undefined;
  /** object only: the fields in declaration order. */
  readonly fields: Readonly<Record<string, AnySchema>> | undefined;

  /** @internal use the `schema.*` builders. */
  constructor(def: SchemaDef) {
    this.kind = def.kind;
    this.isOptional = def.isOptional;
    this.isNullable = def.isNullable;
    this.zone = def.zone;
    this.as = def.as;
    this.values = def.values;
    this.items = def.items;
    this.fields = def.fields;
    Object.freeze(this);
  }

  /** The field may be absent (or `undefined`); an absent field stays absent in the decoded value. */
  optional(): Schema<T | undefined, true> {
    return new Schema<T | undefined, true>({ ...defOf(this), isOptional: true });
  }

  /** `null` is accepted and decoded as `null`. */
  nullable(): Schema<T | null, Opt> {
    return new Schema<T | null, Opt>({ ...defOf(this), isNullable: true });
  }

  /** One-line description, e.g. `{user_id: int, date: timestamp, tags?: string[]}`. */
  describe(): string {
    return describeSchema(this);
  }

  toString(): string {
    return describeSchema(this);
  }

  /** The plain-data form (what `JSON.stringify(schema)` prints); `schema.fromJSON()` reads it back. */
  toJSON(): SchemaJSON {
    return schemaToJSON(this);
  }
}

/** Any schema, whatever its decoded type. */
export type AnySchema = Schema<any, boolean>;

/** The decoded type of a schema: `type Interaction = Infer<typeof Interaction>`. */
export type Infer<S> = S extends Schema<infer T, any> ? T : never;

/** Flattens an intersection into one object type (nicer hovers and error messages). */
type Simplify<T> = { [K in keyof T]: T[K] } & {};

type OptionalKeys<F> = { [K in keyof F]: F[K] extends Schema<any, true> ? K : never }[keyof F];
type RequiredKeys<F> = Exclude<keyof F, OptionalKeys<F>>;

/** The decoded type of `object(fields)`: optional fields become optional properties. */
export type InferObject<F extends Record<string, AnySchema>> = Simplify<
  { [K in RequiredKeys<F>]: Infer<F[K]> } & { [K in OptionalKeys<F>]?: Infer<F[K]> }
>;

/** An object schema, keeping its field schemas typed (`Interaction.fields.user_id`). */
export class ObjectSchema<F extends Record<string, AnySchema>> extends Schema<InferObject<F>> {
  declare readonly fields: Readonly<F>;
}

function defOf(s: SchemaDef): SchemaDef {
  return {
    kind: s.kind,
    isOptional: s.isOptional,
    isNullable: s.isNullable,
    zone: s.zone,
    as: s.as,
    values: s.values,
    items: s.items,
    fields: s.fields,
  };
}

function leaf<T>(kind: SchemaKind, extra: Partial<SchemaDef> = {}): Schema<T> {
  return new Schema<T>({
    kind,
    isOptional: false,
    isNullable: false,
    zone: undefined,
    as: undefined,
    values: undefined,
    items: undefined,
    fields: undefined,
    ...extra,
  });
}

function usage(message: string): WeirError {
  return new WeirError("USAGE", message);
}

// ---------------------------------------------------------------------------------------------
// Builders

/** A JSON string. */
export function string(): Schema<string> {
  return leaf("string");
}

/** A JSON integer within the safe range (no coercion from strings; `1.5` is rejected). */
export function int(): Schema<number> {
  return leaf("int");
}

/** A finite JSON number. */
export function number(): Schema<number> {
  return leaf("number");
}

/** `true` or `false`. */
export function boolean(): Schema<boolean> {
  return leaf("boolean");
}

export interface TimestampOptions {
  /**
   * IANA zone (e.g. "Asia/Kolkata") of date-times written without a zone ("2021-11-30 00:00:00").
   * Default: the pipeline's zone, else UTC. Strings with `Z` or an offset are exact whatever the zone.
   */
  zone?: string;
  /**
   * "date" (default): decode to a `Date`. "ms": decode to epoch milliseconds (a number), which saves
   * the Date allocation on the hot path (about a tenth of the cost of JSON.parse per record).
   */
  as?: "date" | "ms";
}

/**
 * An event time, decoded to a `Date` (or epoch ms with `{ as: "ms" }`). Accepts "YYYY-MM-DD HH:MM:SS"
 * (optionally ".SSS", and "T" for the space), ISO-8601 with `Z` or `±hh:mm`, and epoch milliseconds as
 * a JSON integer.
 */
export function timestamp(opts: TimestampOptions & { as: "ms" }): Schema<number>;
export function timestamp(opts?: TimestampOptions & { as?: "date" }): Schema<Date>;
export function timestamp(opts: TimestampOptions = {}): Schema<Date> | Schema<number> {
  if (opts === null || typeof opts !== "object") throw usage("schema.timestamp() options must be an object");
  const zone = opts.zone === undefined ? undefined : normalizeZone(opts.zone);
  if (opts.as !== undefined && opts.as !== "date" && opts.as !== "ms") {
    throw usage(`schema.timestamp(): "as" must be "date" or "ms", got ${JSON.stringify(opts.as)}`);
  }
  return leaf<Date>("timestamp", { zone, as: opts.as === "ms" ? "ms" : undefined });
}

/** Exactly `value` (compared with `===`). */
export function literal<const V extends LiteralValue>(value: V): Schema<V> {
  checkLiteral(value);
  return leaf("literal", { values: Object.freeze([value]) });
}

/** One of `values` (compared with `===`), e.g. `oneOf(["view", "click"])`. */
export function oneOf<const V extends readonly LiteralValue[]>(values: V): Schema<V[number]> {
  if (!Array.isArray(values) || values.length === 0) {
    throw usage("schema.oneOf() needs a non-empty array of values");
  }
  for (const v of values) checkLiteral(v);
  return leaf("literal", { values: Object.freeze([...values]) });
}

function checkLiteral(v: unknown): void {
  const t = typeof v;
  if (v !== null && t !== "string" && t !== "boolean" && !(t === "number" && Number.isFinite(v))) {
    throw usage(
      `schema.literal()/oneOf() values must be strings, finite numbers, booleans or null, got ${t === "object" ? (Array.isArray(v) ? "array" : "object") : t}`,
    );
  }
}

/** A JSON array whose items all match `item`. */
export function array<S extends AnySchema>(item: S): Schema<Infer<S>[]> {
  checkSchema(item, "schema.array() item");
  return leaf("array", { items: item });
}

/**
 * A JSON object with these fields. The decoded value holds only the declared fields (extra input
 * fields are dropped), in declaration order.
 */
export function object<F extends Record<string, AnySchema>>(fields: F): ObjectSchema<F> {
  if (fields === null || typeof fields !== "object" || Array.isArray(fields)) {
    throw usage("schema.object() needs an object of field schemas, e.g. schema.object({ id: schema.int() })");
  }
  const entries = Object.keys(fields).map((name): [string, AnySchema] => {
    const s = fields[name];
    checkSchema(s, `schema.object() field "${name}"`);
    return [name, s];
  });
  // Object.fromEntries defines own properties, so even a field named "__proto__" is kept as data.
  return new ObjectSchema<F>({
    kind: "object",
    isOptional: false,
    isNullable: false,
    zone: undefined,
    as: undefined,
    values: undefined,
    items: undefined,
    fields: Object.freeze(Object.fromEntries(entries)) as Readonly<F>,
  });
}

/** Any JSON value, passed through unvalidated (only its presence is checked unless optional). */
export function any(): Schema<unknown> {
  return leaf("any");
}

function checkSchema(s: unknown, what: string): asserts s is AnySchema {
  if (!(s instanceof Schema)) {
    throw usage(`${what} must be a schema (schema.int(), schema.string(), ...), got ${describeJsType(s)}`);
  }
}

function describeJsType(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  return typeof v;
}

// ---------------------------------------------------------------------------------------------
// Description and the JSON form

/** One-line description: `{user_id: int, date: timestamp, tags?: string[], note: string | null}`. */
export function describeSchema(s: AnySchema): string {
  const base = describeBase(s);
  return s.isNullable ? `${base} | null` : base;
}

function describeBase(s: AnySchema): string {
  switch (s.kind) {
    case "timestamp": {
      const opts = [s.zone, s.as].filter((x) => x !== undefined);
      return opts.length === 0 ? "timestamp" : `timestamp(${opts.join(", ")})`;
    }
    case "literal":
      return s.values!.map((v) => JSON.stringify(v)).join(" | ");
    case "array": {
      const items = s.items!;
      const union = items.isNullable || (items.kind === "literal" && items.values!.length > 1);
      return union ? `(${describeSchema(items)})[]` : `${describeSchema(items)}[]`;
    }
    case "object": {
      const fields = s.fields!;
      const parts = Object.keys(fields).map((name) => {
        const f = fields[name];
        const key = /^[A-Za-z_$][\w$]*$/.test(name) ? name : JSON.stringify(name);
        return `${key}${f.isOptional ? "?" : ""}: ${describeSchema(f)}`;
      });
      return `{${parts.join(", ")}}`;
    }
    default:
      return s.kind;
  }
}

export function schemaToJSON(s: AnySchema): SchemaJSON {
  const out: SchemaJSON = { type: s.kind };
  if (s.isOptional) out.optional = true;
  if (s.isNullable) out.nullable = true;
  if (s.zone !== undefined) out.zone = s.zone;
  if (s.as !== undefined) out.as = s.as;
  if (s.values !== undefined) out.values = [...s.values];
  if (s.items !== undefined) out.items = schemaToJSON(s.items);
  if (s.fields !== undefined) {
    const fields = s.fields;
    out.fields = Object.fromEntries(Object.keys(fields).map((name) => [name, schemaToJSON(fields[name])]));
  }
  return out;
}

/** Rebuilds a schema from its JSON form (throws WeirError USAGE on a malformed description). */
export function fromJSON(json: unknown, path = "schema"): AnySchema {
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    throw usage(`${path}: expected a schema description object, got ${describeJsType(json)}`);
  }
  const j = json as Partial<SchemaJSON>;
  if (typeof j.type !== "string" || !KINDS.has(j.type)) {
    throw usage(
      `${path}: unknown schema type ${JSON.stringify(j.type)} (expected one of ${[...KINDS].join(", ")})`,
    );
  }
  let s: AnySchema;
  switch (j.type) {
    case "string":
      s = string();
      break;
    case "int":
      s = int();
      break;
    case "number":
      s = number();
      break;
    case "boolean":
      s = boolean();
      break;
    case "any":
      s = any();
      break;
    case "timestamp":
      if (j.zone !== undefined && typeof j.zone !== "string") throw usage(`${path}.zone: expected a string`);
      if (j.as !== undefined && j.as !== "ms") throw usage(`${path}.as: expected "ms" or nothing`);
      s = leaf("timestamp", {
        zone: j.zone === undefined ? undefined : normalizeZone(j.zone),
        as: j.as,
      });
      break;
    case "literal":
      if (!Array.isArray(j.values)) throw usage(`${path}.values: expected an array`);
      s = oneOf(j.values);
      break;
    case "array":
      s = array(fromJSON(j.items, `${path}.items`));
      break;
    case "object": {
      const fields = j.fields;
      if (fields === null || typeof fields !== "object" || Array.isArray(fields)) {
        throw usage(`${path}.fields: expected an object`);
      }
      s = object(
        Object.fromEntries(
          Object.keys(fields).map((name) => [name, fromJSON(fields[name], `${path}.fields.${name}`)]),
        ),
      );
      break;
    }
  }
  if (j.optional === true) s = s.optional();
  if (j.nullable === true) s = s.nullable();
  return s!;
}
