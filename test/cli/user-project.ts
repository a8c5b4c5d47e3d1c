/**
 * A user's own project for CLI tests: a temporary directory with a package.json, `node_modules/weir`
 * linked to this repository (so `import ... from "weir"` resolves as in an installed project, to the
 * built dist/), its own data directory and TMPDIR (where the type-check cache lives).
 *
 *   const p = userProject(t);
 *   const file = p.write("my-pipeline.ts", countingPipeline("user_id"));
 *   const r = await p.weir(["run", "./my-pipeline.ts", "--input", p.write("in.jsonl", eventLines(10))]);
 */
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { TestContext } from "node:test";
import { runCli, tempDir, type CliOptions, type CliResult } from "./helpers.js";

const fromSources = import.meta.url.endsWith(".ts");

/** The repository root (the `weir` package the projects link to). */
export const REPO = fileURLToPath(new URL(fromSources ? "../.." : "../../..", import.meta.url));

export interface UserProject {
  dir: string;
  /** The data directory every `weir` call gets. */
  data: string;
  /** The child's TMPDIR. */
  tmp: string;
  /** Write a file of the project; its absolute path. */
  write(name: string, text: string): string;
  /** `weir ARGS... --data-dir <data>` in the project's directory. */
  weir(args: string[], options?: CliOptions): Promise<CliResult>;
}

/** A project with `node_modules/weir` linked to this repository; ESM unless `type` says otherwise. */
export function userProject(t: TestContext, type: "module" | "commonjs" = "module"): UserProject {
  const dir = tempDir(t, "weir-user-");
  mkdirSync(join(dir, "node_modules"));
  symlinkSync(REPO, join(dir, "node_modules", "weir"), "dir");
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "my-app", private: true, type }));
  const tmp = join(dir, "tmp");
  mkdirSync(tmp);
  const data = join(dir, ".weir");
  return {
    dir,
    data,
    tmp,
    write(name, text) {
      const path = join(dir, name);
      writeFileSync(path, text);
      return path;
    },
    weir(args, options = {}) {
      return runCli([...args, "--data-dir", data], {
        cwd: dir,
        ...options,
        env: { TMPDIR: tmp, WEIR_TYPECHECK: undefined, ...options.env },
      });
    },
  };
}

/** The start of the pipelines below: line 3 declares `Event`; a pipeline's code starts on line 5. */
export const HEADER = `import { pipeline, schema, windows } from "weir";

const Event = schema.object({ user_id: schema.int(), date: schema.timestamp(), event: schema.string() });
`;

/** Counts per user, keyed by the event's `field` (line 7, column 21: the field). */
export const countingPipeline = (field: string) => `${HEADER}
export default pipeline("my-counts", (p) => {
  p.source("events", { schema: Event, eventTime: (e) => e.date })
    .keyBy((e) => e.${field})
    .count()
    .toStream()
    .to("user_counts");
});
`;

/** `n` events for countingPipeline, as JSON lines. */
export const eventLines = (n: number) =>
  Array.from({ length: n }, (_, i) =>
    JSON.stringify({ user_id: i % 13, date: "2021-11-30 00:00:00", event: "Interaction" }),
  ).join("\n") + "\n";

/** The TypeScript version Weir's own type check uses here (this repository's). */
export function typescriptVersion(): string {
  const pkg = JSON.parse(readFileSync(join(REPO, "node_modules/typescript/package.json"), "utf8")) as {
    version: string;
  };
  return pkg.version;
}

/** `text` as a literal part of a regular expression. */
export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}
