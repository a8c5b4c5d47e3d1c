/**
 * Child of bench/kafka.ts: the raw client's consume rate. A plain @platformatic/kafka consumer
 * (read committed, from offset 0) reads partitions 0..n-1 of a topic (default: partition 0) until it
 * has `end` records, decoding each value to a string and doing nothing else; prints the time from the first request to the last record as JSON.
 *
 * Mode `stream`: the client's consume() stream (mode manual), one message object per record.
 * Mode `fetch`: the client's lower-level fetch(), one Fetch request at a time — the API Weir's input
 * feed reads with (src/kafka/topic-reader.ts), without its per-record work.
 */
import { Consumer, type Message } from "@platformatic/kafka";
import { READ_COMMITTED, clientOptions, parseBrokerUrl } from "../src/kafka/connection.js";
import { closeQuietly } from "../src/kafka/runner.js";

const [mode, url, topic, end, partitionArg] = process.argv.slice(2);
/** Read partitions 0..n-1 (`fetch`: one request for all of them per round), `end` records in all. */
const partitions = Number(partitionArg ?? "1");
const consumer = new Consumer({
  ...clientOptions(parseBrokerUrl(url), "weir-bench-raw"),
  groupId: `weir-bench-raw-${process.pid}`,
  isolationLevel: READ_COMMITTED,
  autocommit: false,
  maxWaitTime: 200, // as Weir's input feed
});
let records = 0;
let chars = 0;
let ms: number;

if (mode === "stream") {
  const total = Number(end);
  const t0 = performance.now();
  const stream = await consumer.consume({
    topics: [topic],
    mode: "manual",
    offsets: Array.from({ length: partitions }, (_, partition) => ({ topic, partition, offset: 0n })),
    isolationLevel: READ_COMMITTED,
    autocommit: false,
  });
  await new Promise<void>((resolve, reject) => {
    stream.on("data", (m: Message<Buffer, Buffer, Buffer, Buffer>) => {
      chars += m.value === undefined || m.value === null ? 0 : m.value.toString("utf8").length;
      records++;
      if (records >= total) resolve();
    });
    stream.on("error", reject);
  });
  ms = performance.now() - t0;
  await stream.close();
} else if (mode === "fetch") {
  type Batch = {
    attributes: number;
    firstOffset: bigint;
    lastOffsetDelta: number;
    records: Array<{ value: Buffer | null }>;
  };
  type Response = {
    responses: Array<{ partitions: Array<{ partitionIndex: number; errorCode: number; records?: Batch[] }> }>;
  };
  const md = await consumer.metadata({ topics: [topic] });
  const topicMd = md.topics.get(topic)!;
  const last = Number(end);
  const next = new Array<number>(partitions).fill(0);
  const leader = topicMd.partitions[0].leader; // one broker: every partition's leader
  const t0 = performance.now();
  while (records < last) {
    const response = (await consumer.fetch({
      node: leader,
      topics: [
        {
          topicId: topicMd.id,
          partitions: next.map((offset, partition) => ({
            partition,
            fetchOffset: BigInt(offset),
            partitionMaxBytes: 4 * 1024 * 1024,
            currentLeaderEpoch: -1,
            lastFetchedEpoch: -1,
          })),
        },
      ],
      maxWaitTime: 200,
      minBytes: 1,
      maxBytes: 4 * 1024 * 1024 * partitions,
      isolationLevel: READ_COMMITTED,
    })) as unknown as Response;
    for (const p of response.responses[0].partitions) {
      if (p.errorCode !== 0)
        throw new Error(`fetch of ${topic}/${p.partitionIndex}: error code ${p.errorCode}`);
      for (const batch of p.records ?? []) {
        next[p.partitionIndex] = Number(batch.firstOffset) + batch.lastOffsetDelta + 1;
        if ((batch.attributes & (1 << 5)) !== 0) continue; // a transaction marker
        for (const r of batch.records) {
          chars += r.value === null ? 0 : r.value.toString("utf8").length;
          records++;
        }
      }
    }
  }
  ms = performance.now() - t0;
} else {
  throw new Error(`kafka-raw-child: unknown mode ${mode}`);
}
await closeQuietly(consumer);
process.stdout.write(JSON.stringify({ ms, records, chars }));
