/**
 * The dashboard in a real browser (Debian's chromium through playwright-core), against the real
 * server and a live pipeline: the NoBroker pipeline runs in this process on the embedded log while
 * a generator writes to `events`, and `startDashboard` serves the built page (dist/web, made by
 * `npm run build`) and the API on a free port.
 *
 * Without Chromium the tests skip with a named reason (they fail when WEIR_REQUIRE_SERVICES=1).
 * Without dist/web/index.html they fail: the build did not make the page.
 */
import { after, before, describe, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { nobroker } from "../../examples/nobroker/pipeline.js";
import { defaultWebDir, startDashboard, type Dashboard } from "../../src/dashboard/server.js";
import { createNoBrokerGenerator, producePaced } from "../../src/generate/index.js";
import { EmbeddedLog, type TopicWriter } from "../../src/log/index.js";
import { Runner } from "../../src/runtime/runner.js";
import { requireService, useChromium } from "../helpers/services.js";

const RATE_PER_SECOND = 300;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("dashboard in Chromium", () => {
  const chromium = useChromium();

  let dir = "";
  let log: EmbeddedLog | undefined;
  let runner: Runner | undefined;
  let running: Promise<unknown> | undefined;
  let writer: TopicWriter | undefined;
  let producing: Promise<unknown> | undefined;
  const stopProducing = new AbortController();
  let dashboard: Dashboard | undefined;
  const webIndex = join(defaultWebDir(), "index.html");

  before(async () => {
    if (chromium.browser === undefined || !existsSync(webIndex)) return;
    dir = mkdtempSync(join(tmpdir(), "weir-dashboard-browser-"));
    log = EmbeddedLog.open(dir, { logger: () => {} });
    log.ensureTopic("events", { partitions: 1 });
    runner = new Runner(nobroker(), { log, logger: () => {}, checkpointIntervalMs: 1000 });
    running = runner.run();
    running.catch(() => stopProducing.abort());
    writer = log.writer("events");
    const generator = createNoBrokerGenerator({
      seed: 11,
      users: 300,
      properties: 60,
      malformedShare: 0.02,
      eventsPerMinute: RATE_PER_SECOND * 60,
      startTime: Date.now(),
    });
    producing = producePaced({ generator, writer, perSecond: RATE_PER_SECOND, signal: stopProducing.signal });
    dashboard = await startDashboard({ dataDir: dir, port: 0 });
  });

  after(async () => {
    stopProducing.abort();
    await producing;
    writer?.close();
    await dashboard?.close();
    runner?.stop();
    await running?.catch(() => {});
    await log?.close();
    if (dir !== "") rmSync(dir, { recursive: true, force: true });
  });

  /** The browser and a new page on the dashboard, or undefined when the test was skipped. */
  async function open(t: TestContext, hash: string): Promise<Page | undefined> {
    if (chromium.browser === undefined) {
      requireService(t, "Chromium", chromium.unavailable);
      return undefined;
    }
    assert.ok(
      existsSync(webIndex),
      `${webIndex} is missing: the dashboard's page is built by \`npm run build\` (scripts/build-web.mjs)`,
    );
    assert.ok(dashboard !== undefined, "the dashboard did not start");
    const page = await chromium.browser.newPage({ viewport: { width: 1280, height: 800 } });
    const errors: string[] = [];
    page.on("pageerror", (err) => errors.push(String(err)));
    t.after(async () => {
      await page.close();
      assert.deepEqual(errors, [], "the page threw");
    });
    await page.goto(new URL(hash, dashboard.url).href);
    return page;
  }

  const recordsIn = (page: Page) =>
    page
      .locator('[data-testid=pipeline-card][data-pipeline="nobroker"] [data-testid=records-in]')
      .getAttribute("data-value")
      .then(Number);

  test("the pipelines page shows the running pipeline's counts rising, without reloading", async (t) => {
    const page = await open(t, "#/pipelines");
    if (page === undefined) return;
    const card = page.locator('[data-testid=pipeline-card][data-pipeline="nobroker"]');
    await card.waitFor({ timeout: 20_000 });
    await page.evaluate("window.__sameDocument = true");
    await page.waitForFunction(
      `Number(document.querySelector('[data-pipeline="nobroker"] [data-testid=records-in]')?.dataset.value) > 0`,
      undefined,
      { timeout: 20_000 },
    );
    const first = await recordsIn(page);
    await sleep(2500);
    const second = await recordsIn(page);
    assert.ok(second > first, `records in went from ${first} to ${second}: expected it to grow`);
    assert.equal(await page.evaluate("window.__sameDocument"), true, "the page was reloaded");

    assert.equal((await card.getByTestId("pipeline-state").textContent())?.trim(), "running");
    assert.match((await card.getByTestId("records-in").textContent()) ?? "", /^[\d,]+$/);
    for (const chart of ["chart-rates", "chart-latency", "chart-lag"])
      assert.equal(await card.getByTestId(chart).locator("canvas").count(), 1, `${chart} has a canvas`);
    const steps = await card.getByTestId("step-row").allTextContents();
    assert.ok(
      steps.some((s) => s.startsWith("source:events")),
      `steps table: ${steps.join(" | ")}`,
    );

    // Each step's rates come from consecutive snapshots: the source reads what the generator writes.
    const sourceInRate = `[...document.querySelectorAll('[data-pipeline="nobroker"] [data-testid=step-row]')]
      .find((tr) => tr.cells[0].textContent === "source:events")
      ?.querySelector("[data-testid=step-in-rate]")`;
    await page
      .waitForFunction(`(${sourceInRate})?.dataset.value !== undefined`, undefined, { timeout: 10_000 })
      .catch(async () =>
        assert.fail(`the source's in/s stayed ${await page.evaluate(`(${sourceInRate})?.textContent`)}`),
      );
    const inRate = (await page.evaluate(
      `(() => { const td = ${sourceInRate}; return { text: td.textContent, value: Number(td.dataset.value) }; })()`,
    )) as { text: string; value: number };
    assert.match(inRate.text, /^[\d,.]+$/, `the source's in/s cell: ${inRate.text}`);
    assert.ok(
      Number(inRate.text.replace(/,/g, "")) > 0 && inRate.value > 0,
      `the source's in/s is ${inRate.text} (${inRate.value}) while the generator writes ${RATE_PER_SECOND}/s`,
    );
    assert.deepEqual(
      (await card.locator("[data-testid=steps-table] thead th").allTextContents()).slice(2, 6),
      ["in", "out", "in/s", "out/s"],
    );
  });

  test("a topic page shows a record produced during the test, found by its key", async (t) => {
    const page = await open(t, "#/topics");
    if (page === undefined) return;
    const key = `browser-test-${process.pid}-${Date.now()}`;
    writer!.append([
      { key, value: JSON.stringify({ user_id: 424242, property_id: 7, date: Date.now(), event: "View" }) },
    ]);
    const row = page.locator('[data-testid=topic-row][data-topic="events"]');
    await row.waitFor({ timeout: 10_000 });
    await row.click();
    await page.waitForURL(/#\/topics\/events$/);
    await page.getByTestId("key-filter").fill(key);
    // The unfiltered list may show the record too, for a moment: wait for the filtered one.
    await page.waitForFunction(
      `(() => {
        const rows = [...document.querySelectorAll("[data-testid=record-row]")];
        return rows.length > 0 && rows.every((r) => r.dataset.key === ${JSON.stringify(key)});
      })()`,
      undefined,
      { timeout: 15_000 },
    );
    const records = page.getByTestId("record-row");
    assert.equal(await records.count(), 1, "only the record with that key");
    assert.match((await records.first().textContent()) ?? "", /424242/);
  });

  test("a topic page charts a numeric field, one line per series, and follows new records", async (t) => {
    const page = await open(t, "#/topics");
    if (page === undefined) return;
    // Candles like the bitcoin example's bpi_ohlc: one per currency per minute, closes rising.
    const topic = "ohlc_chart";
    log!.ensureTopic(topic, { partitions: 1 });
    const candles = log!.writer(topic);
    t.after(() => candles.close());
    const start = Date.UTC(2021, 10, 30);
    const base: Record<string, number> = { EUR: 50_000, GBP: 42_000, USD: 57_000 };
    const close = (currency: string, minute: number) => base[currency] + minute * 10 + 0.5;
    const produce = (minutes: number[]) =>
      candles.append(
        minutes.flatMap((m) =>
          Object.keys(base).map((currency) => {
            const c = close(currency, m);
            return {
              key: currency,
              value: JSON.stringify({
                currency,
                window_start: new Date(start + m * 60_000).toISOString(),
                window_end: new Date(start + (m + 1) * 60_000).toISOString(),
                open: c - 3,
                high: c + 2,
                low: c - 5,
                close: c,
                count: 60,
              }),
            };
          }),
        ),
      );
    produce(Array.from({ length: 12 }, (_v, m) => m)); // 36 records

    await page.goto(new URL(`#/topics/${topic}?y=close&series=currency&x=window_end`, dashboard!.url).href);
    const chart = page.getByTestId("topic-chart");
    await chart.locator("canvas").waitFor({ timeout: 15_000 });
    await page.evaluate("window.__sameDocument = true");
    assert.equal(await chart.locator("canvas").count(), 1);
    assert.equal(await page.getByTestId("chart-y").inputValue(), "close");
    assert.equal(await page.getByTestId("chart-series").inputValue(), "currency");
    assert.equal(await page.getByTestId("chart-x").inputValue(), "window_end");
    const legend = () =>
      page.evaluate(`Object.fromEntries(
        [...document.querySelectorAll("[data-testid=topic-chart] .u-legend .u-series")].map((row) => [
          row.querySelector(".u-label")?.textContent,
          row.querySelector(".u-value")?.textContent,
        ]),
      )`) as Promise<Record<string, string>>;
    const latest = async (currency: string, expected: number) => {
      const text = expected.toLocaleString("en-US", { maximumFractionDigits: 4 });
      await page
        .waitForFunction(
          `[...document.querySelectorAll("[data-testid=topic-chart] .u-legend .u-series")].some(
            (row) => row.querySelector(".u-label")?.textContent === ${JSON.stringify(currency)} &&
              row.querySelector(".u-value")?.textContent === ${JSON.stringify(text)})`,
          undefined,
          { timeout: 10_000 },
        )
        .catch(async () =>
          assert.fail(`legend ${JSON.stringify(await legend())}: expected ${currency} ${text}`),
        );
    };
    await latest("USD", close("USD", 11));
    assert.deepEqual(Object.keys(await legend()), ["UTC", "EUR", "GBP", "USD"]);
    assert.match((await page.getByTestId("chart-status").textContent()) ?? "", /^36 points/);

    produce([12, 13, 14]);
    await latest("USD", close("USD", 14));
    await latest("EUR", close("EUR", 14));
    assert.deepEqual(Object.keys(await legend()), ["UTC", "EUR", "GBP", "USD"]);
    assert.equal(await chart.locator("canvas").count(), 1);
    assert.equal(await page.evaluate("window.__sameDocument"), true, "the page was reloaded");
    assert.match(page.url(), /#\/topics\/ohlc_chart\?y=close&series=currency&x=window_end$/);

    // Another field, chosen on the page, goes into the URL (and the chart follows).
    await page.getByTestId("chart-y").selectOption("high");
    await latest("USD", close("USD", 14) + 2);
    assert.match(page.url(), /\?y=high&series=currency&x=window_end$/);

    // Values that are not JSON objects with numbers: a note instead of the chart.
    log!.ensureTopic("plain_text", { partitions: 1 });
    const plain = log!.writer("plain_text");
    t.after(() => plain.close());
    plain.append([
      { key: null, value: "hello" },
      { key: null, value: JSON.stringify({ word: "world" }) },
    ]);
    await page.goto(new URL("#/topics/plain_text", dashboard!.url).href);
    await page.getByTestId("chart-note").waitFor({ timeout: 10_000 });
    assert.equal(await page.getByTestId("chart-note").textContent(), "chart: no numeric fields to chart");
    assert.equal(await page.getByTestId("topic-chart-panel").isVisible(), false);
    assert.equal(await page.getByTestId("record-row").count(), 2);
  });

  test("the SQL box runs a query over the lake and shows a table and a chart", async (t) => {
    const page = await open(t, "#/sql");
    if (page === undefined) return;
    const input = page.getByTestId("sql-input");
    const run = async (sql: string, how: "click" | "keys") => {
      await input.fill(sql);
      const answer = page.waitForResponse((r) => r.url().endsWith("/api/sql"));
      if (how === "click") await page.getByTestId("sql-run").click();
      else await input.press("Control+Enter");
      return (await answer).status();
    };
    // The lake dataset gets its first file at the pipeline's first checkpoint (every second here).
    const until = Date.now() + 30_000;
    while ((await run("SELECT count(*) AS n FROM interactions", "click")) !== 200) {
      assert.ok(Date.now() < until, "the interactions dataset never became queryable");
      await sleep(1000);
    }
    const result = page.getByTestId("sql-result");
    await result.locator("tbody tr").first().waitFor();
    assert.deepEqual(await result.locator("thead th").allTextContents(), ["n"]);
    const n = Number(await result.locator("tbody td").first().textContent());
    assert.ok(n > 0, `count(*) = ${n}`);

    assert.equal(
      await run("SELECT event, count(*) AS n FROM interactions GROUP BY event ORDER BY n DESC", "keys"),
      200,
    );
    await page.waitForFunction(
      `document.querySelector('[data-testid=sql-result] thead th')?.textContent === 'event'`,
    );
    const events = await result.locator("tbody tr td:first-child").allTextContents();
    assert.ok(events.includes("Interaction"), `events: ${events.join(", ")}`);
    assert.equal(await page.getByTestId("sql-chart").locator("canvas").count(), 1, "a chart is drawn");

    assert.equal(await run("SELECT * FROM no_such_view", "click"), 400);
    const error = page.getByTestId("sql-error");
    await error.waitFor({ state: "visible" });
    const text = (await error.textContent()) ?? "";
    assert.match(text, /no_such_view/);
    assert.ok(!text.includes("\n"), "the error is one line");
  });

  test("dead letters and tables are listed", async (t) => {
    const page = await open(t, "#/dead-letters");
    if (page === undefined) return;
    const letter = page.getByTestId("dead-letter-row").first();
    await letter.waitFor({ timeout: 20_000 });
    assert.match((await letter.textContent()) ?? "", /nobroker/);

    await page.goto(new URL("#/tables", dashboard!.url).href);
    const table = page.locator('[data-testid=table-row][data-table="user_interactions"]');
    await table.waitFor({ timeout: 20_000 });
    await table.click();
    await page.getByTestId("table-version-row").first().waitFor({ timeout: 10_000 });
  });

  test("when the server goes away the page says so, and recovers when it is back", async (t) => {
    const page = await open(t, "#/pipelines");
    if (page === undefined) return;
    await page.locator('[data-testid=pipeline-card][data-pipeline="nobroker"]').waitFor({ timeout: 20_000 });
    const banner = page.getByTestId("banner");
    assert.equal(await banner.isVisible(), false);
    const port = dashboard!.port;
    await dashboard!.close();
    dashboard = undefined;
    await banner.waitFor({ state: "visible", timeout: 15_000 });
    dashboard = await startDashboard({ dataDir: dir, port });
    await banner.waitFor({ state: "hidden", timeout: 20_000 });
    const before = await recordsIn(page);
    await page.waitForFunction(
      `Number(document.querySelector('[data-pipeline="nobroker"] [data-testid=records-in]')?.dataset.value) > ${before}`,
      undefined,
      { timeout: 10_000 },
    );
  });
});
