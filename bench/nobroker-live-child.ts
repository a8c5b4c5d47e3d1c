/** Child of bench/nobroker.ts: the NoBroker pipeline live on the embedded log, every event an alert. */
import { nobroker } from "../examples/nobroker/pipeline.js";
import { EmbeddedLog } from "../src/log/index.js";
import { Runner } from "../src/runtime/runner.js";

const log = EmbeddedLog.open(process.argv[2], { logger: () => {} });
const runner = new Runner(nobroker({ paidThreshold: 1, emit: "changes", tables: false, lake: false }), {
  log,
  logger: () => {},
});
process.on("SIGTERM", () => runner.stop());
const done = runner.run();
process.stdout.write("ready\n");
await done;
log.close();
