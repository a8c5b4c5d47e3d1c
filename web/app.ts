/**
 * The Weir dashboard: a single page over the HTTP API (docs/api.md), routed by the URL's hash.
 * No framework: each page is a function that fills the main element and returns how to stop its
 * timers and streams when the route changes.
 */
import "uplot/dist/uPlot.min.css";
import "./styles.css";
import { api, onConnection, type Overview } from "./api.js";
import { h, replace } from "./dom.js";
import { deadLettersPage } from "./pages/dead-letters.js";
import { pipelinesPage } from "./pages/pipelines.js";
import { sqlPage } from "./pages/sql.js";
import { tablesPage } from "./pages/tables.js";
import { topicPage, topicsPage } from "./pages/topics.js";

type Page = (root: HTMLElement) => () => void;

/**
 * The page for a hash like `#/topics/events`, and which nav section it belongs to. A query after
 * the path (`#/topics/bpi_ohlc?y=close`) holds the page's own settings.
 */
function route(hash: string): { section: string; page: Page } {
  const q = hash.indexOf("?");
  const params = new URLSearchParams(q < 0 ? "" : hash.slice(q + 1));
  const parts = (q < 0 ? hash : hash.slice(0, q))
    .replace(/^#\/?/, "")
    .split("/")
    .map((p) => {
      try {
        return decodeURIComponent(p);
      } catch {
        return p;
      }
    });
  const [section, arg] = parts;
  switch (section) {
    case "":
    case "pipelines":
      return { section: "pipelines", page: pipelinesPage };
    case "topics":
      return { section, page: arg ? (root) => topicPage(root, arg, params) : topicsPage };
    case "tables":
      return { section, page: (root) => tablesPage(root, arg || undefined) };
    case "sql":
      return { section, page: sqlPage };
    case "dead-letters":
      return { section, page: deadLettersPage };
    default:
      return {
        section: "",
        page: (root) => {
          replace(
            root,
            h("h1", null, "Not found"),
            h("p", null, `No page ${hash}. `, h("a", { attrs: { href: "#/pipelines" } }, "Pipelines")),
          );
          return () => {};
        },
      };
  }
}

function start(): void {
  const main = document.getElementById("main")!;
  const banner = document.getElementById("banner")!;
  const info = document.getElementById("server-info")!;
  let stop = () => {};

  const show = () => {
    stop();
    const { section, page } = route(location.hash);
    for (const a of document.querySelectorAll<HTMLAnchorElement>("nav a[data-section]")) {
      if (a.dataset.section === section) a.setAttribute("aria-current", "page");
      else a.removeAttribute("aria-current");
    }
    main.textContent = "";
    window.scrollTo(0, 0);
    stop = page(main);
  };

  onConnection((up) => {
    banner.hidden = up;
    if (up) void loadOverview();
  });

  const loadOverview = async () => {
    try {
      const o = await api<Overview>("/api/overview");
      info.textContent = `weir ${o.version} · ${o.engine === "kafka" ? `Kafka ${o.broker ?? ""}` : "embedded log"} · ${o.dataDir}`;
      info.title = info.textContent;
    } catch {
      // the banner says it
    }
  };

  window.addEventListener("hashchange", show);
  void loadOverview();
  show();
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();
