/**
 * Steps are synchronous (src/operators/sync-only.ts). An async callback is a compile error — the
 * `@ts-expect-error` lines below are checked by `npm run typecheck`, which fails on one that is no
 * longer needed — and, when the types are bypassed, refused when the pipeline is built. The dead
 * letters for a Promise returned at run time are in test/operators/async-results.test.ts.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import {
  pipeline,
  schema,
  windows,
  WeirError,
  type PipelineContext,
  type Stream,
  type SyncResult,
  type Table,
} from "../../src/index.js";

const Ev = schema.object({ id: schema.int(), date: schema.timestamp(), name: schema.string() });
type Ev = { id: number; date: Date; name: string };

/** Exactly equal types (not merely assignable either way). */
type Equal<A, B> = (<X>() => X extends A ? 1 : 2) extends <X>() => X extends B ? 1 : 2 ? true : false;
/** Compiles only when T is `true`; takes the value whose type it checks, so that the value is used. */
function assertType<T extends true>(_value?: unknown): T | void {}

/** The INVALID_PIPELINE error of building a pipeline named "p" from `steps`, or undefined. */
function buildError(steps: (events: Stream<Ev>, p: PipelineContext) => void): WeirError | undefined {
  try {
    pipeline("p", (p) => steps(p.source("in", { schema: Ev }), p));
  } catch (err) {
    if (err instanceof WeirError) return err;
    throw err;
  }
  return undefined;
}

const PLANNED = /async steps are not supported yet \(async enrichment is planned\)/;

function assertRefused(err: WeirError | undefined, step: string, what: string): void {
  assert.ok(err, `step ${step} was not refused`);
  assert.equal(err.code, "INVALID_PIPELINE");
  assert.ok(
    err.message.startsWith(`step ${step}: ${what} is an async function; `),
    `unexpected message: ${err.message}`,
  );
  assert.match(err.message, PLANNED);
}

test("an async map, filter or flatMap is refused when the pipeline is built, naming the step", () => {
  assertRefused(
    // @ts-expect-error: an async map is a compile error
    buildError((s) => s.map(async (e) => ({ ...e, x: await Promise.resolve(1) })).to("out")),
    "map-1",
    "the map function",
  );
  assertRefused(
    // @ts-expect-error: an async predicate is a compile error
    buildError((s) => s.filter(async (e) => e.id > 1).to("out")),
    "filter-1",
    "the filter predicate",
  );
  assertRefused(
    // @ts-expect-error: an async flatMap is a compile error
    buildError((s) => s.flatMap(async (e) => [e]).to("out")),
    "flatMap-1",
    "the flatMap function",
  );
  const eachAsync = async function* (e: Ev) {
    yield e;
  };
  assertRefused(
    // @ts-expect-error: an async generator is a compile error too (not Iterable)
    buildError((s) => s.flatMap(eachAsync).to("out")),
    "flatMap-1",
    "the flatMap function",
  );
  // A bound async function is one too.
  const bound = (async (e: Ev) => e).bind(null);
  assertRefused(
    // @ts-expect-error: an async map is a compile error
    buildError((s) => s.map(bound).to("out")),
    "map-1",
    "the map function",
  );
  // A named step is refused by its name.
  assertRefused(
    // @ts-expect-error: an async map is a compile error
    buildError((s) => s.map(async (e) => e, { name: "enrich" }).to("out")),
    "enrich",
    "the map function",
  );
});

test("async keys, predicates, field functions, aggregate functions and eventTime are refused too", () => {
  const keyed = (s: Stream<Ev>) => s.keyBy((e) => e.id);
  const windowed = (s: Stream<Ev>) => keyed(s).window(windows.tumbling("1m"));
  const count = (s: Stream<Ev>) => keyed(s).count();
  const windowedCount = (s: Stream<Ev>) => windowed(s).count();
  const cases: Array<[string, string, (s: Stream<Ev>, p: PipelineContext) => void]> = [
    // @ts-expect-error: an async key is a compile error
    ["keyBy-1", "the keyBy function", (s) => s.keyBy(async (e) => e.id).count()],
    // @ts-expect-error: an async predicate is a compile error
    ["when-1", "the when predicate", (s) => count(s).when(async (n) => n > 9)],
    // @ts-expect-error: an async predicate is a compile error
    ["when-1", "the when predicate", (s) => windowedCount(s).when(async (n) => n > 9)],
    // @ts-expect-error: an async key is a compile error
    ["to:out", "the key function", (s) => s.to("out", { key: async (e) => e.id })],
    // @ts-expect-error: an async key is a compile error
    ["table:t", "the key function", (s) => s.toTable("t", { key: async (e) => e.id })],
    // @ts-expect-error: an async field is a compile error
    ["sum-1", "the field function of sum", (s) => keyed(s).sum(async (e) => e.id)],
    // @ts-expect-error: an async field is a compile error
    ["avg-1", "the field function of avg", (s) => keyed(s).avg(async (e) => e.id)],
    // @ts-expect-error: an async field is a compile error
    ["min-1", "the field function of min", (s) => keyed(s).min(async (e) => e.id)],
    // @ts-expect-error: an async field is a compile error
    ["max-1", "the field function of max", (s) => keyed(s).max(async (e) => e.id)],
    [
      "distinctCount-1",
      "the field function of distinctCount",
      // @ts-expect-error: an async field is a compile error
      (s) => keyed(s).distinctCount(async (e) => e.name),
    ],
    [
      "window-sum-1",
      "the field function of sum",
      // @ts-expect-error: an async field is a compile error
      (s) => windowed(s).sum(async (e) => e.id),
    ],
    [
      "aggregate-1",
      "aggregate's init",
      // @ts-expect-error: an async init is a compile error
      (s) => keyed(s).aggregate({ init: async () => 0, add: (a: number) => a + 1 }),
    ],
    [
      "aggregate-1",
      "aggregate's add",
      // @ts-expect-error: an async add is a compile error
      (s) => keyed(s).aggregate({ init: () => 0, add: async (a) => a + 1 }),
    ],
    [
      "aggregate-1",
      "aggregate's result",
      // @ts-expect-error: an async result is a compile error
      (s) => keyed(s).aggregate({ init: () => 0, add: (a) => a + 1, result: async (a) => a }),
    ],
    [
      "join-1",
      "the join's on.left function",
      // @ts-expect-error: an async join key is a compile error
      (s) => s.intervalJoin(s, { on: { left: async (l) => l.id, right: (r) => r.id } }),
    ],
    [
      "source:in2",
      "the eventTime function",
      // @ts-expect-error: an async event time is a compile error
      (_s, p) => p.source("in2", { schema: Ev, eventTime: async (e) => e.date }),
    ],
  ];
  for (const [step, what, steps] of cases) assertRefused(buildError(steps), step, what);
});

test("an async build function is refused: steps after an await would be missing", () => {
  const refused = (build: () => WeirError | undefined) => {
    const err = build();
    assert.ok(err instanceof WeirError);
    assert.equal(err.code, "INVALID_PIPELINE");
    assert.match(err.message, /^pipeline p: the build function is async \(or returned a Promise\)/);
  };
  refused(() => {
    try {
      // @ts-expect-error: an async build function is a compile error
      pipeline("p", async (p) => {
        await Promise.resolve();
        p.source("in").to("out");
      });
    } catch (err) {
      return err as WeirError;
    }
  });
  // A plain function returning a Promise (types bypassed): refused after it ran.
  refused(() => {
    try {
      pipeline("p", ((p: PipelineContext) => {
        p.source("in").to("out");
        return Promise.reject(new Error("ignored: the build is refused already"));
      }) as (p: PipelineContext) => void);
    } catch (err) {
      return err as WeirError;
    }
  });
});

test("synchronous callbacks infer exactly the types they did", () => {
  const d = pipeline("p", (p) => {
    const s = p.source("in", { schema: Ev });
    const m1 = s.map((e) => ({ ...e, x: 1 }));
    assertType<Equal<typeof m1, Stream<{ x: number; id: number; date: Date; name: string }>>>(m1);
    const m2 = s.map((e) => (e.id > 1 ? "big" : "small"));
    assertType<Equal<typeof m2, Stream<"big" | "small">>>(m2);
    const m3 = s.map((e) => e.name);
    assertType<Equal<typeof m3, Stream<string>>>(m3);
    const m4 = s.map((e) => (e.id > 1 ? e : null));
    assertType<Equal<typeof m4, Stream<Ev | null>>>(m4);
    const m5 = s.map((e) => [e.id, e.name] as const);
    assertType<Equal<typeof m5, Stream<readonly [number, string]>>>(m5);
    const m6 = s.map((e) => e as unknown);
    assertType<Equal<typeof m6, Stream<unknown>>>(m6);
    const m7 = s.map((e) => e as any);
    assertType<Equal<typeof m7, Stream<any>>>(m7);
    const m8 = s.map((e, ctx) => ({ at: new Date(ctx.timestamp), id: e.id }));
    assertType<Equal<typeof m8, Stream<{ at: Date; id: number }>>>(m8);
    const f1 = s.flatMap((e) => [e, e]);
    assertType<Equal<typeof f1, Stream<Ev>>>(f1);
    const f2 = s.flatMap(function* (e) {
      yield e.id;
      yield e.name;
    });
    assertType<Equal<typeof f2, Stream<string | number>>>(f2);
    const agg = s
      .keyBy((e) => e.id)
      .aggregate({ init: () => ({ n: 0 }), add: (a) => ({ n: a.n + 1 }), result: (a) => a.n });
    assertType<Equal<typeof agg, Table<number, number>>>(agg);
    // A Promise nested in a value is a value like any other (its JSON is `{}`): only the result itself is checked.
    const nested = s.map(() => ({ pending: Promise.resolve(1) }));
    assertType<Equal<typeof nested, Stream<{ pending: Promise<number> }>>>(nested);
    m1.to("out");
  });
  assert.equal(d.name, "p");
});

test("generic code proves its result is not a Promise with SyncResult", () => {
  // TypeScript cannot tell whether a caller's type parameter X is a Promise: `st.map((x) => x)` is
  // a compile error in generic code, and `as SyncResult<X>` says it is not one.
  function tag<X extends object>(st: Stream<X>) {
    return st.map((x) => ({ ...x, tagged: true }) as SyncResult<X & { tagged: boolean }>);
  }
  function untouched<X>(st: Stream<X>) {
    return st.map((x) => x as SyncResult<X>);
  }
  // @ts-expect-error: X may be a Promise
  const unproven = <X>(st: Stream<X>) => st.map((x) => x);
  void unproven;
  const d = pipeline("p", (p) => {
    const s = tag(untouched(p.source("in", { schema: Ev })));
    assertType<Equal<typeof s, Stream<Ev & { tagged: boolean }>>>(s);
    s.to("out");
  });
  assert.equal(d.graph.nodes.length, 4);
});

test("in a user's strict project, an async map is a compile error that says why (through the published .d.ts)", () => {
  // The built declarations, as the package ships them (dist/src/index.d.ts).
  const index = fileURLToPath(new URL("../../src/index.d.ts", import.meta.url));
  const file = "/virtual/pipeline.ts";
  const source = [
    `import { pipeline, schema } from ${JSON.stringify(index.replace(/\.d\.ts$/, ".js"))};`,
    `const Ev = schema.object({ id: schema.int(), name: schema.string() });`,
    `declare function lookup(id: number): Promise<string>;`,
    `export default pipeline("p", (p) => {`,
    `  const events = p.source("in", { schema: Ev });`,
    `  events.map(async (e) => ({ ...e, owner: await lookup(e.id) })).to("enriched");`,
    `  events.map((e) => ({ ...e, owner: String(e.id) })).to("ok");`,
    `});`,
  ].join("\n");
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    skipLibCheck: true,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const readFile = host.readFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  const getSourceFile = host.getSourceFile.bind(host);
  host.readFile = (f) => (f === file ? source : readFile(f));
  host.fileExists = (f) => f === file || fileExists(f);
  host.getSourceFile = (f, language, ...rest) =>
    f === file ? ts.createSourceFile(f, source, language) : getSourceFile(f, language, ...rest);
  const program = ts.createProgram([file], options, host);
  const diagnostics = ts.getPreEmitDiagnostics(program).filter((d) => d.file?.fileName === file);
  const messages = diagnostics.map((d) => {
    const { line } = d.file!.getLineAndCharacterOfPosition(d.start!);
    return `${line + 1}: ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`;
  });
  assert.deepEqual(messages, [
    `6: Type 'Promise<{ owner: string; id: number; name: string; }>' is not assignable to type ` +
      `'"async callbacks are not supported yet: return the value itself, not a Promise"'.`,
  ]);
});
