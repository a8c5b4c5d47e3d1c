/**
 * The built-in examples as the help of `weir run`, `replay`, `describe` and `promote` lists them,
 * derived from the registry (examples/index.ts). The registry (every example pipeline) is loaded only
 * when help is about to be shown — main.ts calls `loadExamplesForHelp()` then — so other commands
 * do not pay for loading it, and a build without the examples still runs.
 */
import type { Example } from "../../examples/index.js";

let examples: readonly Example[] | undefined;

/** Load the registry for the help texts below; a build without it lists no examples. */
export async function loadExamplesForHelp(): Promise<void> {
  try {
    examples = (await import("../../examples/index.js")).EXAMPLES;
  } catch {
    examples = [];
  }
}

/** The "Built-in examples" section of a command's help: names and descriptions, and each one's options. */
export function examplesHelp(withOptions: boolean): string {
  if (examples === undefined || examples.length === 0) return "";
  const out = [
    withOptions
      ? "\nBuilt-in examples, with their options (given after the name: `weir run nobroker --emit changes`):"
      : "\nBuilt-in examples:",
  ];
  const nameWidth = Math.max(...examples.map((e) => e.name.length));
  for (const e of examples) {
    out.push(`  ${e.name.padEnd(nameWidth)}  ${e.description}`);
    if (!withOptions) continue;
    const width = Math.max(...e.options.map((o) => o.flag.length + 2));
    for (const o of e.options)
      out.push(`      ${`--${o.flag}`.padEnd(width)}  ${o.description} (default ${o.default})`);
  }
  return out.join("\n");
}
