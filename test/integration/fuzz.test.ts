/**
 * The fuzz harness with the versioned table in PostgreSQL (`--table-store postgres://...`, a
 * database per run on this file's own server): the same properties as test/runtime/fuzz.test.ts —
 * the run exits 0, every line is processed or a dead letter with a reason, and a restart after
 * SIGKILL gives the same outputs — with the records PostgreSQL cannot keep exactly (NUL, keys longer
 * than an index entry, times before 4713 BC) allowed to be dead letters instead
 * (test/helpers/fuzz/reference.ts). Seeded and bounded: WEIR_FUZZ_SEED replays.
 */
import { describe, test } from "node:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fuzz } from "../helpers/fuzz/harness.js";
import { requireService, usePostgres } from "../helpers/services.js";

describe("fuzz with PostgreSQL tables", () => {
  const server = usePostgres({ port: 25451, dir: "/tmp/weir-pg-test-fuzz" });

  test(
    "fuzz (PostgreSQL tables): arbitrary lines through every sink never crash the run, each is processed or a dead letter, and a SIGKILL changes nothing",
    { timeout: 10 * 60_000 },
    async (t) => {
      if (server.url === undefined) return requireService(t, "PostgreSQL", server.unavailable);
      const dir = mkdtempSync(join(tmpdir(), "weir-fuzz-pg-"));
      t.after(() => rmSync(dir, { recursive: true, force: true }));
      await fuzz({
        store: "postgres",
        postgresUrl: server.url,
        dir,
        log: (message) => process.stderr.write(`${message}\n`),
        defaultSeed: 987493113,
      });
    },
  );
});
