/**
 * The data directory (`--data-dir`, `$WEIR_DATA_DIR`, `./.weir`): where it is, checking it,
 * opening the embedded log in it, and which version of an output readers follow after
 * `weir promote`.
 */
import { existsSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { WeirError } from "../errors.js";
import type { EmbeddedLog } from "../log/index.js";
import type { FlushPolicy, LogOptions } from "../log/types.js";
import { promotedName, readPromotions, type OutputKind } from "../runtime/promotions.js";
import { info } from "./output.js";

export const DEFAULT_DATA_DIR = ".weir";

/** `--data-dir`, else `$WEIR_DATA_DIR`, else `./.weir`; always an absolute path. */
export function resolveDataDir(
  opts: { dataDir?: string } = {},
  env: NodeJS.ProcessEnv = process.env,
): string {
  const fromFlag = opts.dataDir;
  if (fromFlag !== undefined && fromFlag !== "") return resolve(fromFlag);
  const fromEnv = env.WEIR_DATA_DIR;
  if (fromEnv !== undefined && fromEnv !== "") return resolve(fromEnv);
  return resolve(DEFAULT_DATA_DIR);
}

export interface OpenLogOptions {
  flush?: FlushPolicy;
  logger?: LogOptions["logger"];
}

/** Fail with one clear line when the data directory exists but is not a directory. */
export function checkDataDir(dataDir: string): void {
  let st;
  try {
    st = statSync(dataDir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return; // created by the log when needed
    if (code === "ENOTDIR") {
      throw new WeirError(
        "BAD_DATA_DIR",
        `data directory ${dataDir} is inside a file, not a directory; pass --data-dir DIR or set WEIR_DATA_DIR`,
      );
    }
    throw new WeirError("BAD_DATA_DIR", `cannot use data directory ${dataDir}: ${(err as Error).message}`);
  }
  if (!st.isDirectory()) {
    throw new WeirError(
      "BAD_DATA_DIR",
      `data directory ${dataDir} is a file, not a directory; pass --data-dir DIR or set WEIR_DATA_DIR to a directory`,
    );
  }
}

/** Open the embedded log in `dataDir` (after checking it), run `fn`, and always close the log. */
export async function withLog<T>(
  dataDir: string,
  fn: (log: EmbeddedLog) => T | Promise<T>,
  options: OpenLogOptions = {},
): Promise<T> {
  checkDataDir(dataDir);
  const { EmbeddedLog } = await import("../log/index.js");
  const logOptions: { flush?: FlushPolicy; logger?: (message: string) => void } = {};
  if (options.flush !== undefined) logOptions.flush = options.flush;
  if (options.logger !== undefined) logOptions.logger = options.logger;
  const log = await EmbeddedLog.open(dataDir, logOptions);
  let result: T;
  try {
    result = await fn(log);
  } catch (err) {
    try {
      await log.close();
    } catch {
      // keep the original error, not a close failure caused by it
    }
    throw err;
  }
  await log.close();
  return result;
}

/**
 * The name readers of `name` should read: the promoted version's when `weir promote` switched
 * them (said on stderr, with how to read the original), else `name` itself.
 */
export function followPromotion(kind: OutputKind, name: string, opts: { dataDir?: string }): string {
  const dataDir = resolveDataDir(opts);
  if (!existsSync(dataDir)) return name;
  const promoted = promotedName(readPromotions(dataDir), kind, name);
  if (promoted === undefined) return name;
  const { pipeline, version } = promoted.promotion;
  info(
    `${name} is promoted to ${promoted.name} (${pipeline} ${version}, \`weir promote\`): reading ${promoted.name}; --original reads ${name}`,
  );
  return promoted.name;
}
