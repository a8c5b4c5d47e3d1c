// Compiled decoding: values, cleaning, and the exact reasons of every failure shape.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { compile, schema } from "../../src/schema/index.js";

const Interaction = schema.object({
  user_id: schema.int(),
  property_id: schema.int(),
  date: schema.timestamp(),
  event: schema.string(),
});
const decoder = compile(Interaction);

/** Decodes a line that must fail and returns the reason. */
function reason(c: { decodeLine(l: string): unknown; error: string }, line: string): string {
  const v = c.decodeLine(line);
  assert.equal(v, undefined, `expected ${line} to fail, got ${JSON.stringify(v)}`);
  return c.error;
}

describe("decodeLine: valid records", () => {
  test("decodes the NoBroker record, date to a Date", () => {
    const v = decoder.decodeLine(
      '{"user_id":1,"property_id":2,"date":"2021-11-30 00:00:00","event":"Interaction"}',
    );
    assert.deepEqual(v, { user_id: 1, property_id: 2, date: new Date(1638230400000), event: "Interaction" });
    assert.ok(v!.date instanceof Date);
    assert.equal(v!.date.getTime(), 1638230400000);
  });

  test("leading/trailing whitespace in the line is fine (JSON allows it)", () => {
    const v = decoder.decodeLine(
      ' { "user_id":1,"property_id":1,"date":"2021-11-30 00:00:00","event":"Interaction"} \r',
    );
    assert.equal(v?.user_id, 1);
  });

  test("extra input fields are dropped; output keeps declaration order", () => {
    const v = decoder.decodeLine(
      '{"event":"View","extra":{"x":1},"date":"2021-11-30T00:00:00Z","property_id":7,"user_id":3,"z":null}',
    );
    assert.deepEqual(Object.keys(v!), ["user_id", "property_id", "date", "event"]);
    assert.deepEqual(v, { user_id: 3, property_id: 7, date: new Date(1638230400000), event: "View" });
  });

  test("decodeValue takes an already-parsed value and also cleans it", () => {
    const input = { user_id: 5, property_id: 6, date: 1638230400000, event: "x", secret: "drop me" };
    const v = decoder.decodeValue(input);
    assert.deepEqual(v, { user_id: 5, property_id: 6, date: new Date(1638230400000), event: "x" });
    assert.notEqual(v, input);
  });

  test("a destructured method still reports its error on the decoder", () => {
    const { decodeLine } = decoder;
    assert.equal(decodeLine("[]"), undefined);
    assert.equal(decoder.error, "expected a JSON object, got array");
  });

  test("integers: JSON integers only, including negatives, 0, -0 and 1e3; safe range only", () => {
    const c = compile(schema.object({ n: schema.int() }));
    for (const [text, value] of [
      ["0", 0],
      ["-17", -17],
      ["1e3", 1000],
      ["1.0", 1],
      ["9007199254740991", 9007199254740991],
      ["-9007199254740991", -9007199254740991],
      ["4294967296", 4294967296],
    ] as const) {
      assert.deepEqual(c.decodeLine(`{"n":${text}}`), { n: value }, text);
    }
    assert.equal(reason(c, '{"n":"12"}'), 'field "n": expected integer, got string "12"');
    assert.equal(reason(c, '{"n":1.5}'), 'field "n": expected integer, got number 1.5');
    assert.equal(
      reason(c, '{"n":9007199254740992}'),
      'field "n": expected integer, got number 9007199254740992',
    );
    assert.equal(reason(c, '{"n":1e300}'), 'field "n": expected integer, got number 1e+300');
    assert.equal(reason(c, '{"n":true}'), 'field "n": expected integer, got boolean true');
    assert.equal(reason(c, '{"n":[1]}'), 'field "n": expected integer, got array');
    assert.equal(reason(c, '{"n":{"a":1}}'), 'field "n": expected integer, got object');
    assert.equal(reason(c, '{"n":null}'), 'field "n": expected integer, got null');
    assert.equal(c.decodeValue({ n: NaN }), undefined);
    assert.equal(c.error, 'field "n": expected integer, got number NaN');
  });

  test("numbers, booleans, strings", () => {
    const c = compile(schema.object({ x: schema.number(), b: schema.boolean(), s: schema.string() }));
    assert.deepEqual(c.decodeLine('{"x":-1.25e-3,"b":false,"s":""}'), { x: -1.25e-3, b: false, s: "" });
    assert.equal(reason(c, '{"x":"1.5","b":true,"s":""}'), 'field "x": expected number, got string "1.5"');
    assert.equal(reason(c, '{"x":1,"b":"true","s":""}'), 'field "b": expected boolean, got string "true"');
    assert.equal(reason(c, '{"x":1,"b":0,"s":""}'), 'field "b": expected boolean, got number 0');
    assert.equal(reason(c, '{"x":1,"b":true,"s":12}'), 'field "s": expected string, got number 12');
    assert.equal(c.decodeValue({ x: Infinity, b: true, s: "" }), undefined);
    assert.equal(c.error, 'field "x": expected number, got number Infinity');
  });

  test("literal and oneOf", () => {
    const c = compile(
      schema.object({ kind: schema.literal("Interaction"), level: schema.oneOf(["low", "high", 3]) }),
    );
    assert.deepEqual(c.decodeLine('{"kind":"Interaction","level":3}'), { kind: "Interaction", level: 3 });
    assert.equal(
      reason(c, '{"kind":"View","level":3}'),
      'field "kind": expected "Interaction", got string "View"',
    );
    assert.equal(
      reason(c, '{"kind":"Interaction","level":"3"}'),
      'field "level": expected one of ["low", "high", 3], got string "3"',
    );
    const many = schema.oneOf(["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l"]);
    const m = compile(schema.object({ v: many }));
    assert.deepEqual(m.decodeLine('{"v":"l"}'), { v: "l" });
    assert.equal(
      reason(m, '{"v":"z"}'),
      'field "v": expected one of ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", ... (12 values)], got string "z"',
    );
  });

  test("any() passes any present value through, including null", () => {
    const c = compile(schema.object({ payload: schema.any(), n: schema.int() }));
    assert.deepEqual(c.decodeLine('{"payload":{"deep":[1,{"x":null}]},"n":1}'), {
      payload: { deep: [1, { x: null }] },
      n: 1,
    });
    assert.deepEqual(c.decodeLine('{"payload":null,"n":1}'), { payload: null, n: 1 });
    assert.equal(reason(c, '{"n":1}'), 'missing field "payload"');
  });
});

describe("decodeLine: reasons", () => {
  test("not JSON", () => {
    assert.match(reason(decoder, "{"), /^invalid JSON: \S/);
    assert.match(reason(decoder, ""), /^invalid JSON: /);
    assert.match(reason(decoder, '{"user_id":1,}'), /^invalid JSON: /);
    // The JSON.parse message is kept (and made one line).
    let message = "";
    try {
      JSON.parse("{");
    } catch (err) {
      message = (err as Error).message;
    }
    assert.equal(reason(decoder, "{"), `invalid JSON: ${message}`);
    assert.doesNotMatch(reason(decoder, '{"a":\n}'), /\n/);
  });

  test("not an object at top level", () => {
    assert.equal(reason(decoder, "[1,2]"), "expected a JSON object, got array");
    assert.equal(reason(decoder, '"text"'), "expected a JSON object, got string");
    assert.equal(reason(decoder, "42"), "expected a JSON object, got number");
    assert.equal(reason(decoder, "true"), "expected a JSON object, got boolean");
    assert.equal(reason(decoder, "null"), "expected a JSON object, got null");
  });

  test("missing field, first one in declaration order", () => {
    assert.equal(reason(decoder, "{}"), 'missing field "user_id"');
    assert.equal(
      reason(decoder, '{"user_id":1,"date":"2021-11-30 00:00:00","event":"x"}'),
      'missing field "property_id"',
    );
    assert.equal(decoder.decodeValue({ user_id: undefined }), undefined);
    assert.equal(decoder.error, 'missing field "user_id"');
  });

  test("wrong type", () => {
    assert.equal(
      reason(decoder, '{"user_id":"12","property_id":1,"date":"2021-11-30 00:00:00","event":"x"}'),
      'field "user_id": expected integer, got string "12"',
    );
  });

  test("unparseable timestamp", () => {
    assert.equal(
      reason(decoder, '{"user_id":1,"property_id":1,"date":"2021-13-45 00:00:00","event":"x"}'),
      'field "date": unparseable timestamp "2021-13-45 00:00:00"',
    );
    assert.equal(
      reason(decoder, '{"user_id":1,"property_id":1,"date":"yesterday","event":"x"}'),
      'field "date": unparseable timestamp "yesterday"',
    );
    assert.equal(
      reason(decoder, '{"user_id":1,"property_id":1,"date":true,"event":"x"}'),
      'field "date": expected timestamp, got boolean true',
    );
    assert.equal(
      reason(decoder, '{"user_id":1,"property_id":1,"date":1.5,"event":"x"}'),
      'field "date": expected timestamp, got number 1.5',
    );
    assert.equal(
      reason(decoder, '{"user_id":1,"property_id":1,"date":null,"event":"x"}'),
      'field "date": expected timestamp, got null',
    );
  });

  test("null where not nullable", () => {
    assert.equal(
      reason(decoder, '{"user_id":1,"property_id":1,"date":"2021-11-30 00:00:00","event":null}'),
      'field "event": expected string, got null',
    );
  });

  test("long values are truncated to 60 characters, reasons stay one line", () => {
    const long = "x".repeat(500);
    const r = reason(decoder, JSON.stringify({ user_id: long }));
    assert.equal(r, `field "user_id": expected integer, got string "${"x".repeat(60)}..."`);
    const weird = reason(decoder, JSON.stringify({ user_id: 'a\nb\u2028c"d' }));
    assert.equal(weird, 'field "user_id": expected integer, got string "a\\nb\\u2028c\\"d"');
    assert.doesNotMatch(weird, /\n/);
  });

  test("the error is replaced by the next failure", () => {
    reason(decoder, "[]");
    assert.equal(reason(decoder, "{}"), 'missing field "user_id"');
  });
});

describe("optional and nullable", () => {
  const S = schema.object({
    id: schema.int(),
    nick: schema.string().optional(),
    note: schema.string().nullable(),
    seen: schema.timestamp().optional().nullable(),
    at: schema.timestamp().nullable(),
  });
  const c = compile(S);

  test("optional: absent stays absent; nullable: null is kept", () => {
    const v = c.decodeLine('{"id":1,"note":null,"at":null}');
    assert.equal(v!.nick, undefined);
    assert.equal("nick" in v!, false);
    assert.deepEqual(v, { id: 1, note: null, at: null });
    assert.deepEqual(c.decodeLine('{"id":1,"nick":"n","note":"x","seen":null,"at":0}'), {
      id: 1,
      nick: "n",
      note: "x",
      seen: null,
      at: new Date(0),
    });
    assert.deepEqual(
      Object.keys(c.decodeLine('{"at":0,"seen":"2021-11-30 00:00:00","note":"x","nick":"n","id":1}')!),
      ["id", "nick", "note", "seen", "at"],
    );
  });

  test("optional does not allow null; nullable does not allow absence", () => {
    assert.equal(
      reason(c, '{"id":1,"nick":null,"note":null,"at":null}'),
      'field "nick": expected string, got null',
    );
    assert.equal(reason(c, '{"id":1,"at":null}'), 'missing field "note"');
    assert.equal(reason(c, '{"id":1,"note":null,"at":"nope"}'), 'field "at": unparseable timestamp "nope"');
    assert.equal(
      reason(c, '{"id":1,"note":null,"at":null,"seen":7.5}'),
      'field "seen": expected timestamp, got number 7.5',
    );
  });

  test("decodeValue: an explicitly undefined optional field counts as absent", () => {
    const v = c.decodeValue({ id: 1, nick: undefined, note: null, at: null });
    assert.deepEqual(v, { id: 1, note: null, at: null });
  });
});

describe("nested objects and arrays", () => {
  const Order = schema.object({
    id: schema.int(),
    customer: schema.object({
      name: schema.string(),
      address: schema.object({ city: schema.string() }).optional(),
    }),
    items: schema.array(
      schema.object({ sku: schema.string(), qty: schema.int(), at: schema.timestamp().optional() }),
    ),
    tags: schema.array(schema.string()),
    matrix: schema.array(schema.array(schema.number())).optional(),
    times: schema.array(schema.timestamp()).optional(),
  });
  const c = compile(Order);

  test("nested values decode and are cleaned at every level", () => {
    const line = JSON.stringify({
      id: 1,
      x: 0,
      customer: { name: "A", extra: 1, address: { city: "Pune", zip: "411001" } },
      items: [
        { sku: "s1", qty: 2, junk: true },
        { sku: "s2", qty: 1, at: "2021-11-30 00:00:00" },
      ],
      tags: ["a", "b"],
      matrix: [[1, 2], [], [3.5]],
      times: [0, "1970-01-01T00:00:01Z"],
    });
    assert.deepEqual(c.decodeLine(line), {
      id: 1,
      customer: { name: "A", address: { city: "Pune" } },
      items: [
        { sku: "s1", qty: 2 },
        { sku: "s2", qty: 1, at: new Date(1638230400000) },
      ],
      tags: ["a", "b"],
      matrix: [[1, 2], [], [3.5]],
      times: [new Date(0), new Date(1000)],
    });
  });

  test("reasons name the nested path", () => {
    const base = { id: 1, customer: { name: "A" }, items: [], tags: [] };
    const r = (v: unknown): string => reason(c, JSON.stringify(v));
    assert.equal(
      r({ ...base, customer: { name: 5 } }),
      'field "customer.name": expected string, got number 5',
    );
    assert.equal(r({ ...base, customer: {} }), 'missing field "customer.name"');
    assert.equal(
      r({ ...base, customer: { name: "A", address: { city: null } } }),
      'field "customer.address.city": expected string, got null',
    );
    assert.equal(r({ ...base, customer: "A" }), 'field "customer": expected object, got string "A"');
    assert.equal(r({ ...base, customer: [] }), 'field "customer": expected object, got array');
    assert.equal(r({ ...base, items: {} }), 'field "items": expected array, got object');
    assert.equal(
      r({
        ...base,
        items: [
          { sku: "a", qty: 1 },
          { sku: "b", qty: 1 },
          { sku: "c", qty: 1 },
          { sku: "d", qty: "1" },
        ],
      }),
      'field "items[3].qty": expected integer, got string "1"',
    );
    assert.equal(r({ ...base, items: [{ sku: "a", qty: 1 }, { qty: 1 }] }), 'missing field "items[1].sku"');
    assert.equal(r({ ...base, items: [null] }), 'field "items[0]": expected object, got null');
    assert.equal(
      r({ ...base, items: [{ sku: "a", qty: 1, at: "2021-02-30 00:00:00" }] }),
      'field "items[0].at": unparseable timestamp "2021-02-30 00:00:00"',
    );
    assert.equal(r({ ...base, tags: ["a", 1] }), 'field "tags[1]": expected string, got number 1');
    assert.equal(
      r({ ...base, matrix: [[1], [2, "x"]] }),
      'field "matrix[1][1]": expected number, got string "x"',
    );
    assert.equal(r({ ...base, times: [0, "soon"] }), 'field "times[1]": unparseable timestamp "soon"');
    assert.equal(r({ ...base, tags: null }), 'field "tags": expected array, got null');
    assert.equal(r({ ...base, tags: undefined }), 'missing field "tags"');
  });

  test("nullable nested object and nullable array items", () => {
    const S = schema.object({
      meta: schema.object({ a: schema.int() }).nullable(),
      xs: schema.array(schema.int().nullable()),
      ys: schema.array(schema.object({ b: schema.int() }).nullable()),
    });
    const d = compile(S);
    assert.deepEqual(d.decodeLine('{"meta":null,"xs":[1,null],"ys":[null,{"b":2,"c":3}]}'), {
      meta: null,
      xs: [1, null],
      ys: [null, { b: 2 }],
    });
    assert.deepEqual(d.decodeLine('{"meta":{"a":1,"z":0},"xs":[],"ys":[]}'), {
      meta: { a: 1 },
      xs: [],
      ys: [],
    });
    assert.equal(
      reason(d, '{"meta":{"a":null},"xs":[],"ys":[]}'),
      'field "meta.a": expected integer, got null',
    );
  });
});

describe("compile", () => {
  test("field names that are not identifiers or exist on Object.prototype", () => {
    const S = schema.object({
      "user id": schema.int(),
      constructor: schema.string(),
      toString: schema.int().optional(),
      "a.b": schema.boolean(),
      'q"uote': schema.int(),
    });
    const c = compile(S);
    assert.deepEqual(c.decodeLine('{"user id":1,"constructor":"c","a.b":true,"q\\"uote":2}'), {
      "user id": 1,
      constructor: "c",
      "a.b": true,
      'q"uote': 2,
    });
    assert.equal(reason(c, '{"user id":1,"a.b":true,"q\\"uote":2}'), 'missing field "constructor"');
    assert.equal(
      reason(c, '{"user id":1,"constructor":"c","toString":"x","a.b":true}'),
      'field "toString": expected integer, got string "x"',
    );
    assert.equal(reason(c, '{"user id":1,"constructor":"c","a.b":true}'), 'missing field "q\\"uote"');
  });

  test("a field named __proto__ is data, never the prototype", () => {
    const c = compile(schema.object({ ["__proto__"]: schema.object({ polluted: schema.boolean() }) }));
    const v = c.decodeLine('{"__proto__":{"polluted":true}}') as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(v), Object.prototype);
    assert.deepEqual(Object.keys(v), ["__proto__"]);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(reason(c, "{}"), 'missing field "__proto__"');
  });

  test("the pipeline zone applies to timestamps without their own zone", () => {
    const S = schema.object({
      a: schema.timestamp(),
      b: schema.timestamp({ zone: "UTC" }),
      c: schema.timestamp({ zone: "Asia/Tokyo" }),
    });
    const c = compile(S, { zone: "Asia/Kolkata" });
    const line = '{"a":"2021-11-30 05:30:00","b":"2021-11-30 00:00:00","c":"2021-11-30 09:00:00"}';
    const v = c.decodeLine(line)!;
    assert.equal(v.a.getTime(), 1638230400000);
    assert.equal(v.b.getTime(), 1638230400000);
    assert.equal(v.c.getTime(), 1638230400000);
    assert.equal(compile(S).decodeLine(line)!.a.getTime(), 1638230400000 + 5.5 * 3600_000);
    assert.throws(() => compile(S, { zone: "Nowhere/Land" }), { name: "WeirError", code: "USAGE" });
  });

  test('timestamp({ as: "ms" }) decodes to epoch milliseconds', () => {
    const S = schema.object({
      at: schema.timestamp({ as: "ms" }),
      xs: schema.array(schema.timestamp({ as: "ms" })),
    });
    const c = compile(S);
    assert.deepEqual(c.decodeLine('{"at":"2021-11-30 00:00:00","xs":[0,"1970-01-01T00:00:01.5Z"]}'), {
      at: 1638230400000,
      xs: [0, 1500],
    });
    assert.equal(
      reason(c, '{"at":"2021-02-30 00:00:00","xs":[]}'),
      'field "at": unparseable timestamp "2021-02-30 00:00:00"',
    );
    assert.equal(
      compile(schema.object({ at: schema.timestamp({ as: "ms", zone: "Asia/Kolkata" }) })).decodeLine(
        '{"at":"2021-11-30 05:30:00"}',
      )?.at,
      1638230400000,
    );
  });

  test("non-object schemas compile too; a top-level optional does not", () => {
    const c = compile(schema.array(schema.int()));
    assert.deepEqual(c.decodeLine("[1,2]"), [1, 2]);
    assert.equal(reason(c, "[1,2.5]"), 'field "[1]": expected integer, got number 2.5');
    assert.equal(reason(c, "{}"), "expected array, got object");
    assert.throws(() => compile(schema.int().optional()), { code: "USAGE" });
  });

  test("each compile has its own error; the generated source is exposed", () => {
    const a = compile(Interaction);
    const b = compile(Interaction);
    a.decodeLine("[]");
    b.decodeLine("{}");
    assert.equal(a.error, "expected a JSON object, got array");
    assert.equal(b.error, 'missing field "user_id"');
    assert.match(a.source, /function decodeLine/);
    assert.equal(a.schema, Interaction);
  });

  test("decoding never throws, whatever the input", () => {
    const inputs: unknown[] = [
      undefined,
      null,
      0,
      "",
      [],
      {},
      () => 1,
      Symbol("s"),
      10n,
      new Date(NaN),
      Object.create(null),
    ];
    for (const x of inputs) {
      assert.doesNotThrow(() => decoder.decodeValue(x));
      assert.doesNotThrow(() => decoder.decodeValue({ user_id: x, property_id: x, date: x, event: x }));
    }
    assert.equal(decoder.decodeValue(undefined), undefined);
    assert.equal(decoder.error, "expected a JSON object, got undefined");
  });
});
