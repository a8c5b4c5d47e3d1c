/** One measured figure of a benchmark, as `npm run bench` prints and records it. */
export type BenchResult = {
  name: string;
  value: number;
  unit: string;
  /** The target from DESIGN.md section 6, e.g. ">= 1000000", when there is one. */
  target?: string;
  note?: string;
};
