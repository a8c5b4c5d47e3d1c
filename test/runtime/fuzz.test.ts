/**
 * The fuzz harness with the default table store (SQLite): arbitrary lines — any Unicode, invalid
 * UTF-8, NUL, huge and deeply nested values, every JSON type — through a pipeline writing to a
 * topic, a versioned table, the lake as Parquet, JSON lines and CSV and the dead letters; the run
 * exits 0, every line is processed or a dead letter with a reason, and a restart after SIGKILL gives
 * the same outputs (test/helpers/fuzz/harness.ts). Seeded and bounded: WEIR_FUZZ_SEED replays.
 */
import { test } from "node:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fuzz } from "../helpers/fuzz/harness.js";

test(
  "fuzz (SQLite tables): arbitrary lines through every sink never crash the run, each is processed or a dead letter, and a SIGKILL changes nothing",
  { timeout: 10 * 60_000 },
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), "weir-fuzz-"));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    await fuzz({
      store: "sqlite",
      dir,
      log: (message) => process.stderr.write(`${message}\n`),
      defaultSeed: 138726443,
    });
  },
);
