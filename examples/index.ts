/**
 * The built-in examples `weir run <name>` knows, with the options each accepts on the command line.
 */
import type { PipelineDefinition } from "../src/api/pipeline.js";
import { WeirError } from "../src/errors.js";
import type { EmitMode } from "../src/graph/graph.js";
import { NOBROKER_DEFAULTS, nobroker } from "./nobroker/pipeline.js";

export interface ExampleOption {
  /** The command-line flag without dashes, e.g. "paid-threshold". */
  flag: string;
  description: string;
  default: string;
}

export interface Example {
  name: string;
  description: string;
  options: ExampleOption[];
  /** Build the pipeline from command-line option values (strings, already checked against `options`). */
  build(values: Record<string, string>): PipelineDefinition;
}

function positiveInt(flag: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0)
    throw new WeirError("USAGE", `--${flag} must be a whole number >= 0, got ${JSON.stringify(v)}`);
  return n;
}

function onOff(flag: string, v: string): boolean {
  if (v === "on" || v === "true") return true;
  if (v === "off" || v === "false") return false;
  throw new WeirError("USAGE", `--${flag} must be on or off, got ${JSON.stringify(v)}`);
}

function emitMode(v: string): EmitMode {
  if (v !== "crossing" && v !== "changes" && v !== "final")
    throw new WeirError("USAGE", `--emit must be crossing, changes or final, got ${JSON.stringify(v)}`);
  return v;
}

export const EXAMPLES: readonly Example[] = [
  {
    name: "nobroker",
    description:
      "NoBroker property interactions: paid_user, property_status and possible_broker rules (seed 000)",
    options: [
      {
        flag: "emit",
        description:
          "alert emission: crossing (once per key), changes (every update), final (when the window closes)",
        default: NOBROKER_DEFAULTS.emit,
      },
      {
        flag: "paid-threshold",
        description: "paid_user when a user's interactions reach this many",
        default: String(NOBROKER_DEFAULTS.paidThreshold),
      },
      {
        flag: "property-threshold",
        description: "property_status when a property's interactions exceed this many",
        default: String(NOBROKER_DEFAULTS.propertyThreshold),
      },
      {
        flag: "broker-threshold",
        description: "possible_broker when a user's interactions in one window exceed this many",
        default: String(NOBROKER_DEFAULTS.brokerThreshold),
      },
      { flag: "window", description: "the possible_broker window", default: NOBROKER_DEFAULTS.window },
      {
        flag: "max-out-of-orderness",
        description: "how far the watermark trails the newest event",
        default: NOBROKER_DEFAULTS.maxOutOfOrderness,
      },
      {
        flag: "tables",
        description: "keep user_interactions and property_interactions as versioned tables: on or off",
        default: "on",
      },
      {
        flag: "lake",
        description: "land valid events in the lake as dataset interactions: on or off",
        default: "on",
      },
    ],
    build: (v) =>
      nobroker({
        emit: emitMode(v["emit"] ?? NOBROKER_DEFAULTS.emit),
        paidThreshold: positiveInt(
          "paid-threshold",
          v["paid-threshold"] ?? String(NOBROKER_DEFAULTS.paidThreshold),
        ),
        propertyThreshold: positiveInt(
          "property-threshold",
          v["property-threshold"] ?? String(NOBROKER_DEFAULTS.propertyThreshold),
        ),
        brokerThreshold: positiveInt(
          "broker-threshold",
          v["broker-threshold"] ?? String(NOBROKER_DEFAULTS.brokerThreshold),
        ),
        window: v["window"] ?? NOBROKER_DEFAULTS.window,
        maxOutOfOrderness: v["max-out-of-orderness"] ?? NOBROKER_DEFAULTS.maxOutOfOrderness,
        tables: onOff("tables", v["tables"] ?? "on"),
        lake: onOff("lake", v["lake"] ?? "on"),
      }),
  },
];

export function findExample(name: string): Example | undefined {
  return EXAMPLES.find((e) => e.name === name);
}
