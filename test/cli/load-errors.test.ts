/**
 * A user's pipeline module that fails while it loads — at its top level, in its build function, in
 * a function export refusing its options, or with a syntax error — is one line naming the place in
 * the user's file, in ESM and CommonJS projects; `--debug` adds the cause chain with its stacks.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { hasStackTrace, lines } from "./helpers.js";
import { HEADER, escapeRegExp, userProject } from "./user-project.js";

const badWindow = `${HEADER}
export default pipeline("bad-window", (p) => {
  p.source("events", { schema: Event, eventTime: (e) => e.date })
    .keyBy((e) => e.user_id)
    .window(windows.tumbling("30x"))
    .count()
    .toStream()
    .to("counts");
});
`;

const INVALID_30X =
  'invalid duration "30x": expected a number and a unit (ms, s, m, h, d or w) such as "500ms", "30s", "1m", "2h", "1d" or "1h30m"';

for (const type of ["module", "commonjs"] as const) {
  test(`an error while the pipeline is built names the user's file:line (${type} project)`, async (t) => {
    const p = userProject(t, type);
    const file = p.write("bad-window.ts", badWindow);
    for (const command of ["describe", "run"]) {
      const r = await p.weir([command, "./bad-window.ts"]);
      assert.equal(r.code, 1, r.stderr);
      assert.deepEqual(lines(r.stderr), [`weir: cannot load pipeline ${file}:8:21: ${INVALID_30X}`]);
    }
  });
}

test("--debug adds the cause chain, with the stack through the user's file", async (t) => {
  const p = userProject(t);
  const file = p.write("bad-window.ts", badWindow);
  const r = await p.weir(["describe", "./bad-window.ts", "--debug"]);
  assert.equal(r.code, 1, r.stderr);
  const err = r.stderr;
  assert.ok(err.startsWith(`weir: cannot load pipeline ${file}:8:21: ${INVALID_30X}\n`), err);
  assert.match(err, /\nUserError: cannot load pipeline /);
  assert.match(err, /\ncaused by: WeirError: invalid duration "30x"/);
  assert.ok(err.includes(`(${file}:8:21)`), err);

  const quiet = await p.weir(["describe", "./bad-window.ts"]);
  assert.ok(!hasStackTrace(quiet.stderr), quiet.stderr);
});

test("a module-level error, a duplicate step name and a syntax error name their place too", async (t) => {
  const p = userProject(t);
  const top = p.write(
    "top-level.ts",
    `${HEADER}
const hourly = windows.hopping("1h", "2h");
export default pipeline("top", (p) => {
  p.source("events", { schema: Event }).keyBy((e) => e.user_id).window(hourly).count().toStream().to("x");
});
`,
  );
  const a = await p.weir(["describe", "./top-level.ts"]);
  assert.equal(a.code, 1, a.stderr);
  assert.equal(lines(a.stderr).length, 1);
  assert.match(
    a.stderr,
    new RegExp(`^weir: cannot load pipeline ${escapeRegExp(top)}:5:24: hopping window slide`),
  );

  const dup = p.write(
    "dup.ts",
    `${HEADER}
export default pipeline("dup", (p) => {
  const e = p.source("events", { schema: Event });
  e.filter((x) => x.user_id > 0, { name: "positive" }).to("a");
  e.filter((x) => x.user_id > 1, { name: "positive" }).to("b");
});
`,
  );
  const b = await p.weir(["describe", "./dup.ts"]);
  assert.equal(b.code, 1, b.stderr);
  assert.deepEqual(lines(b.stderr), [
    `weir: cannot load pipeline ${dup}:8:5: two steps are named "positive"; step names must be unique`,
  ]);

  const syntax = p.write(
    "syntax.ts",
    `${HEADER}\nexport default pipeline("s", (p) => {\n  const x = ;\n});\n`,
  );
  const c = await p.weir(["describe", "./syntax.ts", "--no-typecheck"]);
  assert.equal(c.code, 1, c.stderr);
  assert.deepEqual(lines(c.stderr), [
    `weir: cannot load pipeline ${syntax}:6:13: syntax error: Unexpected ";"`,
  ]);
  // Type-checked first, it is TypeScript's syntax error (exit 2).
  const checked = await p.weir(["describe", "./syntax.ts"]);
  assert.equal(checked.code, 2, checked.stderr);
  assert.match(
    lines(checked.stderr)[0],
    new RegExp(`^${escapeRegExp(syntax)}:6:13: error TS1109: Expression expected\\.$`),
  );
});

test("a function export failing on its options is a usage error naming the place", async (t) => {
  const p = userProject(t);
  const file = p.write(
    "opts.ts",
    `${HEADER}
export default (o: { window?: string }) =>
  pipeline("opts", (p) => {
    p.source("events", { schema: Event, eventTime: (e) => e.date })
      .keyBy((e) => e.user_id)
      .window(windows.tumbling(o.window ?? "1m"))
      .count()
      .toStream()
      .to("counts");
  });
`,
  );
  const ok = await p.weir(["describe", "./opts.ts", "--window", "5m"]);
  assert.equal(ok.code, 0, ok.stderr);
  const r = await p.weir(["describe", "./opts.ts", "--window", "5 minutes"]);
  assert.equal(r.code, 2, r.stderr);
  assert.deepEqual(lines(r.stderr), [
    `weir: cannot load pipeline ${file}:9:23: invalid duration "5 minutes": expected a number and a unit (ms, s, m, h, d or w) such as "500ms", "30s", "1m", "2h", "1d" or "1h30m"`,
  ]);
});
