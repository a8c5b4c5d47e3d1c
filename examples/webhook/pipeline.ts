/**
 * NoBroker's paid-user rule with its alerts POSTed to a webhook (examples/webhook/sink.ts) as
 * well as written to the topic `paid_user`:
 *
 *   WEIR_WEBHOOK_URL=http://127.0.0.1:8080/alerts npx weir run examples/webhook/pipeline.ts \
 *     --input examples/nobroker/sample.jsonl
 *
 * Each POST carries the alert as JSON and an `Idempotency-Key` header; what the endpoint refuses,
 * or keeps failing for 5 attempts, becomes a dead letter in `paid_user_webhook.dlq`.
 */
import { pipeline, type PipelineDefinition } from "../../src/index.js";
import { Interaction } from "../nobroker/pipeline.js";
import { webhookSink, type WebhookSinkOptions } from "./sink.js";

export interface PaidUserAlert {
  user: number;
  interactions_count: number;
}

export function paidUserWebhook(
  webhook: WebhookSinkOptions<PaidUserAlert>,
  options: { paidThreshold?: number } = {},
): PipelineDefinition {
  const threshold = options.paidThreshold ?? 9;
  return pipeline("paid_user_webhook", (p) => {
    const alerts = p
      .source("events", { schema: Interaction, eventTime: (e) => e.date })
      .keyBy((e) => e.user_id)
      .count({ name: "user-interactions" })
      .when((n) => n >= threshold)
      .map((u): PaidUserAlert => ({ user: Number(u.key), interactions_count: u.value }));
    alerts.to("paid_user");
    alerts.sinkTo(webhookSink(webhook), { key: (a) => a.user });
  });
}

export default paidUserWebhook({ url: process.env.WEIR_WEBHOOK_URL ?? "http://127.0.0.1:8080/alerts" });
