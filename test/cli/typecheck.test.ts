/**
 * The type check of a user's pipeline module (src/cli/typecheck.ts), in-process: which TypeScript
 * it uses, which options, what it reports, and its cache.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import {
  findTypeScript,
  parseTscOutput,
  typeCheckEnabled,
  typeCheckPipeline,
} from "../../src/cli/typecheck.js";
import { tempDir } from "./helpers.js";

test("TypeScript is found in the project first, then next to Weir, else not at all", (t) => {
  const dir = tempDir(t, "weir-tc-");
  const file = join(dir, "p.ts");
  writeFileSync(file, "export {};\n");
  const own = findTypeScript(file);
  assert.ok(own !== undefined, "Weir's own typescript (a devDependency here)");
  assert.match(own.version, /^\d+\.\d+\.\d+/);

  const local = join(dir, "node_modules", "typescript");
  mkdirSync(join(local, "lib"), { recursive: true });
  writeFileSync(
    join(local, "package.json"),
    JSON.stringify({ name: "typescript", version: "9.9.9", main: "lib/typescript.js" }),
  );
  writeFileSync(join(local, "lib", "typescript.js"), "module.exports = {};\n");
  const found = findTypeScript(file);
  assert.equal(found?.version, "9.9.9", "the project's own TypeScript wins");
  assert.deepEqual(findTypeScript(join(dir, "..", "elsewhere.ts"), pathToFileURL(file)), found);

  const cache = join(dir, "cache");
  const outcome = typeCheckPipeline(file, { cacheDir: cache });
  assert.equal(outcome.kind, "unavailable", "a typescript package without the compiler API is not used");
  assert.match(outcome.kind === "unavailable" ? outcome.reason : "", /9\.9\.9 .*has neither a compiler API/);

  assert.deepEqual(typeCheckPipeline(file, { cacheDir: cache, typescript: null }), {
    kind: "unavailable",
    reason: "TypeScript is not installed in this project",
  });
  assert.deepEqual(typeCheckPipeline(join(dir, "p.js"), { cacheDir: cache }), { kind: "skipped" });
});

test("errors come back one per line as file:line:col: error TSnnnn: message; a pass is cached", (t) => {
  const dir = tempDir(t, "weir-tc-");
  const cache = join(dir, "cache");
  const file = join(dir, "p.ts");
  writeFileSync(file, 'const n: number = "one";\nexport function f(x) {\n  return x;\n}\n');
  const failed = typeCheckPipeline(file, { cacheDir: cache });
  assert.equal(failed.kind, "failed");
  if (failed.kind !== "failed") return;
  assert.equal(failed.errors, 2);
  assert.deepEqual(failed.lines, [
    `${file}:1:7: error TS2322: Type 'string' is not assignable to type 'number'.`,
    `${file}:2:19: error TS7006: Parameter 'x' implicitly has an 'any' type.`,
  ]);
  assert.deepEqual(readdirSync(dir).includes("cache"), false, "failures are not cached");

  // The project's tsconfig.json decides the options (here: not strict).
  writeFileSync(join(dir, "tsconfig.json"), JSON.stringify({ compilerOptions: { strict: false } }));
  writeFileSync(file, "export function f(x) {\n  return x;\n}\n");
  const passed = typeCheckPipeline(file, { cacheDir: cache });
  assert.equal(passed.kind, "passed");
  assert.equal(passed.kind === "passed" && passed.cached, false);
  assert.equal(readdirSync(cache).length, 1);
  const again = typeCheckPipeline(file, { cacheDir: cache });
  assert.equal(again.kind === "passed" && again.cached, true);

  // A changed tsconfig.json is checked again.
  writeFileSync(join(dir, "tsconfig.json"), JSON.stringify({ compilerOptions: { strict: true } }));
  const strict = typeCheckPipeline(file, { cacheDir: cache });
  assert.equal(strict.kind, "failed");
});

test("a cache directory others can write to is not used", (t) => {
  const dir = tempDir(t, "weir-tc-");
  const cache = join(dir, "cache");
  mkdirSync(cache);
  chmodSync(cache, 0o777);
  const file = join(dir, "p.ts");
  writeFileSync(file, "export const n: number = 1;\n");
  for (let i = 0; i < 2; i++) {
    const outcome = typeCheckPipeline(file, { cacheDir: cache });
    assert.equal(outcome.kind === "passed" && outcome.cached, false);
  }
  assert.deepEqual(readdirSync(cache), []);
});

test("--no-typecheck and WEIR_TYPECHECK=0 turn the check off", () => {
  assert.equal(typeCheckEnabled(undefined, {}), true);
  assert.equal(typeCheckEnabled(true, {}), true);
  assert.equal(typeCheckEnabled(false, {}), false);
  for (const v of ["0", "false", "off", "no", "OFF"])
    assert.equal(typeCheckEnabled(true, { WEIR_TYPECHECK: v }), false);
  assert.equal(typeCheckEnabled(true, { WEIR_TYPECHECK: "1" }), true);
});

/** A stand-in for TypeScript 7's package: no compiler API, a `tsc` that records how it was run. */
function fakeTypeScript7(dir: string): string {
  const pkg = join(dir, "node_modules", "typescript");
  mkdirSync(join(pkg, "lib"), { recursive: true });
  mkdirSync(join(pkg, "bin"));
  writeFileSync(
    join(pkg, "package.json"),
    JSON.stringify({
      name: "typescript",
      version: "7.0.0",
      main: "lib/version.cjs",
      bin: { tsc: "./bin/tsc" },
    }),
  );
  writeFileSync(join(pkg, "lib", "version.cjs"), 'exports.version = "7.0.0";\n');
  writeFileSync(
    join(pkg, "bin", "tsc"),
    `const fs = require("node:fs");
const args = process.argv.slice(2);
if (args.includes("--showConfig")) {
  process.stdout.write(JSON.stringify({ compilerOptions: { strict: true } }));
  process.exit(0);
}
const p = args.indexOf("-p");
const config = p >= 0 ? JSON.parse(fs.readFileSync(args[p + 1], "utf8")) : null;
const calls = ${JSON.stringify(join(pkg, "calls.json"))};
const before = fs.existsSync(calls) ? JSON.parse(fs.readFileSync(calls, "utf8")) : [];
fs.writeFileSync(calls, JSON.stringify([...before, { args, cwd: process.cwd(), config }]));
process.stdout.write(
  "p.ts(2,5): error TS2322: Type 'string' is not assignable to type 'number'.\\n" +
    "  The value comes from here.\\n" +
    "node_modules/dep/index.d.ts(1,1): error TS1005: a dependency's own error.\\n" +
    "  Dropped with it.\\n",
);
process.exit(2);
`,
  );
  return join(pkg, "calls.json");
}

test("TypeScript 7 (no compiler API) is run through its tsc, with or without the project's tsconfig.json", (t) => {
  const dir = tempDir(t, "weir-tc7-");
  const calls = fakeTypeScript7(dir);
  mkdirSync(join(dir, "node_modules", "@types"));
  const file = join(dir, "p.ts");
  writeFileSync(file, "export {};\n");
  const cache = join(dir, "cache");
  const expected = [
    `${file}:2:5: error TS2322: Type 'string' is not assignable to type 'number'. The value comes from here.`,
  ];

  const bare = typeCheckPipeline(file, { cacheDir: cache });
  assert.equal(bare.kind, "failed");
  assert.deepEqual(bare.kind === "failed" ? [bare.lines, bare.typescript] : [], [expected, "7.0.0"]);
  let [call] = JSON.parse(readFileSync(calls, "utf8")) as Array<{ args: string[]; cwd: string; config: any }>;
  assert.equal(call.cwd, dir);
  assert.deepEqual(call.args.slice(0, 3), ["--noEmit", "--pretty", "false"]);
  assert.ok(call.args.includes("--strict") && call.args.at(-1) === file, call.args.join(" "));
  assert.equal(call.args[call.args.indexOf("--module") + 1], "preserve");

  const tsconfig = join(dir, "tsconfig.json");
  writeFileSync(tsconfig, '{ "compilerOptions": { "strict": true } }\n');
  const configured = typeCheckPipeline(file, { cacheDir: cache });
  assert.deepEqual(configured.kind === "failed" ? configured.lines : [], expected);
  call = (JSON.parse(readFileSync(calls, "utf8")) as (typeof call)[])[1];
  assert.equal(call.cwd, dir);
  assert.deepEqual(call.config, {
    extends: tsconfig,
    compilerOptions: {
      noEmit: true,
      emitDeclarationOnly: false,
      composite: false,
      incremental: false,
      typeRoots: [join(dir, "node_modules", "@types")],
    },
    files: [file],
    include: [],
  });
  const generated = call.args[call.args.indexOf("-p") + 1];
  assert.equal(existsSync(generated), false, "the generated tsconfig is removed");
});

test("tsc's plain output becomes one line per error, global errors included", () => {
  assert.deepEqual(
    parseTscOutput(
      "error TS5023: Unknown compiler option '--bogus'.\nsrc/a.ts(3,1): error TS2304: Cannot find name 'x'.\n",
      "/app",
    ),
    [
      "error TS5023: Unknown compiler option '--bogus'.",
      "/app/src/a.ts:3:1: error TS2304: Cannot find name 'x'.",
    ],
  );
});
