/** Inputs and readers shared by the runtime tests. */
import type { EmbeddedLog } from "../../src/log/index.js";

/** A deterministic NoBroker-like input with out-of-order, late and malformed lines. */
export function makeInput(n: number, seed = 1): string[] {
  let s = seed >>> 0;
  const rnd = () => (s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0) / 2 ** 32;
  const t0 = Date.UTC(2021, 10, 30);
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = rnd();
    let t = t0 + i * 200;
    if (r < 0.05) t -= Math.floor(rnd() * 4000);
    else if (r < 0.07) t -= 70_000;
    const user = rnd() < 0.3 ? 1 + Math.floor(rnd() * 3) : 1 + Math.floor(rnd() * 200);
    const date = new Date(t).toISOString().replace("T", " ").slice(0, 19);
    if (r > 0.995) lines.push(`{"user_id":"oops","date":"${date}"}`);
    else if (r > 0.99) lines.push(`not json ${i}`);
    else
      lines.push(
        JSON.stringify({
          user_id: user,
          property_id: 1 + Math.floor(rnd() * 50),
          date,
          event: rnd() < 0.9 ? "Interaction" : "View",
        }),
      );
  }
  return lines;
}

/** Every value of a topic, partition by partition, as text. */
export function readTopic(log: EmbeddedLog, topic: string): string[] {
  if (!log.hasTopic(topic)) return [];
  const out: string[] = [];
  for (const { partition } of log.describeTopic(topic).partitions) {
    const r = log.reader(topic, partition, 0);
    for (let batch = r.poll(10_000); batch.length > 0; batch = r.poll(10_000))
      for (const rec of batch) out.push(rec.value.toString("utf8"));
    r.close();
  }
  return out;
}
