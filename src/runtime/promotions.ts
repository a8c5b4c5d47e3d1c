/**
 * Promotions: which version of a pipeline readers see (`weir promote`, the Kappa architecture's
 * switch). Kept in `<data dir>/promotions.json`:
 *
 *   { "nobroker": { "version": "v2", "promotedAt": "...", "topics": { "paid_user": "paid_user.v2", ... },
 *                   "tables": { "user_interactions": "user_interactions_v2" }, "datasets": { ... } } }
 *
 * Readers — `weir consume`, `weir table`, `weir query`, the dashboard — resolve a v1 name through
 * it and say so; `--original` (or the schema-qualified `lake.NAME` / `tables.NAME` in SQL) still
 * reads v1. Promoting back to v1 removes the entry. Pipelines themselves never read promotions:
 * each version keeps writing its own outputs.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { WeirError } from "../errors.js";
import type { VersionOutputs } from "../api/versions.js";

export interface Promotion extends VersionOutputs {
  promotedAt: string;
}

export type Promotions = Record<string, Promotion>;

export const PROMOTIONS_FILE = "promotions.json";

export function readPromotions(dataDir: string): Promotions {
  const file = join(dataDir, PROMOTIONS_FILE);
  if (!existsSync(file)) return {};
  try {
    return JSON.parse(readFileSync(file, "utf8")) as Promotions;
  } catch (err) {
    throw new WeirError(
      "BAD_DATA_DIR",
      `${file} cannot be read (${(err as Error).message}); fix or delete it (it only records \`weir promote\`)`,
    );
  }
}

/** Record that readers of `outputs.pipeline` see `outputs.version` (v1: forget the promotion). */
export function writePromotion(dataDir: string, outputs: VersionOutputs): void {
  const all = readPromotions(dataDir);
  if (outputs.version === "v1") delete all[outputs.pipeline];
  else all[outputs.pipeline] = { ...outputs, promotedAt: new Date().toISOString() };
  const file = join(dataDir, PROMOTIONS_FILE);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(all, null, 2) + "\n");
  renameSync(tmp, file);
}

export type OutputKind = "topics" | "tables" | "datasets";

/** Where readers of `name` are sent: the promoted version's name, or undefined when not promoted. */
export function promotedName(
  promotions: Promotions,
  kind: OutputKind,
  name: string,
): { name: string; promotion: Promotion } | undefined {
  for (const p of Object.values(promotions)) {
    const to = p[kind][name];
    if (to !== undefined && to !== name) return { name: to, promotion: p };
  }
  return undefined;
}

/** Every promoted name of one kind: v1 name -> promoted name. */
export function promotedNames(promotions: Promotions, kind: OutputKind): Map<string, string> {
  const out = new Map<string, string>();
  for (const p of Object.values(promotions))
    for (const [from, to] of Object.entries(p[kind])) if (from !== to) out.set(from, to);
  return out;
}
