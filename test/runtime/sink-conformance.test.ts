/**
 * The sink contract's conformance suite (test/helpers/sink-conformance.ts) on the embedded log,
 * for the sinks of test/helpers/sinks-under-test.ts.
 */
import { sinkConformance } from "../helpers/sink-conformance.js";
import { stagedFiles, webhook } from "../helpers/sinks-under-test.js";

sinkConformance("staged files", stagedFiles);
sinkConformance("webhook", webhook);
