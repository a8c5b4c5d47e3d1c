/**
 * A real HTTP server standing in for a webhook's receiver (tests of examples/webhook/sink.ts): it
 * records every request (its Idempotency-Key and body) and answers as `answer` says.
 */
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import type { TestContext } from "node:test";

export interface ReceivedRequest {
  key: string;
  body: string;
  /** 1 for the first request with this key, 2 for the second... */
  attempt: number;
  status: number;
}

export interface Receiver {
  url: string;
  requests: ReceivedRequest[];
  /** The accepted (2xx) requests' bodies, by Idempotency-Key: what a deduplicating receiver processes. */
  accepted(): Map<string, string[]>;
}

/** `answer(key, body, attempt)`: the status to reply with (default 200); `delayMs` before replying. */
export async function startReceiver(
  t: TestContext,
  options: { answer?: (key: string, body: string, attempt: number) => number; delayMs?: number } = {},
): Promise<Receiver> {
  const requests: ReceivedRequest[] = [];
  const attempts = new Map<string, number>();
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const key = String(req.headers["idempotency-key"] ?? "");
      const body = Buffer.concat(chunks).toString("utf8");
      const attempt = (attempts.get(key) ?? 0) + 1;
      attempts.set(key, attempt);
      const status = options.answer?.(key, body, attempt) ?? 200;
      requests.push({ key, body, attempt, status });
      const reply = () => {
        res.statusCode = status;
        res.end(status < 300 ? "ok" : "no");
      };
      if (options.delayMs) setTimeout(reply, options.delayMs);
      else reply();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  server.keepAliveTimeout = 1000;
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    requests,
    accepted() {
      const out = new Map<string, string[]>();
      for (const r of requests) {
        if (r.status >= 300) continue;
        const list = out.get(r.key) ?? [];
        list.push(r.body);
        out.set(r.key, list);
      }
      return out;
    },
  };
}
