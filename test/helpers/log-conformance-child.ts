/**
 * A committed writer's holder that dies (test/helpers/log-conformance.ts): it opens the writer,
 * commits 10 records with state "child-1", sends `uncommitted` more records of 2 KiB without
 * committing them, waits until they reached the log (appended; on Kafka sent in the open
 * transaction), prints `ready` and waits to be SIGKILLed.
 *
 *   node log-conformance-child.js '{"options":{...},"id":"...","topic":"...","uncommitted":3000}'
 */
import { openTopicLog, type OpenTopicLogOptions } from "../../src/embed/topic-log.js";

const { options, id, topic, uncommitted } = JSON.parse(process.argv[2]) as {
  options: OpenTopicLogOptions;
  id: string;
  topic: string;
  uncommitted: number;
};
const log = await openTopicLog(options);
const writer = await log.openCommittedWriter(id, [topic]);
writer.send(
  topic,
  Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: `committed-${i}` })),
);
await writer.commit({ positions: { in: { 0: 10 } }, state: "child-1" });
const filler = "x".repeat(2048);
for (let i = 0; i < uncommitted; i += 100)
  writer.send(
    topic,
    Array.from({ length: Math.min(100, uncommitted - i) }, (_, j) => ({
      key: `u${i + j}`,
      value: `uncommitted-${i + j}-${filler}`,
    })),
  );
// Kafka's writer sends ahead in the background once 4 MiB wait: let those sends finish, so the
// cluster holds an open transaction for the successor to abort.
const sending = (writer as unknown as { sending?: Promise<void> }).sending;
if (sending !== undefined) await sending;
process.stdout.write("ready\n");
setInterval(() => {}, 1000);
