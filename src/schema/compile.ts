/**
 * Compiles a schema into a decoder: JavaScript generated once per schema (`new Function`), with the
 * checks of every field unrolled into one function, so the per-record cost is JSON.parse plus a few
 * typeof tests, the event-time parse, and the allocations of the cleaned object and its Dates.
 *
 * The normal path throws nothing and builds no closures; a failing record sets `error` to a stable
 * reason (./reasons.ts) and returns undefined.
 */
import { WeirError } from "../errors.js";
import { badTimestamp, expectedLiterals, invalidJson, mismatch } from "./reasons.js";
import type { AnySchema, Schema } from "./schema.js";
import { eventTimeOf, parseTimeString } from "./time.js";
import { getZone, normalizeZone } from "./zone.js";

export interface CompiledSchema<T> {
  /** Decode one raw line (UTF-8 text of a JSON document). Returns the typed value, or undefined with `this.error` set to the reason. */
  decodeLine(line: string): T | undefined;
  /**
   * Decode an already-parsed JSON value. Same contract. Objects are always rebuilt (only declared
   * fields); arrays of plain values (strings, numbers...) may be shared with the input.
   */
  decodeValue(value: unknown): T | undefined;
  /** The reason the last decode failed (valid only right after a failure). */
  error: string;
  /** The schema this decoder was compiled from. */
  readonly schema: Schema<T, boolean>;
  /** The generated JavaScript (for debugging and profiling). */
  readonly source: string;
}

export interface CompileOptions {
  /**
   * Zone of zone-less date-times for timestamp fields that do not set their own (the pipeline's
   * zone). IANA name or "+hh:mm"; default UTC.
   */
  zone?: string;
}

type Factory = (
  self: { error: string },
  consts: readonly unknown[],
) => [(line: string) => unknown, (value: unknown) => unknown];

// Helpers the generated code calls (only the time parsers run on the normal path).
const HELPERS = {
  M: mismatch,
  BT: badTimestamp,
  JE: invalidJson,
  P: parseTimeString,
  T: eventTimeOf,
  HOP: Object.prototype.hasOwnProperty,
  DP: (o: object, k: string, v: unknown): void => {
    Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  },
};
const HELPER_NAMES = Object.keys(HELPERS);
const HELPER_VALUES = HELPER_NAMES.map((k) => HELPERS[k as keyof typeof HELPERS]);

/** A field path: a constant string, or (inside arrays) a JS expression building it. */
type Path =
  { readonly lit: string; readonly expr?: undefined } | { readonly lit?: undefined; readonly expr: string };

function pathCode(p: Path): string {
  return p.expr ?? JSON.stringify(p.lit);
}

function childPath(p: Path, name: string): Path {
  if (p.expr === undefined) return { lit: p.lit === "" ? name : `${p.lit}.${name}` };
  return { expr: `${p.expr} + ${JSON.stringify("." + name)}` };
}

function indexPath(p: Path, index: string): Path {
  return { expr: `${pathCode(p)} + "[" + ${index} + "]"` };
}

/** True when decoding builds a new value (so arrays of it must be copied). */
function transforms(s: AnySchema): boolean {
  if (s.kind === "timestamp" || s.kind === "object") return true;
  if (s.kind === "array") return transforms(s.items!);
  return false;
}

class Generator {
  private readonly out: string[] = [];
  private depth = 1;
  private n = 0;
  readonly consts: unknown[] = [];
  private readonly constDecls: string[] = [];

  constructor(private readonly defaultZone: string | undefined) {}

  take(): string[] {
    return this.out.splice(0, this.out.length);
  }

  prelude(): string {
    return this.constDecls.join("\n");
  }

  private emit(line: string): void {
    this.out.push("  ".repeat(this.depth) + line);
  }

  private v(prefix: string): string {
    return `${prefix}${this.n++}`;
  }

  private constant(value: unknown): string {
    const name = `K${this.consts.length}`;
    this.constDecls.push(`var ${name} = consts[${this.consts.length}];`);
    this.consts.push(value);
    return name;
  }

  private fail(reason: string): void {
    this.emit(`{ self.error = ${reason}; return undefined; }`);
  }

  private failMismatch(path: Path, v: string, expected: string, absentIsMissing: boolean): void {
    this.fail(`M(${pathCode(path)}, ${v}, ${JSON.stringify(expected)}, ${absentIsMissing})`);
  }

  /**
   * Emits the checks of value `v` (a variable name) against `s`, honouring `optional` (undefined
   * accepted) and `nullable`. Returns an expression for the decoded value, valid after the emitted
   * statements; it is `v` itself when decoding does not change the value.
   */
  value(s: AnySchema, v: string, path: Path, absentIsMissing: boolean): string {
    const builds = transforms(s);
    if (!s.isOptional && !(s.isNullable && builds))
      return this.inner(s, v, path, absentIsMissing, s.isNullable);
    if (s.kind === "any") return v;
    if (!builds) {
      // Optional plain value: check it only when present.
      this.emit(`if (${v} !== undefined) {`);
      this.depth++;
      this.inner(s, v, path, absentIsMissing, s.isNullable);
      this.depth--;
      this.emit("}");
      return v;
    }
    // Optional and/or nullable around a check that builds a new value: decode into a variable that
    // keeps undefined / null as they are.
    const o = this.v("o");
    const present = [s.isOptional ? `${v} !== undefined` : "", s.isNullable ? `${v} !== null` : ""];
    this.emit(`var ${o} = ${v};`);
    this.emit(`if (${present.filter(Boolean).join(" && ")}) {`);
    this.depth++;
    this.emit(`${o} = ${this.inner(s, v, path, absentIsMissing, false)};`);
    this.depth--;
    this.emit("}");
    return o;
  }

  private inner(s: AnySchema, v: string, path: Path, absentIsMissing: boolean, nullable: boolean): string {
    const orNull = (cond: string): string => (nullable ? `${v} !== null && ${cond}` : cond);
    switch (s.kind) {
      case "string":
        this.emit(`if (${orNull(`typeof ${v} !== "string"`)})`);
        this.failMismatch(path, v, "string", absentIsMissing);
        return v;
      case "int":
        this.emit(
          `if (${orNull(`(typeof ${v} !== "number" || ((${v} | 0) !== ${v} && !Number.isSafeInteger(${v})))`)})`,
        );
        this.failMismatch(path, v, "integer", absentIsMissing);
        return v;
      case "number":
        this.emit(`if (${orNull(`(typeof ${v} !== "number" || ${v} - ${v} !== 0)`)})`);
        this.failMismatch(path, v, "number", absentIsMissing);
        return v;
      case "boolean":
        this.emit(`if (${orNull(`${v} !== true && ${v} !== false`)})`);
        this.failMismatch(path, v, "boolean", absentIsMissing);
        return v;
      case "any":
        if (!s.isOptional) {
          this.emit(`if (${v} === undefined)`);
          this.failMismatch(path, v, "a value", absentIsMissing);
        }
        return v;
      case "literal": {
        const values = s.values!;
        let test: string;
        if (values.length <= 8) {
          test = values.map((x) => `${v} !== ${literalCode(x)}`).join(" && ");
        } else {
          test = `!${this.constant(new Set(values))}.has(${v})`;
        }
        // A literal null already matches null; nullable adds it otherwise.
        this.emit(`if (${nullable && !values.includes(null) ? `${v} !== null && ${test}` : test})`);
        this.failMismatch(path, v, expectedLiterals(values), absentIsMissing);
        return v;
      }
      case "timestamp": {
        const zone = this.constant(getZone(s.zone ?? this.defaultZone));
        const t = this.v("t");
        // Consecutive records often carry the same date-time text (same second): remember the last
        // string parsed at this field (per decoder; parsing is deterministic, so this is only a cache).
        const last = this.v("L");
        const lastT = this.v("LT");
        this.constDecls.push(`var ${last} = "", ${lastT} = NaN;`);
        this.emit(`var ${t};`);
        this.emit(`if (typeof ${v} === "string") {`);
        this.emit(`  if (${v} === ${last}) ${t} = ${lastT};`);
        this.emit(`  else if ((${t} = P(${v}, ${zone})) === ${t}) { ${last} = ${v}; ${lastT} = ${t}; }`);
        this.emit(`} else ${t} = T(${v}, ${zone});`);
        this.emit(`if (${t} !== ${t})`);
        this.fail(`BT(${pathCode(path)}, ${v}, ${absentIsMissing})`);
        return s.as === "ms" ? t : `new Date(${t})`;
      }
      case "array":
        return this.array(s, v, path, absentIsMissing);
      case "object":
        return this.object(s, v, path, absentIsMissing);
    }
  }

  private array(s: AnySchema, v: string, path: Path, absentIsMissing: boolean): string {
    const item = s.items!;
    this.emit(`if (!Array.isArray(${v}))`);
    this.failMismatch(path, v, "array", absentIsMissing);
    const n = this.v("n");
    const i = this.v("i");
    const e = this.v("e");
    const copy = transforms(item);
    const a = copy ? this.v("a") : v;
    if (copy) this.emit(`var ${a} = [];`);
    this.emit(`for (var ${n} = ${v}.length, ${i} = 0; ${i} < ${n}; ${i}++) {`);
    this.depth++;
    this.emit(`var ${e} = ${v}[${i}];`);
    const r = this.value(item, e, indexPath(path, i), false);
    if (copy) this.emit(`${a}.push(${r});`);
    this.depth--;
    this.emit("}");
    return a;
  }

  private object(s: AnySchema, v: string, path: Path, absentIsMissing: boolean): string {
    const fields = s.fields!;
    this.emit(`if (typeof ${v} !== "object" || ${v} === null || Array.isArray(${v}))`);
    this.failMismatch(path, v, "object", absentIsMissing);
    const names = Object.keys(fields);
    const outs: { name: string; input: string; out: string; optional: boolean }[] = [];
    for (const name of names) {
      const f = fields[name];
      const x = this.v("f");
      const key = JSON.stringify(name);
      // Names that exist on Object.prototype ("constructor", "__proto__"...) must be own properties.
      const read =
        name in Object.prototype ? `(HOP.call(${v}, ${key}) ? ${v}[${key}] : undefined)` : `${v}[${key}]`;
      this.emit(`var ${x} = ${read};`);
      const out = this.value(f, x, childPath(path, name), true);
      outs.push({ name, input: x, out, optional: f.isOptional });
    }
    if (!outs.some((o) => o.optional)) {
      // One literal: a single allocation with a stable shape.
      const props = outs.map(
        (o) => `${o.name === "__proto__" ? `["__proto__"]` : JSON.stringify(o.name)}: ${o.out}`,
      );
      return `{ ${props.join(", ")} }`;
    }
    // Absent optional fields stay absent: build in declaration order, skipping them.
    const r = this.v("r");
    this.emit(`var ${r} = {};`);
    for (const o of outs) {
      const set =
        o.name === "__proto__"
          ? `DP(${r}, "__proto__", ${o.out});`
          : `${r}[${JSON.stringify(o.name)}] = ${o.out};`;
      this.emit(o.optional ? `if (${o.input} !== undefined) ${set}` : set);
    }
    return r;
  }
}

function literalCode(x: unknown): string {
  // JSON literals of strings, finite numbers, booleans and null are valid JavaScript.
  return JSON.stringify(x);
}

const cache = new WeakMap<AnySchema, Map<string, { factory: Factory; consts: unknown[]; source: string }>>();

function generate(
  s: AnySchema,
  zone: string | undefined,
): { factory: Factory; consts: unknown[]; source: string } {
  const key = zone ?? "";
  let byZone = cache.get(s);
  const hit = byZone?.get(key);
  if (hit !== undefined) return hit;

  const g = new Generator(zone);
  const result = g.value(s, "v", { lit: "" }, false);
  const body = g.take().join("\n");
  const source = [
    `"use strict";`,
    g.prelude(),
    `function decodeValue(v) {`,
    body,
    `  return ${result};`,
    `}`,
    `function decodeLine(line) {`,
    `  var v;`,
    `  try { v = JSON.parse(line); } catch (err) { self.error = JE(err); return undefined; }`,
    body,
    `  return ${result};`,
    `}`,
    `return [decodeLine, decodeValue];`,
  ].join("\n");
  // The helpers are bound as parameters of an outer function, so the generated code closes over
  // them once per compiled schema.
  const outer = new Function(...HELPER_NAMES, `return function (self, consts) {\n${source}\n};`) as (
    ...helpers: unknown[]
  ) => Factory;
  const entry = { factory: outer(...HELPER_VALUES), consts: g.consts, source };
  if (byZone === undefined) {
    byZone = new Map();
    cache.set(s, byZone);
  }
  byZone.set(key, entry);
  return entry;
}

/**
 * Compiles a schema into a decoder. Compiling the same schema again is cheap (the generated code is
 * cached); each call returns an independent decoder with its own `error`.
 */
export function compile<T>(s: Schema<T, boolean>, opts: CompileOptions = {}): CompiledSchema<T> {
  if (s === null || typeof s !== "object" || typeof (s as AnySchema).kind !== "string") {
    throw new WeirError("USAGE", "compile() needs a schema built with schema.object(...), schema.int(), ...");
  }
  if (s.isOptional) {
    throw new WeirError(
      "USAGE",
      "compile(): the top-level schema cannot be optional (a record is always present)",
    );
  }
  const zone = opts.zone === undefined ? undefined : normalizeZone(opts.zone);
  const { factory, consts, source } = generate(s, zone);
  const self = { error: "", schema: s, source } as CompiledSchema<T>;
  const [decodeLine, decodeValue] = factory(self, consts);
  self.decodeLine = decodeLine as (line: string) => T | undefined;
  self.decodeValue = decodeValue as (value: unknown) => T | undefined;
  return self;
}
