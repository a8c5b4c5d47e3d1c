/**
 * docs/api.md's complete example of run() and the readers: it type-checks under --strict against
 * the package's sources (`"weir"` mapped to src/index.ts), and, compiled, it runs to its end with
 * the outputs it promises.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import ts from "typescript";
import { repoRoot } from "../helpers/services.js";

const root = repoRoot();
const MARKER = "<!-- the code block below is test/embed/docs-example.test.ts's -->";

function example(): string {
  const doc = readFileSync(join(root, "docs", "api.md"), "utf8");
  const at = doc.indexOf(MARKER);
  assert.ok(at >= 0, `docs/api.md has no ${MARKER}`);
  const m = /```ts\n([\s\S]*?)\n```/.exec(doc.slice(at));
  assert.ok(m !== null, "a ```ts block follows the marker");
  return `${m[1]}\n`;
}

test("docs/api.md's embedding example type-checks under --strict", { timeout: 300_000 }, (t) => {
  const dir = mkdtempSync(join(tmpdir(), "weir-docs-example-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, "example.mts");
  writeFileSync(file, example());
  const program = ts.createProgram([file], {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    types: ["node"],
    typeRoots: [join(root, "node_modules", "@types")],
    skipLibCheck: true,
    paths: { weir: [join(root, "src", "index.ts")] },
  });
  const problems = ts
    .getPreEmitDiagnostics(program)
    .filter((d) => d.file === undefined || d.file.fileName === file)
    .map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"));
  assert.deepEqual(problems, []);
});

test(
  "docs/api.md's embedding example runs: a bounded run, its alert and its table",
  { timeout: 120_000 },
  (t) => {
    const dir = mkdtempSync(join(tmpdir(), "weir-docs-example-"));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const weir = pathToFileURL(join(root, "dist", "src", "index.js")).href;
    const js = ts.transpileModule(example().replace(/from "weir";/, `from ${JSON.stringify(weir)};`), {
      compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext },
    }).outputText;
    writeFileSync(join(dir, "example.mjs"), js);
    writeFileSync(
      join(dir, "sales.jsonl"),
      [
        '{"customer":"ann","amount":60}',
        '{"customer":"bob","amount":10}',
        "oops",
        '{"customer":"ann","amount":50}',
      ]
        .map((l) => `${l}\n`)
        .join(""),
    );
    const r = spawnSync(process.execPath, ["example.mjs"], { cwd: dir, encoding: "utf8", timeout: 100_000 });
    assert.equal(r.status, 0, r.stderr);
    const out = r.stdout.split("\n").filter((l) => !/^(starting|running|stopping|stopped):/.test(l));
    assert.deepEqual(out, [
      "done: 4 records in, 1 dead letters",
      "alert: { customer: 'ann', total: 110 }",
      'table: ann v2 {"customer":"ann","total":110}',
      'table: ann v1 {"customer":"ann","total":60}',
      'table: bob v1 {"customer":"bob","total":10}',
      "",
    ]);
  },
);
