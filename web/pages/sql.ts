/**
 * #/sql: a query over the warehouse (every lake dataset and versioned table is a view, as in
 * `weir query`), its result as a table and a chart.
 */
import { api, errorText, type PipelineEntry, type SqlResult, type TableInfo } from "../api.js";
import { columnKind, resultChart } from "../charts.js";
import { h, numCell, replace, table } from "../dom.js";
import * as fmt from "../format.js";

const STORAGE_KEY = "weir.sql";
const FALLBACK = "SELECT event, count(*) AS events\nFROM interactions\nGROUP BY event\nORDER BY events DESC";

export function sqlPage(root: HTMLElement): () => void {
  const input = h("textarea", {
    testid: "sql-input",
    attrs: { rows: 6, spellcheck: false, "aria-label": "SQL query" },
  });
  input.value = sessionStorage.getItem(STORAGE_KEY) ?? FALLBACK;
  const run = h("button", { testid: "sql-run", attrs: { type: "button" } }, "Run");
  const meta = h("span", { class: "muted", testid: "sql-meta" });
  const views = h("p", { class: "muted views" });
  const error = h("p", { class: "error-line", testid: "sql-error", attrs: { hidden: true } });
  const chartBox = h("div", { class: "chart-box" });
  const result = h("div", { class: "sql-result-box" });
  replace(
    root,
    h("h1", null, "SQL"),
    h(
      "p",
      { class: "muted" },
      "DuckDB over the lake and the tables: each lake dataset is a view named after it, each table ",
      h("code", null, "NAME"),
      " (every version) and ",
      h("code", null, "NAME_latest"),
      ". At most 1000 rows. Ctrl+Enter runs.",
    ),
    views,
    input,
    h("div", { class: "toolbar" }, run, meta),
    error,
    chartBox,
    result,
  );

  let destroyChart = () => {};
  let running = false;
  let closed = false;

  const execute = async () => {
    if (running) return;
    running = true;
    run.disabled = true;
    meta.textContent = "running…";
    const sql = input.value;
    sessionStorage.setItem(STORAGE_KEY, sql);
    try {
      const r = await api<SqlResult>("/api/sql", { sql });
      if (closed) return;
      error.hidden = true;
      meta.textContent =
        `${fmt.count(r.rows.length)} row${r.rows.length === 1 ? "" : "s"} in ${fmt.millis(r.elapsedMs)}` +
        (r.truncated ? " (truncated to the first 1000)" : "");
      destroyChart();
      destroyChart = () => {};
      replace(result, resultTable(r));
      const chart = resultChart(r.columns, r.rows);
      if ("reason" in chart) replace(chartBox, h("p", { class: "muted small" }, `chart: ${chart.reason}`));
      else {
        replace(chartBox, chart.el);
        destroyChart = chart.destroy;
      }
    } catch (err) {
      if (closed) return;
      meta.textContent = "";
      error.textContent = errorText(err).split("\n")[0];
      error.hidden = false;
    } finally {
      running = false;
      run.disabled = false;
    }
  };

  run.addEventListener("click", () => void execute());
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      void execute();
    }
  });

  // Name the views one can query: lake datasets (from the pipelines' graphs) and tables.
  void (async () => {
    const names: string[] = [];
    try {
      const [pipelines, tables] = await Promise.all([
        api<PipelineEntry[]>("/api/pipelines"),
        api<TableInfo[]>("/api/tables"),
      ]);
      for (const p of pipelines) names.push(...(p.graph?.datasets ?? []));
      for (const t of tables) names.push(t.name, `${t.name}_latest`);
    } catch {
      return;
    }
    const unique = [...new Set(names)];
    if (closed || unique.length === 0) return;
    replace(
      views,
      "views: ",
      unique.flatMap((n, i) => [
        i > 0 ? " " : "",
        h(
          "button",
          {
            class: "chip",
            title: `SELECT * FROM ${n} LIMIT 100`,
            attrs: { type: "button" },
            on: {
              click: () => {
                input.value = `SELECT * FROM ${n} LIMIT 100`;
                void execute();
              },
            },
          },
          n,
        ),
      ]),
    );
  })();

  return () => {
    closed = true;
    destroyChart();
  };
}

function resultTable(r: SqlResult): HTMLElement {
  if (r.columns.length === 0) return h("p", { class: "muted", testid: "sql-result" }, "no columns");
  const numeric = r.columns.map((c) => columnKind(c.type) === "number");
  return h(
    "div",
    { class: "scroll" },
    table(
      r.columns.map((c, i) => ({ label: c.name, num: numeric[i], title: c.type })),
      r.rows.map((row) =>
        h(
          "tr",
          { testid: "sql-row" },
          row.map((v, i) =>
            v === null || v === undefined
              ? h("td", { class: "muted" }, "NULL")
              : numeric[i]
                ? numCell(String(v))
                : h("td", null, typeof v === "object" ? JSON.stringify(v) : String(v)),
          ),
        ),
      ),
      { testid: "sql-result", class: "sql-result" },
    ),
  );
}
