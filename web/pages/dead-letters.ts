/** #/dead-letters: the latest dead letters of every pipeline (or one), with why they were rejected. */
import { api, errorText, poll, type DeadLetter, type PipelineEntry } from "../api.js";
import { empty, h, numCell, replace, setStatus, table } from "../dom.js";
import * as fmt from "../format.js";

export function deadLettersPage(root: HTMLElement): () => void {
  const select = h(
    "select",
    { testid: "dead-letter-pipeline", attrs: { "aria-label": "pipeline" } },
    h("option", { attrs: { value: "" } }, "all pipelines"),
  );
  const status = h("span", { class: "muted" });
  const body = h("div", { testid: "dead-letters" });
  replace(
    root,
    h("h1", null, "Dead letters"),
    h(
      "p",
      { class: "muted" },
      "Records a pipeline could not take (not JSON, failing the schema), from the ",
      h("code", null, "<pipeline>.dlq"),
      " topics, newest first.",
    ),
    h("div", { class: "toolbar" }, h("label", null, "pipeline ", select), status),
    body,
  );

  const known = new Set<string>();
  const addPipelines = (names: string[]) => {
    for (const n of names.sort()) {
      if (known.has(n)) continue;
      known.add(n);
      select.appendChild(h("option", { attrs: { value: n } }, n));
    }
  };
  void api<PipelineEntry[]>("/api/pipelines")
    .then((ps) => addPipelines(ps.map((p) => p.pipeline)))
    .catch(() => {});

  let shown = "";
  const load = async () => {
    const pipeline = select.value;
    const query = `limit=100${pipeline === "" ? "" : `&pipeline=${encodeURIComponent(pipeline)}`}`;
    let letters: DeadLetter[];
    try {
      letters = await api<DeadLetter[]>(`/api/dead-letters?${query}`);
    } catch (err) {
      setStatus(status, errorText(err), true);
      throw err;
    }
    if (pipeline !== select.value) return;
    addPipelines(letters.map((d) => d.pipeline));
    setStatus(status, `${letters.length} latest`);
    const signature = query + "|" + letters.map((d) => `${d.pipeline}:${d.partition}:${d.offset}`).join(",");
    if (signature === shown) return;
    shown = signature;
    if (letters.length === 0) {
      replace(body, empty("No dead letters: every record was taken."));
      return;
    }
    replace(
      body,
      table(
        ["time (UTC)", "pipeline", "error", "raw record", "from"],
        letters.map((d) =>
          h(
            "tr",
            { testid: "dead-letter-row" },
            h("td", { class: "nowrap" }, fmt.time(d.timestamp)),
            h("td", null, d.pipeline),
            h("td", { class: "error-text" }, d.error),
            h("td", null, h("code", { class: "raw", title: d.raw }, d.raw)),
            d.source
              ? h(
                  "td",
                  { class: "nowrap muted" },
                  `${d.source.topic} [${d.source.partition}] @${d.source.offset}`,
                )
              : numCell("–"),
          ),
        ),
        { class: "dead-letters" },
      ),
    );
  };
  const stop = poll(load, 2000);
  select.addEventListener("change", () => void load().catch(() => {}));
  return stop;
}
