/**
 * `weir lake list|compact`: the lake datasets under `<data>/lake/` (src/sinks/lake).
 */
import type { Command } from "commander";
import { UserError } from "../../errors.js";
import { resolveDataDir } from "../data-dir.js";
import { formatBytes, plural, q, renderTable } from "../format.js";
import { intParser, type GlobalOptions } from "../options.js";
import { info } from "../output.js";

interface ListOptions extends GlobalOptions {
  json?: boolean;
}

interface CompactOptions extends GlobalOptions {
  targetRows?: number;
}

export function register(program: Command): void {
  const lake = program
    .command("lake")
    .description("lake datasets: list them, compact small files")
    .addHelpText(
      "after",
      "\nExamples:\n  weir lake list\n  weir lake compact interactions\n  weir lake compact interactions --target-rows 500000\n" +
        '  weir query "SELECT count(*) FROM interactions"   (SQL over the lake)',
    );

  lake
    .command("list")
    .alias("ls")
    .description("list the datasets with their files, rows and size")
    .option("--json", "print as JSON")
    .action(async (_opts: ListOptions, cmd: Command) => {
      const opts = cmd.optsWithGlobals<ListOptions>();
      const dataDir = resolveDataDir(opts);
      const { listDatasets, readManifest, datasetDir } = await import("../../sinks/lake/manifest.js");
      const rows = listDatasets(dataDir).map((name) => {
        const m = readManifest(datasetDir(dataDir, name));
        const formats = [...new Set(m.files.map((f) => f.path.slice(f.path.lastIndexOf(".") + 1)))].sort();
        return {
          name,
          formats,
          partitions: new Set(m.files.map((f) => f.partition)).size,
          files: m.files.length,
          rows: m.files.reduce((s, f) => s + f.rows, 0),
          bytes: m.files.reduce((s, f) => s + f.bytes, 0),
          commit: m.commits.reduce((c, x) => Math.max(c, x.commit), 0),
          path: datasetDir(dataDir, name),
        };
      });
      if (opts.json) {
        process.stdout.write(JSON.stringify(rows, null, 2) + "\n");
        return;
      }
      if (rows.length === 0) {
        info(`no lake datasets in ${dataDir}`);
        return;
      }
      process.stdout.write(
        renderTable(
          ["DATASET", "FORMAT", "PARTITIONS", "FILES", "ROWS", "SIZE", "COMMIT"],
          rows.map((r) => [
            r.name,
            r.formats.join(",") || "-",
            String(r.partitions),
            String(r.files),
            String(r.rows),
            formatBytes(r.bytes),
            String(r.commit),
          ]),
          "llrrrrr",
        ),
      );
    });

  lake
    .command("compact")
    .description(
      "merge each partition's small files into larger ones (atomically; not while a pipeline writes it)",
    )
    .argument("<dataset>", "dataset name (see `weir lake list`)")
    .option("--target-rows <n>", "rows per merged file (default 1000000)", intParser(1))
    .action(async (name: string, _opts: CompactOptions, cmd: Command) => {
      const opts = cmd.optsWithGlobals<CompactOptions>();
      const dataDir = resolveDataDir(opts);
      const { compactDataset } = await import("../../sinks/lake/compact.js");
      const { listDatasets } = await import("../../sinks/lake/manifest.js");
      if (!listDatasets(dataDir).includes(name)) {
        const known = listDatasets(dataDir);
        throw new UserError(
          `no lake dataset ${q(name)} in ${dataDir}` +
            (known.length > 0
              ? ` (datasets: ${known.join(", ")})`
              : "; a pipeline creates it with .toLake()"),
        );
      }
      const r = await compactDataset(
        dataDir,
        name,
        opts.targetRows === undefined ? {} : { targetRows: opts.targetRows },
      );
      if (r.removedStray > 0)
        info(`removed ${plural(r.removedStray, "unlisted file")} left by an interrupted write`);
      if (r.written === 0) {
        info(
          `${name}: nothing to compact (${plural(r.filesBefore, "file")}, ${plural(r.rows, "row")})` +
            (r.recentFiles > 0
              ? `; ${plural(r.recentFiles, "file")} of commits not known to be checkpointed left as is`
              : ""),
        );
        return;
      }
      info(
        `${name}: ${r.filesBefore} -> ${plural(r.filesAfter, "file")} (${plural(r.written, "merged file")} in ` +
          `${plural(r.partitions, "partition")}; ${plural(r.rows, "row")})` +
          (r.recentFiles > 0
            ? `; ${plural(r.recentFiles, "file")} of commits not known to be checkpointed left as is`
            : ""),
      );
    });
}
