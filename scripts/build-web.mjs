#!/usr/bin/env node
// Builds the dashboard (web/) into dist/web/: app.js (web/app.ts bundled with uPlot), app.css (the
// page's CSS and uPlot's) and index.html. Offline and in well under a second: esbuild, no CDN.
// Writes only its output directory (`--out DIR`, default dist/web), so it can run beside `tsc`.
//
//   node scripts/build-web.mjs [--out DIR] [--dev]     --dev: no minification, and a source map
//
// The published package ships no source maps (docs/packaging.md), so the default build writes none.
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { build } from "esbuild";

const root = new URL("..", import.meta.url).pathname;
const args = process.argv.slice(2);
const outIndex = args.indexOf("--out");
const outDir = resolve(outIndex >= 0 && args[outIndex + 1] ? args[outIndex + 1] : join(root, "dist", "web"));
const dev = args.includes("--dev");

const started = performance.now();
// The files are overwritten (their names never change): nothing else in the directory is touched.
mkdirSync(outDir, { recursive: true });
const result = await build({
  entryPoints: { app: join(root, "web", "app.ts") },
  outdir: outDir,
  bundle: true,
  minify: !dev,
  sourcemap: dev,
  target: "es2020",
  format: "iife",
  platform: "browser",
  tsconfig: join(root, "web", "tsconfig.json"),
  legalComments: "eof",
  banner: {
    js: "/*! Weir dashboard. Includes uPlot, (c) Leon Sorokin, MIT License: https://github.com/leeoniya/uPlot */",
  },
  metafile: true,
  logLevel: "warning",
});

// index.html names the assets with a hash of their content, so a browser never mixes versions.
const version = (name) =>
  createHash("sha256")
    .update(readFileSync(join(outDir, name)))
    .digest("hex")
    .slice(0, 10);
const html = readFileSync(join(root, "web", "index.html"), "utf8")
  .replace('href="app.css"', `href="app.css?v=${version("app.css")}"`)
  .replace('src="app.js"', `src="app.js?v=${version("app.js")}"`);
writeFileSync(join(outDir, "index.html"), html);

const sizes = Object.entries(result.metafile.outputs)
  .filter(([file]) => !file.endsWith(".map"))
  .map(([file, o]) => `${file.slice(file.lastIndexOf("/") + 1)} ${(o.bytes / 1024).toFixed(1)} KiB`);
console.log(
  `build-web: ${outDir}: ${sizes.join(", ")}, index.html (${Math.round(performance.now() - started)} ms)`,
);
