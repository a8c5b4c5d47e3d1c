/**
 * Fuzz input: fast-check arbitraries for files of lines, generated as BYTES so that anything a data
 * source can send is possible — any Unicode (lone and paired surrogates, NUL, U+2028, BOMs),
 * invalid UTF-8, every JSON type, numbers and timestamps at the edges, values nested thousands of
 * levels deep, lines of megabytes and lines over the size limit, CRLF and blank lines.
 *
 * A generated case is plain data (specs, not bytes) so that fast-check shrinks it and prints it
 * readably: `fileBytes(spec)` builds the bytes. Most lines are records of the fuzz pipeline's
 * schema (test/fixtures/fuzz-pipeline.ts), with adversarial values, so that they reach the sinks.
 */
import fc from "fast-check";

/** Bytes, or text written as UTF-8 (strings holding lone surrogates are escaped first, see `str`). */
export type Piece = string | { bytes: number[] };

/** A JSON value's text, as a spec. */
export type ValueSpec =
  /** A string, escaped as JSON.stringify does, or with every non-ASCII code unit as \uXXXX. */
  | { t: "str"; s: string; ascii: boolean }
  /** A string holding bytes that are not UTF-8 between two valid parts. */
  | { t: "badUtf8"; before: string; bad: number[]; after: string }
  /** `count` times `unit` as a JSON string (megabytes without megabytes in the spec). */
  | { t: "long"; unit: string; count: number }
  /** Arrays or objects `depth` levels deep around a leaf. */
  | { t: "deep"; depth: number; object: boolean }
  /** Raw JSON text: numbers in odd forms, literals. */
  | { t: "raw"; text: string }
  /** Any JSON value (JSON.stringify). */
  | { t: "json"; v: unknown };

export interface RecordSpec {
  kind: "record";
  /** The fields in order (extra, missing and repeated names included). */
  fields: Array<[string, ValueSpec]>;
  /** Whitespace written between tokens. */
  ws: string;
}

export type LineSpec =
  | RecordSpec
  /** A record cut after `keep` of its bytes (0-1): may split a UTF-8 sequence or a number. */
  | { kind: "truncated"; record: RecordSpec; keep: number }
  /** A record prefixed with something (a BOM, other white space, garbage). */
  | { kind: "prefixed"; prefix: Piece; record: RecordSpec; suffix: Piece }
  /** Any JSON value as a line. */
  | { kind: "json"; v: unknown }
  /** Random bytes (never a line break). */
  | { kind: "bytes"; bytes: number[] }
  /** Text (any Unicode, written as UTF-8: a lone surrogate becomes U+FFFD). */
  | { kind: "text"; text: string }
  /** Arrays `depth` deep as the whole line. */
  | { kind: "deep"; depth: number }
  /** Nothing but spaces, tabs and CRs: skipped, gets no offset. */
  | { kind: "blank"; text: string };

export interface LineEntry {
  line: LineSpec;
  /** The line break after it (the last line may have none, see FileSpec). */
  crlf: boolean;
}

/** Where the crash run is killed: during start-up, or once the n-th checkpoint was written. */
export type KillPoint = { at: "start"; afterMs: number } | { at: "checkpoint"; n: number; afterMs: number };

export interface FuzzCase {
  bom: boolean;
  lines: LineEntry[];
  /** The last line ends with a line break. */
  finalBreak: boolean;
  /** The crash run's kills (each followed by a restart), and its checkpoint interval. */
  kills: KillPoint[];
  checkpointInterval: string;
}

export interface InputOptions {
  /** Longest line generated below the size limit and shortest above it (bytes). */
  limitBytes: number;
  /** Most lines per file (besides the big ones). */
  maxLines?: number;
}

// ---------------------------------------------------------------------------------------------
// Strings

/** Characters that break things: controls, NUL, separators, BOMs, surrogates alone and paired... */
const SPECIAL = [
  "\u0000",
  "\n",
  "\r",
  "\t",
  "\b",
  "\u001f",
  "\u007f",
  "\u0085",
  "\u00a0",
  "\u2028",
  "\u2029",
  "\ufeff",
  "\ufffd",
  "\uffff",
  "\ud800",
  "\udbff",
  "\udc00",
  "\udfff",
  "\ud83d\ude00",
  "\u{10ffff}",
  "e\u0301",
  '"',
  "\\",
  "/",
  "'",
  ",",
  ";",
  "é",
  "ß",
  "日本",
  "𝕏",
  " ",
];

const codeUnit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));
const isLone = (s: string) => s.length === 1 && s >= "\ud800" && s <= "\udfff";
const special = fc.constantFrom(...SPECIAL.filter((s) => !isLone(s)));
const specialOrLone = fc.constantFrom(...SPECIAL);

/**
 * Any string: full Unicode, graphemes, the specials, mixtures; and, less often (records holding
 * them are doubtful, see reference.ts), UTF-16 code units alone: lone surrogates.
 */
export const anyString: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: "binary", maxLength: 16 }) },
  { weight: 2, arbitrary: fc.string({ unit: "grapheme", maxLength: 8 }) },
  { weight: 4, arbitrary: fc.string({ unit: special, maxLength: 8 }) },
  {
    weight: 2,
    arbitrary: fc.string({ unit: fc.oneof(special, fc.string({ unit: "binary-ascii", maxLength: 3 })) }),
  },
  {
    weight: 1,
    arbitrary: fc.oneof(
      fc.string({ unit: codeUnit, minLength: 1, maxLength: 12 }),
      fc.string({ unit: specialOrLone, minLength: 1, maxLength: 8 }),
    ),
  },
);

/** Names repeat (so keys get several versions and counts grow), and are any string too. */
const names = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom("a", "b", "user 1", "é", "") },
  // Strings that look like other types (a reader that guesses types must not change them).
  {
    weight: 1,
    arbitrary: fc.constantFrom("1", "007", "true", "NULL", "2021-11-30 00:00:00", "2021-11-30T00:00:00Z"),
  },
  { weight: 4, arbitrary: anyString },
);

const strSpec = (s: fc.Arbitrary<string>): fc.Arbitrary<ValueSpec> =>
  fc.record({ t: fc.constant("str" as const), s, ascii: fc.boolean() });

/** Byte sequences that are not UTF-8. */
const BAD_UTF8: number[][] = [
  [0xff],
  [0xfe],
  [0x80],
  [0xbf],
  [0xc0, 0xaf], // overlong "/"
  [0xc1, 0xbf],
  [0xe0, 0x80, 0xaf], // overlong
  [0xed, 0xa0, 0x80], // a surrogate (U+D800) encoded as UTF-8 (CESU-8 / WTF-8)
  [0xed, 0xbf, 0xbf],
  [0xed, 0xa0, 0xbd, 0xed, 0xb8, 0x80], // a surrogate pair encoded as two 3-byte sequences
  [0xf4, 0x90, 0x80, 0x80], // above U+10FFFF
  [0xf8, 0x88, 0x80, 0x80, 0x80], // 5-byte form
  [0xc3], // truncated 2-byte sequence
  [0xe2, 0x82], // truncated 3-byte sequence
  [0xf0, 0x9f, 0x98], // truncated 4-byte sequence
  [0xc3, 0x28], // bad continuation
];
const badUtf8 = fc.constantFrom(...BAD_UTF8);

// ---------------------------------------------------------------------------------------------
// Values of the schema's fields, mostly valid

const intText = fc.oneof(
  { weight: 18, arbitrary: fc.maxSafeInteger().map((n) => String(n)) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      "0",
      "-0",
      "9007199254740991",
      "-9007199254740991",
      "1.0",
      "1e3",
      "1E+2",
      "-0.0e5",
    ),
  },
  // Not integers of the safe range: dead letters.
  { weight: 1, arbitrary: fc.constantFrom("9007199254740992", "1.5", "1e400", '"12"', "null", "true") },
);

const numberText = fc.oneof(
  { weight: 15, arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => numberToJson(d)) },
  { weight: 6, arbitrary: fc.integer().map((n) => String(n)) },
  {
    weight: 6,
    arbitrary: fc.constantFrom(
      "-0",
      "1e308",
      "-1.7976931348623157e308",
      "5e-324",
      "1e-400",
      "0.1",
      "1E+21",
      "123456789012345678901234567890",
      "1e300",
    ),
  },
  // Not finite numbers (or not numbers): dead letters.
  { weight: 1, arbitrary: fc.constantFrom("1e999", "-1e400", '"1.5"', "[]", "{}") },
);

function numberToJson(d: number): string {
  return Object.is(d, -0) ? "-0" : String(d);
}

const DAY = 86_400_000;
const BASE = Date.UTC(2021, 10, 30);
/** Largest |epoch ms| a Date holds. */
const MAX_TIME = 8.64e15;

/** Instants: mostly a few hours of 2021-11-30 (windows fire, some events late), and the edges. */
const instant = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: BASE - DAY / 4, max: BASE + DAY / 4 }) },
  { weight: 1, arbitrary: fc.integer({ min: -62167219200000, max: 253402300799999 }) }, // years 0000-9999
  {
    weight: 1,
    arbitrary: fc.constantFrom(0, -1, MAX_TIME, -MAX_TIME, MAX_TIME - 1, -62167219200000, 253402300799999),
  },
);

const pad = (n: number, w: number) => String(Math.abs(n)).padStart(w, "0");

/** Writes an instant in one of the accepted forms (those needing a 4-digit year fall back to epoch ms). */
function timeText(ms: number, form: number, offsetMin: number): string {
  const d = new Date(ms);
  const y = d.getUTCFullYear();
  if (form === 0 || y < 0 || y > 9999) return String(ms);
  const shifted = new Date(ms + offsetMin * 60_000);
  const f = (x: Date) =>
    `${pad(x.getUTCFullYear(), 4)}-${pad(x.getUTCMonth() + 1, 2)}-${pad(x.getUTCDate(), 2)}` +
    `${form === 2 ? "T" : " "}${pad(x.getUTCHours(), 2)}:${pad(x.getUTCMinutes(), 2)}:${pad(x.getUTCSeconds(), 2)}`;
  const fy = shifted.getUTCFullYear();
  switch (form) {
    case 1:
    case 2:
      return f(d);
    case 3:
      return `${f(d)}.${pad(d.getUTCMilliseconds(), 3)}Z`;
    case 4: {
      if (fy < 0 || fy > 9999) return `${f(d)}Z`;
      const sign = offsetMin < 0 ? "-" : "+";
      return `${f(shifted)}.${pad(d.getUTCMilliseconds(), 3)}000000${sign}${pad(Math.trunc(offsetMin / 60), 2)}:${pad(offsetMin % 60, 2)}`;
    }
    default:
      return f(d).slice(0, 10); // a bare date: midnight
  }
}

const timeValue: fc.Arbitrary<ValueSpec> = fc.oneof(
  {
    weight: 24,
    arbitrary: fc
      .tuple(instant, fc.integer({ min: 0, max: 5 }), fc.integer({ min: -1439, max: 1439 }))
      .map(([ms, form, off]) => {
        const text = timeText(ms, form, off);
        return form === 0 ? { t: "raw" as const, text } : { t: "str" as const, s: text, ascii: false };
      }),
  },
  // Not accepted: dead letters.
  {
    weight: 1,
    arbitrary: fc.constantFrom<ValueSpec>(
      { t: "str", s: "2021-02-30 00:00:00", ascii: false },
      { t: "str", s: "2021-11-30 24:00:00", ascii: false },
      { t: "str", s: "2021-11-30 00:00:60", ascii: false },
      { t: "str", s: "", ascii: false },
      { t: "str", s: "yesterday", ascii: false },
      { t: "str", s: "２０２１-11-30 00:00:00", ascii: false },
      { t: "raw", text: "8640000000000001" },
      { t: "raw", text: "1.5" },
      { t: "raw", text: "null" },
    ),
  },
);

/** Any JSON value for `payload` (every JSON type), adversarial strings in keys and values. */
const jsonValue = fc.jsonValue({ maxDepth: 3, stringUnit: "binary" });
const payloadValue: fc.Arbitrary<ValueSpec> = fc.oneof(
  { weight: 6, arbitrary: jsonValue.map((v) => ({ t: "json" as const, v })) },
  { weight: 2, arbitrary: strSpec(anyString) },
  {
    weight: 2,
    arbitrary: fc
      .dictionary(anyString, fc.oneof(anyString, fc.double({ noNaN: true, noDefaultInfinity: true })), {
        maxKeys: 4,
      })
      .map((v) => ({ t: "json" as const, v })),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom<ValueSpec>({ t: "raw", text: "null" }, { t: "raw", text: "1e999" }),
  },
  // Deeply nested: thousands of levels (JSON.parse takes them; JSON.stringify overflows its stack).
  {
    weight: 1,
    arbitrary: fc.record({
      t: fc.constant("deep" as const),
      depth: fc.oneof(fc.integer({ min: 1, max: 120 }), fc.integer({ min: 500, max: 20_000 })),
      object: fc.boolean(),
    }),
  },
);

const tagsValue: fc.Arbitrary<ValueSpec> = fc.oneof(
  {
    weight: 24,
    arbitrary: fc.array(fc.tuple(anyString, fc.boolean()), { maxLength: 4 }).map((items) => ({
      t: "raw" as const,
      text: `[${items.map(([s, a]) => stringText(s, a)).join(",")}]`,
    })),
  },
  { weight: 1, arbitrary: fc.constantFrom<ValueSpec>({ t: "raw", text: "null" }, { t: "raw", text: "[1]" }) },
);

/** A field's value: usually its own kind, sometimes a string with bytes that are not UTF-8. */
const withBadBytes = (arb: fc.Arbitrary<ValueSpec>): fc.Arbitrary<ValueSpec> =>
  fc.oneof(
    { weight: 30, arbitrary: arb },
    {
      weight: 1,
      arbitrary: fc.record({
        t: fc.constant("badUtf8" as const),
        before: fc.string({ unit: "binary", maxLength: 4 }),
        bad: badUtf8,
        after: fc.string({ unit: "binary", maxLength: 4 }),
      }),
    },
  );

const FIELD_ORDER = ["id", "name", "amount", "flag", "at", "tags", "payload"] as const;

/** A record of the fuzz schema: fields in any order, some missing or repeated, extra ones. */
export const recordSpec: fc.Arbitrary<RecordSpec> = fc
  .record({
    id: withBadBytes(intText.map((text) => ({ t: "raw" as const, text }))),
    name: withBadBytes(strSpec(names)),
    amount: numberText.map((text) => ({ t: "raw" as const, text })),
    flag: fc.oneof(
      {
        weight: 24,
        arbitrary: fc.constantFrom<ValueSpec>(
          { t: "raw", text: "true" },
          { t: "raw", text: "false" },
          { t: "raw", text: "null" },
        ),
      },
      { weight: 1, arbitrary: fc.constant<ValueSpec>({ t: "raw", text: "0" }) },
    ),
    at: withBadBytes(timeValue),
    tags: tagsValue,
    payload: withBadBytes(payloadValue),
    /** Which fields are left out: each with a small chance (tags half the time: it is optional). */
    missing: fc.array(fc.integer({ min: 0, max: 80 }), { minLength: 7, maxLength: 7 }),
    extra: fc.array(
      fc.tuple(
        fc.oneof(
          { weight: 6, arbitrary: anyString },
          { weight: 2, arbitrary: fc.constantFrom("__proto__", "constructor", "toString", "offset") },
          // A schema field again: JSON.parse keeps the last one.
          { weight: 1, arbitrary: fc.constantFrom("id", "name", "payload") },
        ),
        payloadValue,
      ),
      { maxLength: 2 },
    ),
    /** The fields' order: as declared, or shuffled. */
    order: fc.oneof(
      fc.constant([0, 1, 2, 3, 4, 5, 6]),
      fc.shuffledSubarray([0, 1, 2, 3, 4, 5, 6], { minLength: 7, maxLength: 7 }),
    ),
    ws: fc.constantFrom("", "", "", " ", "\t", " \r ", "\u000b"),
  })
  .map((r) => {
    const out: Array<[string, ValueSpec]> = [];
    for (const i of r.order) {
      const name = FIELD_ORDER[i];
      const absent = name === "tags" ? r.missing[i] < 40 : r.missing[i] === 0;
      if (!absent) out.push([name, r[name]]);
    }
    for (const e of r.extra) out.splice(e[0].length % (out.length + 1), 0, e);
    return { kind: "record" as const, fields: out, ws: r.ws };
  });

// ---------------------------------------------------------------------------------------------
// Lines and files

const blankText = fc.constantFrom("", " ", "\t", "\r", " \t \r", "   ");

const lineSpec: fc.Arbitrary<LineSpec> = fc.oneof(
  { weight: 50, arbitrary: recordSpec },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("truncated" as const),
      record: recordSpec,
      keep: fc.double({ min: 0, max: 1, noNaN: true }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("prefixed" as const),
      prefix: fc.oneof(
        fc.constantFrom<Piece>({ bytes: [0xef, 0xbb, 0xbf] }, "\u00a0", "\f", " ", "\u000b", "x"),
        badUtf8.map((bytes) => ({ bytes })),
      ),
      record: recordSpec,
      suffix: fc.constantFrom<Piece>("", " ", "\t", "\r", ",", "}", "\u0000", { bytes: [0xff] }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant("json" as const), v: fc.jsonValue({ maxDepth: 3 }) }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("bytes" as const),
      bytes: fc.array(
        fc.integer({ min: 0, max: 255 }).filter((b) => b !== 0x0a),
        { maxLength: 48 },
      ),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("text" as const),
      text: fc.oneof(
        anyString,
        // The poison line: a JSON.parse message quoting it may cut a surrogate pair.
        fc
          .tuple(fc.string({ unit: "binary-ascii", maxLength: 3 }), fc.integer({ min: 1, max: 40 }))
          .map(([p, n]) => p + "😀".repeat(n)),
      ),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("deep" as const),
      depth: fc.integer({ min: 100, max: 20_000 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("blank" as const), text: blankText }) },
);

/**
 * A record with a string of megabytes (at most 3 MiB: a record of up to 32 MiB takes every sink
 * seconds, and 3 MiB already spans the 1,000,000-byte dead letter and the 4 MiB read chunk) or a
 * line over the limit.
 */
function bigLine(minBytes: number, maxBytes: number): fc.Arbitrary<LineSpec> {
  return fc
    .record({
      record: recordSpec,
      field: fc.constantFrom("name", "payload", "extra"),
      unit: fc.constantFrom("x", "é", "😀", "\\u00e9", "日"),
      bytes: fc.integer({ min: minBytes, max: maxBytes }),
    })
    .map(({ record, field, unit, bytes }) => {
      const unitBytes = unit.startsWith("\\") ? unit.length : Buffer.byteLength(unit);
      const count = Math.floor(bytes / unitBytes);
      const value: ValueSpec = { t: "long", unit, count };
      const fields = record.fields.filter(([k]) => k !== field);
      fields.push([field, value]);
      return { ...record, fields };
    });
}

/** Whole cases: a file (BOM, lines, line breaks), and where the crash run is killed. */
export function fuzzCase(options: InputOptions): fc.Arbitrary<FuzzCase> {
  const limit = options.limitBytes;
  const entry = (line: fc.Arbitrary<LineSpec>) => fc.record({ line, crlf: fc.boolean() });
  // A run writes a checkpoint when it starts (before any output), after a batch once the interval
  // passed (a batch per 4 MiB of file), and at the end: killing once the first or second one is
  // written, and a few ms later, lands while it processes, publishes or checkpoints.
  const kill: fc.Arbitrary<KillPoint> = fc.oneof(
    {
      weight: 1,
      arbitrary: fc.record({ at: fc.constant("start" as const), afterMs: fc.integer({ min: 0, max: 600 }) }),
    },
    {
      weight: 3,
      arbitrary: fc.record({
        at: fc.constant("checkpoint" as const),
        n: fc.integer({ min: 1, max: 2 }),
        afterMs: fc.integer({ min: 0, max: 40 }),
      }),
    },
  );
  return fc
    .record({
      bom: fc.boolean(),
      lines: fc.array(entry(lineSpec), { minLength: 1, maxLength: options.maxLines ?? 80, size: "large" }),
      // Megabyte lines (a file of several chunks, so several batches and checkpoints), rarely one
      // over the size limit.
      big: fc.oneof(
        { weight: 2, arbitrary: fc.constant([]) },
        {
          weight: 1,
          arbitrary: fc.array(
            fc.tuple(
              fc.nat(),
              entry(
                fc.oneof(
                  {
                    weight: 4,
                    arbitrary: bigLine(256 * 1024, Math.min(3 * 1024 * 1024, limit - 256 * 1024)),
                  },
                  { weight: 1, arbitrary: bigLine(limit + 64 * 1024, limit + 1024 * 1024) },
                ),
              ),
            ),
            { minLength: 1, maxLength: 2 },
          ),
        },
      ),
      finalBreak: fc.boolean(),
      kills: fc.array(kill, { minLength: 1, maxLength: 2 }),
      checkpointInterval: fc.constantFrom("1ms", "20ms", "5s"),
    })
    .map(({ big, lines, ...rest }) => {
      const all = [...lines];
      for (const [at, e] of big) all.splice(at % (all.length + 1), 0, e);
      return { ...rest, lines: all };
    });
}

// ---------------------------------------------------------------------------------------------
// Bytes

/** A JS string as JSON text: JSON.stringify (lone surrogates as \uXXXX), or every non-ASCII unit escaped. */
export function stringText(s: string, ascii: boolean): string {
  const json = JSON.stringify(s);
  if (!ascii) return json;
  let out = "";
  for (let i = 0; i < json.length; i++) {
    const c = json.charCodeAt(i);
    // Upper-case hex on odd positions: both are JSON.
    const hex = c.toString(16).padStart(4, "0");
    out += c > 0x7e ? `\\u${i % 2 === 0 ? hex : hex.toUpperCase()}` : json[i];
  }
  return out;
}

function valuePieces(v: ValueSpec): Piece[] {
  switch (v.t) {
    case "str":
      return [stringText(v.s, v.ascii)];
    case "badUtf8":
      return [
        stringText(v.before, false).slice(0, -1),
        { bytes: v.bad },
        stringText(v.after, false).slice(1),
      ];
    case "long": {
      return [`"${v.unit.repeat(v.count)}"`];
    }
    case "deep":
      return v.object
        ? ['{"a":'.repeat(v.depth), "0", "}".repeat(v.depth)]
        : ["[".repeat(v.depth), '"leaf"', "]".repeat(v.depth)];
    case "raw":
      return [v.text];
    case "json":
      return [JSON.stringify(v.v)];
  }
}

function recordPieces(r: RecordSpec): Piece[] {
  const out: Piece[] = ["{", r.ws];
  r.fields.forEach(([k, v], i) => {
    if (i > 0) out.push(r.ws, ",", r.ws);
    out.push(stringText(k, false), r.ws, ":", r.ws, ...valuePieces(v));
  });
  out.push(r.ws, "}");
  return out;
}

function toBuffer(pieces: Piece[]): Buffer {
  return Buffer.concat(
    pieces.map((p) => (typeof p === "string" ? Buffer.from(p, "utf8") : Buffer.from(p.bytes))),
  );
}

/** The bytes of one line, without its line break. */
export function lineBytes(line: LineSpec): Buffer {
  switch (line.kind) {
    case "record":
      return toBuffer(recordPieces(line));
    case "truncated": {
      const b = toBuffer(recordPieces(line.record));
      return b.subarray(0, Math.floor(b.length * line.keep));
    }
    case "prefixed":
      return toBuffer([line.prefix, ...recordPieces(line.record), line.suffix]);
    case "json":
      return Buffer.from(JSON.stringify(line.v) ?? "null", "utf8");
    case "bytes":
      return Buffer.from(line.bytes);
    case "text":
      return Buffer.from(line.text.replace(/\n/g, " "), "utf8");
    case "deep":
      return Buffer.from("[".repeat(line.depth) + "]".repeat(line.depth), "utf8");
    case "blank":
      return Buffer.from(line.text, "utf8");
  }
}

/** The file: an optional BOM, the lines with their line breaks (the last one's optional). */
export function fileBytes(c: FuzzCase): Buffer {
  const parts: Buffer[] = [];
  if (c.bom) parts.push(Buffer.from([0xef, 0xbb, 0xbf]));
  c.lines.forEach((e, i) => {
    parts.push(lineBytes(e.line));
    if (i < c.lines.length - 1 || c.finalBreak) parts.push(Buffer.from(e.crlf ? "\r\n" : "\n"));
  });
  return Buffer.concat(parts);
}

/** A short description of a case for logs: its lines' kinds and size. */
export function describeCase(c: FuzzCase, bytes: number): string {
  const kinds = new Map<string, number>();
  for (const e of c.lines) kinds.set(e.line.kind, (kinds.get(e.line.kind) ?? 0) + 1);
  const list = [...kinds].map(([k, n]) => `${n} ${k}`).join(", ");
  return `${c.lines.length} lines (${list}), ${bytes} bytes; kills ${JSON.stringify(c.kills)} at checkpoint interval ${c.checkpointInterval}`;
}
