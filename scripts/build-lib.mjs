// What scripts/build.mjs needs besides the compilers: the digest of the build's inputs (to skip a
// build whose inputs have not changed) and the swap of a finished build into place (so dist/ is
// never missing or half-written while another process runs from it). Tested by
// test/package/build.test.ts.
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { join, relative, sep } from "node:path";

/** Folders whose files the build reads (tsc's `include` and the dashboard's sources). */
export const INPUT_DIRS = ["src", "test", "bench", "examples", "web"];
/** Files outside them that change what the build writes. */
export const INPUT_FILES = [
  "tsconfig.json",
  "package.json",
  "package-lock.json",
  "scripts/build.mjs",
  "scripts/build-lib.mjs",
  "scripts/build-web.mjs",
];
/** Paths under INPUT_DIRS that are outputs or scratch, not inputs. */
const NOT_INPUTS = new Set(["bench/results"]);

function walk(root, dir, out) {
  let entries;
  try {
    entries = readdirSync(join(root, dir), { withFileTypes: true });
  } catch (err) {
    if (err.code === "ENOENT") return;
    throw err;
  }
  for (const e of entries) {
    const path = dir === "" ? e.name : `${dir}/${e.name}`;
    if (e.name.startsWith(".") || e.name === "node_modules" || NOT_INPUTS.has(path)) continue;
    if (e.isDirectory()) walk(root, path, out);
    else if (e.isFile()) out.push(path);
  }
}

/**
 * SHA-256 over the path and content of every input file under `root`, in a fixed order. File times
 * do not count: a checkout that rewrites files with the same content keeps the digest.
 */
export function inputsDigest(root) {
  const files = [];
  for (const dir of INPUT_DIRS) walk(root, dir, files);
  for (const f of INPUT_FILES) if (existsSync(join(root, f))) files.push(f);
  files.sort();
  const hash = createHash("sha256");
  for (const f of files) {
    hash.update(`${f}\0`);
    hash.update(readFileSync(join(root, f)));
    hash.update("\0");
  }
  return hash.digest("hex");
}

/** A build without these is not complete, whatever its stamp says. */
export const REQUIRED_OUTPUTS = [
  "src/cli/main.js",
  "src/index.js",
  "src/index.d.ts",
  "examples/index.js",
  "web/index.html",
];

/** The file in a build's output that records the digest of the inputs it was built from. */
export const STAMP = ".inputs-sha256";

/** True when `outDir` holds a complete build of exactly these inputs. */
export function isUpToDate(outDir, digest, requiredFiles) {
  const stamp = join(outDir, STAMP);
  if (!existsSync(stamp) || readFileSync(stamp, "utf8").trim() !== digest) return false;
  return requiredFiles.every((f) => existsSync(join(outDir, f)));
}

/**
 * Put the finished build `next` in place of `target`: two renames on one file system, so `target`
 * is only ever the old complete build or the new one (gone for the instant between the renames,
 * never empty or half-written), then the old build is removed. A process that has files of the
 * old build open keeps reading them; one that imports a module afterwards gets the new build.
 * `trashDir` (on the same file system, e.g. next's parent) receives the old build until it is removed.
 */
export function replaceDir(next, target, trashDir) {
  const old = join(trashDir, `old-${process.pid}-${Date.now()}`);
  const hadTarget = existsSync(target);
  if (hadTarget) renameSync(target, old);
  try {
    renameSync(next, target);
  } catch (err) {
    if (hadTarget) renameSync(old, target);
    throw err;
  }
  if (hadTarget) rmSync(old, { recursive: true, force: true });
}

/** `path` relative to `root`, with forward slashes (for messages). */
export function shown(root, path) {
  return relative(root, path).split(sep).join("/") || ".";
}
