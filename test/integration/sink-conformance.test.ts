/**
 * The sink contract's conformance suite (test/helpers/sink-conformance.ts) on a real Kafka broker
 * (scripts/kafka.sh): the same sinks and the same reference as on the embedded log
 * (test/runtime/sink-conformance.test.ts), run by the Kafka runtime; and the source contract's
 * (test/helpers/source-conformance.ts), ingesting into Kafka topics.
 */
import { sinkConformance } from "../helpers/sink-conformance.js";
import { sourceConformance } from "../helpers/source-conformance.js";
import { requireService, useKafka } from "../helpers/services.js";
import { stagedFiles, webhook } from "../helpers/sinks-under-test.js";

const kafka = useKafka({ port: 19300 });
const backend = {
  name: "Kafka runtime",
  broker: () => kafka.url,
  require: (t: import("node:test").TestContext) => requireService(t, "Kafka", kafka.unavailable),
};

sinkConformance("staged files", stagedFiles, backend);
sinkConformance("webhook", webhook, backend);
sourceConformance(backend);
