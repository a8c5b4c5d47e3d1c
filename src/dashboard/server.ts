/**
 * The dashboard's HTTP server (node:http, no framework): the JSON API of docs/api.md, server-sent
 * events, Prometheus `/metrics`, `/healthz`, and the front end's static files (built into
 * dist/web/ by `npm run build`).
 *
 *   const d = await startDashboard({ dataDir, port: 0 });   // port 0: any free port
 *   console.log(d.url);                                      // http://127.0.0.1:38211/
 *   await d.close();
 *
 * Security: it binds 127.0.0.1 by default. Any other address needs a token; with a token, every
 * request needs `Authorization: Bearer T`, the cookie set by visiting once with `?token=T`, or
 * `?token=T` itself. Without a token (loopback only), requests must name a loopback host (against
 * DNS rebinding); API requests from a page of another origin (or `Origin: null`) are refused, and
 * POSTs must be JSON (against cross-site requests); SQL runs in a sandbox (src/dashboard/sql.ts).
 * docs/security.md has the threat model.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { createReadStream, existsSync, readFileSync, statSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, extname, join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { WeirError } from "../errors.js";
import { UserError, usageError } from "../errors.js";
import { ApiError, badRequest, notFound, oneLine } from "./api-error.js";
import { PipelineMonitor } from "./pipelines.js";
import { PROMETHEUS_CONTENT_TYPE, renderPrometheus } from "./prometheus.js";
import { runSql } from "./sql.js";
import { openTableBrowser, type TableBrowser } from "./tables.js";
import { TopicBrowser, TopicRates, type TopicRecordView } from "./topics.js";

export const DEFAULT_PORT = 4040;
export const DEFAULT_HOST = "127.0.0.1";
/** Largest request body accepted (POST /api/sql). */
export const MAX_BODY_BYTES = 64 * 1024;
const TOKEN_COOKIE = "weir_token";

export interface DashboardOptions {
  /** Address to bind (default 127.0.0.1). Anything but loopback needs `token`. */
  host?: string;
  /** Port (default 4040; 0: any free port, see `url`). */
  port?: number;
  dataDir: string;
  /** A Kafka cluster (kafka://host:port): topics and dead letters are read from it. */
  broker?: string;
  /** Where the versioned tables live (`--table-store`; default `<dataDir>/tables.db`). */
  tableStore?: string;
  /** Required on every request when set (see the file comment). */
  token?: string;
  /** Where unexpected failures are reported (default: stderr). */
  logger?: (message: string) => void;
  /** The front end's files (default: `web/` next to `src/`, i.e. dist/web/ when built). */
  webDir?: string;
  /** How often pipelines are sampled and events sent, ms (default 1000). */
  sampleIntervalMs?: number;
  /** A SQL query running longer than this is interrupted, ms (default 30 000). */
  sqlTimeoutMs?: number;
}

export interface Dashboard {
  /** `http://host:port/` with the port actually bound. */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[(.*)\]$/, "$1").toLowerCase();
  return (
    h === "localhost" ||
    h.endsWith(".localhost") ||
    h === "::1" ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) ||
    /^::ffff:127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h)
  );
}

/** The default directory of the front end's files: `web/` beside `src/` (dist/web/ when compiled). */
export function defaultWebDir(): string {
  return fileURLToPath(new URL("../../web/", import.meta.url));
}

let version: string | undefined;

/** Weir's version, from the package.json above this file (sources or dist/). */
function weirVersion(): string {
  if (version !== undefined) return version;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === "weir" && typeof pkg.version === "string") return (version = pkg.version);
    } catch {
      // not here: one level up
    }
    dir = dirname(dir);
  }
  return (version = "unknown");
}

/** Start the server; resolves once it listens. Throws UserError for a port in use or a missing token. */
export async function startDashboard(options: DashboardOptions): Promise<Dashboard> {
  const host = options.host ?? DEFAULT_HOST;
  const port = options.port ?? DEFAULT_PORT;
  const token = options.token?.trim() || undefined;
  const logger = options.logger ?? ((m: string) => process.stderr.write(`weir: ${m}\n`));
  if (!isLoopback(host) && token === undefined)
    throw usageError(
      `binding ${host} requires --token (or $WEIR_TOKEN): anyone who can reach the port could read your data`,
    );
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw usageError(`--port ${port}: expected a port number from 0 to 65535`);

  const tables = await openTableBrowser(options.tableStore, options.dataDir);
  const topics = await TopicBrowser.open(options.dataDir, options.broker);
  const monitor = new PipelineMonitor(options.dataDir, { intervalMs: options.sampleIntervalMs });
  const api = new Api({
    dataDir: options.dataDir,
    broker: options.broker ?? null,
    tableStore: options.tableStore,
    sqlTimeoutMs: options.sqlTimeoutMs,
    topics,
    tables,
    monitor,
  });
  const webDir = resolve(options.webDir ?? defaultWebDir());
  const tokenHash = token === undefined ? undefined : sha256(token);

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      // handle() answers its own errors; this is a failure while answering (the client went away).
      if (!res.headersSent) sendJson(res, 500, { error: oneLine(String(err)) });
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let url: URL;
    try {
      url = new URL(req.url ?? "/", "http://localhost");
    } catch {
      return sendJson(res, 400, { error: "bad request URL" });
    }
    const path = url.pathname;
    const isApi = path.startsWith("/api/") || path === "/api";
    if (path === "/healthz") return sendText(res, 200, "ok\n");

    if (tokenHash === undefined) {
      // Loopback without a token: a page of another site that made its name resolve to 127.0.0.1
      // (DNS rebinding) sends its own name as Host.
      const hostHeader = req.headers.host;
      if (hostHeader !== undefined && !isLoopback(hostHeader.replace(/:\d+$/, "")) && hostHeader !== host)
        return refuse(res, 403, `requests must be addressed to ${host} (Host: ${hostHeader} refused)`, isApi);
    } else {
      const presented = bearerToken(req) ?? cookieToken(req) ?? url.searchParams.get("token") ?? undefined;
      if (presented === undefined || !timingSafeEqual(sha256(presented), tokenHash)) {
        res.setHeader("WWW-Authenticate", 'Bearer realm="weir"');
        return refuse(
          res,
          401,
          presented === undefined
            ? "this dashboard needs its token: send Authorization: Bearer <token>, or open it once with ?token=<token>"
            : "wrong token",
          isApi,
        );
      }
      if (url.searchParams.has("token")) {
        res.setHeader(
          "Set-Cookie",
          `${TOKEN_COOKIE}=${encodeURIComponent(presented)}; HttpOnly; SameSite=Strict; Path=/`,
        );
        if (!isApi && req.method === "GET") {
          // Keep the token out of the address bar and the history: the cookie carries it now.
          url.searchParams.delete("token");
          res.writeHead(303, { Location: url.pathname + url.search, "Cache-Control": "no-store" });
          res.end();
          return;
        }
      }
    }

    if (isApi) {
      const crossSite = crossSiteReason(req);
      if (crossSite !== undefined) return refuse(res, 403, crossSite, true);
      try {
        await api.serve(req, res, url);
      } catch (err) {
        answerError(res, err, `${req.method} ${path}`, logger);
      }
      return;
    }
    if (path === "/metrics") {
      if (req.method !== "GET" && req.method !== "HEAD") return methodNotAllowed(res, "GET, HEAD", false);
      const body = renderPrometheus(monitor.list());
      res.writeHead(200, { "Content-Type": PROMETHEUS_CONTENT_TYPE, "Cache-Control": "no-store" });
      res.end(req.method === "HEAD" ? undefined : body);
      return;
    }
    return serveStatic(req, res, path, webDir);
  }

  try {
    await listen(server, host, port);
  } catch (err) {
    await Promise.allSettled([topics.close(), tables.close()]);
    throw err;
  }
  monitor.start();
  const bound = (server.address() as AddressInfo).port;
  const shownHost = host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${shownHost}:${bound}/`,
    port: bound,
    close: () =>
      (closing ??= (async () => {
        monitor.close();
        const closed = new Promise<void>((r) => server.close(() => r()));
        server.closeAllConnections();
        await closed;
        await Promise.allSettled([topics.close(), tables.close()]);
      })()),
  };
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise<void>((resolveListen, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      server.off("listening", onListening);
      const where = `${host}:${port}`;
      switch (err.code) {
        case "EADDRINUSE":
          return reject(
            new UserError(
              `port ${port} on ${host} is already in use (another weir dashboard?); choose another with --port`,
            ),
          );
        case "EACCES":
          return reject(
            new UserError(
              `cannot listen on ${where}: permission denied (ports below 1024 need privileges); choose another with --port`,
            ),
          );
        case "EADDRNOTAVAIL":
        case "ENOTFOUND":
        case "EAI_AGAIN":
          return reject(
            new UserError(
              `cannot listen on ${host}: not an address of this machine; use --host 127.0.0.1 (or 0.0.0.0 with --token)`,
            ),
          );
        default:
          return reject(err);
      }
    };
    const onListening = () => {
      server.off("error", onError);
      resolveListen();
    };
    server.once("error", onError);
    server.once("listening", onListening);
    server.listen({ host, port });
  });
}

// ---------------------------------------------------------------------------------------------
// Responses

function securityHeaders(res: ServerResponse): void {
  res.setHeader("X-Content-Type-Options", "nosniff");
  res.setHeader("X-Frame-Options", "DENY");
  res.setHeader("Referrer-Policy", "no-referrer");
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  securityHeaders(res);
  res.writeHead(status, {
    "Content-Type": "application/json; charset=utf-8",
    "Cache-Control": "no-store",
    "Content-Length": Buffer.byteLength(text),
  });
  res.end(text);
}

function sendText(res: ServerResponse, status: number, text: string): void {
  securityHeaders(res);
  res.writeHead(status, {
    "Content-Type": "text/plain; charset=utf-8",
    "Cache-Control": "no-store",
    "Content-Length": Buffer.byteLength(text),
  });
  res.end(text);
}

function refuse(res: ServerResponse, status: number, message: string, json: boolean): void {
  if (json) sendJson(res, status, { error: message });
  else sendText(res, status, `weir: ${message}\n`);
}

function methodNotAllowed(res: ServerResponse, allow: string, json: boolean): void {
  res.setHeader("Allow", allow);
  refuse(res, 405, `method not allowed here (allowed: ${allow})`, json);
}

function answerError(res: ServerResponse, err: unknown, what: string, logger: (m: string) => void): void {
  let status = 500;
  let message: string;
  if (err instanceof ApiError) {
    status = err.status;
    message = err.message;
  } else if (err instanceof WeirError) {
    status = err.code === "UNKNOWN_TOPIC" ? 404 : err.code === "USAGE" ? 400 : 500;
    message = err.message;
  } else if (err instanceof UserError) {
    status = 400;
    message = err.message;
  } else {
    message = err instanceof Error ? err.message : String(err);
    logger(`dashboard: ${what} failed: ${err instanceof Error && err.stack ? err.stack : message}`);
  }
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, status, { error: oneLine(message) });
}

/**
 * Why a request to the API comes from a page of another site, or undefined. Browsers name the page
 * that sent a request in `Origin` (on every POST, and on cross-origin fetches) and say whether it
 * is the same origin in `Sec-Fetch-Site`. `Origin: null` is an opaque origin — a sandboxed frame, a
 * file:// page, a data: URL, a redirect — never this dashboard's page, so it is refused too. A
 * request without either header (curl, a script) is not a browser's cross-site request.
 */
export function crossSiteReason(req: IncomingMessage): string | undefined {
  const origin = req.headers.origin;
  if (origin !== undefined) {
    let same = false;
    try {
      const u = new URL(origin);
      same = (u.protocol === "http:" || u.protocol === "https:") && u.host === req.headers.host;
    } catch {
      // "null" or not a URL: refused
    }
    if (!same) return `cross-origin request refused (Origin: ${origin}): use the dashboard's own page`;
  }
  const site = req.headers["sec-fetch-site"];
  if (site !== undefined && site !== "same-origin" && site !== "none")
    return `cross-site request refused (Sec-Fetch-Site: ${site}): use the dashboard's own page`;
  return undefined;
}

function sha256(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}

function bearerToken(req: IncomingMessage): string | undefined {
  const m = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? "");
  return m ? m[1].trim() : undefined;
}

function cookieToken(req: IncomingMessage): string | undefined {
  for (const part of (req.headers.cookie ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === TOKEN_COOKIE) {
      try {
        return decodeURIComponent(part.slice(eq + 1).trim());
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Static files of the front end

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".gif": "image/gif",
  ".webp": "image/webp",
  ".ico": "image/x-icon",
  ".woff": "font/woff",
  ".woff2": "font/woff2",
  ".ttf": "font/ttf",
  ".txt": "text/plain; charset=utf-8",
  ".wasm": "application/wasm",
};

function fileIfExists(path: string): { size: number } | undefined {
  try {
    const st = statSync(path);
    return st.isFile() ? { size: st.size } : undefined;
  } catch {
    return undefined;
  }
}

function serveStatic(req: IncomingMessage, res: ServerResponse, path: string, root: string): void {
  if (req.method !== "GET" && req.method !== "HEAD") return methodNotAllowed(res, "GET, HEAD", false);
  const index = join(root, "index.html");
  if (!existsSync(index))
    return sendText(
      res,
      503,
      `weir: the dashboard's front end is not built (no ${index}): run \`npm run build\`; the API (/api/...) and /metrics work without it\n`,
    );
  let rel: string;
  try {
    rel = decodeURIComponent(path);
  } catch {
    return sendText(res, 400, "weir: bad path\n");
  }
  if (rel.includes("\0")) return sendText(res, 400, "weir: bad path\n");
  let file = resolve(root, `.${rel.endsWith("/") ? `${rel}index.html` : rel}`);
  if (file !== root && !file.startsWith(root + sep)) return sendText(res, 404, "weir: not found\n");
  let found = fileIfExists(file);
  if (found === undefined && fileIfExists(join(file, "index.html")) !== undefined) {
    file = join(file, "index.html");
    found = fileIfExists(file);
  }
  if (found === undefined) {
    // Paths without an extension are the front end's own routes: it decides what they show.
    if (extname(rel) !== "") return sendText(res, 404, "weir: not found\n");
    file = index;
    found = fileIfExists(file);
    if (found === undefined) return sendText(res, 404, "weir: not found\n");
  }
  securityHeaders(res);
  res.writeHead(200, {
    "Content-Type": CONTENT_TYPES[extname(file).toLowerCase()] ?? "application/octet-stream",
    "Content-Length": found.size,
    "Cache-Control": "no-cache",
  });
  if (req.method === "HEAD") {
    res.end();
    return;
  }
  const stream = createReadStream(file);
  stream.on("error", () => res.destroy());
  stream.pipe(res);
}

// ---------------------------------------------------------------------------------------------
// The JSON API (docs/api.md)

interface ApiContext {
  dataDir: string;
  broker: string | null;
  tableStore: string | undefined;
  sqlTimeoutMs: number | undefined;
  topics: TopicBrowser;
  tables: TableBrowser;
  monitor: PipelineMonitor;
}

/** `?limit=`: an integer >= 1; larger than `max` means `max`. */
function limitParam(url: URL, def: number, max: number): number {
  const v = url.searchParams.get("limit");
  if (v === null || v === "") return def;
  if (!/^\d+$/.test(v) || Number(v) < 1)
    throw badRequest(`limit must be an integer from 1 to ${max}, not ${JSON.stringify(v)}`);
  return Math.min(Number(v), max);
}

function partitionParam(url: URL): number | undefined {
  const v = url.searchParams.get("partition");
  if (v === null || v === "") return undefined;
  if (!/^\d+$/.test(v)) throw badRequest(`partition must be an integer >= 0, not ${JSON.stringify(v)}`);
  return Number(v);
}

function segment(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw badRequest(`bad URL encoding in ${JSON.stringify(text)}`);
  }
}

class Api {
  private readonly rates = new TopicRates();

  constructor(private readonly ctx: ApiContext) {}

  async serve(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const parts = url.pathname
      .split("/")
      .filter((s) => s !== "")
      .slice(1); // without "api"
    const method = req.method ?? "GET";
    const get = (fn: () => unknown | Promise<unknown>) => async () => {
      if (method !== "GET" && method !== "HEAD") return methodNotAllowed(res, "GET", true);
      sendJson(res, 200, await fn());
    };
    const [a, b, c, ...rest] = parts;
    let route: (() => Promise<void>) | undefined;
    if (rest.length === 0) {
      if (a === "overview" && b === undefined) route = get(() => this.overview());
      else if (a === "pipelines" && b === undefined) route = get(() => this.ctx.monitor.list());
      else if (a === "pipelines" && b !== undefined && c === undefined)
        route = get(() => this.pipeline(segment(b)));
      else if (a === "events" && b === undefined)
        route = async () => {
          if (method !== "GET") return methodNotAllowed(res, "GET", true);
          this.ctx.monitor.addClient(req, res);
        };
      else if (a === "topics" && b === undefined) route = get(() => this.topicList());
      else if (a === "topics" && b !== undefined && c === "records")
        route = get(() =>
          this.ctx.topics.latest(segment(b), {
            limit: limitParam(url, 50, 500),
            key: url.searchParams.get("key") ?? undefined,
            partition: partitionParam(url),
          }),
        );
      else if (a === "tables" && b === undefined) route = get(() => this.ctx.tables.list());
      else if (a === "tables" && b !== undefined && c === undefined)
        route = get(() => this.table(segment(b), url));
      else if (a === "sql" && b === undefined)
        route = async () => {
          if (method !== "POST") return methodNotAllowed(res, "POST", true);
          sendJson(res, 200, await this.sql(req));
        };
      else if (a === "dead-letters" && b === undefined) route = get(() => this.deadLetters(url));
    }
    if (route === undefined)
      throw notFound(`no such endpoint: ${method} ${url.pathname} (the API is described in docs/api.md)`);
    await route();
  }

  private overview() {
    return {
      dataDir: this.ctx.dataDir,
      engine: this.ctx.topics.engine,
      broker: this.ctx.broker,
      version: weirVersion(),
      now: Date.now(),
    };
  }

  private pipeline(name: string) {
    const p = this.ctx.monitor.get(name);
    if (p === undefined)
      throw notFound(
        `unknown pipeline ${JSON.stringify(name)}: no status file in ${this.ctx.dataDir}/status`,
      );
    return p;
  }

  private async topicList() {
    const list = await this.ctx.topics.list();
    const now = Date.now();
    this.rates.retain(new Set(list.map((t) => t.name)));
    return list.map((t) => ({ ...t, ratePerSec: this.rates.rate(t.name, t.records, now) }));
  }

  private async table(name: string, url: URL) {
    const key = url.searchParams.get("key") ?? undefined;
    const rows = await this.ctx.tables.rows(name, { key, limit: limitParam(url, 50, 500) });
    return { table: name, rows };
  }

  private async sql(req: IncomingMessage) {
    const type = (req.headers["content-type"] ?? "").split(";")[0].trim().toLowerCase();
    if (type !== "application/json")
      throw badRequest('send the query as JSON with Content-Type: application/json: {"sql": "SELECT ..."}');
    const text = await readBody(req, MAX_BODY_BYTES);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw badRequest('the body is not JSON: send {"sql": "SELECT ..."}');
    }
    const sql = (body as { sql?: unknown } | null)?.sql;
    if (typeof sql !== "string") throw badRequest('send {"sql": "SELECT ..."} (a string)');
    return runSql(this.ctx.dataDir, sql, {
      tableStore: this.ctx.tableStore,
      timeoutMs: this.ctx.sqlTimeoutMs,
    });
  }

  private async deadLetters(url: URL) {
    const limit = limitParam(url, 50, 500);
    const pipeline = url.searchParams.get("pipeline") ?? undefined;
    const all = (await this.ctx.topics.names()).filter((n) => n.endsWith(".dlq"));
    let topics: string[];
    if (pipeline !== undefined) {
      const topic = `${pipeline}.dlq`;
      if (!all.includes(topic)) {
        if (this.ctx.monitor.names().includes(pipeline)) return [];
        throw notFound(`unknown pipeline ${JSON.stringify(pipeline)}: no status file and no topic ${topic}`);
      }
      topics = [topic];
    } else {
      topics = all;
    }
    const out: Array<ReturnType<typeof deadLetter>> = [];
    for (const topic of topics) {
      try {
        for (const r of await this.ctx.topics.latest(topic, { limit })) out.push(deadLetter(topic, r));
      } catch (err) {
        if (err instanceof ApiError && err.status === 404) continue; // deleted meanwhile
        throw err;
      }
    }
    out.sort(
      (x, y) => y.timestamp - x.timestamp || (x.pipeline < y.pipeline ? -1 : 1) || y.offset - x.offset,
    );
    return out.slice(0, limit);
  }
}

/** A dead letter from its envelope `{error, raw, topic, partition, offset}` (docs/semantics.md). */
function deadLetter(topic: string, r: TopicRecordView) {
  const v = r.value as {
    error?: unknown;
    raw?: unknown;
    topic?: unknown;
    partition?: unknown;
    offset?: unknown;
  } | null;
  const envelope = typeof v === "object" && v !== null && !Array.isArray(v);
  return {
    pipeline: topic.slice(0, -".dlq".length),
    partition: r.partition,
    offset: r.offset,
    timestamp: r.timestamp,
    error: envelope && typeof v.error === "string" ? v.error : null,
    raw:
      envelope && typeof v.raw === "string"
        ? v.raw
        : typeof r.value === "string"
          ? r.value
          : JSON.stringify(r.value),
    source:
      envelope && typeof v.topic === "string"
        ? { topic: v.topic, partition: Number(v.partition), offset: Number(v.offset) }
        : null,
  };
}

function readBody(req: IncomingMessage, max: number): Promise<string> {
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > max)
    return Promise.reject(new ApiError(413, `the request body is larger than ${max} bytes`));
  return new Promise<string>((resolveBody, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on("data", (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > max) {
        done = true;
        req.resume();
        reject(new ApiError(413, `the request body is larger than ${max} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => {
      if (done) return;
      done = true;
      resolveBody(Buffer.concat(chunks).toString("utf8"));
    });
    req.on("error", (err) => {
      if (done) return;
      done = true;
      reject(err);
    });
  });
}
