/**
 * Loading a user's pipeline module (`./my-pipeline.ts`) with tsx, and what the user sees when that
 * fails: one line naming the place in *their* code (`/home/me/app/p.ts:8:21`) — the first stack
 * frame outside Weir, Node and node_modules, or the position of a syntax error as esbuild (inside
 * tsx) reports it — and the error itself. The original error stays attached as the cause, so
 * `--debug` prints the whole chain with its stacks.
 */
import { readFileSync } from "node:fs";
import { dirname, extname, isAbsolute, join, sep } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { WeirError } from "../errors.js";
import { UserError } from "../errors.js";

/** A place in a file, 1-based. */
export interface SourceLocation {
  file: string;
  line: number;
  column: number;
}

/**
 * The directories of Weir's own code: `src/` (and the sources source maps point to) and `dist/`
 * of the package this CLI runs from. Frames there are Weir's, not the user's.
 */
function weirCodeDirs(): string[] {
  const here = dirname(fileURLToPath(import.meta.url)); // <root>/src/cli or <root>/dist/src/cli
  const parts = here.split(sep);
  const dist = parts.lastIndexOf("dist");
  const root =
    dist >= 0 && parts[dist + 1] === "src" ? parts.slice(0, dist).join(sep) : join(here, "..", "..");
  return [join(root, "src") + sep, join(root, "dist") + sep];
}

const weirCodeDirectories = weirCodeDirs();

/** `    at fn (/path/file.ts:8:21)` or `    at /path/file.ts:8:21` or `    at file:///path/file.ts:8:21`. */
const FRAME = /^\s*at (?:.*? \()?(.+?):(\d+):(\d+)\)?$/;

/** Is `file` the user's code (not Weir's, not Node's, not a dependency's)? */
export function isUserFile(file: string, weirDirs: readonly string[] = weirCodeDirectories): boolean {
  if (!isAbsolute(file)) return false; // node:internal/..., <anonymous>, data: URLs
  if (file.split(sep).includes("node_modules")) return false;
  return !weirDirs.some((d) => file.startsWith(d));
}

/** The first frame of `stack` in the user's code. */
export function firstUserFrame(
  stack: string,
  weirDirs: readonly string[] = weirCodeDirectories,
): SourceLocation | undefined {
  for (const text of stack.split("\n")) {
    const m = FRAME.exec(text);
    if (m === null) continue;
    let file = m[1];
    if (file.startsWith("file://")) {
      try {
        file = fileURLToPath(file);
      } catch {
        continue;
      }
    }
    if (isUserFile(file, weirDirs)) return { file, line: Number(m[2]), column: Number(m[3]) };
  }
  return undefined;
}

/** esbuild's `Transform failed with N error(s):` followed by `file:line:column: ERROR: text` lines (column 0-based). */
const ESBUILD_ERROR = /^(.+):(\d+):(\d+): ERROR: (.*)$/;

interface Described {
  /** One line: what went wrong. */
  message: string;
  where?: SourceLocation;
}

/** A syntax error reported by esbuild (tsx transforms the module with it): its place and text. */
export function syntaxError(err: unknown): Described | undefined {
  const message = err instanceof Error ? err.message : undefined;
  if (message === undefined || !/^Transform failed with \d+ errors?:/.test(message)) return undefined;
  const errors = message
    .split("\n")
    .slice(1)
    .flatMap((l) => {
      const m = ESBUILD_ERROR.exec(l.trim());
      return m === null ? [] : [m];
    });
  if (errors.length === 0) return undefined;
  const [, file, line, column, text] = errors[0];
  const more = errors.length > 1 ? ` (and ${errors.length - 1} more)` : "";
  return {
    message: `syntax error: ${text}${more}`,
    where: { file, line: Number(line), column: Number(column) + 1 },
  };
}

/** The error's first line, with its class name when that says something (`TypeError: ...`). */
function firstLine(err: unknown): string {
  if (!(err instanceof Error)) return String(err).split("\n")[0];
  const lines = err.message.split("\n").filter((l) => l.trim() !== "");
  const text = lines[0]?.trim() ?? "";
  const more = lines.length > 1 ? " (--debug shows the whole error)" : "";
  // Weir's own errors say what they are; another copy of Weir (the project's) has another class.
  const plain = err.name === "WeirError" || err.name === "Error" || err.name === "UserError";
  return `${plain || text === "" ? "" : `${err.name}: `}${text || err.name}${more}`;
}

/** Where in the user's code `err` (or, failing that, one of its causes) was thrown. */
export function userLocation(err: unknown): SourceLocation | undefined {
  let e: unknown = err;
  for (let depth = 0; depth < 8 && e instanceof Error; depth++) {
    const where = e.stack === undefined ? undefined : firstUserFrame(e.stack);
    if (where !== undefined) return where;
    e = e.cause;
  }
  return undefined;
}

export function formatLocation(where: SourceLocation): string {
  return `${where.file}:${where.line}:${where.column}`;
}

/**
 * The one-line error for a pipeline module (`path`) that threw while it was imported or while its
 * build function ran: `cannot load pipeline /app/p.ts:8:21: invalid duration "30x": ...`. The place
 * is the user's frame when it is in `path`; a frame in another of the user's files is named after
 * the message. The original error is the cause (main prints the chain with --debug). `fromOptions`:
 * the error came from a function export called with the command line's extra options.
 */
export function pipelineLoadError(
  path: string,
  err: unknown,
  { fromOptions = false }: { fromOptions?: boolean } = {},
): UserError {
  if (err instanceof UserError) return err;
  const described: Described = syntaxError(err) ?? { message: firstLine(err), where: userLocation(err) };
  const { message, where } = described;
  let text: string;
  if (where === undefined) text = `cannot load pipeline ${path}: ${message}`;
  else if (where.file === path) text = `cannot load pipeline ${formatLocation(where)}: ${message}`;
  else text = `cannot load pipeline ${path}: ${message} (at ${formatLocation(where)})`;
  // A function export refusing the options it was called with (`--window abc`) is a usage error.
  const usage =
    fromOptions && err instanceof Error && err.name === "WeirError" && (err as WeirError).code === "USAGE";
  return new UserError(text, usage ? 2 : 1, { cause: err });
}

/**
 * How Node (and tsx) run the file: `.mts`/`.mjs` are ES modules, `.cts`/`.cjs` CommonJS, anything
 * else follows the `type` of the nearest package.json (CommonJS without one).
 */
export function moduleFormat(path: string): "module" | "commonjs" {
  const ext = extname(path);
  if (ext === ".mts" || ext === ".mjs") return "module";
  if (ext === ".cts" || ext === ".cjs") return "commonjs";
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    let text: string | undefined;
    try {
      text = readFileSync(join(dir, "package.json"), "utf8");
    } catch {
      text = undefined;
    }
    if (text !== undefined) {
      try {
        return (JSON.parse(text) as { type?: unknown }).type === "module" ? "module" : "commonjs";
      } catch {
        return "commonjs";
      }
    }
    if (dirname(dir) === dir) return "commonjs";
  }
}

/**
 * Import the module at `path` (absolute) with tsx, so TypeScript runs as is. An ES module goes
 * through tsx's namespaced import; a CommonJS one through its namespaced require, whose stack
 * frames are source-mapped to the user's lines (the import of a CommonJS file is not: its frames
 * would point into a `data:` URL). A failure is one line with the user's place (pipelineLoadError).
 */
export async function importPipelineModule(path: string): Promise<{ default?: unknown }> {
  try {
    if (moduleFormat(path) === "commonjs") {
      const { require: tsxRequire } = await import("tsx/cjs/api");
      return tsxRequire(path, import.meta.url) as { default?: unknown };
    }
    const { tsImport } = await import("tsx/esm/api");
    return (await tsImport(pathToFileURL(path).href, import.meta.url)) as { default?: unknown };
  } catch (err) {
    throw pipelineLoadError(path, err);
  }
}
