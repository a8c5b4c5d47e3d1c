// Property-based tests of compiled decoding: valid records round-trip through JSON text; a record
// with one field dropped or of the wrong type fails with a reason naming exactly that field.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { compile, schema } from "../../src/schema/index.js";

const S = schema.object({
  id: schema.int(),
  score: schema.number(),
  name: schema.string(),
  active: schema.boolean(),
  at: schema.timestamp(),
  kind: schema.oneOf(["view", "click", "buy"]),
  nick: schema.string().optional(),
  note: schema.string().nullable(),
  tags: schema.array(schema.string()),
  address: schema.object({ city: schema.string(), zip: schema.int().optional() }),
  lines: schema.array(
    schema.object({
      sku: schema.string(),
      qty: schema.int(),
      at: schema.timestamp().nullable(),
      meta: schema.any(),
    }),
  ),
});
const FIELDS = new Set(Object.keys(S.fields));
const decoder = compile(S);

/** A raw JSON value and what decoding it must give. */
type Pair = { raw: unknown; exp: unknown };
const same = <T>(a: fc.Arbitrary<T>): fc.Arbitrary<Pair> => a.map((x) => ({ raw: x, exp: x }));

// Instants in years 0000-9999, written in each accepted form.
const MIN_T = -62167219200000;
const MAX_T = 253402300799999;
const timestampPair: fc.Arbitrary<Pair> = fc
  .tuple(fc.integer({ min: MIN_T, max: MAX_T }), fc.integer({ min: 0, max: 5 }))
  .map(([t, form]) => {
    const iso = new Date(t).toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
    const whole = t - (((t % 1000) + 1000) % 1000);
    switch (form) {
      case 0:
        return { raw: t, exp: new Date(t) };
      case 1:
        return { raw: iso, exp: new Date(t) };
      case 2:
        return { raw: `${iso.slice(0, 10)} ${iso.slice(11, 19)}`, exp: new Date(whole) };
      case 3:
        return { raw: `${iso.slice(0, 10)} ${iso.slice(11, 23)}`, exp: new Date(t) };
      case 4:
        return { raw: iso.slice(0, 19), exp: new Date(whole) };
      default:
        return { raw: `${iso.slice(0, 23)}+00:00`, exp: new Date(t) };
    }
  });

const intPair = same(fc.maxSafeInteger());
// JSON writes -0 as 0.
const numberPair = fc
  .double({ noNaN: true, noDefaultInfinity: true })
  .map((x) => ({ raw: x, exp: x === 0 ? 0 : x }));
const stringPair = same(fc.string({ unit: "binary", maxLength: 30 }));

function objectPair(fields: Record<string, fc.Arbitrary<Pair>>, optional: string[] = []): fc.Arbitrary<Pair> {
  return fc
    .record(fields, { requiredKeys: Object.keys(fields).filter((k) => !optional.includes(k)) })
    .map((r) => {
      const raw: Record<string, unknown> = {};
      const exp: Record<string, unknown> = {};
      for (const k of Object.keys(fields)) {
        if (!(k in r)) continue;
        raw[k] = r[k]!.raw;
        exp[k] = r[k]!.exp;
      }
      return { raw, exp };
    });
}

function arrayPair(item: fc.Arbitrary<Pair>): fc.Arbitrary<Pair> {
  return fc
    .array(item, { maxLength: 4 })
    .map((xs) => ({ raw: xs.map((x) => x.raw), exp: xs.map((x) => x.exp) }));
}

const recordPair = objectPair(
  {
    id: intPair,
    score: numberPair,
    name: stringPair,
    active: same(fc.boolean()),
    at: timestampPair,
    kind: same(fc.constantFrom("view", "click", "buy")),
    nick: stringPair,
    note: same(fc.option(fc.string(), { nil: null })),
    tags: arrayPair(stringPair),
    address: objectPair({ city: stringPair, zip: intPair }, ["zip"]),
    lines: arrayPair(
      objectPair({
        sku: stringPair,
        qty: intPair,
        at: fc.oneof(timestampPair, fc.constant({ raw: null, exp: null })),
        // What JSON can carry (e.g. -0 becomes 0).
        meta: same(fc.jsonValue({ maxDepth: 2 }).map((x) => JSON.parse(JSON.stringify(x)) as unknown)),
      }),
    ),
  },
  ["nick"],
);

// Extra input fields (never a declared name) that decoding must drop.
const extras = fc.dictionary(
  fc.string({ maxLength: 8 }).filter((k) => !FIELDS.has(k) && k !== "__proto__"),
  fc.jsonValue({ maxDepth: 2 }),
  { maxKeys: 4 },
);

test("valid records round-trip: decodeLine(JSON.stringify(r)) gives the cleaned, typed record", () => {
  fc.assert(
    fc.property(recordPair, extras, fc.boolean(), ({ raw, exp }, extra, extraFirst) => {
      const input = extraFirst ? { ...extra, ...(raw as object) } : { ...(raw as object), ...extra };
      const line = JSON.stringify(input);
      const got = decoder.decodeLine(line);
      assert.notEqual(got, undefined, `${line}: ${decoder.error}`);
      assert.deepStrictEqual(got, exp);
      assert.deepStrictEqual(Object.keys(got!), Object.keys(exp as object));
      // decodeValue on the parsed value agrees.
      assert.deepStrictEqual(decoder.decodeValue(JSON.parse(line)), got);
    }),
    { numRuns: 500 },
  );
});

// ---------------------------------------------------------------------------------------------
// Mutations

type Kind =
  | "int"
  | "number"
  | "string"
  | "boolean"
  | "timestamp"
  | "kind"
  | "note"
  | "nick"
  | "array"
  | "object"
  | "zip"
  | "nullableTimestamp"
  | "any";

/** Every place a mutation can hit in a raw record, with its path and what it holds. */
interface Slot {
  path: (string | number)[];
  kind: Kind;
  required: boolean;
}

function slots(raw: Record<string, any>): Slot[] {
  const out: Slot[] = [
    { path: ["id"], kind: "int", required: true },
    { path: ["score"], kind: "number", required: true },
    { path: ["name"], kind: "string", required: true },
    { path: ["active"], kind: "boolean", required: true },
    { path: ["at"], kind: "timestamp", required: true },
    { path: ["kind"], kind: "kind", required: true },
    { path: ["nick"], kind: "nick", required: false },
    { path: ["note"], kind: "note", required: true },
    { path: ["tags"], kind: "array", required: true },
    { path: ["address"], kind: "object", required: true },
    { path: ["address", "city"], kind: "string", required: true },
    { path: ["address", "zip"], kind: "zip", required: false },
    { path: ["lines"], kind: "array", required: true },
  ];
  (raw.tags as unknown[]).forEach((_, i) => out.push({ path: ["tags", i], kind: "string", required: true }));
  (raw.lines as unknown[]).forEach((_, i) => {
    out.push({ path: ["lines", i], kind: "object", required: true });
    out.push({ path: ["lines", i, "sku"], kind: "string", required: true });
    out.push({ path: ["lines", i, "qty"], kind: "int", required: true });
    out.push({ path: ["lines", i, "at"], kind: "nullableTimestamp", required: true });
    out.push({ path: ["lines", i, "meta"], kind: "any", required: true });
  });
  return out;
}

// Values of the wrong type for each kind of slot.
const WRONG: Record<Kind, unknown[]> = {
  int: ["12", 1.5, -0.25, 2 ** 53, null, true, [], {}],
  number: ["1.5", null, false, [1], {}],
  string: [12, null, true, [], {}],
  boolean: ["true", 0, 1, null, []],
  timestamp: [
    "2021-13-45 00:00:00",
    "2021-02-30 00:00:00",
    "2021-11-30 24:00:00",
    "soon",
    "",
    1.5,
    true,
    null,
    {},
    [],
  ],
  nullableTimestamp: ["2021-13-45 00:00:00", "soon", 1.5, false, {}],
  kind: ["other", "VIEW", 1, null, true],
  note: [12, true, [], {}],
  nick: [12, null, false, []],
  zip: ["411001", 1.5, null],
  array: [{}, "a", null, 1, true],
  object: ["x", [], null, 1, false],
  any: [],
};

function pathText(path: (string | number)[]): string {
  let s = "";
  for (const p of path) s += typeof p === "number" ? `[${p}]` : s === "" ? p : `.${p}`;
  return s;
}

test('a dropped required field fails with `missing field "<path>"`', () => {
  fc.assert(
    fc.property(
      recordPair.chain(({ raw }) => {
        const candidates = slots(raw as Record<string, any>).filter(
          (s) => s.required && typeof s.path.at(-1) === "string",
        );
        return fc.tuple(fc.constant(raw), fc.constantFrom(...candidates));
      }),
      ([raw, slot]) => {
        const copy = JSON.parse(JSON.stringify(raw));
        const parent = slot.path.slice(0, -1).reduce((o: any, k) => o[k], copy);
        delete parent[slot.path.at(-1) as string];
        assert.equal(decoder.decodeLine(JSON.stringify(copy)), undefined);
        assert.equal(decoder.error, `missing field ${JSON.stringify(pathText(slot.path))}`);
      },
    ),
    { numRuns: 500 },
  );
});

test('a field of the wrong type fails with `field "<path>": ...` naming it', () => {
  fc.assert(
    fc.property(
      recordPair.chain(({ raw }) => {
        const candidates = slots(raw as Record<string, any>).filter((s) => WRONG[s.kind].length > 0);
        return fc
          .constantFrom(...candidates)
          .chain((slot) =>
            fc.tuple(fc.constant(raw), fc.constant(slot), fc.constantFrom(...WRONG[slot.kind])),
          );
      }),
      ([raw, slot, wrong]) => {
        const copy = JSON.parse(JSON.stringify(raw));
        const parent = slot.path.slice(0, -1).reduce((o: any, k) => o[k], copy);
        parent[slot.path.at(-1)!] = wrong;
        const line = JSON.stringify(copy);
        assert.equal(decoder.decodeLine(line), undefined, line);
        const prefix = `field ${JSON.stringify(pathText(slot.path))}: `;
        assert.ok(decoder.error.startsWith(prefix), `${decoder.error} should start with ${prefix}`);
        const rest = decoder.error.slice(prefix.length);
        if (typeof wrong === "string" && (slot.kind === "timestamp" || slot.kind === "nullableTimestamp")) {
          assert.equal(rest, `unparseable timestamp ${JSON.stringify(wrong)}`);
        } else {
          assert.match(
            rest,
            /^expected .+, got (string ".*"|number \S+|boolean (true|false)|null|array|object)$/,
          );
        }
        assert.doesNotMatch(decoder.error, /\n/);
      },
    ),
    { numRuns: 1000 },
  );
});

test("arbitrary JSON never throws and either decodes or names a reason", () => {
  fc.assert(
    fc.property(fc.jsonValue({ maxDepth: 3 }), (v) => {
      const got = decoder.decodeLine(JSON.stringify(v));
      if (got === undefined) {
        assert.match(
          decoder.error,
          /^(expected a JSON object, got \w+|missing field "[^"]+"|field "[^"]+": .+)$/,
        );
      }
    }),
  );
  fc.assert(
    fc.property(fc.string({ unit: "binary", maxLength: 40 }), (text) => {
      if (decoder.decodeLine(text) === undefined)
        assert.ok(decoder.error.length > 0 && !decoder.error.includes("\n"));
    }),
  );
});
