/**
 * Names of a partition's segment files. A segment is named by its base offset (the offset of its
 * first record) in 20 digits, so that lexical and numeric order agree:
 *   00000000000000001234.log        the records
 *   00000000000000001234.index      sparse offset index
 *   00000000000000001234.timeindex  sparse time index
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";

const SEGMENT_LOG = /^(\d{20})\.log$/;

export function segmentName(baseOffset: number): string {
  return String(baseOffset).padStart(20, "0");
}

export function logPath(dir: string, baseOffset: number): string {
  return join(dir, segmentName(baseOffset) + ".log");
}

export function offsetIndexPath(dir: string, baseOffset: number): string {
  return join(dir, segmentName(baseOffset) + ".index");
}

export function timeIndexPath(dir: string, baseOffset: number): string {
  return join(dir, segmentName(baseOffset) + ".timeindex");
}

/** Base offsets of the segments present in a partition directory, ascending. [] if the directory is gone. */
export function listSegmentBases(dir: string): number[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
  const bases: number[] = [];
  for (const name of names) {
    const m = SEGMENT_LOG.exec(name);
    if (m !== null) bases.push(Number(m[1]));
  }
  return bases.sort((a, b) => a - b);
}

/**
 * Files an interrupted operation left behind: index files whose .log is gone (a deletion stopped
 * half-way) and copies made for a truncation that never got renamed into place.
 */
export function listLeftoverFiles(dir: string, bases: readonly number[]): string[] {
  const live = new Set(bases.map(segmentName));
  return readdirSync(dir)
    .filter(
      (n) =>
        (/^\d{20}\.(index|timeindex)$/.test(n) && !live.has(n.slice(0, 20))) ||
        /^\d{20}\.log\.truncating$/.test(n),
    )
    .map((n) => join(dir, n));
}

/** Last base <= offset (the segment that holds `offset`), or the first base when offset precedes all. */
export function segmentFor(bases: readonly number[], offset: number): number {
  let lo = 0;
  let hi = bases.length - 1;
  let found = bases[0];
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (bases[mid] <= offset) {
      found = bases[mid];
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found;
}
