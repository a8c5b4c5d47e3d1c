/**
 * What the SQLite and PostgreSQL table stores share: the rules for table names, the checks every
 * batch goes through, and how rows are turned into TableVersions.
 *
 * The SQL schema (the same in both stores; docs/tables.md):
 *
 *   weir_tables(name PRIMARY KEY, versions, created_at, compacted_seq)   -- the catalog
 *   NAME(key, version, event_time, value, source_topic, source_partition, source_offset, seq)
 *     PRIMARY KEY (key, version), UNIQUE (seq)                           -- every stored version
 *   NAME_latest                                                          -- view: newest version per key
 */
import { WeirError } from "../../errors.js";
import { wellFormedJson } from "../../util/text.js";
import type { TableSpec, TableUpdate, TableVersion } from "../types.js";

/** The catalog table listing the Weir tables of a store. */
export const CATALOG = "weir_tables";

/** Longest table name: leaves room for the `_latest` view and the `weir_seq_` index in PostgreSQL's 63 bytes. */
export const MAX_NAME_LENGTH = 48;

const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Check a table name; throws WeirError USAGE naming the rule. */
export function checkTableName(name: string): void {
  if (typeof name !== "string" || !NAME_RE.test(name) || name.length > MAX_NAME_LENGTH) {
    throw new WeirError(
      "USAGE",
      `invalid table name ${JSON.stringify(name)}: use letters, digits and '_' (not starting with a digit), at most ${MAX_NAME_LENGTH} characters`,
    );
  }
  const lower = name.toLowerCase();
  if (lower.startsWith("weir_") || lower.startsWith("sqlite_") || lower.startsWith("pg_")) {
    throw new WeirError(
      "USAGE",
      `invalid table name ${name}: names starting with weir_, sqlite_ or pg_ are reserved`,
    );
  }
  if (lower.endsWith("_latest")) {
    throw new WeirError(
      "USAGE",
      `invalid table name ${name}: names ending in _latest are reserved for the latest-version views`,
    );
  }
}

export function checkSpec(spec: TableSpec): void {
  checkTableName(spec.name);
  if (!Number.isSafeInteger(spec.versions) || spec.versions < 1) {
    throw new WeirError(
      "USAGE",
      `table ${spec.name}: versions must be an integer >= 1, not ${String(spec.versions)}`,
    );
  }
}

/** A SQL identifier, always quoted (names may contain upper-case letters). */
export function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** The names of a table's SQL objects. */
export function sqlNames(table: string): { table: string; latest: string; seqIndex: string } {
  return {
    table: ident(table),
    latest: ident(`${table}_latest`),
    seqIndex: ident(`weir_seq_${table}`),
  };
}

/**
 * Check a batch: seqs strictly increasing, keys strings, event times representable. Returns the
 * index of the first update with seq > `lastSeq` (updates before it are already stored: a retry).
 */
export function checkBatch(table: string, updates: readonly TableUpdate[], lastSeq: number): number {
  let prev = 0;
  let first = updates.length;
  for (let i = 0; i < updates.length; i++) {
    const u = updates[i];
    if (!Number.isSafeInteger(u.seq) || u.seq < 1 || u.seq <= prev) {
      throw new WeirError(
        "INTERNAL",
        `table ${table}: update seq ${String(u.seq)} after ${prev}: seqs must be integers >= 1, strictly increasing`,
      );
    }
    prev = u.seq;
    if (typeof u.key !== "string") {
      throw new WeirError("INTERNAL", `table ${table}: update seq ${u.seq} has a key that is not a string`);
    }
    if (!Number.isFinite(u.eventTime) || Math.abs(u.eventTime) > 8.64e15) {
      throw new WeirError(
        "INTERNAL",
        `table ${table}: update seq ${u.seq} (key ${u.key}) has no valid event time (${String(u.eventTime)})`,
      );
    }
    if (first === updates.length && u.seq > lastSeq) first = i;
  }
  return first;
}

/**
 * The JSON text stored for an update: what the table step made (see TableSinkOperator), else its
 * value serialised the same way (`undefined` is stored as null; a lone surrogate, which no UTF-8
 * store holds, as U+FFFD).
 */
export function jsonText(update: { value: unknown; json?: string }): string {
  return update.json ?? wellFormedJson(update.value) ?? "null";
}

/** An ISO-8601 UTC timestamp with milliseconds, as stored in SQLite and printed by `weir table`. */
export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

/**
 * The earliest event time a table stores: 4714-11-24 BC, 00:00 UTC, the first instant a PostgreSQL
 * TIMESTAMPTZ holds (a Date goes back to 271821 BC). An earlier one is a dead letter of the table
 * step on every store, so that a pipeline moves between stores unchanged.
 */
export const MIN_TABLE_TIME_MS = Date.UTC(-4713, 10, 24);

/**
 * A timestamp as PostgreSQL reads it: ISO-8601, but a year past 9999 without ISO's `+` and a year
 * before 1 AD as PostgreSQL's `BC` (ISO year 0 is 1 BC), neither of which it reads otherwise.
 */
export function postgresTime(ms: number): string {
  const d = new Date(ms);
  const iso = d.toISOString();
  const year = d.getUTCFullYear();
  if (year >= 1 && year <= 9999) return iso;
  const rest = iso.slice(iso.indexOf("-", 1));
  return year > 0 ? `${year}${rest}` : `${String(1 - year).padStart(4, "0")}${rest} BC`;
}

/** A stored row's columns, as both stores select them (`event_time` converted to ms by the store). */
export interface VersionRow {
  key: string;
  version: number | string;
  value: unknown;
  source_topic: string | null;
  source_partition: number | string | null;
  source_offset: number | string | null;
}

export function toVersion(row: VersionRow, eventTime: number, value: unknown): TableVersion {
  return {
    key: row.key,
    version: Number(row.version),
    eventTime,
    value,
    source: {
      topic: row.source_topic ?? "",
      partition: row.source_partition === null ? -1 : Number(row.source_partition),
      offset: row.source_offset === null ? -1 : Number(row.source_offset),
    },
  };
}

export function unknownTable(table: string, location: string, tables: readonly string[]): WeirError {
  const list = tables.length === 0 ? "there are no tables" : `tables: ${tables.join(", ")}`;
  return new WeirError("USAGE", `unknown table ${table} in ${location} (${list})`);
}

/** `read()`'s `versions` option: undefined means 1 (the latest version). */
export function versionsOption(versions: number | undefined): number {
  if (versions === undefined) return 1;
  if (!(versions >= 1) || !(Number.isInteger(versions) || versions === Infinity)) {
    throw new WeirError("USAGE", `versions must be an integer >= 1, not ${String(versions)}`);
  }
  return Math.min(versions, Number.MAX_SAFE_INTEGER);
}
