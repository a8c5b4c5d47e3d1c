/**
 * Strings read from DuckDB keep a leading U+FEFF.
 *
 * @duckdb/node-api (1.5.x) decodes every VARCHAR value (JSON columns included) with one shared
 * `new TextDecoder()`, whose default (`ignoreBOM: false`, as the WHATWG Encoding standard says)
 * drops a byte-order mark at the start of what it decodes: a value "\uFEFFx" came back from
 * `weir query`, the dashboard's SQL and `openWarehouse().run()` as "x" — a value changed on its way
 * out of the lake or a table. The decoder is a module export that the library reads at every call,
 * so it is replaced, once, by one that keeps the mark. When a release of the library decodes
 * without dropping it (or moves the export), this does nothing; test/warehouse/duckdb-strings.test.ts
 * checks the outcome either way.
 */
import { createRequire } from "node:module";

let done = false;

/** Make @duckdb/node-api keep a leading U+FEFF in the strings it reads (idempotent). */
export function keepLeadingByteOrderMarks(): void {
  if (done) return;
  done = true;
  let accessors: { textDecoder?: unknown } | undefined;
  try {
    accessors = createRequire(import.meta.url)("@duckdb/node-api/lib/vectors/dataAccessors.js") as {
      textDecoder?: unknown;
    };
  } catch {
    return; // another layout: nothing to replace
  }
  const current = accessors.textDecoder;
  if (current instanceof TextDecoder && !current.ignoreBOM && current.encoding === "utf-8")
    accessors.textDecoder = new TextDecoder("utf-8", { ignoreBOM: true });
}
