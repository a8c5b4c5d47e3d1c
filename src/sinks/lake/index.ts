/**
 * The lake: date-partitioned Parquet / JSON-lines / CSV datasets under `<dataDir>/lake/`, committed
 * with the engine's checkpoints (dataset.ts), listed by a manifest (manifest.ts) and compacted by
 * `weir lake compact` (compact.ts). docs/lake.md describes layout, manifest and guarantees.
 */
export {
  LakeDataset,
  DEFAULT_MAX_ROWS_PER_FILE,
  DEFAULT_MAX_BYTES_PER_FILE,
  FILE_EXTENSIONS,
} from "./dataset.js";
export { compactDataset, type CompactOptions, type CompactResult } from "./compact.js";
export {
  LAKE_DIR,
  MANIFEST_FILE,
  datasetDir,
  lakeDir,
  listDatasets,
  readManifest,
  type Manifest,
  type ManifestCommit,
  type ManifestFile,
} from "./manifest.js";
export { isTimeName } from "./columns.js";
