/**
 * A data directory for the SQL sandbox tests (test/dashboard/sql.test.ts, test/warehouse/sandbox.test.ts),
 * built by running real pipelines, with secrets planted around it; checks that an answer leaks
 * none of them, and fingerprints of files to prove nothing was written.
 *
 * - `interactions` (Parquet, date partitions) and `nobroker_dead_letters`, the tables
 *   `user_interactions` and `property_interactions`: NoBroker run on a file;
 * - `events_csv` and `events_jsonl`: the same events landed as CSV and JSON lines by a second pipeline;
 * - secrets, each line carrying `marker`: `secret.txt` beside the data directory (CSV-, TSV- and
 *   JSON-shaped lines), `secret.parquet` beside it (a column named after the marker), `notes.txt`
 *   in the data directory, `stray.csv` inside the lake folder of `interactions` (not in its manifest),
 *   `leak.csv` inside a partition folder: a symbolic link to secret.txt, and `lake/outside`: a
 *   symbolic link to the folder holding the secrets.
 */
import { createHash, randomBytes } from "node:crypto";
import {
  existsSync,
  lstatSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import assert from "node:assert/strict";
import { DuckDBInstance } from "@duckdb/node-api";
import { pipeline } from "../../src/index.js";
import { EmbeddedLog } from "../../src/log/index.js";
import { Runner } from "../../src/runtime/runner.js";
import { Interaction, nobroker } from "../../examples/nobroker/pipeline.js";
import { readManifest } from "../../src/sinks/lake/manifest.js";

export interface SandboxWorld {
  /** Holds the data directory and the secrets beside it. */
  root: string;
  dataDir: string;
  lake: string;
  /** A string in every line of every planted secret. */
  marker: string;
  /** Files outside the views: each holds `marker`. */
  secretTxt: string;
  secretParquet: string;
  notes: string;
  stray: string;
  /** A symbolic link inside a partition folder of `interactions`, to secretTxt. */
  link: string;
  /** `lake/outside`: a symbolic link to `root`. */
  outsideDir: string;
  /** Files the views read, one per dataset (absolute paths). */
  lakeFiles: Record<string, string>;
  /** Rows in each view. */
  rows: Record<string, number>;
}

const DAY = "2021-11-30";

/** `n` valid NoBroker interactions over two days (users 1..7, properties 1..5), then three bad lines. */
function inputLines(n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const day = i < n / 2 ? "2021-11-29" : DAY;
    const s = i % 60;
    const m = Math.floor(i / 60) % 60;
    out.push(
      JSON.stringify({
        user_id: 1 + (i % 7),
        property_id: 1 + (i % 5),
        date: `${day} 10:${String(m).padStart(2, "0")}:${String(s).padStart(2, "0")}`,
        event: i % 4 === 0 ? "View" : "Interaction",
      }),
    );
  }
  out.push("not json", `{"user_id":"seven"}`, `{"user_id":1}`);
  return out;
}

/** Build the world under a new temporary folder (the caller removes `root`). */
export async function buildSandboxWorld(events = 600): Promise<SandboxWorld> {
  const root = mkdtempSync(join(tmpdir(), "weir-sql-sandbox-"));
  const dataDir = join(root, "data");
  const input = join(root, "events.jsonl");
  writeFileSync(input, inputLines(events).join("\n") + "\n");

  const log = EmbeddedLog.open(dataDir, { logger: () => {} });
  try {
    await new Runner(nobroker(), { log, inputFile: input, logger: () => {} }).run();
    const formats = pipeline("formats", (p) => {
      const e = p.source("events", { schema: Interaction, eventTime: (x) => x.date });
      e.toLake("events_csv", { format: "csv" });
      e.toLake("events_jsonl", { format: "jsonl" });
    });
    await new Runner(formats, { log, inputFile: input, logger: () => {} }).run();
  } finally {
    log.close();
  }

  const marker = `weir-secret-${randomBytes(6).toString("hex")}`;
  const lake = join(dataDir, "lake");
  const secretTxt = join(root, "secret.txt");
  writeFileSync(
    secretTxt,
    [
      `name:${marker}-colon:x`,
      `tab\t${marker}-tab\tx`,
      `comma,${marker}-comma,x`,
      JSON.stringify({ secret: `${marker}-json` }),
      `${marker}-plain line`,
    ].join("\n") + "\n",
  );
  const secretParquet = join(root, "secret.parquet");
  const duck = await DuckDBInstance.create(":memory:");
  const conn = await duck.connect();
  await conn.run(
    `COPY (SELECT '${marker}-parquet-value' AS "${marker}_parquet_column") TO '${secretParquet}' (FORMAT parquet)`,
  );
  conn.closeSync();
  duck.closeSync();
  const notes = join(dataDir, "notes.txt");
  writeFileSync(notes, `note:${marker}-data-dir:x\n`);
  const stray = join(lake, "interactions", "stray.csv");
  writeFileSync(stray, `a,b\n${marker}-stray,1\n`);
  const lakeFiles: Record<string, string> = {};
  for (const name of ["interactions", "nobroker_dead_letters", "events_csv", "events_jsonl"]) {
    const m = readManifest(join(lake, name));
    assert.ok(m.files.length > 0, `the pipeline wrote dataset ${name}`);
    lakeFiles[name] = join(lake, name, ...m.files[0].path.split("/"));
  }
  const partition = join(lake, "interactions", `date=${DAY}`);
  assert.ok(existsSync(partition), `the pipeline wrote ${partition}`);
  const link = join(partition, "leak.csv");
  symlinkSync(secretTxt, link);
  const outsideDir = join(lake, "outside");
  symlinkSync(root, outsideDir);

  const valid = events;
  return {
    root,
    dataDir,
    lake,
    marker,
    secretTxt,
    secretParquet,
    notes,
    stray,
    link,
    outsideDir,
    lakeFiles,
    rows: { interactions: valid, events_csv: valid, events_jsonl: valid, nobroker_dead_letters: 3 },
  };
}

function readIfReadable(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

/** Text that must never be part of an answer: lines and fields of system files, and the environment. */
const SYSTEM_TEXT: string[] = (() => {
  const out = new Set<string>(["root:", "/bin/bash", "/usr/sbin/nologin", "/bin/sh", "/root"]);
  for (const file of ["/etc/passwd", "/etc/shadow", "/etc/hostname"]) {
    for (const line of (readIfReadable(file) ?? "").split("\n"))
      if (line.trim().length >= 6) out.add(line.trim());
  }
  for (const [k, v] of Object.entries(process.env))
    if (v !== undefined && v.length >= 12 && !/^\/tmp\b/.test(v)) out.add(`${k}=${v}`);
  return [...out];
})();

/** Assert that `text` (an answer) holds no planted secret and nothing of /etc/passwd, /etc/shadow or the environment. */
export function assertNoLeak(text: string, world: SandboxWorld, what: string): void {
  assert.ok(!text.includes(world.marker), `${what}: the answer holds a planted secret: ${text}`);
  for (const s of SYSTEM_TEXT)
    assert.ok(!text.includes(s), `${what}: the answer holds ${JSON.stringify(s)} of a system file: ${text}`);
}

/**
 * Every entry under `dir` (symbolic links not followed): path -> sha256 of a file, a link's target,
 * or "dir". Left out: the shared-memory index and WAL files SQLite creates beside a WAL database
 * (tables.db) for any reader — the tables endpoint, `weir table`, the warehouse copying a table —
 * which are no query's doing (tables.db itself is compared).
 */
export function fingerprint(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      if (name.endsWith(".db-shm") || name.endsWith(".db-wal")) continue;
      const path = join(d, name);
      const rel = relative(dir, path);
      const st = lstatSync(path);
      if (st.isSymbolicLink()) out.set(rel, `link ${readlinkSync(path)}`);
      else if (st.isDirectory()) {
        out.set(rel, "dir");
        walk(path);
      } else out.set(rel, createHash("sha256").update(readFileSync(path)).digest("hex"));
    }
  };
  walk(dir);
  return out;
}
