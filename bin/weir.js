#!/usr/bin/env node
// The `weir` command. The TypeScript sources are compiled to dist/ by `npm ci` (the `prepare` script).
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const entry = new URL("../dist/src/cli/main.js", import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write("weir: the build is missing (dist/). Run `npm run build` (npm ci runs it for you).\n");
  process.exit(1);
}
await import(entry.href);
