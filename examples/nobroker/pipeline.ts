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
}

export const NOBROKER_DEFAULTS: NoBrokerOptions = Object.freeze({
  paidThreshold: 9,
  propertyThreshold: 5,
  brokerThreshold: 10,
  window: "1m",
  emit: "crossing",
  maxOutOfOrderness: "5s",
});

export function nobroker(options: Partial<NoBrokerOptions> = {}): PipelineDefinition {
  const o = { ...NOBROKER_DEFAULTS, ...options };
  const running: "crossing" | "changes" = o.emit === "changes" ? "changes" : "crossing";
  return pipeline("nobroker", (p) => {
    const events = p
      .source("events", {
        schema: Interaction,
        eventTime: (e) => e.date,
        maxOutOfOrderness: o.maxOutOfOrderness,
      })
      .filter((e) => e.event === "Interaction", { name: "interactions" });

    events
      .keyBy((e) => e.user_id, { name: "by-user" })
      .count({ name: "user-interactions" })
      .when((n) => n >= o.paidThreshold, { emit: running, name: "paid-user-rule" })
      .map(({ key, value }) => ({ user: key, interactions_count: value }))
      .to("paid_user");

    events
      .keyBy((e) => e.property_id, { name: "by-property" })
      .count({ name: "property-interactions" })
      .when((n) => n > o.propertyThreshold, { emit: running, name: "property-status-rule" })
      .map(({ key, value }) => ({ property: key, property_interactions_count: value }))
      .to("property_status");

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
  });
}

export default nobroker();
