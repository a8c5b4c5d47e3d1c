#!/usr/bin/env node
// Runs every compiled test file (dist/test/**/*.test.js) with node's test runner.
// Extra arguments are substrings: `npm test -- log/` runs only the tests whose path contains "log/".
import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { spawnSync } from "node:child_process";

const root = new URL("..", import.meta.url).pathname;
const testRoot = join(root, "dist", "test");
const filters = process.argv.slice(2);

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...walk(path));
    else if (name.endsWith(".test.js")) out.push(path);
  }
  return out;
}

const files = walk(testRoot).filter(
  (f) => filters.length === 0 || filters.some((s) => relative(testRoot, f).includes(s)),
);
if (files.length === 0) {
  console.error(`run-tests: no test files matched ${filters.join(" ") || "(all)"} under ${testRoot}`);
  process.exit(1);
}
const result = spawnSync(
  process.execPath,
  ["--test", "--test-concurrency=2", "--test-reporter=spec", "--test-timeout=600000", ...files],
  { stdio: "inherit", cwd: root },
);
process.exit(result.status ?? 1);
