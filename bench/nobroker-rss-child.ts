/** Child of bench/nobroker.ts: NoBroker over 1M events from 1M distinct users; prints peak RSS as JSON. */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { nobroker } from "../examples/nobroker/pipeline.js";
import { EmbeddedLog } from "../src/log/index.js";
import { Runner } from "../src/runtime/runner.js";

const USERS = 1_000_000;
const dir = process.argv[2];
const file = join(dir, "distinct-users.jsonl");
const t0 = Date.UTC(2021, 10, 30);
const lines: string[] = [];
for (let i = 0; i < USERS; i++) {
  const date = new Date(t0 + i * 60).toISOString().replace("T", " ").slice(0, 19);
  lines.push(
    `{"user_id":${i + 1},"property_id":${(i % 100_000) + 1},"date":"${date}","event":"Interaction"}`,
  );
}
writeFileSync(file, lines.join("\n") + "\n");
lines.length = 0;
const log = EmbeddedLog.open(join(dir, "rss"), { logger: () => {} });
const start = Date.now();
// The checkpoint at the end serializes all 1M users' state too.
await new Runner(nobroker(), { log, inputFile: file, logger: () => {} }).run();
const ms = Date.now() - start;
log.close();
process.stdout.write(
  JSON.stringify({ maxRssBytes: process.resourceUsage().maxRSS * 1024, users: USERS, ms }),
);
