/**
 * Regression (found by the fuzz harness, issue 14): an empty string in a CSV lake dataset read back
 * as NULL. The files are right — the writer quotes an empty string ("") and writes NULL as nothing —
 * but DuckDB's CSV reader turns quoted empty values into NULL unless told otherwise.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { LakeDataset } from "../../src/sinks/lake/index.js";
import { openWarehouse } from "../../src/warehouse/index.js";
import { T0, tempDataDir } from "../sinks/lake/helpers.js";

test("an empty string in a CSV lake dataset reads back as an empty string, NULL as NULL", async (t) => {
  const dataDir = tempDataDir(t);
  const ds = LakeDataset.open(dataDir, { name: "strings", format: "csv", partitionBy: "none" });
  ds.append({ i: 0, s: "", n: null, tags: [""] }, T0);
  ds.append({ i: 1, s: "x", n: 1, tags: null }, T0);
  ds.append({ i: 2, s: null, n: null, tags: [] }, T0);
  ds.append({ i: 3, s: " ", n: 2, tags: ["", ""] }, T0);
  await ds.publish(1);
  await ds.close();
  const wh = await openWarehouse(dataDir);
  t.after(() => wh.close());
  const rows = (
    await wh.run(
      "SELECT i::INTEGER AS i, s, s IS NULL AS s_null, n IS NULL AS n_null FROM strings ORDER BY i",
    )
  ).getRowObjectsJS();
  assert.deepEqual(rows, [
    { i: 0, s: "", s_null: false, n_null: true },
    { i: 1, s: "x", s_null: false, n_null: false },
    { i: 2, s: null, s_null: true, n_null: true },
    { i: 3, s: " ", s_null: false, n_null: false },
  ]);
});
