/**
 * The built-in examples `weir run <name>` knows, with the options each accepts on the command line.
 */
import type { PipelineDefinition } from "../src/api/pipeline.js";
import { WeirError } from "../src/errors.js";
import type { EmitMode } from "../src/graph/graph.js";
import { NOBROKER_DEFAULTS, nobroker } from "./nobroker/pipeline.js";
import { ENERGY_WEATHER_DEFAULTS, energyWeather } from "./energy-weather/pipeline.js";
import { TIKTOK_DEFAULTS, tiktok } from "./tiktok/pipeline.js";
import { ITEM_SALES_DEFAULTS, itemSales } from "./item-sales/pipeline.js";
import { BITCOIN_DEFAULTS, bitcoin } from "./bitcoin/pipeline.js";

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

function atLeastOne(flag: string, v: string): number {
  const n = positiveInt(flag, v);
  if (n < 1) throw new WeirError("USAGE", `--${flag} must be a whole number >= 1, got ${JSON.stringify(v)}`);
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
  {
    name: "energy-weather",
    description:
      "energy x weather (seed 001): each meter reading joined with the nearest weather reading, landed as lake dataset energy_weather",
    options: [
      {
        flag: "within",
        description: "the largest time gap between a reading and its weather reading",
        default: ENERGY_WEATHER_DEFAULTS.within,
      },
      {
        flag: "max-out-of-orderness",
        description: "how far each topic's watermark trails its newest reading",
        default: ENERGY_WEATHER_DEFAULTS.maxOutOfOrderness,
      },
      {
        flag: "unmatched",
        description:
          "readings with no weather reading within the gap: drop (inner join) or keep (null temperature)",
        default: ENERGY_WEATHER_DEFAULTS.unmatched,
      },
      {
        flag: "lake",
        description: "land the joined rows as lake dataset energy_weather: on or off",
        default: "on",
      },
    ],
    build: (v) => {
      const unmatched = v["unmatched"] ?? ENERGY_WEATHER_DEFAULTS.unmatched;
      if (unmatched !== "drop" && unmatched !== "keep")
        throw new WeirError("USAGE", `--unmatched must be drop or keep, got ${JSON.stringify(unmatched)}`);
      return energyWeather({
        within: v["within"] ?? ENERGY_WEATHER_DEFAULTS.within,
        maxOutOfOrderness: v["max-out-of-orderness"] ?? ENERGY_WEATHER_DEFAULTS.maxOutOfOrderness,
        unmatched,
        lake: onOff("lake", v["lake"] ?? "on"),
      });
    },
  },
  {
    name: "tiktok",
    description:
      "TikTok category analytics (seed 001): avgWatchTime, totalViewed and likes per user and category, kept as table tiktok_user_category",
    options: [
      {
        flag: "versions",
        description: "versions kept per key in table tiktok_user_category",
        default: String(TIKTOK_DEFAULTS.versions),
      },
      {
        flag: "lake",
        description:
          "land the events (tiktok_events, JSON lines) and the table's updates (tiktok_user_category_updates, CSV): on or off",
        default: "on",
      },
    ],
    build: (v) =>
      tiktok({
        versions: atLeastOne("versions", v["versions"] ?? String(TIKTOK_DEFAULTS.versions)),
        lake: onOff("lake", v["lake"] ?? "on"),
      }),
  },
  {
    name: "item-sales",
    description:
      "item sales (seed 003): validated sales with timestamp_ms parsed to timestamp_dt, running totals per item in table item_sales",
    options: [
      {
        flag: "versions",
        description: "versions kept per item in table item_sales",
        default: String(ITEM_SALES_DEFAULTS.versions),
      },
      {
        flag: "lake",
        description: "land the parsed sales as lake dataset item_sales_parsed (JSON lines): on or off",
        default: "on",
      },
    ],
    build: (v) =>
      itemSales({
        versions: atLeastOne("versions", v["versions"] ?? String(ITEM_SALES_DEFAULTS.versions)),
        lake: onOff("lake", v["lake"] ?? "on"),
      }),
  },
  {
    name: "bitcoin",
    description:
      "bitcoin price index (seed 004): 1-minute OHLC per currency to bpi_ohlc, the moving average of the last closes to bpi_moving_average",
    options: [
      { flag: "window", description: "the candle (tumbling window) size", default: BITCOIN_DEFAULTS.window },
      {
        flag: "ma-closes",
        description: "how many closes the moving average takes",
        default: String(BITCOIN_DEFAULTS.maCloses),
      },
      {
        flag: "max-out-of-orderness",
        description: "how far the watermark trails the newest tick",
        default: BITCOIN_DEFAULTS.maxOutOfOrderness,
      },
      {
        flag: "lake",
        description: "land the candles as lake dataset bpi_ohlc (Parquet): on or off",
        default: "on",
      },
    ],
    build: (v) =>
      bitcoin({
        window: v["window"] ?? BITCOIN_DEFAULTS.window,
        maCloses: atLeastOne("ma-closes", v["ma-closes"] ?? String(BITCOIN_DEFAULTS.maCloses)),
        maxOutOfOrderness: v["max-out-of-orderness"] ?? BITCOIN_DEFAULTS.maxOutOfOrderness,
        lake: onOff("lake", v["lake"] ?? "on"),
      }),
  },
];

export function findExample(name: string): Example | undefined {
  return EXAMPLES.find((e) => e.name === name);
}
