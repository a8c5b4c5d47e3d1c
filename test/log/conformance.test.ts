/**
 * The embedded log passes the conformance suite of the one log interface (test/helpers/log-conformance.ts);
 * test/integration/log-conformance.test.ts runs the same suite on a real Kafka broker.
 */
import { after } from "node:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { logConformance } from "../helpers/log-conformance.js";

const dir = mkdtempSync(join(tmpdir(), "weir-log-conformance-"));
after(() => rmSync(dir, { recursive: true, force: true }));

logConformance("embedded log", () => ({ options: { dataDir: dir } }));
