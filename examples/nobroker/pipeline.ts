/**
 * NoBroker (shared/seeds/000): rules over a stream of property interactions.
 *
 * - paid_user:       a user with >= 9 interactions                    {"user", "interactions_count"}
 * - property_status: a property with > 5 interactions                 {"property", "property_interactions_count"}
 * - possible_broker: a user with > 10 interactions in a 1-minute window {"window_start", "window_end", "user_id", "threat_user_interactions"}
 *
 * Each alert fires once per key (per key and window) by default ("crossing"); `emit: "changes"` is the
 * seed's own behaviour (a record on every update past the threshold); `emit: "final"` reports each
 * window's count when it closes (the running rules have no window to close and stay "crossing").
 *
 * Storage (issue 4): the running counts are kept as versioned tables `user_interactions` and
 * `property_interactions` (3 versions per key), and every valid event is landed in the lake as
 * dataset `interactions` (Parquet, `date=YYYY-MM-DD` folders), its dead letters as `nobroker_dead_letters`.
 * `tables: false` / `lake: false` turn them off.
 */
import { pipeline, schema, windows, type EmitMode, type PipelineDefinition } from "../../src/index.js";

export const Interaction = schema.object({
  user_id: schema.int(),
  property_id: schema.int(),
  date: schema.timestamp({ as: "ms" }),
  event: schema.string(),
});

export interface NoBrokerOptions {
  /** paid_user when a user's interactions reach this many (>=). */
  paidThreshold: number;
  /** property_status when a property's interactions exceed this many (>). */
  propertyThreshold: number;
  /** possible_broker when a user's interactions in one window exceed this many (>). */
  brokerThreshold: number;
  /** Tumbling window of the broker rule. */
  window: string;
  emit: EmitMode;
  /** How far the watermark trails the newest event. */
  maxOutOfOrderness: string;
  /** Keep user_interactions and property_interactions as versioned tables (HBase VERSIONS in the seed). */
  tables: boolean;
  /** Land the valid events as lake dataset `interactions`, partitioned by date. */
  lake: boolean;
}

export const NOBROKER_DEFAULTS: NoBrokerOptions = Object.freeze({
  paidThreshold: 9,
  propertyThreshold: 5,
  brokerThreshold: 10,
  window: "1m",
  emit: "crossing",
  maxOutOfOrderness: "5s",
  tables: true,
  lake: true,
});

export function nobroker(options: Partial<NoBrokerOptions> = {}): PipelineDefinition {
  const o = { ...NOBROKER_DEFAULTS, ...options };
  const running: "crossing" | "changes" = o.emit === "changes" ? "changes" : "crossing";
  return pipeline(
    "nobroker",
    (p) => {
      const valid = p.source("events", {
        schema: Interaction,
        eventTime: (e) => e.date,
        maxOutOfOrderness: o.maxOutOfOrderness,
      });
      // Every valid event is kept in the lake for audit and reprocessing (the seed's daily files).
      // `date` is epoch ms here; the lake stores time-named columns as timestamps.
      if (o.lake) valid.toLake("interactions");

      const events = valid.filter((e) => e.event === "Interaction", { name: "interactions" });

      const users = events.keyBy((e) => e.user_id, { name: "by-user" }).count({ name: "user-interactions" });
      users
        .when((n) => n >= o.paidThreshold, { emit: running, name: "paid-user-rule" })
        .map(({ key, value }) => ({ user: key, interactions_count: value }))
        .to("paid_user");
      if (o.tables) {
        users
          .toStream({ name: "user-updates" })
          .map(({ key, value }) => ({ user: key, interactions_count: value }))
          .toTable("user_interactions", { versions: 3 });
      }

      const properties = events
        .keyBy((e) => e.property_id, { name: "by-property" })
        .count({ name: "property-interactions" });
      properties
        .when((n) => n > o.propertyThreshold, { emit: running, name: "property-status-rule" })
        .map(({ key, value }) => ({ property: key, property_interactions_count: value }))
        .to("property_status");
      if (o.tables) {
        properties
          .toStream({ name: "property-updates" })
          .map(({ key, value }) => ({ property: key, property_interactions_count: value }))
          .toTable("property_interactions", { versions: 3 });
      }

      events
        .keyBy((e) => e.user_id, { name: "by-user-windowed" })
        .window(windows.tumbling(o.window))
        .count({ name: "user-interactions-per-window" })
        .when((n) => n > o.brokerThreshold, { emit: o.emit, name: "possible-broker-rule" })
        .map(({ key, window, value }) => ({
          window_start: window.start,
          window_end: window.end,
          user_id: key,
          threat_user_interactions: value,
        }))
        .to("possible_broker");
    },
    { deadLettersToLake: o.lake },
  );
}

export default nobroker();
