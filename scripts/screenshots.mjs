#!/usr/bin/env node
// Screenshots of the dashboard for the docs (docs/screenshots/*.png, 1280x800): runs the NoBroker
// pipeline live in this process on a temporary data directory with a generator writing to `events`,
// serves the dashboard, lets the charts collect ~15 s of history, and photographs each page in
// Debian's chromium (playwright-core). Then it starts the bitcoin example too (its generator writing
// ticks to `bpi`, event time running 300x faster than the wall clock so that 1-minute candles come
// several a second) and photographs the live chart of its output topic `bpi_ohlc`.
//
//   npm run build && node scripts/screenshots.mjs [--dist DIR] [--out DIR] [--wait SECONDS]
//
// --dist: the compiled project (default dist/; its web/ holds the page). WEIR_CHROMIUM: the browser
// (default /usr/bin/chromium).
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

const root = new URL("..", import.meta.url).pathname;
const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : fallback;
};
const dist = resolve(option("--dist", join(root, "dist")));
const outDir = resolve(option("--out", join(root, "docs", "screenshots")));
const waitMs = Number(option("--wait", "15")) * 1000;
const chromiumPath = process.env.WEIR_CHROMIUM || "/usr/bin/chromium";

for (const [what, path] of [
  ["the compiled project (npm run build)", join(dist, "src", "dashboard", "server.js")],
  ["the dashboard's page (npm run build)", join(dist, "web", "index.html")],
  ["Chromium (apt-get install chromium, or set WEIR_CHROMIUM)", chromiumPath],
]) {
  if (!existsSync(path)) {
    console.error(`screenshots: ${path} is missing: needs ${what}`);
    process.exit(1);
  }
}

const load = (path) => import(pathToFileURL(join(dist, path)).href);
const [
  { nobroker },
  { bitcoin },
  { Runner },
  { EmbeddedLog },
  { createNoBrokerGenerator, producePaced, BitcoinGenerator, BPI_TOPIC },
  { startDashboard },
] = await Promise.all([
  load("examples/nobroker/pipeline.js"),
  load("examples/bitcoin/pipeline.js"),
  load("src/runtime/runner.js"),
  load("src/log/index.js"),
  load("src/generate/index.js"),
  load("src/dashboard/server.js"),
]);
const { chromium } = await import("playwright-core");

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const dataDir = mkdtempSync(join(tmpdir(), "weir-screenshots-"));
const log = EmbeddedLog.open(dataDir, { logger: () => {} });
log.ensureTopic("events", { partitions: 1 });
const runner = new Runner(nobroker(), { log, logger: () => {}, checkpointIntervalMs: 2000 });
const running = runner.run();
const stop = new AbortController();
running.catch(() => stop.abort());
const writer = log.writer("events");
const perSecond = 800;
const producing = producePaced({
  generator: createNoBrokerGenerator({
    seed: 3,
    users: 20_000,
    properties: 500,
    eventsPerMinute: perSecond * 60,
    startTime: Date.now(),
  }),
  writer,
  perSecond,
  signal: stop.signal,
});
const dashboard = await startDashboard({ dataDir, port: 0 });
// Started after the other pages are photographed (the pipelines page shows NoBroker alone).
let bitcoinRunner;
let bitcoinRunning;
let bpiWriter;
let bpiProducing;
const browser = await chromium.launch({
  executablePath: chromiumPath,
  headless: true,
  args: ["--no-sandbox"],
});

try {
  mkdirSync(outDir, { recursive: true });
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.on("pageerror", (err) => console.error(`screenshots: the page threw: ${err}`));
  const go = (hash) => page.goto(new URL(hash, dashboard.url).href);
  const shoot = async (name) => {
    await page.screenshot({ path: join(outDir, `${name}.png`) });
    console.log(`screenshots: ${join(outDir, `${name}.png`)}`);
  };
  console.log(`screenshots: pipeline and generator running; waiting ${waitMs / 1000} s for history`);
  await sleep(waitMs);

  await go("#/pipelines");
  await page.getByTestId("pipeline-card").first().waitFor();
  await sleep(3000); // a few live points after the history
  await shoot("pipelines");

  await go("#/topics/events");
  await page.getByTestId("record-row").first().waitFor();
  await page.getByTestId("pause").check();
  // The records, not the chart of the events' ids (the topic-chart shot is the chart's).
  await page.locator("[data-testid=topic-chart-panel] > summary").click();
  await shoot("topic");

  await go("#/sql");
  await page
    .getByTestId("sql-input")
    .fill(
      "SELECT event, count(*) AS events, count(DISTINCT user_id) AS users\n" +
        "FROM interactions\nGROUP BY event\nORDER BY events DESC",
    );
  await page.getByTestId("sql-run").click();
  await page.getByTestId("sql-chart").waitFor();
  await shoot("sql");

  await go("#/dead-letters");
  await page.getByTestId("dead-letter-row").first().waitFor({ timeout: 30_000 });
  await shoot("dead-letters");

  await go("#/tables/user_interactions");
  await page.getByTestId("table-version-row").first().waitFor();
  await shoot("tables");

  // The bitcoin example: a tick (USD, EUR, GBP) every second of event time from three hours ago,
  // 300 ticks a second, so a 1-minute candle per currency lands on bpi_ohlc every 0.2 s. A higher
  // volatility than the default makes the minutes' moves visible at this scale.
  log.ensureTopic(BPI_TOPIC, { partitions: 1 });
  bitcoinRunner = new Runner(bitcoin({ lake: false }), { log, logger: () => {}, checkpointIntervalMs: 2000 });
  bitcoinRunning = bitcoinRunner.run();
  bitcoinRunning.catch(() => stop.abort());
  bpiWriter = log.writer(BPI_TOPIC);
  bpiProducing = producePaced({
    generator: new BitcoinGenerator({
      seed: 4,
      startTime: Math.floor((Date.now() - 3 * 3_600_000) / 60_000) * 60_000,
      volatility: 2.5,
    }),
    writer: bpiWriter,
    perSecond: 900,
    signal: stop.signal,
  });
  await sleep(Math.min(waitMs, 15_000));
  await go("#/topics/bpi_ohlc?y=close&series=currency&x=window_end");
  await page.getByTestId("topic-chart").locator("canvas").waitFor({ timeout: 30_000 });
  await sleep(2000); // a few live updates
  await page.getByTestId("pause").check();
  await shoot("topic-chart");
} finally {
  await browser.close();
  stop.abort();
  await producing;
  await bpiProducing;
  writer.close();
  bpiWriter?.close();
  await dashboard.close();
  runner.stop();
  bitcoinRunner?.stop();
  await running.catch(() => {});
  await bitcoinRunning?.catch(() => {});
  await log.close();
  rmSync(dataDir, { recursive: true, force: true });
}
