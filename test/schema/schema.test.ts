// Schema declarations: type inference (checked by tsc: this file fails to compile if a type is
// wrong), description, JSON form, immutability and builder errors.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { compile, schema, Schema, type Infer, type SchemaJSON } from "../../src/schema/index.js";

/** Compile-time type equality: `const x: Equal<A, B> = true` fails tsc unless A and B are the same. */
type Equal<A, B> = (<G>() => G extends A ? 1 : 2) extends <G>() => G extends B ? 1 : 2 ? true : false;

const Interaction = schema.object({
  user_id: schema.int(),
  property_id: schema.int(),
  date: schema.timestamp(),
  event: schema.string(),
});
type Interaction = Infer<typeof Interaction>;

describe("type inference", () => {
  test("the NoBroker record type flows from the schema", () => {
    const exact: Equal<Interaction, { user_id: number; property_id: number; date: Date; event: string }> =
      true;
    assert.equal(exact, true);

    const decoded = compile(Interaction).decodeLine(
      '{"user_id":1,"property_id":2,"date":"2021-11-30 00:00:00","event":"Interaction"}',
    );
    assert.ok(decoded !== undefined);
    const userId: number = decoded.user_id;
    const date: Date = decoded.date;
    const event: string = decoded.event;
    // @ts-expect-error: a misspelled field is a compile error
    const typo = decoded.user_idd;
    // @ts-expect-error: user_id is a number, not a string
    const wrong: string = decoded.user_id;
    // @ts-expect-error: the decoder may return undefined (a dead letter)
    const unchecked: Interaction = compile(Interaction).decodeLine("{}");
    assert.equal(userId, 1);
    assert.equal(date.getTime(), 1638230400000);
    assert.equal(event, "Interaction");
    assert.equal(typo, undefined);
    assert.equal(wrong, 1);
    assert.equal(unchecked, undefined);
  });

  test("optional, nullable, literals, arrays, nested objects, any", () => {
    const S = schema.object({
      a: schema.string().optional(),
      b: schema.int().nullable(),
      c: schema.number().optional().nullable(),
      d: schema.literal("x"),
      e: schema.oneOf(["low", "high", 3]),
      f: schema.array(schema.object({ g: schema.boolean(), h: schema.timestamp().optional() })),
      i: schema.object({ j: schema.array(schema.array(schema.string())) }),
      k: schema.any(),
      l: schema.literal(null),
    });
    type S = Infer<typeof S>;
    assert.equal(S.kind, "object");
    const exact: Equal<
      S,
      {
        a?: string | undefined;
        b: number | null;
        c?: number | null | undefined;
        d: "x";
        e: "low" | "high" | 3;
        f: { g: boolean; h?: Date | undefined }[];
        i: { j: string[][] };
        k: unknown;
        l: null;
      }
    > = true;
    assert.equal(exact, true);

    const msTime = schema.timestamp({ as: "ms" });
    const dateTime = schema.timestamp({ as: "date", zone: "UTC" });
    assert.equal(msTime.as, "ms");
    assert.equal(dateTime.as, undefined);
    const leafTypes: [
      Equal<Infer<ReturnType<typeof schema.string>>, string>,
      Equal<Infer<ReturnType<typeof schema.int>>, number>,
      Equal<Infer<ReturnType<typeof schema.number>>, number>,
      Equal<Infer<ReturnType<typeof schema.boolean>>, boolean>,
      Equal<Infer<ReturnType<typeof schema.timestamp>>, Date>,
      Equal<Infer<ReturnType<typeof schema.any>>, unknown>,
      Equal<Infer<typeof msTime>, number>,
      Equal<Infer<typeof dateTime>, Date>,
    ] = [true, true, true, true, true, true, true, true];
    assert.deepEqual(leafTypes, [true, true, true, true, true, true, true, true]);

    // Field schemas stay typed on the object schema.
    const idSchema: Schema<number> = Interaction.fields.user_id;
    assert.equal(idSchema.kind, "int");
    // @ts-expect-error: there is no such field
    assert.equal(Interaction.fields.nope, undefined);
  });
});

describe("describe() and the JSON form", () => {
  test("the NoBroker schema prints as a record type", () => {
    assert.equal(Interaction.describe(), "{user_id: int, property_id: int, date: timestamp, event: string}");
    assert.equal(String(Interaction), Interaction.describe());
  });

  test("modifiers, arrays, literals, nesting, zones and odd field names", () => {
    const S = schema.object({
      tags: schema.array(schema.string()).optional(),
      maybe: schema.array(schema.int().nullable()),
      note: schema.string().nullable(),
      kind: schema.oneOf(["a", "b"]),
      one: schema.literal(1),
      at: schema.timestamp({ zone: "Asia/Kolkata" }),
      ms: schema.timestamp({ as: "ms" }),
      inner: schema.object({ x: schema.number(), y: schema.any().optional() }),
      rows: schema.array(schema.object({ z: schema.boolean() })),
      opt: schema.array(schema.object({ z: schema.int().nullable() }).nullable()),
      kinds: schema.array(schema.oneOf(["x", "y"])),
      "odd name": schema.int(),
    });
    assert.equal(
      S.describe(),
      '{tags?: string[], maybe: (int | null)[], note: string | null, kind: "a" | "b", one: 1, ' +
        "at: timestamp(Asia/Kolkata), ms: timestamp(ms), inner: {x: number, y?: any}, rows: {z: boolean}[], " +
        'opt: ({z: int | null} | null)[], kinds: ("x" | "y")[], "odd name": int}',
    );
  });

  test("JSON.stringify gives plain data, and fromJSON rebuilds an equivalent schema", () => {
    const S = schema.object({
      id: schema.int(),
      at: schema.timestamp({ zone: "Europe/Berlin" }).optional(),
      ms: schema.timestamp({ as: "ms" }),
      tags: schema.array(schema.oneOf(["a", "b"]).nullable()),
      inner: schema.object({ v: schema.any() }).nullable(),
    });
    const json = JSON.parse(JSON.stringify(S)) as SchemaJSON;
    assert.deepEqual(json, {
      type: "object",
      fields: {
        id: { type: "int" },
        at: { type: "timestamp", optional: true, zone: "Europe/Berlin" },
        ms: { type: "timestamp", as: "ms" },
        tags: { type: "array", items: { type: "literal", nullable: true, values: ["a", "b"] } },
        inner: { type: "object", nullable: true, fields: { v: { type: "any" } } },
      },
    });
    const back = schema.fromJSON(json);
    assert.equal(back.describe(), S.describe());
    assert.deepEqual(back.toJSON(), json);
    const line = '{"id":1,"at":"2021-11-30 01:00:00","ms":0,"tags":["a",null],"inner":null}';
    assert.deepEqual(compile(back).decodeLine(line), compile(S).decodeLine(line));
  });

  test("fromJSON rejects malformed descriptions with USAGE", () => {
    assert.throws(() => schema.fromJSON({ type: "float" }), {
      code: "USAGE",
      message: /unknown schema type "float"/,
    });
    assert.throws(() => schema.fromJSON(null), { code: "USAGE" });
    assert.throws(() => schema.fromJSON({ type: "object", fields: { a: { type: "nope" } } }), {
      code: "USAGE",
      message: /schema\.fields\.a: unknown schema type/,
    });
    assert.throws(() => schema.fromJSON({ type: "array" }), { code: "USAGE" });
  });
});

describe("builders", () => {
  test("schemas are immutable; modifiers return new schemas", () => {
    const base = schema.int();
    const opt = base.optional();
    assert.notEqual(opt, base);
    assert.equal(base.isOptional, false);
    assert.equal(opt.isOptional, true);
    assert.equal(opt.nullable().isNullable, true);
    assert.equal(Object.isFrozen(base), true);
    assert.equal(Object.isFrozen(Interaction.fields), true);
    assert.throws(() => {
      (base as unknown as { kind: string }).kind = "string";
    }, TypeError);
  });

  test("bad arguments are USAGE errors naming the problem", () => {
    assert.throws(() => schema.object({ a: 1 as never }), {
      name: "WeirError",
      code: "USAGE",
      message: 'schema.object() field "a" must be a schema (schema.int(), schema.string(), ...), got number',
    });
    assert.throws(() => schema.object(null as never), { code: "USAGE" });
    assert.throws(() => schema.array("int" as never), { code: "USAGE" });
    assert.throws(() => schema.oneOf([]), { code: "USAGE" });
    assert.throws(() => schema.literal({} as never), { code: "USAGE" });
    assert.throws(() => schema.literal(NaN), { code: "USAGE" });
    assert.throws(() => schema.timestamp({ as: "seconds" } as never), { code: "USAGE" });
    assert.throws(() => schema.timestamp({ zone: "Mars/Base" }), {
      code: "USAGE",
      message: /unknown time zone "Mars\/Base"/,
    });
  });

  test("a timestamp zone is validated and normalised when declared", () => {
    assert.equal(schema.timestamp({ zone: "Etc/UTC" }).zone, "UTC");
    assert.equal(schema.timestamp({ zone: "europe/berlin" }).zone, "Europe/Berlin");
    assert.equal(schema.timestamp().zone, undefined);
  });
});
