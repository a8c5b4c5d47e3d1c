/**
 * Type-checks a user's pipeline module before it runs: tsx strips types without checking them, so
 * a typo like `e.user_idd` would otherwise run — every record a dead letter — instead of failing
 * the way the README promises.
 *
 * - TypeScript comes from the user's project (resolved from the pipeline file's directory), else
 *   from Weir's own dependencies; without either the check is skipped and the caller says so.
 *   TypeScript 5 and 6 run in-process through the compiler API; TypeScript 7 (native, no compiler
 *   API in its package) through its `tsc`, with a generated tsconfig that extends the project's.
 * - The options are those of the nearest tsconfig.json (emit turned off); without one, strict
 *   defaults that match how tsx runs the file (module `preserve`, bundler resolution). The roots
 *   are the pipeline file and the project's own declaration files (globals it may rely on); only
 *   diagnostics outside node_modules count.
 * - A pass is cached in the OS temporary directory, keyed by the pipeline, the TypeScript package
 *   and its version, and checked against a hash of every file the compiler read: an unchanged
 *   pipeline is not checked again (milliseconds instead of a second or two).
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
import { tmpdir, userInfo } from "node:os";
import { dirname, extname, join, resolve, sep } from "node:path";
import type * as TypeScript from "typescript";
import { usageError } from "../errors.js";
import { plural } from "./format.js";
import { info } from "./output.js";

type TS = typeof TypeScript;

/** Extensions the check applies to (a `.js` pipeline has no types to check). */
const CHECKED = new Set([".ts", ".mts", ".cts", ".tsx"]);

/** Bumped when what a cache entry means changes. */
const CACHE_FORMAT = 1;

/** At most this many diagnostics are printed (then how many more there are). */
const MAX_SHOWN = 20;

export type TypeCheckOutcome =
  | { kind: "skipped" }
  | { kind: "unavailable"; reason: string }
  | { kind: "passed"; cached: boolean; ms: number; typescript: string }
  | { kind: "failed"; errors: number; lines: string[]; ms: number; typescript: string };

/** Where the TypeScript package is and which version it is. */
export interface TypeScriptPackage {
  /** The module's entry (…/typescript/lib/typescript.js). */
  entry: string;
  /** The package directory. */
  dir: string;
  version: string;
  /** Its `tsc` command (a Node script), if the package has one. */
  tsc?: string;
}

/**
 * The `typescript` package the project of `file` uses, else the one next to Weir (`fallbackFrom`:
 * a file or file URL Weir resolves from). Undefined when neither can be resolved.
 */
export function findTypeScript(
  file: string,
  fallbackFrom: string | URL = import.meta.url,
): TypeScriptPackage | undefined {
  for (const from of [file, fallbackFrom]) {
    let entry: string;
    try {
      entry = createRequire(from).resolve("typescript");
    } catch {
      continue;
    }
    // …/typescript/lib/typescript.js: the package.json is the nearest one above the entry.
    for (let dir = dirname(entry); dirname(dir) !== dir; dir = dirname(dir)) {
      let pkg: { name?: string; version?: string; bin?: string | Record<string, string> };
      try {
        pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as typeof pkg;
      } catch {
        continue;
      }
      if (pkg.name === "typescript" && typeof pkg.version === "string") {
        const bin = typeof pkg.bin === "string" ? pkg.bin : pkg.bin?.tsc;
        return {
          entry,
          dir: dir + sep,
          version: pkg.version,
          ...(bin === undefined ? {} : { tsc: join(dir, bin) }),
        };
      }
      break;
    }
  }
  return undefined;
}

/** The nearest tsconfig.json at or above `dir` (what `tsc` in that directory would use). */
export function findTsconfig(dir: string): string | undefined {
  for (let d = dir; ; d = dirname(d)) {
    const candidate = join(d, "tsconfig.json");
    try {
      readFileSync(candidate);
      return candidate;
    } catch {
      // not here
    }
    if (dirname(d) === d) return undefined;
  }
}

/** Help of the `--no-typecheck` option of the commands that load a pipeline module. */
export const NO_TYPECHECK_HELP =
  "do not type-check a TypeScript pipeline before loading it (also: WEIR_TYPECHECK=0)";

/** `WEIR_TYPECHECK=0` (or false, off, no) turns the check off, like `--no-typecheck`. */
export function typeCheckEnabled(flag: boolean | undefined, env: NodeJS.ProcessEnv = process.env): boolean {
  if (flag === false) return false;
  const v = env.WEIR_TYPECHECK?.trim().toLowerCase();
  return !(v === "0" || v === "false" || v === "off" || v === "no");
}

/** The per-user cache directory for passed checks. */
export function defaultCacheDir(): string {
  let user: string;
  try {
    user = typeof process.getuid === "function" ? String(process.getuid()) : userInfo().username;
  } catch {
    user = "user";
  }
  return join(tmpdir(), `weir-typecheck-${user}`);
}

interface CacheEntry {
  format: number;
  tsconfig: string | null;
  /** [path, sha256 of its content] of every file the compiler read, except TypeScript's own. */
  files: Array<[string, string]>;
}

function sha256(text: string | Buffer): string {
  return createHash("sha256").update(text).digest("hex");
}

function cacheKey(file: string, ts: TypeScriptPackage): string {
  return sha256(JSON.stringify([CACHE_FORMAT, file, ts.entry, ts.version]));
}

/** True when the entry holds and no file it names changed. */
function cacheHolds(entryPath: string, tsconfig: string | undefined): boolean {
  if (!ownCacheDir(dirname(entryPath))) return false;
  let entry: CacheEntry;
  try {
    entry = JSON.parse(readFileSync(entryPath, "utf8")) as CacheEntry;
  } catch {
    return false;
  }
  if (entry.format !== CACHE_FORMAT || entry.tsconfig !== (tsconfig ?? null)) return false;
  for (const [path, hash] of entry.files) {
    try {
      if (sha256(readFileSync(path)) !== hash) return false;
    } catch {
      return false;
    }
  }
  return true;
}

/**
 * The cache directory is this user's alone (in a shared temporary directory, another user could
 * have created it, with entries that would skip checks).
 */
function ownCacheDir(dir: string): boolean {
  if (typeof process.getuid !== "function") return true;
  try {
    const st = statSync(dir);
    return st.isDirectory() && st.uid === process.getuid() && (st.mode & 0o022) === 0;
  } catch {
    return false;
  }
}

function writeCache(entryPath: string, entry: CacheEntry): void {
  try {
    mkdirSync(dirname(entryPath), { recursive: true, mode: 0o700 });
    if (!ownCacheDir(dirname(entryPath))) return;
    const tmp = `${entryPath}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(entry));
    renameSync(tmp, entryPath);
  } catch {
    // a cache that cannot be written only costs the next run a check
  }
}

/** Does the project of `file` have @types/node? */
function hasNodeTypes(file: string): boolean {
  try {
    createRequire(file).resolve("@types/node/package.json");
    return true;
  } catch {
    return false;
  }
}

/**
 * Strict options matching how tsx runs a file, for a project without tsconfig.json. With Node's
 * types in the project (@types/node: console, process, timers...) the libraries are ES2023's only;
 * without, TypeScript's defaults, whose DOM library declares `console` (parsing it costs about a
 * second).
 */
function defaultOptions(ts: TS, file: string): TypeScript.CompilerOptions {
  const nodeTypes = hasNodeTypes(file);
  return {
    strict: true,
    target: ts.ScriptTarget.ES2022,
    ...(nodeTypes ? { lib: ["lib.es2023.d.ts"] } : {}),
    // `preserve` (TypeScript 5.4+) accepts what tsx runs: ESM or CommonJS, with or without extensions.
    module: ts.ModuleKind.Preserve ?? ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    allowImportingTsExtensions: true,
    esModuleInterop: true,
    resolveJsonModule: true,
    skipLibCheck: true,
  };
}

/** `file:line:col: error TS2551: message`, on one line. */
function formatDiagnostic(ts: TS, d: TypeScript.Diagnostic): string {
  const message = ts.flattenDiagnosticMessageText(d.messageText, " ").replace(/\s+/g, " ").trim();
  const what = `error TS${d.code}: ${message}`;
  if (d.file === undefined || d.start === undefined) return what;
  const { line, character } = d.file.getLineAndCharacterOfPosition(d.start);
  return `${d.file.fileName}:${line + 1}:${character + 1}: ${what}`;
}

function inNodeModules(path: string): boolean {
  return path.replace(/\\/g, "/").includes("/node_modules/");
}

/**
 * Type-check the pipeline module `file` (absolute). Never throws for the user's code: type errors
 * come back as `failed` with one line per diagnostic.
 */
export function typeCheckPipeline(
  file: string,
  options: { cacheDir?: string; typescript?: TypeScriptPackage | null } = {},
): TypeCheckOutcome {
  if (!CHECKED.has(extname(file))) return { kind: "skipped" };
  const started = performance.now();
  const found = options.typescript === undefined ? findTypeScript(file) : (options.typescript ?? undefined);
  if (found === undefined)
    return { kind: "unavailable", reason: "TypeScript is not installed in this project" };
  const tsconfig = findTsconfig(dirname(file));
  const entryPath = join(options.cacheDir ?? defaultCacheDir(), `${cacheKey(file, found)}.json`);
  if (cacheHolds(entryPath, tsconfig))
    return { kind: "passed", cached: true, ms: performance.now() - started, typescript: found.version };

  const require = createRequire(import.meta.url);
  let ts: TS;
  try {
    ts = require(found.entry) as TS;
  } catch (err) {
    return {
      kind: "unavailable",
      reason: `TypeScript at ${found.dir} could not be loaded (${(err as Error).message.split("\n")[0]})`,
    };
  }
  if (typeof ts.createProgram !== "function" || typeof ts.getPreEmitDiagnostics !== "function") {
    if (found.tsc !== undefined && existsSync(found.tsc)) return checkWithTsc(file, found, tsconfig, started);
    return {
      kind: "unavailable",
      reason: `TypeScript ${found.version} at ${found.dir} has neither a compiler API (createProgram) nor a tsc Weir can use`,
    };
  }

  const problems: TypeScript.Diagnostic[] = [];
  /** Every file the compiler (or the config parser) read, with the hash of what it read. */
  const read = new Map<string, string>();
  const tracked = (readFile: (name: string) => string | undefined) => (name: string) => {
    const text = readFile(name);
    if (text !== undefined && !name.startsWith(found.dir)) read.set(name, sha256(text));
    return text;
  };
  let compilerOptions: TypeScript.CompilerOptions;
  const roots = [file];
  if (tsconfig === undefined) compilerOptions = defaultOptions(ts, file);
  else {
    const parsed = ts.getParsedCommandLineOfConfigFile(
      tsconfig,
      {},
      {
        ...ts.sys,
        readFile: tracked((name) => ts.sys.readFile(name)),
        onUnRecoverableConfigFileDiagnostic: (d) => problems.push(d),
      },
    );
    compilerOptions = parsed?.options ?? defaultOptions(ts, file);
    // "No inputs were found" (TS18003) does not matter: the pipeline is the input.
    for (const d of parsed?.errors ?? []) if (d.code !== 18003) problems.push(d);
    // The project's own declaration files (globals the pipeline may rely on).
    for (const f of parsed?.fileNames ?? []) if (f.endsWith(".d.ts") && !inNodeModules(f)) roots.push(f);
  }
  compilerOptions = {
    ...compilerOptions,
    noEmit: true,
    emitDeclarationOnly: false,
    composite: false,
    incremental: false,
    tsBuildInfoFile: undefined,
  };

  const host = ts.createCompilerHost(compilerOptions);
  host.readFile = tracked(host.readFile.bind(host));
  // Without a tsconfig.json, the project is the pipeline's directory (where @types are looked up).
  if (tsconfig === undefined) host.getCurrentDirectory = () => dirname(file);
  const program = ts.createProgram({ rootNames: roots, options: compilerOptions, host });
  const diagnostics = [...problems, ...ts.getPreEmitDiagnostics(program)].filter(
    (d) =>
      d.category === ts.DiagnosticCategory.Error &&
      (d.file === undefined ||
        (!program.isSourceFileFromExternalLibrary(d.file) && !inNodeModules(d.file.fileName))),
  );
  const ms = performance.now() - started;
  if (diagnostics.length > 0) {
    const lines = ts
      .sortAndDeduplicateDiagnostics(diagnostics)
      .slice(0, MAX_SHOWN)
      .map((d) => formatDiagnostic(ts, d));
    if (diagnostics.length > MAX_SHOWN) lines.push(`... and ${diagnostics.length - MAX_SHOWN} more`);
    return { kind: "failed", errors: diagnostics.length, lines, ms, typescript: ts.version };
  }
  writeCache(entryPath, { format: CACHE_FORMAT, tsconfig: tsconfig ?? null, files: [...read] });
  return { kind: "passed", cached: false, ms, typescript: ts.version };
}

/** Options of defaultOptions as `tsc` flags. */
function defaultFlags(file: string): string[] {
  return [
    "--strict",
    "--target",
    "es2022",
    ...(hasNodeTypes(file) ? ["--lib", "es2023"] : []),
    "--module",
    "preserve",
    "--moduleResolution",
    "bundler",
    "--allowImportingTsExtensions",
    "--esModuleInterop",
    "--resolveJsonModule",
    "--skipLibCheck",
  ];
}

/** The node_modules/@types directories at and above `dir` (where TypeScript looks by default). */
function defaultTypeRoots(dir: string): string[] {
  const roots: string[] = [];
  for (let d = dir; ; d = dirname(d)) {
    const candidate = join(d, "node_modules", "@types");
    if (existsSync(candidate)) roots.push(candidate);
    if (dirname(d) === d) return roots;
  }
}

/** `path(line,col): error TS2322: message` (continued on indented lines), or `error TS5023: message`. */
const TSC_DIAGNOSTIC = /^(?:(.+)\((\d+),(\d+)\): )?error (TS\d+): (.*)$/;

/** `tsc --pretty false` output as `file:line:col: error TSnnnn: message` lines (paths from `cwd`). */
export function parseTscOutput(output: string, cwd: string): string[] {
  const found: string[] = [];
  for (const line of output.split(/\r?\n/)) {
    const m = TSC_DIAGNOSTIC.exec(line);
    if (m !== null) {
      const [, path, l, c, code, message] = m;
      if (path !== undefined && inNodeModules(resolve(cwd, path))) {
        found.push(""); // a dependency's error: dropped below, with its continuation lines
        continue;
      }
      found.push(
        `${path === undefined ? "" : `${resolve(cwd, path)}:${l}:${c}: `}error ${code}: ${message.trim()}`,
      );
    } else if (/^\s/.test(line) && line.trim() !== "" && found.length > 0 && found[found.length - 1] !== "") {
      found[found.length - 1] += ` ${line.trim()}`;
    }
  }
  return found.filter((l) => l !== "");
}

/**
 * The check with TypeScript's `tsc` command (TypeScript 7). Without a tsconfig.json, the defaults
 * as flags and the file, in its directory; with one, a generated config (in a temporary directory)
 * extending it, with emit off, the pipeline as its only file, and the project's @types directories
 * as type roots unless the project sets its own. Not cached: native tsc takes well under a second.
 */
function checkWithTsc(
  file: string,
  found: TypeScriptPackage,
  tsconfig: string | undefined,
  started: number,
): TypeCheckOutcome {
  const tsc = found.tsc!;
  const run = (args: string[], cwd: string) =>
    spawnSync(process.execPath, [tsc, ...args], {
      cwd,
      encoding: "utf8",
      maxBuffer: 64 * 1024 * 1024,
      timeout: 300_000,
    });
  let cwd: string;
  let args: string[];
  let generated: string | undefined;
  if (tsconfig === undefined) {
    cwd = dirname(file);
    args = ["--noEmit", "--pretty", "false", ...defaultFlags(file), file];
  } else {
    cwd = dirname(tsconfig);
    const shown = run(["--showConfig", "-p", tsconfig], cwd);
    let own: Record<string, unknown> = {};
    try {
      own = (JSON.parse(shown.stdout) as { compilerOptions?: Record<string, unknown> }).compilerOptions ?? {};
    } catch {
      // reported by the check itself
    }
    generated = join(mkdtempSync(join(tmpdir(), "weir-tsc-")), "tsconfig.json");
    writeFileSync(
      generated,
      JSON.stringify({
        extends: tsconfig,
        compilerOptions: {
          noEmit: true,
          emitDeclarationOnly: false,
          composite: false,
          incremental: false,
          ...("typeRoots" in own ? {} : { typeRoots: defaultTypeRoots(cwd) }),
        },
        files: [file],
        include: [],
      }),
    );
    args = ["-p", generated, "--pretty", "false"];
  }
  let r: ReturnType<typeof run>;
  try {
    r = run(args, cwd);
  } finally {
    if (generated !== undefined) rmSync(dirname(generated), { recursive: true, force: true });
  }
  const ms = performance.now() - started;
  if (r.error !== undefined)
    return { kind: "unavailable", reason: `${tsc} could not run (${r.error.message.split("\n")[0]})` };
  const all = parseTscOutput(`${r.stdout}\n${r.stderr}`, cwd);
  // Passed: no error, or errors in dependencies only (dropped by parseTscOutput).
  if (all.length === 0 && (r.status === 0 || /error TS\d+/.test(r.stdout)))
    return { kind: "passed", cached: false, ms, typescript: found.version };
  if (all.length === 0) {
    const text = `${r.stdout}${r.stderr}`.trim().split("\n")[0] ?? "";
    return {
      kind: "unavailable",
      reason: `${tsc} failed (${r.signal ?? `exit ${r.status}`}${text === "" ? "" : `: ${text}`})`,
    };
  }
  const lines = all.slice(0, MAX_SHOWN);
  if (all.length > MAX_SHOWN) lines.push(`... and ${all.length - MAX_SHOWN} more`);
  return { kind: "failed", errors: all.length, lines, ms, typescript: found.version };
}

let toldUnavailable = false;

/**
 * Type-check `file` for a command about to load it: type errors print one `file:line:col: error
 * TSnnnn: message` line each on stderr and fail as a usage error (exit 2); without TypeScript, say
 * once that the pipeline was not checked, and how to have it checked.
 */
export function checkTypesOrExplain(file: string): void {
  const outcome = typeCheckPipeline(file);
  if (outcome.kind === "unavailable") {
    if (!toldUnavailable)
      info(
        `${file} was not type-checked: ${outcome.reason}; \`npm install --save-dev typescript\` ` +
          "has pipelines checked before they run (--no-typecheck or WEIR_TYPECHECK=0 skips the check and this note)",
      );
    toldUnavailable = true;
    return;
  }
  if (outcome.kind !== "failed") return;
  process.stderr.write(outcome.lines.map((l) => `${l}\n`).join(""));
  throw usageError(
    `${file} does not type-check (${plural(outcome.errors, "error")}, TypeScript ${outcome.typescript}); ` +
      `fix ${outcome.errors === 1 ? "it" : "them"}, or run with --no-typecheck (or WEIR_TYPECHECK=0) to skip the check`,
  );
}
