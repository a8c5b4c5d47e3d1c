/**
 * #/tables: the versioned tables; #/tables/<name>: the latest version of the most recently updated
 * keys, or every kept version of one key.
 */
import { api, errorText, poll, seg, type TableInfo, type TableRows } from "../api.js";
import { empty, h, numCell, replace, setStatus, table } from "../dom.js";
import * as fmt from "../format.js";

export function tablesPage(root: HTMLElement, selected?: string): () => void {
  const status = h("p", { class: "muted" }, "loading…");
  const list = h("div", { class: "table-list" });
  const detail = h("div");
  replace(root, h("h1", null, "Tables"), status, list, detail);
  const stopList = poll(async () => {
    let tables: TableInfo[];
    try {
      tables = await api<TableInfo[]>("/api/tables");
    } catch (err) {
      setStatus(status, errorText(err), true);
      throw err;
    }
    setStatus(status, "");
    if (tables.length === 0) {
      replace(
        list,
        empty(
          "No versioned tables: a pipeline with ",
          h("code", null, ".toTable(name)"),
          " (like ",
          h("code", null, "weir run nobroker"),
          ") creates them.",
        ),
      );
      return;
    }
    replace(
      list,
      table(
        ["table", { label: "keys", num: true }, { label: "versions kept per key", num: true }],
        tables.map((t) =>
          h(
            "tr",
            {
              testid: "table-row",
              class: `link${t.name === selected ? " selected" : ""}`,
              attrs: { "data-table": t.name },
              on: { click: () => (location.hash = `#/tables/${seg(t.name)}`) },
            },
            h("td", null, h("a", { attrs: { href: `#/tables/${seg(t.name)}` } }, t.name)),
            numCell(fmt.count(t.keys)),
            numCell(fmt.count(t.versions)),
          ),
        ),
      ),
    );
  }, 5000);
  const stopDetail = selected === undefined ? () => {} : tableDetail(detail, selected);
  return () => {
    stopList();
    stopDetail();
  };
}

const LABELS: Record<string, string> = { updatedAt: "event time (UTC)", seq: "sequence" };

/** Columns shown first, in this order; `value` comes last; anything else in between. */
const FIRST = ["key", "version", "updatedAt", "eventTime", "event_time", "seq", "source"];

function tableDetail(root: HTMLElement, name: string): () => void {
  const keyInput = h("input", {
    testid: "table-key",
    attrs: { type: "search", placeholder: "key…", "aria-label": "key", spellcheck: false },
  });
  const status = h("span", { class: "muted" });
  const body = h("div", { testid: "table-rows" });
  replace(
    root,
    h("h2", null, name),
    h("div", { class: "toolbar" }, h("label", null, "versions of key ", keyInput), status),
    body,
  );
  let shown = "";
  const load = async () => {
    const key = keyInput.value.trim();
    const query = key === "" ? "limit=50" : `key=${encodeURIComponent(key)}&limit=50`;
    let result: TableRows;
    try {
      result = await api<TableRows>(`/api/tables/${seg(name)}?${query}`);
    } catch (err) {
      setStatus(status, errorText(err), true);
      throw err;
    }
    if (key !== keyInput.value.trim()) return;
    const rows = result.rows;
    setStatus(
      status,
      key === ""
        ? `latest version of the ${rows.length} most recently updated keys`
        : `${rows.length} version${rows.length === 1 ? "" : "s"} of key ${key}, newest first`,
    );
    const signature = JSON.stringify([key, rows]);
    if (signature === shown) return;
    shown = signature;
    if (rows.length === 0) {
      replace(body, empty(key === "" ? "The table is empty." : `No key ${key} in ${name}.`));
      return;
    }
    const names = new Set<string>();
    for (const r of rows) for (const k of Object.keys(r)) names.add(k);
    const columns = [
      ...FIRST.filter((c) => names.has(c)),
      ...[...names].filter((c) => !FIRST.includes(c) && c !== "value"),
      ...(names.has("value") ? ["value"] : []),
    ];
    replace(
      body,
      table(
        columns.map((c) => LABELS[c] ?? c),
        rows.map((r) =>
          h(
            "tr",
            { testid: "table-version-row" },
            columns.map((c) => cell(c, r[c])),
          ),
        ),
      ),
    );
  };
  const stop = poll(load, 2000);
  let typing: number | undefined;
  keyInput.addEventListener("input", () => {
    window.clearTimeout(typing);
    typing = window.setTimeout(() => void load().catch(() => {}), 250);
  });
  return () => {
    window.clearTimeout(typing);
    stop();
  };
}

function cell(column: string, v: unknown): HTMLTableCellElement {
  if (column === "source" && v !== null && typeof v === "object") {
    const s = v as { topic?: unknown; partition?: unknown; offset?: unknown };
    return h(
      "td",
      { class: "nowrap muted" },
      `${String(s.topic)} [${String(s.partition)}] @${String(s.offset)}`,
    );
  }
  if (column === "value") return h("td", null, h("pre", { class: "json" }, fmt.pretty(v)));
  if (/(At|_at|[tT]ime)$/.test(column) && (typeof v === "number" || typeof v === "string"))
    return h("td", { class: "nowrap" }, fmt.time(v));
  if (typeof v === "number") return numCell(String(v));
  return h("td", null, fmt.compact(v));
}
