/**
 * `weir dashboard [--port 4040] [--host 127.0.0.1] [--token T] [--broker URL] [--table-store URL]`:
 * the live web UI, the JSON API and Prometheus `/metrics` (docs/api.md) for every pipeline using the
 * data directory, until SIGINT/SIGTERM.
 */
import type { Command } from "commander";
import { BROKER_OPTION_HELP, resolveBroker } from "../broker.js";
import { checkDataDir, resolveDataDir } from "../data-dir.js";
import { intParser, type GlobalOptions } from "../options.js";
import { info } from "../output.js";
import { shutdownSignal } from "../shutdown.js";

interface DashboardCommandOptions extends GlobalOptions {
  port: number;
  host: string;
  token?: string;
  broker?: string;
  tableStore?: string;
}

export function register(program: Command): void {
  program
    .command("dashboard")
    .description("serve the live web UI, the HTTP API and Prometheus /metrics (until Ctrl-C)")
    .option("-p, --port <port>", "port to listen on (0: any free port)", intParser(0, 65535), 4040)
    .option("--host <address>", "address to bind; anything but loopback needs --token", "127.0.0.1")
    .option("--token <token>", "require this token on every request (default: $WEIR_TOKEN)")
    .option("--broker <url>", BROKER_OPTION_HELP)
    .option(
      "--table-store <url>",
      "where the versioned tables live: sqlite (default, in the data directory), sqlite:/path/file.db or postgres://user@host:port/db (also $WEIR_TABLE_STORE)",
    )
    .addHelpText(
      "after",
      "\nThe dashboard shows every pipeline that uses the data directory (--data-dir), running or stopped,\n" +
        "read from the status files they write every second; topics come from the embedded log (or --broker).\n" +
        "The API is described in docs/api.md; Prometheus scrapes /metrics.\n\n" +
        "Examples:\n" +
        "  weir dashboard                                  # http://127.0.0.1:4040/\n" +
        "  weir dashboard --port 8080 --broker kafka://127.0.0.1:9092\n" +
        "  WEIR_TOKEN=s3cret weir dashboard --host 0.0.0.0 # open http://<host>:4040/?token=s3cret once\n",
    )
    .action(async (_opts: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals<DashboardCommandOptions>();
      const dataDir = resolveDataDir(opts);
      checkDataDir(dataDir);
      const broker = resolveBroker(opts)?.url;
      const { startDashboard } = await import("../../dashboard/server.js");
      const stop = shutdownSignal();
      const dashboard = await startDashboard({
        host: opts.host,
        port: opts.port,
        dataDir,
        broker,
        tableStore: opts.tableStore ?? (process.env.WEIR_TABLE_STORE || undefined),
        token: opts.token ?? (process.env.WEIR_TOKEN || undefined),
        logger: (m) => info(m),
      });
      process.stdout.write(`${dashboard.url}\n`);
      info(`dashboard at ${dashboard.url} for ${dataDir}${broker ? ` and ${broker}` : ""} (Ctrl-C to stop)`);
      if (!stop.aborted)
        await new Promise<void>((r) => stop.addEventListener("abort", () => r(), { once: true }));
      await dashboard.close();
    });
}
