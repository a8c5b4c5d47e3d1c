/**
 * A real Kafka broker (scripts/kafka.sh) passes the conformance suite of the one log interface
 * (test/helpers/log-conformance.ts), the same suite the embedded log passes (test/log/conformance.test.ts).
 */
import { logConformance } from "../helpers/log-conformance.js";
import { requireService, useKafka } from "../helpers/services.js";

const kafka = useKafka({ port: 19490 });

logConformance("Kafka", () => ({
  options: kafka.url === undefined ? undefined : { broker: kafka.url },
  unavailable: kafka.unavailable,
  require: (t, reason) => requireService(t, "Kafka", reason),
}));
