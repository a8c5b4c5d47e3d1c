/**
 * The few DOM helpers the pages need instead of a framework: `h()` builds an element tree,
 * `replaceChildren` swaps a container's content, and everything user-provided goes in as text.
 */

export type Child = Node | string | number | null | undefined | false | readonly Child[];

type Handlers = { [K in keyof HTMLElementEventMap]?: (event: HTMLElementEventMap[K]) => void };

export interface Props {
  class?: string;
  /** `data-testid`, what the browser tests find elements by. */
  testid?: string;
  title?: string;
  /** Other attributes; `false`/`undefined` leave them out, `true` sets them empty. */
  attrs?: Record<string, string | number | boolean | undefined>;
  on?: Handlers;
}

/** `h("td", { class: "num" }, "12")`: an element with its props and children. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props?: Props | null,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (props) {
    if (props.class) el.className = props.class;
    if (props.testid) el.dataset.testid = props.testid;
    if (props.title) el.title = props.title;
    for (const [name, value] of Object.entries(props.attrs ?? {})) {
      if (value === undefined || value === false) continue;
      el.setAttribute(name, value === true ? "" : String(value));
    }
    for (const [type, fn] of Object.entries(props.on ?? {})) {
      el.addEventListener(type, fn as EventListener);
    }
  }
  append(el, children);
  return el;
}

function append(parent: Node, children: readonly Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(parent, c as readonly Child[]);
    else if (c instanceof Node) parent.appendChild(c);
    else parent.appendChild(document.createTextNode(String(c)));
  }
}

/** Replace everything inside `el` by `children`. */
export function replace(el: Element, ...children: Child[]): void {
  el.textContent = "";
  append(el, children);
}

/** A table with a header row; `rows` are already built `<tr>`s. */
export function table(
  headers: ReadonlyArray<string | { label: string; num?: boolean; title?: string }>,
  rows: readonly HTMLTableRowElement[],
  props?: Props,
): HTMLTableElement {
  return h(
    "table",
    { ...props, class: `grid ${props?.class ?? ""}`.trim() },
    h(
      "thead",
      null,
      h(
        "tr",
        null,
        headers.map((c) =>
          typeof c === "string"
            ? h("th", null, c)
            : h("th", { class: c.num ? "num" : "", title: c.title }, c.label),
        ),
      ),
    ),
    h("tbody", null, rows),
  );
}

/** A number cell (right-aligned, tabular figures). */
export function numCell(text: string, props?: Props): HTMLTableCellElement {
  return h("td", { ...props, class: `num ${props?.class ?? ""}`.trim() }, text);
}

/** A hint for an empty page or table. */
export function empty(...children: Child[]): HTMLElement {
  return h("p", { class: "empty", testid: "empty" }, ...children);
}

/** A status line: muted text, or an error in red. */
export function setStatus(el: HTMLElement, text: string, error = false): void {
  el.textContent = text;
  el.classList.toggle("error-text", error);
  el.classList.toggle("muted", !error);
}
