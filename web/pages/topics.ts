/**
 * #/topics: every topic with its partitions, records and rate; #/topics/<name>: a chart of its
 * latest records and the latest records themselves, polled every second, filtered by key.
 */
import { api, errorText, poll, seg, type TopicInfo, type TopicRecord } from "../api.js";
import { empty, h, numCell, replace, setStatus, table } from "../dom.js";
import * as fmt from "../format.js";
import { CHART_RECORDS, TopicChart, chartHash } from "./topic-chart.js";

/** Records listed on a topic's page (the chart takes up to CHART_RECORDS). */
const LISTED = 50;

export function topicsPage(root: HTMLElement): () => void {
  const status = h("p", { class: "muted" }, "loading…");
  const body = h("div");
  replace(root, h("h1", null, "Topics"), status, body);
  return poll(async () => {
    let topics: TopicInfo[];
    try {
      topics = await api<TopicInfo[]>("/api/topics");
    } catch (err) {
      setStatus(status, errorText(err), true);
      throw err;
    }
    setStatus(status, "");
    if (topics.length === 0) {
      replace(
        body,
        empty("No topics yet: ", h("code", null, "weir generate nobroker --rate 500/s"), " writes some."),
      );
      return;
    }
    const rows = topics.map((t) =>
      h(
        "tr",
        {
          testid: "topic-row",
          class: "link",
          attrs: { "data-topic": t.name },
          on: { click: () => (location.hash = `#/topics/${seg(t.name)}`) },
        },
        h("td", null, h("a", { attrs: { href: `#/topics/${seg(t.name)}` } }, t.name)),
        numCell(fmt.count(t.partitions)),
        numCell(fmt.count(t.records)),
        numCell(t.bytes === null ? "–" : bytes(t.bytes)),
        numCell(fmt.rate(t.ratePerSec)),
      ),
    );
    replace(
      body,
      table(
        [
          "topic",
          { label: "partitions", num: true },
          { label: "records", num: true },
          { label: "size", num: true },
          { label: "rate", num: true },
        ],
        rows,
        { testid: "topics-table" },
      ),
    );
  }, 2000);
}

function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

/**
 * A topic's page; `params` (the hash's query) may preset the chart: `y`, `series` ("" for none) and
 * `x` (a time field; absent for the record timestamp).
 */
export function topicPage(root: HTMLElement, name: string, params = new URLSearchParams()): () => void {
  const keyInput = h("input", {
    testid: "key-filter",
    attrs: { type: "search", placeholder: "key equals…", "aria-label": "key filter", spellcheck: false },
  });
  const partitionInput = h("input", {
    testid: "partition-filter",
    class: "narrow",
    attrs: { type: "number", min: 0, placeholder: "all", "aria-label": "partition" },
  });
  const pause = h("input", { testid: "pause", attrs: { type: "checkbox" } });
  const status = h("span", { class: "muted", testid: "records-status" });
  const body = h("div", { testid: "records" });
  const chart = new TopicChart(
    {
      y: params.get("y") ?? undefined,
      series: params.get("series") ?? undefined,
      x: params.get("x") ?? undefined,
    },
    {
      // The URL follows the choice (without a hashchange: the page stays).
      onChoice: (choice) => history.replaceState(history.state, "", chartHash(name, choice)),
      onToggle: () => refresh(),
    },
  );
  replace(
    root,
    h("p", { class: "crumbs" }, h("a", { attrs: { href: "#/topics" } }, "Topics"), " / "),
    h("h1", null, name),
    h(
      "div",
      { class: "toolbar" },
      h("label", null, "key ", keyInput),
      h("label", null, "partition ", partitionInput),
      h("label", null, pause, " pause"),
      status,
    ),
    chart.el,
    body,
  );

  const currentQuery = () => {
    const params = new URLSearchParams({ limit: String(chart.wanted ? CHART_RECORDS : LISTED) });
    if (keyInput.value !== "") params.set("key", keyInput.value);
    if (partitionInput.value !== "") params.set("partition", partitionInput.value);
    return params.toString();
  };
  let shown = "";
  const load = async () => {
    if (pause.checked) return;
    const key = keyInput.value;
    const query = currentQuery();
    let records: TopicRecord[];
    try {
      records = await api<TopicRecord[]>(`/api/topics/${seg(name)}/records?${query}`);
    } catch (err) {
      setStatus(status, errorText(err), true);
      if (shown === "") replace(body);
      throw err;
    }
    // The filter changed while this request was out: its answer is stale.
    if (query !== currentQuery()) return;
    const all = query + "|" + records.map((r) => `${r.partition}:${r.offset}`).join(",");
    chart.update(records, all);
    records = records.slice(0, LISTED);
    setStatus(status, `${records.length} latest record${records.length === 1 ? "" : "s"}, newest first`);
    const signature =
      key + "|" + partitionInput.value + "|" + records.map((r) => `${r.partition}:${r.offset}`).join(",");
    if (signature === shown) return;
    shown = signature;
    if (records.length === 0) {
      replace(body, empty(key === "" ? "No records in this topic yet." : `No record with key ${key}.`));
      return;
    }
    replace(
      body,
      table(
        [
          { label: "partition", num: true },
          { label: "offset", num: true },
          "timestamp (UTC)",
          "key",
          "value",
        ],
        records.map((r) =>
          h(
            "tr",
            { testid: "record-row", attrs: { "data-key": r.key ?? "" } },
            numCell(String(r.partition)),
            numCell(String(r.offset)),
            h("td", { class: "nowrap" }, fmt.time(r.timestamp)),
            h("td", { class: r.key === null ? "muted" : "" }, r.key ?? "null"),
            h("td", null, h("pre", { class: "json" }, fmt.pretty(r.value))),
          ),
        ),
        { class: "records" },
      ),
    );
  };

  const stop = poll(load, 1000);
  const refresh = () => void load().catch(() => {});
  let typing: number | undefined;
  const soon = () => {
    window.clearTimeout(typing);
    typing = window.setTimeout(refresh, 200);
  };
  keyInput.addEventListener("input", soon);
  partitionInput.addEventListener("input", soon);
  pause.addEventListener("change", refresh);
  return () => {
    window.clearTimeout(typing);
    stop();
    chart.destroy();
  };
}
