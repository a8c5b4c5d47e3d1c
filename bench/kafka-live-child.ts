/** Child of bench/kafka.ts: NoBroker live on Kafka, every event an alert; prints its metrics at the end. */
import { nobroker } from "../examples/nobroker/pipeline.js";
import { KafkaRunner } from "../src/kafka/runner.js";

const [broker, dataDir] = process.argv.slice(2);
const runner = new KafkaRunner(nobroker({ paidThreshold: 1, emit: "changes", tables: false, lake: false }), {
  broker,
  dataDir,
  logger: (m) => process.stderr.write(`kafka-live-child: ${m}\n`),
});
process.on("SIGTERM", () => runner.stop());
const done = runner.run();
process.stdout.write("ready\n");
await done;
const m = runner.metrics();
process.stdout.write(
  JSON.stringify({ latencyMs: m.latencyMs, checkpoints: m.checkpoints, recordsIn: m.recordsIn }) + "\n",
);
