/**
 * Regression (found by the fuzz harness, issue 14): a lake row of a few megabytes — one long string
 * — made its dataset unreadable, and with it every `weir query` of the data directory ("CSV Error
 * on Line: 1 ... Maximum line size of 2000000 bytes exceeded"): the warehouse read CSV files with
 * DuckDB's default longest line (2 MB) and JSON lines with its default longest object (16 MiB,
 * which its reader's buffer stretched to 32 MiB).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { LakeDataset } from "../../src/sinks/lake/index.js";
import { openWarehouse } from "../../src/warehouse/index.js";
import { T0, tempDataDir } from "../sinks/lake/helpers.js";

test("lake rows longer than DuckDB's default line size (CSV 2 MB; JSON lines up to the 32 MiB row limit) are readable", async (t) => {
  const dataDir = tempDataDir(t);
  // A lake row is at most 32 MiB as JSON (src/util/records.ts): the longest JSON line is just under.
  const long = { csv: 3_000_000, jsonl: 32 * 1024 * 1024 - 64 };
  for (const format of ["csv", "jsonl"] as const) {
    const ds = LakeDataset.open(dataDir, { name: `long_${format}`, format, partitionBy: "none" });
    ds.append({ i: 0, s: "short" }, T0);
    ds.append({ i: 1, s: "x".repeat(long[format]) }, T0);
    ds.append({ i: 2, s: '"quoted", with\nline breaks' }, T0);
    await ds.publish(1);
    await ds.close();
  }
  const wh = await openWarehouse(dataDir);
  t.after(() => wh.close());
  for (const format of ["csv", "jsonl"] as const) {
    const rows = (
      await wh.run(`SELECT i::INTEGER AS i, length(s)::INTEGER AS n FROM long_${format} ORDER BY i`)
    ).getRowObjectsJS();
    assert.deepEqual(
      rows,
      [
        { i: 0, n: 5 },
        { i: 1, n: long[format] },
        { i: 2, n: 26 },
      ],
      format,
    );
  }
});
