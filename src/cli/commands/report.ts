/**
 * `weir report <name> [--out DIR] [--seed N] [--no-png]`: an analysis of lake data, as a
 * self-contained HTML page with charts, PNGs of the charts, and the numbers on stdout.
 *
 * Reports (src/report/):
 * - energy-weather: energy vs temperature scatter with the fitted line, weekly and daily energy
 *   lines, linear regression of kwh on temperature_c trained on 70% and tested on 30% of the rows.
 */
import type { Command } from "commander";
import { usageError, UserError } from "../../errors.js";
import { checkDataDir, resolveDataDir } from "../data-dir.js";
import type { GlobalOptions } from "../options.js";
import { info } from "../output.js";
import { parseSeed } from "./generate.js";

interface ReportOptions extends GlobalOptions {
  out: string;
  seed: number;
  png: boolean;
}

const REPORTS = ["energy-weather"] as const;

export function register(program: Command): void {
  program
    .command("report")
    .description("analyse lake data into an HTML page with charts (and PNGs): energy-weather")
    .argument("<report>", `the report: ${REPORTS.join(", ")}`)
    .option("-o, --out <dir>", "directory for the HTML page, PNGs and numbers", "report")
    .option("--seed <n>", "seed of the 70/30 train/test split: same seed, same split", parseSeed, 1)
    .option("--no-png", "skip the PNG charts (the HTML page has them as SVG)")
    .addHelpText(
      "after",
      "\nExamples:\n" +
        "  weir generate energy-weather -o data && weir run energy-weather --input data\n" +
        "  weir report energy-weather                     # report/energy-weather.html + PNGs\n" +
        "  weir report energy-weather --out /tmp/r --seed 7",
    )
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals<ReportOptions>();
      if (!(REPORTS as readonly string[]).includes(name))
        throw usageError(`unknown report ${JSON.stringify(name)}; known reports: ${REPORTS.join(", ")}`);
      const dataDir = resolveDataDir(opts);
      checkDataDir(dataDir);
      const { buildEnergyWeatherReport, formatEnergyWeatherReport } =
        await import("../../report/energy-weather.js");
      let report;
      try {
        report = await buildEnergyWeatherReport({
          dataDir,
          outDir: opts.out,
          seed: opts.seed,
          png: opts.png,
        });
      } catch (err) {
        if (
          (err as NodeJS.ErrnoException).code === "EACCES" ||
          (err as NodeJS.ErrnoException).code === "ENOTDIR"
        )
          throw new UserError(
            `cannot write the report to ${opts.out}: ${(err as Error).message} (check --out)`,
          );
        throw err;
      }
      process.stdout.write(formatEnergyWeatherReport(report) + "\n");
      if (report.pngSkipped !== undefined && report.pngSkipped !== "--no-png")
        info(`PNG charts skipped: ${report.pngSkipped}`);
      info(`wrote ${report.files.join(", ")}`);
    });
}
