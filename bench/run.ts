/**
 * `npm run bench`: every benchmark, printed as a table and saved to bench/results/<date>.json.
 * `npm run bench -- log schema` runs only the named groups. The figures are summarised in docs/benchmarks.md.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { fileURLToPath } from "node:url";
import { runKafkaBench } from "./kafka.js";
import { runLakeBench } from "./lake.js";
import { runLogBench } from "./log.js";
import { runNoBrokerBench } from "./nobroker.js";
import { runSchemaBench } from "./schema.js";
import { runTableBench } from "./table.js";
import type { BenchResult } from "./types.js";

const GROUPS: Record<string, () => Promise<BenchResult[]>> = {
  log: runLogBench,
  schema: () => runSchemaBench(),
  nobroker: runNoBrokerBench,
  lake: runLakeBench,
  table: runTableBench,
  kafka: runKafkaBench,
};

const wanted = process.argv.slice(2);
for (const w of wanted) {
  if (!(w in GROUPS)) {
    console.error(`bench: unknown group ${w}; groups: ${Object.keys(GROUPS).join(", ")}`);
    process.exit(2);
  }
}
const machine = `${cpus().length} x ${cpus()[0]?.model ?? "cpu"}, ${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version}`;
console.log(`weir benchmarks on ${machine}\n`);
const all: Array<BenchResult & { group: string }> = [];
for (const [group, run] of Object.entries(GROUPS)) {
  if (wanted.length > 0 && !wanted.includes(group)) continue;
  const results = await run();
  for (const r of results) {
    all.push({ group, ...r });
    const target = r.target ? `  (target ${r.target})` : "";
    console.log(`${group.padEnd(9)} ${r.name.padEnd(58)} ${String(r.value).padStart(12)} ${r.unit}${target}`);
    if (r.note) console.log(`${"".padEnd(10)}${r.note}`);
  }
}
const dir = fileURLToPath(
  new URL(import.meta.url.endsWith(".ts") ? "./results/" : "../../bench/results/", import.meta.url),
);
mkdirSync(dir, { recursive: true });
const file = `${dir}${new Date().toISOString().replace(/[:.]/g, "-")}.json`;
writeFileSync(file, JSON.stringify({ machine, at: new Date().toISOString(), results: all }, null, 2) + "\n");
console.log(`\nsaved ${file}`);
