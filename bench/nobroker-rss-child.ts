/** Child of bench/nobroker.ts: NoBroker over a file of events from distinct users; prints peak RSS as JSON. */
import { nobroker } from "../examples/nobroker/pipeline.js";
import { EmbeddedLog } from "../src/log/index.js";
import { Runner } from "../src/runtime/runner.js";

const [dir, file, users] = process.argv.slice(2);
const log = EmbeddedLog.open(dir, { logger: () => {} });
const start = Date.now();
// The checkpoint at the end serializes all 1M users' state too.
await new Runner(nobroker({ tables: false, lake: false }), { log, inputFile: file, logger: () => {} }).run();
const ms = Date.now() - start;
log.close();
process.stdout.write(
  JSON.stringify({ maxRssBytes: process.resourceUsage().maxRSS * 1024, users: Number(users), ms }),
);
