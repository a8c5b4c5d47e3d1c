#!/usr/bin/env node
// Builds dist/ (`npm run build`; `npm ci` and `npm pack` run it as `prepare`): tsc compiles src,
// test, bench and examples, then scripts/build-web.mjs bundles the dashboard. Both write into a new
// directory under .build/, which then replaces dist/ in two renames: dist/ is never deleted or
// half-written under a process that runs from it (a test run, `weir run`), and files of sources
// that were removed do not linger.
//
//   node scripts/build.mjs [--if-changed] [--out DIR]
//
// --if-changed  skip the build when DIR holds a complete build of the same inputs (the sources,
//               configs and lock file: scripts/build-lib.mjs). `prepare` uses it, so the `npx weir`
//               that installs the repository into npx's cache (docs/packaging.md) does not rebuild.
// --out DIR     where the build goes (default dist/).
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { inputsDigest, isUpToDate, replaceDir, REQUIRED_OUTPUTS, shown, STAMP } from "./build-lib.mjs";

const root = new URL("..", import.meta.url).pathname;
const args = process.argv.slice(2);
const outIndex = args.indexOf("--out");
const outDir = resolve(outIndex >= 0 && args[outIndex + 1] ? args[outIndex + 1] : join(root, "dist"));
const ifChanged = args.includes("--if-changed");

const started = performance.now();
// The digest of the inputs as they are when the build starts: a file saved during the build makes
// the next --if-changed build again.
const digest = inputsDigest(root);
if (ifChanged && isUpToDate(outDir, digest, REQUIRED_OUTPUTS)) {
  console.log(`build: ${shown(root, outDir)}/ is up to date (its inputs have not changed); nothing to do`);
  process.exit(0);
}

// Beside the output, so that the final renames stay on one file system.
const scratch = join(dirname(outDir), ".build");
mkdirSync(scratch, { recursive: true });
const next = mkdtempSync(join(scratch, "next-"));
const run = (what, command, commandArgs) => {
  const r = spawnSync(command, commandArgs, { cwd: root, stdio: "inherit" });
  if (r.status !== 0) {
    rmSync(next, { recursive: true, force: true });
    console.error(
      `build: ${what} failed (exit ${r.status ?? r.signal}); ${shown(root, outDir)}/ is unchanged`,
    );
    process.exit(r.status ?? 1);
  }
};
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
run("tsc", process.execPath, [tsc, "-p", join(root, "tsconfig.json"), "--outDir", next]);
run("build-web", process.execPath, [join(root, "scripts", "build-web.mjs"), "--out", join(next, "web")]);
writeFileSync(join(next, STAMP), `${digest}\n`);
replaceDir(next, outDir, scratch);
try {
  rmdirSync(scratch); // only when empty: another build may be under way in it
} catch {
  // left for that build
}
console.log(`build: ${shown(root, outDir)}/ built in ${((performance.now() - started) / 1000).toFixed(1)} s`);
