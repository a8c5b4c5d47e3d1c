/**
 * Finds the pipeline a command names: a built-in example (`nobroker`) or a user's module
 * (`./my-pipeline.ts`, loaded with tsx so TypeScript runs as is). A module's default export is a
 * pipeline definition, or a function taking the command line's extra options and returning one.
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { isPipelineDefinition, type PipelineDefinition } from "../api/pipeline.js";
import { UserError, usageError } from "../errors.js";
import { importPipelineModule, pipelineLoadError } from "./pipeline-module.js";
import { checkTypesOrExplain } from "./typecheck.js";

export interface ResolvedPipeline {
  definition: PipelineDefinition;
  /** "example" for built-ins, else the module path. */
  origin: string;
}

/** `--name value` / `--name=value` / `--flag` pairs left over after the command's own options. */
export function parseExtraOptions(args: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (!a.startsWith("--")) throw usageError(`unexpected argument ${JSON.stringify(a)}`);
    const eq = a.indexOf("=");
    if (eq > 0) out[a.slice(2, eq)] = a.slice(eq + 1);
    else if (i + 1 < args.length && !args[i + 1].startsWith("--")) out[a.slice(2)] = args[++i];
    else out[a.slice(2)] = "true";
  }
  return out;
}

export interface ResolveOptions {
  /** Type-check a TypeScript module before loading it (src/cli/typecheck.ts); default false. */
  typecheck?: boolean;
}

export async function resolvePipeline(
  name: string,
  extra: Record<string, string>,
  options: ResolveOptions = {},
): Promise<ResolvedPipeline> {
  const { EXAMPLES, findExample } = await import("../../examples/index.js");
  const example = findExample(name);
  if (example !== undefined) {
    const known = new Set(example.options.map((o) => o.flag));
    for (const flag of Object.keys(extra)) {
      if (!known.has(flag)) {
        throw usageError(
          `unknown option --${flag} for ${name}; its options: ${example.options.map((o) => `--${o.flag}`).join(", ")}`,
        );
      }
    }
    return { definition: example.build(extra), origin: "example" };
  }
  const path = resolve(name);
  if (!existsSync(path)) {
    throw new UserError(
      `no pipeline file ${path} and no built-in example named ${JSON.stringify(name)} (built-in: ${EXAMPLES.map((e) => e.name).join(", ")})`,
    );
  }
  if (options.typecheck === true) checkTypesOrExplain(path);
  const mod = await importPipelineModule(path);
  let exported = mod.default;
  // tsx may wrap a CommonJS-style default once more.
  if (exported && typeof exported === "object" && "default" in exported && !isPipelineDefinition(exported))
    exported = (exported as { default: unknown }).default;
  if (typeof exported === "function") {
    try {
      exported = await (exported as (o: Record<string, string>) => unknown)(extra);
    } catch (err) {
      throw pipelineLoadError(path, err, { fromOptions: Object.keys(extra).length > 0 });
    }
  } else if (Object.keys(extra).length > 0)
    throw usageError(
      `unknown option(s) ${Object.keys(extra)
        .map((k) => `--${k}`)
        .join(", ")}: ${path} exports a pipeline, not a function taking options`,
    );
  if (!isPipelineDefinition(exported)) {
    throw new UserError(
      `${path} must \`export default pipeline("name", (p) => ...)\` (or a function returning one)`,
    );
  }
  return { definition: exported, origin: path };
}
