/**
 * The `weir` command line: builds the commander program, registers every sub-command and turns
 * errors into one clear line on stderr (user mistakes) or a stack trace (bugs).
 *
 * Adding a command: create src/cli/commands/<name>.ts exporting `register(program: Command): void`
 * and add its name to COMMANDS below (one line). Conventions for command authors:
 * - Create commands with `program.command(...)` so they inherit the error/exit settings.
 * - Read options with `cmd.optsWithGlobals()` (the global `--data-dir`, `--quiet` are on the program;
 *   do not define them again) and call `resolveDataDir(opts)` (data-dir.ts).
 * - Data goes to stdout (use OutputBuffer for anything large); messages go to stderr via `info()`
 *   (output.ts).
 * - A user's mistake is `throw new UserError("what was wrong; how to fix it")` (or `usageError(...)`
 *   for a bad combination of flags; both in src/errors.ts): main prints one line `weir: ...` and
 *   exits 1 (2 for usage).
 * - Keep a command file cheap to import: load heavy dependencies with `await import()` in the action.
 *
 * What commands share, one concern per module: options.ts (global options, option value parsers),
 * data-dir.ts (the data directory, opening the embedded log, promoted names), broker.ts (`--broker`),
 * output.ts (stderr messages, buffered stdout), format.ts (quoting, sizes, tables), errors.ts (exit
 * codes), shutdown.ts (SIGINT/SIGTERM, pacing); kafka/ holds the `--broker` paths of consume,
 * produce and topics.
 */
import { Command, CommanderError } from "commander";
import { WeirError } from "../errors.js";
import { UserError } from "../errors.js";
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from "./errors.js";
import type { GlobalOptions } from "./options.js";
import { drainStdout, installStdoutGuard, setQuiet } from "./output.js";
import { environmentHelp } from "./environment.js";
import { loadExamplesForHelp } from "./examples-help.js";
import { stopWhenNpmGoesAway } from "./parent-watch.js";

/** Sub-commands, in the order `weir --help` lists them: each is src/cli/commands/<name>.ts. */
// prettier-ignore
const COMMANDS: readonly string[] = [
  "topics",
  "produce",
  "consume",
  "run",
  "describe",
  "reset",
  "generate",
  "demo",
  "table",
  "query",
  "report",
  "lake",
  "replay",
  "promote",
  "dashboard",
];

export interface CommandModule {
  register(program: Command): void;
}

const VERSION = "0.1.0";

async function createProgram(): Promise<Command> {
  const program = new Command("weir")
    .description(
      "Near-real-time stream processing for TypeScript: durable log, pipelines, tables, lake, dashboard.",
    )
    .version(VERSION, "-V, --version", "print the version")
    .option("--data-dir <dir>", "data directory (default: $WEIR_DATA_DIR, else ./.weir)")
    .option("-q, --quiet", "no informational messages on stderr (errors are still printed)")
    .option("--debug", "print stack traces for every error (also: WEIR_DEBUG=1)")
    .helpOption("-h, --help", "show help")
    .helpCommand("help [command]", "show help for a command")
    .showSuggestionAfterError(true)
    .configureHelp({ showGlobalOptions: true, sortSubcommands: false })
    .exitOverride()
    .configureOutput({
      // main() prints commander's errors itself, as one line.
      outputError: () => {},
    })
    .addHelpText(
      "after",
      `\n${environmentHelp()}\n` +
        "\nExit codes: 0 ok, 1 failure, 2 usage error.\nRun `weir help <command>` for a command's options.",
    );

  program.hook("preAction", (_this, actionCommand) => {
    const opts = actionCommand.optsWithGlobals<GlobalOptions>();
    setQuiet(opts.quiet === true);
  });

  const modules = await Promise.all(
    COMMANDS.map((name) => import(`./commands/${name}.js`) as Promise<unknown>),
  );
  modules.forEach((mod, i) => {
    const register = (mod as Partial<CommandModule>).register;
    if (typeof register !== "function") {
      throw new Error(`src/cli/commands/${COMMANDS[i]}.ts does not export register(program)`);
    }
    register(program);
  });
  // Commands built with `new Command()` + addCommand() do not inherit settings: apply them everywhere.
  const walk = (cmd: Command) => {
    cmd.exitOverride();
    cmd.configureOutput({ outputError: () => {} });
    cmd.commands.forEach(walk);
  };
  walk(program);
  return program;
}

/** The deepest command named by argv (for "see `weir topics create --help`" hints). */
function commandPath(program: Command, args: readonly string[]): string {
  const names = ["weir"];
  let cmd = program;
  for (const arg of args) {
    if (arg.startsWith("-")) continue;
    // Skips option values and operands: only names of the current command's sub-commands count.
    const sub = cmd.commands.find((c) => c.name() === arg || c.aliases().includes(arg));
    if (!sub) continue;
    names.push(sub.name());
    cmd = sub;
  }
  return names.join(" ");
}

function oneLine(text: string): string {
  return text
    .replace(/^error:\s*/i, "")
    .split("\n")
    .map((s) => s.trim())
    .filter((s) => s !== "")
    .join(" ");
}

/** The stack of `err` and of each error in its cause chain (`caused by: ...`), for --debug. */
function errorChain(err: unknown): string {
  let text = "";
  const seen = new Set<unknown>();
  let e: unknown = err;
  for (let depth = 0; depth < 10 && e !== undefined && !seen.has(e); depth++) {
    seen.add(e);
    const stack = e instanceof Error ? (e.stack ?? `${e.name}: ${e.message}`) : String(e);
    text += `${depth === 0 ? "" : "caused by: "}${stack}\n`;
    e = e instanceof Error ? e.cause : undefined;
  }
  return text;
}

/** Print an error the way the contract says and return the exit code. */
function reportError(
  err: unknown,
  program: Command | undefined,
  args: readonly string[],
  debug: boolean,
): number {
  if (err instanceof CommanderError) {
    if (err.code === "commander.helpDisplayed" || err.code === "commander.version") return EXIT_OK;
    // `weir help [command]` (exit code 0), or help shown because a sub-command is missing (1).
    if (err.code === "commander.help") return err.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    const where = program ? commandPath(program, args) : "weir";
    process.stderr.write(`weir: ${oneLine(err.message)} (see \`${where} --help\`)\n`);
    return EXIT_USAGE;
  }
  if (err instanceof UserError) {
    process.stderr.write(`weir: ${oneLine(err.message)}\n`);
    if (debug) process.stderr.write(errorChain(err));
    return err.exitCode;
  }
  // The environment failing in a way Weir understands (a store that is down, a corrupt file): one line.
  if (err instanceof WeirError && !err.isUserError && err.code !== "INTERNAL" && !debug) {
    process.stderr.write(`weir: ${oneLine(err.message)} (run with --debug for details)\n`);
    return EXIT_FAILURE;
  }
  if (err instanceof WeirError && err.isUserError) {
    process.stderr.write(`weir: ${oneLine(err.message)}\n`);
    if (debug) process.stderr.write(errorChain(err));
    return err.code === "USAGE" ? EXIT_USAGE : EXIT_FAILURE;
  }
  // The environment failing in an understandable way (permissions, full disk): one line.
  const errno = err as NodeJS.ErrnoException;
  if (
    err instanceof Error &&
    typeof errno.code === "string" &&
    typeof errno.path === "string" &&
    [
      "EACCES",
      "EPERM",
      "ENOSPC",
      "EROFS",
      "EDQUOT",
      "EMFILE",
      "ENFILE",
      "ENOTDIR",
      "EISDIR",
      "ENOENT",
    ].includes(errno.code) &&
    !debug
  ) {
    process.stderr.write(`weir: ${oneLine(err.message)} (run with --debug for details)\n`);
    return EXIT_FAILURE;
  }
  process.stderr.write(`weir: unexpected error (this is a bug; please report it):\n${errorChain(err)}`);
  return EXIT_FAILURE;
}

async function main(argv: readonly string[] = process.argv): Promise<number> {
  installStdoutGuard();
  stopWhenNpmGoesAway();
  const args = argv.slice(2);
  const debug = args.includes("--debug") || process.env.WEIR_DEBUG === "1";
  let program: Command | undefined;
  let code: number;
  try {
    program = await createProgram();
    if (args.some((a) => a === "-h" || a === "--help" || a === "help")) await loadExamplesForHelp();
    await program.parseAsync(args, { from: "user" });
    code = typeof process.exitCode === "number" ? process.exitCode : EXIT_OK;
  } catch (err) {
    code = reportError(err, program, args, debug);
  }
  await drainStdout();
  return code;
}

const code = await main();
// Exit explicitly: a command is done when its action returns, whatever timers or watchers remain.
process.exit(code);
