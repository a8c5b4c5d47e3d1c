/**
 * Regression (found by the fuzz harness, issue 14): a string starting with U+FEFF lost it on its
 * way out of the warehouse — `weir query` printed a lake row's "\uFEFFx" as "x" — because
 * @duckdb/node-api decodes every VARCHAR with a TextDecoder that drops a leading byte-order mark.
 * The stored data was right; what users read was not.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { LakeDataset } from "../../src/sinks/lake/index.js";
import { openWarehouse } from "../../src/warehouse/index.js";
import { runCli } from "../cli/helpers.js";
import { T0, tempDataDir } from "../sinks/lake/helpers.js";

const VALUES = ["\ufeffx", "\ufeff", "\ufeff\ufeffy", "a\ufeffb", "\u00a0 lead"];

test("strings starting with U+FEFF keep it through the warehouse and weir query (the DuckDB client dropped it)", async (t) => {
  const dataDir = tempDataDir(t);
  for (const format of ["parquet", "jsonl", "csv"] as const) {
    const ds = LakeDataset.open(dataDir, { name: `bom_${format}`, format, partitionBy: "none" });
    VALUES.forEach((s, i) => ds.append({ i, s }, T0));
    await ds.publish(1);
    await ds.close();
  }

  const wh = await openWarehouse(dataDir);
  t.after(() => wh.close());
  const literal = (await wh.run("SELECT chr(65279) || 'x' AS s")).getRowObjectsJS();
  assert.deepEqual(literal, [{ s: "\ufeffx" }]);
  for (const format of ["parquet", "jsonl"]) {
    const rows = (await wh.run(`SELECT s FROM bom_${format} ORDER BY i`)).getRowObjectsJS();
    assert.deepEqual(
      rows.map((r) => r.s),
      VALUES,
      format,
    );
  }

  const r = await runCli([
    "query",
    "SELECT s FROM bom_csv ORDER BY i",
    "--format",
    "json",
    "--data-dir",
    dataDir,
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(
    r.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l).s),
    VALUES,
  );
});
