/**
 * The sinks the sink conformance suite runs (test/helpers/sink-conformance.ts): the staged-file
 * sink (test/fixtures/staged-file-sink.ts), which must give exactly-once results, and the webhook
 * sink (examples/webhook/sink.ts) against a real HTTP receiver that fails one request in ten with
 * 503, which must deliver at least once with stable idempotency keys.
 */
import { join } from "node:path";
import type { SinkUnderTest } from "./sink-conformance.js";
import { readCommitted } from "../fixtures/staged-file-sink.js";
import { startReceiver } from "./webhook-receiver.js";
import { tempDir } from "../cli/helpers.js";
import type { CountUpdate } from "../fixtures/sink-pipeline-def.js";

export const stagedFiles = (): SinkUnderTest => ({
  kind: "files",
  guarantee: "exactly-once",
  async prepare(t) {
    const dir = join(tempDir(t, "weir-staged-"), "out");
    return {
      target: dir,
      delivered: async () => readCommitted(dir).map((l) => ({ id: l.id, value: l.value as CountUpdate })),
    };
  },
});

export const webhook = (): SinkUnderTest => ({
  kind: "webhook",
  guarantee: "at-least-once",
  async prepare(t) {
    let n = 0;
    const receiver = await startReceiver(t, { answer: () => (++n % 10 === 0 ? 503 : 200) });
    return {
      target: receiver.url,
      delivered: async () =>
        receiver.requests
          .filter((r) => r.status < 300)
          .map((r) => ({ id: r.key, value: JSON.parse(r.body) as CountUpdate })),
    };
  },
});
