/**
 * scripts/build.mjs (issue 13, item 9): a build that has nothing new to compile is skipped (the
 * `prepare` that `npx weir` runs in a clone), and a build replaces dist/ in one step instead of
 * deleting it for the length of a compile while other processes run from it.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, it, type TestContext } from "node:test";
import { repoRoot } from "../helpers/services.js";

interface BuildLib {
  inputsDigest(root: string): string;
  isUpToDate(outDir: string, digest: string, requiredFiles: string[]): boolean;
  replaceDir(next: string, target: string, trashDir: string): void;
  STAMP: string;
  REQUIRED_OUTPUTS: string[];
}

const root = repoRoot();
const lib = (await import(pathToFileURL(join(root, "scripts", "build-lib.mjs")).href)) as BuildLib;

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), "weir-build-test-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function write(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}

describe("the build's input digest", () => {
  it("changes with a source's content, not with its time, and ignores outputs and scratch", async (t) => {
    const dir = tempDir(t);
    write(join(dir, "src/a.ts"), "export const a = 1;\n");
    write(join(dir, "examples/x/pipeline.ts"), "export {};\n");
    write(join(dir, "tsconfig.json"), "{}\n");
    const first = lib.inputsDigest(dir);
    assert.match(first, /^[0-9a-f]{64}$/);

    // Rewritten with the same bytes (a checkout does this): same digest.
    await new Promise((r) => setTimeout(r, 20));
    write(join(dir, "src/a.ts"), "export const a = 1;\n");
    assert.equal(lib.inputsDigest(dir), first);

    // Outputs and scratch are not inputs.
    write(join(dir, "bench/results/run.json"), "{}\n");
    write(join(dir, "src/.cache/x"), "y");
    write(join(dir, "dist/src/a.js"), "export const a = 1;\n");
    assert.equal(lib.inputsDigest(dir), first);

    write(join(dir, "src/a.ts"), "export const a = 2;\n");
    const edited = lib.inputsDigest(dir);
    assert.notEqual(edited, first);
    write(join(dir, "tsconfig.json"), '{"compilerOptions":{}}\n');
    assert.notEqual(lib.inputsDigest(dir), edited);
    // A new file counts, and so does a file's name.
    write(join(dir, "test/b.test.ts"), "");
    const added = lib.inputsDigest(dir);
    rmSync(join(dir, "test/b.test.ts"));
    write(join(dir, "test/c.test.ts"), "");
    assert.notEqual(lib.inputsDigest(dir), added);
  });
});

describe("replacing dist/", () => {
  it("swaps the new build in: dist/ holds the old build until then, the new one after, nothing stale", (t) => {
    const dir = tempDir(t);
    const target = join(dir, "dist");
    const scratch = join(dir, ".build");
    write(join(target, "src/kept.js"), "old");
    write(join(target, "src/removed-source.js"), "old");
    const next = join(scratch, "next-1");
    write(join(next, "src/kept.js"), "new");

    lib.replaceDir(next, target, scratch);
    assert.equal(readFileSync(join(target, "src/kept.js"), "utf8"), "new");
    assert.equal(
      existsSync(join(target, "src/removed-source.js")),
      false,
      "a removed source's output is gone",
    );
    assert.equal(existsSync(next), false);
    assert.deepEqual(readdirSync(scratch), [], "the old build is removed");
  });

  it("puts a first build in place when there is no dist/ yet", (t) => {
    const dir = tempDir(t);
    const next = join(dir, ".build", "next-1");
    write(join(next, "src/index.js"), "x");
    lib.replaceDir(next, join(dir, "dist"), join(dir, ".build"));
    assert.equal(readFileSync(join(dir, "dist/src/index.js"), "utf8"), "x");
  });

  it("keeps a file of the old build readable through an open descriptor across the swap", async (t) => {
    const dir = tempDir(t);
    const target = join(dir, "dist");
    write(join(target, "src/main.js"), "old build");
    const { open } = await import("node:fs/promises");
    const handle = await open(join(target, "src/main.js"), "r");
    t.after(() => handle.close());
    const next = join(dir, ".build", "next-1");
    write(join(next, "src/main.js"), "new build");
    lib.replaceDir(next, target, join(dir, ".build"));
    assert.equal(await handle.readFile("utf8"), "old build");
    assert.equal(readFileSync(join(target, "src/main.js"), "utf8"), "new build");
  });
});

describe("node scripts/build.mjs --if-changed", () => {
  it("does nothing when the output holds a complete build of the current inputs", async (t) => {
    const dir = tempDir(t);
    const out = join(dir, "dist");
    const required = lib.REQUIRED_OUTPUTS;
    for (const f of required) write(join(out, f), "built\n");
    write(join(out, lib.STAMP), `${lib.inputsDigest(root)}\n`);
    assert.equal(lib.isUpToDate(out, lib.inputsDigest(root), required), true);

    const started = performance.now();
    const r = await new Promise<{ code: number; stdout: string; stderr: string }>((done) => {
      execFile(
        process.execPath,
        [join(root, "scripts", "build.mjs"), "--if-changed", "--out", out],
        { cwd: root, timeout: 60_000 },
        (err, stdout, stderr) => done({ code: err === null ? 0 : Number(err.code ?? 1), stdout, stderr }),
      );
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /up to date/);
    assert.ok(performance.now() - started < 10_000, "a skipped build takes no compile");
    assert.equal(readFileSync(join(out, "src/index.js"), "utf8"), "built\n", "nothing rewritten");
    assert.equal(existsSync(join(dir, ".build")), false);
  });

  it("is not up to date when the stamp differs or a required file is missing", (t) => {
    const dir = tempDir(t);
    write(join(dir, "src/index.js"), "");
    write(join(dir, lib.STAMP), "abc\n");
    assert.equal(lib.isUpToDate(dir, "abc", ["src/index.js"]), true);
    assert.equal(lib.isUpToDate(dir, "abd", ["src/index.js"]), false);
    assert.equal(lib.isUpToDate(dir, "abc", ["src/index.js", "web/index.html"]), false);
    rmSync(join(dir, lib.STAMP));
    assert.equal(lib.isUpToDate(dir, "abc", ["src/index.js"]), false);
  });
});
